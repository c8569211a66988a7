"""Restoring: renders a snapshot's tree back into the exact bytes that were stored.

Every chunk is checked against its keyed id as it is read, and the whole output against the
SHA-256 recorded at snapshot time; a file is only put in place when both hold.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from lkvault.vault.errors import IntegrityError
from lkvault.vault.format import codec, deflater, restarts
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.format.tree import (
    ChunkRef,
    Content,
    Deflated,
    Literal,
    MemberEntry,
    Part,
    Reordered,
    Stream,
    Tree,
    content_streams,
    decode_chunk_list,
    decode_tree,
    member_mac_header,
    part_size,
)
from lkvault.vault.ingest.deflate import DeflateParams, Recompressor
from lkvault.vault.ingest.rows import ENTRY, MAX_ENTRIES, RowPlan
from lkvault.vault.operations.safewrite import check_replaceable, write_then_rename
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot
from lkvault.vault.spill import Spill

PARALLEL_PART_LIMIT = 32 * 1024 * 1024
IN_FLIGHT_LIMIT = 64 * 1024 * 1024
FETCH_RUN = 4 << 20  # content a worker reads ahead at a time
REORDER_IN_MEMORY = 48 << 20
"""Content put back in its row order in memory, beyond which it goes to encrypted scratch
(vault/spill.py), read back a window at a time. A medium inbox (29 MB) stays in memory: the
restore's peak RSS goes from 99 MB (the key derivation's) to about 110 MB, and its main
thread does a third of the work."""


def load_tree(repo: Repository, tree_id: bytes) -> Tree:
    what = f"tree {tree_id.hex()[:16]}"
    return decode_tree(
        codec.unpack_document(repo.reader.read_blob(BlobType.TREE, tree_id), what), what
    )


def iter_chunk_refs(repo: Repository, stream: Stream) -> Iterator[ChunkRef]:
    """The chunks of a stream in order, reading list blobs as needed."""
    if not stream.lists:
        yield from stream.chunks
        return
    for ref in stream.lists:
        what = f"chunk list {ref.id.hex()[:16]}"
        chunks = decode_chunk_list(
            codec.unpack_document(repo.reader.read_blob(BlobType.TREE, ref.id), what), what
        )
        if len(chunks) != ref.count or sum(c.length for c in chunks) != ref.size:
            raise IntegrityError(f"{what} does not match the tree that refers to it")
        yield from chunks


def chunk_ids(repo: Repository, parts: Iterable[Part]) -> Iterator[bytes]:
    """The data chunks the parts of a tree are rendered from."""
    for part in parts:
        for stream in content_streams(part):
            for ref in iter_chunk_refs(repo, stream):
                yield ref.id


def iter_stream(
    repo: Repository, stream: Stream, pool: Executor | None = None, workers: int = 1
) -> Iterator[bytes]:
    """The bytes of a stored stream, chunk by chunk, each verified.

    Given a ``pool``, its ``workers`` threads read, decrypt, decompress and verify the chunks
    ahead, a frame's run of chunks at a time, while the caller's thread uses those before.
    """
    refs = iter_chunk_refs(repo, stream)
    fetched: Iterable[tuple[ChunkRef, bytes]]
    if pool is None or workers <= 1:
        fetched = ((ref, repo.reader.read_blob(BlobType.DATA, ref.id)) for ref in refs)
    else:

        def fetch(run: list[ChunkRef]) -> list[tuple[ChunkRef, bytes]]:
            return [(ref, repo.reader.read_blob(BlobType.DATA, ref.id)) for ref in run]

        runs = restarts.ordered_parallel(fetch, _frame_runs(repo, refs), workers, workers, pool)
        fetched = (pair for run in runs for pair in run)
    total = 0
    for ref, data in fetched:
        if len(data) != ref.length:
            raise IntegrityError(f"chunk {ref.id.hex()[:16]} has the wrong length")
        total += len(data)
        yield data
    if total != stream.size:
        raise IntegrityError(f"a stream holds {total} bytes, not the {stream.size} recorded")


def _frame_runs(repo: Repository, refs: Iterable[ChunkRef]) -> Iterator[list[ChunkRef]]:
    """Consecutive chunks, a run for each frame they lie in (at most FETCH_RUN bytes), so
    that two threads never decode the same frame at once."""
    run: list[ChunkRef] = []
    size = 0
    frame: tuple[bytes, int] | None = None
    for ref in refs:
        location = repo.index.get(ref.id)
        where = frame_key(location.frame) if location is not None else None
        if run and (where != frame or where is None or size + ref.length > FETCH_RUN):
            yield run
            run, size = [], 0
        run.append(ref)
        size += ref.length
        frame = where
    if run:
        yield run


def iter_content(
    repo: Repository, content: Content, pool: Executor | None = None, workers: int = 1
) -> Iterator[bytes]:
    """A member's content; rows stored in canonical order are put back in their own order."""
    if isinstance(content, Stream):
        yield from iter_stream(repo, content, pool, workers)
        return
    plan = reorder_plan(repo, content)
    # Straight to disk when it will not fit: filling memory first only to move it is waste.
    in_memory = REORDER_IN_MEMORY if content.content.size <= REORDER_IN_MEMORY else 0
    with Spill(in_memory) as spill:
        for block in iter_stream(repo, content.content, pool, workers):
            spill.write(block)
        yield from spill.ranges(plan.restore_ranges())


