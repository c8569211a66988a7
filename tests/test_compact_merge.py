"""lkvault compact merges frames stored alone, and prune runs compact's work: the merged
vault is smaller than one squeezed frame by frame, every snapshot restores byte for byte,
the frames compressed against the merged blobs still read, and a kill at any write of a
merging compact (or of a prune that compacts) leaves the vault consistent."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from compacting import (
    PASSPHRASE,
    Base,
    assert_intact,
    assert_next_month_costs_as_without_compact,
    assert_next_run_finishes,
    assert_restorable,
    frame_bytes,
)
from compacting import assert_every_snapshot_restores as restores_every_snapshot
from compacting import new_vault as vault_of
from faults import REBASE_ENV
from helpers_cli import (
    Lk,
    assert_library_restores,
    copy_lk,
    kill_sweep,
    open_vault,
    reopen,
)
from lkvault.vault import Vault
from lkvault.vault.operations import compactplan
from lkvault.vault.repository import blobwriter

from bench.exportgen import generate_series

SMALL_FRAME = 128 * 1024  # frames as small as this make a small export's month many frames


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three months of a small member's exports, from the project's generator."""
    return generate_series(tmp_path_factory.mktemp("series"), months=3, scale=0.4, seed=12)


@pytest.fixture
def small_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots write frames of SMALL_FRAME, as a medium export's month is cut in 4 MiB
    ones; merged frames stay within MERGE_TARGET scaled alike."""
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", SMALL_FRAME)
    monkeypatch.setattr(compactplan, "MERGE_SMALLER_THAN", SMALL_FRAME + SMALL_FRAME // 2)
    monkeypatch.setattr(compactplan, "MERGE_TARGET", 4 * SMALL_FRAME)


def new_vault(root: Path, exports: list[Path], **env: Any) -> Vault:
    return vault_of(root, exports, seed=5, **env)


def alone_frames(vault: Vault) -> list[Any]:
    packs = vault.repo.reload_index().packs.values()
    return [frame for frames in packs for frame in frames if not frame.has_dictionary]


def assert_every_snapshot_restores(vault: Vault, exports: list[Path], out_dir: Path) -> None:
    restores_every_snapshot(vault, exports, out_dir)
    assert_intact(Vault.open(vault.location, PASSPHRASE, vault.env))


def test_compact_merges_frames_stored_alone_into_fewer_smaller_ones(
    tmp_path: Path, series: list[Path], small_frames: None
) -> None:
    merged = new_vault(tmp_path / "merged", series)
    alone_before = alone_frames(merged)
    plan = merged.compact(dry_run=True).plan
    assert plan.merge_groups, "the first month's frames should be merged"
    result = merged.compact()
    assert result.finished
    alone_after = alone_frames(merged)
    assert len(alone_after) < len(alone_before) / 2
    assert max(f.raw_size for f in alone_after) > 2 * SMALL_FRAME
    # The same vault squeezed frame by frame (compact before merging) is larger.
    by_frame = new_vault(tmp_path / "by-frame", series)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compactplan, "MERGE_TARGET", 0)
        by_frame.compact()
    print(f"merged {frame_bytes(merged)}, frame by frame {frame_bytes(by_frame)}")
    assert frame_bytes(merged) < 0.97 * frame_bytes(by_frame)
    assert_every_snapshot_restores(merged, series, tmp_path)
    # Merged once is merged: nothing is left to do, and the next month still draws on the
    # merged blobs (it stores as little as before compact did).
    assert merged.compact(dry_run=True).plan.nothing_to_do


def test_a_month_after_a_merge_is_stored_against_the_merged_blobs(
    tmp_path: Path, series: list[Path], small_frames: None
) -> None:
    merged = assert_next_month_costs_as_without_compact(new_vault, tmp_path, series)
    assert_every_snapshot_restores(merged, series, tmp_path)


def test_the_time_budget_never_splits_a_merge(
    tmp_path: Path, series: list[Path], small_frames: None
) -> None:
    ticks = iter(range(1_000_000))  # a clock that moves one second each time it is read
    vault = new_vault(tmp_path, series, monotonic=lambda: float(next(ticks)))
    first = vault.compact(max_seconds=1.5)
    assert not first.finished
    assert_every_snapshot_restores(vault, series, tmp_path)
    rest = vault.compact()
    assert rest.finished
    assert vault.compact(dry_run=True).plan.nothing_to_do
    assert_every_snapshot_restores(vault, series, tmp_path)


# --- the command line: prune compacts, and kills at every write ----------------------------


def largest_member(export: Path, out: Path) -> Path:
    """The largest member of an export, as a file of its own."""
    with zipfile.ZipFile(export) as archive:
        info = max(archive.infolist(), key=lambda member: member.file_size)
        path = out / "member.csv"
        path.write_bytes(archive.read(info))
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, series: list[Path]) -> Base:
    """A file, then an export (whose members have no earlier version in the vault): each
    snapshot's content sits in frames without a dictionary, which compact merges."""
    root = tmp_path_factory.mktemp("merge-base")
    lk = Lk(root / "vault", root / "state")
    lk.init()
    files = [largest_member(series[2], root), series[0]]
    ids = [lk.snapshot(path) for path in files]
    opened = open_vault(lk)
    assert compactplan.plan_compact(opened.repo).merge_groups, "the base must have frames to merge"
    return Base(lk, ids, [path.read_bytes() for path in files], opened)


