"""Reading one CSV file of an export into rows keyed by its header, whatever its era's dialect.

Pure: bytes in, a ``Table`` out. Handles a UTF-8 BOM, UTF-16 files (2018), Windows-1252 as a
last resort, tab- or comma-separated values, a ``Notes:`` preamble before the header (the
header is *found*, by its column names, never by counting lines), blank rows, and the
backslash-escaped quotes of ``Comments.csv``. Problems raise ``TableError``; the caller turns
them into a warning.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

HEADER_SEARCH_LINES = 30  # a preamble is a few lines; a header further down is not a header
MAX_FIELD = 64 * 1024 * 1024  # csv's default field limit (128 KiB) is too small for messages

csv.field_size_limit(MAX_FIELD)


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
    wanted_keys = set(wanted)
    text, encoding = decode(data)
    if not text.strip():
        return Table(columns=[], encoding=encoding)
    lines = _first_lines(text)
    found = find_header(lines, wanted_keys, min(minimum, len(wanted_keys)))
    if found is None:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        raise TableError(f"no header row found (first line: {first[:60]!r})")
    number, delimiter, cells = found
    columns = [column_key(cell) for cell in cells]
    body = text[sum(len(line) for line in lines[: number + 1]) :]
    del text  # the body is a copy; let a large file's text go
    if backslash_escapes and '\\"' not in body:
        backslash_escapes = False  # only where the file really uses them: keep other backslashes
    reader = csv.reader(
        io.StringIO(body, newline=""),
        delimiter=delimiter,
        escapechar="\\" if backslash_escapes else None,
        doublequote=True,
        strict=False,
    )
    table = Table(
        columns=columns,
        headers=[cell.strip() for cell in cells],
        encoding=encoding,
        delimiter=delimiter,
    )
    make_row = _row_maker(columns)
    rows = table.rows
    strip = str.strip
    try:
        for record in reader:
            stripped = list(map(strip, record))
            if any(stripped):  # rows whose every cell is blank are dropped
                rows.append(make_row(stripped))
    except csv.Error as exc:
        raise TableError(f"malformed CSV near data row {len(rows) + 1} ({exc})") from None
    return table
