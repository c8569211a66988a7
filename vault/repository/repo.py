"""The repository: an unlocked vault's keys, config and index, and blob and document storage.

Write order (docs/FORMAT.md, "Consistency"): packs, then the index file that lists them,
then the snapshot that uses them. Every file is written whole and atomically by the backend,
so a crash at any moment leaves only unreferenced packs or index entries behind.
"""

from __future__ import annotations

import dataclasses
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from .. import codec
from ..backend import Backend
from ..crypto import (
    MASTER_SECRET_SIZE,
    SEAL_OVERHEAD,
    VAULT_ID_SIZE,
    BlobType,
    KdfParams,
    Keys,
    ObjectType,
    Rng,
    check_passphrase,
    padme,
    seal,
    unseal,
)
from ..errors import IntegrityError, VaultExists
from .index import (
    INDEX_PREFIX,
    BlobLocation,
    FrameRef,
    Index,
    decode_index,
    encode_index,
    id_of_name,
    pack_name,
)
from .keyslots import (
    CONFIG_NAME,
    KeySlot,
    VaultConfig,
    read_config_unverified,
    unlock,
    vault_id_of,
    verify_config,
)
from .pack import (
    TRAILER_SIZE,
    FrameBuilder,
    FrameEntry,
    build_pack,
    open_frame,
    open_pack_header,
    parse_trailer,
    seal_frame,
)

Clock = Callable[[], datetime]

FRAME_TARGET = 4 * 1024 * 1024
PACK_TARGET = 16 * 1024 * 1024
# Restoring a deduplicated snapshot reads old and new frames in turns (one run of frames per
# month it shares data with); a cache of a few frames thrashed: 173 frame loads instead of 15
# for a year of 10 MB exports.
FRAME_CACHE_BYTES = 64 * 1024 * 1024
SMALL_FRAME = 1024 * 1024
SMALL_FRAME_LEVEL = 19


