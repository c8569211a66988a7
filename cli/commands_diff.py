"""``lkvault diff``: what changed between two exports of one member."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from lkvault.vault import SnapshotNotFound, UsageError

from . import render
from .app import JsonOption, VaultOption, app, open_vault, print_warnings
from .choosing import (
    MemberOption,
    describe,
    export_of,
    not_of_member,
    note_other_members,
    one_member,
    snapshot_at,
)

if TYPE_CHECKING:
    from lkvault.vault import ExportDiff, Snapshot


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
            raise UsageError(not_of_member(pick, chosen))
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
    older, newer = export_of(opened, before), export_of(opened, after)
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

    say(f"From {describe(before)}")
    say(f"  to {describe(after)}")
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
