"""Copying snapshots between vaults: each archive is rebuilt from the source and stored anew.

Ids, chunk boundaries and keys are different in every vault, so nothing can be moved across
as it is. Each chosen snapshot's archive is restored (and checked against its SHA-256) into a
scratch file, then snapshotted into the target with its original time and source name; the
target's own deduplication means only content it lacks is stored (and uploaded). A snapshot
the target already has (same content, source name and time) is skipped, so a copy that was
interrupted can simply be run again.

The callers hold the locks: a shared one on the source, an exclusive one on the target.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lkvault.vault.operations import archiver, restorer
from lkvault.vault.progress import NoProgress, Phase, Progress
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot


@dataclass(frozen=True)
class CopyOutcome:
    """What became of one source snapshot: the target's record, new or already there."""

    source: Snapshot
    target: Snapshot
    copied: bool


def same_snapshot(a: Snapshot, b: Snapshot) -> bool:
    """Whether two records (of different vaults) stand for the same stored input."""
    return (a.sha256, a.size, a.source, a.time) == (b.sha256, b.size, b.source, b.time)


def choose(history: list[Snapshot], named: list[Snapshot]) -> list[Snapshot]:
    """The snapshots to copy, oldest first: the named ones (each once), or else all."""
    if not named:
        return list(history)
    wanted = {s.id for s in named}
    return [s for s in history if s.id in wanted]


class _Step:
    """Progress of one step of a copy, labelled with the snapshot's place in the run."""

    def __init__(self, inner: Progress, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix

    def start(self, label: str, total: int | None) -> None:
        self.inner.start(f"{self.prefix} {label.lower()}", total)

    def advance(self, amount: int) -> None:
        self.inner.advance(amount)

    def phase(self, label: str, total: int | None = None) -> Phase:
        return self.inner.phase(f"{self.prefix} {label.lower()}", total)

    def done(self) -> None:
        self.inner.done()


def copy_snapshots(
    source: Repository,
    chosen: list[Snapshot],
    target: Repository,
    target_history: list[Snapshot],
    *,
    progress: Progress | None = None,
    on_start: Callable[[int, int, Snapshot], None] | None = None,
    scratch_dir: Path | None = None,
    workers: int = 2,
) -> Iterator[CopyOutcome]:
    """Copy ``chosen`` into ``target`` in order, yielding each outcome as soon as it is final.

    ``target_history`` is extended with every snapshot created. ``on_start(n, total, snap)``
    is called before the n-th snapshot (1-based) that needs copying.
    """
    progress = progress or NoProgress()
    pending: list[Snapshot] = []
    for snap in chosen:
        there = next((t for t in target_history if same_snapshot(snap, t)), None)
        if there is not None:
            yield CopyOutcome(snap, there, copied=False)
        else:
            pending.append(snap)
    if not pending:
        return
    with tempfile.TemporaryDirectory(prefix="lkvault-copy-", dir=scratch_dir) as scratch:
        archive = Path(scratch) / "archive"
        for number, snap in enumerate(pending, 1):
            if on_start is not None:
                on_start(number, len(pending), snap)
            step = _Step(progress, f"[{number}/{len(pending)}]")
            try:
                restorer.restore_file(source, snap, archive, force=True, progress=step)
                created = archiver.snapshot(
                    target,
                    archive,
                    source_name=snap.source,
                    time=snap.time,
                    opaque=snap.kind != "zip",
                    history=target_history,
                    progress=step,
                    workers=workers,
                )
            finally:
                archive.unlink(missing_ok=True)
            target_history.append(created)
            yield CopyOutcome(snap, created, copied=True)
