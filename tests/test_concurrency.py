"""Concurrency: several ``lkvault`` processes on one vault at once, stale and live locks.

Whatever the interleaving, the vault is never corrupt: every process either succeeds or fails
with a clear "busy" message (exit 1), verify --read-data passes afterwards, every reported
snapshot restores byte for byte, and snapshot sequence numbers stay 1..n without duplicates.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers_cli import (
    REPO_ROOT,
    SIGKILLED,
    Lk,
    assert_library_restores,
    assert_one_line_error,
    export_zip,
    open_vault,
    random_bytes,
    vault_files,
)
from lock_holders import hold_lock, release


@pytest.fixture
def lk(tmp_path: Path) -> Lk:
    vault = Lk(tmp_path / "vault", tmp_path / "state")
    vault.init()
    return vault


def run_together(lk: Lk, inputs: list[Path]) -> list[tuple[int, str, str]]:
    """Start one ``lkvault snapshot`` per input at the same moment; wait for all."""
    procs = [lk.start("snapshot", "--any-file", str(path)) for path in inputs]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append((proc.returncode, out, err))
    return results


def assert_vault_consistent(lk: Lk, stored: dict[str, bytes], tmp_path: Path) -> None:
    code, report, _ = lk.verify_json()
    assert code == 0 and report["ok"], f"vault damaged by concurrent snapshots: {report}"
    assert report["notes"] == [], report["notes"]
    vault = open_vault(lk)
    found = vault.snapshots()
    seqs = [s.seq for s in found]
    assert seqs == list(range(1, len(found) + 1)), f"sequence numbers {seqs}"
    assert {s.id.hex() for s in found} == set(stored)
    by_id = {s.id: s for s in found}
    for snap in found:  # the chain links each snapshot to the one before it
        assert snap.prev is None if snap.seq == 1 else by_id[snap.prev].seq == snap.seq - 1
    for snap_id, data in stored.items():
        assert_library_restores(vault, snap_id, data, tmp_path)
    assert vault_files(lk.vault, "locks") == set(), "a finished command left its lock behind"


def test_snapshots_started_at_the_same_time(lk: Lk, tmp_path: Path) -> None:
    inputs = []
    for i in range(5):
        path = tmp_path / f"input-{i}"
        if i % 2:
            export_zip(path, csv_size=600_000, seed=40 + i)
        else:
            path.write_bytes(random_bytes(2_000_000, seed=40 + i))
        inputs.append(path)
    stored: dict[str, bytes] = {}
    busy = 0
    # Two at once, then three at once on the vault that now holds data.
    for group in (inputs[:2], inputs[2:]):
        results = run_together(lk, group)
        for path, (code, out, err) in zip(group, results, strict=True):
            if code == 0:
                snap_id = out.strip()
                assert len(snap_id) == 64, out
                stored[snap_id] = path.read_bytes()
            else:
                assert code == 1, f"concurrent snapshot exited {code}: {err}"
                assert "busy" in assert_one_line_error(err)
                busy += 1
        assert any(code == 0 for code, _, _ in results), "every concurrent snapshot failed"
    assert len(stored) + busy == 5
    assert_vault_consistent(lk, stored, tmp_path)


def test_stale_lock_of_a_killed_process_does_not_block(lk: Lk, tmp_path: Path) -> None:
    first = tmp_path / "first.bin"
    first.write_bytes(random_bytes(500_000, seed=50))
    stored = {lk.snapshot(first): first.read_bytes()}
    second = tmp_path / "second.zip"
    export_zip(second, csv_size=300_000, seed=51)
    no_wait = {"LKVAULT_LOCK_WAIT": "0"}

    # Killed right after taking its lock (at its first pack write): the lock stays behind.
    # Then a reader, and after a second kill a writer, with no waiting allowed: neither is
    # blocked, and nobody has to unlock anything by hand.
    for command in (("list",), ("snapshot", str(second))):
        code, _, err = lk.run_killed_at("2", "snapshot", "--any-file", str(second))
        assert code == SIGKILLED, err
        assert len(vault_files(lk.vault, "locks")) == 1, "the killed process left no lock"
        code, out, err = lk.run(*command, extra=no_wait)
        assert code == 0, f"{command[0]} blocked by a dead process's lock: {err}"
        assert vault_files(lk.vault, "locks") == set(), "the stale lock was not removed"
    stored[out.strip()] = second.read_bytes()  # the writer's output: the new snapshot id
    assert_vault_consistent(lk, stored, tmp_path)


def test_a_live_writer_lock_makes_others_busy(lk: Lk, tmp_path: Path) -> None:
    data = tmp_path / "export.zip"
    export_zip(data, csv_size=300_000, seed=60)
    no_wait = {"LKVAULT_LOCK_WAIT": "0"}
    holder = hold_lock(lk, exclusive=True)
    try:
        before = vault_files(lk.vault)
        for command in (("snapshot", "--any-file", str(data)), ("list",), ("verify",)):
            code, out, err = lk.run(*command, extra=no_wait)
            assert code == 1, f"{command[0]} ran while another process held the lock"
            message = assert_one_line_error(err)
            assert "busy" in message and str(holder.pid) in message, message
        assert vault_files(lk.vault) == before, "a busy command changed the vault"
    finally:
        release(holder)
    code, out, err = lk.run("snapshot", "--any-file", str(data), extra=no_wait)
    assert code == 0, f"snapshot still blocked after the holder released its lock: {err}"
    assert_vault_consistent(lk, {out.strip(): data.read_bytes()}, tmp_path)


def test_a_live_reader_lock_blocks_writers_but_not_readers(lk: Lk, tmp_path: Path) -> None:
    data = tmp_path / "a.bin"
    data.write_bytes(random_bytes(200_000, seed=61))
    snap_id = lk.snapshot(data)
    no_wait = {"LKVAULT_LOCK_WAIT": "0"}
    holder = hold_lock(lk, exclusive=False)
    try:
        code, _, err = lk.run("list", extra=no_wait)
        assert code == 0, f"a reader was blocked by another reader: {err}"
        code, _, err = lk.run("snapshot", "--any-file", str(data), extra=no_wait)
        assert code == 1 and "busy" in assert_one_line_error(err)
    finally:
        release(holder)
    assert_vault_consistent(lk, {snap_id: data.read_bytes()}, tmp_path)


def test_two_threads_can_open_vaults_at_once(lk: Lk) -> None:
    script = textwrap.dedent(
        """
        import sys, threading
        from pathlib import Path
        from lkvault.vault import Environment, Vault
        errors = []
        def open_it():
            try:
                Vault.open(sys.argv[1], sys.argv[2].encode(), Environment(state_dir=None))
            except BaseException as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=open_it, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("errors:", errors)
        sys.exit(1 if errors else 0)
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, str(lk.vault), lk.password],
            cwd=REPO_ROOT,
            env=lk.env(),
            capture_output=True,
            text=True,
            timeout=5,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("two threads opening a vault at once hung (Argon2id deadlock)")
    assert done.returncode == 0, done.stdout + done.stderr
