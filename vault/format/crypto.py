"""Pure cryptography of the vault format: key derivation, keyed ids, object sealing, padding.

Nothing here does I/O or reads the clock; randomness comes in as an ``rng`` callable.
The byte layouts and labels are normative: see docs/FORMAT.md, "Keys" and "Objects".
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from lkvault.vault.errors import AccessDenied, IntegrityError, UsageError, VaultError

Rng = Callable[[int], bytes]

FORMAT_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
SEAL_OVERHEAD = NONCE_SIZE + TAG_SIZE
ID_SIZE = 32
VAULT_ID_SIZE = 16
MASTER_SECRET_SIZE = 32


class ObjectType(IntEnum):
    """What a sealed object is; bound into its id and its associated data."""

    KEYSLOT = 1
    CONFIG = 2
    FRAME = 3
    PACK_HEADER = 4
    INDEX = 5
    SNAPSHOT = 6
    LOCK = 7
    FORGET = 8
    MEMBER_CACHE = 9  # a computer's own state file, never stored in a vault


class BlobType(IntEnum):
    """What a blob inside a frame holds; each type has its own id key."""

    DATA = 0
    TREE = 1


# --- passphrase -> key-encryption key (Argon2id) -------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored in each key slot."""

    salt: bytes
    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 65536

    # Minimums enforced when reading, so a hostile vault cannot offer a cheap guess.
    MIN_ITERATIONS = 3
    MIN_MEMORY_KIB = 65536
    MIN_SALT = 16
    # Maximums, so a hostile vault cannot make opening it exhaust the machine: 2 GiB is
    # RFC 9106's first recommendation (with 1 pass), and the work (memory x passes) is held
    # to about 20 times the default's (SECURITY.md, "Key slots").
    MAX_ITERATIONS = 16
    MAX_MEMORY_KIB = 2 * 1024 * 1024
    MAX_LANES = 64
    MAX_COST = 4 * 1024 * 1024  # KiB x passes: 4 GiB once, 1 GiB 4 times, 256 MiB 16 times

    @property
    def cost(self) -> int:
        """The work of one derivation, as memory (KiB) times passes."""
        return self.memory_kib * self.iterations

    def check(self) -> None:
        """Refuse parameters below the minimums or above the maximums."""
        if not (self.MIN_ITERATIONS <= self.iterations <= self.MAX_ITERATIONS):
            raise IntegrityError(
                f"key slot asks for Argon2id iterations={self.iterations}; "
                f"allowed {self.MIN_ITERATIONS}..{self.MAX_ITERATIONS}"
            )
        if not (self.MIN_MEMORY_KIB <= self.memory_kib <= self.MAX_MEMORY_KIB):
            raise IntegrityError(
                f"key slot asks for Argon2id memory={self.memory_kib} KiB; "
                f"allowed {self.MIN_MEMORY_KIB}..{self.MAX_MEMORY_KIB} KiB"
            )
        if self.cost > self.MAX_COST:
            raise IntegrityError(
                f"key slot asks for Argon2id memory={self.memory_kib} KiB with "
                f"iterations={self.iterations}; allowed up to {self.MAX_COST} KiB x passes"
            )
        if not (1 <= self.lanes <= self.MAX_LANES):
            raise IntegrityError(f"key slot asks for Argon2id lanes={self.lanes}")
        if len(self.salt) < self.MIN_SALT:
            raise IntegrityError(f"key slot salt is {len(self.salt)} bytes; at least 16 needed")
        if self.memory_kib < 8 * self.lanes:
            raise IntegrityError("key slot Argon2id memory is too small for its lanes")


def check_passphrase(passphrase: bytes) -> None:
    """Refuse passphrases that protect nothing."""
    if not passphrase:
        raise UsageError("an empty passphrase is not allowed")


# Two Argon2id derivations at once in one process can deadlock in OpenSSL's implementation
# (seen with cryptography 50 / OpenSSL 4.0 and lanes=4); they are cheap enough to take turns.
_ARGON2_TURN = threading.Lock()


