"""Installing and driving the tools under test: lkvault, restic and borg.

Every tool gets its own folder with the repository (the only thing whose size is counted) and,
beside it, whatever the tool keeps on the client (restic's and borg's caches, borg's security
folder, lkvault's state folder), so runs never share state and nothing lands in the user's
home. Passphrases come from environment variables, as a script would give them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .measure import Measurement, run_measured

PASSWORD = "bench only, not a secret"
APT_PACKAGES = {
    "restic": "restic",
    "borg": "borgbackup",
    "zip": "zip",
    "7z": "p7zip-full",
    "/usr/bin/time": "time",
}


def ensure_system_tools(needed: Sequence[str] = tuple(APT_PACKAGES)) -> list[str]:
    """Install the Debian packages of missing commands (when root); returns what was installed."""
    missing = [cmd for cmd in needed if shutil.which(cmd) is None]
    if not missing:
        return []
    packages = sorted({APT_PACKAGES[c] for c in missing})
    if os.geteuid() != 0:
        raise SystemExit(
            f"missing commands {missing}: install them (apt-get install {' '.join(packages)}) "
            "or run this as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {' '.join(packages)} with apt-get", file=sys.stderr, flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
    still = [cmd for cmd in missing if shutil.which(cmd) is None]
    if still:
        raise SystemExit(f"apt-get did not provide {still}")
    return packages


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    except OSError as exc:
        return f"unavailable ({exc})"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def _matching_line(argv: Sequence[str], needle: str) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    except OSError:
        return "?"
    for line in done.stdout.splitlines():
        if needle in line:
            return line.strip()
    return "?"


def system_tool_versions() -> dict[str, str]:
    return {
        "restic": _first_line(["restic", "version"]).split(" compiled")[0],
        "borg": _first_line(["borg", "--version"]),
        "zip": _matching_line(["zip", "-v"], "This is Zip")
        .replace("This is ", "Info-ZIP ")
        .split(" (")[0],
        "7z": _matching_line(["7z"], "7-Zip").split(" :")[0],
    }


@dataclass
class Backup:
    measurement: Measurement
    snapshot: str


class Tool:
    """One backup tool with one repository under ``work``."""

    name = "tool"
    label = "tool"
    flags = ""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.repo = work / "repo"
        self.client = work / "client"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RESTIC_", "BORG_", "LKVAULT_"))
        }
        env["HOME"] = str(self.client / "home")
        env["TMPDIR"] = str(self.client / "tmp")
        return env

    def prepare(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        (self.client / "home").mkdir(parents=True)
        (self.client / "tmp").mkdir(parents=True)

    def run(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        cwd: Path | None = None,
        stdout_file: Path | None = None,
    ) -> Measurement:
        return run_measured(argv, env=self.env(), cwd=cwd, stdout_file=stdout_file)

    def init(self) -> Measurement:
        raise NotImplementedError

    def backup(self, path: Path, label: str) -> Backup:
        raise NotImplementedError

    def restore(self, backup: Backup, source: Path, target: Path) -> tuple[Measurement, Path]:
        """Restore ``source`` as stored by ``backup`` under ``target``; returns the file."""
        raise NotImplementedError

    def verify(self) -> Measurement:
        raise NotImplementedError

    def maintain(self) -> Measurement | None:
        """The tool's storage maintenance after a series (None: it has none)."""
        return None

    def cleanup(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def _find(target: Path, name: str) -> Path:
    for root, _dirs, files in os.walk(target):
        if name in files:
            return Path(root, name)
    raise FileNotFoundError(f"{name} was not restored under {target}")


class Lkvault(Tool):
    name = "lkvault"
    label = "lkvault"
    flags = "defaults (zstd-3 frames, then compact at 19; Argon2id t=3 m=64 MiB p=4)"

    def __init__(self, work: Path, command: Sequence[str]) -> None:
        super().__init__(work)
        self.command = list(command)

    def env(self) -> dict[str, str]:
        env = super().env()
        env["LKVAULT_PASSWORD"] = PASSWORD
        env["LKVAULT_VAULT"] = str(self.repo)
        env["LKVAULT_STATE_DIR"] = str(self.client / "state")
        return env

    def init(self) -> Measurement:
        return self.run([*self.command, "init", "--json"])

    def backup(self, path: Path, label: str) -> Backup:
        m = self.run([*self.command, "snapshot", "--json", str(path)])
        info = json.loads(m.stdout)
        m.extra["stats"] = info.get("stats", {})
        m.extra["warnings"] = info.get("warnings", [])
        return Backup(m, info["id"])

    def restore(
        self, backup: Backup, source: Path, target: Path, workers: int | None = None
    ) -> tuple[Measurement, Path]:
        """Given ``workers``, with LKVAULT_WORKERS set to it (else lkvault's default: the
        machine's cores)."""
        target.mkdir(parents=True, exist_ok=True)
        out = target / source.name
        env = self.env()
        if workers is not None:
            env["LKVAULT_WORKERS"] = str(workers)
        argv = [*self.command, "restore", backup.snapshot, "-o", str(out), "--force", "--json"]
        return run_measured(argv, env=env), out

    def verify(self) -> Measurement:
        return self.run([*self.command, "verify", "--read-data", "--json"])

    def maintain(self) -> Measurement:
        """``lkvault compact``: the squeeze snapshots leave for later."""
        return self.run([*self.command, "compact", "--json"])

    def open_only(self) -> Measurement:
        """``lkvault list``: process start, imports and unlocking the key (Argon2id)."""
        return self.run([*self.command, "list", "--json"])


class Restic(Tool):
    name = "restic"

    def __init__(self, work: Path, compression: str = "auto") -> None:
        super().__init__(work)
        self.compression = compression
        self.label = "restic" if compression == "auto" else f"restic ({compression})"
        self.name = "restic" if compression == "auto" else f"restic-{compression}"
        self.flags = f"--compression {compression}" + (
            " (the default)" if compression == "auto" else ""
        )

    def env(self) -> dict[str, str]:
        env = super().env()
        env["RESTIC_PASSWORD"] = PASSWORD
        env["RESTIC_REPOSITORY"] = str(self.repo)
        env["RESTIC_CACHE_DIR"] = str(self.client / "cache")
        return env

    def init(self) -> Measurement:
        # restic 0.14 creates a version 2 repository (compression supported) by default
        return self.run(["restic", "init", "--repository-version", "2"])

    def backup(self, path: Path, label: str) -> Backup:
        m = self.run(
            [
                "restic",
                "backup",
                "--json",
                "--host",
                "bench",
                "--tag",
                label,
                "--compression",
                self.compression,
                path.name,
            ],
            cwd=path.parent,
        )
        summary = next(
            json.loads(line)
            for line in reversed(m.stdout.splitlines())
            if line.startswith("{") and '"summary"' in line
        )
        m.extra["stats"] = {k: summary.get(k) for k in ("data_added", "total_bytes_processed")}
        return Backup(m, summary["snapshot_id"])

    def restore(self, backup: Backup, source: Path, target: Path) -> tuple[Measurement, Path]:
        target.mkdir(parents=True, exist_ok=True)
        m = self.run(["restic", "restore", backup.snapshot, "--target", str(target)])
        return m, _find(target, source.name)

    def verify(self) -> Measurement:
        return self.run(["restic", "check", "--read-data"])


class Borg(Tool):
    name = "borg"

    def __init__(self, work: Path, compression: str | None = None) -> None:
        super().__init__(work)
        self.compression = compression
        self.label = "borg" if compression is None else f"borg ({compression})"
        self.name = "borg" if compression is None else "borg-" + compression.replace(",", "")
        self.flags = "-e repokey-blake2, --compression " + (compression or "lz4 (the default)")

    def env(self) -> dict[str, str]:
        env = super().env()
        env["BORG_PASSPHRASE"] = PASSWORD
        env["BORG_REPO"] = str(self.repo)
        env["BORG_BASE_DIR"] = str(self.client)
        env["BORG_RELOCATED_REPO_ACCESS_IS_OK"] = "yes"
        return env

    def init(self) -> Measurement:
        return self.run(["borg", "init", "-e", "repokey-blake2", str(self.repo)])

    def backup(self, path: Path, label: str) -> Backup:
        argv = ["borg", "create"]
        if self.compression:
            argv += ["--compression", self.compression]
        m = self.run([*argv, f"::{label}", path.name], cwd=path.parent)
        return Backup(m, label)

    def restore(self, backup: Backup, source: Path, target: Path) -> tuple[Measurement, Path]:
        target.mkdir(parents=True, exist_ok=True)
        m = self.run(["borg", "extract", f"::{backup.snapshot}"], cwd=target)
        return m, _find(target, source.name)

    def verify(self) -> Measurement:
        return self.run(["borg", "check", "--verify-data"])


TOOL_NAMES = ("lkvault", "restic", "restic-max", "borg", "borg-zstd10")


def make_tool(name: str, work_root: Path, lkvault_command: Sequence[str]) -> Tool:
    work = work_root / name
    if name == "lkvault":
        return Lkvault(work, lkvault_command)
    if name == "restic":
        return Restic(work)
    if name == "restic-max":
        return Restic(work, "max")
    if name == "borg":
        return Borg(work)
    if name == "borg-zstd10":
        return Borg(work, "zstd,10")
    raise ValueError(f"unknown tool {name!r}: use one of {', '.join(TOOL_NAMES)}")
