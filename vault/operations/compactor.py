"""Compact: the squeeze as maintenance. Frames that snapshots wrote at the fast level are
compressed again at the squeeze level, each against the same dictionary, into new packs;
frames stored alone (no dictionary: a first export's, content new in a month) are merged
into frames of up to MERGE_TARGET, one zstd window over what were several; then the index is
replaced and the old packs deleted, in prune's order.

Snapshots compress at FAST_LEVEL so that a user waits for reading and proving an export,
not for zstd at level 19 (vault.repository.repo). This step buys the rest back, when the
user chooses: each rewritten frame keeps its blobs, its dictionary and its depth (a
frame whose squeeze does not pay keeps its sealed bytes), so every dictionary chain stays
as valid as it was, and readers need nothing new. The level a frame was squeezed at is
recorded in its entry ("lvl", docs/FORMAT.md); frames without it are squeezed once. A merged
frame holds the same blobs at depth 0 with no dictionary, like the frames it replaces, so
the frames compressed against their blobs keep reading them, wherever they sit now.

Order, each step durable before the next (vault.repository.compaction): packs that no index
file lists (leftovers of interrupted runs) are deleted; then, a batch of packs at a time,
the new packs; index files listing every pack that stays and the new ones, farewell files
for the packs that go, deletion of the older index files, then of the old packs. Killed at
any moment the vault is consistent: at worst a batch's new packs are unreferenced (the next
compact or prune deletes them) or its blobs are listed twice. Stopped by its time budget, it
finishes the pack in hand and commits what is done; the next run goes on from there.
Memory: the index, and the compressions in flight, which share a budget; the blobs a rebase
moves wait in scratch space (vault.spill) until a batch's base frames are written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from lkvault.vault.budget import Budget
from lkvault.vault.errors import IntegrityError, Interrupted, StorageError
from lkvault.vault.format import zstdframe
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.operations.usage import snapshot_blobs
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.blobwriter import (
    FAST_LEVEL,
    FRAME_TARGET,
    PACK_TARGET,
    SQUEEZE_LEVEL,
)
from lkvault.vault.repository.compaction import delete_packs, replace_index
from lkvault.vault.repository.index import BlobLocation, FrameRef, pack_id_of_name, pack_name
from lkvault.vault.repository.pack import (
    MAX_DICT_DEPTH,
    BlobEntry,
    Dictionary,
    FrameEntry,
    build_pack,
    open_frame,
    seal_frame,
)
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import load_snapshots
from lkvault.vault.spill import Spill

REPAIR_HINT = "run 'lkvault verify' and 'lkvault repair' first"
# Work done is committed (index replaced, old packs deleted) after every this many stored
# bytes of old packs, so an interrupted run keeps most of what it did. Each commit rewrites
# the whole index: on a vault of a few GB that is a few MB, against 256 MiB of packs.
COMMIT_BYTES = 256 * 1024 * 1024
# The working memory compressions may take together when the caller names none: a frame
# squeezed against a full dictionary needs ~41 MiB of zstd context, its dictionary, and its
# content decoded, sealed and compressed (~58 MiB in all), so one runs at a time. A merged
# frame (MERGE_TARGET) would need ~82 MiB at SQUEEZE_LEVEL; under this budget it is squeezed
# a few levels lower, which costs under 1 % of its size and keeps the process's peak under
# the 150 MB that the squeeze step is allowed (docs/benchmarks.md).
DEFAULT_MEMORY = 80 * 1024 * 1024
# Frames stored alone are merged into frames of up to this much content. Each of a first
# export's 4 MiB frames compressed alone cannot refer to the others; merged, one window spans
# them (the first month of a medium export, level 19: 5.82 MB as 4 MiB frames, 5.60 MB in
# 16 MiB ones, 5.55 MB as one stream). Larger frames cost every lone read of one of their
# blobs more decoding, and squeezing one at SQUEEZE_LEVEL takes ~82 MiB.
MERGE_TARGET = 16 * 1024 * 1024
# Frames up to this size may be merged: a frame as a snapshot writes it (FRAME_TARGET, and
# the blob that ends it), not one compact merged already.
MERGE_SMALLER_THAN = FRAME_TARGET + FRAME_TARGET // 2
# A frame whose stored size is this close to its content does not compress (photos, zips
# inside the export): merging it would gain nothing, again on every run.
INCOMPRESSIBLE = 0.9
# The chain policy (docs/benchmarks.md, "Dictionary chains over ten years"). Restoring the
# newest snapshot decodes every dictionary frame holding one of its blobs, and the frames
# their dictionaries draw on: about one frame a month, whatever the chains' depth. Once that
# scratch passes REBASE_FACTOR times the snapshot's content, compact rebases: the newest
# snapshot's blobs that sit in dictionary frames are moved into new frames without one
# (merged like the frames stored alone), and the frames they leave are sealed again without
# them, against the same dictionary at the same depth. Every frame that drew on a moved blob
# now draws on a frame at depth 0, so no depth grows and no chain breaks; the newest
# snapshot's scratch drops to nothing and a run's work is the months since the last rebase.
# A rebase stores the newest snapshot's changed content whole again: about half an
# information floor each time on the small series (2 rebased every 12-24 months and stood at
# 2-3x the floor; docs/benchmarks.md), so the bound is high: a safety valve on a restore's
# scratch space (the 2.6 GB of month 17 of 300 MB exports), not a routine.
REBASE_FACTOR = 8.0
# Compact also rebases once a frame holding the newest snapshot's blobs is REBASE_DEPTH deep.
# A writer compresses nothing against blobs in frames MAX_DICT_DEPTH deep, so without a rebase
# every later month's changed chunks lose their previous version as a dictionary and cost
# several times as much. A month deepens chains by one: a bound a year short of the writer's
# rebases in time when compact runs at least yearly, and rebases as rarely as that allows,
# since each rebase stores the newest snapshot's changed content whole (measured against half
# the bound in docs/benchmarks.md, "The year-five jump found").
REBASE_DEPTH = MAX_DICT_DEPTH - 12
# A rebase for depth moves only the newest snapshot's blobs in frames at least REBASE_DEPTH -
# REBASE_SPAN deep: the rest of its content stays compressed against its previous versions.
# The bound is often reached by a few old chunks a month uses again (deduplicated, so they
# stay in their deep frames) rather than by a year of chains; moving every blob in a
# dictionary frame then stored a year or more of changed content whole for their sake
# (docs/benchmarks.md, "A cheaper rebase: only the deep frames' blobs move").
REBASE_SPAN = 12


def squeeze_level(raw_size: int, dictionary_size: int, memory: int) -> int:
    """The highest level up to SQUEEZE_LEVEL whose compression of such a frame fits in
    ``memory``; FAST_LEVEL if none above it does (then the frame is not squeezed at all)."""
    for level in range(SQUEEZE_LEVEL, FAST_LEVEL, -1):
        if frame_memory(level, raw_size, dictionary_size) <= memory:
            return level
    return FAST_LEVEL


def frame_memory(level: int, raw_size: int, dictionary_size: int) -> int:
    """Bytes squeezing one frame holds: zstd's context, the dictionary, and the frame's
    content three times (sealed, decoded, compressed)."""
    context = zstdframe.context_size(level, raw_size, dictionary_size)
    return context + dictionary_size + 3 * raw_size


def dictionary_size(repo: Repository, entry: FrameEntry) -> int:
    """The size of a frame's dictionary by the index (0 without one or when unknown)."""
    total = 0
    for ref in entry.dictionary:
        location = repo.index.get(ref.id)
        if location is None:
            return 0
        total += location.length
    return total