def derive_kek(passphrase: bytes, params: KdfParams) -> bytes:
    """Stretch a passphrase into the 32-byte key that wraps the master secret."""
    check_passphrase(passphrase)
    params.check()
    kdf = Argon2id(
        salt=params.salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    with _ARGON2_TURN:
        try:
            return kdf.derive(passphrase)
        except MemoryError:
            raise VaultError(
                f"not enough memory to derive the key: Argon2id needs "
                f"{params.memory_kib // 1024} MiB"
            ) from None


def keyslot_aad(vault_id: bytes, slot_id: bytes, params: KdfParams) -> bytes:
    """Associated data of a key slot: binds vault, slot and the stored KDF parameters."""
    return b"".join(
        [
            b"lkvault keyslot",
            bytes([FORMAT_VERSION]),
            vault_id,
            slot_id,
            struct.pack(
                "<IIIB", params.iterations, params.lanes, params.memory_kib, len(params.salt)
            ),
            params.salt,
        ]
    )


def wrap_secret(
    kek: bytes, secret: bytes, vault_id: bytes, slot_id: bytes, params: KdfParams, rng: Rng
) -> tuple[bytes, bytes]:
    """Encrypt the master secret under a key-encryption key; returns (nonce, ciphertext)."""
    nonce = rng(NONCE_SIZE)
    return nonce, AESGCM(kek).encrypt(nonce, secret, keyslot_aad(vault_id, slot_id, params))


def unwrap_secret(
    kek: bytes, nonce: bytes, wrapped: bytes, vault_id: bytes, slot_id: bytes, params: KdfParams
) -> bytes:
    """Decrypt a wrapped master secret; AccessDenied when the passphrase is wrong."""
    try:
        return AESGCM(kek).decrypt(nonce, wrapped, keyslot_aad(vault_id, slot_id, params))
    except InvalidTag:
        raise AccessDenied("wrong passphrase") from None


# --- master secret -> purpose keys (HKDF) -----------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """Per-purpose subkeys of one vault, derived from its master secret."""

    vault_id: bytes
    data_id: bytes
    tree_id: bytes
    object_id: bytes
    encryption: bytes
    chunker: bytes
    member: bytes
    config: bytes

    @classmethod
    def derive(cls, master: bytes, vault_id: bytes) -> Keys:
        if len(master) != MASTER_SECRET_SIZE:
            raise IntegrityError("master secret has the wrong size")

        def sub(label: str, size: int = 32) -> bytes:
            return HKDF(
                algorithm=hashes.SHA256(),
                length=size,
                salt=vault_id,
                info=b"lkvault v1 " + label.encode(),
            ).derive(master)

        return cls(
            vault_id=vault_id,
            data_id=sub("id data"),
            tree_id=sub("id tree"),
            object_id=sub("id object"),
            encryption=sub("encryption"),
            chunker=sub("chunker", 16),
            member=sub("member"),
            config=sub("config"),
        )

    def blob_id(self, blob_type: BlobType, data: bytes | memoryview) -> bytes:
        """The keyed id of a blob's plaintext (HMAC-SHA256 under the type's id key)."""
        key = self.data_id if blob_type == BlobType.DATA else self.tree_id
        return hmac.digest(key, data, "sha256")

    def member_hasher(self, header: bytes) -> hmac.HMAC:
        """Keyed hash of a zip member: ``header``, then feed it the compressed bytes."""
        return hmac.new(self.member, header, hashlib.sha256)

    def object_id_of(self, object_type: ObjectType, plaintext: bytes | memoryview) -> bytes:
        """The keyed id of a sealed object's plaintext, domain-separated by type."""
        mac = hmac.new(self.object_id, bytes([object_type]), hashlib.sha256)
        mac.update(plaintext)
        return mac.digest()


def object_aad(vault_id: bytes, object_type: ObjectType, object_id: bytes) -> bytes:
    """Associated data of a sealed object: format version, type, vault id and object id."""
    return b"lkvault" + bytes([FORMAT_VERSION, object_type]) + vault_id + object_id


def _object_key(keys: Keys, object_type: ObjectType, object_id: bytes) -> AESGCM:
    # One key per object: a key only ever encrypts the plaintext its id was computed from,
    # so a repeated random nonce could at worst reveal that equal plaintexts are equal.
    return AESGCM(hmac.digest(keys.encryption, bytes([object_type]) + object_id, "sha256"))


def seal(
    keys: Keys, object_type: ObjectType, object_id: bytes, plaintext: bytes, rng: Rng
) -> bytes:
    """Encrypt an object: nonce || AES-256-GCM(ciphertext || tag)."""
    nonce = rng(NONCE_SIZE)
    aad = object_aad(keys.vault_id, object_type, object_id)
    return nonce + _object_key(keys, object_type, object_id).encrypt(nonce, plaintext, aad)


def unseal(
    keys: Keys,
    object_type: ObjectType,
    object_id: bytes,
    sealed: bytes | memoryview,
    *,
    content_addressed: bool = True,
) -> bytes:
    """Decrypt and authenticate an object; IntegrityError names what failed."""
    if len(sealed) < SEAL_OVERHEAD:
        raise IntegrityError(f"{object_type.name.lower()} {object_id.hex()[:16]} is truncated")
    sealed = bytes(sealed)
    aad = object_aad(keys.vault_id, object_type, object_id)
    try:
        plaintext = _object_key(keys, object_type, object_id).decrypt(
            sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad
        )
    except InvalidTag:
        raise IntegrityError(
            f"{object_type.name.lower()} {object_id.hex()[:16]} failed authentication"
        ) from None
    if content_addressed and not hmac.compare_digest(
        keys.object_id_of(object_type, plaintext), object_id
    ):
        raise IntegrityError(
            f"{object_type.name.lower()} {object_id.hex()[:16]} does not match its id"
        )
    return plaintext


# --- size hiding -------------------------------------------------------------------------------


def padme(length: int) -> int:
    """The Padmé padded size of ``length``: at most ~12% larger, leaking O(log log) bits."""
    if length < 2:
        return length
    exponent = length.bit_length() - 1  # floor(log2(length))
    size_bits = exponent.bit_length()  # floor(log2(exponent)) + 1
    low_bits = exponent - size_bits
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def padded(plaintext: bytes, beside: int = 0) -> bytes:
    """``plaintext`` followed by the zero bytes that make its sealed object, with ``beside``
    bytes stored along with it (a pack's frames and trailer), a Padmé size."""
    unpadded = beside + len(plaintext) + SEAL_OVERHEAD
    return plaintext + bytes(padme(unpadded) - unpadded)


def sha256(data: bytes | memoryview) -> bytes:
    """SHA-256, for whole-input fingerprints (not for ids, which are keyed)."""
    return hashlib.sha256(data).digest()
