"""Tests for bench.exportgen, the generator of synthetic LinkedIn data-export zips."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import zipfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from bench import exportgen
from bench.exportgen import generate_export, generate_series

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "Basic_LinkedInDataExport_01-15-2026.zip"
TINY = 0.1  # a tenth of "small": about 100 KB per export, fast enough for unit tests

# File names and header lines copied from docs/linkedin-export-format.md (not from the module).
DOC_2025 = {
    "Connections.csv": "First Name,Last Name,URL,Email Address,Company,Position,Connected On",
    "messages.csv": "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,"
    "RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER,ATTACHMENTS",
    "Invitations.csv": "From,To,Sent At,Message,Direction,inviterProfileUrl,inviteeProfileUrl",
    "Profile.csv": "First Name,Last Name,Maiden Name,Address,Birth Date,Headline,Summary,"
    "Industry,Zip Code,Geo Location,Twitter Handles,Websites,Instant Messengers",
    "Profile Summary.csv": "Profile Summary",
    "Positions.csv": "Company Name,Title,Description,Location,Started On,Finished On",
    "Education.csv": "School Name,Start Date,End Date,Notes,Degree Name,Activities",
    "Skills.csv": "Name",
    "Languages.csv": "Name,Proficiency",
    "Certifications.csv": "Name,Url,Authority,Started On,Finished On,License Number",
    "Recommendations_Received.csv": "First Name,Last Name,Company,Job Title,Text,"
    "Creation Date,Status",
    "Recommendations_Given.csv": "First Name,Last Name,Company,Job Title,Text,Creation Date,Status",
    "Endorsement_Received_Info.csv": "Endorsement Date,Skill Name,Endorser First Name,"
    "Endorser Last Name,Endorser Public Url,Endorsement Status",
    "Endorsement_Given_Info.csv": "Endorsement Date,Skill Name,Endorsee First Name,"
    "Endorsee Last Name,Endorsee Public Url,Endorsement Status",
    "Email Addresses.csv": "Email Address,Confirmed,Primary,Updated On",
    "PhoneNumbers.csv": "Extension,Number,Type",
    "Whatsapp Phone Numbers.csv": "Number,Extension,Is_WhatsApp_Number",
    "Registration.csv": "Registered At,Registration Ip,Subscription Types",
    "Company Follows.csv": "Organization,Followed On",
    "Member_Follows.csv": "Date,Status,FullName",
    "Reactions.csv": "Date,Type,Link",
    "Shares.csv": "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility",
    "Comments.csv": "Date,Link,Message",
    "InstantReposts.csv": "Date,Link",
    "Rich_Media.csv": "Date/Time,Media Description,Media Link",
    "Learning.csv": "Content Title,Content Description,Content Type,"
    "Content Last Watched Date (if viewed),Content Completed At (if completed),Content Saved,"
    "Notes taken on videos (if taken),",
    "SearchQueries.csv": "Time,Search Query",
    "Logins.csv": "Login Date,IP Address,User Agent,Login Type",
    "Jobs/Saved Jobs.csv": "Saved Date,Job Url,Job Title,Company Name",
    "Jobs/Job Applications.csv": "Application Date,Contact Email,Contact Phone Number,"
    "Company Name,Job Title,Job Url,Resume Name,Question And Answers",
    "coach_messages.csv": "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,"
    "RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER",
    "guide_messages.csv": "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,"
    "RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER",
    "learning_coach_messages.csv": "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,"
    "TO,RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER",
    "learning_role_play_messages.csv": "CONVERSATION ID,CONVERSATION TITLE,FROM,"
    "SENDER PROFILE URL,TO,RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER",
    "LearningCoachMessages.csv": "No conversations found",
}
DOC_2018 = {
    "Connections.csv": "First Name,Last Name,Email Address,Company,Position,Connected On",
    "Messages.csv": "From,To,Date,Subject,Content,Direction,Folder",
    "Invitations.csv": "From,To,Sent At,Message,Direction",
    "Profile.csv": "First Name,Last Name,Maiden Name,Address,Birth Date,Contact Instructions,"
    "Headline,Summary,Industry,Country,Zip Code,Geo Location,Twitter Handles,Websites,"
    "Instant Messengers",
    "Positions.csv": "Company Name,Title,Description,Location,Started On,Finished On",
    "Education.csv": "School Name,Start Date,End Date,Notes,Degree Name,Activities",
    "Skills.csv": "Name",
    "Email Addresses.csv": "Email Address,Confirmed,Primary,Updated On",
    "Phone Numbers.csv": "Extension,Number,Type",
    "Registration.csv": "Registration Date,Registration IP Address,Invited by (First Name),"
    "Invited by (Last Name),Subscription Types",
    "Recommendations Received.csv": "First Name,Last Name,Company,Job Title,Text,"
    "Creation Date,Status",
    "Projects.csv": "Title,Description,Url,Start Date,End Date",
    "Causes You Care About.csv": "Supported Cause",
    "Videos.csv": "Description,Link",
    "SavedJobAlerts.csv": "Saved Search Date,Jobs Search Url",
    "Jobs/Saved Jobs.csv": "Saved Date,Job Url,Job Title,Company Name",
}
DOC_2018_UTF16 = {
    "Shares.csv": '"Date"\t"Share Title"\t"Share Description"\t"Share Link"\t'
    '"Share Commentary"\t"Shared URL"\t"Media URL"\t"Type"\t"Visibility"',
    "Search Queries.csv": '"Time"\t"Search Query"',
    "Logins.csv": '"Login Date"\t"IP Address"\t"User Agent"\t"Login Type"',
    "Account Status History.csv": '"Time"\t"Event"',
}
ARTICLE = re.compile(r"Articles/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.html")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_of(zf: zipfile.ZipFile, name: str) -> str:
    return zf.read(name).decode("utf-8")


def table(zf: zipfile.ZipFile, name: str) -> list[list[str]]:
    """Rows of a CSV member without its header, skipping a Notes: preamble the doc's way."""
    text = text_of(zf, name)
    start = text.find("First Name,") if text.startswith("Notes:") else 0
    return list(csv.reader(io.StringIO(text[start:])))[1:]


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("series")
    return generate_series(out, months=3, scale=TINY, seed=7)


