"""Prune: removes the data no snapshot needs, copying the still-needed blobs out of packs
that also hold unneeded ones, and re-encoding the frames compressed against them.

A blob is needed when a snapshot names it. A frame compressed against a dictionary encodes
its blobs as differences from the dictionary's blobs, so a frame that stays as it is must
draw only on needed blobs (usage.frame_stays); otherwise a forgotten snapshot's content
would stay decryptable through the frames of the snapshots that followed it.

Every pack is sorted into one of four kinds: *kept* (every frame in it stays as it is),
*repacked* (some blobs are needed: they are written fresh into new packs, which also
re-encodes a frame whose dictionary draws on unneeded blobs: compressed against the needed
blobs nearest to them in its chain that stay where they are, else plain), *deleted* (nothing
in it is needed) and *unreferenced* (no index file lists it: what an interrupted snapshot or
prune left). Then, in this order: new packs and their index file; new index files listing
every pack that stays; deletion of the old index files; deletion of the packs that go
(vault.repository.compaction). Killed at any moment, the vault is consistent, every kept
snapshot restores, and the next prune finishes the job. Memory: the index, the set of needed
blob ids, and the writer's bounded buffer of frames; the repacked frames' dictionary chains
are decoded once each into scratch space (staging.FrameStage.staged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.operations.usage import frame_stays, used_blobs
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.blobwriter import BlobWriter
from lkvault.vault.repository.compaction import (
    copy_frame_blobs,
    delete_packs,
    index_groups,
    replace_index,
)
from lkvault.vault.repository.index import FrameRef, Index
from lkvault.vault.repository.pack import MAX_DICT_BLOBS, BlobEntry, FrameEntry
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import (
    delete_forgotten_files,
    load_forgotten,
    load_snapshots,
    snapshot_names,
)
from lkvault.vault.repository.stored import stored_pack_ids

if TYPE_CHECKING:
    from lkvault.vault.operations.compactor import CompactResult

REPAIR_HINT = "run 'lkvault verify' and 'lkvault repair' first"


@dataclass
class PrunePlan:
    """What a prune would do; nothing is changed until it runs."""

    snapshots: int = 0
    # The packs that stay as they are, by id only: the frames they list are the index's, and a
    # plan that held them kept a second index alive through the compact after a prune.
    keep: list[bytes] = field(default_factory=list)
    repack: dict[bytes, list[tuple[FrameEntry, list[BlobEntry]]]] = field(default_factory=dict)
    delete: list[bytes] = field(default_factory=list)
    unreferenced: list[bytes] = field(default_factory=list)
    index_files: list[str] = field(default_factory=list)
    rewrite_index: bool = False
    forgotten_files: int = 0  # snapshot files of forgotten snapshots still stored
    blobs_used: int = 0
    blobs_unused: int = 0
    bytes_unused: int = 0  # content bytes of blobs nothing needs
    bytes_repack: int = 0  # content bytes to copy into new packs
    frames_reencoded: int = 0  # frames whose needed blobs are copied off a dictionary
    bytes_reencoded: int = 0  # content bytes of those blobs (part of bytes_repack)
    # What each re-encoded frame (by pack and offset) may be compressed against instead
    bases: dict[tuple[bytes, int], list[bytes]] = field(default_factory=dict)
    stored_delete: int = 0  # stored bytes of the frames in packs that go

    @property
    def nothing_to_do(self) -> bool:
        return not (
            self.repack
            or self.delete
            or self.unreferenced
            or self.rewrite_index
            or self.forgotten_files
        )


@dataclass
class PruneResult:
    plan: PrunePlan
    packs_written: int = 0
    packs_deleted: int = 0
    bytes_freed: int = 0  # stored bytes of deleted packs
    bytes_written: int = 0  # stored bytes of new packs and index files
    compacted: CompactResult | None = None  # compact's work run after it (Vault.prune)

    @property
    def net_freed(self) -> int:
        """How much smaller the vault's packs are; negative when re-encoded frames, now
        without the forgotten blobs they were compressed against, take more room."""
        return self.bytes_freed - self.bytes_written


def plan_prune(repo: Repository) -> PrunePlan:
    """Decide what prune does. Refuses (IntegrityError) when the vault is damaged: with an
    unreadable index file, snapshot or tree, prune cannot know what is needed."""
    index = repo.reload_index()
    if repo.indexes.problems:
        name, message = repo.indexes.problems[0]
        raise IntegrityError(f"{name} is damaged ({message}); {REPAIR_HINT}")
    try:
        forgotten = load_forgotten(repo)
        snapshots = load_snapshots(repo)
        used = used_blobs(repo, snapshots)
    except (IntegrityError, StorageError) as exc:
        raise IntegrityError(f"prune needs every snapshot whole: {exc}; {REPAIR_HINT}") from None
    missing = [blob_id for blob_id in used if blob_id not in index]
    if missing:
        raise IntegrityError(
            f"{len(missing):,} {'blob' if len(missing) == 1 else 'blobs'} that snapshots need "
            f"are missing from the index; {REPAIR_HINT}"
        )
    stored = stored_pack_ids(repo.backend)
    absent = [pack_id for pack_id in index.packs if pack_id not in stored]
    if absent:
        raise IntegrityError(f"pack {absent[0].hex()[:16]} is missing; {REPAIR_HINT}")

    plan = PrunePlan(snapshots=len(snapshots), index_files=repo.indexes.names())
    plan.forgotten_files = sum(1 for name in snapshot_names(repo) if _id_of(name) in forgotten)
    plan.blobs_used = len(used)
    plan.unreferenced = sorted(p for p in stored if p not in index.packs)
    _sort_packs(plan, index, used)
    staying = {**{p: index.packs[p] for p in plan.keep}, **{p: [] for p in plan.repack}}
    plan.rewrite_index = bool(plan.repack or plan.delete) or len(plan.index_files) != len(
        index_groups(staying)
    )
    return plan


def _id_of(name: str) -> bytes | None:
    try:
        return bytes.fromhex(name.rsplit("/", 1)[-1])
    except ValueError:
        return None


def _sort_packs(plan: PrunePlan, index: Index, used: set[bytes]) -> None:
    """Keep packs whose every frame stays as it is; from the others, take each needed blob
    that no kept pack holds once (a blob stored twice is copied at most once)."""
    partial: list[bytes] = []
    for pack_id, frames in index.packs.items():
        if all(frame_stays(entry, used) for entry in frames):
            plan.keep.append(pack_id)
        else:
            partial.append(pack_id)
    kept = set(plan.keep)
    # Only the needed blobs of packs that go may be copied: the kept packs are searched for
    # those alone, not every blob of the vault (tens of MB of ids after years of large ones).
    wanted = {
        blob_id
        for pack_id in partial
        for entry in index.packs[pack_id]
        for blob_id in entry.blob_ids()
        if blob_id in used
    }
    covered: dict[bytes, int] = {}  # wanted blob -> the depth of its shallowest kept copy
    kept_dictionaries: set[bytes] = set()  # wanted blobs that a kept frame draws on
    for pack_id in plan.keep:
        for entry in index.packs[pack_id]:
            kept_dictionaries.update(ref.id for ref in entry.dictionary if ref.id in wanted)
            for blob_id in entry.blob_ids():
                if blob_id in wanted:
                    covered[blob_id] = min(covered.get(blob_id, entry.depth), entry.depth)
    copied: set[bytes] = set()
    for pack_id in partial:
        frames = index.packs[pack_id]
        needed: list[tuple[FrameEntry, list[BlobEntry]]] = []
        for entry in frames:
            blobs = [
                blob
                for blob in entry.blobs
                if blob.id in used
                and blob.id not in copied
                and _copy_needed(blob.id, covered, kept_dictionaries)
            ]
            copied.update(blob.id for blob in blobs)
            for blob in entry.blobs:
                if blob.id not in used:
                    plan.blobs_unused += 1
                    plan.bytes_unused += blob.length
            if blobs:
                needed.append((entry, blobs))
                plan.bytes_repack += sum(blob.length for blob in blobs)
                if not frame_stays(entry, used) and entry.has_dictionary:
                    plan.frames_reencoded += 1
                    plan.bytes_reencoded += sum(blob.length for blob in blobs)
                    bases = _bases_still_needed(entry, index, used, kept)
                    if bases:
                        plan.bases[(pack_id, entry.offset)] = bases
        plan.stored_delete += sum(entry.length for entry in frames)
        if needed:
            plan.repack[pack_id] = needed
        else:
            plan.delete.append(pack_id)


def _bases_still_needed(
    entry: FrameEntry, index: Index, used: set[bytes], kept: set[bytes]
) -> list[bytes]:
    """What a frame re-encoded without its unneeded dictionary blobs may be compressed
    against, likeliest first: its dictionary blobs still needed, then, for each unneeded one,
    the blobs its own frame was compressed against, and so on down the chain (the versions of
    the same rows before the forgotten ones). Only needed blobs in packs that stay as they are
    qualify: their content is a kept snapshot's, and their place and depth do not change."""
    bases: list[bytes] = []
    seen: set[bytes] = set()
    level = [ref.id for ref in entry.dictionary]
    while level and len(bases) < MAX_DICT_BLOBS:
        below: list[bytes] = []
        for blob_id in level:
            if blob_id in seen:
                continue
            seen.add(blob_id)
            location = index.get(blob_id)
            if location is None:
                continue
            if blob_id not in used:
                below.extend(ref.id for ref in location.frame.entry.dictionary)
            elif location.frame.pack_id in kept:
                bases.append(blob_id)
        level = below
    return bases


