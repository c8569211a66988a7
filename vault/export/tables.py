"""Reading one CSV file of an export into rows keyed by its header, whatever its era's dialect.

Pure: bytes in, a ``Table`` out; ``stream_table`` holds the same rules for a binary stream
read row by row (``counting``). Handles a UTF-8 BOM, UTF-16 files (2018), Windows-1252 as a
last resort, tab- or comma-separated values, a ``Notes:`` preamble before the header (the
header is *found*, by its column names, never by counting lines), blank rows, and the
backslash-escaped quotes of ``Comments.csv``. Problems raise ``TableError``; the caller turns
them into a warning.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from typing import IO, Any, TextIO, TypeVar

HEADER_SEARCH_LINES = 30  # a preamble is a few lines; a header further down is not a header
MAX_FIELD = 64 * 1024 * 1024  # csv's default field limit (128 KiB) is too small for messages
DRAIN_CHARS = 1024 * 1024  # text decoded at a time where it is only checked, not kept

_T = TypeVar("_T")
Opener = Callable[[], IO[bytes]]


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


def _csv_reader(lines: Iterable[str], **dialect: Any) -> Iterator[list[str]]:
    """csv.reader with fields up to MAX_FIELD allowed. The limit is the csv module's, for the
    whole process: it is raised when a table is read, not on import, and never lowered (a
    program that allows more keeps it)."""
    if csv.field_size_limit() < MAX_FIELD:
        csv.field_size_limit(MAX_FIELD)
    return csv.reader(lines, **dialect)


def _split_line(line: str, delimiter: str) -> list[str]:
    try:
        return next(_csv_reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _header_cells(line: str, wanted: set[str], minimum: int) -> tuple[str, list[str]] | None:
    """The delimiter and cells of ``line`` when it names at least ``minimum`` wanted columns."""
    if not line.strip():
        return None
    for delimiter in ("\t", ",") if "\t" in line else (",",):
        cells = _split_line(line, delimiter)
        if len({column_key(cell) for cell in cells} & wanted) >= minimum:
            return delimiter, cells
    return None


def _find_header(
    text: TextIO, wanted: set[str], minimum: int
) -> tuple[str, list[str], Iterator[str]] | None:
    """The delimiter and cells of the first of the first ``HEADER_SEARCH_LINES`` lines (as
    ``str.splitlines`` cuts them) that names enough ``wanted`` columns, and the lines after
    it; None when the text is blank. With no header, ``TableError`` is raised only once the
    text has decoded to its end: a byte far in that the encoding cannot have means the file
    is read again in another, in which the header may be found."""
    searched = 0
    first = ""
    for line in text:
        pieces = line.splitlines(keepends=True)
        for at, piece in enumerate(pieces):
            if searched < HEADER_SEARCH_LINES:
                searched += 1
                found = _header_cells(piece, wanted, minimum)
                if found is not None:
                    rest = "".join(pieces[at + 1 :])
                    return (*found, chain((rest,), text) if rest else text)
            first = first or piece.strip()
        if first and searched >= HEADER_SEARCH_LINES:
            break
    while text.read(DRAIN_CHARS):
        pass
    if not first:
        return None
    raise TableError(f"no header row found (first line: {first[:60]!r})")


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


@dataclass
class TableRows:
    """A table's header, and a reader of the CSV records after it (cells as written)."""

    columns: list[str]  # normalised names, in file order; none when the file is blank
    headers: list[str]  # the same names as written
    encoding: str
    delimiter: str
    records: Iterator[list[str]]


def _encodings(head: bytes) -> list[str]:
    """The codecs to try, in order, from a file's first bytes: UTF-16 by its BOM (and only
    that), UTF-16LE without one by its zero bytes, UTF-8 (BOM skipped), cp1252."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return ["utf-16-le", "utf-8", "cp1252"]
    # Not "utf-8-sig" without a whole BOM: its stream decoder lets a file cut inside one pass.
    return ["utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8", "cp1252"]


def _text(open_raw: Opener, codec: str) -> io.TextIOWrapper:
    errors = "replace" if codec == "cp1252" else "strict"  # the last resort never fails
    return io.TextIOWrapper(open_raw(), encoding=codec, errors=errors, newline="")


def _reader(lines: Iterable[str], delimiter: str, backslash_escapes: bool) -> Iterator[list[str]]:
    return _csv_reader(
        lines,
        delimiter=delimiter,
        escapechar="\\" if backslash_escapes else None,
        doublequote=True,
        strict=False,
    )


def _uses_escapes(open_raw: Opener, codec: str, wanted: set[str], minimum: int) -> bool:
    """Whether a backslash-escaped quote stands after the header: only a file that really
    uses them is read with them, so that its other backslashes are kept."""
    with _text(open_raw, codec) as text:
        found = _find_header(text, wanted, minimum)
        return found is not None and any('\\"' in line for line in found[2])


def _attempt(
    open_raw: Opener,
    codec: str,
    wanted: set[str],
    minimum: int,
    backslash_escapes: bool,
    collect: Callable[[TableRows], _T],
) -> tuple[TableRows, _T]:
    encoding = "utf-8" if codec == "utf-8-sig" else codec
    escapes = backslash_escapes and _uses_escapes(open_raw, codec, wanted, minimum)
    with _text(open_raw, codec) as text:
        found = _find_header(text, wanted, minimum)
        if found is None:
            source = TableRows([], [], encoding, ",", iter(()))
        else:
            delimiter, cells, body = found
            source = TableRows(
                [column_key(cell) for cell in cells],
                [cell.strip() for cell in cells],
                encoding,
                delimiter,
                _reader(body, delimiter, escapes),
            )
        return source, collect(source)


class _Resumed(io.RawIOBase):
    """A stream whose first bytes were read already: ``head``, then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            taken = self._head[: len(view)]
            self._head = self._head[len(taken) :]
        else:
            taken = self._rest.read(len(view))
        view[: len(taken)] = taken
        return len(taken)

    def close(self) -> None:
        if not self.closed:
            self._rest.close()
        super().close()