def wants_squeeze(repo: Repository, entry: FrameEntry, memory: int) -> int | None:
    """The level to squeeze a frame at, or None when it is squeezed already (at that level
    or higher) or cannot be squeezed within ``memory``."""
    level = squeeze_level(entry.raw_size, dictionary_size(repo, entry), memory)
    if level <= FAST_LEVEL or (entry.level is not None and entry.level >= level):
        return None
    return level


@dataclass
class CompactPlan:
    """What a compact would do; nothing is changed until it runs."""

    packs: list[bytes] = field(default_factory=list)  # packs holding frames to squeeze
    frames: int = 0  # frames to squeeze (merged ones included)
    # Frames to merge, by (pack, offset): the group each belongs to; groups in plan order
    merge_groups: list[list[FrameRef]] = field(default_factory=list)
    merges: dict[tuple[bytes, int], int] = field(default_factory=dict)
    # Rebase: blobs of the newest snapshot to move out of dictionary frames, by (pack, offset)
    moves: dict[tuple[bytes, int], set[bytes]] = field(default_factory=dict)
    # The place of each blob to move in the newest snapshot's read order (snapshot_blobs)
    read_order: dict[bytes, int] = field(default_factory=dict)
    scratch: int = 0  # what restoring the newest snapshot decodes through dictionaries now
    deepest: int = 0  # the depth of the deepest frame holding one of its blobs
    content: int = 0  # the newest snapshot's content
    raw_bytes: int = 0  # their content
    stored_bytes: int = 0  # their stored size now
    pack_bytes: int = 0  # stored frame bytes of the packs to rewrite
    unreferenced: list[bytes] = field(default_factory=list)
    index_files: list[str] = field(default_factory=list)
    memory: int = DEFAULT_MEMORY

    @property
    def nothing_to_do(self) -> bool:
        return not (self.packs or self.unreferenced)


