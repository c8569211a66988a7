"""Snapshots over time: the day each one stands for, picking one by date, and missing months.

Pure. A snapshot of a LinkedIn export stands for the day the export was made (from its
name, else from the times on its members); any other snapshot for the day it was stored, in
the given time zone (local by default). Picking by date (``--at``) and retention
(``forget --keep-...``) both count these days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, tzinfo

from lkvault.vault.errors import SnapshotNotFound
from lkvault.vault.export.summary import summary_from_document
from lkvault.vault.repository.snapshots import Snapshot

# Where a snapshot's day comes from, as the retention tables name it.
DAY_FROM_NAME = "export name"
DAY_FROM_CONTENTS = "export contents"
DAY_FROM_FILE_TIME = "file modified"
DAY_STORED = "day stored"


def dated_day(snapshot: Snapshot, zone: tzinfo | None = None) -> tuple[date, str]:
    """The day a snapshot stands for and where it comes from (``DAY_FROM_NAME``,
    ``DAY_FROM_CONTENTS``, ``DAY_FROM_FILE_TIME`` or ``DAY_STORED``)."""
    summary = summary_from_document(snapshot.export)
    if summary is not None and summary.date is not None:
        source = {"contents": DAY_FROM_CONTENTS, "modified": DAY_FROM_FILE_TIME}
        return summary.date, source.get(summary.date_from or "name", DAY_FROM_NAME)
    return snapshot.time.astimezone(zone).date(), DAY_STORED


def snapshot_day(snapshot: Snapshot, zone: tzinfo | None = None) -> date:
    """The export's date when known, else the day the snapshot was stored."""
    return dated_day(snapshot, zone)[0]


def latest_snapshot(snapshots: Sequence[Snapshot], zone: tzinfo | None = None) -> Snapshot | None:
    """What 'latest' means in every command: the newest LinkedIn export (by the day it was
    made, then the order stored), so a file stored with --any-file or an older export stored
    late never takes its place; the newest snapshot when none is an export."""
    exports = [s for s in snapshots if s.export is not None]
    return max(exports or snapshots, key=lambda s: (snapshot_day(s, zone), s.seq), default=None)


def parse_day(text: str) -> date:
    """A day as a user types it: YYYY-MM-DD. Raises ValueError with a usable message."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date: write it as YYYY-MM-DD") from None


def pick_at(
    snapshots: Sequence[Snapshot], day: date, zone: tzinfo | None = None
) -> Snapshot | None:
    """The newest snapshot standing for ``day`` or earlier (the latest stored wins a tie)."""
    candidates = [(snapshot_day(s, zone), s.seq, s) for s in snapshots]
    eligible = [c for c in candidates if c[0] <= day]
    if not eligible:
        return None
    return max(eligible, key=lambda c: (c[0], c[1]))[2]


def month_of(day: date) -> tuple[int, int]:
    return day.year, day.month


def missing_months(days: Iterable[date]) -> list[tuple[int, int]]:
    """(year, month) of every month between the first and the last day that has none."""
    present = {month_of(day) for day in days}
    if not present:
        return []
    year, month = min(present)
    last = max(present)
    missing = []
    while (year, month) < last:
        if (year, month) not in present:
            missing.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return missing


def by_id_prefix(found: Sequence[Snapshot], ref: str) -> Snapshot:
    """The one snapshot of ``found`` whose id starts with ``ref`` (hex digits, any case)."""
    ref = ref.lower()
    if not ref or any(c not in "0123456789abcdef" for c in ref):
        raise SnapshotNotFound(f"{ref!r} is not a snapshot id (hex digits, or 'latest')")
    matches = [s for s in found if s.id.hex().startswith(ref)]
    if not matches:
        raise SnapshotNotFound(f"no snapshot id starts with {ref!r}")
    if len(matches) > 1:
        shown = ", ".join(f"{s.id.hex()[: len(ref) + 4]} ({s.source})" for s in matches[:10])
        more = f" and {len(matches) - 10:,} more" if len(matches) > 10 else ""
        raise SnapshotNotFound(
            f"{ref!r} matches {len(matches):,} snapshots: {shown}{more}; give more digits"
        )
    return matches[0]
