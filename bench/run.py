"""Benchmark lkvault against restic and borg on synthetic LinkedIn export series.

One command on a fresh machine runs everything::

    python3 bench/run.py [--quick] [--scales small,medium,large] [--months 12,36]

It creates a venv under bench/out/ with the project and bench/requirements.txt installed,
installs restic, borg, zip and 7-Zip from Debian packages when they are missing (as root),
generates the export series (cached under bench/out/series/), runs every tool on the same
files, and writes docs/benchmarks.md, docs/benchmarks.json and the charts. Results are merged
into docs/benchmarks.json by run, so scales can be run separately (``--scales large`` later)
and the page is regenerated from all of them (``--render-only`` regenerates it alone).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VENV = OUT / "venv"
DOCS = ROOT / "docs"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"
START = date(2025, 1, 15)
SEED = 1
SCALE_ORDER = ("small", "medium", "large")
DEFAULT_MONTHS = {"small": [12, 36], "medium": [12, 36], "large": [12, 36]}
QUICK_MONTHS = {"small": [4], "medium": [3], "large": [2]}
PRODUCERS = ("python", "infozip-6", "infozip-9", "7z")
ANALYSIS_START = "<!-- analysis:start (kept when the page is regenerated) -->"
ANALYSIS_END = "<!-- analysis:end -->"

# --------------------------------------------------------------------------- bootstrap


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _stamp() -> str:
    digest = hashlib.sha256()
    for p in (REQUIREMENTS, ROOT / "pyproject.toml", ROOT / "setup.py"):
        digest.update(p.read_bytes())
    return digest.hexdigest()


def _tree_version() -> str:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "vault", "cli"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return commit + (" with uncommitted changes in vault/ or cli/" if dirty else "")


def bootstrap(argv: Sequence[str]) -> None:
    """Re-run this script inside bench/out/venv, creating it and installing the project."""
    if os.environ.get("LKVAULT_BENCH_IN_VENV") == "1":
        return
    py = _venv_python()
    stamp_file = VENV / ".bench-stamp"
    if not py.exists():
        print(f"creating {VENV}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if not stamp_file.exists() or stamp_file.read_text() != _stamp():
        print(
            "installing bench requirements and the project's dependencies",
            file=sys.stderr,
            flush=True,
        )
        subprocess.run([*pip, "-r", str(REQUIREMENTS), str(ROOT)], check=True)
        stamp_file.write_text(_stamp())
    # The tree as it is now (not editable: a run measures one fixed version), unless asked to
    # keep the installed one (e.g. a second run while the first still uses the venv).
    if not {"--keep-install", "--render-only"} & set(argv):
        print("installing lkvault from the working tree", file=sys.stderr, flush=True)
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(ROOT)], check=True)
        (VENV / ".lkvault-commit").write_text(
            _tree_version() + ", installed " + datetime.now().strftime("%Y-%m-%d %H:%M")
        )
    env = {
        **os.environ,
        "LKVAULT_BENCH_IN_VENV": "1",
        "LKVAULT_BENCH_COMMAND": " ".join(["python3", "bench/run.py", *argv]),
    }
    os.execve(str(py), [str(py), str(Path(__file__).resolve()), *argv], env)


# Everything below runs inside the venv.
sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- formatting


def mb(n: float | None) -> str:
    return "—" if n is None else f"{n / 1e6:.2f} MB"


def secs(s: float | None) -> str:
    return "—" if s is None else (f"{s:.2f} s" if s < 100 else f"{s:.0f} s")


def rss(kib: int | None) -> str:
    return "—" if kib is None else f"{kib * 1024 / 1e6:.0f} MB"


def ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _median(values: Sequence[float]) -> float | None:
    vals = sorted(values)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


# --------------------------------------------------------------------------- machine


def installed_version() -> str:
    """The lkvault commit installed in the bench venv (as measured), or the tree's."""
    stamp = VENV / ".lkvault-commit"
    return stamp.read_text().strip() if stamp.exists() else _tree_version()


def measured_version(run: dict[str, Any]) -> str:
    """Which lkvault a run's lkvault figures come from (runs before this was recorded: unknown)."""
    return run["tools"].get("lkvault", {}).get("version", "an earlier, unrecorded commit")


def machine_info() -> dict[str, Any]:
    from bench.tools import system_tool_versions

    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = system_tool_versions()
    try:
        import importlib.metadata as md

        versions["lkvault"] = md.version("lkvault")
        versions["zstandard"] = md.version("zstandard")
        versions["cryptography"] = md.version("cryptography")
    except Exception:  # noqa: BLE001 - informational only
        pass
    accel = (
        subprocess.run(
            # -I: the installed package, not a source tree's vault/ in the current folder
            [str(_venv_python()), "-I", "-c", "import lkvault.vault.format._cdc"],
            capture_output=True,
        ).returncode
        == 0
    )
    commit = installed_version()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_bytes": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "chunker_accelerator": accel,
        "commit": commit,
    }


# --------------------------------------------------------------------------- series


_GENERATOR: list[str] = []


def generator_version() -> str:
    """Short hash of bench/exportgen.py as this process imported it (the series cache key)."""
    if not _GENERATOR:
        source = (ROOT / "bench" / "exportgen.py").read_bytes()
        import bench.exportgen  # noqa: F401 - imported right after hashing its source

        _GENERATOR.append(hashlib.sha256(source).hexdigest()[:10])
    return _GENERATOR[0]


def series(
    scale: str,
    months: int,
    producer: str = "python",
    *,
    style: str = "default",
    out: Path = OUT,
) -> list[Path]:
    """The first ``months`` exports of the cached series under ``out`` (generated when
    missing); a generator style other than the default has a folder of its own."""
    version = generator_version()
    from bench.exportgen import add_months, export_name, generate_export

    kind = producer if style == "default" else style
    folder = out / "series" / f"{scale}-{kind}-s{SEED}-{version}"
    paths = []
    for k in range(months):
        d = add_months(START, k)
        path = folder / export_name(d)
        if not path.exists():
            t = time.perf_counter()
            generate_export(
                path, date=d, scale=scale, seed=SEED, producer=producer, month_index=k, style=style
            )
            log(
                f"  generated {path.name} ({scale}, {kind}): {mb(path.stat().st_size)} "
                f"in {time.perf_counter() - t:.0f} s"
            )
        paths.append(path)
    return paths


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- running the tools


