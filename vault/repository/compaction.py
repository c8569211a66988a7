"""Rewriting storage safely, for prune and repair: blobs copied into fresh packs, the index
written anew, and only then old index files and packs deleted.

The order keeps every moment consistent (docs/FORMAT.md, "Prune and repair"): a copy is
durable and indexed before anything that held the original goes, a new index file lists every
pack that stays before an old one is deleted, and a pack is deleted only once no index file
lists it. Killed anywhere, a vault holds at worst duplicates and unreferenced packs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence

from lkvault.vault.errors import IntegrityError
from lkvault.vault.repository.blobwriter import BlobWriter
from lkvault.vault.repository.index import FrameRef, encode_index, pack_name
from lkvault.vault.repository.pack import BlobEntry, FrameEntry
from lkvault.vault.repository.repo import Repository

# Index files are split so that none needs much memory to write or read.
MAX_BLOBS_PER_INDEX = 100_000


def copy_frame_blobs(
    repo: Repository,
    writer: BlobWriter,
    ref: FrameRef,
    blobs: Iterable[BlobEntry],
    bases: Sequence[bytes] = (),
) -> int:
    """Store ``blobs`` of one frame again through ``writer`` (a fresh one: plain frames, or
    compressed against ``bases``, stored blobs that stay); each is checked against its keyed
    id. Returns the bytes copied."""
    content = repo.reader.frame_content(ref)
    copied = 0
    for blob in blobs:
        data = content[blob.offset : blob.offset + blob.length]
        if writer.add(blob.type, data, bases) != blob.id:
            raise IntegrityError(
                f"blob {blob.id.hex()[:16]} in {pack_name(ref.pack_id)} does not match its id"
            )
        copied += blob.length
    return copied


def index_groups(packs: dict[bytes, list[FrameEntry]]) -> list[dict[bytes, list[FrameEntry]]]:
    """``packs`` split into the groups that index files list, none over the blob limit."""
    groups: list[dict[bytes, list[FrameEntry]]] = []
    group: dict[bytes, list[FrameEntry]] = {}
    blobs = 0
    for pack_id, frames in packs.items():
        count = sum(f.blob_count for f in frames)
        if group and blobs + count > MAX_BLOBS_PER_INDEX:
            groups.append(group)
            group, blobs = {}, 0
        group[pack_id] = frames
        blobs += count
    if group:
        groups.append(group)
    return groups


def write_index_files(repo: Repository, packs: dict[bytes, list[FrameEntry]]) -> list[str]:
    """Write index files listing exactly ``packs``; returns their names."""
    names: list[str] = []
    for group in index_groups(packs):
        name, blob = encode_index(repo.keys, group, repo.rng)
        repo.backend.write(name, blob)
        names.append(name)
    return names


def replace_index(
    repo: Repository,
    packs: dict[bytes, list[FrameEntry]],
    old_names: Iterable[str],
    going: dict[bytes, list[FrameEntry]] | None = None,
) -> list[str]:
    """Make ``packs`` the whole index: write new index files, then delete the old ones.

    The packs ``going`` (to be deleted next) are first listed together in index files of
    their own, deleted last: old index files go one by one, and a frame compressed against
    blobs of another pack that goes must not be left listed without them in between.
    """
    new_names = write_index_files(repo, packs)
    farewell = write_index_files(repo, going) if going else []
    for name in sorted(set(old_names) - set(new_names) - set(farewell)):
        with contextlib.suppress(FileNotFoundError):
            repo.backend.delete(name)
    for name in farewell:
        if name not in new_names:
            with contextlib.suppress(FileNotFoundError):
                repo.backend.delete(name)
    return new_names


def delete_packs(
    repo: Repository, pack_ids: Iterable[bytes], on_done: Callable[[int], None] | None = None
) -> int:
    """Delete packs no index file lists any more; returns the bytes freed."""
    freed = 0
    for pack_id in pack_ids:
        name = pack_name(pack_id)
        try:
            size = repo.backend.size(name)
            repo.backend.delete(name)
        except FileNotFoundError:
            continue
        freed += size
        if on_done is not None:
            on_done(size)
    return freed
