"""Repair: after damage, removes only what is broken and keeps every snapshot still whole.

It reads everything: each index file, each pack's header and every frame (also packs no
index lists, whose authenticated headers rebuild what a damaged index file described). Then:
blobs from damaged or mismatched packs that still authenticate are copied into fresh packs;
snapshots that need a blob no whole copy exists of, whose record is unreadable, or whose
record vanished from the chain are named in a forget record with the reason; the index is
written anew over the whole packs; and only then are the damaged index files and packs
deleted. Nothing is deleted that could still give back a byte of a snapshot that is whole,
and the order is crash-safe like prune's (vault.repository.compaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.operations.usage import snapshot_blobs
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.blobwriter import BlobWriter
from lkvault.vault.repository.compaction import copy_frame_blobs, delete_packs, replace_index
from lkvault.vault.repository.index import FrameRef, Index, decode_index, pack_name
from lkvault.vault.repository.keyslots import load_slots
from lkvault.vault.repository.objects import foreign_names, set_aside_name
from lkvault.vault.repository.pack import BlobEntry, FrameEntry, open_frame
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import (
    SNAPSHOTS_PREFIX,
    Forgotten,
    Snapshot,
    delete_forgotten_files,
    load_forgotten,
    read_snapshot,
    snapshot_names,
    write_forget_record,
)
from lkvault.vault.repository.stored import read_pack_header, stored_pack_ids

READ_ERRORS = (IntegrityError, StorageError, FileNotFoundError)


@dataclass
class LostSnapshot:
    short_id: str
    source: str
    reason: str


@dataclass
class RepairReport:
    dry_run: bool = False
    kept: int = 0  # snapshots that are whole
    lost: list[LostSnapshot] = field(default_factory=list)
    damaged_index: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    broken_packs: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    recovered_packs: list[str] = field(default_factory=list)  # unlisted packs indexed again
    blobs_salvaged: int = 0  # authentic blobs copied out of broken packs
    blobs_lost: int = 0
    notes: list[str] = field(default_factory=list)
    set_aside: list[tuple[str, str]] = field(default_factory=list)  # (foreign file, moved to)

    @property
    def changes(self) -> bool:
        return bool(self.lost or self.damaged_index or self.broken_packs or self.recovered_packs)


@dataclass
class _PackCheck:
    pack_id: bytes
    frames: list[FrameEntry]
    problem: str = ""  # why the pack as a whole cannot stay
    good: list[tuple[FrameEntry, list[BlobEntry]]] = field(default_factory=list)
    lost_blobs: int = 0


class Repairer:
    def __init__(self, repo: Repository, progress: Progress) -> None:
        self.repo = repo
        self.progress = progress
        self.report = RepairReport()
        self.used: set[bytes] = set()  # blobs the snapshots that stay need

    def run(self, dry_run: bool, workers: int) -> RepairReport:
        self.report.dry_run = dry_run
        self._set_aside_foreign(dry_run)
        self._note_key_slots()
        index_names = self.repo.indexes.names()
        listed = self._read_index_files(index_names)
        stored = stored_pack_ids(self.repo.backend)
        candidates = dict(listed)
        unlisted = set()
        for pack_id in sorted(p for p in stored if p not in listed):
            try:
                candidates[pack_id] = read_pack_header(self.repo.backend, self.repo.keys, pack_id)
                unlisted.add(pack_id)
            except READ_ERRORS as exc:
                self.report.notes.append(
                    f"{pack_name(pack_id)} is listed by no index and unreadable ({exc}); "
                    "left alone (prune removes it)"
                )
        checks = self._check_packs(candidates, stored)
        whole = Index()
        for check in checks:
            if check.good:
                whole.add_pack(
                    check.pack_id, [entry.with_blobs(blobs) for entry, blobs in check.good]
                )
        self.repo.use_index(whole)
        lost = self._lost_snapshots()
        # Packs no index lists go back into the index when an index file was damaged, or
        # when a snapshot needs them; otherwise they are leftovers of a crash, for prune.
        recovered = {
            c.pack_id
            for c in checks
            if c.pack_id in unlisted
            and (
                self.report.damaged_index
                or any(b in self.used for f in c.frames for b in f.blob_ids())
            )
        }
        checks = [c for c in checks if c.pack_id not in unlisted or c.pack_id in recovered]
        self.report.recovered_packs = sorted(pack_name(p) for p in recovered)
        self.report.broken_packs = [(pack_name(c.pack_id), c.problem) for c in checks if c.problem]
        self.report.blobs_lost = sum(c.lost_blobs for c in checks)
        if dry_run or not self.report.changes:
            self.repo.reload_index()
            return self.report
        self._apply(checks, lost, index_names, workers)
        return self.report

    def _set_aside_foreign(self, dry_run: bool) -> None:
        """Move files that cannot be vault objects under set-aside/<time>/: copied first,
        deleted after, so a crash leaves them in one place or both."""
        when = self.repo.clock()
        for name in foreign_names(self.repo.backend):
            target = set_aside_name(name, when)
            if not dry_run:
                self.repo.backend.write(target, self.repo.backend.read(name))
                self.repo.backend.delete(name)
            self.report.set_aside.append((name, target))

    def _note_key_slots(self) -> None:
        try:
            load_slots(self.repo.backend)
        except IntegrityError as exc:
            self.report.notes.append(
                f"{exc}; repair leaves key slots alone (remove it with 'lkvault key remove')"
            )

    def _read_index_files(self, names: list[str]) -> dict[bytes, list[FrameEntry]]:
        listed: dict[bytes, list[FrameEntry]] = {}
        for name in names:
            try:
                packs = decode_index(self.repo.keys, name, self.repo.backend.read(name))
            except READ_ERRORS as exc:
                self.report.damaged_index.append((name, str(exc)))
                continue
            for pack_id, frames in packs.items():
                listed.setdefault(pack_id, frames)
        return listed

    def _check_packs(
        self, candidates: dict[bytes, list[FrameEntry]], stored: set[bytes]
    ) -> list[_PackCheck]:
        """Every frame of every pack read and every blob re-hashed."""
        index = Index()
        for pack_id, frames in candidates.items():
            index.add_pack(pack_id, frames)
        self.repo.use_index(index)  # dictionary frames find their dictionaries through it
        total = sum(f.length for frames in candidates.values() for f in frames)
        self.progress.start("Reading data", total)
        checks = []
        try:
            for pack_id, frames in candidates.items():
                checks.append(self._check_pack(pack_id, frames, pack_id in stored))
        finally:
            self.progress.done()
        return checks

    def _check_pack(self, pack_id: bytes, frames: list[FrameEntry], present: bool) -> _PackCheck:
        check = _PackCheck(pack_id, frames)
        if not present:
            check.problem = "pack is missing"
            check.lost_blobs = sum(f.blob_count for f in frames)
            return check
        try:
            header = read_pack_header(self.repo.backend, self.repo.keys, pack_id)
            if header != frames:  # FrameEntry equality: the level hint aside
                check.problem = "pack does not hold what the index says"
        except READ_ERRORS as exc:
            check.problem = f"pack header is damaged ({exc})"
        for entry in frames:
            self.progress.advance(entry.length)
            try:
                sealed = self.repo.backend.read(pack_name(pack_id), entry.offset, entry.length)
                dictionary = self.repo.reader.dictionary_of(entry)
                content = open_frame(self.repo.keys, entry, sealed, dictionary)
            except READ_ERRORS as exc:
                check.problem = check.problem or f"frame at {entry.offset} is damaged ({exc})"
                check.lost_blobs += entry.blob_count
                continue
            good = []
            for blob in entry.blobs:
                data = content[blob.offset : blob.offset + blob.length]
                if self.repo.keys.blob_id(blob.type, data) == blob.id:
                    good.append(blob)
                else:
                    check.problem = check.problem or f"blob {blob.id.hex()[:16]} is damaged"
                    check.lost_blobs += 1
            check.good.append((entry, good))
        return check

    def _lost_snapshots(self) -> dict[bytes, Forgotten]:
        """Snapshots that cannot be restored from the whole copies, with the reason."""
        lost: dict[bytes, Forgotten] = {}
        forgotten = load_forgotten(self.repo, self._damaged_forget_record)
        readable: list[Snapshot] = []
        for name in snapshot_names(self.repo):
            try:
                snapshot_id = bytes.fromhex(name[len(SNAPSHOTS_PREFIX) :])
            except ValueError:
                continue
            if snapshot_id in forgotten:
                continue
            try:
                readable.append(read_snapshot(self.repo, name))
            except READ_ERRORS as exc:
                lost[snapshot_id] = Forgotten(
                    snapshot_id, None, None, "", f"repair: its record is unreadable ({exc})"
                )
        index = self.repo.index
        for snap in readable:
            needed = set()
            try:
                for blob_id, _ in snapshot_blobs(self.repo, snap):
                    if blob_id not in index:
                        raise IntegrityError(f"blob {blob_id.hex()[:16]} is lost")
                    needed.add(blob_id)
            except READ_ERRORS as exc:
                lost[snap.id] = Forgotten.of(snap, f"repair: {exc}")
                continue
            self.used |= needed
        by_id = {s.id for s in readable}
        for snap in readable:
            if snap.prev is not None and snap.prev not in by_id | set(forgotten) | set(lost):
                lost[snap.prev] = Forgotten(
                    snap.prev,
                    snap.seq - 1,
                    None,
                    "",
                    "repair: its record was missing from the vault (deleted behind lkvault's "
                    "back, or lost with its file)",
                )
        self.report.kept = len([s for s in readable if s.id not in lost])
        for entry in lost.values():
            self.report.lost.append(
                LostSnapshot(entry.id.hex()[:8], entry.source, entry.reason[len("repair: ") :])
            )
        return lost

    def _damaged_forget_record(self, name: str, exc: Exception) -> None:
        self.report.notes.append(
            f"{name} is unreadable ({exc}); the snapshots it named may be reported as lost"
        )

    def _apply(
        self,
        checks: list[_PackCheck],
        lost: dict[bytes, Forgotten],
        index_names: list[str],
        workers: int,
    ) -> None:
        whole = self.repo.index
        broken = [c for c in checks if c.problem]
        new_packs: dict[bytes, list[FrameEntry]] = {}
        kept_whole = {c.pack_id: c.frames for c in checks if not c.problem}
        healthy_blobs = {b for frames in kept_whole.values() for f in frames for b in f.blob_ids()}
        if broken:
            writer = BlobWriter(self.repo, workers, fresh=True)
            try:
                for check in broken:
                    for entry, blobs in check.good:
                        wanted = [b for b in blobs if b.id not in healthy_blobs]
                        healthy_blobs.update(b.id for b in wanted)
                        if wanted:
                            ref = FrameRef(check.pack_id, entry.with_blobs(wanted))
                            copy_frame_blobs(self.repo, writer, ref, wanted)
                            self.report.blobs_salvaged += len(wanted)
                writer.finish()
            except BaseException:
                writer.abort()
                raise
            new_packs = {p: whole.packs[p] for p in writer.packs_written}
            index_names = index_names + writer.index_written
        if lost:
            write_forget_record(self.repo, list(lost.values()))
        going = {
            c.pack_id: c.frames
            for c in broken
            if c.pack_id not in new_packs and c.problem != "pack is missing"
        }
        if broken or self.report.damaged_index or self.report.recovered_packs:
            replace_index(self.repo, {**kept_whole, **new_packs}, index_names, going)
        delete_forgotten_files(self.repo, load_forgotten(self.repo, lambda name, exc: None))
        delete_packs(self.repo, list(going))
        self.repo.reload_index()


def repair(
    repo: Repository, *, dry_run: bool, workers: int = 2, progress: Progress | None = None
) -> RepairReport:
    """Repair the vault (the caller holds the exclusive lock); ``dry_run`` changes nothing."""
    return Repairer(repo, progress or NoProgress()).run(dry_run, workers)
