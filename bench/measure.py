"""Measuring child processes (wall time, CPU time, peak RSS), repo folders and the floor.

Peak RSS is the kernel's ``ru_maxrss`` of the measured process (in KiB), as reported by
``wait4``. It cannot come from this process's own ``os.wait4`` on its child: Linux starts a
child's ``maxrss`` at the peak of the memory it had *before* ``exec``, i.e. a copy of this
(large, matplotlib-importing) Python process. So every command is started through GNU
``time`` (a ~1 MB process, Debian package ``time``), which forks and execs the command and
reports the command's own ``wait4`` figures: peak RSS, user and system CPU time. Wall time is
measured here, around the whole launch.
Stored bytes are the apparent sizes of every regular file under a folder (what a copy of the
repository to another disk or a bucket would cost), not the blocks the file system allocated.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import zstandard

FLOOR_LEVEL = 19
GNU_TIME = "/usr/bin/time"


@dataclass
class Measurement:
    """One child process: what it cost and how it ended."""

    argv: list[str]
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kib: int
    returncode: int
    stdout: str = ""
    stderr: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def rss_mb(self) -> float:
        return self.max_rss_kib * 1024 / 1e6

    def summary(self) -> dict[str, object]:
        """The JSON-friendly record kept in docs/benchmarks.json (output trimmed)."""
        data = asdict(self)
        data["stdout"] = "" if self.ok else self.stdout[-1000:]
        data["stderr"] = "" if self.ok else self.stderr[-1000:]
        return data


class CommandFailed(RuntimeError):
    def __init__(self, m: Measurement) -> None:
        tail = (m.stderr or m.stdout).strip()[-1500:]
        super().__init__(f"{' '.join(m.argv)} exited with {m.returncode}: {tail}")
        self.measurement = m


def run_measured(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdout_file: str | os.PathLike[str] | None = None,
    check: bool = True,
    keep_output: bool = True,
) -> Measurement:
    """Run ``argv`` to completion and measure it.

    Standard output and error go to files (never pipes, so nothing in this process competes
    with the child or can deadlock), and are read back afterwards when ``keep_output``.
    ``stdout_file`` keeps standard output in that file instead (e.g. ``restic dump``).
    """
    args = [os.fspath(a) for a in argv]
    out_path = Path(stdout_file) if stdout_file else None
    tmp_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    token = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    own_out = out_path is None
    if out_path is None:
        out_path = tmp_dir / f"{token}.out"
    err_path = tmp_dir / f"{token}.err"
    stats_path = tmp_dir / f"{token}.time"
    launcher = [GNU_TIME, "-f", "%U %S %M %x", "-o", str(stats_path), "--"]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*launcher, *args],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        returncode = proc.wait()
        wall = time.perf_counter() - start
    stdout = out_path.read_text(errors="replace") if own_out and keep_output else ""
    stderr = err_path.read_text(errors="replace") if keep_output else ""
    lines = stats_path.read_text().strip().splitlines() if stats_path.exists() else []
    for path in ([out_path] if own_out else []) + [err_path, stats_path]:
        path.unlink(missing_ok=True)
    try:
        user, system, maxrss, _ = lines[-1].split()
    except (IndexError, ValueError):
        raise RuntimeError(f"{GNU_TIME} reported nothing for {args}: {lines}") from None
    if lines[:-1]:  # e.g. "Command terminated by signal 9"
        stderr += "\n" + "\n".join(lines[:-1])
    m = Measurement(
        argv=args,
        wall_s=wall,
        user_s=float(user),
        sys_s=float(system),
        max_rss_kib=int(maxrss),
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
    )
    if check and not m.ok:
        raise CommandFailed(m)
    return m


def tree_bytes(path: str | os.PathLike[str]) -> int:
    """Apparent size of every regular file under ``path`` (0 if it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            if not os.path.islink(os.path.join(root, name)):
                total += st.st_size
    return total


def tree_files(path: str | os.PathLike[str]) -> int:
    return sum(len(files) for _root, _dirs, files in os.walk(path))


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def same_bytes(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


class _Counter:
    """A write-only sink that only counts bytes."""

    def __init__(self) -> None:
        self.n = 0

    def write(self, data: bytes) -> int:
        self.n += len(data)
        return len(data)


@dataclass
class Floor:
    """zstd -19 of one export's unpacked members concatenated in one stream."""

    zip_name: str
    zip_sha256: str
    zip_bytes: int
    members: int
    raw_bytes: int
    floor_bytes: int
    level: int
    seconds: float


def information_floor(
    zip_path: str | os.PathLike[str],
    *,
    level: int = FLOOR_LEVEL,
    cache: str | os.PathLike[str] | None = None,
) -> Floor:
    """The information floor of an export: every member unpacked, in central-directory order,
    concatenated into one zstd stream at ``level`` (single-threaded, the library's default
    parameters for that level). Cached by the zip's SHA-256 in the JSON file ``cache``."""
    digest = file_sha256(zip_path)
    key = f"{digest}:{level}"
    found = _cached(cache, key)
    if found is not None:
        return Floor(**found)  # type: ignore[arg-type]
    start = time.perf_counter()
    sink = _Counter()
    raw = 0
    members = 0
    cctx = zstandard.ZstdCompressor(level=level)
    with zipfile.ZipFile(zip_path) as zf, cctx.stream_writer(sink, closefd=False) as writer:
        for info in zf.infolist():
            if info.is_dir():
                continue
            members += 1
            with zf.open(info) as member:
                while block := member.read(1 << 20):
                    raw += len(block)
                    writer.write(block)
    floor = Floor(
        zip_name=Path(zip_path).name,
        zip_sha256=digest,
        zip_bytes=os.path.getsize(zip_path),
        members=members,
        raw_bytes=raw,
        floor_bytes=sink.n,
        level=level,
        seconds=time.perf_counter() - start,
    )
    _store(cache, key, asdict(floor))
    return floor


def _cached(cache: str | os.PathLike[str] | None, key: str) -> dict[str, object] | None:
    """A floor measured before, from the JSON file ``cache``."""
    if cache is None or not os.path.exists(cache):
        return None
    found: dict[str, object] | None = json.loads(Path(cache).read_text()).get(key)
    return found


def _store(cache: str | os.PathLike[str] | None, key: str, value: dict[str, object]) -> None:
    """Add a floor to the JSON file ``cache``, re-read first: runs may share it."""
    if cache is None:
        return
    cached = json.loads(Path(cache).read_text()) if os.path.exists(cache) else {}
    cached[key] = value
    tmp = Path(f"{cache}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cached, indent=1, sort_keys=True))
    os.replace(tmp, cache)


def median(values: Iterable[float]) -> float:
    vals = list(values)
    return statistics.median(vals) if vals else float("nan")


SERIES_WINDOW_LOG = 27  # zstd's default limit; every series floor on the page before 2026-12-07
SERIES_WINDOW_EXPORTS = 4  # the window spans at least this many of the largest exports
SERIES_WINDOW_LOG_MAX = 31  # zstd's largest window on 64-bit: 2 GiB (and that much memory)


def series_window_log(zip_paths: Sequence[str | os.PathLike[str]]) -> int:
    """The --long window of a series floor: SERIES_WINDOW_LOG, widened until it spans
    SERIES_WINDOW_EXPORTS of the largest export's unpacked members. A window narrower than
    one export finds no month's repeats in the month before: at medium after ten years (158
    MB unpacked) the 128 MiB window gave 626 MB for what a 1 GiB one compresses to 33 MB."""
    largest = 0
    for path in zip_paths:
        with zipfile.ZipFile(path) as zf:
            largest = max(largest, sum(info.file_size for info in zf.infolist()))
    wanted = (SERIES_WINDOW_EXPORTS * largest).bit_length()
    return max(SERIES_WINDOW_LOG, min(SERIES_WINDOW_LOG_MAX, wanted))


def series_floor(
    zip_paths: Sequence[str | os.PathLike[str]],
    *,
    level: int = FLOOR_LEVEL,
    window_log: int | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> dict[str, object]:
    """zstd -``level`` --long=``window_log`` (default: ``series_window_log``) of every
    export's members, all months in one stream: about what the whole series holds once
    repeats across months are removed (a perfect archive-aware deduplicating tool could not
    store much less)."""
    if window_log is None:
        window_log = series_window_log(zip_paths)
    digests = [file_sha256(p) for p in zip_paths]
    key = "series:" + hashlib.sha256("".join(digests).encode()).hexdigest() + f":{level}"
    if window_log != SERIES_WINDOW_LOG:
        key += f":w{window_log}"
    found = _cached(cache, key)
    if found is not None:
        return found
    start = time.perf_counter()
    params = zstandard.ZstdCompressionParameters.from_level(
        level, enable_ldm=True, window_log=window_log
    )
    sink = _Counter()
    raw = 0
    cctx = zstandard.ZstdCompressor(compression_params=params)
    with cctx.stream_writer(sink, closefd=False) as writer:
        for path in zip_paths:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    with zf.open(info) as member:
                        while block := member.read(1 << 20):
                            raw += len(block)
                            writer.write(block)
    result: dict[str, object] = {
        "exports": len(digests),
        "raw_bytes": raw,
        "floor_bytes": sink.n,
        "level": level,
        "window_log": window_log,
        "seconds": time.perf_counter() - start,
    }
    _store(cache, key, result)
    return result
