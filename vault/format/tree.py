"""Pure model of a snapshot's tree: the source file described as an ordered list of parts.

Concatenating the rendering of every part gives back the source byte for byte:
- ``Literal``: bytes kept inline (zip headers, central directory, ...);
- ``Stream``: bytes stored as content-defined chunks;
- ``Deflated``: bytes re-created by compressing content with zlib parameters that were
  proven, at snapshot time, to reproduce the original compressed bytes. The content is a
  stream, or ``Reordered``: a CSV's rows stored in a stable order plus the order they came in
  (vault.ingest.rows).
A zip tree also lists its members, pointing at the part that holds each one's content.
See docs/FORMAT.md, "Trees".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lkvault.vault.errors import UnsupportedFormat
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import ID_SIZE

INLINE_CHUNKS = 1024


@dataclass(frozen=True, slots=True)
class ChunkRef:
    id: bytes
    length: int


@dataclass(frozen=True)
class ListRef:
    """A tree blob holding a run of ChunkRefs, for streams too long to list inline."""

    id: bytes
    count: int
    size: int


@dataclass(frozen=True)
class Stream:
    size: int
    chunks: tuple[ChunkRef, ...] = ()
    lists: tuple[ListRef, ...] = ()


@dataclass(frozen=True)
class Reordered:
    """Content stored in canonical row order; ``order`` holds the groups' original order."""

    content: Stream
    order: Stream

    @property
    def size(self) -> int:
        return self.content.size


Content = Stream | Reordered


@dataclass(frozen=True)
class Literal:
    data: bytes


@dataclass(frozen=True)
class Restart:
    """A block boundary of a deflate stream: its content offset and its bit offset."""

    content: int
    bit: int


MAX_RESTARTS = 1 << 16  # restart points a deflate part may hold


@dataclass(frozen=True)
class Deflated:
    """Raw deflate data recreated from its content: zlib(level, mem_level, strategy, wbits).

    ``restarts`` (format 4) cut the stream into segments that can be re-created on their own
    (vault/format/restarts.py); empty for a stream re-created in one piece.
    """

    content: Content
    level: int
    mem_level: int
    strategy: int
    wbits: int
    compressed_size: int
    restarts: tuple[Restart, ...] = ()


Part = Literal | Stream | Deflated


@dataclass(frozen=True)
class MemberEntry:
    """A zip member: its name, and the part holding its content (or compressed bytes)."""

    name: str
    part: int
    size: int
    crc32: int
    method: int
    compressed: bool  # True when the part holds the member's compressed bytes as stored
    cmac: bytes = b""  # keyed hash of the member's compressed bytes (unchanged-member shortcut)
    flags: int = 0  # the zip's general-purpose flags (bit 0: encrypted)

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 1)

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


@dataclass
class Tree:
    kind: str  # "file" or "zip"
    parts: list[Part]
    members: list[MemberEntry] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(part_size(p) for p in self.parts)


def member_mac_header(
    method: int, crc32: int, size: int, compressed_size: int, flags: int
) -> bytes:
    """What a member's keyed hash covers before its compressed bytes (docs/FORMAT.md, Trees)."""
    return f"{method}:{crc32}:{size}:{compressed_size}:{flags}".encode()


def content_streams(part: Part) -> tuple[Stream, ...]:
    """The streams of stored blobs a part is rendered from."""
    if isinstance(part, Literal):
        return ()
    if isinstance(part, Stream):
        return (part,)
    if isinstance(part.content, Reordered):
        return (part.content.content, part.content.order)
    return (part.content,)


def part_size(part: Part) -> int:
    """How many bytes of the source a part renders to."""
    if isinstance(part, Literal):
        return len(part.data)
    if isinstance(part, Stream):
        return part.size
    return part.compressed_size


# --- encoding ----------------------------------------------------------------------------------


def _stream_doc(stream: Stream) -> dict[str, Any]:
    doc: dict[str, Any] = {"t": "stream", "size": stream.size}
    if stream.lists:
        doc["lists"] = [[r.id, r.count, r.size] for r in stream.lists]
    else:
        doc["chunks"] = [[c.id, c.length] for c in stream.chunks]
    return doc


def _part_doc(part: Part) -> dict[str, Any]:
    if isinstance(part, Literal):
        return {"t": "lit", "data": part.data}
    if isinstance(part, Stream):
        return _stream_doc(part)
    content = part.content
    doc: dict[str, Any] = {
        "t": "deflate",
        "content": _stream_doc(content)
        if isinstance(content, Stream)
        else {
            "t": "rows",
            "size": content.size,
            "content": _stream_doc(content.content),
            "order": _stream_doc(content.order),
        },
        "params": [part.level, part.mem_level, part.strategy, part.wbits],
        "csize": part.compressed_size,
    }
    if part.restarts:
        doc["restarts"] = [[r.content, r.bit] for r in part.restarts]
    return doc


def _reorders(tree: Tree) -> bool:
    return any(isinstance(p, Deflated) and isinstance(p.content, Reordered) for p in tree.parts)


def _restarts(tree: Tree) -> bool:
    return any(isinstance(p, Deflated) and p.restarts for p in tree.parts)


