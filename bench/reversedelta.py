"""A reverse delta at rebase, measured offline: what storing history against the newest costs.

``build`` stores a monthly series with compact every ``--compact-every`` months (bench.chains'
seeded keys) and keeps a copy of the vault before each compact (``WORK/before-MM``).
``measure`` compacts two copies of one such vault (``WORK/scratch``), with and without the
rebase, and compresses at zstd -19 the frames down the moved blobs' dictionary chains: the
depth-0 frames they start from ("bases", variant A: against the moved blobs) and the
dictionary frames between ("chain frames", variant B: against the moved blobs followed by
their own dictionary, at the same depth); nothing is written back. docs/benchmarks.md, "A
reverse delta at rebase: measured offline".

    python -m bench.reversedelta build --exports /work/rebase2-exports --months 120 --work DIR
    python -m bench.reversedelta measure --work DIR --month 48
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lkvault.vault import Environment, Vault
from lkvault.vault.format import zstdframe
from lkvault.vault.operations.usage import snapshot_blobs
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.index import FrameRef
from lkvault.vault.repository.pack import MAX_DICT_BLOBS

from bench.chains import PASSPHRASE, _export_day, stored_bytes

DICTIONARY_CAP = 16 * 1024 * 1024  # pack.MAX_DICT_SIZE: the most a frame's dictionary holds
LEVEL = 19

Key = tuple[bytes, int]


def open_vault(root: Path, state: Path, seed: int = 1) -> Vault:
    return Vault.open(
        str(root), PASSPHRASE, Environment(rng=random.Random(seed).randbytes, state_dir=state)
    )


def build(exports: Path, months: int, work: Path, compact_every: int, seed: int) -> None:
    paths = sorted(exports.glob("*.zip"), key=_export_day)[:months]
    root, state = work / "vault", work / "state"
    environment = Environment(rng=random.Random(seed).randbytes, state_dir=state)
    vault = Vault.init(str(root), PASSPHRASE, environment)
    for month, path in enumerate(paths, start=1):
        vault.snapshot(path)
        if month % compact_every == 0:
            shutil.copytree(root, work / f"before-{month:03d}")
            vault.compact()
            print(json.dumps({"month": month, "stored": stored_bytes(root)}), flush=True)


def frames_of(vault: Vault) -> dict[Key, FrameRef]:
    return {
        (pack_id, entry.offset): FrameRef(pack_id, entry)
        for pack_id, entries in vault.repo.index.packs.items()
        for entry in entries
    }


def frame_bytes(vault: Vault) -> int:
    return sum(ref.entry.length for ref in frames_of(vault).values())


def frame_content(vault: Vault, ref: FrameRef) -> bytes:
    read = vault.repo.reader.read_blob
    return b"".join(read(blob.type, blob.id) for blob in ref.entry.blobs)


def compact_copy(source: Path, target: Path, state: Path, rebase: bool) -> Vault:
    """A copy of ``source`` compacted with or without the chain policy's rebase."""
    from lkvault.vault.operations import compactplan

    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(source, target)
    vault = open_vault(target, state)
    saved = compactplan.REBASE_DEPTH, compactplan.REBASE_FACTOR
    if not rebase:
        compactplan.REBASE_DEPTH, compactplan.REBASE_FACTOR = 10**6, float("inf")
    try:
        vault.compact()
    finally:
        compactplan.REBASE_DEPTH, compactplan.REBASE_FACTOR = saved
    return open_vault(target, state)


