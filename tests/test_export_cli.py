"""The export commands as a user types them: list, diff, timeline, contacts, status, --at, watch."""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest

from bench.exportgen import generate_export
from tests.helpers_cli import assert_one_line_error
from tests.test_export_parsing import SAMPLE, SAMPLE_COUNTS


def later_month(folder: Path, month: int) -> Path:
    """The sample's member a few months on (the sample is month 0 of this series)."""
    when = date(2026, 1 + month, 15)
    return generate_export(
        folder / f"Basic_LinkedInDataExport_{when:%m-%d-%Y}.zip",
        date=when,
        scale=0.3,
        seed=1,
        month_index=month,
    )


@pytest.fixture
def two_exports(cli, tmp_path: Path) -> tuple[str, str, Path]:  # noqa: ANN001
    """A vault holding the sample (January) and the same member's April export."""
    assert cli("init").code == 0
    april = later_month(tmp_path, 3)
    first = cli("snapshot", str(SAMPLE)).out.strip()
    second = cli("snapshot", str(april)).out.strip()
    return first, second, april


def test_list_shows_what_each_export_holds(cli, two_exports, tmp_path: Path) -> None:  # noqa: ANN001
    first, second, _ = two_exports
    listed = cli("list", "--json").json()
    assert [s["id"] for s in listed] == [first, second]
    assert listed[0]["export"] == {
        "format": 3,
        "kind": "basic",
        "date": "2026-01-15",
        "date_from": "name",
        "headline": "Backend Developer at Falcon Networks B.V. | ex-Summit Studios Sp. z o.o.",
        "counts": SAMPLE_COUNTS,
        "member": {"name": "James Reed", "from": "profile"},
        "set_aside": [],
    }
    assert listed[1]["export"]["date"] == "2026-04-15"
    text = cli("list").out
    assert "basic 2026-01-15: 344 connections (2 hidden), 1,503 messages" in text
    other = tmp_path / "notes.txt"
    other.write_text("not an export")
    cli("snapshot", "--any-file", str(other))
    assert cli("list", "--json").json()[-1]["export"] is None


def test_an_identical_archive_is_recognised_and_not_stored_twice(
    cli, two_exports, tmp_path: Path
) -> None:  # noqa: ANN001, E501
    first, _, _ = two_exports
    copy = tmp_path / "Basic_LinkedInDataExport_01-15-2026 (1).zip"
    shutil.copyfile(SAMPLE, copy)
    again = cli("snapshot", str(copy))
    assert again.code == 0
    assert again.out.strip() == first
    assert f"already in the vault as snapshot {first[:8]}" in again.err
    as_json = cli("snapshot", str(SAMPLE), "--json").json()
    assert as_json["already_stored"] is True and as_json["id"] == first
    assert len(cli("list", "--json").json()) == 2


def test_diff_reports_connections_messages_and_profile(cli, two_exports) -> None:  # noqa: ANN001
    first, second, _ = two_exports
    result = cli("diff", first[:8], second[:8], "--json")
    assert result.code == 0, result.err
    document = result.json()
    listed = {s["id"]: s["export"]["counts"] for s in cli("list", "--json").json()}
    before, after = listed[first], listed[second]
    connections = document["connections"]
    hidden_before, hidden_after = connections["hidden"]
    assert (
        len(connections["added"]) - len(connections["removed"]) + hidden_after - hidden_before
        == after["connections"] - before["connections"]
    )
    assert connections["added"] and connections["changed"]
    assert set(connections["added"][0]) >= {"name", "url", "company", "position"}
    assert (
        document["messages"]["new"] - document["messages"]["removed"]
        == after["messages"] - before["messages"]
    )
    assert document["messages"]["new_conversations"] > 0
    assert isinstance(document["profile"]["changed"], dict)
    # No arguments: the two newest exports, and text for people.
    text = cli("diff")
    assert text.code == 0
    assert f"Connections: {len(connections['added'])} added" in text.out
    same = cli("diff", first[:8], first[:8])
    assert same.code == 0 and "No changes." in same.out


def test_at_picks_the_newest_export_on_or_before_a_date(cli, two_exports, tmp_path: Path) -> None:  # noqa: ANN001, E501
    first, second, april = two_exports
    assert [s["id"] for s in cli("list", "--at", "2026-03-31", "--json").json()] == [first]
    assert [s["id"] for s in cli("list", "--at", "2026-04-15", "--json").json()] == [second]
    out = tmp_path / "march.zip"
    restored = cli("restore", "--at", "2026-03-31", "-o", str(out))
    assert restored.code == 0, restored.err
    assert out.read_bytes() == SAMPLE.read_bytes()
    diff = cli("diff", "--at", "2026-02-01", "--json").json()
    assert (diff["from"]["id"], diff["to"]["id"]) == (first, second)
    early = cli("restore", "--at", "2025-12-31", "-o", str(tmp_path / "none.zip"))
    assert early.code == 2
    assert "no snapshot on or before 2025-12-31" in assert_one_line_error(early.err)
    bad = cli("list", "--at", "31/12/2025")
    assert bad.code == 2 and "YYYY-MM-DD" in assert_one_line_error(bad.err)
    both = cli("restore", first[:8], "--at", "2026-03-31", "-o", str(tmp_path / "x.zip"))
    assert both.code == 2


