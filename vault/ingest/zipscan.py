"""Read a zip's structure into members and literal regions, refusing corrupt zips and zip bombs.

The file is read only through `read_at(offset, length) -> bytes`; only the central directory is
read whole (at most `ZipLimits.max_central_directory` bytes), plus each member's local header and
data descriptor.  The central directory is the authority for the member list.  `scan_zip` returns
a `ZipLayout` whose items cover the file exactly, in file order: each `Member` stands for its
compressed data `[data_offset, data_offset + compressed_size)`, and each `Region` for bytes kept
literally (local headers, data descriptors, the central directory, end records, comments,
prepended stubs, gaps).  Concatenating the items' bytes gives the file back.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from lkvault.vault.errors import BadInput
from lkvault.vault.printable import printable

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
EOCD_SIG = b"PK\x05\x06"
EOCD64_SIG = b"PK\x06\x06"
LOCATOR_SIG = b"PK\x06\x07"
DESCRIPTOR_SIG = b"PK\x07\x08"

FLAG_ENCRYPTED = 0x0001
FLAG_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800
FLAG_MASKED_HEADER = 0x2000  # strong encryption: local header values are masked
METHOD_STORED = 0
METHOD_DEFLATED = 8
METHOD_AES = 99
RATIO_FLOOR = 1 << 20  # the ratio limit applies only above this uncompressed size

_METHOD_NAMES = {
    1: "shrink",
    6: "implode",
    9: "deflate64",
    12: "bzip2",
    14: "lzma",
    93: "zstd",
    95: "xz",
    96: "jpeg",
    97: "wavpack",
    98: "ppmd",
    99: "aes",
}
_U16, _U32 = 0xFFFF, 0xFFFFFFFF

ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True)
class ZipLimits:
    """Refusal thresholds; all sizes are the sizes the zip declares (and deflate.py enforces)."""

    max_members: int = 100_000
    max_member_size: int = 8 * 2**30  # uncompressed bytes per member
    max_total_size: int = 32 * 2**30  # uncompressed bytes, all members
    max_ratio: int = 1000  # uncompressed/compressed per member, checked above 1 MiB uncompressed
    max_central_directory: int = 64 * 2**20  # bytes of central directory read into memory


@dataclass(frozen=True)
class Member:
    """One central-directory entry, with where its compressed data sits in the file."""

    index: int  # position in the central directory
    name: str
    raw_name: bytes
    method: int
    flags: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    data_offset: int  # where the compressed bytes start in the file
    encrypted: bool


@dataclass(frozen=True)
class Region:
    """Bytes kept literally: [offset, offset + length)."""

    offset: int
    length: int


@dataclass
class ZipLayout:
    items: list[Region | Member]  # in file order, covering [0, size) exactly with no overlap
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _End:
    entries: int
    cd_size: int
    cd_offset: int  # as declared, before correcting for prepended data
    records_start: int  # first byte of the end records (zip64 record or classic record)


def quote_name(name: str, limit: int = 120) -> str:
    """A member name quoted for a one-line message: control characters escaped, long names cut."""
    shown = printable(name)
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return f"'{shown}'"


def format_size(n: int) -> str:
    """Bytes in binary units, e.g. '8 GiB', '9.1 GiB', '512 bytes'."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            break
    return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"


def scan_zip(read_at: ReadAt, size: int, limits: ZipLimits = ZipLimits()) -> ZipLayout | None:
    """The layout of the zip in [0, size), or None if it has no end-of-central-directory record."""
    end = _find_end(read_at, size)
    if end is None:
        if size >= 4 and read_at(0, 4) == LOCAL_SIG:
            raise BadInput("truncated zip: it starts with a zip member but has no end record")
        return None
    if end.entries > limits.max_members:
        raise BadInput(f"zip has {end.entries} members, over the limit of {limits.max_members}")
    if end.cd_size > limits.max_central_directory:
        raise BadInput(
            f"zip central directory is {format_size(end.cd_size)}, over the "
            f"{format_size(limits.max_central_directory)} limit"
        )
    if end.entries * 46 > end.cd_size:
        raise BadInput(
            f"corrupt zip: a {end.cd_size}-byte central directory cannot hold {end.entries} entries"
        )
    cd_start, shift = _locate_central_directory(read_at, end)
    central = _exact(read_at, size, cd_start, end.cd_size, "the central directory")
    warnings: list[str] = []
    entries = _parse_central_directory(central, end.entries, warnings)
    members, spans = [], []
    for entry in entries:
        member, span_end = _read_local(read_at, size, entry, shift, warnings)
        members.append(member)
        spans.append((entry.header_offset + shift, span_end, member))
    _check_layout(spans, cd_start)
    _check_limits(members, limits)
    _warn_names(members, warnings)
    return ZipLayout(_items(members, size), warnings)


