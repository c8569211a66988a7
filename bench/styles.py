"""Does the storage goal hold for members unlike the one it was tuned on? One row per style.

For each generator style (``bench/exportgen.py --style``) and scale: a monthly series, one
``lkvault snapshot`` per month into a new vault, then ``lkvault compact``; the vault's stored
bytes before and after compact against the information floor of the newest export (every
member in one zstd -19 stream, ``bench.measure.information_floor``). The goal (issue 18) is at
most 1.3x the floor after compact.

    python3 bench/styles.py --scales small,medium --months 12 --out bench/out/styles

Series are generated into ``OUT/series/SCALE-STYLE-sSEED-VERSION`` (VERSION: the hash of
exportgen.py) and reused. Results go to ``OUT/styles.json`` (merged across runs) and a
Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.exportgen import STYLES  # noqa: E402
from bench.measure import information_floor, tree_bytes  # noqa: E402
from bench.run import generator_version, log, series  # noqa: E402
from bench.tools import Lkvault  # noqa: E402

GOAL = 1.3


def measure(out: Path, command: list[str], scale: str, style: str, months: int) -> dict[str, Any]:
    """One vault over one style's series: stored bytes before and after compact."""
    files = series(scale, months, style=style, out=out)
    tool = Lkvault(out / "work" / f"{scale}-{style}-{months}", command)
    tool.prepare()
    tool.init()
    snapshot_cpu = 0.0
    for path in files:
        m = tool.backup(path, path.stem).measurement
        snapshot_cpu += m.user_s + m.sys_s
    before = tree_bytes(tool.repo)
    compact = tool.maintain()
    after = tree_bytes(tool.repo)
    floor = information_floor(files[-1], cache=out / "floors.json")
    return {
        "scale": scale,
        "style": style,
        "months": months,
        "newest_zip_bytes": files[-1].stat().st_size,
        "newest_raw_bytes": floor.raw_bytes,
        "floor_bytes": floor.floor_bytes,
        "stored_before_compact": before,
        "stored_after_compact": after,
        "ratio_before": before / floor.floor_bytes,
        "ratio_after": after / floor.floor_bytes,
        "snapshot_cpu_s": snapshot_cpu,
        "compact_cpu_s": compact.user_s + compact.sys_s,
        "generator": generator_version(),
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of ``rows`` (one per scale, months and style)."""
    lines = [
        "| scale x months | style | newest zip | floor | stored before compact | after compact "
        "| verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["scale"], r["months"], list(STYLES).index(r["style"]))):
        verdict = "PASS" if r["ratio_after"] <= GOAL else "MISS"
        lines.append(
            f"| {r['scale']} x {r['months']} | {r['style']} | {r['newest_zip_bytes'] / 1e6:.2f} MB "
            f"| {r['floor_bytes'] / 1e6:.2f} MB "
            f"| {r['stored_before_compact'] / 1e6:.2f} MB ({r['ratio_before']:.2f}x) "
            f"| {r['stored_after_compact'] / 1e6:.2f} MB ({r['ratio_after']:.2f}x) | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--scales", default="small,medium")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--styles", default=",".join(STYLES))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "styles")
    ap.add_argument(
        "--lkvault",
        default=str(ROOT / ".venv" / "bin" / "lkvault"),
        help="the lkvault command to measure",
    )
    a = ap.parse_args(argv)
    styles = [s for s in a.styles.split(",") if s]
    unknown = sorted(set(styles) - set(STYLES))
    if unknown:
        ap.error(f"unknown style {unknown[0]!r}: use some of {sorted(STYLES)}")
    a.out.mkdir(parents=True, exist_ok=True)
    results = a.out / "styles.json"
    rows: list[dict[str, Any]] = json.loads(results.read_text()) if results.exists() else []
    for scale in (s for s in a.scales.split(",") if s):
        for style in styles:
            log(f"{scale} x {a.months} {style} ...")
            row = measure(a.out, [a.lkvault], scale, style, a.months)
            log(
                f"  stored {row['ratio_before']:.2f}x before compact, "
                f"{row['ratio_after']:.2f}x after"
            )
            key = (scale, style, a.months)
            rows = [r for r in rows if (r["scale"], r["style"], r["months"]) != key] + [row]
            tmp = results.with_suffix(".part")
            tmp.write_text(json.dumps(rows, indent=1))
            os.replace(tmp, results)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
