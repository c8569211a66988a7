"""Pure layout of frames and packs: sealing groups of blobs, and parsing a pack's header.

A frame is a group of blobs compressed together and sealed as one object; a pack file is
``frame_1 || ... || frame_n || sealed header || u32le length of the sealed header``.
See docs/FORMAT.md, "Frames and packs".
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lkvault.vault.errors import IntegrityError
from lkvault.vault.format import codec, zstdframe
from lkvault.vault.format.crypto import (
    ID_SIZE,
    SEAL_OVERHEAD,
    BlobType,
    Keys,
    ObjectType,
    Rng,
    padded,
    seal,
    unseal,
)

TRAILER_SIZE = 4
MAX_HEADER = 64 * 1024 * 1024
MAX_FRAME_RAW = 64 * 1024 * 1024
# Frames compressed against a dictionary of other blobs (format 2): limits a reader enforces,
# so a hostile index cannot make it chase long or circular chains or build huge dictionaries.
MAX_DICT_DEPTH = 48
MAX_DICT_BYTES = 16 * 1024 * 1024
MAX_DICT_BLOBS = 4096
# Pack header and index documents: version 1 has no dictionary frames, version 2 may.
DOCUMENT_VERSIONS = (1, 2)


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A blob named by type and id (a dictionary frame's dictionary is a list of these)."""

    type: BlobType
    id: bytes


@dataclass(frozen=True, slots=True)
class BlobEntry:
    """Where a blob sits inside its frame's decompressed content."""

    type: BlobType
    id: bytes
    offset: int
    length: int


