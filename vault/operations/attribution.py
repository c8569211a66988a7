"""Whose export a snapshot is when its record does not say: read from the stored export.

Snapshots stored before lkvault recorded the member (vault format 3 and before, lkvault 0.3
and before: a summary of format 1) are attributed as new ones are (``owner.owner_of``): from
Profile.csv, else the one name in every message, else in every invitation. Only the members
holding those tables are read, as streams (the messages of a large export are never held),
and only for the snapshots that need it; ``attributed`` gives the records with the member
filled in, as if the summary had recorded it, so every command treats old and new snapshots
alike. The caller holds a lock on the vault.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from lkvault.vault.errors import VaultError
from lkvault.vault.export.counting import count_export
from lkvault.vault.export.layout import classify
from lkvault.vault.export.model import Owner
from lkvault.vault.export.summary import OWNER_SOURCES, summary_from_document
from lkvault.vault.format.tree import Tree
from lkvault.vault.operations.extractor import member_content
from lkvault.vault.operations.restorer import load_tree
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot

# Where a member comes from when the profile does not name one, in the order looked at.
OWNER_TABLES = (("profile",), ("messages", "invitations"))


def unattributed(snapshot: Snapshot) -> bool:
    """Whether the snapshot is an export whose summary was written before lkvault recorded
    the member (format 1): then nothing is known of whose export it is, not even 'nobody'."""
    export = snapshot.export
    if export is None or snapshot.kind != "zip":
        return False
    written = export.get("format", 1)
    return isinstance(written, int) and written < 2 and "member" not in export


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


def _opener(repo: Repository, tree: Tree, member: Any) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        return io.BufferedReader(_Blocks(member_content(repo, tree, member)))

    return open_member


def with_owner(snapshot: Snapshot, owner: Owner | None) -> Snapshot:
    """The record with ``owner`` in its summary, as a summary of format 2 records it."""
    assert snapshot.export is not None
    member = {"name": owner.name, "from": owner.source} if owner is not None else None
    export = {**snapshot.export, "member": member}
    return Snapshot(**{**snapshot.__dict__, "export": export})


def attributed(
    repo: Repository, snapshots: Sequence[Snapshot], known: dict[bytes, Owner | None]
) -> list[Snapshot]:
    """``snapshots`` with the member of each unattributed one filled in from its stored
    export; ``known`` holds members already derived (by snapshot id), and gains the new ones.
    A snapshot whose export cannot be read stays unattributed (it belongs to every member's
    view, as before)."""
    result = []
    for snapshot in snapshots:
        if unattributed(snapshot):
            if snapshot.id not in known:
                try:
                    known[snapshot.id] = owner_of_stored(repo, snapshot)
                except (VaultError, OSError):  # a damaged export attributes nothing
                    result.append(snapshot)
                    continue
            snapshot = with_owner(snapshot, known[snapshot.id])
        result.append(snapshot)
    return result


def owner_reader(repo: Repository) -> Callable[[Snapshot], Owner | None]:
    """A function giving whose export a snapshot is, as recorded or else as read from the
    stored export (each snapshot read once): for a lookup of a few snapshots, newest first."""
    known: dict[bytes, Owner | None] = {}

    def owner(snapshot: Snapshot) -> Owner | None:
        summary = summary_from_document(attributed(repo, [snapshot], known)[0].export)
        return summary.owner if summary is not None else None

    return owner


def remembered_owners(remembered: dict[bytes, tuple[str, str] | None]) -> dict[bytes, Owner | None]:
    """The members a computer remembers (repository.ownercache), as ``attributed`` takes
    them; an entry naming no known source is left out (read again)."""
    owners: dict[bytes, Owner | None] = {}
    for snapshot_id, entry in remembered.items():
        if entry is None:
            owners[snapshot_id] = None
            continue
        for source in OWNER_SOURCES:
            if entry[1] == source:
                owners[snapshot_id] = Owner(entry[0], source)
    return owners
