"""The in-memory index: every stored blob is found where its pack says, however many there are."""

from __future__ import annotations

import random

from lkvault.vault.format.crypto import BlobType
from lkvault.vault.repository.index import Index
from lkvault.vault.repository.pack import BlobEntry, BlobRef, FrameEntry


def random_id(rng: random.Random) -> bytes:
    return rng.randbytes(32)


def frame_of(
    rng: random.Random, count: int, depth: int = 0, ids: list[bytes] | None = None
) -> FrameEntry:
    blobs = []
    offset = 0
    for number in range(count):
        length = rng.randrange(0, 70_000)
        blob_type = BlobType.TREE if number % 7 == 0 else BlobType.DATA
        blob_id = ids[number] if ids else random_id(rng)
        blobs.append(BlobEntry(blob_type, blob_id, offset, length))
        offset += length
    dictionary = [BlobRef(BlobType.DATA, random_id(rng))] if depth else []
    return FrameEntry(random_id(rng), 0, 100, offset, blobs, dictionary, depth)


def test_every_blob_of_many_packs_is_found_where_its_frame_holds_it() -> None:
    rng = random.Random(7)
    index = Index()
    expected = {}
    for _ in range(40):  # ~6,000 blobs: the table grows several times past its first size
        pack_id = random_id(rng)
        frames = [frame_of(rng, rng.randrange(1, 300)) for _ in range(rng.randrange(1, 4))]
        index.add_pack(pack_id, frames)
        for entry in frames:
            for blob in entry.blobs:
                expected[blob.id] = (pack_id, entry, blob)
    assert len(index) == len(expected)
    assert set(index) == set(expected)
    for blob_id, (pack_id, entry, blob) in expected.items():
        location = index.get(blob_id)
        assert location is not None and blob_id in index
        assert location.frame.pack_id == pack_id and location.frame.entry is entry
        assert (location.offset, location.length, location.type) == (
            blob.offset,
            blob.length,
            blob.type,
        )
    for _ in range(2000):
        absent = random_id(rng)
        assert absent not in index and index.get(absent) is None


def test_a_blob_stored_twice_is_read_from_the_shallowest_frame() -> None:
    rng = random.Random(3)
    shared = [random_id(rng) for _ in range(5)]
    index = Index()
    deep = frame_of(rng, 5, depth=4, ids=shared)
    index.add_pack(b"a" * 32, [deep])
    shallow = frame_of(rng, 5, depth=1, ids=shared)
    deeper_again = frame_of(rng, 5, depth=2, ids=shared)
    index.add_pack(b"b" * 32, [shallow, deeper_again])
    same_depth = frame_of(rng, 5, depth=1, ids=shared)
    index.add_pack(b"c" * 32, [same_depth])
    assert len(index) == 5
    for position, blob_id in enumerate(shared):
        location = index.get(blob_id)
        assert location is not None and location.frame.entry is shallow
        assert location.offset == shallow.blobs[position].offset


def test_frame_entries_read_back_from_their_document_unchanged() -> None:
    rng = random.Random(11)
    for depth in (0, 3):
        entry = frame_of(rng, 50, depth=depth)
        copy = FrameEntry.from_document(entry.to_document(), "test frame")
        assert copy == entry
        assert copy.blobs == entry.blobs and copy.dictionary == entry.dictionary
        assert copy.has_dictionary == bool(depth) and copy.depth == depth
    kept = entry.blobs[10:12]
    damaged = entry.with_blobs(kept)
    assert damaged.blobs == kept and damaged.raw_size == entry.raw_size
    assert damaged.dictionary == entry.dictionary
