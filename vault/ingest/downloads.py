"""Finding LinkedIn exports in a downloads folder once their download has finished.

A file is a candidate when its name says it is an export (``*LinkedInDataExport*.zip``,
browser copies included), it is a zip whose members include an export's tables, or it is a
contacts file of LinkedIn's old "Export contacts" page (a CSV or vCard file whose name holds
"linkedin" and whose contents are a contacts export, see ``contactfiles``). It is ready when
no browser partner file is beside it (``.crdownload``, ``.part``, ``.download``), its size
and modification time have not changed for ``settle`` seconds (and since the last scan), and
a zip opens as a complete one (the central directory, written last, is readable).
The clock is passed in; nothing here stores anything.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lkvault.vault.export.contactfiles import HEAD_BYTES, contacts_form
from lkvault.vault.export.layout import classify, name_info

PARTNER_SUFFIXES = (".crdownload", ".part", ".download", ".partial", ".tmp")
CORE_TABLES = {"connections", "messages", "profile", "invitations"}


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


@dataclass
class Scan:
    """What one look at the folder found."""

    ready: list[Path] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)  # still downloading, or just finished
    # A browser's in-progress file of an export whose final name is not there yet (Chrome
    # writes only 'X.zip.crdownload' until the download ends).
    downloading: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def looks_like_export_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".zip") and name_info(name)[0]


def has_export_tables(path: Path) -> bool:
    """True when the zip's member names include the tables of a LinkedIn export."""
    with zipfile.ZipFile(path) as archive:
        tables, _ = classify(archive.namelist())
    return bool(CORE_TABLES & set(tables))


def is_contacts_export(path: Path) -> bool:
    """A contacts file of LinkedIn's old "Export contacts" page, by its name and contents."""
    if "linkedin" not in path.name.lower():
        return False
    with open(path, "rb") as file:
        return contacts_form(path.name, file.read(HEAD_BYTES)) is not None


def downloading_export(path: Path) -> bool:
    """A browser's in-progress file of an export (``X.zip.crdownload`` and the like) whose
    finished file is not beside it yet."""
    for suffix in PARTNER_SUFFIXES:
        if path.name.lower().endswith(suffix):
            final = path.name[: -len(suffix)]
            return looks_like_export_name(final) and not path.with_name(final).exists()
    return False


def has_partner(path: Path) -> bool:
    """A browser's in-progress file beside it (Firefox even creates the final name empty)."""
    return any(path.with_name(path.name + suffix).exists() for suffix in PARTNER_SUFFIXES)


def is_complete_zip(path: Path) -> str | None:
    """None when the zip's central directory can be read, else why not."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return str(exc) or exc.__class__.__name__
    return None


class DownloadWatcher:
    """Remembers what it saw of a folder between scans and reports the finished exports."""

    def __init__(self, folder: Path, clock: Callable[[], datetime], settle: float) -> None:
        self.folder = folder
        self.clock = clock
        self.settle = settle
        self.last: dict[Path, Seen] = {}
        self.not_exports: dict[Path, Seen] = {}  # zips checked once and found to be other zips

    def _is_candidate(self, path: Path, seen: Seen) -> bool:
        if looks_like_export_name(path.name):
            return True
        lowered = path.name.lower()
        if not lowered.endswith((".zip", ".csv", ".vcf")) or self.not_exports.get(path) == seen:
            return False
        try:
            if lowered.endswith(".zip") and has_export_tables(path):
                return True
            if not lowered.endswith(".zip") and is_contacts_export(path):
                return True
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return False  # maybe still downloading: looked at again when it changes
        self.not_exports[path] = seen
        return False

    def scan(self) -> Scan:
        result = Scan()
        now = self.clock().timestamp()
        current: dict[Path, Seen] = {}
        for path in sorted(self.folder.iterdir()):
            try:
                if not path.is_file() or path.name.startswith("."):
                    continue
                info = path.stat()
            except OSError:
                continue  # vanished between listing and looking
            seen = Seen(info.st_size, info.st_mtime_ns)
            if downloading_export(path):
                result.downloading.append(path)
                continue
            if not self._is_candidate(path, seen):
                continue
            current[path] = seen
            previous = self.last.get(path)
            settled = now - info.st_mtime_ns / 1e9 >= self.settle
            if (
                seen.size == 0
                or has_partner(path)
                or not settled
                or (previous is not None and previous != seen)
            ):
                result.waiting.append(path)
                continue
            reason = is_complete_zip(path) if path.name.lower().endswith(".zip") else None
            if reason is not None:
                result.problems.append((path, f"not a complete zip ({reason})"))
                continue
            result.ready.append(path)
        self.last = current
        return result
