"""Compact's plan: which frames to squeeze, which to merge, and a rebase's moves; nothing
is changed until vault.operations.compactor runs it.

A frame is squeezed at the highest level up to SQUEEZE_LEVEL whose compression fits the
memory budget; frames stored alone, as a snapshot wrote them, are grouped to be merged into
frames of up to MERGE_TARGET; and when the newest snapshot's chains grow too deep or its
restore would decode too much through dictionaries, its blobs in deep frames are planned to
move into frames without one (the chain policy below).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.format import zstdframe
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.operations.usage import snapshot_blobs
from lkvault.vault.repository.blobwriter import (
    FAST_LEVEL,
    FRAME_TARGET,
    SQUEEZE_LEVEL,
)
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.index import BlobLocation, FrameRef, pack_id_of_name
from lkvault.vault.repository.pack import (
    MAX_DICT_DEPTH,
    FrameEntry,
)
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import load_snapshots

REPAIR_HINT = "run 'lkvault verify' and 'lkvault repair' first"
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
# The moved blobs' earlier versions stay in the dictionary frames down their chains (each
# month's changes against the month before): those "chain frames" are compressed again
# against the moved blobs followed by their own dictionary, at the same depth, which
# saved about what each rebase added on the small series (docs/benchmarks.md, "A reverse
# delta at rebase").
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
# A frame against a dictionary at least COPY_DICTIONARY times its content (a rebase's chain
# frame against the moved blobs and its own dictionary, up to 16 MiB) is first compressed at
# COPY_LEVEL, and kept at that level when it comes to at most 1/COPY_RATIO of its content or
# COPY_BYTES: the dictionary holds nearly all of it, and SQUEEZE_LEVEL spends seconds a frame
# loading the dictionary into its binary trees to find no fewer bytes (COPY_LEVEL's hash
# chains take a fraction of one). A snapshot's frames have dictionaries about their own size
# (their previous versions) and are squeezed at SQUEEZE_LEVEL, where it pays (docs/benchmarks.md,
# "Chain frames at level 12").
COPY_LEVEL = 12
COPY_DICTIONARY = 3
COPY_RATIO = 16
COPY_BYTES = 4096


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


def held_by_dictionary(stored: int, raw_size: int) -> bool:
    """Whether a frame against a dictionary stored in ``stored`` bytes at COPY_LEVEL is
    squeezed as far as it pays (COPY_LEVEL above)."""
    return stored * COPY_RATIO <= raw_size or stored <= COPY_BYTES


def wants_squeeze(repo: Repository, entry: FrameEntry, memory: int) -> int | None:
    """The level to squeeze a frame at, or None when it is squeezed already (at that level
    or higher, or at COPY_LEVEL as a frame its dictionary holds) or cannot be squeezed
    within ``memory``."""
    level = squeeze_level(entry.raw_size, dictionary_size(repo, entry), memory)
    if level <= FAST_LEVEL or (entry.level is not None and entry.level >= level):
        return None
    copied = entry.level is not None and entry.level >= COPY_LEVEL and entry.has_dictionary
    if copied and held_by_dictionary(entry.length, entry.raw_size):
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
    # Rebase: the chain frames to seal again against moved blobs followed by their own
    # dictionary, by (pack, offset): the moved blobs whose chains reach each (chain_frames)
    chains: dict[tuple[bytes, int], set[bytes]] = field(default_factory=dict)
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
    _plan_rebase(repo, plan, present)
    # The packs whose blobs a rebase moves go first: a rebase larger than a batch then writes
    # the moved blobs before the chain frames that are sealed against them (in their batch,
    # or indexed by then), wherever those sit.
    moving = {pack_id for pack_id, _ in plan.moves}
    order = sorted(present, key=lambda pack_id: pack_id not in moving)
    present = {pack_id: present[pack_id] for pack_id in order}
    _group_merges(plan, present, memory)
    for pack_id, frames in present.items():
        wanted = [
            entry
            for entry in frames
            if (pack_id, entry.offset) in plan.merges
            or (pack_id, entry.offset) in plan.moves
            or (pack_id, entry.offset) in plan.chains
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
    depths: dict[tuple[bytes, int], int] = {}  # of the frames in ``holding``
    for blob_id in sizes:
        location = index.get(blob_id)
        if location is not None and location.frame.entry.has_dictionary:
            key = frame_key(location.frame)
            holding.setdefault(key, set()).add(blob_id)
            depths[key] = location.frame.entry.depth
    plan.deepest = max(depths.values(), default=0)
    plan.scratch = chain_scratch(repo, [index.get(b) for bs in holding.values() for b in bs])
    if plan.scratch <= REBASE_FACTOR * plan.content and plan.deepest < REBASE_DEPTH:
        return
    moves = {key: ids for key, ids in holding.items() if key[0] in packs}
    if plan.scratch <= REBASE_FACTOR * plan.content:  # for depth alone
        deep = max(1, REBASE_DEPTH - REBASE_SPAN)
        moves = {key: ids for key, ids in moves.items() if depths[key] >= deep}
    plan.moves = moves
    places = {blob_id: place for place, blob_id in enumerate(sizes)}
    plan.read_order = {blob_id: places[blob_id] for ids in moves.values() for blob_id in ids}
    plan.chains = chain_frames(repo, moves, packs)


def chain_frames(
    repo: Repository,
    moves: dict[tuple[bytes, int], set[bytes]],
    packs: dict[bytes, list[FrameEntry]],
) -> dict[tuple[bytes, int], set[bytes]]:
    """The dictionary frames down the moved blobs' chains, with the moved blobs whose chains
    reach each: from each moving frame's dictionary to the frames holding those blobs and,
    transitively, their dictionaries; a moved blob named on the way is not followed (its
    own frame starts a walk of its own). A rebase seals these frames again against the moved
    blobs followed by their own dictionary: their content is mostly the moved blobs' earlier
    versions (docs/benchmarks.md, "A reverse delta at rebase")."""
    index = repo.index
    moved = {blob_id for ids in moves.values() for blob_id in ids}
    chains: dict[tuple[bytes, int], set[bytes]] = {}
    for key, ids in moves.items():
        start = index.get(next(iter(ids)))
        if start is None:
            continue
        pending = [ref.id for ref in start.frame.entry.dictionary]
        seen: set[tuple[bytes, int]] = set()
        while pending:
            named = pending.pop()
            location = index.get(named)
            if named in moved or location is None or not location.frame.entry.has_dictionary:
                continue
            found = frame_key(location.frame)
            if found in seen or found == key:
                continue
            seen.add(found)
            if found[0] in packs:
                chains.setdefault(found, set()).update(ids)
            pending.extend(ref.id for ref in location.frame.entry.dictionary)
    return chains


def chain_scratch(repo: Repository, locations: list[BlobLocation | None]) -> int:
    """The content of the dictionary frames reading these blobs decodes: their own frames
    and, transitively, those their dictionaries draw on. Frames without a dictionary are
    not counted: a restore of the snapshot reads them for its own blobs anyway (a rebase's
    new frames, a first export's), and counting them would rebase again at once."""
    seen: dict[tuple[bytes, int], int] = {}
    pending = [location.frame for location in locations if location is not None]
    while pending:
        ref = pending.pop()
        key = frame_key(ref)
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
    """Group the frames to merge, in the order compact rewrites the packs (the index's, a
    snapshot's frames in the order it wrote them, but a rebase's moving packs first), within
    MERGE_TARGET and squeezable above the fast level in ``memory``. A frame left alone is not
    merged.

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
