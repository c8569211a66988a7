"""The line features of the newest snapshot's streams, saved on this computer for the next.

They only guide compression (which earlier chunks a new chunk is compressed against), so a
missing, stale or damaged file costs some saving and nothing else: every problem reads as
"no features". The features are keyed hashes (vault.similarity), so the file says nothing
about the rows to anyone without the vault's key.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgpack
import zstandard

VERSION = 1
# Refuse to inflate anything larger: the file is a cache, not something to trust.
MAX_STATE_BYTES = 1 << 30


class FeatureState:
    """One file per vault under the user's state folder; None disables it."""

    def __init__(self, state_dir: Path | None, vault_id: bytes) -> None:
        self.path = None if state_dir is None else state_dir / vault_id.hex() / "features.bin"

    def load(self) -> dict[bytes, bytes]:
        """Saved feature tables by stream key (vault.streams.stream_key); empty if none."""
        if self.path is None:
            return {}
        try:
            packed = zstandard.ZstdDecompressor().decompress(
                self.path.read_bytes(), max_output_size=MAX_STATE_BYTES
            )
            document = msgpack.unpackb(packed)
            if document["v"] != VERSION:
                return {}
            return {bytes(key): bytes(table) for key, table in document["tables"]}
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            zstandard.ZstdError,
            msgpack.UnpackException,
        ):
            return {}

    def save(self, tables: dict[bytes, bytes]) -> None:
        """Keep ``tables`` (the newest snapshot's) in place of what was saved; best effort."""
        if self.path is None:
            return
        document = {"v": VERSION, "tables": sorted(tables.items())}
        packed = zstandard.ZstdCompressor(level=3).compress(msgpack.packb(document))
        temp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(packed)
            os.replace(temp, self.path)
        except OSError:
            temp.unlink(missing_ok=True)