# --------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_bytes(tmp_path: Path, series: list[Path]) -> None:
    again = generate_series(tmp_path / "again", months=3, scale=TINY, seed=7)
    assert [p.name for p in again] == [p.name for p in series]
    assert [sha256(p) for p in again] == [sha256(p) for p in series]
    other = generate_export(tmp_path / "other.zip", date=date(2025, 1, 15), scale=TINY, seed=8)
    assert sha256(other) != sha256(series[0])


def test_single_export_equals_the_series_member(tmp_path: Path, series: list[Path]) -> None:
    one = generate_export(
        tmp_path / "one.zip", date=date(2025, 3, 15), scale=TINY, seed=7, month_index=2
    )
    assert sha256(one) == sha256(series[2])


def test_shipped_sample_regenerates_byte_for_byte(tmp_path: Path) -> None:
    # The command in samples/README.md: --months 1 --scale 0.3 --start 2026-01-15 --seed 1
    (path,) = generate_series(tmp_path, months=1, scale=0.3, seed=1, start=date(2026, 1, 15))
    assert path.name == SAMPLE.name
    assert 100_000 <= SAMPLE.stat().st_size <= 300_000
    assert sha256(path) == sha256(SAMPLE)


# --------------------------------------------------------------------------- layout and headers


def test_series_names_and_members_follow_the_doc(series: list[Path]) -> None:
    assert [p.name for p in series] == [
        "Basic_LinkedInDataExport_01-15-2025.zip",
        "Basic_LinkedInDataExport_02-15-2025.zip",
        "Basic_LinkedInDataExport_03-15-2025.zip",
    ]
    with zipfile.ZipFile(series[-1]) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names == list(DOC_2025)  # fixed order, no directory entries
        stamps = {i.date_time for i in zf.infolist()}  # the export's time, on every member
        assert len(stamps) == 1 and stamps.pop()[:3] == (2025, 3, 15)
        for name, header in DOC_2025.items():
            text = text_of(zf, name)
            assert not text.startswith("\ufeff") and "\r\n" not in text
            lines = text.split("\n")
            first = lines[3] if name == "Connections.csv" else lines[0]
            assert first == header, name


