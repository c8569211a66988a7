"""Decoded frames kept for reads that come back to them: bounded in bytes, shared by threads."""

from __future__ import annotations

import threading
from collections import OrderedDict

from lkvault.vault.repository.index import FrameRef

# Decoded frames kept for reads that come back to them (a restore reads the frames of older
# and newer months in turns). Operations whose frames outgrow it stage them instead
# (staging.py); docs/benchmarks.md tells why 16 MiB and not more.
FRAME_CACHE_BYTES = 16 * 1024 * 1024


def frame_key(ref: FrameRef) -> tuple[bytes, int]:
    """What tells frames apart in caches: their pack and place in it."""
    return ref.pack_id, ref.entry.offset


class FrameCache:
    """Frames' decoded content, the least recently used evicted first past FRAME_CACHE_BYTES."""

    def __init__(self) -> None:
        self._frames: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0

    @property
    def capacity(self) -> int:
        """How many bytes of frames the cache keeps."""
        return FRAME_CACHE_BYTES

    def get(self, ref: FrameRef) -> bytes | None:
        key = frame_key(ref)
        with self._lock:
            content = self._frames.get(key)
            if content is not None:
                self._frames.move_to_end(key)
            return content

    def holds(self, ref: FrameRef) -> bool:
        with self._lock:
            return frame_key(ref) in self._frames

    def put(self, ref: FrameRef, content: bytes) -> None:
        key = frame_key(ref)
        with self._lock:
            if key not in self._frames:
                self._frames[key] = content
                self._bytes += len(content)
            self._trim()

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0

    def _trim(self) -> None:
        """Evict the least recently used frames over the limit; the caller holds the lock."""
        while self._bytes > self.capacity and len(self._frames) > 1:
            _, evicted = self._frames.popitem(last=False)
            self._bytes -= len(evicted)
