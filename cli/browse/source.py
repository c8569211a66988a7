"""The snapshots a browse session shows, read from the vault and parsed in memory, on demand.

Nothing decrypted is written anywhere: members are read into memory, parsed, and kept as
catalogs of the few snapshots last shown. The small tables (connections, invitations, ...)
of every snapshot are read once on a background thread, for person pages and "what changed".
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from vault import Snapshot, SnapshotNotFound, Vault
from vault.export import Export
from vault.export.history import snapshot_day

from .catalog import Catalog
from .people import People, Version

KEEP_CATALOGS = 2  # full snapshots kept in memory at once (a large one takes ~1 GB)
# Tables read from every snapshot for history: all but the big ones (messages, comments).
HISTORY_TABLES = frozenset(
    {
        "connections",
        "invitations",
        "profile",
        "positions",
        "recommendations_received",
        "recommendations_given",
        "endorsements_received",
    }
)


class SnapshotSource:
    """The vault's snapshots for one browse session (thread-safe)."""

    def __init__(self, vault: Vault, snapshots: list[Snapshot]) -> None:
        self.vault = vault
        self.snapshots = snapshots  # oldest first
        self._vault_lock = threading.Lock()  # one reader of the vault at a time
        self._catalogs: OrderedDict[bytes, Catalog] = OrderedDict()
        self._catalog_locks = {s.id: threading.Lock() for s in snapshots}
        self._people: People | None = None
        self._people_ready = threading.Event()
        self._started: set[bytes] = set()
        self._failures: dict[bytes, str] = {}
        self._start_lock = threading.Lock()
        self.history_warnings: list[str] = []

    # --- finding ----------------------------------------------------------------------------

    def by_short_id(self, short_id: str) -> Snapshot:
        for snapshot in self.snapshots:
            if snapshot.short_id == short_id:
                return snapshot
        raise SnapshotNotFound(f"no snapshot {short_id!r} in this vault")

    def previous(self, snapshot: Snapshot) -> Snapshot | None:
        number = self.snapshots.index(snapshot)
        return self.snapshots[number - 1] if number > 0 else None

    # --- reading ----------------------------------------------------------------------------

    def catalog(self, snapshot: Snapshot) -> Catalog:
        """The snapshot parsed and indexed (read from the vault the first time it is asked)."""
        with self._catalog_locks[snapshot.id]:
            found = self._catalogs.get(snapshot.id)
            if found is not None:
                self._catalogs.move_to_end(snapshot.id)
                return found
            with self._vault_lock:
                export = self.vault.export(snapshot)
            built = Catalog(export)
            self._catalogs[snapshot.id] = built
            while len(self._catalogs) > KEEP_CATALOGS:
                evicted, _ = self._catalogs.popitem(last=False)
                self._started.discard(evicted)
            return built

    def ready(self, snapshot: Snapshot) -> bool:
        return snapshot.id in self._catalogs

    def failure(self, snapshot: Snapshot) -> str | None:
        """Why a snapshot could not be read in the background, if it could not."""
        return self._failures.get(snapshot.id)

    def load_in_background(self, snapshot: Snapshot, then_history: bool = False) -> None:
        """Start reading a snapshot (once), so pages can say "reading…" meanwhile; the first
        snapshot shown then reads the small tables of all others for history."""
        with self._start_lock:
            if snapshot.id in self._started and snapshot.id not in self._failures:
                return
            self._started.add(snapshot.id)
            self._failures.pop(snapshot.id, None)

        def load() -> None:
            try:
                built = self.catalog(snapshot)
            except Exception as exc:  # noqa: BLE001 - shown on the page, one line
                self._failures[snapshot.id] = " ".join(str(exc).split()) or type(exc).__name__
                if then_history:
                    self._people_ready.set()
                return
            if then_history:
                self._load_history(snapshot, built.export)

        threading.Thread(target=load, name="lkvault-read", daemon=True).start()

    def archive(self, snapshot: Snapshot) -> bytes:
        """The stored archive, whole, checked against its SHA-256."""
        with self._vault_lock:
            return b"".join(self.vault.archive(snapshot))

    # --- history across snapshots -----------------------------------------------------------

    def _load_history(self, shown: Snapshot, shown_export: Export) -> None:
        versions = []
        try:
            for snapshot in self.snapshots:
                if snapshot.id == shown.id:
                    export = shown_export
                else:
                    try:
                        with self._vault_lock:
                            export = self.vault.export_tables(snapshot, HISTORY_TABLES)
                    except Exception as exc:  # noqa: BLE001 - one bad snapshot must not hide the rest
                        self.history_warnings.append(
                            f"snapshot {snapshot.short_id} could not be read ({exc})"
                        )
                        continue
                versions.append(Version(snapshot.short_id, snapshot_day(snapshot), export))
            self._people = People(versions)
        finally:
            self._people_ready.set()

    def people(self, wait: float) -> People | None:
        """Everyone of every snapshot, or None if still being read after ``wait`` seconds."""
        self._people_ready.wait(wait)
        return self._people
