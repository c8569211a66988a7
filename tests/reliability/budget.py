"""How much each sweep does (the fast CI sample or the long run), and the figures it reports.

``LKVAULT_RELIABILITY=long`` selects the long run. When ``LKVAULT_RELIABILITY_FIGURES`` names
a file, every sweep appends one JSON line of what it did there (crash points tried, damages
detected, inputs fuzzed); ``tests.reliability.campaign`` adds them up for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

LONG = os.environ.get("LKVAULT_RELIABILITY", "").strip().lower() == "long"
MODE = "long" if LONG else "fast"
_FIGURES_LOCK = threading.Lock()


def pick(fast: T, long: T) -> T:
    """The fast value in CI, the long one in the long run."""
    return long if LONG else fast


def spread(points: list[T], count: int) -> list[T]:
    """``count`` items of ``points`` spread evenly over it, first and last included (one:
    the middle one)."""
    if count >= len(points):
        return list(points)
    if count <= 1:
        return points[len(points) // 2 : len(points) // 2 + 1]
    step = (len(points) - 1) / (count - 1)
    return [points[round(i * step)] for i in range(count)]


def record(sweep: str, **figures: int) -> None:
    """Report what one sweep (or one part of it) did, for the campaign's summary."""
    target = os.environ.get("LKVAULT_RELIABILITY_FIGURES")
    if not target:
        return
    line = json.dumps({"sweep": sweep, "mode": MODE, **figures}, sort_keys=True)
    with _FIGURES_LOCK, Path(target).open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def corpus_cases(paths: list[Path], folder: Path) -> list[object]:
    """``paths`` as test parameters; when there are none, one case skipped with a reason a
    reader understands (pytest's own would be "got empty parameter set")."""
    if paths:
        return [pytest.param(path, id=path.name) for path in paths]
    root = Path(__file__).resolve().parents[2]
    where = folder.relative_to(root) if folder.is_relative_to(root) else folder
    reason = (
        f"no past failure saved in {where} yet: the fuzzers save there each input that ever "
        "failed, and this test replays them"
    )
    return [pytest.param(None, id="empty-corpus", marks=pytest.mark.skip(reason=reason))]
