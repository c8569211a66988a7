"""Which earlier chunks share lines with a new chunk: keyed line features and their lookup.

LinkedIn moves a conversation to the top of messages.csv when it gets a new message, so a
new chunk holds rows that sat, a month earlier, in chunks far away from its position. Rows
that belong together start alike (a conversation's rows all begin with its id), so a chunk
is described by keyed hashes of the first bytes of its lines, and a table of the earlier
version's features tells which of its chunks held the same rows.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Iterable

# The first bytes of a line that name it: a CSV row's leading field (a conversation's id, a
# person's name, a date and time).
FEATURE_PREFIX = 32
# A feature found in more earlier chunks than this says too little to be worth following.
MAX_SHARED = 8
# At most this many earlier chunks are suggested for one new chunk.
MAX_CANDIDATES = 32
_INDEX_BITS = 32
_BUCKETS = 256


def line_features(key: bytes, chunk: bytes) -> set[int]:
    """Keyed 32-bit features of the lines that start inside ``chunk``, one per distinct
    line prefix (a run of rows of one conversation gives one)."""
    features = set()
    previous = None
    # The first piece ends a line that began in the chunk before (or is the file's header).
    for line in chunk.split(b"\n")[1:]:
        prefix = line[:FEATURE_PREFIX]
        if not prefix or prefix == previous:
            continue
        previous = prefix
        digest = hashlib.blake2b(prefix, digest_size=4, key=key).digest()
        features.add(int.from_bytes(digest, "little"))
    return features


class FeatureCollector:
    """Gathers each chunk's features, in chunk order, into a FeatureTable's encoding."""

    def __init__(self) -> None:
        # Bucketed by the feature's top byte so that sorting never needs one big list.
        self.buckets = [array("Q") for _ in range(_BUCKETS)]
        self.chunks = 0

    def add(self, features: Iterable[int]) -> None:
        """The next chunk's features."""
        index = self.chunks
        for feature in features:
            self.buckets[feature >> 24].append(feature << _INDEX_BITS | index)
        self.chunks += 1

    def encode(self) -> bytes:
        entries = array("Q")
        for bucket in self.buckets:
            entries.extend(sorted(bucket))
        return entries.tobytes()


class FeatureTable:
    """An earlier version's features: for a set of features, the chunks sharing most."""

    def __init__(self, entries: array, chunks: int) -> None:
        self.entries = entries  # sorted: feature << 32 | chunk index
        self.chunks = chunks

    @classmethod
    def decode(cls, encoded: bytes, chunks: int) -> FeatureTable | None:
        """The table of a version with ``chunks`` chunks; None if ``encoded`` is not one."""
        if len(encoded) % 8:
            return None
        entries = array("Q")
        entries.frombytes(encoded)
        if any(entries[i] > entries[i + 1] for i in range(0, len(entries) - 1, 4096)):
            return None  # not sorted: not a table this code wrote
        return cls(entries, chunks)

    def candidates(self, features: Iterable[int]) -> list[int]:
        """Indexes of earlier chunks sharing the most features, most first, then in order."""
        shared: dict[int, int] = {}
        mask = (1 << _INDEX_BITS) - 1
        for feature in features:
            start = bisect.bisect_left(self.entries, feature << _INDEX_BITS)
            end = bisect.bisect_left(self.entries, (feature + 1) << _INDEX_BITS, start)
            if end - start > MAX_SHARED:
                continue
            for at in range(start, end):
                index = self.entries[at] & mask
                if index < self.chunks:
                    shared[index] = shared.get(index, 0) + 1
        ranked = sorted(shared, key=lambda index: (-shared[index], index))
        return ranked[:MAX_CANDIDATES]
