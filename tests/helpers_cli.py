"""Test helper: run the real ``lkvault`` command line as a subprocess, and make test inputs.

``Lk(vault, state_dir)`` runs ``python -m lkvault.cli.main ARGS`` from the repository root with
LKVAULT_VAULT, LKVAULT_PASSWORD and a per-test LKVAULT_STATE_DIR set (and nothing else of the
LKVAULT_* variables inherited), and returns ``(returncode, stdout, stderr)``. The evidence tests
(tamper, crash, concurrency, rollback) use it because what they check is what a user sees: exit
codes, one-line errors, and the files left on disk by a process that was really killed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "tamper-evident passphrase 7"
SIGKILLED = -9


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LKVAULT_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.pop("PYTHONWARNINGS", None)
    return env


@dataclass
class Lk:
    """The CLI bound to one vault folder and one state folder."""

    vault: Path
    state_dir: Path
    password: str = PASSWORD
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(
        self, extra: Mapping[str, str] | None = None, password: str | None = None
    ) -> dict[str, str]:
        env = _base_env()
        env["LKVAULT_VAULT"] = str(self.vault)
        env["LKVAULT_PASSWORD"] = self.password if password is None else password
        env["LKVAULT_STATE_DIR"] = str(self.state_dir)
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def argv(self, *args: str, killed_at: str | None = None) -> list[str]:
        if killed_at is not None:  # the test-only entry point of tests/faults.py
            return [sys.executable, "-m", "tests.faults", killed_at, *args]
        return [sys.executable, "-m", "lkvault.cli.main", *args]

    def run(
        self,
        *args: str,
        extra: Mapping[str, str] | None = None,
        password: str | None = None,
        timeout: float = 180,
        killed_at: str | None = None,
    ) -> tuple[int, str, str]:
        done = subprocess.run(
            self.argv(*args, killed_at=killed_at),
            cwd=REPO_ROOT,
            env=self.env(extra, password),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return done.returncode, done.stdout, done.stderr

    def run_killed_at(self, spec: str, *args: str) -> tuple[int, str, str]:
        """``lkvault ARGS`` killing itself with SIGKILL at its storage write ``spec``: "N"
        (before the N-th write or delete) or "N:halfway" (leaving a half-written temp file)."""
        return self.run(*args, killed_at=spec)

    def start(self, *args: str, extra: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``lkvault ARGS`` without waiting (for concurrency tests); killed after the
        test if it is still running (``kill_started``)."""
        return started(
            subprocess.Popen(
                self.argv(*args),
                cwd=REPO_ROOT,
                env=self.env(extra),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        )

    # --- common commands, asserting success ------------------------------------------------

    def ok(self, *args: str, extra: Mapping[str, str] | None = None) -> str:
        code, out, err = self.run(*args, extra=extra)
        assert code == 0, f"lkvault {' '.join(args)} exited {code}: {err.strip()}"
        assert_clean_stderr(err)
        return out

    def init(self) -> None:
        self.ok("init")

    def snapshot(self, path: Path) -> str:
        """Store ``path`` (any file: the evidence tests store random bytes); returns the new
        snapshot's full id."""
        snap_id = self.ok("snapshot", "--any-file", str(path)).strip()
        assert len(snap_id) == 64 and int(snap_id, 16) >= 0, snap_id
        return snap_id

    def verify_json(self, *flags: str) -> tuple[int, dict[str, Any], str]:
        code, out, err = self.run("verify", "--read-data", "--json", *flags)
        assert_clean_stderr(err)
        try:
            report = json.loads(out)
        except json.JSONDecodeError:
            raise AssertionError(f"verify printed no JSON report (exit {code}): {err}") from None
        return code, report, err

    def list_json(self) -> list[dict[str, Any]]:
        return json.loads(self.ok("list", "--json"))


_STARTED: list[subprocess.Popen[str]] = []


def started(process: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """Note a process a test started, so that ``kill_started`` ends it whatever happens."""
    _STARTED.append(process)
    return process


def kill_started() -> list[list[str]]:
    """Kill every noted process still running (a test failed before stopping it) and reap
    them all; returns the command lines of those that had to be killed. The conftest runs
    this after every test, so no process outlives the test that started it."""
    killed = []
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            process.kill()
            killed.append([str(a) for a in process.args])  # type: ignore[union-attr]
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    return killed


def assert_clean_stderr(err: str) -> None:
    """No traceback, ever, whatever happened."""
    assert "Traceback" not in err, err


def assert_one_line_error(err: str) -> str:
    """stderr holds exactly one line 'lkvault: error: ...'; returns the message."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("lkvault: error: ")]
    assert len(errors) == 1, f"expected one error line on stderr, got: {err!r}"
    return errors[0][len("lkvault: error: ") :]


def assert_restores(lk: Lk, snap_id: str, expected: bytes, out_dir: Path) -> None:
    """``lkvault restore ID -o FILE`` exits 0 and FILE holds exactly ``expected``."""
    target = out_dir / f"restored-{snap_id[:12]}-{os.urandom(4).hex()}"
    code, _out, err = lk.run("restore", snap_id, "-o", str(target))
    assert code == 0, f"restore {snap_id[:8]} exited {code}: {err.strip()}"
    data = target.read_bytes()
    assert (
        len(data) == len(expected)
        and hashlib.sha256(data).digest() == hashlib.sha256(expected).digest()
    ), f"restore of {snap_id[:8]} gave different bytes"
    target.unlink()


def assert_restore_refused(lk: Lk, snap_id: str, out_dir: Path) -> str:
    """``lkvault restore`` exits non-zero, writes no output file and leaves no partial file."""
    target = out_dir / f"refused-{snap_id[:12]}-{os.urandom(4).hex()}"
    before = set(out_dir.iterdir())
    code, _out, err = lk.run("restore", snap_id, "-o", str(target))
    assert code != 0, f"restore of damaged snapshot {snap_id[:8]} succeeded"
    assert not target.exists(), "a refused restore left the output file on disk"
    assert set(out_dir.iterdir()) == before, "a refused restore left files behind"
    return assert_one_line_error(err)


def copy_vault(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def copy_lk(source: Lk, work: Path) -> Lk:
    """The CLI on a copy of ``source``'s vault and state folders, in work/vault and
    work/state: a private vault to crash or damage, as the same computer sees it."""
    shutil.copytree(source.vault, work / "vault")
    shutil.copytree(source.state_dir, work / "state")
    return Lk(work / "vault", work / "state", source.password, dict(source.extra_env))


def kill_sweep(
    fresh: Callable[[Path], Lk],
    work: Path,
    args: list[str],
    check: Callable[[Lk, str], None],
    *,
    halfway: bool = True,
) -> int:
    """Kill ``lkvault ARGS`` at every storage change (and, with ``halfway``, half-way through
    each), each time on a fresh copy made by ``fresh(folder)``; ``check`` judges every copy
    left behind, two at a time. Returns how many changes an undisturbed run makes."""
    checks: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        changes = 0
        for nth in range(1, 60):
            lk = fresh(work / f"plain-{nth}")
            code, _out, err = lk.run_killed_at(str(nth), *args)
            if code == 0:
                changes = nth - 1
                checks.append(pool.submit(check, lk, "undisturbed"))
                break
            assert code == SIGKILLED, f"kill at {nth}: exit {code}: {err}"
            checks.append(pool.submit(check, lk, f"killed at change {nth}"))
        assert changes, "the command never completed"
        for nth in range(1, changes + 1 if halfway else 1):
            lk = fresh(work / f"halfway-{nth}")
            code, _out, err = lk.run_killed_at(f"{nth}:halfway", *args)
            assert code == SIGKILLED, f"kill half-way at {nth}: exit {code}: {err}"
            checks.append(pool.submit(check, lk, f"killed half-way at change {nth}"))
        for future in checks:
            future.result()
    return changes


def vault_files(vault: Path, prefix: str = "") -> set[str]:
    """Storage names (relative, '/'-separated) of the vault's files under ``prefix``."""
    base = vault / prefix if prefix else vault
    if not base.exists():
        return set()
    return {
        p.relative_to(vault).as_posix()
        for p in base.rglob("*")
        if p.is_file() and not p.name.startswith(".tmp-")
    }


def flip_byte(path: Path, offset: int, mask: int = 0x01) -> None:
    """XOR one byte of a file (negative offsets count from the end)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def random_bytes(size: int, seed: int) -> bytes:
    """Incompressible bytes, the same for the same seed (fast: no os.urandom needed per test)."""
    return random.Random(seed).randbytes(size)


def csv_text(size: int, seed: int) -> bytes:
    """A Connections.csv-like table of about ``size`` bytes."""
    rng = random.Random(seed)
    first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia"]
    last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
    company = ["Initech", "Globex", "Hooli", "Umbrella", "Stark Industries"]
    out = io.BytesIO()
    out.write(b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\n")
    while out.tell() < size:
        f, la = rng.choice(first), rng.choice(last)
        slug = f"{f.lower()}-{la.lower()}-{rng.getrandbits(32):08x}"
        email = f"{f.lower()}.{la.lower()}{rng.randrange(1000)}@example.com"
        day, year = rng.randrange(1, 29), rng.randrange(10, 26)
        out.write(
            f"{f},{la},https://www.linkedin.com/in/{slug},{email},{rng.choice(company)},"
            f"Engineer {rng.randrange(100)},{day:02d} Mar 20{year}\n".encode()
        )
    return out.getvalue()


def export_zip(path: Path, csv_size: int, seed: int) -> bytes:
    """Write a LinkedIn-export-like zip (deflated CSV members) to ``path``; returns its bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Connections.csv", csv_text(csv_size, seed))
        archive.writestr("Messages.csv", csv_text(csv_size // 2, seed + 1))
        archive.writestr("Profile.csv", b"First Name,Last Name\nAda,Lovelace\n")
    return path.read_bytes()


# --- the same vault through the library, in this process ----------------------------------


# Two Argon2id derivations at once in one process deadlock in OpenSSL's argon2 (see
# test_concurrency.py::test_two_threads_can_open_vaults_at_once); the tests serialise theirs.
_KDF_LOCK = threading.Lock()


def open_vault(lk: Lk, lock_wait: float = 10.0) -> Any:
    """``Vault.open`` on the CLI's vault and state folder (one Argon2id derivation)."""
    from lkvault.vault import Environment, Vault

    env = Environment(state_dir=lk.state_dir, lock_wait=lock_wait)
    with _KDF_LOCK:
        return Vault.open(str(lk.vault), lk.password.encode(), env)


def assert_library_restores(vault: Any, snap_id: str, expected: bytes, out_dir: Path) -> None:
    """``Vault.restore`` gives back exactly ``expected``."""
    target = out_dir / f"lib-restored-{snap_id[:12]}-{os.urandom(4).hex()}"
    vault.restore(snap_id, target)
    data = target.read_bytes()
    target.unlink()
    assert len(data) == len(expected), f"restore of {snap_id[:8]}: wrong size"
    assert hashlib.sha256(data).digest() == hashlib.sha256(expected).digest(), (
        f"restore of {snap_id[:8]} gave different bytes"
    )


def reopen(opened: Any, root: Path) -> Any:
    """The vault folder ``root`` as a new process would see it (no caches), with the keys of
    an already opened vault (the same vault, or a copy of it): what ``Vault.open`` does after
    its slow Argon2id unlock, so that tests can look at many copies cheaply."""
    from datetime import datetime, timezone

    from lkvault.vault import Environment, Vault
    from lkvault.vault.backend import LocalBackend
    from lkvault.vault.repository.repo import Repository

    repo = opened.repo
    fresh = Repository(
        LocalBackend(root),
        repo.keys,
        repo.config,
        os.urandom,
        lambda: datetime.now(timezone.utc),
    )
    return Vault(fresh, Environment(state_dir=None, lock_wait=5.0))


def decrypted_frames(vault: Any) -> list[bytes]:
    """The decrypted content of every frame of every pack the vault stores, indexed or not:
    what anyone holding the keys could read from it."""
    from lkvault.vault.repository.index import FrameRef, pack_id_of_name
    from lkvault.vault.repository.stored import read_pack_header

    repo = vault.repo
    repo.reload_index()
    contents = []
    for name in repo.backend.list("data/"):
        pack_id = pack_id_of_name(name)
        assert pack_id is not None, name
        contents += [
            repo.reader.read_frame(FrameRef(pack_id, e))
            for e in read_pack_header(repo.backend, repo.keys, pack_id)
        ]
    return contents


# The exit code of a command stopped by each signal (README: "130 Ctrl-C, 143 SIGTERM").
EXIT_FOR_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class MonthStored:
    """A vault holding the first of two monthly exports, and the library's handle on it."""

    lk: Lk
    first: str  # the snapshot of the first month
    exports: list[Path]
    opened: Any


def month_stored(root: Path, seed: int) -> MonthStored:
    """Two generated monthly exports under ``root``, the first stored in a new vault there."""
    from bench.exportgen import generate_series

    exports = generate_series(root / "exports", months=2, scale=3, seed=seed)
    lk = Lk(root / "vault", root / "state")
    lk.init()
    first = lk.snapshot(exports[0])
    return MonthStored(lk, first, exports, open_vault(lk))
