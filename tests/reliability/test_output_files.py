"""Files lkvault writes outside the vault (restore -o, restore --extract, contacts -o) in a
folder another user can write to: planted temporary files and links, and targets that are not
regular files (issue 22, item 2).

What a user relies on: the decrypted export ends up in a new file only they can read, whatever
someone else put in the folder beforehand; nothing outside the target is ever written through a
planted link; a device, pipe, folder or link at the target is never replaced, even with --force.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from conftest import PASSPHRASE
from lkvault.vault import Environment, Vault

from bench.exportgen import generate_export

from .budget import record

VICTIM_TEXT = b"a file of someone else that must not change\n"


@pytest.fixture(scope="module")
def one_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A vault (made once) holding one small export, and the export's bytes."""
    work = tmp_path_factory.mktemp("one-export")
    path = generate_export(
        work / "Basic_LinkedInDataExport_01-15-2026.zip", date=date(2026, 1, 15), scale=0.02
    )
    made = Vault.init(str(work / "vault"), PASSPHRASE, Environment(state_dir=work / "state"))
    made.snapshot(path)
    return work / "vault", path.read_bytes()


@pytest.fixture
def stored(cli: Callable, one_export: tuple[Path, bytes], tmp_path: Path) -> bytes:
    """A copy of that vault where the ``cli`` fixture looks for it; returns the export's bytes."""
    shutil.copytree(one_export[0], tmp_path / "vault")
    return one_export[1]


def _write(cli: Callable, command: str, target: Path, *extra: str) -> object:
    if command == "restore -o":
        return cli("restore", "latest", "-o", str(target), *extra)
    if command == "contacts -o":
        return cli("contacts", "-f", "csv", "-o", str(target), *extra)
    # --extract writes each member the same way; its target is a member's place in the folder
    return cli("restore", "latest", "--extract", str(target.parent), *extra)


COMMANDS = ("restore -o", "contacts -o", "restore --extract")


def _target(tmp_path: Path, command: str) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o1777)  # like /tmp: everyone may create files in it
    return folder / ("Connections.csv" if command == "restore --extract" else "out.file")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("planted", ["file", "link"])
def test_a_planted_temporary_file_or_link_is_never_written_through(
    cli: Callable, stored: bytes, tmp_path: Path, command: str, planted: str
) -> None:
    target = _target(tmp_path, command)
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM_TEXT)
    # The name lkvault 0.3.2 used; other predictable names are covered by O_EXCL below.
    trap = target.parent / f".{target.name}.lkvault-partial"
    if planted == "file":
        trap.write_bytes(VICTIM_TEXT)
        trap.chmod(0o666)
    else:
        trap.symlink_to(victim)
    done = _write(cli, command, target)
    assert done.code == 0, done.err
    assert victim.read_bytes() == VICTIM_TEXT, "a file was written through a planted link"
    if planted == "file":
        assert trap.read_bytes() == VICTIM_TEXT, "the planted file was opened and written"
    mode = os.lstat(target)
    assert stat.S_ISREG(mode.st_mode) and stat.S_IMODE(mode.st_mode) == 0o600, oct(mode.st_mode)
    assert mode.st_uid == os.getuid()
    if command == "restore -o":
        assert target.read_bytes() == stored
    leftovers = [p.name for p in target.parent.iterdir() if "lkvault-partial-" in p.name]
    assert not leftovers
    record("temp-files", planted=1)


def _special(kind: str, at: Path, tmp_path: Path) -> Callable[[], bool]:
    """Put a ``kind`` at ``at``; returns a check that it is still there, untouched."""
    if kind == "pipe":
        os.mkfifo(at)
        return lambda: stat.S_ISFIFO(os.lstat(at).st_mode)
    if kind == "folder":
        at.mkdir()
        return lambda: at.is_dir() and not at.is_symlink()
    if kind == "link":
        victim = tmp_path / "victim"
        victim.write_bytes(VICTIM_TEXT)
        at.symlink_to(victim)
        return lambda: at.is_symlink() and victim.read_bytes() == VICTIM_TEXT
    try:  # a device node with /dev/full's numbers
        os.mknod(at, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return lambda: stat.S_ISCHR(os.lstat(at).st_mode)


@pytest.mark.parametrize("command", ["restore -o", "contacts -o"])
@pytest.mark.parametrize("kind", ["device", "pipe", "folder", "link"])
def test_only_a_regular_file_is_ever_replaced(
    cli: Callable, stored: bytes, tmp_path: Path, command: str, kind: str
) -> None:
    target = _target(tmp_path, command)
    still_there = _special(kind, target, tmp_path)
    done = _write(cli, command, target, "--force")
    assert done.code == 2, done.err
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lkvault: error: "), done.err
    assert still_there(), f"the {kind} at the target was replaced"
    assert not [p for p in target.parent.iterdir() if "lkvault-partial-" in p.name]
    record("temp-files", special_targets=1)


@pytest.mark.parametrize("kind", ["device", "pipe", "folder", "link"])
def test_extract_force_skips_a_member_whose_name_holds_no_regular_file(
    cli: Callable, stored: bytes, tmp_path: Path, kind: str
) -> None:
    target = _target(tmp_path, "restore --extract")
    still_there = _special(kind, target, tmp_path)
    done = _write(cli, "restore --extract", target, "--force")
    assert done.code == 1, done.err
    assert "Traceback" not in done.err and "not written: 'Connections.csv'" in done.err, done.err
    assert still_there(), f"the {kind} at a member's name was replaced"
    written = [p for p in target.parent.iterdir() if p.name != target.name]
    assert written and all(stat.S_ISREG(os.lstat(p).st_mode) for p in written if p.is_file())
    assert not [p for p in written if "lkvault-partial-" in p.name]
    record("temp-files", special_targets=1)


def test_force_replaces_a_regular_file_with_a_private_one(
    cli: Callable, stored: bytes, tmp_path: Path
) -> None:
    target = _target(tmp_path, "restore -o")
    target.write_bytes(b"an older restore")
    target.chmod(0o666)
    assert cli("restore", "latest", "-o", str(target)).code == 2
    assert target.read_bytes() == b"an older restore"
    assert cli("restore", "latest", "-o", str(target), "--force").code == 0
    assert target.read_bytes() == stored
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o600
