"""The proof step of a snapshot, alone: finding and proving every member's deflate parameters
and restart points, as `lkvault snapshot` does, without storing anything.

``python bench/proofstep.py EXPORT.zip --workers N [--previous EARLIER.zip]`` runs, in this one
process, what vault/ingest/zipingest.py does to prove an export's deflated members, through
the same ingest functions: members on N threads, largest first; each one's head probed for
candidate parameters (vault/ingest/deflate.py); a big member inflated once while its segments
are re-deflated on N threads and compared with the original bits (vault/ingest/restartproof.py,
``ProofInFlight``, falling back to ``prove_in_segments`` and then to one piece exactly as the
snapshot does); a small one inflated through the candidates. What the snapshot does besides
(chunking, hashing, compressing, encrypting, writing packs, the key derivation) is left out.

With ``--previous`` (the export before it, as in a monthly snapshot), members whose compressed
bytes and metadata are those of a member of the previous export are skipped, as a snapshot
reuses them unread. It prints one JSON line: members proven and skipped, their content bytes,
segments, and the wall and CPU seconds of the proof itself (process start and imports left
out; the caller measuring the process sees those too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from lkvault.vault.format.tree import Restart
from lkvault.vault.ingest.deflate import PROBE_HEAD, DeflateParams, MemberReader, probe
from lkvault.vault.ingest.restartproof import (
    ProofInFlight,
    prove_in_segments,
    worth_segmenting,
)
from lkvault.vault.ingest.zipingest import IO_BLOCK, FileReader
from lkvault.vault.ingest.zipscan import METHOD_DEFLATED, Member, ZipLayout, ZipLimits, scan_zip


def deflated_members(reader: FileReader) -> list[Member]:
    layout = scan_zip(reader.read_at, reader.size, ZipLimits())
    if not isinstance(layout, ZipLayout):
        raise SystemExit("not a zip lkvault can read")
    return [m for m in layout.items if isinstance(m, Member) and m.method == METHOD_DEFLATED]


def fingerprint(reader: FileReader, member: Member) -> tuple[object, ...]:
    """What makes a snapshot reuse a member: its compressed bytes and the metadata with them."""
    digest = hashlib.sha256()
    read = reader.sequential(member.data_offset, member.compressed_size)
    while block := read(IO_BLOCK):
        digest.update(block)
    return (
        member.name,
        member.crc32,
        member.uncompressed_size,
        member.compressed_size,
        member.flags,
        digest.digest(),
    )


def prove_member(
    reader: FileReader, member: Member, workers: int
) -> tuple[DeflateParams | None, tuple[Restart, ...]]:
    """What ZipIngester._store_content does to prove a member, storing nothing."""
    limits = ZipLimits()
    head = reader.read_at(member.data_offset, min(PROBE_HEAD, member.compressed_size))
    candidates = probe(member, head)
    if not candidates:
        return None, ()
    read_at: Callable[[int, int], bytes] = lambda offset, n: reader.read_at(  # noqa: E731
        member.data_offset + offset, n
    )
    sequential = lambda: reader.sequential(member.data_offset, member.compressed_size)  # noqa: E731
    in_segments = worth_segmenting(member)
    content = MemberReader(member, sequential(), limits, [] if in_segments else candidates)
    if not in_segments:
        while content.read(IO_BLOCK):
            pass
        return content.result(), ()
    flight = ProofInFlight(member, candidates[0], read_at, workers)
    try:
        while block := content.read(IO_BLOCK):
            flight.feed(block)
        flight.end()
    finally:
        flight.abandon()
    live = flight.result()
    if live is not None:
        return live
    proven = prove_in_segments(member, candidates, read_at, sequential, limits, workers)
    if proven is not None:
        return proven
    again = MemberReader(member, sequential(), limits, candidates)
    while again.read(IO_BLOCK):
        pass
    return again.result(), ()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/proofstep.py", description=__doc__)
    ap.add_argument("export", help="the export zip whose members are proven")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--previous", help="the export before it: members equal to its are skipped")
    args = ap.parse_args(argv)
    with open(args.export, "rb") as handle:
        reader = FileReader(handle.fileno(), os.fstat(handle.fileno()).st_size)
        members = deflated_members(reader)
        skip: set[tuple[object, ...]] = set()
        if args.previous:
            with open(args.previous, "rb") as earlier:
                before = FileReader(earlier.fileno(), os.fstat(earlier.fileno()).st_size)
                skip = {fingerprint(before, m) for m in deflated_members(before)}
        todo = [m for m in members if fingerprint(reader, m) not in skip]
        todo.sort(key=lambda m: m.compressed_size, reverse=True)
        wall, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
            results = list(pool.map(lambda m: prove_member(reader, m, args.workers), todo))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    unproven = [m.name for m, (params, _) in zip(todo, results, strict=True) if params is None]
    print(
        json.dumps(
            {
                "workers": args.workers,
                "members": len(members),
                "proven_members": len(todo),
                "content_bytes": sum(m.uncompressed_size for m in todo),
                "skipped_content_bytes": sum(m.uncompressed_size for m in members)
                - sum(m.uncompressed_size for m in todo),
                "segments": sum(len(points) + 1 for _, points in results if points),
                "unproven": unproven,
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
