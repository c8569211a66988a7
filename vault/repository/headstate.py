"""What this computer remembers of each vault: the newest snapshot it saw (to detect
rollbacks), the key slot it opened last, and where verify's partial reads go next."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SeenHead:
    seq: int
    snapshot_id: bytes


class HeadState:
    """A small JSON file per vault under the user's state folder; None disables it."""

    def __init__(self, state_dir: Path | None, vault_id: bytes) -> None:
        self.path = None if state_dir is None else state_dir / vault_id.hex() / "head.json"

    def load(self) -> SeenHead | None:
        if self.path is None:
            return None
        try:
            document = json.loads(self.path.read_text())
            return SeenHead(int(document["seq"]), bytes.fromhex(document["id"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, head: SeenHead) -> None:
        """Remember ``head`` unless a newer one is already remembered."""
        if self.path is None:
            return
        seen = self.load()
        if seen is not None and seen.seq > head.seq:
            return
        self.force(head)

    def force(self, head: SeenHead | None) -> None:
        """Remember exactly ``head`` (None forgets), e.g. after the user accepted a rollback."""
        if self.path is None:
            return
        if head is None:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps({"seq": head.seq, "id": head.snapshot_id.hex()}) + "\n")
        os.replace(temp, self.path)


class PartState:
    """Which part of the data 'verify --read-data-subset P%' reads next on this computer.

    A small JSON file per vault beside head.json: {"parts": t, "next": n}. Without a state
    folder every run starts at part 1.
    """

    def __init__(self, state_dir: Path | None, vault_id: bytes) -> None:
        self.path = None if state_dir is None else state_dir / vault_id.hex() / "verify.json"

    def next_part(self, parts: int) -> int:
        """The part to read now, 1..parts (1 again when the number of parts changed)."""
        if self.path is None:
            return 1
        try:
            document = json.loads(self.path.read_text())
            if int(document["parts"]) == parts and 1 <= int(document["next"]) <= parts:
                return int(document["next"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return 1

    def done(self, part: int, parts: int) -> None:
        """Remember that ``part`` was read, so the next run reads the one after it."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps({"parts": parts, "next": part % parts + 1}) + "\n")
        os.replace(temp, self.path)


class SlotState:
    """The key slot this computer opened the vault with last, tried first next time.

    A small JSON file per vault beside head.json: {"slot": hex}. Without a state folder, or
    when it is unreadable, no slot is preferred.
    """

    def __init__(self, state_dir: Path | None, vault_id: bytes) -> None:
        self.path = None if state_dir is None else state_dir / vault_id.hex() / "slot.json"

    def load(self) -> bytes | None:
        if self.path is None:
            return None
        try:
            return bytes.fromhex(json.loads(self.path.read_text())["slot"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, slot_id: bytes) -> None:
        if self.path is None or self.load() == slot_id:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_suffix(".tmp")
            temp.write_text(json.dumps({"slot": slot_id.hex()}) + "\n")
            os.replace(temp, self.path)
        except OSError:
            pass  # a hint for speed only: a read-only state folder must not stop a command