def reorder_plan(repo: Repository, content: Reordered) -> RowPlan:
    if content.order.size > MAX_ENTRIES * ENTRY.size:
        raise IntegrityError("a row order is larger than any lkvault writes")
    return RowPlan.from_order(b"".join(iter_stream(repo, content.order)), content.size)


def iter_deflated(
    repo: Repository,
    part: Deflated,
    member: MemberEntry | None = None,
    workers: int = 1,
    pool: Executor | None = None,
) -> Iterator[bytes]:
    """Re-create a member's compressed bytes from its stored content.

    A part with restart points is re-created segment by segment on ``workers`` threads, those
    of ``pool`` when given (vault/format/restarts.py). The output is checked against the
    member's keyed hash taken at snapshot time, so a compressor that differs from the one
    that proved the parameters (the system zlib where lkvault's deflate is not built) is
    caught here, by name, not as a mismatch of the file; the last piece is held back until
    that check has passed.
    """
    name = f"member '{member.name}'" if member is not None else "a member"
    mac = None
    if member is not None and member.cmac:
        mac = repo.keys.member_hasher(
            member_mac_header(
                member.method, member.crc32, member.size, part.compressed_size, member.flags
            )
        )
    if part.restarts and restarts.AVAILABLE:
        pieces = _segmented(repo, part, workers, name, pool)
    else:
        pieces = _sequential(repo, part)
    produced = 0
    held = b""
    for out in pieces:
        if held:
            yield held
        produced += len(out)
        if mac is not None:
            mac.update(out)
        held = out
    if produced != part.compressed_size or (
        mac is not None and not hmac.compare_digest(mac.digest(), member.cmac)  # type: ignore[union-attr]
    ):
        raise IntegrityError(
            f"{name} cannot be re-created byte for byte with {deflater.IMPLEMENTATION}; "
            "its files can still be read with --extract or cat"
        )
    if held:
        yield held


def _sequential(repo: Repository, part: Deflated) -> Iterator[bytes]:
    compressor = Recompressor(DeflateParams(part.level, part.mem_level, part.strategy, part.wbits))
    for block in iter_content(repo, part.content):
        yield compressor.feed(block)
    yield compressor.finish()


def _segmented(
    repo: Repository, part: Deflated, workers: int, name: str, pool: Executor | None
) -> Iterator[bytes]:
    """The stream re-created from its restart points, each segment on its own thread; the
    same threads read its content ahead."""
    if pool is None and workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as own:
            yield from _segmented(repo, part, workers, name, own)
        return

    def work(job: restarts.SegmentJob) -> tuple[restarts.SegmentJob, tuple[bytes, int] | None]:
        return job, restarts.deflate_segment(
            job, part.level, part.mem_level, part.strategy, part.wbits
        )

    try:
        content = iter_content(repo, part.content, pool, workers)
        jobs = restarts.segment_jobs(content, part.content.size, part.restarts, part.wbits)
        joiner = restarts.BitJoiner()
        for job, result in restarts.ordered_parallel(work, jobs, workers, workers, pool):
            expected = None if job.bit_stop is None else job.bit_stop - job.bit_start
            if result is None or (expected is not None and result[1] != expected):
                raise IntegrityError(
                    f"{name}: restart point {job.index} of its tree does not re-create its "
                    "segment (a damaged tree); its files can still be read with --extract or cat"
                )
            yield joiner.add(*result)
        yield joiner.finish()
    except ValueError as exc:  # content shorter than the part says
        raise IntegrityError(f"{name}: {exc}") from None


def render_part(
    repo: Repository,
    part: Part,
    member: MemberEntry | None = None,
    workers: int = 1,
    pool: Executor | None = None,
) -> Iterator[bytes]:
    if isinstance(part, Literal):
        yield part.data
    elif isinstance(part, Stream):
        yield from iter_stream(repo, part)
    else:
        yield from iter_deflated(repo, part, member, workers, pool)


