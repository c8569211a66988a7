"""Exports of every year as members really have them (issue 20): the quirks the generator makes
from what eleven published exports showed, read as a user expects."""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from lkvault.cli.browse.people import People, Version, person_id
from lkvault.cli.browse.source import SnapshotSource
from lkvault.cli.browse.textsearch import TextIndex
from lkvault.vault.export import load_export, summarize, summary_document, summary_from_document
from lkvault.vault.export.contactfiles import load_contacts
from lkvault.vault.export.contacts import contacts_csv, vcards
from lkvault.vault.export.diff import diff_document, diff_exports
from lkvault.vault.export.model import Export, Owner
from lkvault.vault.operations.export_sources import zip_file_members

from bench.exportgen import export_name, generate_export
from tests.conftest import PASSPHRASE
from tests.helpers_cli import Lk, assert_one_line_error
from tests.test_browse_e2e import body, get, session, start
from tests.test_export_counting import both_ways

DAY = date(2022, 9, 15)


def export_of(path: Path) -> Export:
    with zipfile.ZipFile(path) as archive:
        return load_export(zip_file_members(archive), path.name)


def make(folder: Path, *quirks: str, month: int = 0, seed: int = 1, day: date = DAY) -> Path:
    name = f"Complete_LinkedInDataExport_{day:%m-%d-%Y}.zip"
    return generate_export(
        folder / f"{seed}-{month}-{'-'.join(quirks)}" / name,
        date=day,
        scale=0.2,
        seed=seed,
        month_index=month,
        quirks=quirks,
    )


def rows_of(path: Path, member: str) -> int:
    with zipfile.ZipFile(path) as archive:
        text = archive.read(member).decode("utf-8")
    return sum(1 for _ in csv.reader(io.StringIO(text))) - 1


# --- 1: two versions of one table are not added up ---------------------------------------------


def test_the_legacy_endorsements_file_is_set_aside_not_added(tmp_path: Path) -> None:
    path = make(tmp_path, "legacy-endorsements")
    current = rows_of(path, "Endorsement_Received_Info.csv")
    full, counted, _, warnings = both_ways(path)
    assert full == counted and counted is not None
    assert counted.counts["endorsements_received"] == current  # not current + legacy
    document = summary_document(counted)
    assert [(e["file"], e["read_instead"]) for e in document["set_aside"]] == [
        ("Endorsement Received Info.csv", "Endorsement_Received_Info.csv")
    ]
    assert any("Endorsement Received Info.csv is another version" in w for w in warnings)
    statuses = {e.status for e in export_of(path).endorsements if e.direction == "received"}
    assert statuses == {"ACCEPTED"}  # the legacy file's 'Accepted' and 'Redacted' rows unread


def test_the_choice_is_said_at_snapshot_and_in_list_and_status(cli, tmp_path: Path) -> None:  # noqa: ANN001
    path = make(tmp_path, "legacy-endorsements")
    assert cli("init").code == 0
    stored = cli("snapshot", str(path))
    assert stored.code == 0 and "Endorsement Received Info.csv is another version" in stored.err
    listed = cli("list", "--json").json()[0]["export"]
    assert listed["set_aside"][0]["file"] == "Endorsement Received Info.csv"
    assert listed["counts"]["endorsements_received"] == rows_of(
        path, "Endorsement_Received_Info.csv"
    )
    status = cli("status", "--max-age", "100000")
    assert status.code == 0 and "Not counted: Endorsement Received Info.csv" in status.out


# --- 2: a member URN is not an email -----------------------------------------------------------


def test_member_urns_never_become_emails(tmp_path: Path) -> None:
    path = make(tmp_path, "urn-emails")
    with zipfile.ZipFile(path) as archive:
        assert b"urn:li:member:" in archive.read("Connections.csv")  # the quirk is there
    export = export_of(path)
    assert not any(c.email and "urn:" in c.email for c in export.connections)
    assert any(c.email for c in export.connections)  # real addresses are kept
    card, table = vcards(export.connections), contacts_csv(export.connections)
    assert "urn:li:member" not in card and "urn:li:member" not in table
    emails = [line for line in card.splitlines() if line.startswith("EMAIL")]
    assert emails and all("@" in line for line in emails)


# --- 3: search folds every Latin letter --------------------------------------------------------


