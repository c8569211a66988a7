"""Substring search over many short texts, fast enough to answer while someone types.

All texts are folded (case, accents) and joined into one UTF-8 string; a query runs
``bytes.find`` over it in C and maps each hit back to its text by bisection, so 400,000
messages (100 MB) are searched in tens of milliseconds. UTF-8 keeps the index at about a
byte per character (a ``str`` holding one emoji takes four), and substrings of UTF-8 are
substrings of the text. ASCII is lower-cased in C; of the rest, only the few distinct
characters that the full fold (decomposition, marks removed, casefold) changes are replaced,
in one pass of a regular expression over a few thousand texts at a time. Entries keep the
order they were given in, and hits come back in that order (callers give them newest first).
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from operator import methodcaller

SEPARATOR = "\x00"  # never inside folded text, so no hit spans two entries
_SEPARATOR = SEPARATOR.encode()
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_ASCII = re.compile(rb"([\x80-\xff]+)")  # whole characters: UTF-8 has no ASCII byte inside one
_ENCODE = methodcaller("encode", "utf-8", "surrogatepass")
_CHUNK = 16384  # texts folded at once
_ASCII = bytes(range(128))


# Latin letters that carry their mark inside them (no decomposition takes it off), as a person
# types them without it: 'Łukasz' is found by 'lukasz', 'Ørsted' by 'orsted', 'Þór' by 'thor'.
_LETTERS = str.maketrans(
    {
        **dict.fromkeys("łŁ", "l"), **dict.fromkeys("øØ", "o"), **dict.fromkeys("đĐðÐ", "d"),
        **dict.fromkeys("ßẞ", "ss"), **dict.fromkeys("æÆ", "ae"), **dict.fromkeys("œŒ", "oe"),
        **dict.fromkeys("þÞ", "th"), **dict.fromkeys("ıİ", "i"), **dict.fromkeys("ħĦ", "h"),
        **dict.fromkeys("ŧŦƭʈ", "t"), **dict.fromkeys("ŋŊɲƞ", "n"), **dict.fromkeys("ĸƙ", "k"),
        **dict.fromkeys("ƀɓƁ", "b"), **dict.fromkeys("ƈȼȻ", "c"), **dict.fromkeys("ɖɗƉƊ", "d"),
        **dict.fromkeys("ƒƑ", "f"), **dict.fromkeys("ǥǤɠ", "g"), **dict.fromkeys("ɦ", "h"),
        **dict.fromkeys("ɨƗ", "i"), **dict.fromkeys("ɉɈ", "j"), **dict.fromkeys("ƚȽ", "l"),
        **dict.fromkeys("ƥƤ", "p"), **dict.fromkeys("ɍɌ", "r"), **dict.fromkeys("ʉɄ", "u"),
        **dict.fromkeys("ɏɎƴƳ", "y"), **dict.fromkeys("ƶƵȥȤ", "z"), **dict.fromkeys("ȿ", "s"),
        **dict.fromkeys("ǝƏə", "e"), **dict.fromkeys("ɔƆ", "o"),
    }
)  # fmt: skip


def _fold_all(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_LETTERS))
        text = _COMBINING_MARKS.sub("", text).casefold()
    return text.lower()


@lru_cache(maxsize=8192)
def fold_character(character: str) -> str:
    """One character folded as it is in a text: '' for a combining mark, 'ss' for 'ß'."""
    return _fold_all(character)


def fold(text: str) -> str:
    """Lower-case, accents removed (also from letters that hold theirs, 'ł' -> 'l', 'ß' ->
    'ss'), whitespace runs as one space: 'José  Ñ' -> 'jose n'."""
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


def _fold_utf8(text: bytes) -> bytes:
    """``_fold_all`` of UTF-8 text: ASCII lower-cased in C, then only the characters that
    folding changes replaced, wherever they are, in one pass of a regular expression."""
    text = text.lower()
    if text.isascii():
        return text
    # The distinct characters: what is left once the ASCII bytes are taken out.
    present = frozenset(text.translate(None, _ASCII).decode("utf-8", "surrogatepass"))
    pattern, replace = _replacer(present)
    if pattern is None:
        return text
    parts = pattern.split(text)  # text, match, text, ..., text
    parts[1::2] = map(replace, parts[1::2])
    return b"".join(parts)


@lru_cache(maxsize=64)
def _replacer(
    present: frozenset[str],
) -> tuple[re.Pattern[bytes] | None, Callable[[bytes], bytes]]:
    """What to replace in a text holding these non-ASCII characters, and by what."""
    changed = {c: folded for c in present if (folded := _fold_all(c)) != c}
    if not _folds_alone(present, changed):
        return _NON_ASCII, _fold_run  # whole runs of non-ASCII characters, each distinct one once
    if not changed:
        return None, bytes
    replacements = {_ENCODE(c): _ENCODE(folded) for c, folded in changed.items()}
    return re.compile(b"(" + _alternatives(replacements) + b")"), replacements.__getitem__


@lru_cache(maxsize=4096)
def _fold_run(run: bytes) -> bytes:
    """A run of non-ASCII characters folded: it folds alone as in its text (an ASCII
    character takes no part in the reordering of combining marks)."""
    folded: bytes = _ENCODE(_fold_all(run.decode("utf-8", "surrogatepass")))
    return folded


def _folds_alone(present: frozenset[str], changed: dict[str, str]) -> bool:
    """Whether folding each character alone gives the fold of the whole text. Decomposing
    the whole text sorts each run of combining marks by class; marks of one class keep their
    order, and removed marks do not count, so this holds unless the marks kept are of two
    classes or more (as in Arabic or Hebrew), or a character folds to one that is folded too."""
    kept = {
        unicodedata.combining(part)
        for character in present
        for part in unicodedata.normalize("NFKD", character)
        if unicodedata.combining(part) and not _COMBINING_MARKS.match(part)
    }
    return len(kept) <= 1 and not any(c in changed for folded in changed.values() for c in folded)


def _alternatives(words: Iterable[bytes]) -> bytes:
    """A pattern matching any of ``words`` (none a prefix of another, as UTF-8 characters),
    as a tree by first byte: the regular expression engine tries a few bytes, not every word."""
    by_first: dict[bytes, list[bytes]] = {}
    for word in words:
        by_first.setdefault(word[:1], []).append(word[1:])
    branches = []
    for first, rests in by_first.items():
        rest = b"" if rests == [b""] else b"(?:" + _alternatives(rests) + b")"
        branches.append(re.escape(first) + rest)
    return b"|".join(branches)


class TextIndex:
    """Entries 0..n-1, each a text; ``search`` finds the entries holding every query word."""

    def __init__(self, texts: Iterable[str]) -> None:
        items = texts if isinstance(texts, list) else list(texts)
        self._count = len(items)
        # Folded a few thousand texts at a time: each step then runs over a few megabytes
        # that stay in the processor's cache, not over the whole index.
        chunks = []
        starts = array("q", [0])
        offset = 0
        for first in range(0, len(items), _CHUNK):
            pieces = list(map(_ENCODE, items[first : first + _CHUNK]))
            joined = _SEPARATOR.join(pieces)
            if joined.count(_SEPARATOR) != len(pieces) - 1:  # a text holds the separator
                joined = _SEPARATOR.join([piece.replace(_SEPARATOR, b" ") for piece in pieces])
            # Folding never makes nor removes a separator, but may change a text's length.
            folded = _fold_utf8(joined)
            ends = map(re.Match.end, re.finditer(_SEPARATOR, folded))
            starts.extend(map(offset.__add__, ends))
            offset += len(folded) + 1
            starts.append(offset)
            chunks.append(folded)
        # Entry i spans starts[i] .. starts[i+1] - 2 (the last "start" is one past the end).
        self._haystack = _SEPARATOR.join(chunks)
        self._starts = starts if items else array("q", [1])
        # The last full answer (words, entries): a query that only adds to its words (the next
        # keystroke) is answered from those entries instead of the whole index.
        self._last: tuple[tuple[bytes, ...], tuple[int, ...]] | None = None

    def __len__(self) -> int:
        return self._count

    def _entry(self, entry: int) -> bytes:
        return self._haystack[self._starts[entry] : self._starts[entry + 1] - 1]

    def text(self, entry: int) -> str:
        """The folded text of one entry."""
        return self._entry(entry).decode("utf-8", "surrogatepass")

    def search(self, query: str, limit: int | None = None) -> Hits:
        """Entries containing every word of ``query`` (all entries for an empty query).

        ``limit`` caps the number of hits collected: a common word in 400,000 messages
        stops after ``limit`` instead of walking them all.
        """
        words = tuple(map(_ENCODE, query_words(query)))
        if not words:
            every = range(len(self)) if limit is None else range(min(limit, len(self)))
            return Hits(list(every), limit is not None and len(self) > limit)
        last = self._last
        if last is not None and all(any(old in new for new in words) for old in last[0]):
            matches = self._among(last[1], words)  # every hit holds the last query's words
        else:
            matches = self._matches(words)
        found: list[int] = []
        for entry in matches:
            if limit is not None and len(found) >= limit:
                return Hits(found, True)
            found.append(entry)
        self._last = (words, tuple(found))
        return Hits(found, False)

    def _among(self, entries: tuple[int, ...], words: tuple[bytes, ...]) -> Iterator[int]:
        for entry in entries:
            text = self._entry(entry)
            if all(word in text for word in words):
                yield entry

    def _matches(self, words: tuple[bytes, ...]) -> Iterator[int]:
        first, rest = words[0], words[1:]
        haystack, starts = self._haystack, self._starts
        at = haystack.find(first)
        while at != -1:
            entry = bisect_right(starts, at) - 1
            if not rest or all(word in self._entry(entry) for word in rest):
                yield entry
            at = haystack.find(first, starts[entry + 1])
