"""Repair on vaults with each kind of damage: it keeps every snapshot that is still whole,
removes only what is broken, names the snapshots lost and why, and never makes things worse
(every snapshot that restored before restores after, and verify passes).

Template, built once through the CLI:
  E  9 MB of random bytes               -> pack PE (three frames)
  F  a zip storing E's first 3 MB        -> its chunks are E's, in PE's first frame
  B  an export zip                       -> pack PB
  C  the next month's export             -> needs chunks in PB
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import (
    Lk,
    assert_clean_stderr,
    csv_text,
    flip_byte,
    open_vault,
    random_bytes,
    reopen,
    vault_files,
)
from lkvault.vault import VaultError


@dataclass
class Template:
    lk: Lk
    ids: dict[str, str]
    data: dict[str, bytes]
    packs: dict[str, str]  # label -> the pack its snapshot wrote
    indexes: dict[str, str]
    opened: Any


def export(path: Path, connections: bytes, messages: bytes) -> bytes:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Connections.csv", connections)
        archive.writestr("Messages.csv", messages)
    return path.read_bytes()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("repair-template")
    lk = Lk(root / "vault", root / "state")
    lk.init()
    big = random_bytes(7_000_000, seed=51)  # two frames, one pack
    inputs: dict[str, Path] = {"E": root / "e.bin"}
    inputs["E"].write_bytes(big)
    inputs["F"] = root / "first-part.zip"
    with zipfile.ZipFile(inputs["F"], "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("data.bin", big[:3_000_000])
    connections = csv_text(300_000, seed=52)
    inputs["B"] = root / "Basic_LinkedInDataExport_01-15-2026.zip"
    export(inputs["B"], connections, csv_text(100_000, seed=53))
    inputs["C"] = root / "Basic_LinkedInDataExport_02-15-2026.zip"
    export(inputs["C"], connections, csv_text(100_000, seed=54))
    ids, packs, indexes = {}, {}, {}
    for label, path in inputs.items():
        before, before_index = vault_files(lk.vault, "data"), vault_files(lk.vault, "index")
        ids[label] = lk.snapshot(path)
        packs[label] = sorted(vault_files(lk.vault, "data") - before)[0]
        indexes[label] = sorted(vault_files(lk.vault, "index") - before_index)[0]
    data = {label: path.read_bytes() for label, path in inputs.items()}
    return Template(lk, ids, data, packs, indexes, open_vault(lk))


@pytest.fixture
def copy(template: Template, tmp_path: Path) -> Lk:
    shutil.copytree(template.lk.vault, tmp_path / "vault")
    shutil.copytree(template.lk.state_dir, tmp_path / "state")
    return Lk(tmp_path / "vault", tmp_path / "state")


def restorable(template: Template, lk: Lk) -> set[str]:
    vault = reopen(template.opened, lk.vault)
    found = set()
    for label, snap_id in template.ids.items():
        target = lk.vault.parent / f"check-{label}"
        try:
            vault.restore(snap_id, target, force=True)
        except VaultError:
            continue
        if target.read_bytes() == template.data[label]:
            found.add(label)
        target.unlink()
    return found


def repair(template: Template, lk: Lk, damage: Callable[[Path], None]) -> dict[str, Any]:
    """Damage the copy, run 'lkvault repair --json', check it made nothing worse."""
    damage(lk.vault)
    before = restorable(template, lk)
    code, out, err = lk.run("repair", "--json")
    assert_clean_stderr(err)
    assert code == 0, f"repair exited {code}: {err}"
    report = json.loads(out)
    after = restorable(template, lk)
    assert before <= after, f"repair made things worse: {before} -> {after}"
    verified = reopen(template.opened, lk.vault).verify(read_data=True)
    assert verified.ok, [p.describe() for p in verified.problems]
    listed = {s.id.hex() for s in reopen(template.opened, lk.vault).snapshots()}
    assert listed == {template.ids[label] for label in after}, "a listed snapshot cannot restore"
    return report


def lost(report: dict[str, Any], template: Template) -> dict[str, str]:
    by_short = {snap_id[:8]: label for label, snap_id in template.ids.items()}
    return {by_short[s["short_id"]]: s["reason"] for s in report["snapshots_lost"]}


def frame_offsets(template: Template, pack: str) -> list[int]:
    from lkvault.vault.repository.index import pack_id_of_name

    pack_id = pack_id_of_name(pack)
    assert pack_id is not None
    return [f.offset for f in template.opened.repo.index.packs[pack_id]]


def test_a_damaged_frame_costs_only_the_snapshot_that_needs_it(
    template: Template, copy: Lk
) -> None:
    offsets = frame_offsets(template, template.packs["E"])
    assert len(offsets) >= 2, "E should span several frames"
    report = repair(template, copy, lambda v: flip_byte(v / template.packs["E"], offsets[-1] + 40))
    assert list(lost(report, template)) == ["E"]
    assert report["blobs_salvaged"] > 0  # F's chunks came out of E's damaged pack
    assert restorable(template, copy) == {"F", "B", "C"}
    assert not (copy.vault / template.packs["E"]).exists()


def test_a_missing_pack_loses_every_snapshot_needing_it_and_says_why(
    template: Template, copy: Lk
) -> None:
    report = repair(template, copy, lambda v: (v / template.packs["B"]).unlink())
    reasons = lost(report, template)
    assert set(reasons) == {"B", "C"}
    assert all("lost" in r or "missing" in r for r in reasons.values()), reasons
    assert restorable(template, copy) == {"E", "F"}


@pytest.mark.parametrize("how", ["flipped", "deleted"])
def test_a_damaged_or_deleted_index_file_loses_nothing(
    template: Template, copy: Lk, how: str
) -> None:
    def damage(vault: Path) -> None:
        if how == "flipped":
            flip_byte(vault / template.indexes["E"], 60)
        else:
            (vault / template.indexes["E"]).unlink()

    report = repair(template, copy, damage)
    assert report["snapshots_lost"] == [] and report["recovered_packs"]
    assert restorable(template, copy) == {"E", "F", "B", "C"}


def test_an_unreadable_snapshot_record_is_reported_lost(template: Template, copy: Lk) -> None:
    report = repair(template, copy, lambda v: flip_byte(v / "snapshots" / template.ids["F"], 30))
    reasons = lost(report, template)
    assert list(reasons) == ["F"] and "unreadable" in reasons["F"]
    assert restorable(template, copy) == {"E", "B", "C"}


def test_a_record_removed_from_the_middle_of_the_chain_is_named(
    template: Template, copy: Lk
) -> None:
    report = repair(template, copy, lambda v: (v / "snapshots" / template.ids["B"]).unlink())
    reasons = lost(report, template)
    assert list(reasons) == ["B"] and "missing" in reasons["B"]
    # The vault is whole and writable again.
    new_input = copy.vault.parent / "next.bin"
    new_input.write_bytes(random_bytes(50_000, seed=55))
    code, _out, err = copy.run("snapshot", "--any-file", str(new_input))
    assert code == 0, err


def test_repair_of_an_intact_vault_changes_nothing(template: Template, copy: Lk) -> None:
    before = {p: (copy.vault / p).read_bytes() for p in vault_files(copy.vault)}
    report = repair(template, copy, lambda v: None)
    assert not report["changed"] and report["snapshots_lost"] == []
    after = {p: (copy.vault / p).read_bytes() for p in vault_files(copy.vault)}
    assert {p for p in after if not p.startswith("locks/")} == set(before)
    assert all(after[p] == before[p] for p in before)


def test_dry_run_changes_nothing_and_a_later_prune_works(template: Template, copy: Lk) -> None:
    (copy.vault / template.packs["B"]).unlink()
    before = vault_files(copy.vault)
    code, out, _err = copy.run("repair", "--dry-run", "--json")
    assert code == 0 and set(lost(json.loads(out), template)) == {"B", "C"}
    assert vault_files(copy.vault) == before
    assert copy.run("prune")[0] == 1  # prune refuses a damaged vault
    assert copy.run("repair")[0] == 0
    code, _out, err = copy.run("prune")
    assert code == 0, err
    assert restorable(template, copy) == {"E", "F"}
