"""Tests of restart points: big members re-deflated in segments, on several cores, exactly.

vault/format/restarts.py cuts a deflate stream at block boundaries into segments that are
re-created apart and joined at bit level; vault/ingest/restartproof.py proves them at
snapshot time and the restorer uses them. The reference is stock zlib's output.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lkvault.vault import Environment, IntegrityError, Vault
from lkvault.vault.format import deflater, restarts
from lkvault.vault.format.tree import Deflated, Restart, Stream, Tree, decode_tree, encode_tree
from lkvault.vault.ingest import deflate, restartproof, zipingest, zipscan
from lkvault.vault.ingest.deflate import Recompressor
from lkvault.vault.operations import restorer
from test_deflater import export_csv, reference

from bench.exportgen import generate_export
from tests.helpers_cli import flip_byte

pytestmark = pytest.mark.skipif(not restarts.AVAILABLE, reason="lkvault's deflate is not built")

SPACING = 48 << 10  # small segments, so that small test data has many


def block_ends(data: bytes, level: int, mem: int, wbits: int = -15) -> list[tuple[int, int]]:
    comp = deflater.compressobj(level, wbits, mem, native=True, track_blocks=True)
    comp.compress(data)
    comp.flush()
    ends = deflater.block_ends(comp)
    assert ends is not None
    return ends


def rejoin(
    data: bytes, level: int, mem: int, points: list[Restart], workers: int, wbits: int = -15
) -> bytes | None:
    """The stream re-created from its restart points, or None if a segment does not fit."""

    def work(job: restarts.SegmentJob) -> tuple[restarts.SegmentJob, tuple[bytes, int] | None]:
        return job, restarts.deflate_segment(job, level, mem, 0, wbits)

    joiner = restarts.BitJoiner()
    pieces = []
    blocks = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
    jobs = restarts.segment_jobs(blocks, len(data), points, wbits)
    for job, result in restarts.ordered_parallel(work, jobs, workers, ahead=workers):
        if result is None:
            return None
        if job.bit_stop is not None and result[1] != job.bit_stop - job.bit_start:
            return None
        pieces.append(joiner.add(*result))
    return b"".join(pieces) + joiner.finish()


@pytest.mark.parametrize(
    ("level", "mem", "wbits"), [(4, 8, -15), (6, 8, -15), (6, 5, -12), (9, 9, -15)]
)
def test_segments_from_block_ends_rejoin_to_stock_zlibs_stream(
    level: int, mem: int, wbits: int
) -> None:
    data = export_csv() * 6
    points = restarts.choose(block_ends(data, level, mem, wbits), len(data), SPACING)
    assert len(points) >= 3
    expected = reference(data, level, wbits, mem)
    for workers in (1, 2, 3):
        assert rejoin(data, level, mem, points, workers, wbits) == expected


def test_two_segments_joined_are_the_segment_without_the_point_between_them() -> None:
    """A point dropped at snapshot time leaves one segment where there were two: the job
    joined from the two is the one the remaining points give, and re-creates its bits."""
    data = export_csv() * 6
    points = restarts.choose(block_ends(data, 6, 8), len(data), SPACING)
    assert len(points) >= 3

    def jobs(of: list[Restart]) -> list[restarts.SegmentJob]:
        blocks = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
        return list(restarts.segment_jobs(blocks, len(data), of, -15))

    every = jobs(points)
    for dropped in (1, len(points)):  # a point inside, and the last point (the last segment)
        fewer = jobs(points[: dropped - 1] + points[dropped:])
        assert restarts.joined(every[dropped - 1], every[dropped]) == fewer[dropped - 1]
    expected = reference(data, 6)
    assert rejoin(data, 6, 8, points[:1] + points[2:], 2) == expected


def scan(stream: bytes, piece: int = restarts.SCAN_PIECE) -> list[tuple[int, int]] | None:
    return restarts.scan_blocks(lambda at, n: stream[at : at + n], len(stream), piece)


@pytest.mark.parametrize(("level", "mem", "strategy"), [(1, 8, 0), (6, 8, 0), (9, 9, 1), (6, 2, 3)])
def test_the_block_scanner_finds_the_block_ends_the_compressor_wrote(
    level: int, mem: int, strategy: int
) -> None:
    data = export_csv() * 2 + bytes(range(256)) * 300
    comp = deflater.compressobj(level, -15, mem, strategy, native=True, track_blocks=True)
    stream = comp.compress(data) + comp.flush()
    written = deflater.block_ends(comp)
    assert written and scan(stream) == written
    assert scan(stream, piece=1000) == written  # read in pieces shorter than a block
    # zlib's own stream, with a sync flush's empty stored block in the middle
    other = zlib.compressobj(level, zlib.DEFLATED, -15, mem, strategy)
    half = len(data) // 2
    synced = other.compress(data[:half]) + other.flush(zlib.Z_SYNC_FLUSH)
    ends = scan(synced + other.compress(data[half:]) + other.flush(), piece=5000)
    assert ends is not None and (half, 8 * len(synced)) in ends


def test_block_ends_come_as_the_scan_reads_and_the_first_segment_before_the_second_end() -> None:
    """A proof in flight re-creates a member's first segment while the scan of its stream
    reads on: each piece's block ends come once it is read, and a segment's job once the
    point after it has come, no later."""
    data = export_csv() * 6
    comp = deflater.compressobj(6, -15, 8, native=True, track_blocks=True)
    stream = comp.compress(data) + comp.flush()
    written = deflater.block_ends(comp)
    read: list[int] = []

    def read_at(at: int, n: int) -> bytes:
        read.append(at + n)
        return stream[at : at + n]

    ends = restarts.block_ends(read_at, len(stream), piece=4096)
    assert next(ends) == written[0] and max(read) < len(stream)  # the stream not yet read
    assert [written[0], *ends] == written == scan(stream)
    points = restarts.choose(written, len(data), SPACING)
    assert len(points) >= 3
    taken: list[Restart] = []

    def arriving() -> Iterator[Restart]:
        for point in points:
            taken.append(point)
            yield point

    blocks = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
    jobs = restarts.segment_jobs(blocks, len(data), arriving(), -15)
    first = next(jobs)
    assert first.index == 0 and first.bit_stop == points[0].bit and taken == points[:1]
    assert [first, *jobs] == list(restarts.segment_jobs([data], len(data), points, -15))
    with pytest.raises(restarts.NotOneStream):
        list(restarts.block_ends(lambda at, n: stream[at : at + n], len(stream) + 5))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 2**16), st.integers(0, 7))
def test_the_block_scanner_refuses_damaged_streams_without_crashing(
    noise: bytes, where: int, bit: int
) -> None:
    stream = bytearray(reference(export_csv()[:20_000], 6))
    stream[where % len(stream)] ^= 1 << bit
    for candidate in (noise, bytes(stream), bytes(stream[: where % len(stream)])):
        ends = scan(candidate, piece=700)
        assert ends is None or all(c > 0 and 0 < b <= 8 * len(candidate) for c, b in ends)


# --- whole vaults ---------------------------------------------------------------------------


@pytest.fixture
def big_member_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Vault, Path]:
    """A vault holding one export whose messages.csv was stored with restart points."""
    monkeypatch.setattr(restarts, "SPACING", SPACING)
    export = generate_export(tmp_path / "export.zip", date=date(2025, 3, 15), scale=0.3)
    with zipfile.ZipFile(export) as archive:
        assert archive.getinfo("messages.csv").file_size > 4 * SPACING
    vault = _new_vault(tmp_path)
    vault.snapshot(export)
    return vault, export


def _new_vault(tmp_path: Path) -> Vault:
    """An empty vault whose snapshots and restores run on two workers."""
    return Vault.init(
        str(tmp_path / "vault"), b"pw", Environment(state_dir=tmp_path / "state", workers=2)
    )


def _restart_parts(vault: Vault) -> list[Deflated]:
    snap = vault.snapshots()[-1]
    tree = restorer.load_tree(vault.repo, snap.tree)
    return [p for p in tree.parts if isinstance(p, Deflated) and p.restarts]


def test_a_big_member_is_stored_with_proven_restarts_and_restores_at_any_worker_count(
    big_member_vault: tuple[Vault, Path], tmp_path: Path
) -> None:
    vault, export = big_member_vault
    parts = _restart_parts(vault)
    assert len(parts) == 1 and len(parts[0].restarts) >= 3
    for workers in (1, 2, 3):
        vault.env = dataclasses.replace(vault.env, workers=workers)
        out = tmp_path / f"restored-{workers}.zip"
        vault.restore("latest", out)
        assert out.read_bytes() == export.read_bytes()


def test_a_big_member_is_inflated_once_and_proven_while_it_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof of a big member's segments is fed by the pass that stores its content (one
    inflate of messages.csv, not two), and gives the restart points a proof after storing
    would (the same function chooses them from the same block ends)."""
    monkeypatch.setattr(restarts, "SPACING", SPACING)
    inflated: list[str] = []

    class CountedReader(deflate.MemberReader):
        def __init__(self, member: zipscan.Member, *args: Any, **kwargs: Any) -> None:
            inflated.append(member.name)
            super().__init__(member, *args, **kwargs)

    monkeypatch.setattr(zipingest, "MemberReader", CountedReader)
    monkeypatch.setattr(restartproof, "MemberReader", CountedReader)
    export = generate_export(tmp_path / "export.zip", date=date(2025, 3, 15), scale=0.3)
    vault = _new_vault(tmp_path)
    vault.snapshot(export)
    assert inflated.count("messages.csv") == 1
    (part,) = _restart_parts(vault)
    with zipfile.ZipFile(export) as archive:
        compressed = _compressed_bytes(export, info := archive.getinfo("messages.csv"))
    ends = restarts.scan_blocks(lambda at, n: compressed[at : at + n], len(compressed))
    assert ends is not None
    assert part.restarts == tuple(restarts.choose(ends, info.file_size))
    vault.restore("latest", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == export.read_bytes()


def test_a_big_members_first_segment_is_proven_before_its_stream_is_all_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof in flight does not scan the whole stream's block ends before its first
    segment is re-created (on a large export that scan held the storing pass for 1.5 s);
    the points kept are the same, and the export restores byte for byte."""
    monkeypatch.setattr(restarts, "SPACING", SPACING)
    monkeypatch.setattr(restarts, "FIRST_SCAN_PIECE", 16 << 10)
    events: list[str] = []
    scan_ends, segment = restarts.block_ends, restarts.deflate_segment

    def watched_scan(*args: Any) -> Iterator[tuple[int, int]]:
        yield from scan_ends(*args)
        events.append("scanned")

    def watched_segment(*args: Any) -> tuple[bytes, int] | None:
        events.append("segment")
        return segment(*args)

    monkeypatch.setattr(restarts, "block_ends", watched_scan)
    monkeypatch.setattr(restarts, "deflate_segment", watched_segment)
    export = generate_export(tmp_path / "export.zip", date=date(2025, 3, 15), scale=0.3)
    vault = _new_vault(tmp_path)
    vault.snapshot(export)
    assert events.count("scanned") == 1 and events.index("segment") < events.index("scanned")
    (part,) = _restart_parts(vault)
    with zipfile.ZipFile(export) as archive:
        info = archive.getinfo("messages.csv")
        compressed = _compressed_bytes(export, info)
    ends = restarts.scan_blocks(lambda at, n: compressed[at : at + n], len(compressed))
    assert ends is not None and part.restarts == tuple(restarts.choose(ends, info.file_size))
    vault.restore("latest", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == export.read_bytes()


def _compressed_bytes(export: Path, info: zipfile.ZipInfo) -> bytes:
    with open(export, "rb") as file:
        file.seek(info.header_offset + 26)
        skip = int.from_bytes(file.read(2), "little") + int.from_bytes(file.read(2), "little")
        file.seek(info.header_offset + 30 + skip)
        return file.read(info.compress_size)


def test_a_restore_compresses_on_as_many_threads_as_workers_and_no_more(
    big_member_vault: tuple[Vault, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LKVAULT_WORKERS is the number of threads that compress: the segments of a big member
    and the small members share them (one pool, not one per member)."""
    vault, export = big_member_vault
    compressing: set[int] = set()
    segment, recompressor = restarts.deflate_segment, restorer.Recompressor

    def counted_segment(*args: Any) -> tuple[bytes, int] | None:
        compressing.add(threading.get_ident())
        return segment(*args)

    def counted_recompressor(*args: Any) -> Recompressor:
        compressing.add(threading.get_ident())
        return recompressor(*args)

    monkeypatch.setattr(restarts, "deflate_segment", counted_segment)
    monkeypatch.setattr(restorer, "Recompressor", counted_recompressor)
    for workers in (2, 3):
        compressing.clear()
        vault.env = dataclasses.replace(vault.env, workers=workers)
        out = tmp_path / f"restored-{workers}.zip"
        vault.restore("latest", out)
        assert out.read_bytes() == export.read_bytes()
        assert threading.get_ident() not in compressing  # the caller's thread reads and joins
        assert 1 < len(compressing) <= workers


def test_a_damaged_chunk_read_ahead_by_a_worker_stops_the_restore_and_writes_nothing(
    big_member_vault: tuple[Vault, Path], tmp_path: Path
) -> None:
    """The workers read a big member's content ahead; damage they meet is the same error as
    on the caller's thread, and no file (not even a partial one) is left behind."""
    vault, _ = big_member_vault
    vault.env = dataclasses.replace(vault.env, workers=2)
    biggest = max((tmp_path / "vault" / "data").rglob("*"), key=lambda f: f.stat().st_size)
    flip_byte(biggest, biggest.stat().st_size // 2)
    out = tmp_path / "restored" / "export.zip"
    out.parent.mkdir()
    with pytest.raises(IntegrityError):
        vault.restore("latest", out)
    assert list(out.parent.iterdir()) == []


def test_a_big_member_that_does_not_restart_faithfully_is_proven_in_one_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zlib's levels 1-3 leave the strings inside long matches out of their hash chains, so
    # a compressor started afresh at a block boundary chooses other matches.
    monkeypatch.setattr(restarts, "SPACING", SPACING)
    path = tmp_path / "fast.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("messages.csv", export_csv() * 3)
    vault = _new_vault(tmp_path)
    snap = vault.snapshot(path)
    tree = restorer.load_tree(vault.repo, snap.tree)
    (part,) = [p for p in tree.parts if isinstance(p, Deflated)]
    assert (part.level, part.restarts) == (1, ())
    vault.restore("latest", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == path.read_bytes()


def test_a_point_whose_segment_does_not_match_is_dropped_and_the_rest_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point is dropped while the member is stored: no second inflate, and only the
    segments around it are re-created again, not the whole member twice more."""
    monkeypatch.setattr(restarts, "SPACING", SPACING)
    inflated: list[str] = []
    segments: list[int] = []
    segment = restarts.deflate_segment

    class CountedReader(deflate.MemberReader):
        def __init__(self, member: zipscan.Member, *args: Any, **kwargs: Any) -> None:
            inflated.append(member.name)
            super().__init__(member, *args, **kwargs)

    def counted_segment(*args: Any) -> tuple[bytes, int] | None:
        segments.append(1)
        return segment(*args)

    monkeypatch.setattr(zipingest, "MemberReader", CountedReader)
    monkeypatch.setattr(restartproof, "MemberReader", CountedReader)
    monkeypatch.setattr(restarts, "deflate_segment", counted_segment)
    chosen = restarts.chosen
    planted: list[Restart] = []
    offered: list[int] = []

    def with_a_bad_point(
        ends: Iterable[tuple[int, int]], size: int, spacing: int | None = None
    ) -> Iterator[Restart]:
        points = list(chosen(ends, size, spacing))
        bad = Restart(points[1].content + 999, points[1].bit + 7777)  # inside a block
        planted.append(bad)
        offered.append(len(points) + 1)
        yield from sorted([*points, bad], key=lambda p: p.content)

    monkeypatch.setattr(restarts, "chosen", with_a_bad_point)
    export = generate_export(tmp_path / "export.zip", date=date(2025, 3, 15), scale=0.3)
    vault = _new_vault(tmp_path)
    vault.snapshot(export)
    (part,) = _restart_parts(vault)
    assert planted and planted[0] not in part.restarts and len(part.restarts) >= 3
    assert inflated.count("messages.csv") == 1
    # Each segment between the points offered once, then the one replacing the failed two.
    assert offered and len(segments) == offered[0] + 1 + 1
    vault.restore("latest", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == export.read_bytes()


def test_a_run_of_segments_that_do_not_match_is_not_joined_without_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past a few failed segments in a row the stream does not restart (levels 1-3): the
    proof stops joining them, which would hold and copy the member's content over again,
    and the member is proven in one piece."""
    monkeypatch.setattr(restarts, "SPACING", 8 << 10)
    most_points = [0]
    bound = [0]  # the longest content MAX_JOINED + 1 segments in a row hold, in any member
    longest = [0]  # the longest content of segments joined
    chosen, segment, join = restarts.chosen, restarts.deflate_segment, restarts.joined

    def recorded(
        ends: Iterable[tuple[int, int]], size: int, spacing: int | None = None
    ) -> Iterator[Restart]:
        points: list[Restart] = []
        for point in chosen(ends, size, spacing):
            points.append(point)
            yield point
        starts = [0, *(p.content for p in points), size]
        run = restartproof.MAX_JOINED + 1
        bound[0] = max([bound[0], *(b - a for a, b in zip(starts, starts[run:], strict=False))])
        most_points[0] = max(most_points[0], len(points))

    def failing_after_the_second(job: restarts.SegmentJob, *args: Any) -> tuple[bytes, int] | None:
        return None if job.index >= 2 else segment(job, *args)

    def measured(*jobs: restarts.SegmentJob) -> restarts.SegmentJob:
        longest[0] = max(longest[0], len((joined := join(*jobs)).data))
        return joined

    monkeypatch.setattr(restarts, "joined", measured)
    monkeypatch.setattr(restarts, "chosen", recorded)
    monkeypatch.setattr(restarts, "deflate_segment", failing_after_the_second)
    export = generate_export(tmp_path / "export.zip", date=date(2025, 3, 15), scale=1.6)
    vault = _new_vault(tmp_path)
    vault.snapshot(export)
    # The run limit decides, not the limit on failures in all (an eighth of the points).
    assert most_points[0] // 8 > restartproof.MAX_JOINED + 1
    assert 0 < longest[0] <= bound[0] + restarts.MARGIN
    assert all(p.content.size < 1 << 20 for p in _restart_parts(vault))  # messages.csv: none
    vault.restore("latest", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == export.read_bytes()


def test_a_member_stored_in_row_order_gets_restart_points_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lkvault.vault.format.tree import Reordered
    from lkvault.vault.ingest import zipingest

    monkeypatch.setattr(restarts, "SPACING", SPACING)
    monkeypatch.setattr(zipingest, "REORDER_MIN_SIZE", 64 * 1024)  # as if it were large
    export = generate_export(tmp_path / "export.zip", date=date(2025, 3, 15), scale=0.3)
    vault = _new_vault(tmp_path)
    vault.snapshot(export)
    (part,) = _restart_parts(vault)
    assert isinstance(part.content, Reordered) and part.restarts
    vault.restore("latest", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == export.read_bytes()


def test_a_damaged_restart_record_is_caught_never_turned_into_wrong_bytes(
    big_member_vault: tuple[Vault, Path],
) -> None:
    vault, _ = big_member_vault
    snap = vault.snapshots()[-1]
    tree = restorer.load_tree(vault.repo, snap.tree)
    number, part = next(
        (i, p) for i, p in enumerate(tree.parts) if isinstance(p, Deflated) and p.restarts
    )
    member = next(m for m in tree.members if m.part == number)
    good = part.restarts
    expected = b"".join(restorer.iter_deflated(vault.repo, part, member))
    for wrong in (
        (good[0], dataclasses.replace(good[1], bit=good[1].bit + 3), *good[2:]),
        (good[0], dataclasses.replace(good[1], content=good[1].content + 1), *good[2:]),
    ):
        damaged = dataclasses.replace(part, restarts=wrong)
        with pytest.raises(IntegrityError, match="messages.csv.*restart point 1"):
            b"".join(restorer.iter_deflated(vault.repo, damaged, member, workers=2))
    # A point left out only makes one segment longer: still the member's exact bytes.
    fewer = dataclasses.replace(part, restarts=good[:1] + good[2:])
    assert b"".join(restorer.iter_deflated(vault.repo, fewer, member, workers=2)) == expected


def test_restart_points_need_tree_version_3_and_are_checked() -> None:
    part = Deflated(Stream(1000, chunks=()), 6, 8, 0, -15, 300, (Restart(500, 1200),))
    tree = Tree("zip", [part], [])
    doc = encode_tree(tree)
    assert doc["v"] == 3
    assert decode_tree(doc, "tree").parts[0].restarts == (Restart(500, 1200),)
    for bad in ([[500, 1200], [400, 1300]], [[1000, 10]], [[10, 2400]], [[0, 0]], [[5, "x"]]):
        doc["parts"][0]["restarts"] = bad
        with pytest.raises(IntegrityError):
            decode_tree(doc, "tree")
    doc["parts"][0]["restarts"] = [[500, 1200]]
    doc["v"] = 2
    with pytest.raises(IntegrityError):
        decode_tree(doc, "tree")


def test_lkvault_workers_must_be_a_whole_number(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("init").code == 0
    monkeypatch.setenv("LKVAULT_WORKERS", "two")
    result = cli("list")
    assert result.code == 2
    assert "LKVAULT_WORKERS must be a whole number" in result.err
    assert "Traceback" not in result.err
    monkeypatch.setenv("LKVAULT_WORKERS", "1")
    assert cli("list").code == 0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_the_default_worker_count_is_the_cores_lkvault_may_use() -> None:
    """Under taskset or in a container limited to one core, lkvault starts one worker, not
    one per core of the machine."""
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "from lkvault.cli import config; print(config.workers())"
    )
    env = {k: v for k, v in os.environ.items() if k != "LKVAULT_WORKERS"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "1"
