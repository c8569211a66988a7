"""Reading one CSV file of an export into rows keyed by its header, whatever its era's dialect.

Pure: bytes in, a ``Table`` out. Handles a UTF-8 BOM, UTF-16 files (2018), Windows-1252 as a
last resort, tab- or comma-separated values, a ``Notes:`` preamble before the header (the
header is *found*, by its column names, never by counting lines), blank rows, and the
backslash-escaped quotes of ``Comments.csv``. Problems raise ``TableError``; the caller turns
them into a warning.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import TypeVar

HEADER_SEARCH_LINES = 30  # a preamble is a few lines; a header further down is not a header
MAX_FIELD = 64 * 1024 * 1024  # csv's default field limit (128 KiB) is too small for messages

csv.field_size_limit(MAX_FIELD)
_T = TypeVar("_T")


class TableError(ValueError):
    """The file is not a table this reader can make sense of."""


@dataclass
class Table:
    """Rows of one CSV file as dictionaries from normalised column name to stripped text."""

    columns: list[str]  # normalised names, in file order
    headers: list[str] = field(default_factory=list)  # the same names as written
    rows: list[dict[str, str]] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","

    def has(self, *names: str) -> bool:
        return all(name in self.columns for name in names)


def column_key(name: str) -> str:
    """A column name reduced to lower-case letters and digits: 'Connected On' -> 'connectedon'."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-16 by its BOM, else UTF-8 (BOM stripped), else cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise TableError(f"damaged UTF-16 text ({exc.reason})") from None
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        try:  # UTF-16LE without a BOM
            return data.decode("utf-16-le"), "utf-16-le"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _split_line(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def find_header(
    lines: list[str], wanted: set[str], minimum: int
) -> tuple[int, str, list[str]] | None:
    """(line number, delimiter, cells) of the first line naming enough ``wanted`` columns."""
    for number, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        for delimiter in ("\t", ",") if "\t" in line else (",",):
            cells = _split_line(line, delimiter)
            keys = {column_key(cell) for cell in cells}
            if len(keys & wanted) >= minimum:
                return number, delimiter, cells
    return None


def _first_lines(text: str) -> list[str]:
    """The lines the header may be on (with their line ends), without splitting the whole
    text: a messages.csv of 200 MB would otherwise be split and joined again for nothing."""
    size = 64 * 1024
    while True:
        if size >= len(text):
            return text.splitlines(keepends=True)[: HEADER_SEARCH_LINES + 1]
        lines = text[:size].splitlines(keepends=True)
        if len(lines) > HEADER_SEARCH_LINES + 1:
            # The last line may be cut (even between "\r" and "\n"); it is never used.
            return lines[: HEADER_SEARCH_LINES + 1]
        size *= 4


def _row_maker(columns: list[str]) -> Callable[[list[str]], dict[str, str]]:
    """A function from a row's stripped cells to its dictionary: short rows padded, cells
    beyond the header ignored, a repeated (or unnamed) column keeping only its first value."""
    width = len(columns)
    keep = [n for n, name in enumerate(columns) if name and name not in columns[:n]]
    if len(keep) == width:  # the usual case: dict(zip()) runs in C, no loop per cell

        def plain(cells: list[str]) -> dict[str, str]:
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            return dict(zip(columns, cells))  # noqa: B905 - extra cells are ignored

        return plain
    names = [columns[n] for n in keep]

    def chosen(cells: list[str]) -> dict[str, str]:
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        return dict(zip(names, [cells[n] for n in keep], strict=True))

    return chosen


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile (then as it was): while hundreds of
    thousands of objects that are all kept are made (a table's rows, each a new list), it
    would walk them over and over (a third of the parsing time of 400,000 messages)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Source:
    """Where a table's rows start: its header, and a reader over the records after it."""

    columns: list[str]
    headers: list[str]
    encoding: str
    delimiter: str
    records: Iterator[list[str]]


def _utf8_source(
    data: bytes, wanted: set[str], minimum: int, backslash_escapes: bool
) -> _Source | None:
    """The rows of a UTF-8 file, decoded as they are read: the whole text of a large file is
    never held (with one emoji in it, 200 MB of UTF-8 are 800 MB of text). None when the
    file's start is not plain UTF-8 with a header, which ``_text_source`` then handles."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0
    ):
        return None  # UTF-16
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 64 * 1024
    while True:
        try:
            text = decoder.decode(data[bom : bom + size], final=bom + size >= len(data))
        except UnicodeDecodeError:
            return None
        decoder.reset()
        if bom + size >= len(data):
            lines = text.splitlines(keepends=True)[: HEADER_SEARCH_LINES + 1]
            break
        lines = text.splitlines(keepends=True)
        if len(lines) > HEADER_SEARCH_LINES + 1:
            lines = lines[: HEADER_SEARCH_LINES + 1]  # the last line may be cut; never used
            break
        size *= 4
    found = find_header(lines, wanted, min(minimum, len(wanted)))
    if found is None:
        return None
    number, delimiter, cells = found
    start = bom + len("".join(lines[: number + 1]).encode())
    if backslash_escapes and data.find(b'\\"', start) == -1:
        backslash_escapes = False  # only where the file really uses them
    raw = io.BytesIO(data)  # shares the bytes, no copy
    raw.seek(start)
    text_stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    return _Source(
        [column_key(cell) for cell in cells],
        [cell.strip() for cell in cells],
        "utf-8",
        delimiter,
        _reader(text_stream, delimiter, backslash_escapes),
    )


def _text_source(data: bytes, wanted: set[str], minimum: int, backslash_escapes: bool) -> _Source:
    """The rows of any file ``decode`` reads, from its whole text (no columns when blank)."""
    text, encoding = decode(data)
    if not text.strip():
        return _Source([], [], encoding, ",", iter(()))
    lines = _first_lines(text)
    found = find_header(lines, wanted, min(minimum, len(wanted)))
    if found is None:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        raise TableError(f"no header row found (first line: {first[:60]!r})")
    number, delimiter, cells = found
    body = text[sum(len(line) for line in lines[: number + 1]) :]
    del text  # the body is a copy; let a large file's text go
    if backslash_escapes and '\\"' not in body:
        backslash_escapes = False  # only where the file really uses them: keep other backslashes
    return _Source(
        [column_key(cell) for cell in cells],
        [cell.strip() for cell in cells],
        encoding,
        delimiter,
        _reader(io.StringIO(body, newline=""), delimiter, backslash_escapes),
    )


def _reader(lines: Iterable[str], delimiter: str, backslash_escapes: bool) -> Iterator[list[str]]:
    return csv.reader(
        lines,
        delimiter=delimiter,
        escapechar="\\" if backslash_escapes else None,
        doublequote=True,
        strict=False,
    )


def _read(
    data: bytes,
    wanted: Iterable[str],
    minimum: int,
    backslash_escapes: bool,
    collect: Callable[[_Source], _T],
) -> tuple[_Source, _T]:
    """The file's header and what ``collect`` makes of its records: streamed from UTF-8 when
    it is (a byte that is not UTF-8, even far in, starts again from the whole text)."""
    wanted_keys = set(wanted)
    source = _utf8_source(data, wanted_keys, minimum, backslash_escapes)
    if source is not None:
        try:
            return source, collect(source)
        except UnicodeDecodeError:
            pass
    source = _text_source(data, wanted_keys, minimum, backslash_escapes)
    return source, collect(source)


def read_table(
    data: bytes,
    wanted: Iterable[str],
    *,
    minimum: int = 2,
    backslash_escapes: bool = False,
) -> Table:
    """Parse ``data`` as a table whose header names at least ``minimum`` of ``wanted`` columns.

    ``wanted`` are normalised column names (see ``column_key``). An empty file is an empty
    table. Rows whose every cell is empty are dropped; short rows are padded, and cells beyond
    the header are ignored.
    """

    def collect(source: _Source) -> list[dict[str, str]]:
        make_row = _row_maker(source.columns)
        rows: list[dict[str, str]] = []
        strip = str.strip
        with collector_paused():
            try:
                for record in source.records:
                    stripped = list(map(strip, record))
                    if any(stripped):  # rows whose every cell is blank are dropped
                        rows.append(make_row(stripped))
            except csv.Error as exc:
                raise TableError(f"malformed CSV near data row {len(rows) + 1} ({exc})") from None
        return rows

    source, rows = _read(data, wanted, minimum, backslash_escapes, collect)
    return Table(source.columns, source.headers, rows, source.encoding, source.delimiter)


@dataclass
class RawTable:
    """Rows of one CSV file as their cells, as written (not stripped), for tables too large to
    make a dictionary of every row: each row has at least as many cells as ``columns``."""

    columns: list[str]  # normalised names, in file order
    rows: list[tuple[str, ...]]
    encoding: str = "utf-8"


def read_rows(data: bytes, wanted: Iterable[str], *, minimum: int = 2) -> RawTable:
    """The rows ``read_table`` gives, as tuples of cells: the same header search, dialects and
    dropped blank rows, with short rows padded, and no work per cell (a cell is stripped when
    it is read)."""

    def collect(source: _Source) -> list[tuple[str, ...]]:
        # Tuples, not csv's lists: the collector stops following a tuple of strings once it
        # has seen it, but would walk every list again at each full collection.
        rows: list[tuple[str, ...]] = []
        with collector_paused():
            try:
                rows.extend(map(tuple, source.records))
            except csv.Error as exc:
                done = sum(map(any, map(map, repeat(str.strip), rows)))
                raise TableError(f"malformed CSV near data row {done + 1} ({exc})") from None
            # Blank rows (every cell empty once stripped) are rare: found without a loop in
            # Python, ``any`` stopping at the first cell with text, almost always the first.
            filled = list(map(any, map(map, repeat(str.strip), rows)))
            if not all(filled):
                rows = list(compress(rows, filled))
            width = len(source.columns)
            if rows and min(map(len, rows)) < width:
                rows = [row + ("",) * (width - len(row)) for row in rows]
        return rows

    source, rows = _read(data, wanted, minimum, False, collect)
    return RawTable(source.columns, rows, source.encoding)