def test_timeline_flags_missing_months(cli, two_exports) -> None:  # noqa: ANN001
    document = cli("timeline", "--json").json()
    assert [r["connections"] for r in document["snapshots"]][0] == 344
    assert document["missing_months"] == ["2026-02", "2026-03"]
    text = cli("timeline").out
    assert "2026-02" in text and "no snapshot" in text
    assert "█" in text
    assert "\x1b[" not in text  # no colours when not writing to a terminal


def test_contacts_as_vcard_and_csv(cli, two_exports, tmp_path: Path) -> None:  # noqa: ANN001
    vobject = pytest.importorskip("vobject")
    target = tmp_path / "network.vcf"
    done = cli("contacts", "--at", "2026-01-31", "--format", "vcf", "-o", str(target))
    assert done.code == 0, done.err
    cards = list(vobject.readComponents(target.read_text(encoding="utf-8")))
    hidden = 344 - len(cards)
    assert len(cards) > 300
    assert f"{hidden} hidden members of 344 connections left out" in done.err
    assert all(card.url.value.startswith("https://www.linkedin.com/in/") for card in cards)
    refused = cli("contacts", "-f", "vcf", "-o", str(target))
    assert refused.code == 2 and "--force" in assert_one_line_error(refused.err)
    as_csv = cli("contacts", "latest", "--format", "csv")
    assert as_csv.out.startswith("First Name,Last Name,Organization Name")


def test_status_warns_and_exits_1_when_the_newest_export_is_old(cli, two_exports) -> None:  # noqa: ANN001
    age = (date.today() - date(2026, 4, 15)).days
    stale = cli("status", "--max-age", str(max(age - 1, 1)), "--json")
    assert stale.code == 1
    assert stale.json()["ok"] is False and stale.json()["age_days"] == age
    fine = cli("status", "--max-age", str(age + 1))
    assert fine.code == 0
    assert "Basic_LinkedInDataExport_04-15-2026.zip" in fine.out and "OK:" in fine.out


def test_status_of_an_empty_vault_exits_1(cli) -> None:  # noqa: ANN001
    cli("init")
    result = cli("status")
    assert result.code == 1 and "no snapshot yet" in result.err


def test_diff_of_something_that_is_not_an_export_is_refused(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("init")
    other = tmp_path / "notes.txt"
    other.write_text("plain")
    snap = cli("snapshot", "--any-file", str(other)).out.strip()
    result = cli("diff", snap[:8], snap[:8])
    assert result.code == 2 and "not a LinkedIn export" in assert_one_line_error(result.err)


def test_watch_stores_finished_exports_once(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("init")
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    long_ago = time.time() - 3600
    finished = downloads / SAMPLE.name
    shutil.copyfile(SAMPLE, finished)
    os.utime(finished, (long_ago, long_ago))
    # Firefox: the final name exists (empty or partial) beside a .part file.
    in_progress = later_month(tmp_path, 1)
    partial = downloads / in_progress.name
    partial.write_bytes(in_progress.read_bytes()[:5000])
    (downloads / (in_progress.name + ".part")).write_bytes(b"")
    os.utime(partial, (long_ago, long_ago))
    # Just written (modified in the future, as far as the settle time is concerned).
    fresh = downloads / "Complete_LinkedInDataExport_03-15-2026.zip"
    shutil.copyfile(later_month(tmp_path, 2), fresh)
    soon = time.time() + 3600
    os.utime(fresh, (soon, soon))
    # Not an export at all, and a broken "export".
    with zipfile.ZipFile(downloads / "photos.zip", "w") as archive:
        archive.writestr("a.jpg", b"\xff\xd8")
    broken = downloads / "Basic_LinkedInDataExport_05-15-2026.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    os.utime(broken, (long_ago, long_ago))

    first = cli("watch", str(downloads), "--once", "--json")
    assert first.code == 0, first.err
    events = {Path(e["file"]).name: e["event"] for e in first.json()["events"]}
    assert events == {
        SAMPLE.name: "stored",
        broken.name: "skipped",
        partial.name: "waiting",  # --once says what it leaves for a later look
        fresh.name: "waiting",
    }
    assert [s["source"] for s in cli("list", "--json").json()] == [SAMPLE.name]

    # The download finishes; the next look stores it, and never the sample again.
    (downloads / (in_progress.name + ".part")).unlink()
    shutil.copyfile(in_progress, partial)
    os.utime(partial, (long_ago, long_ago))
    second = cli("watch", str(downloads), "--once")
    assert second.code == 0, second.err
    assert f"Stored {in_progress.name} as snapshot" in second.out
    assert f"{SAMPLE.name} is already in the vault" in second.out
    sources = [s["source"] for s in cli("list", "--json").json()]
    assert sources == [SAMPLE.name, in_progress.name]


def test_watch_needs_a_folder(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("init")
    result = cli("watch", str(tmp_path / "missing"), "--once")
    assert result.code == 2 and "is not a folder" in assert_one_line_error(result.err)
