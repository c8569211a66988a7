"""Commands that read what is inside the stored exports: diff, timeline, contacts, status, watch.

Also ``snapshot_at``, the ``--at DATE`` choice that ``list`` and ``restore`` share.
"""

from __future__ import annotations

import signal
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from lkvault.vault import (
    BadInput,
    NoProgress,
    SnapshotNotFound,
    UsageError,
    VaultError,
    VaultLocked,
)

from . import entry, render
from .app import EXIT_FAILED, JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import (
        DownloadWatcher,
        Export,
        ExportDiff,
        MemberView,
        Seen,
        Snapshot,
        Vault,
    )


SnapshotArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[SNAPSHOT]",
        help="Snapshot id, unique id prefix, or 'latest' (the newest export; the default).",
        show_default=False,
    ),
]
AtOption = Annotated[
    str | None,
    typer.Option(
        metavar="DATE",
        help="Instead of SNAPSHOT: the newest export dated on or before DATE (YYYY-MM-DD).",
    ),
]
MemberOption = Annotated[
    str | None,
    typer.Option(
        "--member",
        metavar="NAME",
        help="Whose exports, when the vault holds several members' (default: the member of "
        "the newest export).",
        show_default=False,
    ),
]
BAR_WIDTH = 32
BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"


def day_of(text: str) -> date:
    from lkvault.vault import parse_day

    try:
        return parse_day(text)
    except ValueError as exc:
        raise UsageError(f"--at {exc}") from None


def snapshot_at(opened: Vault, text: str, found: list[Snapshot] | None = None) -> Snapshot:
    """The snapshot ``--at DATE`` means: the newest export dated on or before DATE (a file
    that is not an export counts by the day it was stored)."""
    return opened.find_at(day_of(text), found)


def _choose(opened: Vault, ref: str | None, at: str | None, found: list[Snapshot]) -> Snapshot:
    if ref is not None and at is not None:
        raise UsageError("give either SNAPSHOT or --at DATE, not both")
    if at is not None:
        return snapshot_at(opened, at, found)
    return opened.find(ref or "latest", found)


def one_member(
    found: list[Snapshot], member: str | None, around: Snapshot | None = None
) -> MemberView:
    """The snapshots of one member (see vault.operations.members.view), a usage error for a
    member the vault holds no export of."""
    from lkvault.vault import member_view

    try:
        return member_view(found, member, around)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def note_other_members(chosen: MemberView, asked: str | None) -> None:
    """Say, on stderr, that other members' exports were left out (and how to see them)."""
    if not chosen.others or chosen.member is None:
        return
    names = ", ".join(owner.name for owner in chosen.others)
    how = "" if asked else f" (this is {chosen.member.name}'s; choose with --member NAME)"
    render.stderr.print(
        render.shown(f"lkvault: the vault also holds exports of {names}; they are left out{how}"),
        markup=False,
    )


def _export_of(opened: Vault, snap: Snapshot) -> Export:
    export = opened.export(snap)
    if not export.recognised:
        raise UsageError(
            f"snapshot {snap.short_id} ({snap.source}) is not a LinkedIn export; see 'lkvault list'"
        )
    for warning in export.warnings:
        render.warning_line(f"snapshot {snap.short_id}: {warning}")
    return export


def _describe(snap: Snapshot) -> str:
    brief = render.export_brief(snap)
    return f"{snap.short_id} ({snap.source}{', ' + brief if brief else ''})"


# --- diff ------------------------------------------------------------------------------------


