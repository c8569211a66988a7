"""Snapshot records: what was stored when, chained by sequence number and predecessor id.

Forget records (docs/FORMAT.md, "Forget records") name snapshots that lkvault removed on
purpose; a snapshot they name is gone as soon as the record is written, even if its file is
still there (an interrupted forget), and its absence is not a gap in the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lkvault.vault.errors import IntegrityError
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import ID_SIZE, ObjectType
from lkvault.vault.repository.objects import list_objects
from lkvault.vault.repository.repo import Repository

SNAPSHOTS_PREFIX = "snapshots/"
FORGET_PREFIX = "forget/"


@dataclass(frozen=True)
class Snapshot:
    """One stored input, as the snapshot object records it."""

    id: bytes
    seq: int
    prev: bytes | None
    time: datetime
    source: str
    size: int
    sha256: bytes
    tree: bytes
    kind: str
    tool: str
    stats: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    export: dict[str, Any] | None = None
    zlib: str = ""  # the zlib that proved the deflate parameters (zip snapshots)

    @property
    def short_id(self) -> str:
        return self.id.hex()[:8]

    def to_document(self) -> dict[str, Any]:
        return {
            "v": 1,
            "seq": self.seq,
            "prev": self.prev,
            "time": self.time.isoformat(),
            "source": {"name": self.source, "size": self.size, "sha256": self.sha256},
            "tree": self.tree,
            "kind": self.kind,
            "tool": self.tool,
            "stats": self.stats,
            "warnings": self.warnings,
            "export": self.export,
            "zlib": self.zlib,
        }

    @classmethod
    def from_document(cls, snapshot_id: bytes, document: Any, what: str) -> Snapshot:
        codec.check_version(document, what)
        source = codec.field(document, "source", dict, what)
        prev = document.get("prev")
        codec.require(prev is None or (isinstance(prev, bytes) and len(prev) == ID_SIZE), what)
        tree = codec.field(document, "tree", bytes, what)
        sha = codec.field(source, "sha256", bytes, what)
        codec.require(len(tree) == ID_SIZE and len(sha) == 32, what)
        try:
            time = datetime.fromisoformat(codec.field(document, "time", str, what))
        except ValueError:
            raise IntegrityError(f"{what} has a malformed time") from None
        stats = document.get("stats") or {}
        warnings = document.get("warnings") or []
        codec.require(isinstance(stats, dict) and isinstance(warnings, list), what)
        export = document.get("export")
        codec.require(export is None or isinstance(export, dict), what)
        zlib_version = document.get("zlib", "")
        codec.require(isinstance(zlib_version, str), what)
        return cls(
            id=snapshot_id,
            seq=codec.field(document, "seq", int, what),
            prev=prev,
            time=time,
            source=codec.field(source, "name", str, what),
            size=codec.field(source, "size", int, what),
            sha256=sha,
            tree=tree,
            kind=codec.field(document, "kind", str, what),
            tool=codec.field(document, "tool", str, what),
            stats=stats,
            warnings=[str(w) for w in warnings],
            export=export,
            zlib=zlib_version,
        )


def snapshot_names(repo: Repository) -> list[str]:
    return list_objects(repo.backend, SNAPSHOTS_PREFIX)


def read_snapshot(repo: Repository, name: str) -> Snapshot:
    document = repo.documents.read(SNAPSHOTS_PREFIX, ObjectType.SNAPSHOT, name)
    snapshot_id = bytes.fromhex(name[len(SNAPSHOTS_PREFIX) :])
    return Snapshot.from_document(snapshot_id, document, f"snapshot {name}")


def load_snapshots(repo: Repository, on_error: Any = None) -> list[Snapshot]:
    """Every readable snapshot that no forget record names, oldest first (by sequence
    number, then time)."""
    forgotten = load_forgotten(repo, on_error)
    found = []
    for name in snapshot_names(repo):
        if _snapshot_id_of_name(name) in forgotten:
            continue
        try:
            found.append(read_snapshot(repo, name))
        except (IntegrityError, FileNotFoundError) as exc:
            if on_error is None:
                raise
            on_error(name, exc)
    return sorted(found, key=lambda s: (s.seq, s.time))


def write_snapshot(repo: Repository, snapshot: Snapshot) -> Snapshot:
    """Store a snapshot record; its id is the keyed id of its sealed plaintext."""
    snapshot_id = repo.documents.write(
        SNAPSHOTS_PREFIX, ObjectType.SNAPSHOT, snapshot.to_document()
    )
    return Snapshot(**{**snapshot.__dict__, "id": snapshot_id})


@dataclass(frozen=True)
class Forgotten:
    """A snapshot that lkvault removed on purpose, as its forget record describes it."""

    id: bytes
    seq: int | None  # None when the snapshot's own record was unreadable (repair)
    time: datetime | None
    source: str
    reason: str
    prev: bytes | None = None  # its predecessor, so the chain can be followed through it

    @property
    def short_id(self) -> str:
        return self.id.hex()[:8]

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prev": self.prev,
            "seq": self.seq,
            "time": None if self.time is None else self.time.isoformat(),
            "source": self.source,
            "reason": self.reason,
        }

    @classmethod
    def of(cls, snapshot: Snapshot, reason: str) -> Forgotten:
        return cls(snapshot.id, snapshot.seq, snapshot.time, snapshot.source, reason, snapshot.prev)

    @classmethod
    def from_document(cls, document: Any, what: str) -> Forgotten:
        snapshot_id = codec.field(document, "id", bytes, what)
        codec.require(len(snapshot_id) == ID_SIZE, what)
        prev = document.get("prev")
        codec.require(prev is None or (isinstance(prev, bytes) and len(prev) == ID_SIZE), what)
        seq = document.get("seq")
        codec.require(seq is None or (isinstance(seq, int) and not isinstance(seq, bool)), what)
        time_text = document.get("time")
        codec.require(time_text is None or isinstance(time_text, str), what)
        try:
            time = None if time_text is None else datetime.fromisoformat(time_text)
        except ValueError:
            raise IntegrityError(f"{what} has a malformed time") from None
        return cls(
            snapshot_id,
            seq,
            time,
            codec.field(document, "source", str, what),
            codec.field(document, "reason", str, what),
            prev,
        )


def forget_record_names(repo: Repository) -> list[str]:
    return list_objects(repo.backend, FORGET_PREFIX)


def load_forgotten(repo: Repository, on_error: Any = None) -> dict[bytes, Forgotten]:
    """Every snapshot a readable forget record names, by id."""
    forgotten: dict[bytes, Forgotten] = {}
    for name in forget_record_names(repo):
        what = f"forget record {name}"
        try:
            document = repo.documents.read(FORGET_PREFIX, ObjectType.FORGET, name)
            codec.field(document, "time", str, what)
            for item in codec.field(document, "snapshots", list, what):
                entry = Forgotten.from_document(item, what)
                forgotten[entry.id] = entry
        except (IntegrityError, FileNotFoundError) as exc:
            if on_error is None:
                raise
            on_error(name, exc)
    return forgotten


def write_forget_record(repo: Repository, entries: list[Forgotten]) -> bytes:
    """Store one forget record naming ``entries``; from then on they are gone."""
    document = {
        "v": 1,
        "time": repo.clock().isoformat(),
        "snapshots": [e.to_document() for e in entries],
    }
    return repo.documents.write(FORGET_PREFIX, ObjectType.FORGET, document)


def chain_end(snapshots: list[Snapshot], forgotten: dict[bytes, Forgotten]) -> tuple[int, bytes]:
    """(seq, id) of the snapshot a new one continues the chain from: the highest sequence
    number among the snapshots there and those forget records name, so forgetting the newest
    snapshot never lets a later one reuse its number. (0, b"") for a vault that never held one.
    """
    ends = [(s.seq, s.id) for s in snapshots]
    ends += [(f.seq, f.id) for f in forgotten.values() if f.seq is not None]
    return max(ends, default=(0, b""))


def survivor_of(snapshot_id: bytes, forgotten: dict[bytes, Forgotten]) -> bytes | None:
    """The first snapshot before ``snapshot_id`` (itself included) that no forget record
    names, following the chain back through forgotten ones; None when the chain ends first.

    Rollback detection uses it when the newest snapshot a computer saw was forgotten: the one
    it continued must still be there (or be forgotten too)."""
    current: bytes | None = snapshot_id
    visited: set[bytes] = set()
    while current is not None and current in forgotten and current not in visited:
        visited.add(current)
        current = forgotten[current].prev
    return None if current in visited else current


def snapshot_name(snapshot_id: bytes) -> str:
    return SNAPSHOTS_PREFIX + snapshot_id.hex()


def _snapshot_id_of_name(name: str) -> bytes | None:
    try:
        return bytes.fromhex(name[len(SNAPSHOTS_PREFIX) :])
    except ValueError:
        return None


def delete_forgotten_files(repo: Repository, forgotten: dict[bytes, Forgotten]) -> int:
    """Delete the snapshot files forget records name that are still there (what an
    interrupted forget left); returns how many. The caller holds the exclusive lock."""
    removed = 0
    for name in snapshot_names(repo):
        if _snapshot_id_of_name(name) in forgotten:
            try:
                repo.backend.delete(name)
            except FileNotFoundError:
                continue
            removed += 1
    return removed
