"""How results look: JSON documents, rich tables, progress bars and one-line errors.

Everything printed here goes through ``terminal_text`` (lkvault.vault.printable): a name,
title, headline or file name from an export cannot send control sequences to the terminal.
"""

from __future__ import annotations

import codecs
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lkvault.vault import NoPhase
from rich.console import Console

if TYPE_CHECKING:
    from lkvault.vault import (
        Snapshot,
        VerifyReport,
    )
    from rich.progress import Progress, TaskID
    from rich.table import Table


def terminal_text(text: str, *, lines: bool = False) -> str:
    """The one escaping of text for the terminal: controls, ESC sequences (CSI, OSC), C1 and
    bidirectional overrides shown as visible escapes; ``lines`` keeps line breaks and tabs."""
    from lkvault.vault import printable

    return printable(text, lines=lines)


class TerminalConsole(Console):
    """A rich console that passes every string it renders (printed text, table cells, progress
    labels) through ``terminal_text`` first; rich's own styling is added afterwards.

    Rich markup (``[bold]``, ``[link=...]``) and emoji codes (``:smile:``) are off unless a
    call asks for them with ``markup=True``: a name, title or file name from an export is shown
    as written, never turned into a style, a link or another character, and a stray ``[/]`` in
    one cannot end lkvault with a markup error. Only lkvault's own fixed texts use markup.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def render_str(self, text: str, **options: Any) -> Any:
        options["emoji"] = False
        return super().render_str(terminal_text(text, lines=True), **options)


# Off a terminal (pipes, files) lines are not cut to 80 columns: names must stay whole.
stdout = TerminalConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 240)
stderr = TerminalConsole(stderr=True, soft_wrap=True)


def new_table() -> Table:
    """A borderless rich table, as every listing shows them (rich.table loads on demand)."""
    from rich.table import Table

    return Table(show_edge=False, pad_edge=False, box=None, header_style="bold")


def emit_json(document: Any) -> None:
    # The same value as plain JSON, with controls and format characters written as \uXXXX
    # escapes (json leaves DEL, C1 and bidi overrides raw when ensure_ascii is off).
    from lkvault.vault import UNSAFE_BUT_LINES

    text = json.dumps(document, indent=2, ensure_ascii=False)
    sys.stdout.write(UNSAFE_BUT_LINES.sub(_json_escape, text) + "\n")


def _json_escape(match: Any) -> str:
    return json.dumps(match.group(0))[1:-1]  # \u202e, or a surrogate pair beyond the BMP


def shown(text: str) -> str:
    """Text that may come from an export or a file name, as a terminal may show it: control
    and format characters (ESC, BEL, bidi overrides) written as escapes, never acted on; line
    breaks are kept. The same escaping as every console here applies (``terminal_text``)."""
    return terminal_text(text, lines=True)


def text_out(text: str) -> None:
    """Text from an export written to stdout: exactly as it is into a file or a pipe; at a
    terminal, where an escape sequence in someone's name would clear the screen or set the
    clipboard, escaped as ``shown`` escapes it (CRLF line ends shown as line breaks)."""
    if sys.stdout.isatty():
        text = shown(text.replace("\r\n", "\n"))
    sys.stdout.write(text)


class TerminalText:
    """``text_out`` for content that arrives in blocks of bytes (``lkvault cat``): at a
    terminal, decoded as UTF-8 (an invalid byte shown as U+FFFD) across block boundaries."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""  # a CR that may begin a CRLF split between blocks

    def write(self, block: bytes, final: bool = False) -> None:
        text = self._held + self._decoder.decode(block, final)
        self._held = ""
        if text.endswith("\r") and not final:
            text, self._held = text[:-1], "\r"
        text_out(text)


def error_line(message: str) -> None:
    # One line, whatever the message contains (names from an export, file names).
    text = terminal_text(" ".join(str(message).split()))
    sys.stderr.write(f"lkvault: error: {text}\n")


def warning_line(message: str) -> None:
    text = terminal_text(" ".join(str(message).split()))
    sys.stderr.write(f"lkvault: warning: {text}\n")


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def snapshot_json(snap: Snapshot) -> dict[str, Any]:
    return {
        "id": snap.id.hex(),
        "short_id": snap.short_id,
        "seq": snap.seq,
        "time": snap.time.isoformat(),
        "source": snap.source,
        "size": snap.size,
        "sha256": snap.sha256.hex(),
        "kind": snap.kind,
        "stats": snap.stats,
        "warnings": snap.warnings,
        "export": export_json(snap),
    }


def export_json(snap: Snapshot) -> dict[str, Any] | None:
    """The snapshot's export summary exactly as documented (kind, date, headline, counts)."""
    from lkvault.vault import summary_document, summary_from_document

    summary = summary_from_document(snap.export)
    return summary_document(summary) if summary is not None else None


def connections_count(counts: dict[str, int]) -> str:
    """'4,012 connections (45 hidden)': every row of Connections.csv, the hidden members'
    among them said when the summary knows how many (summaries of lkvault 0.4 and later)."""
    from .browse.present import connections_count as wording  # the browse page's words

    return wording(counts.get("connections", 0), counts.get("connections_hidden") or 0)


