"""Restart points: a deflate stream cut at block boundaries into segments re-created apart.

A deflate part's restart points (docs/FORMAT.md, "Restart points") are block boundaries of
its stream, each a content offset ``c`` and a bit offset ``b``. The segment from one point
to the next, ``(c, b)`` to ``(c2, b2)``, is the stream's bits ``[b, b2)``: the output of a
fresh compressor with the part's parameters, its preset dictionary the ``wsize`` content
bytes before ``c``, fed the content from ``c`` on, up to the end of its block that ends at
content offset ``c2 - c``. The first segment starts at ``(0, 0)`` without a dictionary and
the last one runs to the end of the stream. The segments joined bit after bit are the
stream, so a big member is re-created on as many cores as it has segments.

Whether a point is faithful is a fact about one stream, not a rule of deflate: zlib's lazy
matching carries a pending match across a block boundary, and levels 1-3 leave strings out
of their hash chains, so a fresh compressor may choose differently. A writer keeps only
points it has checked (vault/ingest/restartproof.py); a reader still checks every segment's
length against the next point and the member's keyed hash at the end.

Pure: no I/O. The compression runs in lkvault's deflate extension, without the GIL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import TypeVar

from lkvault.vault.format.tree import Restart

_deflate: ModuleType | None
try:
    from lkvault.vault.format import _deflate as _built

    _deflate = _built
except ImportError:  # not built: restart points are neither written nor used
    _deflate = None

__all__ = [
    "AVAILABLE",
    "MARGIN",
    "SCAN_PIECE",
    "SPACING",
    "BitJoiner",
    "FIRST_SCAN_PIECE",
    "NotOneStream",
    "SegmentJob",
    "block_ends",
    "choose",
    "chosen",
    "deflate_segment",
    "joined",
    "ordered_parallel",
    "scan_blocks",
    "segment_jobs",
]

AVAILABLE: bool = _deflate is not None
"""True when segments can be re-created (lkvault's deflate extension is built)."""

MARGIN = 1024
"""Content fed to a segment's compressor past its end: zlib decides nothing about a position
until MIN_LOOKAHEAD (262) bytes after it are in, so any margin of 262 or more gives the same
bits up to the segment's end."""

SPACING = 2 << 20
"""Content between the restart points lkvault writes (a writer's choice, not the format's);
members under twice this size get none."""


def choose(
    block_ends: Iterable[tuple[int, int]], size: int, spacing: int | None = None
) -> list[Restart]:
    """Block ends (content offset, bit offset) at least ``spacing`` (SPACING) bytes apart."""
    return list(chosen(block_ends, size, spacing))


def chosen(
    block_ends: Iterable[tuple[int, int]], size: int, spacing: int | None = None
) -> Iterator[Restart]:
    """``choose``'s points, each as soon as the block end it is has come in."""
    spacing = SPACING if spacing is None else spacing
    last = 0
    for content, bit in block_ends:
        if content - last >= spacing and size - content >= spacing // 2:
            yield Restart(content, bit)
            last = content


@dataclass(frozen=True)
class SegmentJob:
    """What one segment's compressor needs: its dictionary, its content and where it stops."""

    index: int
    zdict: bytes
    data: bytes
    stop: int  # content offset in data of the segment's end; -1 for the last segment
    at_end: bool  # data runs to the end of the content
    bit_start: int
    bit_stop: int | None  # None for the last segment


def segment_jobs(
    blocks: Iterable[bytes], size: int, restarts: Iterable[Restart], wbits: int
) -> Iterator[SegmentJob]:
    """One job per segment, each as soon as the content it needs has come in.

    ``blocks`` is the member's content in order, in any block sizes; ``restarts`` the points
    in order, taken one past the segment whose job comes next (a scan may still be finding
    the later ones). Only what the segments still to come need is kept (their dictionaries
    and content, up to MARGIN past each). Raises ValueError if the content is shorter than
    ``size``.
    """
    wsize = 1 << -wbits
    points = iter(restarts)
    source = iter(blocks)
    buffer = bytearray()
    base = 0  # content offset of buffer[0]
    index = 0
    start = Restart(0, 0)
    following = next(points, None)
    while True:
        last = following is None
        end = size if following is None else following.content
        need = size if last else min(size, end + MARGIN)
        while base + len(buffer) < need:
            block = next(source, None)
            if block is None:
                raise ValueError(f"the content ends before its {size} bytes")
            buffer += block
        low = max(0, start.content - wsize)
        with memoryview(buffer) as view:  # one copy each, and the buffer free to change again
            zdict = bytes(view[low - base : start.content - base])
            data = bytes(view[start.content - base : need - base])
        yield SegmentJob(
            index,
            zdict,
            data,
            -1 if last else end - start.content,
            need == size,
            start.bit,
            None if following is None else following.bit,
        )
        if following is None:
            return
        keep = max(0, end - wsize)
        if keep > base:
            del buffer[: keep - base]
            base = keep
        start, following = following, next(points, None)
        index += 1


def joined(first: SegmentJob, second: SegmentJob) -> SegmentJob:
    """One job for two consecutive segments, ``first``'s start to ``second``'s end: the
    restart point between them dropped."""
    assert first.stop >= 0, "the last segment has none after it"
    return SegmentJob(
        first.index,
        first.zdict,
        first.data[: first.stop] + second.data,
        -1 if second.stop < 0 else first.stop + second.stop,
        second.at_end,
        first.bit_start,
        second.bit_stop,
    )


def deflate_segment(
    job: SegmentJob, level: int, mem_level: int, strategy: int, wbits: int
) -> tuple[bytes, int] | None:
    """The segment's bits (bytes, count), or None when its compressor ends no block there."""
    assert _deflate is not None, "restart points need lkvault's deflate extension"
    result: tuple[bytes, int] | None = _deflate.segment(
        level, wbits, mem_level, strategy, job.zdict, job.data, job.stop, job.at_end
    )
    return result


SCAN_PIECE = 4 << 20
"""Compressed bytes the block scanner reads at a time (more when one block is longer). Each
piece is held while it is scanned, beside everything a snapshot holds by then: 16 MiB made
the peak of a 300 MB export's snapshot (173 MB); the scan's cost does not depend on it."""


FIRST_SCAN_PIECE = 512 << 10
"""Compressed bytes of a stream's first scanned piece: its first restart point is found (and
its first segment may be re-created) before the scan reads on; pieces double from there up
to SCAN_PIECE."""


class NotOneStream(ValueError):
    """The bytes scanned are not one whole raw deflate stream."""


def scan_blocks(
    read_at: Callable[[int, int], bytes], size: int, piece: int = SCAN_PIECE
) -> list[tuple[int, int]] | None:
    """(content offset, bit offset) of every non-final block end of a whole raw deflate
    stream of ``size`` bytes, from its compressed bytes alone, read with ``read_at(offset,
    n)`` a piece at a time; None if it is not one (malformed, cut short, or referring to a
    preset dictionary)."""
    try:
        return list(block_ends(read_at, size, piece))
    except NotOneStream:
        return None


def block_ends(
    read_at: Callable[[int, int], bytes], size: int, piece: int = SCAN_PIECE
) -> Iterator[tuple[int, int]]:
    """``scan_blocks``'s block ends, each piece's as soon as it is scanned (the first piece
    FIRST_SCAN_PIECE at most); raises NotOneStream where ``scan_blocks`` gives None."""
    assert _deflate is not None
    bit = content = 0
    want_piece = min(piece, FIRST_SCAN_PIECE)
    while True:
        start = bit // 8
        want = min(want_piece, size - start)
        data = read_at(start, want)
        if len(data) != want:
            raise NotOneStream(f"the stream ends before its {size} bytes")
        found: tuple[list[tuple[int, int]], bool] | None = _deflate.scan_blocks(
            data, bit - 8 * start, content, start + want == size
        )
        del data  # the next piece is read before this one would be freed
        if found is None:
            raise NotOneStream("not a whole raw deflate stream")
        more, done = found
        ends = [(c, b + 8 * start) for c, b in more]
        yield from ends
        if done:
            return
        if ends:
            content, bit = ends[-1]
            want_piece = max(want_piece, min(piece, 2 * want_piece))
        else:  # one block longer than the piece
            want_piece *= 2


def bits_equal(original: bytes | memoryview, start_bit: int, bits: bytes, nbits: int) -> bool:
    """True when original's bits [start_bit, start_bit + nbits) are the first nbits of bits."""
    assert _deflate is not None
    return bool(_deflate.bits_equal(original, start_bit, bits, nbits))


class BitJoiner:
    """Joins bit strings (deflate order) into bytes."""

    def __init__(self) -> None:
        self._carry = 0
        self._carry_bits = 0
        self.bits = 0

    def add(self, data: bytes, nbits: int) -> bytes:
        """Appends the first nbits of data; returns the bytes completed."""
        assert _deflate is not None
        out: bytes
        out, self._carry, self._carry_bits = _deflate.append_bits(
            self._carry, self._carry_bits, data, nbits
        )
        self.bits += nbits
        return out

    def finish(self) -> bytes:
        """The last, partial byte (zero bits after the end), or b""."""
        return bytes([self._carry]) if self._carry_bits else b""


T = TypeVar("T")
R = TypeVar("R")


def ordered_parallel(
    work: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    ahead: int,
    pool: Executor | None = None,
) -> Iterator[R]:
    """``work`` over ``items`` on ``workers`` threads; results in order, ``ahead`` queued.

    Given a ``pool``, its threads do the work (a caller that already runs one shares it, so
    the thread count stays what the user asked for); otherwise one is started for the call.
    ``work`` must not wait for other work on the same pool. Abandoned, it returns at once;
    the items under way end on their own.
    """
    if workers <= 1:
        yield from map(work, items)
        return
    if pool is not None:
        yield from _in_order(pool, work, items, ahead)
        return
    own = ThreadPoolExecutor(max_workers=workers)
    try:
        yield from _in_order(own, work, items, ahead)
    finally:
        # Abandoned (an interrupt, an error): the items under way are not waited for.
        own.shutdown(wait=False, cancel_futures=True)


def _in_order(
    pool: Executor, work: Callable[[T], R], items: Iterable[T], ahead: int
) -> Iterator[R]:
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
