"""After a rebase, restoring the newest snapshot decodes each frame about once: the moved
blobs are written in the order a restore reads them, and a frame the frame cache would lose
before the restore comes back to it is staged instead of decoded again."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path

import pytest
from compacting import PASSPHRASE, assert_intact, new_vault
from helpers_cli import assert_library_restores
from lkvault.vault import Vault
from lkvault.vault.format.crypto import Keys
from lkvault.vault.operations import compactplan
from lkvault.vault.operations.usage import snapshot_blobs
from lkvault.vault.repository import blobwriter, framecache, frameopener, staging
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.pack import FrameEntry

from bench.exportgen import generate_series

SMALL_FRAME = 64 * 1024  # a month of a small export in many frames, as 4 MiB ones cut a medium
MERGED = 4 * SMALL_FRAME  # merged and rebased frames, and the frame cache, scaled alike


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four months of a small member's exports, from the project's generator."""
    return generate_series(tmp_path_factory.mktemp("months"), months=4, scale=0.3, seed=19)


@dataclass
class Rebased:
    vault: Vault
    moved: set[bytes]  # the blobs the rebase moved


@pytest.fixture
def rebased(tmp_path: Path, months: list[Path], monkeypatch: pytest.MonkeyPatch) -> Rebased:
    """The months stored in frames of SMALL_FRAME, then compacted with a rebase that moves
    every blob of the newest snapshot out of its dictionary frames."""
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", SMALL_FRAME)
    monkeypatch.setattr(compactplan, "MERGE_SMALLER_THAN", SMALL_FRAME + SMALL_FRAME // 2)
    monkeypatch.setattr(compactplan, "MERGE_TARGET", MERGED)
    monkeypatch.setattr(compactplan, "REBASE_FACTOR", 0.0)
    monkeypatch.setattr(framecache, "FRAME_CACHE_BYTES", MERGED)
    vault = new_vault(tmp_path, months)
    moves = vault.compact().plan.moves
    assert moves  # the rebase happened
    return Rebased(vault, {blob_id for ids in moves.values() for blob_id in ids})


def test_a_rebase_writes_the_moved_blobs_in_the_newest_snapshots_read_order(
    rebased: Rebased,
) -> None:
    # Each frame the rebase wrote is read in one run: in the order the old frames gave the
    # blobs (month by month), a member's chunks lay in every frame.
    repo = rebased.vault.repo
    newest = rebased.vault.snapshots()[-1]
    read = dict(snapshot_blobs(repo, newest))
    frames = [repo.index.get(blob_id).frame for blob_id in read if blob_id in rebased.moved]
    runs = [key for key, _ in groupby(frame_key(frame) for frame in frames)]
    assert len(set(runs)) > 1  # several frames
    assert len(runs) == len(set(runs)), f"{len(runs)} runs over {len(set(runs))} frames"
    assert all(not frame.entry.has_dictionary for frame in frames)


@dataclass
class Restored:
    """What restoring a snapshot decoded."""

    decodes: Counter[bytes]  # frame id -> times decoded
    decoded: int  # bytes decoded, repeats included
    content: int  # the snapshot's content


def restore_newest(vault: Vault, months: list[Path], out: Path) -> Restored:
    """Restore the newest snapshot as a new process would (nothing cached), byte for byte,
    on one worker: the stage predicts the frame cache for reads in order, and two workers
    reading ahead of each other may still lose a frame it kept (one more decode, as timing
    on a loaded machine decides)."""
    fresh = Vault.open(vault.location, PASSPHRASE, replace(vault.env, workers=1))
    newest = fresh.snapshots()[-1]
    content = sum(length for _, length in snapshot_blobs(fresh.repo, newest))
    fresh.repo.use_index(fresh.repo.index)  # nothing cached
    frames: list[FrameEntry] = []
    original = frameopener.open_frame

    def counting(
        keys: Keys, entry: FrameEntry, sealed: bytes, dictionary: bytes | None = None
    ) -> bytes:
        frames.append(entry)
        return original(keys, entry, sealed, dictionary)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frameopener, "open_frame", counting)
        assert_library_restores(fresh, newest.id.hex(), months[-1].read_bytes(), out)
    restored = Restored(
        Counter(entry.id for entry in frames), sum(entry.raw_size for entry in frames), content
    )
    print(f"{len(frames)} decodes of {len(restored.decodes)} frames, {restored.decoded} bytes")
    return restored


def test_restoring_the_newest_after_a_rebase_decodes_each_frame_once(
    rebased: Rebased, months: list[Path], tmp_path: Path
) -> None:
    restored = restore_newest(rebased.vault, months, tmp_path)
    # Once, and a frame holding the tree or chunk lists once more: they are read to know
    # which frames to stage.
    assert max(restored.decodes.values()) <= 2, restored.decodes.most_common(3)
    assert restored.decoded <= 1.5 * restored.content, restored
    assert_intact(rebased.vault)


def test_without_staging_revisited_frames_they_are_decoded_again(
    rebased: Rebased, months: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test above fails without the stage: 16 MiB frames (here scaled down) read in
    # turns through a cache that holds one.
    monkeypatch.setattr(staging, "revisited_frames", lambda frames, capacity: [])
    restored = restore_newest(rebased.vault, months, tmp_path)
    assert max(restored.decodes.values()) > 2
    assert restored.decoded > 1.5 * restored.content