def replaying(head: bytes, raw: IO[bytes], open_raw: Opener) -> Opener:
    """An opener that gives, once, ``head`` (read from ``raw`` already) then the rest of
    ``raw``; then opens anew with ``open_raw``."""
    pending: list[IO[bytes]] = [io.BufferedReader(_Resumed(head, raw))]

    def opener() -> IO[bytes]:
        return pending.pop() if pending else open_raw()

    return opener


def stream_table(
    open_raw: Opener,
    wanted: Iterable[str],
    collect: Callable[[TableRows], _T],
    *,
    minimum: int = 2,
    backslash_escapes: bool = False,
) -> tuple[TableRows, _T]:
    """The header of the table ``open_raw`` opens, and what ``collect`` makes of its records,
    decoded as they are read: no more than a row of the file is held at a time.

    The header is the first line naming at least ``minimum`` of ``wanted`` (normalised column
    names, see ``column_key``); a blank file has no columns and no records. ``collect`` must
    read the records before it returns (the file is closed then). It may be called again: a
    byte that the encoding tried cannot have, however far in, starts the file over in the
    next (see ``_encodings``), so it must keep nothing of an earlier call. Problems raise
    ``TableError``; ``filled_rows`` reads the records by ``read_table``'s rules.
    """
    wanted_keys = set(wanted)
    minimum = min(minimum, len(wanted_keys))
    raw = open_raw()
    try:
        head = raw.read(4)
    except BaseException:
        raw.close()
        raise
    *tries, last = _encodings(head)
    # The first attempt goes on reading the stream its head came from: a member streamed
    # once (a snapshot counts what it inflates anyway) is opened again only to try another
    # encoding.
    opener = replaying(head, raw, open_raw)
    for codec in tries:
        try:
            return _attempt(opener, codec, wanted_keys, minimum, backslash_escapes, collect)
        except UnicodeDecodeError:
            opener = open_raw
            continue
    try:
        return _attempt(opener, last, wanted_keys, minimum, backslash_escapes, collect)
    except UnicodeDecodeError as exc:  # cp1252 decodes anything: this is UTF-16 with a BOM
        raise TableError(f"damaged UTF-16 text ({exc.reason})") from None


def plain_header(line: bytes, wanted: Iterable[str], *, minimum: int = 2) -> list[str] | None:
    """The columns ``stream_table`` finds when ``line`` (with its line end) begins a file,
    if it reads that file as UTF-8 without a BOM, comma-separated, its records starting on
    the next line; None when it may read the file any other way (only it can tell)."""
    wanted_keys = set(wanted)
    minimum = min(minimum, len(wanted_keys))
    if len(line) < 4 or _encodings(line[:4]) != ["utf-8", "cp1252"] or line[-1:] != b"\n":
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # The first line TextIOWrapper gives, cut in no other piece by _find_header.
    if text.splitlines(keepends=True) != [text]:
        return None
    found = _header_cells(text, wanted_keys, minimum)
    if found is None or found[0] != ",":
        return None
    return [column_key(cell) for cell in found[1]]


def field_limit() -> int:
    """The longest field, in characters, the csv reader of a table takes."""
    return max(csv.field_size_limit(), MAX_FIELD)


def filled_rows(records: Iterable[list[str]]) -> Iterator[list[str]]:
    """The records with their cells stripped, those whose every cell is blank left out; a
    malformed record raises ``TableError`` naming the data row it is near."""
    done = 0
    strip = str.strip
    try:
        for record in records:
            stripped = list(map(strip, record))
            if any(stripped):
                done += 1
                yield stripped
    except csv.Error as exc:
        raise TableError(f"malformed CSV near data row {done + 1} ({exc})") from None


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

    def collect(source: TableRows) -> list[dict[str, str]]:
        return list(map(_row_maker(source.columns), filled_rows(source.records)))

    source, rows = stream_table(
        lambda: io.BytesIO(data),  # shares the bytes, no copy
        wanted,
        collect,
        minimum=minimum,
        backslash_escapes=backslash_escapes,
    )
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

    def collect(source: TableRows) -> list[tuple[str, ...]]:
        # Tuples, not csv's lists: the collector stops following a tuple of strings once it
        # has seen it, but would walk every list again at each full collection.
        rows: list[tuple[str, ...]] = []
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

    source, rows = stream_table(lambda: io.BytesIO(data), wanted, collect, minimum=minimum)
    return RawTable(source.columns, rows, source.encoding)
