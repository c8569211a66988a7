"""Vault locks: exclusive for writers, shared for readers, stale ones removed without a manual step.

A lock is a sealed file ``locks/<random id>`` naming the holder's host, pid, boot id, PID
namespace and the time it was last refreshed. A lock is stale when it has not been refreshed
for STALE_AFTER (any holder), or when its holder provably shares this host, boot and PID
namespace and its pid is not alive. A pid seen from elsewhere (a container or Flatpak with
the same host name, another machine with the same name on a network share, a lock written
before these fields existed) proves nothing, so only the lock's age can make it stale there.
Stale locks are deleted by whoever finds them.

A held lock refreshes itself every REFRESH_EVERY. When a refresh fails, or finds the lock
removed by another process, the lock is lost: every later write or delete through the
repository's storage raises StorageError, so the operation stops before its next write.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lkvault.vault.backend import Backend
from lkvault.vault.backend.base import DelegatingBackend
from lkvault.vault.errors import IntegrityError, StorageError, VaultLocked
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import ObjectType, seal, unseal
from lkvault.vault.repository.objects import list_objects
from lkvault.vault.repository.repo import Repository

LOCKS_PREFIX = "locks/"
REFRESH_EVERY = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Holder:
    """Who this process is, and how to tell whether another process still lives.

    ``boot_id`` and ``pid_namespace`` are None where the system does not tell them; a pid
    is then never taken as proof that a lock is stale. ``uniform(a, b)`` draws the random
    back-off between tries; ``refresh_every`` is how often a held lock is rewritten.
    """

    host: str
    pid: int
    pid_alive: Callable[[int], bool]
    sleep: Callable[[float], None]
    uniform: Callable[[float, float], float]
    boot_id: str | None = None
    pid_namespace: str | None = None
    refresh_every: timedelta = REFRESH_EVERY
    # Told once when the lock is taken by another process and this one starts waiting.
    waiting: Callable[[str], None] | None = None


@dataclass(frozen=True)
class LockInfo:
    name: str
    host: str
    pid: int
    time: datetime
    exclusive: bool
    boot_id: str | None = None
    pid_namespace: str | None = None

    def describe(self) -> str:
        kind = "an exclusive" if self.exclusive else "a shared"
        renewed = self.time.strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"{kind} lock held by pid {self.pid} on {self.host} (last renewed {renewed})"


def shares_pids_with(holder: Holder, other: LockInfo) -> bool:
    """Whether ``other``'s pid names a process ``holder`` can see: same host, same boot,
    same PID namespace, each of them known on both sides."""
    return (
        other.host == holder.host
        and holder.boot_id is not None
        and other.boot_id == holder.boot_id
        and holder.pid_namespace is not None
        and other.pid_namespace == holder.pid_namespace
    )


def busy_advice(holder: Holder, other: LockInfo) -> str:
    """What a process turned away by ``other``'s lock can do. A holder it cannot see (on
    another computer, or in a container or PID namespace of its own) may have been killed
    without removing its lock: that lock only goes once it is STALE_AFTER old."""
    if shares_pids_with(holder, other):
        return "try again when it has finished"
    expires = (other.time + STALE_AFTER).strftime("%Y-%m-%d %H:%M:%S %Z")
    return (
        "try again when it has finished; lkvault cannot tell from here whether that process "
        "still runs (another computer, container or PID namespace): if it was killed, its "
        f"lock expires at {expires}, {STALE_AFTER.total_seconds() / 60:g} minutes after it was "
        "last renewed"
    )


def is_stale(holder: Holder, other: LockInfo, now: datetime) -> bool:
    """Whether ``holder`` may delete ``other``'s lock."""
    if now - other.time > STALE_AFTER:
        return True
    return shares_pids_with(holder, other) and not holder.pid_alive(other.pid)


