"""lkvault compact: the squeeze as maintenance. Snapshots compress at a fast level; compact
squeezes their frames into new packs, keeps every snapshot restoring byte for byte, makes
the vault smaller, obeys its time and memory budgets, and survives a kill at any write."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from compacting import (
    PASSPHRASE,
    Base,
    assert_every_snapshot_restores,
    assert_intact,
    assert_next_month_costs_as_without_compact,
    assert_next_run_finishes,
    assert_restorable,
    frame_bytes,
    new_vault,
)
from helpers_cli import (
    Lk,
    assert_one_line_error,
    copy_lk,
    kill_sweep,
    open_vault,
    reopen,
)
from lkvault.vault import Vault
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.operations import compactplan
from lkvault.vault.operations.compactor import seal_squeezed
from lkvault.vault.repository.blobwriter import SQUEEZE_LEVEL
from lkvault.vault.repository.pack import BlobEntry, BlobRef, Dictionary, open_frame, seal_frame

from bench.exportgen import generate_series


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three months of a small member's exports, from the project's generator."""
    return generate_series(tmp_path_factory.mktemp("series"), months=3, scale=0.4, seed=11)


def stored_bytes(vault: Vault) -> int:
    return sum(p.stat().st_size for p in Path(vault.location).rglob("*") if p.is_file())


def test_compact_shrinks_the_vault_and_every_snapshot_still_restores(
    tmp_path: Path, series: list[Path]
) -> None:
    vault = new_vault(tmp_path, series)
    frames_before, files_before = frame_bytes(vault), stored_bytes(vault)
    result = vault.compact()
    frames_after, files_after = frame_bytes(vault), stored_bytes(vault)
    print(f"frames {frames_before} -> {frames_after}, files {files_before} -> {files_after}")
    assert result.finished and result.packs_done == len(result.plan.packs) > 0
    assert frames_after < 0.92 * frames_before
    assert files_after < files_before
    assert_intact(vault)
    # A new process sees the same: no cache carries the restores.
    assert_every_snapshot_restores(vault, series, tmp_path)
    # Squeezed once is squeezed: the next run has nothing to do.
    assert vault.compact(dry_run=True).plan.nothing_to_do
    # The months after the first are their changes against the month before, each frame
    # against a dictionary about its own size: squeezed at SQUEEZE_LEVEL like the rest.
    levels = {f.level for fs in vault.repo.index.packs.values() for f in fs}
    assert levels == {SQUEEZE_LEVEL}


def assert_squeezed_as_far_as_it_pays(vault: Vault) -> None:
    """Every frame at SQUEEZE_LEVEL, or at COPY_LEVEL when its dictionary holds it."""
    frames = [f for fs in vault.repo.index.packs.values() for f in fs]
    copies = [f for f in frames if f.level == compactplan.COPY_LEVEL]
    assert {f.level for f in frames} <= {SQUEEZE_LEVEL, compactplan.COPY_LEVEL}
    assert all(f.has_dictionary for f in copies)
    assert all(compactplan.held_by_dictionary(f.length, f.raw_size) for f in copies)


