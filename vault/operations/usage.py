"""Which blobs snapshots need: the one place that decides what is in use (prune, repair, stats)."""

from __future__ import annotations

from collections.abc import Iterator

from lkvault.vault.format.tree import content_streams
from lkvault.vault.operations.restorer import iter_chunk_refs, load_tree
from lkvault.vault.repository.pack import FrameEntry
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot


def snapshot_blobs(repo: Repository, snapshot: Snapshot) -> Iterator[tuple[bytes, int]]:
    """Every blob one snapshot's tree names, as (blob id, length in bytes; 0 when the tree
    does not say): the tree blob, list blobs, then data chunks. Raises IntegrityError when
    a tree or list blob cannot be read."""
    yield snapshot.tree, 0
    tree = load_tree(repo, snapshot.tree)
    for part in tree.parts:
        for stream in content_streams(part):
            for list_ref in stream.lists:
                yield list_ref.id, 0
            for ref in iter_chunk_refs(repo, stream):
                yield ref.id, ref.length


def used_blobs(repo: Repository, snapshots: list[Snapshot]) -> set[bytes]:
    """Every blob ``snapshots`` name: their trees, lists and chunks. Anything else in the
    vault can go, including blobs only a frame's dictionary draws on: prune re-encodes such
    frames (``frame_stays``), so that nothing of a forgotten snapshot stays behind."""
    used: set[bytes] = set()
    for snapshot in snapshots:
        used.update(blob_id for blob_id, _ in snapshot_blobs(repo, snapshot))
    return used


def frame_stays(entry: FrameEntry, used: set[bytes]) -> bool:
    """Whether a frame may stay as it is: every blob in it is used, and so is every blob it
    is compressed against (its dictionary's bytes are part of what it encodes: a frame
    compressed against a forgotten chunk would keep that chunk's content recoverable)."""
    return all(blob_id in used for blob_id in entry.blob_ids()) and all(
        ref.id in used for ref in entry.dictionary
    )
