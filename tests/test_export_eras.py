"""Exports of every year as members really have them (issue 20): the quirks the generator makes
from what eleven published exports showed, read as a user expects."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

from lkvault.cli.browse.textsearch import TextIndex
from lkvault.vault.export import load_export, summarize, summary_document
from lkvault.vault.export.contacts import contacts_csv, vcards
from lkvault.vault.export.diff import diff_document, diff_exports
from lkvault.vault.export.model import Export
from lkvault.vault.export.sources import zip_file_members

from bench.exportgen import generate_export
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
