"""The snapshots a browse session shows, read from the vault and parsed in memory, on demand.

Nothing decrypted is written anywhere: members are read into memory, parsed, and kept as
catalogs of the few snapshots last shown. A snapshot is read in two steps, so pages can be
shown early: every table but the messages (a second or so for 30,000 connections), then the
messages (most of a large export), read from the vault and then parsed without holding it,
and added to the catalog in steps of their own (threads, then their search, then the search
of their text). The small tables (connections, invitations, ...) of every snapshot are read
once on another background thread, for person pages and "what changed".
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from lkvault.vault import (
    EXPORT_TABLES,
    Export,
    Snapshot,
    SnapshotNotFound,
    Vault,
    read_messages,
    snapshot_day,
)

from .. import collector
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
MESSAGE_TABLES = frozenset({"messages"})
# Read first: everything a page shows but the messages (comments are not shown).
FIRST_TABLES = frozenset(EXPORT_TABLES.values()) - MESSAGE_TABLES - {"comments"}


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
        self._message_failures: dict[bytes, str] = {}
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
        """The snapshot parsed and indexed, but for its messages (which ``load_in_background``
        adds later); read from the vault the first time it is asked."""
        with self._catalog_locks[snapshot.id]:
            found = self._catalogs.get(snapshot.id)
            if found is not None:
                self._catalogs.move_to_end(snapshot.id)
                return found
            with self._vault_lock:
                export = self.vault.export_tables(snapshot, FIRST_TABLES)
            built = Catalog(export, with_messages=False)
            self._catalogs[snapshot.id] = built
            while len(self._catalogs) > KEEP_CATALOGS:
                evicted, _ = self._catalogs.popitem(last=False)
                self._started.discard(evicted)
            return built

    def loaded(self, snapshot: Snapshot) -> Catalog | None:
        """The snapshot's catalog if it has been read (its messages maybe not yet), else None."""
        return self._catalogs.get(snapshot.id)

    def ready(self, snapshot: Snapshot) -> bool:
        return snapshot.id in self._catalogs

    def messages_ready(self, snapshot: Snapshot, search: bool = True) -> bool:
        """Whether the snapshot's messages are read and in their threads, and (``search``)
        their text indexed too, which takes longer."""
        found = self._catalogs.get(snapshot.id)
        if found is None:
            return False
        return found.messages_ready if search else found.conversations_ready

    def failure(self, snapshot: Snapshot) -> str | None:
        """Why a snapshot could not be read in the background, if it could not."""
        return self._failures.get(snapshot.id)

    def messages_failure(self, snapshot: Snapshot) -> str | None:
        """Why a snapshot's messages could not be read, if they could not."""
        return self._message_failures.get(snapshot.id)

    def load_in_background(self, snapshot: Snapshot, then_history: bool = False) -> None:
        """Start reading a snapshot (once), so pages can say "reading…" meanwhile: its tables,
        then its messages; the first snapshot shown also starts reading the small tables of
        all others for history, as soon as its own are read."""
        with self._start_lock:
            if snapshot.id in self._started and snapshot.id not in self._failures:
                return
            self._started.add(snapshot.id)
            self._failures.pop(snapshot.id, None)

        def load() -> None:
            try:
                built = self.catalog(snapshot)
            except Exception as exc:  # noqa: BLE001 - shown on the page, one line
                self._failures[snapshot.id] = _one_line(exc)
                if then_history:
                    self._people_ready.set()
                return
            if then_history:
                threading.Thread(
                    target=self._load_history,
                    args=(snapshot, built.export),
                    name="lkvault-history",
                    daemon=True,
                ).start()
            if not built.messages_ready:
                try:
                    self._add_messages(snapshot, built)
                except Exception as exc:  # noqa: BLE001 - shown on the page, one line
                    self._message_failures[snapshot.id] = _one_line(exc)

        threading.Thread(target=load, name="lkvault-read", daemon=True).start()

    def _add_messages(self, snapshot: Snapshot, catalog: Catalog) -> None:
        # Only reading holds the vault; parsing (seconds for a large export) does not, so
        # history and downloads are not kept waiting.
        with self._vault_lock:
            members = self.vault.export_members(snapshot, MESSAGE_TABLES)
        # The rows are kept as read; a Message is made only for what a page shows. Nearly
        # every object made meanwhile is kept: the collector would only walk them again.
        with collector.paused():
            table, warnings = read_messages(members)
            del members  # the raw bytes of messages.csv are not needed any more
            catalog.add_messages(table, warnings)

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
                if _other_member(shown_export, export):
                    continue  # stored before lkvault recorded whose export it is
                versions.append(Version(snapshot.short_id, snapshot_day(snapshot), export))
            self._people = People(versions)
        finally:
            self._people_ready.set()

    def people(self, wait: float) -> People | None:
        """Everyone of every snapshot, or None if still being read after ``wait`` seconds."""
        self._people_ready.wait(wait)
        return self._people


def _other_member(shown: Export, export: Export) -> bool:
    """Whether ``export`` is known to be another member's than the one shown."""
    return (
        shown.owner is not None
        and export.owner is not None
        and (shown.owner.key != export.owner.key)
    )


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
