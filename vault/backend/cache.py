"""A local cache of a remote vault's index files and snapshot records.

Every command reads all snapshot records and most read all index files; on a remote vault
that is two round trips per snapshot. Both kinds of file are sealed (encrypted and
authenticated) and named by a keyed hash of their content, so a copy kept on this computer
reveals nothing new and never goes out of date by itself. The cache is still checked against
the remote: a listing (which every command makes before reading these files) gives each
file's size and ETag or modification time, and a cached copy is used only while they match.
Entries the listing no longer shows are dropped, a damaged entry is fetched again, and a lost
cache folder is simply filled again.

Cache entry format: ``LKC1 || u16le len(fp) || fp || sha256(data) || data``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import struct
from pathlib import Path

from lkvault.vault.backend.base import DelegatingBackend, Fingerprinted
from lkvault.vault.backend.names import check_name

CACHED_PREFIXES = ("index/", "snapshots/")
MAGIC = b"LKC1"
TEMP_SUFFIX = ".partial"


def cache_folder(root: Path, location: str) -> Path:
    """Where, under the folder of all caches, the cache of the vault at ``location`` lives."""
    return root / hashlib.sha256(location.encode()).hexdigest()[:32]


class MetadataCache(DelegatingBackend):
    """Wraps a remote backend; index files and snapshot records are served from ``folder``.
    Its other optional abilities are the remote backend's (DelegatingBackend)."""

    inner: Fingerprinted

    def __init__(self, inner: Fingerprinted, folder: Path) -> None:
        super().__init__(inner)
        self.folder = folder
        self.remote: dict[str, str] = {}  # name -> fingerprint, from the latest listings
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _cached(name: str) -> bool:
        return name.startswith(CACHED_PREFIXES)

    def _entry_path(self, name: str) -> Path:
        return self.folder.joinpath(*check_name(name).split("/"))

    def _load(self, name: str, fp: str) -> bytes | None:
        try:
            blob = self._entry_path(name).read_bytes()
        except OSError:
            return None
        if blob[:4] != MAGIC or len(blob) < 6:
            return None
        (fp_size,) = struct.unpack("<H", blob[4:6])
        stored_fp = blob[6 : 6 + fp_size].decode(errors="replace")
        digest = blob[6 + fp_size : 38 + fp_size]
        data = blob[38 + fp_size :]
        if stored_fp != fp or hashlib.sha256(data).digest() != digest:
            return None
        return data

    def _store(self, name: str, fp: str, data: bytes | bytearray) -> None:
        path = self._entry_path(name)
        encoded = fp.encode()[:65535]
        blob = MAGIC + struct.pack("<H", len(encoded)) + encoded + hashlib.sha256(data).digest()
        temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(blob + data)
            os.replace(temp, path)
        except OSError:
            # The cache only saves time: a full or read-only disk must not fail a command.
            with contextlib.suppress(OSError):
                temp.unlink()

    def _drop(self, name: str) -> None:
        with contextlib.suppress(OSError):
            self._entry_path(name).unlink()

    def _prune(self, prefix: str, listed: dict[str, str]) -> None:
        base = self.folder / prefix.rstrip("/")
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            if not path.is_file():
                continue
            name = path.relative_to(self.folder).as_posix()
            if name.endswith(TEMP_SUFFIX) or name not in listed:
                with contextlib.suppress(OSError):
                    path.unlink()

    # --- the Backend interface ---------------------------------------------------------------

    def list(self, prefix: str) -> list[str]:
        if not self._cached(prefix):
            return self.inner.list(prefix)
        listed = self.inner.list_fingerprints(prefix)
        for name in [n for n in self.remote if n.startswith(prefix)]:
            del self.remote[name]
        self.remote.update(listed)
        self._prune(prefix, listed)
        return sorted(listed)

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        if not self._cached(name):
            return self.inner.read(name, offset, length)
        fp = self.remote.get(name)
        data = self._load(name, fp) if fp is not None else None
        if data is None:
            self.misses += 1
            data = self.inner.read(name)
            if fp is not None:
                self._store(name, fp, data)
        else:
            self.hits += 1
        end = len(data) if length is None else offset + length
        piece = data[offset:end]
        if length is not None and len(piece) != length:
            # Let the remote backend say it (and raise) the way it does.
            return self.inner.read(name, offset, length)
        return piece

    def write(self, name: str, data: bytes | bytearray) -> None:
        self.inner.write(name, data)
        if self._cached(name):
            fp = self.inner.fingerprint(name)
            self.remote[name] = fp
            self._store(name, fp, data)

    def delete(self, name: str) -> None:
        if self._cached(name):
            self.remote.pop(name, None)
            self._drop(name)
        self.inner.delete(name)

    def list_fingerprints(self, prefix: str) -> dict[str, str]:
        return self.inner.list_fingerprints(prefix)

    def fingerprint(self, name: str) -> str:
        return self.inner.fingerprint(name)
