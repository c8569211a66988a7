"""Vault statistics: sizes, deduplication and compression, and what each snapshot added.

Content sizes are the bytes of blobs (uncompressed chunk and tree content); stored sizes of
single blobs are estimates (a blob's share of its frame's stored size, since frames compress
many blobs together); file sizes are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lkvault.vault.errors import IntegrityError, StorageError
from lkvault.vault.operations.usage import snapshot_blobs
from lkvault.vault.repository.index import Index
from lkvault.vault.repository.objects import list_objects
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot

VAULT_FOLDERS = ("data/", "index/", "snapshots/", "forget/", "keys/")


@dataclass
class SnapshotUsage:
    """What one snapshot costs: content first stored for it, and content only it needs."""

    snapshot: Snapshot
    content: int = 0  # bytes of every blob it needs
    added: int = 0  # bytes of blobs no earlier snapshot needs
    added_stored: int = 0
    unique: int = 0  # bytes of blobs no other snapshot needs (what forget + prune frees)
    unique_stored: int = 0
    readable: bool = True


@dataclass
class VaultStats:
    snapshots: list[SnapshotUsage] = field(default_factory=list)
    logical: int = 0  # sum of the snapshots' source sizes: storing every file as it is
    content: int = 0  # bytes the snapshots need, counted once per snapshot
    unique_content: int = 0  # bytes the snapshots need, counted once
    unique_stored: int = 0  # stored bytes of those (estimate)
    unused_content: int = 0  # bytes in packs that no snapshot needs (prune removes them)
    unused_stored: int = 0
    stored: int = 0  # every file of the vault
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # folder -> (count, bytes)

    @property
    def dedup_ratio(self) -> float:
        return self.content / self.unique_content if self.unique_content else 1.0

    @property
    def compression_ratio(self) -> float:
        return self.unique_content / self.unique_stored if self.unique_stored else 1.0

    @property
    def space_ratio(self) -> float:
        """The stored vault's size as a share of the files it holds (0.2: a fifth)."""
        return self.stored / self.logical if self.logical else 0.0


def _stored_share(index: Index, blob_id: bytes) -> tuple[int, int]:
    location = index.get(blob_id)
    if location is None:
        return 0, 0
    entry = location.frame.entry
    stored = location.length * entry.length // entry.raw_size if entry.raw_size else 0
    return location.length, stored


def vault_stats(repo: Repository, snapshots: list[Snapshot]) -> VaultStats:
    """Compute the statistics; the caller holds a (shared) lock."""
    index = repo.index
    stats = VaultStats()
    first: dict[bytes, int] = {}  # blob -> the first snapshot needing it
    users: dict[bytes, int] = {}  # blob -> how many snapshots need it
    for number, snapshot in enumerate(snapshots):
        usage = SnapshotUsage(snapshot)
        stats.snapshots.append(usage)
        stats.logical += snapshot.size
        try:
            needed = {blob_id for blob_id, _ in snapshot_blobs(repo, snapshot)}
        except (IntegrityError, StorageError):
            usage.readable = False
            continue
        for blob_id in needed:
            first.setdefault(blob_id, number)
            users[blob_id] = users.get(blob_id, 0) + 1
            usage.content += _stored_share(index, blob_id)[0]
    for blob_id, number in first.items():
        content, stored = _stored_share(index, blob_id)
        usage = stats.snapshots[number]
        usage.added += content
        usage.added_stored += stored
        if users[blob_id] == 1:
            usage.unique += content
            usage.unique_stored += stored
    stats.content = sum(u.content for u in stats.snapshots)
    # Blobs only a dictionary draws on are unused: prune re-encodes the frames they serve.
    needed_all = set(first)
    for blob_id in index:
        content, stored = _stored_share(index, blob_id)
        if blob_id in needed_all:
            stats.unique_content += content
            stats.unique_stored += stored
        else:
            stats.unused_content += content
            stats.unused_stored += stored
    for folder in VAULT_FOLDERS:
        names = list_objects(repo.backend, folder)
        sizes = [repo.backend.size(name) for name in names]
        stats.files[folder.rstrip("/")] = (len(names), sum(sizes))
    stats.files["config"] = (1, repo.backend.size("config"))
    stats.stored = sum(size for _, size in stats.files.values())
    return stats
