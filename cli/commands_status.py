"""``lkvault status``: how old the newest export is, and whether a new one is due."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from . import render
from .app import EXIT_FAILED, JsonOption, VaultOption, app
from .choosing import MemberOption, members_json, open_one_member

if TYPE_CHECKING:
    from lkvault.vault import MemberView, Snapshot


@app.command()
def status(
    max_age: Annotated[
        int,
        typer.Option(
            envvar="LKVAULT_MAX_AGE",
            min=1,
            metavar="DAYS",
            help="Warn (and exit 1) when the newest export is older than this many days.",
        ),
    ] = 30,
    member: MemberOption = None,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """When the newest export was made and what it holds; exit 1 when it is too old.

    Warns and exits 1 when the newest export is older than --max-age days (default 30) or
    the vault holds none, so cron or a systemd timer can remind you. One member's exports
    at a time (--member).
    """
    from lkvault.vault import latest_snapshot, snapshot_day

    opened, chosen = open_one_member(vault, member, json)
    found = chosen.snapshots
    today = opened.env.clock().astimezone().date()
    # A contacts file of the old "Export contacts" page is no current export: never "fresh".
    exports = [s for s in found if s.export is not None and _kind(s) != "contacts"]
    newest = latest_snapshot(exports) or latest_snapshot(found)
    if newest is None:
        message = "the vault holds no snapshot yet: store an export with 'lkvault snapshot'"
        _status_out(json, False, None, None, max_age, chosen, message)
        raise typer.Exit(EXIT_FAILED)
    age = (today - snapshot_day(newest)).days
    ok = age <= max_age and bool(exports)
    if not exports:
        message = "no snapshot in the vault is a LinkedIn export"
    elif ok:
        message = f"the newest export is {render.plural(age, 'day')} old (limit: {max_age})"
    else:
        message = (
            f"the newest export is {render.plural(age, 'day')} old, older than {max_age}: "
            "download a new one (LinkedIn: Settings, Data privacy, Get a copy of your data)"
        )
    _status_out(json, ok, newest, age, max_age, chosen, message)
    if not ok:
        raise typer.Exit(EXIT_FAILED)


def _kind(snap: Snapshot) -> str | None:
    from lkvault.vault import summary_from_document

    summary = summary_from_document(snap.export)
    return summary.kind if summary is not None else None


def _status_out(
    json_mode: bool,
    ok: bool,
    newest: Snapshot | None,
    age: int | None,
    max_age: int,
    chosen: MemberView,
    message: str,
) -> None:
    from lkvault.vault import snapshot_day, summary_from_document

    found = chosen.snapshots
    if json_mode:
        render.emit_json(
            {
                "ok": ok,
                "message": message,
                "newest": render.snapshot_json(newest) if newest else None,
                "export_date": snapshot_day(newest).isoformat() if newest else None,
                "age_days": age,
                "max_age_days": max_age,
                "snapshots": len(found),
                **members_json(chosen),
            }
        )
        return
    if newest is not None:
        out = render.stdout
        summary = summary_from_document(newest.export)
        out.print(
            render.shown(
                f"Newest export: {newest.source} (snapshot {newest.short_id}, "
                f"stored {render.local_time(newest.time)})"
            ),
            markup=False,
        )
        if summary is not None:
            c = summary.counts
            kind = f"{summary.kind} export" if summary.kind else "export"
            dated = f" of {summary.date.isoformat()}" if summary.date else ""
            out.print(f"  {kind}{dated}", markup=False)
            if summary.owner is not None:
                out.print(render.shown(f"  Export of {summary.owner.name}"), markup=False)
            if summary.headline:
                out.print(render.shown(f"  Headline: {summary.headline}"), markup=False)
            out.print(
                f"  {render.connections_count(c)}, {c.get('messages', 0):,} messages "
                f"in {c.get('conversations', 0):,} conversations, "
                f"{c.get('invitations', 0):,} invitations",
                markup=False,
            )
            out.print(
                f"  {c.get('recommendations_received', 0)} recommendations received, "
                f"{c.get('recommendations_given', 0)} given, "
                f"{c.get('endorsements_received', 0)} endorsements, "
                f"{c.get('positions', 0)} positions",
                markup=False,
            )
            for entry in summary.set_aside:
                out.print(render.shown(f"  Not counted: {entry.reason}"), markup=False)
        oldest = min(snapshot_day(s) for s in found)
        out.print(
            f"Vault: {render.plural(len(found), 'snapshot')} since {oldest.isoformat()}",
            markup=False,
        )
    if ok:
        render.stdout.print(f"OK: {message}", markup=False)
    else:
        render.warning_line(message)
