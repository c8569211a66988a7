"""The public face of the library: open or create a vault and run its operations under locks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from lkvault.vault.backend import Backend, open_backend
from lkvault.vault.backend.base import CleansTempFiles
from lkvault.vault.environment import Environment
from lkvault.vault.errors import (
    Interrupted,
    ReadOnlyStorage,
    RollbackDetected,
    SnapshotNotFound,
    UsageError,
    VaultError,
)
from lkvault.vault.format.crypto import KdfParams
from lkvault.vault.keys import VaultKeys, read_recovery_key
from lkvault.vault.oldexports import OldExports
from lkvault.vault.progress import Progress
from lkvault.vault.repository.headstate import HeadState, PartState, SeenHead, SlotState
from lkvault.vault.repository.keyslots import (
    VaultConfig,
    read_config_unverified,
    vault_id_of,
)
from lkvault.vault.repository.locks import STALE_AFTER, lock
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import (
    Snapshot,
    load_snapshots,
)
from lkvault.vault.stopping import (
    COMPACT_NOT_STARTED,
    VERIFY_STOPPED,
    extract_stopped,
    interrupt_says,
    restore_stopped,
    stored_message,
)

if TYPE_CHECKING:
    from lkvault.vault.export.load import MemberReaders
    from lkvault.vault.export.model import Export
    from lkvault.vault.format.tree import MemberEntry
    from lkvault.vault.operations import (
        checker,
        compactor,
        copier,
        extractor,
        pruner,
        repairer,
    )
    from lkvault.vault.operations.archiver import Prepared
    from lkvault.vault.operations.forgetting import ForgetPlan
    from lkvault.vault.operations.retention import Policy
    from lkvault.vault.operations.stats import VaultStats


class Opening:
    """A vault being opened on another thread (``Vault.opening``)."""

    def __init__(
        self, open_vault: Callable[[], Vault], start: Callable[[Callable[[], None]], None]
    ) -> None:
        self._open = open_vault
        self._vault: Future[Vault] = Future()
        start(self._run)

    def _run(self) -> None:
        try:
            self._vault.set_result(self._open())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller of result()
            self._vault.set_exception(exc)

    def done(self) -> bool:
        """Whether the vault is open, or failed to open, by now."""
        return self._vault.done()

    def result(self) -> Vault:
        """The open vault (waiting for it), or what opening it raised."""
        return self._vault.result()


class Vault:
    """An open vault: each operation run under the vault's lock, by its module in
    vault.operations (key slots: ``keys``; old exports' summaries and members: OldExports)."""

    def __init__(self, repo: Repository, env: Environment) -> None:
        self.repo = repo
        self.env = env
        self.heads = HeadState(env.state_dir, repo.keys.vault_id)
        self.warnings: list[str] = []
        self._old_exports = OldExports(
            repo, env.state_dir, env.rng, env.parsing, lambda: self._locked(exclusive=False)
        )

    def _history(self) -> list[Snapshot]:
        """Every readable snapshot; unreadable records become warnings, not failures."""

        def damaged(name: str, exc: Exception) -> None:
            message = f"{name} is unreadable ({exc}); run 'lkvault verify'"
            if message not in self.warnings:
                self.warnings.append(message)

        return load_snapshots(self.repo, damaged)

    def _locked(self, *, exclusive: bool) -> AbstractContextManager[object]:
        """The vault's lock for one operation: exclusive for a writer, shared for readers.

        Readers go without one where the vault cannot be written at all (a read-only disk or
        mount), which is said in one warning: nobody can change such a vault from here, but
        a writer elsewhere could, and would not see this reader.
        """
        try:
            return lock(
                self.repo, self.env.holder(), exclusive=exclusive, wait_seconds=self.env.lock_wait
            )
        except ReadOnlyStorage:
            if exclusive:
                raise
            message = (
                f"the vault at {self.location} cannot be written (read-only); reading it "
                "without a lock"
            )
            if message not in self.warnings:
                self.warnings.append(message)
            return nullcontext()

    @property
    def vault_id(self) -> bytes:
        """The vault's identity, chosen when it was created (stored in its config)."""
        return self.repo.keys.vault_id

    def _note_deflate_fallback(self) -> None:
        """Warn (once per process) when zip members are re-created with the system zlib."""
        from lkvault.vault.format import deflater

        notice = deflater.fallback_notice()
        if notice is not None:
            self.warnings.append(notice)

    @property
    def keys(self) -> VaultKeys:
        """The vault's key slots: its passphrases and its recovery key."""
        return VaultKeys(self.repo, self.env.rng, lambda: self._locked(exclusive=True))

    @property
    def location(self) -> str:
        return self.repo.backend.location

    @classmethod
    def init(
        cls,
        location: str | Backend,
        passphrase: bytes,
        env: Environment | None = None,
        *,
        kdf: KdfParams | None = None,
        config: VaultConfig | None = None,
    ) -> Vault:
        env = env or Environment()
        backend = open_backend(location) if isinstance(location, str) else location
        repo = Repository.create(backend, passphrase, env.rng, env.clock, kdf=kdf, config=config)
        return cls(repo, env)

    @classmethod
    def open(
        cls, location: str | Backend, passphrase: bytes, env: Environment | None = None
    ) -> Vault:
        env = env or Environment()
        backend = open_backend(location) if isinstance(location, str) else location
        slots = _slot_state(backend, env)
        repo = Repository.open(
            backend,
            passphrase,
            env.rng,
            env.clock,
            preferred_slot=None if slots is None else slots.load(),
        )
        if slots is not None and repo.slot_id is not None:
            slots.save(repo.slot_id)
        return cls(repo, env)

    @classmethod
    def opening(
        cls, location: str | Backend, passphrase: bytes, env: Environment | None = None
    ) -> Opening:
        """Open the vault on a thread (``env.start_thread``), as ``open`` does.

        The key derivation (Argon2id: 64 MiB, a fifth of a second, GIL released) runs while
        the caller does work that needs no keys (``prepare_snapshot``); ``result()`` then
        gives the vault, or raises what ``open`` would have raised.
        """
        env = env or Environment()
        return Opening(lambda: cls.open(location, passphrase, env), env.start_thread)

    @classmethod
    def recover(
        cls, location: str | Backend, key_text: str, env: Environment | None = None
    ) -> Vault:
        """Open a vault with a recovery key instead of a passphrase. A mistyped character
        is reported with its place (checked against the vault's config)."""
        env = env or Environment()
        backend = open_backend(location) if isinstance(location, str) else location
        key = read_recovery_key(backend, key_text)
        repo = Repository.open_with_master(backend, key.vault_id, key.master, env.rng, env.clock)
        return cls(repo, env)

    # --- snapshots ------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        """Every snapshot, oldest first; remembers the newest as seen."""
        with self._locked(exclusive=False):
            found = self._history()
        self._remember(found)
        return found

    def rollback_warning(self, found: list[Snapshot]) -> str | None:
        """A message when the vault shows less than this computer saw before, else None."""
        from lkvault.vault.operations import rollback

        return rollback.rollback_warning(self.repo, self.heads.load(), found)

    def _refuse_rollback(self, history: list[Snapshot], doing: str) -> None:
        from lkvault.vault.operations import rollback

        rollback.refuse_rollback(self.repo, self.heads.load(), history, doing)

    def _remove_stale_temp_files(self) -> None:
        """Remove temporary files a crashed writer left; the caller holds the exclusive lock."""
        if isinstance(self.repo.backend, CleansTempFiles):
            self.repo.backend.remove_stale_temp_files()
            # Readers write lock files while we hold ours: only temp files older than any
            # lock can be are certainly abandoned.
            cutoff = self.repo.clock() - STALE_AFTER
            self.repo.backend.remove_stale_temp_files(
                ("locks",), modified_before=cutoff.timestamp()
            )

    def _remember(self, found: list[Snapshot]) -> None:
        if found and self.rollback_warning(found) is None:
            self.heads.save(SeenHead(found[-1].seq, found[-1].id))

    def find(self, ref: str, found: list[Snapshot] | None = None) -> Snapshot:
        """A snapshot by id, unique id prefix, or 'latest'."""
        from lkvault.vault.operations import history

        found = self.snapshots() if found is None else found
        if not found:
            raise SnapshotNotFound("the vault has no snapshots yet")
        if ref == "latest":  # the newest export, also among those of lkvault 0.1
            chosen = history.latest_snapshot(self.summarised(found))
            assert chosen is not None  # found is not empty
            return chosen
        return history.by_id_prefix(found, ref)

    def snapshot(
        self,
        path: Path,
        *,
        source_name: str | None = None,
        progress: Progress | None = None,
        opaque: bool = False,
    ) -> Snapshot:
        """Store a file (a zip by its members, unless ``opaque``); returns its snapshot record."""
        created, _ = self._snapshot(path, source_name, progress, opaque, reuse_identical=False)
        return created

    def _snapshot(
        self,
        path: Path,
        source_name: str | None,
        progress: Progress | None,
        opaque: bool,
        *,
        reuse_identical: bool,
        prepared: Prepared | None = None,
    ) -> tuple[Snapshot, bool]:
        from lkvault.vault.operations import archiver

        if not path.is_file():
            raise UsageError(f"{path} is not a readable file")
        if not opaque:
            self._note_deflate_fallback()
        created: Snapshot | None = None
        try:
            with self._locked(exclusive=True):
                self._remove_stale_temp_files()
                history = self._history()
                self._refuse_rollback(history, "add a snapshot on top")
                existing = self._identical(path, history, prepared) if reuse_identical else None
                if existing is not None:
                    return existing, False
                created = archiver.snapshot(
                    self.repo,
                    path,
                    history=history,
                    source_name=source_name,
                    progress=progress,
                    workers=self.env.workers,
                    opaque=opaque,
                    prepared=prepared,
                )
            self.heads.save(SeenHead(created.seq, created.id))
        except Interrupted:
            raise
        except KeyboardInterrupt:
            # Interrupted before the archiver began, or after it returned (the lock being
            # released, the head saved): say which.
            message = archiver.NOTHING_STORED if created is None else stored_message(created)
            raise Interrupted(message) from None
        return created, True

    def restore(
        self,
        ref: str,
        target: Path,
        *,
        force: bool = False,
        progress: Progress | None = None,
        on_chosen: Callable[[Snapshot], None] | None = None,
    ) -> Snapshot:
        """Write a snapshot's source file back, byte for byte; ``on_chosen`` is told which
        snapshot before anything is written."""
        from lkvault.vault.operations import restorer

        self._note_deflate_fallback()
        stopped = restore_stopped(target, os.path.lexists(target))
        with interrupt_says(stopped), self._locked(exclusive=False):
            chosen = self.find(ref, self._history())
            if on_chosen is not None:
                on_chosen(chosen)
            restorer.restore_file(
                self.repo, chosen, target, force=force, progress=progress, workers=self.env.workers
            )
        return chosen

    def extract(
        self,
        ref: str,
        folder: Path,
        *,
        force: bool = False,
        progress: Progress | None = None,
        on_chosen: Callable[[Snapshot], None] | None = None,
    ) -> tuple[Snapshot, extractor.ExtractResult]:
        """Write a snapshot's members into ``folder``; ``on_chosen`` is told which snapshot
        before anything is written."""
        from lkvault.vault.operations import extractor

        with interrupt_says(extract_stopped(folder)), self._locked(exclusive=False):
            chosen = self.find(ref, self._history())
            if on_chosen is not None:
                on_chosen(chosen)
            result = extractor.extract(self.repo, chosen, folder, force=force, progress=progress)
        return chosen, result

    def members(self, ref: str) -> tuple[Snapshot, list[MemberEntry]]:
        """A snapshot and the members of its zip, in the zip's order (none for a single file)."""
        from lkvault.vault.operations import restorer

        with self._locked(exclusive=False):
            chosen = self.find(ref, self._history())
            tree = restorer.load_tree(self.repo, chosen.tree)
        return chosen, list(tree.members)

    def cat(self, ref: str, member: str) -> Iterator[bytes]:
        """One member's content, block by block (the whole file for a non-zip snapshot)."""
        from lkvault.vault.operations import extractor

        with self._locked(exclusive=False):
            chosen = self.find(ref, self._history())
            yield from extractor.snapshot_member(self.repo, chosen, member)

    def verify(
        self, *, read_data: bool = False, progress: Progress | None = None
    ) -> checker.VerifyReport:
        from lkvault.vault.operations import checker

        with interrupt_says(VERIFY_STOPPED), self._locked(exclusive=False):
            report = checker.verify(
                self.repo, read_data=read_data, seen=self.heads.load(), progress=progress
            )
        return report

    def accept_current_head(self) -> tuple[SeenHead | None, Snapshot | None]:
        """Forget what this computer saw and trust the vault's current newest snapshot;
        returns (what this computer had seen, the newest snapshot it trusts from now on)."""
        with self._locked(exclusive=False):
            found = self._history()
        seen = self.heads.load()
        self.heads.force(SeenHead(found[-1].seq, found[-1].id) if found else None)
        return seen, found[-1] if found else None

    # --- browse (issue 8) ---

    def export_tables(self, snapshot: Snapshot, tables: Collection[str]) -> Export:
        """Only the named tables of a stored export (see vault.export.layout.TABLES), e.g.
        its connections without its messages: what ``export`` gives, read in part."""
        from lkvault.vault.operations import export_sources

        with self._locked(exclusive=False):
            return export_sources.tables_of_snapshot(self.repo, snapshot, tables, self.env.parsing)

    def export_members(self, snapshot: Snapshot, tables: Collection[str]) -> MemberReaders:
        """The members holding the named tables of a stored export, read now, as readers for
        ``load_export``: the caller can parse them without holding the vault. A member that
        could not be read raises when its reader is called, as ``export_tables`` would."""
        from lkvault.vault.operations import export_sources

        with self._locked(exclusive=False):
            return export_sources.table_members_read_now(self.repo, snapshot, tables)

    def archive(self, snapshot: Snapshot) -> Iterator[bytes]:
        """The snapshot's source file, block by block, checked against its size and SHA-256
        at the end (an error then means the blocks given so far must be thrown away)."""
        from lkvault.vault.operations import restorer

        with self._locked(exclusive=False):
            yield from restorer.checked_archive(self.repo, snapshot)

    # --- export contents (issue 4) ---

    def identical(self, path: Path, found: list[Snapshot] | None = None) -> Snapshot | None:
        """The oldest snapshot that holds exactly this file (same size and SHA-256), if any."""
        size, digest = file_digest(path)
        found = self.snapshots() if found is None else found
        return next((s for s in found if s.size == size and s.sha256 == digest), None)

    def _identical(
        self, path: Path, found: list[Snapshot], prepared: Prepared | None
    ) -> Snapshot | None:
        """``identical``, from the prepared digest while the file is as it was then."""
        from lkvault.vault.operations.archiver import FileState

        if prepared is None or not prepared.sha256:
            return self.identical(path, found)
        if not prepared.holds_for(path, FileState.of(os.stat(path))):
            return self.identical(path, found)
        size, digest = prepared.state.size, prepared.sha256
        return next((s for s in found if s.size == size and s.sha256 == digest), None)

    @staticmethod
    def prepare_snapshot(
        path: Path,
        *,
        source_name: str | None = None,
        opaque: bool = False,
        any_file: bool = False,
        keep_probing: Callable[[], bool] = lambda: True,
    ) -> Prepared:
        """The part of ``snapshot_once`` that needs no vault: refusing a file that is not an
        export (BadInput, unless ``any_file`` or ``opaque``), hashing it, and probing its
        members' zlib parameters while ``keep_probing()``. Run it while ``Vault.opening``
        derives the keys, and give its result to ``snapshot_once``."""
        from lkvault.vault.operations import archiver

        if not path.is_file():
            raise UsageError(f"{path} is not a readable file")
        return archiver.prepare(
            path,
            source_name=source_name,
            opaque=opaque,
            any_file=any_file,
            keep_probing=keep_probing,
        )

    def snapshot_once(
        self,
        path: Path,
        *,
        source_name: str | None = None,
        progress: Progress | None = None,
        opaque: bool = False,
        any_file: bool = False,
        prepared: Prepared | None = None,
    ) -> tuple[Snapshot, bool]:
        """Store a file unless an identical one is already in the vault.

        Returns the snapshot holding the file and whether it was created now. The check and
        the snapshot happen under one exclusive lock, so two processes storing the same file
        at once create one snapshot. A file that is not a LinkedIn export is refused (BadInput)
        unless ``any_file`` or ``opaque`` says the caller means to store it. ``prepared`` is
        ``prepare_snapshot``'s result for this file with the same options, if it was run.
        """
        if prepared is None:
            prepared = self.prepare_snapshot(
                path, source_name=source_name, opaque=opaque, any_file=any_file
            )
        return self._snapshot(
            path, source_name, progress, opaque, reuse_identical=True, prepared=prepared
        )

    def find_at(self, day: date, found: list[Snapshot] | None = None) -> Snapshot:
        """The newest snapshot standing for ``day`` or earlier (see vault.operations.history)."""
        from lkvault.vault.operations import history

        found = self.snapshots() if found is None else found
        if not found:
            raise SnapshotNotFound("the vault has no snapshots yet")
        chosen = history.pick_at(self.summarised(found), day)
        if chosen is None:
            oldest = min(history.snapshot_day(s) for s in found)
            raise SnapshotNotFound(
                f"no snapshot on or before {day.isoformat()} "
                f"(the oldest is of {oldest.isoformat()})"
            )
        return chosen

    def attributed(self, snapshots: list[Snapshot]) -> list[Snapshot]:
        """``snapshots`` with what their records do not say of old exports: the summary of
        each zip stored before lkvault recorded summaries (lkvault 0.1), counted from the
        stored export, and the member of each export stored before lkvault recorded it
        (lkvault 0.3 and before) read from its stored Profile.csv, else its messages, as
        for a new snapshot; once per snapshot on this computer (see vault.oldexports)."""
        return self._old_exports.attributed(snapshots)

    def summarised(self, snapshots: list[Snapshot]) -> list[Snapshot]:
        """``snapshots`` with the summary of each zip stored before lkvault recorded
        summaries counted from the stored export (once per snapshot on this computer); one
        whose export cannot be read keeps none."""
        return self._old_exports.summarised(snapshots)

    def export(self, snapshot: Snapshot) -> Export:
        """Everything lkvault understands of a stored export (empty for a non-zip snapshot)."""
        from lkvault.vault.operations import export_sources

        with (
            self._locked(exclusive=False),
            self.env.parsing(),
        ):
            return export_sources.export_of_snapshot(self.repo, snapshot)

    # --- retention (issue 5) ---

    def forget(
        self,
        policy: Policy | None,
        refs: list[str],
        *,
        zone: tzinfo,
        dry_run: bool = False,
    ) -> ForgetPlan:
        """Remove the snapshots named by ``refs``, or those ``policy`` does not keep (their
        data stays until ``prune``); with ``dry_run`` only say which."""
        from lkvault.vault.operations import forgetting

        with self._locked(exclusive=True):
            history = self._history()
            self._refuse_rollback(history, "forget snapshots")
            # 'latest' and retention see old exports; retention keeps each member's exports
            history = self._old_exports.summarise_locked(history)
            if policy is not None:
                history = self._old_exports.attribute_locked(history)
            chosen = [self.find(ref, history) for ref in refs]
            plan = forgetting.plan_forget(history, policy, chosen, self.repo.clock(), zone)
            if not dry_run:
                forgetting.forget_snapshots(self.repo, plan)
                self._old_exports.forget(s.id for s in plan.remove)
        return plan

    def prune(
        self,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        compact: bool = True,
        max_seconds: float | None = None,
        memory: int | None = None,
    ) -> pruner.PruneResult:
        """Remove data no snapshot needs; with ``dry_run`` only plan it. Then, unless
        ``compact`` is False, do compact's work under the same lock and budgets (see
        ``compact``), so a vault only ever pruned from cron is squeezed too."""
        from lkvault.vault.errors import Interrupted
        from lkvault.vault.operations import pruner

        with self._locked(exclusive=True):
            if not dry_run:
                self._remove_stale_temp_files()
            self._refuse_rollback(self._history(), "prune")
            plan = pruner.plan_prune(self.repo)
            if dry_run:
                result = pruner.PruneResult(plan)
            else:
                result = pruner.run_prune(
                    self.repo, plan, workers=self.env.workers, progress=progress
                )
            if not compact:
                return result
            try:
                result.compacted = self._compact_locked(max_seconds, memory, dry_run, progress)
            except Interrupted as stop:
                raise Interrupted(f"pruned; then {stop.message}") from None
            return result

    def compact(
        self,
        *,
        max_seconds: float | None = None,
        memory: int | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> compactor.CompactResult:
        """Squeeze the frames snapshots stored at the fast level, and merge frames stored
        alone (see vault.operations.compactor); no new pack is started after
        ``max_seconds``, and the compressions take at most ``memory`` bytes together. With
        ``dry_run`` only plan it."""
        holder = self.env.holder()
        with (
            interrupt_says(COMPACT_NOT_STARTED),
            lock(self.repo, holder, exclusive=True, wait_seconds=self.env.lock_wait),
        ):
            if not dry_run:
                self._remove_stale_temp_files()
            self._refuse_rollback(self._history(), "compact")
            return self._compact_locked(max_seconds, memory, dry_run, progress)

    def _compact_locked(
        self,
        max_seconds: float | None,
        memory: int | None,
        dry_run: bool,
        progress: Progress | None,
    ) -> compactor.CompactResult:
        from lkvault.vault.operations import compactor, compactplan

        plan = compactplan.plan_compact(self.repo, memory or compactplan.DEFAULT_MEMORY)
        if dry_run:
            return compactor.CompactResult(plan, finished=plan.nothing_to_do)
        deadline = None if max_seconds is None else self.env.monotonic() + max_seconds
        return compactor.run_compact(
            self.repo,
            plan,
            out_of_time=lambda: deadline is not None and self.env.monotonic() >= deadline,
            workers=self.env.workers,
            progress=progress,
        )

    def stats(self) -> VaultStats:
        """Sizes, ratios, and what each snapshot added."""
        from lkvault.vault.operations.stats import vault_stats

        with self._locked(exclusive=False):
            return vault_stats(self.repo, self._history())

    def repair(
        self, *, dry_run: bool = False, progress: Progress | None = None
    ) -> repairer.RepairReport:
        """Remove what is broken, keep every snapshot that is still whole; with ``dry_run``
        only report what would be done."""
        from lkvault.vault.operations import repairer

        with self._locked(exclusive=True):
            if not dry_run:
                self._remove_stale_temp_files()
            return repairer.repair(
                self.repo, dry_run=dry_run, workers=self.env.workers, progress=progress
            )

    def verify_part(
        self, part: int | None, parts: int, *, progress: Progress | None = None
    ) -> checker.VerifyReport:
        """Check the structure and read part ``part`` of ``parts`` of the data; with ``part``
        None, the part after the one this computer read last time (so runs cover it all)."""
        from lkvault.vault.operations import checker

        state = PartState(self.env.state_dir, self.repo.keys.vault_id)
        chosen = part if part is not None else state.next_part(parts)
        with interrupt_says(VERIFY_STOPPED), self._locked(exclusive=False):
            report = checker.verify(
                self.repo,
                read_data=True,
                seen=self.heads.load(),
                progress=progress,
                subset=(chosen, parts),
            )
        if part is None:
            state.done(chosen, parts)
        return report

    # --- copy (issue 6) ---

    def copy_to(
        self,
        target: Vault,
        refs: list[str] | None = None,
        *,
        progress: Progress | None = None,
        on_start: Callable[[int, int, Snapshot], None] | None = None,
        scratch_dir: Path | None = None,
    ) -> Iterator[copier.CopyOutcome]:
        """Copy snapshots (the ones named, else all) into ``target``, oldest first, skipping
        the ones it already has; yields what became of each (see vault.copier)."""
        from lkvault.vault.operations import copier

        if target.repo.keys.vault_id == self.repo.keys.vault_id:
            raise UsageError("the target is this same vault; give another vault with --to")
        with self._locked(exclusive=False):
            history = self._history()
            chosen = copier.choose(history, [self.find(ref, history) for ref in refs or []])
            with target._locked(exclusive=True):
                target._remove_stale_temp_files()
                target_history = target._history()
                warning = target.rollback_warning(target_history)
                if warning is not None:
                    raise RollbackDetected(
                        f"the target vault: {warning}; refusing to copy into it "
                        "(run 'lkvault verify' on it)"
                    )
                for outcome in copier.copy_snapshots(
                    self.repo,
                    chosen,
                    target.repo,
                    target_history,
                    progress=progress,
                    on_start=on_start,
                    scratch_dir=scratch_dir,
                    workers=self.env.workers,
                ):
                    if outcome.copied:
                        target.heads.save(SeenHead(outcome.target.seq, outcome.target.id))
                    yield outcome
        self._remember(history)


def _slot_state(backend: Backend, env: Environment) -> SlotState | None:
    """Where this computer remembers the vault's last opened key slot, if it can know."""
    if env.state_dir is None:
        return None
    try:
        return SlotState(env.state_dir, vault_id_of(read_config_unverified(backend)))
    except (VaultError, FileNotFoundError):
        return None  # Repository.open reports what is wrong with the config


def file_digest(path: Path) -> tuple[int, bytes]:
    """Size and SHA-256 of a file."""
    from lkvault.vault.ingest.streams import READ_BLOCK

    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while block := source.read(READ_BLOCK):
            digest.update(block)
            size += len(block)
    return size, digest.digest()
