"""A weighted semaphore: threads reserve amounts of one shared budget (e.g. of memory)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Budget:
    """Up to ``total`` units in use at once; a request larger than the whole budget runs
    alone rather than never."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        """Hold ``amount`` units for the duration of the block, waiting until they are free."""
        with self._changed:
            while self.used and self.used + amount > self.total:
                self._changed.wait()
            self.used += amount
        try:
            yield
        finally:
            with self._changed:
                self.used -= amount
                self._changed.notify_all()
