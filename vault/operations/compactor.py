"""Compact: the squeeze as maintenance, carried out. Runs a plan (vault.operations.compactplan):
frames that snapshots wrote at the fast level are compressed again at the squeeze level, each
against the same dictionary, into new packs; frames stored alone (no dictionary: a first
export's, content new in a month) are merged into frames of up to MERGE_TARGET, one zstd
window over what were several; a rebase's blobs move into frames without a dictionary, and
the chain frames down their chains are compressed again against them followed by their own
dictionary, at the same depth; then the index is replaced and the old packs deleted, in
prune's order.

Snapshots compress at FAST_LEVEL so that a user waits for reading and proving an export,
not for zstd at level 19 (vault.repository.repo). This step buys the rest back, when the
user chooses: each rewritten frame keeps its blobs, its dictionary and its depth (a
frame whose squeeze does not pay keeps its sealed bytes), so every dictionary chain stays
as valid as it was, and readers need nothing new. The level a frame was squeezed at is
recorded in its entry ("lvl", docs/FORMAT.md); frames without it are squeezed once. A merged
frame holds the same blobs at depth 0 with no dictionary, like the frames it replaces, so
the frames compressed against their blobs keep reading them, wherever they sit now.

Order, each step durable before the next (vault.repository.compaction): packs that no index
file lists (leftovers of interrupted runs) are deleted; then, a batch of packs at a time (a
rebase's packs whose blobs move first), the new packs; index files listing every pack that
stays and the new ones, farewell files for the packs that go, deletion of the older index
files, then of the old packs. Killed at any moment the vault is consistent: at worst a
batch's new packs are unreferenced (the next compact or prune deletes them) or its blobs are
listed twice. Stopped by its time budget, it finishes the pack in hand and commits what is
done; the next run goes on from there.
Memory: the index, and the compressions in flight, which share a budget; the blobs a rebase
moves wait in scratch space (vault.spill) until a batch's base frames and chain frames are
written. The frames a batch decodes are staged first (staging.FrameStage): decoded into
scratch space with their dictionary chains, each frame of the chains once, not again for
every frame whose dictionary draws on it. A chain frame names only moved blobs in this
batch's base frames or indexed already in frames without a dictionary (an earlier batch's):
it is never indexed without them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

from lkvault.vault.budget import Budget
from lkvault.vault.errors import IntegrityError, Interrupted
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.operations import compactplan
from lkvault.vault.operations.compactplan import (
    REPAIR_HINT,
    CompactPlan,
    dictionary_size,
    frame_memory,
    squeeze_level,
    wants_squeeze,
)
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.blobwriter import (
    PACK_TARGET,
)
from lkvault.vault.repository.compaction import delete_packs, replace_index
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.index import FrameRef, pack_name
from lkvault.vault.repository.pack import (
    MAX_DICT_BLOBS,
    MAX_DICT_BYTES,
    BlobEntry,
    BlobRef,
    Dictionary,
    FrameEntry,
    build_pack,
    open_frame,
    seal_frame,
)
from lkvault.vault.repository.repo import Repository
from lkvault.vault.spill import Spill

# Work done is committed (index replaced, old packs deleted) after every this many stored
# bytes of old packs, so an interrupted run keeps most of what it did. Each commit rewrites
# the whole index: on a vault of a few GB that is a few MB, against 256 MiB of packs.
COMMIT_BYTES = 256 * 1024 * 1024


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
        content = repo.reader.opened_frame(ref, dictionary, sealed)
        refs = None if dictionary is None else Dictionary(old.dictionary, dictionary, old.depth)
        squeezed, entry = seal_squeezed(repo, [content], old.blobs, level, refs)
    if entry.length >= old.length:
        return _Rewritten(sealed, _copy_entry(old, entry.level), True, counted)
    return _Rewritten(squeezed, entry, True, counted)


def seal_squeezed(
    repo: Repository,
    pieces: list[bytes | memoryview],
    blobs: list[BlobEntry],
    level: int,
    refs: Dictionary | None,
) -> tuple[bytes, FrameEntry]:
    """A frame sealed at ``level``, or at COPY_LEVEL when its dictionary is large beside it
    and holds nearly all of it (compactplan.COPY_LEVEL); the entry records the level used."""
    raw_size = sum(len(piece) for piece in pieces)
    large = refs is not None and len(refs.content) >= compactplan.COPY_DICTIONARY * raw_size
    if large and level > compactplan.COPY_LEVEL:
        sealed, entry = seal_frame(repo.keys, pieces, blobs, compactplan.COPY_LEVEL, repo.rng, refs)
        if entry.has_dictionary and compactplan.held_by_dictionary(entry.length, entry.raw_size):
            entry.level = compactplan.COPY_LEVEL
            return sealed, entry
    sealed, entry = seal_frame(repo.keys, pieces, blobs, level, repo.rng, refs)
    entry.level = level
    return sealed, entry


@dataclass
class _Moved:
    """A frame sealed again without the blobs a rebase moves, and those blobs' content."""

    frames: list[_Rewritten]
    blobs: list[tuple[BlobEntry, bytes]]
    counted: int  # the old frame's content, the plan's work it accounts for


