"""The index: which pack and frame hold each blob, kept in memory and stored as index files."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lkvault.vault.format import codec
from lkvault.vault.format.crypto import (
    ID_SIZE,
    BlobType,
    Keys,
    ObjectType,
    Rng,
    padded,
    seal,
    unseal,
)
from lkvault.vault.repository.pack import DOCUMENT_VERSIONS, FrameEntry, documents_version

INDEX_PREFIX = "index/"


@dataclass(frozen=True, slots=True)
class FrameRef:
    """A frame and the pack it lives in."""

    pack_id: bytes
    entry: FrameEntry


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """Where one blob can be read: a frame, and its place inside the frame's content."""

    frame: FrameRef
    offset: int
    length: int
    type: BlobType


class Index:
    """Blob id -> location, over every pack that any index file lists.

    Blobs are found through an open-addressing table of packed (frame number, position)
    values over the frames' own packed id lists, not a dict of objects: the index is the one
    structure that grows with a vault's whole history (~5,000 blobs a month for a 300 MB
    export), and as a dict of location objects it cost ~380 bytes a blob; packed, ~60 and 33
    for each dictionary reference (after 18 months of 300 MB exports: 10 MiB instead of 45).
    """

    _FIRST_SLOTS = 1024

    def __init__(self) -> None:
        self.packs: dict[bytes, list[FrameEntry]] = {}
        self._frames: list[FrameRef] = []
        # 0: empty; else 1 + (frame number << 32 | the blob's position in the frame)
        self._slots = array("q", bytes(8 * self._FIRST_SLOTS))
        self._count = 0

    def add_pack(self, pack_id: bytes, frames: list[FrameEntry]) -> None:
        self.packs[pack_id] = frames
        for entry in frames:
            number = len(self._frames)
            self._frames.append(FrameRef(pack_id, entry))
            for position in range(entry.blob_count):
                self._place(entry.blob_id(position), number << 32 | position)

    def _place(self, blob_id: bytes, packed: int) -> None:
        slot, found = self._find(blob_id)
        if found is None:
            self._slots[slot] = packed + 1
            self._count += 1
            if 2 * self._count > len(self._slots):
                self._grow()
            return
        # Any authentic copy of a blob is as good as another; the one in the shallowest frame
        # wins (then the first listed), so dictionary chains stay short.
        if self._frames[packed >> 32].entry.depth < self._frames[found >> 32].entry.depth:
            self._slots[slot] = packed + 1

    def _find(self, blob_id: bytes) -> tuple[int, int | None]:
        """The slot holding ``blob_id`` and its packed value, or the empty slot for it and
        None."""
        slots = self._slots
        mask = len(slots) - 1
        slot = int.from_bytes(blob_id[:8], "little") & mask
        while True:
            value = slots[slot]
            if value == 0:
                return slot, None
            packed = value - 1
            # _blob_id_at inlined: this loop is every lookup's, and the call cost 40 % more
            if self._frames[packed >> 32].entry.blob_id(packed & 0xFFFFFFFF) == blob_id:
                return slot, packed
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old = [value for value in self._slots if value]
        self._slots = array("q", bytes(16 * len(self._slots)))
        for value in old:
            slot, _ = self._find(self._blob_id_at(value - 1))
            self._slots[slot] = value

    def _blob_id_at(self, packed: int) -> bytes:
        return self._frames[packed >> 32].entry.blob_id(packed & 0xFFFFFFFF)

    def __contains__(self, blob_id: bytes) -> bool:
        return self._find(blob_id)[1] is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[bytes]:
        """Every blob id the index knows, each once."""
        for value in self._slots:
            if value:
                yield self._blob_id_at(value - 1)

    def get(self, blob_id: bytes) -> BlobLocation | None:
        packed = self._find(blob_id)[1]
        if packed is None:
            return None
        ref = self._frames[packed >> 32]
        blob = ref.entry.blob_at(packed & 0xFFFFFFFF)
        return BlobLocation(ref, blob.offset, blob.length, blob.type)

    def dictionary_frames(self) -> list[FrameEntry]:
        """Frames compressed against a dictionary, deepest first.

        Walking them in this order carries a use of a frame's blobs over to its dictionary's
        blobs, and on through their own frames, in one pass.
        """
        frames = [f for entries in self.packs.values() for f in entries if f.has_dictionary]
        return sorted(frames, key=lambda f: f.depth, reverse=True)


