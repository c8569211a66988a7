"""The repository: an unlocked vault, composed of its index, blob reader and document store.

Write order (docs/FORMAT.md, "Consistency"): packs, then the index file that lists them,
then the snapshot that uses them. Every file is written whole and atomically by the backend,
so a crash at any moment leaves only unreferenced packs or index entries behind. Blobs are
written by ``blobwriter.BlobWriter``, built on a repository.
"""

from __future__ import annotations

from lkvault.vault.backend import Backend
from lkvault.vault.format.crypto import KdfParams, Keys, Rng
from lkvault.vault.repository.blobreader import BlobReader
from lkvault.vault.repository.decodesets import DecodeSets
from lkvault.vault.repository.documents import DocumentStore
from lkvault.vault.repository.index import Index
from lkvault.vault.repository.indexstore import IndexStore
from lkvault.vault.repository.keyslots import VaultConfig
from lkvault.vault.repository.unlocking import (
    Clock,
    Unlocked,
    create_vault,
    unlock,
    unlock_with_master,
)


class Repository:
    """An unlocked vault. Create with ``Repository.create`` or ``Repository.open``.

    It holds the keys and config and composes the parts that do the work: ``indexes`` (the
    index read from storage), ``reader`` (blobs out of frames and their dictionary chains),
    ``decode_sets`` (how many frames reading each frame decodes, for writers) and
    ``documents`` (sealed snapshots and forget records).
    """

    def __init__(
        self,
        backend: Backend,
        keys: Keys,
        config: VaultConfig,
        rng: Rng,
        clock: Clock,
        *,
        master: bytes | None = None,
        slot_id: bytes | None = None,
    ) -> None:
        self._backend = backend
        self.keys = keys
        self.config = config
        self.rng = rng
        self.clock = clock
        self.master = master  # kept to wrap it in new key slots ('lkvault key add')
        self.slot_id = slot_id  # the key slot that opened the vault, if a passphrase did
        self.indexes = IndexStore(backend, keys)
        self.reader = BlobReader(backend, keys, self.indexes)
        self.decode_sets = DecodeSets(self.reader.locate)
        self.documents = DocumentStore(backend, keys, rng)

    @property
    def backend(self) -> Backend:
        """The storage every part reads and writes."""
        return self._backend

    @backend.setter
    def backend(self, backend: Backend) -> None:
        # Every part stores through the new one (the lock guard wraps the storage once a lock
        # is taken: a part still holding the old one would write past a lost lock).
        self._backend = backend
        self.indexes.backend = backend
        self.reader.backend = backend
        self.documents.backend = backend

    @classmethod
    def _unlocked(cls, backend: Backend, unlocked: Unlocked, rng: Rng, clock: Clock) -> Repository:
        return cls(
            backend,
            unlocked.keys,
            unlocked.config,
            rng,
            clock,
            master=unlocked.master,
            slot_id=unlocked.slot_id,
        )

    @classmethod
    def create(
        cls,
        backend: Backend,
        passphrase: bytes,
        rng: Rng,
        clock: Clock,
        *,
        kdf: KdfParams | None = None,
        config: VaultConfig | None = None,
    ) -> Repository:
        """Initialise a new vault: config, then the first key slot."""
        unlocked = create_vault(backend, passphrase, rng, clock, kdf=kdf, config=config)
        return cls._unlocked(backend, unlocked, rng, clock)

    @classmethod
    def open(
        cls,
        backend: Backend,
        passphrase: bytes,
        rng: Rng,
        clock: Clock,
        *,
        preferred_slot: bytes | None = None,
    ) -> Repository:
        """Unlock an existing vault with a passphrase, trying ``preferred_slot`` first."""
        unlocked = unlock(backend, passphrase, preferred_slot=preferred_slot)
        return cls._unlocked(backend, unlocked, rng, clock)

    @classmethod
    def open_with_master(
        cls, backend: Backend, vault_id: bytes, master: bytes, rng: Rng, clock: Clock
    ) -> Repository:
        """Open a vault with its master secret itself (a recovery key), no key slot needed."""
        unlocked = unlock_with_master(backend, vault_id, master)
        return cls._unlocked(backend, unlocked, rng, clock)

    @property
    def index(self) -> Index:
        """The index of every readable index file, read when first needed."""
        return self.indexes.index

    def use_index(self, index: Index) -> None:
        """Read blobs through ``index`` from now on (repair: only the copies it proved whole)."""
        self.indexes.use(index)
        self.reader.forget_frames()
        self.decode_sets.forget()

    def reload_index(self) -> Index:
        """Forget the index read so far and read every index file again."""
        index = self.indexes.reload()
        self.decode_sets.forget()
        return index
