"""Single-core speed of lkvault's own deflate against the system's stock zlib, on CSV text.

Compresses the ``messages.csv`` of one synthetic export (bench/exportgen.py) at the given
levels with both compressors, in one thread, fed in 64 KiB pieces as the snapshot's prover
and the restore feed them, checks that the outputs are identical, and prints the CPU time of
each (the best of --repeat runs, taken in turns; CPU time, not wall time, since the machine
is shared) and the ratio zlib / lkvault (above 1: lkvault is faster). zlib-ng is measured
too when the PyPI ``zlib-ng`` package is installed (its output differs: why lkvault has its own).
Given ``--export``, it compresses every CSV member of that zip instead, each on its own, and
``--json`` prints one JSON line per level (what bench/run.py records).

    python -m bench.deflate_speed                      # scale 1 (about 4 MB of CSV), level 6
    python -m bench.deflate_speed --scale 10 --levels 1,6,9
    python -m bench.deflate_speed --export EXPORT.zip --repeat 3 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from pathlib import Path

from lkvault.vault.format import deflater

from bench.exportgen import generate_export
from bench.turns import best_in_turns

PIECE = 64 << 10


def export_messages(scale: float) -> bytes:
    """messages.csv of one synthetic export at this scale."""
    with tempfile.TemporaryDirectory() as folder:
        path = generate_export(Path(folder) / "export.zip", date=date(2025, 6, 15), scale=scale)
        with zipfile.ZipFile(path) as archive:
            return archive.read("messages.csv")


def export_csvs(path: Path) -> list[bytes]:
    """The content of every CSV member of an export zip."""
    with zipfile.ZipFile(path) as archive:
        return [
            archive.read(info)
            for info in archive.infolist()
            if info.filename.lower().endswith(".csv")
        ]


def deflate_with(make: Callable[[], deflater.Compressor], content: bytes) -> bytes:
    comp = make()
    view = memoryview(content)
    out = [comp.compress(view[i : i + PIECE]) for i in range(0, len(view), PIECE)]
    return b"".join(out) + comp.flush(deflater.Z_FINISH)


def deflate_each(make: Callable[[], deflater.Compressor], contents: list[bytes]) -> bytes:
    return b"".join(deflate_with(make, content) for content in contents)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.deflate_speed", description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="exportgen scale (1: ~4 MB CSV)")
    ap.add_argument("--levels", default="6", help="comma-separated deflate levels")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement; best kept")
    ap.add_argument("--export", type=Path, help="an export zip: its CSV members are compressed")
    ap.add_argument("--json", action="store_true", help="one JSON line per level")
    args = ap.parse_args(argv)
    if not deflater.BUILT:
        print("lkvault's deflate extension is not built; nothing to measure", file=sys.stderr)
        return 1
    contents = export_csvs(args.export) if args.export else [export_messages(args.scale)]
    size = sum(len(c) for c in contents)
    if not args.json:
        what = f"{len(contents)} CSV members" if args.export else "messages.csv"
        print(f"{what}: {size:,} bytes; system {deflater.system_implementation()}")
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        zlib_ng = None
    for level in (int(x) for x in args.levels.split(",")):
        makers: dict[str, Callable[[], deflater.Compressor]] = {
            "lkvault": lambda level=level: deflater.compressobj(level, native=True),
            "zlib": lambda level=level: zlib.compressobj(level, zlib.DEFLATED, -15, 8),
        }
        if zlib_ng is not None:
            makers["zlib-ng"] = lambda level=level: zlib_ng.compressobj(
                level, zlib.DEFLATED, -15, 8
            )
        runs = {name: partial(deflate_each, make, contents) for name, make in makers.items()}
        best = {name: (b.cpu, b.result) for name, b in best_in_turns(runs, args.repeat).items()}
        (ours, our_out), (stock, stock_out) = best["lkvault"], best["zlib"]
        same = "identical" if our_out == stock_out else "DIFFERENT"
        if args.json:
            record = {
                "level": level,
                "csv_members": len(contents),
                "content_bytes": size,
                "lkvault_cpu_s": round(ours, 4),
                "zlib_cpu_s": round(stock, 4),
                "identical": our_out == stock_out,
                "zlib": deflater.system_implementation(),
            }
            print(json.dumps(record), flush=True)
            continue
        line = (
            f"level {level}: lkvault {ours:.3f} s ({size / ours / 1e6:.1f} MB/s), "
            f"zlib {stock:.3f} s, ratio {stock / ours:.2f}, output {same} ({len(our_out):,} B)"
        )
        if "zlib-ng" in best:
            ng, ng_out = best["zlib-ng"]
            line += f"; zlib-ng {ng:.3f} s ({len(ng_out):,} B)"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
