"""`lkvault browse`: read a snapshot in a local web page (issue 8)."""

from __future__ import annotations

import json as jsonlib
import secrets
import sys
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from lkvault.vault import UsageError

from . import entry, render
from .app import JsonOption, VaultOption, app, open_vault, print_warnings, warn_rollback
from .choosing import note_other_members, one_member

if TYPE_CHECKING:
    pass


def _parse_day(text: str) -> date:
    from lkvault.vault import parse_day

    try:
        return parse_day(text)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from None


@app.command()
def browse(
    snapshot_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="SNAPSHOT",
            help="Snapshot id, unique id prefix, or 'latest' (the newest export; the default).",
            show_default=False,
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="DATE",
            help="Show the newest snapshot dated on or before DATE (YYYY-MM-DD).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port on 127.0.0.1 to serve on. Default: a free one.", show_default=False
        ),
    ] = None,
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Do not open a web browser; just print the address.")
    ] = False,
    member: Annotated[
        str | None,
        typer.Option(
            "--member",
            metavar="NAME",
            help="Whose exports, when the vault holds several members' (default: the member "
            "of the snapshot shown, else of the newest export).",
            show_default=False,
        ),
    ] = None,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Read a snapshot in your web browser: connections, conversations, profile and more.

    Serves a page on 127.0.0.1 only and prints its address, with a one-time token, on the first line of stdout (with --json: a one-line JSON document holding it). Everything is decrypted in memory; nothing is written to disk. Stop it with Ctrl-C (exit 130; SIGTERM: exit 143).
    """  # noqa: E501 - typer keeps line breaks, so each paragraph is one line
    # Imported here: the web stack is only needed by this command.
    from .browse.guard import Guard
    from .browse.serve import Stopper, bind, exit_now, open_browser, run
    from .browse.source import SnapshotSource
    from .browse.webapp import build_app

    if snapshot_ref is not None and at is not None:
        raise UsageError("give either SNAPSHOT or --at DATE, not both")
    day = _parse_day(at) if at is not None else None
    sock = bind(port)
    stopped_by: BaseException | None = None  # the signal's interruption, if one stopped it
    try:
        opened = open_vault(vault)
        found = opened.attributed(opened.snapshots())
        print_warnings(opened)
        warn_rollback(opened, found)
        picked = (
            opened.find_at(day, found)
            if day is not None
            else opened.find(snapshot_ref, found)
            if snapshot_ref is not None
            else None
        )
        # One member's snapshots: person histories and "what changed" never mix two members.
        shown = one_member(found, member, picked)
        chosen = picked or opened.find("latest", shown.snapshots or found)
        if chosen not in shown:
            raise UsageError(
                f"snapshot {chosen.short_id} is not an export of {member}; see 'lkvault list'"
            )
        if not json:
            note_other_members(shown, member)
        source = SnapshotSource(opened, shown.snapshots)
        # Read in the background: the page answers at once ("reading…") and fills in when done.
        source.load_in_background(chosen, then_history=True)
        bound_port = sock.getsockname()[1]
        token = secrets.token_urlsafe(32)
        guarded = Guard(
            build_app(source, chosen),
            port=bound_port,
            token=token,
            session=secrets.token_urlsafe(32),
            scope=secrets.token_urlsafe(18),
        )
        url = f"http://127.0.0.1:{bound_port}/?token={token}"
        # From here a Ctrl-C (even one that comes before the server runs, or to a command
        # started with SIGINT ignored, as a shell does in the background) stops the server.
        stopper = Stopper()
        stopper.install()
        if json:
            print(jsonlib.dumps({"url": url, "snapshot": render.snapshot_json(chosen)}), flush=True)
        else:
            print(url, flush=True)
            if sys.stderr.isatty():
                render.stderr.print(
                    f"Showing snapshot {chosen.short_id} of {chosen.source}. Press Ctrl-C to stop.",
                    markup=False,
                )
        if not no_open:
            open_browser(url)
        run(guarded, sock, stopper)
        if stopper.signum is not None:
            stopped_by = entry.Interrupted(stopper.signum)
    except KeyboardInterrupt as interrupt:  # a signal before the Stopper was installed
        stopped_by = interrupt
    finally:
        sock.close()
    # Written directly: rich would print again what a print the signal cut short left in its
    # buffer.
    sys.stderr.write("Stopped; nothing was written to disk.\n")
    # 130 for Ctrl-C, 143 for SIGTERM, as every command: a script or service manager sees
    # that browse was stopped by a signal, not that it finished on its own.
    exit_now(0 if stopped_by is None else entry.exit_code(stopped_by))
