"""Pure encodings of stored plaintexts: msgpack documents, zstd bodies and zero padding.

An object's plaintext is ``codec (1 byte) || body length (u32le) || body || zero padding``;
see docs/FORMAT.md, "Plaintext container". Decoding is strict: every check failure is an
IntegrityError, because a plaintext that authenticated but does not parse is hostile.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import msgpack
import zstandard
from lkvault.vault.errors import IntegrityError, UnsupportedFormat
from lkvault.vault.format import zstdframe

CODEC_RAW = 0
CODEC_ZSTD = 1
CODEC_ZSTD_DICT = 2  # zstd against a raw-content dictionary named by the frame's entry
CODECS = (CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DICT)
CONTAINER_HEADER = 5

# Stored documents and frames never decompress beyond this; a larger claim is hostile.
MAX_DECODED_SIZE = 256 * 1024 * 1024
READ_STEP = 64 * 1024  # what a document_unpacker reads at a time


def pack_document(document: Any) -> bytes:
    """Canonical msgpack of a document (bin type for bytes, str for text)."""
    packed: bytes = msgpack.packb(document, use_bin_type=True)
    return packed


def pack_document_streamed(
    fields: dict[str, Any], key: str, count: int, items: Iterable[Any]
) -> bytearray:
    """pack_document of ``{**fields, key: [the count items]}``, the same bytes, with the
    items packed one at a time: the index of three years of 300 MB exports is tens of MB as
    Python objects at once, for a few MB of msgpack."""
    packer = msgpack.Packer(use_bin_type=True)
    packed = bytearray(packer.pack_map_header(len(fields) + 1))
    for name, value in fields.items():
        packed += packer.pack(name)
        packed += packer.pack(value)
    packed += packer.pack(key)
    packed += packer.pack_array_header(count)
    written = 0
    for item in items:
        packed += packer.pack(item)
        written += 1
    if written != count:
        raise ValueError(f"{written} items packed where {count} were announced")
    return packed


_PARSE_ERRORS = (
    ValueError,
    TypeError,
    msgpack.ExtraData,
    msgpack.FormatError,
    msgpack.StackError,
    msgpack.OutOfData,
)


def unpack_document(data: bytes | memoryview, what: str) -> Any:
    """Parse msgpack strictly: one document, no trailing bytes, bounded sizes."""
    if len(data) > MAX_DECODED_SIZE:
        raise IntegrityError(f"{what} is implausibly large")
    with parsing(what):
        return msgpack.unpackb(data, raw=False, strict_map_key=False)


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Turn msgpack's parse errors inside the block into IntegrityError."""
    try:
        yield
    except _PARSE_ERRORS as exc:
        raise IntegrityError(f"{what} is not a valid document ({exc.__class__.__name__})") from None


def document_unpacker(data: bytes, what: str) -> msgpack.Unpacker:
    """A msgpack reader over ``data`` that parses a document piece by piece, so a large one
    need not exist whole as Python objects (the index: 8 MiB of them for a year of 300 MB
    exports). Read it inside ``parsing``; a whole document ends where ``data`` does
    (``tell() == len(data)``)."""
    if len(data) > MAX_DECODED_SIZE:
        raise IntegrityError(f"{what} is implausibly large")
    # Read in small steps: the reader's buffer grows to the largest item, not to the document.
    limit = max(len(data), 1)  # what unpack_document would accept from the same bytes
    return msgpack.Unpacker(
        io.BytesIO(data),
        raw=False,
        strict_map_key=False,
        max_buffer_size=limit,
        read_size=min(READ_STEP, limit),
    )


def compress(data: bytes | bytearray | memoryview, level: int) -> bytes:
    """One zstd frame with its content size recorded."""
    return zstandard.ZstdCompressor(level=level, write_content_size=True).compress(data)


