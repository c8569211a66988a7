"""Verification: finds every damaged or missing object and the snapshots each one affects.

Structure checks read key slots, index files, pack headers, snapshots and trees; with
``read_data`` every frame is also decrypted and every blob re-hashed against its keyed id;
with a ``subset`` (n, t) only the frames of part n of t (docs/FORMAT.md, "Verifying in parts").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.format.tree import Stream, Tree, content_streams
from lkvault.vault.operations.restorer import iter_chunk_refs, load_tree
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.headstate import SeenHead
from lkvault.vault.repository.index import FrameRef, Index, pack_name
from lkvault.vault.repository.keyslots import KeySlot, load_slots
from lkvault.vault.repository.objects import foreign_names
from lkvault.vault.repository.pack import FrameEntry, open_frame
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import (
    FORGET_PREFIX,
    Snapshot,
    load_forgotten,
    load_snapshots,
)
from lkvault.vault.repository.stored import read_pack_header, stored_pack_ids

ACCEPT_HINT = (
    " (if you put back an older copy of the vault yourself: 'lkvault verify --accept-rollback')"
)
# A key slot whose Argon2id work is this many times the cheapest slot's is reported: every
# slot the CLI writes has the default parameters, so such a slot was made on purpose.
COSTLY_SLOT_FACTOR = 8


@dataclass
class Problem:
    """One damaged or missing object, and the snapshots that depend on it."""

    object: str
    message: str
    snapshots: list[str] = field(default_factory=list)

    def describe(self) -> str:
        affected = ", ".join(self.snapshots) if self.snapshots else "no snapshot"
        return f"{self.object}: {self.message} (affects: {affected})"


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    snapshots: int = 0
    packs: int = 0
    blobs_checked: int = 0
    bytes_checked: int = 0
    read_data: bool = False
    subset: tuple[int, int] | None = None  # (n, t): part n of t of the data was read

    @property
    def ok(self) -> bool:
        return not self.problems


class Checker:
    def __init__(self, repo: Repository, progress: Progress | None = None) -> None:
        self.repo = repo
        self.progress = progress or NoProgress()
        self.report = VerifyReport()
        # blob id -> the snapshots that need it, a bit each (bit i stands for owners[i]): as
        # sets of short ids they took 51 MiB after 17 monthly snapshots of a 300 MB export,
        # and verify peaked at 483 MB after 36
        self.users: dict[bytes, int] = {}
        self.owners: list[str] = []
        self.bad_blobs: dict[bytes, str] = {}

    def problem(self, obj: str, message: str, snapshots: set[str] | None = None) -> None:
        self.report.problems.append(Problem(obj, message, sorted(snapshots or ())))

    def run(
        self, read_data: bool, seen: SeenHead | None, subset: tuple[int, int] | None = None
    ) -> VerifyReport:
        self.report.read_data = read_data
        self.report.subset = subset if read_data else None
        self._note_foreign()
        self._check_slots()
        index = self.repo.reload_index()
        for name, message in self.repo.indexes.problems:
            self.problem(name, message)
        snapshots = load_snapshots(self.repo, self._unreadable_record)
        self.report.snapshots = len(snapshots)
        self._check_chain(snapshots, seen)
        # With --read-data every dictionary chain is decoded once, up front, so reading trees
        # and dictionaries draws on the stage instead of decoding chains again.
        staged = (
            FrameRef(pack_id, entry)
            for pack_id, entries in index.packs.items()
            for entry in entries
            if read_data and in_part(entry, subset)
        )
        with self.repo.reader.staged(staged):
            for snap in snapshots:
                self._collect_blobs(snap, index)
            self._carry_to_dictionaries(index)
            self._check_packs(index, read_data, subset)
        return self.report

    def _note_foreign(self) -> None:
        for name in foreign_names(self.repo.backend):
            self.report.notes.append(
                f"{name} is a foreign file, not a vault object (left by a sync tool or a "
                "file manager?); ignored ('lkvault repair' moves it aside)"
            )

    def _unreadable_record(self, name: str, exc: Exception) -> None:
        if name.startswith(FORGET_PREFIX):
            self.problem(name, f"{exc}; the snapshots it names may show as missing")
        else:
            self.problem(name, f"{exc}; this snapshot is lost")

    def _check_slots(self) -> None:
        try:
            slots = load_slots(self.repo.backend)
        except IntegrityError as exc:
            self.problem("keys/", str(exc))
            return
        usable = [s for s in slots if _kdf_problem(s) is None]
        cheapest = min((s.kdf.cost for s in usable), default=0)
        for slot in slots:
            # A slot the vault opened without (say one added with weak Argon2id parameters)
            # is never used, but someone forged it: report it.
            problem = _kdf_problem(slot)
            # The whole id: a planted slot can share any prefix with another one.
            remove = f"'lkvault key remove {slot.slot_id.hex()}'"
            if problem is not None:
                tampered = f"{problem}; this key slot was tampered with (remove it with {remove})"
                self.problem(slot.name, tampered)
            elif slot.kdf.cost > COSTLY_SLOT_FACTOR * cheapest:
                self.problem(
                    slot.name,
                    f"this key slot's Argon2id work (memory x passes) is "
                    f"{slot.kdf.cost // cheapest} times the cheapest slot's: planted to slow "
                    f"down every wrong passphrase? Remove it with {remove} unless you added it "
                    "on purpose",
                )
            if slot.vault_id != self.repo.keys.vault_id:
                self.problem(slot.name, "key slot belongs to another vault")

    def _check_chain(self, snapshots: list[Snapshot], seen: SeenHead | None) -> None:
        by_id = {s.id: s for s in snapshots}
        # Snapshots that 'lkvault forget' or 'repair' removed leave no gap (damaged forget
        # records are reported by load_snapshots).
        forgotten = load_forgotten(self.repo, lambda name, exc: None)
        seqs = [s.seq for s in snapshots]
        for snap in snapshots:
            if snap.prev is not None and snap.prev not in by_id and snap.prev not in forgotten:
                self.problem(
                    f"snapshot before {snap.short_id}",
                    f"snapshot #{snap.seq - 1} ({snap.prev.hex()[:8]}) is missing: it was "
                    "removed behind lkvault's back or its file is unreadable",
                )
            if snap.prev is None and snap.seq != 1:
                self.problem(f"snapshot {snap.short_id}", "breaks the snapshot chain")
        for gone in forgotten.values():
            if gone.prev is not None and gone.prev not in by_id and gone.prev not in forgotten:
                self.problem(
                    f"snapshot before {gone.short_id} (forgotten)",
                    f"snapshot {gone.prev.hex()[:8]} is missing: it was removed behind "
                    "lkvault's back or its file is unreadable",
                )
        duplicates = {q for q in seqs if seqs.count(q) > 1}
        for q in sorted(duplicates):
            self.problem(f"snapshot #{q}", "two snapshots claim the same sequence number")
        if seen is not None and seen.snapshot_id not in forgotten:
            newest = snapshots[-1].seq if snapshots else 0
            if newest < seen.seq:
                self.problem(
                    "snapshots/",
                    f"the vault was rolled back: this computer saw snapshot #{seen.seq} "
                    f"({seen.snapshot_id.hex()[:8]}) but the newest now is #{newest}"
                    f"{ACCEPT_HINT}",
                )
            elif not any(s.seq == seen.seq and s.id == seen.snapshot_id for s in snapshots):
                self.problem(
                    "snapshots/",
                    f"snapshot #{seen.seq} ({seen.snapshot_id.hex()[:8]}) that this computer "
                    f"saw is gone or was replaced{ACCEPT_HINT}",
                )

    def _collect_blobs(self, snap: Snapshot, index: Index) -> None:
        owner = snap.short_id
        bit = 1 << len(self.owners)
        self.owners.append(owner)
        try:
            self._need(snap.tree, bit, index, "tree")
            tree = load_tree(self.repo, snap.tree)
            for stream in _streams(tree):
                for list_ref in stream.lists:
                    self._need(list_ref.id, bit, index, "chunk list")
                for ref in iter_chunk_refs(self.repo, stream):
                    self._need(ref.id, bit, index, "chunk")
        except (IntegrityError, StorageError, FileNotFoundError) as exc:
            self.problem(f"snapshot {owner}", f"its tree cannot be read: {exc}", {owner})

    def _carry_to_dictionaries(self, index: Index) -> None:
        """A snapshot also needs the dictionaries of the frames holding its blobs."""
        for frame in index.dictionary_frames():
            owners = self._owner_bits([frame])
            if not owners:
                continue
            for ref in frame.dictionary:
                self.users[ref.id] = self.users.get(ref.id, 0) | owners
                if ref.id not in index:
                    self.problem(
                        f"frame {frame.id.hex()[:16]}",
                        f"its dictionary blob {ref.id.hex()[:16]} is missing from the vault",
                        self._names(owners),
                    )

    def _need(self, blob_id: bytes, owner_bit: int, index: Index, what: str) -> None:
        self.users[blob_id] = self.users.get(blob_id, 0) | owner_bit
        if blob_id not in index:
            raise IntegrityError(f"{what} {blob_id.hex()[:16]} is missing from the vault")

    def _check_packs(
        self, index: Index, read_data: bool, subset: tuple[int, int] | None = None
    ) -> None:
        stored = stored_pack_ids(self.repo.backend)
        self.report.packs = len(index.packs)
        total = sum(
            f.length for frames in index.packs.values() for f in frames if in_part(f, subset)
        )
        if read_data:
            self.progress.start("Reading data", total)
        for pack_id, frames in index.packs.items():
            name = pack_name(pack_id)
            affected = self._affected(frames)
            if pack_id not in stored:
                self.problem(name, "pack is missing", affected)
                continue
            try:
                header = read_pack_header(self.repo.backend, self.repo.keys, pack_id)
            except (IntegrityError, StorageError, FileNotFoundError) as exc:
                self.problem(name, f"pack is damaged: {exc}", affected)
                continue
            if header != frames:  # FrameEntry equality: the level hint aside
                self.problem(name, "pack does not hold what the index says", affected)
                continue
            if read_data:
                for entry in frames:
                    if in_part(entry, subset):
                        self._read_frame(FrameRef(pack_id, entry))
        if read_data:
            self.progress.done()
        damaged_index = any(p.object.startswith("index/") for p in self.report.problems)
        for pack_id in stored - set(index.packs):
            why = (
                "perhaps listed by the damaged index file"
                if damaged_index
                else "left by an interrupted snapshot or prune; harmless, prune removes it"
            )
            self.report.notes.append(f"{pack_name(pack_id)} is not referenced by any index ({why})")

    def _read_frame(self, ref: FrameRef) -> None:
        name = pack_name(ref.pack_id)
        try:
            sealed = self.repo.backend.read(name, ref.entry.offset, ref.entry.length)
            dictionary = self.repo.reader.dictionary_of(ref.entry)
            content = open_frame(self.repo.keys, ref.entry, sealed, dictionary)
        except (IntegrityError, StorageError, FileNotFoundError) as exc:
            self.problem(
                f"{name} frame at {ref.entry.offset}", str(exc), self._affected([ref.entry])
            )
            return
        finally:
            self.progress.advance(ref.entry.length)
        for blob in ref.entry.blobs:
            data = content[blob.offset : blob.offset + blob.length]
            self.report.blobs_checked += 1
            self.report.bytes_checked += len(data)
            if self.repo.keys.blob_id(blob.type, data) != blob.id:
                self.problem(
                    f"{name} blob {blob.id.hex()[:16]}",
                    "content does not match its id",
                    self._names(self.users.get(blob.id, 0)),
                )

    def _affected(self, frames: list[FrameEntry]) -> set[str]:
        """The short ids of the snapshots needing a blob of ``frames``."""
        return self._names(self._owner_bits(frames))

    def _owner_bits(self, frames: list[FrameEntry]) -> int:
        owners = 0
        for entry in frames:
            for blob_id in entry.blob_ids():
                owners |= self.users.get(blob_id, 0)
        return owners

    def _names(self, owner_bits: int) -> set[str]:
        return {name for i, name in enumerate(self.owners) if owner_bits >> i & 1}


def _kdf_problem(slot: KeySlot) -> str | None:
    try:
        slot.kdf.check()
    except IntegrityError as exc:
        return str(exc)
    return None


def _streams(tree: Tree) -> Iterator[Stream]:
    for part in tree.parts:
        yield from content_streams(part)


def in_part(frame: FrameEntry, subset: tuple[int, int] | None) -> bool:
    """Whether a frame belongs to part n of t: parts split frames by their (random-looking)
    ids, so each holds about 1/t of the data and the t parts together hold all of it."""
    if subset is None:
        return True
    n, t = subset
    return int.from_bytes(frame.id[:8], "big") % t == n - 1


def verify(
    repo: Repository,
    *,
    read_data: bool,
    seen: SeenHead | None,
    progress: Progress | None = None,
    subset: tuple[int, int] | None = None,
) -> VerifyReport:
    """Check the vault; the report lists every problem found. With ``read_data`` and a
    ``subset`` (n, t), only the frames of part n of t are read."""
    return Checker(repo, progress).run(read_data, seen, subset)
