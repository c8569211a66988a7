"""Vault storage in a local directory, with atomic and durable writes (temp file, fsync, rename)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

from lkvault.vault.backend.names import TEMP_PREFIX, check_name, check_prefix
from lkvault.vault.errors import ReadOnlyStorage, StorageError

__all__ = ["TEMP_PREFIX", "LocalBackend"]

# A write refused for good: a read-only file system, or a folder this user may not write.
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


class LocalBackend:
    """Files under a root directory; see Backend for the contracts."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*check_name(name).split("/"))

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        path = self._path(name)
        try:
            with open(path, "rb") as f:
                if offset:
                    f.seek(offset)
                data = f.read() if length is None else f.read(length)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
        if length is not None and len(data) != length:
            raise StorageError(f"{path} is shorter than expected ({len(data)} of {length} bytes)")
        return data

    def write(self, name: str, data: bytes | bytearray) -> None:
        path = self._path(name)
        temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
            _fsync_dir(path.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            kind = ReadOnlyStorage if exc.errno in READ_ONLY_ERRNOS else StorageError
            raise kind(f"cannot write {path}: {exc.strerror or exc}") from None

    def delete(self, name: str) -> None:
        path = self._path(name)
        try:
            path.unlink()
            _fsync_dir(path.parent)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot delete {path}: {exc.strerror or exc}") from None

    def list(self, prefix: str) -> list[str]:
        folder = check_prefix(prefix)
        base = self._path(folder.rstrip("/")) if folder else self.root
        if not base.is_dir():
            return []
        names: list[str] = []
        try:
            for dirpath, _dirs, files in os.walk(base):
                rel = Path(dirpath).relative_to(self.root).as_posix()
                lead = "" if rel == "." else f"{rel}/"
                names.extend(f"{lead}{f}" for f in files if not f.startswith(TEMP_PREFIX))
        except OSError as exc:
            raise StorageError(f"cannot list {base}: {exc.strerror or exc}") from None
        return sorted(names)

    def size(self, name: str) -> int:
        try:
            return self._path(name).stat().st_size
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot stat {name}: {exc.strerror or exc}") from None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def remove_stale_temp_files(
        self,
        folders: tuple[str, ...] = ("data", "index", "snapshots"),
        *,
        modified_before: float | None = None,
    ) -> int:
        """Delete temp files that interrupted writes left in ``folders``; returns how many.

        Only safe while no other process writes there (the caller holds the exclusive lock),
        or, with ``modified_before`` (a POSIX time), for temp files no write can still be
        busy with (readers write lock files while a writer holds its lock).
        """
        removed = 0
        for folder in folders:
            base = self.root / folder
            if not base.is_dir():
                continue
            for dirpath, _dirs, files in os.walk(base):
                for f in files:
                    if not f.startswith(TEMP_PREFIX):
                        continue
                    path = Path(dirpath, f)
                    try:
                        if modified_before is None or path.stat().st_mtime < modified_before:
                            path.unlink()
                            removed += 1
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        raise StorageError(f"cannot remove {path}: {exc.strerror or exc}") from None
        return removed


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
