"""Crash sweep: a real ``lkvault`` process SIGKILLed at its storage writes, one after another.

``python -m tests.faults N ARGS`` (the test-only entry point of tests/faults.py; the product has
no such hook) runs ``lkvault ARGS`` killing itself with SIGKILL at its N-th storage write
(before the write, or with ``:halfway`` after leaving a half-written temp file, as a power cut
would). For each operation in CRASH_OPERATIONS, the writes of an undisturbed run are counted
(tests/reliability/count_writes.py; killing at the last write and running undisturbed with the
kill set one write later proves the count exact); then each crash point starts from a fresh
copy of the same vault and must leave:

- ``verify --read-data`` passing (exit 0; only notes about unreferenced packs allowed), which
  re-hashes every blob of the snapshots committed before the crash;
- nothing half-committed visible: exactly the snapshots committed before (those the command
  removes, e.g. forget's, may be there or gone, never half there);
- the same command, run again, succeeding; then every snapshot it leaves restores byte for byte.

The fast run (CI) takes every write of a small snapshot and a spread sample of the others; the
long run (LKVAULT_RELIABILITY=long) kills at every write of every operation. Crash points are
driven one after another; the checks of each run on a small thread pool while the next crash
is being produced.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import (
    REPO_ROOT,
    SIGKILLED,
    Lk,
    assert_clean_stderr,
    assert_library_restores,
    copy_lk,
    export_zip,
    open_vault,
    random_bytes,
    reopen,
    vault_files,
)

from .budget import LONG, pick, record, spread
from .count_writes import MARKER

TEMP_PREFIX = ".tmp-"
UNREFERENCED_PACK_NOTE = "not referenced by any index"


@dataclass(frozen=True)
class Committed:
    """A snapshot in the vault before the crash, and the bytes it must restore to."""

    id: str
    data: bytes
    seq: int


@dataclass
class Base:
    """A vault holding committed snapshots, and the input a snapshot command was storing."""

    lk: Lk
    committed: list[Committed]
    target: Path | None  # the file a snapshot command stores (None for other commands)
    target_data: bytes
    opened: Any  # the base vault opened once (its keys serve every copy)


@dataclass(frozen=True)
class Operation:
    """One command to kill at each of its writes."""

    name: str
    prepare: Callable[[Path], Base]
    argv: Callable[[Base], list[str]]
    stores_target: bool = True  # the command adds base.target as the next snapshot
    # Ids of committed snapshots the command removes when it completes (prune): after a crash
    # each of them may still be there or be gone; after the retry all of them are gone.
    removes: Callable[[Base], set[str]] = field(default=lambda base: set())
    notes_allowed: tuple[str, ...] = (UNREFERENCED_PACK_NOTE,)
    fast_sample: int | None = None  # crash points per mode in the fast run (None: every write)
    available: Callable[[], str | None] = field(default=lambda: None)  # why not, or None


# --- preparing base vaults ----------------------------------------------------------------------


def base_with(
    tmp_path: Path, inputs: list[tuple[str, bytes]], target: tuple[str, bytes] | None
) -> Base:
    """A vault holding one snapshot of each input, in order; and the target file, if any."""
    lk = Lk(tmp_path / "base-vault", tmp_path / "base-state")
    lk.init()
    committed = []
    for name, data in inputs:
        path = tmp_path / "inputs" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        committed.append(Committed(lk.snapshot(path), data, len(committed) + 1))
    target_path = None
    target_data = b""
    if target is not None:
        target_path = tmp_path / target[0]
        target_path.write_bytes(target[1])
        target_data = target[1]
    return Base(lk, committed, target_path, target_data, open_vault(lk))


def small_zip_base(tmp_path: Path) -> Base:
    zip_path = tmp_path / "export-source.zip"
    data = export_zip(zip_path, csv_size=400_000, seed=5)
    return base_with(
        tmp_path,
        [("first.bin", random_bytes(300_000, seed=11))],
        ("Basic_LinkedInDataExport_01-15-2026.zip", data),
    )


def three_pack_base(tmp_path: Path) -> Base:
    return base_with(
        tmp_path,
        [("first.bin", random_bytes(300_000, seed=11))],
        ("big.bin", random_bytes(36_000_000, seed=12)),
    )


def monthly_export_base(tmp_path: Path) -> Base:
    """Last month's realistic export committed; this month's (mostly the same rows) stored."""
    from bench.exportgen import export_name, generate_export

    months = []
    for month in range(2):
        when = date(2026, 1 + month, 15)
        path = generate_export(
            tmp_path / "gen" / export_name(when), date=when, scale=0.3, seed=7, month_index=month
        )
        months.append((path.name, path.read_bytes()))
    return base_with(tmp_path, months[:1], months[1])


def snapshot_argv(base: Base) -> list[str]:
    assert base.target is not None
    return ["snapshot", "--any-file", "--json", str(base.target)]


def three_snapshots_base(tmp_path: Path) -> Base:
    inputs = []
    for month in range(3):
        path = tmp_path / f"export-{month}.zip"
        inputs.append((path.name, export_zip(path, csv_size=200_000 + 50_000 * month, seed=40)))
    return base_with(tmp_path, inputs, None)


def forgotten_base(tmp_path: Path) -> Base:
    """Three snapshots, the older two forgotten (their data is left for prune to remove)."""
    base = three_snapshots_base(tmp_path)
    base.lk.ok("forget", "--keep-last", "1")
    base.committed = base.committed[-1:]
    return base


def forgotten_chain_base(tmp_path: Path) -> Base:
    """Three monthly exports, each month's frames compressed against the month before, and
    the middle one forgotten: prune must re-encode March's frames against January's chunks."""
    from bench.exportgen import export_name, generate_export

    months = []
    for month in range(3):
        when = date(2026, 1 + month, 15)
        path = generate_export(
            tmp_path / "gen" / export_name(when),
            date=when,
            scale=0.05,
            seed=7,
            month_index=month,
            deleted_at=2,
        )
        months.append((path.name, path.read_bytes()))
    base = base_with(tmp_path, months, None)
    base.lk.ok("forget", base.committed[1].id)
    base.committed = [base.committed[0], base.committed[2]]
    return base


def command_missing(name: str) -> str | None:
    import lkvault.cli.main  # noqa: F401 - registers every command on the app
    from lkvault.cli.app import app

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    return None if name in names else f"'lkvault {name}' does not exist yet"


CRASH_OPERATIONS = [
    Operation("snapshot of a small zip", small_zip_base, snapshot_argv),
    Operation("snapshot spanning three packs", three_pack_base, snapshot_argv, fast_sample=2),
    Operation(
        "snapshot of next month's realistic export",
        monthly_export_base,
        snapshot_argv,
        fast_sample=0,  # long run only
    ),
    # Commands that remove data join the sweep with one entry each (deletes count as writes).
    Operation(
        "forget --keep-last 1 --prune",
        three_snapshots_base,
        lambda base: ["forget", "--keep-last", "1", "--prune"],
        stores_target=False,
        removes=lambda base: {c.id for c in base.committed[:-1]},
        fast_sample=1,
        available=lambda: command_missing("forget"),
    ),
    Operation(
        "prune after forget",
        forgotten_base,
        lambda base: ["prune"],
        stores_target=False,
        fast_sample=1,
        available=lambda: command_missing("prune"),
    ),
    Operation(
        "prune re-encoding frames that drew on a forgotten export",
        forgotten_chain_base,
        lambda base: ["prune"],
        stores_target=False,
        fast_sample=1,
        available=lambda: command_missing("prune"),
    ),
]


# --- one crash point ----------------------------------------------------------------------------


def temp_files(vault: Path) -> list[Path]:
    return [p for p in vault.rglob(f"{TEMP_PREFIX}*") if p.is_file()]


def visible_ids(base: Base, root: Path) -> list[str]:
    return [s.id.hex() for s in reopen(base.opened, root).snapshots()]


def count_writes(op: Operation, base: Base, work: Path) -> str:
    """What the command run undisturbed on a copy of the base vault does to storage, one
    letter per counted operation: ``w`` a write, ``d`` a delete."""
    work.mkdir()
    lk = copy_lk(base.lk, work)
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.count_writes", *op.argv(base)],
        cwd=REPO_ROOT,
        env=lk.env(),
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{op.name}: the undisturbed run failed: {done.stderr}"
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(MARKER), done.stderr
    return last[len(MARKER) :]


def check_after_crash(op: Operation, base: Base, lk: Lk, label: str, out_dir: Path) -> None:
    """Everything a user relies on after a crash."""
    code, report, _err = lk.verify_json()
    assert code == 0 and report["ok"], f"{label}: verify --read-data after the crash: {report}"
    for note in report["notes"]:
        assert any(a in note for a in op.notes_allowed), f"{label}: unexpected note {note!r}"
    before = [c.id for c in base.committed]
    removable = op.removes(base)
    visible = visible_ids(base, lk.vault)
    assert set(before) - removable <= set(visible) <= set(before), (
        f"{label}: the snapshots visible after the crash are {visible}, committed were {before}"
    )
    assert report["snapshots"] == len(visible), label

    # The same command again succeeds; every snapshot it leaves restores byte for byte.
    code, out, err = lk.run(*op.argv(base))
    assert code == 0, f"{label}: {op.name} after the crash exited {code}: {err}"
    assert_clean_stderr(err)
    vault = reopen(base.opened, lk.vault)
    after = [(s.id.hex(), s.seq) for s in vault.snapshots()]
    kept = [c for c in base.committed if c.id not in removable]
    expected = [(c.id, c.seq) for c in kept]
    restores = [(c.id, c.data) for c in kept]
    if op.stores_target:
        again = json.loads(out)
        next_seq = base.committed[-1].seq + 1 if base.committed else 1
        assert again["seq"] == next_seq, f"{label}: retry got sequence {again['seq']}"
        assert again["sha256"] == hashlib.sha256(base.target_data).hexdigest(), label
        expected.append((again["id"], next_seq))
        restores.append((again["id"], base.target_data))
        # The next writer cleared what the crash left half-written (lock files aside: readers
        # may be writing theirs).
        left = [p for p in temp_files(lk.vault) if "locks" not in p.parts]
        assert not left, f"{label}: temp files left after the retry: {left}"
    assert after == expected, f"{label}: snapshots after the retry: {after}"
    for snap_id, data in restores:
        assert_library_restores(vault, snap_id, data, out_dir)


def crash_at(op: Operation, base: Base, tmp_path: Path, spec: str) -> tuple[Lk, int, str, str]:
    """Run the command on a fresh copy of the base vault, killed as ``spec`` says."""
    work = tmp_path / f"kill-{spec.replace(':', '-')}"
    work.mkdir()
    lk = copy_lk(base.lk, work)
    code, out, err = lk.run_killed_at(spec, *op.argv(base))
    return lk, code, out, err


def after_kill(
    op: Operation, base: Base, lk: Lk, spec: str, code: int, err: str, pool: ThreadPoolExecutor
) -> Future[None]:
    assert code == SIGKILLED, f"write {spec}: expected SIGKILL, got exit {code}: {err}"
    leftovers = temp_files(lk.vault)
    if spec.endswith(":halfway"):
        assert leftovers, f"write {spec}: no half-written temp file was left behind"
    else:
        assert not leftovers, f"write {spec}: a kill before the write left {leftovers}"
    label = f"{op.name}: crash at write {spec}"
    return pool.submit(check_after_crash, op, base, lk, label, lk.vault.parent)


def run_crash_points(
    op: Operation, base: Base, tmp_path: Path, sample: int | None
) -> dict[str, int]:
    """Kill at the chosen writes (``sample`` spread over all of them, or every one), before
    the write and (writes, not deletes) half-way through it; run undisturbed with the kill one
    write past the last (which proves the count). The checks of each crash run on a pool while
    the next is made."""
    kinds = count_writes(op, base, tmp_path / "count")
    writes = len(kinds)
    assert writes >= 1, f"{op.name} made no storage write"
    chosen = spread(list(range(1, writes + 1)), writes if sample is None else sample)
    checks: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        lk, code, out, err = crash_at(op, base, tmp_path, str(writes + 1))
        assert code == 0, f"{op.name}: undisturbed run exited {code}: {err}"
        if op.stores_target:  # the undisturbed run's result must be right too
            vault = reopen(base.opened, lk.vault)
            created = json.loads(out)["id"]
            assert_library_restores(vault, created, base.target_data, lk.vault.parent)
        undisturbed = lk
        for mode in ("", ":halfway"):
            for nth in chosen:
                if mode and kinds[nth - 1] == "d":
                    continue  # a delete has no half-way: a kill there is a kill before it
                spec = f"{nth}{mode}"
                lk, code, _out, err = crash_at(op, base, tmp_path, spec)
                checks.append(after_kill(op, base, lk, spec, code, err, pool))
        for check in checks:
            check.result()
    packs = len(vault_files(undisturbed.vault, "data")) - len(vault_files(base.lk.vault, "data"))
    return {
        "writes": writes,
        "packs": packs,
        "crash_points": len(checks),
        "deletes": kinds.count("d"),
    }


def sweep(op: Operation, tmp_path: Path) -> dict[str, int]:
    why_not = op.available()
    if why_not:
        pytest.skip(f"{op.name}: {why_not}")
    sample = pick(op.fast_sample, None)
    if sample == 0:
        pytest.skip(f"{op.name}: long run only (LKVAULT_RELIABILITY=long)")
    result = run_crash_points(op, op.prepare(tmp_path), tmp_path, sample)
    record("crash", crash_points=result["crash_points"], writes=result["writes"])
    print(f"{op.name}: {result['writes']} writes, {result['crash_points']} crash points")
    return result


# --- the sweep ------------------------------------------------------------------------------------


def operation(name: str) -> Operation:
    (found,) = [op for op in CRASH_OPERATIONS if op.name == name]
    return found


def test_kill_at_every_write_of_a_small_zip_snapshot(tmp_path: Path) -> None:
    result = sweep(operation("snapshot of a small zip"), tmp_path)
    # lock, one pack, the index, the snapshot record: every one of them was a crash point.
    assert result["packs"] == 1 and result["writes"] >= 4
    assert result["crash_points"] == 2 * result["writes"]


def test_kill_at_writes_of_a_three_pack_snapshot(tmp_path: Path) -> None:
    result = sweep(operation("snapshot spanning three packs"), tmp_path)
    assert result["packs"] >= 3, "the input did not span three packs"
    assert result["writes"] >= result["packs"] + 3  # lock, the packs, index, snapshot
    expected = result["writes"] if LONG else min(2, result["writes"])
    assert result["crash_points"] == 2 * expected


OTHER_OPERATIONS = [
    op.name
    for op in CRASH_OPERATIONS
    if op.name not in ("snapshot of a small zip", "snapshot spanning three packs")
]


@pytest.mark.parametrize("name", OTHER_OPERATIONS)
def test_kill_at_writes_of_other_operations(name: str, tmp_path: Path) -> None:
    result = sweep(operation(name), tmp_path)
    assert result["crash_points"] >= 1
