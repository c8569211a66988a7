"""Retention policies: which snapshots a policy keeps and why (pure logic; the clock is an input).

Rules, as in restic and borg: keep the newest N snapshots (``last``); the newest snapshot of
each of the newest N days, ISO weeks, months and years that have one (``daily`` ...
``yearly``); every snapshot whose day is within a duration before the newest one's
(``within``). A snapshot is kept when any rule keeps it, and each rule says why ("monthly 3":
the newest snapshot of the third newest month with one).

Every rule counts the day a snapshot stands for: the day its export was made (the date in
its name, else on its members), else the day it was stored. Exports stored long after they
were made (a backlog of old zips imported on one day) thus keep their own months and years.
Snapshots of the same day are ordered by when they were stored.

A vault holding several members' exports keeps what the policy says of each member's (as
restic groups by host): ``--keep-monthly 12`` keeps twelve months of every member, so one
member's exports never push another's out of their slots. An export of no known member (a
contacts file of 2012) counts among every member's, as it shows in every member's view.
Files that are not exports (stored with --any-file) are kept by the rules among themselves,
so a stray file stored late in a month cannot take that month's export's place. When no
member is known the rules count every snapshot, as one.

Clocks and names can lie. A snapshot stored at a time in the future, or before a snapshot
that precedes it in the chain (its sequence number is higher), or naming an export day
after the day it was stored, is **flagged**: it counts for no rule, so snapshots stuffed
into the vault with made-up dates cannot push real ones out of their slots, and no policy
removes it either (``lkvault forget ID`` does, once a person has looked at it). Export days
out of storing order are not flagged: importing old exports after newer ones is normal. The
snapshot with the highest sequence number is always kept: it anchors the chain that
rollback detection checks.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from lkvault.vault.errors import UsageError
from lkvault.vault.export.model import owner_key

# Two computers' clocks may disagree by this much before a date counts as impossible.
CLOCK_SKEW_TOLERANCE = timedelta(hours=1)
# An export's name gives the day where it was made; stored a few hours later, that can be
# the day after, or before, in the time zone of the computer storing it.
EXPORT_DAY_TOLERANCE = timedelta(days=1)
# Durations are bounded so that date arithmetic cannot overflow: longer than any vault lives.
MAX_DURATION_DAYS = 1000 * 366


@dataclass(frozen=True)
class Candidate:
    """What retention knows of a snapshot: its id, place in the chain, when it was stored,
    and the day it stands for (None: the day it was stored)."""

    id: bytes
    seq: int
    time: datetime
    day: date | None = None
    member: str | None = None  # whose export it is, when known
    export: bool = True  # False: a file stored with --any-file


NOT_EXPORTS = " of files that are not exports"  # how reasons name their view


def _member_views(candidates: list[Candidate]) -> list[tuple[str, list[Candidate]]]:
    """(how reasons name it, its candidates in the order given) of each member's exports
    (with the exports of no known member in every one) and of the files that are not
    exports; one view of them all, named '', when no member is known."""
    names: dict[str, str] = {}
    for cand in candidates:
        if cand.member is not None:
            names.setdefault(owner_key(cand.member), cand.member)
    files = [c for c in candidates if not c.export]
    if not names or (len(names) == 1 and not files):
        return [("", candidates)]
    views = [
        (
            f" of {name}" if len(names) > 1 else "",
            [c for c in candidates if c.export and (c.member is None or _of(c, key))],
        )
        for key, name in names.items()
    ]
    return [*views, (NOT_EXPORTS, files)] if files else views


def _of(candidate: Candidate, key: str) -> bool:
    return candidate.member is not None and owner_key(candidate.member) == key


@dataclass(frozen=True)
class Duration:
    """A calendar duration such as 1y6m (years and months count on the calendar)."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    def before(self, moment: datetime) -> datetime:
        """``moment`` minus this duration (31 March minus 1m is 28 or 29 February)."""
        month_index = moment.year * 12 + (moment.month - 1) - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        if year < 1:
            return datetime.min.replace(tzinfo=moment.tzinfo)
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])
        shifted = moment.replace(year=year, month=month + 1, day=day)
        try:
            return shifted - timedelta(days=self.days, hours=self.hours)
        except OverflowError:  # before the year 1: every moment is after it
            return datetime.min.replace(tzinfo=moment.tzinfo)

    def approximate_days(self) -> float:
        return self.years * 366 + self.months * 31 + self.days + self.hours / 24

    def __str__(self) -> str:
        text = "".join(
            f"{value}{unit}"
            for value, unit in (
                (self.years, "y"),
                (self.months, "m"),
                (self.days, "d"),
                (self.hours, "h"),
            )
            if value
        )
        return text or "0d"


_DURATION_PART = re.compile(r"(\d+)([ymwdh])")