def test_a_frame_against_a_large_dictionary_is_squeezed_as_far_as_it_pays(
    tmp_path: Path, series: list[Path]
) -> None:
    # A rebase's chain frame against the moved blobs: level 19 would spend seconds loading
    # the dictionary to find no fewer bytes than COPY_LEVEL when the dictionary holds the
    # frame; content the dictionary does not hold, or a dictionary about the frame's own
    # size (a snapshot's frame against its previous version), is squeezed at SQUEEZE_LEVEL.
    vault = new_vault(tmp_path, series[:1])
    words = [bytes(random.Random(n).choices(b"abcdefghij", k=6)) for n in range(4000)]
    old, new = b" ".join(words[:2000]) * 16, b" ".join(words[2000:]) * 2
    refs = Dictionary([BlobRef(BlobType.DATA, bytes(32))], old, 1)
    cases = (
        (old[5:40_000], compactplan.COPY_LEVEL),  # held by a dictionary 5x its size
        (new, SQUEEZE_LEVEL),  # not held
        (old[5 : len(old) // 2], SQUEEZE_LEVEL),  # held, but the dictionary is only twice it
    )
    for content, level in cases:
        blobs = [BlobEntry(BlobType.DATA, bytes([1] * 32), 0, len(content))]
        sealed, entry = seal_squeezed(vault.repo, [content], blobs, SQUEEZE_LEVEL, refs)
        assert entry.level == level and entry.has_dictionary
        assert open_frame(vault.repo.keys, entry, sealed, old) == content
        if content is new:
            squeezed = entry
    blobs = [BlobEntry(BlobType.DATA, bytes([1] * 32), 0, len(new))]
    _, at_copy_level = seal_frame(
        vault.repo.keys, [new], blobs, compactplan.COPY_LEVEL, vault.repo.rng, refs
    )
    assert squeezed.length < at_copy_level.length


def test_snapshots_after_compact_still_draw_on_the_squeezed_frames(
    tmp_path: Path, series: list[Path]
) -> None:
    # The squeezed frames keep their blobs and dictionaries, so the next month is stored as
    # a few changed chunks against them, exactly as without compact.
    compacted = assert_next_month_costs_as_without_compact(new_vault, tmp_path, series)
    assert_every_snapshot_restores(compacted, series, tmp_path)
    assert_intact(compacted)


def test_the_time_budget_stops_between_packs_and_the_next_run_goes_on(
    tmp_path: Path, series: list[Path]
) -> None:
    ticks = iter(range(1_000_000))  # a clock that moves one second each time it is read
    vault = new_vault(tmp_path, series, monotonic=lambda: float(next(ticks)))
    packs = len(vault.compact(dry_run=True).plan.packs)
    assert packs >= 3
    first = vault.compact(max_seconds=1.5)  # the deadline passes after the first pack
    assert not first.finished and first.packs_done == 1
    assert_intact(vault)
    assert_every_snapshot_restores(vault, series, tmp_path)
    rest = vault.compact()
    assert rest.finished and rest.packs_done == packs - 1
    assert vault.compact(dry_run=True).plan.nothing_to_do
    assert_intact(vault)


def test_a_memory_bound_squeezes_at_the_levels_that_fit() -> None:
    frame, prefix = 4 * 1024 * 1024, 4 * 1024 * 1024
    generous = compactplan.squeeze_level(frame, prefix, 1 << 30)
    assert generous == SQUEEZE_LEVEL
    tight = compactplan.squeeze_level(frame, prefix, 40 * 1024 * 1024)
    assert compactplan.FAST_LEVEL < tight < SQUEEZE_LEVEL
    assert compactplan.frame_memory(tight, frame, prefix) <= 40 * 1024 * 1024
    # Too little for any level above the snapshot's: nothing to gain, the frame stays.
    assert compactplan.squeeze_level(frame, prefix, 16 * 1024 * 1024) == compactplan.FAST_LEVEL


def test_frames_squeezed_under_a_tight_bound_are_squeezed_harder_with_more_memory(
    tmp_path: Path, series: list[Path]
) -> None:
    vault = new_vault(tmp_path, series[:1])
    tight = vault.compact(memory=12 * 1024 * 1024)
    assert tight.frames_squeezed > 0
    levels = {f.level for fs in vault.repo.index.packs.values() for f in fs}
    assert min(level or 0 for level in levels) < SQUEEZE_LEVEL  # the large frames
    assert vault.compact(memory=12 * 1024 * 1024, dry_run=True).plan.nothing_to_do
    more = vault.compact()
    assert more.frames_squeezed > 0
    assert_squeezed_as_far_as_it_pays(vault)
    assert_every_snapshot_restores(vault, series[:1], tmp_path)


# --- the command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, series: list[Path]) -> Base:
    root = tmp_path_factory.mktemp("compact-base")
    lk = Lk(root / "vault", root / "state")
    lk.init()
    ids = [lk.snapshot(path) for path in series[:2]]
    return Base(lk, ids, [path.read_bytes() for path in series[:2]], open_vault(lk))


def test_compact_on_the_command_line(base: Base, tmp_path: Path) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    out = lk.ok("compact", "--dry-run")
    assert "Compact would squeeze" in out and "(dry run)" in out
    out = lk.ok("compact")
    assert out.startswith("Compacted ") and "saved" in out
    assert "Nothing to compact" in lk.ok("compact")
    code, _out, err = lk.run("compact", "--max-time", "soon")
    assert code == 2
    assert "is not a time limit" in assert_one_line_error(err)


def check_consistent(base: Base, lk: Lk, label: str) -> None:
    """Verify --read-data passes and both snapshots restore; the next compact finishes the
    job, after which nothing is left to do."""
    report = assert_restorable(base, lk, label)
    for note in report.notes:
        assert "not referenced by any index" in note, f"{label}: unexpected note {note!r}"
    assert [s.id.hex() for s in reopen(base.opened, lk.vault).snapshots()] == base.ids, label
    assert_next_run_finishes(base, lk, label, "compact")


def test_compact_killed_at_every_storage_change(base: Base, tmp_path: Path) -> None:
    changes = kill_sweep(
        lambda work: copy_lk(base.lk, work),
        tmp_path,
        ["compact"],
        lambda lk, label: check_consistent(base, lk, label),
    )
    # lock; new packs; the new index and farewell files; old index files; old packs
    assert changes >= 6, changes


def test_an_index_rewritten_without_levels_still_verifies(
    tmp_path: Path, series: list[Path]
) -> None:
    # lkvault 0.3.2 and earlier drop "lvl" when their prune rewrites the index; the pack
    # headers keep it. That is the same frame, not damage.
    from lkvault.vault.repository.compaction import replace_index

    vault = new_vault(tmp_path, series[:1])
    vault.compact()
    repo = vault.repo
    packs = repo.reload_index().packs
    for frames in packs.values():
        for frame in frames:
            frame.level = None
    replace_index(repo, packs, repo.indexes.names())
    assert_intact(vault)
    assert_every_snapshot_restores(vault, series[:1], tmp_path)


def test_a_damaged_frame_stops_compact_and_loses_nothing(
    tmp_path: Path, series: list[Path]
) -> None:
    from helpers_cli import flip_byte
    from lkvault.vault import IntegrityError

    made = new_vault(tmp_path, series[:2])
    packs = sorted((tmp_path / "vault" / "data").rglob("*"), key=lambda p: p.stat().st_size)
    damaged = [p for p in packs if p.is_file()][-1]
    flip_byte(damaged, 100)
    # Opened again, as the next command would: the vault that stored the months still holds
    # their frames decoded, and would not see the frames drawing on the damaged one as damaged.
    vault = Vault.open(made.location, PASSPHRASE, made.env)
    before = vault.verify(read_data=True)
    assert not before.ok
    with pytest.raises(IntegrityError, match="lkvault repair"):
        vault.compact()
    assert damaged.exists()
    after = vault.verify(read_data=True)
    assert [p.object for p in after.problems] == [p.object for p in before.problems]