def _version(tree: Tree) -> int:
    """3 with restart points, else 2 with reordered rows, else 1."""
    return 3 if _restarts(tree) else 2 if _reorders(tree) else 1


def encode_tree(tree: Tree) -> dict[str, Any]:
    """The tree document, at the lowest version that holds what it uses (`_version`)."""
    return {
        "v": _version(tree),
        "kind": tree.kind,
        "parts": [_part_doc(p) for p in tree.parts],
        "members": [
            [m.name, m.part, m.size, m.crc32, m.method, m.compressed, m.cmac, m.flags]
            for m in tree.members
        ],
    }


def _int(value: Any, what: str) -> int:
    codec.require(isinstance(value, int) and not isinstance(value, bool) and value >= 0, what)
    return int(value)


def _decode_stream(doc: Any, what: str) -> Stream:
    codec.require(isinstance(doc, dict) and doc.get("t") == "stream", what)
    size = _int(doc.get("size"), what)
    if "lists" in doc:
        lists = []
        for item in codec.field(doc, "lists", list, what):
            codec.require(isinstance(item, list) and len(item) == 3, what)
            codec.require(isinstance(item[0], bytes) and len(item[0]) == ID_SIZE, what)
            lists.append(ListRef(item[0], _int(item[1], what), _int(item[2], what)))
        codec.require(sum(r.size for r in lists) == size, what)
        return Stream(size, lists=tuple(lists))
    return Stream(size, chunks=decode_chunk_list(codec.field(doc, "chunks", list, what), what))


def decode_chunk_list(items: Any, what: str) -> tuple[ChunkRef, ...]:
    codec.require(isinstance(items, list), what)
    chunks = []
    for item in items:
        codec.require(isinstance(item, list) and len(item) == 2, what)
        codec.require(isinstance(item[0], bytes) and len(item[0]) == ID_SIZE, what)
        chunks.append(ChunkRef(item[0], _int(item[1], what)))
    return tuple(chunks)


def _decode_part(doc: Any, what: str) -> Part:
    codec.require(isinstance(doc, dict), what)
    kind = doc.get("t")
    if kind == "lit":
        return Literal(codec.field(doc, "data", bytes, what))
    if kind == "stream":
        stream = _decode_stream(doc, what)
        if not stream.lists:
            codec.require(sum(c.length for c in stream.chunks) == stream.size, what)
        return stream
    if kind == "deflate":
        params = codec.field(doc, "params", list, what)
        codec.require(len(params) == 4 and all(isinstance(p, int) for p in params), what)
        level, mem_level, strategy, wbits = params
        codec.require(0 <= level <= 9 and 1 <= mem_level <= 9 and 0 <= strategy <= 4, what)
        codec.require(-15 <= wbits <= -9, what)
        content = _decode_content(doc.get("content"), what)
        csize = _int(doc.get("csize"), what)
        restarts = _decode_restarts(doc.get("restarts", []), content.size, csize, what)
        codec.require(not restarts or 1 <= level <= 9, what)
        return Deflated(content, level, mem_level, strategy, wbits, csize, restarts)
    raise UnsupportedFormat(f"{what}: unknown part type {kind!r}")


def _decode_restarts(items: Any, size: int, csize: int, what: str) -> tuple[Restart, ...]:
    """Restart points strictly inside the content and the stream, both offsets increasing."""
    codec.require(isinstance(items, list) and len(items) <= MAX_RESTARTS, what)
    restarts = []
    last = Restart(0, 0)
    for item in items:
        codec.require(isinstance(item, list) and len(item) == 2, what)
        point = Restart(_int(item[0], what), _int(item[1], what))
        codec.require(last.content < point.content < size and last.bit < point.bit, what)
        codec.require(point.bit < 8 * csize, what)
        restarts.append(point)
        last = point
    return tuple(restarts)


def _decode_content(doc: Any, what: str) -> Content:
    if not (isinstance(doc, dict) and doc.get("t") == "rows"):
        return _decode_stream(doc, what)
    content = _decode_stream(doc.get("content"), what)
    codec.require(_int(doc.get("size"), what) == content.size, what)
    return Reordered(content, _decode_stream(doc.get("order"), what))


def decode_tree(doc: Any, what: str) -> Tree:
    version = codec.check_version(doc, what, (1, 2, 3))
    kind = codec.field(doc, "kind", str, what)
    codec.require(kind in ("file", "zip"), what)
    parts = [_decode_part(p, what) for p in codec.field(doc, "parts", list, what)]
    members = []
    for item in doc.get("members") or []:
        codec.require(isinstance(item, list) and len(item) == 8, what)
        name, part, size, crc, method, compressed, cmac, flags = item
        codec.require(isinstance(name, str) and isinstance(compressed, bool), what)
        codec.require(isinstance(cmac, bytes), what)
        codec.require(isinstance(part, int) and 0 <= part < len(parts), what)
        members.append(
            MemberEntry(
                name,
                part,
                _int(size, what),
                _int(crc, what),
                _int(method, what),
                compressed,
                cmac,
                _int(flags, what),
            )
        )
    tree = Tree(kind, parts, members)
    codec.require(version >= 2 or not _reorders(tree), what)
    codec.require(version >= 3 or not _restarts(tree), what)
    return tree
