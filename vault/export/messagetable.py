"""Messages kept as the rows of their CSV files, made into ``Message`` records only when asked.

Pure apart from calling the member readers it is given. ``records.messages`` makes a record of
every row: for 400,000 messages that takes seconds and most of a gigabyte. Browsing needs
every message only as a few columns (to group threads, order them and search their text), and
as a record only for the page shown. ``MessageTable`` keeps the rows as read and gives both;
``MessageList`` gives the same columns from records already made, so one catalog code path
serves both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import chain, compress, repeat
from operator import add, itemgetter
from typing import Any, Protocol

from lkvault.vault.export import records
from lkvault.vault.export.dates import parse_datetime
from lkvault.vault.export.layout import classify
from lkvault.vault.export.lazy import LazySequence
from lkvault.vault.export.load import MemberReaders, read_member
from lkvault.vault.export.model import Message
from lkvault.vault.export.tables import RawTable, read_rows

# Parts of today's date format, "2025-01-14 04:00:11 UTC" (see dates.parse_datetime).
_FIRST_19 = itemgetter(slice(0, 19))
_ZONE = itemgetter(slice(19, None))
_SEPARATORS = itemgetter(slice(4, 17, 3))
_PEOPLE_COLUMNS = frozenset({"from", "to", "recipientprofileurls", "senderprofileurl"})


class MessageColumns(Protocol):
    """Messages, by number (file order), as records and as the columns a catalog reads."""

    def __len__(self) -> int: ...

    def message(self, number: int) -> Message: ...

    def conversation_ids(self) -> list[str]:
        """Each message's ``Message.conversation_id``."""
        ...

    def sent(self) -> list[datetime | None]:
        """Each message's ``Message.sent_at``."""
        ...

    def titles(self) -> list[str]:
        """Each message's conversation title, '' for none."""
        ...

    def participants(self, rows: Sequence[int], sizes: Sequence[int]) -> list[tuple[str, ...]]:
        """The people (senders and recipients, each once, in order of appearance, as
        ``records.participants``) of each group: the first ``sizes[0]`` messages of ``rows``,
        the next ``sizes[1]``, and so on."""
        ...

    def profile_urls(self, rows: Sequence[int], sizes: Sequence[int]) -> list[set[str]]:
        """The profile URLs of the senders and recipients of each group, as ``participants``."""
        ...

    def texts(self) -> list[str]:
        """Each message's subject and content, as one text to search."""
        ...


class MessageList(list[Message]):
    """``MessageColumns`` over records already made."""

    def message(self, number: int) -> Message:
        return self[number]

    def conversation_ids(self) -> list[str]:
        return [m.conversation_id for m in self]

    def sent(self) -> list[datetime | None]:
        return [m.sent_at for m in self]

    def titles(self) -> list[str]:
        return [m.conversation_title or "" for m in self]

    def participants(self, rows: Sequence[int], sizes: Sequence[int]) -> list[tuple[str, ...]]:
        return [records.participants(map(self.__getitem__, g)) for g in _groups(rows, sizes)]

    def profile_urls(self, rows: Sequence[int], sizes: Sequence[int]) -> list[set[str]]:
        return [
            {
                u
                for m in map(self.__getitem__, group)
                for u in (m.sender_url, *m.recipient_urls)
                if u
            }
            for group in _groups(rows, sizes)
        ]

    def texts(self) -> list[str]:
        return [f"{m.subject} {m.content}" if m.subject else m.content for m in self]