def pack_name(pack_id: bytes) -> str:
    """Storage name of a pack: packs are spread over 256 folders by their first byte."""
    hexid = pack_id.hex()
    return f"data/{hexid[:2]}/{hexid}"


def pack_id_of_name(name: str) -> bytes | None:
    """The pack id a storage name stands for, or None if it is not a pack name."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "data":
        return None
    try:
        pack_id = bytes.fromhex(parts[2])
    except ValueError:
        return None
    if len(pack_id) != ID_SIZE or parts[1] != parts[2][:2]:
        return None
    return pack_id


def encode_index(keys: Keys, packs: dict[bytes, list[FrameEntry]], rng: Rng) -> tuple[str, bytes]:
    """Seal an index file listing ``packs``; returns (storage name, bytes)."""
    version = documents_version([f for frames in packs.values() for f in frames])
    raw = codec.pack_document_streamed(
        {"v": version},
        "packs",
        len(packs),
        (
            {"id": pack_id, "frames": [f.to_document() for f in frames]}
            for pack_id, frames in packs.items()
        ),
    )
    encoded = codec.encode_packed(raw)
    del raw
    plaintext = padded(encoded)
    index_id = keys.object_id_of(ObjectType.INDEX, plaintext)
    return INDEX_PREFIX + index_id.hex(), seal(keys, ObjectType.INDEX, index_id, plaintext, rng)


def decode_index(keys: Keys, name: str, sealed: bytes) -> dict[bytes, list[FrameEntry]]:
    """Authenticate and parse one index file.

    Parsed a pack at a time: as a whole document, a year of 300 MB exports is 8 MiB of
    Python objects, and the frame entries built from it kept much of that memory pinned for
    the rest of the process (docs/benchmarks.md, issue 18 item 6).
    """
    what = f"index {name}"
    index_id = id_of_name(name, INDEX_PREFIX, what)
    data = codec.document_bytes(unseal(keys, ObjectType.INDEX, index_id, sealed), what)
    reader = codec.document_unpacker(data, what)
    fields: dict[Any, Any] = {}
    items: list[Any] = []  # packs listed before the version: parsed once it is known
    packs: dict[bytes, list[FrameEntry]] = {}
    with codec.parsing(what):
        for _ in range(reader.read_map_header()):
            key = reader.unpack()
            codec.require(key not in fields, what)
            if key != "packs":
                fields[key] = reader.unpack()
                continue
            fields[key] = []
            for _ in range(reader.read_array_header()):
                if "v" not in fields:
                    items.append(reader.unpack())
                    continue
                version = codec.check_version(fields, what, DOCUMENT_VERSIONS)
                _add_pack(packs, reader.unpack(), version, what)
        codec.require(reader.tell() == len(data), what)
    version = codec.check_version(fields, what, DOCUMENT_VERSIONS)
    codec.field(fields, "packs", list, what)
    for item in items:
        _add_pack(packs, item, version, what)
    return packs


def _add_pack(packs: dict[bytes, list[FrameEntry]], item: Any, version: int, what: str) -> None:
    """Parse one pack of an index document into ``packs``."""
    pack_id = codec.field(item, "id", bytes, what)
    codec.require(len(pack_id) == ID_SIZE, what)
    frames = [FrameEntry.from_document(f, what) for f in codec.field(item, "frames", list, what)]
    codec.require(documents_version(frames) <= version, what)
    packs[pack_id] = frames


def id_of_name(name: str, prefix: str, what: str) -> bytes:
    """The object id encoded in a storage name like ``index/<hex>``."""
    try:
        object_id = bytes.fromhex(name[len(prefix) :])
    except ValueError:
        object_id = b""
    codec.require(name.startswith(prefix) and len(object_id) == ID_SIZE, what)
    return object_id