def test_connections_preamble_then_a_parsable_header(series: list[Path]) -> None:
    with zipfile.ZipFile(series[0]) as zf:
        text = text_of(zf, "Connections.csv")
    lines = text.split("\n")
    assert lines[0] == "Notes:"
    assert lines[1].startswith('"When exporting your connection data')
    assert lines[2] == ""
    header_at = next(i for i, line in enumerate(lines) if line.startswith("First Name"))
    assert header_at == 3
    reader = csv.DictReader(io.StringIO("\n".join(lines[header_at:])))
    rows = list(reader)
    assert reader.fieldnames == DOC_2025["Connections.csv"].split(",")
    assert len(rows) > 50 and all(len(r) == 7 for r in rows)
    assert all(re.fullmatch(r"\d\d [A-Z][a-z]{2} \d{4}", r["Connected On"]) for r in rows)
    ghosts = [r for r in rows if not any(v for k, v in r.items() if k != "Connected On")]
    assert ghosts, "expected a few ghost rows with only Connected On filled"
    assert 0 < sum(1 for r in rows if r["Email Address"]) < 0.05 * len(rows)


def test_learning_header_has_an_empty_eighth_column(series: list[Path]) -> None:
    with zipfile.ZipFile(series[0]) as zf:
        rows = list(csv.reader(io.StringIO(text_of(zf, "Learning.csv"))))
    assert rows[0][-1] == "" and len(rows[0]) == 8
    assert all(len(r) == 8 for r in rows)


# --------------------------------------------------------------------------- history


def test_newest_rows_on_top(series: list[Path]) -> None:
    with zipfile.ZipFile(series[-1]) as zf:
        conns = table(zf, "Connections.csv")
        msgs = table(zf, "messages.csv")
    stamps = [datetime.strptime(r[6], "%d %b %Y") for r in conns]
    assert stamps == sorted(stamps, reverse=True)
    dates = [r[6] for r in msgs]
    assert dates[0] == max(dates)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", d) for d in dates)
    last_of: dict[str, str] = {}
    for cid, when in ((r[0], r[6]) for r in msgs):  # grouped, newest first in a conversation
        assert when <= last_of.get(cid, "9999")
        last_of[cid] = when


def test_earlier_rows_reappear_and_counts_grow(series: list[Path]) -> None:
    snapshots = []
    for path in series:
        with zipfile.ZipFile(path) as zf:
            snapshots.append(
                {
                    n: table(zf, n)
                    for n in ("Connections.csv", "messages.csv", "Reactions.csv", "Comments.csv")
                }
            )
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        for name in ("messages.csv", "Reactions.csv"):
            assert len(after[name]) > len(before[name])
            assert not Counter(map(tuple, before[name])) - Counter(map(tuple, after[name]))
        old, new = before["Connections.csv"], after["Connections.csv"]
        in_new, in_old = set(map(tuple, new)), set(map(tuple, old))
        kept = [r for r in old if tuple(r) in in_new]
        assert len(new) > len(old)
        assert len(old) - len(kept) < 0.05 * len(old)  # removals, job changes, deleted members
        assert [r for r in new if tuple(r) in in_old] == kept  # same rows, same order


def test_message_quirks_in_the_sample() -> None:
    with zipfile.ZipFile(SAMPLE) as zf:
        assert zf.testzip() is None
        raw = text_of(zf, "messages.csv")
        rows = table(zf, "messages.csv")
        comments = text_of(zf, "Comments.csv")
        received = table(zf, "Recommendations_Received.csv")
        conns = table(zf, "Connections.csv")
    assert len(rows) > 1000 and len(conns) > 250 and len(received) >= 2
    ids = {r[0] for r in rows}
    assert all(re.fullmatch(r"2-[A-Za-z0-9+/]{54}==", i) for i in ids if i)
    contents = [r[8] for r in rows]
    assert any("<br>" in c for c in contents)
    assert any("\n" in c for c in contents)  # quoted multi-line fields
    assert any('"' in c and "," in c for c in contents)
    assert any("<script>alert(1)</script>" in c for c in contents)
    assert '""' in raw
    assert sum(1 for c in contents if not c) > 0.15 * len(rows)
    names = " ".join(r[2] for r in rows)
    assert re.search(r"[éüł]", names) and re.search(r"[\u4e00-\u9fff]", names)
    assert any("," in r[1] for r in conns) and any('"' in r[0] for r in conns)
    assert re.search(r"\\\"", comments)  # Comments.csv escapes quotes with a backslash


# --------------------------------------------------------------------------- 2018 era