class Repository:
    """An unlocked vault. Create with ``Repository.create`` or ``Repository.open``."""

    def __init__(
        self, backend: Backend, keys: Keys, config: VaultConfig, rng: Rng, clock: Clock
    ) -> None:
        self.backend = backend
        self.keys = keys
        self.config = config
        self.rng = rng
        self.clock = clock
        self._index: Index | None = None
        self._frames: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()
        self._frames_lock = threading.Lock()
        self._frames_bytes = 0
        self.index_problems: list[tuple[str, str]] = []  # (index file, what is wrong)

    # --- opening -----------------------------------------------------------------------------

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
        check_passphrase(passphrase)
        if backend.exists(CONFIG_NAME):
            raise VaultExists(f"a vault already exists at {backend.location}")
        for name in backend.list("keys/"):
            # Slots without a config are left by an init that was interrupted: no data can
            # have been stored under them, so they guard nothing.
            backend.delete(name)
        vault_id = rng(VAULT_ID_SIZE)
        master = rng(MASTER_SECRET_SIZE)
        keys = Keys.derive(master, vault_id)
        settings = dataclasses.replace(config or VaultConfig(vault_id=vault_id), vault_id=vault_id)
        slot = KeySlot.create(master, vault_id, passphrase, rng, kdf)
        # The key slot goes first: a config without a slot could never be opened, while a
        # slot without a config is cleaned up by the next 'create'.
        backend.write(slot.name, slot.encode())
        backend.write(CONFIG_NAME, settings.encode(keys))
        return cls(backend, keys, settings, rng, clock)

    @classmethod
    def open(cls, backend: Backend, passphrase: bytes, rng: Rng, clock: Clock) -> Repository:
        """Unlock an existing vault with a passphrase."""
        check_passphrase(passphrase)
        document = read_config_unverified(backend)
        vault_id = vault_id_of(document)
        master = unlock(backend, vault_id, passphrase)
        keys = Keys.derive(master, vault_id)
        return cls(backend, keys, verify_config(document, keys), rng, clock)

    # --- index -------------------------------------------------------------------------------

    @property
    def index(self) -> Index:
        if self._index is None:
            # A damaged index file must not cost the snapshots other index files describe.
            self._index = self.load_index(
                lambda name, exc: self.index_problems.append((name, str(exc)))
            )
        return self._index

    def reload_index(self) -> Index:
        """Forget the index read so far and read every index file again."""
        self._index = None
        self.index_problems = []
        return self.index

    def index_names(self) -> list[str]:
        return self.backend.list(INDEX_PREFIX)

    def load_index(self, on_error: Callable[[str, Exception], None] | None = None) -> Index:
        """Read every index file. Damaged ones raise, or are reported to ``on_error``."""
        index = Index()
        for name in self.index_names():
            try:
                packs = decode_index(self.keys, name, self.backend.read(name))
            except (IntegrityError, FileNotFoundError) as exc:
                if on_error is None:
                    raise
                on_error(name, exc)
                continue
            for pack_id, frames in packs.items():
                index.add_pack(pack_id, frames)
        return index

    # --- blobs -------------------------------------------------------------------------------

    def writer(self, workers: int = 2) -> BlobWriter:
        return BlobWriter(self, workers)

    def read_frame(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content, from a small cache shared by threads."""
        key = (ref.pack_id, ref.entry.offset)
        with self._frames_lock:
            content = self._frames.get(key)
            if content is not None:
                self._frames.move_to_end(key)
                return content
        sealed = self.read_stored(
            pack_name(ref.pack_id),
            f"pack {ref.pack_id.hex()[:16]}",
            ref.entry.offset,
            ref.entry.length,
        )
        content = open_frame(self.keys, ref.entry, sealed)
        with self._frames_lock:
            if key not in self._frames:
                self._frames[key] = content
                self._frames_bytes += len(content)
            while self._frames_bytes > FRAME_CACHE_BYTES and len(self._frames) > 1:
                _, evicted = self._frames.popitem(last=False)
                self._frames_bytes -= len(evicted)
        return content

    def read_blob(self, blob_type: BlobType, blob_id: bytes) -> bytes:
        """A blob's plaintext, verified against its keyed id."""
        location = self.index.get(blob_id)
        if location is None:
            hint = (
                " (an index file is damaged; run 'lkvault verify')" if self.index_problems else ""
            )
            raise IntegrityError(f"blob {blob_id.hex()[:16]} is missing from the vault{hint}")
        return self.blob_at(location, blob_type, blob_id)

    def blob_at(self, location: BlobLocation, blob_type: BlobType, blob_id: bytes) -> bytes:
        if location.type != blob_type:
            raise IntegrityError(
                f"blob {blob_id.hex()[:16]} is a {location.type.name.lower()} blob, "
                f"expected {blob_type.name.lower()}"
            )
        content = self.read_frame(location.frame)
        data = content[location.offset : location.offset + location.length]
        if not hmac.compare_digest(self.keys.blob_id(blob_type, data), blob_id):
            raise IntegrityError(f"blob {blob_id.hex()[:16]} does not match its id")
        return data

    def read_pack_header(self, pack_id: bytes) -> list[FrameEntry]:
        """Parse a pack's own header (for checking the index against the packs)."""
        name = pack_name(pack_id)
        what = f"pack {pack_id.hex()[:16]}"
        try:
            size = self.backend.size(name)
        except FileNotFoundError:
            raise IntegrityError(f"{what} is missing ({name})") from None
        header_size = parse_trailer(
            self.read_stored(name, what, size - TRAILER_SIZE, 4), size, what
        )
        header_offset = size - TRAILER_SIZE - header_size
        sealed = self.read_stored(name, what, header_offset, header_size)
        return open_pack_header(self.keys, pack_id, sealed, header_offset)

    def read_stored(
        self, name: str, what: str, offset: int = 0, length: int | None = None
    ) -> bytes:
        """Bytes of a stored file that something refers to: a missing one is damage."""
        try:
            return self.backend.read(name, offset, length)
        except FileNotFoundError:
            raise IntegrityError(f"{what} is missing ({name})") from None

    # --- sealed documents (snapshots, forget records) ---------------------------------------

    def write_document(self, prefix: str, object_type: ObjectType, document: Any) -> bytes:
        """Seal a padded document and store it under ``prefix/<object id>``; returns the id."""
        unpadded = len(codec.encode_document(document)) + SEAL_OVERHEAD
        plaintext = codec.encode_document(document, padding=padme(unpadded) - unpadded)
        object_id = self.keys.object_id_of(object_type, plaintext)
        self.backend.write(
            prefix + object_id.hex(), seal(self.keys, object_type, object_id, plaintext, self.rng)
        )
        return object_id

    def read_document(self, prefix: str, object_type: ObjectType, name: str) -> Any:
        what = f"{object_type.name.lower()} {name}"
        object_id = id_of_name(name, prefix, what)
        plaintext = unseal(self.keys, object_type, object_id, self.read_stored(name, what))
        document = codec.decode_document(plaintext, what)
        codec.check_version(document, what)
        return document


class BlobWriter:
    """Deduplicates blobs, groups them into frames sealed on worker threads, writes packs.

    ``finish`` writes the last pack and then one index file for every pack written, so the
    blobs become visible to readers only once all their packs are durable.
    """

    def __init__(self, repo: Repository, workers: int) -> None:
        self.repo = repo
        self.keys = repo.keys
        self.pending: set[bytes] = set()
        self.frame = FrameBuilder()
        self.sealing: list[Future[tuple[bytes, FrameEntry]]] = []
        self.sealed: list[tuple[bytes, FrameEntry]] = []
        self.sealed_size = 0
        self.written: dict[bytes, list[FrameEntry]] = {}
        self.executor = ThreadPoolExecutor(max_workers=max(1, workers))
        self.workers = max(1, workers)
        self.new_bytes = 0
        self.new_blobs = 0
        self.stored_bytes = 0
        self.lock = threading.Lock()

    def add(self, blob_type: BlobType, data: bytes | memoryview) -> bytes:
        """Store a blob unless the vault already has it; returns its id. Thread-safe."""
        blob_id = self.keys.blob_id(blob_type, data)
        with self.lock:
            if blob_id in self.pending or blob_id in self.repo.index:
                return blob_id
            self.pending.add(blob_id)
            self.frame.add(blob_type, blob_id, data)
            self.new_bytes += len(data)
            self.new_blobs += 1
            if self.frame.raw_size >= FRAME_TARGET:
                self._seal_frame()
        return blob_id

    def _seal_frame(self) -> None:
        frame, self.frame = self.frame, FrameBuilder()
        level = self.repo.config.compression_level
        if frame.raw_size <= SMALL_FRAME:
            # Monthly exports add little new content; squeezing it hard costs well under a
            # second and is where most of a long series' stored bytes go.
            level = max(level, SMALL_FRAME_LEVEL)
        self.sealing.append(
            self.executor.submit(
                seal_frame, self.keys, frame.pieces, frame.blobs, level, self.repo.rng
            )
        )
        # Bounded memory: never more frames in flight than workers.
        while len(self.sealing) > self.workers:
            self._collect(self.sealing.pop(0).result())

    def _collect(self, sealed: tuple[bytes, FrameEntry]) -> None:
        self.sealed.append(sealed)
        self.sealed_size += len(sealed[0])
        if self.sealed_size >= PACK_TARGET:
            self._write_pack()

    def _write_pack(self) -> None:
        if not self.sealed:
            return
        pack_id, blob, entries = build_pack(self.keys, self.sealed, self.repo.rng)
        self.repo.backend.write(pack_name(pack_id), blob)
        self.stored_bytes += len(blob)
        self.written[pack_id] = entries
        self.sealed, self.sealed_size = [], 0

    def finish(self) -> None:
        """Make every added blob durable and indexed."""
        try:
            if self.frame.blobs:
                self._seal_frame()
            for future in self.sealing:
                self._collect(future.result())
            self.sealing = []
            self._write_pack()
            if self.written:
                name, blob = encode_index(self.keys, self.written, self.repo.rng)
                self.repo.backend.write(name, blob)
                self.stored_bytes += len(blob)
                for pack_id, frames in self.written.items():
                    self.repo.index.add_pack(pack_id, frames)
                self.written = {}
            self.pending.clear()
        finally:
            self.executor.shutdown(wait=True)

    def abort(self) -> None:
        """Stop without indexing; packs already written stay unreferenced (prune removes them)."""
        for future in self.sealing:
            future.cancel()
        self.executor.shutdown(wait=True)
