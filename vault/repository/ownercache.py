"""What this computer remembers of old snapshots' exports (whose, what counts), sealed.

Snapshots stored before lkvault recorded the member are attributed by reading their stored
export (``operations.attribution``): 9 ms for Profile.csv, but most of a second for a medium
export without one, whose messages are read; those stored before lkvault recorded summaries
(lkvault 0.1) are counted whole. What was read is kept here, in the state
folder beside head.json, so the next command does not read it again. The file is a sealed
object (type 9, content id; docs/FORMAT.md "Objects"): member names are never written in
the clear, and a file altered or copied from another vault fails authentication and is
ignored, as is one that is missing or unreadable (the exports are read again).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lkvault.vault.errors import VaultError
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import (
    ID_SIZE,
    Keys,
    ObjectType,
    Rng,
    padded,
    seal,
    unseal,
)

Owners = dict[bytes, tuple[str, str] | None]  # snapshot id -> (name, where from), or nobody
Summaries = dict[bytes, dict[str, Any] | None]  # snapshot id -> summary document, or none


@dataclass
class Remembered:
    """What the file holds: the members read, and the summaries counted, by snapshot id."""

    owners: Owners = field(default_factory=dict)
    summaries: Summaries = field(default_factory=dict)


class OwnerCache:
    """One sealed file per vault under the state folder; None disables it."""

    def __init__(self, state_dir: Path | None, keys: Keys, rng: Rng) -> None:
        self.keys, self.rng = keys, rng
        self.path = None if state_dir is None else state_dir / keys.vault_id.hex() / "members"

    def load(self) -> Remembered:
        """What is remembered; nothing when it cannot be trusted."""
        if self.path is None:
            return Remembered()
        try:
            data = self.path.read_bytes()
            object_id, sealed = data[:ID_SIZE], data[ID_SIZE:]
            plaintext = unseal(self.keys, ObjectType.MEMBER_CACHE, object_id, sealed)
            document = codec.decode_document(plaintext, "member cache")
            codec.check_version(document, "member cache")
            summaries = document.get("summaries", {})  # absent in files of lkvault 0.4
            return Remembered(
                _owners(codec.field(document, "members", dict, "member cache")),
                _summaries(summaries if isinstance(summaries, dict) else {}),
            )
        except (OSError, VaultError, ValueError, TypeError):
            return Remembered()

    def save(self, remembered: Remembered) -> None:
        """Remember exactly ``remembered`` (a hint for speed: a state folder that cannot be
        written must not stop a command)."""
        if self.path is None:
            return
        document = {
            "v": 1,
            "members": {
                snapshot_id.hex(): list(owner) if owner is not None else None
                for snapshot_id, owner in remembered.owners.items()
            },
            "summaries": {
                snapshot_id.hex(): summary for snapshot_id, summary in remembered.summaries.items()
            },
        }
        plaintext = padded(codec.encode_document(document))
        object_id = self.keys.object_id_of(ObjectType.MEMBER_CACHE, plaintext)
        sealed = seal(self.keys, ObjectType.MEMBER_CACHE, object_id, plaintext, self.rng)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_suffix(".tmp")
            temp.write_bytes(object_id + sealed)
            os.replace(temp, self.path)
        except OSError:
            pass


def _snapshot_id(name: Any) -> bytes | None:
    try:
        snapshot_id = bytes.fromhex(name)
    except (TypeError, ValueError):
        return None
    return snapshot_id if len(snapshot_id) == ID_SIZE else None


def _summaries(entries: dict[Any, Any]) -> Summaries:
    found: Summaries = {}
    for name, summary in entries.items():
        snapshot_id = _snapshot_id(name)
        if snapshot_id is not None and (summary is None or isinstance(summary, dict)):
            found[snapshot_id] = summary
    return found


def _owners(entries: dict[Any, Any]) -> Owners:
    found: Owners = {}
    for name, owner in entries.items():
        snapshot_id = _snapshot_id(name)
        if snapshot_id is None:
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
