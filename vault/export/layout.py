"""Which member of an export holds what, and what an export's file name says about it.

Pure. Members are recognised by base name at any depth, case-insensitively, ignoring spaces
and underscores (``Recommendations Received.csv`` = ``Recommendations_Received.csv``), with a
split-file number or a member-id suffix (``Connections_1.csv``, ``Comments_1158443584.csv``)
put aside so the parts of one table are read in order. Two members that are the same part
of one table under two names (a 2022 Complete export holds ``Endorsement_Received_Info.csv``
and its legacy UTF-16 copy ``Endorsement Received Info.csv``) are two versions of it, not
two parts: only LinkedIn's current name is read (``classify_versions``). See
docs/linkedin-export-format.md for the eras this covers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

from lkvault.vault.export.contactfiles import contacts_form
from lkvault.vault.export.model import ExportKind, SetAside

# Normalised base name (see ``file_key``) -> the table it holds.
TABLES = {
    "connections": "connections",
    "messages": "messages",
    "invitations": "invitations",
    "profile": "profile",
    "positions": "positions",
    "recommendationsreceived": "recommendations_received",
    "recommendationsgiven": "recommendations_given",
    "endorsementreceivedinfo": "endorsements_received",
    "endorsementsreceivedinfo": "endorsements_received",
    "endorsementgiveninfo": "endorsements_given",
    "endorsementsgiveninfo": "endorsements_given",
    "comments": "comments",
}

_SUFFIX = re.compile(r"^(.*?)(?:[ _-](\d+))?\Z", re.DOTALL)  # any name, newlines too
_EXPORT_NAME = re.compile(
    r"(?:(?P<kind>basic|complete)[ _-]*)?linked[ _-]?in[ _-]*data[ _-]*export"
    r"(?:[ _-]*(?P<m>\d{1,2})-(?P<d>\d{1,2})-(?P<y>\d{4}))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MemberFile:
    """One member that holds (a part of) a known table."""

    name: str  # as in the archive
    table: str  # a value of TABLES
    part: int  # split-file number or member-id suffix; 0 when there is none


def file_key(name: str) -> tuple[str, int]:
    """(normalised base name, numeric suffix) of a member: 'Jobs/Job Applications_2.csv' ->
    ('jobapplications', 2). The suffix is 0 when there is none."""
    stem = PurePosixPath(name.replace("\\", "/")).name
    stem = re.sub(r"\.(csv|tsv|txt)$", "", stem, flags=re.IGNORECASE)
    match = _SUFFIX.match(stem)
    assert match is not None  # the pattern matches every string
    base, number = match.group(1), match.group(2)
    if not re.sub(r"[^0-9a-z]", "", base.casefold()):  # a name that is only a number
        base, number = stem, None
    return re.sub(r"[^0-9a-z]", "", base.casefold()), int(number) if number else 0


def is_table_file(name: str) -> bool:
    lowered = name.lower()
    base = PurePosixPath(lowered.replace("\\", "/")).name
    return (
        lowered.endswith((".csv", ".tsv"))
        and not base.startswith("._")
        and "__macosx/" not in lowered
    )


def _current_first(member: MemberFile) -> tuple[bool, bool, str]:
    """Which of two versions of one table part is read: LinkedIn's current names have no
    space (``Endorsement_Received_Info.csv``; the legacy UTF-16 copy of 2022 Complete exports
    is ``Endorsement Received Info.csv``), and a member at the top over one in a folder."""
    base = PurePosixPath(member.name.replace("\\", "/")).name
    return (" " in base, "/" in member.name.replace("\\", "/"), member.name)


def classify_versions(
    names: Iterable[str],
) -> tuple[dict[str, list[MemberFile]], list[str], list[SetAside]]:
    """Known tables (each with its parts in reading order), the other member names, and the
    members set aside as another version of a table part that is read (see ``SetAside``);
    those are among the other names too."""
    tables: dict[str, list[MemberFile]] = {}
    others: list[str] = []
    for name in names:
        if name.endswith("/"):
            continue  # a directory entry
        key, part = file_key(name)
        table = TABLES.get(key) if is_table_file(name) else None
        if table is None:
            others.append(name)
            continue
        tables.setdefault(table, []).append(MemberFile(name, table, part))
    set_aside: list[SetAside] = []
    for table, parts in tables.items():
        by_part: dict[int, list[MemberFile]] = {}
        for member in parts:
            by_part.setdefault(member.part, []).append(member)
        chosen = []
        for number in sorted(by_part):
            kept, *rest = sorted(by_part[number], key=_current_first)
            chosen.append(kept)
            set_aside += [SetAside(member.name, kept.name, table) for member in rest]
        tables[table] = chosen
    others += [member.name for member in set_aside]
    return tables, others, set_aside


def classify(names: Iterable[str]) -> tuple[dict[str, list[MemberFile]], list[str]]:
    """Known tables (each with its parts in reading order) and the other member names (those
    set aside as another version of a table included, see ``classify_versions``)."""
    tables, others, _set_aside = classify_versions(names)
    return tables, others


def name_info(name: str | None) -> tuple[bool, ExportKind | None, date | None]:
    """(looks like an export, kind, export date) from a zip or folder name.

    Accepts LinkedIn's names and what browsers make of them: 'Basic_LinkedInDataExport_
    01-15-2026.zip', 'Complete_LinkedInDataExport_11-04-2018 (1).zip', '....zip.zip', and the
    2015 'LinkedInDataExport_07-28-2015'. The date is in US order, MM-DD-YYYY.
    """
    if not name:
        return False, None, None
    match = _EXPORT_NAME.search(PurePosixPath(name.replace("\\", "/")).name or name)
    if match is None:
        return False, None, None
    kind_text = (match.group("kind") or "").lower()
    kind: ExportKind | None = "basic" if kind_text == "basic" else None
    if kind_text == "complete":
        kind = "complete"
    when = None
    if match.group("y"):
        try:
            when = date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
        except ValueError:
            when = None
    return True, kind, when


def top_folder(names: Iterable[str]) -> str | None:
    """The one folder every member sits in, if there is one (e.g. 'LinkedInDataExport_...')."""
    paths = [name.replace("\\", "/") for name in names]
    folders = {path.split("/", 1)[0] for path in paths if "/" in path}
    loose = [path for path in paths if "/" not in path]
    if len(folders) == 1 and not loose:
        return folders.pop()
    return None


def export_identity(
    archive_name: str | None, names: Iterable[str]
) -> tuple[bool, ExportKind | None, date | None]:
    """(looks like an export, kind, date) from the archive's name, completed by the name of
    the one folder its members sit in, if any."""
    recognised, kind, when = name_info(archive_name)
    folder = top_folder(names)
    if folder is not None:
        in_folder, folder_kind, folder_date = name_info(folder)
        recognised = recognised or in_folder
        kind = kind or folder_kind
        when = when or folder_date
    return recognised, kind, when


# LinkedIn opened on 5 May 2003: a member time before it is a zip tool's placeholder (DOS time
# starts in 1980), not the day an export was made.
FIRST_EXPORT_DAY = date(2003, 5, 5)


def date_of_members(times: Iterable[tuple[int, int, int, int, int, int]]) -> date | None:
    """The day an export was made, from its members' modification times (a zip's
    ``date_time`` tuples): the newest of them, when one is plausible. For a zip renamed
    without its date; the name says it better, so it comes first."""
    days = []
    for year, month, day, *_ in times:
        try:
            days.append(date(year, month, day))
        except ValueError:
            continue
    newest = max(days, default=None)
    return newest if newest is not None and newest >= FIRST_EXPORT_DAY else None


def is_contacts_export(file_name: str, head: bytes) -> bool:
    """Whether a single (non-zip) file is one of LinkedIn's early contacts exports (the
    Outlook-style CSV or a vCard file), as ``contactfiles`` reads them. ``head`` is the file's
    first bytes."""
    return contacts_form(file_name, head) is not None


def describe_file(head: bytes) -> str:
    """What a file that is not a zip looks like, for a refusal message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "an empty file"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:1024]:
        return "an HTML page (a download that failed or a saved web page?)"
    if text.startswith(b"%pdf"):
        return "a PDF document"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of ``head``
            return "binary data"
    return "a text file"


def export_refusal(file_name: str, member_names: list[str] | None, head: bytes) -> str | None:
    """Why a file given to 'lkvault snapshot' is not a LinkedIn export, or None when it is one.

    The one check of what 'snapshot' accepts without --any-file: a zip that holds at least one
    file and is named like an export or holds one of an export's tables, or one of the early
    single-file contacts exports. ``member_names`` is None when the file is not a zip.
    """
    if member_names is None:
        if is_contacts_export(file_name, head):
            return None
        return f"it is {describe_file(head)}, not a zip"
    files = [name for name in member_names if not name.endswith("/")]
    if not files:
        return "it is an empty zip"
    recognised, _, _ = export_identity(file_name, files)
    tables, _ = classify(files)
    if recognised or tables:
        return None
    return "it is a zip that holds none of an export's files (e.g. Connections.csv)"