def _m(m: Any) -> dict[str, Any]:
    d = m.summary()
    d["load"] = os.getloadavg()[0]
    return d


def run_tool(tool: Any, files: list[Path], *, profile_dir: Path | None) -> dict[str, Any]:
    """One tool over the whole series: init, a backup per month, two restores, a verify."""
    from bench.measure import CommandFailed, same_bytes, tree_bytes, tree_files
    from bench.tools import Lkvault

    result: dict[str, Any] = {"label": tool.label, "flags": tool.flags, "months": []}
    tool.prepare()
    backups = []
    try:
        result["init"] = _m(tool.init())
        if tool.name == "lkvault":
            result["open"] = _m(tool.open_only())
        for i, path in enumerate(files):
            if profile_dir is not None and i == len(files) - 1 and tool.name == "lkvault":
                # the vault as it was before the newest snapshot, for the profiled run
                shutil.rmtree(profile_dir, ignore_errors=True)
                shutil.copytree(tool.work, profile_dir, symlinks=True)
            # the time floor of this export, measured right before the tool's snapshot of
            # it so that both run under the same load
            floor = time_floor(path) if tool.name == "lkvault" else None
            b = tool.backup(path, f"m{i + 1:02d}")
            backups.append(b)
            stored = tree_bytes(tool.repo)
            month = {
                "file": path.name,
                "backup": _m(b.measurement),
                "snapshot": b.snapshot,
                "stored_bytes": stored,
            }
            if floor is not None:
                month["time_floor"] = floor
            result["months"].append(month)
            log(
                f"    {tool.label:<18} {i + 1:>2}/{len(files)} {path.name}: "
                f"{b.measurement.wall_s:6.2f} s, {b.measurement.rss_mb:5.0f} MB RSS, "
                f"stored {mb(stored)}"
            )
        result["final_stored"] = result["months"][-1]["stored_bytes"]
        maintained = tool.maintain()
        if maintained is not None:
            result["maintenance"] = _m(maintained)
            result["stored_without_maintenance"] = result["final_stored"]
            result["final_stored"] = tree_bytes(tool.repo)
            log(
                f"    {tool.label:<18} maintenance: {maintained.wall_s:.2f} s, "
                f"{maintained.rss_mb:.0f} MB RSS, stored {mb(result['final_stored'])}"
            )
        result["repo_files"] = tree_files(tool.repo)
        result["client_bytes"] = tree_bytes(tool.client)
        for which, idx in (("restore_newest", len(files) - 1), ("restore_oldest", 0)):
            target = tool.work / f"restored-{which}"
            m, out = tool.restore(backups[idx], files[idx], target)
            rec = _m(m)
            rec["identical"] = same_bytes(out, files[idx])
            result[which] = rec
            shutil.rmtree(target, ignore_errors=True)
            log(
                f"    {tool.label:<18} {which}: {m.wall_s:.2f} s, {m.rss_mb:.0f} MB RSS, "
                f"identical={rec['identical']}"
            )
        m = tool.verify()
        result["verify"] = _m(m)
        log(f"    {tool.label:<18} verify: {m.wall_s:.2f} s, {m.rss_mb:.0f} MB RSS")
        if isinstance(tool, Lkvault):
            result["parallel"] = parallel_figures(tool, backups[-1], files)
    except CommandFailed as exc:
        result["error"] = str(exc)
        log(f"    {tool.label}: FAILED: {exc}")
    finally:
        tool.cleanup()
    return result


PARALLEL_WORKERS = (1, 2)


def parallel_figures(tool: Any, newest: Any, files: list[Path]) -> dict[str, Any]:
    """Issue 17's figures for the newest export, one after the other beside a time floor of
    their own: its restore with LKVAULT_WORKERS=1 and =2 (same vault, same file), the proof
    step of its snapshot at 1 and 2 workers (bench/proofstep.py, in its own process, the
    members unchanged since the export before it skipped as a monthly snapshot skips them),
    and lkvault's deflate against stock zlib on one core at level 6 on its CSV members
    (bench/deflate_speed.py)."""
    from bench.measure import run_measured, same_bytes

    path = files[-1]
    record: dict[str, Any] = {"time_floor": time_floor(path)}
    for workers in PARALLEL_WORKERS:
        target = tool.work / f"restored-workers-{workers}"
        m, out = tool.restore(newest, path, target, workers=workers)
        rec = _m(m)
        rec["identical"] = same_bytes(out, path)
        record[f"restore_workers_{workers}"] = rec
        shutil.rmtree(target, ignore_errors=True)
        log(f"    lkvault restore newest, {workers} worker(s): {m.wall_s:.2f} s")
    earlier = ["--previous", str(files[-2])] if len(files) > 1 else []
    for workers in PARALLEL_WORKERS:
        argv = [sys.executable, str(ROOT / "bench" / "proofstep.py"), str(path)]
        m = run_measured([*argv, "--workers", str(workers), *earlier])
        rec = _m(m)
        rec["proof"] = json.loads(m.stdout.strip().splitlines()[-1])
        record[f"proof_workers_{workers}"] = rec
        log(f"    lkvault proof step, {workers} worker(s): {rec['proof']['wall_s']:.2f} s")
    m = run_measured(
        [sys.executable, "-m", "bench.deflate_speed", "--export", str(path), "--repeat", "3"]
        + ["--json"],
        cwd=ROOT,
    )
    record["deflate_speed"] = json.loads(m.stdout.strip().splitlines()[-1])
    return record