@app.command()
def diff(
    old: Annotated[
        str | None,
        typer.Argument(
            metavar="[A]", help="Older snapshot (id, prefix or 'latest').", show_default=False
        ),
    ] = None,
    new: Annotated[
        str | None,
        typer.Argument(
            metavar="[B]", help="Newer snapshot (default: the newest).", show_default=False
        ),
    ] = None,
    at: Annotated[
        list[str] | None,
        typer.Option(
            metavar="DATE",
            help="Pick a snapshot by date instead of by id (the newest export dated on or "
            "before DATE); give it once (compared with the newest) or twice.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(help="Names listed per section in text output (0: all).", min=0)
    ] = 20,
    member: MemberOption = None,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """What changed between two exports (connections, messages, profile, recommendations).

    Connections added, removed, with a changed company or position or a new profile URL, new
    messages and conversations, profile changes, new recommendations and invitations.
    Without arguments it compares the two newest exports of one member (--member).
    """
    from lkvault.vault import diff_document, diff_exports, latest_snapshot, snapshot_day

    opened = open_vault(vault)
    found = opened.attributed(opened.snapshots())
    print_warnings(opened)
    picks = [opened.find(ref, found) for ref in (old, new) if ref is not None]
    picks += [snapshot_at(opened, text, found) for text in at or []]
    if len(picks) > 2:
        raise UsageError("compare two snapshots: give at most two of A, B and --at DATE")
    chosen = one_member(found, member, picks[0] if picks else None)
    for pick in picks:
        if pick not in chosen:
            raise UsageError(_not_of_member(pick, chosen))
    if not picks:
        note_other_members(chosen, member)
        exports = [s for s in chosen.snapshots if s.export is not None]
        if len(exports) < 2:
            whose = f" of {chosen.member.name}" if chosen.member and chosen.others else ""
            raise SnapshotNotFound(
                f"the vault holds fewer than two LinkedIn exports{whose}; nothing to compare"
            )
        picks = sorted(exports, key=lambda s: (snapshot_day(s), s.seq))[-2:]
    elif len(picks) == 1:
        newest = latest_snapshot(chosen.snapshots)
        assert newest is not None  # the pick is one of them
        picks.append(newest)
    before, after = picks
    older, newer = _export_of(opened, before), _export_of(opened, after)
    if older.owner and newer.owner and older.owner.key != newer.owner.key:
        # Snapshots stored before lkvault recorded whose export each is: their profiles say.
        raise UsageError(
            f"snapshot {before.short_id} is {older.owner.name}'s export and {after.short_id} "
            f"is {newer.owner.name}'s: compare two exports of one member"
        )
    result = diff_exports(older, newer)
    if json:
        render.emit_json(
            {
                "from": render.snapshot_json(before),
                "to": render.snapshot_json(after),
                **diff_document(result),
            }
        )
        return
    _diff_text(before, after, result, limit)


ONE_MEMBER_HINT = "compare two exports of one member (see --member)"


def _not_of_member(snap: Snapshot, chosen: MemberView, hint: str = ONE_MEMBER_HINT) -> str:
    from lkvault.vault import owner_of

    owner = owner_of(snap)
    whose = f"{owner.name}'s" if owner else "another member's"
    assert chosen.member is not None  # a snapshot is left out only when a member is chosen
    return f"snapshot {snap.short_id} is {whose} export, not {chosen.member.name}'s: {hint}"


def _more(shown: int, total: int) -> None:
    if total > shown:
        render.stdout.print(
            f"    … and {total - shown:,} more (--limit 0 lists all, --json gives everything)"
        )


def _listed(items: list[Any], limit: int) -> list[Any]:
    return items if limit == 0 else items[:limit]


def _who(name: str, company: str | None, position: str | None) -> str:
    role = " at ".join(part for part in (position, company) if part)
    return f"{name} — {role}" if role else name


def _role(company: str | None, position: str | None) -> str:
    return " at ".join(part for part in (position, company) if part) or "(none)"


def _diff_text(before: Snapshot, after: Snapshot, result: ExportDiff, limit: int) -> None:
    from lkvault.vault import DIFF_FILES

    out = render.stdout

    def say(text: str) -> None:
        out.print(render.shown(text), markup=False)

    say(f"From {_describe(before)}")
    say(f"  to {_describe(after)}")
    for which, missing in (("older", result.missing_before), ("newer", result.missing_after)):
        if missing:
            files = ", ".join(DIFF_FILES[table] for table in missing)
            say(f"Not compared, as the {which} export has no such file: {files}")
    if result.empty:
        out.print("\nNo changes.")
        return
    connections = result.added or result.removed or result.changed or result.moved
    if connections:
        moved = f", {len(result.moved):,} changed profile URL" if result.moved else ""
        say(
            f"\nConnections: {len(result.added):,} added, {len(result.removed):,} removed, "
            f"{len(result.changed):,} changed company or position{moved}"
        )
        for c in _listed(result.added, limit):
            say(f"  + {_who(c.name, c.company, c.position)}")
        _more(len(_listed(result.added, limit)), len(result.added))
        for c in _listed(result.removed, limit):
            say(f"  - {_who(c.name, c.company, c.position)}")
        _more(len(_listed(result.removed, limit)), len(result.removed))
        for change in _listed(result.changed, limit):
            old, new = change.old, change.new
            say(
                f"  ~ {new.name}: {_role(old.company, old.position)} → "
                f"{_role(new.company, new.position)}"
            )
        _more(len(_listed(result.changed, limit)), len(result.changed))
        for change in _listed(result.moved, limit):
            say(f"  ~ {change.new.name}: profile URL changed, {change.old.url} → {change.new.url}")
        _more(len(_listed(result.moved, limit)), len(result.moved))
    if result.hidden[0] != result.hidden[1]:
        out.print(
            f"  Hidden members (no name, no profile URL): {result.hidden[0]:,} → "
            f"{result.hidden[1]:,}"
        )
    if result.new_messages or result.removed_messages:
        say(
            f"\nMessages: {render.plural(result.new_messages, 'new message')} in "
            f"{render.plural(len(result.conversations), 'conversation')} "
            f"({result.new_conversations} new)"
        )
        for conversation in _listed(result.conversations, limit):
            label = conversation.title or ", ".join(conversation.participants[:4])
            flag = " (new)" if conversation.is_new else ""
            say(f"  {conversation.new_messages:>4}  {label}{flag}")
        _more(len(_listed(result.conversations, limit)), len(result.conversations))
        if result.removed_messages:
            out.print(
                f"  {render.plural(result.removed_messages, 'message')} of the older export "
                "are no longer in the newer one",
                markup=False,
            )
    if result.profile or result.positions_added or result.positions_removed:
        out.print("\nProfile:")
        for name, (old_value, new_value) in result.profile.items():
            say(f"  {name}: {_quoted(old_value)} → {_quoted(new_value)}")
        for p in result.positions_added:
            say(f"  + position: {_who(p.title or '', p.company, None)}")
        for p in result.positions_removed:
            say(f"  - position: {_who(p.title or '', p.company, None)}")
    if result.recommendations:
        out.print(f"\nRecommendations: {len(result.recommendations):,} new")
        for r in result.recommendations:
            name = " ".join(part for part in (r.first_name, r.last_name) if part)
            way = "from" if r.direction == "received" else "for"
            say(f"  + {way} {_who(name, r.company, r.job_title)}")
    if result.invitations:
        out.print(f"\nInvitations: {len(result.invitations):,} new")
        for i in _listed(result.invitations, limit):
            arrow = "←" if (i.direction or "").upper() == "INCOMING" else "→"
            other = i.sender if arrow == "←" else i.recipient
            say(f"  {arrow} {other}")
        _more(len(_listed(result.invitations, limit)), len(result.invitations))
    if result.endorsements_received:
        out.print(f"\nEndorsements received: {result.endorsements_received} new")


def _quoted(value: str | None) -> str:
    if value is None:
        return "(none)"
    flat = " ".join(value.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


# --- timeline --------------------------------------------------------------------------------


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

    opened = open_vault(vault)
    chosen = one_member(opened.attributed(opened.snapshots()), member)
    found = chosen.snapshots
    print_warnings(opened)
    if not json:
        note_other_members(chosen, member)
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
                **_members_json(chosen),
            }
        )
        return
    if not rows:
        render.stdout.print("No snapshots yet. Store one with: lkvault snapshot EXPORT.zip")
        return
    _timeline_text(rows, gaps, latest_id)


def _members_json(chosen: MemberView) -> dict[str, Any]:
    return {
        "member": chosen.member.name if chosen.member else None,
        "other_members": [owner.name for owner in chosen.others],
    }


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


# --- contacts --------------------------------------------------------------------------------


@app.command()
def contacts(
    snapshot_ref: SnapshotArgument = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="vcf|csv",
            help="vcf: vCard 3.0 (Google Contacts, Apple Contacts); csv: a CSV with Google "
            "Contacts' column names (also for Outlook, which imports only the first card of a "
            "vCard file).",
        ),
    ] = "vcf",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write to this file (default: stdout)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
    at: AtOption = None,
    member: MemberOption = None,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Your connections as contacts, in a vCard or CSV file.

    Name, company, title, email where present, profile URL and the day you connected (as a
    note), for Google Contacts, Apple Contacts (vCard) or Outlook (CSV). Hidden members
    (LinkedIn gives neither their name nor their profile) are left out, and counted.
    Of the newest export of one member (--member) unless SNAPSHOT or --at says which.
    """
    from lkvault.vault import (
        check_replaceable,
        contacts_csv,
        contacts_left_out,
        exportable,
        vcards,
        write_then_rename,
    )

    kind = format.lower()
    if kind not in ("vcf", "csv"):
        raise UsageError(f"--format must be vcf or csv, not {format!r}")
    if output is not None:
        check_replaceable(output, force)
    opened = open_vault(vault)
    found = opened.snapshots()
    print_warnings(opened)
    chosen = _choose_of_member(opened, snapshot_ref, at, found, member, json)
    export = _export_of(opened, chosen)
    people = exportable(export.connections)
    text = vcards(people) if kind == "vcf" else contacts_csv(people)
    hidden = len(export.connections) - len(people)
    if output is not None:
        write_then_rename(output, [text.encode("utf-8")], NoProgress())
    document = {
        "snapshot": render.snapshot_json(chosen),
        "format": kind,
        "connections": len(export.connections),
        "contacts": len(people),
        "hidden_left_out": hidden,
        "output": str(output) if output is not None else None,
    }
    if json:
        if output is None:
            document["content"] = text
        render.emit_json(document)
        return
    if output is None:
        render.text_out(text)  # escaped at a terminal: names are other people's text
    else:
        render.stdout.print(
            f"Wrote {render.plural(len(people), 'contact')} of snapshot {chosen.short_id} "
            f"to {output}",
            markup=False,
        )
    left_out = contacts_left_out(hidden, len(export.connections))
    if left_out is not None:
        render.stderr.print(f"lkvault: {left_out}", markup=False)


def _choose_of_member(
    opened: Vault,
    ref: str | None,
    at: str | None,
    found: list[Snapshot],
    member: str | None,
    quiet: bool,
) -> Snapshot:
    """The snapshot SNAPSHOT or --at names (of the member --member names, if given: a usage
    error for another member's), else the newest export of that member, or of the member of
    the newest export (saying, unless ``quiet``, that other members' are left out)."""
    if member is None and (ref is not None or at is not None):
        return _choose(opened, ref, at, found)
    found = opened.attributed(found)
    chosen = one_member(found, member)
    if ref is None and at is None:
        if not quiet:
            note_other_members(chosen, member)
        return opened.find("latest", chosen.snapshots or found)
    picked = _choose(opened, ref, at, chosen.snapshots if ref is None else found)
    if picked not in chosen:
        raise UsageError(_not_of_member(picked, chosen, "see 'lkvault list'"))
    return picked


# --- status ----------------------------------------------------------------------------------


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

    opened = open_vault(vault)
    chosen = one_member(opened.attributed(opened.snapshots()), member)
    found = chosen.snapshots
    print_warnings(opened)
    if not json:
        note_other_members(chosen, member)
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
                **_members_json(chosen),
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


# --- watch -----------------------------------------------------------------------------------


@app.command()
def watch(
    folder: Annotated[
        Path, typer.Argument(help="The folder downloads arrive in, e.g. ~/Downloads.")
    ],
    interval: Annotated[
        float, typer.Option(help="Seconds between two looks at the folder.", min=0.1)
    ] = 10.0,
    settle: Annotated[
        float,
        typer.Option(help="Seconds a file must stay unchanged before it is stored.", min=0),
    ] = 5.0,
    once: Annotated[
        bool, typer.Option("--once", help="Look once, store what is ready, and exit.")
    ] = False,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Store each new LinkedIn export that appears in FOLDER (such as ~/Downloads).

    Waits until a download has finished, and never stores the same archive twice (checked by
    SHA-256 against the vault). Ctrl-C stops it (exit 130; SIGTERM: exit 143); --once looks once
    and exits, with exit 1 if an export it found could not be stored (the vault is read-only,
    say) and 0 otherwise.
    """
    from lkvault.vault import DownloadWatcher

    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    opened = open_vault(vault)
    watcher = DownloadWatcher(folder, opened.env.clock, settle)
    done: dict[Path, Seen] = {}  # stored, already in the vault, or failed: until it changes
    try:
        # Inside the try: a signal that lands while the line is still being printed stops
        # watch as one a moment later would.
        if not once and not json:
            render.stderr.print(
                f"Watching {folder} for LinkedIn exports (every {interval:g} s; Ctrl-C stops)",
                markup=False,
            )
        while True:
            events = _watch_once(opened, watcher, done, json, once)
            if json and (once or events):
                render.emit_json({"folder": str(folder), "events": events})
            if once:
                if not events and not json:  # a single look that found nothing says so
                    render.stderr.print(
                        f"No LinkedIn export in {render.shown(str(folder))}; nothing to store",
                        markup=False,
                    )
                # A timer or cron job running --once must see a failure: files it skips as
                # no export at all, or still downloading, are no failure.
                if any(event["event"] == "failed" for event in events):
                    raise typer.Exit(EXIT_FAILED)
                return
            opened.env.sleep(interval)
    except KeyboardInterrupt:
        if not json:
            # Written directly: rich would print again what a print the signal cut short
            # left in its buffer.
            sys.stderr.write(f"Stopped watching {render.shown(str(folder))}.\n")
        # 130 for Ctrl-C, 143 for SIGTERM, as every command: a script or service manager sees
        # that watch was stopped, not that it finished.
        sys.exit(128 + (entry.received or signal.SIGINT))


def _watch_once(
    opened: Vault,
    watcher: DownloadWatcher,
    done: dict[Path, Seen],
    json_mode: bool,
    once: bool = False,
) -> list[dict[str, Any]]:

    scan = watcher.scan()
    events: list[dict[str, Any]] = []

    def report(path: Path, event: str, message: str, snap: Snapshot | None = None) -> None:
        events.append(
            {
                "file": str(path),
                "event": event,
                "message": message,
                "snapshot": render.snapshot_json(snap) if snap else None,
            }
        )
        if json_mode:
            return
        if event in ("stored", "already_stored"):
            stamp = time.strftime("%H:%M:%S")
            render.stdout.print(f"{stamp} {message}", markup=False)
        elif event == "waiting":
            render.stderr.print(message, markup=False)
        else:
            render.warning_line(message)

    if once:  # a single look: say what it leaves for later (a running watch stores it then)
        for path in scan.downloading:
            report(
                path,
                "waiting",
                f"{path.name}: an export still downloading; stored once the browser finishes it",
            )
        for path in scan.waiting:
            report(
                path,
                "waiting",
                f"{path.name}: still being written (or just finished); not stored until it "
                f"stays unchanged for {watcher.settle:g} s",
            )

    for path, problem in scan.problems:
        if done.get(path) != watcher.last.get(path):
            done[path] = watcher.last[path]
            report(path, "skipped", f"{path.name}: {problem}; skipped until it changes")
    for path in scan.ready:
        seen = watcher.last[path]
        if done.get(path) == seen:
            continue
        try:
            snap, new = opened.snapshot_once(path)
        except VaultLocked as exc:
            report(path, "retry", f"{path.name}: {exc}; trying again at the next look")
            continue
        except (VaultError, OSError) as exc:
            done[path] = seen
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            kind = "bad input" if isinstance(exc, BadInput) else "failed"
            report(path, "failed", f"{path.name}: {kind}: {reason}; skipped until it changes")
            continue
        done[path] = seen
        print_warnings(opened)
        opened.warnings.clear()
        brief = render.export_brief(snap)
        if new:
            for warning in snap.warnings:
                render.warning_line(f"{path.name}: {warning}")
            report(
                path,
                "stored",
                f"Stored {path.name} as snapshot {snap.short_id}"
                + (f" ({brief})" if brief else ""),
                snap,
            )
        else:
            report(
                path,
                "already_stored",
                f"{path.name} is already in the vault as snapshot {snap.short_id} "
                f"(stored {render.local_time(snap.time)})",
                snap,
            )
    return events
