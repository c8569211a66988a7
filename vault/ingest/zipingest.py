"""Archive-aware ingestion: a zip stored as its members' uncompressed contents plus literal bytes.

Each deflated member is inflated while candidate zlib parameters are checked against its
compressed bytes (vault.ingest.deflate); when one reproduces them exactly, only the content
(content-defined chunks, deduplicated across exports) and the parameters are kept. Otherwise
the member's compressed bytes are kept as they are. Everything between members is kept
literally. Members whose compressed bytes are unchanged since an earlier snapshot (same keyed
hash) reuse that snapshot's parts without being inflated again. Members run on worker threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from lkvault.vault.format.crypto import Keys
from lkvault.vault.format.tree import (
    Content,
    Deflated,
    Literal,
    MemberEntry,
    Part,
    Reordered,
    Restart,
    Stream,
    Tree,
    content_streams,
    member_mac_header,
)
from lkvault.vault.ingest.deflate import PROBE_HEAD, DeflateParams, MemberReader, probe
from lkvault.vault.ingest.restartproof import (
    ProofInFlight,
    prove_in_segments,
    worth_segmenting,
)
from lkvault.vault.ingest.rows import RecordScanner, RowPlan, encode_order, worth_reordering
from lkvault.vault.ingest.streams import Ingest, PreviousVersion, StreamStore
from lkvault.vault.ingest.zipscan import (
    METHOD_DEFLATED,
    METHOD_STORED,
    Member,
    Region,
    ZipLayout,
    ZipLimits,
    format_size,
    quote_name,
    scan_zip,
)
from lkvault.vault.progress import Progress
from lkvault.vault.repository.blobwriter import BlobWriter
from lkvault.vault.repository.index import Index
from lkvault.vault.repository.repo import Repository
from lkvault.vault.spill import Spill

LITERAL_LIMIT = 1024 * 1024
# Row order pays once a member is much larger than a frame's dictionary, which otherwise holds
# the moved rows anyway: on ~1 MB exports it cost 3 % over 36 months, on ~10 MB ones it saved 2 %.
# The size decides a member's first version only (see reorderable).
REORDER_MIN_SIZE = 8 * 1024 * 1024
KEPT_WARNING_BYTES = 64 * 1024
IO_BLOCK = 1024 * 1024


class StopIngest(Exception):  # noqa: N818 - a signal to workers, not an error
    """Raised in a worker whose run was abandoned; nobody waits for its result."""


@dataclass(frozen=True)
class KnownMember:
    """A member stored by an earlier snapshot, reusable when its compressed bytes are equal."""

    part: Part
    compressed: bool


class ContentTap(Protocol):
    """Takes one member's content as the ingest inflates it."""

    def feed(self, block: bytes) -> None: ...

    def end(self) -> None:
        """The content was all fed, and it checked out (size and CRC-32)."""

    def abandon(self) -> None:
        """The content will not be fed to its end (no effect after ``end``)."""


class ContentObserver(Protocol):
    """Told of each member's content while the zip is stored (a snapshot's summary)."""

    def tap(self, member: Member) -> ContentTap | None:
        """Where to feed the member's content as it is inflated; None when not wanted."""

    def unread(self, member: Member) -> None:
        """The member's content will not be inflated (reused, or kept as it is)."""


class _Unobserved:
    def tap(self, member: Member) -> ContentTap | None:
        return None

    def unread(self, member: Member) -> None:
        pass


def _tapped(read: Callable[[int], bytes], tap: ContentTap) -> Callable[[int], bytes]:
    """``read``, its content fed to ``tap`` (and its end, once read returns b"")."""

    def tapped(n: int = IO_BLOCK) -> bytes:
        block = read(n)
        if block:
            tap.feed(block)
        else:
            tap.end()
        return block

    return tapped


