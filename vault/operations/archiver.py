"""Snapshotting: turns an input file into stored chunks, a tree and a snapshot record.

Nothing becomes visible before it is complete: chunks and the tree go into packs, then one
index file, and only then the snapshot record that refers to them. A zip is stored by its
members' contents (vault.zipingest), anything else as one chunked stream; either way the
parts are proven to rebuild the input exactly before the snapshot is committed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from lkvault.vault.errors import BadInput, IntegrityError, Interrupted
from lkvault.vault.export.summary import summary_from_document
from lkvault.vault.format import codec, deflater
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.format.tree import Part, Tree, content_streams, encode_tree, part_size
from lkvault.vault.ingest.admission import refuse_unless_export
from lkvault.vault.ingest.deflate import PROBE_HEAD, DeflateParams, probe
from lkvault.vault.ingest.streams import READ_BLOCK, Ingest, PreviousVersion, StreamStore
from lkvault.vault.ingest.zipingest import FileReader, KnownMember, ZipIngester
from lkvault.vault.ingest.zipscan import (
    METHOD_DEFLATED,
    Member,
    ZipLimits,
    format_size,
    scan_zip,
)
from lkvault.vault.operations.attribution import owner_reader
from lkvault.vault.operations.export_sources import contacts_of_file
from lkvault.vault.operations.livesummary import LiveSummary
from lkvault.vault.operations.members import change_warning
from lkvault.vault.operations.restorer import chunk_ids, iter_chunk_refs, load_tree
from lkvault.vault.progress import NoPhase, NoProgress, Phase, Progress
from lkvault.vault.release import tool_name
from lkvault.vault.repository.blobwriter import BlobWriter
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import (
    Snapshot,
    chain_end,
    load_forgotten,
    load_snapshots,
    write_snapshot,
)

KNOWN_FROM_SNAPSHOTS = 6
NOTHING_STORED = "interrupted; nothing was stored, the vault is as it was"


@dataclass(frozen=True)
class FileState:
    """What tells that a file is unchanged since it was looked at: a write changes its
    ctime, which no program can set back (as it can the mtime)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileState:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


@dataclass(frozen=True)
class Prepared:
    """What a snapshot learns of its input before it has the vault's keys: the file is one
    it may store, its SHA-256, and zlib parameters probed from its members' first bytes.

    It holds for the file in ``state`` only; a snapshot of a file changed since then does
    that work again.
    """

    path: Path
    state: FileState
    sha256: bytes
    probed: Mapping[tuple[int, int], list[DeflateParams]]  # by (data offset, compressed size)

    def holds_for(self, path: Path, state: FileState) -> bool:
        return self.path == path and self.state == state


def prepare(
    path: Path,
    *,
    source_name: str | None = None,
    opaque: bool = False,
    any_file: bool = False,
    keep_probing: Callable[[], bool] = lambda: True,
) -> Prepared:
    """The work of a snapshot that needs no keys, done while they are derived (Argon2id).

    Raises BadInput for a file that is not an export (unless ``any_file`` or ``opaque``).
    Members are probed, largest first, while ``keep_probing()``: what is left is probed as
    the snapshot stores the members.
    """
    if not (any_file or opaque):
        refuse_unless_export(path, source_name)
    with open(path, "rb") as source:
        before = os.fstat(source.fileno())
        reader = FileReader(source.fileno(), before.st_size)
        sha256 = file_sha256(reader)
        probed = {} if opaque else _probe_members(reader, keep_probing)
        after = os.fstat(source.fileno())
    state = FileState.of(before)
    if state != FileState.of(after):
        return Prepared(path, state, b"", {})  # changed meanwhile: holds for no file state
    return Prepared(path, state, sha256, probed)


def _probe_members(
    reader: FileReader, keep_probing: Callable[[], bool]
) -> dict[tuple[int, int], list[DeflateParams]]:
    try:
        layout = scan_zip(reader.read_at, reader.size)
    except BadInput:
        return {}  # the snapshot says what is wrong with it
    if layout is None:
        return {}
    members = [
        item
        for item in layout.items
        if isinstance(item, Member) and item.method == METHOD_DEFLATED and not item.encrypted
    ]
    probed: dict[tuple[int, int], list[DeflateParams]] = {}
    for member in sorted(members, key=lambda m: m.compressed_size, reverse=True):
        if not keep_probing():
            break
        head = reader.read_at(member.data_offset, min(PROBE_HEAD, member.compressed_size))
        probed[member.data_offset, member.compressed_size] = probe(member, head)
    return probed


def ingest_opaque(
    reader: FileReader, store: StreamStore, previous: PreviousVersion | None = None
) -> Ingest:
    """Store any file as one chunked stream, hashing it on the same pass."""
    digest = hashlib.sha256()
    stream = store.store(reader.sequential(0, reader.size), digest.update, previous=previous)
    return Ingest(Tree("file", [stream]), stream.size, digest.digest())


