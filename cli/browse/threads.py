"""One snapshot's messages arranged for reading: threads, the newest messages, their search.

No I/O. Built from the messages' columns (``vault.export.messagetable``) in steps that can
be shown one by one, for 400,000 messages: threads and their order (a second), who is in
each thread and the search of threads (a second more), the index of the message text
(seconds), and when first asked, which threads each person is in. Threads and messages are
numbers into those columns; a ``Message`` is made only for what a page shows.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from itertools import accumulate, chain, compress, repeat
from operator import is_, is_not
from typing import NamedTuple, cast, overload

from lkvault.vault import Conversation, LazySequence, Message, MessageColumns, participants

from .present import display_text
from .textsearch import TextIndex


def url_key(url: str | None) -> str | None:
    """A profile URL as Connection.key writes it, or None."""
    return url.rstrip("/").lower() if url else None


def name_key(name: str) -> str:
    return "name:" + name.casefold()


class MessageHit(NamedTuple):
    conversation: int  # number of the thread in Threads.conversations
    position: int  # the message's place in the thread, oldest first


def _dated_first(moments: list[datetime | None], newest: bool) -> list[int]:
    """Numbers of ``moments`` by time (a stable sort), the undated last, or first when
    oldest first: as ``records.conversations`` and the message list order them."""
    dated = list(compress(range(len(moments)), map(is_not, moments, repeat(None))))
    # Only the dated positions are sorted: their keys are never None.
    dated.sort(key=cast("Callable[[int], datetime]", moments.__getitem__), reverse=newest)
    undated = list(compress(range(len(moments)), map(is_, moments, repeat(None))))
    return dated + undated if newest else undated + dated


class Conversations(LazySequence[Conversation]):
    """The threads, most recent first, each made (with its messages) when asked for."""

    what = "conversation"

    def __init__(self, threads: Threads) -> None:
        self._threads = threads

    def __len__(self) -> int:
        return len(self._threads.ids)

    def item(self, index: int) -> Conversation:
        threads = self._threads
        messages = tuple(map(threads.source.message, threads.rows_of(index)))
        known = threads.known_participants
        names = known[index] if known is not None else participants(messages)
        return Conversation(threads.ids[index], threads.titles[index], names, messages)


class MessageHits(Sequence[MessageHit]):
    """Every message, newest first, as ``MessageHit``s made when asked for: making 400,000
    of them up front would cost a second for the few dozen a page shows."""

    def __init__(self, threads: Threads) -> None:
        self._threads = threads

    def __len__(self) -> int:
        return len(self._threads.newest_first)

    @overload
    def __getitem__(self, index: int) -> MessageHit: ...
    @overload
    def __getitem__(self, index: slice) -> list[MessageHit]: ...
    def __getitem__(self, index: int | slice) -> MessageHit | list[MessageHit]:
        hit = self._threads.hit
        if isinstance(index, slice):
            return list(map(hit, self._threads.newest_first[index]))
        return hit(self._threads.newest_first[index])


class Threads:
    """Messages grouped into threads, ordered, and (``text_index``) indexed for search."""

    def __init__(self, source: MessageColumns) -> None:
        """Group and order (the first step): the threads and the messages, newest first."""
        self.source = source
        ids = source.conversation_ids()
        self._sent = sent = source.sent()
        # Threads numbered in the order they first appear, each oldest first (undated first,
        # ties in file order), then most recent first: what records.conversations gives. The
        # work per message is done in C (sorts, maps, Counter).
        first_seen = dict.fromkeys(ids)
        thread_of = list(map({key: n for n, key in enumerate(first_seen)}.__getitem__, ids))
        by_thread = sorted(_dated_first(sent, newest=False), key=thread_of.__getitem__)
        sizes = list(Counter(thread_of).values())  # by thread number: first seen, first counted
        ends = list(accumulate(sizes))
        order = _dated_first([sent[by_thread[end - 1]] for end in ends], newest=True)
        keys = list(first_seen)
        self.ids = [keys[n] for n in order]
        # Messages of thread t: rows[starts[t]:starts[t + 1]], by number in the source.
        self._rows = array(
            "i", chain.from_iterable(by_thread[ends[n] - sizes[n] : ends[n]] for n in order)
        )
        self._starts = array("i", chain((0,), accumulate(map(sizes.__getitem__, order))))
        del first_seen, thread_of, by_thread, ends, keys
        self.titles = self._titles(ids, source.titles())
        self._sizes = [sizes[n] for n in order]
        # Newest first as places in _rows (thread after thread): ties and the undated keep
        # the threads' order.
        self.newest_first = array("i", _dated_first(list(map(sent.__getitem__, self._rows)), True))
        self.conversations = Conversations(self)
        self.message_hits = MessageHits(self)
        self.known_participants: list[tuple[str, ...]] | None = None
        self._participants_lock = threading.Lock()
        self._people: dict[str, list[int]] | None = None
        self._people_lock = threading.Lock()

    def _titles(self, ids: list[str], titles: list[str]) -> list[str | None]:
        """Each thread's title: the first its messages give, oldest first."""
        found: list[str | None] = [None] * len(self.ids)
        titled = {ids[number] for number in compress(range(len(titles)), titles)}
        for thread, key in enumerate(self.ids):
            if key in titled:
                found[thread] = next(titles[r] for r in self.rows_of(thread) if titles[r])
        return found

    def participants(self) -> list[tuple[str, ...]]:
        """Each thread's senders and recipients, in order of appearance (the second step, or
        when first asked)."""
        with self._participants_lock:
            if self.known_participants is None:
                self.known_participants = self.source.participants(self._rows, self._sizes)
            return self.known_participants

    def thread_index(self) -> TextIndex:
        """The search of threads by title and people (the second step)."""
        return TextIndex(
            " ".join(filter(None, (title, *names)))
            for title, names in zip(self.titles, self.participants(), strict=True)
        )

    def rows_of(self, thread: int) -> array[int]:
        """The thread's messages (numbers in the source), oldest first."""
        return self._rows[self._starts[thread] : self._starts[thread + 1]]

    def hit(self, place: int) -> MessageHit:
        thread = bisect_right(self._starts, place) - 1
        return MessageHit(thread, place - self._starts[thread])

    def message(self, hit: MessageHit) -> Message:
        return self.source.message(self._rows[self._starts[hit.conversation] + hit.position])

    def messages_after(self, day: date) -> list[MessageHit]:
        """Messages sent after ``day`` (newest first)."""
        found = []
        for place in self.newest_first:
            sent = self._sent[self._rows[place]]
            if sent is None or sent.date() <= day:
                break
            found.append(self.hit(place))
        return found

    def text_index(self) -> TextIndex:
        """The index of the message text, entries in ``message_hits`` order (the third step).
        Markup is decoded as a reader sees it first."""
        texts = self.source.texts()
        ordered = list(map(texts.__getitem__, map(self._rows.__getitem__, self.newest_first)))
        for number in [n for n, text in enumerate(ordered) if "<" in text or "&" in text]:
            ordered[number] = display_text(ordered[number])
        return TextIndex(ordered)

    def threads_of(self, key: str) -> list[int]:
        """Threads with a person, by ``url_key`` or ``name_key``."""
        return list(self.index_people().get(key, ()))

    def index_people(self) -> dict[str, list[int]]:
        """Threads by ``url_key`` and ``name_key`` of the people in them, made when first
        asked (a second for 400,000 messages, so not before the searches, which matter more)."""
        with self._people_lock:
            if self._people is None:
                self._people = self._index_people()
            return self._people

    def _index_people(self) -> dict[str, list[int]]:
        urls = self.source.profile_urls(self._rows, self._sizes)
        keys: dict[str, str] = {}  # the same people are in many threads: each keyed once
        people: dict[str, list[int]] = defaultdict(list)
        for number, names in enumerate(self.participants()):
            for key in chain(
                [keys.get(name) or keys.setdefault(name, name_key(name)) for name in names],
                [url_key(url) or "" for url in urls[number]],
            ):
                found = people[key]
                if not found or found[-1] != number:  # threads in order, each once
                    found.append(number)
        return people
