"""Substring search over many short texts, fast enough to answer while someone types.

All texts are folded (case, accents) and joined into one string; a query runs ``str.find``
over it in C and maps each hit back to its text by bisection, so 400,000 messages are
searched in milliseconds to a few tenths of a second. Texts that are plain ASCII (most) are
only lower-cased; the full fold (decomposition, marks removed, casefold) runs on the others.
Entries keep the order they were given in, and hits come back in that order (callers give
them newest first).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate

SEPARATOR = "\x00"  # never inside folded text, so no hit spans two entries
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _fold_all(text: str) -> str:
    if not text.isascii():
        text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()
    return text.lower()


def fold(text: str) -> str:
    """Lower-case, accents removed, whitespace runs as one space: 'José  Ñ' -> 'jose n'."""
    return " ".join(_fold_all(text.replace(SEPARATOR, " ")).split())


def query_words(query: str) -> list[str]:
    """The folded words of a query, longest first (the longest is the most selective)."""
    return sorted(set(fold(query).split()), key=len, reverse=True)


@dataclass(frozen=True)
class Hits:
    """Entry numbers matching a query, in entry order, and whether the count was capped."""

    entries: list[int]
    capped: bool

    @property
    def total(self) -> int:
        return len(self.entries)


class TextIndex:
    """Entries 0..n-1, each a text; ``search`` finds the entries holding every query word."""

    def __init__(self, texts: Iterable[str], prepare: Callable[[str], str] | None = None) -> None:
        """``prepare`` (e.g. decoding entities) runs once over all texts joined, which is much
        faster than once per text; it must neither add nor remove separators."""
        items = [text.replace(SEPARATOR, " ") for text in texts]
        count = len(items)
        if prepare is not None:
            items = prepare(SEPARATOR.join(items)).split(SEPARATOR) if items else []
            if len(items) != count:
                raise ValueError("prepare must neither add nor remove separators")
        # Folding is per character and a separator is never changed by it, so the texts that
        # are not plain ASCII can be folded apart (joined, in one call) and the others only
        # lower-cased.
        folded = [text.lower() if text.isascii() else text for text in items]
        rich = [number for number, text in enumerate(items) if not text.isascii()]
        del items
        if rich:
            done = _fold_all(SEPARATOR.join([folded[n] for n in rich])).split(SEPARATOR)
            for number, text in zip(rich, done, strict=True):
                folded[number] = text
        self._haystack = SEPARATOR.join(folded)
        # Entry i spans starts[i] .. starts[i+1] - 1 (the last "start" is one past the end).
        self._starts = [0, *accumulate(len(text) + 1 for text in folded)] if folded else [1]

    def __len__(self) -> int:
        return len(self._starts) - 1

    def text(self, entry: int) -> str:
        """The folded text of one entry."""
        return self._haystack[self._starts[entry] : self._starts[entry + 1] - len(SEPARATOR)]

    def search(self, query: str, limit: int | None = None) -> Hits:
        """Entries containing every word of ``query`` (all entries for an empty query).

        ``limit`` caps the number of hits collected: a common word in 400,000 messages
        stops after ``limit`` instead of walking them all.
        """
        words = query_words(query)
        if not words:
            every = range(len(self)) if limit is None else range(min(limit, len(self)))
            return Hits(list(every), limit is not None and len(self) > limit)
        found: list[int] = []
        for entry in self._matches(words):
            if limit is not None and len(found) >= limit:
                return Hits(found, True)
            found.append(entry)
        return Hits(found, False)

    def _matches(self, words: list[str]) -> Iterator[int]:
        first, rest = words[0], words[1:]
        haystack, starts = self._haystack, self._starts
        at = haystack.find(first)
        while at != -1:
            entry = bisect_right(starts, at) - 1
            if not rest or all(word in self.text(entry) for word in rest):
                yield entry
            at = haystack.find(first, starts[entry + 1])
