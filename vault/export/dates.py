"""Dates and times as LinkedIn writes them, in every format its exports have used.

Pure. Times without a zone are taken as UTC, so every datetime returned is timezone-aware and
any two can be compared. Unparseable text gives ``None``, never an exception.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

# 2025-01-14 04:00:11 UTC | 2025/12/30 00:50:55 UTC | 2026-04-06 15:43 | 2024/03/02
_ISO = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
    r"\s*(?:UTC|GMT|Z)?$",
    re.IGNORECASE,
)
# 9/27/25, 8:41 AM | 1/8/18 6:14 PM UTC | 10/16/2018
_US = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?)?"
    r"\s*(?:UTC|GMT)?$",
    re.IGNORECASE,
)
# 14 Nov 2024
_DMY = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})$")
# Apr 9, 2019
_MDY = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2}),\s*(\d{4})$")
# Wed Oct 01 16:02:32 UTC 2025
_JAVA = re.compile(
    r"^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+[A-Z]{2,5}\s+(\d{4})$"
)


def _year(text: str) -> int:
    value = int(text)
    return value + 2000 if value < 100 else value


def _build(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None


def parse_datetime(text: str | None) -> datetime | None:
    """A moment from any of LinkedIn's formats (UTC when no zone is given), else None."""
    if not text:
        return None
    if len(text) == 23 and text[19:] == " UTC" and text[4:17:3] == "-- ::":
        # Today's format, "2025-01-14 04:00:11 UTC" (every message row): parsed in C. With
        # every separator in place fromisoformat takes only digits; anything it refuses (a
        # bad day, other digits) takes the general path below, which decides.
        try:
            return datetime.fromisoformat(text[:19] + "+00:00")
        except ValueError:
            pass
    value = " ".join(text.split())
    if match := _ISO.match(value):
        y, mo, d, h, mi, s = match.groups()
        return _build(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    if match := _US.match(value):
        mo, d, y, h, mi, s, half = match.groups()
        hour = int(h or 0)
        if half:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if half.upper() == "PM" else 0)
        return _build(_year(y), int(mo), int(d), hour, int(mi or 0), int(s or 0))
    if match := _DMY.match(value):
        d, mon, y = match.groups()
        month = MONTHS.get(mon.lower())
        return _build(int(y), month, int(d)) if month else None
    if match := _MDY.match(value):
        mon, d, y = match.groups()
        month = MONTHS.get(mon.lower())
        return _build(int(y), month, int(d)) if month else None
    if match := _JAVA.match(value):
        mon, d, h, mi, s, y = match.groups()
        month = MONTHS.get(mon.lower())
        return _build(int(y), month, int(d), int(h), int(mi), int(s)) if month else None
    return None


def parse_date(text: str | None) -> date | None:
    """The day of any of LinkedIn's date or date-time formats, else None."""
    moment = parse_datetime(text)
    return moment.date() if moment else None
