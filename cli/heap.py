"""Handing freed memory back to the OS while a command works on a vault (glibc only)."""

from __future__ import annotations

import ctypes
import sys
import threading
import time

TRIM_EVERY = 1.0  # seconds
_trimming = False  # the trimming thread runs (one a process, however many vaults are opened)


def return_freed_memory() -> None:
    """Make glibc hand large freed buffers back to the OS, and trim its heap once a second.

    By default glibc raises its mmap threshold after big buffers are freed and keeps later
    ones in per-thread arenas, so a snapshot's peak memory grew with the size of its input;
    a fixed threshold stops that. Smaller blocks freed in the middle of the heap and of the
    workers' arenas stay the process's until trimmed (docs/benchmarks.md has the numbers).
    """
    global _trimming
    if _trimming or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    _trimming = True

    def trim_now_and_then() -> None:
        while True:
            time.sleep(TRIM_EVERY)
            trim(0)

    threading.Thread(target=trim_now_and_then, name="malloc-trim", daemon=True).start()