def test_prune_compacts_unless_told_not_to(base: Base, tmp_path: Path) -> None:
    skipped = copy_lk(base.lk, tmp_path / "skipped")
    out = skipped.ok("prune", "--no-compact")
    assert "Compacted" not in out
    assert not reopen(base.opened, skipped.vault).compact(dry_run=True).plan.nothing_to_do
    lk = copy_lk(base.lk, tmp_path / "work")
    out = lk.ok("prune")
    assert "Compacted " in out, out
    assert reopen(base.opened, lk.vault).compact(dry_run=True).plan.nothing_to_do
    assert "Nothing to compact" in lk.ok("prune")


def check_consistent(base: Base, lk: Lk, label: str) -> None:
    """Verify --read-data passes and every snapshot restores; the next prune finishes the
    job (compact's work included), after which nothing is left to do."""
    assert_restorable(base, lk, label)
    assert [s.id.hex() for s in reopen(base.opened, lk.vault).snapshots()] == base.ids, label
    vault = assert_next_run_finishes(base, lk, label, "prune")
    for snap_id, data in zip(base.ids, base.data, strict=True):
        assert_library_restores(vault, snap_id, data, lk.vault.parent)


def test_a_merging_prune_killed_at_every_storage_change(base: Base, tmp_path: Path) -> None:
    changes = kill_sweep(
        lambda work: copy_lk(base.lk, work),
        tmp_path,
        ["prune"],
        lambda lk, label: check_consistent(base, lk, label),
    )
    # lock; merged pack; new index and farewell files; old index files; old packs
    assert changes >= 5, changes


# --- the chain policy: rebase once the newest snapshot's scratch passes the bound ----------


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A year of a small member's exports, from the project's generator."""
    return generate_series(tmp_path_factory.mktemp("year"), months=12, scale=0.3, seed=14)


def newest_scratch(vault: Vault) -> tuple[int, int]:
    """(scratch, content) of the newest snapshot: what restoring it decodes through
    dictionaries, and what it holds."""
    plan = compactplan.plan_compact(vault.repo)
    return plan.scratch, plan.content


REBASE_FACTOR = 1.0  # low enough for a year of small exports to reach it


def test_compact_keeps_the_newest_snapshots_scratch_within_the_bound(
    tmp_path: Path, year: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compactplan, "REBASE_FACTOR", REBASE_FACTOR)
    vault = new_vault(tmp_path, [])
    scratch_seen = []
    for month, path in enumerate(year, start=1):
        vault.snapshot(path)
        if month % 3:
            continue
        vault.compact()
        scratch, content = newest_scratch(vault)
        scratch_seen.append(scratch / content)
        assert scratch <= compactplan.REBASE_FACTOR * content, (month, scratch, content)
        depths = [f.depth for fs in vault.repo.index.packs.values() for f in fs]
        assert max(depths) <= month, depths
    print("scratch / content after each compact:", [round(r, 2) for r in scratch_seen])
    assert 0.0 in scratch_seen  # the bound was reached: a rebase happened
    # Once rebased, compact is done.
    assert vault.compact(dry_run=True).plan.nothing_to_do
    assert_every_snapshot_restores(vault, year, tmp_path)


def test_without_the_policy_the_scratch_grows_past_the_bound(
    tmp_path: Path, year: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test above would fail without the rebase: the same year, compacted without it.
    monkeypatch.setattr(compactplan, "REBASE_FACTOR", float("inf"))
    vault = new_vault(tmp_path, year)
    vault.compact()
    scratch, content = newest_scratch(vault)
    assert scratch > REBASE_FACTOR * content, (scratch, content)


WRITER_DEPTH = 8  # the writer's bound, scaled down from MAX_DICT_DEPTH (48)
COMPACT_EVERY = 3  # months
REBASE_DEPTH = WRITER_DEPTH - COMPACT_EVERY  # as MAX_DICT_DEPTH - 12 for yearly compacts


def newest_depth(vault: Vault) -> int:
    """The depth of the deepest frame holding one of the newest snapshot's blobs."""
    return compactplan.plan_compact(vault.repo).deepest


