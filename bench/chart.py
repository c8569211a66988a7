"""Charts of the benchmark results (PNG, matplotlib): stored bytes per month per tool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

STYLE = {
    "lkvault": {"color": "#d62728", "marker": "o", "linewidth": 2.4},
    "restic": {"color": "#1f77b4", "marker": "s"},
    "restic-max": {"color": "#17becf", "marker": "s", "linestyle": "--"},
    "borg": {"color": "#2ca02c", "marker": "^"},
    "borg-zstd10": {"color": "#98df8a", "marker": "^", "linestyle": "--"},
}


def _panel(ax: Any, run: Mapping[str, Any], *, log: bool) -> None:
    months = run["months"]
    x = list(range(1, months + 1))
    for name, tool in run["tools"].items():
        stored = [m["stored_bytes"] / 1e6 for m in tool["months"]]
        style = STYLE.get(name, {})
        ax.plot(x[: len(stored)], stored, label=tool["label"], markersize=3, **style)
    floor = run["floor"]["floor_bytes"] / 1e6
    ax.axhline(floor, color="black", linewidth=1.2, label="floor: zstd -19 of the newest export")
    sf = run.get("series_floor")
    if sf:
        ax.axhline(
            sf["floor_bytes"] / 1e6,
            color="purple",
            linewidth=1,
            linestyle="--",
            label=f"series floor: zstd -19 --long={sf.get('window_log', 27)} of all months",
        )
    ax.axhline(
        1.3 * floor,
        color="black",
        linewidth=0.8,
        linestyle=":",
        label="lkvault target: 1.3 × floor",
    )
    inputs = []
    total = 0
    for f in run["files"]:
        total += f["bytes"]
        inputs.append(total / 1e6)
    ax.plot(x, inputs, color="grey", linewidth=1, linestyle="-.", label="sum of the zips")
    if log:
        ax.set_yscale("log")
        fmt = FuncFormatter(lambda v, _pos: f"{v:g}")
        ax.yaxis.set_major_formatter(fmt)
        ax.yaxis.set_minor_formatter(
            FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:g}"[0] in "25" else "")
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("month (snapshots so far)")
    ax.set_ylabel("stored bytes (MB)")
    ax.set_title(
        f"{run['scale']} exports (newest {run['files'][-1]['bytes'] / 1e6:.1f} MB "
        f"zip), {months} months; floor {floor:.2f} MB",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)


def series_chart(runs: Sequence[Mapping[str, Any]], out: Path, *, log: bool = True) -> Path:
    """One panel per series run, stored bytes after each month, all tools plus the floor."""
    n = len(runs)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(7.2 * cols, 4.6 * rows), squeeze=False)
    for ax, run in zip(axes.flat, runs, strict=False):
        _panel(ax, run, log=log)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    legend: dict[str, Any] = {}
    for ax in list(axes.flat)[:n]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(
        list(legend.values()), list(legend), loc="lower center", ncol=4, fontsize=8, frameon=False
    )
    fig.suptitle(
        "Stored bytes after each monthly snapshot (log scale)"
        if log
        else "Stored bytes after each monthly snapshot"
    )
    fig.tight_layout(rect=(0, 0.07 if rows > 1 else 0.12, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def single_chart(run: Mapping[str, Any], out: Path, *, log: bool = True) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    _panel(ax, run, log=log)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
