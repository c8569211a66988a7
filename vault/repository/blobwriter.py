"""Writing new blobs: deduplicated, grouped into frames sealed on worker threads, in packs.

Write order (docs/FORMAT.md, "Consistency"): packs, then the index file that lists them,
then the snapshot that uses them, so a crash at any moment leaves only unreferenced packs
behind.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from lkvault.vault.budget import Budget
from lkvault.vault.errors import IntegrityError
from lkvault.vault.format import zstdframe
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.progress import NoPhase, Phase, Progress
from lkvault.vault.repository import decodesets
from lkvault.vault.repository.index import encode_index, pack_name
from lkvault.vault.repository.pack import (
    MAX_DICT_BLOBS,
    MAX_DICT_DEPTH,
    BlobRef,
    Dictionary,
    FrameBuilder,
    FrameEntry,
    build_pack,
    seal_frame,
)
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.uploads import PackUploads, parallel_writes

FRAME_TARGET = 4 * 1024 * 1024
# A pack is assembled in memory before it is stored: at 16 MiB it was the largest single
# holder at the peak of a 300 MB export's snapshot (and of compact). 8 MiB packs keep whole
# files on any backend at twice the count of files (docs/benchmarks.md, issue 18 item 6).
PACK_TARGET = 8 * 1024 * 1024
# Snapshots, prune and repair compress at FAST_LEVEL (or the config's level, if lower): what
# a user waits on is the floor of reading and proving the export plus little. Squeezing at
# SQUEEZE_LEVEL, which buys the last 20-30 % of storage, is maintenance ('lkvault compact',
# vault.operations.compactor): squeezing 32 MiB of new content and 256 MiB of rewritten
# chunks in every snapshot was about half of its time (docs/benchmarks.md).
FAST_LEVEL = 3
SQUEEZE_LEVEL = 19
# Compressing frames is the biggest use of memory in a writer: frames compress side by side
# only while their contexts and dictionaries fit this (a 4 MiB frame against a 4 MiB prefix
# at FAST_LEVEL: ~10 MiB of context and 4 MiB of dictionary).
COMPRESSION_MEMORY = 50 * 1024 * 1024
# A new frame is compressed against the stored blobs its new blobs replace (the previous
# version of the same stretch of the same file), up to this many bytes of them: a row edited
# in place then costs a few bytes instead of a whole chunk.
DICTIONARY_TARGET = 4 * 1024 * 1024


class BlobWriter:
    """Deduplicates blobs, groups them into frames sealed on worker threads, writes packs.

    ``finish`` writes the last pack and then one index file for every pack written, so the
    blobs become visible to readers only once all their packs are durable.
    """

    def __init__(
        self,
        repo: Repository,
        workers: int,
        *,
        fresh: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.repo = repo
        self.fresh = fresh
        self.packs_written: list[bytes] = []
        self.index_written: list[str] = []
        self.keys = repo.keys
        self.pending: set[bytes] = set()
        self.referenced: set[bytes] = set()  # every blob added, new or already stored
        # Trees (a snapshot's, and the chunk lists of long files) fill frames of their own:
        # a tree is compressed against the earlier tree, and reading it (every restore, diff
        # and cat starts there) decodes the chain of earlier trees' frames only, not those
        # the data chunks' dictionaries draw on (up to MAX_DECODE_FRAMES frames of 4 MiB).
        self.frames = {blob_type: FrameBuilder() for blob_type in BlobType}
        self.sealing: list[Future[tuple[bytes, FrameEntry]]] = []
        # Sealed frames are appended to the next pack's bytes as they come, and dropped.
        self.pack_body = bytearray()
        self.pack_entries: list[FrameEntry] = []
        self.written: dict[bytes, list[FrameEntry]] = {}
        self.executor = ThreadPoolExecutor(max_workers=max(1, workers))
        self.workers = max(1, workers)
        self.uploads = PackUploads(repo.backend, parallel_writes(repo.backend))
        self.new_bytes = 0
        self.new_blobs = 0
        self.stored_bytes = 0
        self.lock = threading.Lock()
        self.compression_memory = Budget(COMPRESSION_MEMORY)
        self.compressing: Phase = NoPhase()
        self.writing: Phase = NoPhase()
        if progress is not None:
            self.show(progress)
        self.sealed_raw = 0  # content bytes of the frames handed to the workers
        self.finishing = False

    def show(self, progress: Progress) -> None:
        """Report compressing and writing as two phases of ``progress``. Their totals are
        known only once every blob is added (finish): until then the bars count without
        one, instead of showing full while content still comes."""
        self.compressing = progress.phase("Compressing")
        self.writing = progress.phase("Writing")

    def add(
        self, blob_type: BlobType, data: bytes | memoryview, replaces: Sequence[bytes] = ()
    ) -> bytes:
        """Store a blob unless the vault already has it; returns its id. Thread-safe.

        ``replaces`` names stored blobs this one may be a new version of, likeliest first
        (the same stretch of the same file in an earlier snapshot); the frame may be
        compressed against them.
        """
        blob_id = self.keys.blob_id(blob_type, data)
        with self.lock:
            self.referenced.add(blob_id)
            if blob_id in self.pending or (not self.fresh and blob_id in self.repo.index):
                return blob_id
            self.pending.add(blob_id)
            frame = self.frames[blob_type]
            frame.add(blob_type, blob_id, data)
            frame.replaced.extend(enumerate(replaces))
            self.new_bytes += len(data)
            self.new_blobs += 1
            if frame.raw_size >= FRAME_TARGET:
                self._seal_frame(blob_type)
        return blob_id

    def _seal_frame(self, blob_type: BlobType) -> None:
        frame, self.frames[blob_type] = self.frames[blob_type], FrameBuilder()
        plan = self._dictionary_plan(frame.replaced)
        level = min(self.repo.config.compression_level, FAST_LEVEL)
        self.sealed_raw += frame.raw_size
        self.sealing.append(self.executor.submit(self._seal, frame, level, plan))
        # Bounded memory: never more frames in flight than workers.
        while len(self.sealing) > self.workers:
            self._collect(self.sealing.pop(0).result())

    def _dictionary_plan(self, replaced: list[tuple[int, bytes]]) -> tuple[list[BlobRef], int, int]:
        """Which stored blobs a frame is compressed against, the depth that gives it, and
        their size.

        Blobs this snapshot also uses are left out (they were not replaced, and the frame's
        own content already covers what they share), and so are blobs in frames as deep as
        a chain may go, and those that would make reading the frame decode more than
        MAX_DECODE_FRAMES frames.
        """
        chosen: list[BlobRef] = []
        seen: set[bytes] = set()
        decoded = 0  # the frames reading the new frame decodes, as DecodeSets' bit mask
        total = 0
        deepest = 0
        index = self.repo.index
        for _, blob_id in sorted(replaced, key=lambda guess: guess[0]):
            if blob_id in seen or blob_id in self.referenced:
                continue
            seen.add(blob_id)
            location = index.get(blob_id)
            if location is None or location.frame.entry.depth >= MAX_DICT_DEPTH:
                continue
            if total + location.length > DICTIONARY_TARGET or len(chosen) >= MAX_DICT_BLOBS:
                break
            frames = self.repo.decode_sets.of(location.frame)
            if frames is None:
                continue
            if frames & ~decoded:
                merged = decoded | frames
                if merged.bit_count() >= decodesets.MAX_DECODE_FRAMES:  # the new frame is one more
                    continue
                decoded = merged
            chosen.append(BlobRef(location.type, blob_id))
            total += location.length
            deepest = max(deepest, location.frame.entry.depth)
        return chosen, deepest + 1, total

    def _seal(
        self, frame: FrameBuilder, level: int, plan: tuple[list[BlobRef], int, int]
    ) -> tuple[bytes, FrameEntry]:
        """Runs on a worker thread: read the dictionary, then compress and seal the frame.

        The dictionary is read only once the compression's memory is granted, so a frame
        waiting for its turn holds no dictionary either.
        """
        refs, depth, size = plan
        need = zstdframe.context_size(level, frame.raw_size, size) + size
        with self.compression_memory.reserve(need):
            dictionary = None
            if refs:
                try:
                    content = b"".join(self.repo.reader.read_blob(ref.type, ref.id) for ref in refs)
                    dictionary = Dictionary(refs, content, depth)
                except IntegrityError:
                    dictionary = None  # a damaged old blob only costs the saving; verify says
            return seal_frame(
                self.keys, [frame.content], frame.blobs, level, self.repo.rng, dictionary
            )

    def _collect(self, sealed: tuple[bytes, FrameEntry]) -> None:
        frame, entry = sealed
        self.compressing.advance(entry.raw_size)
        self.pack_body += frame
        self.pack_entries.append(entry)
        if len(self.pack_body) >= PACK_TARGET:
            self._write_pack()

    def _write_pack(self) -> None:
        if not self.pack_entries:
            return
        pack_id, blob, entries = build_pack(
            self.keys, self.pack_body, self.pack_entries, self.repo.rng
        )
        self.pack_body, self.pack_entries = bytearray(), []
        if self.finishing:  # the last pack: its size completes the total
            self.writing.set_total(self.stored_bytes + len(blob))
        self.uploads.submit(pack_name(pack_id), blob)
        self.writing.advance(len(blob))
        self.stored_bytes += len(blob)
        self.written[pack_id] = entries
        self.packs_written.append(pack_id)

    def finish(self) -> None:
        """Make every added blob durable and indexed."""
        try:
            for blob_type, frame in self.frames.items():
                if frame.blobs:
                    self._seal_frame(blob_type)
            self.compressing.set_total(self.sealed_raw)
            for future in self.sealing:
                self._collect(future.result())
            self.sealing = []
            self.finishing = True
            self._write_pack()
            self.uploads.wait()  # the index names only packs already stored
            self.writing.set_total(self.stored_bytes)
            if self.written:
                name, blob = encode_index(self.keys, self.written, self.repo.rng)
                self.repo.backend.write(name, blob)
                self.index_written.append(name)
                self.stored_bytes += len(blob)
                for pack_id, frames in self.written.items():
                    self.repo.index.add_pack(pack_id, frames)
                self.written = {}
            self.pending.clear()
        finally:
            self.executor.shutdown(wait=True)
            self.uploads.close()

    def abort(self) -> None:
        """Stop without indexing; packs already written stay unreferenced (prune removes them)."""
        for future in self.sealing:
            future.cancel()
        self.executor.shutdown(wait=True)
        self.uploads.close()
