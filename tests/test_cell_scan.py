"""messages.csv counted by the C cell scanner gives exactly what the normative Python reading
(``tables.stream_table``) gives: the same messages, conversations, owner and columns for
every era, style, quirk and producer of the generator and for hand-made nasty files, and the
scanner does read the generator's messages.csv (a summary at snapshot time costs a quarter
of what it did)."""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lkvault.vault.export import cellscan, counting, records, tables
from lkvault.vault.export.counting import CountPlan, count_export, count_member
from lkvault.vault.export.distinct import DistinctHashes

from bench.exportgen import QUIRKS, STYLES, generate_export

pytestmark = pytest.mark.skipif(not cellscan.NATIVE, reason="the C cell scanner is not built")

CSV_TAKES_NUL = sys.version_info >= (3, 11)
HEADER = (
    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,CONTENT,"
    "RECIPIENT PROFILE URLS\n"
)


def hashes(ids: DistinctHashes) -> set[int]:
    return set(ids._slots) - {0}  # noqa: SLF001 - what the count holds, not only how many


def python_way(data: bytes, find_owner: bool) -> tuple[object, ...]:
    source, (number, ids, owner) = tables.stream_table(
        lambda: io.BytesIO(data),
        records.WANTED["messages"],
        partial(counting._conversations, find_owner=find_owner),  # noqa: SLF001
    )
    return source.columns, number, hashes(ids), owner._candidates  # noqa: SLF001


def scanned_way(data: bytes, find_owner: bool) -> tuple[object, ...] | None:
    """What the scanner counts, None when it leaves the file to the Python way."""
    found = cellscan.scan_table(
        lambda: io.BytesIO(data),
        records.WANTED["messages"],
        counting.MESSAGE_CELLS,
        partial(counting._scanned_conversations, find_owner=find_owner),  # noqa: SLF001
        owner=find_owner,
    )
    if not isinstance(found, tuple):
        assert found().read() == data, "the Python way reads the file from its start"
        return None
    columns, (number, ids, owner) = found
    return columns, number, hashes(ids), owner._candidates  # noqa: SLF001


def assert_same_either_way(data: bytes, *, scanned: bool | None = None) -> None:
    for find_owner in (False, True):
        fast = scanned_way(data, find_owner)
        if scanned is not None:
            assert (fast is not None) == scanned
        if fast is not None:
            assert fast == python_way(data, find_owner)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Blocks of a few bytes: every state of the scanner meets a block's end."""
    monkeypatch.setattr(cellscan, "BLOCK", 3)
    yield


def small_export(folder: Path, **kwargs: Any) -> Path:
    """A small generated export of the third month of a series (``generate_export`` options)."""
    name = "Basic_LinkedInDataExport_03-15-2025.zip"
    return generate_export(
        folder / name, date=date(2025, 3, 15), scale=0.05, month_index=2, **kwargs
    )