# --- end records -------------------------------------------------------------------------------


def _find_end(read_at: ReadAt, size: int) -> _End | None:
    tail_len = min(size, 22 + _U16)
    if tail_len < 22:
        return None
    base = size - tail_len
    tail = _exact(read_at, size, base, tail_len, "the end of the file")
    spots, pos = [], tail.rfind(EOCD_SIG, 0, tail_len - 18)
    while pos >= 0:
        spots.append(pos)
        pos = tail.rfind(EOCD_SIG, 0, pos)
    for pos in spots:  # the record whose comment ends the file
        if base + pos + 22 + struct.unpack_from("<H", tail, pos + 20)[0] == size:
            return _parse_end(read_at, size, base + pos, tail[pos : pos + 22])
    for pos in spots:  # else trailing bytes, a cut comment, or a signature by accident
        try:
            end = _parse_end(read_at, size, base + pos, tail[pos : pos + 22])
        except BadInput:
            continue
        if base + pos + 22 + struct.unpack_from("<H", tail, pos + 20)[0] > size:
            raise BadInput("truncated zip: the archive comment is cut short")
        return end
    return None


def _parse_end(read_at: ReadAt, size: int, pos: int, record: bytes) -> _End:
    disk, cd_disk, disk_entries, entries, cd_size, cd_offset, _ = struct.unpack_from(
        "<HHHHIIH", record, 4
    )
    if pos >= 20:
        locator = read_at(pos - 20, 20)
        if locator[:4] == LOCATOR_SIG:
            return _parse_end64(read_at, size, pos - 20, locator)
    if _U16 in (entries, disk_entries) or _U32 in (cd_size, cd_offset):
        raise BadInput("corrupt zip: zip64 end record expected but its locator is missing")
    if disk != 0 or cd_disk != 0 or disk_entries != entries:
        raise BadInput("multi-disk (split) zip archives are not supported")
    if cd_offset + cd_size > pos:
        raise BadInput("corrupt zip: the central directory lies outside the file")
    return _End(entries, cd_size, cd_offset, pos)


def _parse_end64(read_at: ReadAt, size: int, locator_pos: int, locator: bytes) -> _End:
    _, record_offset, disks = struct.unpack_from("<IQI", locator, 4)
    if disks > 1:
        raise BadInput("multi-disk (split) zip archives are not supported")
    spots = [record_offset, locator_pos - 56]  # as declared, or right before the locator
    for spot in spots:
        if 0 <= spot <= locator_pos - 56:
            record = read_at(spot, 56)
            if record[:4] == EOCD64_SIG:
                break
    else:
        raise BadInput("corrupt zip: the zip64 end-of-central-directory record is missing")
    disk, cd_disk, disk_entries, entries, cd_size, cd_offset = struct.unpack_from(
        "<IIQQQQ", record, 16
    )
    if disk != 0 or cd_disk != 0 or disk_entries != entries:
        raise BadInput("multi-disk (split) zip archives are not supported")
    if cd_offset + cd_size > spot:
        raise BadInput("corrupt zip: the central directory lies outside the file")
    return _End(entries, cd_size, cd_offset, spot)


