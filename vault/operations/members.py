"""Whose export each snapshot is, and keeping to one member's exports at a time.

Pure. A snapshot's summary records the member whose export it is (``Owner``: from Profile.csv,
else from the messages). One vault may hold the exports of several members (an agency, a
couple, a mistake); comparing one member's export with another's means nothing, so diff,
timeline, status, person histories and browse keep to one member: the one asked for, else
the member of the newest export. The member of a snapshot stored before lkvault recorded it
is read from its stored export (``operations.attribution``) before these are asked. A
snapshot whose member is not known (a contacts file, an export with neither profile nor
messages, or one that cannot be read) belongs to every member's view: nothing says it is
someone else's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lkvault.vault.errors import VaultError
from lkvault.vault.export.model import Owner, owner_key
from lkvault.vault.export.summary import OWNER_SOURCES, summary_from_document
from lkvault.vault.repository.snapshots import Snapshot


def owner_of(snapshot: Snapshot) -> Owner | None:
    """The member whose export the snapshot is, as its summary records it."""
    summary = summary_from_document(snapshot.export)
    return summary.owner if summary is not None else None


def unattributed(snapshot: Snapshot) -> bool:
    """Whether the snapshot is an export whose summary was written before lkvault recorded
    the member (format 1, lkvault 0.3 and before): nothing is known of whose export it is,
    not even 'nobody'."""
    export = snapshot.export
    if export is None or snapshot.kind != "zip":
        return False
    written = export.get("format", 1)
    return isinstance(written, int) and written < 2 and "member" not in export


def unsummarised(snapshot: Snapshot) -> bool:
    """Whether the snapshot may be an export or contacts file stored before lkvault recorded
    summaries (lkvault 0.1): its summary is counted from the stored export when a command
    needs it (``attribution.summary_of_stored``). A file stored later that is neither
    (``--any-file``) has none either; reading it again finds none, quickly (once per
    computer: see repository.ownercache)."""
    return snapshot.export is None


def with_summary(snapshot: Snapshot, export: dict[str, Any] | None) -> Snapshot:
    """The record with ``export`` as its summary (one counted from the stored export)."""
    return Snapshot(**{**snapshot.__dict__, "export": export})


def with_owner(snapshot: Snapshot, owner: Owner | None) -> Snapshot:
    """The record with ``owner`` in its summary, as a summary of format 2 records it."""
    assert snapshot.export is not None
    member = {"name": owner.name, "from": owner.source} if owner is not None else None
    return Snapshot(**{**snapshot.__dict__, "export": {**snapshot.export, "member": member}})


def attributed(
    snapshots: Sequence[Snapshot],
    known: dict[bytes, Owner | None],
    read: Callable[[Snapshot], Owner | None],
) -> list[Snapshot]:
    """``snapshots`` with the member of each unattributed one filled in: from ``known`` (by
    snapshot id), else by ``read`` (``attribution.owner_of_stored``: from the stored export),
    which ``known`` then holds too. One whose export cannot be read stays unattributed: it
    belongs to every member's view, as before."""
    result = []
    for snapshot in snapshots:
        if unattributed(snapshot):
            if snapshot.id not in known:
                try:
                    known[snapshot.id] = read(snapshot)
                except (VaultError, OSError):  # a damaged export attributes nothing
                    result.append(snapshot)
                    continue
            snapshot = with_owner(snapshot, known[snapshot.id])
        result.append(snapshot)
    return result


def remembered_owners(remembered: dict[bytes, tuple[str, str] | None]) -> dict[bytes, Owner | None]:
    """The members a computer remembers (repository.ownercache) as ``attributed`` takes
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


def members(snapshots: Sequence[Snapshot]) -> list[Owner]:
    """Every member with an export among ``snapshots``, newest export first, each once (by
    the name as written in their newest export)."""
    found: dict[str, Owner] = {}
    for snapshot in reversed(snapshots):
        owner = owner_of(snapshot)
        if owner is not None:
            found.setdefault(owner.key, owner)
    return list(found.values())


@dataclass(frozen=True)
class MemberView:
    """The member chosen, and the snapshots of that member (and those of no known member)."""

    member: Owner | None  # None when no snapshot says whose export it is
    snapshots: list[Snapshot]  # oldest first, as given
    others: list[Owner]  # the other members the vault holds exports of

    def __contains__(self, snapshot: Snapshot) -> bool:
        return any(s.id == snapshot.id for s in self.snapshots)


def belongs(snapshot: Snapshot, member: Owner | None) -> bool:
    owner = owner_of(snapshot)
    return member is None or owner is None or owner.key == member.key


def find_member(known: Sequence[Owner], asked: str) -> Owner:
    """The member ``asked`` names: the whole name (case and spaces aside), else the only one
    whose name contains it. Raises ValueError saying which members there are."""
    wanted = owner_key(asked)
    exact = [owner for owner in known if owner.key == wanted]
    if exact:
        return exact[0]
    partial = [owner for owner in known if wanted and wanted in owner.key]
    if len(partial) == 1:
        return partial[0]
    names = ", ".join(repr(owner.name) for owner in known) or "none recorded"
    if partial:
        raise ValueError(f"--member {asked!r} matches several members ({names}): be more precise")
    raise ValueError(f"no export of a member named {asked!r} in this vault (members: {names})")


def view(
    snapshots: Sequence[Snapshot], asked: str | None = None, around: Snapshot | None = None
) -> MemberView:
    """The snapshots of the member ``asked`` for, else of the member whose export ``around``
    is, else of the member of the newest export. Raises ValueError for an unknown member."""
    known = members(snapshots)
    if asked is not None:
        member: Owner | None = find_member(known, asked)
    elif around is not None and owner_of(around) is not None:
        member = owner_of(around)
    else:
        member = known[0] if known else None
    kept = [s for s in snapshots if belongs(s, member)]
    others = [owner for owner in known if member is None or owner.key != member.key]
    return MemberView(member, kept, others)


def change_warning(
    history: Sequence[Snapshot],
    new: Owner | None,
    owner: Callable[[Snapshot], Owner | None] = owner_of,
) -> str | None:
    """A warning when the export being stored is another member's than the newest export
    before it whose member is known (by ``owner``: the recorded one unless the caller reads
    the stored exports too); None when it is the same member, or nothing is known."""
    if new is None:
        return None
    for snapshot in reversed(history):
        before = owner(snapshot)
        if before is None:
            continue
        if before.key == new.key:
            return None
        return (
            f"this is {new.name}'s export, but the one before it (snapshot {snapshot.short_id}) "
            f"is {before.name}'s: diff, timeline, status and browse keep to one member at a "
            f"time (choose with --member)"
        )
    return None
