"""Creating a vault and unlocking one: its keys and verified config, from a key slot or a
recovery key."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from lkvault.vault.backend import Backend
from lkvault.vault.errors import AccessDenied, IntegrityError, VaultExists, VaultNotFound
from lkvault.vault.format.crypto import (
    MASTER_SECRET_SIZE,
    VAULT_ID_SIZE,
    KdfParams,
    Keys,
    Rng,
    check_passphrase,
)
from lkvault.vault.repository.index import INDEX_PREFIX
from lkvault.vault.repository.keyslots import (
    CONFIG_NAME,
    KeySlot,
    VaultConfig,
    read_config_unverified,
    unlock_slot,
    vault_id_of,
    verify_config,
)
from lkvault.vault.repository.objects import list_objects

Clock = Callable[[], datetime]

# Only a vault whose creation completed holds files here (an interrupted init leaves at most a
# key slot): such a folder without its config lost the config, and must never be initialised
# again, which would delete the only key slots able to decrypt its snapshots.
VAULT_DATA_PREFIXES = (INDEX_PREFIX, "snapshots/", "data/")


@dataclasses.dataclass(frozen=True)
class Unlocked:
    """What opening a vault yields: its keys, its verified config, its master secret (kept to
    wrap it in new key slots, 'lkvault key add') and the key slot that opened it, if one did."""

    keys: Keys
    config: VaultConfig
    master: bytes
    slot_id: bytes | None


def create_vault(
    backend: Backend,
    passphrase: bytes,
    rng: Rng,
    clock: Clock,
    *,
    kdf: KdfParams | None = None,
    config: VaultConfig | None = None,
) -> Unlocked:
    """Initialise a new vault: config, then the first key slot."""
    check_passphrase(passphrase)
    if backend.exists(CONFIG_NAME):
        raise VaultExists(f"a vault already exists at {backend.location}")
    if _holds_vault_data(backend):
        raise VaultExists(
            f"{backend.location} holds a vault's snapshots and data but no config; refusing "
            "to create a new vault over them (restore the config from a backup copy)"
        )
    for name in list_objects(backend, "keys/"):
        # Slots without a config are left by an init that was interrupted: no data can
        # have been stored under them, so they guard nothing.
        backend.delete(name)
    vault_id = rng(VAULT_ID_SIZE)
    master = rng(MASTER_SECRET_SIZE)
    keys = Keys.derive(master, vault_id)
    settings = dataclasses.replace(config or VaultConfig(vault_id=vault_id), vault_id=vault_id)
    # The first slot says when the vault was made, as slots added later do (key list).
    created = clock().isoformat(timespec="seconds")
    slot = KeySlot.create(master, vault_id, passphrase, rng, kdf, created=created)
    # The key slot goes first: a config without a slot could never be opened, while a
    # slot without a config is cleaned up by the next 'create'.
    backend.write(slot.name, slot.encode())
    backend.write(CONFIG_NAME, settings.encode(keys))
    return Unlocked(keys, settings, master, slot.slot_id)


def unlock(backend: Backend, passphrase: bytes, *, preferred_slot: bytes | None = None) -> Unlocked:
    """Unlock an existing vault with a passphrase, trying ``preferred_slot`` first."""
    check_passphrase(passphrase)
    try:
        document = read_config_unverified(backend)
    except VaultNotFound:
        if not _holds_vault_data(backend):
            raise
        raise IntegrityError(
            f"the vault config at {backend.location} is missing, but the folder holds a "
            "vault's snapshots and data: restore the config from a backup copy of the vault "
            "(a new 'lkvault init' here cannot read them)"
        ) from None
    vault_id = vault_id_of(document)
    slot_id, master = unlock_slot(backend, vault_id, passphrase, preferred_slot)
    keys = Keys.derive(master, vault_id)
    return Unlocked(keys, verify_config(document, keys), master, slot_id)


def unlock_with_master(backend: Backend, vault_id: bytes, master: bytes) -> Unlocked:
    """Unlock a vault with its master secret itself (a recovery key), no key slot needed.

    The config's MAC proves the secret is this vault's.
    """
    document = read_config_unverified(backend)
    if vault_id_of(document) != vault_id:
        raise AccessDenied(
            f"this recovery key is for vault {vault_id.hex()[:8]}, but the vault at "
            f"{backend.location} is {vault_id_of(document).hex()[:8]}"
        )
    keys = Keys.derive(master, vault_id)
    try:
        config = verify_config(document, keys)
    except IntegrityError:
        raise AccessDenied(
            "this recovery key does not open the vault (its config does not authenticate under it)"
        ) from None
    return Unlocked(keys, config, master, None)


def _holds_vault_data(backend: Backend) -> bool:
    return any(list_objects(backend, prefix) for prefix in VAULT_DATA_PREFIXES)
