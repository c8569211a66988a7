"""Reading LinkedIn exports of every era and quirk: the counts a member sees must be exact."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from lkvault.vault.export import load_export, summarize, summary_document
from lkvault.vault.export.dates import parse_datetime
from lkvault.vault.export.layout import name_info
from lkvault.vault.export.tables import read_table
from lkvault.vault.operations.export_sources import export_of_file, zip_file_members

from bench.exportgen import generate_export

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "Basic_LinkedInDataExport_01-15-2026.zip"
PREAMBLE = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses '
    'are missing. You will only see email addresses for connections who have allowed it."\n'
    "\n"
)
CONNECTIONS_2024 = (
    PREAMBLE + "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    'Ada,Example,https://www.linkedin.com/in/ada-example-1a2b3c,,"Acme, Inc.",Staff Engineer,'
    "14 Nov 2024\n"
    ",,,,,,02 Oct 2024\n"
    "Bob,Sample,https://www.linkedin.com/in/bobsample,bob@example.com,Globex,CTO,21 Mar 2019\n"
    ",,,,,,\n"
)
MESSAGES_2024 = (
    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,RECIPIENT PROFILE URLS,DATE,"
    "SUBJECT,CONTENT,FOLDER,IS MESSAGE DRAFT,IS CONVERSATION DRAFT\n"
    "2-AAA=,,Ada Example,https://www.linkedin.com/in/ada,Bob Sample,https://www.linkedin.com/in/"
    'bob,2024-11-15 10:22:33 UTC,,"Thanks, see you then!<br>Ada",INBOX,No,No\n'
    "2-AAA=,,Bob Sample,https://www.linkedin.com/in/bob,Ada Example,https://www.linkedin.com/in/"
    'ada,2024-11-15 10:20:01 UTC,,"Does ""Tuesday"" work?",INBOX,No,No\n'
    ",,LinkedIn,,Ada Example,,2024-11-01 08:00:00 UTC,,Your weekly digest,INBOX,No,No\n"
    '2-BBB=,Team,Carol Doe,,"Ada Example,Bob Sample",,2024-10-01 08:00:00 UTC,,Hi all,'
    "ARCHIVE,Yes,No\n"
)
PROFILE_2024 = (
    "First Name,Last Name,Maiden Name,Address,Birth Date,Headline,Summary,Industry,Zip Code,"
    "Geo Location,Twitter Handles,Websites,Instant Messengers\n"
    'Ada,Example,,,Dec 4,"Staff Engineer, Acme","Builds things.\nMostly software.",'
    "Software Development,,Berlin,,,\n"
)
INVITATIONS_2024 = (
    "From,To,Sent At,Message,Direction,inviterProfileUrl,inviteeProfileUrl\n"
    'Ada Example,Bob Sample,"9/27/25, 8:41 AM","Hi Bob, we met at the meetup.",OUTGOING,'
    "https://www.linkedin.com/in/ada,https://www.linkedin.com/in/bob\n"
    'Dan Roe,Ada Example,"9/28/25, 1:05 PM",,INCOMING,,\n'
)
RECOMMENDATIONS = (
    "First Name,Last Name,Company,Job Title,Text,Creation Date,Status\n"
    'Eve,Stone,Initech,CTO,"Great engineer, ""really"".","12/22/22, 7:24 PM",VISIBLE\n'
)
ENDORSEMENTS = (
    "Endorsement Date,Skill Name,Endorser First Name,Endorser Last Name,Endorser Public Url,"
    "Endorsement Status\n"
    "2025/12/30 00:50:55 UTC,Python,Eve,Stone,https://www.linkedin.com/in/eve,ACCEPTED\n"
    "2025/11/30 00:50:55 UTC,SQL,Eve,Stone,https://www.linkedin.com/in/eve,ACCEPTED\n"
)
POSITIONS = (
    "Company Name,Title,Description,Location,Started On,Finished On\n"
    "Acme,Staff Engineer,,Berlin,Feb 2024,\n"
    'Globex,Engineer,"Did things,\nmany things",Paris,Mar 2019,Jan 2024\n'
)
COMMENTS = (
    "Date,Link,Message\n"
    '2026-04-06 15:43:56,https://www.linkedin.com/feed/update/urn:1,"I heard this called a '
    '\\"pitch slap\\".\nAccurate."\n'
    "2026-04-06 15:17:18,https://www.linkedin.com/feed/update/urn:2,Great point\n"
)


def make_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.encode() if isinstance(content, str) else content)
    return path


def readers(members: dict[str, bytes]) -> dict[str, Callable[[], bytes]]:
    return {name: (lambda data=data: data) for name, data in members.items()}


def load_zip(path: Path, name: str | None = None):  # noqa: ANN201
    with zipfile.ZipFile(path) as archive:
        return load_export(zip_file_members(archive), name or path.name)


def counts_of(path: Path, name: str | None = None) -> dict[str, int]:
    return summarize(load_zip(path, name)).counts


def test_current_export_counts_every_category(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "Basic_LinkedInDataExport_05-09-2026.zip",
        {
            "Connections.csv": CONNECTIONS_2024,
            "messages.csv": MESSAGES_2024,
            "Profile.csv": PROFILE_2024,
            "Invitations.csv": INVITATIONS_2024,
            "Recommendations_Received.csv": RECOMMENDATIONS,
            "Recommendations_Given.csv": RECOMMENDATIONS.splitlines()[0] + "\n",
            "Endorsement_Received_Info.csv": ENDORSEMENTS,
            "Positions.csv": POSITIONS,
            "Comments.csv": COMMENTS,
            "Ad_Targeting.csv": "Member Age,Company Names,Company Names\n25-34,a;b,c\n",
        },
    )
    export = load_zip(path)
    assert summary_document(summarize(export)) == {
        "format": 3,
        "kind": "basic",
        "date": "2026-05-09",
        "date_from": "name",
        "headline": "Staff Engineer, Acme",
        "member": {"name": "Ada Example", "from": "profile"},
        "set_aside": [],
        "counts": {
            "connections": 3,  # the hidden member's row counts; the all-empty row does not
            "connections_hidden": 1,
            "conversations": 3,
            "messages": 4,
            "invitations": 2,
            "recommendations_received": 1,
            "recommendations_given": 0,
            "endorsements_received": 2,
            "positions": 2,
        },
    }
    assert export.warnings == []
    assert export.other_files == ["Ad_Targeting.csv"]
    ada = export.connections[0]
    assert (ada.name, ada.company, ada.connected_on) == (
        "Ada Example",
        "Acme, Inc.",
        date(2024, 11, 14),
    )
    assert export.connections[2].email == "bob@example.com"
    quoted = next(m for m in export.messages if "Tuesday" in m.content)
    assert quoted.content == 'Does "Tuesday" work?'
    assert quoted.sent_at == datetime(2024, 11, 15, 10, 20, 1, tzinfo=timezone.utc)
    group = next(m for m in export.messages if m.conversation_id == "2-BBB=")
    assert group.recipients == ("Ada Example", "Bob Sample") and group.is_draft
    assert export.profile["Summary"] == "Builds things.\nMostly software."
    assert export.comments[0].message == 'I heard this called a "pitch slap".\nAccurate.'
    assert export.recommendations[0].text == 'Great engineer, "really".'


# samples/README.md: 344 connections, 1,503 messages in 359 conversations, 129 invitations,
# 2 recommendations received and 1 given, 26 endorsements received.
SAMPLE_COUNTS = {
    "connections": 344,
    "connections_hidden": 2,  # rows of hidden members, among the 344
    "conversations": 359,
    "messages": 1503,
    "invitations": 129,
    "recommendations_received": 2,
    "recommendations_given": 1,
    "endorsements_received": 26,
    "positions": 3,
}


def test_sample_export_matches_its_documented_contents() -> None:
    assert counts_of(SAMPLE) == SAMPLE_COUNTS


def _csv_rows(data: bytes, header_start: str, delimiter: str = ",") -> list[dict[str, str]]:
    """An independent count: the standard csv module from the line the header starts on."""
    text = data.decode("utf-16") if data.startswith(b"\xff\xfe") else data.decode("utf-8")
    start = text.index(header_start)
    return [
        row
        for row in csv.DictReader(io.StringIO(text[start:], newline=""), delimiter=delimiter)
        if any((v or "").strip() for v in row.values())
    ]


@pytest.mark.parametrize("era", ["2025", "2018"])
def test_generated_exports_of_both_eras(tmp_path: Path, era: str) -> None:
    when = date(2026, 3, 15) if era == "2025" else date(2018, 11, 4)
    kind = "Basic" if era == "2025" else "Complete"
    path = generate_export(
        tmp_path / f"{kind}_LinkedInDataExport_{when:%m-%d-%Y}.zip",
        date=when,
        scale=0.2,
        seed=7,
        era=era,
        month_index=2,
    )
    export = load_zip(path)
    summary = summarize(export)
    assert (summary.kind, summary.date) == (kind.lower(), when)
    assert export.warnings == []
    with zipfile.ZipFile(path) as archive:
        connections = _csv_rows(archive.read("Connections.csv"), "First Name,")
        messages_name = "messages.csv" if era == "2025" else "Messages.csv"
        messages = _csv_rows(
            archive.read(messages_name), "CONVERSATION ID" if era == "2025" else "From,"
        )
        invitations = _csv_rows(archive.read("Invitations.csv"), "From,")
        positions = _csv_rows(archive.read("Positions.csv"), "Company Name,")
        profile = _csv_rows(archive.read("Profile.csv"), "First Name,")
    assert summary.counts["connections"] == len(connections) > 0
    assert summary.counts["messages"] == len(messages) > 0
    assert summary.counts["invitations"] == len(invitations) > 0
    assert summary.counts["positions"] == len(positions) > 0
    assert summary.headline == profile[0]["Headline"]
    if era == "2025":
        ids = {row["CONVERSATION ID"] for row in messages if row["CONVERSATION ID"]}
        blank = {
            frozenset([row["FROM"], *row["TO"].split(",")])
            for row in messages
            if not row["CONVERSATION ID"]
        }
        assert summary.counts["conversations"] == len(ids) + len(blank)
    else:  # 2018: no ids; a conversation is the set of its two participants
        pairs = {frozenset([row["From"], row["To"]]) for row in messages}
        assert summary.counts["conversations"] == len(pairs)
        assert export.connections[0].url is None  # 2018 exports carry no profile URLs


def test_utf16_tab_separated_files_of_2018() -> None:
    text = (
        '"First Name"\t"Last Name"\t"Email Address"\t"Company"\t"Position"\t"Connected On"\n'
        '"Zoë"\t"Müller"\t"z@example.com"\t"Acme, Inc."\t"CTO"\t"1/8/18, 6:14 PM"\n'
        '"Ana"\t"Silva"\t""\t"Globex"\t"Dev"\t"2/9/18, 7:00 AM"\n'
    )
    export = load_export(
        {"Connections.csv": lambda: text.encode("utf-16")},
        "Complete_LinkedInDataExport_11-04-2018.zip",
    )
    assert [(c.name, c.company, c.connected_on) for c in export.connections] == [
        ("Zoë Müller", "Acme, Inc.", date(2018, 1, 8)),
        ("Ana Silva", "Globex", date(2018, 2, 9)),
    ]
    generated = read_table(text.encode("utf-16"), {"firstname", "lastname"})
    assert (generated.encoding, generated.delimiter) == ("utf-16", "\t")


def test_folder_split_files_member_ids_and_renamed_files(tmp_path: Path) -> None:
    header = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    path = make_zip(
        tmp_path / "export (1).zip.zip",
        {
            "Basic_LinkedInDataExport_02-01-2026/": "",
            "Basic_LinkedInDataExport_02-01-2026/Connections_2.csv": header + "C,Three,,,,,\n",
            "Basic_LinkedInDataExport_02-01-2026/Connections_1.csv": PREAMBLE
            + header
            + "A,One,,,,,\nB,Two,,,,,\n",
            "Basic_LinkedInDataExport_02-01-2026/Comments_1158443584.csv": COMMENTS,
            "Basic_LinkedInDataExport_02-01-2026/Recommendations Received.csv": RECOMMENDATIONS,
            "Basic_LinkedInDataExport_02-01-2026/Endorsement Received Info.csv": ENDORSEMENTS,
        },
    )
    export = load_zip(path)
    assert [c.name for c in export.connections] == ["A One", "B Two", "C Three"]
    assert len(export.comments) == 2
    summary = summarize(export)
    # The date and kind come from the export's folder when the zip's own name has none.
    assert (summary.kind, summary.date) == ("basic", date(2026, 2, 1))
    assert summary.counts["recommendations_received"] == 1
    assert summary.counts["endorsements_received"] == 2


def test_renamed_and_missing_columns() -> None:
    # An older Recommendations layout (Body, Title, Date, Display Status) and a Connections
    # file that lost its Position and URL columns.
    export = load_export(
        readers(
            {
                "Recommendations Received.csv": (
                    b"Date,Body,First Name,Last Name,Company,Title,Display Status\n"
                    b"07/28/15,Solid work,Ann,Lee,Initech,CTO,Shown\n"
                ),
                "Connections.csv": b"First Name,Last Name,Company\nAnn,Lee,Initech\n",
            }
        ),
        None,
    )
    rec = export.recommendations[0]
    assert (rec.text, rec.job_title, rec.status) == ("Solid work", "CTO", "Shown")
    assert rec.created_at == datetime(2015, 7, 28, tzinfo=timezone.utc)
    only = export.connections[0]
    assert (only.name, only.company, only.position, only.url) == ("Ann Lee", "Initech", None, None)
    assert export.recognised and export.kind is None and export.date is None


def test_empty_and_unparseable_files_become_warnings_not_failures() -> None:
    def broken() -> bytes:
        raise OSError("damaged member")

    export = load_export(
        readers(
            {
                "Connections.csv": b"",  # LinkedIn writes empty files for empty categories
                "messages.csv": b"this is not the header\nnor this\n",
                "LearningCoachMessages.csv": b"No conversations found\n",
                "Profile.csv": PROFILE_2024.encode(),
            }
        )
        | {"Invitations.csv": broken},
        "Basic_LinkedInDataExport_05-09-2026.zip",
    )
    assert export.connections == [] and export.messages == [] and export.invitations == []
    assert len(export.warnings) == 2
    assert export.warnings[0].startswith("messages.csv: no header row found")
    assert "Invitations.csv could not be read (damaged member)" in export.warnings[1]
    assert export.headline == "Staff Engineer, Acme"


def test_members_are_read_only_when_needed() -> None:
    read: list[str] = []

    def member(name: str, data: bytes):  # noqa: ANN202
        def reader() -> bytes:
            read.append(name)
            return data

        return reader

    load_export(
        {
            "Profile.csv": member("Profile.csv", PROFILE_2024.encode()),
            "Logins.csv": member("Logins.csv", b"Login Date,IP Address\n"),
            "Articles/a.html": member("Articles/a.html", b"<html></html>"),
        },
        None,
    )
    assert read == ["Profile.csv"]


def test_non_exports_are_not_recognised(tmp_path: Path) -> None:
    plain = make_zip(tmp_path / "holiday-photos.zip", {"a.jpg": b"\xff\xd8", "notes.txt": "hi"})
    assert export_of_file(plain, plain.name) == (None, [])
    not_zip = tmp_path / "Basic_LinkedInDataExport_01-01-2026.zip"
    not_zip.write_bytes(b"not a zip at all")
    document, warnings = export_of_file(not_zip, not_zip.name)
    assert document is None and len(warnings) == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Basic_LinkedInDataExport_01-15-2026.zip", (True, "basic", date(2026, 1, 15))),
        ("Complete_LinkedInDataExport_11-04-2018 (1).zip", (True, "complete", date(2018, 11, 4))),
        ("Basic_LinkedInDataExport_05-09-2026.zip.zip", (True, "basic", date(2026, 5, 9))),
        ("LinkedInDataExport_07-28-2015", (True, None, date(2015, 7, 28))),
        ("linkedin_connections_export_microsoft_outlook.csv", (False, None, None)),
        ("Basic_LinkedInDataExport_13-45-2026.zip", (True, "basic", None)),
    ],
)
def test_export_names(name: str, expected: tuple[object, ...]) -> None:
    assert name_info(name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14 Nov 2024", datetime(2024, 11, 14, tzinfo=timezone.utc)),
        ("9/27/25, 8:41 AM", datetime(2025, 9, 27, 8, 41, tzinfo=timezone.utc)),
        ("12/1/25, 12:05 AM", datetime(2025, 12, 1, 0, 5, tzinfo=timezone.utc)),
        ("1/8/18 6:14 PM UTC", datetime(2018, 1, 8, 18, 14, tzinfo=timezone.utc)),
        ("2024-11-15 10:22:33 UTC", datetime(2024, 11, 15, 10, 22, 33, tzinfo=timezone.utc)),
        ("2025/12/30 00:50:55 UTC", datetime(2025, 12, 30, 0, 50, 55, tzinfo=timezone.utc)),
        ("Wed Oct 01 16:02:32 UTC 2025", datetime(2025, 10, 1, 16, 2, 32, tzinfo=timezone.utc)),
        ("Apr 9, 2019", datetime(2019, 4, 9, tzinfo=timezone.utc)),
        ("Not Available", None),
        ("31 Feb 2024", None),
        ("", None),
    ],
)
def test_linkedin_date_formats(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected
