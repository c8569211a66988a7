"""Proving a deflated member's restart points before a snapshot records them.

The prover (vault/ingest/deflate.py) re-creates the whole stream with one compressor and
learns where its blocks end; `restart_points` picks some of those ends (every
restarts.SPACING bytes of content) and checks that each segment, re-created on its own from
its restart point as a restore will (vault/format/restarts.py), gives the original bits
exactly, by comparing them with the member's compressed bytes in the zip. The segments are
checked on ``workers`` threads while the member is inflated a second time. A member whose
segments do not all match gets no restart points and restores in one piece, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lkvault.vault.format import restarts
from lkvault.vault.format.tree import Restart
from lkvault.vault.ingest.deflate import DeflateParams, MemberReader
from lkvault.vault.ingest.zipscan import Member, ZipLimits


def restart_points(
    member: Member,
    params: DeflateParams,
    block_ends: list[tuple[int, int]] | None,
    read_compressed: Callable[[int], bytes],
    read_at: Callable[[int, int], bytes],
    limits: ZipLimits,
    workers: int,
) -> tuple[Restart, ...]:
    """Proven restart points of a member, or () when it gets none.

    ``read_compressed(n)`` reads the member's compressed bytes from their start, in order;
    ``read_at(offset, n)`` reads them at an offset (from any thread).
    """
    size = member.uncompressed_size
    if not restarts.AVAILABLE or block_ends is None or size < 2 * restarts.SPACING:
        return ()
    chosen = restarts.choose(block_ends, size)
    if not chosen:
        return ()
    total_bits = 8 * member.compressed_size

    def matches(job: restarts.SegmentJob) -> bool:
        result = restarts.deflate_segment(
            job, params.level, params.mem_level, params.strategy, params.wbits
        )
        if result is None:
            return False
        bits, nbits = result
        if job.bit_stop is not None and nbits != job.bit_stop - job.bit_start:
            return False
        if job.bit_stop is None and (job.bit_start + nbits + 7) // 8 * 8 != total_bits:
            return False
        shift = job.bit_start % 8
        original = read_at(job.bit_start // 8, (shift + nbits + 7) // 8)
        return restarts.bits_equal(original, shift, bits, nbits)

    content = MemberReader(member, read_compressed, limits, [])
    jobs = restarts.segment_jobs(_blocks(content), size, chosen, params.wbits)
    outcomes = restarts.ordered_parallel(matches, jobs, workers, ahead=workers)
    if all(outcomes):
        return tuple(chosen)
    return ()


def _blocks(content: MemberReader) -> Iterator[bytes]:
    while block := content.read():
        yield block
