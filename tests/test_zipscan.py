"""Tests of vault.ingest.zipscan: layouts of real producers' zips, and refusal of bad zips."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lkvault.vault.errors import BadInput
from lkvault.vault.ingest.deflate import MemberReader
from lkvault.vault.ingest.zipscan import Member, Region, ZipLayout, ZipLimits, scan_zip
from zipmakers import (
    ARCHIVE_COMMENT,
    PRODUCERS,
    SFX_STUB,
    Crafted,
    cached_zip,
    craft_zip,
    csv_bytes,
    deflated,
    missing_tool,
    standard_members,
    zeros_stream,
)


def scan_bytes(data: bytes, limits: ZipLimits | None = None) -> ZipLayout | None:
    def read_at(offset: int, length: int) -> bytes:
        return data[offset : offset + length]

    return scan_zip(read_at, len(data), limits or ZipLimits())


def scan_file(path: Path) -> tuple[ZipLayout | None, int]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        return scan_zip(lambda offset, length: os.pread(f.fileno(), length, offset), size), size


def producer_zip(producer: str) -> Path:
    reason = missing_tool(producer)
    if reason:
        pytest.skip(reason)
    return cached_zip(producer)


def members_of(layout: ZipLayout) -> list[Member]:
    return sorted((i for i in layout.items if isinstance(i, Member)), key=lambda m: m.index)


def assert_covers(layout: ZipLayout, size: int) -> None:
    """Items are in file order and cover [0, size) exactly, without overlap."""
    pos = 0
    for item in layout.items:
        start = item.offset if isinstance(item, Region) else item.data_offset
        length = item.length if isinstance(item, Region) else item.compressed_size
        assert start == pos, item
        assert length >= 0
        pos += length
    assert pos == size


# --- real producers -----------------------------------------------------------------------------


@pytest.mark.parametrize("producer", sorted(PRODUCERS))
def test_layout_of_each_producer(producer: str) -> None:
    path = producer_zip(producer)
    layout, size = scan_file(path)
    assert layout is not None
    assert_covers(layout, size)
    assert layout.warnings == []
    expected = {name: data for name, data in standard_members()}
    members = members_of(layout)
    assert {m.name for m in members} == set(expected)
    data = path.read_bytes()
    for m in members:
        content = expected[m.name] or b""
        assert (m.uncompressed_size, m.crc32) == (len(content), zlib.crc32(content)), m.name
        assert not m.encrypted
        raw = data[m.data_offset : m.data_offset + m.compressed_size]
        if m.method == 0:
            assert raw == content
        else:
            assert m.method == 8
            assert zlib.decompress(raw, -15) == content
    # Regions are everything else: the local headers sit right before each member's data.
    for item in layout.items:
        if isinstance(item, Member):
            assert data[: item.data_offset].rfind(b"PK\x03\x04") >= item.data_offset - 30 - 200


def test_sfx_stub_is_the_first_region() -> None:
    layout, _ = scan_file(producer_zip("python-sfx"))
    assert layout is not None
    first = layout.items[0]
    assert isinstance(first, Region) and first.offset == 0
    assert first.length >= len(SFX_STUB) + 30


def test_comment_with_end_signature_inside() -> None:
    path = producer_zip("python-comment")
    assert ARCHIVE_COMMENT.endswith(b"\n") and b"PK\x05\x06" in ARCHIVE_COMMENT
    layout, size = scan_file(path)
    assert layout is not None and len(members_of(layout)) == len(standard_members())
    last = layout.items[-1]
    assert isinstance(last, Region) and last.offset + last.length == size


def test_central_directory_order_differs_from_file_order() -> None:
    a, b = deflated("a.csv", csv_bytes(5000, 1)), deflated("b.csv", csv_bytes(5000, 2))
    data = craft_zip([a, b], central=[1, 0])
    layout = scan_bytes(data)
    assert layout is not None
    file_order = [i.name for i in layout.items if isinstance(i, Member)]
    assert file_order == ["a.csv", "b.csv"]
    assert [m.name for m in members_of(layout)] == ["b.csv", "a.csv"]


@pytest.mark.parametrize("descriptor", ["sig", "nosig", "sig64", "nosig64"])
def test_data_descriptor_variants(descriptor: str) -> None:
    members = [deflated(f"m{i}.csv", csv_bytes(3000, i), descriptor=descriptor) for i in range(3)]
    data = craft_zip(members)
    layout = scan_bytes(data)
    assert layout is not None
    assert_covers(layout, len(data))
    assert [m.compressed_size for m in members_of(layout)] == [len(m.data) for m in members]


def test_zip64_end_records_and_prepended_stub() -> None:
    members = [deflated("a.csv", csv_bytes(3000, 1)), deflated("b/c.csv", csv_bytes(9000, 2))]
    for prefix in (b"", b"stub" * 100):
        data = craft_zip(members, zip64=True, prefix=prefix, comment=b"zip64")
        layout = scan_bytes(data)
        assert layout is not None
        assert_covers(layout, len(data))
        got = [(m.name, m.compressed_size, m.uncompressed_size) for m in members_of(layout)]
        sizes = [(len(m.data), m.size) for m in members]
        assert got == [("a.csv", *sizes[0]), ("b/c.csv", *sizes[1])]
    # A stub prepended without fixing the offsets (`cat stub archive.zip`), zip64 end records.
    data = SFX_STUB + craft_zip(members, zip64=True)
    layout = scan_bytes(data)
    assert layout is not None
    assert_covers(layout, len(data))
    assert layout.items[0] == Region(0, len(SFX_STUB) + 30 + 5 + 20)


def test_empty_zip_and_trailing_bytes() -> None:
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    layout = scan_bytes(buf.getvalue())
    assert layout is not None and layout.items == [Region(0, 22)]
    data = craft_zip([deflated("a.csv", b"x" * 100)]) + b"trailing junk"
    layout = scan_bytes(data)
    assert layout is not None
    assert_covers(layout, len(data))


def test_names_cp437_utf8_and_unix_utf8() -> None:
    members = [
        Crafted(b"caf\x82.csv", b"", 0, 0, method=0),  # cp437 0x82 is e-acute
        Crafted("é/ü.csv".encode(), b"", 0, 0, method=0, flags=0x800),
        Crafted("unix-é.csv".encode(), b"", 0, 0, method=0, made_by=0x0314),
        Crafted(b"unix-\xff.csv", b"", 0, 0, method=0, made_by=0x0314),  # not UTF-8: cp437
    ]
    layout = scan_bytes(craft_zip(members))
    assert layout is not None
    names = [m.name for m in members_of(layout)]
    assert names == ["café.csv", "é/ü.csv", "unix-é.csv", "unix-\u00a0.csv"]
    assert [m.raw_name for m in members_of(layout)] == [m.name for m in members]


def test_many_members_use_zip64_end_record() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(70_000):
            zf.writestr(f"{i}", b"")
    data = buf.getvalue()
    assert b"PK\x06\x06" in data[-200:]
    layout = scan_bytes(data)
    assert layout is not None and len(members_of(layout)) == 70_000
    with pytest.raises(BadInput, match=r"70000 members, over the limit of 65536"):
        scan_bytes(data, ZipLimits(max_members=65_536))


# --- warnings -----------------------------------------------------------------------------------


def test_suspicious_names_warn() -> None:
    names = ["ok.csv", "ok.csv", "/etc/passwd", "../up.csv", "a/../../b", "C:/x.csv", "a\\b.csv"]
    layout = scan_bytes(craft_zip([deflated(n, b"data") for n in names]))
    assert layout is not None
    text = "\n".join(layout.warnings)
    assert "duplicate member name 'ok.csv' (entries 1 and 2)" in text
    for name in names[2:]:
        assert f"member name '{name}'" in text and "will not be extracted" in text
    assert len(layout.warnings) == 6
    assert all("\n" not in w for w in layout.warnings)


def test_encrypted_and_unknown_methods_warn() -> None:
    members = [
        Crafted(b"secret.csv", b"\x00" * 40, 0x1234, 28, method=8, flags=1),
        Crafted(b"aes.csv", b"\x00" * 40, 0, 28, method=99),
        Crafted(b"bz.csv", b"BZh9" + b"\x00" * 20, 0, 100, method=12),
    ]
    layout = scan_bytes(craft_zip(members))
    assert layout is not None
    assert [m.encrypted for m in members_of(layout)] == [True, True, False]
    assert layout.warnings == [
        "member 'secret.csv' is encrypted; kept as stored compressed bytes",
        "member 'aes.csv' is encrypted; kept as stored compressed bytes",
        "member 'bz.csv' uses compression method 12 (bzip2); kept as stored compressed bytes",
    ]


def test_control_characters_in_names_stay_on_one_line() -> None:
    layout = scan_bytes(craft_zip([deflated("../evil\nname\x1b.csv", b"x")]))
    assert layout is not None
    assert layout.warnings == [
        "member name '../evil\\nname\\x1b.csv' has a '..' component; kept in the archive; "
        "will not be extracted"
    ]


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"\x1f\x8b\x08\x00" + os.urandom(5000), b"PK" * 20, b"a,b\n1,2\n" * 99]
)
def test_not_a_zip(data: bytes) -> None:
    assert scan_bytes(data) is None


def test_truncated_zip_is_refused() -> None:
    data = producer_zip("python").read_bytes()
    cd_start = data.rfind(b"PK\x01\x02", 0, data.rfind(b"PK\x01\x02"))
    cuts = [4, 29, 31, 100, 5000, len(data) // 2, cd_start + 10, len(data) - 22, len(data) - 1]
    for cut in cuts:
        with pytest.raises(BadInput, match="truncated zip|corrupt zip"):
            scan_bytes(data[:cut])


def test_truncated_comment_is_refused() -> None:
    data = producer_zip("python-comment").read_bytes()
    with pytest.raises(BadInput, match="comment is cut short"):
        scan_bytes(data[:-5])


def test_sizes_inconsistent_between_headers() -> None:
    good = craft_zip([deflated("a.csv", csv_bytes(3000, 1)), deflated("b.csv", b"bb")])
    local_csize = 18  # offset of the compressed size in the first local header
    bad = bytearray(good)
    struct.pack_into("<I", bad, local_csize, struct.unpack_from("<I", good, local_csize)[0] + 1)
    with pytest.raises(BadInput, match="'a.csv' has compressed size .* in its local header"):
        scan_bytes(bytes(bad))
    # A data descriptor that disagrees with the central directory.
    good = craft_zip([deflated("a.csv", csv_bytes(3000, 1), descriptor="sig")])
    at = good.find(b"PK\x07\x08")
    bad = bytearray(good)
    bad[at + 4] ^= 0xFF
    with pytest.raises(BadInput, match="data descriptor of member 'a.csv'"):
        scan_bytes(bytes(bad))


def test_missing_local_header_is_refused() -> None:
    data = bytearray(craft_zip([deflated("a.csv", b"a" * 50), deflated("b.csv", b"b" * 50)]))
    second = data.find(b"PK\x03\x04", 4)
    data[second : second + 4] = b"XXXX"
    with pytest.raises(BadInput, match="member 'b.csv' has no local header at offset"):
        scan_bytes(bytes(data))


def test_overlapping_members_are_refused() -> None:
    members = [deflated("a.csv", b"a" * 50), deflated("b.csv", b"b" * 50)]
    data = craft_zip(members, central=[0, 1, 0])
    with pytest.raises(BadInput, match="members 'a.csv' and 'a.csv' overlap"):
        scan_bytes(data)


def test_multi_disk_is_refused() -> None:
    data = bytearray(craft_zip([deflated("a.csv", b"a")]))
    struct.pack_into("<H", data, len(data) - 18, 1)  # number of the disk with the central dir
    with pytest.raises(BadInput, match="multi-disk"):
        scan_bytes(bytes(data))


def test_zip_bombs_are_refused_by_declared_sizes() -> None:
    zeros = zeros_stream(2048)  # 2 GiB of zeros in about 2 MiB
    honest = Crafted(b"zeros.bin", zeros, 0, 2048 << 20)
    bomb = craft_zip([honest])
    with pytest.raises(
        BadInput, match=r"'zeros.bin' would expand 2.0 MiB to 2 GiB .* 1000:1 limit"
    ):
        scan_bytes(bomb)
    with pytest.raises(BadInput, match=r"would expand to 2 GiB, over the 1 GiB per-member limit"):
        scan_bytes(bomb, ZipLimits(max_member_size=1 << 30))
    many = [Crafted(f"{i}.csv".encode(), b"x" * (100 << 10), 0, 60 << 20) for i in range(4)]
    with pytest.raises(BadInput, match=r"expand to 240 MiB in all, over the 200 MiB total limit"):
        scan_bytes(craft_zip(many), ZipLimits(max_total_size=200 << 20))
    with pytest.raises(BadInput, match=r"4 members, over the limit of 3"):
        scan_bytes(craft_zip(many), ZipLimits(max_members=3))


def test_central_directory_limit() -> None:
    data = craft_zip([deflated(f"{i:04}.csv", b"") for i in range(100)])
    with pytest.raises(BadInput, match="central directory is .* over the 4 KiB limit"):
        scan_bytes(data, ZipLimits(max_central_directory=4096))


# --- fuzzing ------------------------------------------------------------------------------------


def _fuzz_seed() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.csv", csv_bytes(1500, 1))
        zf.writestr("dir/", b"")
        with zf.open("b.csv", "w", force_zip64=True) as out:
            out.write(csv_bytes(700, 2))
        zf.writestr(zipfile.ZipInfo("c.txt"), b"stored " * 20)
        zf.comment = b"comment"
    crafted = craft_zip([deflated("d.csv", csv_bytes(600, 3), descriptor="sig64")], zip64=True)
    return buf.getvalue() + crafted


FUZZ_SEED = _fuzz_seed()


def scan_and_read(data: bytes) -> None:
    """Everything lkvault does with an input: only a valid layout or BadInput may come out."""
    try:
        layout = scan_bytes(data)
        if layout is None:
            return
        assert_covers(layout, len(data))
        for m in members_of(layout):
            if m.encrypted or m.method not in (0, 8):
                continue
            stream = io.BytesIO(data[m.data_offset : m.data_offset + m.compressed_size])
            reader = MemberReader(m, stream.read, ZipLimits(), None)
            while reader.read(4096):
                pass
    except BadInput as exc:
        assert "\n" not in str(exc) and str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, len(FUZZ_SEED)),
    flips=st.lists(st.tuples(st.integers(0, len(FUZZ_SEED) - 1), st.integers(1, 255)), max_size=4),
)
def test_fuzzed_zips_give_layout_or_bad_input(cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(FUZZ_SEED)
    for at, xor in flips:
        data[at] ^= xor
    scan_and_read(bytes(data[:cut]))
    scan_and_read(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(0, len(FUZZ_SEED)))
def test_fuzzed_splices_give_layout_or_bad_input(junk: bytes, at: int) -> None:
    scan_and_read(FUZZ_SEED[:at] + junk + FUZZ_SEED[at:])
    scan_and_read(FUZZ_SEED[:at] + junk)
