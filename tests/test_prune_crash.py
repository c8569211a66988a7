"""Crash safety of forget and prune: real processes SIGKILLed before each storage change.

``python -m tests.faults N ARGS`` (test-only: tests/faults.py) runs the CLI killing itself
at its N-th storage write or delete (deletes of
lock files aside; ``:halfway`` leaves a half-written temp file, as a power cut would). The
base vault holds four snapshots made so that a prune must do every kind of work:

  S1 = a zip storing R1 + R2   S2 = R1 + R3   S3 = an export zip   S4 = R3 + R4
  (R: random runs; S1 is a zip so that S2's frames are not compressed against S1's chunks)

S1 and S3 are forgotten: S3's pack goes whole, S1's pack is partly needed (R1 is S2's) and is
repacked; every snapshot's index file is replaced by one. After a kill at any point: verify
--read-data passes, exactly S2 and S4 are listed and restore byte for byte, and the next
prune finishes the job (after it, a dry run finds nothing left to do).

A second vault holds three monthly exports (bench/exportgen.py), each month's frames
compressed against the month before, and a conversation only February has; February is
forgotten, so prune re-encodes March's frames against January's chunks. Killed at any of
those writes, the same holds, and once the next prune has finished the conversation is in
no frame of the vault.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import (
    Lk,
    assert_clean_stderr,
    assert_library_restores,
    copy_lk,
    decrypted_frames,
    export_zip,
    kill_sweep,
    open_vault,
    random_bytes,
    reopen,
)


@dataclass
class Base:
    lk: Lk
    ids: list[str]
    data: list[bytes]
    opened: Any  # the base vault opened once: its keys serve every copy
    forgotten: Lk  # a copy of the vault in which S1 and S3 were forgotten
    kept: list[int] = field(default_factory=lambda: [1, 3])  # S2 and S4
    markers: list[bytes] = field(default_factory=list)  # only in forgotten snapshots


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("prune-base")
    lk = Lk(root / "vault", root / "state")
    lk.init()
    runs = [random_bytes(150_000, seed=40 + i) for i in range(5)]
    first = root / "stored.zip"
    with zipfile.ZipFile(first, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("data.bin", runs[1] + runs[2])
    export = root / "Basic_LinkedInDataExport_01-15-2026.zip"
    export_zip(export, csv_size=200_000, seed=45)
    inputs = [first, runs[1] + runs[3], export, runs[3] + runs[4]]
    ids, data = [], []
    for number, content in enumerate(inputs):
        if isinstance(content, Path):
            path, content = content, content.read_bytes()
        else:
            path = root / f"s{number + 1}.bin"
            path.write_bytes(content)
        ids.append(lk.snapshot(path))
        data.append(content)
    forgotten = copy_lk(lk, root / "forgotten")
    forgotten.ok("forget", ids[0], ids[2])
    return Base(lk, ids, data, open_vault(lk), forgotten)


def copy_of(base: Base, work: Path, forgotten: bool) -> Lk:
    return copy_lk(base.forgotten if forgotten else base.lk, work)


def check_consistent(base: Base, lk: Lk, label: str, expect_ids: list[list[str]]) -> None:
    """What 'verify --read-data' and 'list' would say, and restores (through the library,
    with the keys already unlocked: no Argon2id per check)."""
    vault = reopen(base.opened, lk.vault)
    report = vault.verify(read_data=True)
    assert report.ok, f"{label}: verify after the crash: {[p.describe() for p in report.problems]}"
    for note in report.notes:
        assert "not referenced by any index" in note, f"{label}: unexpected note {note!r}"
    listed = [s.id.hex() for s in vault.snapshots()]
    assert listed in expect_ids, f"{label}: listed {listed}"
    for number, snap_id in enumerate(base.ids):
        if snap_id in listed:
            assert_library_restores(vault, snap_id, base.data[number], lk.vault.parent)


def check_prune_finishes(base: Base, lk: Lk, label: str) -> None:
    kept = [base.ids[i] for i in base.kept]
    check_consistent(base, lk, label, [kept])
    code, _out, err = lk.run("prune")
    assert_clean_stderr(err)
    assert code == 0, f"{label}: the next prune exited {code}: {err}"
    vault = reopen(base.opened, lk.vault)
    plan = vault.prune(dry_run=True).plan
    assert plan.nothing_to_do and plan.blobs_unused == 0, f"{label}: prune left work: {plan}"
    check_consistent(base, lk, f"{label}, after the next prune", [kept])
    for content in decrypted_frames(vault):
        assert not any(m in content for m in base.markers), f"{label}: forgotten data stays"


@pytest.fixture(scope="module")
def chained(tmp_path_factory: pytest.TempPathFactory) -> Base:
    from bench.exportgen import export_name, generate_export

    root = tmp_path_factory.mktemp("prune-chain")
    lk = Lk(root / "vault", root / "state")
    lk.init()
    ids, data = [], []
    for month in range(3):
        when = date(2026, 1 + month, 15)
        path = generate_export(
            root / export_name(when), date=when, scale=0.05, month_index=month, deleted_at=2
        )
        ids.append(lk.snapshot(path))
        data.append(path.read_bytes())
    rows = [_conversation_ids(d) for d in data]
    markers = [cid.encode() for cid in rows[1] - rows[0] - rows[2]]
    assert markers and not any(m in data[0] + data[2] for m in markers)
    forgotten = copy_lk(lk, root / "forgotten")
    forgotten.ok("forget", ids[1])
    return Base(lk, ids, data, open_vault(lk), forgotten, kept=[0, 2], markers=markers)


def _conversation_ids(export: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(export)) as archive:
        text = archive.read("messages.csv").decode("utf-8")
    return {row["CONVERSATION ID"] for row in csv.DictReader(io.StringIO(text))}


def sweep(base: Base, tmp_path: Path, args: list[str], forgotten: bool, check: Any) -> int:
    """Kill ``lkvault ARGS`` at every storage change, then at every one half-way; returns how
    many changes an undisturbed run makes."""

    def fresh(work: Path) -> Lk:
        work.mkdir()
        return copy_of(base, work, forgotten)

    return kill_sweep(fresh, tmp_path, args, lambda lk, label: check(base, lk, label))


def test_prune_killed_at_every_storage_change(base: Base, tmp_path: Path) -> None:
    changes = sweep(base, tmp_path, ["prune"], True, check_prune_finishes)
    # lock; the repacked pack and its index; the new index; 5 old index files; 2 packs.
    assert changes >= 10, changes


def test_prune_killed_at_every_reencoding_write(chained: Base, tmp_path: Path) -> None:
    stored = decrypted_frames(chained.opened)
    assert any(m in content for content in stored for m in chained.markers)
    changes = sweep(chained, tmp_path, ["prune"], True, check_prune_finishes)
    # lock; the re-encoded frames' pack and its index; the new index; old ones; old packs.
    assert changes >= 5, changes


def test_forget_killed_at_every_storage_change(base: Base, tmp_path: Path) -> None:
    everything = list(base.ids)
    kept = [base.ids[i] for i in base.kept]

    def check(base: Base, lk: Lk, label: str) -> None:
        # Before the forget record is durable nothing is gone; after it, S1 and S3 are gone
        # at once, whatever their files' state.
        check_consistent(base, lk, label, [everything, kept])
        if [s["id"] for s in lk.list_json()] == kept:
            check_prune_finishes(base, lk, label)

    changes = sweep(base, tmp_path, ["forget", base.ids[0], base.ids[2]], False, check)
    assert changes == 4, changes  # lock, the forget record, the two snapshot files