def export_brief(snap: Snapshot) -> str:
    """A compact line of what a snapshot's export holds, e.g. 'basic 2026-01-15: 344
    connections (3 hidden), 1,503 messages', connections counted as every command counts
    them; '' for a snapshot that is not a LinkedIn export."""
    from lkvault.vault import summary_from_document

    summary = summary_from_document(snap.export)
    if summary is None:
        return ""
    kind = summary.kind or "export"
    when = f" {summary.date.isoformat()}" if summary.date else ""
    counts = summary.counts
    if kind == "contacts":  # the old "Export contacts" file: connections only
        return f"contacts file: {connections_count(counts)}"
    return (
        f"{kind}{when}: {connections_count(counts)}, {plural(counts.get('messages', 0), 'message')}"
    )


def already_stored(path: Any, snap: Snapshot, json_mode: bool) -> None:
    """Say that a file is already in the vault (exactly these bytes), and as which snapshot."""
    if json_mode:
        emit_json(snapshot_json(snap) | {"already_stored": True})
        return
    sys.stderr.write(
        f"lkvault: {terminal_text(str(path))} is already in the vault as snapshot {snap.short_id} "
        f"(#{snap.seq}, stored {local_time(snap.time)}, same SHA-256); nothing new was stored\n"
    )
    print(snap.id.hex())


def snapshot_table(snaps: list[Snapshot]) -> None:
    from lkvault.vault import members_of, owner_of

    if not snaps:
        stdout.print("No snapshots yet. Store one with: lkvault snapshot EXPORT.zip")
        return
    table = new_table()
    for column in ("ID", "Time", "Source", "Size", "SHA-256", "Export"):
        table.add_column(
            column,
            no_wrap=column not in ("Source", "Export"),
            overflow="fold",
            justify="right" if column == "Size" else "left",
        )
    several = len(members_of(snaps)) > 1  # then each export says whose it is
    for snap in snaps:
        owner = owner_of(snap) if several else None
        whose = f" ({owner.name}'s)" if owner is not None else ""
        table.add_row(
            snap.short_id,
            local_time(snap.time),
            shown(snap.source),
            human_size(snap.size),
            snap.sha256.hex()[:16] + "…",
            shown((export_brief(snap) or "-") + whose),
        )
    stdout.print(table)
    stdout.print(plural(len(snaps), "snapshot"))


def verify_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "read_data": report.read_data,
        "snapshots": report.snapshots,
        "packs": report.packs,
        "blobs_checked": report.blobs_checked,
        "bytes_checked": report.bytes_checked,
        "problems": [
            {"object": p.object, "message": p.message, "snapshots": p.snapshots}
            for p in report.problems
        ],
        "notes": report.notes,
    }


def accepted_rollback(seen: tuple[int, bytes] | None, newest: Snapshot | None) -> None:
    """What ``verify --accept-rollback`` knew (the sequence number and id of the newest
    snapshot this computer had seen) and what it trusts now, on stderr."""
    before = (
        "this computer had seen no snapshot of this vault"
        if seen is None
        else f"this computer had seen snapshot #{seen[0]} ({seen[1].hex()[:8]})"
    )
    now = (
        "the vault holds no snapshot"
        if newest is None
        else f"its newest now is #{newest.seq} ({newest.short_id}, "
        f"{newest.time:%Y-%m-%d %H:%M %Z}, '{newest.source}')"
    )
    stderr.print(
        shown(
            f"Accepted the vault as it is now: {before}; {now}. Snapshots after it that this "
            "computer saw will be reported no more."
        ),
        markup=False,
    )


def verify_text(report: VerifyReport) -> None:
    for note in report.notes:
        stderr.print(shown(f"note: {note}"), markup=False)
    scope = "structure and all data" if report.read_data else "structure"
    if report.ok:
        extra = (
            f", {report.blobs_checked:,} chunks ({human_size(report.bytes_checked)}) re-hashed"
            if report.read_data
            else ""
        )
        stdout.print(
            f"Vault is intact: {plural(report.snapshots, 'snapshot')}, "
            f"{plural(report.packs, 'pack')} checked ({scope}){extra}."
        )
        if not report.read_data:
            stdout.print("Run 'lkvault verify --read-data' to also decrypt and re-hash all data.")
        return
    verify_problems(report, scope)


REPAIR_HINT = (
    "To keep every snapshot that is still whole and remove only what is broken: "
    "'lkvault repair --dry-run' says what it would do, 'lkvault repair' does it."
)


def verify_problems(report: VerifyReport, scope: str) -> None:
    """The problems verify found, then what to do about damage (a rolled-back vault's own
    problem says how to accept it: repair does not help there)."""
    stdout.print(
        f"[bold red]{plural(len(report.problems), 'problem')} found[/] ({scope}):", markup=True
    )
    for problem in report.problems:
        stdout.print(f"  - {problem.describe()}", markup=False)
    if any(problem.object != "snapshots/" for problem in report.problems):
        stdout.print(REPAIR_HINT, markup=False)


class BarProgress:
    """Rich progress bars on stderr, one per phase, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def start(self, label: str, total: int | None) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from rich.progress import (  # on a terminal only: --help and pipes need none
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description:<12}", markup=False),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=stderr,
                transient=True,
            )
            self.bar.start()
        self.task = self.bar.add_task(label, total=total)

    def advance(self, amount: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task, amount)

    def phase(self, label: str, total: int | None = None) -> BarPhase | NoPhase:
        if self.bar is None:
            return NoPhase()
        return BarPhase(self.bar, self.bar.add_task(label, total=total))

    def done(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
            self.task = None


class BarPhase:
    """One more bar under an operation's main one."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self.bar = bar
        self.task = task

    def advance(self, amount: int) -> None:
        self.bar.advance(self.task, amount)

    def set_total(self, total: int) -> None:
        self.bar.update(self.task, total=total)
