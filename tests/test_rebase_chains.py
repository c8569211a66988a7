"""A rebase seals the chain frames again against the blobs it moves: the dictionary frames
down the moved blobs' chains (mostly those blobs' earlier versions) are compressed against
the moved blobs followed by their own dictionary, at the same depth. The vault is smaller
than after the same compact without it, every snapshot restores byte for byte, depths stay
valid, and forgetting the newest snapshot then pruning still erases its content."""

from __future__ import annotations

import shutil
import zipfile
from collections import Counter
from contextlib import nullcontext
from datetime import timezone
from itertools import count
from pathlib import Path

import pytest
from compacting import PASSPHRASE, assert_every_snapshot_restores, assert_intact, frame_bytes
from compacting import new_vault as vault_of
from helpers_cli import decrypted_frames
from lkvault.vault import Environment, Vault
from lkvault.vault.operations import compactor, compactplan
from lkvault.vault.repository import blobreader, framecache, frameopener
from lkvault.vault.repository.index import FrameRef

from bench.exportgen import generate_series

REBASE_FACTOR = 1.0  # low enough for nine months of small exports to rebase


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Nine months of a small member's exports, from the project's generator."""
    return generate_series(tmp_path_factory.mktemp("months"), months=9, scale=0.3, seed=14)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, months: list[Path]) -> Path:
    """The months stored, not compacted yet; each test compacts a copy."""
    root = tmp_path_factory.mktemp("stored")
    vault_of(root, months, seed=5)
    return root


def compacted(stored: Path, root: Path, *, chains: bool) -> tuple[Vault, compactplan.CompactPlan]:
    """A copy of the stored vault compacted with a rebase, re-encoding the chain frames or
    (``chains`` False) as compact did before."""
    shutil.copytree(stored, root)
    vault = Vault.open(str(root / "vault"), PASSPHRASE, Environment(state_dir=root / "state"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compactplan, "REBASE_FACTOR", REBASE_FACTOR)
        if not chains:
            patch.setattr(compactplan, "chain_frames", lambda *_: {})
        plan = vault.compact().plan
    assert plan.moves, "no rebase"
    return vault, plan


def frames(vault: Vault) -> list[FrameRef]:
    return [FrameRef(p, e) for p, es in vault.repo.reload_index().packs.items() for e in es]


def draws_on_moved(vault: Vault, moved: set[bytes]) -> int:
    """How many dictionary names of the vault's frames are moved blobs."""
    return sum(1 for ref in frames(vault) for d in ref.entry.dictionary if d.id in moved)


def assert_depths_valid(vault: Vault) -> None:
    """Every frame is deeper than each frame holding one of its dictionary blobs."""
    index = vault.repo.index
    for ref in frames(vault):
        for named in ref.entry.dictionary:
            location = index.get(named.id)
            assert location is not None
            assert location.frame.entry.depth < ref.entry.depth, (ref.entry, location)


def test_a_rebase_re_encodes_the_chain_frames_against_the_moved_blobs(
    stored: Path, months: list[Path], tmp_path: Path
) -> None:
    vault, plan = compacted(stored, tmp_path / "b", chains=True)
    plain, plain_plan = compacted(stored, tmp_path / "plain", chains=False)
    assert plan.chains and not plain_plan.chains
    assert plan.moves.keys() == plain_plan.moves.keys()
    moved = set(plan.read_order)
    # The chain frames now draw on the moved blobs, and the vault is smaller for it.
    assert draws_on_moved(vault, moved) > draws_on_moved(plain, moved)
    with_b, without = frame_bytes(vault), frame_bytes(plain)
    print(f"frame bytes: {with_b} with the chain frames re-encoded, {without} without")
    assert with_b < without
    # No depth changed: the added dictionary blobs sit at depth 0.
    depths = sorted(ref.entry.depth for ref in frames(vault))
    assert depths == sorted(ref.entry.depth for ref in frames(plain))
    assert_depths_valid(vault)
    assert_intact(vault)
    assert_every_snapshot_restores(vault, months, tmp_path)
    # The chain frames their large dictionaries hold were sealed at COPY_LEVEL, and count
    # as squeezed: the next compact has nothing left.
    assert any(ref.entry.level == compactplan.COPY_LEVEL for ref in frames(vault))
    assert vault.compact(dry_run=True).plan.nothing_to_do


