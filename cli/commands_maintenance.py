"""Giving storage back as a vault lives on for years: ``lkvault forget``, ``prune``,
``compact``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from lkvault.vault import UsageError

from . import render
from .app import DryRunOption, JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import CompactResult, ForgetPlan, PruneResult

MaxTimeOption = Annotated[
    str | None,
    typer.Option(
        "--max-time",
        metavar="LIMIT",
        help="Start no new pack of compact's work after LIMIT (e.g. 90s, 20m, 1h30m); the "
        "next run goes on where this one stopped. Default: until done.",
        show_default=False,
    ),
]


MaxMemoryOption = Annotated[
    int | None,
    typer.Option(
        "--max-memory",
        metavar="MB",
        min=16,
        help="Memory compact's compressions may take together, in MiB; less memory squeezes "
        "large frames at lower levels. Default: 80, enough to squeeze a frame against a "
        "full dictionary at the highest level and a merged first-export frame a little "
        "lower, in about 150 MB for the whole process.",
        show_default=False,
    ),
]


NoCompactOption = Annotated[
    bool,
    typer.Option(
        "--no-compact",
        help="Skip compact's work after pruning. What the vault then gives up: new "
        "snapshots stay compressed at the fast level, about 1.2x (small exports) to 2x "
        "(medium ones, a year) the storage of a compacted vault, until 'lkvault compact' "
        "or a prune without this option runs.",
    ),
]


def _budgets(max_time: str | None, max_memory: int | None) -> tuple[float | None, int | None]:
    """Compact's time and memory budgets from the command line, in seconds and bytes."""
    seconds = parse_time_limit(max_time) if max_time is not None else None
    return seconds, None if max_memory is None else max_memory * 1024 * 1024


def _count(name: str, what: str) -> Any:
    return typer.Option(f"--keep-{name}", min=0, metavar="N", help=what)


@app.command()
def forget(
    snapshots: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[SNAPSHOT]...",
            help="Snapshot ids (or unique prefixes) to forget, instead of a policy.",
            show_default=False,
        ),
    ] = None,
    keep_last: Annotated[int, _count("last", "Keep the newest N snapshots.")] = 0,
    keep_daily: Annotated[
        int, _count("daily", "Keep the newest snapshot of each of the N newest days.")
    ] = 0,
    keep_weekly: Annotated[
        int, _count("weekly", "Keep the newest snapshot of each of the N newest weeks.")
    ] = 0,
    keep_monthly: Annotated[
        int, _count("monthly", "Keep the newest snapshot of each of the N newest months.")
    ] = 0,
    keep_yearly: Annotated[
        int, _count("yearly", "Keep the newest snapshot of each of the N newest years.")
    ] = 0,
    keep_within: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Keep every snapshot whose date is within DURATION before the newest one's "
            "(e.g. 30d, 2w, 6m, 1y6m; at most 1000y).",
        ),
    ] = None,
    dry_run: DryRunOption = False,
    prune: Annotated[
        bool,
        typer.Option("--prune", help="Then remove the data nothing needs any more, and compact."),
    ] = False,
    no_compact: NoCompactOption = False,
    max_time: MaxTimeOption = None,
    max_memory: MaxMemoryOption = None,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Remove snapshots by a retention policy (--keep-...) or by id; their data stays until
    prune (or --prune).

    Every rule counts the date of the export: the date in its file or folder name, else the
    newest time on its members, else the day it was stored, so old exports stored on one day
    keep their own days, months and years; the table names the date used. Snapshots stored at
    a time in the future or out of sequence, or named for a day after they were stored,
    count for no rule and are kept. A vault of several members' exports keeps what the
    rules say of each member's, and files that are not exports are counted apart."""
    from lkvault.vault import Policy, parse_duration

    seconds, memory = _budgets(max_time, max_memory)
    policy = Policy(
        last=keep_last,
        daily=keep_daily,
        weekly=keep_weekly,
        monthly=keep_monthly,
        yearly=keep_yearly,
        within=parse_duration(keep_within) if keep_within is not None else None,
    )
    opened = open_vault(vault)
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    plan = opened.forget(policy, list(snapshots or []), zone=zone, dry_run=dry_run)
    print_warnings(opened)
    for verdict in plan.flagged:
        render.warning_line(
            f"snapshot #{verdict.candidate.seq} ({verdict.candidate.id.hex()[:8]}) is "
            f"{'; '.join(verdict.flags)}: it counts for no rule and is kept; if it is not "
            "yours, forget it by id"
        )
    pruned = None
    if prune and not dry_run:
        pruned = opened.prune(
            progress=render.BarProgress(not json),
            compact=not no_compact,
            max_seconds=seconds,
            memory=memory,
        )
    if json:
        document = _forget_json(plan, dry_run)
        document["prune"] = _prune_json(pruned) if pruned is not None else None
        render.emit_json(document)
        return
    _forget_text(plan, dry_run, pruning=pruned is not None)
    if pruned is not None:
        _prune_text(pruned)


