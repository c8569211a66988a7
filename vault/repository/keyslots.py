"""Key slots and the vault config: what opens a vault and how it is set up, stored as JSON."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from lkvault.vault.backend import Backend
from lkvault.vault.errors import AccessDenied, IntegrityError, UnsupportedFormat, VaultNotFound
from lkvault.vault.format.crypto import (
    MASTER_SECRET_SIZE,
    VAULT_ID_SIZE,
    KdfParams,
    Keys,
    Rng,
    derive_kek,
    unwrap_secret,
    wrap_secret,
)
from lkvault.vault.repository.objects import list_objects

CONFIG_NAME = "config"
KEYS_PREFIX = "keys/"
CONFIG_VERSION = 1
MAX_JSON = 1 << 20


@dataclass(frozen=True)
class VaultConfig:
    """Settings fixed when the vault is created; authenticated by a MAC under the master key."""

    vault_id: bytes
    chunker_min: int = 4096
    chunker_avg: int = 16384
    chunker_max: int = 65536
    compression_level: int = 10
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "lkvault": CONFIG_VERSION,
            "vault_id": self.vault_id.hex(),
            "chunker": {
                "alg": "aes128-prf-16",
                "min": self.chunker_min,
                "avg": self.chunker_avg,
                "max": self.chunker_max,
            },
            "compression": {"alg": "zstd", "level": self.compression_level},
        }

    def encode(self, keys: Keys) -> bytes:
        body = self.body()
        body["mac"] = hmac.digest(keys.config, canonical_json(body), "sha256").hex()
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()


def canonical_json(document: dict[str, Any]) -> bytes:
    """The bytes a JSON document is authenticated over: sorted keys, no whitespace."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _load_json(backend: Backend, name: str, what: str) -> dict[str, Any]:
    try:
        raw = backend.read(name)
    except FileNotFoundError:
        raise
    if len(raw) > MAX_JSON:
        raise IntegrityError(f"{what} is implausibly large")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise IntegrityError(f"{what} is not valid JSON") from None
    if not isinstance(document, dict):
        raise IntegrityError(f"{what} is not a JSON object")
    return document


def read_config_unverified(backend: Backend) -> dict[str, Any]:
    """The config as stored, before it can be authenticated (needs the vault id to unlock)."""
    try:
        document = _load_json(backend, CONFIG_NAME, "vault config")
    except FileNotFoundError:
        raise VaultNotFound(
            f"no vault at {backend.location} (create one with 'lkvault init')"
        ) from None
    version = document.get("lkvault")
    if version is None:
        raise IntegrityError(
            f"vault config at {backend.location} is damaged or was replaced: it names no "
            "lkvault format"
        )
    if version != CONFIG_VERSION:
        raise UnsupportedFormat(
            f"vault at {backend.location} has format {version!r}; this lkvault reads "
            f"{CONFIG_VERSION}"
        )
    return document


def vault_id_of(document: dict[str, Any]) -> bytes:
    try:
        vault_id = bytes.fromhex(document["vault_id"])
    except (KeyError, TypeError, ValueError):
        raise IntegrityError("vault config has no valid vault_id") from None
    if len(vault_id) != VAULT_ID_SIZE:
        raise IntegrityError("vault config has a vault_id of the wrong size")
    return vault_id


def verify_config(document: dict[str, Any], keys: Keys) -> VaultConfig:
    """Authenticate the stored config and parse it."""
    body = {k: v for k, v in document.items() if k != "mac"}
    expected = hmac.digest(keys.config, canonical_json(body), "sha256").hex()
    if not hmac.compare_digest(str(document.get("mac", "")), expected):
        raise IntegrityError("vault config failed authentication (tampered or damaged)")
    try:
        chunker = body["chunker"]
        compression = body["compression"]
        if chunker["alg"] != "aes128-prf-16" or compression["alg"] != "zstd":
            raise UnsupportedFormat("vault config names an unknown chunker or compressor")
        return VaultConfig(
            vault_id=keys.vault_id,
            chunker_min=int(chunker["min"]),
            chunker_avg=int(chunker["avg"]),
            chunker_max=int(chunker["max"]),
            compression_level=int(compression["level"]),
        )
    except (KeyError, TypeError, ValueError):
        raise IntegrityError("vault config is malformed") from None