def read_messages(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("messages.csv")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_of_the_generator_is_scanned_and_counted_the_same(
    tmp_path: Path, style: str
) -> None:
    path = small_export(tmp_path, style=style)
    assert_same_either_way(read_messages(path), scanned=True)


@pytest.mark.parametrize(
    ("era", "producer", "quirks"),
    [
        ("2025", "python", tuple(sorted(set(QUIRKS) - {"no-messages"}))),
        ("2025", "infozip-6", ()),
        ("2025", "infozip-9", ("no-profile",)),
        ("2025", "7z", ("urn-emails",)),
        ("2025", "stored", ("hostile",)),
        ("2025", "python", ("no-messages",)),
        ("2018", "python", ()),
    ],
)
def test_every_era_producer_and_quirk_summarises_the_same(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    era: str,
    producer: str,
    quirks: tuple[str, ...],
) -> None:
    if producer == "7z" and not Path("/usr/bin/7z").exists():
        pytest.skip("7z is not installed")
    path = small_export(tmp_path, era=era, producer=producer, quirks=quirks)
    read_by_python: list[str] = []
    stream_table = counting.stream_table

    def recording(opener, wanted, collect, **kwargs):  # noqa: ANN001, ANN202
        if wanted is records.WANTED["messages"]:
            read_by_python.append("messages")
        return stream_table(opener, wanted, collect, **kwargs)

    def summary() -> object:
        with zipfile.ZipFile(path) as archive:
            streams = {i.filename: (lambda i=i: archive.open(i)) for i in archive.infolist()}
            return count_export(streams, path.name)

    monkeypatch.setattr(counting, "stream_table", recording)
    scanned = summary()
    monkeypatch.setattr(cellscan, "_cells", None)  # the pure-Python way only
    assert summary() == scanned
    assert scanned[0] is not None
    if "no-messages" not in quirks:
        assert read_by_python == ["messages"], "the scanner read messages.csv"
        assert scanned[0].counts["messages"] > 0


NASTY = {
    "plain": HEADER + "c1,,Ann,u,Bo,d,hi,https://x/bo\nc1,,Bo,u,Ann,d,yo,https://x/ann\n",
    "quotes and newlines": HEADER
    + 'c1,,Ann,u,Bo,d,"multi\nline ""quoted"", text\r\nmore",x\n'
    + '"c2",,"Ann","u","Bo, PhD",d,"a""b"c,"x, y"\n'
    + 'c3,,Ann,u,Bo,d,ab"c"d,x\n',
    "crlf and lone cr": HEADER.replace("\n", "\r\n")
    + "c1,,Ann,u,Bo,d,hi,x\r\nc2,,Ann,u,Bo,d,hi,x\rc3,,Ann,u,Bo,d,hi,x\r\r\n\r",
    "blank rows": HEADER + '\n\n , ,\t,\n\u00a0,\u3000\n,,,,,,,\n"",""\nc1,,A,u,B,d,x,y\n\n',
    "short and long rows": HEADER + "c1\nc2,,Ann\n,,Ann,u,Bo\nc4,,A,u,B,d,x,y,extra,more\n",
    "no conversation ids": HEADER
    + "".join(
        f"{' ' if n % 3 else ''},,{'Ann' if n % 2 else 'Bo'},u,"
        f'"{"Bo" if n % 2 else "Ann"}, Jr., Cy",d,hi {n},"https://x/1,https://x/2"\n'
        for n in range(9)
    ),
    "unicode spaces around cells": HEADER
    + "\u2003c1\u00a0,,\u3000Ann\u2028,u,\x1fBo\x85,d,hi,x\nc1,,Ann,u,Bo,d,hi,x\n",
    "unterminated quote at the end": HEADER + 'c1,,Ann,u,Bo,d,"never closed\nstill,in',
    "quote then the end": HEADER + 'c1,,Ann,u,Bo,d,""',
    "no line end at the end": HEADER + "c1,,Ann,u,Bo,d,hi,x",
    "a NUL": HEADER + "c1,,An\0n,u,Bo,d,h\0i,x\nc\0,,Ann,u,Bo,d,hi,x\n",
    "a huge cell": HEADER
    + "c1,,Ann,u,Bo,d,"
    + "x" * 3_000_000
    + ',y\nc2,,A,u,B,d,"'
    + "é" * 500_000
    + '",y\n',
    "header only": HEADER,
    "quoted header": '"CONVERSATION ID","FROM","TO"\r\nc1,Ann,Bo\r\n',
    "repeated column": "CONVERSATION ID,FROM,CONVERSATION ID,TO\nc1,Ann,c2,Bo\n",
    "four-byte characters": HEADER + "c\U0001f600,,\U0001f600,u,Bo,d,\U0001f600\U0001f600,x\n",
}
LEFT_TO_PYTHON = {
    "utf-8 bom": b"\xef\xbb\xbf" + HEADER.encode() + b"c1,,Ann,u,Bo,d,hi,x\n",
    "utf-16": (HEADER + "c1,,Ann,u,Bo,d,hi,x\n").encode("utf-16"),
    "tabs": HEADER.replace(",", "\t").encode() + b"c1\t\tAnn\tu\tBo\td\thi\tx\n",
    "preamble": b"Notes:\nsome text\n" + HEADER.encode() + b"c1,,Ann,u,Bo,d,hi,x\n",
    "header ends in a lone cr": HEADER.replace("\n", "\r").encode() + b"c1,,Ann,u,Bo,d,hi,x\r",
    "invalid utf-8 far in": HEADER.encode()
    + b"c1,,Ann,u,Bo,d,hi,x\n" * 5000
    + b"c\xe9,,x,u,y,d,z,w\n",
    "utf-8 cut at the end": HEADER.encode() + b"c1,,Ann,u,Bo,d,hi \xe2\x82",
    "a surrogate": HEADER.encode() + b"c1,,Ann,u,Bo,d,\xed\xa0\x80,x\n",
    "an overlong form": HEADER.encode() + b"c1,,Ann,u,Bo,d,\xc0\xaf,x\n",
    "past u+10ffff": HEADER.encode() + b"c1,,Ann,u,Bo,d,\xf4\x90\x80\x80,x\n",
    "a vertical tab in the header": HEADER.replace("DATE", "DA\vTE").encode()
    + b"c1,,A,u,B,d,x,y\n",
    "not a table": b"this is not a table at all\n",
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_hand_made_files_are_scanned_and_counted_the_same(name: str) -> None:
    # csv takes a NUL from Python 3.11 on; before, the Python way reads the file.
    assert_same_either_way(NASTY[name].encode(), scanned=name != "a NUL" or CSV_TAKES_NUL)


@pytest.mark.parametrize("name", sorted(NASTY))
def test_every_state_meets_a_blocks_end(name: str, small_blocks: None) -> None:
    if name != "a huge cell":
        assert_same_either_way(NASTY[name].encode(), scanned=name != "a NUL" or CSV_TAKES_NUL)


@pytest.mark.parametrize("name", sorted(LEFT_TO_PYTHON))
def test_files_the_scanner_cannot_read_exactly_go_the_python_way(name: str) -> None:
    assert_same_either_way(LEFT_TO_PYTHON[name], scanned=False)
    plan = CountPlan.of(["messages.csv"], None)
    fast = count_member(plan, "messages", "messages.csv", lambda: io.BytesIO(LEFT_TO_PYTHON[name]))
    assert fast.warning is None or "messages.csv" in fast.warning


def test_a_field_past_the_csv_limit_goes_the_python_way(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = csv.field_size_limit()
    monkeypatch.setattr(tables, "MAX_FIELD", 1000)
    try:
        csv.field_size_limit(1000)
        at_limit = (HEADER + "c1,,Ann,u,Bo,d," + "é" * 1000 + ",x\n").encode()
        assert_same_either_way(at_limit, scanned=True)
        for cell in ("é" * 1001, '"' + "x" * 1001 + '"', "x" * 2000):
            past = (HEADER + "c1,,Ann,u,Bo,d," + cell + ",x\n").encode()
            assert_same_either_way(past, scanned=False)
            plan = CountPlan.of(["messages.csv"], None)
            counted = count_member(
                plan, "messages", "messages.csv", lambda past=past: io.BytesIO(past)
            )
            assert (
                counted.warning is not None and "field larger than field limit" in counted.warning
            )
    finally:
        csv.field_size_limit(limit)


def test_str_strip_and_the_scanner_agree_on_every_space() -> None:
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert "".join(spaces).strip() == ""
    for space in spaces:
        data = (HEADER + f"{space},,{space},u,Bo,d,x,y\n{space}\n,{space}\n").encode()
        assert_same_either_way(data, scanned=True)


# Delimiters, quotes, line ends, spaces of every kind (some that str.splitlines cuts at but
# a CSV line does not end at), a NUL, and characters of two to four bytes.
CELL_TEXT = st.text(
    alphabet=' a,"\n\r\t\0\x0b\x1f\x85\u00a0\u2028\u3000\u00e9\U0001f600', max_size=12
) | st.tuples(  # runs of ASCII, read eight bytes at a time, up to what stops them
    st.text("ab", min_size=8, max_size=30),
    st.sampled_from(["", '"', '",', "\n", "\r", "\0", "\u00e9"]),
    st.text("ab ", max_size=20),
).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(CELL_TEXT, max_size=9), max_size=10),
    ends=st.lists(st.sampled_from(["\n", "\r\n", "\r", ""]), min_size=10, max_size=10),
    block=st.sampled_from([1, 2, 3, 5, 8, 9, 13, 64, 1 << 20]),
)
def test_any_body_is_counted_the_same(rows: list[list[str]], ends: list[str], block: int) -> None:
    body = "".join(",".join(row) + end for row, end in zip(rows, ends, strict=False))
    data = (HEADER + body).encode()
    saved = cellscan.BLOCK
    cellscan.BLOCK = block
    try:
        assert_same_either_way(data, scanned=True)
    finally:
        cellscan.BLOCK = saved