def test_search_finds_names_typed_without_their_marks(tmp_path: Path) -> None:
    export = export_of(make(tmp_path))
    texts = [c.name for c in export.connections]
    polish = next(n for n in texts if "ł" in n.casefold())
    texts += ["Ørsted A/S", "Þóra Straße", "Đorđe Æsir Œuvre", "Yılmaz"]
    index = TextIndex(texts)
    typed = polish.casefold().replace("ł", "l").split()[0]
    assert polish in [texts[hit] for hit in index.search(typed).entries]
    for query, expected in (
        ("orsted", "Ørsted A/S"),
        ("thora strasse", "Þóra Straße"),
        ("dorde aesir oeuvre", "Đorđe Æsir Œuvre"),
        ("yilmaz", "Yılmaz"),
    ):
        assert expected in [texts[hit] for hit in index.search(query).entries], query
        assert expected in [texts[hit] for hit in index.search(expected).entries], expected


# --- 4: a profile URL that changed -------------------------------------------------------------


def test_a_changed_profile_url_is_one_person_not_removed_and_added(tmp_path: Path) -> None:
    before = export_of(make(tmp_path, "moved-urls", month=0, day=date(2025, 1, 15)))
    after = export_of(make(tmp_path, "moved-urls", month=3, day=date(2025, 4, 15)))
    result = diff_exports(before, after)
    assert result.moved  # the quirk moved some
    removed = {(c.name, c.connected_on) for c in result.removed}
    added = {(c.name, c.connected_on) for c in result.added}
    assert not removed & added  # nobody both removed and added
    for change in result.moved:
        assert change.old.url != change.new.url
        assert (change.old.name, change.old.connected_on) == (
            change.new.name,
            change.new.connected_on,
        )
    document = diff_document(result)["connections"]
    assert len(document["url_changed"]) == len(result.moved)
    # A person page follows them under the new URL: no 'removed', no second person.
    people = People(
        [Version("a", date(2025, 1, 15), before), Version("b", date(2025, 4, 15), after)]
    )
    for change in result.moved:
        kinds = [event.kind for event in people.timeline(change.new.key)]
        assert kinds == ["connected", "first_seen"], kinds
        assert people.keys[person_id(change.new.key)] == change.old.key
        assert people.known(change.new.key) == change.new
    # Without the quirk the same two months move nobody.
    plain = diff_exports(
        export_of(make(tmp_path, month=0, day=date(2025, 1, 15))),
        export_of(make(tmp_path, month=3, day=date(2025, 4, 15))),
    )
    assert plain.moved == [] and len(plain.removed) == len(result.removed)


# --- 5: an export that lacked a file -----------------------------------------------------------


def test_a_missing_messages_or_profile_file_is_named_not_counted_as_new(tmp_path: Path) -> None:
    partial = export_of(make(tmp_path, "no-messages", "no-profile", month=0))
    whole = export_of(make(tmp_path, month=1, day=date(2022, 10, 15)))
    assert whole.messages and whole.profile
    result = diff_exports(partial, whole)
    assert result.new_messages == 0 and result.profile == {}
    assert result.missing_before == ["messages", "profile"]
    assert diff_document(result)["missing_files"] == {
        "older": ["messages.csv", "Profile.csv"],
        "newer": [],
    }
    back = diff_exports(whole, partial)
    assert back.removed_messages == 0 and back.profile == {}
    assert back.missing_after == ["messages", "profile"]
    assert summarize(partial).counts["messages"] == 0
    # Whose export it is: without Profile.csv, the one person in every message.
    assert whole.owner is not None and whole.owner.source == "profile"
    for era in ("2025", "2018"):
        lacking = generate_export(
            tmp_path / era / "Complete_LinkedInDataExport_01-15-2018.zip",
            date=date(2018, 1, 15),
            scale=0.2,
            era=era,
            quirks=["no-profile"],
        )
        full, counted, _, _ = both_ways(lacking)
        assert full == counted and counted is not None
        assert counted.owner == Owner(whole.owner.name, "messages")
    # Without messages either: the one person in every invitation.
    full, counted, _, _ = both_ways(make(tmp_path, "no-messages", "no-profile"))
    assert full == counted and counted is not None
    assert counted.owner == Owner(whole.owner.name, "invitations")