def rewrite_moving(
    repo: Repository,
    ref: FrameRef,
    moving: set[bytes],
    budget: Budget,
    memory: int,
    seal: bool = True,
) -> _Moved:
    """A dictionary frame without ``moving``: the rest sealed again against the same
    dictionary at the same depth (none if nothing is left; nothing either without ``seal``,
    for a chain frame sealed later by rewrite_chain), and the moved blobs. Runs on a worker
    thread."""
    old = ref.entry
    size = dictionary_size(repo, old)
    level = squeeze_level(old.raw_size, size, memory)
    with budget.reserve(frame_memory(level, old.raw_size, size)):
        dictionary = repo.reader.dictionary_of(old)
        content = repo.reader.opened_frame(ref, dictionary)
        kept, pieces, moved = _split(old, content, moving)
        frames = []
        if kept and seal:
            refs = None if dictionary is None else Dictionary(old.dictionary, dictionary, old.depth)
            sealed, entry = seal_squeezed(repo, pieces, kept, level, refs)
            frames.append(_Rewritten(sealed, entry, True))
    return _Moved(frames, moved, old.raw_size)


def _split(
    old: FrameEntry, content: bytes, moving: set[bytes]
) -> tuple[list[BlobEntry], list[bytes | memoryview], list[tuple[BlobEntry, bytes]]]:
    """A frame's blobs that stay (entries at their new offsets, and their content) and
    those that move (with their content)."""
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
    return kept, pieces, moved


