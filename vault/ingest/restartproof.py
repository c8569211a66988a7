"""Proving a big deflated member's parameters and restart points, segment by segment.

For a member of at least twice restarts.SPACING of content, the snapshot does not re-deflate
the whole stream on one core to prove its parameters. It finds where the original stream's
blocks end (`_deflate.scan_blocks`, reading the compressed bytes only), picks some of those
ends as restart points (every restarts.SPACING bytes of content), and re-creates every
segment on its own, on ``workers`` threads, as a restore will (vault/format/restarts.py),
comparing each with the original bits in the zip. A candidate whose every segment matches is
proven, and the points with it; a point where a fresh compressor happens to choose
differently (zlib's lazy matching can carry a decision across a block end) is dropped, and
the segments on both sides of it proven again as one. When no candidate gets there (levels
1-3 leave strings out of their hash chains and never restart faithfully), the caller proves
the member in one piece.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

from lkvault.vault.bytepipe import BytePipe
from lkvault.vault.format import restarts
from lkvault.vault.format.tree import Restart
from lkvault.vault.ingest.deflate import DeflateParams, MemberReader
from lkvault.vault.ingest.zipscan import Member, ZipLimits

PIPE_LIMIT = 8 * 1024 * 1024  # content the storing pass may run ahead of a proof in flight
MAX_JOINED = 3  # failed segments in a row joined to the one before them; more: not proven
# Compressed bytes a proof in flight scans at a time. Its pieces are held while segments are
# re-created on other threads (a scan first held its 4 MiB pieces alone): small pieces keep
# that from raising a large snapshot's peak; the scan's cost does not depend on them.
FLIGHT_SCAN_PIECE = 1024 * 1024


def worth_segmenting(member: Member) -> bool:
    """True for members proven segment by segment (big enough, and the extension built)."""
    return restarts.AVAILABLE and member.uncompressed_size >= 2 * restarts.SPACING


def prove_in_segments(
    member: Member,
    candidates: list[DeflateParams],
    read_at: Callable[[int, int], bytes],
    read_compressed: Callable[[], Callable[[int], bytes]],
    limits: ZipLimits,
    workers: int,
) -> tuple[DeflateParams, tuple[Restart, ...]] | None:
    """The first candidate whose segments all re-create the member, with its restart points.

    ``read_at(offset, n)`` reads the member's compressed bytes at an offset (from any
    thread); ``read_compressed()`` starts a new sequential read of them (one per candidate
    tried). None when no candidate does, or the stream cannot be scanned.
    """
    ends = restarts.scan_blocks(read_at, member.compressed_size)
    if ends is None:
        return None
    chosen = tuple(restarts.choose(ends, member.uncompressed_size))
    for params in candidates:
        content = _blocks(MemberReader(member, read_compressed(), limits, []))
        points = _proven_points(member, params, chosen, read_at, content, workers)
        if points is not None:
            return params, points
    return None


def _proven_points(
    member: Member,
    params: DeflateParams,
    points: Iterable[Restart],
    read_at: Callable[[int, int], bytes],
    content: Iterable[bytes],
    workers: int,
) -> tuple[Restart, ...] | None:
    """``points`` less those a fresh compressor does not restart at faithfully, every
    segment between the rest proven; None when the candidate is wrong (its first segment
    fails, or more than max(2, 1/8 of the points) do) or a segment fails with its point gone.

    ``points`` may still be coming in (a scan in flight): a segment is re-created as soon as
    its end is known, and the share of points that may fail is checked once they all are.
    A point is dropped where the segment it starts does not match: that segment and the ones
    before it up to the last that matched are proven again as one, from the content their
    jobs already hold: a point that fails costs two segments' deflate, not a second inflate
    and a whole proof again (a big member's proof is most of a snapshot's time).
    """
    total_bits = 8 * member.compressed_size

    def matches(job: restarts.SegmentJob) -> tuple[restarts.SegmentJob, bool]:
        result = restarts.deflate_segment(
            job, params.level, params.mem_level, params.strategy, params.wbits
        )
        if result is None:
            return job, False
        bits, nbits = result
        if job.bit_stop is not None and nbits != job.bit_stop - job.bit_start:
            return job, False
        if job.bit_stop is None and (job.bit_start + nbits + 7) // 8 * 8 != total_bits:
            return job, False
        original = read_at(job.bit_start // 8, (job.bit_start % 8 + nbits + 7) // 8)
        return job, restarts.bits_equal(original, job.bit_start % 8, bits, nbits)

    seen: list[Restart] = []

    def recorded() -> Iterator[Restart]:
        for point in points:
            seen.append(point)
            yield point

    jobs = restarts.segment_jobs(content, member.uncompressed_size, recorded(), params.wbits)
    # Points are at least SPACING apart: no more failures than this may ever be allowed.
    most_ever = _most_failing(member.uncompressed_size // restarts.SPACING)
    dropped: set[int] = set()  # segment i starts at points[i - 1]
    matched: restarts.SegmentJob | None = None  # the last segment proven
    joined: restarts.SegmentJob | None = None  # from ``matched`` on, through failed segments
    run = 0  # failed segments in ``joined``
    for job, ok in restarts.ordered_parallel(matches, jobs, workers, ahead=workers):
        if not ok:
            # A longer run of failures is no point chosen badly but a stream that does not
            # restart (levels 1-3): joining it would hold and copy its content again.
            if matched is None or len(dropped) >= most_ever or run >= MAX_JOINED:
                return None
            dropped.add(job.index)
            joined = restarts.joined(joined or matched, job)
            run += 1
            continue
        if joined is not None:
            if not matches(joined)[1]:
                return None
            joined, run = None, 0
        matched = job
    if joined is not None and not matches(joined)[1]:
        return None
    if len(dropped) > _most_failing(len(seen)):
        return None
    return tuple(p for i, p in enumerate(seen, start=1) if i not in dropped)


def _most_failing(points: int) -> int:
    """How many of a member's ``points`` may fail before its candidate is taken as wrong."""
    return max(2, points // 8)


def _blocks(content: MemberReader) -> Iterator[bytes]:
    while block := content.read():
        yield block


class ProofInFlight:
    """The first candidate's segment proof, run while the storing pass inflates the member.

    Proving after storing inflated the member a second time and left the cores idle while
    its content was read, scanned and stored. Instead the content is fed here as it is
    inflated (``feed``, then ``end`` or ``abandon``), and a thread of its own scans the
    original stream's blocks and re-deflates the segments on ``workers`` threads as soon as
    their content is in. ``result`` is what ``prove_in_segments`` gives when its first
    candidate is proven (points that fail dropped on the way), and None otherwise: the
    caller then proves the member as before (other candidates, or in one piece).
    """

    def __init__(
        self,
        member: Member,
        params: DeflateParams,
        read_at: Callable[[int, int], bytes],
        workers: int,
    ) -> None:
        self._member = member
        self._params = params
        self._read_at = read_at
        self._workers = workers
        self._pipe = BytePipe(PIPE_LIMIT)
        self._result: tuple[DeflateParams, tuple[Restart, ...]] | None = None
        self._thread = threading.Thread(
            target=self._prove, name=f"proof {member.name}", daemon=True
        )
        self._thread.start()

    def feed(self, block: bytes) -> None:
        self._pipe.write(block)

    def end(self) -> None:
        self._pipe.end()

    def abandon(self) -> None:
        self._pipe.abandon()

    def result(self) -> tuple[DeflateParams, tuple[Restart, ...]] | None:
        """After ``end``: the parameters and restart points proven, or None."""
        self._thread.join()
        return self._result

    def _prove(self) -> None:
        with self._pipe.reader() as content:
            try:
                # The points as the scan finds them: the first segment is re-created while
                # the scan reads on (scanning a large member first took its 1.5 s while the
                # storing pass waited on the pipe).
                ends = restarts.block_ends(
                    self._read_at, self._member.compressed_size, FLIGHT_SCAN_PIECE
                )
                points = restarts.chosen(ends, self._member.uncompressed_size)
                blocks = iter(lambda: content.read(PIPE_LIMIT // 8), b"")
                proven = _proven_points(
                    self._member, self._params, points, self._read_at, blocks, self._workers
                )
                if proven is not None:
                    self._result = (self._params, proven)
            except Exception:  # noqa: BLE001 - abandoned, short, or not one deflate stream:
                self._result = None  # the caller proves it again