def parse_duration(text: str) -> Duration:
    """Parse durations like ``30d``, ``2w``, ``1y6m``, ``12h`` (y, m months, w, d, h)."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION_PART.sub("", compact):
        raise UsageError(
            f"{text!r} is not a duration; write it like 30d, 2w, 6m, 1y6m or 12h "
            "(y years, m months, w weeks, d days, h hours)"
        )
    amounts = {"y": 0, "m": 0, "w": 0, "d": 0, "h": 0}
    parts = _DURATION_PART.findall(compact)
    if any(len(number.lstrip("0")) > 9 for number, _ in parts):
        raise UsageError(f"duration {text!r} is too long: at most 1000y")
    for number, unit in parts:
        amounts[unit] += int(number)
    duration = Duration(amounts["y"], amounts["m"], amounts["w"] * 7 + amounts["d"], amounts["h"])
    if str(duration) == "0d":
        raise UsageError(f"duration {text!r} is zero; it would keep nothing")
    if duration.approximate_days() > MAX_DURATION_DAYS:
        raise UsageError(f"duration {text!r} is too long: at most 1000y")
    return duration


@dataclass(frozen=True)
class Policy:
    """How many of each kind of snapshot to keep; 0 (or None) leaves a rule out."""

    last: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: Duration | None = None

    def __post_init__(self) -> None:
        for name in ("last", "daily", "weekly", "monthly", "yearly"):
            if getattr(self, name) < 0:
                raise UsageError(f"--keep-{name} must be 0 or more")

    @property
    def empty(self) -> bool:
        return not (
            self.last or self.daily or self.weekly or self.monthly or self.yearly or self.within
        )

    def describe(self) -> str:
        rules = [
            f"{name} {getattr(self, name)}"
            for name in ("last", "daily", "weekly", "monthly", "yearly")
            if getattr(self, name)
        ]
        if self.within is not None:
            rules.append(f"within {self.within}")
        return ", ".join(rules) if rules else "nothing"


@dataclass
class Verdict:
    """What a policy does with one snapshot, and why."""

    candidate: Candidate
    keep: bool
    reasons: list[str] = field(default_factory=list)  # e.g. ["last 1", "monthly 3"]
    flags: list[str] = field(default_factory=list)  # why its date cannot be trusted

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def day_of(candidate: Candidate, zone: tzinfo) -> date:
    """The day a snapshot stands for: its export's, else the day it was stored in ``zone``."""
    if candidate.day is not None:
        return candidate.day
    return candidate.time.astimezone(zone).date()


def flag_dates(candidates: list[Candidate], now: datetime) -> dict[bytes, list[str]]:
    """Snapshots whose dates cannot be true: stored in the future or before an earlier
    snapshot, or naming an export made after the day it was stored.

    Walking the chain in sequence order, a snapshot stored (more than the clock-skew
    tolerance) before the latest trustworthy time seen so far is out of sequence; future
    times never become the time the others are measured against.
    """
    flags: dict[bytes, list[str]] = {}
    latest: Candidate | None = None
    for cand in sorted(candidates, key=lambda c: c.seq):
        if cand.day is not None and cand.day > (cand.time + EXPORT_DAY_TOLERANCE).date():
            flags.setdefault(cand.id, []).append(
                f"named for {cand.day.isoformat()}, after the day it was stored "
                f"({cand.time.date().isoformat()})"
            )
        if cand.time > now + CLOCK_SKEW_TOLERANCE:
            flags.setdefault(cand.id, []).append(
                f"stored at a time in the future ({cand.time.isoformat(timespec='minutes')})"
            )
            continue
        if latest is not None and cand.time < latest.time - CLOCK_SKEW_TOLERANCE:
            flags.setdefault(cand.id, []).append(
                f"out of sequence: #{cand.seq} was stored before #{latest.seq}, which precedes it"
            )
            continue
        if latest is None or cand.time > latest.time:
            latest = cand
    return flags


def _bucket_rules(
    policy: Policy, zone: tzinfo
) -> list[tuple[str, int, Callable[[Candidate], Hashable]]]:
    def day(c: Candidate) -> date:
        return day_of(c, zone)

    return [
        ("last", policy.last, lambda c: c.seq),
        ("daily", policy.daily, day),
        ("weekly", policy.weekly, lambda c: day(c).isocalendar()[:2]),
        ("monthly", policy.monthly, lambda c: (day(c).year, day(c).month)),
        ("yearly", policy.yearly, lambda c: day(c).year),
    ]


def apply_policy(
    candidates: list[Candidate], policy: Policy, now: datetime, zone: tzinfo
) -> list[Verdict]:
    """A verdict for every snapshot, in sequence order. ``zone`` is where days, weeks,
    months and years begin (the user's local time)."""
    if policy.empty:
        raise UsageError(
            "no retention rule given: use --keep-last, --keep-daily, --keep-weekly, "
            "--keep-monthly, --keep-yearly or --keep-within (or name snapshots to forget)"
        )
    flags = flag_dates(candidates, now)
    verdicts = {c.id: Verdict(c, keep=False, flags=flags.get(c.id, [])) for c in candidates}
    counted = sorted(
        (c for c in candidates if c.id not in flags),
        key=lambda c: (day_of(c, zone), c.time, c.seq),
        reverse=True,
    )
    for of, view in _member_views(counted):
        for name, count, bucket_of in _bucket_rules(policy, zone):
            kept = 0
            last_bucket: Hashable = None
            for cand in view:
                if kept >= count:
                    break
                bucket = bucket_of(cand)
                if bucket != last_bucket:
                    kept += 1
                    last_bucket = bucket
                    verdicts[cand.id].keep = True
                    verdicts[cand.id].reasons.append(f"{name} {kept}{of}")
        if policy.within is not None and view:
            # Days, not moments: an export's date has no time of day.
            since = policy.within.before(datetime.combine(day_of(view[0], zone), time.min))
            for cand in view:
                if datetime.combine(day_of(cand, zone), time.min) >= since:
                    verdicts[cand.id].keep = True
                    verdicts[cand.id].reasons.append(f"within {policy.within}{of}")
    for verdict in verdicts.values():
        if verdict.flagged:
            verdict.keep = True
            verdict.reasons.append("flagged: kept until removed by id")
    if candidates:
        newest = verdicts[max(candidates, key=lambda c: c.seq).id]
        if not newest.keep:
            newest.keep = True
            newest.reasons.append("newest in the chain")
    return sorted(verdicts.values(), key=lambda v: v.candidate.seq)
