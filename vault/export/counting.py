"""An export's summary counted row by row from streams, never holding a table in memory.

``load_export`` builds every record, which a browse page needs but a snapshot does not: for
the summary recorded at snapshot time, holding a year of messages as records cost 500 MB for
a 10 MB export, and would not fit at all for a large one. This reads each known table as a
stream with ``tables.stream_table`` and ``tables.filled_rows`` (the header search, dialects
and row rules of ``tables.read_table`` itself) and keeps only counts and the hashes of the
conversation ids. ``summarize(load_export(...))`` gives the same summary; the tests hold the
two to that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import IO

from lkvault.vault.export import records
from lkvault.vault.export.cellscan import ScannedRows, scan_table
from lkvault.vault.export.distinct import DistinctHashes
from lkvault.vault.export.layout import MemberFile, classify_versions, export_identity
from lkvault.vault.export.load import LABELS
from lkvault.vault.export.model import ExportKind, ExportSummary, Owner, SetAside, is_hidden
from lkvault.vault.export.owner import MessageOwner, profile_owner
from lkvault.vault.export.summary import COUNTS, HIDDEN
from lkvault.vault.export.tables import (
    Opener,
    TableError,
    TableRows,
    filled_rows,
    stream_table,
)

MemberStreams = Mapping[str, Callable[[], IO[bytes]]]

# Tables whose rows are only counted (each summary count is the number of rows of its table).
COUNTED = {
    "recommendations_received": "recommendations_received",
    "recommendations_given": "recommendations_given",
    "endorsements_received": "endorsements_received",
    "positions": "positions",
}


def _cell(columns: list[str], *names: str) -> Callable[[list[str]], str]:
    """A getter of the first column named ``names[0]`` (else the next name), as a row dict
    of ``tables`` would give it: the first column of a repeated name wins."""
    for name in names:
        if name in columns:
            at = columns.index(name)
            return lambda cells: cells[at] if at < len(cells) else ""
    return lambda cells: ""


# The cells of messages.csv a summary reads: conversation id, sender, recipients, their URLs.
MESSAGE_CELLS = ("conversationid", "from", "to", "recipientprofileurls")

# Counting distinct conversations exactly takes memory for each (~22 bytes a hash): past this
# many, a summary says "at least" rather than let a hostile or absurd export (a 1.5 GB
# messages.csv of one-message conversations held 7.5 million) take gigabytes.
MAX_COUNTED_CONVERSATIONS = 500_000


def _synthetic_id(sender: str, recipients: str, urls: str) -> str:
    """The id ``records.message`` gives a message without one, from its stripped cells."""
    names = records.split_names(recipients, len(records.split_list(urls)))
    return records.synthetic_conversation_id((sender, *names))


def _conversations(
    source: TableRows, find_owner: bool = True
) -> tuple[int, DistinctHashes, MessageOwner]:
    """The number of messages, the hashes of their conversation ids (as ``records.messages``
    gives them): only their number is wanted, and 400,000 id strings took 60 MB; and the
    one person in every message (the owner, see ``owner``; only when ``find_owner``: it is
    looked for only in an export without Profile.csv)."""
    conversation, sender, recipients, urls = (_cell(source.columns, n) for n in MESSAGE_CELLS)
    ids = DistinctHashes()  # up to 22 bytes a conversation; a set of ints took 70
    owner = MessageOwner()
    count = 0
    previous = None
    for cells in filled_rows(source.records):
        count += 1
        found = conversation(cells) or _synthetic_id(sender(cells), recipients(cells), urls(cells))
        # A conversation's messages come one after another: each is hashed once a run.
        if found != previous and len(ids) < MAX_COUNTED_CONVERSATIONS:
            ids.add(hash(found))
        previous = found
        if find_owner:
            owner.add_cells(sender(cells), recipients(cells), urls(cells))
    return count, ids, owner


def _scanned_conversations(
    source: ScannedRows, find_owner: bool
) -> tuple[int, DistinctHashes, MessageOwner]:
    """``_conversations`` of the runs of equal cells the C scanner reads (``cellscan``)."""
    ids = DistinctHashes()
    owner = MessageOwner()
    previous = None
    for length, *cells in source.runs():
        conversation, sender, recipients, urls = map(str.strip, cells)
        found = conversation or _synthetic_id(sender, recipients, urls)
        if found != previous and len(ids) < MAX_COUNTED_CONVERSATIONS:
            ids.add(hash(found))
        previous = found
        if find_owner:
            # Past its first row, a row only narrows the candidates: an equal row again
            # narrows them no further, so a run is taken in at most twice.
            for _ in range(min(length, 2)):
                owner.add_cells(sender, recipients, urls)
    return source.records, ids, owner


def _messages(
    opener: Opener, find_owner: bool
) -> tuple[list[str], tuple[int, DistinctHashes, MessageOwner]]:
    """The columns of messages.csv and ``_conversations`` of it, by the C scanner where it
    reads the file exactly (``cellscan``), else by ``tables``."""
    wanted = records.WANTED["messages"]
    scanned = scan_table(
        opener,
        wanted,
        MESSAGE_CELLS,
        partial(_scanned_conversations, find_owner=find_owner),
        owner=find_owner,
    )
    if isinstance(scanned, tuple):
        return scanned
    source, counted = stream_table(scanned, wanted, partial(_conversations, find_owner=find_owner))
    return source.columns, counted


def _invitations(source: TableRows) -> tuple[int, MessageOwner]:
    """The number of invitations, and the one person in every invitation (see ``owner``)."""
    sender, recipient = _cell(source.columns, "from"), _cell(source.columns, "to")
    owner = MessageOwner("invitations")
    count = 0
    for cells in filled_rows(source.records):
        count += 1
        owner.add(sender(cells), (recipient(cells),))
    return count, owner


def _first_row(source: TableRows) -> list[str] | None:
    rows = filled_rows(source.records)
    first = next(rows, None)
    for _ in rows:
        pass  # read to the end, so a damaged file is noticed
    return first


def _connections(source: TableRows) -> tuple[int, int]:
    """The number of connections, and how many of them are hidden members' rows."""
    first, last = _cell(source.columns, "firstname"), _cell(source.columns, "lastname")
    url = _cell(source.columns, "url", "profileurl")
    count = hidden = 0
    for cells in filled_rows(source.records):
        count += 1
        hidden += is_hidden(first(cells), last(cells), url(cells))
    return count, hidden