@pytest.mark.parametrize("policy", [True, False], ids=["rebase-depth", "without"])
def test_compact_rebases_before_the_writer_meets_its_depth_bound(
    tmp_path: Path, year: list[Path], monkeypatch: pytest.MonkeyPatch, policy: bool
) -> None:
    # A writer compresses nothing against blobs in frames at its bound: a month whose
    # previous version sits there is stored with a poorer dictionary (4-6 times the bytes on
    # the small series). Compacted every COMPACT_EVERY months, the newest snapshot never does.
    monkeypatch.setattr(blobwriter, "MAX_DICT_DEPTH", WRITER_DEPTH)
    monkeypatch.setattr(compactplan, "REBASE_FACTOR", float("inf"))
    monkeypatch.setattr(compactplan, "REBASE_DEPTH", REBASE_DEPTH if policy else WRITER_DEPTH + 1)
    vault = new_vault(tmp_path, [])
    depths = []
    for month, path in enumerate(year, start=1):
        vault.snapshot(path)
        depths.append(newest_depth(vault))
        if month % COMPACT_EVERY == 0:
            vault.compact()
    print("depth of the newest snapshot's frames, month by month:", depths)
    if not policy:  # the bound is reached within the year without the rebase
        assert max(depths) == WRITER_DEPTH
        return
    assert max(depths) < WRITER_DEPTH
    assert_every_snapshot_restores(vault, year, tmp_path)


def year_with_depth_rebases(
    root: Path, year: list[Path], span: int
) -> tuple[Vault, list[tuple[int, int]]]:
    """The year stored and compacted every COMPACT_EVERY months, rebasing for depth alone;
    and, for each rebase, the depth of the newest snapshot's frames before and after it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blobwriter, "MAX_DICT_DEPTH", WRITER_DEPTH)
        patch.setattr(compactplan, "REBASE_FACTOR", float("inf"))
        patch.setattr(compactplan, "REBASE_DEPTH", REBASE_DEPTH)
        patch.setattr(compactplan, "REBASE_SPAN", span)
        vault = new_vault(root, [])
        rebases = []
        for month, path in enumerate(year, start=1):
            vault.snapshot(path)
            if month % COMPACT_EVERY == 0:
                plan = vault.compact().plan
                if plan.moves:
                    rebases.append((plan.deepest, compactplan.plan_compact(vault.repo).deepest))
    return vault, rebases


def test_a_depth_rebase_moves_only_the_blobs_in_deep_frames(
    tmp_path: Path, year: list[Path]
) -> None:
    # Moving every blob of the newest snapshot that sits in a dictionary frame stores all of
    # its content changed since the last rebase whole again; moving only those in frames
    # REBASE_SPAN short of the bound keeps the rest compressed against its previous versions,
    # and still keeps the writer off its bound.
    span = 2
    deep_only, rebases = year_with_depth_rebases(tmp_path / "deep", year, span)
    everything, _ = year_with_depth_rebases(tmp_path / "all", year, REBASE_DEPTH)
    print(f"deep frames only: {frame_bytes(deep_only)}, all: {frame_bytes(everything)}")
    print("newest snapshot's depth before and after each rebase:", rebases)
    assert rebases
    # What stayed is in frames shallower than REBASE_DEPTH - span, not all moved.
    assert all(0 < after < REBASE_DEPTH - span for _, after in rebases), rebases
    assert frame_bytes(deep_only) < frame_bytes(everything)
    assert_every_snapshot_restores(deep_only, year, tmp_path)


@pytest.fixture(scope="module")
def rebase_base(tmp_path_factory: pytest.TempPathFactory, year: list[Path]) -> Base:
    """Nine months on the command line: enough for compact to rebase the newest one. The
    oldest and the newest snapshots are checked after each kill."""
    root = tmp_path_factory.mktemp("rebase-base")
    # The killed compacts (tests/faults.py) rebase at the low bound; the CLI runs that finish
    # the job after each kill use the shipped one.
    lk = Lk(root / "vault", root / "state", extra_env={REBASE_ENV: str(REBASE_FACTOR)})
    lk.init()
    ids = [lk.ok("snapshot", str(path)).strip() for path in year[:9]]
    opened = open_vault(lk)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compactplan, "REBASE_FACTOR", REBASE_FACTOR)
        plan = compactplan.plan_compact(opened.repo)
    assert plan.moves, f"no rebase: scratch {plan.scratch}, content {plan.content}"
    assert plan.chains, "no chain frame to re-encode against the moved blobs"
    kept = [0, len(ids) - 1]
    return Base(lk, [ids[k] for k in kept], [year[k].read_bytes() for k in kept], opened)


def check_rebased(base: Base, lk: Lk, label: str) -> None:
    """Verify --read-data passes and the oldest and newest snapshots restore; the next
    compact finishes the job, after which nothing is left to do."""
    assert_restorable(base, lk, label)
    assert_next_run_finishes(base, lk, label, "compact")


def test_a_rebasing_compact_killed_at_every_storage_change(
    rebase_base: Base, tmp_path: Path
) -> None:
    changes = kill_sweep(
        lambda work: copy_lk(rebase_base.lk, work),
        tmp_path,
        ["compact"],
        lambda lk, label: check_rebased(rebase_base, lk, label),
        halfway=False,  # half-written files are the merging sweep's: same writes, same order
    )
    # lock; new packs (base frames and re-encoded chain frames among them); index and
    # farewell files; old index files; old packs
    assert changes >= 5, changes
