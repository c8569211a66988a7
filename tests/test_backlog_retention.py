"""Retention of a backlog: old exports stored on one day keep their own months (in-process CLI).

The exports come from bench/exportgen.py, dated 15 January, February and March 2026, and are
all stored today, out of order: what a new user importing a folder of old zips does.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from helpers_cli import assert_one_line_error

from bench.exportgen import export_name, generate_export

MONTHS = [date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("backlog")
    return [
        generate_export(folder / export_name(day), date=day, scale=0.05, month_index=k)
        for k, day in enumerate(MONTHS)
    ]


@pytest.fixture
def backlog(cli, exports: list[Path]) -> dict[date, str]:  # noqa: ANN001
    """The three exports stored now, February first: snapshot id by export date."""
    assert cli("init").code == 0
    ids = {}
    for k in (1, 0, 2):
        stored = cli("snapshot", str(exports[k]))
        assert stored.code == 0, stored.err
        ids[MONTHS[k]] = stored.out.strip()
    return ids


def test_keep_monthly_counts_the_months_the_exports_were_made(cli, backlog) -> None:  # noqa: ANN001
    dry = cli("forget", "--keep-monthly", "3", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    rows = {row["id"]: row for row in dry.json()["snapshots"]}
    assert dry.json()["forgotten"] == []
    for rank, day in enumerate(reversed(MONTHS), start=1):
        row = rows[backlog[day]]
        assert row["keep"] and row["flags"] == []
        assert row["reasons"] == [f"monthly {rank}"]
        assert (row["date"], row["date_from"]) == (day.isoformat(), "export name")

    readme = cli("forget", "--keep-monthly", "12", "--keep-yearly", "10", "--dry-run")
    assert "Would forget 0 snapshots and keep 3" in readme.out
    for day in MONTHS:
        assert f"{day.isoformat()}  export name" in readme.out


def test_a_policy_forgets_the_oldest_export_not_the_first_stored(cli, backlog) -> None:  # noqa: ANN001
    forgot = cli("forget", "--keep-monthly", "2", "--prune")
    assert forgot.code == 0, forgot.err
    assert "Forgot 1 snapshot; 2 kept." in forgot.out
    assert "Run 'lkvault prune'" not in forgot.out  # it just did
    listed = {s["id"] for s in cli("list", "--json").json()}
    assert listed == {backlog[MONTHS[1]], backlog[MONTHS[2]]}

    within = cli("forget", "--keep-within", "20d", "--dry-run", "--json")
    assert [r["keep"] for r in within.json()["snapshots"]] == [False, True]
    assert within.json()["snapshots"][0]["reasons"] == []


def test_a_renamed_export_is_dated_by_its_contents(
    cli, exports: list[Path], tmp_path: Path
) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    renamed = tmp_path / "my linkedin backup.zip"
    shutil.copyfile(exports[0], renamed)
    assert cli("snapshot", str(renamed)).code == 0
    assert cli("snapshot", str(exports[2])).code == 0
    rows = cli("forget", "--keep-monthly", "2", "--dry-run", "--json").json()["snapshots"]
    assert [(r["date"], r["date_from"], r["keep"]) for r in rows] == [
        ("2026-01-15", "export contents", True),
        ("2026-03-15", "export name", True),
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--keep-within", "999999999999999999999999d"), "too long"),
        (("--keep-within", "1001y"), "too long"),
        (("--keep-monthly", "-1"), "--keep-monthly"),
        (("--keep-last", "-3"), "--keep-last"),
    ],
)
def test_numbers_out_of_range_are_refused_in_one_line(cli, backlog, args, says) -> None:  # noqa: ANN001
    result = cli("forget", *args, "--dry-run")
    assert result.code == 2
    assert says in assert_one_line_error(result.err)


def test_a_contacts_file_is_dated_by_its_modification_day(
    cli, exports: list[Path], tmp_path: Path
) -> None:  # noqa: ANN001
    contacts = generate_export(
        tmp_path / export_name(date(2012, 6, 1), "2012-outlook"),
        date=date(2012, 6, 1),
        scale=0.05,
        era="2012-outlook",
    )
    assert cli("init").code == 0
    assert cli("snapshot", str(contacts)).code == 0
    assert cli("snapshot", str(exports[2])).code == 0
    rows = cli("forget", "--keep-yearly", "1", "--dry-run", "--json").json()["snapshots"]
    assert [(r["date"], r["date_from"], r["keep"]) for r in rows] == [
        ("2012-06-01", "file modified", False),
        ("2026-03-15", "export name", True),
    ]
