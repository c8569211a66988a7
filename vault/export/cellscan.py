"""A table's filled rows counted, and four of its cells read, by the C scanner of _cells.c.

``tables.stream_table`` makes a Python string of every cell of every row: most of what a
summary of messages.csv costs, with the GIL held against the snapshot storing it. Where the
file is one that ``stream_table`` reads as UTF-8, comma-separated, header on its first line,
the C scanner walks its records by the same csv rules without the GIL and hands back only
the cells asked for, once for each run of rows where they are equal. Any file it cannot
read exactly as ``stream_table`` would (another encoding or delimiter, a preamble, bytes
not UTF-8, a field past the csv limit) is left to ``stream_table``, the normative reader,
from its start: a summary is the same either way.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import IO, TYPE_CHECKING, TypeVar

from lkvault.vault.export.tables import Opener, field_limit, plain_header, replaying

if TYPE_CHECKING:
    from lkvault.vault.format._cells import CellScanner as Scanner

_cells: ModuleType | None
try:
    from lkvault.vault.format import _cells as _built

    _cells = _built
except ImportError:  # pragma: no cover - the extension is optional
    _cells = None

NATIVE: bool = _cells is not None
# Content scanned at a time. The runs a block ends are made Python objects together, up to
# one per two bytes (a file of one-character rows): 64 KiB bounds them to a few MB.
BLOCK = 64 * 1024
MAX_HEADER = 64 * 1024  # a first line longer than this is left to stream_table

_T = TypeVar("_T")

# A run of consecutive filled rows whose kept cells are equal: how many, and the cells as
# written (not stripped; "" for a column the file lacks or a row too short to have).
Run = tuple[int, str, str, str, str]


def _csv_takes_nul() -> bool:
    try:
        return list(csv.reader(["a\0b\n"])) == [["a\0b"]]
    except csv.Error:
        return False


_NUL_OK = _csv_takes_nul()


class _Unhandled(Exception):  # noqa: N818 - not an error: the file goes the Python way
    """The scanner met what only ``stream_table`` reads exactly."""


class ScannedRows:
    """A table's columns, and its runs of rows as the scanner reads them."""

    def __init__(self, columns: list[str], first: bytes, rest: IO[bytes], scanner: Scanner) -> None:
        self.columns = columns  # normalised names, in file order
        self.records = 0  # filled rows, once ``runs`` was read to its end
        self._first = first
        self._rest = rest
        self._scanner = scanner

    def runs(self) -> Iterator[Run]:
        """The runs of the rows after the header, in file order."""
        scanner = self._scanner
        block = self._first or self._rest.read(BLOCK)
        while True:
            found = scanner.feed(block) if block else scanner.finish()
            if scanner.unhandled is not None:
                raise _Unhandled(scanner.unhandled)
            for length, conversation, sender, recipients, urls in found:
                yield (
                    length,
                    conversation.decode(),
                    sender.decode(),
                    recipients.decode(),
                    urls.decode(),
                )
            if not block:
                self.records = scanner.records
                return
            block = self._rest.read(BLOCK)


def _first_line(raw: IO[bytes]) -> bytes:
    """The first bytes of ``raw``, up to and with its first line end if one is near."""
    head = b""
    while b"\n" not in head and len(head) < MAX_HEADER:
        more = raw.read(BLOCK)
        if not more:
            break
        head += more
    return head


def scan_table(
    open_raw: Opener,
    wanted: Iterable[str],
    kept: tuple[str, str, str, str],
    collect: Callable[[ScannedRows], _T],
    *,
    owner: bool,
) -> tuple[list[str], _T] | Opener:
    """The columns of the table ``open_raw`` opens and what ``collect`` makes of its runs
    (see ``Run``) of the ``kept`` columns (normalised names; the first column of a name);
    without ``owner``, the other three are read only where the first is blank.

    Where the scanner cannot read the file exactly as ``tables.stream_table``, it returns
    instead an opener that gives the file from its start (the bytes read so far, when the
    scanner gave up at the header), for ``stream_table`` to read; ``collect`` must then
    keep nothing. ``collect`` must read the runs before it returns.
    """
    raw = open_raw()
    try:
        head = _first_line(raw)
        cut = head.find(b"\n") + 1
        columns = plain_header(head[:cut], wanted) if cut and _cells is not None else None
    except BaseException:
        raw.close()
        raise
    if columns is None or _cells is None:
        return replaying(head, raw, open_raw)
    with raw:
        indexes = tuple(columns.index(name) if name in columns else -1 for name in kept)
        scanner = _cells.CellScanner(indexes, owner, field_limit(), _NUL_OK)
        scanned = ScannedRows(columns, head[cut:], raw, scanner)
        try:
            return columns, collect(scanned)
        except _Unhandled:
            return open_raw
