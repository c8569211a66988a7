"""Restoring: renders a snapshot's tree back into the exact bytes that were stored.

Every chunk is checked against its keyed id as it is read, and the whole output against the
SHA-256 recorded at snapshot time; a file is only put in place when both hold.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from . import codec
from .crypto import BlobType
from .errors import IntegrityError, UsageError
from .ingest.deflate import DeflateParams, Recompressor
from .progress import NoProgress, Progress
from .repository.repo import Repository
from .repository.snapshots import Snapshot
from .tree import (
    ChunkRef,
    Deflated,
    Literal,
    Part,
    Stream,
    Tree,
    decode_chunk_list,
    decode_tree,
    part_size,
)

PARALLEL_PART_LIMIT = 32 * 1024 * 1024
IN_FLIGHT_LIMIT = 64 * 1024 * 1024


def load_tree(repo: Repository, tree_id: bytes) -> Tree:
    what = f"tree {tree_id.hex()[:16]}"
    return decode_tree(codec.unpack_document(repo.read_blob(BlobType.TREE, tree_id), what), what)


def iter_chunk_refs(repo: Repository, stream: Stream) -> Iterator[ChunkRef]:
    """The chunks of a stream in order, reading list blobs as needed."""
    if not stream.lists:
        yield from stream.chunks
        return
    for ref in stream.lists:
        what = f"chunk list {ref.id.hex()[:16]}"
        chunks = decode_chunk_list(
            codec.unpack_document(repo.read_blob(BlobType.TREE, ref.id), what), what
        )
        if len(chunks) != ref.count or sum(c.length for c in chunks) != ref.size:
            raise IntegrityError(f"{what} does not match the tree that refers to it")
        yield from chunks


def iter_stream(repo: Repository, stream: Stream) -> Iterator[bytes]:
    """The bytes of a stored stream, chunk by chunk, each verified."""
    total = 0
    for ref in iter_chunk_refs(repo, stream):
        data = repo.read_blob(BlobType.DATA, ref.id)
        if len(data) != ref.length:
            raise IntegrityError(f"chunk {ref.id.hex()[:16]} has the wrong length")
        total += len(data)
        yield data
    if total != stream.size:
        raise IntegrityError(f"a stream holds {total} bytes, not the {stream.size} recorded")


def iter_deflated(repo: Repository, part: Deflated) -> Iterator[bytes]:
    """Re-create a member's compressed bytes from its stored content."""
    compressor = Recompressor(DeflateParams(part.level, part.mem_level, part.strategy, part.wbits))
    produced = 0
    for block in iter_stream(repo, part.content):
        out = compressor.feed(block)
        produced += len(out)
        if out:
            yield out
    out = compressor.finish()
    produced += len(out)
    if produced != part.compressed_size:
        raise IntegrityError(
            f"re-compressed member is {produced} bytes, not {part.compressed_size}: "
            "this zlib does not reproduce it"
        )
    yield out


def render_part(repo: Repository, part: Part) -> Iterator[bytes]:
    if isinstance(part, Literal):
        yield part.data
    elif isinstance(part, Stream):
        yield from iter_stream(repo, part)
    else:
        yield from iter_deflated(repo, part)


def render(repo: Repository, tree: Tree, workers: int = 2) -> Iterator[bytes]:
    """The source's bytes, part by part, in order.

    Re-compressing members is the costly step of a restore, so members up to
    PARALLEL_PART_LIMIT are rebuilt ahead on worker threads (zlib runs without the GIL),
    holding at most IN_FLIGHT_LIMIT bytes; larger ones are streamed by the caller's thread.
    """
    if workers <= 1:
        for part in tree.parts:
            yield from render_part(repo, part)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        queue: deque[tuple[Part, Future[bytes] | None]] = deque()
        parts = iter(tree.parts)
        in_flight = 0
        exhausted = False
        try:
            while queue or not exhausted:
                while not exhausted and in_flight < IN_FLIGHT_LIMIT:
                    part = next(parts, None)
                    if part is None:
                        exhausted = True
                        break
                    if isinstance(part, Deflated) and part.compressed_size <= PARALLEL_PART_LIMIT:
                        job = pool.submit(lambda p: b"".join(iter_deflated(repo, p)), part)
                        queue.append((part, job))
                        in_flight += part.compressed_size
                    else:
                        queue.append((part, None))
                part, job = queue.popleft()
                if job is None:
                    yield from render_part(repo, part)
                else:
                    in_flight -= part_size(part)
                    yield job.result()
        finally:
            for _, job in queue:
                if job is not None:
                    job.cancel()


def restore_file(
    repo: Repository,
    snapshot: Snapshot,
    target: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> None:
    """Write the snapshot's source to ``target``, only if its SHA-256 matches the record."""
    progress = progress or NoProgress()
    if target.exists() and not force:
        raise UsageError(f"{target} already exists (use --force to replace it)")
    if target.is_dir():
        raise UsageError(f"{target} is a folder; give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"folder {target.parent} does not exist")
    temp = target.parent / f".{target.name}.lkvault-partial"
    digest = hashlib.sha256()
    size = 0
    progress.start("Restoring", snapshot.size)
    try:
        with open(temp, "wb") as out:
            for block in render(repo, load_tree(repo, snapshot.tree)):
                out.write(block)
                digest.update(block)
                size += len(block)
                progress.advance(len(block))
            out.flush()
            os.fsync(out.fileno())
        if size != snapshot.size or digest.digest() != snapshot.sha256:
            raise IntegrityError(
                f"restored bytes of snapshot {snapshot.short_id} do not match the SHA-256 "
                "recorded when it was taken; nothing was written"
            )
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        progress.done()