@dataclass
class CompactResult:
    plan: CompactPlan
    packs_done: int = 0  # old packs rewritten and deleted
    frames_squeezed: int = 0
    bytes_before: int = 0  # stored frame bytes of the packs rewritten
    bytes_after: int = 0  # stored frame bytes that replaced them
    bytes_freed: int = 0  # stored bytes of deleted packs (unreferenced ones included)
    bytes_written: int = 0  # stored bytes of new packs
    finished: bool = True  # False when the time budget ran out first


def plan_compact(repo: Repository, memory: int = DEFAULT_MEMORY) -> CompactPlan:
    """Decide what compact does. Refuses (IntegrityError) with a damaged index file: the
    packs it lists would look unreferenced."""
    index = repo.reload_index()
    if repo.indexes.problems:
        name, message = repo.indexes.problems[0]
        raise IntegrityError(f"{name} is damaged ({message}); {REPAIR_HINT}")
    plan = CompactPlan(index_files=repo.indexes.names(), memory=memory)
    stored = {pack_id_of_name(n) for n in repo.backend.list("data/")} - {None}
    plan.unreferenced = sorted(p for p in stored if p is not None and p not in index.packs)
    present = {p: frames for p, frames in index.packs.items() if p in stored}
    _group_merges(plan, present, memory)
    _plan_rebase(repo, plan, present)
    for pack_id, frames in present.items():
        wanted = [
            entry
            for entry in frames
            if (pack_id, entry.offset) in plan.merges
            or (pack_id, entry.offset) in plan.moves
            or wants_squeeze(repo, entry, memory) is not None
        ]
        if not wanted:
            continue
        plan.packs.append(pack_id)
        plan.frames += len(wanted)
        plan.raw_bytes += sum(entry.raw_size for entry in wanted)
        plan.stored_bytes += sum(entry.length for entry in wanted)
        plan.pack_bytes += sum(entry.length for entry in frames)
    return plan


def _plan_rebase(repo: Repository, plan: CompactPlan, packs: dict[bytes, list[FrameEntry]]) -> None:
    """Plan the moves of a rebase when the newest snapshot's scratch is over the bound, or
    its blobs sit REBASE_DEPTH deep."""
    try:
        snapshots = load_snapshots(repo)
        if not snapshots:
            return
        sizes = dict(snapshot_blobs(repo, snapshots[-1]))
    except (IntegrityError, StorageError) as exc:
        raise IntegrityError(f"compact reads the newest snapshot: {exc}; {REPAIR_HINT}") from None
    index = repo.index
    plan.content = sum(sizes.values())
    holding: dict[tuple[bytes, int], set[bytes]] = {}
    for blob_id in sizes:
        location = index.get(blob_id)
        if location is not None and location.frame.entry.has_dictionary:
            key = (location.frame.pack_id, location.frame.entry.offset)
            holding.setdefault(key, set()).add(blob_id)
            plan.deepest = max(plan.deepest, location.frame.entry.depth)
    plan.scratch = chain_scratch(repo, [index.get(b) for bs in holding.values() for b in bs])
    if plan.scratch <= REBASE_FACTOR * plan.content and plan.deepest < REBASE_DEPTH:
        return
    moves = {key: ids for key, ids in holding.items() if key[0] in packs}
    if plan.scratch <= REBASE_FACTOR * plan.content:  # for depth alone
        deep = max(1, REBASE_DEPTH - REBASE_SPAN)
        depths = {(pack_id, e.offset): e.depth for pack_id, frames in packs.items() for e in frames}
        moves = {key: ids for key, ids in moves.items() if depths[key] >= deep}
    plan.moves = moves
    places = {blob_id: place for place, blob_id in enumerate(sizes)}
    plan.read_order = {blob_id: places[blob_id] for ids in moves.values() for blob_id in ids}


