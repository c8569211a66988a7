"""Row order of CSV members: rows kept in a stable order, plus the order they came in.

LinkedIn writes messages.csv grouped by conversation, the most recently active conversation
first. A conversation with one new message therefore moves to the top of the file, and its old
rows leave a hole where they were: the content-defined chunks at both places change, and the
moved rows are stored again although the vault holds them already. Stored in a stable order
instead, the old rows stay where they were and a new message is a small insertion.

A *group* is a run of consecutive records whose first fields are equal (a conversation). Its
*tag* is a 32-bit sort key: the earliest `YYYY-MM-DD HH:MM:SS` time in its records, in seconds
since 1970 (0 when it has none), so groups are stored in the order they began, those still
active near the end. The order the groups came in is kept as one entry per group,
`u32le(tag) || u32le(length)`, in their original order. The *canonical* order, in which the
content is stored, is the entries sorted by tag, ties in their original order, so a reader puts
the groups back from the entries alone, without parsing any CSV (docs/FORMAT.md, "Row order").
Finding records and times is a heuristic (a newline outside double quotes ends a record); it
decides only how well the content deduplicates, never whether it comes back exactly; but a
writer's order must not depend on the computer, so ``PythonRecordScanner`` is normative and the
C scanner (vault/format/_rows.c, used when it is built) gives exactly its results.
Pure logic, no I/O.
"""

from __future__ import annotations

import calendar
import heapq
import re
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType

from lkvault.vault.errors import IntegrityError

_rows: ModuleType | None
try:
    from lkvault.vault.format import _rows as _built

    _rows = _built
except ImportError:  # not built (no compiler at install time): the Python scanner is used
    _rows = None

ENTRY = struct.Struct("<II")
MAX_ENTRIES = 1 << 20  # what a reader accepts: 8 MiB of entries, some 60 MiB to sort
MAX_GROUP = (1 << 32) - 1
KEY_LIMIT = 512  # bytes of a record looked at for its first field and its time
TIME = re.compile(rb"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)")


class PythonRecordScanner:
    """Finds the groups of a CSV's content as it streams past, in bounded memory."""

    def __init__(self) -> None:
        self.tags = array("I")
        self.lengths = array("Q")
        self.records = 0
        self.overflowed = False  # more groups than MAX_ENTRIES: none are kept
        self._offset = 0  # content bytes fed so far
        self._record_start = 0
        self._quotes = 0  # double quotes seen in the current record
        self._head = b""  # the current record's first KEY_LIMIT bytes
        self._group_key: bytes | None = None
        self._group_start = 0
        self._group_time: bytes | None = None  # earliest time seen in the group, as written

    def feed(self, block: bytes) -> None:
        if len(self._head) < KEY_LIMIT:
            self._head += block[: KEY_LIMIT - len(self._head)]
        base = self._offset
        position = 0
        find, count = block.find, block.count
        while True:
            newline = find(b"\n", position)
            if newline < 0:
                self._quotes += count(b'"', position)
                break
            self._quotes += count(b'"', position, newline)
            position = newline + 1
            if self._quotes & 1:
                continue  # the newline is inside a quoted field
            self._end_record(base + position)
            self._head = block[position : position + KEY_LIMIT]
        self._offset = base + len(block)

    def finish(self) -> tuple[array[int], array[int]]:
        """The groups' tags and lengths, in their original order (none if it overflowed)."""
        if self._offset > self._record_start:
            self._end_record(self._offset)
        if self._group_key is not None:
            self._close_group(self._offset)
        return self.tags, self.lengths

    def _end_record(self, end: int) -> None:
        head = self._head[: end - self._record_start]
        cut = len(head)
        for separator in (b",", b"\n"):
            at = head.find(separator)
            if 0 <= at < cut:
                cut = at
        key = head[:cut]
        if key != self._group_key:
            if self._group_key is not None:
                self._close_group(self._record_start)
            self._group_key = key
            self._group_start = self._record_start
            self._group_time = None
        found = TIME.search(head)
        if found is not None and (self._group_time is None or found[0] < self._group_time):
            self._group_time = found[0]
        self.records += 1
        self._record_start = end
        self._quotes = 0

    def _close_group(self, end: int) -> None:
        if self.overflowed:
            return
        if len(self.tags) == MAX_ENTRIES:
            # More groups than a reader accepts: the member stays in its own order, and
            # memory stays bounded however many rows it has.
            self.overflowed = True
            self.tags, self.lengths = array("I"), array("Q")
            return
        self.tags.append(_seconds(self._group_time))
        self.lengths.append(end - self._group_start)


