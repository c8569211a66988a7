"""The index: which pack and frame hold each blob, kept in memory and stored as index files."""

from __future__ import annotations

from dataclasses import dataclass

from .. import codec
from ..crypto import ID_SIZE, SEAL_OVERHEAD, BlobType, Keys, ObjectType, Rng, padme, seal, unseal
from .pack import DOCUMENT_VERSIONS, FrameEntry, documents_version

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
    """Blob id -> location, over every pack that any index file lists."""

    def __init__(self) -> None:
        self.blobs: dict[bytes, BlobLocation] = {}
        self.packs: dict[bytes, list[FrameEntry]] = {}

    def add_pack(self, pack_id: bytes, frames: list[FrameEntry]) -> None:
        self.packs[pack_id] = frames
        for entry in frames:
            ref = FrameRef(pack_id, entry)
            for blob in entry.blobs:
                # Any authentic copy of a blob is as good as another; the one in the shallowest
                # frame wins (then the first listed), so dictionary chains stay short.
                known = self.blobs.get(blob.id)
                if known is None or entry.depth < known.frame.entry.depth:
                    self.blobs[blob.id] = BlobLocation(ref, blob.offset, blob.length, blob.type)

    def __contains__(self, blob_id: bytes) -> bool:
        return blob_id in self.blobs

    def get(self, blob_id: bytes) -> BlobLocation | None:
        return self.blobs.get(blob_id)

    def dictionary_frames(self) -> list[FrameEntry]:
        """Frames compressed against a dictionary, deepest first.

        Walking them in this order carries a use of a frame's blobs over to its dictionary's
        blobs, and on through their own frames, in one pass.
        """
        frames = [f for entries in self.packs.values() for f in entries if f.dictionary]
        return sorted(frames, key=lambda f: f.depth, reverse=True)

    def with_dictionaries(self, used: set[bytes]) -> set[bytes]:
        """``used`` plus every blob that reading them needs as (part of) a dictionary."""
        needed = set(used)
        for frame in self.dictionary_frames():
            if any(blob.id in needed for blob in frame.blobs):
                needed.update(ref.id for ref in frame.dictionary)
        return needed


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
    document = {
        "v": documents_version([f for frames in packs.values() for f in frames]),
        "packs": [
            {"id": pack_id, "frames": [f.to_document() for f in frames]}
            for pack_id, frames in packs.items()
        ],
    }
    unpadded = len(codec.encode_document(document)) + SEAL_OVERHEAD
    plaintext = codec.encode_document(document, padding=padme(unpadded) - unpadded)
    index_id = keys.object_id_of(ObjectType.INDEX, plaintext)
    return INDEX_PREFIX + index_id.hex(), seal(keys, ObjectType.INDEX, index_id, plaintext, rng)


def decode_index(keys: Keys, name: str, sealed: bytes) -> dict[bytes, list[FrameEntry]]:
    """Authenticate and parse one index file."""
    what = f"index {name}"
    index_id = id_of_name(name, INDEX_PREFIX, what)
    document = codec.decode_document(unseal(keys, ObjectType.INDEX, index_id, sealed), what)
    version = codec.check_version(document, what, DOCUMENT_VERSIONS)
    packs: dict[bytes, list[FrameEntry]] = {}
    for item in codec.field(document, "packs", list, what):
        pack_id = codec.field(item, "id", bytes, what)
        codec.require(len(pack_id) == ID_SIZE, what)
        frames = [
            FrameEntry.from_document(f, what) for f in codec.field(item, "frames", list, what)
        ]
        codec.require(documents_version(frames) <= version, what)
        packs[pack_id] = frames
    return packs


def id_of_name(name: str, prefix: str, what: str) -> bytes:
    """The object id encoded in a storage name like ``index/<hex>``."""
    try:
        object_id = bytes.fromhex(name[len(prefix) :])
    except ValueError:
        object_id = b""
    codec.require(name.startswith(prefix) and len(object_id) == ID_SIZE, what)
    return object_id
