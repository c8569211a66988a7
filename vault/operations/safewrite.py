"""Writing a file whole or not at all: beside its target, flushed, checked, then renamed.

What restore, extract and the front ends' output files (contacts) share: a file the user
asked for never appears half-written, and never replaces anything but a regular file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from lkvault.vault.errors import UsageError
from lkvault.vault.progress import Progress


def check_replaceable(target: Path, force: bool) -> None:
    """Refuse a ``target`` that cannot or must not be written: one in a missing folder, an
    existing file without ``force``, and anything that is not a regular file (a folder, a
    device such as /dev/full, a pipe, a symbolic link) even with it, since renaming over it
    would replace the thing itself."""
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise UsageError(f"folder {target.parent} does not exist") from None
        return
    except NotADirectoryError:
        raise UsageError(f"{target}: a part of this path is not a folder") from None
    if stat.S_ISDIR(found.st_mode):
        raise UsageError(f"{target} is a folder; give a file name")
    if stat.S_ISLNK(found.st_mode):
        raise UsageError(
            f"{target} is a symbolic link; lkvault replaces only regular files "
            "(remove the link or choose another name)"
        )
    if not stat.S_ISREG(found.st_mode):
        raise UsageError(
            f"{target} is not a regular file (a device, pipe or socket); lkvault never replaces one"
        )
    if not force:
        raise UsageError(f"{target} already exists (use --force to replace it)")


def write_then_rename(
    target: Path,
    blocks: Iterable[bytes],
    progress: Progress,
    check: Callable[[int, bytes], None] | None = None,
) -> None:
    """Write ``blocks`` beside ``target`` and put the file in place only once it is complete,
    flushed to disk and, if given, ``check(size, sha256)`` did not raise.

    The temporary file gets an unpredictable name, is created exclusively with mode 0600 (a
    file or link someone planted in the folder is never opened) and stays private once in
    place. Whatever is at ``target`` when the file is ready must be a regular file (see
    ``check_replaceable``); the caller decides beforehand whether one may be replaced.
    """
    handle, temp_name = tempfile.mkstemp(prefix=".lkvault-partial-", dir=target.parent)
    temp = Path(temp_name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for block in blocks:
                out.write(block)
                digest.update(block)
                size += len(block)
                progress.advance(len(block))
            out.flush()
            os.fsync(out.fileno())
            if check is not None:
                check(size, digest.digest())
            check_replaceable(target, force=True)
            written = os.fstat(out.fileno())
            if not os.path.samestat(written, os.lstat(temp)):
                raise UsageError(
                    f"the temporary file beside {target} was replaced while it was written; "
                    "nothing was put in place"
                )
            os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: some filesystems refuse a folder's fsync)."""
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
