"""Where a frame's dictionary blobs lie, checked so that every chain ends within the limits."""

from __future__ import annotations

from collections.abc import Callable

from lkvault.vault.errors import IntegrityError
from lkvault.vault.repository.index import BlobLocation, Index
from lkvault.vault.repository.pack import MAX_DICT_BYTES, FrameEntry

# What readers are given to find a frame's dictionary blobs: this, bound to the current index.
Locate = Callable[[FrameEntry], list[BlobLocation]]


def dictionary_locations(index: Index, entry: FrameEntry) -> list[BlobLocation]:
    """Where ``entry``'s dictionary blobs are; each must sit in a shallower frame (so chains
    end and cannot loop), and all of them within the size limit."""
    what = f"frame {entry.id.hex()[:16]}"
    locations = []
    total = 0
    for ref in entry.dictionary:
        location = index.get(ref.id)
        if location is None:
            raise IntegrityError(
                f"{what} needs blob {ref.id.hex()[:16]}, which is missing from the vault"
            )
        if location.frame.entry.depth >= entry.depth:
            raise IntegrityError(f"{what} names a dictionary that is not shallower than it")
        total += location.length
        if total > MAX_DICT_BYTES:
            raise IntegrityError(f"{what} names a dictionary over the size limit")
        locations.append(location)
    return locations
