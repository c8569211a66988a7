"""Reading blobs: decoding frames and their dictionary chains, each frame once where it can.

A frame compressed against a dictionary is decoded only after the frames its dictionary
blobs sit in, and theirs in turn (docs/FORMAT.md, "Frames and packs"). Reads go through a
small frame cache; operations that read many frames stage them first (``staged``).
"""

from __future__ import annotations

import hmac
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from itertools import groupby

from lkvault.vault.backend import Backend
from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.format.crypto import BlobType, Keys
from lkvault.vault.repository.framecache import FrameCache, frame_key
from lkvault.vault.repository.index import BlobLocation, FrameRef, pack_name
from lkvault.vault.repository.indexstore import IndexStore
from lkvault.vault.repository.pack import MAX_DICT_BYTES, FrameEntry, open_frame
from lkvault.vault.repository.stored import read_stored
from lkvault.vault.spill import Spill

# Reading a blob decodes its frame and, first, every frame its dictionary draws on, and
# theirs in turn. Writers keep that set to this many frames for every frame they write, so
# a read costs at most this many frame decodes however long the chains grow. On 300 MB
# exports the set grows by 6 to 10 frames a month (a median of 95 frames in month 15); at
# 96, month 16 on lost most of its dictionaries and cost 28 MB a month instead of 10 (month
# 18: 28.6 MB at 96, 10.1 MB at 512). Restores, verify, cat and snapshots decode the frames
# they need once each (BlobReader.staged), so the bound only limits a lone read, and at
# 512 frames of 4 MiB it stays a few seconds; MAX_DICT_DEPTH binds first (month 48).
MAX_DECODE_FRAMES = 512
STAGE_AHEAD = 4  # frames decoded ahead for the stage (about 4 MiB each), on a caller's pool


