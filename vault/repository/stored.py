"""Reading stored files that vault objects refer to, where a missing file is damage."""

from __future__ import annotations

from lkvault.vault.backend import Backend
from lkvault.vault.errors import IntegrityError
from lkvault.vault.format.crypto import Keys
from lkvault.vault.repository.index import pack_id_of_name, pack_name
from lkvault.vault.repository.pack import (
    TRAILER_SIZE,
    FrameEntry,
    open_pack_header,
    parse_trailer,
)


def read_stored(
    backend: Backend, name: str, what: str, offset: int = 0, length: int | None = None
) -> bytes:
    """Bytes of a stored file that something refers to: a missing one is damage."""
    try:
        return backend.read(name, offset, length)
    except FileNotFoundError:
        raise IntegrityError(f"{what} is missing ({name})") from None


def read_pack_header(backend: Backend, keys: Keys, pack_id: bytes) -> list[FrameEntry]:
    """Parse a pack's own header (for checking the index against the packs)."""
    name = pack_name(pack_id)
    what = f"pack {pack_id.hex()[:16]}"
    try:
        size = backend.size(name)
    except FileNotFoundError:
        raise IntegrityError(f"{what} is missing ({name})") from None
    header_size = parse_trailer(
        read_stored(backend, name, what, size - TRAILER_SIZE, 4), size, what
    )
    header_offset = size - TRAILER_SIZE - header_size
    sealed = read_stored(backend, name, what, header_offset, header_size)
    return open_pack_header(keys, pack_id, sealed, header_offset)


def stored_pack_ids(backend: Backend) -> set[bytes]:
    """The ids of the packs in storage (files under data/ that are not packs left out)."""
    ids = (pack_id_of_name(name) for name in backend.list("data/"))
    return {pack_id for pack_id in ids if pack_id is not None}