def _count(source: TableRows) -> int:
    return sum(1 for _ in filled_rows(source.records))


def _header_only(source: TableRows) -> None:
    """Nothing: the header shows the file is an export's; its rows are not summarised."""


@dataclass
class MemberCount:
    """What one member adds to the summary, once it was read to its end without fault."""

    columns: list[str] = field(default_factory=list)  # none: blank, or not read (warning)
    number: int = 0  # rows counted (messages, invitations, connections, counted tables)
    hidden: int = 0  # connections that are hidden members' rows
    conversation_ids: DistinctHashes = field(default_factory=DistinctHashes)
    owner: MessageOwner | None = None  # the one person in every message or invitation
    first: list[str] | None = None  # a profile's first row
    warning: str | None = None  # why nothing was read from it


@dataclass(frozen=True)
class CountPlan:
    """Which members an export's summary reads, as which table, and what its name says."""

    tables: dict[str, list[MemberFile]]
    set_aside: tuple[SetAside, ...]
    recognised: bool  # by the archive's or the members' names alone
    kind: ExportKind | None
    when: date | None
    has_profile: bool  # then the member is named there (owner.owner_of)

    @classmethod
    def of(cls, names: list[str], archive_name: str | None) -> CountPlan:
        tables, _, set_aside = classify_versions(names)
        recognised, kind, when = export_identity(archive_name, names)
        return cls(tables, tuple(set_aside), recognised, kind, when, "profile" in tables)

    def jobs(self) -> dict[str, str]:
        """The table each member read is counted as, by member name, in reading order."""
        return {part.name: table for table, parts in self.tables.items() for part in parts}