def _locate_central_directory(read_at: ReadAt, end: _End) -> tuple[int, int]:
    """(absolute start of the central directory, shift applied to every declared offset)."""
    if end.entries == 0 or read_at(end.cd_offset, 4) == CENTRAL_SIG:
        return end.cd_offset, 0
    # Data prepended without fixing the offsets (e.g. `cat stub.sh archive.zip`): the central
    # directory then ends where the end records begin.
    shift = end.records_start - end.cd_size - end.cd_offset
    if shift > 0 and read_at(end.cd_offset + shift, 4) == CENTRAL_SIG:
        return end.cd_offset + shift, shift
    raise BadInput(
        f"corrupt zip: no central directory at offset {end.cd_offset} where the end record puts it"
    )


# --- central directory and local headers --------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    index: int
    name: str
    raw_name: bytes
    flags: int
    method: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    header_offset: int  # as declared


def _parse_central_directory(buf: bytes, count: int, warnings: list[str]) -> list[_Entry]:
    entries, p = [], 0
    for i in range(count):
        if p + 46 > len(buf) or buf[p : p + 4] != CENTRAL_SIG:
            raise BadInput(
                f"corrupt zip: central directory entry {i + 1:,} of {count:,} is damaged"
            )
        fields = struct.unpack_from("<HHHHHHIIIHHHHHII", buf, p + 4)
        made_by, _, flags, method, _, _, crc, csize, usize, n_len, e_len, c_len, disk = fields[:13]
        offset = fields[15]
        raw_name = buf[p + 46 : p + 46 + n_len]
        extra = buf[p + 46 + n_len : p + 46 + n_len + e_len]
        p += 46 + n_len + e_len + c_len
        if p > len(buf):
            raise BadInput(
                f"corrupt zip: central directory entry {i + 1:,} of {count:,} is damaged"
            )
        name = _decode_name(raw_name, flags, made_by >> 8, extra, warnings)
        usize, csize, offset, disk = _zip64_values(
            extra, [usize, csize, offset, disk], [_U32, _U32, _U32, _U16], name
        )
        if disk != 0:
            raise BadInput("multi-disk (split) zip archives are not supported")
        entries.append(_Entry(i, name, raw_name, flags, method, crc, csize, usize, offset))
    return entries


def _extra_fields(extra: bytes) -> dict[int, bytes]:
    fields: dict[int, bytes] = {}
    q = 0
    while q + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, q)
        if q + 4 + length > len(extra):
            break  # padding or a damaged trailing field: ignore it
        fields.setdefault(tag, extra[q + 4 : q + 4 + length])
        q += 4 + length
    return fields


def _zip64_values(extra: bytes, values: list[int], masks: list[int], name: str) -> list[int]:
    """Replace the fields that are at their maximum with the zip64 extra field's values."""
    data = _extra_fields(extra).get(0x0001)
    if data is None:
        return values
    out, q = list(values), 0
    for i, (value, mask) in enumerate(zip(values, masks, strict=True)):
        if value != mask:
            continue
        width = 8 if mask == _U32 else 4
        if q + width > len(data):
            raise BadInput(
                f"corrupt zip: the zip64 field of member {quote_name(name)} is too short"
            )
        out[i] = int.from_bytes(data[q : q + width], "little")
        q += width
    return out


def _decode_name(raw: bytes, flags: int, host: int, extra: bytes, warnings: list[str]) -> str:
    """UTF-8 if flagged or given in an Info-ZIP Unicode Path field, else cp437.

    One exception: names made on Unix or macOS (host 3 or 19) without the flag are read as UTF-8
    when they decode as UTF-8, as Info-ZIP's zip 3.0 writes them and its unzip reads them.
    """
    if flags & FLAG_UTF8:
        name = raw.decode("utf-8", "replace")
        if "\ufffd" in name and "\ufffd".encode() not in raw:
            warnings.append(f"member {quote_name(name)}: name is not valid UTF-8 as flagged")
        return name
    unicode_path = _extra_fields(extra).get(0x7075)  # Info-ZIP Unicode Path extra field
    if (
        unicode_path
        and len(unicode_path) > 5
        and unicode_path[0] == 1
        and struct.unpack_from("<I", unicode_path, 1)[0] == zlib.crc32(raw)
    ):
        return unicode_path[5:].decode("utf-8", "replace")
    if host in (3, 19):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return raw.decode("cp437")


