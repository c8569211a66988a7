"""Checks the reliability sweeps share: restores that are exact or refused, and vault snapshots.

What a user relies on after damage or hostile input: a restore gives exactly the stored bytes
or refuses cleanly, leaving no file behind; a refused operation writes nothing to the vault.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from helpers_cli import SIGKILLED, Lk
from lkvault.vault import Vault, VaultError


def library_restore(
    vault: Vault,
    snap_id: str,
    expected: bytes,
    out_dir: Path,
    refusals: tuple[type[BaseException], ...] = (VaultError,),
) -> bool:
    """Restore through the library: True if it gave exactly ``expected``, False if it refused
    cleanly (a VaultError, no output and no partial file); anything else fails the test."""
    target = out_dir / f"lib-{snap_id[:8]}-{os.urandom(3).hex()}"
    before = set(out_dir.iterdir())
    try:
        vault.restore(snap_id, target)
    except refusals:
        assert not target.exists(), "a refused restore left its output file"
        assert set(out_dir.iterdir()) == before, "a refused restore left a partial file"
        return False
    data = target.read_bytes()
    target.unlink()
    assert hashlib.sha256(data).digest() == hashlib.sha256(expected).digest(), (
        f"restore of {snap_id[:8]} wrote WRONG BYTES without an error"
    )
    return True


def json_equal(a: bytes, b: bytes) -> bool:
    """Both are JSON documents, and the same one (a change of white space only)."""
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


def vault_contents(root: Path) -> dict[str, str]:
    """Every file of a vault folder (lock files aside) and the SHA-256 of its content: two
    equal results mean nothing was written, renamed or deleted in between."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "locks" not in p.relative_to(root).parts
    }


def one_line(message: str) -> str:
    """``message`` if it is a clear one-line error: non-empty, one line, no traceback."""
    assert message.strip(), "an empty error message"
    assert "\n" not in message.strip(), f"a multi-line error message: {message!r}"
    assert "Traceback" not in message, message
    return message


def leave_stale_lock(lk: Lk, source: Path) -> Path:
    """The lock file a writer leaves when it is killed while holding it: ``lkvault snapshot``
    killed at its first writes, one more each time, until a lock is left behind."""
    for nth in range(1, 8):
        code, _out, err = lk.run_killed_at(str(nth), "snapshot", "--any-file", str(source))
        assert code == SIGKILLED, f"the snapshot was not killed at write {nth}: {err}"
        locks = sorted((lk.vault / "locks").glob("[0-9a-f]*"))
        if locks:
            assert len(locks) == 1, locks
            return locks[0]
    raise AssertionError("no killed snapshot left its lock behind")


def all_paths(root: Path) -> list[Path]:
    """Everything under ``root``, without recursion (Path.rglob and shutil.rmtree recurse
    once per folder level, and extraction tests make trees a thousand folders deep)."""
    found: list[Path] = []
    pending = [root]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                found.append(Path(entry.path))
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
    return found


def remove_tree(root: Path) -> None:
    """Delete ``root`` and everything under it, however deep (see all_paths)."""
    if not root.exists():
        return
    for path in sorted(all_paths(root), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    root.rmdir()
