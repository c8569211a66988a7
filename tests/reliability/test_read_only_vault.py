"""A vault on read-only media (a read-only disk, mount or share) can still be read.

Readers cannot write their shared lock there: ``list``, ``restore`` (archive and members),
``cat``, ``verify`` and ``stats`` work without one and say so in one warning line; writers
fail in one line and nothing changes. The read-only mount is real: a bind mount remounted
read-only inside a private mount namespace (``unshare --mount``), which only that command
sees; the test is skipped where mount namespaces are refused.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from helpers_cli import Lk, assert_one_line_error, vault_files
from namespaces import read_only_mount, run_in, unshare_refusal

from bench.exportgen import generate_export

from .budget import record

READ_ONLY = "cannot be written (read-only); reading it without a lock"


def _refusal(probe: Path) -> str | None:
    probe.mkdir(parents=True, exist_ok=True)
    return unshare_refusal(read_only_mount(probe), "a read-only bind mount")


def run_read_only(lk: Lk, *args: str) -> tuple[int, str, str]:
    return run_in(read_only_mount(lk.vault), lk, *args)


def warning_only(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lkvault: warning: "), err
    assert READ_ONLY in lines[0], err


def test_a_read_only_vault_can_be_listed_restored_and_verified(tmp_path: Path) -> None:
    refusal = _refusal(tmp_path / "probe")
    if refusal is not None:
        pytest.skip(refusal)
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    export = generate_export(tmp_path / "export.zip", date=date(2026, 3, 15), seed=91)
    snap_id = lk.snapshot(export)
    before = vault_files(lk.vault)

    code, out, err = run_read_only(lk, "list", "--json")
    assert code == 0, err
    assert [s["id"] for s in json.loads(out)] == [snap_id]
    warning_only(err)

    restored = tmp_path / "restored.zip"
    code, out, err = run_read_only(lk, "restore", "latest", "-o", str(restored))
    assert code == 0, err
    assert restored.read_bytes() == export.read_bytes()
    warning_only(err)

    code, out, err = run_read_only(lk, "restore", "latest", "--extract", str(tmp_path / "x"))
    assert code == 0, err
    assert any((tmp_path / "x").rglob("*.csv"))

    code, out, err = run_read_only(lk, "verify", "--read-data", "--json")
    assert code == 0 and json.loads(out)["ok"], out + err
    warning_only(err)

    for command in (("stats",), ("cat", "latest", "Profile.csv")):
        code, out, err = run_read_only(lk, *command)
        assert code == 0, f"{command[0]} on a read-only vault: {err}"
        warning_only(err)

    # Writers cannot work there: one line, exit 1, nothing changed.
    code, out, err = run_read_only(lk, "snapshot", str(export), "--opaque")
    assert code == 1, out + err
    assert "Read-only file system" in assert_one_line_error(err)
    code, out, err = run_read_only(lk, "prune")
    assert code == 1 and "Read-only" in assert_one_line_error(err)
    assert vault_files(lk.vault) == before
    record("read-only-vault", commands=8)


def test_an_empty_vault_option_is_a_usage_error(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    for command in (("list", "--vault", ""), ("init", "--vault", " ")):
        code, out, err = lk.run(*command)
        assert code == 2, f"{command}: exit {code}: {out}{err}"
        assert "--vault is empty" in assert_one_line_error(err)
    assert not lk.vault.exists()
