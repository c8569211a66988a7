"""The front ends' policy for Python's cyclic garbage collector: paused while exports are read.

Reading an export makes hundreds of thousands of objects that are all kept (a table's rows);
the collector would walk them over and over (a third of the parsing time of 400,000
messages). The pause is counted across threads: the collector comes back, as it was before,
when the last reader in the process is done, never while another one still reads.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_readers = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """The collector off meanwhile (for every thread), then back as it was."""
    global _readers, _was_enabled
    with _lock:
        if _readers == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0 and _was_enabled:
                gc.enable()
