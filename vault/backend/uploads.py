"""Parallel pack uploads with bounded memory, keeping the vault's write order.

Writes of packs (``data/...``) return at once and are uploaded on worker threads, holding at
most ``max_bytes`` of pack bytes in flight (a writer waits for room). Every other write or
delete first waits until every pack handed over before it is stored, and fails if one of them
could not be: so an index file is never written before all the packs it names, and a snapshot
record never before its index (docs/FORMAT.md, "Consistency"). Lock files pass straight
through: they are independent of the data, and their refresh must not wait behind uploads.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from lkvault.vault.backend.base import Backend
from lkvault.vault.backend.names import check_name
from lkvault.vault.errors import StorageError

BEHIND_PREFIX = "data/"
UNORDERED_PREFIX = "locks/"


class ParallelUploads:
    """Wraps a (remote) backend; see the module docstring for the ordering it keeps."""

    def __init__(self, inner: Backend, uploads: int = 4, max_bytes: int = 64 * 1024 * 1024):
        self.inner = inner
        self.location = inner.location
        self.max_bytes = max_bytes
        self._pool = ThreadPoolExecutor(max_workers=max(1, uploads), thread_name_prefix="upload")
        self._changed = threading.Condition()
        self._pending: dict[str, Future[None]] = {}
        self._pending_bytes = 0
        self._failure: BaseException | None = None

    # --- the uploads -------------------------------------------------------------------------

    def _upload(self, name: str, data: bytes | bytearray) -> None:
        try:
            with self._changed:
                skip = self._failure is not None
            if not skip:  # after a failure, queued packs are pointless: nothing will index them
                self.inner.write(name, data)
        except BaseException as exc:
            with self._changed:
                if self._failure is None:
                    self._failure = exc
            raise
        finally:
            with self._changed:
                self._pending_bytes -= len(data)
                self._pending.pop(name, None)
                self._changed.notify_all()

    def _raise_failure(self) -> None:
        """Raise the first failed upload's error, once (the caller is the writer)."""
        with self._changed:
            failure, self._failure = self._failure, None
        if failure is not None:
            if isinstance(failure, StorageError):
                raise failure
            raise StorageError(f"uploading to {self.location} failed: {failure}") from failure

    def flush(self) -> None:
        """Wait until every pack handed over is stored; raise if one could not be."""
        with self._changed:
            while self._pending:
                self._changed.wait()
        self._raise_failure()

    def _wait_for(self, name: str) -> None:
        with self._changed:
            while name in self._pending:
                self._changed.wait()

    def _settle(self) -> None:
        """Wait for the uploads without taking their failure (for readers)."""
        with self._changed:
            while self._pending:
                self._changed.wait()

    # --- the Backend interface ---------------------------------------------------------------

    def write(self, name: str, data: bytes | bytearray) -> None:
        check_name(name)  # a bad name fails here, not later on an upload thread
        if name.startswith(UNORDERED_PREFIX):
            self.inner.write(name, data)
            return
        if not name.startswith(BEHIND_PREFIX):
            self.flush()
            self.inner.write(name, data)
            return
        self._raise_failure()
        with self._changed:
            while self._pending and self._pending_bytes + len(data) > self.max_bytes:
                self._changed.wait()
            if name in self._pending:
                return  # the same pack (same content) is already on its way
            self._pending_bytes += len(data)
            self._pending[name] = self._pool.submit(self._upload, name, data)

    def delete(self, name: str) -> None:
        if not name.startswith(UNORDERED_PREFIX):
            self.flush()
        self.inner.delete(name)

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        self._wait_for(name)
        return self.inner.read(name, offset, length)

    def size(self, name: str) -> int:
        self._wait_for(name)
        return self.inner.size(name)

    def exists(self, name: str) -> bool:
        self._wait_for(name)
        return self.inner.exists(name)

    def list(self, prefix: str) -> list[str]:
        if BEHIND_PREFIX.startswith(prefix) or prefix.startswith(BEHIND_PREFIX):
            self._settle()
        return self.inner.list(prefix)

    def __getattr__(self, attr: str) -> object:
        # Optional extras of the inner backend (fingerprints, stale temp cleanup, close).
        return getattr(self.inner, attr)
