"""An export's summary: its kind, date, headline and counts, and the document kept for it.

Pure. The document is what a snapshot record's ``export`` field holds (docs/FORMAT.md,
"Export summaries") and what ``list --json`` shows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lkvault.vault.export.model import Export, ExportSummary
from lkvault.vault.export.records import conversations

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
KINDS = ("basic", "complete")


def summarize(export: Export) -> ExportSummary:
    """Kind, date, headline and the count of each category (see ``COUNTS``)."""
    counts = {
        "connections": len(export.connections),
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
    return ExportSummary(export.kind, export.date, export.headline, counts)


def summary_document(summary: ExportSummary) -> dict[str, Any]:
    """The summary as stored and shown: kind, date (YYYY-MM-DD), headline, counts."""
    return {
        "kind": summary.kind,
        "date": summary.date.isoformat() if summary.date else None,
        "headline": summary.headline,
        "counts": {name: int(summary.counts.get(name, 0)) for name in COUNTS},
    }


def summary_from_document(document: Any) -> ExportSummary | None:
    """The summary a snapshot record holds, or None when it holds none or it is malformed."""
    if not isinstance(document, dict):
        return None
    kind = document.get("kind")
    when = document.get("date")
    headline = document.get("headline")
    counts = document.get("counts")
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
    )
