"""The storage interface every backend implements: named immutable files of bytes, nothing else.

Names are relative, '/'-separated paths such as ``data/3f/3fa9...`` or ``keys/ab12...``.
A backend never sees keys or plaintext and never interprets what it stores.
"""

from __future__ import annotations

from typing import Protocol


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
