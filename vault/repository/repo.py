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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from lkvault.vault.backend import Backend
from lkvault.vault.errors import (
    AccessDenied,
    IntegrityError,
    StorageError,
    VaultExists,
    VaultNotFound,
)
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import (
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
from lkvault.vault.repository.index import (
    INDEX_PREFIX,
    BlobLocation,
    FrameRef,
    Index,
    decode_index,
    id_of_name,
    pack_id_of_name,
    pack_name,
)
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
from lkvault.vault.repository.pack import (
    MAX_DICT_BYTES,
    TRAILER_SIZE,
    FrameEntry,
    open_frame,
    open_pack_header,
    parse_trailer,
)
from lkvault.vault.spill import Spill

Clock = Callable[[], datetime]

# Decoded frames kept for reads that come back to them (a restore reads the frames of older
# and newer months in turns). Operations whose frames outgrow it stage them instead
# (Repository.staged), which decodes each frame once however small the cache; 64 MiB was
# the largest share of a snapshot's peak memory once a vault had a few months (the 36th
# month of 10 MB exports: 181 MB with 64 MiB, 131 MB with 16 MiB, the same CPU time).
FRAME_CACHE_BYTES = 16 * 1024 * 1024
# Only a vault whose creation completed holds files here (an interrupted init leaves at most a
# key slot): such a folder without its config lost the config, and must never be initialised
# again, which would delete the only key slots able to decrypt its snapshots.
VAULT_DATA_PREFIXES = (INDEX_PREFIX, "snapshots/", "data/")
# Reading a blob decodes its frame and, first, every frame its dictionary draws on, and
# theirs in turn. Writers keep that set to this many frames for every frame they write, so
# a read costs at most this many frame decodes however long the chains grow. On 300 MB
# exports the set grows by 6 to 10 frames a month (a median of 95 frames in month 15); at
# 96, month 16 on lost most of its dictionaries and cost 28 MB a month instead of 10 (month
# 18: 28.6 MB at 96, 10.1 MB at 512). Restores, verify, cat and snapshots decode the frames
# they need once each (Repository.staged), so the bound only limits a lone read, and at
# 512 frames of 4 MiB it stays a few seconds; MAX_DICT_DEPTH binds first (month 48).
MAX_DECODE_FRAMES = 512


def frame_key(ref: FrameRef) -> tuple[bytes, int]:
    """What tells frames apart in caches: their pack and place in it."""
    return ref.pack_id, ref.entry.offset


class Repository:
    """An unlocked vault. Create with ``Repository.create`` or ``Repository.open``."""

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
        self.backend = backend
        self.keys = keys
        self.config = config
        self.rng = rng
        self.clock = clock
        self.master = master  # kept to wrap it in new key slots ('lkvault key add')
        self.slot_id = slot_id  # the key slot that opened the vault, if a passphrase did
        self._index: Index | None = None
        self._frames: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()
        self._frames_lock = threading.Lock()
        self._frames_bytes = 0
        # Decode sets as bit masks over frames numbered as met: a frame's set may name up to
        # MAX_DECODE_FRAMES frames, ~40 bytes each in a Python set, for every frame written.
        self._decode_sets: dict[tuple[bytes, int], int | None] = {}
        self._frame_bits: dict[tuple[bytes, int], int] = {}
        self._staged: dict[tuple[bytes, int], int] = {}  # frame -> offset in self._stage
        self._stage: Spill | None = None
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
        return cls(backend, keys, settings, rng, clock, master=master, slot_id=slot.slot_id)

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
        return cls(
            backend,
            keys,
            verify_config(document, keys),
            rng,
            clock,
            master=master,
            slot_id=slot_id,
        )

    @classmethod
    def open_with_master(
        cls, backend: Backend, vault_id: bytes, master: bytes, rng: Rng, clock: Clock
    ) -> Repository:
        """Open a vault with its master secret itself (a recovery key), no key slot needed.

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
                "this recovery key does not open the vault (its config does not authenticate "
                "under it)"
            ) from None
        return cls(backend, keys, config, rng, clock, master=master)

    # --- index -------------------------------------------------------------------------------

    @property
    def index(self) -> Index:
        if self._index is None:
            # A damaged index file must not cost the snapshots other index files describe.
            self._index = self.load_index(
                lambda name, exc: self.index_problems.append((name, str(exc)))
            )
        return self._index

    def use_index(self, index: Index) -> None:
        """Read blobs through ``index`` from now on (repair: only the copies it proved whole)."""
        self._index = index
        self._frames.clear()
        self._frames_bytes = 0
        self._decode_sets.clear()
        self._frame_bits.clear()

    def reload_index(self) -> Index:
        """Forget the index read so far and read every index file again."""
        self._index = None
        self.index_problems = []
        self._decode_sets.clear()
        self._frame_bits.clear()
        return self.index

    def index_names(self) -> list[str]:
        return list_objects(self.backend, INDEX_PREFIX)

    def stored_pack_ids(self) -> set[bytes]:
        """The ids of the packs in storage (files under data/ that are not packs left out)."""
        ids = (pack_id_of_name(name) for name in self.backend.list("data/"))
        return {pack_id for pack_id in ids if pack_id is not None}

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

    def frames_holding(self, blob_ids: Iterable[bytes]) -> Iterator[FrameRef]:
        """The frames that reading ``blob_ids`` reads (repeats included)."""
        for blob_id in blob_ids:
            location = self.index.get(blob_id)
            if location is not None:
                yield location.frame

    @contextmanager
    def staged(self, frames: Iterable[FrameRef]) -> Iterator[None]:
        """Within this context, reading from ``frames`` decodes no dictionary chain again.

        Every dictionary frame among them, and every frame their dictionaries draw on,
        transitively, is decoded once, shallowest first, into scratch space (vault.spill),
        and read back from there. Reading blob by blob through the frame cache instead decodes
        a frame's whole chain each time the cache has lost it: a restore at the end of 36
        monthly chains decoded the same frames thousands of times. A frame that cannot be
        decoded is left out, so reading it raises its error as usual. Inside a staged
        context another one stages nothing (the outer stage serves both), and neither does
        one whose frames all fit the frame cache.
        """
        if self._stage is not None:
            yield
            return
        needed: dict[tuple[bytes, int], FrameRef] = {}
        pending = [frame for frame in frames if frame.entry.has_dictionary]
        while pending:
            ref = pending.pop()
            key = frame_key(ref)
            if key in needed:
                continue
            needed[key] = ref
            try:
                pending.extend(location.frame for location in self._dictionary_locations(ref.entry))
            except IntegrityError:
                continue
        if sum(ref.entry.raw_size for ref in needed.values()) <= FRAME_CACHE_BYTES:
            yield  # the frame cache holds them all: each is decoded once anyway
            return
        with Spill() as stage:
            self._stage, self._staged = stage, {}
            try:
                for ref in sorted(needed.values(), key=lambda frame: frame.entry.depth):
                    self._stage_frame(stage, ref)
                yield
            finally:
                self._stage, self._staged = None, {}

    def _stage_frame(self, stage: Spill, ref: FrameRef) -> None:
        """Decode one frame into the stage, its dictionary taken from frames staged before."""
        dictionary = None
        try:
            if ref.entry.has_dictionary:
                pieces = []
                locations = self._dictionary_locations(ref.entry)
                for blob, location in zip(ref.entry.dictionary, locations, strict=True):
                    piece = self._staged_blob(location)
                    if piece is None:  # its frame could not be staged: say why, as usual
                        piece = self.blob_at(location, blob.type, blob.id)
                    pieces.append(piece)
                dictionary = b"".join(pieces)
            content = open_frame(self.keys, ref.entry, self._sealed_frame(ref), dictionary)
        except (IntegrityError, StorageError, FileNotFoundError):
            return  # reading it later raises the error, where it is needed
        self._staged[frame_key(ref)] = stage.size
        stage.write(content)

    def _staged_blob(self, location: BlobLocation) -> bytes | None:
        if self._stage is None:
            return None
        start = self._staged.get(frame_key(location.frame))
        if start is None:
            return None
        return self._stage.read_at(start + location.offset, location.length)

    def frame_content(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content: from the stage when it is staged (inside
        ``staged``), else as ``read_frame`` gives it."""
        if self._stage is not None:
            start = self._staged.get(frame_key(ref))
            if start is not None:
                return self._stage.read_at(start, ref.entry.raw_size)
        return self.read_frame(ref)

    def read_frame(self, ref: FrameRef) -> bytes:
        """A frame's authenticated content, from a small cache shared by threads."""
        content = self._cached_frame(ref)
        if content is not None:
            return content
        if ref.entry.has_dictionary:
            content = self._decode_chain(ref)
        else:
            content = open_frame(self.keys, ref.entry, self._sealed_frame(ref))
        self._cache_frame(ref, content)
        return content

    def _cached_frame(self, ref: FrameRef) -> bytes | None:
        key = frame_key(ref)
        with self._frames_lock:
            content = self._frames.get(key)
            if content is not None:
                self._frames.move_to_end(key)
            return content

    def _cache_frame(self, ref: FrameRef, content: bytes) -> None:
        key = frame_key(ref)
        with self._frames_lock:
            if key not in self._frames:
                self._frames[key] = content
                self._frames_bytes += len(content)
            self._trim_frames()

    def sealed_frame(self, ref: FrameRef) -> bytes:
        """A frame's stored bytes, as sealed (to move it to another pack unchanged)."""
        return self._sealed_frame(ref)

    def _sealed_frame(self, ref: FrameRef) -> bytes:
        return self.read_stored(
            pack_name(ref.pack_id),
            f"pack {ref.pack_id.hex()[:16]}",
            ref.entry.offset,
            ref.entry.length,
        )

    def _trim_frames(self) -> None:
        """Evict the least recently used frames over the limit; the caller holds the lock."""
        while self._frames_bytes > FRAME_CACHE_BYTES and len(self._frames) > 1:
            _, evicted = self._frames.popitem(last=False)
            self._frames_bytes -= len(evicted)

    def _decode_chain(self, target: FrameRef) -> bytes:
        """Decode a dictionary frame and, first, every uncached frame its dictionary needs,
        transitively, shallowest first.

        Only the blobs that dictionaries still to be built need are kept, each until its
        last use, so each frame of the chain is decoded once however small the cache.
        (Reading the blobs one by one through the cache decoded the same frames over and
        over once a chain outgrew it.)
        """
        plan, expanded, wanted, uses = self._chain_plan(target)
        kept: dict[bytes, bytes] = {}

        def keep_blobs(ref: FrameRef, content: bytes) -> None:
            for location, blob_type, blob_id in wanted.pop(frame_key(ref), []):
                if blob_id not in kept:
                    kept[blob_id] = self._verified_blob(content, location, blob_type, blob_id)

        def dictionary(entry: FrameEntry) -> bytes:
            refs = entry.dictionary
            content = b"".join(kept[ref.id] for ref in refs)
            for ref in refs:
                uses[ref.id] -= 1
                if not uses[ref.id]:
                    del kept[ref.id]
            return content

        # Take what is needed from the frames cached now, before decoding the others can
        # evict them (re-reading an evicted dictionary frame would decode its chain again).
        for ref in plan:
            if frame_key(ref) not in expanded:
                content = self._cached_frame(ref)
                if content is not None:
                    keep_blobs(ref, content)
        for ref in plan:
            if frame_key(ref) not in wanted:
                continue
            content = self._cached_frame(ref)
            if content is None and ref.entry.has_dictionary and frame_key(ref) not in expanded:
                content = self.read_frame(ref)  # cached when planned, evicted since: rare
            elif content is None:
                sealed = self._sealed_frame(ref)
                used = dictionary(ref.entry) if ref.entry.has_dictionary else None
                content = open_frame(self.keys, ref.entry, sealed, used)
                self._cache_frame(ref, content)
            keep_blobs(ref, content)
            del content
        return open_frame(
            self.keys, target.entry, self._sealed_frame(target), dictionary(target.entry)
        )

    def _chain_plan(
        self, target: FrameRef
    ) -> tuple[
        list[FrameRef],
        set[tuple[bytes, int]],
        dict[tuple[bytes, int], list[tuple[BlobLocation, BlobType, bytes]]],
        dict[bytes, int],
    ]:
        """What decoding ``target`` takes: the frames donating dictionary blobs, shallowest
        first, those whose own dictionaries are in the plan (not the cached ones), the blobs
        wanted from each, and how many dictionaries use each blob."""
        donors: dict[tuple[bytes, int], FrameRef] = {}
        expanded: set[tuple[bytes, int]] = set()
        wanted: dict[tuple[bytes, int], list[tuple[BlobLocation, BlobType, bytes]]] = {}
        uses: dict[bytes, int] = {}
        pending = [target.entry]
        while pending:
            entry = pending.pop()
            for ref, location in zip(
                entry.dictionary, self._dictionary_locations(entry), strict=True
            ):
                key = frame_key(location.frame)
                if ref.id not in uses:
                    wanted.setdefault(key, []).append((location, ref.type, ref.id))
                uses[ref.id] = uses.get(ref.id, 0) + 1
                if key in donors:
                    continue
                donors[key] = location.frame
                with self._frames_lock:
                    cached = key in self._frames
                if not cached and location.frame.entry.has_dictionary:
                    expanded.add(key)
                    pending.append(location.frame.entry)
        plan = sorted(donors.values(), key=lambda frame: frame.entry.depth)
        return plan, expanded, wanted, uses

    def decode_set(self, ref: FrameRef) -> int | None:
        """The frames reading ``ref`` decodes (itself, and transitively those its dictionary
        draws on), as a bit mask with a bit per frame (``int.bit_count`` is their number);
        None if more than MAX_DECODE_FRAMES or unreadable."""
        key = frame_key(ref)
        if key not in self._decode_sets:
            self._decode_sets[key] = self._find_decode_set(ref)
        return self._decode_sets[key]

    def _find_decode_set(self, ref: FrameRef) -> int | None:
        try:
            locations = self._dictionary_locations(ref.entry) if ref.entry.has_dictionary else []
        except IntegrityError:
            return None
        key = frame_key(ref)
        frames = 1 << self._frame_bits.setdefault(key, len(self._frame_bits))
        for location in locations:
            below = self.decode_set(location.frame)
            if below is None:
                return None
            frames |= below
        if frames.bit_count() > MAX_DECODE_FRAMES:
            return None
        return frames

    def _dictionary_locations(self, entry: FrameEntry) -> list[BlobLocation]:
        """Where a frame's dictionary blobs are; each must sit in a shallower frame (so chains
        end and cannot loop), and all of them within the size limit."""
        what = f"frame {entry.id.hex()[:16]}"
        locations = []
        total = 0
        for ref in entry.dictionary:
            location = self.index.get(ref.id)
            if location is None:
                raise IntegrityError(
                    f"{what} needs blob {ref.id.hex()[:16]}, which is missing from the vault"
                )
            if location.frame.entry.depth >= entry.depth:
                raise IntegrityError(f"{what} names a dictionary that is not shallower than it")
            total += location.length
            if total > MAX_DICT_BYTES:
                raise IntegrityError(f"{what} names a dictionary over the size limit")
            locations.append(location)
        return locations

    def dictionary_of(self, entry: FrameEntry) -> bytes | None:
        """The dictionary a frame was compressed against: its dictionary blobs, concatenated;
        None for a frame without one."""
        if not entry.has_dictionary:
            return None
        refs = entry.dictionary
        locations = self._dictionary_locations(entry)
        return b"".join(
            self.blob_at(location, ref.type, ref.id)
            for ref, location in zip(refs, locations, strict=True)
        )

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
        staged = self._staged_blob(location)
        if staged is not None:
            return self._verified_blob(staged, location, blob_type, blob_id, whole=True)
        return self._verified_blob(self.read_frame(location.frame), location, blob_type, blob_id)

    def _verified_blob(
        self,
        content: bytes,
        location: BlobLocation,
        blob_type: BlobType,
        blob_id: bytes,
        *,
        whole: bool = False,
    ) -> bytes:
        """The blob at ``location`` in a frame's ``content`` (or ``content`` itself when
        ``whole``), checked against its id."""
        data = content if whole else content[location.offset : location.offset + location.length]
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


def _holds_vault_data(backend: Backend) -> bool:
    return any(list_objects(backend, prefix) for prefix in VAULT_DATA_PREFIXES)
