"""The storage interface every backend implements: named immutable files of bytes, nothing else.

Names are relative, '/'-separated paths such as ``data/3f/3fa9...`` or ``keys/ab12...``.
A backend never sees keys or plaintext and never interprets what it stores.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class Backend(Protocol):
    """Storage of named byte strings.

    Contracts every implementation keeps (the conformance suite in tests/ checks them):
    - ``write`` is atomic and durable: after it returns, the whole file is there and survives
      a crash; after a crash during it, the name is absent or holds the old content. It
      replaces an existing file of the same name.
    - ``read`` with ``length`` returns exactly that many bytes or raises StorageError.
    - ``read``/``size``/``delete`` of a missing name raise ``FileNotFoundError``.
    - ``list`` returns the names under a folder prefix (recursively), never temp files.
    Transient failures raise ``vault.errors.StorageError``.
    """

    location: str

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes: ...

    def write(self, name: str, data: bytes | bytearray) -> None: ...

    def delete(self, name: str) -> None: ...

    def list(self, prefix: str) -> list[str]: ...

    def size(self, name: str) -> int: ...

    def exists(self, name: str) -> bool: ...


# --- optional abilities: a backend declares one by having its members ------------------------


@runtime_checkable
class Fingerprinted(Backend, Protocol):
    """A backend that can say cheaply whether a file changed: the remote ones."""

    def list_fingerprints(self, prefix: str) -> dict[str, str]:
        """Name -> fingerprint (size and ETag or modification time) under a folder prefix."""
        ...

    def fingerprint(self, name: str) -> str: ...


@runtime_checkable
class CleansTempFiles(Protocol):
    """A backend whose interrupted writes can leave temp files behind (a folder, SFTP)."""

    def remove_stale_temp_files(
        self, folders: tuple[str, ...] = ..., *, modified_before: float | None = ...
    ) -> int:
        """Delete temp files that interrupted writes left in ``folders``; returns how many.
        Only safe while no other writer is running (the caller holds the exclusive lock), or,
        with ``modified_before`` (a POSIX time), for temp files no write can still be busy
        with."""
        ...


@runtime_checkable
class Closes(Protocol):
    """A backend holding a connection, closed by ``close`` (SFTP); others need nothing."""

    def close(self) -> None: ...


@runtime_checkable
class ParallelWrites(Protocol):
    """A backend whose writes gain from running side by side (remote storage, where each
    write waits on the network): the repository stores up to ``parallel_writes`` packs at
    once. A backend without it gets one write at a time."""

    parallel_writes: int