class MessageTable(LazySequence[Message]):
    """``MessageColumns`` over the rows of messages.csv (and its parts, in order), each made
    into a Message (exactly as ``records.messages`` would) when it is read."""

    what = "message"

    def __init__(self, parts: Sequence[RawTable]) -> None:
        layouts = {tuple(part.columns) for part in parts}
        if len(layouts) <= 1:
            columns = list(parts[0].columns) if parts else []
            rows = parts[0].rows if len(parts) == 1 else [r for p in parts for r in p.rows]
        else:  # parts written in different eras: every row in the columns of all of them
            columns = list(dict.fromkeys(name for part in parts for name in part.columns if name))
            rows = []
            for part in parts:
                at = {name: part.columns.index(name) for name in part.columns if name}
                rows.extend(
                    [tuple(r[at[c]] if c in at else "" for c in columns) for r in part.rows]
                )
        self._rows = rows
        # As ``tables`` makes a row's dictionary: a repeated column's first cell, named only.
        self._at = {name: n for n, name in reversed(list(enumerate(columns))) if name}
        self._columns: dict[str, list[str]] = {}
        self._recipients: dict[tuple[str, str], tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def item(self, number: int) -> Message:
        return self.message(number)

    def message(self, number: int) -> Message:
        row = self._rows[number]
        return records.message({name: row[n].strip() for name, n in self._at.items()})

    def _column(self, name: str) -> list[str]:
        """One column's stripped cells ('' for every row when the file has no such column);
        those of the people, read more than once, are kept."""
        found = self._columns.get(name)
        if found is None:
            at = self._at.get(name)
            if at is None:
                found = [""] * len(self._rows)
            else:
                found = list(map(str.strip, map(itemgetter(at), self._rows)))
            if name in _PEOPLE_COLUMNS:
                self._columns[name] = found
        return found

    def conversation_ids(self) -> list[str]:
        ids = self._column("conversationid")
        if all(ids):
            return ids
        ids = list(ids)
        for number in [n for n, found in enumerate(ids) if not found]:
            ids[number] = records.synthetic_conversation_id(self._people_of(number))
        return ids

    def sent(self) -> list[datetime | None]:
        dates = self._column("date")
        given = list(compress(dates, dates))
        # Today's format on every row, "2025-01-14 04:00:11 UTC", checked and parsed as
        # parse_datetime does, without a Python call per row.
        if (
            set(map(len, given)) <= {23}
            and set(map(_ZONE, given)) <= {" UTC"}
            and set(map(_SEPARATORS, given)) <= {"-- ::"}
        ):
            try:
                found: list[datetime | None] = list(
                    map(datetime.fromisoformat, map(add, map(_FIRST_19, given), repeat("+00:00")))
                )
            except ValueError:  # a day that does not exist: parse_datetime decides, below
                pass
            else:
                if len(given) < len(dates):
                    made = iter(found)
                    found = [next(made) if text else None for text in dates]
                return found
        return list(map(parse_datetime, dates))

    def titles(self) -> list[str]:
        return self._column("conversationtitle")

    def participants(self, rows: Sequence[int], sizes: Sequence[int]) -> list[tuple[str, ...]]:
        # Messages of a thread mostly repeat the same few people: each distinct (group, sender,
        # recipients) is looked at once, the others are found equal in C.
        found: list[list[str]] = [[] for _ in sizes]
        columns = ("from", "to", "recipientprofileurls")
        for group, *cells in dict.fromkeys(self._grouped(rows, sizes, columns)):
            found[group].extend(self._named(*cells))
        return [tuple(dict.fromkeys(names)) for names in found]

    def profile_urls(self, rows: Sequence[int], sizes: Sequence[int]) -> list[set[str]]:
        found: list[set[str]] = [set() for _ in sizes]
        columns = ("senderprofileurl", "recipientprofileurls")
        for group, sender, recipients in dict.fromkeys(self._grouped(rows, sizes, columns)):
            found[group].update(filter(None, (sender, *records.split_list(recipients))))
        return found

    def _grouped(
        self, rows: Sequence[int], sizes: Sequence[int], columns: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """(group number, cells of ``columns``) of each message of ``rows``."""
        groups = chain.from_iterable(map(repeat, range(len(sizes)), sizes))
        return zip(groups, *(map(self._column(c).__getitem__, rows) for c in columns), strict=True)

    def _people_of(self, number: int) -> tuple[str, ...]:
        return self._named(
            self._column("from")[number],
            self._column("to")[number],
            self._column("recipientprofileurls")[number],
        )

    def _named(self, sender: str, to: str, urls: str) -> tuple[str, ...]:
        # Most messages name the same few recipients: each distinct cell is split once.
        recipients = self._recipients.get((to, urls))
        if recipients is None:
            recipients = records.split_names(to, len(records.split_list(urls)))
            self._recipients[to, urls] = recipients
        return tuple(filter(None, (sender, *recipients)))

    def texts(self) -> list[str]:
        contents = self._column("content")
        subjects = self._column("subject")
        if not any(subjects):
            return contents
        return [f"{s} {c}" if s else c for s, c in zip(subjects, contents, strict=True)]


def _groups(rows: Sequence[int], sizes: Sequence[int]) -> Iterator[Sequence[int]]:
    start = 0
    for size in sizes:
        yield rows[start : start + size]
        start += size


def read_messages(members: MemberReaders) -> tuple[MessageTable, list[str]]:
    """The messages of an export's members (every part of messages.csv, in order), and a
    warning for each part that could not be read, as ``load_export`` words them."""
    tables, _others = classify(list(members))
    parts: list[RawTable] = []
    warnings: list[str] = []
    wanted = records.WANTED["messages"]
    for part in tables.get("messages", []):
        read = read_member(
            "messages", part.name, members, warnings, lambda data: read_rows(data, wanted)
        )
        if read is not None and read.columns:  # an empty file has none
            parts.append(read)
    return MessageTable(parts), warnings
