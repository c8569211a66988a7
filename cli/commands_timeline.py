"""``lkvault timeline``: connections and messages of each export over time, gaps flagged."""

from __future__ import annotations

from typing import Any

from . import render
from .app import JsonOption, VaultOption, app
from .choosing import MemberOption, members_json, open_one_member

BAR_WIDTH = 32


BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"


def _bar(value: int, largest: int) -> str:
    if largest <= 0:
        return ""
    eighths = round(value / largest * BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BAR_EIGHTHS[part] if part else "")) or ("▏" if value else "")


@app.command()
def timeline(
    member: MemberOption = None, vault: VaultOption = None, json: JsonOption = False
) -> None:
    """Connections and messages of each export over time, with missing months flagged.

    Drawn in the terminal; every month between the first and the last snapshot that has no
    snapshot is shown as a gap. One member's exports at a time (--member).
    """
    from lkvault.vault import latest_snapshot, missing_months, snapshot_day, summary_from_document

    opened, chosen = open_one_member(vault, member, json)
    found = chosen.snapshots
    rows = []
    for snap in found:
        summary = summary_from_document(snap.export)
        counts = summary.counts if summary else {}
        rows.append(
            {
                "id": snap.id.hex(),
                "short_id": snap.short_id,
                "date": snapshot_day(snap).isoformat(),
                "source": snap.source,
                "kind": summary.kind if summary else None,
                "export": summary is not None,
                "connections": counts.get("connections"),
                "connections_hidden": counts.get("connections_hidden"),
                "conversations": counts.get("conversations"),
                "messages": counts.get("messages"),
            }
        )
    days = [snapshot_day(s) for s in found]
    gaps = [f"{year:04d}-{month:02d}" for year, month in missing_months(days)]
    newest = latest_snapshot(found)
    latest_id = newest.id.hex() if newest is not None else None
    if json:
        render.emit_json(
            {
                "snapshots": rows,
                "missing_months": gaps,
                "latest": latest_id,
                **members_json(chosen),
            }
        )
        return
    if not rows:
        render.stdout.print("No snapshots yet. Store one with: lkvault snapshot EXPORT.zip")
        return
    _timeline_text(rows, gaps, latest_id)


def _timeline_text(rows: list[dict[str, Any]], gaps: list[str], latest_id: str | None) -> None:
    out = render.stdout
    largest = max((r["connections"] or 0 for r in rows), default=0)
    out.print(f"{'Date':<10}  {'Snapshot':<8}  {'Connections':<{BAR_WIDTH + 8}}  Messages")
    pending = sorted(gaps)
    ordered = sorted(rows, key=lambda r: (r["date"], r["short_id"]))
    for row in ordered:
        while pending and pending[0] < row["date"][:7]:
            out.print(
                f"[bold yellow]{pending.pop(0):<10}  {'':<8}  ── no snapshot ──[/]", markup=True
            )
        if not row["export"]:
            out.print(
                render.shown(
                    f"{row['date']:<10}  {row['short_id']:<8}  (not a LinkedIn export: "
                    f"{row['source']})"
                ),
                markup=False,
            )
            continue
        connections = row["connections"] or 0
        bar = _bar(connections, largest)
        mark = "  (latest)" if row["id"] == latest_id else ""
        out.print(
            f"{row['date']:<10}  {row['short_id']:<8}  [cyan]{bar:<{BAR_WIDTH}}[/]"
            f" {connections:>6,}  {row['messages'] or 0:>8,}{mark}",
            markup=True,
        )
    if gaps:
        out.print(
            f"[bold yellow]Missing: {render.plural(len(gaps), 'month')} without a snapshot "
            f"({', '.join(gaps)}).[/] Download an export from LinkedIn regularly.",
            markup=True,
        )
    else:
        first, last = ordered[0]["date"][:7], ordered[-1]["date"][:7]
        span = f"from {first} to {last}" if first != last else f"in {first}"
        out.print(f"No month missing {span}.")
