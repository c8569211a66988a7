"""A bounded pipe of bytes between two threads: one writes blocks, the other reads a stream.

The writer waits while ``limit`` bytes are unread, so memory stays bounded however large the
content; a reader that stops early (closes) lets the writer go on, its blocks dropped. A writer
that gives up (``abandon``) makes the reader's next read raise ``PipeAbandoned``.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from typing import Any

READ_BUFFER = 64 * 1024


class PipeAbandoned(Exception):  # noqa: N818 - the reader's signal, not a fault of the data
    """The writer gave up before the end of the content."""


class BytePipe:
    """See the module docstring."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._blocks: deque[bytes] = deque()
        self._held = 0  # bytes written and not read yet
        self._position = 0  # bytes of the first block read already
        self._ended = False
        self._abandoned = False
        self._closed = False  # by the reader
        self._changed = threading.Condition()

    def write(self, block: bytes) -> None:
        """Adds a block; waits while the pipe is full (returns at once if the reader left)."""
        if not block:
            return
        with self._changed:
            while self._held >= self._limit and not self._closed:
                self._changed.wait()
            if self._closed or self._abandoned:
                return
            self._blocks.append(block)
            self._held += len(block)
            self._changed.notify_all()

    def end(self) -> None:
        """The content is complete: the reader reads what is left, then the end."""
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def abandon(self) -> None:
        """The content will not be complete (no effect after ``end``)."""
        with self._changed:
            if not self._ended:
                self._abandoned = True
                self._blocks.clear()
                self._held = self._position = 0
            self._changed.notify_all()

    def reader(self) -> io.BufferedReader:
        """The stream the reading thread reads (closing it closes the pipe's reading end)."""
        return io.BufferedReader(_PipeReader(self), READ_BUFFER)

    def _read_into(self, view: memoryview) -> int:
        with self._changed:
            while not self._blocks and not self._ended and not self._abandoned:
                self._changed.wait()
            if self._abandoned:
                raise PipeAbandoned("the content was not read to its end")
            if not self._blocks:
                return 0
            block = self._blocks[0]
            taken = min(len(view), len(block) - self._position)
            view[:taken] = memoryview(block)[self._position : self._position + taken]
            self._position += taken
            if self._position == len(block):
                self._blocks.popleft()
                self._position = 0
            self._held -= taken
            self._changed.notify_all()
            return taken

    def _close(self) -> None:
        with self._changed:
            self._closed = True
            self._blocks.clear()
            self._held = self._position = 0
            self._changed.notify_all()


class _PipeReader(io.RawIOBase):
    def __init__(self, pipe: BytePipe) -> None:
        super().__init__()
        self._pipe = pipe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._pipe._read_into(memoryview(buffer).cast("B"))  # noqa: SLF001 - its own end

    def close(self) -> None:
        if not self.closed:
            self._pipe._close()  # noqa: SLF001
        super().close()
