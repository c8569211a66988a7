"""One frame out of its pack: its sealed bytes read and opened, its blobs checked by id."""

from __future__ import annotations

import hmac

from lkvault.vault.backend import Backend
from lkvault.vault.errors import IntegrityError
from lkvault.vault.format.crypto import BlobType, Keys
from lkvault.vault.repository.index import BlobLocation, FrameRef, pack_name
from lkvault.vault.repository.pack import open_frame
from lkvault.vault.repository.stored import read_stored


class FrameOpener:
    """Reads and opens single frames; every frame any reader decodes is opened here."""

    def __init__(self, backend: Backend, keys: Keys) -> None:
        self.backend = backend
        self.keys = keys

    def sealed(self, ref: FrameRef) -> bytes:
        """A frame's stored bytes, as sealed."""
        return read_stored(
            self.backend,
            pack_name(ref.pack_id),
            f"pack {ref.pack_id.hex()[:16]}",
            ref.entry.offset,
            ref.entry.length,
        )

    def open(self, ref: FrameRef, dictionary: bytes | bytearray | None = None) -> bytes:
        """A frame's authenticated content, decoded against ``dictionary`` (its dictionary
        blobs, concatenated) when it has one."""
        return self.open_sealed(ref, self.sealed(ref), dictionary)

    def open_sealed(
        self, ref: FrameRef, sealed: bytes, dictionary: bytes | bytearray | None = None
    ) -> bytes:
        """``open`` for a frame whose stored bytes the caller read already (``sealed``)."""
        return open_frame(self.keys, ref.entry, sealed, dictionary)

    def verified_blob(
        self,
        content: bytes,
        location: BlobLocation,
        blob_type: BlobType,
        blob_id: bytes,
        *,
        whole: bool = False,
    ) -> bytes:
        """The blob at ``location`` in a frame's ``content`` (or ``content`` itself when
        ``whole``), checked against its id."""
        data = content if whole else content[location.offset : location.offset + location.length]
        if not hmac.compare_digest(self.keys.blob_id(blob_type, data), blob_id):
            raise IntegrityError(f"blob {blob_id.hex()[:16]} does not match its id")
        return data