def test_diff_says_which_file_the_older_export_lacked(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    for path in (
        make(tmp_path, "no-messages", "no-profile", month=0),
        make(tmp_path, month=1, day=date(2022, 10, 15)),
    ):
        assert cli("snapshot", str(path)).code == 0
    shown = cli("diff")
    assert shown.code == 0, shown.err
    assert "Not compared, as the older export has no such file: messages.csv, Profile.csv" in (
        shown.out
    )
    assert "new message" not in shown.out and "Headline" not in shown.out


# --- 6: the 2012 "Export contacts" files --------------------------------------------------------


def contacts_file(folder: Path, era: str) -> Path:
    day = date(2012, 6, 1)
    return generate_export(folder / era / export_name(day, era), date=day, scale=0.2, era=era)


def test_outlook_csv_and_vcard_of_2012_are_connections(cli, tmp_path: Path) -> None:  # noqa: ANN001
    vobject = pytest.importorskip("vobject")
    outlook = contacts_file(tmp_path, "2012-outlook")
    vcard = contacts_file(tmp_path, "2012-vcard")
    assert cli("init").code == 0
    for path in (outlook, vcard):
        assert cli("snapshot", str(path)).code == 0
    listed = cli("list", "--json").json()
    counts = [s["export"]["counts"]["connections"] for s in listed]
    assert counts[0] == counts[1] > 50 and [s["export"]["kind"] for s in listed] == [
        "contacts",
        "contacts",
    ]
    # Of their day: the day the file was written (they carry none), not the day stored.
    assert [s["export"]["date"] for s in listed] == ["2012-06-01", "2012-06-01"]
    rows = cli("timeline", "--json").json()["snapshots"]
    assert [r["connections"] for r in rows] == counts and all(r["export"] for r in rows)
    assert [r["date"] for r in rows] == ["2012-06-01", "2012-06-01"]
    for ref in (listed[0]["short_id"],):  # the Outlook CSV ('not a LinkedIn export' before)
        done = cli("contacts", ref)
        assert done.code == 0, done.err
        cards = list(vobject.readComponents(done.out))
        assert len(cards) == counts[0]
        assert all(
            card.email.value.endswith(("example.com", "example.org", "example.net"))
            for card in cards
            if hasattr(card, "email")
        )
    assert "contacts file: " in cli("list").out


def test_a_bare_connections_csv_is_read_like_the_export_it_came_from(tmp_path: Path) -> None:
    path = make(tmp_path, "urn-emails")
    with zipfile.ZipFile(path) as archive:
        bare = archive.read("Connections.csv")
    assert bare.startswith(b"Notes:")  # the preamble before the header
    read = load_contacts("Connections.csv", bare)
    assert read.recognised and read.kind == "contacts"
    assert read.connections == [c for c in export_of(path).connections if c.name]


def test_watch_stores_a_contacts_file_of_2012(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    outlook = contacts_file(tmp_path, "2012-outlook")
    arrived = downloads / outlook.name
    shutil.copyfile(outlook, arrived)
    (downloads / "notes.csv").write_text("a,b\n1,2\n")  # a CSV that is no contacts export
    long_ago = time.time() - 3600
    for path in downloads.iterdir():
        os.utime(path, (long_ago, long_ago))
    done = cli("watch", str(downloads), "--once", "--json")
    assert done.code == 0, done.err
    events = {Path(e["file"]).name: e["event"] for e in done.json()["events"]}
    assert events == {outlook.name: "stored"}


# --- 7: exports of two members in one vault ----------------------------------------------------


def test_two_members_in_one_vault_are_kept_apart(cli, tmp_path: Path) -> None:  # noqa: ANN001
    mine = [make(tmp_path, month=k, day=date(2025, 1 + k, 15)) for k in (0, 1)]
    theirs = make(tmp_path, seed=2, day=date(2025, 1, 20))
    assert cli("init").code == 0
    assert "export, but" not in cli("snapshot", str(mine[0])).err
    other = cli("snapshot", str(theirs))
    assert other.code == 0 and "'s export, but the one before it" in other.err
    back = cli("snapshot", str(mine[1]))
    assert "'s export, but the one before it" in back.err  # and back again
    listed = cli("list", "--json").json()
    me, them = listed[0]["export"]["member"]["name"], listed[1]["export"]["member"]["name"]
    assert me != them and listed[2]["export"]["member"]["name"] == me
    ids = [s["id"] for s in listed]
    assert f"({them}'s)" in cli("list").out

    diff = cli("diff", "--json")  # the newest member's two exports, not the other's
    assert diff.code == 0, diff.err
    assert (diff.json()["from"]["id"], diff.json()["to"]["id"]) == (ids[0], ids[2])
    mixed = cli("diff", ids[0][:12], ids[1][:12])
    assert mixed.code == 2 and f"{them}'s export" in assert_one_line_error(mixed.err)

    timeline = cli("timeline", "--json").json()
    assert [r["id"] for r in timeline["snapshots"]] == [ids[0], ids[2]]
    assert (timeline["member"], timeline["other_members"]) == (me, [them])
    theirs_only = cli("timeline", "--member", them.lower(), "--json").json()
    assert [r["id"] for r in theirs_only["snapshots"]] == [ids[1]]
    status = cli("status", "--member", them, "--json", "--max-age", "100000")
    assert status.json()["newest"]["id"] == ids[1] and status.json()["snapshots"] == 1
    unknown = cli("timeline", "--member", "Nobody Atall")
    assert unknown.code == 2 and me in assert_one_line_error(unknown.err)


def test_summaries_written_before_the_member_was_recorded_still_read() -> None:
    old = {"kind": "basic", "date": "2025-01-15", "headline": None, "counts": {"messages": 3}}
    summary = summary_from_document(old)
    assert summary is not None and summary.owner is None and summary.set_aside == ()
    assert summary.counts == {"messages": 3}
    odd = dict(old, member={"name": 7, "from": "profile"}, set_aside="x")
    assert summary_from_document(odd) == summary  # malformed new fields read as absent
    document = summary_document(summary)
    assert document["member"] is None and document["format"] == 3


def test_person_histories_keep_to_the_member_shown(vault, tmp_path: Path) -> None:  # noqa: ANN001
    mine = make(tmp_path)
    theirs = make(tmp_path, seed=2, day=date(2022, 9, 20))
    first, other = vault.snapshot(mine), vault.snapshot(theirs)
    # Given every snapshot, as for a vault stored before the member was recorded: the
    # profiles read for history say whose each is.
    source = SnapshotSource(vault, [first, other])
    source.load_in_background(first, then_history=True)
    people = source.people(wait=600)
    assert people is not None
    assert [v.snapshot_id for v in people.versions] == [first.short_id]
    someone = export_of(mine).connections[0]
    assert [e.kind for e in people.timeline(someone.key)][-1] != "removed"


def test_names_from_an_export_never_drive_the_terminal(cli, tmp_path: Path) -> None:  # noqa: ANN001
    before = make(tmp_path, month=0, day=date(2025, 1, 15))
    after = make(tmp_path, month=1, day=date(2025, 2, 15))
    hostile = tmp_path / after.name
    with zipfile.ZipFile(after) as source, zipfile.ZipFile(hostile, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "Connections.csv":
                row = "Eve\x1b[2J,\x1b]8;;https://evil.example/\x07Mallory\u202e,,,,,01 Feb 2025\n"
                data += row.encode()
            target.writestr(info, data)
    assert cli("init").code == 0
    for path in (before, hostile):
        assert cli("snapshot", str(path)).code == 0
    shown = cli("diff", "--limit", "0")
    assert shown.code == 0, shown.err
    assert "\x1b" not in shown.out and "\x07" not in shown.out and "\u202e" not in shown.out
    assert "Eve\\x1b[2J \\x1b]8;;https://evil.example/\\x07Mallory\\u202e" in shown.out


def test_browse_keeps_to_one_member_and_shows_moved_urls(vault, tmp_path: Path) -> None:  # noqa: ANN001
    mine = [
        make(tmp_path, "moved-urls", month=0, day=date(2025, 1, 15)),
        make(tmp_path, "moved-urls", month=3, day=date(2025, 4, 15)),
    ]
    stored = [vault.snapshot(p) for p in (*mine, make(tmp_path, seed=2, day=date(2025, 5, 1)))]
    ids = [snap.id.hex() for snap in stored]
    me = stored[0].export["member"]["name"]
    lk = Lk(tmp_path / "vault", tmp_path / "state", password=PASSPHRASE.decode())
    server = start(lk, "--member", me.upper())
    try:
        cookie = session(server)
        root = f"{server.base}/s/{ids[1][:8]}"  # under browse's secret path
        listed = body(get(server, f"{root}/snapshots", cookie=cookie))
        assert ids[0][:8].encode() in listed and ids[2][:8].encode() not in listed
        for _attempt in range(100):  # the older snapshots are read for history meanwhile
            page = body(get(server, f"{root}/changes", cookie=cookie))
            if b"Compared with the snapshot" in page:
                break
        assert b"Compared with the snapshot" in page and b"Profile URL changed" in page
    finally:
        code, err = server.stop()
    assert code == 130 and "Traceback" not in err  # stopped by Ctrl-C, as every command
    assert "the vault also holds exports of" in err