def test_2018_era(tmp_path: Path) -> None:
    (path,) = generate_series(tmp_path, months=1, scale=TINY, era="2018")
    assert path.name == "Complete_LinkedInDataExport_01-15-2025.zip"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        articles = [n for n in names if n.startswith("Articles/")]
        assert len(articles) == 1 and ARTICLE.fullmatch(articles[0])
        assert sorted(set(names) - set(articles)) == sorted({*DOC_2018, *DOC_2018_UTF16})
        for name, header in DOC_2018.items():
            assert text_of(zf, name).split("\n", 1)[0] == header, name
        for name, header in DOC_2018_UTF16.items():
            data = zf.read(name)
            assert data[:2] == b"\xff\xfe", name
            text = data[2:].decode("utf-16-le")
            assert text.split("\n", 1)[0] == header
            rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
            assert all(len(r) == len(rows[0]) for r in rows)
        assert "Notes:" not in text_of(zf, "Connections.csv")
        conns = table(zf, "Connections.csv")
        assert all(r[2] for r in conns)  # before the privacy setting every email was there
        msgs = table(zf, "Messages.csv")
        assert {r[5] for r in msgs} == {"INCOMING", "OUTGOING"}


# --------------------------------------------------------------------------- producers and CLI


@pytest.mark.parametrize("producer", ["stored", "infozip-6", "infozip-9", "7z"])
def test_producers_are_valid_and_deterministic(tmp_path: Path, producer: str) -> None:
    if producer.startswith("infozip") and not Path("/usr/bin/zip").exists():
        pytest.skip("/usr/bin/zip is not installed")
    if producer == "7z" and shutil.which("7z") is None:
        pytest.skip("7z is not installed")
    paths = [
        generate_export(
            tmp_path / f"{i}.zip", date=date(2025, 1, 15), scale=TINY / 2, producer=producer
        )
        for i in range(2)
    ]
    assert sha256(paths[0]) == sha256(paths[1])
    with zipfile.ZipFile(paths[0]) as zf:
        assert zf.testzip() is None
        assert sorted(zf.namelist()) == sorted(DOC_2025)
        method = zipfile.ZIP_STORED if producer == "stored" else zipfile.ZIP_DEFLATED
        assert zf.getinfo("messages.csv").compress_type == method


def test_missing_7z_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exportgen.shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError, match="p7zip-full"):
        generate_export(tmp_path / "x.zip", date=date(2025, 1, 15), scale=TINY, producer="7z")


def test_small_scale_is_about_one_megabyte(tmp_path: Path) -> None:
    path = generate_export(tmp_path / "s.zip", date=date(2025, 1, 15), scale="small")
    assert 700_000 <= path.stat().st_size <= 1_300_000


def test_cli_prints_the_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        exportgen.main(["--months", "2", "--scale", "0.05", "--out", str(tmp_path), "--seed", "3"])
        == 0
    )
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == [
        "Basic_LinkedInDataExport_01-15-2025.zip",
        "Basic_LinkedInDataExport_02-15-2025.zip",
    ]
    assert all(Path(p).is_file() for p in printed)


def test_bad_arguments() -> None:
    assert exportgen.scale_factor("medium") == 10.0
    assert exportgen.scale_factor("2.5") == 2.5
    with pytest.raises(ValueError):
        exportgen.scale_factor("huge")
    with pytest.raises(ValueError):
        exportgen.scale_factor(0)
    with pytest.raises(ValueError):
        generate_export("/nonexistent/x.zip", date=date(2025, 1, 15), era="2019")


def test_quirks_change_only_what_they_name(tmp_path: Path) -> None:
    day = date(2025, 3, 15)

    def members(*quirks: str, month: int = 2) -> dict[str, bytes]:
        path = generate_export(
            tmp_path / "-".join(quirks or ("plain",)) / f"{month}.zip",
            date=day,
            scale=0.05,
            month_index=month,
            quirks=quirks,
        )
        with zipfile.ZipFile(path) as zf:
            return {name: zf.read(name) for name in zf.namelist()}

    plain = members()
    for quirk, changed in (
        ("urn-emails", {"Connections.csv"}),
        ("moved-urls", {"Connections.csv"}),
        ("legacy-endorsements", {"Endorsement Received Info.csv"}),
        ("no-messages", {"messages.csv"}),
        ("no-profile", {"Profile.csv"}),
    ):
        quirky = members(quirk)
        differ = {n for n in plain.keys() | quirky.keys() if plain.get(n) != quirky.get(n)}
        assert differ == changed, quirk
    assert members("moved-urls", month=0) == members(month=0)  # moved from month 1 on
    legacy = members("legacy-endorsements")["Endorsement Received Info.csv"]
    assert legacy.startswith(b"\xff\xfe") and "Redacted" in legacy.decode("utf-16")
    with pytest.raises(ValueError, match="unknown quirk"):
        members("no-such-quirk")


