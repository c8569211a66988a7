"""Building an ``Export`` from an archive's members: which file holds what, read and parsed.

Pure apart from calling the member readers it is given. Only the members that hold a known
table are read. A member that cannot be read or parsed becomes a line in
``Export.warnings``; nothing here raises for bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from lkvault.vault.export import records
from lkvault.vault.export.layout import MemberFile, classify_versions, export_identity
from lkvault.vault.export.model import Export
from lkvault.vault.export.owner import owner_of
from lkvault.vault.export.tables import Table, TableError, read_table

MemberReaders = Mapping[str, Callable[[], bytes]]
_Parsed = TypeVar("_Parsed")

LABELS = {
    "connections": "connections",
    "messages": "messages",
    "invitations": "invitations",
    "profile": "the profile",
    "positions": "positions",
    "recommendations_received": "recommendations received",
    "recommendations_given": "recommendations given",
    "endorsements_received": "endorsements received",
    "endorsements_given": "endorsements given",
    "comments": "comments",
}


def read_member(
    table: str,
    name: str,
    members: MemberReaders,
    warnings: list[str],
    parse: Callable[[bytes], _Parsed],
) -> _Parsed | None:
    """``parse`` of a member holding (part of) ``table``; None, and a warning, when it could
    not be read or parsed."""
    try:
        return parse(members[name]())
    except TableError as exc:
        warnings.append(f"{name}: {exc}; {LABELS[table]} not read from it")
    except Exception as exc:  # noqa: BLE001 - a reader may fail in any way; never fatal
        reason = str(exc) or exc.__class__.__name__
        warnings.append(f"{name} could not be read ({reason}); {LABELS[table]} not read")
    return None


def _read_parts(
    table: str, parts: list[MemberFile], members: MemberReaders, warnings: list[str]
) -> Table | None:
    """The rows of every part of one table, in order; None when no part could be read."""
    combined: Table | None = None
    wanted, escapes = records.WANTED[table], table == "comments"
    for part in parts:
        parsed = read_member(
            table,
            part.name,
            members,
            warnings,
            lambda data: read_table(data, wanted, backslash_escapes=escapes),
        )
        if parsed is None or not parsed.columns:
            continue  # an empty file: LinkedIn writes those for categories with no data
        if combined is None:
            combined = parsed
        else:
            combined.rows.extend(parsed.rows)
    return combined


def load_export(members: MemberReaders, archive_name: str | None) -> Export:
    """Everything lkvault understands of an export, from its members' names and readers.

    ``members`` maps each member name, as in the archive (folder included), to a function
    returning its uncompressed bytes; only the known tables are read. ``archive_name`` (the
    zip's file name, if known) gives the kind and date of the export.
    """
    names = list(members)
    tables, others, set_aside = classify_versions(names)
    by_name, kind, when = export_identity(archive_name, names)
    export = Export(
        kind=kind,
        date=when,
        recognised=by_name,
        other_files=others,
        tables=set(tables),
        set_aside=set_aside,
    )
    for table, parts in tables.items():
        parsed = _read_parts(table, parts, members, export.warnings)
        if parsed is None:
            continue
        export.recognised = True
        _fill(export, table, parsed)
    profile = export.profile if "profile" in tables else None
    export.owner = owner_of(profile, export.messages, export.invitations)
    return export


def _fill(export: Export, table: str, parsed: Table) -> None:
    if table == "connections":
        export.connections = records.connections(parsed)
    elif table == "messages":
        export.messages = records.messages(parsed)
    elif table == "invitations":
        export.invitations = records.invitations(parsed)
    elif table == "profile":
        export.profile = records.profile(parsed)
    elif table == "positions":
        export.positions = records.positions(parsed)
    elif table == "recommendations_received":
        export.recommendations.extend(records.recommendations(parsed, "received"))
    elif table == "recommendations_given":
        export.recommendations.extend(records.recommendations(parsed, "given"))
    elif table == "endorsements_received":
        export.endorsements.extend(records.endorsements(parsed, "received"))
    elif table == "endorsements_given":
        export.endorsements.extend(records.endorsements(parsed, "given"))
    elif table == "comments":
        export.comments = records.comments(parsed)
