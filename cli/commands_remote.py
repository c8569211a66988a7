"""The 'lkvault copy' command: snapshots from one vault into another (folder, S3 or SFTP)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from lkvault.vault import UsageError, VaultNotFound, parse_location

from . import config, render
from .app import JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import CopyOutcome, Snapshot


def _outcome_json(outcome: CopyOutcome) -> dict[str, Any]:
    return {
        "copied": outcome.copied,
        "source": render.snapshot_json(outcome.source),
        "target": render.snapshot_json(outcome.target),
    }


def _outcome_line(outcome: CopyOutcome) -> str:
    source, target = outcome.source, outcome.target
    what = f"{source.source} of {render.local_time(source.time)}"
    if not outcome.copied:
        return f"skipped {source.short_id}  {what}: already in the target as {target.short_id}"
    new = render.human_size(target.stats.get("stored_bytes", 0))
    return f"copied  {source.short_id}  {what} as {target.short_id} ({new} written)"


def _announce(number: int, total: int, snap: Snapshot) -> None:
    render.stderr.print(
        f"Copying {number} of {total}: {snap.short_id} {snap.source} "
        f"({render.human_size(snap.size)}, {render.local_time(snap.time)})",
        markup=False,
    )


COPY_HELP = (
    "Copy snapshots into another vault, such as an off-site one, re-encrypted for its keys.\n\n"
    "Each snapshot keeps its time and source name; only content the target lacks is stored, "
    "and snapshots it already has are skipped, so an interrupted copy can simply be run again. "
    "Copying everything into a new vault is also the way to replace a vault's master secret."
)


@app.command(help=COPY_HELP)
def copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="VAULT",
            help="The vault to copy into: a folder, s3://bucket/prefix or sftp://user@host/path. "
            "Create it first with 'lkvault init --vault VAULT'.",
            show_default=False,
        ),
    ],
    snapshots: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SNAPSHOT",
            help="Snapshots to copy: ids, unique id prefixes or 'latest'. Default: all.",
            show_default=False,
        ),
    ] = None,
    to_password_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Read the target vault's passphrase from this file (else "
            "$LKVAULT_TO_PASSWORD_COMMAND, $LKVAULT_TO_PASSWORD_FILE, $LKVAULT_TO_PASSWORD, "
            "or a prompt in a terminal).",
        ),
    ] = None,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Copy snapshots into another vault (see COPY_HELP)."""
    from lkvault.vault import Vault

    source_location = config.vault_location(vault)
    if parse_location(to) == parse_location(source_location):
        raise UsageError("--to names this same vault; give the location of another vault")
    source = open_vault(vault)
    target_backend = config.backend_for(to)
    if not target_backend.exists("config"):  # say so before asking for its passphrase
        raise VaultNotFound(f"no vault at {to} (create one with 'lkvault init --vault {to}')")
    target = Vault.open(
        target_backend, config.target_passphrase(to_password_file, to), config.environment()
    )
    outcomes: list[CopyOutcome] = []
    try:
        for outcome in source.copy_to(
            target,
            snapshots or [],
            progress=render.BarProgress(not json),
            on_start=None if json else _announce,
        ):
            outcomes.append(outcome)
            if not json:
                render.stdout.print(_outcome_line(outcome), markup=False)
    finally:
        print_warnings(source)
        print_warnings(target)
    copied = sum(1 for o in outcomes if o.copied)
    if json:
        render.emit_json(
            {
                "from": source.location,
                "to": target.location,
                "copied": copied,
                "skipped": len(outcomes) - copied,
                "snapshots": [_outcome_json(o) for o in outcomes],
            }
        )
        return
    if not outcomes:
        render.stdout.print("Nothing to copy: the vault has no snapshots yet.")
        return
    already = len(outcomes) - copied
    render.stdout.print(
        f"Copied {render.plural(copied, 'snapshot')} to {target.location}"
        + (f"; {already} {'was' if already == 1 else 'were'} already there." if already else "."),
        markup=False,
    )
