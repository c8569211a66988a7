"""The reliability campaign in one command, and its figures in docs/reliability.md.

    python -m tests.reliability.campaign            # the fast part, as CI runs it
    python -m tests.reliability.campaign --long     # every crash point, big fuzz budgets,
                                                    # atheris; writes docs/reliability.md

It runs ``pytest tests/reliability`` (with LKVAULT_RELIABILITY=long for the long run), then in
the long run the atheris fuzzers for a bounded time, adds up what each sweep reported (crash
points tried, damages detected, hostile vaults refused, inputs fuzzed) and prints them. With
``--long`` (unless ``--no-doc``) the figures replace the "Last figures" block of
docs/reliability.md. Exit status 0 only when every part passed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "reliability.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def run_pytest(long: bool, figures: Path, junit: Path) -> dict[str, int]:
    env = {**os.environ, "LKVAULT_RELIABILITY_FIGURES": str(figures)}
    env["LKVAULT_RELIABILITY"] = "long" if long else "fast"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "tests/reliability",
    ]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, cwd=REPO, env=env, check=False)
    suite = ElementTree.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def run_atheris(target: str, seconds: int) -> tuple[int, bool]:
    """(inputs run, passed) of one atheris target; (0, True) when atheris is missing."""
    try:
        import atheris  # noqa: F401
    except ImportError:
        print(f"atheris is not installed: skipping the {target} fuzzer", flush=True)
        return 0, True
    command = [sys.executable, "-m", "tests.reliability.fuzz", target, f"--seconds={seconds}"]
    print("$", " ".join(command[1:]), flush=True)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    found = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
    runs = re.findall(r"Done (\d+) runs", output)
    inputs = int(found[-1]) if found else int(runs[-1]) if runs else 0
    if done.returncode != 0:
        print(output[-4000:], file=sys.stderr)
    return inputs, done.returncode == 0


def add_up(figures: Path) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if figures.exists():
        for line in figures.read_text().splitlines():
            entry = json.loads(line)
            sweep = entry.pop("sweep")
            entry.pop("mode", None)
            for key, value in entry.items():
                totals[sweep][key] += int(value)
    return {k: dict(v) for k, v in totals.items()}


def summary(long: bool, tests: dict[str, int], totals: dict, atheris: dict, minutes: float) -> str:
    crash = totals.get("crash", {})
    corruption = totals.get("corruption", {})
    zips = totals.get("fuzz-zip", {})
    csvs = totals.get("fuzz-csv", {})
    hostile = totals.get("hostile-vault", {})
    output = {name: totals.get(name, {}) for name in OUTPUT_FAMILIES}
    failures = tests["failures"] + tests["errors"] + sum(1 for _, ok in atheris.values() if not ok)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        f"Run: `{'--long' if long else 'fast'}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} "
        f"UTC, commit {commit or '?'} plus the working tree, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {minutes:.0f} minutes.",
        "",
        "| sweep | figure |",
        "|---|---|",
        f"| crash points tried (SIGKILL before and half-way through a write) | "
        f"{crash.get('crash_points', 0)} (over {crash.get('writes', 0)} writes counted) |",
        f"| damages applied to stored files / detected (the rest: locks, removed as stale, "
        f"and cuts that left the same JSON document) | {corruption.get('damages', 0)} / "
        f"{corruption.get('detected', 0)} |",
        f"| hostile vaults refused or reported | {hostile.get('refused', 0)} |",
        f"| zip inputs fuzzed end to end (hypothesis) | {zips.get('inputs', 0)} "
        f"({zips.get('stored', 0)} stored and restored exactly, {zips.get('refused', 0)} "
        f"refused in one line) |",
        f"| CSV exports fuzzed (hypothesis) | {csvs.get('inputs', 0)} |",
        *output_lines(output),
    ]
    lines += store_hardening_rows(totals)
    for target, (inputs, _ok) in atheris.items():
        lines.append(f"| {target} inputs fuzzed by atheris (coverage-guided) | {inputs} |")
    lines += [
        f"| tests | {tests['passed']} passed, {tests['skipped']} skipped, "
        f"{tests['failures'] + tests['errors']} failed |",
        f"| **failures** | **{failures}** |",
    ]
    return "\n".join(lines)


def store_hardening_rows(totals: dict) -> list[str]:
    """The storage families of issue 22: namespaced locks, litter, key slots, read-only."""
    locks = totals.get("namespaced-locks", {})
    litter = totals.get("sync-litter", {})
    slots = totals.get("costly-key-slots", {})
    read_only = totals.get("read-only-vault", {})
    return [
        f"| namespaced lock holders: rounds / commands turned away busy / prunes started in "
        f"another PID namespace beside a running snapshot | {locks.get('rounds', 0)} / "
        f"{locks.get('turned_away', 0)} / {locks.get('prunes_beside_a_snapshot', 0)} |",
        f"| sync-tool litter files planted (ignored by every command) / set aside by repair | "
        f"{litter.get('files', 0)} / {litter.get('set_aside', 0)} |",
        f"| costly key slots planted / reported by verify (never derived) | "
        f"{slots.get('planted', 0)} / {slots.get('reported', 0)} |",
        f"| commands run on a read-only vault | {read_only.get('commands', 0)} |",
    ]


# The families of issue 22's output side: what reaches a file, the terminal or the browser.
OUTPUT_FAMILIES = (
    "temp-files",
    "extraction-clashes",
    "terminal-escapes",
    "startup-signals",
    "cookie-scope",
    "url-schemes",
)


def output_lines(figures: dict[str, dict[str, int]]) -> list[str]:
    temp, clash = figures["temp-files"], figures["extraction-clashes"]
    text, signals = figures["terminal-escapes"], figures["startup-signals"]
    cookie, urls = figures["cookie-scope"], figures["url-schemes"]
    return [
        f"| restore/extract/contacts outputs beside a planted temporary file or link / onto a "
        f"device, pipe, folder or link (never written through, never replaced) | "
        f"{temp.get('planted', 0)} / {temp.get('special_targets', 0)} |",
        f"| extraction name clashes (members skipped and named, the rest written) | "
        f"{clash.get('cases', 0)} ({clash.get('skipped', 0)} skipped) |",
        f"| commands fed an export full of terminal escapes (none reached the terminal) | "
        f"{text.get('commands', 0)} |",
        f"| signals sent at start-up (exit 130/143, one line) | {signals.get('signals', 0)} |",
        f"| browse cookie: other-port visits / replays refused | "
        f"{cookie.get('ports_probed', 0)} / {cookie.get('replays_refused', 0)} |",
        f"| URLs with dangerous or disguised schemes shown as text / pages checked | "
        f"{urls.get('urls', 0)} / {urls.get('pages', 0)} |",
    ]


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    if START not in doc or END not in doc:
        raise SystemExit(f"{DOC} has no {START} ... {END} block to replace")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.campaign")
    parser.add_argument("--long", action="store_true", help="the long run (see the docstring)")
    parser.add_argument(
        "--fuzz-seconds",
        type=int,
        default=600,
        help="atheris time for the zip target in the long run (CSV: half)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/reliability.md")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lkvault-campaign-") as work:
        figures, junit = Path(work) / "figures.jsonl", Path(work) / "junit.xml"
        tests = run_pytest(args.long, figures, junit)
        atheris: dict[str, tuple[int, bool]] = {}
        if args.long:
            atheris["zip"] = run_atheris("zip", args.fuzz_seconds)
            atheris["CSV export"] = run_atheris("export", max(1, args.fuzz_seconds // 2))
            atheris = {k: v for k, v in atheris.items() if v[0] or not v[1]}
        text = summary(
            args.long, tests, add_up(figures), atheris, (time.monotonic() - started) / 60
        )
    print()
    print(text)
    if args.long and not args.no_doc:
        write_doc(text)
        print(f"\nwritten to {DOC.relative_to(REPO)}")
    failed = tests["failures"] + tests["errors"] or any(not ok for _, ok in atheris.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
