"""What this computer remembers of whose export each old snapshot is, sealed with the vault's keys.

Snapshots stored before lkvault recorded the member are attributed by reading their stored
export (``operations.attribution``): 9 ms for Profile.csv, but most of a second for a medium
export without one, whose messages are read. What was read is kept here, in the state
folder beside head.json, so the next command does not read it again. The file is a sealed
object (type 9, content id; docs/FORMAT.md "Objects"): member names are never written in
the clear, and a file altered or copied from another vault fails authentication and is
ignored, as is one that is missing or unreadable (the exports are read again).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lkvault.vault.errors import VaultError
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import (
    ID_SIZE,
    SEAL_OVERHEAD,
    Keys,
    ObjectType,
    Rng,
    padme,
    seal,
    unseal,
)

Owners = dict[bytes, tuple[str, str] | None]  # snapshot id -> (name, where from), or nobody


class OwnerCache:
    """One sealed file per vault under the state folder; None disables it."""

    def __init__(self, state_dir: Path | None, keys: Keys, rng: Rng) -> None:
        self.keys, self.rng = keys, rng
        self.path = None if state_dir is None else state_dir / keys.vault_id.hex() / "members"

    def load(self) -> Owners:
        """The members remembered, by snapshot id; empty when none can be trusted."""
        if self.path is None:
            return {}
        try:
            data = self.path.read_bytes()
            object_id, sealed = data[:ID_SIZE], data[ID_SIZE:]
            plaintext = unseal(self.keys, ObjectType.MEMBER_CACHE, object_id, sealed)
            document = codec.decode_document(plaintext, "member cache")
            codec.check_version(document, "member cache")
            return _owners(codec.field(document, "members", dict, "member cache"))
        except (OSError, VaultError, ValueError, TypeError):
            return {}

    def save(self, owners: Owners) -> None:
        """Remember exactly ``owners`` (a hint for speed: a state folder that cannot be
        written must not stop a command)."""
        if self.path is None:
            return
        document = {
            "v": 1,
            "members": {
                snapshot_id.hex(): list(owner) if owner is not None else None
                for snapshot_id, owner in owners.items()
            },
        }
        unpadded = len(codec.encode_document(document)) + SEAL_OVERHEAD
        plaintext = codec.encode_document(document, padding=padme(unpadded) - unpadded)
        object_id = self.keys.object_id_of(ObjectType.MEMBER_CACHE, plaintext)
        sealed = seal(self.keys, ObjectType.MEMBER_CACHE, object_id, plaintext, self.rng)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_suffix(".tmp")
            temp.write_bytes(object_id + sealed)
            os.replace(temp, self.path)
        except OSError:
            pass


def _owners(entries: dict[Any, Any]) -> Owners:
    found: Owners = {}
    for name, owner in entries.items():
        try:
            snapshot_id = bytes.fromhex(name)
        except (TypeError, ValueError):
            continue
        if len(snapshot_id) != ID_SIZE:
            continue
        if owner is None:
            found[snapshot_id] = None
        elif (
            isinstance(owner, list)
            and len(owner) == 2
            and all(isinstance(part, str) for part in owner)
        ):
            found[snapshot_id] = (owner[0], owner[1])
    return found