def _read_local(
    read_at: ReadAt, size: int, e: _Entry, shift: int, warnings: list[str]
) -> tuple[Member, int]:
    """The member, and where its local record (header, data, descriptor) ends."""
    shown, at = quote_name(e.name), e.header_offset + shift
    header = _exact(read_at, size, at, 30, f"the local header of member {shown}")
    if header[:4] != LOCAL_SIG:
        raise BadInput(f"corrupt zip: member {shown} has no local header at offset {at}")
    flags, method, _, _, crc, csize, usize, n_len, e_len = struct.unpack_from(
        "<HHHHIIIHH", header, 6
    )
    rest = _exact(read_at, size, at + 30, n_len + e_len, f"the local header of member {shown}")
    if rest[:n_len] != e.raw_name:
        shown_local = quote_name(rest[:n_len].decode("cp437"))
        warnings.append(f"member {shown}: its local header names it {shown_local}; ignored")
    if method != e.method:
        raise BadInput(
            f"corrupt zip: member {shown} has compression method {method} in its local header "
            f"but {e.method} in the central directory"
        )
    local_extra = rest[n_len:]
    zip64 = _extra_fields(local_extra).get(0x0001)
    if zip64 is not None and len(zip64) >= 16 and _U32 in (usize, csize):
        usize, csize = struct.unpack_from("<QQ", zip64)  # a local zip64 field holds both
    else:
        usize, csize = _zip64_values(local_extra, [usize, csize], [_U32, _U32], e.name)
    data_offset = at + 30 + n_len + e_len
    data_end = data_offset + e.compressed_size
    if data_end > size:
        raise BadInput(f"truncated zip: the data of member {shown} runs past the end of the file")
    if not e.flags & FLAG_MASKED_HEADER:
        descriptor = bool(flags & FLAG_DESCRIPTOR)
        _check_local_values(e, (crc, csize, usize), lenient=descriptor)
        if descriptor:
            prefer64 = zip64 is not None
            data_end += _descriptor_length(read_at, size, data_end, e, prefer64)
    encrypted = bool(e.flags & FLAG_ENCRYPTED) or e.method == METHOD_AES
    member = Member(
        e.index, e.name, e.raw_name, e.method, e.flags, e.crc32,
        e.compressed_size, e.uncompressed_size, data_offset, encrypted,
    )  # fmt: skip
    return member, data_end


def _check_local_values(e: _Entry, local: tuple[int, int, int], lenient: bool) -> None:
    """Local header CRC and sizes must equal the central directory's (if set, with a descriptor)."""
    central = (e.crc32, e.compressed_size, e.uncompressed_size)
    for what, mine, theirs in zip(
        ("CRC-32", "compressed size", "size"), local, central, strict=True
    ):
        if mine != theirs and not (lenient and mine in (0, _U32)):
            raise BadInput(
                f"corrupt zip: member {quote_name(e.name)} has {what} {mine} in its local header "
                f"but {theirs} in the central directory"
            )


def _descriptor_length(read_at: ReadAt, size: int, at: int, e: _Entry, prefer64: bool) -> int:
    """Length of the data descriptor at `at` whose values match the central directory."""
    buf = read_at(at, min(24, size - at))
    layouts = [(True, 4), (False, 4), (True, 8), (False, 8)]  # (signature?, size width)
    if prefer64:
        layouts = layouts[2:] + layouts[:2]
    for signed, width in layouts:
        p = 4 if signed else 0
        length = p + 4 + 2 * width
        if len(buf) < length or (signed and buf[:4] != DESCRIPTOR_SIG):
            continue
        fmt = "<IQQ" if width == 8 else "<III"
        if struct.unpack_from(fmt, buf, p) == (e.crc32, e.compressed_size, e.uncompressed_size):
            return length
    raise BadInput(
        f"corrupt zip: the data descriptor of member {quote_name(e.name)} is missing or "
        "disagrees with the central directory"
    )


# --- checks and layout --------------------------------------------------------------------------


