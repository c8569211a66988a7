"""What a rebase's new frames are compressed against: the moved blobs' ancestors at depth 0.

A rebase (vault.operations.compactor) moves the newest snapshot's blobs out of deep
dictionary frames into new frames. Stored whole, those frames cost the content changed since
the chains began (about half an information floor on the small series, four times in ten
years: docs/benchmarks.md). Compressed against the earlier versions of that content that sit
in frames without a dictionary (a first export's merged frames, what an earlier rebase could
not compress), they cost the difference, and still sit at depth 1: every frame that drew on
a moved blob drew on a frame at depth 1 or more, so it stays deeper than the blob's new
frame, and no depth grows.
"""

from __future__ import annotations

from collections.abc import Iterable

from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.index import Index
from lkvault.vault.repository.pack import MAX_DICT_BLOBS, BlobRef, FrameEntry

# A rebase's new frames draw on ancestors in frames at most this deep, so they sit at most one
# deeper (REBASED_DEPTH); blobs in frames that deep stay where they are.
ANCESTOR_DEPTH = 0
REBASED_DEPTH = ANCESTOR_DEPTH + 1


def ancestors(
    index: Index, sources: Iterable[FrameEntry], limit: int
) -> tuple[list[BlobRef], int, int]:
    """The blobs in frames at most ANCESTOR_DEPTH deep, and shallower than every source,
    that the ``sources`` frames' dictionaries draw on, directly or through the frames they
    sit in, nearest first (breadth first, each source's dictionary in its own order:
    likeliest first), within ``limit`` bytes and MAX_DICT_BLOBS; their size, and the depth a
    frame drawing on them gets."""
    chosen: list[BlobRef] = []
    total = 0
    deepest = 0
    seen_blobs: set[bytes] = set()
    seen_frames: set[tuple[bytes, int]] = set()
    sources = list(sources)
    # Shallower than every source: a frame drawing on a moved blob was deeper than the blob's
    # old frame, so it stays deeper than the blob's new one.
    shallow = min([ANCESTOR_DEPTH, *(source.depth - 1 for source in sources)])
    hop = [ref for source in sources for ref in source.dictionary]
    while hop:
        further: list[BlobRef] = []
        for ref in hop:
            if ref.id in seen_blobs:
                continue
            seen_blobs.add(ref.id)
            location = index.get(ref.id)
            if location is None:
                continue
            entry = location.frame.entry
            if entry.depth <= shallow:
                if total + location.length > limit or len(chosen) >= MAX_DICT_BLOBS:
                    continue  # a smaller one further on may still fit
                chosen.append(BlobRef(location.type, ref.id))
                total += location.length
                deepest = max(deepest, entry.depth)
            elif (key := frame_key(location.frame)) not in seen_frames:
                seen_frames.add(key)
                further.extend(entry.dictionary)
        hop = further
    return chosen, total, deepest + 1
