"""Timing several runs against each other on a shared machine: best of N, taken in turns.

The runs take turns, round after round, so a busy spell on the machine costs each of them
alike; the least time of each is the run least disturbed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Best(Generic[T]):
    """The least wall-clock and CPU seconds (user + sys) of one run, and what it returned."""

    wall: float
    cpu: float
    result: T


def best_in_turns(runs: Mapping[str, Callable[[], T]], repeat: int) -> dict[str, Best[T]]:
    """Per name: the best of ``repeat`` rounds in which every run goes once, in turns."""
    best: dict[str, Best[T]] = {}
    for _ in range(max(1, repeat)):
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            result = run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if name in best:
                wall, cpu = min(best[name].wall, wall), min(best[name].cpu, cpu)
            best[name] = Best(wall, cpu, result)
    return best