class FrameEntry:
    """Where a frame sits inside its pack, and the blobs it holds.

    The blob and dictionary lists are kept packed (ids back to back, offsets and lengths in
    arrays): the index holds an entry for every frame of the vault, and kept as objects a blob
    cost ~380 bytes of memory (see ``Index``). ``blobs`` and ``dictionary`` build their lists
    when asked.
    """

    __slots__ = (
        "id",
        "offset",
        "length",
        "raw_size",
        "depth",
        "level",
        "_ids",
        "_offsets",
        "_lengths",
        "_types",
        "_dictionary_ids",
        "_dictionary_types",
    )

    def __init__(
        self,
        id: bytes,  # noqa: A002 - the field's name in the format
        offset: int,
        length: int,
        raw_size: int,
        blobs: Iterable[BlobEntry] = (),
        dictionary: Iterable[BlobRef] = (),
        depth: int = 0,
        level: int | None = None,
    ) -> None:
        self.id = id
        self.offset = offset
        self.length = length
        self.raw_size = raw_size
        # A frame compressed against a dictionary: the blobs whose plaintexts, concatenated in
        # this order, are the dictionary, and the frame's depth (1 + the deepest frame holding
        # one of them). Empty and 0 for an ordinary frame.
        self.depth = depth
        # The zstd level 'lkvault compact' wrote the frame at (readers need no level; a
        # writer uses it to know which frames are squeezed already). None: not recorded.
        self.level = level
        listed = list(blobs)
        self._ids = b"".join(blob.id for blob in listed)
        self._offsets = array("I", [blob.offset for blob in listed])
        self._lengths = array("I", [blob.length for blob in listed])
        self._types = bytes(int(blob.type) for blob in listed)
        self.dictionary = list(dictionary)

    @property
    def blobs(self) -> list[BlobEntry]:
        """The frame's blobs, in order (a new list on each call)."""
        return [self.blob_at(position) for position in range(len(self._types))]

    @property
    def blob_count(self) -> int:
        return len(self._types)

    def blob_id(self, position: int) -> bytes:
        return self._ids[position * ID_SIZE : (position + 1) * ID_SIZE]

    def blob_ids(self) -> list[bytes]:
        return [self.blob_id(position) for position in range(len(self._types))]

    def blob_at(self, position: int) -> BlobEntry:
        return BlobEntry(
            BlobType(self._types[position]),
            self.blob_id(position),
            self._offsets[position],
            self._lengths[position],
        )

    @property
    def dictionary(self) -> list[BlobRef]:
        """The blobs the frame is compressed against, in order (a new list on each call)."""
        ids, types = self._dictionary_ids, self._dictionary_types
        return [
            BlobRef(BlobType(kind), ids[i * ID_SIZE : (i + 1) * ID_SIZE])
            for i, kind in enumerate(types)
        ]

    @dictionary.setter
    def dictionary(self, refs: Iterable[BlobRef]) -> None:
        listed = list(refs)
        self._dictionary_ids = b"".join(ref.id for ref in listed)
        self._dictionary_types = bytes(int(ref.type) for ref in listed)

    @property
    def has_dictionary(self) -> bool:
        return bool(self._dictionary_types)

    def with_blobs(self, blobs: Iterable[BlobEntry]) -> FrameEntry:
        """The same frame, listing only ``blobs`` (what a damaged frame still holds)."""
        return FrameEntry(
            self.id,
            self.offset,
            self.length,
            self.raw_size,
            blobs,
            self.dictionary,
            self.depth,
            self.level,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrameEntry):
            return NotImplemented
        # The level is a writer's hint that an older writer drops from the index it rewrites
        # while the pack header keeps it: the same frame either way.
        return all(
            getattr(self, name) == getattr(other, name)
            for name in self.__slots__
            if name != "level"
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (
            f"FrameEntry(id={self.id.hex()[:16]}, offset={self.offset}, length={self.length}, "
            f"raw_size={self.raw_size}, blobs={self.blob_count}, "
            f"dictionary={len(self._dictionary_types)}, depth={self.depth}, level={self.level})"
        )

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "off": self.offset,
            "len": self.length,
            "raw": self.raw_size,
            "blobs": [[int(b.type), b.id, b.offset, b.length] for b in self.blobs],
        }
        if self.has_dictionary:
            document["dict"] = [[int(b.type), b.id] for b in self.dictionary]
            document["depth"] = self.depth
        if self.level is not None:
            document["lvl"] = self.level
        return document

    @classmethod
    def from_document(cls, document: Any, what: str) -> FrameEntry:
        frame_id = codec.field(document, "id", bytes, what)
        frame_offset = codec.field(document, "off", int, what)
        frame_length = codec.field(document, "len", int, what)
        raw_size = codec.field(document, "raw", int, what)
        codec.require(len(frame_id) == ID_SIZE and frame_offset >= 0, what)
        codec.require(frame_length >= SEAL_OVERHEAD and 0 <= raw_size <= MAX_FRAME_RAW, what)
        blobs: list[BlobEntry] = []
        end = 0
        for item in codec.field(document, "blobs", list, what):
            codec.require(isinstance(item, list) and len(item) == 4, what)
            kind, blob_id, offset, length = item
            codec.require(kind in (0, 1) and isinstance(blob_id, bytes), what)
            codec.require(len(blob_id) == ID_SIZE and isinstance(offset, int), what)
            codec.require(isinstance(length, int) and offset == end and length >= 0, what)
            end = offset + length
            blobs.append(BlobEntry(BlobType(kind), blob_id, offset, length))
        codec.require(end == raw_size, what)
        dictionary: list[BlobRef] = []
        depth = 0
        if "dict" in document:
            items = codec.field(document, "dict", list, what)
            depth = codec.field(document, "depth", int, what)
            codec.require(0 < len(items) <= MAX_DICT_BLOBS, what)
            codec.require(1 <= depth <= MAX_DICT_DEPTH, what)
            for item in items:
                codec.require(isinstance(item, list) and len(item) == 2, what)
                kind, blob_id = item
                codec.require(kind in (0, 1) and isinstance(blob_id, bytes), what)
                codec.require(len(blob_id) == ID_SIZE, what)
                dictionary.append(BlobRef(BlobType(kind), blob_id))
        else:
            codec.require("depth" not in document, what)
        level = None
        if "lvl" in document:
            level = codec.field(document, "lvl", int, what)
            codec.require(-(1 << 17) <= level <= 22, what)
        return cls(frame_id, frame_offset, frame_length, raw_size, blobs, dictionary, depth, level)

    @property
    def version(self) -> int:
        """The oldest pack header / index version that can describe this frame."""
        return 2 if self.has_dictionary else 1


class FrameBuilder:
    """Collects blobs for one frame, copied into one buffer as they come.

    One buffer, not the blobs' own: zstd compresses one contiguous input, so a list of the
    blobs was joined when the frame was sealed, and each frame in flight held its content
    twice (8 MiB more at a snapshot's peak with two workers).
    """

    def __init__(self) -> None:
        self.content = bytearray()
        self.blobs: list[BlobEntry] = []
        # (rank, id) of stored blobs the new ones may replace; rank 0 is the likeliest
        self.replaced: list[tuple[int, bytes]] = []

    @property
    def raw_size(self) -> int:
        return len(self.content)

    def add(self, blob_type: BlobType, blob_id: bytes, data: bytes | memoryview) -> None:
        self.blobs.append(BlobEntry(blob_type, blob_id, len(self.content), len(data)))
        self.content += data


@dataclass(frozen=True)
class Dictionary:
    """What a frame may be compressed against: blobs already stored, and their plaintexts."""

    blobs: list[BlobRef]
    content: bytes
    depth: int  # the depth the frame gets: 1 + the deepest frame holding one of the blobs


