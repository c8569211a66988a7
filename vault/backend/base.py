"""The storage interface every backend implements: named immutable files of bytes, nothing else.

Names are relative, '/'-separated paths such as ``data/3f/3fa9...`` or ``keys/ab12...``.
A backend never sees keys or plaintext and never interprets what it stores. Optional
abilities are declared protocols; ``DelegatingBackend`` is the base of wrappers around a
backend, which keep exactly the abilities of the backend they wrap.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast, runtime_checkable


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


# --- a wrapper around a backend ---------------------------------------------------------------

_Wrapper = TypeVar("_Wrapper", bound="DelegatingBackend")


class DelegatingBackend:
    """A Backend that forwards every call to ``inner``; wrappers subclass it and change some.

    A wrapper has exactly the optional abilities its inner backend has: each instance is made
    of a subclass that adds an explicit forwarder for every ability ``inner`` declares (see
    ABILITY_FORWARDERS), so ``isinstance(wrapper, Fingerprinted)`` answers as it does for
    ``inner``. A subclass may implement an ability itself; it then always has it.
    """

    inner: Backend
    location: str

    def __new__(cls: type[_Wrapper], inner: Backend, *args: Any, **kwargs: Any) -> _Wrapper:
        forwarders = tuple(
            forwarder for ability, forwarder in ABILITY_FORWARDERS if isinstance(inner, ability)
        )
        return cast(_Wrapper, object.__new__(_with_forwarders(cls, forwarders)))

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.location = inner.location

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        return self.inner.read(name, offset, length)

    def write(self, name: str, data: bytes | bytearray) -> None:
        self.inner.write(name, data)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def size(self, name: str) -> int:
        return self.inner.size(name)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)


class _ForwardsFingerprints:
    inner: Backend

    def list_fingerprints(self, prefix: str) -> dict[str, str]:
        return cast(Fingerprinted, self.inner).list_fingerprints(prefix)

    def fingerprint(self, name: str) -> str:
        return cast(Fingerprinted, self.inner).fingerprint(name)


class _ForwardsTempFileCleanup:
    inner: Backend

    def remove_stale_temp_files(
        self,
        folders: tuple[str, ...] = ("data", "index", "snapshots"),
        *,
        modified_before: float | None = None,
    ) -> int:
        inner = cast(CleansTempFiles, self.inner)
        return inner.remove_stale_temp_files(folders, modified_before=modified_before)


class _ForwardsClose:
    inner: Backend

    def close(self) -> None:
        cast(Closes, self.inner).close()


class _ForwardsParallelWrites:
    inner: Backend

    @property
    def parallel_writes(self) -> int:
        return cast(ParallelWrites, self.inner).parallel_writes


# Each optional ability, and the mixin that forwards it to the inner backend.
ABILITY_FORWARDERS: tuple[tuple[type, type], ...] = (
    (Fingerprinted, _ForwardsFingerprints),
    (CleansTempFiles, _ForwardsTempFileCleanup),
    (Closes, _ForwardsClose),
    (ParallelWrites, _ForwardsParallelWrites),
)


_COMPOSED: dict[tuple[type, tuple[type, ...]], type] = {}


def _with_forwarders(cls: type, forwarders: tuple[type, ...]) -> type:
    """``cls`` with ``forwarders`` mixed in after it (its own methods come first); made once
    for each combination."""
    if not forwarders:
        return cls
    composed = _COMPOSED.get((cls, forwarders))
    if composed is None:
        namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
        made = type(cls.__name__, (cls, *forwarders), namespace)
        composed = _COMPOSED.setdefault((cls, forwarders), made)  # one class, whichever thread
    return composed
