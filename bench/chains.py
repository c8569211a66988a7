"""Dictionary chains over a vault's life: stored bytes, restore time and scratch space by age.

Stores a monthly series (bench/exportgen.py) in one vault per chain depth bound (the depth past
which a writer stores a changed blob whole again instead of compressing it against its previous
version: MAX_DICT_DEPTH, 48, in lkvault today) and, every ``--every`` months, measures the
vault's stored bytes and, for the newest and the oldest snapshot, the restore time (frame cache
emptied first, keys already unlocked) and the scratch space the restore stages: the raw bytes
of every frame in the dictionary chains it decodes (staging.FrameStage.staged), and the frames
the restore decodes (repeats included) and their bytes, beside the snapshot's content. With
``--compact-every N``, ``lkvault compact`` runs after every N-th month (as a monthly 'forget
--prune' from cron would, yearly here), and each measurement also gives the information floor
of the newest export (bench.measure: zstd -19 of its members), with ``--history`` that of the
history too (every month so far in one zstd -19 --long stream: about what the vault must hold;
minutes to hours at medium and large), and the stored bytes over each.
Prints one JSON line a measurement, then a Markdown table a depth.

    python -m bench.chains --scale small --months 120 --depths 12,48 --every 12
    python -m bench.chains --scale small --months 120 --every 12 --compact-every 12
    python -m bench.chains --scale small --months 120 --every 12 --compact-every 12 \
        --rebase-depth 24 --rebase-span 12
    python -m bench.chains --scale large --months 36 --compact-every 12 --exports DIR --work DIR2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lkvault.vault import Environment, Vault
from lkvault.vault.operations import compactplan
from lkvault.vault.operations.usage import snapshot_blobs
from lkvault.vault.repository import blobwriter
from lkvault.vault.repository.frameopener import FrameOpener
from lkvault.vault.repository.index import FrameRef
from lkvault.vault.repository.pack import MAX_DICT_DEPTH
from lkvault.vault.repository.snapshots import Snapshot
from lkvault.vault.spill import Spill

from bench.exportgen import generate_series
from bench.measure import information_floor, series_floor

PASSPHRASE = b"bench chains passphrase"


def stored_bytes(root: Path) -> int:
    files = [p for folder in ("data", "index") for p in (root / folder).rglob("*")]
    return sum(p.stat().st_size for p in files if p.is_file())


def chain_bytes(vault: Vault, snapshot: Snapshot) -> tuple[int, int]:
    """(raw bytes, frames) of every dictionary frame restoring ``snapshot`` decodes, and of
    the frames their dictionaries draw on, transitively: what the restore stages."""
    repo = vault.repo
    index = repo.index
    pending = [
        location.frame
        for blob_id, _ in snapshot_blobs(repo, snapshot)
        if (location := index.get(blob_id)) is not None and location.frame.entry.has_dictionary
    ]
    seen: dict[tuple[bytes, int], FrameRef] = {}
    while pending:
        ref = pending.pop()
        key = (ref.pack_id, ref.entry.offset)
        if key in seen:
            continue
        seen[key] = ref
        for dictionary_ref in ref.entry.dictionary:
            location = index.get(dictionary_ref.id)
            if location is not None:
                pending.append(location.frame)
    return sum(ref.entry.raw_size for ref in seen.values()), len(seen)


@dataclass
class RestoreCost:
    """One restore: wall and CPU seconds, the frames it decoded (repeats included), and the
    bytes it wrote to scratch space (vault.spill: staged frames, rows put back in order)."""

    seconds: float
    cpu_seconds: float
    frame_decodes: int
    decoded_bytes: int
    spilled_bytes: int


def restore_cost(vault: Vault, snapshot: Snapshot, out: Path) -> RestoreCost:
    vault.repo.use_index(vault.repo.index)  # an empty frame cache, as in a new process
    decodes: list[int] = []
    spilled: list[int] = []
    opener, write = FrameOpener.open, Spill.write

    def counting(self: FrameOpener, ref: FrameRef, dictionary: bytes | None = None) -> bytes:
        decodes.append(ref.entry.raw_size)
        return opener(self, ref, dictionary)

    def spilling(self: Spill, data: bytes) -> None:
        spilled.append(len(data))
        write(self, data)

    FrameOpener.open = counting  # type: ignore[method-assign]
    Spill.write = spilling  # type: ignore[method-assign]
    try:
        start, cpu = time.perf_counter(), time.process_time()
        vault.restore(snapshot.id.hex(), out, force=True)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        FrameOpener.open = opener  # type: ignore[method-assign]
        Spill.write = write  # type: ignore[method-assign]
    out.unlink()
    return RestoreCost(seconds, cpu, len(decodes), sum(decodes), sum(spilled))


def run_depth(
    paths: Sequence[Path],
    depth: int,
    every: int,
    work: Path,
    compact_every: int = 0,
    floors: Path | None = None,
    seed: int = 1,
    keep: bool = False,
    history: bool = False,
) -> list[dict[str, Any]]:
    """With ``keep``, the vault and the rows measured so far stay in ``work`` and a later run
    with the same arguments goes on from the month after the last one finished."""
    if not 1 <= depth <= MAX_DICT_DEPTH:
        raise SystemExit(f"depth {depth}: readers accept chains up to {MAX_DICT_DEPTH} deep")
    blobwriter.MAX_DICT_DEPTH = depth  # the writer's bound (pack.MAX_DICT_DEPTH: readers')
    root = work / f"vault-{depth}"
    progress = work / f"progress-{depth}.json"
    # Keys from a seeded generator: a vault's chunk boundaries depend on its keys (stored
    # bytes vary by a few % from one vault to another), so runs compare byte for byte.
    environment = Environment(rng=random.Random(seed).randbytes, state_dir=work / f"state-{depth}")
    done: dict[str, Any] = {"month": 0, "rows": []}
    if keep and progress.exists():
        done = json.loads(progress.read_text())
        vault = Vault.open(str(root), PASSPHRASE, environment)
    else:
        shutil.rmtree(root, ignore_errors=True)
        vault = Vault.init(str(root), PASSPHRASE, environment)
    rows: list[dict[str, Any]] = done["rows"]
    stored_months = len(vault.snapshots())
    for month, path in enumerate(paths, start=1):
        if month <= done["month"]:
            continue
        if month > stored_months:  # else stored before the run was stopped, not measured
            vault.snapshot(path)
        row: dict[str, Any] = {"depth": depth, "month": month}
        if compact_every and month % compact_every == 0:
            start = time.process_time()
            vault.compact()
            row["compact_cpu_s"] = round(time.process_time() - start, 1)
        if month % every and month != len(paths):
            if keep:
                _record(progress, {"month": month, "rows": rows})
            continue
        snapshots = vault.snapshots()
        row["stored"] = stored_bytes(root)
        # Pack files are padded (Padmé, to 32 KiB for a 1 MB pack): "stored" hides small changes.
        row["frame_bytes"] = sum(
            f.length for frames in vault.repo.index.packs.values() for f in frames
        )
        if compact_every:
            row["floor"] = information_floor(path, cache=floors).floor_bytes
            if history:
                row["history_floor"] = series_floor(paths[:month], cache=floors)["floor_bytes"]
        row["max_frame_depth"] = max(
            (f.depth for frames in vault.repo.index.packs.values() for f in frames), default=0
        )
        for label, snap in (("newest", snapshots[-1]), ("oldest", snapshots[0])):
            scratch, frames = chain_bytes(vault, snap)
            row[f"{label}_scratch"] = scratch
            row[f"{label}_chain_frames"] = frames
            cost = restore_cost(vault, snap, work / "out.zip")
            row[f"{label}_restore_s"] = round(cost.seconds, 3)
            row[f"{label}_restore_cpu_s"] = round(cost.cpu_seconds, 3)
            row[f"{label}_decodes"] = cost.frame_decodes
            row[f"{label}_decoded"] = cost.decoded_bytes
            row[f"{label}_spilled"] = cost.spilled_bytes
            row[f"{label}_content"] = sum(size for _, size in snapshot_blobs(vault.repo, snap))
        print(json.dumps(row), flush=True)
        rows.append(row)
        if keep:
            _record(progress, {"month": month, "rows": rows})
    if keep:
        _record(progress, {"month": len(paths), "rows": rows})
    else:
        shutil.rmtree(root, ignore_errors=True)
    return rows


def _record(progress: Path, done: dict[str, Any]) -> None:
    tmp = progress.with_suffix(".tmp")
    tmp.write_text(json.dumps(done))
    os.replace(tmp, progress)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| month | stored | × floor | × history | deepest frame | restore newest | "
        "scratch newest | restore oldest | scratch oldest |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['stored'] / r['floor']:.2f}" if r.get("floor") else "-"
        history = f"{r['stored'] / r['history_floor']:.2f}" if r.get("history_floor") else "-"
        lines.append(
            f"| {r['month']} | {r['stored'] / 1e6:.2f} MB | {ratio} | {history} | "
            f"{r['max_frame_depth']} | "
            f"{r['newest_restore_s']:.2f} s | {r['newest_scratch'] / 1e6:.1f} MB | "
            f"{r['oldest_restore_s']:.2f} s | {r['oldest_scratch'] / 1e6:.1f} MB |"
        )
    return "\n".join(lines)


def _export_day(path: Path) -> tuple[int, ...]:
    """(year, month, day) of an exportgen name ending in MM-DD-YYYY.zip."""
    month, day, year = path.stem.rsplit("_", 1)[-1].split("-")
    return int(year), int(month), int(day)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chains", description=__doc__)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--depths", default=str(MAX_DICT_DEPTH), help="e.g. 12,48")
    parser.add_argument("--every", type=int, default=12)
    parser.add_argument(
        "--compact-every", type=int, default=0, help="run compact after every N-th month"
    )
    parser.add_argument(
        "--rebase-factor",
        type=float,
        default=compactplan.REBASE_FACTOR,
        help="compact rebases once the newest snapshot's scratch passes this many times its "
        "content (0: never)",
    )
    parser.add_argument(
        "--rebase-depth",
        type=int,
        default=compactplan.REBASE_DEPTH,
        help="compact rebases once a frame holding the newest snapshot's blobs is this deep "
        "(0: never)",
    )
    parser.add_argument(
        "--rebase-span",
        type=int,
        default=compactplan.REBASE_SPAN,
        help="a rebase for depth moves the blobs in frames at least rebase-depth minus this deep",
    )
    parser.add_argument(
        "--history", action="store_true", help="also the floor of every month so far"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exports", type=Path, help="folder of the series (kept; else a temp)")
    parser.add_argument(
        "--work",
        type=Path,
        help="folder of the vaults, kept: a run stopped part way goes on from where it was",
    )
    args = parser.parse_args(argv)
    compactplan.REBASE_FACTOR = args.rebase_factor if args.rebase_factor > 0 else float("inf")
    compactplan.REBASE_DEPTH = args.rebase_depth if args.rebase_depth > 0 else MAX_DICT_DEPTH + 1
    compactplan.REBASE_SPAN = args.rebase_span
    with tempfile.TemporaryDirectory(prefix="lkvault-chains-") as tmp:
        folder = args.exports or Path(tmp) / "exports"
        paths = sorted(folder.glob("*.zip"), key=_export_day)
        if len(paths) != args.months:
            paths = generate_series(folder, months=args.months, scale=args.scale, seed=args.seed)
        for depth in (int(d) for d in args.depths.split(",")):
            floors = folder / "floors.json" if args.exports else None
            work = args.work or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            rows = run_depth(
                paths,
                depth,
                args.every,
                work,
                args.compact_every,
                floors,
                args.seed,
                keep=args.work is not None,
                history=args.history,
            )
            print(f"\n{args.scale} x {args.months} months, chains at most {depth} deep\n")
            print(markdown(rows), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
