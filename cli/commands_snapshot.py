"""``lkvault init``, ``snapshot`` and ``list``: create a vault, store exports, see what it holds."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from lkvault.vault import Interrupted, UsageError

from . import config, render
from .app import (
    JsonOption,
    VaultOption,
    app,
    open_vault,
    open_vault_while,
    print_warnings,
    warn_rollback,
)

if TYPE_CHECKING:
    from lkvault.vault import Snapshot, Vault


@app.command()
def init(
    vault: VaultOption = None,
    json: JsonOption = False,
    new_password_file: Annotated[
        Path | None,
        typer.Option(help="Read the new passphrase from this file (else $LKVAULT_NEW_PASSWORD)."),
    ] = None,
    exist_ok: Annotated[
        bool,
        typer.Option(help="Succeed if a vault already exists there and the passphrase opens it."),
    ] = False,
) -> None:
    """Create a new vault (asks for a passphrase twice)."""
    from lkvault.vault import Vault

    location = config.vault_location(vault)
    backend = config.backend_for(location)
    if exist_ok and backend.exists("config"):
        opened = Vault.open(backend, config.passphrase(), config.environment())
        created = False
    else:
        opened = Vault.init(backend, config.new_passphrase(new_password_file), config.environment())
        created = True
    vault_id = opened.vault_id.hex()
    if json:
        render.emit_json({"location": location, "vault_id": vault_id, "created": created})
    elif created:
        render.stdout.print(f"Created vault {vault_id[:8]} at {location}", markup=False)
        render.stdout.print(
            "Keep your passphrase safe: without it nobody, including you, can read this vault."
        )
    else:
        render.stdout.print(f"Vault {vault_id[:8]} at {location} already exists", markup=False)


@app.command()
def snapshot(
    file: Annotated[
        Path,
        typer.Argument(help="The export to store, e.g. Basic_LinkedInDataExport_01-15-2026.zip"),
    ],
    vault: VaultOption = None,
    json: JsonOption = False,
    opaque: Annotated[
        bool,
        typer.Option(
            help="Store the file as opaque bytes, without reading it as a zip (e.g. a damaged zip)."
        ),
    ] = False,
    any_file: Annotated[
        bool,
        typer.Option(
            "--any-file",
            help="Store the file even if it is not a LinkedIn export (without it, anything but "
            "an export zip or an early contacts export is refused).",
        ),
    ] = False,
) -> None:
    """Store a LinkedIn export in the vault; prints the new snapshot's id.

    Anything else is refused unless you ask for it with --any-file (or --opaque).
    """
    from lkvault.vault import Vault, stored_message

    from .heap import fit_to_input

    if not file.is_file():
        raise UsageError(f"{file} does not exist or is not a file")
    with contextlib.suppress(OSError):  # gone meanwhile: the snapshot says so
        fit_to_input(file.stat().st_size)
    opened, prepared = open_vault_while(
        vault,
        lambda vault_open: Vault.prepare_snapshot(
            file, opaque=opaque, any_file=any_file, keep_probing=lambda: not vault_open()
        ),
    )
    created, new = opened.snapshot_once(
        file,
        progress=render.BarProgress(not json),
        opaque=opaque,
        any_file=any_file,
        prepared=prepared,
    )
    try:
        _report_snapshot(opened, file, created, new, json)
    except KeyboardInterrupt:
        already = "interrupted; nothing was stored (the file is in the vault already)"
        raise Interrupted(stored_message(created) if new else already) from None


def _report_snapshot(opened: Vault, file: Path, created: Snapshot, new: bool, json: bool) -> None:
    print_warnings(opened)
    if not new:  # issue 4: an identical archive is not stored twice
        render.already_stored(file, created, json)
        return
    if json:
        render.emit_json(render.snapshot_json(created) | {"already_stored": False})
        return
    for warning in created.warnings:
        render.warning_line(warning)
    if sys.stdout.isatty():
        stats = created.stats
        render.stderr.print(
            f"Stored {created.source} ({render.human_size(created.size)}): "
            f"{render.human_size(stats.get('new_bytes', 0))} of new content, "
            f"{render.human_size(stats.get('stored_bytes', 0))} written to the vault.",
            markup=False,
        )
    print(created.id.hex())


@app.command("list")
def list_(
    vault: VaultOption = None,
    json: JsonOption = False,
    at: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Show only the snapshot --at DATE picks: the newest export dated on or "
            "before DATE (YYYY-MM-DD).",
        ),
    ] = None,
) -> None:
    """List snapshots: id, time, source name, size, SHA-256 and what the export holds."""
    from .choosing import snapshot_at

    opened = open_vault(vault)
    found = opened.snapshots()
    print_warnings(opened)
    warn_rollback(opened, found)
    found = opened.attributed(found)  # whose export each is, also of lkvault 0.3 and before
    if at is not None:
        found = [snapshot_at(opened, at, found)]
    if json:
        render.emit_json([render.snapshot_json(s) for s in found])
    else:
        render.snapshot_table(found)