class GuardedBackend(DelegatingBackend):
    """The repository's storage while locks are taken on it: writes and deletes stop once a
    lock held on it is lost. Reads and the storage's optional abilities pass as they are."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self._held: set[Lock] = set()
        self._mutex = threading.Lock()

    def hold(self, held: Lock) -> None:
        with self._mutex:
            self._held.add(held)

    def drop(self, held: Lock) -> None:
        with self._mutex:
            self._held.discard(held)

    def _check(self) -> None:
        with self._mutex:
            lost = next((h.lost for h in self._held if h.lost is not None), None)
        if lost is not None:
            raise StorageError(f"{lost}; stopped before writing to the vault")

    def write(self, name: str, data: bytes | bytearray) -> None:
        self._check()
        self.inner.write(name, data)

    def delete(self, name: str) -> None:
        self._check()
        self.inner.delete(name)


_GUARDING = threading.Lock()


def _guard(repo: Repository) -> GuardedBackend:
    with _GUARDING:
        if isinstance(repo.backend, GuardedBackend):
            return repo.backend
        guard = GuardedBackend(repo.backend)
        repo.backend = guard
        return guard


class Lock:
    """A held lock; use as a context manager. It refreshes itself while held."""

    def __init__(self, repo: Repository, holder: Holder, exclusive: bool) -> None:
        self.repo = repo
        self.holder = holder
        self.exclusive = exclusive
        self.lock_id = repo.rng(16)
        self.name = LOCKS_PREFIX + self.lock_id.hex()
        self.lost: str | None = None  # why the lock is no longer held, once it is not
        self._guard = _guard(repo)
        self._store = self._guard.inner  # the lock's own writes pass even once it is lost
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    def _write(self) -> None:
        document: dict[str, Any] = {
            "v": 1,
            "host": self.holder.host,
            "pid": self.holder.pid,
            "time": self.repo.clock().isoformat(),
            "exclusive": self.exclusive,
        }
        if self.holder.boot_id is not None:
            document["boot"] = self.holder.boot_id
        if self.holder.pid_namespace is not None:
            document["pidns"] = self.holder.pid_namespace
        plaintext = codec.encode_document(document)
        self._store.write(
            self.name, seal(self.repo.keys, ObjectType.LOCK, self.lock_id, plaintext, self.repo.rng)
        )

    def _others(self) -> list[LockInfo | str]:
        found: list[LockInfo | str] = []
        for name in list_objects(self._store, LOCKS_PREFIX):
            if name == self.name:
                continue
            try:
                found.append(read_lock(self.repo, name))
            except FileNotFoundError:
                continue
            except IntegrityError:
                found.append(name)  # unreadable: not one of ours, treat as stale
        return found

    def acquire(self, wait_seconds: float) -> Lock:
        waited = 0.0
        while True:
            self._write()
            blocker = None
            for other in self._others():
                if isinstance(other, str) or is_stale(self.holder, other, self.repo.clock()):
                    name = other if isinstance(other, str) else other.name
                    with contextlib.suppress(FileNotFoundError):
                        self._store.delete(name)
                elif self.exclusive or other.exclusive:
                    blocker = other
            if blocker is None:
                self._guard.hold(self)
                self._start_refresher()
                return self
            self._delete_own()
            if waited == 0.0 and wait_seconds > 0 and self.holder.waiting is not None:
                self.holder.waiting(
                    f"waiting up to {wait_seconds:g} s for the vault's lock: {blocker.describe()}"
                )
            if waited >= wait_seconds:
                raise VaultLocked(
                    f"the vault is busy: {blocker.describe()}; {busy_advice(self.holder, blocker)}"
                )
            pause = self.holder.uniform(0.2, 1.0)
            self.holder.sleep(pause)
            waited += pause

    def refresh(self) -> None:
        """Write the lock again with the current time; on failure the lock is lost."""
        try:
            if not self._store.exists(self.name):
                self.lost = (
                    f"the vault's lock {self.name} was removed by another process, which took "
                    "it for stale"
                )
                return
            self._write()
        except (StorageError, OSError) as exc:
            self.lost = f"the vault's lock could not be refreshed ({exc})"

    def _start_refresher(self) -> None:
        def refresh() -> None:
            while self.lost is None and not self._stop.wait(
                self.holder.refresh_every.total_seconds()
            ):
                self.refresh()

        self._refresher = threading.Thread(target=refresh, daemon=True)
        self._refresher.start()

    def _delete_own(self) -> None:
        with contextlib.suppress(FileNotFoundError, StorageError):
            self._store.delete(self.name)

    def release(self) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join()
        self._guard.drop(self)
        self._delete_own()

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_lock(repo: Repository, name: str) -> LockInfo:
    what = f"lock {name}"
    try:
        lock_id = bytes.fromhex(name[len(LOCKS_PREFIX) :])
    except ValueError:
        raise IntegrityError(f"{what} has a malformed name") from None
    plaintext = unseal(
        repo.keys, ObjectType.LOCK, lock_id, repo.backend.read(name), content_addressed=False
    )
    document = codec.decode_document(plaintext, what)
    codec.check_version(document, what)
    try:
        time = datetime.fromisoformat(codec.field(document, "time", str, what))
    except ValueError:
        raise IntegrityError(f"{what} is malformed") from None
    return LockInfo(
        name=name,
        host=codec.field(document, "host", str, what),
        pid=codec.field(document, "pid", int, what),
        time=time,
        exclusive=codec.field(document, "exclusive", bool, what),
        boot_id=_optional_text(document, "boot", what),
        pid_namespace=_optional_text(document, "pidns", what),
    )


def _optional_text(document: Any, key: str, what: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    codec.require(isinstance(value, str), what)
    return str(value)


def lock(repo: Repository, holder: Holder, *, exclusive: bool, wait_seconds: float) -> Lock:
    """Take a lock on the vault, waiting up to ``wait_seconds`` for conflicting holders."""
    return Lock(repo, holder, exclusive).acquire(wait_seconds)
