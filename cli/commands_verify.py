"""``lkvault verify``: check that the vault is intact, all of it or a part per run."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer
from lkvault.vault import UsageError

from . import render
from .app import EXIT_FAILED, JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import Vault


@app.command()
def verify(
    vault: VaultOption = None,
    json: JsonOption = False,
    read_data: Annotated[
        bool, typer.Option(help="Also decrypt every stored chunk and check it against its id.")
    ] = False,
    accept_rollback: Annotated[
        bool,
        typer.Option(
            help="Trust the vault as it is now (after putting back an older copy of it on "
            "purpose): shows the newest snapshot this computer had seen and the one it trusts "
            "from now on, then verifies."
        ),
    ] = False,
    read_data_subset: Annotated[
        str | None,
        typer.Option(
            metavar="P%|n/t",
            help="Read only part of the data: n/t reads part n of t (the t parts together are "
            "all of it); P% reads the next part of 100/P on each run, so runs cover it all.",
        ),
    ] = None,
) -> None:
    """Check that the vault is intact and name every damaged object; exit 1 if not."""
    opened = open_vault(vault)
    if accept_rollback:
        seen, newest = opened.accept_current_head()
        render.accepted_rollback(None if seen is None else (seen.seq, seen.snapshot_id), newest)
    if read_data_subset is not None:
        verify_subset(opened, read_data_subset, json)
        return
    report = opened.verify(read_data=read_data, progress=render.BarProgress(not json))
    print_warnings(opened)
    if json:
        render.emit_json(render.verify_json(report))
    else:
        render.verify_text(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


_PART = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_data_subset(text: str) -> tuple[int | None, int]:
    """``n/t`` -> (n, t); ``P%`` -> (None, t) with t parts of at least P% each (the part is
    chosen at run time, rotating)."""
    part = _PART.match(text)
    if part:
        n, t = int(part.group(1)), int(part.group(2))
        if not 1 <= n <= t:
            raise UsageError(f"--read-data-subset {text}: n/t needs 1 <= n <= t")
        return n, t
    percent = _PERCENT.match(text)
    if percent:
        share = float(percent.group(1))
        if not 0 < share <= 100:
            raise UsageError(
                f"--read-data-subset {text}: the percentage must be above 0, at most 100"
            )
        return None, max(1, int(100 // share))
    raise UsageError(
        f"--read-data-subset {text!r}: give a percentage (10%) or a part (n/t, e.g. 2/5)"
    )


def verify_subset(opened: Vault, spec: str, json: bool) -> None:
    """verify --read-data-subset: part n of t, or the next part of P% parts; exit 1 if the
    vault is damaged."""
    part, parts = parse_data_subset(spec)
    report = opened.verify_part(part, parts, progress=render.BarProgress(not json))
    print_warnings(opened)
    assert report.subset is not None
    chosen, parts = report.subset
    if json:
        document = render.verify_json(report)
        document["subset"] = {"part": chosen, "parts": parts}
        render.emit_json(document)
    else:
        for note in report.notes:
            render.stderr.print(render.shown(f"note: {note}"), markup=False)
        scope = f"structure and part {chosen} of {parts} of the data"
        if report.ok:
            render.stdout.print(
                f"Vault is intact: {render.plural(report.snapshots, 'snapshot')}, "
                f"{render.plural(report.packs, 'pack')} checked ({scope}), "
                f"{report.blobs_checked:,} chunks ({render.human_size(report.bytes_checked)}) "
                "re-hashed."
            )
        else:
            render.verify_problems(report, scope)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