def _raw_dictionary(dictionary: bytes | bytearray) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def decompress(
    data: bytes | memoryview,
    expected_size: int,
    what: str,
    dictionary: bytes | bytearray | None = None,
) -> bytes:
    """Decompress one zstd frame that must yield exactly ``expected_size`` bytes."""
    if expected_size > MAX_DECODED_SIZE:
        raise IntegrityError(f"{what} claims {expected_size} bytes, over the limit")
    if dictionary and zstdframe.prefix_reads_available():
        try:
            return zstdframe.decompress_with_prefix(data, expected_size, dictionary)
        except zstandard.ZstdError:
            raise IntegrityError(f"{what} does not decompress") from None
    decompressor = (
        zstandard.ZstdDecompressor(dict_data=_raw_dictionary(dictionary))
        if dictionary
        else zstandard.ZstdDecompressor()
    )
    try:
        out = decompressor.decompress(data, max_output_size=expected_size)
    except zstandard.ZstdError:
        raise IntegrityError(f"{what} does not decompress") from None
    if len(out) != expected_size:
        raise IntegrityError(f"{what} decompresses to {len(out)} bytes, not {expected_size}")
    return out


def contain(body: bytes, codec: int, padding: int = 0) -> bytes:
    """Wrap a body in the plaintext container, followed by ``padding`` zero bytes."""
    return struct.pack("<BI", codec, len(body)) + body + bytes(padding)


def container_size(body_length: int) -> int:
    """Size of a container holding ``body_length`` bytes of body and no padding."""
    return CONTAINER_HEADER + body_length


def uncontain(plaintext: bytes, what: str) -> tuple[int, memoryview]:
    """Split a container into (codec, body); the padding must be all zero."""
    if len(plaintext) < CONTAINER_HEADER:
        raise IntegrityError(f"{what} is too short")
    codec, length = struct.unpack_from("<BI", plaintext)
    if codec not in CODECS:
        raise UnsupportedFormat(f"{what} uses unknown codec {codec}")
    end = CONTAINER_HEADER + length
    if end > len(plaintext):
        raise IntegrityError(f"{what} body overruns its object")
    if plaintext[end:].count(0) != len(plaintext) - end:
        raise IntegrityError(f"{what} has non-zero padding")
    return codec, memoryview(plaintext)[CONTAINER_HEADER:end]


def encode_document(document: Any, level: int = 3, padding: int = 0) -> bytes:
    """A msgpack document, zstd-compressed, in a container with ``padding`` zero bytes."""
    return encode_packed(pack_document(document), level, padding)


def encode_packed(raw: bytes | bytearray, level: int = 3, padding: int = 0) -> bytes:
    """encode_document of a document packed already (``pack_document``)."""
    return contain(struct.pack("<I", len(raw)) + compress(raw, level), CODEC_ZSTD, padding)


def decode_document(plaintext: bytes, what: str) -> Any:
    """Inverse of encode_document."""
    return unpack_document(document_bytes(plaintext, what), what)


def document_bytes(plaintext: bytes, what: str) -> bytes:
    """The msgpack bytes of an encoded document (decode_document without the parse)."""
    codec, body = uncontain(plaintext, what)
    if codec == CODEC_RAW:
        return bytes(body)
    if codec != CODEC_ZSTD:
        raise IntegrityError(f"{what} uses codec {codec}, which documents never use")
    if len(body) < 4:
        raise IntegrityError(f"{what} is too short")
    (size,) = struct.unpack_from("<I", body)
    return decompress(body[4:], size, what)


def require(condition: bool, what: str) -> None:
    """Raise IntegrityError unless a parsed document has the expected shape."""
    if not condition:
        raise IntegrityError(f"{what} is malformed")


def field(document: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """A typed field of a parsed document, or IntegrityError."""
    require(isinstance(document, dict) and key in document, what)
    value = document[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise IntegrityError(f"{what}: field {key!r} has the wrong type")
    return value


def check_version(document: Any, what: str, readable: tuple[int, ...] = (1,)) -> int:
    """Refuse documents of a version this build cannot read; returns the version."""
    version: int = field(document, "v", int, what)
    if version not in readable:
        known = " and ".join(str(v) for v in readable)
        raise UnsupportedFormat(f"{what} has format version {version}; this lkvault reads {known}")
    return version