def _forget_json(plan: ForgetPlan, dry_run: bool) -> dict[str, Any]:
    from lkvault.vault import dated_day

    verdicts = {v.candidate.id: v for v in plan.verdicts}
    going = {s.id for s in plan.remove}
    rows = []
    for snap in plan.history:
        verdict = verdicts.get(snap.id)
        day, day_from = dated_day(snap)
        rows.append(
            {
                **render.snapshot_json(snap),
                "date": day.isoformat(),
                "date_from": day_from,
                "keep": snap.id not in going,
                "reasons": verdict.reasons if verdict else [],
                "flags": verdict.flags if verdict else [],
            }
        )
    return {
        "dry_run": dry_run,
        "reason": plan.reason,
        "snapshots": rows,
        "forgotten": [s.id.hex() for s in plan.remove],
    }


def _forget_text(plan: ForgetPlan, dry_run: bool, *, pruning: bool = False) -> None:
    from lkvault.vault import dated_day
    from rich.text import Text  # with the table: only when one is drawn

    verdicts = {v.candidate.id: v for v in plan.verdicts}
    going = {s.id for s in plan.remove}
    table = render.new_table()
    for column in ("ID", "Date", "Date from", "Stored", "Source", "", "Why"):
        table.add_column(column, overflow="fold")
    for snap in plan.history:
        verdict = verdicts.get(snap.id)
        if snap.id in going:
            action, why = "forget", "named" if verdict is None else "no rule keeps it"
        elif verdict is None:
            continue  # forgetting by id: only the named snapshots are of interest
        else:
            action, why = "keep", ", ".join(verdict.reasons)
        day, day_from = dated_day(snap)
        table.add_row(
            snap.short_id,
            day.isoformat(),
            day_from,
            render.local_time(snap.time),
            Text(snap.source),
            action,
            why,
        )
    if plan.history:
        render.stdout.print(table)
    kept = len(plan.history) - len(plan.remove)
    if dry_run:
        render.stdout.print(
            f"Would forget {render.plural(len(plan.remove), 'snapshot')} and keep {kept} "
            "(dry run: nothing was changed)."
        )
    else:
        hint = " Run 'lkvault prune' to free their data." if plan.remove and not pruning else ""
        render.stdout.print(
            f"Forgot {render.plural(len(plan.remove), 'snapshot')}; {kept} kept.{hint}"
        )


