"""Locks across PID namespaces, lost locks, and what interrupted lock writes leave behind.

A pid proves a lock stale only to a process that sees the holder's pids: same host, same
boot, same PID namespace. The tests run real processes in a real PID namespace
(``unshare --pid --fork --mount-proc``, which needs root or user namespaces) beside real
holders, and a held lock that is removed or cannot be rewritten stops its operation before
its next write.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers_cli import (
    Lk,
    assert_one_line_error,
    random_bytes,
    vault_files,
)
from lkvault.vault import Environment, StorageError, Vault
from lkvault.vault.repository.locks import STALE_AFTER, Holder, LockInfo, is_stale, lock
from lkvault.vault.repository.snapshots import write_forget_record
from lock_holders import hold_lock, release
from namespaces import IN_PID_NAMESPACE, run_in, unshare_refusal

NO_WAIT = {"LKVAULT_LOCK_WAIT": "0"}


REFUSAL = unshare_refusal(IN_PID_NAMESPACE, "unshare --pid")
needs_pid_namespace = pytest.mark.skipif(REFUSAL is not None, reason=str(REFUSAL))


@pytest.fixture
def lk(tmp_path: Path) -> Lk:
    vault = Lk(tmp_path / "vault", tmp_path / "state")
    vault.init()
    return vault


@needs_pid_namespace
def test_a_namespaced_prune_does_not_delete_a_live_snapshot_lock(lk: Lk, tmp_path: Path) -> None:
    data = tmp_path / "a.bin"
    data.write_bytes(random_bytes(300_000, seed=70))
    snap_id = lk.snapshot(data)
    holder = hold_lock(lk, exclusive=True)
    held = vault_files(lk.vault, "locks")
    assert len(held) == 1
    before = vault_files(lk.vault)

    # prune in its own PID namespace cannot see the holder's pid: the lock is not stale to it.
    code, out, err = run_in(IN_PID_NAMESPACE, lk, "prune")
    assert code == 1, f"prune ran beside a live lock: {out}{err}"
    message = assert_one_line_error(err)
    assert "busy" in message and str(holder.pid) in message, message
    assert vault_files(lk.vault) == before, "the namespaced prune changed the vault"
    assert vault_files(lk.vault, "locks") == held, "the live lock was deleted"
    release(holder)
    code, out, err = lk.run("restore", snap_id, "-o", str(tmp_path / "back.bin"))
    assert code == 0, err
    assert (tmp_path / "back.bin").read_bytes() == data.read_bytes()


@needs_pid_namespace
def test_a_lock_held_in_a_namespace_keeps_outside_writers_out(lk: Lk, tmp_path: Path) -> None:
    data = tmp_path / "a.bin"
    data.write_bytes(random_bytes(100_000, seed=71))
    holder = hold_lock(lk, exclusive=False, prefix=IN_PID_NAMESPACE)
    before = vault_files(lk.vault)
    code, _, err = lk.run("snapshot", "--any-file", str(data), extra=NO_WAIT)
    assert code == 1 and "busy" in assert_one_line_error(err)
    assert vault_files(lk.vault) == before
    code, _, err = lk.run("list", extra=NO_WAIT)
    assert code == 0, f"a reader was blocked by a namespaced reader: {err}"
    release(holder)
    code, _, err = lk.run("snapshot", "--any-file", str(data), extra=NO_WAIT)
    assert code == 0, err


@needs_pid_namespace
def test_a_lock_left_by_a_holder_killed_in_its_namespace_says_when_it_expires(
    lk: Lk, tmp_path: Path
) -> None:
    # A container killed while lkvault ran in it: from outside, its pid cannot be checked, so
    # the lock stays until it is STALE_AFTER old; the user must learn when that is.
    data = tmp_path / "a.bin"
    data.write_bytes(random_bytes(100_000, seed=72))
    holder = hold_lock(lk, exclusive=True, prefix=IN_PID_NAMESPACE)
    holder.kill()  # unshare --kill-child takes the namespaced holder with it
    # unshare's exit sends the holder its SIGKILL: only then may communicate() close the
    # holder's stdin, which a holder still running would take as "release the lock".
    holder.wait()
    holder.communicate()
    left = vault_files(lk.vault, "locks")
    before = vault_files(lk.vault)
    code, out, err = lk.run("snapshot", "--any-file", str(data), extra=NO_WAIT)
    assert code == 1, f"{code}: {out}{err} (locks before: {left})"
    message = assert_one_line_error(err)
    assert "busy" in message, message
    stamp = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC"
    renewed = re.search(f"last renewed {stamp}", message)
    expires = re.search(f"expires at {stamp}", message)
    assert renewed and expires, f"the message does not say when the lock goes: {message}"
    when = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S") for m in (renewed, expires)]
    assert when[1] - when[0] == STALE_AFTER, message
    assert vault_files(lk.vault) == before and vault_files(lk.vault, "locks") == left


def holder_of(host: str, boot: str | None, pidns: str | None, alive: bool) -> Holder:
    return Holder(
        host,
        1000,
        lambda pid: alive,
        lambda seconds: None,
        lambda a, b: a,
        boot_id=boot,
        pid_namespace=pidns,
    )


def lock_of(host: str, boot: str | None, pidns: str | None, age: timedelta) -> LockInfo:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    return LockInfo("locks/" + "ab" * 16, host, 4242, now - age, True, boot, pidns)


def test_only_a_holder_sharing_host_boot_and_namespace_is_judged_by_its_pid() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    me = holder_of("vm", "boot-1", "pid:[1]", alive=False)
    young, old = timedelta(minutes=1), STALE_AFTER + timedelta(seconds=1)
    assert is_stale(me, lock_of("vm", "boot-1", "pid:[1]", young), now)
    for elsewhere in (
        lock_of("vm", "boot-1", "pid:[2]", young),  # a container or Flatpak on this machine
        lock_of("vm", "boot-0", "pid:[1]", young),  # written before a reboot... or elsewhere
        lock_of("other", "boot-1", "pid:[1]", young),
        lock_of("vm", None, None, young),  # written by an lkvault that did not record them
    ):
        assert not is_stale(me, elsewhere, now), elsewhere
        assert is_stale(
            me, lock_of(elsewhere.host, elsewhere.boot_id, elsewhere.pid_namespace, old), now
        )
    unknown = holder_of("vm", None, None, alive=False)
    assert not is_stale(unknown, lock_of("vm", None, None, young), now)
    alive = holder_of("vm", "boot-1", "pid:[1]", alive=True)
    assert not is_stale(alive, lock_of("vm", "boot-1", "pid:[1]", young), now)


def open_with_refresh(lk: Lk, every: timedelta) -> Vault:
    env = Environment(state_dir=lk.state_dir, lock_wait=0, lock_refresh=every)
    return Vault.open(str(lk.vault), lk.password.encode(), env)


def wait_until_lost(held: object) -> str:
    deadline = time.monotonic() + 60  # a bound on a hang, not a timing assumption
    while held.lost is None:
        assert time.monotonic() < deadline, "the refresher never noticed"
        time.sleep(0.01)
    return str(held.lost)


@pytest.mark.parametrize("how", ["removed by another process", "cannot be rewritten"])
def test_an_operation_whose_lock_is_lost_stops_before_its_next_write(
    lk: Lk, tmp_path: Path, how: str
) -> None:
    data = tmp_path / "a.bin"
    data.write_bytes(random_bytes(200_000, seed=72))
    vault = open_with_refresh(lk, timedelta(milliseconds=20))
    held = lock(vault.repo, vault.env.holder(), exclusive=True, wait_seconds=0)
    try:
        locks = vault.repo.backend.list("locks/")
        assert locks == [held.name]
        if how == "removed by another process":
            (lk.vault / held.name).unlink()
        else:  # the folder became a file: even root cannot write the lock again
            shutil.rmtree(lk.vault / "locks")
            (lk.vault / "locks").write_bytes(b"")
        assert "lock" in wait_until_lost(held)
        before = vault_files(lk.vault)
        from lkvault.vault.operations import archiver

        with pytest.raises(StorageError) as stopped:
            archiver.snapshot(vault.repo, data, history=[])
        assert "stopped before writing" in str(stopped.value)
        assert "\n" not in str(stopped.value)
        with pytest.raises(StorageError, match="stopped before writing"):
            write_forget_record(vault.repo, [])  # a sealed document, not a pack
        assert vault_files(lk.vault) == before, "a write went through after the lock was lost"
    finally:
        held.release()
    if how != "removed by another process":
        (lk.vault / "locks").unlink()
    # The next operation takes a new lock and works.
    assert open_with_refresh(lk, timedelta(minutes=5)).snapshot(data).seq == 1


def test_temp_files_of_interrupted_lock_writes_are_removed_once_surely_abandoned(
    lk: Lk, tmp_path: Path
) -> None:
    locks = lk.vault / "locks"
    locks.mkdir(exist_ok=True)
    abandoned, in_flight = locks / ".tmp-killed", locks / ".tmp-being-written"
    abandoned.write_bytes(b"half a lock")
    in_flight.write_bytes(b"a reader is writing its lock")
    long_ago = time.time() - 2 * STALE_AFTER.total_seconds()
    os.utime(abandoned, (long_ago, long_ago))
    code, _, err = lk.run("list")  # a reader leaves other processes' files alone
    assert code == 0, err
    assert abandoned.exists() and in_flight.exists()
    data = tmp_path / "a.bin"
    data.write_bytes(random_bytes(50_000, seed=73))
    lk.snapshot(data)  # a writer removes what no write can still be busy with
    assert not abandoned.exists(), "an abandoned lock temp file stayed forever"
    assert in_flight.exists(), "a temp file another process may be writing was removed"
