"""Forgetting any snapshot, the newest included, and what 'latest' means (issue 20, item 9)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.test_export_cli import later_month
from tests.test_export_parsing import SAMPLE


def _store_any(cli, path: Path) -> str:  # noqa: ANN001
    path.write_bytes(os.urandom(50_000))
    stored = cli("snapshot", "--any-file", str(path))
    assert stored.code == 0, stored.err
    return stored.out.strip()


def test_the_newest_snapshot_can_be_forgotten_and_the_chain_goes_on(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    first, second, stray = (_store_any(cli, tmp_path / n) for n in ("a.bin", "b.bin", "c.bin"))
    forgot = cli("forget", stray)
    assert forgot.code == 0, forgot.err
    listed = cli("list", "--json")
    assert [s["id"] for s in listed.json()] == [first, second]
    assert listed.err == ""  # this computer saw the stray one: its forgetting is no rollback
    assert cli("verify").code == 0
    # The next snapshot continues from the forgotten one: it never reuses its number.
    later = _store_any(cli, tmp_path / "d.bin")
    after = {s["id"]: s["seq"] for s in cli("list", "--json").json()}
    assert after == {first: 1, second: 2, later: 4}
    verified = cli("verify", "--json")
    assert verified.code == 0, verified.json()["problems"]


def test_forgetting_the_newest_weakens_no_rollback_check(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    first, second, stray = (_store_any(cli, tmp_path / n) for n in ("a.bin", "b.bin", "c.bin"))
    assert cli("forget", stray).code == 0
    # Someone with the files alone deletes what the forgotten snapshot came after.
    (tmp_path / "vault" / "snapshots" / second).unlink()
    listed = cli("list")
    assert "rolled back or altered" in listed.err and second[:8] in listed.err
    refused = cli("snapshot", "--any-file", str(tmp_path / "a.bin"))
    assert refused.code == 1 and "rolled back" in refused.err
    assert cli("verify").code == 1
    assert first


def test_every_command_agrees_on_latest(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    april = later_month(tmp_path, 3)
    newest = cli("snapshot", str(april)).out.strip()
    older = cli("snapshot", str(SAMPLE)).out.strip()  # January's export, stored later
    notes = tmp_path / "notes.txt"
    notes.write_text("kept on purpose\n")
    assert cli("snapshot", "--any-file", str(notes)).code == 0  # stored last, not an export
    assert older != newest
    restored = tmp_path / "latest.zip"
    assert cli("restore", "latest", "-o", str(restored)).code == 0
    assert restored.read_bytes() == april.read_bytes()
    assert cli("contacts", "--json").json()["snapshot"]["id"] == newest
    assert cli("timeline", "--json").json()["latest"] == newest
    assert cli("status", "--json").json()["newest"]["id"] == newest
    assert "(latest)" in next(
        line for line in cli("timeline").out.splitlines() if "2026-04" in line
    )