def _copy_needed(blob_id: bytes, covered: dict[bytes, int], kept_dictionaries: set[bytes]) -> bool:
    """Whether a needed blob in a pack that goes must be copied: no kept pack holds it, or a
    kept frame's dictionary draws on it and the kept copy sits deeper than a fresh plain copy
    would (a dictionary must sit in a shallower frame than the frame it serves)."""
    depth = covered.get(blob_id)
    return depth is None or (depth > 0 and blob_id in kept_dictionaries)


def run_prune(
    repo: Repository, plan: PrunePlan, *, workers: int = 2, progress: Progress | None = None
) -> PruneResult:
    """Carry out a plan made under the same exclusive lock."""
    progress = progress or NoProgress()
    result = PruneResult(plan)
    if plan.forgotten_files:
        delete_forgotten_files(repo, load_forgotten(repo))
    # Leftovers first: a repacked pack can come out byte for byte like one an interrupted
    # prune left (same blobs, same frames), and must not be deleted as a leftover after.
    result.bytes_freed += delete_packs(repo, plan.unreferenced)
    new_packs: dict[bytes, list[FrameEntry]] = {}
    index_files = list(plan.index_files)
    if plan.repack:
        writer = BlobWriter(repo, workers, fresh=True)
        progress.start("Repacking", plan.bytes_repack)
        sources = [FrameRef(p, entry) for p, frames in plan.repack.items() for entry, _ in frames]
        try:
            with repo.reader.staged(sources):
                for pack_id, frames in plan.repack.items():
                    for entry, blobs in frames:
                        bases = plan.bases.get((pack_id, entry.offset), [])
                        copied = copy_frame_blobs(
                            repo, writer, FrameRef(pack_id, entry), blobs, bases
                        )
                        progress.advance(copied)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        finally:
            progress.done()
        new_packs = {p: repo.index.packs[p] for p in writer.packs_written}
        index_files += writer.index_written
        result.packs_written = len(writer.packs_written)
        result.bytes_written += writer.stored_bytes
    gone = [p for p in [*plan.repack, *plan.delete] if p not in new_packs]
    if plan.rewrite_index:
        going = {p: repo.index.packs[p] for p in gone}
        staying = {p: repo.index.packs[p] for p in plan.keep}
        replace_index(repo, {**staying, **new_packs}, index_files, going)
    result.bytes_freed += delete_packs(repo, gone)
    result.packs_deleted = len(gone) + len(plan.unreferenced)
    repo.reload_index()
    return result
