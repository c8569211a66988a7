"""``lkvault restore``, ``ls`` and ``cat``: a stored export back as a file, its members, or
one member."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from lkvault.vault import Interrupted, UsageError

from . import render
from .app import EXIT_FAILED, JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import Snapshot, Vault


@app.command()
def restore(
    snapshot_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="[SNAPSHOT]",
            help="Snapshot id, unique id prefix, or 'latest' (the newest export).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help="File to write the archive to ('-': stdout)."
        ),
    ] = None,
    extract: Annotated[
        Path | None,
        typer.Option(
            "--extract", metavar="DIR", help="Write the archive's members into this folder instead."
        ),
    ] = None,
    vault: VaultOption = None,
    json: JsonOption = False,
    force: Annotated[bool, typer.Option(help="Replace files that already exist.")] = False,
    at: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Instead of SNAPSHOT: the newest export dated on or before DATE (YYYY-MM-DD).",
        ),
    ] = None,
) -> None:
    """Write a snapshot's archive back byte for byte (-o FILE), or its members (--extract DIR)."""
    from .choosing import snapshot_at

    if (output is None) == (extract is None):
        raise UsageError("give either -o FILE (the archive) or --extract DIR (its members)")
    if (snapshot_ref is None) == (at is None):
        raise UsageError("give either SNAPSHOT (an id or 'latest') or --at DATE")
    opened = open_vault(vault)
    if at is not None:
        snapshot_ref = snapshot_at(opened, at).id.hex()
    assert snapshot_ref is not None
    try:
        _restore(opened, snapshot_ref, output, extract, json, force)
    finally:
        print_warnings(opened)


def _restore(
    opened: Vault,
    snapshot_ref: str,
    output: Path | None,
    extract: Path | None,
    json: bool,
    force: bool,
) -> None:
    progress = render.BarProgress(not json)
    if extract is not None:
        chosen, result = opened.extract(
            snapshot_ref, extract, force=force, progress=progress, on_chosen=_fit_heap
        )
        for warning in result.warnings:
            render.warning_line(warning)
        for failure in result.failed:
            render.warning_line(f"not written: {failure}")
        if json:
            render.emit_json(
                {
                    "snapshot": render.snapshot_json(chosen),
                    "folder": str(extract),
                    "written": result.written,
                    "warnings": result.warnings,
                    "failed": result.failed,
                }
            )
        else:
            render.stdout.print(
                f"Extracted {render.plural(len(result.written), 'file')} of {chosen.source} "
                f"(snapshot {chosen.short_id}) into {extract}",
                markup=False,
            )
        if result.failed:
            render.error_line(
                f"{render.plural(len(result.failed), 'member')} could not be written "
                f"(listed above); the other {render.plural(len(result.written), 'file')} "
                f"{'was' if len(result.written) == 1 else 'were'} written"
            )
            raise typer.Exit(EXIT_FAILED)
        return
    assert output is not None
    if str(output) == "-":
        _restore_to_stdout(opened, snapshot_ref, json)
        return
    chosen = opened.restore(
        snapshot_ref, output, force=force, progress=progress, on_chosen=_fit_heap
    )
    if json:
        render.emit_json({"snapshot": render.snapshot_json(chosen), "output": str(output)})
    else:
        render.stdout.print(
            f"Restored {chosen.source} from snapshot {chosen.short_id} to {output} "
            f"(SHA-256 verified)",
            markup=False,
        )


@app.command("ls")
def ls(
    snapshot_ref: Annotated[
        str,
        typer.Argument(
            metavar="SNAPSHOT",
            help="Snapshot id, unique id prefix, or 'latest' (the newest export).",
        ),
    ] = "latest",
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """List the files inside a stored export: size and name (for 'lkvault cat')."""
    opened = open_vault(vault)
    chosen, members = opened.members(snapshot_ref)
    print_warnings(opened)
    files = [m for m in members if not m.is_dir]
    if json:
        render.emit_json(
            {
                "snapshot": render.snapshot_json(chosen),
                "files": [{"name": m.name, "size": m.size} for m in files],
            }
        )
        return
    if not members:
        render.stdout.print(
            f"Snapshot {chosen.short_id} is a single file, not a zip: {chosen.source} "
            f"({chosen.size:,} bytes)",
            markup=False,
        )
        return
    width = max((len(f"{m.size:,}") for m in files), default=1)
    for m in files:
        print(f"{m.size:>{width},}  {render.shown(m.name)}")  # a name from the export: escaped
    total = sum(m.size for m in files)
    render.stderr.print(
        f"{render.plural(len(files), 'file')}, {total:,} bytes, in snapshot {chosen.short_id} "
        f"({chosen.source})",
        markup=False,
    )


def _fit_heap(chosen: Snapshot) -> None:
    """As for a snapshot, the archive's size sets the heap: a small one's buffers are reused."""
    from .heap import fit_to_input

    fit_to_input(chosen.size)


def _restore_to_stdout(opened: Vault, snapshot_ref: str, json: bool) -> None:
    """``restore -o -``: the archive on stdout, checked against its SHA-256 at the end."""
    if json:
        raise UsageError("-o - writes the archive to stdout; it cannot go with --json")
    if sys.stdout.isatty():
        raise UsageError("-o - writes binary data to stdout; redirect it to a file or a pipe")
    chosen = opened.find(snapshot_ref)
    _fit_heap(chosen)
    out = sys.stdout.buffer
    try:
        for block in opened.archive(chosen):  # raises IntegrityError after a mismatch
            out.write(block)
        out.flush()
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; restore stopped, the archive written to stdout is incomplete (throw "
            "it away); the vault is unchanged"
        ) from None
    render.stderr.print(
        f"Restored {chosen.source} from snapshot {chosen.short_id} to stdout (SHA-256 verified)",
        markup=False,
    )


@app.command()
def cat(
    snapshot_ref: Annotated[
        str,
        typer.Argument(
            metavar="SNAPSHOT",
            help="Snapshot id, unique id prefix, or 'latest' (the newest export).",
        ),
    ],
    member: Annotated[
        str, typer.Argument(help="Member name, e.g. Connections.csv (any folder, any case).")
    ],
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Print one member of a stored export (such as Connections.csv) to stdout."""
    opened = open_vault(vault)
    if json:
        content = b"".join(opened.cat(snapshot_ref, member))
        try:
            text: str | None = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        render.emit_json(
            {
                "member": member,
                "size": len(content),
                "text": text,
                "base64": None if text is not None else base64.b64encode(content).decode(),
            }
        )
    else:
        if sys.stdout.isatty():  # a person reads it: nothing in it may act on the terminal
            shown = render.TerminalText()
            for block in opened.cat(snapshot_ref, member):
                shown.write(block)
            shown.write(b"", final=True)
            sys.stdout.flush()
        else:
            out = sys.stdout.buffer
            for block in opened.cat(snapshot_ref, member):
                out.write(block)
            out.flush()
    print_warnings(opened)
