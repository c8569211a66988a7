"""An export's summary counted row by row from streams, never holding a table in memory.

``load_export`` builds every record, which a browse page needs but a snapshot does not: for
the summary recorded at snapshot time, holding a year of messages as records cost 500 MB for
a 10 MB export, and would not fit at all for a large one. This reads each known table as a
stream (the same header search, dialects and row rules as ``tables.read_table``) and keeps
only counts and the set of conversation ids. ``summarize(load_export(...))`` gives the same
summary; the tests hold the two to that.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import IO

from . import records
from .layout import classify, export_identity
from .load import LABELS
from .model import ExportSummary
from .summary import COUNTS
from .tables import HEADER_SEARCH_LINES, TableError, column_key, find_header

MemberStreams = Mapping[str, Callable[[], IO[bytes]]]

HEAD_BYTES = 4  # enough to tell UTF-16 (with or without its byte-order mark) from UTF-8
SUMMARY_TABLES = (*COUNTS, "profile")
# Tables whose rows are only counted (each summary count is the number of rows of its table).
COUNTED = {
    "connections": "connections",
    "invitations": "invitations",
    "recommendations_received": "recommendations_received",
    "recommendations_given": "recommendations_given",
    "endorsements_received": "endorsements_received",
    "positions": "positions",
}


def _text_stream(raw: IO[bytes]) -> io.TextIOWrapper:
    """The member as text, with the encoding ``tables.decode`` would pick from its start."""
    head = raw.read(HEAD_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        encoding = "utf-16-le"
    else:
        # A stray byte that is not UTF-8 becomes U+FFFD: counts do not depend on it.
        encoding = "utf-8-sig"
    joined = io.BufferedReader(_Prepended(head, raw))  # type: ignore[arg-type]
    return io.TextIOWrapper(joined, encoding=encoding, errors="replace", newline="")


class _Prepended(io.RawIOBase):
    """A stream whose first bytes were already read: those, then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size] = self.head[:size]
            self.head = self.head[size:]
            return size
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _rows(raw: IO[bytes], wanted: set[str]) -> tuple[list[str], Iterator[list[str]]] | None:
    """Column keys and the non-blank rows (stripped cells) of one table, or None when empty."""
    text = _text_stream(raw)
    lines = [line for line in itertools.islice(text, HEADER_SEARCH_LINES + 1)]
    if not "".join(lines).strip():
        return None
    found = find_header(lines, wanted, min(2, len(wanted)))
    if found is None:
        first = next((line.strip() for line in lines if line.strip()), "")
        raise TableError(f"no header row found (first line: {first[:60]!r})")
    number, delimiter, cells = found
    body = itertools.chain(lines[number + 1 :], text)
    reader = csv.reader(body, delimiter=delimiter, doublequote=True, strict=False)

    def rows() -> Iterator[list[str]]:
        done = 0
        try:
            for record in reader:
                stripped = [cell.strip() for cell in record]
                if any(stripped):
                    done += 1
                    yield stripped
        except csv.Error as exc:
            raise TableError(f"malformed CSV near data row {done + 1} ({exc})") from None

    return [column_key(cell) for cell in cells], rows()


def _cell(columns: list[str], *names: str) -> Callable[[list[str]], str]:
    """A getter of the first column named ``names[0]`` (else the next name), as a row dict
    of ``tables`` would give it: the first column of a repeated name wins."""
    for name in names:
        if name in columns:
            at = columns.index(name)
            return lambda cells: cells[at] if at < len(cells) else ""
    return lambda cells: ""


def _conversation_ids(columns: list[str], rows: Iterator[list[str]], ids: set[int]) -> int:
    """Adds the hash of each message's conversation id (as ``records.messages`` gives it) to
    ``ids``: only their number is wanted, and 400,000 id strings took 60 MB."""
    conversation = _cell(columns, "conversationid")
    sender = _cell(columns, "from")
    recipients = _cell(columns, "to")
    urls = _cell(columns, "recipientprofileurls")
    count = 0
    for cells in rows:
        count += 1
        found = conversation(cells)
        if not found:
            names = records.split_names(recipients(cells), len(records.split_list(urls(cells))))
            found = records.synthetic_conversation_id((sender(cells), *names))
        ids.add(hash(found))
    return count


def count_export(
    members: MemberStreams, archive_name: str | None
) -> tuple[ExportSummary | None, list[str]]:
    """The export's summary (None when it is not a LinkedIn export) and the warnings met.

    ``members`` maps each member name to a function opening it as a binary stream.
    """
    names = list(members)
    tables, _ = classify(names)
    recognised, kind, when = export_identity(archive_name, names)
    counts = dict.fromkeys(COUNTS, 0)
    conversation_ids: set[int] = set()
    headline: str | None = None
    profile_read = False
    warnings: list[str] = []
    for table, parts in tables.items():
        for part in parts:
            try:
                with members[part.name]() as raw:
                    found = _rows(raw, records.WANTED[table])
                    if found is None:
                        continue  # an empty file: LinkedIn writes those for empty categories
                    recognised = True
                    columns, rows = found
                    if table not in SUMMARY_TABLES:
                        continue  # its header shows it is an export; its rows are not counted
                    if table == "messages":
                        counts["messages"] += _conversation_ids(columns, rows, conversation_ids)
                    elif table == "profile":
                        first = next(rows, None)
                        if not profile_read and first is not None:
                            headline = _cell(columns, "headline")(first) or None
                            profile_read = True
                        for _ in rows:
                            pass  # read to the end, so a damaged file is noticed
                    else:
                        counts[COUNTED[table]] += sum(1 for _ in rows)
            except TableError as exc:
                warnings.append(f"{part.name}: {exc}; {LABELS[table]} not read from it")
            except Exception as exc:  # noqa: BLE001 - a reader may fail in any way; never fatal
                reason = str(exc) or exc.__class__.__name__
                warnings.append(
                    f"{part.name} could not be read ({reason}); {LABELS[table]} not read"
                )
    counts["conversations"] = len(conversation_ids)
    if not recognised:
        return None, warnings
    return ExportSummary(kind, when, headline, counts), warnings
