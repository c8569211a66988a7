"""The key slots of an open vault: listing, adding, replacing and removing its passphrases.

The data never changes: every slot wraps the same master secret. The caller holds the
exclusive lock for the changes.
"""

from __future__ import annotations

from lkvault.vault.errors import IntegrityError, UsageError
from lkvault.vault.repository.keyslots import KEYS_PREFIX, KeySlot, SlotInfo
from lkvault.vault.repository.objects import list_objects
from lkvault.vault.repository.repo import Repository


def key_slots(repo: Repository) -> list[SlotInfo]:
    """Every key slot, damaged ones included (they show their problem)."""
    found = []
    for name in list_objects(repo.backend, KEYS_PREFIX):
        slot_hex = name[len(KEYS_PREFIX) :]
        try:
            slot = KeySlot.decode(name, repo.backend.read(name))
        except (IntegrityError, FileNotFoundError) as exc:
            found.append(SlotInfo(slot_hex, None, False, str(exc)))
            continue
        found.append(SlotInfo(slot_hex, slot, slot.slot_id == repo.slot_id, ""))
    return found


def master_secret(repo: Repository) -> bytes:
    if repo.master is None:
        raise UsageError("this vault was opened without its master secret")
    return repo.master


def find_slot(repo: Repository, ref: str) -> SlotInfo:
    """A key slot by unique prefix of its id."""
    ref = ref.lower()
    matches = [s for s in key_slots(repo) if ref and s.slot_id.startswith(ref)]
    if not matches:
        raise UsageError(f"no key slot id starts with {ref!r} (see 'lkvault key list')")
    if len(matches) > 1:
        raise UsageError(f"{ref!r} matches {len(matches)} key slots; give more digits")
    return matches[0]


def add_slot(repo: Repository, slot: KeySlot) -> None:
    repo.backend.write(slot.name, slot.encode())


def remove_slot(repo: Repository, ref: str) -> SlotInfo:
    """Delete a key slot: never the one in use, never the last working one."""
    target = find_slot(repo, ref)
    if target.current:
        raise UsageError(
            f"key slot {target.slot_id[:8]} is the one you opened the vault with; "
            "open it with another passphrase to remove this one"
        )
    working = [s for s in key_slots(repo) if s.slot is not None]
    if target.slot is not None and len(working) <= 1:
        raise UsageError(
            f"key slot {target.slot_id[:8]} is the vault's only key; removing it would "
            "lock everyone out (add another key first)"
        )
    repo.backend.delete(KEYS_PREFIX + target.slot_id)
    return target


def current_slot(repo: Repository) -> KeySlot:
    """The slot that opened the vault, or UsageError (opened with a recovery key)."""
    current = next((s for s in key_slots(repo) if s.current), None)
    if current is None or current.slot is None:
        raise UsageError(
            "the vault was not opened with a passphrase; use 'lkvault key add' instead"
        )
    return current.slot


def replace_slot(repo: Repository, old: KeySlot, new: KeySlot) -> None:
    """The new slot written before the old one is deleted: a crash leaves one of the two."""
    repo.backend.write(new.name, new.encode())
    repo.backend.delete(old.name)
    repo.slot_id = new.slot_id