def chain_scratch(repo: Repository, locations: list[BlobLocation | None]) -> int:
    """The content of the dictionary frames reading these blobs decodes: their own frames
    and, transitively, those their dictionaries draw on. Frames without a dictionary are
    not counted: a restore of the snapshot reads them for its own blobs anyway (a rebase's
    new frames, a first export's), and counting them would rebase again at once."""
    seen: dict[tuple[bytes, int], int] = {}
    pending = [location.frame for location in locations if location is not None]
    while pending:
        ref = pending.pop()
        key = (ref.pack_id, ref.entry.offset)
        if key in seen:
            continue
        seen[key] = ref.entry.raw_size if ref.entry.has_dictionary else 0
        for dictionary_ref in ref.entry.dictionary:
            location = repo.index.get(dictionary_ref.id)
            if location is not None:
                pending.append(location.frame)
    return sum(seen.values())


def merge_candidate(entry: FrameEntry) -> bool:
    """Whether a frame may be merged with others: stored alone, as a snapshot wrote it (not
    compact: its frames are final), compressible, and holding data blobs only (trees keep
    their own small frames, which a restore reads first)."""
    return (
        not entry.has_dictionary
        and entry.level is None
        and entry.raw_size < MERGE_SMALLER_THAN
        and entry.length < INCOMPRESSIBLE * entry.raw_size
        and all(blob.type == BlobType.DATA for blob in entry.blobs)
    )


def _group_merges(plan: CompactPlan, packs: dict[bytes, list[FrameEntry]], memory: int) -> None:
    """Group the frames to merge, in the order the index lists them (a snapshot's frames in
    the order it wrote them), within MERGE_TARGET and squeezable above the fast level in
    ``memory``. A frame left alone is not merged.

    Groups never interleave, so compact gathers one at a time, and a batch of its work can
    end wherever no group is open (run_compact)."""
    groups: list[list[FrameRef]] = [[]]
    size = 0
    for pack_id, frames in packs.items():
        for entry in frames:
            if not merge_candidate(entry):
                continue
            group = groups[-1]
            size += entry.raw_size
            if group and (size > MERGE_TARGET or squeeze_level(size, 0, memory) <= FAST_LEVEL):
                groups.append([])
                size = entry.raw_size
            groups[-1].append(FrameRef(pack_id, entry))
    for group in groups:
        if len(group) < 2:
            continue
        number = len(plan.merge_groups)
        plan.merge_groups.append(group)
        for ref in group:
            plan.merges[(ref.pack_id, ref.entry.offset)] = number


@dataclass
class _Rewritten:
    sealed: bytes
    entry: FrameEntry
    squeezed: bool
    counted: int = 0  # content bytes of the plan's work this frame accounts for


def rewrite_frame(repo: Repository, ref: FrameRef, budget: Budget, memory: int) -> _Rewritten:
    """One frame for a new pack: squeezed against its own dictionary, or (squeezed already,
    or not smaller squeezed) its sealed bytes as they are. Runs on a worker thread."""
    old = ref.entry
    level = wants_squeeze(repo, old, memory)
    if level is None:
        return _Rewritten(repo.reader.sealed_frame(ref), _copy_entry(old, old.level), False)
    counted = old.raw_size
    with budget.reserve(frame_memory(level, old.raw_size, dictionary_size(repo, old))):
        dictionary = repo.reader.dictionary_of(old)
        sealed = repo.reader.sealed_frame(ref)
        content = open_frame(repo.keys, old, sealed, dictionary)
        refs = None if dictionary is None else Dictionary(old.dictionary, dictionary, old.depth)
        squeezed, entry = seal_frame(repo.keys, [content], old.blobs, level, repo.rng, refs)
    if entry.length >= old.length:
        return _Rewritten(sealed, _copy_entry(old, level), True, counted)
    entry.level = level
    return _Rewritten(squeezed, entry, True, counted)


@dataclass
class _Moved:
    """A frame sealed again without the blobs a rebase moves, and those blobs' content."""

    frames: list[_Rewritten]
    blobs: list[tuple[BlobEntry, bytes]]
    counted: int  # the old frame's content, the plan's work it accounts for