def measure(work: Path, month: int) -> dict[str, Any]:
    """The rebase of the compact after ``month`` and what a reverse delta would make of it."""
    before_root = work / f"before-{month:03d}"
    scratch = work / "scratch"
    before = open_vault(before_root, scratch / "state-before")
    after = compact_copy(before_root, scratch / "after", scratch / "state-after", rebase=True)
    plain = compact_copy(before_root, scratch / "plain", scratch / "state-plain", rebase=False)
    newest = after.snapshots()[-1]
    order = {b: place for place, (b, _) in enumerate(snapshot_blobs(after.repo, newest))}
    old, new = before.repo.index, after.repo.index
    # The moved blobs: the newest snapshot's blobs in a dictionary frame before, at depth 0 after.
    moved = {
        b
        for b in order
        if (o := old.get(b)) is not None
        and o.frame.entry.has_dictionary
        and (n := new.get(b)) is not None
        and not n.frame.entry.has_dictionary
    }
    whole = {frame_key(loc.frame): loc.frame for b in moved if (loc := new.get(b)) is not None}
    # Down each moved blob's chain (its old frame's dictionary, then the frames holding
    # those blobs in the compacted vault) to the depth-0 frames it started from.
    bases: dict[Key, FrameRef] = {}
    supersedes: dict[Key, set[bytes]] = {}
    named: dict[Key, set[bytes]] = {}  # the blobs of each base that a chain's dictionary names
    chain: dict[Key, FrameRef] = {}  # the dictionary frames between the moved blobs and a base
    for blob_id in moved:
        start = old.get(blob_id)
        assert start is not None
        pending = [ref.id for ref in start.frame.entry.dictionary]
        seen: set[Key] = set()
        while pending:
            named_id = pending.pop()
            location = new.get(named_id)
            if location is None:
                continue
            key = frame_key(location.frame)
            if not location.frame.entry.has_dictionary and key not in whole:
                named.setdefault(key, set()).add(named_id)
            if key in seen or key in whole:
                continue
            seen.add(key)
            if location.frame.entry.has_dictionary:
                chain[key] = location.frame
                supersedes.setdefault(key, set()).add(blob_id)
                pending.extend(ref.id for ref in location.frame.entry.dictionary)
            else:
                bases[key] = location.frame
                supersedes.setdefault(key, set()).add(blob_id)
    reencoded = [
        reencode(after, ref, supersedes[k], named.get(k, set()), order) for k, ref in bases.items()
    ]
    inverted = [
        reencode(after, ref, supersedes[k], set(), order, keep=True) for k, ref in chain.items()
    ]
    depths = new_depths(after, set(bases), whole)
    result: dict[str, Any] = {
        "month": month,
        "frame_bytes_before": frame_bytes(before),
        "frame_bytes_compact_without_rebase": frame_bytes(plain),
        "frame_bytes_compact_with_rebase": frame_bytes(after),
        "moved_blobs": len(moved),
        "moved_raw": sum(loc.length for b in moved if (loc := new.get(b)) is not None),
        "whole_frames": len(whole),
        "whole_frames_bytes": sum(ref.entry.length for ref in whole.values()),
        "chain_frames": len(chain),
        "chain_frames_bytes": sum(ref.entry.length for ref in chain.values()),
        "chain_frames_raw": sum(ref.entry.raw_size for ref in chain.values()),
        "bases": len(bases),
        "bases_raw": sum(r["raw"] for r in reencoded),
        "bases_stored": sum(r["stored"] for r in reencoded),
        "bases_reencoded": sum(r["estimate"] for r in reencoded),
        "chain_against_newest": sum(r["against_newest_19"] for r in inverted),
        "chain_against_newest_and_own": sum(r["against_both_19"] for r in inverted),
        "chain_alone_19": sum(r["alone_19"] for r in inverted),
        "chain_against_own_19": sum(r["against_own_19"] for r in inverted),
        "chain_reencode_cpu_s": round(sum(r["cpu_s"] for r in inverted), 1),
        "frames": reencoded,
        **depths,
    }
    result["rebase_added"] = (
        result["frame_bytes_compact_with_rebase"] - result["frame_bytes_compact_without_rebase"]
    )
    result["base_saving"] = result["bases_stored"] - result["bases_reencoded"]
    result["base_reverse_delta_added"] = result["rebase_added"] - result["base_saving"]
    # A: the bases against the moved blobs. B: the chain frames against the moved blobs and
    # their own dictionary, at the same depths.
    result["chain_saving"] = result["chain_against_own_19"] - result["chain_against_newest_and_own"]
    result["chain_reverse_delta_added"] = result["rebase_added"] - result["chain_saving"]
    bands: dict[str, list[float]] = {}  # by depth, 12 at a time: frames, content, saving, CPU
    for row in inverted:
        low = (row["depth"] - 1) // 12 * 12 + 1
        band = bands.setdefault(f"{low}-{low + 11}", [0, 0, 0, 0.0])
        band[0] += 1
        band[1] += row["raw"]
        band[2] += row["against_own_19"] - row["against_both_19"]
        band[3] += row["cpu_s"]
    result["chain_by_depth"] = {
        key: bands[key] for key in sorted(bands, key=lambda k: int(k.split("-")[0]))
    }
    return result


