"""The command-line contract: commands, --json documents, exit codes and one-line errors."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path

import pytest


def test_full_user_journey(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    export = tmp_path / "Basic_LinkedInDataExport_01-15-2026.zip"
    data = os.urandom(200_000)
    export.write_bytes(data)
    first = cli("snapshot", "--any-file", str(export))
    assert first.code == 0
    snap_id = first.out.strip()
    assert len(snap_id) == 64 and int(snap_id, 16) >= 0

    listed = cli("list", "--json")
    assert listed.code == 0
    entries = listed.json()
    assert [e["id"] for e in entries] == [snap_id]
    entry = entries[0]
    assert entry["source"] == export.name
    assert entry["size"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert "T" in entry["time"]

    text = cli("list")
    assert snap_id[:8] in text.out and export.name in text.out

    out = tmp_path / "restored.zip"
    assert cli("restore", "latest", "-o", str(out)).code == 0
    assert out.read_bytes() == data
    assert cli("restore", snap_id[:6], "-o", str(tmp_path / "r2.zip")).code == 0
    assert (tmp_path / "r2.zip").read_bytes() == data

    verified = cli("verify", "--json")
    assert verified.code == 0 and verified.json()["ok"] is True
    deep = cli("verify", "--read-data", "--json")
    assert deep.code == 0 and deep.json()["bytes_checked"] >= len(data)


def test_snapshot_json_document(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("init")
    f = tmp_path / "x.csv"
    f.write_bytes(b"a,b\n1,2\n")
    result = cli("snapshot", "--any-file", str(f), "--json")
    assert result.code == 0
    doc = result.json()
    assert doc["source"] == "x.csv" and doc["size"] == 8 and doc["seq"] == 1


def test_restore_refuses_to_overwrite_without_force(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("init")
    f = tmp_path / "x"
    f.write_bytes(b"new content")
    cli("snapshot", "--any-file", str(f))
    target = tmp_path / "existing"
    target.write_bytes(b"precious")
    refused = cli("restore", "latest", "-o", str(target))
    assert refused.code == 2 and "--force" in refused.err
    assert target.read_bytes() == b"precious"
    assert cli("restore", "latest", "-o", str(target), "--force").code == 0
    assert target.read_bytes() == b"new content"


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["restore", "nope", "-o", "x"], 2, "not a snapshot id"),
        (["restore", "abcdef", "-o", "x"], 2, "no snapshot id starts with"),
        (["snapshot", "/definitely/missing.zip"], 2, "does not exist"),
        (["list", "--bogus"], 2, "--bogus"),
        (["restore", "latest"], 2, "-o"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path: Path, args, code, fragment) -> None:  # noqa: ANN001
    cli("init")
    f = tmp_path / "x"
    f.write_bytes(b"x")
    cli("snapshot", "--any-file", str(f))
    result = cli(*args)
    assert result.code == code
    assert fragment in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_restore_latest_on_empty_vault(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("init")
    result = cli("restore", "latest", "-o", str(tmp_path / "o"))
    assert result.code == 2 and "no snapshots" in result.err


def test_wrong_passphrase_exit_3(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    cli("init")
    monkeypatch.setenv("LKVAULT_PASSWORD", "not it")
    result = cli("list")
    assert result.code == 3 and "wrong passphrase" in result.err
    json_result = cli("list", "--json")
    assert json_result.code == 3 and json_result.json()["exit_code"] == 3


def test_missing_vault_exit_2_with_hint(cli, tmp_path: Path) -> None:  # noqa: ANN001
    result = cli("list", "--vault", str(tmp_path / "none"))
    assert result.code == 2 and "lkvault init" in result.err


def test_init_twice_is_refused_unless_exist_ok(cli) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    again = cli("init")
    assert again.code == 2 and "already exists" in again.err
    assert cli("init", "--exist-ok").code == 0


def test_no_passphrase_source_off_terminal(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    cli("init")
    monkeypatch.delenv("LKVAULT_PASSWORD")
    result = cli("list")
    assert result.code == 3 and "LKVAULT_PASSWORD" in result.err


def test_password_file_and_command(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    cli("init")
    monkeypatch.delenv("LKVAULT_PASSWORD")
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery staple\n")
    monkeypatch.setenv("LKVAULT_PASSWORD_FILE", str(secret))
    assert cli("list").code == 0
    monkeypatch.delenv("LKVAULT_PASSWORD_FILE")
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\necho 'correct horse battery staple'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("LKVAULT_PASSWORD_COMMAND", str(script))
    assert cli("list").code == 0
    monkeypatch.setenv("LKVAULT_PASSWORD_COMMAND", f"{sys.executable} -c 'import sys; sys.exit(4)'")
    failed = cli("list")
    assert failed.code == 3 and "exited with 4" in failed.err


def test_new_password_file_for_init(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    secret = tmp_path / "newpw"
    secret.write_text("another passphrase\n")
    assert cli("init", "--new-password-file", str(secret)).code == 0
    assert cli("list").code == 3
    monkeypatch.setenv("LKVAULT_PASSWORD", "another passphrase")
    assert cli("list").code == 0


def test_empty_passphrase_refused_by_init(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LKVAULT_NEW_PASSWORD", "")
    monkeypatch.setenv("LKVAULT_PASSWORD", "")
    result = cli("init")
    assert result.code in (2, 3) and "passphrase" in result.err


def test_default_vault_location_is_the_user_data_folder(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    monkeypatch.delenv("LKVAULT_VAULT")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    result = cli("init", "--json")
    assert result.code == 0
    assert result.json()["location"] == str(tmp_path / "xdg" / "lkvault" / "vault")
    assert (tmp_path / "xdg" / "lkvault" / "vault" / "config").is_file()


def test_vault_option_beats_environment(cli, tmp_path: Path) -> None:  # noqa: ANN001
    other = tmp_path / "other"
    assert cli("init", "--vault", str(other)).code == 0
    assert (other / "config").is_file()
    assert not (tmp_path / "vault" / "config").exists()


def test_help_lists_the_commands(cli) -> None:  # noqa: ANN001
    result = cli("--help")
    assert result.code == 0
    for command in ("init", "snapshot", "list", "restore", "verify"):
        assert command in result.out


@pytest.mark.parametrize("command", ["init", "snapshot", "list", "restore", "cat", "verify"])
def test_every_command_takes_vault_and_json(cli, command: str) -> None:  # noqa: ANN001
    result = cli(command, "--help")
    assert result.code == 0
    assert "--vault" in result.out and "--json" in result.out


def test_cat_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    """`lkvault cat ... | head` must not end with an error message."""
    import subprocess

    env = {
        **os.environ,
        "LKVAULT_VAULT": str(tmp_path / "v"),
        "LKVAULT_PASSWORD": "pw pw pw",
        "LKVAULT_STATE_DIR": str(tmp_path / "s"),
    }
    root = Path(__file__).resolve().parents[1]
    run = [sys.executable, "-m", "lkvault.cli.main"]
    subprocess.run([*run, "init"], env=env, cwd=root, check=True, capture_output=True)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b,c\n" * 2_000_000)
    subprocess.run(
        [*run, "snapshot", "--any-file", str(big)],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
    )
    piped = subprocess.run(
        f"{sys.executable} -m lkvault.cli.main cat latest big.csv | head -c 10",
        shell=True,
        env=env,
        cwd=root,
        capture_output=True,
    )
    assert piped.stdout == b"a,b,c\na,b,"
    assert piped.stderr == b""
