"""What old snapshots' records do not say, read from their stored exports once per computer.

Snapshots stored before lkvault recorded summaries (lkvault 0.1) get one counted from the
stored export, and those stored before it recorded the member (lkvault 0.3 and before) get
one read from the stored Profile.csv, else the messages (see operations.attribution). What
was read is remembered on this computer (repository.ownercache), for the snapshots still
there. Reached by the ``Vault``, which gives it the vault's shared lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from lkvault.vault.errors import VaultError
from lkvault.vault.format.crypto import Rng
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot

if TYPE_CHECKING:
    from lkvault.vault.export.model import Owner
    from lkvault.vault.repository.ownercache import Remembered


class OldExports:
    """The summaries and members of one vault's old snapshots, as this computer knows them."""

    def __init__(
        self,
        repo: Repository,
        state_dir: Path | None,
        rng: Rng,
        parsing: Callable[[], AbstractContextManager[None]],
        shared_lock: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self._repo = repo
        self._state_dir = state_dir
        self._rng = rng
        self._parsing = parsing
        self._shared_lock = shared_lock
        # What was read of old snapshots' exports (whose, what counts), by id; None until
        # this computer's memory of it is loaded.
        self._memory: Remembered | None = None
        self._unreadable: set[bytes] = set()  # old exports that could not be counted

    def attributed(self, snapshots: list[Snapshot]) -> list[Snapshot]:
        """``snapshots`` with their summaries (see ``summarised``) and the member of each
        export stored before lkvault recorded it; the vault is locked only when an export
        is to be read."""
        from lkvault.vault.operations.members import unattributed

        snapshots = self.summarised(snapshots)
        owners = self._remembered().owners
        if not any(unattributed(s) and s.id not in owners for s in snapshots):
            return self.attribute_locked(snapshots)  # nothing to read
        with self._shared_lock():
            return self.attribute_locked(snapshots)

    def summarised(self, snapshots: list[Snapshot]) -> list[Snapshot]:
        """``snapshots`` with the summary of each zip stored before lkvault recorded
        summaries counted from the stored export (once per snapshot on this computer); one
        whose export cannot be read keeps none."""
        if any(self._unread(s) for s in snapshots):
            with self._shared_lock():
                return self.summarise_locked(snapshots)
        return self.summarise_locked(snapshots)

    def summarise_locked(self, snapshots: list[Snapshot]) -> list[Snapshot]:
        """``summarised`` under a lock the caller holds (when an export is to be read)."""
        from lkvault.vault.operations.members import unsummarised, with_summary

        remembered = self._remembered()
        summaries = remembered.summaries
        unread = [s for s in snapshots if self._unread(s)]
        if unread:
            # Only an old export to read loads the export readers: `list` stays quick.
            from lkvault.vault.operations.attribution import summary_of_stored

            with self._parsing():
                for snapshot in unread:
                    try:
                        summaries[snapshot.id] = summary_of_stored(self._repo, snapshot)
                    except (VaultError, OSError):  # a damaged export: no summary, as before
                        self._unreadable.add(snapshot.id)
            kept = {s.id: summaries[s.id] for s in snapshots if s.id in summaries}
            self._save_remembered(dataclasses.replace(remembered, summaries=kept))
        return [
            with_summary(s, summaries[s.id]) if unsummarised(s) and s.id in summaries else s
            for s in snapshots
        ]

    def attribute_locked(self, snapshots: list[Snapshot]) -> list[Snapshot]:
        """``attributed`` under a lock the caller holds (when an export is to be read); what
        was read is remembered on this computer for the snapshots still there."""
        from lkvault.vault.operations.members import (
            attributed,
            remembered_owners,
            unattributed,
        )

        def read(snapshot: Snapshot) -> Owner | None:
            from lkvault.vault.operations.attribution import owner_of_stored

            with self._parsing():
                return owner_of_stored(self._repo, snapshot)

        remembered = self._remembered()
        owners = remembered_owners(remembered.owners)
        before = dict(owners)
        result = attributed(snapshots, owners, read)
        kept = {s.id: owners[s.id] for s in snapshots if unattributed(s) and s.id in owners}
        if kept != before:
            self._save_remembered(
                dataclasses.replace(
                    remembered,
                    owners={
                        key: (o.name, o.source) if o is not None else None
                        for key, o in kept.items()
                    },
                )
            )
        return result

    def forget(self, gone: Iterable[bytes]) -> None:
        """Keep nothing on this computer of the snapshots ``gone`` from the vault."""
        gone = set(gone)
        remembered = self._remembered()
        if gone & (remembered.owners.keys() | remembered.summaries.keys()):
            self._save_remembered(
                dataclasses.replace(
                    remembered,
                    owners={k: o for k, o in remembered.owners.items() if k not in gone},
                    summaries={k: o for k, o in remembered.summaries.items() if k not in gone},
                )
            )

    def _unread(self, snapshot: Snapshot) -> bool:
        from lkvault.vault.operations.members import unsummarised

        return (
            unsummarised(snapshot)
            and snapshot.id not in self._remembered().summaries
            and snapshot.id not in self._unreadable
        )

    def _remembered(self) -> Remembered:
        if self._memory is None:
            from lkvault.vault.repository.ownercache import OwnerCache

            cache = OwnerCache(self._state_dir, self._repo.keys, self._rng)
            self._memory = cache.load()
        return self._memory

    def _save_remembered(self, remembered: Remembered) -> None:
        """Remember exactly ``remembered`` on this computer (sealed), and in this process."""
        from lkvault.vault.repository.ownercache import OwnerCache

        self._memory = remembered
        OwnerCache(self._state_dir, self._repo.keys, self._rng).save(remembered)
