"""The series floor of docs/benchmarks.md: every month's members in one zstd --long stream,
its window wide enough that a month finds its repeats in the month before."""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

from bench.measure import SERIES_WINDOW_LOG, series_floor, series_window_log


def _export(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_the_window_spans_four_of_the_largest_exports(tmp_path: Path) -> None:
    small = _export(tmp_path / "small.zip", {"Connections.csv": b"a,b\n" * 1000})
    # 40 MB unpacked (a medium export after a year): four of them need 2^28 bytes.
    large = _export(tmp_path / "large.zip", {"messages.csv": b"x" * 40_000_000})
    assert series_window_log([small, small]) == SERIES_WINDOW_LOG
    assert series_window_log([small, large]) == 28
    assert series_window_log([large, small]) == 28


def test_a_month_repeated_costs_the_series_floor_next_to_nothing(tmp_path: Path) -> None:
    content = random.Random(5).randbytes(1 << 20)
    first = _export(tmp_path / "a.zip", {"messages.csv": content})
    second = _export(tmp_path / "b.zip", {"messages.csv": content, "new.csv": b"n\n"})
    one = series_floor([first])
    both = series_floor([first, second], cache=tmp_path / "floors.json")
    alone, together = one["floor_bytes"], both["floor_bytes"]
    assert isinstance(alone, int) and isinstance(together, int)
    assert together < alone * 1.01
    assert both["exports"] == 2 and both["window_log"] == SERIES_WINDOW_LOG
    assert series_floor([first, second], cache=tmp_path / "floors.json") == both  # cached
    assert os.path.exists(tmp_path / "floors.json")