@pytest.mark.parametrize("era", exportgen.CONTACT_ERAS)
def test_2012_contacts_files(tmp_path: Path, era: str) -> None:
    day = date(2012, 6, 1)
    path = generate_export(tmp_path / exportgen.export_name(day, era), date=day, era=era)
    again = generate_export(tmp_path / "again" / path.name, date=day, era=era)
    assert path.read_bytes() == again.read_bytes()
    if era == "2012-outlook":
        assert path.name == "linkedin_connections_export_microsoft_outlook.csv"
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"))))
        assert len(rows[0]) == 59 and all(len(row) == 59 for row in rows)
        assert rows[0][:6] == [
            "Title",
            "First Name",
            "Middle Name",
            "Last Name",
            "Suffix",
            "E-mail Address",
        ]
        assert path.read_bytes().startswith(b'"Title","First Name"')
        assert all(row[1] or row[3] for row in rows[1:]) and len(rows) > 100
    else:
        text = path.read_bytes().decode()
        assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
        assert text.count("BEGIN:VCARD") == text.count("END:VCARD") > 100


# --------------------------------------------------------------------------- pinned bytes

# SHA-256 of exports made before styles existed: the default style must keep producing these
# bytes (the bench series and every test fixture made from the generator depend on them).
PINNED: dict[str, tuple[dict[str, object], str]] = {
    "2025-m0": (
        {"date": date(2025, 3, 15), "scale": TINY, "seed": 1, "month_index": 0},
        "80d7c1ba3c7fc81d1662586fd0482725c1ff368e21f9d3092450d0a750d89be5",
    ),
    "2025-m5": (
        {"date": date(2025, 6, 15), "scale": TINY, "seed": 2, "month_index": 5},
        "a4e640df0d180236197684c7327a6a7a18d85e9be22d4070fea45d5578a38f06",
    ),
    "2025-stored-every-quirk": (
        {
            "date": date(2025, 4, 15),
            "scale": TINY,
            "seed": 3,
            "month_index": 3,
            "producer": "stored",
            "quirks": sorted(exportgen.QUIRKS),
        },
        "9b8f690b5532fb05d85d48e77d67ad640a59c75c710667e5934db861b230d986",
    ),
    "2025-deleted-conversation": (
        {"date": date(2025, 4, 15), "scale": TINY, "seed": 4, "month_index": 3, "deleted_at": 2},
        "7c54b26b589c535ed41f4608512a38fe4bfa29b61ae1dc714e037412dc936ffb",
    ),
    "2018-m2": (
        {"date": date(2025, 3, 15), "scale": TINY, "seed": 5, "month_index": 2, "era": "2018"},
        "14e5d06fa93a7a699c8c237cf09c75eba089b1e2b81ace35c7256cad4affb20b",
    ),
    "2012-outlook": (
        {
            "date": date(2025, 3, 15),
            "scale": TINY,
            "seed": 6,
            "month_index": 1,
            "era": "2012-outlook",
        },
        "094e137959c411ea7cbc028282b442a7c19f77cf6a941747cc4cb42a1147e88b",
    ),
    "2012-vcard": (
        {
            "date": date(2025, 3, 15),
            "scale": TINY,
            "seed": 7,
            "month_index": 1,
            "era": "2012-vcard",
        },
        "42ce9f1436ac514556d6e5a8531e9a52fd506f8ad1e318cbfd2dc5a7f14c5d31",
    ),
    "2025-small-m11": (
        {"date": date(2025, 12, 15), "scale": "small", "seed": 1, "month_index": 11},
        "2eda369b1e0f1efe7d890bed387ae41efa4450fdcd991bbeaa844d6ae6c63f0f",
    ),
}


@pytest.mark.parametrize("case", sorted(PINNED))
def test_default_style_keeps_the_pinned_bytes(tmp_path: Path, case: str) -> None:
    kwargs, digest = PINNED[case]
    path = generate_export(tmp_path / case, **kwargs)  # type: ignore[arg-type]
    assert sha256(path) == digest


# --------------------------------------------------------------------------- styles


def style_export(tmp_path: Path, style: str, month: int, seed: int = 11) -> dict[str, str]:
    """The text members of one TINY export of ``style``, the ``month``-th of its series."""
    day = exportgen.add_months(date(2025, 1, 15), month)
    path = generate_export(
        tmp_path / style / f"{month}.zip",
        date=day,
        scale=TINY,
        seed=seed,
        month_index=month,
        style=style,
    )
    with zipfile.ZipFile(path) as zf:
        return {name: text_of(zf, name) for name in zf.namelist()}


