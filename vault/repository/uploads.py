"""Packs stored side by side with bounded memory, in the repository's order of writes.

The repository decides what must be durable before what: a pack is handed over here and
stored by a worker thread, and ``wait`` returns once every pack handed over is stored, or
raises the first failure. The blob writer waits before it writes the index file that names
the packs, so an index is never stored before its packs, nor a snapshot record before its
index (docs/FORMAT.md, "Consistency"). Each backend write stays whole and durable when it
returns (backend/base.py); only the repository chooses to run several at once, as many as
the backend declares it gains from (``ParallelWrites``). With one, a pack is stored before
``submit`` returns, in the caller's thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from lkvault.vault.backend.base import Backend, ParallelWrites
from lkvault.vault.errors import StorageError

MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024


def parallel_writes(backend: Backend) -> int:
    """How many packs to store at once on ``backend``."""
    return max(1, backend.parallel_writes) if isinstance(backend, ParallelWrites) else 1


class PackUploads:
    """Stores packs on ``backend``, up to ``writers`` at once and ``max_bytes`` in flight."""

    def __init__(self, backend: Backend, writers: int, max_bytes: int = MAX_BYTES_IN_FLIGHT):
        self.backend = backend
        self.max_bytes = max_bytes
        self._pool = (
            ThreadPoolExecutor(max_workers=writers, thread_name_prefix="upload")
            if writers > 1
            else None
        )
        self._changed = threading.Condition()
        self._pending = 0  # packs handed over and not yet stored (or failed)
        self._pending_bytes = 0
        self._failure: BaseException | None = None

    def submit(self, name: str, data: bytes | bytearray) -> None:
        """Store a pack now or on a worker; waits while ``max_bytes`` are already in flight.
        Raises the failure of an earlier pack instead of taking a new one."""
        if self._pool is None:
            self.backend.write(name, data)
            return
        with self._changed:
            while self._pending and self._pending_bytes + len(data) > self.max_bytes:
                self._changed.wait()
            self._raise_failure()
            self._pending += 1
            self._pending_bytes += len(data)
        self._pool.submit(self._store, name, data)

    def _store(self, name: str, data: bytes | bytearray) -> None:
        try:
            with self._changed:
                skip = self._failure is not None
            if not skip:  # after a failure, the packs queued are pointless: none is indexed
                self.backend.write(name, data)
        except BaseException as exc:
            with self._changed:
                if self._failure is None:
                    self._failure = exc
        finally:
            with self._changed:
                self._pending -= 1
                self._pending_bytes -= len(data)
                self._changed.notify_all()

    def _raise_failure(self) -> None:
        """Raise the first failed store's error (the caller holds ``_changed``)."""
        failure = self._failure
        if failure is None:
            return
        if isinstance(failure, StorageError):
            raise failure
        raise StorageError(f"storing a pack in {self.backend.location} failed: {failure}") from (
            failure
        )

    def wait(self) -> None:
        """Return once every pack handed over is stored; raise if one could not be."""
        with self._changed:
            while self._pending:
                self._changed.wait()
            self._raise_failure()

    def close(self) -> None:
        """Let the stores under way end (their failure is not raised), then stop the workers."""
        if self._pool is not None:
            with self._changed:
                self._failure = self._failure or StorageError("stopped")  # skip what is queued
            self._pool.shutdown(wait=True)