def new_lines(newest: Path, others: list[Path]) -> list[bytes]:
    """Lines of the newest export's members that no other export holds (40 bytes or more)."""
    older = b"".join(
        archive.read(info)
        for path in others
        for archive in [zipfile.ZipFile(path)]
        for info in archive.infolist()
    )
    with zipfile.ZipFile(newest) as archive:
        text = b"".join(archive.read(info) for info in archive.infolist())
    return [line for line in set(text.splitlines()) if len(line) >= 40 and line not in older]


def test_forgetting_the_newest_after_a_rebase_then_pruning_erases_it(
    stored: Path, months: list[Path], tmp_path: Path
) -> None:
    vault, plan = compacted(stored, tmp_path / "b", chains=True)
    assert plan.chains
    markers = new_lines(months[-1], months[:-1])
    assert markers, "the newest month added nothing"
    newest = vault.snapshots()[-1]
    vault.forget(None, [newest.id.hex()], zone=timezone.utc)
    vault.prune()
    for frame in decrypted_frames(vault):
        for marker in markers:
            assert marker not in frame, f"{marker[:30]!r} survived forget + prune"
    assert_depths_valid(vault)
    assert_intact(vault)
    assert_every_snapshot_restores(vault, months[:-1], tmp_path)


def test_a_rebase_in_batches_stopped_by_its_time_budget_stays_restorable(
    stored: Path, months: list[Path], tmp_path: Path
) -> None:
    # A pack a batch: chain frames come in batches before, with and after the moved blobs
    # they may draw on; stopped after two batches, the vault is consistent and every snapshot
    # restores; the next compact goes on.
    shutil.copytree(stored, tmp_path / "b")
    vault = Vault.open(
        str(tmp_path / "b" / "vault"), PASSPHRASE, Environment(state_dir=tmp_path / "b" / "state")
    )
    asked = count()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compactplan, "REBASE_FACTOR", REBASE_FACTOR)
        patch.setattr(compactor, "COMMIT_BYTES", 1)
        plan = compactplan.plan_compact(vault.repo)
        assert plan.chains and len(plan.packs) > 3
        result = compactor.run_compact(vault.repo, plan, out_of_time=lambda: next(asked) >= 2)
        assert not result.finished and result.packs_done
        assert_depths_valid(vault)
        assert_intact(vault)
        assert_every_snapshot_restores(vault, months, tmp_path)
        vault.compact()
    assert_depths_valid(vault)
    assert_intact(vault)
    assert_every_snapshot_restores(vault, months, tmp_path)
    assert vault.compact(dry_run=True).plan.nothing_to_do


