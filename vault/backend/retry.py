"""Retrying transient storage failures with exponential backoff, then one clear StorageError.

A remote backend runs each operation through ``Retrier.call``. The operation raises
``Retryable`` for a failure that may pass (connection refused or reset, timeout, server busy);
anything else (a missing file, no access, a bad request) goes straight to the caller.
``Retryable`` never leaves this module's ``call``: once the attempts are used up it becomes a
StorageError naming the location, the operation and the last cause.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from lkvault.vault.errors import StorageError

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth another attempt; ``cause`` says what happened, in a few words."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to try again: delays double from ``first_delay`` up to a cap."""

    retries: int = 7  # about a minute of waiting in all with the delays below
    first_delay: float = 0.5
    max_delay: float = 20.0

    def delays(self) -> list[float]:
        return [min(self.max_delay, self.first_delay * 2**n) for n in range(self.retries)]


class Retrier:
    """Runs operations under a RetryPolicy; sleeping, jitter and notices are passed in."""

    def __init__(
        self,
        location: str,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.location = location
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        # A private generator when none is given: no shared process-wide random state.
        self.jitter = jitter or random.Random(os.urandom(16)).random
        self.notice = notice

    def call(self, what: str, operation: Callable[[], T]) -> T:
        """``operation()``, tried again after each Retryable until the policy gives up.

        ``what`` names the operation for messages, e.g. "writing data/3f/3fa9...".
        """
        delays = self.policy.delays()
        for attempt in range(len(delays) + 1):
            try:
                return operation()
            except Retryable as failure:
                if attempt == len(delays):
                    tries = "once" if attempt == 0 else f"{attempt + 1} times"
                    raise StorageError(
                        f"{what} at {self.location} failed {tries}: {failure.cause}; "
                        "check the network and the server, then run the command again"
                    ) from None
                # Up to 25 % jitter, so parallel uploads do not hammer a server in step.
                delay = delays[attempt] * (1 + self.jitter() / 4)
                if self.notice is not None:
                    self.notice(
                        f"{what} at {self.location} failed ({failure.cause}); trying again "
                        f"in {delay:.1f} s (attempt {attempt + 2} of {len(delays) + 1})"
                    )
                self.sleep(delay)
        raise AssertionError("unreachable")
