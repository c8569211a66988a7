"""Storing byte streams as content-defined chunks, and what storing one input produced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import codec
from .chunker import Chunker, ChunkerParams
from .crypto import BlobType
from .progress import Progress
from .repository.repo import BlobWriter, Repository
from .tree import INLINE_CHUNKS, ChunkRef, ListRef, Stream, Tree

READ_BLOCK = 1024 * 1024


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
        self,
        read: Callable[[int], bytes],
        on_block: Callable[[bytes], None] | None = None,
        *,
        advance: bool = True,
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
            if advance:
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
