"""What the library takes from the world (randomness, clock, identity, state folder, threads),
given to a ``Vault`` in one ``Environment`` so that tests and front ends can choose it."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lkvault.vault import identity
from lkvault.vault.format.crypto import Rng
from lkvault.vault.repository.locks import REFRESH_EVERY, Holder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_thread(run: Callable[[], None]) -> None:
    # A daemon: a command stopped by a signal exits without waiting for a key derivation.
    threading.Thread(target=run, name="lkvault-open", daemon=True).start()


@dataclass(frozen=True)
class Environment:
    """Everything the library takes from the world: randomness, clock, identity, state.

    ``boot_id`` and ``pid_namespace`` say where this process's pid means something (see
    vault.identity). ``uniform`` draws the random pauses between tries of a busy lock.
    """

    rng: Rng = os.urandom
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    state_dir: Path | None = None
    # Asked when an Environment is made, not on import: a forked process is another holder.
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    boot_id: str | None = field(default_factory=identity.boot_id)
    pid_namespace: str | None = field(default_factory=identity.pid_namespace)
    pid_alive: Callable[[int], bool] = _pid_alive
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = field(
        default_factory=lambda: random.Random(os.urandom(16)).uniform
    )
    monotonic: Callable[[], float] = time.monotonic
    lock_wait: float = 10.0
    lock_refresh: timedelta = REFRESH_EVERY
    workers: int = 2
    # Held while an export is parsed: a front end may pause the cyclic garbage collector
    # (process-wide, so the library never does it on its own).
    parsing: Callable[[], AbstractContextManager[None]] = nullcontext
    lock_waiting: Callable[[str], None] | None = None  # told when a lock must be waited for
    start_thread: Callable[[Callable[[], None]], None] = _start_thread  # runs Vault.opening

    def holder(self) -> Holder:
        return Holder(
            self.host,
            self.pid,
            self.pid_alive,
            self.sleep,
            self.uniform,
            boot_id=self.boot_id,
            pid_namespace=self.pid_namespace,
            refresh_every=self.lock_refresh,
            waiting=self.lock_waiting,
        )
