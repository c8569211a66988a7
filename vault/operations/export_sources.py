"""Where an export's members are read from: a zip file being stored, or a stored snapshot.

The bridge between storage and vault.export (whose parsers stay pure): it builds the lazy
member readers that ``load_export`` takes. Members larger than ``MAX_TABLE_BYTES`` are not
read (parsing them would need memory in proportion); they become a warning like any
unreadable file.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lkvault.vault.export.contactfiles import (
    HEAD_BYTES,
    MAX_CONTACTS_BYTES,
    contacts_form,
    load_contacts,
)
from lkvault.vault.export.counting import count_export
from lkvault.vault.export.layout import classify, date_of_members
from lkvault.vault.export.load import MemberReaders, load_export
from lkvault.vault.export.model import Export, ExportSummary
from lkvault.vault.export.summary import summarize, summary_document
from lkvault.vault.format.tree import MemberEntry, Tree
from lkvault.vault.operations.extractor import member_content
from lkvault.vault.operations.restorer import load_tree, render
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot

MAX_TABLE_BYTES = 1024 * 1024 * 1024


class TooLarge(ValueError):
    """A member too large to be parsed in memory."""


def file_entries(infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """The entries of a zip that are files, not folders. ``ZipInfo.is_dir`` raises on an entry
    whose name is empty, which a damaged or hostile zip can hold."""
    return [info for info in infos if not info.filename.endswith("/")]


def _too_large(size: int) -> TooLarge:
    return TooLarge(f"{size} bytes, more than lkvault parses ({MAX_TABLE_BYTES} bytes)")


def zip_file_members(archive: zipfile.ZipFile) -> MemberReaders:
    """Lazy readers of an open zip file's members (Python's zipfile checks each CRC-32)."""

    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        def read() -> bytes:
            if info.file_size > MAX_TABLE_BYTES:
                raise _too_large(info.file_size)
            return archive.read(info)

        return read

    return {info.filename: reader(info) for info in file_entries(archive.infolist())}


def stored_members(repo: Repository, tree: Tree) -> MemberReaders:
    """Lazy readers of a stored zip snapshot's members (checked against CRC-32 and size)."""

    def reader(member: MemberEntry) -> Callable[[], bytes]:
        def read() -> bytes:
            if member.size > MAX_TABLE_BYTES:
                raise _too_large(member.size)
            return b"".join(member_content(repo, tree, member))

        return read

    return {m.name: reader(m) for m in tree.members if not m.is_dir}


def export_of_file(path: Path, archive_name: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The summary document of the export in the zip at ``path`` (None when it is not a
    LinkedIn export) and the warnings met on the way. Never raises for bad input. Its date
    is the one the name gives, else the newest time on the zip's members.

    Rows are counted as they stream by (``counting``), so memory does not grow with the
    export: a summary is taken at every snapshot, of exports of any size."""
    try:
        with zipfile.ZipFile(path) as archive:
            streams = {
                info.filename: (lambda info=info: archive.open(info))
                for info in file_entries(archive.infolist())
            }
            summary, warnings = count_export(streams, archive_name)
            return export_document(summary, warnings, archive.infolist())
    except Exception as exc:  # noqa: BLE001 - a summary must never fail a snapshot
        return unsummarised(exc)


def unsummarised(error: Exception) -> tuple[None, list[str]]:
    """What a summary that failed as a whole (an unreadable zip) says."""
    return None, [f"the export's contents could not be summarised ({error})"]


def export_document(
    summary: ExportSummary | None, warnings: list[str], infos: list[zipfile.ZipInfo]
) -> tuple[dict[str, Any] | None, list[str]]:
    """The summary document of a counted zip, dated by its newest member when its name
    gives no date."""
    if summary is None:
        return None, warnings
    if summary.date is None:
        made = date_of_members(info.date_time for info in infos)
        if made is not None:
            summary = dataclasses.replace(summary, date=made, date_from="contents")
    return summary_document(summary), warnings


def contacts_of_file(path: Path, name: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The summary document of a contacts file of the old "Export contacts" page (the 2012
    Outlook CSV or a vCard file; see ``contactfiles``), dated by the file's modification
    day, None for any other file, and the warnings met. Never raises for bad input."""
    try:
        with open(path, "rb") as file:
            if contacts_form(name, file.read(HEAD_BYTES)) is None:
                return None, []
            file.seek(0)
            export = load_contacts(name, file.read(MAX_CONTACTS_BYTES + 1))
            modified = os.fstat(file.fileno()).st_mtime
    except OSError as exc:
        return None, [f"the file's contents could not be summarised ({exc})"]
    # The file says nothing of its day: the day it was last written stands for it (a file
    # downloaded in 2012 and kept since says 2012; a copy made today, today).
    export.date = datetime.fromtimestamp(modified, timezone.utc).date()
    summary = dataclasses.replace(summarize(export), date_from="modified")
    return summary_document(summary), export.warnings


def export_of_snapshot(repo: Repository, snapshot: Snapshot) -> Export:
    """Everything parsed from a stored snapshot: an export's tables, or the connections of
    a stored contacts file; an empty, unrecognised Export for any other file. The caller
    holds a lock on the vault."""
    tree = load_tree(repo, snapshot.tree)
    if tree.kind == "zip":
        return load_export(stored_members(repo, tree), snapshot.source)
    if snapshot.size > MAX_CONTACTS_BYTES:
        return Export()
    blocks = render(repo, tree, workers=1)
    head = next(blocks, b"")
    if contacts_form(snapshot.source, head) is None:
        return Export()
    return load_contacts(snapshot.source, head + b"".join(blocks))


def tables_of_snapshot(
    repo: Repository,
    snapshot: Snapshot,
    tables: Collection[str],
    parsing: Callable[[], AbstractContextManager[None]],
) -> Export:
    """Only the named tables of a stored export (see export.layout.TABLES), e.g. its
    connections without its messages: what ``export_of_snapshot`` gives, read in part, the
    parsing inside ``parsing()``. The caller holds a lock on the vault."""
    tree = load_tree(repo, snapshot.tree)
    if tree.kind != "zip":  # a contacts file holds only connections
        if "connections" not in tables:
            return Export()
        return export_of_snapshot(repo, snapshot)
    chosen = _table_members(repo, tree, tables)
    with parsing():
        return load_export(chosen, snapshot.source)


def table_members_read_now(
    repo: Repository, snapshot: Snapshot, tables: Collection[str]
) -> MemberReaders:
    """The members holding the named tables of a stored export, read now (the caller holds
    a lock on the vault), as readers for ``load_export`` to call once the lock is released.
    A member that could not be read raises when its reader is called."""
    tree = load_tree(repo, snapshot.tree)
    if tree.kind != "zip":
        return {}
    return {name: _read_now(read) for name, read in _table_members(repo, tree, tables).items()}


def _table_members(repo: Repository, tree: Tree, tables: Collection[str]) -> MemberReaders:
    members = stored_members(repo, tree)
    found, _others = classify(members)
    wanted = {part.name for table in tables for part in found.get(table, [])}
    return {name: read for name, read in members.items() if name in wanted}


def _read_now(read: Callable[[], bytes]) -> Callable[[], bytes]:
    """A reader giving what ``read`` gave (or raised) when this was called."""
    try:
        data = read()
    except Exception as exc:  # noqa: BLE001 - raised again when the data is asked for
        failure = exc

        def fail() -> bytes:
            raise failure

        return fail
    return lambda: data
