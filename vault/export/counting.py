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
from functools import partial
from typing import IO

from lkvault.vault.export import records
from lkvault.vault.export.layout import classify_versions, export_identity
from lkvault.vault.export.load import LABELS
from lkvault.vault.export.model import ExportSummary, Owner, is_hidden
from lkvault.vault.export.owner import MessageOwner, profile_owner
from lkvault.vault.export.summary import COUNTS, HIDDEN
from lkvault.vault.export.tables import TableError, TableRows, filled_rows, stream_table

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


# Counting distinct conversations exactly takes memory for each (~60 bytes a hash): past this
# many, a summary says "at least" rather than let a hostile or absurd export (a 1.5 GB
# messages.csv of one-message conversations held 7.5 million) take gigabytes.
MAX_COUNTED_CONVERSATIONS = 500_000


def _conversations(
    source: TableRows, find_owner: bool = True
) -> tuple[int, set[int], MessageOwner]:
    """The number of messages, the hashes of their conversation ids (as ``records.messages``
    gives them): only their number is wanted, and 400,000 id strings took 60 MB; and the
    one person in every message (the owner, see ``owner``; only when ``find_owner``: it is
    looked for only in an export without Profile.csv)."""
    conversation = _cell(source.columns, "conversationid")
    sender = _cell(source.columns, "from")
    recipients = _cell(source.columns, "to")
    urls = _cell(source.columns, "recipientprofileurls")
    ids: set[int] = set()
    owner = MessageOwner()
    count = 0
    for cells in filled_rows(source.records):
        count += 1
        found = conversation(cells)
        if not found:
            names = records.split_names(recipients(cells), len(records.split_list(urls(cells))))
            found = records.synthetic_conversation_id((sender(cells), *names))
        if len(ids) < MAX_COUNTED_CONVERSATIONS:
            ids.add(hash(found))
        if find_owner:
            owner.add_cells(sender(cells), recipients(cells), urls(cells))
    return count, ids, owner


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


def count_export(
    members: MemberStreams, archive_name: str | None
) -> tuple[ExportSummary | None, list[str]]:
    """The export's summary (None when it is not a LinkedIn export) and the warnings met.

    ``members`` maps each member name to a function opening it as a binary stream; a member
    may be opened more than once (``tables.stream_table``). What a member adds is added
    only once it has been read to the end without fault, as ``load_export`` keeps a part.
    """
    names = list(members)
    tables, _, set_aside = classify_versions(names)
    recognised, kind, when = export_identity(archive_name, names)
    counts = dict.fromkeys((*COUNTS, HIDDEN), 0)
    conversation_ids: set[int] = set()
    headline: str | None = None
    profile_read = False
    owner: Owner | None = None
    by_messages = MessageOwner()
    by_invitations = MessageOwner("invitations")
    has_profile = "profile" in tables  # then the member is named there (owner.owner_of)
    warnings: list[str] = [entry.reason for entry in set_aside]
    for table, parts in tables.items():
        wanted = records.WANTED[table]
        for part in parts:
            opener = members[part.name]
            try:
                if table == "messages":
                    source, (number, ids, part_owner) = stream_table(
                        opener, wanted, partial(_conversations, find_owner=not has_profile)
                    )
                    by_messages.merge(part_owner)
                    counts["messages"] += number
                    if conversation_ids:
                        conversation_ids |= ids
                    else:  # taken as it is: merged into an empty set, each hash is held twice
                        conversation_ids = ids
                elif table == "profile":
                    source, first = stream_table(opener, wanted, _first_row)
                    if not profile_read and first is not None:
                        headline = _cell(source.columns, "headline")(first) or None
                        owner = profile_owner(
                            {
                                "First Name": _cell(source.columns, "firstname")(first),
                                "Last Name": _cell(source.columns, "lastname")(first),
                            }
                        )
                        profile_read = True
                elif table == "invitations":
                    source, (number, part_owner) = stream_table(opener, wanted, _invitations)
                    by_invitations.merge(part_owner)
                    counts["invitations"] += number
                elif table == "connections":
                    source, (number, hidden) = stream_table(opener, wanted, _connections)
                    counts["connections"] += number
                    counts[HIDDEN] += hidden
                elif table in COUNTED:
                    source, number = stream_table(opener, wanted, _count)
                    counts[COUNTED[table]] += number
                else:
                    source, _ = stream_table(opener, wanted, _header_only)
            except TableError as exc:
                warnings.append(f"{part.name}: {exc}; {LABELS[table]} not read from it")
                continue
            except Exception as exc:  # noqa: BLE001 - a reader may fail in any way; never fatal
                reason = str(exc) or exc.__class__.__name__
                warnings.append(
                    f"{part.name} could not be read ({reason}); {LABELS[table]} not read"
                )
                continue
            # An empty file (no columns) does not show an export: LinkedIn writes those for
            # categories with no data.
            recognised = recognised or bool(source.columns)
    counts["conversations"] = len(conversation_ids)
    if len(conversation_ids) >= MAX_COUNTED_CONVERSATIONS:
        warnings.append(
            f"more than {MAX_COUNTED_CONVERSATIONS:,} conversations: the summary counts "
            f"{len(conversation_ids):,} of them (the messages are all stored)"
        )
    if not recognised:
        return None, warnings
    if not has_profile:
        owner = by_messages.owner or by_invitations.owner
    return ExportSummary(kind, when, headline, counts, owner, tuple(set_aside)), warnings
