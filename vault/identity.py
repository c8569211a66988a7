"""Where this process's pid means something: its boot and PID namespace, read from the system.

A lock records them so that another process can tell whether it may judge the holder by its
pid (docs/FORMAT.md, "Locks"): only a process on the same host, in the same boot and in the
same PID namespace sees the holder's pid.
"""

from __future__ import annotations

import os
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PID_NAMESPACE = Path("/proc/self/ns/pid")


def boot_id(path: Path = BOOT_ID) -> str | None:
    """The kernel's random id of the current boot (Linux), or None."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None


def pid_namespace(path: Path = PID_NAMESPACE) -> str | None:
    """The PID namespace this process lives in, e.g. 'pid:[4026531836]' (Linux), or None."""
    try:
        text = os.readlink(path)
    except OSError:
        return None
    return text or None
