"""An export's summary: its kind, date, headline and counts, and the document kept for it.

Pure. The document is what a snapshot record's ``export`` field holds (docs/FORMAT.md,
"Export summaries") and what ``list --json`` shows.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from lkvault.vault.export.model import Export, ExportSummary, Owner, SetAside

COUNTS = (
    "connections",
    "conversations",
    "messages",
    "invitations",
    "recommendations_received",
    "recommendations_given",
    "endorsements_received",
    "positions",
)
# How many of the connections are hidden members' rows (model.is_hidden): counted among the
# connections too. Summaries of format 2 and before do not say (then it is unknown).
HIDDEN = "connections_hidden"
KINDS = ("basic", "complete", "contacts")
OWNER_SOURCES: tuple[Literal["profile"], Literal["messages"], Literal["invitations"]] = (
    "profile",
    "messages",
    "invitations",
)
DATE_SOURCES = ("name", "contents", "modified")
# 1: kind, date, headline, counts. 2 adds member (whose export it is) and set_aside (files
# that are another version of a table read from another file). Absent means 1. date_from
# (where the date comes from) may be in either; absent, the date came from the name. 3 adds
# counts.connections_hidden.
SUMMARY_FORMAT = 3


def summarize(export: Export) -> ExportSummary:
    """Kind, date, headline and the count of each category (see ``COUNTS``)."""
    # Here, not at the top: listing snapshots reads summaries and parses no export.
    from lkvault.vault.export.records import conversations

    counts = {
        "connections": len(export.connections),
        HIDDEN: sum(1 for c in export.connections if c.hidden),
        "conversations": len(conversations(export.messages)),
        "messages": len(export.messages),
        "invitations": len(export.invitations),
        "recommendations_received": sum(
            1 for r in export.recommendations if r.direction == "received"
        ),
        "recommendations_given": sum(1 for r in export.recommendations if r.direction == "given"),
        "endorsements_received": sum(1 for e in export.endorsements if e.direction == "received"),
        "positions": len(export.positions),
    }
    return ExportSummary(
        export.kind, export.date, export.headline, counts, export.owner, tuple(export.set_aside)
    )


def summary_document(summary: ExportSummary) -> dict[str, Any]:
    """The summary as stored and shown: kind, date (YYYY-MM-DD) and where it comes from,
    headline, counts, whose export it is and the files set aside as another version of a
    table."""
    owner = summary.owner
    return {
        "format": SUMMARY_FORMAT,
        "kind": summary.kind,
        "date": summary.date.isoformat() if summary.date else None,
        "date_from": (summary.date_from or "name") if summary.date else None,
        "headline": summary.headline,
        "counts": {name: int(summary.counts.get(name, 0)) for name in COUNTS}
        | ({HIDDEN: summary.counts[HIDDEN]} if HIDDEN in summary.counts else {}),
        "member": {"name": owner.name, "from": owner.source} if owner is not None else None,
        "set_aside": [
            {"file": s.name, "read_instead": s.kept, "table": s.table, "why": s.reason}
            for s in summary.set_aside
        ],
    }


def _owner(document: Any) -> Owner | None:
    if not isinstance(document, dict):
        return None
    name, source = document.get("name"), document.get("from")
    if not isinstance(name, str) or not name.strip() or source not in OWNER_SOURCES:
        return None
    return Owner(name, source)


def _set_aside(document: Any) -> tuple[SetAside, ...]:
    found = []
    for entry in document if isinstance(document, list) else []:
        if not isinstance(entry, dict):
            continue
        name, kept, table = entry.get("file"), entry.get("read_instead"), entry.get("table")
        if isinstance(name, str) and isinstance(kept, str) and isinstance(table, str):
            found.append(SetAside(name, kept, table))
    return tuple(found)


def summary_from_document(document: Any) -> ExportSummary | None:
    """The summary a snapshot record holds, or None when it holds none or it is malformed."""
    if not isinstance(document, dict):
        return None
    kind = document.get("kind")
    when = document.get("date")
    headline = document.get("headline")
    counts = document.get("counts")
    # Summaries written before "date_from" existed took their date from the name only.
    date_from = document.get("date_from")
    try:
        parsed_date = date.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        parsed_date = None
    return ExportSummary(
        kind=kind if kind in KINDS else None,
        date=parsed_date,
        headline=headline if isinstance(headline, str) else None,
        counts={
            name: value
            for name, value in (counts if isinstance(counts, dict) else {}).items()
            if isinstance(name, str) and isinstance(value, int) and not isinstance(value, bool)
        },
        owner=_owner(document.get("member")),
        set_aside=_set_aside(document.get("set_aside")),
        date_from=(date_from if date_from in DATE_SOURCES else "name") if parsed_date else None,
    )