def rewrite_chain(
    repo: Repository,
    ref: FrameRef,
    moving: set[bytes],
    extra: list[BlobRef],
    extra_content: Callable[[], bytes],
    budget: Budget,
    memory: int,
) -> list[_Rewritten]:
    """A chain frame of a rebase (without ``moving``, the blobs that leave it) sealed again
    against the moved blobs ``extra`` (at depth 0) followed by its own dictionary, at its own
    depth; ``extra_content`` reads the moved blobs' content (within the memory reserved).
    A frame that keeps all its blobs and does not come out smaller is squeezed as compact
    does without a rebase. Runs on a worker thread."""
    old = ref.entry
    added = sum(location.length for b in extra if (location := repo.index.get(b.id)) is not None)
    size = dictionary_size(repo, old) + added
    kept_raw = old.raw_size - sum(b.length for b in old.blobs if b.id in moving)
    level = squeeze_level(kept_raw, size, memory)
    with budget.reserve(frame_memory(level, old.raw_size, size)):
        own = repo.reader.dictionary_of(old) or b""
        content = repo.reader.opened_frame(ref, own or None)
        kept, pieces, _ = _split(old, content, moving)
        if not kept:
            return []
        refs = Dictionary(extra + old.dictionary, extra_content() + own, old.depth)
        sealed, entry = seal_squeezed(repo, pieces, kept, level, refs)
    counted = 0 if moving else old.raw_size
    if moving or entry.length < old.length:
        return [_Rewritten(sealed, entry, True, counted)]
    return [rewrite_frame(repo, ref, budget, memory)]


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

    def __init__(
        self,
        repo: Repository,
        plan: CompactPlan,
        workers: int,
        out_of_time: Callable[[], bool] = lambda: False,
    ) -> None:
        self.repo = repo
        self.plan = plan
        self.out_of_time = out_of_time
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
        # Chain frames, sealed once the batch's moved blobs are in its new frames: (frame,
        # its blobs that move)
        self.chains: list[tuple[FrameRef, set[bytes]]] = []
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
        self.stage = ExitStack()

    def stage_frames(self, frames: list[FrameRef]) -> None:
        """Decode ``frames`` with their dictionary chains into scratch space now, for this
        batch (BlobReader.staged): each frame of the chains once."""
        self.stage.enter_context(self.repo.reader.staged(frames, self.executor))

    @property
    def between_groups(self) -> bool:
        """True when no merge group is half gathered: a batch may be committed here."""
        return not self.group

    def rewrite(self, pack_id: bytes, frames: list[FrameEntry], progress: Progress) -> None:
        for entry in frames:
            ref = FrameRef(pack_id, entry)
            moving = self.plan.moves.get((pack_id, entry.offset))
            if (pack_id, entry.offset) in self.plan.chains:
                if moving is not None:
                    self._submit(
                        self.executor.submit(
                            rewrite_moving, self.repo, ref, moving, self.budget, self.memory, False
                        ),
                        [],
                    )
                self.chains.append((ref, moving or set()))
                continue
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
            full = len(content) + blob.length > compactplan.MERGE_TARGET
            if blobs and (full or blobs[-1].type != blob.type):
                self._submit(self.executor.submit(self._base_frame, blobs, content), [])
                blobs, content = [], bytearray()
                while len(self.in_flight) > self.workers:
                    self._collect(progress)
            blobs.append(BlobEntry(blob.type, blob.id, len(content), blob.length))
            content += self.moved.read_at(offset, blob.length)
        if blobs:
            self._submit(self.executor.submit(self._base_frame, blobs, content), [])

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
        self._seal_chains(progress)
        while self.in_flight:
            self._collect(progress)
        self._write_pack()
        self._drop_moved()

    def _seal_chains(self, progress: Progress) -> None:
        """Submit the chain frames, each against the moved blobs whose chains reach it (in
        the newest snapshot's read order) followed by its own dictionary, within the
        dictionary caps. Only moved blobs whose frames without a dictionary are in this
        batch's new packs, or indexed already (an earlier batch's), are named: the frame is
        indexed with them or after them, and its depth stays what it was. Out of time, they
        are squeezed as without a rebase (a chain frame losing blobs against its own
        dictionary): a frame against the moved blobs takes several times as long."""
        here = {blob.id: (blob, offset) for _, blob, offset in self.base}
        late = bool(self.chains) and self.out_of_time()
        order = self.plan.read_order
        for ref, moving in self.chains:
            old = ref.entry
            own = {d.id for d in old.dictionary}
            room = MAX_DICT_BYTES - dictionary_size(self.repo, old)
            count = MAX_DICT_BLOBS - len(own)
            chosen: list[tuple[BlobRef, BlobEntry | None, int]] = []
            reaching = set() if late else self.plan.chains[frame_key(ref)]
            for blob_id in sorted(reaching, key=order.__getitem__):
                if blob_id in own:
                    continue
                item: tuple[BlobRef, BlobEntry | None, int]
                if blob_id in here:
                    blob, offset = here[blob_id]
                    item = (BlobRef(blob.type, blob_id), blob, offset)
                    length = blob.length
                else:
                    location = self.repo.index.get(blob_id)
                    if location is None or location.frame.entry.has_dictionary:
                        continue
                    item = (BlobRef(location.type, blob_id), None, 0)
                    length = location.length
                if length > room or count == 0:
                    break
                chosen.append(item)
                room -= length
                count -= 1
            if not chosen and not moving:
                self._submit(self.executor.submit(self._one, ref), [])
            else:
                self._submit(self.executor.submit(self._chain_frame, ref, moving, chosen), [])
            while len(self.in_flight) > self.workers:
                self._collect(progress)
        self.chains = []

    def _chain_frame(
        self, ref: FrameRef, moving: set[bytes], chosen: list[tuple[BlobRef, BlobEntry | None, int]]
    ) -> list[_Rewritten]:
        def content() -> bytes:
            parts = bytearray()
            for blob_ref, blob, offset in chosen:
                if blob is None:
                    parts += self.repo.reader.read_blob(blob_ref.type, blob_ref.id)
                else:
                    assert self.moved is not None
                    parts += self.moved.read_at(offset, blob.length)
            return bytes(parts)

        extra = [item[0] for item in chosen]
        return rewrite_chain(self.repo, ref, moving, extra, content, self.budget, self.memory)

    def _drop_moved(self) -> None:
        if self.moved is not None:
            self.moved.close()
        self.moved, self.base = None, []

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
        self._drop_moved()
        self.stage.close()


def batch_decodes(repo: Repository, plan: CompactPlan, packs: list[bytes]) -> list[FrameRef]:
    """The frames against a dictionary that the batch starting with ``packs[0]`` (its packs
    up to COMMIT_BYTES, as run_compact commits them) decodes: to squeeze them, to take blobs
    a rebase moves out of them, or to seal them again against the moved blobs."""
    frames: list[FrameRef] = []
    total = 0
    for pack_id in packs:
        if total >= COMMIT_BYTES:
            break
        for entry in repo.index.packs[pack_id]:
            total += entry.length
            key = (pack_id, entry.offset)
            rebased = key in plan.moves or key in plan.chains
            if entry.has_dictionary and (
                rebased or wants_squeeze(repo, entry, plan.memory) is not None
            ):
                frames.append(FrameRef(pack_id, entry))
    return frames


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
    # What planning read (every snapshot's trees, for a rebase) is not read again; held in
    # the frame cache it was up to 16 MiB more at the squeeze's peak.
    repo.reader.forget_frames()
    progress.start("Squeezing", plan.raw_bytes)
    rewriter: PackRewriter | None = None
    try:
        pending = 0
        for position, pack_id in enumerate(plan.packs):
            if (rewriter is None or rewriter.between_groups) and out_of_time():
                result.finished = False
                break
            if rewriter is None:
                rewriter = PackRewriter(repo, plan, workers, out_of_time)
                rewriter.stage_frames(batch_decodes(repo, plan, plan.packs[position:]))
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
