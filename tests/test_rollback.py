"""Rollback detection: a vault that shows less than this computer already saw.

The client keeps the newest (seq, id) it has seen per vault in LKVAULT_STATE_DIR. When the
vault's newest snapshot is older than that, or that snapshot is gone or replaced, ``verify``
reports it (exit 1), ``snapshot`` refuses to write on top (exit 1), ``list`` still works with a
one-line warning, and ``verify --accept-rollback`` makes the current state the trusted one.
A hole in the middle of the snapshot chain is found even by a client that saw nothing before.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers_cli import (
    Lk,
    assert_one_line_error,
    assert_restores,
    export_zip,
    random_bytes,
    vault_files,
)


@dataclass
class TwoSnapshots:
    lk: Lk
    ids: list[str]
    data: list[bytes]
    copy_after_first: Path
    new_input: Path
    tmp: Path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TwoSnapshots:
    """Built once: a vault with two snapshots, the state folder of the computer that took them,
    and a copy of the vault folder taken after the first snapshot."""
    base = tmp_path_factory.mktemp("rollback-template")
    lk = Lk(base / "vault", base / "state")
    lk.init()
    first, second, third = base / "a.bin", base / "export.zip", base / "c.bin"
    first.write_bytes(random_bytes(200_000, seed=31))
    second_data = export_zip(second, csv_size=300_000, seed=32)
    third.write_bytes(random_bytes(100_000, seed=33))
    id1 = lk.snapshot(first)
    copy = base / "vault-after-first"
    shutil.copytree(lk.vault, copy)
    id2 = lk.snapshot(second)
    return TwoSnapshots(lk, [id1, id2], [first.read_bytes(), second_data], copy, third, base)


@pytest.fixture
def two(template: TwoSnapshots, tmp_path: Path) -> TwoSnapshots:
    """A private copy of the template (vault, state folder and old copy) for one test."""
    shutil.copytree(template.lk.vault, tmp_path / "vault")
    shutil.copytree(template.lk.state_dir, tmp_path / "state")
    shutil.copytree(template.copy_after_first, tmp_path / "vault-after-first")
    shutil.copy(template.new_input, tmp_path / template.new_input.name)
    return TwoSnapshots(
        Lk(tmp_path / "vault", tmp_path / "state"),
        template.ids,
        template.data,
        tmp_path / "vault-after-first",
        tmp_path / template.new_input.name,
        tmp_path,
    )


def assert_rollback_reported_and_refused(two: TwoSnapshots, words: tuple[str, ...]) -> None:
    lk = two.lk
    # verify names the problem (the JSON messages are the text report's lines).
    code, report, _ = lk.verify_json()
    assert code == 1 and not report["ok"], f"verify of a rolled-back vault: {report}"
    assert any(any(w in p["message"] for w in words) for p in report["problems"]), report

    # snapshot refuses to write on top, and changes nothing in the vault.
    before = vault_files(lk.vault)
    code, out, err = lk.run("snapshot", "--any-file", str(two.new_input))
    assert code == 1, f"snapshot on a rolled-back vault exited {code}"
    message = assert_one_line_error(err)
    assert any(w in message for w in words) and "refusing" in message, message
    assert out == ""
    assert vault_files(lk.vault) == before, "the refused snapshot changed the vault"

    # list still works, with exactly one warning line; and it does not make the rollback
    # look accepted (verify still reports it afterwards).
    code, out, err = lk.run("list")
    assert code == 0, err
    assert two.ids[0][:8] in out
    warnings = [line for line in err.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("lkvault: warning: "), err
    assert any(w in warnings[0] for w in words), warnings
    code, out, _ = lk.run("verify")
    assert code == 1, "list silently accepted the rollback"
    assert any(w in out for w in words), out


def assert_accept_rollback(two: TwoSnapshots, expected_ids: list[str]) -> None:
    lk = two.lk
    code, out, err = lk.run("verify", "--accept-rollback")
    assert code == 0, f"verify --accept-rollback exited {code}: {out}{err}"
    code, out, err = lk.run("list", "--json")
    assert code == 0 and err.strip() == "", f"warning after accepting the rollback: {err}"
    assert [s["id"] for s in json.loads(out)] == expected_ids
    # Writing works again and continues the chain from the accepted head.
    code, out, err = lk.run("snapshot", "--any-file", "--json", str(two.new_input))
    assert code == 0, f"snapshot after accepting the rollback: {err}"
    assert json.loads(out)["seq"] == len(expected_ids) + 1


def test_deleting_the_newest_snapshot_is_a_rollback(two: TwoSnapshots) -> None:
    (two.lk.vault / "snapshots" / two.ids[1]).unlink()
    assert_rollback_reported_and_refused(two, ("rolled back",))
    assert_accept_rollback(two, [two.ids[0]])


def test_restoring_the_vault_folder_from_an_older_copy_is_a_rollback(two: TwoSnapshots) -> None:
    shutil.rmtree(two.lk.vault)
    shutil.copytree(two.copy_after_first, two.lk.vault)
    assert_rollback_reported_and_refused(two, ("rolled back",))
    # Nothing was lost from what the old copy holds.
    assert_restores(two.lk, two.ids[0], two.data[0], two.tmp)
    assert_accept_rollback(two, [two.ids[0]])


def test_after_putting_back_an_older_copy_the_way_out_is_named_and_shows_what_it_knew(
    two: TwoSnapshots,
) -> None:
    lk = two.lk
    shutil.rmtree(lk.vault)
    shutil.copytree(two.copy_after_first, lk.vault)
    code, _, err = lk.run("snapshot", "--any-file", str(two.new_input))
    assert code == 1
    assert "lkvault verify --accept-rollback" in assert_one_line_error(err)
    code, out, _ = lk.run("verify")
    assert code == 1 and "lkvault verify --accept-rollback" in out, out

    code, out, err = lk.run("verify", "--accept-rollback")
    assert code == 0, out + err
    (shown,) = [line for line in err.splitlines() if line.strip()]
    assert shown.startswith("Accepted the vault as it is now: "), err
    assert f"had seen snapshot #2 ({two.ids[1][:8]})" in shown, shown
    assert f"its newest now is #1 ({two.ids[0][:8]}, " in shown and "'a.bin'" in shown, shown
    assert lk.snapshot(two.new_input)


def test_a_replaced_newest_snapshot_is_reported(two: TwoSnapshots) -> None:
    # Someone rolls the vault back to the copy and stores something else as snapshot #2: the
    # vault's newest seq is the one this computer saw, but not the snapshot it saw.
    shutil.rmtree(two.lk.vault)
    shutil.copytree(two.copy_after_first, two.lk.vault)
    other = Lk(two.lk.vault, two.tmp / "other-state")
    forged = two.tmp / "forged.bin"
    forged.write_bytes(random_bytes(50_000, seed=34))
    code, out, err = other.run("snapshot", "--any-file", "--json", str(forged))
    assert code == 0, err
    forged_id = json.loads(out)["id"]
    assert json.loads(out)["seq"] == 2
    assert_rollback_reported_and_refused(two, ("gone or was replaced", "rolled back"))
    assert_accept_rollback(two, [two.ids[0], forged_id])


def test_a_hole_in_the_chain_is_found_with_a_fresh_state_dir(two: TwoSnapshots) -> None:
    lk = two.lk
    third_id = lk.snapshot(two.new_input)
    (lk.vault / "snapshots" / two.ids[1]).unlink()
    stranger = Lk(lk.vault, two.tmp / "fresh-state")  # a computer that saw nothing before
    code, report, _ = stranger.verify_json()
    assert code == 1 and not report["ok"]
    missing = [p for p in report["problems"] if "missing" in p["message"]]
    assert missing, report
    assert any(two.ids[1][:8] in p["message"] for p in missing), missing
    # The snapshot after the hole is intact and restores byte for byte.
    assert_restores(stranger, third_id, two.new_input.read_bytes(), two.tmp)


def test_no_false_alarm_for_a_second_computer_or_after_normal_use(two: TwoSnapshots) -> None:
    lk = two.lk
    other = Lk(lk.vault, two.tmp / "other-state")  # a second computer using the same vault
    assert lk.run("verify")[0] == 0
    # The other computer adds a snapshot: the first one now sees a newer vault, which is fine.
    code, out, err = other.run("snapshot", "--any-file", "--json", str(two.new_input))
    assert code == 0 and err.strip() == "", err
    assert json.loads(out)["seq"] == 3
    code, _, err = lk.run("list")
    assert code == 0 and err.strip() == "", f"false rollback warning: {err}"
    another_input = two.tmp / "another-export.bin"
    another_input.write_bytes(b"a later export " * 100)
    code, out, err = lk.run("snapshot", "--any-file", "--json", str(another_input))
    assert code == 0, f"false rollback refusal: {err}"
    assert json.loads(out)["seq"] == 4