@app.command()
def prune(
    dry_run: DryRunOption = False,
    no_compact: NoCompactOption = False,
    max_time: MaxTimeOption = None,
    max_memory: MaxMemoryOption = None,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Remove the data no snapshot needs, repacking packs that are partly needed. Frames of
    kept snapshots that were compressed against removed data are re-encoded, so nothing of a
    forgotten snapshot's content stays in the vault (see SECURITY.md for what does). Then do
    compact's work (unless --no-compact), within --max-time and --max-memory. Safe to
    interrupt at any moment: the next run finishes the job."""
    seconds, memory = _budgets(max_time, max_memory)
    opened = open_vault(vault)
    result = opened.prune(
        dry_run=dry_run,
        progress=render.BarProgress(not json),
        compact=not no_compact,
        max_seconds=seconds,
        memory=memory,
    )
    print_warnings(opened)
    if json:
        render.emit_json({"dry_run": dry_run, **_prune_json(result)})
    else:
        _prune_text(result, dry_run)


def _prune_json(result: PruneResult) -> dict[str, Any]:
    plan = result.plan
    return {
        "snapshots": plan.snapshots,
        "blobs_used": plan.blobs_used,
        "blobs_unused": plan.blobs_unused,
        "bytes_unused": plan.bytes_unused,
        "bytes_repacked": plan.bytes_repack,
        "frames_reencoded": plan.frames_reencoded,
        "bytes_reencoded": plan.bytes_reencoded,
        "packs_kept": len(plan.keep),
        "packs_repacked": len(plan.repack),
        "packs_deleted": len(plan.delete),
        "packs_unreferenced": len(plan.unreferenced),
        "index_rewritten": plan.rewrite_index,
        "packs_written": result.packs_written,
        "bytes_freed": result.bytes_freed,
        "bytes_written": result.bytes_written,
        "bytes_freed_net": result.net_freed,
        "compact": None if result.compacted is None else _compact_json(result.compacted),
    }


def _prune_text(result: PruneResult, dry_run: bool = False) -> None:
    _pruned_text(result, dry_run)
    if result.compacted is not None:
        _compact_text(result.compacted, dry_run)


def _pruned_text(result: PruneResult, dry_run: bool) -> None:
    plan = result.plan
    if plan.nothing_to_do:
        render.stdout.print(
            f"Nothing to prune: every stored blob is needed by the "
            f"{render.plural(plan.snapshots, 'snapshot')}."
        )
        return
    goes = len(plan.delete) + len(plan.unreferenced)
    lines = [
        f"{render.plural(plan.blobs_unused, 'unneeded blob')} "
        f"({render.human_size(plan.bytes_unused)} of content)",
        f"{render.plural(goes, 'pack')} to delete, {len(plan.repack)} to repack "
        f"({render.human_size(plan.bytes_repack)} still needed), {len(plan.keep)} kept",
    ]
    if plan.frames_reencoded:
        lines.append(
            f"{render.plural(plan.frames_reencoded, 'frame')} to re-encode without the "
            f"unneeded data it was compressed against ({render.human_size(plan.bytes_reencoded)})"
        )
    if dry_run:
        render.stdout.print("Prune would remove " + "; ".join(lines) + " (dry run).")
        return
    net = result.net_freed
    change = (
        f"The vault is {render.human_size(net)} smaller"
        if net >= 0
        else f"The vault grew by {render.human_size(-net)} (re-encoded frames no longer draw "
        "on the removed data)"
    )
    render.stdout.print(
        "Pruned: " + "; ".join(lines) + f". {change}: deleted "
        f"{render.human_size(result.bytes_freed)}, wrote {render.human_size(result.bytes_written)}."
    )


_TIME_PART = re.compile(r"(\d+)([smh])")


_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_time_limit(text: str) -> float:
    """Seconds from a time limit like ``90s``, ``20m``, ``1h30m`` (a bare number: minutes)."""
    compact = text.strip().lower().replace(" ", "")
    if compact.isdigit():
        compact += "m"
    if not compact or _TIME_PART.sub("", compact):
        raise UsageError(
            f"{text!r} is not a time limit; write it like 90s, 20m or 1h30m "
            "(s seconds, m minutes, h hours)"
        )
    seconds = sum(int(n) * _SECONDS[unit] for n, unit in _TIME_PART.findall(compact))
    if seconds <= 0:
        raise UsageError(f"time limit {text!r} is zero; compact would do nothing")
    return float(seconds)


@app.command()
def compact(
    max_time: MaxTimeOption = None,
    max_memory: MaxMemoryOption = None,
    dry_run: DryRunOption = False,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Compress again, hard, what snapshots stored quickly: snapshots compress at a fast
    level, and this buys back the last 20-30 % of storage (about half on a year of medium
    exports), and merges the frames a first export is stored in. 'prune' does this
    too. Safe to interrupt at any moment; the next run goes on from there."""
    seconds, memory = _budgets(max_time, max_memory)
    opened = open_vault(vault)
    result = opened.compact(
        max_seconds=seconds,
        memory=memory,
        dry_run=dry_run,
        progress=render.BarProgress(not json),
    )
    print_warnings(opened)
    if json:
        render.emit_json({"dry_run": dry_run, **_compact_json(result)})
    else:
        _compact_text(result, dry_run)


def _compact_json(result: CompactResult) -> dict[str, Any]:
    plan = result.plan
    return {
        "packs_to_rewrite": len(plan.packs),
        "frames_to_squeeze": plan.frames,
        "bytes_to_squeeze": plan.raw_bytes,
        "packs_unreferenced": len(plan.unreferenced),
        "frames_to_merge": sum(len(group) for group in plan.merge_groups),
        "rebase": bool(plan.moves),
        "rebase_chain_frames": len(plan.chains),
        "newest_scratch_bytes": plan.scratch,
        "newest_content_bytes": plan.content,
        "packs_rewritten": result.packs_done,
        "frames_squeezed": result.frames_squeezed,
        "bytes_before": result.bytes_before,
        "bytes_after": result.bytes_after,
        "bytes_freed": result.bytes_freed,
        "bytes_written": result.bytes_written,
        "finished": result.finished,
    }


def _compact_text(result: CompactResult, dry_run: bool) -> None:
    plan = result.plan
    if plan.nothing_to_do:
        render.stdout.print("Nothing to compact: every frame is squeezed already.")
        return
    size = render.human_size
    packs = render.plural(len(plan.packs), "pack")
    todo = (
        f"{render.plural(plan.frames, 'frame')} ({size(plan.raw_bytes)} of content, "
        f"{size(plan.stored_bytes)} stored) in {packs}"
    )
    if plan.moves:
        todo += (
            f", rebasing the newest snapshot (restoring it decodes {size(plan.scratch)} "
            f"of dictionary frames for {size(plan.content)} of content; "
            f"{render.plural(len(plan.chains), 'older frame')} compressed again against "
            "its moved blobs)"
        )
    if dry_run:
        render.stdout.print(f"Compact would squeeze {todo} (dry run).")
        return
    saved = result.bytes_before - result.bytes_after
    render.stdout.print(
        f"Compacted {render.plural(result.packs_done, 'pack')}: "
        f"{render.plural(result.frames_squeezed, 'frame')} squeezed, "
        f"{size(result.bytes_before)} -> {size(result.bytes_after)} "
        f"(saved {size(max(saved, 0))}); freed {size(result.bytes_freed)}."
    )
    if not result.finished:
        render.stdout.print(
            "Stopped at the time limit with "
            f"{render.plural(len(plan.packs) - result.packs_done, 'pack')} left; "
            "run 'lkvault compact' again to go on."
        )
