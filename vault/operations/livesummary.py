"""An export's summary counted from the content a snapshot inflates anyway, while it stores it.

Summarising a zip after storing it read every member again (inflating and parsing 28 MB of
CSV for a 7.6 MB export took a third of the snapshot's time). Instead the ingest hands each
member's content, as it inflates it, to a counting thread through a bounded pipe
(``bytepipe``), and members it does not inflate (reused from an earlier snapshot, stored in a
way it keeps as is) are counted from the zip on the worker that met them. The result is the
one ``export_sources.export_of_file`` gives for the same file, by construction: the same
plan, the same per-member counting (``counting.count_member``) and the same combination; a
member is matched to the zip's own entry of its name, and counted from the zip whenever the
match is not certain.
"""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path
from typing import IO, Any

from lkvault.vault.bytepipe import BytePipe
from lkvault.vault.export.counting import CountPlan, MemberCount, combine, count_member
from lkvault.vault.ingest.zipscan import Member
from lkvault.vault.operations.export_sources import (
    export_document,
    export_of_file,
    file_entries,
    unsummarised,
)

PIPE_LIMIT = 4 * 1024 * 1024  # content held for a counting thread that lags behind


class SummaryCancelled(Exception):  # noqa: N818 - the snapshot stopped; nobody reads the count
    """Raised in a counting thread once the snapshot was abandoned."""


class _PipeTap:
    """The ingest's end of one member's pipe."""

    def __init__(self, pipe: BytePipe, summary: LiveSummary, name: str) -> None:
        self._pipe = pipe
        self._summary = summary
        self._name = name
        self._ended = False

    def feed(self, block: bytes) -> None:
        self._pipe.write(block)

    def end(self) -> None:
        self._ended = True
        self._pipe.end()

    def abandon(self) -> None:
        if not self._ended:
            self._summary.recount(self._name)
            self._pipe.abandon()


class LiveSummary:
    """The summary of the zip at ``path``, counted while a snapshot stores it."""

    def __init__(self, path: Path, archive_name: str) -> None:
        self._path = path
        self._archive_name = archive_name
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._claimed: set[str] = set()  # members being or already counted
        self._again: set[str] = set()  # members whose live count was abandoned
        self._counted: dict[str, MemberCount] = {}
        self._threads: list[threading.Thread] = []
        self._failure: Exception | None = None
        self._infos: list[zipfile.ZipInfo] = []
        self._by_name: dict[str, zipfile.ZipInfo] = {}
        self._jobs: dict[str, str] = {}
        try:
            with zipfile.ZipFile(path) as archive:
                self._infos = archive.infolist()
        except Exception as exc:  # noqa: BLE001 - a summary must never fail a snapshot
            self._failure = exc
            return
        # As export_of_file reads them: a repeated name is the last entry of that name.
        self._by_name = {info.filename: info for info in file_entries(self._infos)}
        self._plan = CountPlan.of(list(self._by_name), archive_name)
        self._jobs = self._plan.jobs()

    def tap(self, member: Member) -> _PipeTap | None:
        """Where the ingest feeds ``member``'s content as it inflates it (None: not needed,
        or counted from the zip instead)."""
        name = member.name
        if name not in self._jobs or not self._same_entry(member) or not self._claim(name):
            return None
        pipe = BytePipe(PIPE_LIMIT)
        first = [pipe.reader()]

        def opener() -> IO[bytes]:  # the live content once; the zip for another encoding
            return first.pop() if first else self._open(name)

        thread = threading.Thread(
            target=self._count, args=(name, opener), name=f"summary {name}", daemon=True
        )
        with self._lock:
            self._threads.append(thread)
        thread.start()
        return _PipeTap(pipe, self, name)

    def unread(self, member: Member) -> None:
        """``member``'s content will not pass by: it is counted from the zip now."""
        if member.name in self._jobs and self._claim(member.name):
            self._count(member.name, lambda: self._open(member.name))

    def recount(self, name: str) -> None:
        """The live count of ``name`` was abandoned: ``result`` counts it from the zip."""
        with self._lock:
            self._again.add(name)

    def cancel(self) -> None:
        """The snapshot was abandoned: counting stops at its next read."""
        self._cancelled.set()

    def result(self) -> tuple[dict[str, Any] | None, list[str]]:
        """The summary document and warnings, as ``export_of_file`` gives them."""
        if self._failure is not None:
            return export_of_file(self._path, self._archive_name)
        try:
            with self._lock:
                threads = list(self._threads)
            for thread in threads:
                thread.join()
            for name in self._jobs:
                if name not in self._counted or name in self._again:
                    self._count(name, lambda name=name: self._open(name))
            summary, warnings = combine(self._plan, self._counted)
            return export_document(summary, warnings, self._infos)
        except Exception as exc:  # noqa: BLE001 - a summary must never fail a snapshot
            return unsummarised(exc)

    def _same_entry(self, member: Member) -> bool:
        """Whether ``member`` is the zip entry export_of_file reads under its name."""
        if not 0 <= member.index < len(self._infos):
            return False
        info = self._infos[member.index]
        return info.filename == member.name and self._by_name.get(member.name) is info

    def _claim(self, name: str) -> bool:
        with self._lock:
            if name in self._claimed:
                return False
            self._claimed.add(name)
            return True

    def _count(self, name: str, opener: Any) -> None:
        counted = count_member(self._plan, self._jobs[name], name, opener)
        with self._lock:
            self._counted[name] = counted

    def _open(self, name: str) -> IO[bytes]:
        """A member's content read from the zip (its own file handle: any thread may)."""
        if self._cancelled.is_set():
            raise SummaryCancelled("the snapshot was abandoned")
        with zipfile.ZipFile(self._path) as archive:
            # The entry stays readable once the archive is closed: it holds the file.
            stream = archive.open(self._by_name[name])
        return io.BufferedReader(_Cancellable(stream, self._cancelled))


class _Cancellable(io.RawIOBase):
    """A stream that stops (SummaryCancelled) once ``cancelled`` is set."""

    def __init__(self, stream: IO[bytes], cancelled: threading.Event) -> None:
        super().__init__()
        self._stream = stream
        self._cancelled = cancelled

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._cancelled.is_set():
            raise SummaryCancelled("the snapshot was abandoned")
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()