def rewrite_moving(
    repo: Repository, ref: FrameRef, moving: set[bytes], budget: Budget, memory: int
) -> _Moved:
    """A dictionary frame without ``moving``: the rest sealed again against the same
    dictionary at the same depth (none if nothing is left), and the moved blobs. Runs on a
    worker thread."""
    old = ref.entry
    size = dictionary_size(repo, old)
    level = squeeze_level(old.raw_size, size, memory)
    with budget.reserve(frame_memory(level, old.raw_size, size)):
        dictionary = repo.reader.dictionary_of(old)
        content = open_frame(repo.keys, old, repo.reader.sealed_frame(ref), dictionary)
        kept: list[BlobEntry] = []
        pieces: list[bytes | memoryview] = []
        moved: list[tuple[BlobEntry, bytes]] = []
        offset = 0
        for blob in old.blobs:
            data = content[blob.offset : blob.offset + blob.length]
            if blob.id in moving:
                moved.append((blob, data))
                continue
            kept.append(BlobEntry(blob.type, blob.id, offset, blob.length))
            pieces.append(data)
            offset += blob.length
        frames = []
        if kept:
            refs = None if dictionary is None else Dictionary(old.dictionary, dictionary, old.depth)
            sealed, entry = seal_frame(repo.keys, pieces, kept, level, repo.rng, refs)
            entry.level = level
            frames.append(_Rewritten(sealed, entry, True))
    return _Moved(frames, moved, old.raw_size)


def rewrite_group(
    repo: Repository, refs: list[FrameRef], budget: Budget, memory: int
) -> list[_Rewritten]:
    """Frames stored alone, merged into one squeezed frame holding all their blobs; the
    frames as they are if the merged one is not smaller. Runs on a worker thread."""
    total = sum(ref.entry.raw_size for ref in refs)
    level = squeeze_level(total, 0, memory)
    with budget.reserve(frame_memory(level, total, 0)):
        # The frames decoded one by one into one buffer: zstd takes one contiguous input, and
        # joining the decoded frames held a 16 MiB merge twice (compact's peak).
        content = bytearray()
        blobs: list[BlobEntry] = []
        for ref in refs:
            base = len(content)
            content += open_frame(repo.keys, ref.entry, repo.reader.sealed_frame(ref))
            blobs.extend(
                BlobEntry(blob.type, blob.id, base + blob.offset, blob.length)
                for blob in ref.entry.blobs
            )
        merged, entry = seal_frame(repo.keys, [content], blobs, level, repo.rng)
        del content
    if entry.length >= sum(ref.entry.length for ref in refs):
        return [
            _Rewritten(
                repo.reader.sealed_frame(ref),
                _copy_entry(ref.entry, ref.entry.level),
                False,
                ref.entry.raw_size,
            )
            for ref in refs
        ]
    entry.level = level
    return [_Rewritten(merged, entry, True, total)]


def _copy_entry(entry: FrameEntry, level: int | None) -> FrameEntry:
    """The same sealed frame, for a place in another pack (build_pack sets the offset)."""
    return FrameEntry(
        entry.id, 0, entry.length, entry.raw_size, entry.blobs, entry.dictionary, entry.depth, level
    )