class FileReader:
    """Positional reads of one open file, safe to use from several threads."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size

    def read_at(self, offset: int, length: int) -> bytes:
        chunks = []
        while length > 0:
            data = os.pread(self.fd, min(length, 16 * IO_BLOCK), offset)
            if not data:
                break
            chunks.append(data)
            offset += len(data)
            length -= len(data)
        return b"".join(chunks)

    def sequential(self, offset: int, length: int) -> Callable[[int], bytes]:
        """A read(n) function over [offset, offset+length)."""
        position = offset
        end = offset + length

        def read(n: int) -> bytes:
            nonlocal position
            want = min(n, end - position)
            if want <= 0:
                return b""
            data = self.read_at(position, want)
            position += len(data)
            return data

        return read


def member_mac(keys: Keys, reader: FileReader, member: Member) -> bytes:
    """Keyed hash of a member's compressed bytes (and the metadata that must match too)."""
    mac = keys.member_hasher(
        member_mac_header(
            member.method,
            member.crc32,
            member.uncompressed_size,
            member.compressed_size,
            member.flags,
        )
    )
    read = reader.sequential(member.data_offset, member.compressed_size)
    while block := read(IO_BLOCK):
        mac.update(block)
    return mac.digest()


def stream_blob_ids(stream: Stream) -> list[bytes]:
    return [c.id for c in stream.chunks] + [r.id for r in stream.lists]


def part_available(part: Part, index: Index) -> bool:
    """True when every blob a reused part names is still in the vault."""
    return all(
        blob_id in index for stream in content_streams(part) for blob_id in stream_blob_ids(stream)
    )


def reorderable(member: Member, previous: PreviousVersion | None) -> bool:
    """Members whose rows may be stored in canonical order: CSVs big enough to gain from it
    when first stored, and afterwards those whose previous version was stored so.

    A member keeps its previous version's layout: content switching layout has no earlier
    chunks in the same order to be compressed against, so the switch stores the member whole
    again (a messages.csv growing past REORDER_MIN_SIZE in the 54th month of exportgen's small
    series: 1.86 MB, a whole floor of it, where row order then saved nothing measurable;
    docs/benchmarks.md).
    """
    if not member.name.lower().endswith(".csv"):
        return False
    if previous is not None:
        return previous.order is not None
    return member.uncompressed_size >= REORDER_MIN_SIZE


def _reader(blocks: Iterator[bytes]) -> Callable[[int], bytes]:
    """A read(n) function over ``blocks``; it may return more than n bytes."""

    def read(n: int) -> bytes:
        return next(blocks, b"")

    return read