class BlobReader:
    """Reads blobs through the index, verified against their ids; safe to share by threads."""

    def __init__(self, backend: Backend, keys: Keys, indexes: IndexStore) -> None:
        self.backend = backend
        self.keys = keys
        self.indexes = indexes
        self.cache = FrameCache()
        # Decode sets as bit masks over frames numbered as met: a frame's set may name up to
        # MAX_DECODE_FRAMES frames, ~40 bytes each in a Python set, for every frame written.
        self._decode_sets: dict[tuple[bytes, int], int | None] = {}
        self._frame_bits: dict[tuple[bytes, int], int] = {}
        self._staged: dict[tuple[bytes, int], int] = {}  # frame -> offset in self._stage
        self._stage: Spill | None = None

    def forget_decode_sets(self) -> None:
        """Work decode sets out again (the index they were worked out from changed)."""
        self._decode_sets.clear()
        self._frame_bits.clear()

    def forget_frames(self) -> None:
        """Forget every decoded frame and decode set (the index now names other frames)."""
        self.cache.clear()
        self.forget_decode_sets()

    def frames_holding(self, blob_ids: Iterable[bytes]) -> Iterator[FrameRef]:
        """The frames that reading ``blob_ids`` reads (repeats included)."""
        for blob_id in blob_ids:
            location = self.indexes.index.get(blob_id)
            if location is not None:
                yield location.frame

    @contextmanager
    def staged(self, frames: Iterable[FrameRef], pool: Executor | None = None) -> Iterator[None]:
        """Within this context, reading from ``frames`` decodes no dictionary chain again.

        Every dictionary frame among them, and every frame their dictionaries draw on,
        transitively, is decoded once, shallowest first, into scratch space (vault.spill),
        and read back from there. Reading blob by blob through the frame cache instead decodes
        a frame's whole chain each time the cache has lost it: a restore at the end of 36
        monthly chains decoded the same frames thousands of times. A frame that cannot be
        decoded is left out, so reading it raises its error as usual. Inside a staged
        context another one stages nothing (the outer stage serves both), and neither does
        one whose frames all fit the frame cache. Given a ``pool``, the frames of one depth
        (whose dictionaries lie in shallower ones) are decoded on its threads at once.
        """
        if self._stage is not None:
            yield
            return
        needed: dict[tuple[bytes, int], FrameRef] = {}
        pending = [frame for frame in frames if frame.entry.has_dictionary]
        while pending:
            ref = pending.pop()
            key = frame_key(ref)
            if key in needed:
                continue
            needed[key] = ref
            try:
                pending.extend(location.frame for location in self._dictionary_locations(ref.entry))
            except IntegrityError:
                continue
        if sum(ref.entry.raw_size for ref in needed.values()) <= self.cache.capacity:
            yield  # the frame cache holds them all: each is decoded once anyway
            return
        with Spill() as stage:
            self._stage, self._staged = stage, {}
            try:
                ordered = sorted(needed.values(), key=lambda frame: frame.entry.depth)
                for _, level in groupby(ordered, key=lambda frame: frame.entry.depth):
                    for ref, content in self._decoded_for_stage(level, pool):
                        if content is not None:
                            self._staged[frame_key(ref)] = stage.size
                            stage.write(content)
                yield
            finally:
                self._stage, self._staged = None, {}

    def _decoded_for_stage(
        self, level: Iterable[FrameRef], pool: Executor | None
    ) -> Iterator[tuple[FrameRef, bytes | None]]:
        """The frames of one depth decoded, in order; on ``pool``'s threads when given (their
        dictionaries lie in shallower frames, staged already), STAGE_AHEAD at a time."""
        if pool is None:
            for ref in level:
                yield ref, self._decode_for_stage(ref)
            return
        pending: deque[tuple[FrameRef, Future[bytes | None]]] = deque()
        try:
            for ref in level:
                pending.append((ref, pool.submit(self._decode_for_stage, ref)))
                if len(pending) > STAGE_AHEAD:
                    ref, decoding = pending.popleft()
                    yield ref, decoding.result()
            while pending:
                ref, decoding = pending.popleft()
                yield ref, decoding.result()
        finally:
            for _, decoding in pending:
                decoding.cancel()

    def _decode_for_stage(self, ref: FrameRef) -> bytes | None:
        """One frame's content, its dictionary taken from frames staged before; None when it
        cannot be decoded (reading it later raises the error, where it is needed)."""
        dictionary = None
        try:
            if ref.entry.has_dictionary:
                pieces = []
                locations = self._dictionary_locations(ref.entry)
                for blob, location in zip(ref.entry.dictionary, locations, strict=True):
                    piece = self._staged_blob(location)
                    if piece is None:  # its frame could not be staged: say why, as usual
                        piece = self.blob_at(location, blob.type, blob.id)
                    pieces.append(piece)
                dictionary = b"".join(pieces)
            return open_frame(self.keys, ref.entry, self._sealed_frame(ref), dictionary)
        except (IntegrityError, StorageError, FileNotFoundError):
            return None

    def _staged_blob(self, location: BlobLocation) -> bytes | None:
        if self._stage is None:
            return None
        start = self._staged.get(frame_key(location.frame))
        if start is None:
            return None
        return self._stage.read_at(start + location.offset, location.length)

    def frame_content(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content: from the stage when it is staged (inside
        ``staged``), else as ``read_frame`` gives it."""
        if self._stage is not None:
            start = self._staged.get(frame_key(ref))
            if start is not None:
                return self._stage.read_at(start, ref.entry.raw_size)
        return self.read_frame(ref)

    def read_frame(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content, from a small cache shared by threads."""
        content = self.cache.get(ref)
        if content is not None:
            return content
        if ref.entry.has_dictionary:
            content = self._decode_chain(ref)
        else:
            content = open_frame(self.keys, ref.entry, self._sealed_frame(ref))
        self.cache.put(ref, content)
        return content

    def sealed_frame(self, ref: FrameRef) -> bytes:
        """A frame's stored bytes, as sealed (to move it to another pack unchanged)."""
        return self._sealed_frame(ref)

    def _sealed_frame(self, ref: FrameRef) -> bytes:
        return read_stored(
            self.backend,
            pack_name(ref.pack_id),
            f"pack {ref.pack_id.hex()[:16]}",
            ref.entry.offset,
            ref.entry.length,
        )

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

        def keep_blobs(ref: FrameRef, content: bytes) -> None:
            for location, blob_type, blob_id in wanted.pop(frame_key(ref), []):
                if blob_id not in kept:
                    kept[blob_id] = self._verified_blob(content, location, blob_type, blob_id)

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
                sealed = self._sealed_frame(ref)
                used = dictionary(ref.entry) if ref.entry.has_dictionary else None
                content = open_frame(self.keys, ref.entry, sealed, used)
                self.cache.put(ref, content)
            keep_blobs(ref, content)
            del content
        return open_frame(
            self.keys, target.entry, self._sealed_frame(target), dictionary(target.entry)
        )

    def _chain_plan(
        self, target: FrameRef
    ) -> tuple[
        list[FrameRef],
        set[tuple[bytes, int]],
        dict[tuple[bytes, int], list[tuple[BlobLocation, BlobType, bytes]]],
        dict[bytes, int],
    ]:
        """What decoding ``target`` takes: the frames donating dictionary blobs, shallowest
        first, those whose own dictionaries are in the plan (not the cached ones), the blobs
        wanted from each, and how many dictionaries use each blob."""
        donors: dict[tuple[bytes, int], FrameRef] = {}
        expanded: set[tuple[bytes, int]] = set()
        wanted: dict[tuple[bytes, int], list[tuple[BlobLocation, BlobType, bytes]]] = {}
        uses: dict[bytes, int] = {}
        pending = [target.entry]
        while pending:
            entry = pending.pop()
            for ref, location in zip(
                entry.dictionary, self._dictionary_locations(entry), strict=True
            ):
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

    def decode_set(self, ref: FrameRef) -> int | None:
        """The frames reading ``ref`` decodes (itself, and transitively those its dictionary
        draws on), as a bit mask with a bit per frame (``int.bit_count`` is their number);
        None if more than MAX_DECODE_FRAMES or unreadable."""
        key = frame_key(ref)
        if key not in self._decode_sets:
            self._decode_sets[key] = self._find_decode_set(ref)
        return self._decode_sets[key]

    def _find_decode_set(self, ref: FrameRef) -> int | None:
        try:
            locations = self._dictionary_locations(ref.entry) if ref.entry.has_dictionary else []
        except IntegrityError:
            return None
        key = frame_key(ref)
        frames = 1 << self._frame_bits.setdefault(key, len(self._frame_bits))
        for location in locations:
            below = self.decode_set(location.frame)
            if below is None:
                return None
            frames |= below
        if frames.bit_count() > MAX_DECODE_FRAMES:
            return None
        return frames

    def _dictionary_locations(self, entry: FrameEntry) -> list[BlobLocation]:
        """Where a frame's dictionary blobs are; each must sit in a shallower frame (so chains
        end and cannot loop), and all of them within the size limit."""
        what = f"frame {entry.id.hex()[:16]}"
        locations = []
        total = 0
        for ref in entry.dictionary:
            location = self.indexes.index.get(ref.id)
            if location is None:
                raise IntegrityError(
                    f"{what} needs blob {ref.id.hex()[:16]}, which is missing from the vault"
                )
            if location.frame.entry.depth >= entry.depth:
                raise IntegrityError(f"{what} names a dictionary that is not shallower than it")
            total += location.length
            if total > MAX_DICT_BYTES:
                raise IntegrityError(f"{what} names a dictionary over the size limit")
            locations.append(location)
        return locations

    def dictionary_of(self, entry: FrameEntry) -> bytes | None:
        """The dictionary a frame was compressed against: its dictionary blobs, concatenated;
        None for a frame without one."""
        if not entry.has_dictionary:
            return None
        refs = entry.dictionary
        locations = self._dictionary_locations(entry)
        return b"".join(
            self.blob_at(location, ref.type, ref.id)
            for ref, location in zip(refs, locations, strict=True)
        )

    def read_blob(self, blob_type: BlobType, blob_id: bytes) -> bytes:
        """A blob's plaintext, verified against its keyed id."""
        location = self.indexes.index.get(blob_id)
        if location is None:
            hint = (
                " (an index file is damaged; run 'lkvault verify')" if self.indexes.problems else ""
            )
            raise IntegrityError(f"blob {blob_id.hex()[:16]} is missing from the vault{hint}")
        return self.blob_at(location, blob_type, blob_id)

    def blob_at(self, location: BlobLocation, blob_type: BlobType, blob_id: bytes) -> bytes:
        if location.type != blob_type:
            raise IntegrityError(
                f"blob {blob_id.hex()[:16]} is a {location.type.name.lower()} blob, "
                f"expected {blob_type.name.lower()}"
            )
        staged = self._staged_blob(location)
        if staged is not None:
            return self._verified_blob(staged, location, blob_type, blob_id, whole=True)
        return self._verified_blob(self.read_frame(location.frame), location, blob_type, blob_id)

    def _verified_blob(
        self,
        content: bytes,
        location: BlobLocation,
        blob_type: BlobType,
        blob_id: bytes,
        *,
        whole: bool = False,
    ) -> bytes:
        """The blob at ``location`` in a frame's ``content`` (or ``content`` itself when
        ``whole``), checked against its id."""
        data = content if whole else content[location.offset : location.offset + location.length]
        if not hmac.compare_digest(self.keys.blob_id(blob_type, data), blob_id):
            raise IntegrityError(f"blob {blob_id.hex()[:16]} does not match its id")
        return data
