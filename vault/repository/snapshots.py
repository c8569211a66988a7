"""Snapshot records: what was stored when, chained by sequence number and predecessor id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import codec
from ..crypto import ID_SIZE, ObjectType
from ..errors import IntegrityError
from .repo import Repository

SNAPSHOTS_PREFIX = "snapshots/"


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
    return repo.backend.list(SNAPSHOTS_PREFIX)


def read_snapshot(repo: Repository, name: str) -> Snapshot:
    document = repo.read_document(SNAPSHOTS_PREFIX, ObjectType.SNAPSHOT, name)
    snapshot_id = bytes.fromhex(name[len(SNAPSHOTS_PREFIX) :])
    return Snapshot.from_document(snapshot_id, document, f"snapshot {name}")


def load_snapshots(repo: Repository, on_error: Any = None) -> list[Snapshot]:
    """Every readable snapshot, oldest first (by sequence number, then time)."""
    found = []
    for name in snapshot_names(repo):
        try:
            found.append(read_snapshot(repo, name))
        except (IntegrityError, FileNotFoundError) as exc:
            if on_error is None:
                raise
            on_error(name, exc)
    return sorted(found, key=lambda s: (s.seq, s.time))


def write_snapshot(repo: Repository, snapshot: Snapshot) -> Snapshot:
    """Store a snapshot record; its id is the keyed id of its sealed plaintext."""
    snapshot_id = repo.write_document(SNAPSHOTS_PREFIX, ObjectType.SNAPSHOT, snapshot.to_document())
    return Snapshot(**{**snapshot.__dict__, "id": snapshot_id})