def reencode(
    vault: Vault,
    ref: FrameRef,
    superseding: set[bytes],
    named: set[bytes],
    order: dict[bytes, int],
    keep: bool = False,
) -> dict[str, Any]:
    """One frame at zstd -19: alone, against the blobs of the newest snapshot that
    supersede it (in its read order, within the dictionary cap), and with ``keep`` against
    those followed by its own dictionary; ``named``: its blobs a chain starts from."""
    index = vault.repo.index
    read = vault.repo.reader.read_blob
    content = frame_content(vault, ref)
    chosen: list[bytes] = []
    size = 0
    for blob_id in sorted(superseding, key=order.__getitem__):
        location = index.get(blob_id)
        assert location is not None
        if size + location.length > DICTIONARY_CAP or len(chosen) >= MAX_DICT_BLOBS:
            break
        chosen.append(blob_id)
        size += location.length
    dictionary = b"".join(read(index.get(b).type, b) for b in chosen)  # type: ignore[union-attr]
    alone = len(zstdframe.compress([content], LEVEL, len(content)))
    against = len(zstdframe.compress([content], LEVEL, len(content), dictionary))
    row: dict[str, Any] = {
        "raw": ref.entry.raw_size,
        "depth": ref.entry.depth,
        "stored": ref.entry.length,
        "alone_19": alone,
        "against_newest_19": against,
        "dictionary": len(dictionary),
        "dictionary_blobs": len(chosen),
        "estimate": ref.entry.length - alone + against,
    }
    if keep:
        own = b"".join(read(d.type, d.id) for d in ref.entry.dictionary)
        both = (dictionary + own)[-DICTIONARY_CAP:]
        row["against_own_19"] = len(zstdframe.compress([content], LEVEL, len(content), own))
        start = time.process_time()
        row["against_both_19"] = len(zstdframe.compress([content], LEVEL, len(content), both))
        row["cpu_s"] = time.process_time() - start
        return row
    old_part = b"".join(read(blob.type, blob.id) for blob in ref.entry.blobs if blob.id in named)
    row["live_raw"] = sum(blob.length for blob in ref.entry.blobs if blob.id in order)
    row["superseded_raw"] = len(old_part)  # the blobs the moved blobs' chains start from
    row["superseded_alone_19"] = len(zstdframe.compress([old_part], LEVEL, len(old_part)))
    row["superseded_against_newest_19"] = len(
        zstdframe.compress([old_part], LEVEL, len(old_part), dictionary)
    )
    return row


def new_depths(vault: Vault, bases: set[Key], whole: dict[Key, FrameRef]) -> dict[str, Any]:
    """The depths every frame would have with ``bases`` compressed against the ``whole``
    frames (depth 1), and the deepest frame each snapshot's restore would then decode."""
    index = vault.repo.index
    frames = frames_of(vault)
    depth: dict[Key, int] = {}
    for key, ref in sorted(frames.items(), key=lambda item: item[1].entry.depth):
        if key in bases:
            depth[key] = 1
        elif not ref.entry.has_dictionary:
            depth[key] = 0
        else:
            holders = [index.get(d.id) for d in ref.entry.dictionary]
            depth[key] = 1 + max(depth[frame_key(h.frame)] for h in holders if h is not None)
    deepest: dict[str, list[int]] = {}
    for number, snapshot in enumerate(vault.snapshots(), start=1):
        touched = {
            frame_key(location.frame)
            for b, _ in snapshot_blobs(vault.repo, snapshot)
            if (location := index.get(b)) is not None
        }
        deepest[str(number)] = [
            max(frames[k].entry.depth for k in touched),
            max(depth[k] for k in touched),
        ]
    return {
        "max_depth_now": max(ref.entry.depth for ref in frames.values()),
        "max_depth_reverse": max(depth.values()),
        "frames_deeper": sum(1 for k, ref in frames.items() if depth[k] > ref.entry.depth),
        "frames_over_48": sum(1 for d in depth.values() if d > 48),
        "snapshot_deepest_now_reverse": deepest,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reversedelta", description=__doc__)
    parser.add_argument("action", choices=("build", "measure"))
    parser.add_argument("--exports", type=Path)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--compact-every", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--month", type=int, default=48, help="the compact that rebased")
    args = parser.parse_args(argv)
    if args.action == "build":
        args.work.mkdir(parents=True, exist_ok=True)
        build(args.exports, args.months, args.work, args.compact_every, args.seed)
    else:
        print(json.dumps(measure(args.work, args.month), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
