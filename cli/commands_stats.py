"""``lkvault stats``: sizes, ratios, and what each snapshot added."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .app import JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import VaultStats


@app.command()
def stats(vault: VaultOption = None, json: JsonOption = False) -> None:
    """Sizes and ratios of the vault, and what each snapshot added."""
    opened = open_vault(vault)
    result = opened.stats()
    print_warnings(opened)
    if json:
        render.emit_json(_stats_json(result))
    else:
        _stats_text(result)


def _stats_json(result: VaultStats) -> dict[str, Any]:
    return {
        "snapshots": len(result.snapshots),
        "logical_size": result.logical,
        "content_size": result.content,
        "unique_content_size": result.unique_content,
        "stored_size": result.stored,
        "unused_content_size": result.unused_content,
        "unused_stored_size": result.unused_stored,
        "dedup_ratio": round(result.dedup_ratio, 3),
        "compression_ratio": round(result.compression_ratio, 3),
        "stored_share_of_logical": round(result.space_ratio, 4),
        "files": {k: {"count": c, "size": s} for k, (c, s) in result.files.items()},
        "per_snapshot": [
            {
                "id": u.snapshot.id.hex(),
                "short_id": u.snapshot.short_id,
                "seq": u.snapshot.seq,
                "time": u.snapshot.time.isoformat(),
                "source": u.snapshot.source,
                "size": u.snapshot.size,
                "readable": u.readable,
                "content_size": u.content,
                "added_content": u.added,
                "added_stored": u.added_stored,
                "unique_content": u.unique,
                "unique_stored": u.unique_stored,
            }
            for u in result.snapshots
        ],
    }


def _stats_text(result: VaultStats) -> None:
    size = render.human_size
    out = render.stdout
    out.print(
        f"{render.plural(len(result.snapshots), 'snapshot')} of {size(result.logical)} in all; "
        f"the vault stores them in {size(result.stored)}"
        + (f" ({result.space_ratio:.1%} of their size)." if result.logical else ".")
    )
    out.print(
        f"Content: {size(result.content)} referenced, {size(result.unique_content)} unique "
        f"(deduplication {result.dedup_ratio:.1f}x), stored in about "
        f"{size(result.unique_stored)} (compression {result.compression_ratio:.1f}x)."
    )
    if result.unused_content:
        out.print(
            f"Not needed by any snapshot: {size(result.unused_content)} of content (about "
            f"{size(result.unused_stored)} stored); 'lkvault prune' removes it."
        )
    if not result.snapshots:
        return
    table = render.new_table()
    for column in ("ID", "Time", "Source", "Size", "Added", "Added stored", "Only here"):
        table.add_column(column, justify="left" if column in ("ID", "Time", "Source") else "right")
    for u in result.snapshots:
        if not u.readable:
            table.add_row(u.snapshot.short_id, "", u.snapshot.source, "", "unreadable", "", "")
            continue
        table.add_row(
            u.snapshot.short_id,
            render.local_time(u.snapshot.time),
            u.snapshot.source,
            size(u.snapshot.size),
            size(u.added),
            size(u.added_stored),
            size(u.unique),
        )
    out.print(table)