def count_member(plan: CountPlan, table: str, name: str, opener: Opener) -> MemberCount:
    """What the member ``name`` adds as a part of ``table``; never raises for bad content
    (a table that cannot be read becomes the count's warning)."""
    wanted = records.WANTED[table]
    try:
        if table == "messages":
            columns, (number, ids, owner) = _messages(opener, not plan.has_profile)
            return MemberCount(columns, number, conversation_ids=ids, owner=owner)
        if table == "profile":
            source, first = stream_table(opener, wanted, _first_row)
            return MemberCount(source.columns, first=first)
        if table == "invitations":
            source, (number, owner) = stream_table(opener, wanted, _invitations)
            return MemberCount(source.columns, number, owner=owner)
        if table == "connections":
            source, (number, hidden) = stream_table(opener, wanted, _connections)
            return MemberCount(source.columns, number, hidden=hidden)
        if table in COUNTED:
            source, number = stream_table(opener, wanted, _count)
            return MemberCount(source.columns, number)
        source, _ = stream_table(opener, wanted, _header_only)
        return MemberCount(source.columns)
    except TableError as exc:
        return MemberCount(warning=f"{name}: {exc}; {LABELS[table]} not read from it")
    except Exception as exc:  # noqa: BLE001 - a reader may fail in any way; never fatal
        reason = str(exc) or exc.__class__.__name__
        return MemberCount(warning=f"{name} could not be read ({reason}); {LABELS[table]} not read")


def combine(
    plan: CountPlan, counted: Mapping[str, MemberCount]
) -> tuple[ExportSummary | None, list[str]]:
    """The export's summary (None when it is not a LinkedIn export) and the warnings met,
    from what each member of ``plan.jobs()`` added (by name), taken in reading order."""
    recognised = plan.recognised
    counts = dict.fromkeys((*COUNTS, HIDDEN), 0)
    conversation_ids = DistinctHashes()
    headline: str | None = None
    profile_read = False
    owner: Owner | None = None
    by_messages = MessageOwner()
    by_invitations = MessageOwner("invitations")
    warnings: list[str] = [entry.reason for entry in plan.set_aside]
    for name, table in plan.jobs().items():
        part = counted[name]
        if part.warning is not None:
            warnings.append(part.warning)
            continue
        if table == "messages":
            assert part.owner is not None
            by_messages.merge(part.owner)
            counts["messages"] += part.number
            if len(conversation_ids):
                conversation_ids.update(part.conversation_ids)
            else:  # taken as it is: merged into an empty one, each hash is held twice
                conversation_ids = part.conversation_ids
        elif table == "profile":
            if not profile_read and part.first is not None:
                headline = _cell(part.columns, "headline")(part.first) or None
                owner = profile_owner(
                    {
                        "First Name": _cell(part.columns, "firstname")(part.first),
                        "Last Name": _cell(part.columns, "lastname")(part.first),
                    }
                )
                profile_read = True
        elif table == "invitations":
            assert part.owner is not None
            by_invitations.merge(part.owner)
            counts["invitations"] += part.number
        elif table == "connections":
            counts["connections"] += part.number
            counts[HIDDEN] += part.hidden
        elif table in COUNTED:
            counts[COUNTED[table]] += part.number
        # An empty file (no columns) does not show an export: LinkedIn writes those for
        # categories with no data.
        recognised = recognised or bool(part.columns)
    counts["conversations"] = len(conversation_ids)
    if len(conversation_ids) >= MAX_COUNTED_CONVERSATIONS:
        warnings.append(
            f"more than {MAX_COUNTED_CONVERSATIONS:,} conversations: the summary counts "
            f"{len(conversation_ids):,} of them (the messages are all stored)"
        )
    if not recognised:
        return None, warnings
    if not plan.has_profile:
        owner = by_messages.owner or by_invitations.owner
    return ExportSummary(plan.kind, plan.when, headline, counts, owner, plan.set_aside), warnings


def count_export(
    members: MemberStreams, archive_name: str | None
) -> tuple[ExportSummary | None, list[str]]:
    """The export's summary (None when it is not a LinkedIn export) and the warnings met.

    ``members`` maps each member name to a function opening it as a binary stream; a member
    may be opened more than once (``tables.stream_table``). What a member adds is added
    only once it has been read to the end without fault, as ``load_export`` keeps a part.
    """
    plan = CountPlan.of(list(members), archive_name)
    counted = {
        name: count_member(plan, table, name, members[name]) for name, table in plan.jobs().items()
    }
    return combine(plan, counted)
