"""Reading blobs: through the index, out of staged or decoded frames, verified against their ids.

Decoding frames and their dictionary chains is framedecoder's job, staging the chains an
operation reads is staging's; this module puts them behind one reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager

from lkvault.vault.backend import Backend
from lkvault.vault.errors import IntegrityError
from lkvault.vault.format.crypto import BlobType, Keys
from lkvault.vault.repository.dictionaries import dictionary_locations
from lkvault.vault.repository.framedecoder import FrameDecoder
from lkvault.vault.repository.frameopener import FrameOpener
from lkvault.vault.repository.index import BlobLocation, FrameRef
from lkvault.vault.repository.indexstore import IndexStore
from lkvault.vault.repository.pack import FrameEntry
from lkvault.vault.repository.staging import FrameStage


class BlobReader:
    """Reads blobs through the index, verified against their ids; safe to share by threads."""

    def __init__(self, backend: Backend, keys: Keys, indexes: IndexStore) -> None:
        self.indexes = indexes
        self._opener = FrameOpener(backend, keys)
        self._frames = FrameDecoder(self._opener, self.locate)
        self._stage = FrameStage(
            self._opener, self.locate, self.blob_at, lambda: self._frames.cache.capacity
        )

    @property
    def backend(self) -> Backend:
        return self._opener.backend

    @backend.setter
    def backend(self, backend: Backend) -> None:
        self._opener.backend = backend

    def locate(self, entry: FrameEntry) -> list[BlobLocation]:
        """Where a frame's dictionary blobs lie in the current index (checked)."""
        return dictionary_locations(self.indexes.index, entry)

    def forget_frames(self) -> None:
        """Forget every decoded frame (the index now names other frames)."""
        self._frames.cache.clear()

    def frames_holding(self, blob_ids: Iterable[bytes]) -> Iterator[FrameRef]:
        """The frames that reading ``blob_ids`` reads (repeats included)."""
        for blob_id in blob_ids:
            location = self.indexes.index.get(blob_id)
            if location is not None:
                yield location.frame

    def staged(
        self, frames: Iterable[FrameRef], pool: Executor | None = None, *, in_order: bool = False
    ) -> AbstractContextManager[None]:
        """Within this context, reading from ``frames`` decodes no dictionary chain again,
        nor, given ``in_order``, any frame (staging.FrameStage.staged)."""
        return self._stage.staged(frames, pool, in_order=in_order)

    def frame_content(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content: from the stage when it is staged (inside
        ``staged``), else as ``read_frame`` gives it."""
        staged = self._stage.frame(ref)
        return staged if staged is not None else self.read_frame(ref)

    def opened_frame(
        self, ref: FrameRef, dictionary: bytes | None, sealed: bytes | None = None
    ) -> bytes:
        """A frame's authenticated content: from the stage when it is staged, else its stored
        bytes (``sealed`` when the caller read them already) opened with ``dictionary``
        (``dictionary_of``), the caller's."""
        staged = self._stage.frame(ref)
        if staged is not None:
            return staged
        if sealed is None:
            sealed = self.sealed_frame(ref)
        return self._opener.open_sealed(ref, sealed, dictionary)

    def read_frame(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content, from a small cache shared by threads."""
        return self._frames.read_frame(ref)

    def sealed_frame(self, ref: FrameRef) -> bytes:
        """A frame's stored bytes, as sealed (to move it to another pack unchanged)."""
        return self._opener.sealed(ref)

    def dictionary_of(self, entry: FrameEntry) -> bytes | None:
        """The dictionary a frame was compressed against: its dictionary blobs, concatenated;
        None for a frame without one."""
        if not entry.has_dictionary:
            return None
        refs = entry.dictionary
        locations = self.locate(entry)
        return b"".join(
            self.blob_at(location, ref.type, ref.id)
            for ref, location in zip(refs, locations, strict=True)
        )

    def read_blob(self, blob_type: BlobType, blob_id: bytes) -> bytes:
        """A blob's plaintext, verified against its keyed id."""
        location = self.indexes.index.get(blob_id)
        if location is None:
            hint = (
                " (an index file is damaged; run 'lkvault verify')" if self.indexes.problems else ""
            )
            raise IntegrityError(f"blob {blob_id.hex()[:16]} is missing from the vault{hint}")
        return self.blob_at(location, blob_type, blob_id)

    def blob_at(self, location: BlobLocation, blob_type: BlobType, blob_id: bytes) -> bytes:
        """The blob at ``location``, of ``blob_type``, verified against ``blob_id``."""
        if location.type != blob_type:
            raise IntegrityError(
                f"blob {blob_id.hex()[:16]} is a {location.type.name.lower()} blob, "
                f"expected {blob_type.name.lower()}"
            )
        staged = self._stage.blob(location)
        if staged is not None:
            return self._opener.verified_blob(staged, location, blob_type, blob_id, whole=True)
        content = self._frames.read_frame(location.frame)
        return self._opener.verified_blob(content, location, blob_type, blob_id)