def message_table(export: dict[str, str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO(export["messages.csv"])))[1:]


def connection_urls(export: dict[str, str]) -> set[str]:
    text = export["Connections.csv"]
    rows = list(csv.reader(io.StringIO(text[text.find("First Name,") :])))[1:]
    return {r[2] for r in rows if r[2]}


@pytest.mark.parametrize("style", [s for s in exportgen.STYLES if s != "default"])
def test_each_style_is_deterministic_and_differs(tmp_path: Path, style: str) -> None:
    once = style_export(tmp_path / "a", style, 2)
    assert style_export(tmp_path / "b", style, 2) == once
    default = style_export(tmp_path, "default", 2)
    assert once.keys() == default.keys()  # same members, same headers
    assert once["messages.csv"] != default["messages.csv"]
    for name, text in once.items():
        assert text.split("\n", 1)[0] == default[name].split("\n", 1)[0], name


def test_editor_removes_archives_deletes_and_rewrites(tmp_path: Path) -> None:
    def churn(style: str) -> tuple[int, int, int, int]:
        first, last = style_export(tmp_path, style, 0), style_export(tmp_path, style, 8)
        removed = len(connection_urls(first) - connection_urls(last))
        ids_first = {r[0] for r in message_table(first)}
        deleted = len(ids_first - {r[0] for r in message_table(last)})
        archived = sum(r[9] == "ARCHIVE" for r in message_table(last))
        summaries = len({style_export(tmp_path, style, k)["Profile Summary.csv"] for k in range(9)})
        return removed, deleted, archived, summaries

    default, editor = churn("default"), churn("editor")
    assert editor[0] > 2 * default[0]  # connections removed as well as added
    assert editor[1] > default[1]  # conversations deleted
    assert editor[2] > 1.5 * default[2]  # threads archived
    assert default[3] == 1 and editor[3] >= 3  # the summary rewritten in place


def test_polyglot_writes_in_other_scripts(tmp_path: Path) -> None:
    polyglot = style_export(tmp_path, "polyglot", 1)["messages.csv"]
    default = style_export(tmp_path, "default", 1)["messages.csv"]
    for lo, hi in ((0x4E00, 0x9FFF), (0x0400, 0x04FF), (0x0600, 0x06FF), (0xAC00, 0xD7AF)):
        pattern = re.compile(f"[{chr(lo)}-{chr(hi)}]")
        share = len(pattern.findall(polyglot)) / len(polyglot)
        assert share > 10 * len(pattern.findall(default)) / len(default) + 0.001


def test_chatty_and_longform_change_message_lengths(tmp_path: Path) -> None:
    def median_length(style: str) -> float:
        contents = [len(r[8]) for r in message_table(style_export(tmp_path, style, 1)) if r[8]]
        return sorted(contents)[len(contents) // 2]

    chatty, default, longform = (median_length(s) for s in ("chatty", "default", "longform"))
    assert chatty < default / 2 and longform > 2 * default


def test_recruiter_sends_templated_inmails_in_bursts(tmp_path: Path) -> None:
    export = style_export(tmp_path, "recruiter", 11)
    me = export["Profile.csv"].split("\n")[1].split(",")[:2]
    firsts: dict[str, list[str]] = {}
    for row in message_table(export):  # newest first: the last row seen is the opening one
        firsts[row[0]] = row
    opened_by_me = [r for r in firsts.values() if r[2] == " ".join(me) and r[7]]
    assert len(opened_by_me) > len(firsts) / 2
    openings = Counter(r[8].split("<br><br>")[1] for r in opened_by_me)
    assert openings.most_common(1)[0][1] >= 5  # the same pitch to many candidates
    per_month = Counter(r[6][:7] for r in message_table(export) if r[6] >= "2025-02")
    assert max(per_month.values()) > 4 * min(per_month.values())  # busy and quiet months


def test_unknown_style_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown style"):
        generate_export(tmp_path / "x.zip", date=date(2025, 1, 15), scale=TINY, style="nope")
    with pytest.raises(SystemExit):
        exportgen.main(["--out", str(tmp_path), "--style", "nope"])
    out = generate_series(tmp_path / "s", months=1, scale=TINY, seed=3, style="chatty")
    assert (
        out[0].read_bytes()
        == generate_export(
            tmp_path / "e.zip", date=date(2025, 1, 15), scale=TINY, seed=3, style="chatty"
        ).read_bytes()
    )
