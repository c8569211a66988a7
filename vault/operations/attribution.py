"""What a snapshot's record does not say of its export, read from the stored export.

Snapshots stored before lkvault recorded summaries (lkvault 0.1) are counted as a new export
is (``summary_of_stored``: the same counting of the same members, read from the vault), so
old vaults list, compare and report counts too; their date comes from the export's name only
(the stored zip's member times are not read). Snapshots stored before lkvault recorded the
member (lkvault 0.3 and before: a summary of format 1) are attributed as new ones are
(``owner.owner_of``): from Profile.csv, else the one name in every message, else in every
invitation. Only the members holding the tables counted are read, as streams (the messages
of a large export are never held), and only for the snapshots that need it
(``members.attributed`` and ``members.unsummarised`` ask). The caller holds a lock on the
vault.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from lkvault.vault.export.counting import count_export
from lkvault.vault.export.layout import classify
from lkvault.vault.export.model import Owner
from lkvault.vault.export.summary import summarize, summary_document, summary_from_document
from lkvault.vault.format.tree import Tree
from lkvault.vault.operations.export_sources import export_of_snapshot
from lkvault.vault.operations.extractor import member_content
from lkvault.vault.operations.members import attributed
from lkvault.vault.operations.restorer import load_tree
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot

# Where a member comes from when the profile does not name one, in the order looked at.
OWNER_TABLES = (("profile",), ("messages", "invitations"))


class _Blocks(io.RawIOBase):
    """A binary stream over an iterator of blocks (a stored member, read as it is needed)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = block
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def owner_of_stored(repo: Repository, snapshot: Snapshot) -> Owner | None:
    """The member whose export ``snapshot`` is, read from its stored members (see module)."""
    tree = load_tree(repo, snapshot.tree)
    if tree.kind != "zip":
        return None
    members = {member.name: member for member in tree.members if not member.is_dir}
    found, _others = classify(members)
    for tables in OWNER_TABLES:
        names = [part.name for table in tables for part in found.get(table, [])]
        if not names:
            continue
        streams = {name: _opener(repo, tree, members[name]) for name in names}
        summary, _warnings = count_export(streams, snapshot.source)
        if summary is not None and (summary.owner is not None or tables == ("profile",)):
            return summary.owner  # a profile that names nobody says nobody (owner_of)
    return None


def summary_of_stored(repo: Repository, snapshot: Snapshot) -> dict[str, Any] | None:
    """The summary document of the export a stored snapshot holds (None when it is neither
    a LinkedIn export nor a contacts file), counted from its stored members as
    ``export_sources.export_of_file`` counts a zip being stored (only the members holding
    counted tables are read, as streams); a contacts file is read as ``contacts_of_file``
    reads one, undated (the day it was last modified is not stored)."""
    tree = load_tree(repo, snapshot.tree)
    if tree.kind != "zip":
        export = export_of_snapshot(repo, snapshot)
        return summary_document(summarize(export)) if export.kind == "contacts" else None
    members = {member.name: member for member in tree.members if not member.is_dir}
    streams = {name: _opener(repo, tree, member) for name, member in members.items()}
    summary, _warnings = count_export(streams, snapshot.source)
    return summary_document(summary) if summary is not None else None


def _opener(repo: Repository, tree: Tree, member: Any) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        return io.BufferedReader(_Blocks(member_content(repo, tree, member)))

    return open_member


def owner_reader(repo: Repository) -> Callable[[Snapshot], Owner | None]:
    """A function giving whose export a snapshot is, as recorded or else as read from the
    stored export (each snapshot read once): for a lookup of a few snapshots, newest first."""
    known: dict[bytes, Owner | None] = {}

    def owner(snapshot: Snapshot) -> Owner | None:
        (found,) = attributed([snapshot], known, lambda s: owner_of_stored(repo, s))
        summary = summary_from_document(found.export)
        return summary.owner if summary is not None else None

    return owner