class PackRewriter:
    """Rewrites whole packs into new ones, frames on worker threads, in order.

    An old pack is ``done`` once every one of its frames is in a new pack that is written.
    Frames to merge wait for the last of their group, which may sit in a later pack; the
    packs holding the group's frames are done once the merged frame is written.
    """

    def __init__(self, repo: Repository, plan: CompactPlan, workers: int) -> None:
        self.repo = repo
        self.plan = plan
        self.memory = plan.memory
        self.budget = Budget(plan.memory)
        self.workers = max(1, workers)
        self.executor = ThreadPoolExecutor(max_workers=self.workers)
        # (frames coming, old packs whose last frame is among them)
        self.in_flight: deque[tuple[Future[list[_Rewritten]] | Future[_Moved], list[bytes]]] = (
            deque()
        )
        # Moved blobs, kept in scratch space until every frame of the batch gave its own:
        # (place in the read order, blob, offset in self.moved)
        self.moved: Spill | None = None
        self.base: list[tuple[tuple[bool, int], BlobEntry, int]] = []
        self.group: list[FrameRef] = []  # the merge group being gathered
        self.group_packs: list[bytes] = []  # old packs done once that group is written
        self.body = bytearray()
        self.entries: list[FrameEntry] = []
        self.finishing: list[bytes] = []  # old packs whose last frame is in ``body``
        self.done: list[bytes] = []
        self.written: dict[bytes, list[FrameEntry]] = {}
        self.squeezed = 0
        self.bytes_after = 0
        self.bytes_written = 0

    @property
    def between_groups(self) -> bool:
        """True when no merge group is half gathered: a batch may be committed here."""
        return not self.group

    def rewrite(self, pack_id: bytes, frames: list[FrameEntry], progress: Progress) -> None:
        for entry in frames:
            ref = FrameRef(pack_id, entry)
            moving = self.plan.moves.get((pack_id, entry.offset))
            if moving is not None:
                self._submit(
                    self.executor.submit(
                        rewrite_moving, self.repo, ref, moving, self.budget, self.memory
                    ),
                    [],
                )
                continue
            number = self.plan.merges.get((pack_id, entry.offset))
            if number is None:
                self._submit(self.executor.submit(self._one, ref), [])
                continue
            self.group.append(ref)
            if len(self.group) == len(self.plan.merge_groups[number]):
                group, self.group = self.group, []
                waiting, self.group_packs = self.group_packs, []
                future = self.executor.submit(
                    rewrite_group, self.repo, group, self.budget, self.memory
                )
                self._submit(future, waiting)
            while len(self.in_flight) > self.workers:
                self._collect(progress)
        if self.group:
            self.group_packs.append(pack_id)  # its last frames are in the open group
        elif self.in_flight:
            self.in_flight[-1][1].append(pack_id)
        else:
            self.finishing.append(pack_id)

    def _one(self, ref: FrameRef) -> list[_Rewritten]:
        return [rewrite_frame(self.repo, ref, self.budget, self.memory)]

    def _submit(
        self, future: Future[list[_Rewritten]] | Future[_Moved], packs: list[bytes]
    ) -> None:
        self.in_flight.append((future, packs))

    def _keep_moved(self, moved: list[tuple[BlobEntry, bytes]]) -> None:
        """Keep blobs a rebase moves for the base frames, in scratch space (encrypted on disk
        past 16 MiB: a rebase moves up to a snapshot's content)."""
        if self.moved is None:
            self.moved = Spill()
        for blob, data in moved:
            place = (blob.type != BlobType.TREE, self.plan.read_order.get(blob.id, -1))
            self.base.append((place, blob, self.moved.size))
            self.moved.write(data)

    def _seal_base(self, progress: Progress) -> None:
        """Submit the moved blobs as frames without a dictionary, in the order a restore of
        the newest snapshot reads them (its trees and chunk lists first, in frames of their
        own), so that it reads each frame in one run. In the order the old frames gave them,
        month by month, a member's chunks lay in every frame."""
        if self.moved is None:
            return
        # Each frame's content read into one buffer: zstd takes one contiguous input.
        blobs: list[BlobEntry] = []
        content = bytearray()
        for _, blob, offset in sorted(self.base, key=lambda moved: moved[0]):
            full = len(content) + blob.length > MERGE_TARGET
            if blobs and (full or blobs[-1].type != blob.type):
                self._submit(self.executor.submit(self._base_frame, blobs, content), [])
                blobs, content = [], bytearray()
                while len(self.in_flight) > self.workers:
                    self._collect(progress)
            blobs.append(BlobEntry(blob.type, blob.id, len(content), blob.length))
            content += self.moved.read_at(offset, blob.length)
        if blobs:
            self._submit(self.executor.submit(self._base_frame, blobs, content), [])
        self.moved.close()
        self.moved, self.base = None, []

    def _base_frame(self, blobs: list[BlobEntry], content: bytearray) -> list[_Rewritten]:
        level = squeeze_level(len(content), 0, self.memory)
        with self.budget.reserve(frame_memory(level, len(content), 0)):
            sealed, entry = seal_frame(self.repo.keys, [content], blobs, level, self.repo.rng)
        entry.level = level
        return [_Rewritten(sealed, entry, False)]

    def drain(self, progress: Progress) -> None:
        """Collect every frame in flight, moved blobs into base frames, and write the last
        pack: the old packs done are then held whole by the packs written."""
        while self.in_flight:
            self._collect(progress)
        self._seal_base(progress)
        while self.in_flight:
            self._collect(progress)
        self._write_pack()

    def _collect(self, progress: Progress) -> None:
        future, packs = self.in_flight.popleft()
        done = future.result()
        if isinstance(done, _Moved):
            self._keep_moved(done.blobs)
            progress.advance(done.counted)
            done = done.frames
        for frame in done:
            self.body += frame.sealed
            self.entries.append(frame.entry)
            self.bytes_after += frame.entry.length
            if frame.squeezed:
                self.squeezed += 1
            progress.advance(frame.counted)
        self.finishing.extend(packs)
        if len(self.body) >= PACK_TARGET:
            self._write_pack()

    def _write_pack(self) -> None:
        if self.entries:
            pack_id, blob, entries = build_pack(
                self.repo.keys, self.body, self.entries, self.repo.rng
            )
            self.body, self.entries = bytearray(), []
            self.repo.backend.write(pack_name(pack_id), blob)
            self.bytes_written += len(blob)
            self.written[pack_id] = entries
        self.done.extend(self.finishing)
        self.finishing = []

    def close(self) -> None:
        """Stop the workers; frames still queued are dropped (their packs stay as they are).
        A squeeze under way is not waited for (at level 19 one takes seconds): its result
        would go nowhere, and an interrupted compact must stop at once."""
        for future, _ in self.in_flight:
            future.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.moved is not None:
            self.moved.close()
            self.moved, self.base = None, []