class ZipIngester:
    """Stores one zip; see the module docstring."""

    def __init__(
        self,
        repo: Repository,
        writer: BlobWriter,
        progress: Progress,
        workers: int,
        known: dict[bytes, KnownMember],
        limits: ZipLimits | None = None,
        previous: Callable[[str], PreviousVersion | None] | None = None,
        observer: ContentObserver | None = None,
        probed: Mapping[tuple[int, int], list[DeflateParams]] | None = None,
    ) -> None:
        self.repo = repo
        self.writer = writer
        self.progress = progress
        self.workers = max(1, workers)
        self.known = known
        self.limits = limits or ZipLimits()
        self.previous = previous or (lambda name: None)
        self.observer: ContentObserver = observer or _Unobserved()
        # Candidates already probed (archiver.prepare), by (data offset, compressed size).
        self.probed = probed or {}
        # Set when the run is abandoned (Ctrl-C, an error): workers stop at their next read
        # instead of proving and storing the rest of their members.
        self.stopping = threading.Event()
        # Proving: finding the zlib parameters that re-create each deflated member exactly;
        # a member's bytes count once it is proven (or kept as they are, or reused).
        self.proving = progress.phase("Proving")

    def run(self, reader: FileReader) -> Ingest | None:
        layout = scan_zip(reader.read_at, reader.size, self.limits)
        if layout is None:
            self.proving.set_total(0)
            return None
        members = [item for item in layout.items if isinstance(item, Member)]
        self.proving.set_total(
            sum(m.compressed_size for m in members if m.method == METHOD_DEFLATED)
        )
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            # Largest first: the biggest member is the snapshot's critical path (read, proven,
            # stored one after the other), the small ones fill the other workers around it.
            by_size = sorted(members, key=lambda m: m.compressed_size, reverse=True)
            futures = {m.index: pool.submit(self._member, reader, m) for m in by_size}
            try:
                return self._assemble(reader, layout, members, futures)
            except BaseException:
                # Leaving the pool waits for its workers: queued members must not start,
                # and those in progress must stop now, not when their members are stored.
                self.stopping.set()
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def _assemble(
        self,
        reader: FileReader,
        layout: ZipLayout,
        members: list[Member],
        futures: dict[int, Future[tuple[Part, bool, bytes]]],
    ) -> Ingest:
        """The tree of the zip, from its regions and the members the workers store."""
        parts: list[Part] = []
        entries: dict[int, MemberEntry] = {}
        for item in layout.items:
            if isinstance(item, Region):
                parts.append(self._region(reader, item))
                continue
            part, compressed, cmac = futures[item.index].result()
            entries[item.index] = MemberEntry(
                name=item.name,
                part=len(parts),
                size=item.uncompressed_size,
                crc32=item.crc32,
                method=item.method,
                compressed=compressed,
                cmac=cmac,
                flags=item.flags,
            )
            parts.append(part)
        tree = Tree("zip", parts, [entries[i] for i in sorted(entries)])
        warnings = list(layout.warnings)
        kept = [
            m
            for m in members
            if m.method == METHOD_DEFLATED and entries[m.index].compressed and not m.encrypted
        ]
        kept_bytes = sum(m.compressed_size for m in kept)
        if kept_bytes >= KEPT_WARNING_BYTES:
            names = ", ".join(quote_name(m.name) for m in kept[:3])
            more = f" and {len(kept) - 3:,} more" if len(kept) > 3 else ""
            warnings.append(
                f"{len(kept):,} members ({format_size(kept_bytes)}: {names}{more}) were compressed "
                "by a program whose output zlib cannot re-create (7-Zip, some Info-ZIP builds); "
                "they are kept exactly as compressed bytes, so they will not share storage with "
                "other exports"
            )
        return Ingest(tree, reader.size, b"", warnings)

    def _region(self, reader: FileReader, region: Region) -> Part:
        self.progress.advance(region.length)
        if region.length <= LITERAL_LIMIT:
            return Literal(reader.read_at(region.offset, region.length))
        store = StreamStore(self.repo, self.writer, self.progress)
        return store.store(reader.sequential(region.offset, region.length), advance=False)

    def _member(self, reader: FileReader, member: Member) -> tuple[Part, bool, bytes]:
        if self.stopping.is_set():
            raise StopIngest
        cmac = member_mac(self.repo.keys, reader, member)
        known = self.known.get(cmac)
        proven = [0]  # compressed bytes proven while they were read
        if known is not None and part_available(known.part, self.repo.index):
            self.progress.advance(member.compressed_size)
            part, compressed = known.part, known.compressed
            self.observer.unread(member)
        else:
            part, compressed = self._store_member(reader, member, proven)
        if member.method == METHOD_DEFLATED:
            # Reused, or kept as they were: nothing (more) to prove.
            self.proving.advance(max(0, member.compressed_size - proven[0]))
        return part, compressed, cmac

    def _store_member(
        self, reader: FileReader, member: Member, proven: list[int]
    ) -> tuple[Part, bool]:
        store = StreamStore(self.repo, self.writer, self.progress)
        previous = self.previous(member.name)
        raw = self._counted(
            reader.sequential(member.data_offset, member.compressed_size),
            proven if member.method == METHOD_DEFLATED else None,
        )
        if member.encrypted or member.method not in (METHOD_STORED, METHOD_DEFLATED):
            self.observer.unread(member)
            return store.store(raw, advance=False, previous=previous), True
        tap = self.observer.tap(member)
        if tap is None:
            return self._store_content(store, reader, member, raw, previous, None)
        try:
            return self._store_content(store, reader, member, raw, previous, tap)
        finally:
            tap.abandon()  # nothing once its content was all fed

    def _store_content(
        self,
        store: StreamStore,
        reader: FileReader,
        member: Member,
        raw: Callable[[int], bytes],
        previous: PreviousVersion | None,
        tap: ContentTap | None,
    ) -> tuple[Part, bool]:
        """A stored or deflated member: its content stored, its compressed bytes proven."""
        if member.method == METHOD_STORED:
            content = MemberReader(member, raw, self.limits, [])
            read = content.read if tap is None else _tapped(content.read, tap)
            return store.store(read, advance=False, previous=previous), False
        candidates = self._candidates(reader, member)
        in_segments = bool(candidates) and worth_segmenting(member)
        # A big member is proven segment by segment after it is stored (restartproof.py).
        content = MemberReader(member, raw, self.limits, [] if in_segments else candidates)
        read = content.read if tap is None else _tapped(content.read, tap)
        kept = self._kept_bytes(reader, member)
        if not candidates:
            # Nothing reproduces it: check it inflates correctly, then keep its bytes as they are.
            while read(IO_BLOCK):
                pass
            return store.store(kept, advance=False, previous=previous), True
        flight = None
        if in_segments:  # proven on other cores while the content is read and stored
            flight = ProofInFlight(
                member,
                candidates[0],
                lambda offset, n: reader.read_at(member.data_offset + offset, n),
                self.workers,
            )
            read = _tapped(read, flight)
        try:
            if reorderable(member, previous):
                stored = self._store_rows(store, read, previous)
            else:
                stored = store.store(read, advance=False, previous=previous)
        finally:
            if flight is not None:
                flight.abandon()  # nothing once its content was all fed
        params: DeflateParams | None = content.result()
        points: tuple[Restart, ...] = ()
        if flight is not None:
            live = flight.result()
            # Else another candidate, or points to drop, or one piece: proven as before.
            params, points = (
                live if live is not None else self._prove_in_segments(reader, member, candidates)
            )
        if params is None:
            return store.store(kept, advance=False, previous=previous), True
        return (
            Deflated(
                stored,
                params.level,
                params.mem_level,
                params.strategy,
                params.wbits,
                member.compressed_size,
                points,
            ),
            False,
        )

    def _candidates(self, reader: FileReader, member: Member) -> list[DeflateParams]:
        """zlib parameters whose output starts as the member's compressed bytes do."""
        probed = self.probed.get((member.data_offset, member.compressed_size))
        if probed is not None:
            return list(probed)
        head = reader.read_at(member.data_offset, min(PROBE_HEAD, member.compressed_size))
        return probe(member, head)

    def _prove_in_segments(
        self, reader: FileReader, member: Member, candidates: list[DeflateParams]
    ) -> tuple[DeflateParams | None, tuple[Restart, ...]]:
        """Parameters and restart points proven in parallel; else proven in one piece."""
        proven = prove_in_segments(
            member,
            candidates,
            lambda offset, n: reader.read_at(member.data_offset + offset, n),
            lambda: reader.sequential(member.data_offset, member.compressed_size),
            self.limits,
            self.workers,
        )
        if proven is not None:
            return proven
        again = MemberReader(
            member,
            reader.sequential(member.data_offset, member.compressed_size),
            self.limits,
            candidates,
        )
        while again.read():
            pass
        return again.result(), ()

    def _store_rows(
        self, store: StreamStore, read: Callable[[int], bytes], previous: PreviousVersion | None
    ) -> Content:
        """A CSV's content in canonical row order (vault.ingest.rows), when that can pay."""
        scanner = RecordScanner()
        with Spill() as spill:
            while block := read(IO_BLOCK):
                spill.write(block)
                scanner.feed(block)
            tags, lengths = scanner.finish()
            if not worth_reordering(tags, lengths, scanner.records):
                return store.store(
                    _reader(spill.ranges([(0, spill.size)])), advance=False, previous=previous
                )
            order = encode_order(tags, lengths)
            del scanner, tags, lengths  # 12 bytes a conversation, no longer needed
            # The ranges come from the plan a reader will compute from ``order``, so what is
            # stored is exactly what a restore puts back in order.
            plan = RowPlan.from_order(order, spill.size)
            rows = store.store(
                _reader(spill.ranges(plan.store_ranges())), advance=False, previous=previous
            )
        order_stream = store.store(
            _reader(iter([order])),
            advance=False,
            previous=previous.order if previous is not None else None,
        )
        return Reordered(rows, order_stream)

    def _counted(
        self, read: Callable[[int], bytes], proven: list[int] | None = None
    ) -> Callable[[int], bytes]:
        """``read``, reporting progress as the member's compressed bytes are consumed (and,
        given ``proven``, as they are proven: a deflated member's bytes are checked against
        the candidate parameters as they are read), and stopping the member's work
        (StopIngest) once the run is abandoned."""

        def counted(n: int) -> bytes:
            if self.stopping.is_set():
                raise StopIngest
            data = read(n)
            self.progress.advance(len(data))
            if proven is not None:
                proven[0] += len(data)
                self.proving.advance(len(data))
            return data

        return counted

    @staticmethod
    def _kept_bytes(reader: FileReader, member: Member) -> Callable[[int], bytes]:
        """A second pass over a member's compressed bytes, to keep them as they are."""
        return reader.sequential(member.data_offset, member.compressed_size)
