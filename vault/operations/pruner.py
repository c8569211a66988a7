"""Prune: removes the data no snapshot needs, copying the still-needed blobs out of packs
that also hold unneeded ones.

Every pack is sorted into one of four kinds: *kept* (all its blobs are needed, or needed
nowhere else), *repacked* (some blobs are needed: they are written fresh into new packs, in
plain frames), *deleted* (nothing in it is needed) and *unreferenced* (no index file lists
it: what an interrupted snapshot or prune left). Then, in this order: new packs and their
index file; new index files listing every pack that stays; deletion of the old index files;
deletion of the packs that go (vault.repository.compaction). Killed at any moment, the vault
is consistent, every kept snapshot restores, and the next prune finishes the job. Memory:
the index, the set of needed blob ids, and the writer's bounded buffer of frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.operations.usage import used_blobs
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.compaction import (
    copy_frame_blobs,
    delete_packs,
    index_groups,
    replace_index,
)
from lkvault.vault.repository.index import FrameRef, Index
from lkvault.vault.repository.pack import BlobEntry, FrameEntry
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import (
    delete_forgotten_files,
    load_forgotten,
    load_snapshots,
)

REPAIR_HINT = "run 'lkvault verify' and 'lkvault repair' first"


@dataclass
class PrunePlan:
    """What a prune would do; nothing is changed until it runs."""

    snapshots: int = 0
    keep: dict[bytes, list[FrameEntry]] = field(default_factory=dict)
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


def plan_prune(repo: Repository) -> PrunePlan:
    """Decide what prune does. Refuses (IntegrityError) when the vault is damaged: with an
    unreadable index file, snapshot or tree, prune cannot know what is needed."""
    index = repo.reload_index()
    if repo.index_problems:
        name, message = repo.index_problems[0]
        raise IntegrityError(f"{name} is damaged ({message}); {REPAIR_HINT}")
    try:
        forgotten = load_forgotten(repo)
        snapshots = load_snapshots(repo)
        used = used_blobs(repo, snapshots, index)
    except (IntegrityError, StorageError) as exc:
        raise IntegrityError(f"prune needs every snapshot whole: {exc}; {REPAIR_HINT}") from None
    missing = [blob_id for blob_id in used if blob_id not in index]
    if missing:
        raise IntegrityError(
            f"{len(missing)} blob(s) that snapshots need are missing from the index; {REPAIR_HINT}"
        )
    stored = repo.stored_pack_ids()
    absent = [pack_id for pack_id in index.packs if pack_id not in stored]
    if absent:
        raise IntegrityError(f"pack {absent[0].hex()[:16]} is missing; {REPAIR_HINT}")

    plan = PrunePlan(snapshots=len(snapshots), index_files=repo.index_names())
    plan.forgotten_files = sum(
        1 for name in repo.backend.list("snapshots/") if _id_of(name) in forgotten
    )
    plan.blobs_used = len(used)
    plan.unreferenced = sorted(p for p in stored if p not in index.packs)
    _sort_packs(plan, index, used)
    staying = {**plan.keep, **{p: [] for p in plan.repack}}
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
    """Keep packs whose every blob is needed; from the others, take each needed blob that
    no kept pack holds once (a blob stored twice is copied at most once)."""
    covered: set[bytes] = set()
    partial: list[bytes] = []
    for pack_id, frames in index.packs.items():
        if all(blob_id in used for entry in frames for blob_id in entry.blob_ids()):
            plan.keep[pack_id] = frames
            covered.update(blob_id for entry in frames for blob_id in entry.blob_ids())
        else:
            partial.append(pack_id)
    for pack_id in partial:
        frames = index.packs[pack_id]
        needed: list[tuple[FrameEntry, list[BlobEntry]]] = []
        for entry in frames:
            blobs = []
            for blob in entry.blobs:
                if blob.id in used and blob.id not in covered:
                    covered.add(blob.id)
                    blobs.append(blob)
                    plan.bytes_repack += blob.length
                else:
                    plan.blobs_unused += 1
                    plan.bytes_unused += blob.length
            if blobs:
                needed.append((entry, blobs))
        plan.stored_delete += sum(entry.length for entry in frames)
        if needed:
            plan.repack[pack_id] = needed
        else:
            plan.delete.append(pack_id)


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
        writer = repo.writer(workers, fresh=True)
        progress.start("Repacking", plan.bytes_repack)
        try:
            for pack_id, frames in plan.repack.items():
                for entry, blobs in frames:
                    copied = copy_frame_blobs(repo, writer, FrameRef(pack_id, entry), blobs)
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
        replace_index(repo, {**plan.keep, **new_packs}, index_files, going)
    result.bytes_freed += delete_packs(repo, gone)
    result.packs_deleted = len(gone) + len(plan.unreferenced)
    repo.reload_index()
    return result
