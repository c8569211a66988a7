"""A snapshot opens the vault while it does what needs no keys (issue 18, item 1).

The key derivation (Argon2id) runs on a thread while the export is checked, hashed and its
members' zlib parameters probed. What a user sees must not change: a wrong passphrase is one
line and exit 3 with nothing stored and no scratch left, a passphrase typed at a terminal may
be typed again, a signal in that time stops the command at once with one line, and a file
changed after it was looked at is stored as it is when it is stored.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path

import pytest
from helpers_cli import (
    EXIT_FOR_SIGNAL,
    MonthStored,
    assert_library_restores,
    assert_one_line_error,
    copy_lk,
    month_stored,
    reopen,
)
from test_cli_conventions import _at_a_terminal, _read_until

WRONG = "wrong passphrase: it opens none of the vault's key slots"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> MonthStored:
    return month_stored(tmp_path_factory.mktemp("overlap"), seed=23)


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_wrong_passphrase_says_one_line_and_leaves_everything_as_it_was(
    base: MonthStored, tmp_path: Path
) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    not_an_export = tmp_path / "notes.txt"
    not_an_export.write_text("not a zip\n")
    vault_before, state_before = files_of(lk.vault), files_of(lk.state_dir)
    # The vault's error comes first, as when the file was looked at only once it was open.
    for given in (base.exports[1], not_an_export):
        code, out, err = lk.run(
            "snapshot", str(given), password="not the passphrase", extra={"TMPDIR": str(scratch)}
        )
        assert code == 3, err
        assert assert_one_line_error(err) == WRONG and out == ""
    assert files_of(lk.vault) == vault_before
    assert files_of(lk.state_dir) == state_before
    assert list(scratch.iterdir()) == []
    assert [s.id.hex() for s in reopen(base.opened, lk.vault).snapshots()] == [base.first]


def test_a_passphrase_typed_again_at_a_terminal_stores_the_export(
    base: MonthStored, tmp_path: Path
) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    process, master = _at_a_terminal(lk, "snapshot", str(base.exports[1]))
    try:
        shown = _read_until(master, b"Vault passphrase: ")
        os.write(master, b"wrong one\n")
        shown += _read_until(master, b"Vault passphrase: ")
        os.write(master, f"{lk.password}\n".encode())
        shown += _read_until(master, b"\n" * 2)  # reads to the end: the terminal closes
        assert process.wait(timeout=120) == 0, shown
    finally:
        os.close(master)
    text = shown.decode()
    assert "Wrong passphrase; try again (1 of 3 attempts used)." in text
    assert "error" not in text, text
    listed = [s.id.hex() for s in reopen(base.opened, lk.vault).snapshots()]
    assert len(listed) == 2 and listed[0] == base.first
    assert_library_restores(
        reopen(base.opened, lk.vault), listed[1], base.exports[1].read_bytes(), tmp_path
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_keys_are_derived_stops_at_once(
    base: MonthStored, tmp_path: Path, signum: signal.Signals
) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    vault_before = files_of(lk.vault)
    spec = f"signal-open:{signum.name.removeprefix('SIG')}"
    code, _out, err = lk.run(
        "snapshot", str(base.exports[1]), killed_at=spec, extra={"TMPDIR": str(scratch)}
    )
    assert code == EXIT_FOR_SIGNAL[signum], err
    message = assert_one_line_error(err)
    said = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}[signum]
    assert message == f"{said}; nothing half-done is left in the vault", message
    assert files_of(lk.vault) == vault_before  # no lock, no pack, no index left
    assert list(scratch.iterdir()) == []
    second = lk.snapshot(base.exports[1])
    assert_library_restores(
        reopen(base.opened, lk.vault), second, base.exports[1].read_bytes(), tmp_path
    )


def test_a_file_changed_after_it_was_prepared_is_stored_as_it_is_then(
    base: MonthStored, tmp_path: Path
) -> None:
    from lkvault.vault import Vault

    lk = copy_lk(base.lk, tmp_path / "work")
    vault = reopen(base.opened, lk.vault)
    path = tmp_path / base.exports[0].name
    shutil.copyfile(base.exports[0], path)  # the month already stored...
    prepared = Vault.prepare_snapshot(path)
    shutil.copyfile(base.exports[1], path)  # ...replaced by the next one before it is stored
    created, new = vault.snapshot_once(path, prepared=prepared)
    assert new, "taken for the month stored before, from the digest of what the file was"
    content = base.exports[1].read_bytes()
    assert created.sha256 == hashlib.sha256(content).digest()
    assert_library_restores(vault, created.id.hex(), content, tmp_path)