def render(
    repo: Repository, tree: Tree, workers: int = 2, pool: Executor | None = None
) -> Iterator[bytes]:
    """The source's bytes, part by part, in order.

    Re-compressing members is the costly step of a restore, so members up to
    PARALLEL_PART_LIMIT are rebuilt ahead on worker threads (deflate runs without the GIL),
    holding at most IN_FLIGHT_LIMIT bytes; larger ones are streamed by the caller's thread,
    and members with restart points have their segments rebuilt on the same ``workers``
    threads (one pool: LKVAULT_WORKERS is the number of threads that compress), those of
    ``pool`` when given.
    Abandoned (an interrupt, an error, the caller stopping), it returns without waiting for
    the members in progress: each stops at its next block.
    """
    owners = {m.part: m for m in tree.members}
    if workers <= 1:
        for number, part in enumerate(tree.parts):
            yield from render_part(repo, part, owners.get(number))
        return
    if pool is None:
        own = ThreadPoolExecutor(max_workers=workers)
        try:
            yield from render(repo, tree, workers, own)
        finally:
            own.shutdown(wait=False, cancel_futures=True)  # abandoned: see above
        return
    stopping = threading.Event()

    def rebuild(part: Deflated, member: MemberEntry | None) -> bytes:
        pieces = []
        for piece in iter_deflated(repo, part, member):
            if stopping.is_set():
                raise _Abandoned
            pieces.append(piece)
        return b"".join(pieces)

    queue: deque[tuple[Part, MemberEntry | None, Future[bytes] | None]] = deque()
    parts = iter(enumerate(tree.parts))
    in_flight = 0
    exhausted = False
    job: Future[bytes] | None
    try:
        while queue or not exhausted:
            while not exhausted and in_flight < IN_FLIGHT_LIMIT:
                numbered = next(parts, None)
                if numbered is None:
                    exhausted = True
                    break
                number, part = numbered
                member = owners.get(number)
                if (
                    isinstance(part, Deflated)
                    and part.compressed_size <= PARALLEL_PART_LIMIT
                    and not part.restarts  # those are split over the workers instead
                ):
                    queue.append((part, member, pool.submit(rebuild, part, member)))
                    in_flight += part.compressed_size
                else:
                    queue.append((part, member, None))
            part, member, job = queue.popleft()
            if job is None:
                yield from render_part(repo, part, member, workers, pool)
            else:
                in_flight -= part_size(part)
                yield job.result()
    finally:
        stopping.set()
        for _, _, job in queue:
            if job is not None:
                job.cancel()


class _Abandoned(Exception):  # noqa: N818 - not an error: nobody waits for the result
    """Ends a member rebuilt ahead once its restore was abandoned."""


def restore_file(
    repo: Repository,
    snapshot: Snapshot,
    target: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    workers: int = 2,
) -> None:
    """Write the snapshot's source to ``target``, only if its SHA-256 matches the record."""
    progress = progress or NoProgress()
    check_replaceable(target, force)

    def matches(size: int, sha256: bytes) -> None:
        if size != snapshot.size or sha256 != snapshot.sha256:
            raise IntegrityError(
                f"restored bytes of snapshot {snapshot.short_id} do not match the SHA-256 "
                "recorded when it was taken; nothing was written"
            )

    progress.start("Restoring", snapshot.size)
    try:
        tree = load_tree(repo, snapshot.tree)
        with (
            worker_pool(workers) as pool,
            repo.reader.staged(
                repo.reader.frames_holding(chunk_ids(repo, tree.parts)), pool, in_order=True
            ),
        ):
            write_then_rename(target, render(repo, tree, workers, pool), progress, matches)
    finally:
        progress.done()


@contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """The ``workers`` threads a restore decodes and compresses on; None for one worker (the
    caller's thread does it all). They are stopped, queued work dropped, when it ends."""
    if workers <= 1:
        yield None
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lkvault-restore")
    try:
        yield pool
    except BaseException:
        # Abandoned (an interrupt, an error): the work under way is not waited for; members
        # rebuilt ahead stop at their next block, a segment or a frame ends on its own.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True, cancel_futures=True)


def checked_archive(repo: Repository, snapshot: Snapshot) -> Iterator[bytes]:
    """The snapshot's source file, block by block, checked against its size and SHA-256
    at the end (an error then means the blocks given so far must be thrown away)."""
    digest, size = hashlib.sha256(), 0
    for block in render(repo, load_tree(repo, snapshot.tree)):
        digest.update(block)
        size += len(block)
        yield block
    if size != snapshot.size or digest.digest() != snapshot.sha256:
        raise IntegrityError(
            f"the archive of snapshot {snapshot.short_id} does not match the SHA-256 "
            "recorded when it was taken"
        )
