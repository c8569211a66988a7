"""Frames' decoded content through the frame cache, a dictionary frame's chain decoded first.

A frame compressed against a dictionary is decoded only after the frames its dictionary
blobs sit in, and theirs in turn (docs/FORMAT.md, "Frames and packs").
"""

from __future__ import annotations

from lkvault.vault.format.crypto import BlobType
from lkvault.vault.repository.dictionaries import Locate
from lkvault.vault.repository.framecache import FrameCache, frame_key
from lkvault.vault.repository.frameopener import FrameOpener
from lkvault.vault.repository.index import BlobLocation, FrameRef
from lkvault.vault.repository.pack import FrameEntry

_Wanted = dict[tuple[bytes, int], list[tuple[BlobLocation, BlobType, bytes]]]


class FrameDecoder:
    """Decodes frames, each chain's frames once, keeping recent ones in a cache shared by
    threads."""

    def __init__(self, opener: FrameOpener, locate: Locate) -> None:
        self.opener = opener
        self.locate = locate  # where a frame's dictionary blobs lie (dictionaries.py)
        self.cache = FrameCache()

    def read_frame(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content, from a small cache shared by threads."""
        content = self.cache.get(ref)
        if content is not None:
            return content
        content = self._decode_chain(ref) if ref.entry.has_dictionary else self.opener.open(ref)
        self.cache.put(ref, content)
        return content

    def _decode_chain(self, target: FrameRef) -> bytes:
        """Decode a dictionary frame and, first, every uncached frame its dictionary needs,
        transitively, shallowest first.

        Only the blobs that dictionaries still to be built need are kept, each until its
        last use, so each frame of the chain is decoded once however small the cache.
        (Reading the blobs one by one through the cache decoded the same frames over and
        over once a chain outgrew it.)
        """
        plan, expanded, wanted, uses = self._chain_plan(target)
        kept: dict[bytes, bytes] = {}
        verified_blob = self.opener.verified_blob

        def keep_blobs(ref: FrameRef, content: bytes) -> None:
            for location, blob_type, blob_id in wanted.pop(frame_key(ref), []):
                if blob_id not in kept:
                    kept[blob_id] = verified_blob(content, location, blob_type, blob_id)

        def dictionary(entry: FrameEntry) -> bytes:
            refs = entry.dictionary
            content = b"".join(kept[ref.id] for ref in refs)
            for ref in refs:
                uses[ref.id] -= 1
                if not uses[ref.id]:
                    del kept[ref.id]
            return content

        # Take what is needed from the frames cached now, before decoding the others can
        # evict them (re-reading an evicted dictionary frame would decode its chain again).
        for ref in plan:
            if frame_key(ref) not in expanded:
                content = self.cache.get(ref)
                if content is not None:
                    keep_blobs(ref, content)
        for ref in plan:
            if frame_key(ref) not in wanted:
                continue
            content = self.cache.get(ref)
            if content is None and ref.entry.has_dictionary and frame_key(ref) not in expanded:
                content = self.read_frame(ref)  # cached when planned, evicted since: rare
            elif content is None:
                used = dictionary(ref.entry) if ref.entry.has_dictionary else None
                content = self.opener.open(ref, used)
                self.cache.put(ref, content)
            keep_blobs(ref, content)
            del content
        return self.opener.open(target, dictionary(target.entry))

    def _chain_plan(
        self, target: FrameRef
    ) -> tuple[list[FrameRef], set[tuple[bytes, int]], _Wanted, dict[bytes, int]]:
        """What decoding ``target`` takes: the frames donating dictionary blobs, shallowest
        first, those whose own dictionaries are in the plan (not the cached ones), the blobs
        wanted from each, and how many dictionaries use each blob."""
        donors: dict[tuple[bytes, int], FrameRef] = {}
        expanded: set[tuple[bytes, int]] = set()
        wanted: _Wanted = {}
        uses: dict[bytes, int] = {}
        pending = [target.entry]
        while pending:
            entry = pending.pop()
            for ref, location in zip(entry.dictionary, self.locate(entry), strict=True):
                key = frame_key(location.frame)
                if ref.id not in uses:
                    wanted.setdefault(key, []).append((location, ref.type, ref.id))
                uses[ref.id] = uses.get(ref.id, 0) + 1
                if key in donors:
                    continue
                donors[key] = location.frame
                if not self.cache.holds(location.frame) and location.frame.entry.has_dictionary:
                    expanded.add(key)
                    pending.append(location.frame.entry)
        plan = sorted(donors.values(), key=lambda frame: frame.entry.depth)
        return plan, expanded, wanted, uses
