"""``lkvault watch``: store each export that arrives in a downloads folder."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from lkvault.vault import BadInput, UsageError, VaultError, VaultLocked

from . import entry, render
from .app import EXIT_FAILED, JsonOption, VaultOption, app, open_vault, print_warnings

if TYPE_CHECKING:
    from lkvault.vault import (
        DownloadWatcher,
        Seen,
        Snapshot,
        Vault,
    )


@app.command()
def watch(
    folder: Annotated[
        Path, typer.Argument(help="The folder downloads arrive in, e.g. ~/Downloads.")
    ],
    interval: Annotated[
        float, typer.Option(help="Seconds between two looks at the folder.", min=0.1)
    ] = 10.0,
    settle: Annotated[
        float,
        typer.Option(help="Seconds a file must stay unchanged before it is stored.", min=0),
    ] = 5.0,
    once: Annotated[
        bool, typer.Option("--once", help="Look once, store what is ready, and exit.")
    ] = False,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Store each new LinkedIn export that appears in FOLDER (such as ~/Downloads).

    Waits until a download has finished, and never stores the same archive twice (checked by
    SHA-256 against the vault). Ctrl-C stops it (exit 130; SIGTERM: exit 143); --once looks once
    and exits, with exit 1 if an export it found could not be stored (the vault is read-only,
    say) and 0 otherwise.
    """
    from lkvault.vault import DownloadWatcher

    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    opened = open_vault(vault)
    watcher = DownloadWatcher(folder, opened.env.clock, settle)
    done: dict[Path, Seen] = {}  # stored, already in the vault, or failed: until it changes
    try:
        # Inside the try: a signal that lands while the line is still being printed stops
        # watch as one a moment later would.
        if not once and not json:
            render.stderr.print(
                f"Watching {folder} for LinkedIn exports (every {interval:g} s; Ctrl-C stops)",
                markup=False,
            )
        while True:
            events = _watch_once(opened, watcher, done, json, once)
            if json and (once or events):
                render.emit_json({"folder": str(folder), "events": events})
            if once:
                if not events and not json:  # a single look that found nothing says so
                    render.stderr.print(
                        f"No LinkedIn export in {render.shown(str(folder))}; nothing to store",
                        markup=False,
                    )
                # A timer or cron job running --once must see a failure: files it skips as
                # no export at all, or still downloading, are no failure.
                if any(event["event"] == "failed" for event in events):
                    raise typer.Exit(EXIT_FAILED)
                return
            opened.env.sleep(interval)
    except KeyboardInterrupt:
        if not json:
            # Written directly: rich would print again what a print the signal cut short
            # left in its buffer.
            sys.stderr.write(f"Stopped watching {render.shown(str(folder))}.\n")
        # 130 for Ctrl-C, 143 for SIGTERM, as every command: a script or service manager sees
        # that watch was stopped, not that it finished.
        sys.exit(128 + (entry.received or signal.SIGINT))


def _watch_once(
    opened: Vault,
    watcher: DownloadWatcher,
    done: dict[Path, Seen],
    json_mode: bool,
    once: bool = False,
) -> list[dict[str, Any]]:

    scan = watcher.scan()
    events: list[dict[str, Any]] = []

    def report(path: Path, event: str, message: str, snap: Snapshot | None = None) -> None:
        events.append(
            {
                "file": str(path),
                "event": event,
                "message": message,
                "snapshot": render.snapshot_json(snap) if snap else None,
            }
        )
        if json_mode:
            return
        if event in ("stored", "already_stored"):
            stamp = time.strftime("%H:%M:%S")
            render.stdout.print(f"{stamp} {message}", markup=False)
        elif event == "waiting":
            render.stderr.print(message, markup=False)
        else:
            render.warning_line(message)

    if once:  # a single look: say what it leaves for later (a running watch stores it then)
        for path in scan.downloading:
            report(
                path,
                "waiting",
                f"{path.name}: an export still downloading; stored once the browser finishes it",
            )
        for path in scan.waiting:
            report(
                path,
                "waiting",
                f"{path.name}: still being written (or just finished); not stored until it "
                f"stays unchanged for {watcher.settle:g} s",
            )

    for path, problem in scan.problems:
        if done.get(path) != watcher.last.get(path):
            done[path] = watcher.last[path]
            report(path, "skipped", f"{path.name}: {problem}; skipped until it changes")
    for path in scan.ready:
        seen = watcher.last[path]
        if done.get(path) == seen:
            continue
        try:
            snap, new = opened.snapshot_once(path)
        except VaultLocked as exc:
            report(path, "retry", f"{path.name}: {exc}; trying again at the next look")
            continue
        except (VaultError, OSError) as exc:
            done[path] = seen
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            kind = "bad input" if isinstance(exc, BadInput) else "failed"
            report(path, "failed", f"{path.name}: {kind}: {reason}; skipped until it changes")
            continue
        done[path] = seen
        print_warnings(opened)
        opened.warnings.clear()
        brief = render.export_brief(snap)
        if new:
            for warning in snap.warnings:
                render.warning_line(f"{path.name}: {warning}")
            report(
                path,
                "stored",
                f"Stored {path.name} as snapshot {snap.short_id}"
                + (f" ({brief})" if brief else ""),
                snap,
            )
        else:
            report(
                path,
                "already_stored",
                f"{path.name} is already in the vault as snapshot {snap.short_id} "
                f"(stored {render.local_time(snap.time)})",
                snap,
            )
    return events
