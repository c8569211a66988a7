"""One snapshot's export, arranged for reading: sorted lists, threads and search indexes.

Built once when a snapshot is opened (no I/O here); every page and search of the browse
application is then a lookup or a scan of an index in memory. The messages come last, in
steps (see ``add_messages``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal

from lkvault.vault import (
    Connection,
    Conversation,
    Endorsement,
    Export,
    Invitation,
    Message,
    MessageList,
    MessageTable,
    Recommendation,
)

from .people import person_id
from .textsearch import Hits, TextIndex, fold, query_words
from .threads import MessageHit, Threads, name_key, url_key

PAGE_SIZE = 50
MESSAGE_HIT_LIMIT = 1000  # message search stops counting here ("1000+ messages")

ConnectionOrder = Literal["recent", "oldest", "name", "company"]
CONNECTION_ORDERS: tuple[ConnectionOrder, ...] = ("recent", "oldest", "name", "company")


@dataclass(frozen=True)
class Page:
    """One page of an ordered result: the entries shown and where they sit in the whole."""

    items: list[int]
    total: int
    capped: bool  # more hits exist than were counted
    number: int  # 1-based
    pages: int

    @property
    def first(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0


def page_of(entries: Sequence[int], number: int, capped: bool = False) -> Page:
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    number = min(max(1, number), pages)
    start = (number - 1) * PAGE_SIZE
    return Page(list(entries[start : start + PAGE_SIZE]), len(entries), capped, number, pages)


def _newest_first(moment: datetime | None) -> tuple[bool, datetime]:
    """Sort key (with reverse=True): newest first, undated last."""
    return (moment is not None, moment or datetime.min.replace(tzinfo=timezone.utc))


class Catalog:
    """Everything one snapshot's pages show, sorted and indexed."""

    def __init__(self, export: Export, *, with_messages: bool = True) -> None:
        """``with_messages=False`` leaves the messages out until ``add_messages``: they are
        most of a large export, and everything else can be shown while they are read."""
        self.export = export
        self.owner = " ".join(
            part
            for part in (export.profile.get("First Name"), export.profile.get("Last Name"))
            if part
        )
        self._build_connections(export.connections)
        # The messages are added in steps (see add_messages): threads and their messages, the
        # search of threads, the search of message text.
        self.conversations_ready = False
        self.conversation_search_ready = False
        self.messages_ready = False
        self.messages: Sequence[Message] = []  # in file order
        self.conversations: Sequence[Conversation] = []
        self.message_hits: Sequence[MessageHit] = []
        self.thread_index = TextIndex([])
        self.message_index = TextIndex([])
        self._threads: Threads | None = None
        if with_messages:
            self.add_messages(export.messages)
        self.invitations = sorted(
            export.invitations, key=lambda i: _newest_first(i.sent_at), reverse=True
        )
        self.recommendations_received = [
            r for r in export.recommendations if r.direction == "received"
        ]
        self.recommendations_given = [r for r in export.recommendations if r.direction == "given"]
        endorsed = Counter(e.skill for e in export.endorsements if e.direction == "received")
        self.skills = endorsed.most_common()  # (skill, times), most endorsed first

    # --- connections ------------------------------------------------------------------------

    def _build_connections(self, connections: list[Connection]) -> None:
        def connected(c: Connection) -> date:
            return c.connected_on or date.min

        # Every row of Connections.csv is a connection, as LinkedIn counts them: a hidden
        # member's row (no name, no URL, only a day) is listed as such, never as a person.
        self.connections = sorted(connections, key=connected, reverse=True)
        self.hidden_connections = sum(1 for c in self.connections if c.hidden)
        self.contacts = len(self.connections) - self.hidden_connections
        self._order: dict[str, list[int]] = {}
        numbers = range(len(self.connections))
        self._order["recent"] = list(numbers)
        self._order["oldest"] = sorted(
            numbers, key=lambda n: (self.connections[n].connected_on is None, -n)
        )
        self._order["name"] = sorted(
            numbers,
            key=lambda n: (
                self.connections[n].hidden,
                fold(self.connections[n].last_name or self.connections[n].first_name),
                fold(self.connections[n].first_name),
            ),
        )
        self._order["company"] = sorted(
            numbers,
            key=lambda n: (
                not self.connections[n].company,
                fold(self.connections[n].company or ""),
                n,
            ),
        )
        self._rank = {order: _ranks(entries) for order, entries in self._order.items()}
        self.connection_index = TextIndex(
            " ".join(filter(None, (c.name, c.company, c.position, c.email)))
            for c in self.connections
        )
        self.by_person = {
            person_id(c.key): n for n, c in enumerate(self.connections) if not c.hidden
        }

    def search_connections(self, query: str, order: ConnectionOrder, page: int) -> Page:
        hits = self.connection_index.search(query)
        if not query.strip():
            return page_of(self._order[order], page)
        rank = self._rank[order]
        return page_of(sorted(hits.entries, key=rank.__getitem__), page)

    def connection(self, pid: str) -> Connection | None:
        number = self.by_person.get(pid)
        return None if number is None else self.connections[number]

    # --- conversations ----------------------------------------------------------------------

    def add_messages(self, messages: Sequence[Message], warnings: Sequence[str] = ()) -> None:
        """Group and index the messages (records, or a ``MessageTable`` that makes them when
        read) and note ``warnings`` met reading them. Pages may read this catalog meanwhile:
        each step is built aside and published when done: the threads
        (``conversations_ready``), their search (``conversation_search_ready``), then the
        message search (``messages_ready``), seconds later for 400,000 messages."""
        source = messages if isinstance(messages, MessageTable) else MessageList(messages)
        threads = Threads(source)
        self._threads = threads
        self.messages = source
        self.conversations = threads.conversations
        self.message_hits = threads.message_hits
        self.export.warnings.extend(warnings)
        self.conversations_ready = True
        self.thread_index = threads.thread_index()
        self.conversation_search_ready = True
        self.message_index = threads.text_index()
        self.messages_ready = True

    def message(self, hit: MessageHit) -> Message:
        if self._threads is None:
            raise LookupError("the messages are not read yet")
        return self._threads.message(hit)

    def thread_title(self, thread: Conversation) -> str:
        if thread.title:
            return thread.title
        others = [name for name in thread.participants if name != self.owner]
        return ", ".join(others or list(thread.participants)) or "(no participants)"

    def search_threads(self, query: str, page: int) -> Page:
        if not query_words(query):  # all of them, before their search is ready too
            return page_of(range(len(self.conversations)), page)
        return page_of(self.thread_index.search(query).entries, page)

    def search_messages(self, query: str, page: int) -> Page:
        limit = max(MESSAGE_HIT_LIMIT, page * PAGE_SIZE)
        hits: Hits = self.message_index.search(query, limit=limit)
        return page_of(hits.entries, page, hits.capped)

    def threads_with(self, connection: Connection) -> list[int]:
        """Threads with this person, most recent first: by profile URL, else by name."""
        if self._threads is None:
            return []
        found = self._threads.threads_of(url_key(connection.url) or "")
        return found or self._threads.threads_of(name_key(connection.name))

    def invitations_with(self, connection: Connection) -> list[Invitation]:
        url, name = url_key(connection.url), connection.name
        return [
            i
            for i in self.invitations
            if (url and url in (url_key(i.sender_url), url_key(i.recipient_url)))
            or (name and name in (i.sender, i.recipient))
        ]

    def recommendations_with(self, connection: Connection) -> list[Recommendation]:
        return [
            r
            for r in self.export.recommendations
            if (r.first_name, r.last_name) == (connection.first_name, connection.last_name)
        ]

    def endorsements_with(self, connection: Connection) -> list[Endorsement]:
        url = url_key(connection.url)
        return [
            e
            for e in self.export.endorsements
            if (url and url_key(e.url) == url)
            or (
                not url
                and (e.first_name, e.last_name) == (connection.first_name, connection.last_name)
            )
        ]

    def messages_after(self, day: date) -> list[MessageHit]:
        """Messages sent after ``day`` (newest first)."""
        return [] if self._threads is None else self._threads.messages_after(day)


def _ranks(entries: list[int]) -> list[int]:
    rank = [0] * len(entries)
    for position, entry in enumerate(entries):
        rank[entry] = position
    return rank