def _check_layout(spans: list[tuple[int, int, Member]], cd_start: int) -> None:
    spans = sorted(spans, key=lambda s: (s[0], s[1]))
    for (_, prev_end, prev), (start, _, member) in zip(spans, spans[1:], strict=False):
        if start < prev_end:
            raise BadInput(
                f"corrupt zip: members {quote_name(prev.name)} and {quote_name(member.name)} "
                "overlap (a damaged zip, or a zip bomb made of overlapping entries)"
            )
    for _, end, member in spans:
        if end > cd_start:
            raise BadInput(
                f"corrupt zip: member {quote_name(member.name)} overlaps the central directory"
            )


def _check_limits(members: list[Member], limits: ZipLimits) -> None:
    total = 0
    for m in members:
        shown, usize, csize = quote_name(m.name), m.uncompressed_size, m.compressed_size
        if usize > limits.max_member_size:
            raise BadInput(
                f"member {shown} would expand to {format_size(usize)}, over the "
                f"{format_size(limits.max_member_size)} per-member limit"
            )
        if usize > RATIO_FLOOR and usize > limits.max_ratio * csize:
            raise BadInput(
                f"member {shown} would expand {format_size(csize)} to {format_size(usize)} "
                f"(ratio {usize // max(csize, 1)}:1), over the {limits.max_ratio}:1 limit; "
                "refused as a possible zip bomb"
            )
        if m.method == METHOD_STORED and not m.encrypted and usize != csize:
            raise BadInput(
                f"corrupt zip: member {shown} is stored uncompressed but declares "
                f"{csize} compressed and {usize} uncompressed bytes"
            )
        total += usize
    if total > limits.max_total_size:
        raise BadInput(
            f"zip would expand to {format_size(total)} in all, over the "
            f"{format_size(limits.max_total_size)} total limit"
        )


def unsafe_path(name: str) -> str | None:
    """Why a member name must not be extracted (absolute, drive letter, backslash, '..',
    empty or NUL), or None for a safe one."""
    if name.startswith(("/", "\\")):
        return "is an absolute path"
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        return "starts with a drive letter"
    if "\\" in name:
        return "contains a backslash"
    if ".." in name.split("/"):
        return "has a '..' component"
    if "\x00" in name or not name:
        return "is empty or contains a NUL character"
    return None


def _warn_names(members: list[Member], warnings: list[str]) -> None:
    seen: dict[str, int] = {}
    for m in members:
        shown = quote_name(m.name)
        if m.name in seen:
            warnings.append(
                f"duplicate member name {shown} (entries {seen[m.name] + 1} and {m.index + 1}); "
                "both kept in the archive"
            )
        seen.setdefault(m.name, m.index)
        problem = unsafe_path(m.name)
        if problem:
            warnings.append(
                f"member name {shown} {problem}; kept in the archive; will not be extracted"
            )
        if m.encrypted:
            warnings.append(f"member {shown} is encrypted; kept as stored compressed bytes")
        elif m.method not in (METHOD_STORED, METHOD_DEFLATED):
            method = _METHOD_NAMES.get(m.method, "unknown")
            warnings.append(
                f"member {shown} uses compression method {m.method} ({method}); "
                "kept as stored compressed bytes"
            )


def _items(members: list[Member], size: int) -> list[Region | Member]:
    items: list[Region | Member] = []
    pos = 0
    for m in sorted(members, key=lambda m: (m.data_offset, m.index)):
        if m.data_offset > pos:
            items.append(Region(pos, m.data_offset - pos))
        items.append(m)
        pos = m.data_offset + m.compressed_size
    if size > pos:
        items.append(Region(pos, size - pos))
    return items


def _exact(read_at: ReadAt, size: int, offset: int, length: int, what: str) -> bytes:
    if offset < 0 or offset + length > size:
        raise BadInput(f"truncated zip: {what} lies outside the file")
    data = bytes(read_at(offset, length))
    if len(data) != length:
        raise BadInput(f"truncated zip: could not read {what} ({len(data)} of {length} bytes)")
    return data
