"""Re-deflating an export's members: stock zlib in one process (the floor) against lkvault's
restart points at 1 and 2 workers, for the restore and for the proof at snapshot.

For one synthetic export (bench/exportgen.py) it measures, in this process, wall and CPU time:

- floor: stock zlib re-deflating every deflated member, one after the other (what a restore
  or a proof costs without restart points);
- restore: every member re-created as lkvault's restore does (vault/operations/restorer.py):
  members with restart points segment by segment on N worker threads, others in one piece;
- proof: what a snapshot does to find and prove the parameters and restart points, storing
  aside: small members through vault/ingest/deflate.py's MemberReader, big ones inflated, then
  proven segment by segment on N workers (vault/ingest/restartproof.py).

Inputs are in memory (no vault, no disk), so the figures are the deflate step alone. Each
figure is the best of --repeat runs taken in turns (the machine may be shared).

    python -m bench.restart_speed --scale 10 --workers 1,2
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

from lkvault.vault.format import restarts
from lkvault.vault.format.tree import Restart
from lkvault.vault.ingest.deflate import DeflateParams, MemberReader, probe
from lkvault.vault.ingest.restartproof import prove_in_segments, worth_segmenting
from lkvault.vault.ingest.zipscan import Member, ZipLayout, ZipLimits, scan_zip

from bench.exportgen import generate_export
from bench.turns import best_in_turns

BLOCK = 1 << 20


def members_of(data: bytes) -> list[Member]:
    layout = scan_zip(lambda off, n: data[off : off + n], len(data))
    assert isinstance(layout, ZipLayout)
    return [m for m in layout.items if isinstance(m, Member) and m.method == 8]


def reader_of(data: bytes, member: Member) -> Callable[[int], bytes]:
    stream = io.BytesIO(data[member.data_offset : member.data_offset + member.compressed_size])
    return stream.read


def prove(data: bytes, member: Member, workers: int) -> tuple[DeflateParams, tuple[Restart, ...]]:
    """What a snapshot does to prove a member (vault/ingest/zipingest.py), storing aside."""
    head = data[member.data_offset : member.data_offset + min(65536, member.compressed_size)]
    candidates = probe(member, head)
    if worth_segmenting(member):
        content = MemberReader(member, reader_of(data, member), ZipLimits(), [])
        while content.read(BLOCK):
            pass
        base = member.data_offset
        proven = prove_in_segments(
            member,
            candidates,
            lambda off, n: data[base + off : base + off + n],
            lambda: reader_of(data, member),
            ZipLimits(),
            workers,
        )
        if proven is not None:
            return proven
    content = MemberReader(member, reader_of(data, member), ZipLimits(), candidates)
    while content.read(BLOCK):
        pass
    params = content.result()
    assert params is not None, member.name
    return params, ()


def blocks(content: bytes) -> Iterator[bytes]:
    return (content[i : i + BLOCK] for i in range(0, len(content), BLOCK))


def restore(
    member_content: bytes, params: DeflateParams, points: tuple[Restart, ...], workers: int
) -> bytes:
    if not points:
        comp = params.compressobj()
        return b"".join(comp.compress(b) for b in blocks(member_content)) + comp.flush()
    p = params

    def work(job: restarts.SegmentJob) -> tuple[bytes, int]:
        result = restarts.deflate_segment(job, p.level, p.mem_level, p.strategy, p.wbits)
        assert result is not None
        return result

    joiner = restarts.BitJoiner()
    jobs = restarts.segment_jobs(blocks(member_content), len(member_content), points, p.wbits)
    pieces = [joiner.add(*r) for r in restarts.ordered_parallel(work, jobs, workers, workers)]
    return b"".join(pieces) + joiner.finish()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.restart_speed", description=__doc__)
    ap.add_argument("--scale", type=float, default=10.0, help="exportgen scale (10: medium)")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    args = ap.parse_args(argv)
    if not restarts.AVAILABLE:
        print("lkvault's deflate extension is not built", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        path = generate_export(
            Path(folder) / "export.zip", date=date(2025, 6, 15), scale=args.scale
        )
        data = path.read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = members_of(data)
    contents = {m.name: archive.read(m.name) for m in members}
    total = sum(len(c) for c in contents.values())
    print(f"export: {len(data):,} B zip, {len(members)} deflated members, {total:,} B content")

    def floor() -> None:
        for m in members:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
            out = b"".join(comp.compress(b) for b in blocks(contents[m.name])) + comp.flush()
            assert len(out) == m.compressed_size

    counts = [int(x) for x in args.workers.split(",")]
    proven: dict[int, dict[str, tuple[DeflateParams, tuple[Restart, ...]]]] = {
        w: {} for w in counts
    }

    def proof(workers: int) -> None:
        for m in members:
            proven[workers][m.name] = prove(data, m, workers)

    def rebuild(workers: int) -> None:
        for m in members:
            params, points = proven[workers][m.name]
            out = restore(contents[m.name], params, points, workers)
            assert out == data[m.data_offset : m.data_offset + m.compressed_size], m.name

    # Every measurement taken --repeat times, in turns; the least disturbed run is kept.
    runs: dict[str, Callable[[], object]] = {"floor": floor}
    for w in counts:
        runs[f"proof {w}"] = lambda w=w: proof(w)
        runs[f"restore {w}"] = lambda w=w: rebuild(w)
    best = {name: (b.wall, b.cpu) for name, b in best_in_turns(runs, args.repeat).items()}
    floor_wall, floor_cpu = best["floor"]
    print(f"floor (stock zlib, sequential): wall {floor_wall:.2f} s, CPU {floor_cpu:.2f} s")
    for w in counts:
        segments = sum(len(points) + 1 for _, points in proven[w].values() if points)
        (r_wall, r_cpu), (p_wall, p_cpu) = best[f"restore {w}"], best[f"proof {w}"]
        print(
            f"{w} worker(s): restore wall {r_wall:.2f} s ({r_wall / floor_wall:.2f} x floor), "
            f"CPU {r_cpu:.2f} s; proof wall {p_wall:.2f} s ({p_wall / floor_wall:.2f} x floor), "
            f"CPU {p_cpu:.2f} s; {segments} segments",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