def seal_frame(
    keys: Keys,
    pieces: Sequence[bytes | bytearray | memoryview],
    blobs: list[BlobEntry],
    level: int,
    rng: Rng,
    dictionary: Dictionary | None = None,
) -> tuple[bytes, FrameEntry]:
    """Compress and seal a frame; the entry's offset is set when it is placed in a pack."""
    raw_size = sum(len(p) for p in pieces)
    entry = FrameEntry(b"", 0, 0, raw_size, list(blobs))
    if dictionary is not None and dictionary.blobs:
        compressed = zstdframe.compress(pieces, level, raw_size, dictionary.content)
        codec_id = codec.CODEC_ZSTD_DICT
        entry.dictionary, entry.depth = list(dictionary.blobs), dictionary.depth
    else:
        compressed = zstdframe.compress(pieces, level, raw_size)
        codec_id = codec.CODEC_ZSTD
    if len(compressed) < raw_size:
        plaintext = codec.contain(compressed, codec_id)
    else:
        plaintext = codec.contain(b"".join(pieces), codec.CODEC_RAW)
        entry.dictionary, entry.depth = [], 0
    del compressed
    entry.id = keys.object_id_of(ObjectType.FRAME, plaintext)
    sealed = seal(keys, ObjectType.FRAME, entry.id, plaintext, rng)
    entry.length = len(sealed)
    return sealed, entry


def open_frame(
    keys: Keys, entry: FrameEntry, sealed: bytes, dictionary: bytes | bytearray | None = None
) -> bytes:
    """Authenticate and decompress a frame; returns its content (all its blobs in order).

    A dictionary frame needs ``dictionary``: its dictionary blobs' plaintexts, concatenated.
    """
    what = f"frame {entry.id.hex()[:16]}"
    plaintext = unseal(keys, ObjectType.FRAME, entry.id, sealed)
    kind, body = codec.uncontain(plaintext, what)
    if (kind == codec.CODEC_ZSTD_DICT) != entry.has_dictionary:
        raise IntegrityError(f"{what} does not match its entry's dictionary")
    if kind == codec.CODEC_RAW:
        content = bytes(body)
    elif kind == codec.CODEC_ZSTD_DICT:
        if dictionary is None:
            raise IntegrityError(f"{what} needs its dictionary to be read")
        content = codec.decompress(body, entry.raw_size, what, dictionary)
    else:
        content = codec.decompress(body, entry.raw_size, what)
    if len(content) != entry.raw_size:
        raise IntegrityError(f"{what} holds {len(content)} bytes, not {entry.raw_size}")
    return content


def documents_version(frames: list[FrameEntry]) -> int:
    """The version a pack header or index document listing ``frames`` is written as."""
    return max((f.version for f in frames), default=1)


def build_pack(
    keys: Keys, body: bytearray, entries: list[FrameEntry], rng: Rng
) -> tuple[bytes, bytearray, list[FrameEntry]]:
    """Finish a pack whose ``body`` holds the sealed frames of ``entries`` back to back: set
    their offsets and append the padded, sealed header and the trailer, in place (a pack is
    several MiB, and each copy of it was that much more peak memory). Returns (pack id, file
    bytes, entries)."""
    offset = 0
    for entry in entries:
        entry.offset = offset
        offset += entry.length
    if offset != len(body):
        raise ValueError("a pack's frames do not fill its body")
    document = {"v": documents_version(entries), "frames": [e.to_document() for e in entries]}
    plaintext = padded(codec.encode_document(document), beside=offset + TRAILER_SIZE)
    pack_id = keys.object_id_of(ObjectType.PACK_HEADER, plaintext)
    sealed_header = seal(keys, ObjectType.PACK_HEADER, pack_id, plaintext, rng)
    body += sealed_header
    body += struct.pack("<I", len(sealed_header))
    return pack_id, body, entries


def parse_trailer(tail: bytes, pack_size: int, what: str) -> int:
    """From the last 4 bytes of a pack, the size of its sealed header."""
    if pack_size < TRAILER_SIZE + SEAL_OVERHEAD or len(tail) != TRAILER_SIZE:
        raise IntegrityError(f"{what} is too short to be a pack")
    header_size: int = struct.unpack("<I", tail)[0]
    if not SEAL_OVERHEAD <= header_size <= min(MAX_HEADER, pack_size - TRAILER_SIZE):
        raise IntegrityError(f"{what} has an impossible header size")
    return header_size


def open_pack_header(
    keys: Keys, pack_id: bytes, sealed_header: bytes, header_offset: int
) -> list[FrameEntry]:
    """Authenticate and parse a pack header; frames must tile the pack before the header."""
    what = f"pack {pack_id.hex()[:16]} header"
    plaintext = unseal(keys, ObjectType.PACK_HEADER, pack_id, sealed_header)
    document = codec.decode_document(plaintext, what)
    version = codec.check_version(document, what, DOCUMENT_VERSIONS)
    entries = [
        FrameEntry.from_document(d, what) for d in codec.field(document, "frames", list, what)
    ]
    codec.require(documents_version(entries) <= version, what)
    end = 0
    for entry in entries:
        codec.require(entry.offset == end, what)
        end += entry.length
    codec.require(end == header_offset, what)
    return entries
