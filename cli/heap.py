"""Handing freed memory back to the OS while a command works on a vault (glibc only)."""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

TRIM_EVERY = 1.0  # seconds
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
BOUNDED_THRESHOLD = 256 * 1024
# A small input's buffers come from the heap and are reused: fresh mmapped pages of 256 KiB
# and more (1 MiB reads, 2 MiB segment jobs, 4 MiB frames) are faulted in and zeroed every
# time, a tenth of a medium snapshot's CPU. What the heap keeps then is bounded by the input:
# up to ROOMY_INPUT it leaves the peak where it was (docs/benchmarks.md, branch crit).
ROOMY_THRESHOLD = 32 * 1024 * 1024
ROOMY_INPUT = 64 * 1024 * 1024

_trimming = False  # the trimming thread runs (one a process, however many vaults are opened)
_threshold = BOUNDED_THRESHOLD  # what the process's mmap threshold is (or will be) set to
_mallopt: Callable[[int, int], int] | None = None


def mmap_threshold(input_size: int | None) -> int:
    """glibc's mmap threshold for a command reading an input of ``input_size`` bytes (None:
    no single input): raised for a small one, fixed at 256 KiB otherwise, so that a large
    snapshot's peak memory does not grow with its input."""
    if input_size is not None and input_size <= ROOMY_INPUT:
        return ROOMY_THRESHOLD
    return BOUNDED_THRESHOLD


def threshold() -> int:
    """The mmap threshold this process asks glibc for."""
    return _threshold


def fit_to_input(input_size: int) -> None:
    """Set the mmap threshold for a command whose work is one input of ``input_size`` bytes
    (before or after ``return_freed_memory``)."""
    global _threshold
    _threshold = mmap_threshold(input_size)
    if _mallopt is not None:
        _mallopt(M_MMAP_THRESHOLD, _threshold)


def return_freed_memory() -> None:
    """Make glibc hand large freed buffers back to the OS, and trim its heap once a second.

    By default glibc raises its mmap threshold after big buffers are freed and keeps later
    ones in per-thread arenas, so a snapshot's peak memory grew with the size of its input;
    a fixed threshold stops that. Smaller blocks freed in the middle of the heap and of the
    workers' arenas stay the process's until trimmed (docs/benchmarks.md has the numbers).
    """
    global _trimming, _mallopt
    if _trimming or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
        mallopt(M_MMAP_THRESHOLD, _threshold)
        mallopt(M_ARENA_MAX, 2)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    _trimming = True
    _mallopt = mallopt

    def trim_now_and_then() -> None:
        while True:
            time.sleep(TRIM_EVERY)
            trim(0)

    threading.Thread(target=trim_now_and_then, name="malloc-trim", daemon=True).start()