class NativeRecordScanner:
    """``PythonRecordScanner``'s results from the C scanner, some 30 times faster."""

    def __init__(self) -> None:
        assert _rows is not None, "the C record scanner is not built"
        self._scanner = _rows.Scanner(KEY_LIMIT, MAX_ENTRIES)

    @property
    def records(self) -> int:
        return int(self._scanner.records)

    @property
    def overflowed(self) -> bool:
        return bool(self._scanner.overflowed)

    def feed(self, block: bytes) -> None:
        self._scanner.feed(block)

    def finish(self) -> tuple[array[int], array[int]]:
        """The groups' tags and lengths, in their original order (none if it overflowed)."""
        tags, lengths = self._scanner.finish()
        return array("I", tags), array("Q", lengths)


NATIVE: bool = _rows is not None
"""True when the C record scanner is built (and ``RecordScanner`` is it)."""

RecordScanner: type[PythonRecordScanner] | type[NativeRecordScanner] = (
    NativeRecordScanner if NATIVE else PythonRecordScanner
)


def _seconds(written: bytes | None) -> int:
    """A time as written in a CSV, in seconds since 1970 within 32 bits; 0 for none."""
    if written is None:
        return 0
    fields = TIME.fullmatch(written)
    assert fields is not None
    try:
        seconds = calendar.timegm(tuple(int(f) for f in fields.groups()) + (0, 0, 0))
    except (ValueError, OverflowError):
        return 0
    return min(max(seconds, 0), 0xFFFFFFFF)


def worth_reordering(tags: array[int], lengths: array[int], records: int) -> bool:
    """Whether storing in canonical order can pay: groups of two records or more on average,
    not in canonical order already, few enough entries for any reader, and every group's
    length fits its entry."""
    return (
        1 < len(tags) <= MAX_ENTRIES
        and any(a > b for a, b in zip(tags, tags[1:], strict=False))
        and 2 * len(tags) <= records
        and max(lengths, default=0) <= MAX_GROUP
    )


def encode_order(tags: array[int], lengths: array[int]) -> bytes:
    """The order stream: ``u32le(tag) || u32le(length)`` per group (RowPlan.from_order's input)."""
    entries = array("I", bytes(ENTRY.size * len(tags)))
    entries[0::2] = tags
    entries[1::2] = array("I", lengths)  # worth_reordering checked they fit
    if sys.byteorder == "big":  # pragma: no cover - entries are little endian
        entries.byteswap()
    return entries.tobytes()


SORT_RUN = 1 << 16  # groups sorted as Python ints at a time by canonical_order


def canonical_order(tags: array[int]) -> array[int]:
    """The positions of ``tags`` sorted by tag, equal tags in the order of their positions.

    Sorted SORT_RUN at a time and the runs merged: sorted whole, a large inbox's million
    conversations were a million Python ints (42 MB, the largest part of a restore's peak)."""
    runs = [
        array("Q", sorted(t << 32 | n for n, t in enumerate(tags[start : start + SORT_RUN], start)))
        for start in range(0, len(tags), SORT_RUN)
    ]
    return array("I", (key & 0xFFFFFFFF for key in heapq.merge(*runs)))


@dataclass(frozen=True)
class RowPlan:
    """Where each group of the original order lies in the canonical content."""

    lengths: array[int]  # by original position
    canonical: array[int]  # original positions of the groups, in canonical order

    @classmethod
    def from_order(cls, order: bytes, size: int) -> RowPlan:
        """The plan an order stream describes; refuses one that does not tile ``size`` bytes."""
        if len(order) % ENTRY.size or len(order) // ENTRY.size > MAX_ENTRIES:
            raise IntegrityError("a row order has a malformed length")
        entries = array("I", order)
        if sys.byteorder == "big":  # pragma: no cover - entries are little endian
            entries.byteswap()
        tags, lengths = entries[0::2], entries[1::2]
        del entries
        if sum(lengths) != size:
            raise IntegrityError("a row order does not add up to its content's size")
        return cls(lengths, canonical_order(tags))

    def restore_ranges(self) -> Iterator[tuple[int, int]]:
        """(canonical offset, length) to read, in turn, to put the content back in order."""
        # Built here, not kept in the plan: a writer's plan (store_ranges) never needs it, and
        # for a large inbox it is 8 bytes per conversation more while the member is stored.
        starts = array("Q", bytes(8 * len(self.lengths)))
        position = 0
        for number in self.canonical:
            starts[number] = position
            position += self.lengths[number]
        return _merged(zip(starts, self.lengths, strict=True))

    def store_ranges(self) -> Iterator[tuple[int, int]]:
        """(original offset, length) to read, in turn, to write the content in canonical order."""
        originals = array("Q", bytes(8 * len(self.lengths)))
        position = 0
        for number, length in enumerate(self.lengths):
            originals[number] = position
            position += length
        return _merged((originals[n], self.lengths[n]) for n in self.canonical)


def _merged(pieces: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The same ranges, each merged with the previous one when they are adjacent."""
    start, length = 0, 0
    for offset, size in pieces:
        if start + length == offset:
            length += size
            continue
        if length:
            yield start, length
        start, length = offset, size
    if length:
        yield start, length
