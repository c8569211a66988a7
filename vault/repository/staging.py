"""Staging: the dictionary chains an operation will read, decoded once each into scratch space.

Reading blob by blob through the frame cache decodes a frame's whole chain each time the
cache has lost it: a restore at the end of 36 monthly chains decoded the same frames
thousands of times. Staged, each frame is decoded once, shallowest first (vault.spill).
Frames without a dictionary are staged too when reading in order would come back to one
after the cache lost it (16 MiB frames that compact merged or a rebase wrote, read in turns).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from itertools import groupby

from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.repository.dictionaries import Locate
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.frameopener import FrameOpener
from lkvault.vault.repository.index import BlobLocation, FrameRef
from lkvault.vault.spill import Spill

STAGE_AHEAD = 4  # frames decoded ahead for the stage (about 4 MiB each), on a caller's pool
# ... and at most this many bytes of them, past the first: four merged 16 MiB frames held
# decoded at once were the largest part of a large restore's peak memory.
STAGE_AHEAD_BYTES = 32 << 20

ReadBlobAt = Callable[[BlobLocation, BlobType, bytes], bytes]


def revisited_frames(frames: list[FrameRef], capacity: int) -> list[FrameRef]:
    """The frames without a dictionary that reading ``frames`` in this order (repeats
    included) decodes more than once through a frame cache of ``capacity`` bytes, which
    evicts the least recently used (framecache.FrameCache)."""
    cached: OrderedDict[tuple[bytes, int], int] = OrderedDict()
    held = 0
    decoded: set[tuple[bytes, int]] = set()
    revisited: dict[tuple[bytes, int], FrameRef] = {}
    for ref in frames:
        if ref.entry.has_dictionary:
            continue
        key = frame_key(ref)
        if key in cached:
            cached.move_to_end(key)
            continue
        if key in decoded:
            revisited[key] = ref
        decoded.add(key)
        cached[key] = ref.entry.raw_size
        held += ref.entry.raw_size
        while held > capacity and len(cached) > 1:
            held -= cached.popitem(last=False)[1]
    return list(revisited.values())


class FrameStage:
    """The frames staged for the operation running now, if any; safe to read from threads."""

    def __init__(
        self,
        opener: FrameOpener,
        locate: Locate,
        read_blob_at: ReadBlobAt,
        capacity: Callable[[], int],
    ) -> None:
        self.opener = opener
        self.locate = locate  # where a frame's dictionary blobs lie (dictionaries.py)
        self.read_blob_at = read_blob_at  # a blob read as usual, when its frame is not staged
        self.capacity = capacity  # bytes of frames the frame cache holds: no stage below it
        self._offsets: dict[tuple[bytes, int], int] = {}  # frame -> offset in self._spill
        self._spill: Spill | None = None

    @contextmanager
    def staged(
        self, frames: Iterable[FrameRef], pool: Executor | None = None, *, in_order: bool = False
    ) -> Iterator[None]:
        """Within this context, reading from ``frames`` decodes no dictionary chain again,
        and, when they are given ``in_order`` (as they will be read, repeats included), no
        frame twice.

        Every dictionary frame among them, and every frame their dictionaries draw on,
        transitively, is decoded once, shallowest first, into scratch space, and read back
        from there; so is, ``in_order``, every frame without a dictionary that the frame
        cache would lose before the reads come back to it (``revisited_frames``). A frame
        that cannot be decoded is left out, so reading it raises its error as usual. Inside
        a staged context another one stages nothing (the outer stage serves both), and
        neither does one whose chains all fit the frame cache and whose reads come back to
        no frame the cache lost. Given a ``pool``, the frames of one depth (whose
        dictionaries lie in shallower ones) are decoded on its threads at once.
        """
        if self._spill is not None:
            yield
            return
        frames = list(frames)
        needed: dict[tuple[bytes, int], FrameRef] = {}
        pending = [frame for frame in frames if frame.entry.has_dictionary]
        while pending:
            ref = pending.pop()
            key = frame_key(ref)
            if key in needed:
                continue
            needed[key] = ref
            try:
                pending.extend(location.frame for location in self.locate(ref.entry))
            except IntegrityError:
                continue
        revisited = revisited_frames(frames, self.capacity()) if in_order else []
        if not revisited and sum(ref.entry.raw_size for ref in needed.values()) <= self.capacity():
            yield  # the frame cache holds them all: each is decoded once anyway
            return
        needed.update((frame_key(ref), ref) for ref in revisited)
        with Spill() as spill:
            self._spill, self._offsets = spill, {}
            try:
                ordered = sorted(needed.values(), key=lambda frame: frame.entry.depth)
                for _, level in groupby(ordered, key=lambda frame: frame.entry.depth):
                    for ref, content in self._decoded(level, pool):
                        if content is not None:
                            self._offsets[frame_key(ref)] = spill.size
                            spill.write(content)
                yield
            finally:
                self._spill, self._offsets = None, {}

    def frame(self, ref: FrameRef) -> bytes | None:
        """A staged frame's content; None when it is not staged."""
        if self._spill is None:
            return None
        start = self._offsets.get(frame_key(ref))
        if start is None:
            return None
        return self._spill.read_at(start, ref.entry.raw_size)

    def blob(self, location: BlobLocation) -> bytes | None:
        """The bytes at ``location`` when its frame is staged (unverified); else None."""
        if self._spill is None:
            return None
        start = self._offsets.get(frame_key(location.frame))
        if start is None:
            return None
        return self._spill.read_at(start + location.offset, location.length)

    def _decoded(
        self, level: Iterable[FrameRef], pool: Executor | None
    ) -> Iterator[tuple[FrameRef, bytes | None]]:
        """The frames of one depth decoded, in order; on ``pool``'s threads when given (their
        dictionaries lie in shallower frames, staged already), up to STAGE_AHEAD and
        STAGE_AHEAD_BYTES at a time."""
        if pool is None:
            for ref in level:
                yield ref, self._decode(ref)
            return
        pending: deque[tuple[FrameRef, Future[bytes | None]]] = deque()
        ahead = 0  # decoded bytes the pending frames come to
        try:
            for ref in level:
                while pending and (
                    len(pending) >= STAGE_AHEAD or ahead + ref.entry.raw_size > STAGE_AHEAD_BYTES
                ):
                    done, decoding = pending.popleft()
                    ahead -= done.entry.raw_size
                    yield done, decoding.result()
                pending.append((ref, pool.submit(self._decode, ref)))
                ahead += ref.entry.raw_size
            while pending:
                ref, decoding = pending.popleft()
                yield ref, decoding.result()
        finally:
            for _, decoding in pending:
                decoding.cancel()

    def _decode(self, ref: FrameRef) -> bytes | None:
        """One frame's content, its dictionary taken from frames staged before; None when it
        cannot be decoded (reading it later raises the error, where it is needed)."""
        dictionary = None
        try:
            if ref.entry.has_dictionary:
                locations = self.locate(ref.entry)
                # Filled a blob at a time: the blobs kept apart and then joined held each
                # worker's 16 MiB dictionary twice at a restore's peak.
                dictionary = bytearray(sum(location.length for location in locations))
                filled = 0
                for blob, location in zip(ref.entry.dictionary, locations, strict=True):
                    piece = self.blob(location)
                    if piece is None:  # its frame could not be staged: say why, as usual
                        piece = self.read_blob_at(location, blob.type, blob.id)
                    dictionary[filled : filled + len(piece)] = piece
                    filled += len(piece)
            return self.opener.open(ref, dictionary)
        except (IntegrityError, StorageError, FileNotFoundError):
            return None
