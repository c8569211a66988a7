"""Snapshots stored before lkvault recorded whose export each is (lkvault 0.3, vault format 3)
are attributed from their stored export, so every command keeps to one member's exports
with them as with new ones (issue 20): a golden vault of 0.3 with another member's export
stored after it."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timezone
from pathlib import Path

import pytest
from lkvault.vault import Environment, Vault
from lkvault.vault.repository.ownercache import OwnerCache

from bench.exportgen import generate_export
from tests.helpers_cli import Lk, assert_one_line_error
from tests.test_browse_e2e import body, get, session, start
from tests.test_golden_vault import FIXTURES

GOLDEN = FIXTURES / "golden-v3"
GOLDEN_PASSPHRASE = json.loads((GOLDEN / "manifest.json").read_text())["passphrase"]
OLD_MEMBER = "Ada"  # Profile.csv of both exports of the golden vault: 'First Name' only


@pytest.fixture
def old_vault(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # noqa: ANN001
    """The golden vault of lkvault 0.3 (two exports of Ada, summaries without a member), then
    an export of another member stored by this lkvault; the ids, oldest first."""
    shutil.copytree(GOLDEN / "vault", tmp_path / "vault")
    monkeypatch.setenv("LKVAULT_PASSWORD", GOLDEN_PASSPHRASE)
    other = generate_export(
        tmp_path / "Basic_LinkedInDataExport_03-15-2026.zip",
        date=date(2026, 3, 15),
        scale=0.1,
        seed=2,
    )
    stored = cli("snapshot", str(other))
    assert stored.code == 0, stored.err
    # The warning of a new snapshot knows the older snapshots' member too.
    assert "'s export, but the one before it (snapshot " in stored.err
    assert f"is {OLD_MEMBER}'s" in stored.err
    return [s["id"] for s in cli("list", "--json").json()]


def test_old_snapshots_are_attributed_like_new_ones(cli, old_vault: list[str]) -> None:  # noqa: ANN001
    listed = cli("list", "--json").json()
    members = [(s["export"]["member"] or {}).get("name") for s in listed]
    assert members[:2] == [OLD_MEMBER, OLD_MEMBER]
    newest = members[2]
    assert newest not in (None, OLD_MEMBER)
    assert f"({OLD_MEMBER}'s)" in cli("list").out

    timeline = cli("timeline", "--json").json()  # the newest export's member: not Ada's
    assert [r["id"] for r in timeline["snapshots"]] == [old_vault[2]]
    assert (timeline["member"], timeline["other_members"]) == (newest, [OLD_MEMBER])
    ada = cli("timeline", "--member", "ada", "--json").json()
    assert [r["id"] for r in ada["snapshots"]] == old_vault[:2]

    status = cli("status", "--member", OLD_MEMBER, "--json", "--max-age", "100000").json()
    assert (status["newest"]["id"], status["snapshots"]) == (old_vault[1], 2)
    assert cli("status", "--json", "--max-age", "100000").json()["snapshots"] == 1

    compared = cli("diff", "--member", OLD_MEMBER, "--json")
    assert compared.code == 0, compared.err
    assert (compared.json()["from"]["id"], compared.json()["to"]["id"]) == tuple(old_vault[:2])
    alone = cli("diff")
    assert alone.code == 2, alone.err
    assert f"fewer than two LinkedIn exports of {newest}" in assert_one_line_error(alone.err)
    mixed = cli("diff", old_vault[1][:12], old_vault[2][:12])
    assert mixed.code == 2
    assert f"is {newest}'s export, not {OLD_MEMBER}'s" in assert_one_line_error(mixed.err)


def test_contacts_of_one_member(cli, old_vault: list[str]) -> None:  # noqa: ANN001
    theirs = cli("contacts", "--json").json()
    assert theirs["snapshot"]["id"] == old_vault[2] and theirs["contacts"] > 0
    said = cli("contacts", "-f", "csv").err
    assert f"the vault also holds exports of {OLD_MEMBER}; they are left out" in said
    mine = cli("contacts", "--member", OLD_MEMBER, "--json").json()
    assert mine["snapshot"]["id"] == old_vault[1]
    dated = cli("contacts", "--member", OLD_MEMBER, "--at", "2026-01-31", "--json").json()
    assert dated["snapshot"]["id"] == old_vault[0]
    other = cli("contacts", "--member", OLD_MEMBER, old_vault[2][:12])
    assert other.code == 2
    assert f"not {OLD_MEMBER}'s: see 'lkvault list'" in assert_one_line_error(other.err)
    unknown = cli("contacts", "--member", "Nobody Atall")
    assert unknown.code == 2
    assert "no export of a member named 'Nobody Atall'" in assert_one_line_error(unknown.err)


def test_browse_and_person_histories_keep_to_the_old_member(
    old_vault: list[str], tmp_path: Path
) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state", password=GOLDEN_PASSPHRASE)
    server = start(lk, "--member", OLD_MEMBER)
    try:
        cookie = session(server)
        root = f"{server.base}/s/{old_vault[1][:8]}"
        listed = body(get(server, f"{root}/snapshots", cookie=cookie))
        assert old_vault[0][:8].encode() in listed and old_vault[2][:8].encode() not in listed
    finally:
        code, err = server.stop()
    assert code == 130 and "Traceback" not in err  # stopped by Ctrl-C, as every command
    assert "the vault also holds exports of" in err


def test_each_old_snapshot_is_read_once_on_this_computer(
    old_vault: list[str], tmp_path: Path
) -> None:
    """The members read are remembered, sealed, in the state folder: the next command (a new
    open vault) reads no export; an altered file is not trusted."""
    state = tmp_path / "state-of-this-computer"

    def opened() -> Vault:
        return Vault.open(
            str(tmp_path / "vault"), GOLDEN_PASSPHRASE.encode(), Environment(state_dir=state)
        )

    def attributed() -> list[str | None]:
        vault = opened()
        found = vault.snapshots()
        assert found[0].export is not None and "member" not in found[0].export  # as stored
        return [(s.export or {}).get("member", {}).get("name") for s in vault.attributed(found)]

    first = attributed()
    assert first[:2] == [OLD_MEMBER, OLD_MEMBER]
    (remembered,) = state.glob("*/members")
    assert OLD_MEMBER.encode() not in remembered.read_bytes()  # sealed, not in the clear
    cache = OwnerCache(state, opened().repo.keys, os.urandom)
    assert set(cache.load().owners) == {bytes.fromhex(i) for i in old_vault[:2]}
    data = tmp_path / "vault" / "data"
    data.rename(tmp_path / "data-away")  # no stored export can be read from here on
    assert attributed() == first
    opened().forget(None, [old_vault[0][:12]], zone=timezone.utc)
    assert set(cache.load().owners) == {bytes.fromhex(old_vault[1])}  # nothing kept of it here
    assert attributed() == first[1:]
    altered = bytearray(remembered.read_bytes())
    altered[-1] ^= 1
    remembered.write_bytes(bytes(altered))
    assert attributed()[:1] == [None]  # not trusted, and cannot be read again


def test_retention_keeps_each_members_exports(cli, old_vault: list[str]) -> None:  # noqa: ANN001
    planned = cli("forget", "--keep-last", "1", "--dry-run", "--json")
    assert planned.code == 0, planned.err
    rows = planned.json()["snapshots"]
    assert [r["keep"] for r in rows] == [False, True, True]
    assert rows[1]["reasons"] == [f"last 1 of {OLD_MEMBER}"]
