"""``lkvault repair``: remove what is broken, keep every snapshot that is still whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .app import DryRunOption, JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import RepairReport


@app.command()
def repair(
    dry_run: DryRunOption = False,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """After damage: keep every snapshot that is still whole, remove only what is broken, and
    say which snapshots were lost and why. Reads all data."""
    opened = open_vault(vault)
    report = opened.repair(dry_run=dry_run, progress=render.BarProgress(not json))
    print_warnings(opened)
    if json:
        render.emit_json(_repair_json(report))
    else:
        _repair_text(report, opened.location)


def _repair_json(report: RepairReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "changed": report.changes and not report.dry_run,
        "snapshots_kept": report.kept,
        "snapshots_lost": [
            {"short_id": s.short_id, "source": s.source, "reason": s.reason} for s in report.lost
        ],
        "damaged_index_files": [{"name": n, "problem": p} for n, p in report.damaged_index],
        "broken_packs": [{"name": n, "problem": p} for n, p in report.broken_packs],
        "recovered_packs": report.recovered_packs,
        "blobs_salvaged": report.blobs_salvaged,
        "blobs_lost": report.blobs_lost,
        "notes": report.notes,
        "foreign_files_set_aside": [{"name": n, "moved_to": t} for n, t in report.set_aside],
    }


def _repair_text(report: RepairReport, report_location: str) -> None:
    out = render.stdout
    for note in report.notes:
        render.stderr.print(render.shown(f"note: {note}"), markup=False)
    if report.set_aside:
        moved = "would be moved" if report.dry_run else "moved"
        out.print(
            f"{render.plural(len(report.set_aside), 'foreign file')} (not vault objects) "
            f"{moved} aside, in the vault at {report_location}:",
            markup=False,
        )
        for name, target in report.set_aside:
            out.print(render.shown(f"  {name} -> {target}"), markup=False)
    if not report.changes:
        out.print(
            f"Nothing to repair: {render.plural(report.kept, 'snapshot')} whole "
            "(all data was read)."
        )
        return
    verb = "Would" if report.dry_run else "Did"
    for name, problem in report.damaged_index:
        out.print(f"  index file {name}: {problem} -> rebuilt from the pack headers", markup=False)
    for name, problem in report.broken_packs:
        action = (
            "dropped from the index"
            if problem == "pack is missing"
            else ("whole blobs copied, pack removed")
        )
        out.print(f"  {name}: {problem} -> {action}", markup=False)
    for name in report.recovered_packs:
        out.print(f"  {name}: listed by no index -> indexed again from its header", markup=False)
    for lost in report.lost:
        source = f" ({lost.source})" if lost.source else ""
        out.print(f"  snapshot {lost.short_id}{source} is lost: {lost.reason}", markup=False)
    out.print(
        f"{verb} repair: {render.plural(report.kept, 'snapshot')} kept whole, "
        f"{render.plural(len(report.lost), 'snapshot')} lost, "
        f"{render.plural(report.blobs_salvaged, 'blob')} salvaged"
        + (" (dry run: nothing was changed)." if report.dry_run else ".")
    )
