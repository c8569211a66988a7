"""The passphrases of an open vault: its key slots listed, added, replaced and removed.

Reached as ``Vault.keys``. Every slot wraps the same master secret, so no change here touches
the vault's data; each change holds the vault's exclusive lock (given by the ``Vault``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from lkvault.vault.errors import IntegrityError
from lkvault.vault.format.crypto import KdfParams, Keys, Rng
from lkvault.vault.operations import keyring
from lkvault.vault.repository.keyslots import (
    KeySlot,
    SlotInfo,
    read_config_unverified,
    vault_id_of,
    verify_config,
)
from lkvault.vault.repository.repo import Repository

if TYPE_CHECKING:
    from lkvault.vault.backend import Backend
    from lkvault.vault.format import paperkey


class VaultKeys:
    """The key slots of one open vault."""

    def __init__(
        self,
        repo: Repository,
        rng: Rng,
        exclusive_lock: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self._repo = repo
        self._rng = rng
        self._exclusive_lock = exclusive_lock

    def slots(self) -> list[SlotInfo]:
        """Every key slot, damaged ones included (they show their problem)."""
        return keyring.key_slots(self._repo)

    def find(self, ref: str) -> SlotInfo:
        """A key slot by unique prefix of its id."""
        return keyring.find_slot(self._repo, ref)

    def add(self, passphrase: bytes, *, label: str = "", kdf: KdfParams | None = None) -> KeySlot:
        """A new key slot for ``passphrase``; the vault's data stays as it is."""
        slot = self._new_slot(passphrase, kdf, label)
        with self._exclusive_lock():
            keyring.add_slot(self._repo, slot)
        return slot

    def remove(self, ref: str) -> SlotInfo:
        """Delete a key slot: never the one in use, never the last working one."""
        with self._exclusive_lock():
            return keyring.remove_slot(self._repo, ref)

    def change_passphrase(self, passphrase: bytes, *, kdf: KdfParams | None = None) -> KeySlot:
        """Replace the slot in use by one for ``passphrase``: the new slot is written before
        the old one is deleted, so a crash leaves one of the two passphrases working."""
        current = keyring.current_slot(self._repo)
        slot = self._new_slot(passphrase, kdf, current.label)
        with self._exclusive_lock():
            keyring.replace_slot(self._repo, current, slot)
        return slot

    def recovery_key(self) -> paperkey.RecoveryKey:
        """The vault's master secret as a recovery key (anyone holding it can read the vault)."""
        from lkvault.vault.format import paperkey

        return paperkey.RecoveryKey(self._repo.keys.vault_id, keyring.master_secret(self._repo))

    def _new_slot(self, passphrase: bytes, kdf: KdfParams | None, label: str) -> KeySlot:
        return KeySlot.create(
            keyring.master_secret(self._repo),
            self._repo.keys.vault_id,
            passphrase,
            self._rng,
            kdf,
            label=label,
            created=self._repo.clock().isoformat(timespec="seconds"),
        )


def read_recovery_key(backend: Backend, key_text: str) -> paperkey.RecoveryKey:
    """The recovery key typed as ``key_text``, checked against the vault's config: a mistyped
    character is reported with its place."""
    from lkvault.vault.format import paperkey

    document = read_config_unverified(backend)

    def opens(key: paperkey.RecoveryKey) -> bool:
        try:
            if vault_id_of(document) != key.vault_id:
                return False
            verify_config(document, Keys.derive(key.master, key.vault_id))
        except IntegrityError:
            return False
        return True

    return paperkey.decode(key_text, opens)
