"""How values read on the page: dates, counts, and text snippets with the searched words marked.

Pure. Snippets are lists of (text, is_match) pieces: templates and scripts put each piece in
the page as text, so nothing from an export is ever parsed as HTML.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from urllib.parse import quote

from lkvault.vault import web_link

from .textsearch import fold_character, query_words

Snippet = list[tuple[str, bool]]
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def display_text(content: str) -> str:
    """Message text as a person reads it: LinkedIn's ``<br>`` as line breaks and entities such
    as ``&amp;`` decoded. Everything else, tags included, stays literal text (it is shown as
    text, never interpreted as HTML)."""
    if "&" not in content and content.count("<") == content.count("<br>"):
        return content.replace("<br>", "\n")  # the usual case, without a regular expression
    return html.unescape(_LINE_BREAK.sub("\n", content))


def link_target(url: str | None) -> str | None:
    """``url`` if the page may link to it (see ``web_link``), else None: shown as text."""
    return web_link(url)


def mail_target(email: str | None) -> str | None:
    """A mailto: link to exactly this address (nothing after it can add recipients or a
    body), or None when ``email`` does not look like one address."""
    if not email or email.count("@") != 1 or any(not c.isprintable() or c.isspace() for c in email):
        return None
    return "mailto:" + quote(email, safe="@")


def when(moment: datetime | None) -> str:
    """A message time in the viewer's local time zone, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone().date()
    return value.isoformat()


def count(number: int, noun: str, capped: bool = False) -> str:
    more = "+" if capped else ""
    return f"{number:,}{more} {noun}{'' if number == 1 and not capped else 's'}"


HIDDEN_MEMBER = "Hidden member"  # a row of Connections.csv with neither name nor profile URL


def connections_count(number: int, hidden: int) -> str:
    """'4,012 connections (45 hidden)', as the command line counts them too."""
    return count(number, "connection") + (f" ({hidden:,} hidden)" if hidden else "")


def snippet(text: str, query: str, width: int = 180) -> Snippet:
    """Up to ``width`` characters of ``text`` around the first searched word, words marked
    wherever search found them: in the text folded as search folds it ('lukasz' marks
    'Łukasz', 'strasse' marks 'Straße')."""
    flat = " ".join(text.split())
    words = query_words(query)
    if not words:
        return [(_cut(flat, 0, width), False)]
    pattern = re.compile("|".join(re.escape(w) for w in words))
    spans = _folded_matches(flat, pattern)
    start = 0 if not spans else max(0, spans[0][0] - width // 3)
    piece = _cut(flat, start, width)
    parts: Snippet = []
    at = 0
    for begin, end in _folded_matches(piece, pattern):
        if begin > at:
            parts.append((piece[at:begin], False))
        parts.append((piece[begin:end], True))
        at = end
    if at < len(piece):
        parts.append((piece[at:], False))
    return parts


def _folded_matches(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Where ``pattern`` (folded words) matches ``text`` once folded, as spans of ``text``:
    each character is folded alone and its folded characters remember where they came from,
    so a letter that folds to two ('ß' -> 'ss') or to none (a combining mark) maps back."""
    origin: Sequence[int]  # the position in ``text`` of each folded character
    if text.isascii():
        folded, origin = text.lower(), range(len(text))
    else:
        pieces, where = [], []
        for position, character in enumerate(text):
            done = fold_character(character)
            pieces.append(done)
            where += [position] * len(done)
        folded, origin = "".join(pieces), where
    spans = []
    for match in pattern.finditer(folded):
        if match.end() > match.start():
            end = origin[match.end() - 1] + 1
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1  # the marks of the last letter stay with it
            spans.append((origin[match.start()], end))
    return spans


def _cut(text: str, start: int, width: int) -> str:
    piece = text[start : start + width]
    if start > 0:
        piece = "…" + piece.lstrip()
    if start + width < len(text):
        piece = piece.rstrip() + "…"
    return piece
