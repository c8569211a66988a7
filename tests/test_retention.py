"""Retention policies against a fixed calendar, with the expected keep set written out.

The calendar (all times UTC, 09:00 unless said otherwise; "now" is 2026-03-15 12:00):

  #1 2024-06-10   #2 2024-12-30   #3 2025-01-20   #4 2025-11-03   #5 2025-12-01
  #6 2025-12-20   #7 2026-01-05   #8 2026-02-02   #9 2026-02-03   #10 2026-02-03 18:00
  #11 2026-03-01 (a Sunday, ISO week 9)   #12 2026-03-14 (a Saturday, ISO week 11)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from lkvault.vault import UsageError
from lkvault.vault.operations.retention import (
    Candidate,
    Duration,
    Policy,
    apply_policy,
    parse_duration,
)

UTC = timezone.utc
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
DATES = {
    1: (2024, 6, 10, 9),
    2: (2024, 12, 30, 9),
    3: (2025, 1, 20, 9),
    4: (2025, 11, 3, 9),
    5: (2025, 12, 1, 9),
    6: (2025, 12, 20, 9),
    7: (2026, 1, 5, 9),
    8: (2026, 2, 2, 9),
    9: (2026, 2, 3, 9),
    10: (2026, 2, 3, 18),
    11: (2026, 3, 1, 9),
    12: (2026, 3, 14, 9),
}


def snap(seq: int, when: datetime) -> Candidate:
    return Candidate(bytes([seq]) * 32, seq, when)


CALENDAR = [snap(seq, datetime(*date, tzinfo=UTC)) for seq, date in DATES.items()]


def kept(verdicts: list, zone: timezone = UTC) -> dict[int, list[str]]:
    return {v.candidate.seq: v.reasons for v in verdicts if v.keep}


def test_daily_monthly_yearly_keep_exactly_the_expected_snapshots_with_reasons() -> None:
    verdicts = apply_policy(CALENDAR, Policy(daily=3, monthly=4, yearly=3), NOW, UTC)
    assert kept(verdicts) == {
        2: ["yearly 3"],
        6: ["monthly 4", "yearly 2"],
        7: ["monthly 3"],
        10: ["daily 3", "monthly 2"],
        11: ["daily 2"],
        12: ["daily 1", "monthly 1", "yearly 1"],
    }
    assert [v.candidate.seq for v in verdicts if not v.keep] == [1, 3, 4, 5, 8, 9]
    assert not any(v.flags for v in verdicts)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (Policy(last=2), {11: ["last 2"], 12: ["last 1"]}),
        (Policy(weekly=3), {10: ["weekly 3"], 11: ["weekly 2"], 12: ["weekly 1"]}),
        # Within is measured back from the newest snapshot (so a vault no longer fed is
        # not emptied): 2026-03-14 09:00 minus 1 month is 2026-02-14 09:00.
        (Policy(within=Duration(months=1)), {11: ["within 1m"], 12: ["within 1m"]}),
        (
            Policy(within=parse_duration("6w")),
            {s: ["within 42d"] for s in (8, 9, 10, 11, 12)},
        ),
        (Policy(yearly=10), {2: ["yearly 3"], 6: ["yearly 2"], 12: ["yearly 1"]}),
    ],
    ids=["last", "weekly", "within-month", "within-weeks", "more-years-than-exist"],
)
def test_single_rules(policy: Policy, expected: dict[int, list[str]]) -> None:
    assert kept(apply_policy(CALENDAR, policy, NOW, UTC)) == expected


def test_days_begin_in_the_given_time_zone() -> None:
    # #9 (09:00 UTC) and #10 (18:00 UTC) share 2026-02-03 in UTC; at UTC+8 #10 falls on the
    # 4th, so the two are different days there and both are kept by daily 4.
    plus8 = timezone(timedelta(hours=8))
    assert sorted(kept(apply_policy(CALENDAR, Policy(daily=4), NOW, UTC))) == [8, 10, 11, 12]
    assert sorted(kept(apply_policy(CALENDAR, Policy(daily=4), NOW, plus8))) == [9, 10, 11, 12]


def test_future_and_out_of_sequence_snapshots_are_flagged_kept_and_not_counted() -> None:
    future = snap(13, datetime(2031, 1, 1, tzinfo=UTC))
    backdated = snap(14, datetime(2025, 6, 1, tzinfo=UTC))
    verdicts = apply_policy([*CALENDAR, future, backdated], Policy(last=2), NOW, UTC)
    by_seq = {v.candidate.seq: v for v in verdicts}
    assert kept(verdicts) == {
        11: ["last 2"],
        12: ["last 1"],
        13: ["flagged: kept until removed by id"],
        14: ["flagged: kept until removed by id"],
    }
    assert by_seq[13].flags == ["stored at a time in the future (2031-01-01T00:00+00:00)"]
    assert by_seq[14].flags == ["out of sequence: #14 was stored before #12, which precedes it"]


def test_stuffed_snapshots_cannot_push_real_ones_out() -> None:
    # Someone with access adds, after #12, one snapshot a minute after each real one: by
    # date they would be the newest of each day, week and month and so take every slot.
    fakes = [
        snap(100 + c.seq, c.time + timedelta(minutes=1))
        for c in CALENDAR
        if c.seq != 12  # one a minute after #12 is in sequence and cannot be told apart
    ]
    policy = Policy(daily=3, monthly=4, yearly=3)
    verdicts = apply_policy([*CALENDAR, *fakes], policy, NOW, UTC)
    real_kept = {s: r for s, r in kept(verdicts).items() if s < 100}
    assert real_kept == kept(apply_policy(CALENDAR, policy, NOW, UTC))
    assert all(v.keep and v.flagged for v in verdicts if v.candidate.seq > 100)


def test_small_clock_skew_is_not_flagged() -> None:
    skewed = snap(13, CALENDAR[-1].time - timedelta(minutes=20))
    ahead = snap(14, NOW + timedelta(minutes=30))
    verdicts = apply_policy([*CALENDAR, skewed, ahead], Policy(last=3), NOW, UTC)
    assert not any(v.flags for v in verdicts)
    assert sorted(kept(verdicts)) == [12, 13, 14]


def test_the_newest_in_the_chain_is_always_kept() -> None:
    # #13 is dated 30 minutes before #12 (within the skew tolerance): by date #12 is newest,
    # but #13 ends the chain and must stay.
    late = snap(13, CALENDAR[-1].time - timedelta(minutes=30))
    verdicts = apply_policy([*CALENDAR, late], Policy(last=1), NOW, UTC)
    assert kept(verdicts) == {12: ["last 1"], 13: ["newest in the chain"]}


def test_durations() -> None:
    assert parse_duration("1y6m") == Duration(years=1, months=6)
    assert parse_duration("2w3d") == Duration(days=17)
    assert parse_duration("12h") == Duration(hours=12)
    assert Duration(months=1).before(datetime(2026, 3, 31, tzinfo=UTC)) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert Duration(years=1).before(datetime(2024, 2, 29, tzinfo=UTC)) == datetime(
        2023, 2, 28, tzinfo=UTC
    )
    for bad in ("", "10", "3x", "1y-2m", "0d"):
        with pytest.raises(UsageError):
            parse_duration(bad)


def test_an_empty_policy_is_refused() -> None:
    with pytest.raises(UsageError, match="no retention rule"):
        apply_policy(CALENDAR, Policy(), NOW, UTC)
    with pytest.raises(UsageError):
        Policy(last=-1)


def test_rules_count_the_export_day_not_the_day_stored() -> None:
    stored = datetime(2026, 3, 15, 9, tzinfo=UTC)
    backlog = [
        Candidate(bytes([seq]) * 32, seq, stored + timedelta(minutes=seq), day)
        for seq, day in ((1, date(2026, 2, 15)), (2, date(2025, 12, 15)), (3, date(2026, 3, 15)))
    ]
    verdicts = apply_policy(backlog, Policy(monthly=2, yearly=2), NOW, UTC)
    assert kept(verdicts) == {1: ["monthly 2"], 2: ["yearly 2"], 3: ["monthly 1", "yearly 1"]}
    within = apply_policy(backlog, Policy(within=parse_duration("28d")), NOW, UTC)
    assert kept(within) == {1: ["within 28d"], 3: ["within 28d"]}


def test_an_export_named_for_a_day_after_it_was_stored_is_flagged() -> None:
    stored = datetime(2026, 3, 1, 9, tzinfo=UTC)
    real = Candidate(b"r" * 32, 1, stored, date(2026, 3, 1))
    # A zip named for next week must not become the newest of its month and year.
    named_ahead = Candidate(b"a" * 32, 2, stored + timedelta(hours=1), date(2026, 3, 9))
    verdicts = {
        v.candidate.seq: v for v in apply_policy([real, named_ahead], Policy(monthly=1), NOW, UTC)
    }
    assert verdicts[1].reasons == ["monthly 1"]
    assert verdicts[2].flags == ["named for 2026-03-09, after the day it was stored (2026-03-01)"]


def test_each_member_keeps_what_the_policy_says() -> None:
    """Two members' exports a month apart each, a contacts file of no known member and a file
    that is no export: keeping two months keeps two of each member's (not the two newest of
    all), the contacts file counts among each member's, and the file never takes an export's
    month."""
    months = [(2025, 10), (2025, 11), (2025, 12), (2026, 1), (2026, 2), (2026, 3), (2026, 3)]
    members = ["Ada Lovelace"] * 3 + [None, "grace  HOPPER", "Grace Hopper", None]
    found = [
        Candidate(bytes([n]) * 32, n, datetime(y, m, 1 + n, 9, tzinfo=UTC), member=member)
        for n, ((y, m), member) in enumerate(zip(months, members, strict=True), start=1)
    ]
    found[-1] = Candidate(found[-1].id, 7, found[-1].time, export=False)
    verdicts = apply_policy(found, Policy(monthly=2), NOW, UTC)
    assert kept(verdicts) == {
        3: ["monthly 2 of Ada Lovelace"],
        4: ["monthly 1 of Ada Lovelace"],  # the contacts file, the newest in Ada's view
        5: ["monthly 2 of Grace Hopper"],
        6: ["monthly 1 of Grace Hopper"],  # not pushed out by the file stored after it
        7: ["monthly 1 of files that are not exports"],
    }
    # No member known: as before, one view of every snapshot.
    alone = [Candidate(c.id, c.seq, c.time, c.day, export=c.export) for c in found]
    assert kept(apply_policy(alone, Policy(monthly=2), NOW, UTC)) == {
        5: ["monthly 2"],
        7: ["monthly 1"],
    }
