"""Backend wrappers that inject failures: for the crash and fault tests, never for normal use."""

from __future__ import annotations

import os
import signal

from lkvault.vault.backend.base import Backend
from lkvault.vault.errors import StorageError


class KillAtWrite:
    """Kills this process with SIGKILL at the n-th write (1-based): before it, or half-way.

    Deletes count as writes too (a kill "at" a delete lands just before it), so prune,
    forget and repair can be killed between any two of their changes. Deleting lock files is
    not counted: a lock is not vault data, and a killed holder's lock is stale anyway, so
    counting it would only shift the numbers of the writes that matter.
    """

    def __init__(self, inner: Backend, nth: int, halfway: bool = False) -> None:
        self.inner = inner
        self.location = inner.location
        self.nth = nth
        self.halfway = halfway
        self.writes = 0

    def write(self, name: str, data: bytes | bytearray) -> None:
        self.writes += 1
        if self.writes == self.nth:
            if self.halfway and hasattr(self.inner, "root"):
                # Leave a half-written temp file behind, as a power cut would.
                from pathlib import Path

                from lkvault.vault.backend.local import TEMP_PREFIX

                folder = Path(self.inner.root, *name.split("/")[:-1])
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{TEMP_PREFIX}killed").write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        self.inner.write(name, data)

    def delete(self, name: str) -> None:
        if not name.startswith("locks/"):
            self.writes += 1
            if self.writes == self.nth:
                os.kill(os.getpid(), signal.SIGKILL)
        self.inner.delete(name)

    def __getattr__(self, attr: str) -> object:
        return getattr(self.inner, attr)


class FailingBackend:
    """Raises StorageError on chosen operations, to test error paths and retries."""

    def __init__(self, inner: Backend, fail_writes_after: int | None = None) -> None:
        self.inner = inner
        self.location = inner.location
        self.fail_writes_after = fail_writes_after
        self.writes = 0

    def write(self, name: str, data: bytes | bytearray) -> None:
        self.writes += 1
        if self.fail_writes_after is not None and self.writes > self.fail_writes_after:
            raise StorageError(f"injected failure writing {name}")
        self.inner.write(name, data)

    def __getattr__(self, attr: str) -> object:
        return getattr(self.inner, attr)