@dataclass(frozen=True)
class KeySlot:
    """One passphrase's way into the vault: Argon2id parameters and the wrapped master secret."""

    slot_id: bytes
    vault_id: bytes
    kdf: KdfParams
    nonce: bytes
    wrapped: bytes
    # Hints for people, not authenticated (docs/FORMAT.md, "Keys"): who the slot is for, when.
    label: str = ""
    created: str = ""

    @property
    def name(self) -> str:
        return KEYS_PREFIX + self.slot_id.hex()

    def encode(self) -> bytes:
        document = {
            "v": 1,
            "vault_id": self.vault_id.hex(),
            "kdf": {
                "alg": "argon2id",
                "salt": _b64(self.kdf.salt),
                "iterations": self.kdf.iterations,
                "lanes": self.kdf.lanes,
                "memory_kib": self.kdf.memory_kib,
            },
            "nonce": _b64(self.nonce),
            "wrapped": _b64(self.wrapped),
        }
        if self.label:
            document["label"] = self.label
        if self.created:
            document["created"] = self.created
        # Not a defence (anyone can recompute it): it tells a damaged slot from a wrong passphrase.
        document["check"] = hashlib.sha256(canonical_json(document)).hexdigest()
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def decode(cls, name: str, raw: bytes) -> KeySlot:
        what = f"key slot {name}"
        try:
            slot_id = bytes.fromhex(name[len(KEYS_PREFIX) :])
            document = json.loads(raw)
            body = {k: v for k, v in document.items() if k != "check"}
            if document.get("check") != hashlib.sha256(canonical_json(body)).hexdigest():
                raise IntegrityError(f"{what} is damaged (its checksum does not match)")
            if document["v"] != 1:
                raise UnsupportedFormat(f"{what} has format version {document['v']}")
            kdf = document["kdf"]
            if kdf["alg"] != "argon2id":
                raise UnsupportedFormat(f"{what} uses unknown KDF {kdf['alg']!r}")
            params = KdfParams(
                salt=_unb64(kdf["salt"]),
                iterations=_int(kdf["iterations"]),
                lanes=_int(kdf["lanes"]),
                memory_kib=_int(kdf["memory_kib"]),
            )
            return cls(
                slot_id,
                bytes.fromhex(document["vault_id"]),
                params,
                _unb64(document["nonce"]),
                _unb64(document["wrapped"]),
                label=_optional_text(document, "label"),
                created=_optional_text(document, "created"),
            )
        except (KeyError, TypeError, ValueError, UnicodeDecodeError, AttributeError):
            raise IntegrityError(f"{what} is malformed") from None

    @classmethod
    def create(
        cls,
        master: bytes,
        vault_id: bytes,
        passphrase: bytes,
        rng: Rng,
        kdf: KdfParams | None,
        *,
        label: str = "",
        created: str = "",
    ) -> KeySlot:
        params = kdf or KdfParams(salt=rng(32))
        slot_id = rng(16)
        kek = derive_kek(passphrase, params)
        nonce, wrapped = wrap_secret(kek, master, vault_id, slot_id, params, rng)
        return cls(slot_id, vault_id, params, nonce, wrapped, label, created)

    def unlock(self, vault_id: bytes, passphrase: bytes) -> bytes:
        if self.vault_id != vault_id:
            # Both are bound into the slot's AAD; saying which one is off beats blaming the
            # passphrase.
            raise IntegrityError(
                f"key slot {self.slot_id.hex()} belongs to vault {self.vault_id.hex()[:8]}, but "
                f"the config says {vault_id.hex()[:8]}: the config is damaged or was replaced"
            )
        self.kdf.check()
        kek = derive_kek(passphrase, self.kdf)
        master = unwrap_secret(kek, self.nonce, self.wrapped, vault_id, self.slot_id, self.kdf)
        if len(master) != MASTER_SECRET_SIZE:
            raise IntegrityError(f"key slot {self.slot_id.hex()} holds a malformed secret")
        return master


@dataclass(frozen=True)
class SlotInfo:
    """A key slot as 'lkvault key list' shows it (``slot`` is None when it is damaged)."""

    slot_id: str
    slot: KeySlot | None
    current: bool  # the slot that opened this vault
    problem: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def _optional_text(document: dict[str, Any], key: str) -> str:
    value = document.get(key, "")
    if not isinstance(value, str):
        raise TypeError(f"{key} is not text")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("not an integer")
    return value


def load_slots(backend: Backend) -> list[KeySlot]:
    slots = []
    for name in list_objects(backend, KEYS_PREFIX):
        raw = backend.read(name)
        if len(raw) > MAX_JSON:
            raise IntegrityError(f"key slot {name} is implausibly large")
        slots.append(KeySlot.decode(name, raw))
    return slots


def unlock(backend: Backend, vault_id: bytes, passphrase: bytes) -> bytes:
    """Try the passphrase on every key slot; the master secret, or AccessDenied."""
    return unlock_slot(backend, vault_id, passphrase)[1]


def trial_order(slots: list[KeySlot], preferred: bytes | None) -> list[KeySlot]:
    """The order to try slots in: the one this computer opened last, then the cheapest
    first, so a slot planted with a costly KDF is only derived when no other slot opens."""
    return sorted(slots, key=lambda s: (s.slot_id != preferred, s.kdf.cost, s.slot_id))


def unlock_slot(
    backend: Backend, vault_id: bytes, passphrase: bytes, preferred: bytes | None = None
) -> tuple[bytes, bytes]:
    """Try the passphrase on the key slots in ``trial_order``; (the slot id that opened,
    the master secret).

    A damaged slot or one offering weak KDF parameters is skipped; if no slot opens, the
    error names the refused slot rather than blaming the passphrase.
    """
    names = list_objects(backend, KEYS_PREFIX)
    if not names:
        raise AccessDenied(f"the vault at {backend.location} has no key slots")
    refused: IntegrityError | None = None
    slots = []
    for name in names:
        try:
            raw = backend.read(name)
            if len(raw) > MAX_JSON:
                raise IntegrityError(f"key slot {name} is implausibly large")
            slots.append(KeySlot.decode(name, raw))
        except FileNotFoundError:
            continue
        except IntegrityError as exc:
            refused = exc
    for slot in trial_order(slots, preferred):
        try:
            return slot.slot_id, slot.unlock(vault_id, passphrase)
        except AccessDenied:
            continue
        except IntegrityError as exc:
            refused = exc
    if refused is not None:
        raise IntegrityError(f"{refused}; no other key slot accepts this passphrase")
    raise AccessDenied("wrong passphrase: it opens none of the vault's key slots")
