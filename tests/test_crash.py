"""Crash safety: a real ``lkvault snapshot`` process SIGKILLed at every storage write.

LKVAULT_DEBUG_KILL_AT_WRITE=N makes the CLI kill itself with SIGKILL at its N-th storage write
(before the write, or with ``:halfway`` after leaving a half-written temp file, as a power cut
would). For N = 1, 2, ... until the command runs to completion (which counts the writes of an
undisturbed run), each crash starts from a fresh copy of the same vault and must leave:

- ``verify --read-data`` passing (exit 0; only notes about unreferenced packs allowed), which
  re-hashes every blob of the snapshot committed before the crash;
- nothing half-committed visible: the vault still holds exactly one snapshot;
- the same ``lkvault snapshot`` command, run again, succeeding as snapshot #2; then both the
  earlier snapshot and the new one restore byte for byte.

Crash points are driven one after another; the checks of each run on a small thread pool
while the next crash is being produced.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import (
    SIGKILLED,
    Lk,
    assert_library_restores,
    export_zip,
    open_vault,
    random_bytes,
    reopen,
    vault_files,
)

TEMP_PREFIX = ".tmp-"


@dataclass
class Base:
    """A vault holding one committed snapshot, and the input a crashed command was storing."""

    lk: Lk
    first_id: str
    first_data: bytes
    target: Path
    target_data: bytes
    opened: Any  # the base vault opened once (its keys serve every copy)


def make_base(tmp_path: Path, target_name: str, target_data: bytes) -> Base:
    lk = Lk(tmp_path / "base-vault", tmp_path / "base-state")
    lk.init()
    first = tmp_path / "first.bin"
    first_data = random_bytes(300_000, seed=11)
    first.write_bytes(first_data)
    first_id = lk.snapshot(first)
    target = tmp_path / target_name
    target.write_bytes(target_data)
    return Base(lk, first_id, first_data, target, target_data, open_vault(lk))


def fresh_copy(base: Base, work: Path) -> Lk:
    shutil.copytree(base.lk.vault, work / "vault")
    shutil.copytree(base.lk.state_dir, work / "state")
    return Lk(work / "vault", work / "state")


def temp_files(vault: Path) -> list[Path]:
    return [p for p in vault.rglob(f"{TEMP_PREFIX}*") if p.is_file()]


def check_after_crash(base: Base, lk: Lk, label: str, out_dir: Path) -> None:
    """Everything a user relies on after a crash."""
    code, report, _err = lk.verify_json()
    assert code == 0 and report["ok"], f"{label}: verify --read-data after the crash: {report}"
    for note in report["notes"]:
        assert "not referenced by any index" in note, f"{label}: unexpected note {note!r}"
    assert report["snapshots"] == 1, f"{label}: a killed snapshot became visible: {report}"

    # The same command again succeeds, as snapshot #2, and gives back exactly what it stored;
    # the snapshot committed before the crash still restores byte for byte.
    code, out, err = lk.run("snapshot", "--json", str(base.target))
    assert code == 0, f"{label}: snapshot after the crash exited {code}: {err}"
    again = json.loads(out)
    assert again["seq"] == 2, f"{label}: retry got sequence number {again['seq']}"
    assert again["sha256"] == hashlib.sha256(base.target_data).hexdigest(), label
    # The next writer cleared what the crash left half-written (lock files aside: readers may
    # be writing theirs).
    left = [p for p in temp_files(lk.vault) if "locks" not in p.parts]
    assert not left, f"{label}: temp files left after the retry: {left}"
    vault = reopen(base.opened, lk.vault)
    assert [(s.id.hex(), s.seq) for s in vault.snapshots()] == [
        (base.first_id, 1),
        (again["id"], 2),
    ], label
    assert_library_restores(vault, base.first_id, base.first_data, out_dir)
    assert_library_restores(vault, again["id"], base.target_data, out_dir)


def crash_at(base: Base, tmp_path: Path, nth: int, mode: str) -> tuple[Lk, int, str, str]:
    """Run the snapshot command on a fresh copy of the base vault, killed at write ``nth``."""
    work = tmp_path / f"{mode or 'plain'}-{nth}"
    work.mkdir()
    lk = fresh_copy(base, work)
    spec = f"{nth}:{mode}" if mode else str(nth)
    code, out, err = lk.run(
        "snapshot", str(base.target), extra={"LKVAULT_DEBUG_KILL_AT_WRITE": spec}
    )
    return lk, code, out, err


def after_kill(
    base: Base, lk: Lk, nth: int, mode: str, code: int, err: str, pool: ThreadPoolExecutor
) -> Future[None]:
    spec = f"{nth}:{mode}" if mode else str(nth)
    assert code == SIGKILLED, f"write {spec}: expected SIGKILL, got exit {code}: {err}"
    leftovers = temp_files(lk.vault)
    if mode == "halfway":
        assert leftovers, f"write {spec}: no half-written temp file was left behind"
    else:
        assert not leftovers, f"write {spec}: a kill before the write left {leftovers}"
    return pool.submit(check_after_crash, base, lk, f"crash at write {spec}", lk.vault.parent)


def run_all_crash_points(base: Base, tmp_path: Path, limit: int = 40) -> dict[str, int]:
    """Kill at write 1, 2, ... until the command completes undisturbed (which counts its
    writes), then at each of those writes again in halfway mode. The checks of each crash run
    on a pool while the next crash is produced."""
    checks: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for nth in range(1, limit + 1):
            lk, code, out, err = crash_at(base, tmp_path, nth, "")
            if code == 0:
                writes = nth - 1
                # The undisturbed run's result must be right too.
                vault = reopen(base.opened, lk.vault)
                assert_library_restores(vault, out.strip(), base.target_data, lk.vault.parent)
                undisturbed = lk
                break
            checks.append(after_kill(base, lk, nth, "", code, err, pool))
        else:
            raise AssertionError(f"the snapshot command made more than {limit} writes")
        for nth in range(1, writes + 1):
            lk, code, out, err = crash_at(base, tmp_path, nth, "halfway")
            checks.append(after_kill(base, lk, nth, "halfway", code, err, pool))
        for check in checks:
            check.result()
    packs = len(vault_files(undisturbed.vault, "data")) - len(vault_files(base.lk.vault, "data"))
    return {"writes": writes, "packs": packs, "crash_points": len(checks)}


def test_kill_at_every_write_of_a_small_zip_snapshot(tmp_path: Path) -> None:
    target = tmp_path / "Basic_LinkedInDataExport_01-15-2026.zip"
    data = export_zip(target, csv_size=400_000, seed=5)
    base = make_base(tmp_path, target.name, data)
    result = run_all_crash_points(base, tmp_path)
    # lock, one pack, the index, the snapshot record: every one of them was a crash point.
    assert result["packs"] == 1 and result["writes"] >= 4
    assert result["crash_points"] == 2 * result["writes"]
    print(f"small zip: {result['writes']} writes, {result['crash_points']} crash points")


@pytest.mark.slow
def test_kill_at_every_write_of_a_three_pack_snapshot(tmp_path: Path) -> None:
    base = make_base(tmp_path, "big.bin", random_bytes(36_000_000, seed=12))
    result = run_all_crash_points(base, tmp_path)
    assert result["packs"] >= 3, "the input did not span three packs"
    assert result["writes"] >= result["packs"] + 3  # lock, the packs, index, snapshot
    assert result["crash_points"] == 2 * result["writes"]
    print(f"36 MB: {result['writes']} writes, {result['crash_points']} crash points")
