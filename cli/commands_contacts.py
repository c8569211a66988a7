"""``lkvault contacts``: a snapshot's connections as vCards or CSV for an address book."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from lkvault.vault import NoProgress, UsageError

from . import render
from .app import JsonOption, VaultOption, app, open_vault, print_warnings
from .choosing import (
    AtOption,
    MemberOption,
    SnapshotArgument,
    choose,
    export_of,
    not_of_member,
    note_other_members,
    one_member,
)

if TYPE_CHECKING:
    from lkvault.vault import Snapshot, Vault


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
    chosen = choose_of_member(opened, snapshot_ref, at, found, member, json)
    export = export_of(opened, chosen)
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


def choose_of_member(
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
        return choose(opened, ref, at, found)
    found = opened.attributed(found)
    chosen = one_member(found, member)
    if ref is None and at is None:
        if not quiet:
            note_other_members(chosen, member)
        return opened.find("latest", chosen.snapshots or found)
    picked = choose(opened, ref, at, chosen.snapshots if ref is None else found)
    if picked not in chosen:
        raise UsageError(not_of_member(picked, chosen, "see 'lkvault list'"))
    return picked
