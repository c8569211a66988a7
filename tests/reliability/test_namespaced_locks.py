"""Namespaced lock holders: processes in other PID namespaces beside live locks, in rounds.

Each round, a real process holds the vault's lock (exclusive or shared, in this PID namespace
or its own) while others, in the other namespace, try to prune and to snapshot without
waiting: every one of them is turned away busy in one line and the vault stays as it was;
a reader beside a shared lock works. A real snapshot then runs while namespaced prunes are
started beside it: whatever the interleaving, the snapshot restores exactly and verify
--read-data passes (a lock judged stale across namespaces once cost a snapshot its pack).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_cli import Lk, assert_one_line_error, random_bytes, vault_files
from lock_holders import hold_lock, release
from namespaces import IN_PID_NAMESPACE, run_in
from test_locks import REFUSAL

from .budget import pick, record

pytestmark = pytest.mark.skipif(REFUSAL is not None, reason=str(REFUSAL))
ROUNDS = pick(2, 12)


def test_namespaced_processes_never_take_a_live_lock_for_stale(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    data = tmp_path / "a.bin"
    data.write_bytes(random_bytes(200_000, seed=95))
    snap_id = lk.snapshot(data)
    turned_away = 0
    for round_number in range(ROUNDS):
        exclusive = round_number % 2 == 0
        holder_inside = round_number % 4 >= 2
        holder = hold_lock(lk, exclusive, IN_PID_NAMESPACE if holder_inside else ())
        try:
            before = vault_files(lk.vault)
            others = () if holder_inside else IN_PID_NAMESPACE
            for command in (("prune",), ("snapshot", str(data), "--opaque")):
                code, out, err = run_in(others, lk, *command)
                assert code == 1, f"round {round_number}: {command[0]} ran: {out}{err}"
                assert "busy" in assert_one_line_error(err)
                turned_away += 1
            if not exclusive:
                code, _, err = run_in(others, lk, "list")
                assert code == 0, err
            assert vault_files(lk.vault) == before, f"round {round_number} changed the vault"
        finally:
            if holder.poll() is None:
                release(holder)
    restored = tmp_path / "back.bin"
    code, _, err = lk.run("restore", snap_id, "-o", str(restored))
    assert code == 0 and restored.read_bytes() == data.read_bytes(), err
    record("namespaced-locks", rounds=ROUNDS, turned_away=turned_away)


def test_a_snapshot_survives_namespaced_prunes_started_beside_it(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    big = tmp_path / "big.bin"
    big.write_bytes(random_bytes(pick(8, 40) * 1024 * 1024, seed=96))
    snapshot = lk.start("snapshot", str(big), "--opaque")
    prunes = []
    try:
        while snapshot.poll() is None and len(prunes) < pick(6, 40):
            prunes.append(run_in(IN_PID_NAMESPACE, lk, "prune")[0])
        out, err = snapshot.communicate(timeout=600)
    finally:
        if snapshot.poll() is None:
            snapshot.kill()
            snapshot.communicate()
    assert snapshot.returncode == 0, err
    assert set(prunes) <= {0, 1}, prunes
    restored = tmp_path / "back.bin"
    code, _, err = lk.run("restore", out.strip(), "-o", str(restored))
    assert code == 0 and restored.read_bytes() == big.read_bytes(), err
    code, report, _ = lk.verify_json()
    assert code == 0 and report["ok"], report
    record("namespaced-locks", prunes_beside_a_snapshot=len(prunes))
