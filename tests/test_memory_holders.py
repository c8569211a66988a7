"""What a large export's snapshot and compact hold at their peak (issue 18 item 6): a frame's
content once, not once in pieces and again joined; an index parsed a pack at a time, not as
one document of Python objects. Measured with tracemalloc (Python's own allocations, the same
on every run), not the process's RSS: the RSS figures are in docs/benchmarks.md."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import msgpack
import pytest
from lkvault.vault import Vault
from lkvault.vault.budget import Budget
from lkvault.vault.errors import IntegrityError
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import (
    SEAL_OVERHEAD,
    BlobType,
    ObjectType,
    padme,
    seal,
    unseal,
)
from lkvault.vault.operations import compactor
from lkvault.vault.repository import blobwriter, framecache, staging
from lkvault.vault.repository.blobwriter import BlobWriter
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.index import (
    INDEX_PREFIX,
    FrameRef,
    decode_index,
    encode_index,
    id_of_name,
)
from lkvault.vault.repository.pack import BlobEntry, FrameEntry
from zipmakers import csv_bytes

MiB = 1024 * 1024
T = TypeVar("T")


def peak_of(work: Callable[[], T]) -> tuple[int, T]:
    """The most Python memory ``work`` held at once beyond what was held before, and its
    result (traced only while it runs: tracing makes everything else slow)."""
    tracemalloc.start()
    try:
        result = work()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def rows(size: int, seed: int) -> bytes:
    return csv_bytes(size, seed)


def test_the_writer_holds_a_frame_once_while_sealing_it(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", 1 * MiB)
    writer = BlobWriter(vault.repo, workers=1, fresh=True)
    blob_size = 16 * 1024
    count = blobwriter.FRAME_TARGET // blob_size

    def write_a_frame() -> None:
        for number in range(count):
            writer.add(BlobType.DATA, rows(blob_size, number))  # dropped once added
        writer.finish()

    held, _ = peak_of(write_a_frame)
    content = count * blob_size
    # The frame's content, its compressed copies (a few hundred KiB), and the writer's own
    # tables; the blobs kept apart and joined to be compressed made it twice the content.
    assert held < 1.5 * content, f"{held / MiB:.1f} MiB held for a {content / MiB:.0f} MiB frame"
    assert writer.new_blobs == count and len(writer.packs_written) == 1


def stored_frames(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frame: int, frames: int
) -> list[FrameRef]:
    """Every frame of a snapshot of a CSV of ``frames`` times ``frame`` bytes, stored in
    frames of about ``frame`` bytes."""
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", frame)
    export = tmp_path / "Connections.csv"
    export.write_bytes(rows(frames * frame, frames))
    vault.snapshot(export)
    packs = vault.repo.reload_index().packs
    return [FrameRef(pack, entry) for pack, entry_list in packs.items() for entry in entry_list]


def test_compact_holds_a_merged_frame_once(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = 256 * 1024
    refs = stored_frames(vault, tmp_path, monkeypatch, frame, 4)
    refs = [ref for ref in refs if ref.entry.raw_size >= frame // 2]
    assert len(refs) >= 3
    total = sum(ref.entry.raw_size for ref in refs)
    memory = 1  # no memory to squeeze in: merged at the fast level (the test is the buffers)

    def merge() -> Any:
        return compactor.rewrite_group(vault.repo, refs, Budget(memory), memory)

    held, merged = peak_of(merge)
    # The merged content, one decoded frame at a time, and the small compressed copies; the
    # decoded frames joined into a second buffer held it all twice.
    assert held < 1.6 * total, f"{held / MiB:.1f} MiB held to merge {total / MiB:.1f} MiB"
    assert len(merged) == 1 and merged[0].entry.raw_size == total


class AheadCountingPool(ThreadPoolExecutor):
    """A real pool that records, at each frame submitted for the stage, the decoded bytes
    of the frames submitted and not yet taken back (the stage's ``_decode(ref)`` calls)."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.ahead = 0
        self.most = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future = super().submit(fn, *args, **kwargs)
        size = args[0].entry.raw_size
        self.ahead += size
        self.most = max(self.most, self.ahead)
        pool = self

        class Taken:
            def result(self) -> Any:
                pool.ahead -= size
                return future.result()

            def cancel(self) -> bool:
                return future.cancel()

        return Taken()


def test_a_stage_holds_a_bounded_amount_of_frames_decoded_ahead(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large restore stages merged 16 MiB frames: four of them decoded ahead at once were
    # the largest part of its peak. Here frames of 256 KiB, and room for three.
    frame = 256 * 1024
    monkeypatch.setattr(framecache, "FRAME_CACHE_BYTES", 1)  # every frame read twice is staged
    monkeypatch.setattr(staging, "STAGE_AHEAD_BYTES", 3 * frame)
    refs = stored_frames(vault, tmp_path, monkeypatch, frame, 12)
    large = [ref for ref in refs if ref.entry.raw_size >= frame // 2]
    assert len(large) >= 8
    reader = vault.repo.reader
    expected = {frame_key(ref): reader.read_frame(ref) for ref in refs}
    reader.forget_frames()
    with AheadCountingPool() as pool, reader.staged(refs + refs, pool, in_order=True):
        for ref in refs:
            assert reader.frame_content(ref) == expected[frame_key(ref)]
    assert frame < pool.most <= 3 * frame, f"{pool.most / frame:.1f} frames decoded ahead"


def many_packs(count: int) -> dict[bytes, list[FrameEntry]]:
    """An index's packs: ``count`` packs of 4 frames of 200 blobs of 20,000 bytes."""
    packs = {}
    for pack in range(count):
        frames = []
        for frame in range(4):
            tag = bytes([pack % 256, pack // 256, frame])
            blobs = [
                BlobEntry(BlobType.DATA, tag + bytes([blob % 256, blob // 256]) * 14 + b"b", i, n)
                for blob, (i, n) in enumerate((20_000 * i, 20_000) for i in range(200))
            ]
            frames.append(FrameEntry(tag * 10 + b"fr", 4000 * frame, 4000, 20_000 * 200, blobs))
        packs[bytes([pack % 256, pack // 256]) * 16] = frames
    return packs


def unsealed_index(vault: Vault, name: str, sealed: bytes) -> bytes:
    index_id = id_of_name(name, INDEX_PREFIX, name)
    return unseal(vault.repo.keys, ObjectType.INDEX, index_id, sealed)


def test_the_index_is_parsed_a_pack_at_a_time(vault: Vault) -> None:
    keys = vault.repo.keys
    packs = many_packs(30)
    name, sealed = encode_index(keys, packs, vault.repo.rng)
    streamed, decoded = peak_of(lambda: decode_index(keys, name, sealed))
    assert decoded == packs

    def parse_whole() -> list[FrameEntry]:  # as an index was parsed before
        document = codec.decode_document(unsealed_index(vault, name, sealed), name)
        return [
            FrameEntry.from_document(frame, name)
            for item in document["packs"]
            for frame in item["frames"]
        ]

    whole, _ = peak_of(parse_whole)
    # The document's Python objects are several times the entries built from them.
    assert streamed < whole / 2, f"streamed {streamed / MiB:.1f} MiB, whole {whole / MiB:.1f} MiB"


def test_the_index_is_written_a_pack_at_a_time_as_the_same_bytes(vault: Vault) -> None:
    keys = vault.repo.keys
    packs = many_packs(30)
    streamed, (name, sealed) = peak_of(lambda: encode_index(keys, packs, vault.repo.rng))
    whole_document = {"v": 1, "packs": pack_items(packs)}
    assert codec.decode_document(unsealed_index(vault, name, sealed), name) == whole_document
    raw = codec.pack_document(whole_document)
    assert codec.document_bytes(unsealed_index(vault, name, sealed), name) == raw

    def encode_whole() -> bytes:  # as an index was written before: encoded twice, for padding
        document = {"v": 1, "packs": pack_items(packs)}
        unpadded = len(codec.encode_document(document)) + SEAL_OVERHEAD
        return codec.encode_document(document, padding=padme(unpadded) - unpadded)

    whole, _ = peak_of(encode_whole)
    assert streamed < whole / 2, f"streamed {streamed / MiB:.1f} MiB, whole {whole / MiB:.1f} MiB"


def seal_index_document(vault: Vault, raw: bytes) -> tuple[str, bytes]:
    """An index file holding msgpack bytes ``raw`` as its document, sealed as a writer does."""
    keys, rng = vault.repo.keys, vault.repo.rng
    body = len(raw).to_bytes(4, "little") + codec.compress(raw, 3)
    unpadded = codec.container_size(len(body)) + SEAL_OVERHEAD
    plaintext = codec.contain(body, codec.CODEC_ZSTD, padme(unpadded) - unpadded)
    index_id = keys.object_id_of(ObjectType.INDEX, plaintext)
    return INDEX_PREFIX + index_id.hex(), seal(keys, ObjectType.INDEX, index_id, plaintext, rng)


def pack_items(packs: dict[bytes, list[FrameEntry]]) -> list[dict[str, Any]]:
    return [{"id": p, "frames": [f.to_document() for f in frames]} for p, frames in packs.items()]


def test_an_index_lists_its_fields_in_any_order(vault: Vault) -> None:
    packs = many_packs(3)
    raw = codec.pack_document({"packs": pack_items(packs), "v": 1})
    name, sealed = seal_index_document(vault, raw)
    assert decode_index(vault.repo.keys, name, sealed) == packs


@pytest.mark.parametrize(
    "shape",
    ["duplicate version", "trailing bytes", "packs not a list", "no version", "no packs"],
)
def test_a_malformed_index_document_is_refused(vault: Vault, shape: str) -> None:
    items = pack_items(many_packs(2))
    packer = msgpack.Packer(use_bin_type=True)
    if shape == "duplicate version":
        raw = packer.pack_map_header(3) + packer.pack("v") + packer.pack(1)
        raw += packer.pack("packs") + packer.pack(items) + packer.pack("v") + packer.pack(1)
    elif shape == "trailing bytes":
        raw = codec.pack_document({"v": 1, "packs": items}) + packer.pack(0)
    elif shape == "packs not a list":
        raw = codec.pack_document({"v": 1, "packs": {"id": b"x"}})
    elif shape == "no version":
        raw = codec.pack_document({"packs": items})
    else:
        raw = codec.pack_document({"v": 1})
    name, sealed = seal_index_document(vault, raw)
    with pytest.raises(IntegrityError):
        decode_index(vault.repo.keys, name, sealed)
