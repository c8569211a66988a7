"""The public face of the library: open or create a vault and run its operations under locks."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import archiver, checker, extractor, restorer
from .backend import Backend, open_backend
from .crypto import KdfParams, Rng
from .errors import RollbackDetected, SnapshotNotFound, UsageError
from .progress import Progress
from .repository.headstate import HeadState, SeenHead
from .repository.keyslots import VaultConfig
from .repository.locks import Holder, lock
from .repository.repo import Repository
from .repository.snapshots import Snapshot, load_snapshots


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Environment:
    """Everything the library takes from the world: randomness, clock, identity, state."""

    rng: Rng = os.urandom
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    state_dir: Path | None = None
    host: str = socket.gethostname()
    pid: int = os.getpid()
    pid_alive: Callable[[int], bool] = _pid_alive
    sleep: Callable[[float], None] = time.sleep
    lock_wait: float = 10.0
    workers: int = 2

    def holder(self) -> Holder:
        return Holder(self.host, self.pid, self.pid_alive, self.sleep)


class Vault:
    """An open vault."""

    def __init__(self, repo: Repository, env: Environment) -> None:
        self.repo = repo
        self.env = env
        self.heads = HeadState(env.state_dir, repo.keys.vault_id)
        self.warnings: list[str] = []

    def _history(self) -> list[Snapshot]:
        """Every readable snapshot; unreadable records become warnings, not failures."""

        def damaged(name: str, exc: Exception) -> None:
            message = f"{name} is unreadable ({exc}); run 'lkvault verify'"
            if message not in self.warnings:
                self.warnings.append(message)

        return load_snapshots(self.repo, damaged)

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
        return cls(Repository.open(backend, passphrase, env.rng, env.clock), env)

    # --- snapshots ------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        """Every snapshot, oldest first; remembers the newest as seen."""
        with lock(self.repo, self.env.holder(), exclusive=False, wait_seconds=self.env.lock_wait):
            found = self._history()
        self._remember(found)
        return found

    def rollback_warning(self, found: list[Snapshot]) -> str | None:
        """A message when the vault shows less than this computer saw before, else None."""
        seen = self.heads.load()
        if seen is None:
            return None
        newest = found[-1].seq if found else 0
        if newest < seen.seq or not any(
            s.seq == seen.seq and s.id == seen.snapshot_id for s in found
        ):
            return (
                f"this vault was rolled back or altered: this computer saw snapshot "
                f"#{seen.seq} ({seen.snapshot_id.hex()[:8]}), which is no longer there"
            )
        return None

    def _remember(self, found: list[Snapshot]) -> None:
        if found and self.rollback_warning(found) is None:
            self.heads.save(SeenHead(found[-1].seq, found[-1].id))

    def find(self, ref: str, found: list[Snapshot] | None = None) -> Snapshot:
        """A snapshot by id, unique id prefix, or 'latest'."""
        found = self.snapshots() if found is None else found
        if not found:
            raise SnapshotNotFound("the vault has no snapshots yet")
        if ref == "latest":
            return found[-1]
        ref = ref.lower()
        if not ref or any(c not in "0123456789abcdef" for c in ref):
            raise SnapshotNotFound(f"{ref!r} is not a snapshot id (hex digits, or 'latest')")
        matches = [s for s in found if s.id.hex().startswith(ref)]
        if not matches:
            raise SnapshotNotFound(f"no snapshot id starts with {ref!r}")
        if len(matches) > 1:
            raise SnapshotNotFound(f"{ref!r} matches {len(matches)} snapshots; give more digits")
        return matches[0]

    def snapshot(
        self,
        path: Path,
        *,
        source_name: str | None = None,
        progress: Progress | None = None,
        opaque: bool = False,
    ) -> Snapshot:
        """Store a file (a zip by its members, unless ``opaque``); returns its snapshot record."""
        if not path.is_file():
            raise UsageError(f"{path} is not a readable file")
        with lock(self.repo, self.env.holder(), exclusive=True, wait_seconds=self.env.lock_wait):
            cleanup = getattr(self.repo.backend, "remove_stale_temp_files", None)
            if cleanup is not None:
                cleanup()  # left by a crashed writer; we hold the exclusive lock
            history = self._history()
            warning = self.rollback_warning(history)
            if warning is not None:
                raise RollbackDetected(
                    f"{warning}; refusing to add a snapshot on top (run 'lkvault verify')"
                )
            created = archiver.snapshot(
                self.repo,
                path,
                history=history,
                source_name=source_name,
                progress=progress,
                workers=self.env.workers,
                opaque=opaque,
            )
        self.heads.save(SeenHead(created.seq, created.id))
        return created

    def restore(
        self, ref: str, target: Path, *, force: bool = False, progress: Progress | None = None
    ) -> Snapshot:
        """Write a snapshot's source file back, byte for byte."""
        with lock(self.repo, self.env.holder(), exclusive=False, wait_seconds=self.env.lock_wait):
            chosen = self.find(ref, self._history())
            restorer.restore_file(self.repo, chosen, target, force=force, progress=progress)
        return chosen

    def extract(
        self, ref: str, folder: Path, *, force: bool = False, progress: Progress | None = None
    ) -> tuple[Snapshot, extractor.ExtractResult]:
        """Write a snapshot's members into ``folder``."""
        with lock(self.repo, self.env.holder(), exclusive=False, wait_seconds=self.env.lock_wait):
            chosen = self.find(ref, self._history())
            result = extractor.extract(self.repo, chosen, folder, force=force, progress=progress)
        return chosen, result

    def cat(self, ref: str, member: str) -> Iterator[bytes]:
        """One member's content, block by block (the whole file for a non-zip snapshot)."""
        with lock(self.repo, self.env.holder(), exclusive=False, wait_seconds=self.env.lock_wait):
            chosen = self.find(ref, self._history())
            tree = restorer.load_tree(self.repo, chosen.tree)
            if tree.kind != "zip":
                if member not in (chosen.source, ""):
                    raise SnapshotNotFound(
                        f"snapshot {chosen.short_id} is a single file ({chosen.source}), not a zip"
                    )
                yield from restorer.render(self.repo, tree)
                return
            entry = extractor.find_member(tree, member)
            yield from extractor.member_content(self.repo, tree, entry)

    def verify(
        self, *, read_data: bool = False, progress: Progress | None = None
    ) -> checker.VerifyReport:
        with lock(self.repo, self.env.holder(), exclusive=False, wait_seconds=self.env.lock_wait):
            report = checker.verify(
                self.repo, read_data=read_data, seen=self.heads.load(), progress=progress
            )
        return report

    def accept_current_head(self) -> None:
        """Forget what this computer saw and trust the vault's current newest snapshot."""
        found = self._history()
        self.heads.force(SeenHead(found[-1].seq, found[-1].id) if found else None)
