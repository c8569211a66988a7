"""Text from an export or a file name made harmless to show: terminal controls escaped.

A name, title or file name can carry ESC sequences (clear the screen, set the window title,
write the clipboard with OSC 52, hide a link with OSC 8), 8-bit C1 controls that some terminals
obey, and bidirectional overrides that make text read differently from what it is. Every such
character is shown as a visible escape (``\\x1b``, ``\\u202e``) instead of being sent on. Pure.
"""

from __future__ import annotations

import re

# Unicode categories Cc (C0, DEL, C1), Cf (format: bidi overrides and isolates, zero-width
# characters, the BOM, tags), Zl and Zp (line and paragraph separators) and Cs (lone
# surrogates), as ranges of code points (Unicode 15). Spelled out so that nothing has to scan
# the whole code space at start-up.
_UNSAFE_RANGES = (
    (0x00, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD),
    (0x70F, 0x70F), (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F),
    (0x2028, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xD800, 0xDFFF), (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip


def _character_class(ranges: tuple[tuple[int, int], ...], keep: str = "") -> re.Pattern[str]:
    parts = []
    for first, last in ranges:
        for start, end in _without(first, last, {ord(c) for c in keep}):
            parts.append(f"\\U{start:08x}" if start == end else f"\\U{start:08x}-\\U{end:08x}")
    return re.compile("[" + "".join(parts) + "]")


def _without(first: int, last: int, holes: set[int]) -> list[tuple[int, int]]:
    pieces, start = [], first
    for hole in sorted(h for h in holes if first <= h <= last):
        if hole > start:
            pieces.append((start, hole - 1))
        start = hole + 1
    if start <= last:
        pieces.append((start, last))
    return pieces


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
UNSAFE = _character_class(_UNSAFE_RANGES)
UNSAFE_BUT_LINES = _character_class(_UNSAFE_RANGES, keep="\n\t")


def escape_character(character: str) -> str:
    """``\\x1b``, ``\\u202e`` or ``\\U000e0001``: how an unsafe character is shown."""
    code = ord(character)
    if character in _SHORT:
        return _SHORT[character]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every terminal control and invisible format character escaped; with
    ``lines`` the line breaks and tabs of a multi-line text are kept as they are."""
    pattern = UNSAFE_BUT_LINES if lines else UNSAFE
    return pattern.sub(lambda match: escape_character(match.group(0)), text)
