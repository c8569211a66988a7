"""Peak memory of snapshotting a 2 GB export with a 1.5 GB member, twice, through the CLI.

Issue 3 asks that memory stays bounded for such an export. This writes a zip with a 1.5 GB
messages.csv and 0.5 GB of other members (Python's zipfile, deflate level 6, zip64), stores
it, stores a second version with rows edited in place across the big member (so its new
chunks are compressed against the ones they replace), restores the second, and prints each
command's wall time and peak RSS (GNU time). Run: ``python3 bench/bigexport.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

BIG_MEMBER = 1536 * 1024 * 1024
OTHER_MEMBERS = 512 * 1024 * 1024
ROWS_PER_BLOCK = 20_000


def rows_block(r: random.Random, start: int, edit: int) -> bytes:
    lines = []
    for i in range(start, start + ROWS_PER_BLOCK):
        version = "v2" if edit and i % edit == 0 else "v1"
        lines.append(
            f"2-{i:012d},Conversation {i % 977},Member {i % 50021},"
            f"https://www.linkedin.com/in/member-{i % 50021},{r.getrandbits(32):08x},"
            f"2025-0{1 + i % 9}-1{i % 10} 10:{i % 60:02d}:00 UTC,,Hello {version} "
            f"{r.getrandbits(64):016x} about the role at company {i % 3001},INBOX\n"
        )
    return "".join(lines).encode()


def write_export(path: Path, edit: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, size in (("messages.csv", BIG_MEMBER), ("Connections.csv", OTHER_MEMBERS)):
            r = random.Random(name)  # the same rows in both versions, except the edits
            with zf.open(name, "w", force_zip64=True) as out:
                written = row = 0
                out.write(
                    b"CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,"
                    b"SUBJECT,CONTENT,FOLDER\n"
                )
                while written < size:
                    block = rows_block(r, row, edit)
                    out.write(block)
                    written += len(block)
                    row += ROWS_PER_BLOCK


def run(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command, measured by GNU time."""
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return time.monotonic() - started, int(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/bigexport"))
    parser.add_argument("--lkvault", default=shutil.which("lkvault") or "lkvault")
    options = parser.parse_args()
    out = options.out
    shutil.rmtree(out / "vault", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    first, second = (
        out / "Complete_LinkedInDataExport_01-15-2026.zip",
        out / ("Complete_LinkedInDataExport_02-15-2026.zip"),
    )
    for path, edit in ((first, 0), (second, 997)):
        if not path.exists():
            print(f"writing {path.name} ...", flush=True)
            write_export(path, edit)
    env = dict(
        os.environ,
        LKVAULT_VAULT=str(out / "vault"),
        LKVAULT_PASSWORD="bench only",
        LKVAULT_STATE_DIR=str(out / "state"),
    )
    lk = options.lkvault
    run([lk, "init"], env)
    for label, args in (
        (f"snapshot {first.name} ({first.stat().st_size / 1e9:.2f} GB)", ["snapshot", str(first)]),
        (f"snapshot {second.name} (rows edited)", ["snapshot", str(second)]),
        ("restore latest", ["restore", "latest", "-o", str(out / "restored.zip"), "--force"]),
    ):
        seconds, peak_kib = run([lk, *args], env)
        print(f"{label}: {seconds:.1f} s, peak RSS {peak_kib / 1024:.0f} MiB", flush=True)
    same = (out / "restored.zip").stat().st_size == second.stat().st_size
    print(f"restored size matches: {same}")
    stored = sum(f.stat().st_size for f in (out / "vault").rglob("*") if f.is_file())
    zips = (first.stat().st_size + second.stat().st_size) / 1e9
    print(f"vault: {stored / 1e6:.1f} MB for {zips:.2f} GB of zips")


if __name__ == "__main__":
    main()
