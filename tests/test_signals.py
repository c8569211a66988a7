"""Ctrl-C and SIGTERM during a real snapshot: the command stops, workers included, prints one
line saying what was stored, exits 130 (SIGINT) or 143 (SIGTERM), and the vault stays
consistent and usable (verify passes, the lock is gone, the next snapshot works).

Signals are real. They land at known points without racing a clock: either the process
sends one to itself as its n-th storage write begins (tests/faults.py, "signal:N:INT", writes
counted like the crash tests': the lock, the packs, the index file, the snapshot record),
or the test sends one once it sees the snapshot's workers at work (the vault locked and
worker threads running), then waits for the exit.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from helpers_cli import (
    EXIT_FOR_SIGNAL,
    Lk,
    MonthStored,
    assert_library_restores,
    assert_one_line_error,
    copy_lk,
    month_stored,
    reopen,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> MonthStored:
    return month_stored(tmp_path_factory.mktemp("signals"), seed=21)


def check_after_interrupt(base: MonthStored, lk: Lk, code: int, err: str, signum: int) -> None:
    assert code == EXIT_FOR_SIGNAL[signum], f"exit {code}: {err}"
    message = assert_one_line_error(err)
    assert message.startswith("interrupted"), message
    vault = reopen(base.opened, lk.vault)
    report = vault.verify(read_data=True)
    assert report.ok, [problem.describe() for problem in report.problems]
    listed = [snap.id.hex() for snap in vault.snapshots()]
    if "was stored (it is complete)" in message:
        assert len(listed) == 2, message
        assert_library_restores(vault, listed[1], base.exports[1].read_bytes(), lk.vault.parent)
    else:
        assert "no snapshot was stored" in message or "nothing was stored" in message, message
        assert listed == [base.first], message
    # The lock went with the process, and the vault takes the snapshot as if nothing happened.
    second = lk.snapshot(base.exports[1])
    assert_library_restores(
        reopen(base.opened, lk.vault), second, base.exports[1].read_bytes(), lk.vault.parent
    )


@pytest.mark.parametrize(
    ("nth", "signum"),
    [
        (1, signal.SIGINT),  # as the lock is taken
        (2, signal.SIGTERM),  # as the first pack is written
        (3, signal.SIGINT),  # as the index file is written
        (4, signal.SIGTERM),  # as the snapshot record is written
    ],
)
def test_a_signal_at_each_write_of_a_snapshot(
    base: MonthStored, tmp_path: Path, nth: int, signum: signal.Signals
) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    spec = f"signal:{nth}:{signum.name.removeprefix('SIG')}"
    code, _out, err = lk.run("snapshot", str(base.exports[1]), killed_at=spec)
    check_after_interrupt(base, lk, code, err, signum)


def worker_threads_running(pid: int, locks: Path) -> bool:
    """The snapshot holds the lock and its member workers run (more than the main thread and
    the lock's own)."""
    try:
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return False
    return threads >= 4 and locks.is_dir() and any(locks.iterdir())


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_workers_read_and_prove(
    base: MonthStored, tmp_path: Path, signum: signal.Signals
) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    process = lk.start("snapshot", str(base.exports[1]))
    try:
        while process.poll() is None and not worker_threads_running(
            process.pid, lk.vault / "locks"
        ):
            time.sleep(0.002)  # a polling interval, not a deadline
        assert process.poll() is None, "the snapshot ended before its workers were seen"
        process.send_signal(signum)
        _out, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    check_after_interrupt(base, lk, process.returncode, err, signum)


@pytest.mark.parametrize("nth", [2, 3])  # as its first new pack, as its new index is written
def test_a_signal_during_compact(base: MonthStored, tmp_path: Path, nth: int) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    code, _out, err = lk.run("compact", killed_at=f"signal:{nth}:INT")
    assert code == 130, err
    assert "compact stopped, the vault is consistent" in assert_one_line_error(err)
    vault = reopen(base.opened, lk.vault)
    report = vault.verify(read_data=True)
    assert report.ok, [problem.describe() for problem in report.problems]
    assert_library_restores(vault, base.first, base.exports[0].read_bytes(), lk.vault.parent)
    lk.ok("compact")
    assert reopen(base.opened, lk.vault).compact(dry_run=True).plan.nothing_to_do


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_watch_stopped_by_a_signal_exits_as_every_command(tmp_path: Path, signum: int) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    process = lk.start("watch", str(downloads), "--interval", "0.1")
    assert process.stderr is not None
    watching = process.stderr.readline()  # printed once it watches
    assert watching.startswith(f"Watching {downloads}"), watching
    process.send_signal(signum)
    _out, err = process.communicate(timeout=60)  # only a guard: it stops at once
    assert process.returncode == EXIT_FOR_SIGNAL[signum], err
    assert err.strip() == f"Stopped watching {downloads}.", err


# --- readers: restore, verify --read-data, and compact's squeezing workers ----------------
# They write nothing to the vault but its lock, so their signals are placed by the packs they
# read (tests/faults.py, "signal-read:N:INT"): the n-th read of a pack, on whichever thread
# makes it. Restoring the first month reads its pack 5 times, verifying it 7 times.


def signal_spec(nth: int, signum: signal.Signals) -> str:
    return f"signal-read:{nth}:{signum.name.removeprefix('SIG')}"


def assert_vault_untouched(base: MonthStored, lk: Lk) -> None:
    """The lock went with the process, nothing in the vault changed, and it restores."""
    assert not any((lk.vault / "locks").iterdir())
    assert sorted(p.name for p in (lk.vault / "data").rglob("*")) == sorted(
        p.name for p in (base.lk.vault / "data").rglob("*")
    )
    vault = reopen(base.opened, lk.vault)
    assert vault.verify(read_data=True).ok
    assert_library_restores(vault, base.first, base.exports[0].read_bytes(), lk.vault.parent)


@pytest.mark.parametrize(
    ("nth", "signum"),
    [
        (1, signal.SIGINT),  # as its first frame is read, before anything is written
        (4, signal.SIGTERM),  # with the re-deflation workers at work and output written
    ],
)
def test_a_signal_during_restore_leaves_no_file(
    base: MonthStored, tmp_path: Path, nth: int, signum: signal.Signals
) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    out = tmp_path / "restored"
    out.mkdir()
    target = out / "export.zip"
    code, _out, err = lk.run(
        "restore", base.first, "-o", str(target), killed_at=signal_spec(nth, signum)
    )
    assert code == EXIT_FOR_SIGNAL[signum], f"exit {code}: {err}"
    message = assert_one_line_error(err)
    assert message.startswith("interrupted; restore stopped"), message
    assert f"{target} was not written" in message, message
    assert list(out.iterdir()) == []  # neither the file nor a partial one
    assert_vault_untouched(base, lk)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_restoring_to_a_pipe(
    base: MonthStored, tmp_path: Path, signum: signal.Signals
) -> None:
    """The archive goes to a pipe this test stops reading after its first MiB: the restore
    is then blocked writing, with its workers ahead of it, when the signal comes."""
    lk = copy_lk(base.lk, tmp_path / "work")
    process = lk.start("restore", base.first, "-o", "-")
    assert process.stdout is not None and process.stderr is not None
    try:
        first = process.stdout.buffer.read(1 << 20)
        assert len(first) == 1 << 20, "the restore ended before its first MiB"
        process.send_signal(signum)
        rest = process.stdout.buffer.read()
        err = process.stderr.read()
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT_FOR_SIGNAL[signum], f"exit {process.returncode}: {err}"
    assert len(first) + len(rest) < base.exports[0].stat().st_size
    message = assert_one_line_error(err)
    assert message.startswith("interrupted; restore stopped"), message
    assert "the archive written to stdout is incomplete" in message, message
    assert_vault_untouched(base, lk)


@pytest.mark.parametrize(
    ("nth", "signum"),
    [
        (1, signal.SIGTERM),  # as the pack headers are checked
        (5, signal.SIGINT),  # while the frames are read and their blobs re-hashed
    ],
)
def test_a_signal_during_verify_read_data(
    base: MonthStored, tmp_path: Path, nth: int, signum: signal.Signals
) -> None:
    lk = copy_lk(base.lk, tmp_path / "work")
    code, out, err = lk.run("verify", "--read-data", killed_at=signal_spec(nth, signum))
    assert code == EXIT_FOR_SIGNAL[signum], f"exit {code}: {err}"
    message = assert_one_line_error(err)
    assert message.startswith("interrupted; verify stopped before it finished"), message
    assert "intact" not in out  # no verdict on what was not read
    assert_vault_untouched(base, lk)


@pytest.mark.parametrize(("nth", "signum"), [(1, signal.SIGTERM), (3, signal.SIGINT)])
def test_a_signal_while_compact_squeezes(
    base: MonthStored, tmp_path: Path, nth: int, signum: signal.Signals
) -> None:
    """The frames are read and squeezed at level 19 on worker threads: the command stops
    without waiting for the squeezes in progress."""
    lk = copy_lk(base.lk, tmp_path / "work")
    code, _out, err = lk.run("compact", killed_at=signal_spec(nth, signum))
    assert code == EXIT_FOR_SIGNAL[signum], f"exit {code}: {err}"
    assert "compact stopped, the vault is consistent" in assert_one_line_error(err)
    assert not any((lk.vault / "locks").iterdir())
    vault = reopen(base.opened, lk.vault)
    assert vault.verify(read_data=True).ok
    assert_library_restores(vault, base.first, base.exports[0].read_bytes(), lk.vault.parent)
    lk.ok("compact")
    assert reopen(base.opened, lk.vault).compact(dry_run=True).plan.nothing_to_do