class EarlierSnapshot:
    """The newest earlier snapshot of the same kind, as hints for compressing new chunks.

    A member of a new export is most like the member of the same name in the previous one
    (LinkedIn's exports keep their file names); failing that, the one with the same file name
    in another folder.
    """

    def __init__(self, repo: Repository, history: list[Snapshot], kind: str) -> None:
        self.repo = repo
        self.tree_id: bytes | None = None
        self.tree: Tree | None = None
        for snap in reversed(history):
            if snap.kind != kind:
                continue
            try:
                self.tree = load_tree(repo, snap.tree)
                self.tree_id = snap.tree
            except IntegrityError:
                pass  # a damaged old snapshot only costs the saving; verify reports it
            break
        self.by_name: dict[str, Part] = {}
        by_file: dict[str, list[Part]] = {}
        if self.tree is not None:
            for member in self.tree.members:
                part = self.tree.parts[member.part]
                self.by_name.setdefault(member.name, part)
                by_file.setdefault(member.name.rsplit("/", 1)[-1].casefold(), []).append(part)
        self.by_file = {name: parts[0] for name, parts in by_file.items() if len(parts) == 1}

    def staged(self) -> AbstractContextManager[None]:
        """Stage the earlier snapshot's frames: new frames are compressed against its chunks,
        and reading those through the frame cache would decode their chains again and again
        (a large export's later months spent most of their time there)."""
        if self.tree is None:
            return nullcontext()
        return self.repo.reader.staged(
            self.repo.reader.frames_holding(chunk_ids(self.repo, self.tree.parts))
        )

    def member(self, name: str) -> PreviousVersion | None:
        part = self.by_name.get(name) or self.by_file.get(name.rsplit("/", 1)[-1].casefold())
        return self._version(part) if part is not None else None

    def whole(self) -> PreviousVersion | None:
        """The earlier single-file snapshot's content."""
        if self.tree is None or self.tree.kind != "file" or not self.tree.parts:
            return None
        return self._version(self.tree.parts[0])

    def _version(self, part: Part) -> PreviousVersion | None:
        streams = content_streams(part)
        if not streams:
            return None
        try:
            versions = [
                PreviousVersion(
                    tuple(ref.id for ref in iter_chunk_refs(self.repo, stream)),
                    tuple(ref.id for ref in stream.lists),
                )
                for stream in streams
            ]
        except IntegrityError:
            return None
        if len(versions) == 2:  # rows in canonical order, and their order
            return replace(versions[0], order=versions[1])
        return versions[0]


def known_members(repo: Repository, history: list[Snapshot]) -> dict[bytes, KnownMember]:
    """Members of the newest zip snapshots, by keyed hash of their compressed bytes."""
    known: dict[bytes, KnownMember] = {}
    recent = [s for s in history if s.kind == "zip"][-KNOWN_FROM_SNAPSHOTS:]
    for snap in reversed(recent):
        try:
            tree = load_tree(repo, snap.tree)
        except IntegrityError:
            continue  # a damaged old snapshot only costs the shortcut, verify reports it
        for member in tree.members:
            if member.cmac and member.cmac not in known:
                known[member.cmac] = KnownMember(tree.parts[member.part], member.compressed)
    return known


def file_sha256(reader: FileReader, phase: Phase | None = None) -> bytes:
    phase = phase or NoPhase()
    digest = hashlib.sha256()
    read = reader.sequential(0, reader.size)
    while block := read(READ_BLOCK):
        digest.update(block)
        phase.advance(len(block))
    return digest.digest()


