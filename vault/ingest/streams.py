"""Storing byte streams as content-defined chunks, and what storing one input produced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lkvault.vault.format import codec
from lkvault.vault.format.chunker import Chunker, ChunkerParams
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.format.tree import INLINE_CHUNKS, ChunkRef, ListRef, Stream, Tree
from lkvault.vault.progress import Progress
from lkvault.vault.repository.blobwriter import BlobWriter
from lkvault.vault.repository.repo import Repository

READ_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class PreviousVersion:
    """The same input's (or member's) chunks in an earlier snapshot, as compression hints."""

    chunks: tuple[bytes, ...]
    lists: tuple[bytes, ...] = ()
    order: PreviousVersion | None = None  # the row order's stream, when rows were reordered


class ReplacementGuess:
    """Guesses which earlier chunks each new chunk replaces, from its position.

    Chunks both versions share are anchors; the n-th new chunk after an anchor most likely
    replaces the n-th chunk after that anchor in the earlier version (a row edited in place,
    the rows above newly inserted ones), or one near it, as exports also reorder rows a
    little; content past the earlier end is guessed to resemble the earlier tail. Guesses
    come nearest first; the writer drops those the new version still uses.
    """

    SPREAD = 8  # earlier chunks considered on each side of the likeliest one

    def __init__(self, previous: PreviousVersion) -> None:
        self.chunks = previous.chunks
        self.position = {blob_id: i for i, blob_id in reversed(list(enumerate(self.chunks)))}
        self.anchor = -1
        self.run = 0

    def next_guesses(self) -> list[bytes]:
        """Earlier chunks the next chunk may replace, likeliest first."""
        at = self.anchor + 1 + self.run
        if at >= len(self.chunks):
            # Past the earlier version's end the content is new (conversations begun since,
            # in a stored row order); the earlier tail, read backwards, is the likeliest
            # content to share its words and names.
            at = max(0, 2 * len(self.chunks) - 1 - at)
        found = []
        for distance in range(self.SPREAD + 1):
            for candidate in {at - distance, at + distance}:
                if 0 <= candidate < len(self.chunks):
                    found.append(self.chunks[candidate])
        return found

    def saw(self, blob_id: bytes) -> None:
        at = self.position.get(blob_id)
        if at is None:
            self.run += 1
        else:
            self.anchor, self.run = at, 0


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
        previous: PreviousVersion | None = None,
    ) -> Stream:
        """Chunk and store everything ``read`` yields until it returns b''.

        ``previous`` is the same content in an earlier snapshot, if known: new chunks are
        then compressed against the earlier chunks they probably replace.
        """
        chunks: list[ChunkRef] = []
        guess = ReplacementGuess(previous) if previous is not None else None
        size = 0

        def add(chunk: bytes) -> None:
            replaces = guess.next_guesses() if guess is not None else ()
            blob_id = self.writer.add(BlobType.DATA, chunk, replaces)
            if guess is not None:
                guess.saw(blob_id)
            chunks.append(ChunkRef(blob_id, len(chunk)))

        while True:
            block = read(READ_BLOCK)
            if not block:
                break
            if on_block is not None:
                on_block(block)
            size += len(block)
            for chunk in self.chunker.feed(block):
                add(chunk)
            if advance:
                self.progress.advance(len(block))
        for chunk in self.chunker.finish():
            add(chunk)
        return self.stream_of(chunks, size, previous.lists if previous is not None else ())

    def stream_of(
        self, chunks: list[ChunkRef], size: int, previous_lists: tuple[bytes, ...] = ()
    ) -> Stream:
        """A Stream listing ``chunks`` inline, or through list blobs when there are many."""
        if len(chunks) <= INLINE_CHUNKS:
            return Stream(size, chunks=tuple(chunks))
        lists = []
        for number, start in enumerate(range(0, len(chunks), INLINE_CHUNKS)):
            run = chunks[start : start + INLINE_CHUNKS]
            document = [[c.id, c.length] for c in run]
            replaces = previous_lists[number : number + 1]
            list_id = self.writer.add(BlobType.TREE, codec.pack_document(document), replaces)
            lists.append(ListRef(list_id, len(run), sum(c.length for c in run)))
        return Stream(size, lists=tuple(lists))