def profile_lkvault(
    command: list[str], vault_copy: Path, newest: Path, out: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Sample one lkvault snapshot (of the newest export into the vault as it was before it)
    and one restore of it with py-spy (all threads; native time is charged to the Python line
    that called into C), falling back to cProfile (main thread only)."""
    from bench.measure import run_measured

    env = {
        **env,
        "LKVAULT_VAULT": str(vault_copy / "repo"),
        "LKVAULT_STATE_DIR": str(vault_copy / "client" / "state"),
        "HOME": str(vault_copy / "client" / "home"),
        "TMPDIR": str(vault_copy / "client" / "tmp"),
    }
    out.mkdir(parents=True, exist_ok=True)
    pyspy = VENV / "bin" / "py-spy"
    profiles: dict[str, Any] = {}
    restored = vault_copy / "restored.zip"
    jobs = {
        "snapshot": ["snapshot", "--json", str(newest)],
        "restore": ["restore", "latest", "-o", str(restored), "--force", "--json"],
    }
    for name, args in jobs.items():
        raw = out / f"{name}.pyspy.txt"
        argv = [
            str(pyspy),
            "record",
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",
            "-o",
            str(raw),
            "--",
            *command,
            *args,
        ]
        m = run_measured(argv, env=env, check=False)
        if m.ok and raw.exists():
            profiles[name] = {
                "tool": "py-spy",
                "wall_s": m.wall_s,
                **summarize_pyspy(raw.read_text()),
            }
        else:
            prof = out / f"{name}.cprofile"
            script = VENV / "bin" / "lkvault"
            m = run_measured(
                [str(_venv_python()), "-m", "cProfile", "-o", str(prof), str(script), *args],
                env=env,
                check=False,
            )
            profiles[name] = {
                "tool": "cProfile (main thread only)",
                "wall_s": m.wall_s,
                **summarize_cprofile(prof),
            }
        log(f"    profiled lkvault {name}: {profiles[name]['wall_s']:.1f} s")
    restored.unlink(missing_ok=True)
    return profiles


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _frame_key(frame: str, with_line: bool) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    f = match["file"]
    for marker in ("site-packages/", "lib/python3"):
        if marker in f:
            f = f.split(marker, 1)[1]
    if with_line and match["line"]:
        return f"{match['func']} ({f}:{match['line']})"
    return f"{match['func']} ({f})"


def summarize_pyspy(raw: str, top: int = 14) -> dict[str, Any]:
    """Self and inclusive shares of sampled (non-idle) time, by function and by line."""
    self_fn: Counter[str] = Counter()
    self_line: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("thread (", "process "))]
        if not frames:
            continue
        total += n
        self_fn[_frame_key(frames[-1], False)] += n
        self_line[_frame_key(frames[-1], True)] += n
        for key in {_frame_key(f, False) for f in frames}:
            incl[key] += n

    def share(c: Counter[str]) -> list[list[object]]:
        return [[k, round(v / total, 4)] for k, v in c.most_common(top)] if total else []

    # inclusive: lkvault's own functions, plus module loading as one line
    imports = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit() and "<frozen importlib._bootstrap>" in stack:
            imports += int(count)
    ours = [
        (k, v)
        for k, v in incl.most_common()
        if re.search(r"\((vault|cli)/", k) and not k.startswith(("<module>", "main (cli/main.py)"))
    ]
    inclusive = [["(importing modules at start-up)", imports]] + ours
    inclusive.sort(key=lambda kv: -int(kv[1]))  # type: ignore[call-overload]
    return {
        "samples": total,
        "self_by_function": share(self_fn),
        "self_by_line": share(self_line),
        "inclusive": [[k, round(int(v) / total, 4)] for k, v in inclusive[:top]] if total else [],
    }


def summarize_cprofile(path: Path, top: int = 14) -> dict[str, Any]:
    import pstats

    if not path.exists():
        return {"samples": 0, "self_by_function": [], "self_by_line": [], "inclusive": []}
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1.0
    by_self = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    by_cum = sorted(raw.items(), key=lambda kv: -kv[1][3])[:top]

    def name(k: Any) -> str:
        return f"{k[2]} ({Path(k[0]).name}:{k[1]})"

    return {
        "samples": 0,
        "self_by_function": [[name(k), round(v[2] / total, 4)] for k, v in by_self],
        "self_by_line": [],
        "inclusive": [[name(k), round(v[3] / total, 4)] for k, v in by_cum],
    }


def time_floor(path: Path) -> dict[str, Any]:
    """Inflating and re-deflating every member of ``path`` with stock zlib, in its own process."""
    from bench.measure import run_measured

    m = run_measured([sys.executable, str(ROOT / "bench" / "timefloor.py"), str(path)])
    record = _m(m)
    record.update(json.loads(m.stdout.strip().splitlines()[-1]))
    return record


def run_one(
    kind: str,
    scale: str,
    months: int,
    producer: str,
    tools: list[str],
    *,
    profile: bool,
    command: list[str],
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    from bench.measure import information_floor
    from bench.tools import make_tool

    files = series(scale, months, producer)
    log(
        f"{kind} {scale} × {months} months ({producer}): {len(files)} files, "
        f"{mb(sum(p.stat().st_size for p in files))}"
    )
    work = OUT / "work" / f"{kind}-{scale}-{months}-{producer}"
    profile_dir = work / "profile-vault" if profile else None
    record: dict[str, Any] = {
        "kind": kind,
        "scale": scale,
        "months": months,
        "producer": producer,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": os.environ.get("LKVAULT_BENCH_COMMAND", "python3 bench/run.py"),
        "generator": generator_version(),
        "files": [{"name": p.name, "bytes": p.stat().st_size} for p in files],
        "tools": {},
    }
    # zstd -19 of a large export takes about an hour on one core: a floor not yet cached is
    # computed in a second process beside the first tool, and is needed only for its results.
    with ProcessPoolExecutor(max_workers=1) as floor_pool:
        pending_floor = floor_pool.submit(information_floor, files[-1], cache=OUT / "floors.json")
        floor_started = time.perf_counter()

        def with_floor(rec: dict[str, Any]) -> dict[str, Any]:
            if "floor" not in rec:
                floor = pending_floor.result()
                log(
                    f"  floor of {files[-1].name}: {mb(floor.raw_bytes)} raw -> "
                    f"{mb(floor.floor_bytes)} (zstd -{floor.level}, {floor.seconds:.0f} s, "
                    f"ready {time.perf_counter() - floor_started:.0f} s after the start)"
                )
                rec["floor"] = floor.__dict__
            return rec

        for name in tools:
            tool = make_tool(name, work, command)
            record["tools"][name] = run_tool(tool, files, profile_dir=profile_dir)
            if name == "lkvault":
                record["tools"][name]["version"] = installed_version()
            if name == "lkvault" and profile_dir is not None and profile_dir.exists():
                record["profile"] = profile_lkvault(
                    command, profile_dir, files[-1], OUT / "profiles" / work.name, tool.env()
                )
                shutil.rmtree(profile_dir, ignore_errors=True)
            if checkpoint is not None:
                checkpoint(with_floor(record))
        with_floor(record)
    shutil.rmtree(work, ignore_errors=True)
    record["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return record


# --------------------------------------------------------------------------- targets


def _walls(tool: dict[str, Any]) -> list[float]:
    return [m["backup"]["wall_s"] for m in tool["months"]]


def targets(run: dict[str, Any]) -> list[list[str]]:
    """The lkvault targets of one run: [target, measured, limit, verdict]."""
    tools = run["tools"]
    lk = tools.get("lkvault")
    rows: list[list[str]] = []
    if not lk or "error" in lk:
        return [["lkvault ran", "failed" if lk else "not run", "", "MISS"]]
    floor = run["floor"]["floor_bytes"]
    r = lk["final_stored"] / floor
    rows.append(
        [
            "stored ≤ 1.3 × floor",
            f"{mb(lk['final_stored'])} = {r:.2f} × floor ({mb(floor)})",
            f"≤ {mb(1.3 * floor)}",
            ("PASS" if r <= 1.3 else "MISS") + f" ({(r / 1.3 - 1) * 100:+.0f} %)",
        ]
    )
    if "stored_without_maintenance" in lk:
        unmaintained = lk["stored_without_maintenance"]
        rows.append(
            [
                "(info) stored without `lkvault compact`",
                f"{mb(unmaintained)} = {unmaintained / floor:.2f} × floor "
                f"(compact: {secs(lk['maintenance']['wall_s'])})",
                "",
                "info",
            ]
        )
    sf = run.get("series_floor")
    if sf:
        rows.append(
            [
                "(info) stored vs the series floor",
                f"{lk['final_stored'] / sf['floor_bytes']:.2f} × series floor "
                f"({mb(sf['floor_bytes'])} = {sf['floor_bytes'] / floor:.2f} × floor)",
                "",
                "info",
            ]
        )
    rows.extend(_floor_targets(lk))
    rows.extend(_parallel_targets(lk))
    borg = tools.get("borg")
    if borg and "error" not in borg:
        pairs = list(zip(_walls(lk), _walls(borg), strict=False))
        slower = [i + 1 for i, (a, b) in enumerate(pairs) if a > b]
        worst = max(a / b for a, b in pairs)
        med = _median([a / b for a, b in pairs]) or 0.0
        cpu = (
            _median(
                [
                    (a["backup"]["user_s"] + a["backup"]["sys_s"])
                    / max(1e-3, b["backup"]["user_s"] + b["backup"]["sys_s"])
                    for a, b in zip(lk["months"], borg["months"], strict=False)
                ]
            )
            or 0.0
        )
        rows.append(
            [
                "each snapshot ≤ borg's time",
                f"{len(pairs) - len(slower)}/{len(pairs)} months; lkvault/borg median "
                f"{med:.2f}×, worst {worst:.2f}× (CPU time: median {cpu:.2f}×)",
                "≤ 1.00× every month",
                ("PASS" if not slower else "MISS") + f" (worst {(worst - 1) * 100:+.0f} %)",
            ]
        )
    restic = tools.get("restic")
    if restic and "error" not in restic:
        for which in ("restore_newest", "restore_oldest"):
            a, b = lk[which]["wall_s"], restic[which]["wall_s"]
            ca = lk[which]["user_s"] + lk[which]["sys_s"]
            cb = restic[which]["user_s"] + restic[which]["sys_s"]
            rows.append(
                [
                    f"{which.replace('_', ' ')} ≤ restic's time",
                    f"{secs(a)} vs {secs(b)} ({a / b:.2f}×; CPU {secs(ca)} vs {secs(cb)})",
                    "≤ 1.00×",
                    ("PASS" if a <= b else "MISS") + f" ({(a / b - 1) * 100:+.0f} %)",
                ]
            )
    peak = max(
        [m["backup"]["max_rss_kib"] for m in lk["months"]]
        + [lk[k]["max_rss_kib"] for k in ("restore_newest", "restore_oldest", "verify")]
    )
    peak_mb = peak * 1024 / 1e6
    if run["scale"] == "large":
        rows.append(
            [
                "peak RSS < 150 MB (300 MB exports)",
                f"{peak_mb:.0f} MB",
                "< 150 MB",
                ("PASS" if peak_mb < 150 else "MISS") + f" ({(peak_mb / 150 - 1) * 100:+.0f} %)",
            ]
        )
    else:
        rows.append(
            [
                "peak RSS (target applies to large only)",
                f"{peak_mb:.0f} MB",
                "(< 150 MB at large)",
                "info",
            ]
        )
    return rows


def _floor_targets(lk: dict[str, Any]) -> list[list[str]]:
    """Snapshot and restore times against the time floor of the same export (issues 17, 18)."""
    months = lk["months"]
    if not months or "time_floor" not in months[0]:
        return []
    rows: list[list[str]] = []

    def verdict(r: float, limit: float) -> str:
        return ("PASS" if r <= limit else "MISS") + f" ({(r / limit - 1) * 100:+.0f} %)"

    first = months[0]["backup"]["wall_s"] / months[0]["time_floor"]["wall_s"]
    rows.append(
        [
            "first snapshot ≤ 1.5 × time floor",
            f"{secs(months[0]['backup']['wall_s'])} vs {secs(months[0]['time_floor']['wall_s'])}"
            f" ({first:.2f}×)",
            "≤ 1.50×",
            verdict(first, 1.5),
        ]
    )
    later = [m["backup"]["wall_s"] / m["time_floor"]["wall_s"] for m in months[1:]]
    if later:
        med = _median(later) or 0.0
        worst = max(later)
        rows.append(
            [
                "monthly snapshot ≤ 1.5 × time floor",
                f"median {med:.2f}×, worst {worst:.2f}× over {len(later)} months",
                "≤ 1.50× (median)",
                verdict(med, 1.5),
            ]
        )
    for which, idx in (("restore_newest", -1), ("restore_oldest", 0)):
        floor = months[idx]["time_floor"]["wall_s"]
        r = lk[which]["wall_s"] / floor
        label = which.replace("_", " ")
        rows.append(
            [
                f"{label} ≤ 1.2 × time floor",
                f"{secs(lk[which]['wall_s'])} vs {secs(floor)} ({r:.2f}×)",
                "≤ 1.20×",
                verdict(r, 1.2),
            ]
        )
        if which == "restore_newest" and "parallel" not in lk:
            # results from before the 1-and-2-worker figures: restore with the default
            # workers (the machine's cores), the only figure there is
            rows.append(
                [
                    f"{label} ≤ 0.6 × time floor, 2 workers",
                    f"{r:.2f}× (the machine's cores; 1 worker not measured)",
                    "≤ 0.60×",
                    verdict(r, 0.6),
                ]
            )
    return rows


def _parallel_targets(lk: dict[str, Any]) -> list[list[str]]:
    """Issue 17's rows: restore and proof step at 1 and 2 workers, the deflate's speed."""
    par = lk.get("parallel")
    if par is None:
        missing = ["proof step of the newest month", "lkvault deflate"]
        if not lk["months"] or "time_floor" not in lk["months"][0]:
            missing.insert(0, "restore newest")  # else _floor_targets has its 2-worker row
        limits = {
            "restore newest": ("≤ 0.6 × time floor, 2 workers", "≤ 0.60×"),
            "proof step of the newest month": ("≤ 0.6 × time floor, 2 workers", "≤ 0.60×"),
            "lkvault deflate": ("≥ 0.9 × stock zlib, 1 core, level 6, CSV", "≥ 0.90×"),
        }
        return [[f"{m} {limits[m][0]}", "not measured", limits[m][1], "—"] for m in missing]
    floor = par["time_floor"]["wall_s"]
    rows: list[list[str]] = []
    for label, step in (
        ("restore newest", "restore"),
        ("proof step of the newest month", "proof"),
    ):
        one, two = _step_seconds(par, step, 1), _step_seconds(par, step, 2)
        if one is None or two is None:
            rows.append([f"{label} ≤ 0.6 × time floor, 2 workers", "not measured", "≤ 0.60×", "—"])
            continue
        r = two[0] / floor
        rows.append(
            [
                f"{label} ≤ 0.6 × time floor, 2 workers",
                f"2 workers {secs(two[0])} ({r:.2f}×, CPU {secs(two[1])}); 1 worker "
                f"{secs(one[0])} ({one[0] / floor:.2f}×, CPU {secs(one[1])}); floor "
                f"{secs(floor)}; 1 → 2 workers {one[0] / two[0]:.2f}× faster",
                "≤ 0.60×",
                ("PASS" if r <= 0.6 else "MISS") + f" ({(r / 0.6 - 1) * 100:+.0f} %)",
            ]
        )
    speed = par.get("deflate_speed")
    if speed is None:
        rows.append(
            [
                "lkvault deflate ≥ 0.9 × stock zlib, 1 core, level 6, CSV",
                "not measured",
                "≥ 0.90×",
                "—",
            ]
        )
    else:
        r = speed["zlib_cpu_s"] / speed["lkvault_cpu_s"]
        rows.append(
            [
                f"lkvault deflate ≥ 0.9 × stock zlib, 1 core, level {speed['level']}, CSV",
                f"{r:.2f}× ({speed['csv_members']} CSV members, {mb(speed['content_bytes'])}: "
                f"CPU {speed['lkvault_cpu_s']:.2f} s vs {speed['zlib_cpu_s']:.2f} s with "
                f"{speed['zlib']}; output {'identical' if speed['identical'] else 'DIFFERENT'})",
                "≥ 0.90×",
                ("PASS" if r >= 0.9 and speed["identical"] else "MISS")
                + f" ({(r / 0.9 - 1) * 100:+.0f} %)",
            ]
        )
    return rows


def _step_seconds(par: dict[str, Any], step: str, workers: int) -> tuple[float, float] | None:
    """(wall, CPU) seconds of a restore (the whole command) or a proof step (the proof
    itself, as bench/proofstep.py times it: start-up and reading the zips left out)."""
    rec = par.get(f"{step}_workers_{workers}")
    if rec is None:
        return None
    if step == "proof":
        return rec["proof"]["wall_s"], rec["proof"]["cpu_s"]
    return rec["wall_s"], rec["user_s"] + rec["sys_s"]


# --------------------------------------------------------------------------- rendering


def _tool_rows_stored(run: dict[str, Any]) -> list[list[str]]:
    floor = run["floor"]["floor_bytes"]
    tools = run["tools"]
    lk = tools.get("lkvault", {}).get("final_stored")
    rows = []
    sf = run.get("series_floor")
    if sf:
        rows.append(
            [
                f"*series floor* <br><sub>zstd -19 --long={sf.get('window_log', 27)} of every "
                "month's members in one stream</sub>",
                "",
                "",
                mb(sf["floor_bytes"]),
                ratio(sf["floor_bytes"] / floor),
                ratio(lk / sf["floor_bytes"]) if lk else "—",
                "",
            ]
        )
    for name, t in tools.items():
        if "error" in t:
            rows.append([t["label"], "failed", "", "", "", "", ""])
            continue
        stored = [m["stored_bytes"] for m in t["months"]]
        added = [b - a for a, b in zip(stored, stored[1:], strict=False)]
        rows.append(
            [
                t["label"] + ("" if name == "lkvault" else f" <br><sub>{t['flags']}</sub>"),
                mb(stored[0]),
                mb(_median(added)) if added else "—",
                mb(t["final_stored"]),
                ratio(t["final_stored"] / floor),
                "1.00×" if name == "lkvault" else (ratio(lk / t["final_stored"]) if lk else "—"),
                str(t["repo_files"]),
            ]
        )
    return rows


def _time_rows(run: dict[str, Any]) -> list[list[str]]:
    rows = []
    for t in run["tools"].values():
        if "error" in t or not t["months"]:
            rows.append([t["label"], "failed: " + t.get("error", "")[:200]] + [""] * 6)
            continue
        first = t["months"][0]["backup"]
        rest = [m["backup"] for m in t["months"][1:]] or [first]
        rows.append(
            [
                t["label"],
                f"{secs(first['wall_s'])} / {rss(first['max_rss_kib'])}",
                secs(_median([m["wall_s"] for m in rest])),
                secs(max(m["wall_s"] for m in rest)),
                secs(_median([m["user_s"] + m["sys_s"] for m in rest])),
                rss(int(_median([m["max_rss_kib"] for m in rest]) or 0)),
                rss(max(m["max_rss_kib"] for m in rest)),
            ]
        )
    return rows


def _restore_rows(run: dict[str, Any]) -> list[list[str]]:
    rows = []
    for t in run["tools"].values():
        if "error" in t:
            continue
        cells = [t["label"]]
        for which in ("restore_newest", "restore_oldest", "verify"):
            m = t[which]
            cell = f"{secs(m['wall_s'])} / {rss(m['max_rss_kib'])}"
            if "identical" in m and not m["identical"]:
                cell += " **(differs!)**"
            cells.append(cell)
        rows.append(cells)
    return rows


def _producer_rows(runs: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for run in runs:
        for name, t in run["tools"].items():
            if "error" in t:
                rows.append([run["producer"], t["label"], "failed"] + [""] * 6)
                continue
            first = t["months"][0]
            second = t["months"][1] if len(t["months"]) > 1 else None
            rows.append(
                [
                    run["producer"] if name == next(iter(run["tools"])) else "",
                    t["label"],
                    mb(run["files"][0]["bytes"]) if name == next(iter(run["tools"])) else "",
                    f"{secs(first['backup']['wall_s'])} / {rss(first['backup']['max_rss_kib'])}",
                    f"{mb(first['stored_bytes'])} "
                    f"({first['stored_bytes'] / run['files'][0]['bytes']:.2f}× zip)",
                    mb(second["stored_bytes"] - first["stored_bytes"]) if second else "—",
                    f"{secs(t['restore_oldest']['wall_s'])} / "
                    f"{rss(t['restore_oldest']['max_rss_kib'])}"
                    + ("" if t["restore_oldest"].get("identical", True) else " **(differs!)**"),
                    f"{secs(t['verify']['wall_s'])} / {rss(t['verify']['max_rss_kib'])}",
                ]
            )
    return rows


def _parallel_md(par: dict[str, Any]) -> str:
    """The newest export re-deflated at 1 and 2 workers, against its own time floor."""
    floor = par["time_floor"]
    rows = [
        [
            "time floor (stock zlib, sequential, own process)",
            secs(floor["wall_s"]),
            secs(floor["user_s"] + floor["sys_s"]),
            "1.00×",
            "",
        ]
    ]
    for label, step in (("restore newest", "restore"), ("proof step", "proof")):
        for workers in PARALLEL_WORKERS:
            seconds = _step_seconds(par, step, workers)
            if seconds is None:
                rows.append([f"{label}, {workers} worker(s)", "not measured", "", "", ""])
                continue
            rec = par[f"{step}_workers_{workers}"]
            note = ""
            if step == "restore" and not rec.get("identical", True):
                note = "**differs!**"
            elif step == "proof":
                proof = rec["proof"]
                note = (
                    f"{proof['proven_members']} of {proof['members']} members, "
                    f"{proof['segments']} segments; process {secs(rec['wall_s'])}"
                    + (f"; unproven: {len(proof['unproven'])}" if proof["unproven"] else "")
                )
            else:
                note = f"{rss(rec['max_rss_kib'])} RSS"
            rows.append(
                [
                    f"{label}, {workers} worker{'s' if workers > 1 else ''}",
                    secs(seconds[0]),
                    secs(seconds[1]),
                    ratio(seconds[0] / floor["wall_s"]),
                    note,
                ]
            )
    return (
        "Parallel re-deflation (issue 17), the newest export, measured one after the other "
        "beside a time floor of its own (restore: the whole command; proof step: "
        "`bench/proofstep.py`, the proof alone, members unchanged since the month before "
        "skipped):\n\n" + table(["step", "wall", "CPU", "× floor (wall)", ""], rows)
    )


def _profile_md(run: dict[str, Any]) -> str:
    prof = run.get("profile")
    if not prof:
        return ""
    out = [
        f"**Profile of lkvault, {run['scale']} × {run['months']} months** "
        "(newest export snapshotted into the vault as it was before it, then restored; "
        "shares of sampled non-idle time over all threads):\n"
    ]
    for name, p in prof.items():
        out.append(
            f"*{name}* ({p['tool']}, {secs(p['wall_s'])} under the profiler, "
            f"{p['samples']} samples)\n"
        )
        incl = p.get("inclusive", [])[:10]
        selfs = p.get("self_by_line", [])[:10] or p.get("self_by_function", [])[:10]
        n = max(len(incl), len(selfs))
        rows = []
        for i in range(n):
            a = incl[i] if i < len(incl) else ["", None]
            b = selfs[i] if i < len(selfs) else ["", None]
            rows.append(
                [
                    f"`{a[0]}`" if a[0] else "",
                    f"{a[1] * 100:.0f} %" if a[1] is not None else "",
                    f"`{b[0]}`" if b[0] else "",
                    f"{b[1] * 100:.0f} %" if b[1] is not None else "",
                ]
            )
        out.append(table(["inclusive", "share", "self (line)", "share"], rows) + "\n")
    return "\n".join(out)


def _series_key(run: dict[str, Any]) -> tuple[int, int]:
    return (SCALE_ORDER.index(run["scale"]) if run["scale"] in SCALE_ORDER else 9, run["months"])


def render(results: dict[str, Any], doc: Path, charts_dir: Path) -> str:
    from bench.chart import series_chart, single_chart

    runs = results["runs"]
    series_runs = sorted((r for r in runs.values() if r["kind"] == "series"), key=_series_key)
    producer_runs = [r for r in runs.values() if r["kind"] == "producer"]
    mach = results.get("machine", {})
    v = mach.get("versions", {})
    stored_png = charts_dir / f"{doc.stem}-stored.png"
    if series_runs:
        series_chart(series_runs, stored_png)
        for run in series_runs:
            single_chart(run, charts_dir / f"{doc.stem}-stored-{run['scale']}-{run['months']}.png")
    # Each run records every invocation that added to it, joined by " && ": list each once.
    commands = sorted({c for r in runs.values() for c in r.get("command", "").split(" && ") if c})
    load = (
        _median([m["load"] for r in runs.values() for t in r["tools"].values() for m in _all_m(t)])
        or 0.0
    )
    dates = sorted(r.get("started", "") for r in runs.values())
    parts = [
        "# Benchmarks: lkvault against restic and borg",
        "",
        "Generated by `bench/run.py` from `docs/benchmarks.json` (see `bench/README.md`); "
        "the analysis section is written by hand and kept when the page is regenerated.",
        "",
        "## Setup",
        "",
        f"- Machine: {mach.get('cpu', '?')}, {mach.get('cores', '?')} cores, "
        f"{mach.get('ram_bytes', 0) / 2**30:.0f} GiB RAM, {mach.get('os', '?')}, "
        f"Python {mach.get('python', '?')}.",
        f"- Tools: lkvault {v.get('lkvault', '?')} in the newest run (commit "
        f"{mach.get('commit', '?')}, AES-NI chunker accelerator "
        f"{'built' if mach.get('chunker_accelerator') else 'missing'}; each table names the "
        f"lkvault it measured), {v.get('restic', '?')}, {v.get('borg', '?')}; "
        f"zstandard {v.get('zstandard', '?')}; "
        f"exports made with Python's zipfile, {v.get('zip', 'Info-ZIP')} and "
        f"{v.get('7z', '7-Zip')}.",
        f"- Date: {dates[0][:10] if dates else '?'}"
        + (f" to {dates[-1][:10]}" if dates and dates[-1][:10] != dates[0][:10] else "")
        + ".",
        "- Command(s): " + ", ".join(f"`{c}`" for c in commands) + " (`python3 bench/run.py` "
        "alone does all of it in one go).",
        "- Input: `bench/exportgen.py` series (seed 1, first export 2025-01-15, one a month), "
        "the same files for every tool. Each tool has its own fresh repository; every "
        "operation is a separate process, measured from the outside: wall time, user+system "
        "CPU time and peak RSS (the command's own `wait4` ru_maxrss, taken through GNU "
        "`time` so that the harness's memory is not counted). *Stored* is the apparent size "
        "of every file in the repository folder after the snapshot (client caches not "
        "counted).",
        "- Flags: lkvault defaults (`lkvault init`, `lkvault snapshot FILE`); restic "
        "`init --repository-version 2` and `backup --compression auto` (the default of a v2 "
        "repository); borg `init -e repokey-blake2` and `create` with its default lz4 "
        "(and a second borg column with `--compression zstd,10`, a second restic column with "
        "`--compression max`). Restores: `lkvault restore ID -o FILE`, `restic restore ID "
        "--target DIR`, `borg extract ::ARCHIVE`, each checked byte for byte against the "
        "original. Verify: `lkvault verify --read-data`, `restic check --read-data`, "
        "`borg check --verify-data`.",
        "- **Floor**: `zstd -19` (python-zstandard, one stream, single thread) of the newest "
        "export's members unpacked and concatenated: what a perfect archive-aware, "
        "deduplicating tool would need for the newest export alone.",
        "- **Time floor**: `bench/timefloor.py` in its own process, right before lkvault's "
        "snapshot of the same export: every deflated member inflated and deflated again at "
        "level 6 with stock zlib, sequentially: what proving a byte-exact zip costs at least, "
        "before any storage work. Snapshot and restore times are compared with it.",
        "- Noise: other jobs may share the machine; the 1-minute load average at each step is "
        f"in `docs/benchmarks.json` (median {load:.1f} on {mach.get('cores', '?')} cores). "
        "Above ~2, wall times get inflated (up to 3× was seen), CPU times much less; the "
        "stored bytes are exact.",
        "",
        f"![stored bytes per month]({stored_png.name})",
        "",
        "## Targets for lkvault",
        "",
    ]
    for run in series_runs:
        parts += [
            f"**{run['scale']} × {run['months']} months** (lkvault {measured_version(run)})",
            "",
            table(["target", "measured", "limit", "verdict"], targets(run)),
            "",
        ]
    parts += ["## Series", ""]
    for run in series_runs:
        zip_total = sum(f["bytes"] for f in run["files"])
        fl = run["floor"]
        parts += [
            f"### {run['scale']} × {run['months']} months",
            "",
            f"{len(run['files'])} exports, {mb(run['files'][0]['bytes'])} to "
            f"{mb(run['files'][-1]['bytes'])} each, {mb(zip_total)} in all. Newest export: "
            f"{fl['members']} members, {mb(fl['raw_bytes'])} unpacked, floor "
            f"**{mb(fl['floor_bytes'])}**. Started {run['started']}; lkvault "
            f"{measured_version(run)}.",
            "",
            "Stored bytes:",
            "",
            table(
                [
                    "tool",
                    "after month 1",
                    "added per month (median)",
                    "final",
                    "final / floor",
                    "lkvault / tool",
                    "files in repo",
                ],
                _tool_rows_stored(run),
            ),
            "",
            "Snapshot (backup) of each export, wall time / peak RSS; months 2 and later "
            "separately from the first:",
            "",
            table(
                ["tool", "month 1", "median", "max", "CPU (median)", "RSS (median)", "RSS (max)"],
                _time_rows(run),
            ),
            "",
            "Restore of the newest and the oldest snapshot, and a full read-back check, "
            "wall time / peak RSS:",
            "",
            table(
                ["tool", "restore newest", "restore oldest", "verify / check all data"],
                _restore_rows(run),
            ),
            "",
        ]
        lk = run["tools"].get("lkvault", {})
        if "parallel" in lk:
            parts += [_parallel_md(lk["parallel"]), ""]
        if "open" in lk:
            parts += [
                f"Fixed cost of every lkvault command (`lkvault list` on this vault: "
                f"start-up, imports and Argon2id): {secs(lk['open']['wall_s'])}, "
                f"{rss(lk['open']['max_rss_kib'])} RSS.",
                "",
            ]
        parts += [_profile_md(run), ""]
    if producer_runs:
        parts += [
            "## One export, four zip producers",
            "",
            "The same export (month 1, then month 2 to show what a second snapshot adds) "
            "written by Python's zipfile (as LinkedIn's Java writer: deflate), Info-ZIP "
            "`zip -6` and `zip -9`, and 7-Zip (`7z a -tzip -mx=5`; lkvault cannot reproduce "
            "its deflate, so it keeps the members' compressed bytes as they are).",
            "",
        ]
        for scale in SCALE_ORDER:
            pr = [r for r in producer_runs if r["scale"] == scale]
            pr.sort(
                key=lambda r: PRODUCERS.index(r["producer"]) if r["producer"] in PRODUCERS else 9
            )
            if not pr:
                continue
            versions = ", ".join(sorted({measured_version(r) for r in pr}))
            parts += [
                f"### {scale}",
                "",
                f"lkvault {versions}.",
                "",
                table(
                    [
                        "producer",
                        "tool",
                        "zip",
                        "snapshot (1st)",
                        "stored after 1st",
                        "added by 2nd",
                        "restore",
                        "verify",
                    ],
                    _producer_rows(pr),
                ),
                "",
            ]
    analysis = ""
    if doc.exists():
        old = doc.read_text()
        if ANALYSIS_START in old and ANALYSIS_END in old:
            analysis = old.split(ANALYSIS_START, 1)[1].split(ANALYSIS_END, 1)[0].strip("\n")
    parts += ["## Analysis", "", ANALYSIS_START, analysis or "(not written yet)", ANALYSIS_END, ""]
    text = "\n".join(parts)
    doc.write_text(text)
    return text


def _all_m(tool: dict[str, Any]) -> list[dict[str, Any]]:
    ms = [m["backup"] for m in tool.get("months", [])]
    ms += [tool[k] for k in ("restore_newest", "restore_oldest", "verify") if k in tool]
    return [m for m in ms if "load" in m]


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    from bench.tools import TOOL_NAMES

    ap = argparse.ArgumentParser(prog="python3 bench/run.py", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small and medium only, a few months each, results under bench/out/quick",
    )
    ap.add_argument(
        "--scales", help="comma-separated: small,medium,large (default: all; --quick: small,medium)"
    )
    ap.add_argument(
        "--months",
        help="comma-separated series lengths for every chosen scale "
        "(default: 12,36 at every scale; --quick: a few months)",
    )
    ap.add_argument(
        "--tools",
        default=",".join(TOOL_NAMES),
        help=f"comma-separated subset of {','.join(TOOL_NAMES)}",
    )
    ap.add_argument(
        "--producer-scales",
        default=None,
        help="scales for the one-export producer comparison (default: small,medium; "
        "'none' to skip)",
    )
    ap.add_argument("--no-profile", action="store_true", help="do not profile lkvault")
    ap.add_argument(
        "--keep-install",
        action="store_true",
        help="use the lkvault already installed in bench/out/venv (no reinstall)",
    )
    ap.add_argument(
        "--render-only",
        action="store_true",
        help="only regenerate the page and charts from the JSON results",
    )
    ap.add_argument(
        "--out",
        type=Path,
        help="results page (default docs/benchmarks.md, "
        "with --quick bench/out/quick/benchmarks.md); the JSON and PNGs go beside it",
    )
    return ap.parse_args(argv)


SERIES_FLOOR_MAX_RAW = 1_500_000_000


def add_series_floors(results: dict[str, Any]) -> bool:
    """Add the whole-series floor to every series run whose files are still cached and whose
    members total at most SERIES_FLOOR_MAX_RAW (zstd -19 runs at about 1 MB/s)."""
    from bench.measure import series_floor

    changed = False
    for run in results["runs"].values():
        if run["kind"] != "series" or "series_floor" in run:
            continue
        folder = OUT / "series" / f"{run['scale']}-{run['producer']}-s{SEED}"
        if "generator" in run:
            folder = folder.with_name(f"{folder.name}-{run['generator']}")
        paths = [folder / f["name"] for f in run["files"]]
        if not all(
            p.exists() and p.stat().st_size == f["bytes"]
            for p, f in zip(paths, run["files"], strict=True)
        ):
            continue
        if run["floor"]["raw_bytes"] * len(paths) > SERIES_FLOOR_MAX_RAW:
            continue
        t = time.perf_counter()
        run["series_floor"] = series_floor(paths, cache=OUT / "floors.json")
        log(
            f"series floor of {run['scale']} × {run['months']}: "
            f"{mb(run['series_floor']['floor_bytes'])} ({time.perf_counter() - t:.0f} s)"
        )
        changed = True
    return changed


def main(argv: Sequence[str]) -> int:
    bootstrap(argv)
    args = parse_args(argv)
    doc = args.out or (OUT / "quick" / "benchmarks.md" if args.quick else DOCS / "benchmarks.md")
    doc.parent.mkdir(parents=True, exist_ok=True)
    json_path = doc.with_suffix(".json")
    results: dict[str, Any] = {"version": 1, "runs": {}}
    if json_path.exists():
        results = json.loads(json_path.read_text())
    if args.render_only:
        if add_series_floors(results):
            json_path.write_text(json.dumps(results, indent=1, sort_keys=False))
        print(render(results, doc, doc.parent))
        return 0

    from bench.tools import TOOL_NAMES as TOOL_ORDER
    from bench.tools import ensure_system_tools

    installed = ensure_system_tools()
    if installed:
        log(f"installed {', '.join(installed)}")
    results["machine"] = machine_info()
    scales = (
        args.scales.split(",")
        if args.scales
        else ["small", "medium"]
        if args.quick
        else list(SCALE_ORDER)
    )
    scales = sorted(scales, key=lambda s: SCALE_ORDER.index(s) if s in SCALE_ORDER else 9)
    tools = [t for t in args.tools.split(",") if t]
    pscales = (args.producer_scales or ("small" if args.quick else "small,medium")).split(",")
    pscales = [s for s in pscales if s and s != "none" and s in scales]
    command = [str(VENV / "bin" / "lkvault")]

    def save(key: str, record: dict[str, Any]) -> None:
        if json_path.exists():  # another run may have saved meanwhile
            results["runs"] = {
                **json.loads(json_path.read_text()).get("runs", {}),
                **results["runs"],
            }
        earlier = results["runs"].get(key)
        if earlier and earlier.get("files") == record["files"]:
            # same inputs: keep the tools this invocation did not run (e.g. --tools borg-zstd10)
            record["tools"] = {**earlier["tools"], **record["tools"]}
            record["tools"] = {t: record["tools"][t] for t in TOOL_ORDER if t in record["tools"]}
            if "profile" in earlier and "profile" not in record:
                record["profile"] = earlier["profile"]
            record["started"] = min(earlier["started"], record["started"])
            if record.get("command") != earlier.get("command"):
                done = [c for c in earlier.get("command", "").split(" && ") if c]
                record["command"] = " && ".join(dict.fromkeys([*done, record["command"]]))
        results["runs"][key] = record
        tmp = json_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1, sort_keys=False))
        os.replace(tmp, json_path)
        render(results, doc, doc.parent)

    for scale in scales:
        months_list = (
            [int(m) for m in args.months.split(",")]
            if args.months
            else (QUICK_MONTHS if args.quick else DEFAULT_MONTHS).get(scale, [12])
        )
        for i, months in enumerate(months_list):
            key = f"series/{scale}/{months}"
            record = run_one(
                "series",
                scale,
                months,
                "python",
                tools,
                profile=not args.no_profile and i == 0,
                command=command,
                checkpoint=lambda rec, key=key: save(key, dict(rec)),
            )
            add_series_floors({"runs": {key: record}})
            save(key, record)
        if scale in pscales:
            for producer in PRODUCERS:
                key = f"producer/{scale}/{producer}"
                record = run_one(
                    "producer",
                    scale,
                    2,
                    producer,
                    tools,
                    profile=False,
                    command=command,
                    checkpoint=lambda rec, key=key: save(key, dict(rec)),
                )
                save(key, record)
    print(render(results, doc, doc.parent))
    log(f"wrote {doc} and {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
