"""Which snapshot, and whose exports, a command means: SNAPSHOT, ``--at DATE``, ``--member NAME``.

Shared by the commands that read what is inside the stored exports (diff, timeline, contacts,
status) and by ``list``, ``restore`` and ``browse``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from lkvault.vault import UsageError

from . import render
from .app import open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import (
        Export,
        MemberView,
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


def choose(opened: Vault, ref: str | None, at: str | None, found: list[Snapshot]) -> Snapshot:
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


def open_one_member(
    vault_option: str | None, member: str | None, json: bool
) -> tuple[Vault, MemberView]:
    """The vault and the snapshots of one member (see ``one_member``); says, unless ``json``,
    that other members' exports are left out."""
    opened = open_vault(vault_option)
    chosen = one_member(opened.attributed(opened.snapshots()), member)
    print_warnings(opened)
    if not json:
        note_other_members(chosen, member)
    return opened, chosen


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


def export_of(opened: Vault, snap: Snapshot) -> Export:
    export = opened.export(snap)
    if not export.recognised:
        raise UsageError(
            f"snapshot {snap.short_id} ({snap.source}) is not a LinkedIn export; see 'lkvault list'"
        )
    for warning in export.warnings:
        render.warning_line(f"snapshot {snap.short_id}: {warning}")
    return export


def describe(snap: Snapshot) -> str:
    brief = render.export_brief(snap)
    return f"{snap.short_id} ({snap.source}{', ' + brief if brief else ''})"


ONE_MEMBER_HINT = "compare two exports of one member (see --member)"


def not_of_member(snap: Snapshot, chosen: MemberView, hint: str = ONE_MEMBER_HINT) -> str:
    from lkvault.vault import owner_of

    owner = owner_of(snap)
    whose = f"{owner.name}'s" if owner else "another member's"
    assert chosen.member is not None  # a snapshot is left out only when a member is chosen
    return f"snapshot {snap.short_id} is {whose} export, not {chosen.member.name}'s: {hint}"


def members_json(chosen: MemberView) -> dict[str, Any]:
    return {
        "member": chosen.member.name if chosen.member else None,
        "other_members": [owner.name for owner in chosen.others],
    }
