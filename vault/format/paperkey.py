"""Paper recovery keys: a vault's master secret as lines a person can write down and type back,
each line with check characters that catch a mistyped character and tell where it is.

Layout (docs/FORMAT.md, "Recovery key"): the payload ``u8(1) || vault id (16) || master
secret (32)`` in Crockford base32 (lower case, 79 characters), in lines of 20 characters
(4 groups of 5), each followed by 3 check characters: the first 15 bits of
SHA-256("lkvault recovery key" || u8(line number) || the line's characters). Pure logic.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from lkvault.vault.errors import BadInput
from lkvault.vault.format.crypto import MASTER_SECRET_SIZE, VAULT_ID_SIZE

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Letters people confuse with the ones the alphabet leaves out.
LOOKALIKES = {"i": "1", "l": "1", "o": "0"}
VERSION = 1
GROUP = 5
PER_LINE = 20
CHECK = 3
PAYLOAD_SIZE = 1 + VAULT_ID_SIZE + MASTER_SECRET_SIZE
SYMBOLS = (PAYLOAD_SIZE * 8 + 4) // 5
LINES = (SYMBOLS + PER_LINE - 1) // PER_LINE
_NUMBERED = re.compile(r"^\s*(\d{1,2})\s*[:.)]\s*(.*)$")


@dataclass(frozen=True)
class RecoveryKey:
    vault_id: bytes
    master: bytes


def _to_base32(data: bytes) -> str:
    bits = int.from_bytes(data, "big") << (SYMBOLS * 5 - len(data) * 8)
    return "".join(ALPHABET[(bits >> (5 * (SYMBOLS - 1 - i))) & 31] for i in range(SYMBOLS))


def _from_base32(symbols: str) -> bytes | None:
    bits = 0
    for char in symbols:
        bits = (bits << 5) | ALPHABET.index(char)
    spare = SYMBOLS * 5 - PAYLOAD_SIZE * 8
    if bits & ((1 << spare) - 1):
        return None
    return (bits >> spare).to_bytes(PAYLOAD_SIZE, "big")


def line_check(number: int, symbols: str) -> str:
    digest = hashlib.sha256(b"lkvault recovery key" + bytes([number]) + symbols.encode()).digest()
    value = int.from_bytes(digest[:2], "big") >> (16 - 5 * CHECK)
    return "".join(ALPHABET[(value >> (5 * (CHECK - 1 - i))) & 31] for i in range(CHECK))


def encode(key: RecoveryKey) -> list[str]:
    """The key's lines, e.g. ``1: 0abcd efghj kmnpq rstvw  x7z``."""
    symbols = _to_base32(bytes([VERSION]) + key.vault_id + key.master)
    lines: list[str] = []
    for number in range(1, LINES + 1):
        part = symbols[(number - 1) * PER_LINE : number * PER_LINE]
        groups = " ".join(part[i : i + GROUP] for i in range(0, len(part), GROUP))
        lines.append(f"{number}: {groups}  {line_check(number, part)}")
    return lines


def _normalise(text: str) -> str:
    out = []
    for char in text.lower():
        if char in " \t-_:/|":
            continue
        out.append(LOOKALIKES.get(char, char))
    return "".join(out)


def _key_lines(text: str) -> list[str]:
    """The lines that hold key characters (headings and blank lines left out), numbers
    stripped and checked to be 1, 2, ... in order."""
    lines: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped.lower().startswith("lkvault"):
            continue
        numbered = _NUMBERED.match(stripped)
        if numbered:
            number, stripped = int(numbered.group(1)), numbered.group(2)
            if number != len(lines) + 1:
                raise BadInput(f"line numbered {number} comes where line {len(lines) + 1} should")
        lines.append(_normalise(stripped))
    return lines


def _fixes(number: int, symbols: str) -> list[str]:
    """Every one-character change to a line (key or check characters) that makes it check."""
    candidates = []
    for position in range(len(symbols)):
        for char in ALPHABET:
            if char == symbols[position]:
                continue
            changed = symbols[:position] + char + symbols[position + 1 :]
            if line_check(number, changed[:-CHECK]) == changed[-CHECK:]:
                candidates.append(changed)
    return candidates


def _where(number: int, position: int) -> str:
    if position >= PER_LINE:
        return f"line {number}, check character {position - PER_LINE + 1}"
    return f"line {number}, group {position // GROUP + 1}, character {position % GROUP + 1}"


def decode(text: str, accepts: Callable[[RecoveryKey], bool] | None = None) -> RecoveryKey:
    """The key written in ``text``; BadInput says which line is wrong and, when one changed
    character makes it right (and ``accepts`` the result, e.g. it opens the vault), where."""
    lines = _key_lines(text)
    if len(lines) != LINES:
        raise BadInput(f"a recovery key has {LINES} lines; found {len(lines)}")
    for number, symbols in enumerate(lines, 1):
        expected = (PER_LINE if number < LINES else SYMBOLS - PER_LINE * (LINES - 1)) + CHECK
        bad = [c for c in symbols if c not in ALPHABET]
        if bad:
            raise BadInput(f"line {number} holds {bad[0]!r}, which no recovery key contains")
        if len(symbols) != expected:
            raise BadInput(
                f"line {number} has {len(symbols)} characters; it should have {expected} "
                f"({expected - CHECK} and {CHECK} check characters): one is missing or extra"
            )
    wrong = [n for n, s in enumerate(lines, 1) if line_check(n, s[:-CHECK]) != s[-CHECK:]]
    if wrong:
        number = wrong[0]
        message = f"line {number} does not match its check characters: a character is mistyped"
        suggestion = _suggest(lines, number, accepts) if len(wrong) == 1 else None
        raise BadInput(f"{message}; {suggestion}" if suggestion else message)
    payload = _from_base32("".join(s[:-CHECK] for s in lines))
    if payload is None or payload[0] != VERSION:
        raise BadInput("this is not an lkvault recovery key of a version this lkvault reads")
    return RecoveryKey(payload[1 : 1 + VAULT_ID_SIZE], payload[1 + VAULT_ID_SIZE :])


def _suggest(
    lines: list[str], number: int, accepts: Callable[[RecoveryKey], bool] | None
) -> str | None:
    typed = lines[number - 1]
    fits = []
    for fixed in _fixes(number, typed):
        attempt = [*lines[: number - 1], fixed, *lines[number:]]
        payload = _from_base32("".join(s[:-CHECK] for s in attempt))
        if payload is None or payload[0] != VERSION:
            continue
        key = RecoveryKey(payload[1 : 1 + VAULT_ID_SIZE], payload[1 + VAULT_ID_SIZE :])
        if accepts is None or accepts(key):
            fits.append(fixed)
    if len(fits) != 1:
        return None
    position = next(i for i, (a, b) in enumerate(zip(typed, fits[0], strict=True)) if a != b)
    return (
        f"{_where(number, position)} reads {typed[position]!r} where the key has "
        f"{fits[0][position]!r}"
    )