def depth_rebased(
    stored: Path, root: Path, commit_bytes: int
) -> tuple[Vault, compactplan.CompactPlan, list[bytes]]:
    """A copy of the stored vault compacted with a rebase for depth: the frames 5 or more
    deep move, and the shallower ones down their chains, in other packs, are chain frames.
    Also one blob of each chain frame in a pack that no blob leaves."""
    shutil.copytree(stored, root)
    vault = Vault.open(str(root / "vault"), PASSPHRASE, Environment(state_dir=root / "state"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compactplan, "REBASE_DEPTH", 7)
        patch.setattr(compactplan, "REBASE_SPAN", 2)
        patch.setattr(compactor, "COMMIT_BYTES", commit_bytes)
        plan = compactplan.plan_compact(vault.repo)
        assert plan.moves and plan.chains, "no rebase"
        moving = {pack_id for pack_id, _ in plan.moves}
        entries = {(p, e.offset): e for p, es in vault.repo.index.packs.items() for e in es}
        staying = [entries[key].blobs[0].id for key in plan.chains if key[0] not in moving]
        assert compactor.run_compact(vault.repo, plan).finished
    return vault, plan, staying


def test_a_rebase_in_many_batches_re_encodes_the_chain_frames_as_one_batch_does(
    stored: Path, months: list[Path], tmp_path: Path
) -> None:
    # A rebase larger than a batch (a pack a batch here; 256 MiB of packs on a large vault):
    # the packs whose blobs move go first, so the chain frames in the other packs (earlier
    # months') find the moved blobs indexed by then, as they would in one batch.
    one, plan, _ = depth_rebased(stored, tmp_path / "one", 1 << 40)
    many, batched, staying = depth_rebased(stored, tmp_path / "many", 1)
    moving = {pack_id for pack_id, _ in batched.moves}
    assert len(batched.packs) > len(moving) > 1 and staying
    assert batched.packs[: len(moving)] == [p for p in batched.packs if p in moving]
    moved = set(plan.read_order)

    def draws(vault: Vault, blob_id: bytes) -> set[bytes]:
        """The moved blobs the frame now holding ``blob_id`` is compressed against."""
        location = vault.repo.index.get(blob_id)
        assert location is not None
        return {named.id for named in location.frame.entry.dictionary if named.id in moved}

    assert any(draws(one, blob_id) for blob_id in staying)
    for blob_id in staying:
        assert draws(many, blob_id) == draws(one, blob_id)
    assert_depths_valid(many)
    assert_intact(many)
    assert_every_snapshot_restores(many, months, tmp_path)
    assert many.compact(dry_run=True).plan.nothing_to_do


def test_out_of_time_at_the_chain_frames_they_are_squeezed_as_before(
    stored: Path, months: list[Path], tmp_path: Path
) -> None:
    # The budget runs out once every pack is started: the batch still commits, its chain
    # frames squeezed against their own dictionary (as compact without them), not later.
    vault, _ = compacted(stored, tmp_path / "plain", chains=False)
    shutil.copytree(stored, tmp_path / "late")
    late = Vault.open(
        str(tmp_path / "late" / "vault"),
        PASSPHRASE,
        Environment(state_dir=tmp_path / "late" / "state"),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compactplan, "REBASE_FACTOR", REBASE_FACTOR)
        plan = compactplan.plan_compact(late.repo)
        asked = count()
        result = compactor.run_compact(
            late.repo, plan, out_of_time=lambda: next(asked) >= len(plan.packs)
        )
    assert plan.chains and result.finished
    moved = set(plan.read_order)
    assert draws_on_moved(late, moved) == draws_on_moved(vault, moved)
    assert_depths_valid(late)
    assert_intact(late)
    assert_every_snapshot_restores(late, months, tmp_path)


def test_a_compact_and_a_rebase_decode_each_frame_of_their_chains_once(
    stored: Path, months: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each frame a compact squeezes, or a rebase splits or seals again, is compressed against
    # shallower ones, down to depth 0; decoding those again for every frame took two thirds
    # and more of a medium vault's compact. No frame cache to help here.
    monkeypatch.setattr(framecache, "FRAME_CACHE_BYTES", 1)
    decoded: Counter[bytes] = Counter()
    original = frameopener.open_frame

    def counting(keys, entry, sealed, dictionary=None):  # noqa: ANN001, ANN202
        decoded[entry.id] += 1
        return original(keys, entry, sealed, dictionary)

    monkeypatch.setattr(frameopener, "open_frame", counting)

    def most_decodes_of_a_frame(root: Path, *, rebase: bool) -> int:
        shutil.copytree(stored, root)
        vault = Vault.open(str(root / "vault"), PASSPHRASE, Environment(state_dir=root / "state"))
        decoded.clear()
        with pytest.MonkeyPatch.context() as patch:
            if rebase:
                patch.setattr(compactplan, "REBASE_DEPTH", 7)
                patch.setattr(compactplan, "REBASE_SPAN", 4)
            plan = vault.compact().plan
        most = max(decoded.values())
        assert bool(plan.moves) == rebase
        assert len(plan.chains) > 3 if rebase else not plan.chains
        assert plan.frames > 10
        assert_every_snapshot_restores(vault, months, tmp_path)
        return most

    # A tree frame may be read once more (the rebase plans its moves in the newest snapshot's
    # read order, before the stage).
    assert most_decodes_of_a_frame(tmp_path / "plain", rebase=False) <= 2
    assert most_decodes_of_a_frame(tmp_path / "rebase", rebase=True) <= 2
    monkeypatch.setattr(
        blobreader.BlobReader, "staged", lambda self, frames, pool=None, **_: nullcontext()
    )
    plain = most_decodes_of_a_frame(tmp_path / "plain-unstaged", rebase=False)
    rebased = most_decodes_of_a_frame(tmp_path / "rebase-unstaged", rebase=True)
    print(f"most decodes of a frame without the stage: {plain} (plain), {rebased} (rebase)")
    assert plain > 2 and rebased > 2, "without the stage, the chains are decoded again"
