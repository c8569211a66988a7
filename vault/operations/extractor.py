"""Reading members out of a snapshot: one member's content, or all of them into a folder, safely.

Names that could escape the folder (absolute, drive letters, backslashes, '..') are never
written; existing files are never replaced without ``force``; every member's CRC-32 and size
are checked; files appear under their final name only once complete.
"""

from __future__ import annotations

import difflib
import errno
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lkvault.vault.errors import IntegrityError, SnapshotNotFound, UsageError
from lkvault.vault.format.tree import Deflated, MemberEntry, Stream, Tree
from lkvault.vault.ingest.zipscan import METHOD_DEFLATED, quote_name, unsafe_path
from lkvault.vault.operations.restorer import (
    chunk_ids,
    iter_content,
    iter_stream,
    load_tree,
    render,
)
from lkvault.vault.operations.safewrite import write_then_rename
from lkvault.vault.progress import NoProgress, Progress
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot

NAME_MAX = 255  # bytes in one file or folder name, on every common filesystem


def find_member(tree: Tree, name: str) -> MemberEntry:
    """A member by exact name, else by unique case-insensitive base name at any depth.

    Of several members with one name, the last is meant, as unzip (which overwrites), Python's
    zipfile and the export readers behind summaries and browse all take it.
    """
    exact = [m for m in tree.members if m.name == name]
    if exact:
        return exact[-1]
    wanted = name.lower().rstrip("/")
    loose = [
        m for m in tree.members if not m.is_dir and PurePosixPath(m.name).name.lower() == wanted
    ]
    if len({m.name for m in loose}) == 1:
        return loose[-1]
    if len(loose) > 1:
        names = ", ".join(quote_name(m.name) for m in loose[:5])
        raise SnapshotNotFound(f"{quote_name(name)} matches several members: {names}")
    close = close_names(name, [m.name for m in tree.members if not m.is_dir])
    hint = f"; did you mean {', '.join(quote_name(n) for n in close)}?" if close else ""
    raise SnapshotNotFound(f"the snapshot has no member {quote_name(name)}{hint}")


def close_names(name: str, names: list[str], limit: int = 3) -> list[str]:
    """Member names a mistyped ``name`` may have meant: by base name, case-insensitively
    ('conections.csv' -> 'Connections.csv', 'messages' -> 'messages.csv')."""
    wanted = PurePosixPath(name.lower()).name
    by_base: dict[str, list[str]] = {}
    for full in names:
        by_base.setdefault(PurePosixPath(full).name.lower(), []).append(full)
    found = [b for b in by_base if b.startswith(wanted)]
    found += difflib.get_close_matches(wanted, list(by_base), n=limit, cutoff=0.75)
    return [full for base in dict.fromkeys(found) for full in by_base[base]][:limit]


def member_content(repo: Repository, tree: Tree, member: MemberEntry) -> Iterator[bytes]:
    """A member's uncompressed content, checked against its CRC-32 and size."""
    part = tree.parts[member.part]
    if member.encrypted:
        raise UsageError(f"member {quote_name(member.name)} is encrypted; lkvault cannot unpack it")
    if isinstance(part, Deflated):
        blocks = iter_content(repo, part.content)
    elif isinstance(part, Stream) and not member.compressed:
        blocks = iter_stream(repo, part)
    elif isinstance(part, Stream) and member.method == METHOD_DEFLATED:
        blocks = _inflate(iter_stream(repo, part), member)
    else:
        raise UsageError(
            f"member {quote_name(member.name)} uses compression method {member.method}, which "
            "lkvault cannot unpack; restore the whole archive and open it with another tool"
        )
    crc, size = 0, 0
    for block in blocks:
        crc = zlib.crc32(block, crc)
        size += len(block)
        if size > member.size:
            break
        yield block
    if size != member.size or crc != member.crc32:
        raise IntegrityError(f"member {quote_name(member.name)} does not match its CRC-32 or size")


def _inflate(blocks: Iterator[bytes], member: MemberEntry) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-15)
    budget = member.size + 1
    try:
        for block in blocks:
            out = inflater.decompress(block, budget)
            budget -= len(out)
            if out:
                yield out
            if budget <= 0 or inflater.unconsumed_tail:
                break
        tail = inflater.flush()
        if tail:
            yield tail
    except zlib.error:
        raise IntegrityError(f"member {quote_name(member.name)} has damaged data") from None


def member_target(root: Path, name: str) -> Path | None:
    """Where a member goes under ``root``, or None when its name must not be written."""
    if unsafe_path(name) is not None:
        return None
    relative = PurePosixPath(name.rstrip("/"))
    if not relative.parts:
        return None
    return root.joinpath(*relative.parts)


@dataclass
class ExtractResult:
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # One line per member that could not be written (the rest were): its name and why.
    failed: list[str] = field(default_factory=list)