def snapshot(
    repo: Repository,
    path: Path,
    *,
    source_name: str | None = None,
    progress: Progress | None = None,
    workers: int = 2,
    opaque: bool = False,
    limits: ZipLimits | None = None,
    history: list[Snapshot] | None = None,
    time: datetime | None = None,
    prepared: Prepared | None = None,
) -> Snapshot:
    """Store the file at ``path`` and record a snapshot of it; returns the new snapshot.

    ``time`` is the snapshot's time (default: now); 'lkvault copy' keeps the original one.
    ``prepared`` is the keyless work already done on the file (used if it is unchanged).

    The caller holds the vault's exclusive lock.
    """
    progress = progress or NoProgress()
    history = load_snapshots(repo) if history is None else history
    writer = BlobWriter(repo, workers)
    stage = ExitStack()  # the earlier snapshot's frames, staged until the frames are sealed
    summary: LiveSummary | None = None
    try:
        with open(path, "rb") as source:
            before = os.fstat(source.fileno())
            reader = FileReader(source.fileno(), before.st_size)
            if prepared is not None and not prepared.holds_for(path, FileState.of(before)):
                prepared = None
            progress.start("Reading", reader.size)
            ingest = None
            ingester = None
            if not opaque:
                summary = LiveSummary(path, source_name or path.name)
                earlier = EarlierSnapshot(repo, history, "zip")
                stage.enter_context(earlier.staged())
                ingester = ZipIngester(  # its Proving bar comes right under Reading
                    repo,
                    writer,
                    progress,
                    workers,
                    known_members(repo, history),
                    limits,
                    earlier.member,
                    summary,
                    probed=None if prepared is None else prepared.probed,
                )
            writer.show(progress)
            if ingester is not None:
                try:
                    ingest = ingester.run(reader)
                except BadInput as exc:
                    raise BadInput(
                        f"{exc}; nothing was stored (to keep the file exactly as it is, "
                        "snapshot it with --opaque)"
                    ) from None
            if ingest is None:
                earlier = EarlierSnapshot(repo, history, "file")
                stage.enter_context(earlier.staged())
                ingest = ingest_opaque(reader, StreamStore(repo, writer, progress), earlier.whole())
            if not ingest.sha256 and prepared is not None and prepared.sha256:
                ingest.sha256 = prepared.sha256  # of this very file: its state is unchanged
            if not ingest.sha256:  # a zip is read out of order: hash it in one more pass
                ingest.sha256 = file_sha256(reader, progress.phase("Hashing", reader.size))
            after = os.fstat(source.fileno())
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            raise BadInput(
                f"{path} changed while it was being stored; try again when it is complete"
            )
        # The proof: the parts cover the input exactly (literal and stored bytes are verbatim,
        # every deflate part was checked byte for byte against the original while storing).
        if sum(part_size(p) for p in ingest.tree.parts) != ingest.size:
            raise IntegrityError("internal error: the stored parts do not rebuild the input")
        # ``earlier`` is of the same kind as this tree (a zip's, or a single file's).
        tree_id = writer.add(
            BlobType.TREE,
            codec.pack_document(encode_tree(ingest.tree)),
            [earlier.tree_id] if earlier.tree_id else [],
        )
        writer.finish()
    except KeyboardInterrupt:
        # The workers stop at their next block (vault.ingest.zipingest), frames in flight
        # are dropped: the interrupt takes effect in well under a second.
        writer.abort()
        if summary is not None:
            summary.cancel()
        raise Interrupted(unstored_message(writer)) from None
    except BaseException:
        writer.abort()
        if summary is not None:
            summary.cancel()
        raise
    finally:
        progress.done()
        stage.close()
    try:
        # What the export holds (counts, date, headline); a problem here is a warning, never
        # a failure. A zip's was counted while it was stored.
        name = source_name or path.name
        export, export_warnings = (
            summary.result()
            if ingest.tree.kind == "zip" and summary is not None
            else contacts_of_file(path, name)
        )
        return _record(
            repo, path, ingest, tree_id, writer, history, source_name, time, export, export_warnings
        )
    except KeyboardInterrupt:
        if summary is not None:
            summary.cancel()
        raise Interrupted(_record_interrupted(repo, history, tree_id, writer)) from None


def unstored_message(writer: BlobWriter) -> str:
    """What an interrupted snapshot left behind, before any snapshot record was written."""
    written = writer.stored_bytes
    if not written and not writer.index_written:
        return NOTHING_STORED
    return (
        f"interrupted; no snapshot was stored ({format_size(written)} of its data written so "
        "far is referenced by no snapshot; 'lkvault prune' removes it)"
    )


def _record_interrupted(
    repo: Repository, history: list[Snapshot], tree_id: bytes, writer: BlobWriter
) -> str:
    """Whether the snapshot record was written before the interrupt, and what that means."""
    seq = history[-1].seq + 1 if history else 1
    found = [snap for snap in load_snapshots(repo) if snap.tree == tree_id and snap.seq == seq]
    if found:
        return f"interrupted after snapshot {found[-1].short_id} was stored (it is complete)"
    return unstored_message(writer)


def _record(
    repo: Repository,
    path: Path,
    ingest: Ingest,
    tree_id: bytes,
    writer: BlobWriter,
    history: list[Snapshot],
    source_name: str | None,
    time: datetime | None,
    export: dict[str, Any] | None,
    export_warnings: list[str],
) -> Snapshot:
    """Write the snapshot record of a stored input (the step that makes it visible)."""
    summary = summary_from_document(export)
    member_changed = change_warning(
        history, summary.owner if summary is not None else None, owner_reader(repo)
    )
    if member_changed is not None:
        export_warnings = [*export_warnings, member_changed]
    # The chain continues from the newest snapshot ever stored, forgotten or not.
    end_seq, end_id = chain_end(history, load_forgotten(repo, lambda name, exc: None))
    record = Snapshot(
        id=b"",
        seq=end_seq + 1,
        prev=end_id or None,
        time=time or repo.clock(),
        source=source_name or path.name,
        size=ingest.size,
        sha256=ingest.sha256,
        tree=tree_id,
        kind=ingest.tree.kind,
        tool=tool_name(),
        stats={
            "new_bytes": writer.new_bytes,
            "new_blobs": writer.new_blobs,
            "stored_bytes": writer.stored_bytes,
            "members": len(ingest.tree.members),
        },
        warnings=ingest.warnings + export_warnings,
        export=export,
        zlib=deflater.IMPLEMENTATION if ingest.tree.kind == "zip" else "",
    )
    return write_snapshot(repo, record)