def run_compact(
    repo: Repository,
    plan: CompactPlan,
    *,
    out_of_time: Callable[[], bool] = lambda: False,
    workers: int = 2,
    progress: Progress | None = None,
) -> CompactResult:
    """Carry out a plan made under the same exclusive lock; ``out_of_time`` is asked before
    each pack is started. A damaged frame stops it (IntegrityError) after the batches done."""
    progress = progress or NoProgress()
    result = CompactResult(plan)
    result.bytes_freed += delete_packs(repo, plan.unreferenced)
    progress.start("Squeezing", plan.raw_bytes)
    rewriter: PackRewriter | None = None
    try:
        pending = 0
        for pack_id in plan.packs:
            if (rewriter is None or rewriter.between_groups) and out_of_time():
                result.finished = False
                break
            if rewriter is None:
                rewriter = PackRewriter(repo, plan, workers)
            frames = repo.index.packs[pack_id]
            rewriter.rewrite(pack_id, frames, progress)
            pending += sum(entry.length for entry in frames)
            if pending >= COMMIT_BYTES and rewriter.between_groups:
                _commit(repo, rewriter, progress, result)
                rewriter, pending = None, 0
        if rewriter is not None:
            _commit(repo, rewriter, progress, result)
            rewriter = None
    except KeyboardInterrupt:
        raise Interrupted(interrupted_message(result)) from None
    except IntegrityError as exc:
        # A frame or dictionary that does not read: what was committed stays, the rest waits.
        raise IntegrityError(f"{exc}; {REPAIR_HINT}, then compact again") from None
    finally:
        if rewriter is not None:
            rewriter.close()
        progress.done()
    repo.reload_index()
    return result


def interrupted_message(result: CompactResult) -> str:
    """What an interrupted compact kept: the batches it committed. The batch in hand may have
    left new packs, unreferenced or listed beside the old ones; the next run finishes it."""
    kept = f"the {result.packs_done} packs compacted so far are kept; " if result.packs_done else ""
    return (
        f"interrupted; compact stopped, the vault is consistent ({kept}every snapshot "
        "restores as before); run 'lkvault compact' again to finish"
    )


def _commit(
    repo: Repository, rewriter: PackRewriter, progress: Progress, result: CompactResult
) -> None:
    """Write the rewriter's last pack, then make its new packs the old ones' replacement."""
    try:
        rewriter.drain(progress)
    finally:
        rewriter.close()
    going = {p: repo.index.packs[p] for p in rewriter.done if p not in rewriter.written}
    if not going:
        return
    staying = {p: f for p, f in repo.index.packs.items() if p not in going}
    replace_index(repo, {**staying, **rewriter.written}, repo.indexes.names(), going)
    result.bytes_freed += delete_packs(repo, going)
    result.packs_done += len(going)
    result.frames_squeezed += rewriter.squeezed
    result.bytes_before += sum(e.length for frames in going.values() for e in frames)
    result.bytes_after += rewriter.bytes_after
    result.bytes_written += rewriter.bytes_written
    repo.reload_index()