def extract(
    repo: Repository,
    snapshot: Snapshot,
    root: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> ExtractResult:
    """Write every member of a zip snapshot (or the single file of another) under ``root``.

    A member that cannot be written (its folder is a file of another member, its path is too
    long for the filesystem, it would lead outside ``root``...) is skipped and named in
    ``failed``; every other member is still written.
    """
    progress = progress or NoProgress()
    tree = load_tree(repo, snapshot.tree)
    result = ExtractResult()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    plan = _plan(tree, snapshot, root, result)
    clashes = [path for _, path in plan if _occupied(path)]
    if clashes and not force:
        more = f" and {len(clashes) - 1} more" if len(clashes) > 1 else ""
        raise UsageError(f"{clashes[0]}{more} already exist; nothing was written (use --force)")
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve()
    progress.start("Extracting", sum(m.size for m, _ in plan if m is not None))
    try:
        frames = repo.reader.frames_holding(chunk_ids(repo, tree.parts))
        with repo.reader.staged(frames, in_order=True):
            for member, path in plan:
                try:
                    _write_member(repo, tree, real_root, root, member, path, progress)
                except (OSError, UsageError) as exc:
                    name = member.name if member is not None else str(path.relative_to(root))
                    result.failed.append(f"{quote_name(name)}: {_reason(exc)}")
                    continue
                if member is not None:
                    result.written.append(str(path))
    finally:
        progress.done()
    return result


def _write_member(
    repo: Repository,
    tree: Tree,
    real_root: Path,
    root: Path,
    member: MemberEntry | None,
    path: Path,
    progress: Progress,
) -> None:
    """One member (a folder when ``member`` is None) at ``path``; raises what stops it."""
    _make_folders(root, path if member is None else path.parent)
    _check_inside(real_root, path)
    if member is None:
        return
    blocks = (
        member_content(repo, tree, member)
        if tree.kind == "zip"
        else iter_stream(repo, tree.parts[0])  # type: ignore[arg-type]
    )
    write_then_rename(path, blocks, progress)


def _make_folders(root: Path, folder: Path) -> None:
    """Create ``folder`` and the folders between ``root`` and it, one level at a time (a member
    a thousand folders deep must not exhaust Python's recursion like Path.mkdir does)."""
    at = root
    for part in folder.relative_to(root).parts:
        at = at / part
        try:
            os.mkdir(at)
        except FileExistsError:
            if at.is_symlink() or not at.is_dir():
                where = quote_name(str(at.relative_to(root)))
                raise UsageError(f"{where} is a file or a link, not a folder") from None


def _occupied(path: Path) -> bool:
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:  # a name the filesystem cannot even look up is reported when written
        return False
    return True


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        if error.errno == errno.ENAMETOOLONG:
            return "its path is too long for this filesystem"
        return error.strerror or str(error)
    return str(error)


def _plan(
    tree: Tree, snapshot: Snapshot, root: Path, result: ExtractResult
) -> list[tuple[MemberEntry | None, Path]]:
    if tree.kind != "zip":
        target = member_target(root, snapshot.source)
        if target is None:
            raise UsageError(f"cannot extract a file named {quote_name(snapshot.source)}")
        entry = MemberEntry(snapshot.source, 0, snapshot.size, 0, 0, False)
        return [(entry, target)]
    plan: list[tuple[MemberEntry | None, Path]] = []
    named = [(member, member_target(root, member.name)) for member in tree.members]
    last = {target: number for number, (_, target) in enumerate(named) if target is not None}
    for number, (member, target) in enumerate(named):
        if target is None:
            result.warnings.append(f"skipped member {quote_name(member.name)}: unsafe name")
            continue
        if any(len(os.fsencode(part)) > NAME_MAX for part in target.relative_to(root).parts):
            # The filesystem would refuse it (ENAMETOOLONG) after other members were written.
            result.warnings.append(
                f"skipped member {quote_name(member.name)}: a part of its name is longer "
                f"than {NAME_MAX} bytes"
            )
            continue
        if last[target] != number:
            # The last copy is the one written, as cat, summaries and browse read it.
            result.warnings.append(
                f"skipped an earlier copy of duplicate member {quote_name(member.name)}"
            )
            continue
        if member.encrypted:
            result.warnings.append(f"skipped encrypted member {quote_name(member.name)}")
            continue
        plan.append((None if member.is_dir else member, target))
    return plan


def _check_inside(root: Path, path: Path) -> None:
    """Refuse a path whose folders (a planted symlink, say) lead outside the target folder.
    What is at ``path`` itself is write_then_rename's to judge: only a regular file is ever
    replaced, even with ``force`` (a link there is someone else's, or yours on purpose)."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.resolve().is_relative_to(root):
        raise UsageError(f"refusing to write {path}: it leads outside {root}")


def snapshot_member(repo: Repository, snapshot: Snapshot, member: str) -> Iterator[bytes]:
    """One member's content, block by block (the whole file for a non-zip snapshot, named
    by its source name or ``""``). The caller holds a lock on the vault."""
    tree = load_tree(repo, snapshot.tree)
    if tree.kind != "zip":
        if member not in (snapshot.source, ""):
            raise SnapshotNotFound(
                f"snapshot {snapshot.short_id} is a single file ({snapshot.source}), not a zip"
            )
        yield from render(repo, tree)
        return
    entry = find_member(tree, member)
    needed = chunk_ids(repo, [tree.parts[entry.part]])
    with repo.reader.staged(repo.reader.frames_holding(needed), in_order=True):
        yield from member_content(repo, tree, entry)
