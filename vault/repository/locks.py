"""Vault locks: exclusive for writers, shared for readers, stale ones removed without a manual step.

A lock is a sealed file ``locks/<random id>`` naming the holder's host, pid and the time it
was last refreshed. A lock is stale when its process is gone (same host) or when it has not
been refreshed for STALE_AFTER (any host); stale locks are deleted by whoever finds them.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lkvault.vault.errors import IntegrityError, VaultLocked
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import ObjectType, seal, unseal
from lkvault.vault.repository.repo import Repository

LOCKS_PREFIX = "locks/"
REFRESH_EVERY = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Holder:
    """Who this process is, and how to tell whether another process still lives."""

    host: str
    pid: int
    pid_alive: Callable[[int], bool]
    sleep: Callable[[float], None]


@dataclass(frozen=True)
class LockInfo:
    name: str
    host: str
    pid: int
    time: datetime
    exclusive: bool

    def describe(self) -> str:
        kind = "an exclusive" if self.exclusive else "a shared"
        since = self.time.strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"{kind} lock held by pid {self.pid} on {self.host} since {since}"


class Lock:
    """A held lock; use as a context manager. It refreshes itself while held."""

    def __init__(self, repo: Repository, holder: Holder, exclusive: bool) -> None:
        self.repo = repo
        self.holder = holder
        self.exclusive = exclusive
        self.lock_id = repo.rng(16)
        self.name = LOCKS_PREFIX + self.lock_id.hex()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    def _write(self) -> None:
        document = {
            "v": 1,
            "host": self.holder.host,
            "pid": self.holder.pid,
            "time": self.repo.clock().isoformat(),
            "exclusive": self.exclusive,
        }
        plaintext = codec.encode_document(document)
        self.repo.backend.write(
            self.name, seal(self.repo.keys, ObjectType.LOCK, self.lock_id, plaintext, self.repo.rng)
        )

    def _others(self) -> list[LockInfo | str]:
        found: list[LockInfo | str] = []
        for name in self.repo.backend.list(LOCKS_PREFIX):
            if name == self.name:
                continue
            try:
                found.append(read_lock(self.repo, name))
            except FileNotFoundError:
                continue
            except IntegrityError:
                found.append(name)  # unreadable: not one of ours, treat as stale
        return found

    def _stale(self, other: LockInfo) -> bool:
        if self.repo.clock() - other.time > STALE_AFTER:
            return True
        return other.host == self.holder.host and not self.holder.pid_alive(other.pid)

    def acquire(self, wait_seconds: float) -> Lock:
        waited = 0.0
        while True:
            self._write()
            blocker = None
            for other in self._others():
                if isinstance(other, str) or self._stale(other):
                    name = other if isinstance(other, str) else other.name
                    with contextlib.suppress(FileNotFoundError):
                        self.repo.backend.delete(name)
                elif self.exclusive or other.exclusive:
                    blocker = other
            if blocker is None:
                self._start_refresher()
                return self
            self._delete_own()
            if waited >= wait_seconds:
                raise VaultLocked(
                    f"the vault is busy: {blocker.describe()}; try again when it has finished"
                )
            pause = random.uniform(0.2, 1.0)
            self.holder.sleep(pause)
            waited += pause

    def _start_refresher(self) -> None:
        def refresh() -> None:
            while not self._stop.wait(REFRESH_EVERY.total_seconds()):
                # A failed refresh must not kill the work; the next one may succeed.
                with contextlib.suppress(Exception):
                    self._write()

        self._refresher = threading.Thread(target=refresh, daemon=True)
        self._refresher.start()

    def _delete_own(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.repo.backend.delete(self.name)

    def release(self) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join()
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
    )


def lock(repo: Repository, holder: Holder, *, exclusive: bool, wait_seconds: float) -> Lock:
    """Take a lock on the vault, waiting up to ``wait_seconds`` for conflicting holders."""
    return Lock(repo, holder, exclusive).acquire(wait_seconds)
