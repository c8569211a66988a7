"""Fault injection for the tests: backend wrappers that fail or kill, and the CLI run with them.

Nothing here ships: the product has no hook that kills or fails on purpose. A test that needs
a real ``lkvault`` process killed at a storage write runs ``python -m tests.faults SPEC ARGS``
(see ``Lk.run_killed_at``), which runs the CLI with every backend it opens wrapped.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from lkvault.cli import config, entry
from lkvault.cli.main import main
from lkvault.vault.backend import Backend, LocalBackend
from lkvault.vault.backend.base import DelegatingBackend
from lkvault.vault.backend.local import TEMP_PREFIX
from lkvault.vault.errors import StorageError
from lkvault.vault.operations import compactplan

# A killed compact may be told to rebase at a lower bound than the shipped one, so that a
# small vault reaches it (tests/test_compact_merge.py).
REBASE_ENV = "LKVAULT_TEST_REBASE_FACTOR"


class KillAtWrite(DelegatingBackend):
    """Kills this process with SIGKILL at the n-th write (1-based): before it, or half-way.

    Deletes count as writes too (a kill "at" a delete lands just before it), so prune,
    forget and repair can be killed between any two of their changes. Deleting lock files is
    not counted: a lock is not vault data, and a killed holder's lock is stale anyway, so
    counting it would only shift the numbers of the writes that matter. ``nth`` 0 never kills.
    """

    def __init__(self, inner: Backend, nth: int, halfway: bool = False) -> None:
        super().__init__(inner)
        self.nth = nth
        self.halfway = halfway
        self.writes = 0

    def write(self, name: str, data: bytes | bytearray) -> None:
        self.writes += 1
        if self.writes == self.nth:
            if self.halfway and isinstance(self.inner, LocalBackend):
                # Leave a half-written temp file behind, as a power cut would.
                folder = Path(self.inner.root, *name.split("/")[:-1])
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{TEMP_PREFIX}killed").write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        self.inner.write(name, data)

    def delete(self, name: str) -> None:
        if not name.startswith("locks/"):
            self.writes += 1
            if self.writes == self.nth:
                os.kill(os.getpid(), signal.SIGKILL)
        self.inner.delete(name)


class SignalAtWrite(DelegatingBackend):
    """Sends this process a real signal (SIGINT or SIGTERM) as its n-th write begins, then
    goes on: the interrupt lands at a known point of an operation, as a user's Ctrl-C would,
    without a race against the clock. Writes and deletes are counted as KillAtWrite does."""

    def __init__(self, inner: Backend, nth: int, signum: int) -> None:
        super().__init__(inner)
        self.nth = nth
        self.signum = signum
        self.writes = 0

    def _count(self) -> None:
        self.writes += 1
        if self.writes == self.nth:
            os.kill(os.getpid(), self.signum)

    def write(self, name: str, data: bytes | bytearray) -> None:
        self._count()
        self.inner.write(name, data)

    def delete(self, name: str) -> None:
        if not name.startswith("locks/"):
            self._count()
        self.inner.delete(name)


class SignalAtRead(DelegatingBackend):
    """Sends this process a real signal as its n-th read of a pack (a file under data/)
    begins, then goes on: readers (restore, verify, compact's workers) write nothing to the
    vault, so their interrupts are placed by what they read. A read on a worker thread
    signals the process all the same; Python runs the handler in the main thread."""

    def __init__(self, inner: Backend, nth: int, signum: int) -> None:
        super().__init__(inner)
        self.nth = nth
        self.signum = signum
        self.reads = 0
        self.counting = threading.Lock()  # workers read side by side

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        if name.startswith("data/"):
            with self.counting:
                self.reads += 1
                now = self.reads == self.nth
            if now:
                os.kill(os.getpid(), self.signum)
        return self.inner.read(name, offset, length)


class SignalAtKeySlot(DelegatingBackend):
    """Sends this process a real signal as the first key slot is read, then goes on: that
    read happens on the thread that opens the vault (Vault.opening), while the main thread
    does what a snapshot needs no keys for, or waits for the keys."""

    def __init__(self, inner: Backend, signum: int) -> None:
        super().__init__(inner)
        self.signum = signum
        self.sent = False

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        if name.startswith("keys/") and not self.sent:
            self.sent = True
            os.kill(os.getpid(), self.signum)
        return self.inner.read(name, offset, length)


class FailingBackend(DelegatingBackend):
    """Raises StorageError on every write after the first ``fail_writes_after``."""

    def __init__(self, inner: Backend, fail_writes_after: int | None = None) -> None:
        super().__init__(inner)
        self.fail_writes_after = fail_writes_after
        self.writes = 0

    def write(self, name: str, data: bytes | bytearray) -> None:
        self.writes += 1
        if self.fail_writes_after is not None and self.writes > self.fail_writes_after:
            raise StorageError(f"injected failure writing {name}")
        self.inner.write(name, data)


def run_cli_wrapping_backends(argv: list[str], wrap: Callable[[Backend], Backend]) -> int:
    """Run ``lkvault ARGV`` in this process with every backend it opens passed through
    ``wrap`` (the CLI opens them all in ``config.backend_for``); returns the exit code."""
    real_backend_for = config.backend_for

    def wrapped_backend_for(location: str) -> Backend:
        return wrap(real_backend_for(location))

    config.backend_for = wrapped_backend_for
    try:
        main(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1
    finally:
        config.backend_for = real_backend_for
    return 0


def kill_at(spec: str) -> Callable[[Backend], Backend]:
    """The wrapper for a kill spec: "N" (before the N-th write or delete) or "N:halfway"."""
    nth, _, mode = spec.partition(":")
    return lambda backend: KillAtWrite(backend, int(nth), halfway=(mode == "halfway"))


def fault_at(spec: str) -> Callable[[Backend], Backend]:
    """A kill spec (see kill_at), or "signal:N:INT" / "signal:N:TERM": that signal as the
    N-th write or delete begins, or "signal-read:N:INT" / ...: as the N-th read of a pack, or
    "signal-open:INT" / "signal-open:TERM": as the vault's first key slot is read."""
    if spec.startswith("signal-open:"):
        signum = signal.Signals[f"SIG{spec.removeprefix('signal-open:')}"]
        return lambda backend: SignalAtKeySlot(backend, signum)
    if spec.startswith("signal-read:"):
        _, nth, name = spec.split(":")
        signum = signal.Signals[f"SIG{name}"]
        return lambda backend: SignalAtRead(backend, int(nth), signum)
    if spec.startswith("signal:"):
        _, nth, name = spec.split(":")
        signum = signal.Signals[f"SIG{name}"]
        return lambda backend: SignalAtWrite(backend, int(nth), signum)
    return kill_at(spec)


if __name__ == "__main__":
    if REBASE_ENV in os.environ:
        compactplan.REBASE_FACTOR = float(os.environ[REBASE_ENV])
    entry.leave(run_cli_wrapping_backends(sys.argv[2:], fault_at(sys.argv[1])))
