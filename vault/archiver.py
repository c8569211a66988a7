"""Snapshotting: turns an input file into stored chunks, a tree and a snapshot record.

Nothing becomes visible before it is complete: chunks and the tree go into packs, then one
index file, and only then the snapshot record that refers to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from . import codec
from .chunker import Chunker, ChunkerParams
from .crypto import BlobType
from .progress import NoProgress, Progress
from .repository.repo import BlobWriter, Repository
from .repository.snapshots import Snapshot, load_snapshots, write_snapshot
from .tree import INLINE_CHUNKS, ChunkRef, ListRef, Stream, Tree, encode_tree

READ_BLOCK = 1024 * 1024
TOOL = "lkvault 0.1.0"


@dataclass
class Ingest:
    """What storing one input produced, before the snapshot record is written."""

    tree: Tree
    size: int
    sha256: bytes
    warnings: list[str] = field(default_factory=list)


class StreamStore:
    """Stores byte streams as content-defined chunks through one BlobWriter."""

    def __init__(self, repo: Repository, writer: BlobWriter, progress: Progress) -> None:
        config = repo.config
        self.writer = writer
        self.progress = progress
        self.chunker = Chunker(
            repo.keys.chunker,
            ChunkerParams(config.chunker_min, config.chunker_avg, config.chunker_max),
        )

    def store(
        self, read: Callable[[int], bytes], on_block: Callable[[bytes], None] | None = None
    ) -> Stream:
        """Chunk and store everything ``read`` yields until it returns b''."""
        chunks: list[ChunkRef] = []
        size = 0
        while True:
            block = read(READ_BLOCK)
            if not block:
                break
            if on_block is not None:
                on_block(block)
            size += len(block)
            for chunk in self.chunker.feed(block):
                chunks.append(ChunkRef(self.writer.add(BlobType.DATA, chunk), len(chunk)))
            self.progress.advance(len(block))
        for chunk in self.chunker.finish():
            chunks.append(ChunkRef(self.writer.add(BlobType.DATA, chunk), len(chunk)))
        return self.stream_of(chunks, size)

    def stream_of(self, chunks: list[ChunkRef], size: int) -> Stream:
        """A Stream listing ``chunks`` inline, or through list blobs when there are many."""
        if len(chunks) <= INLINE_CHUNKS:
            return Stream(size, chunks=tuple(chunks))
        lists = []
        for start in range(0, len(chunks), INLINE_CHUNKS):
            run = chunks[start : start + INLINE_CHUNKS]
            document = [[c.id, c.length] for c in run]
            list_id = self.writer.add(BlobType.TREE, codec.pack_document(document))
            lists.append(ListRef(list_id, len(run), sum(c.length for c in run)))
        return Stream(size, lists=tuple(lists))


def ingest_opaque(source: BinaryIO, store: StreamStore) -> Ingest:
    """Store any file as one chunked stream."""
    digest = hashlib.sha256()
    stream = store.store(source.read, digest.update)
    return Ingest(Tree("file", [stream]), stream.size, digest.digest())


def snapshot(
    repo: Repository,
    path: Path,
    *,
    source_name: str | None = None,
    progress: Progress | None = None,
    workers: int = 2,
) -> Snapshot:
    """Store the file at ``path`` and record a snapshot of it; returns the new snapshot.

    The caller holds the vault's exclusive lock.
    """
    progress = progress or NoProgress()
    writer = repo.writer(workers)
    store = StreamStore(repo, writer, progress)
    try:
        with open(path, "rb") as source:
            progress.start("Storing", path.stat().st_size)
            ingest = ingest_opaque(source, store)
            progress.done()
        tree_id = writer.add(BlobType.TREE, codec.pack_document(encode_tree(ingest.tree)))
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    history = load_snapshots(repo)
    head = history[-1] if history else None
    record = Snapshot(
        id=b"",
        seq=(head.seq + 1) if head else 1,
        prev=head.id if head else None,
        time=repo.clock(),
        source=source_name or path.name,
        size=ingest.size,
        sha256=ingest.sha256,
        tree=tree_id,
        kind=ingest.tree.kind,
        tool=TOOL,
        stats={
            "new_bytes": writer.new_bytes,
            "new_blobs": writer.new_blobs,
            "stored_bytes": writer.stored_bytes,
        },
        warnings=ingest.warnings,
    )
    return write_snapshot(repo, record)
