"""Test helper for compact and prune: a vault built from exports through the library, its
frame sizes, and the checks that every snapshot still restores and the vault is intact."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers_cli import Lk, assert_clean_stderr, assert_library_restores, reopen
from lkvault.vault import Environment, Vault

PASSPHRASE = b"compact test passphrase"


@dataclass
class Base:
    """A vault made once per module through the command line, copied by each test."""

    lk: Lk
    ids: list[str]
    data: list[bytes]
    opened: Any  # the base vault opened once: its keys serve every copy


def new_vault(root: Path, exports: list[Path], *, seed: int = 3, **env: Any) -> Vault:
    vault = Vault.init(
        str(root / "vault"),
        PASSPHRASE,
        Environment(rng=random.Random(seed).randbytes, state_dir=root / "state", **env),
    )
    for path in exports:
        vault.snapshot(path)
    return vault


def frame_bytes(vault: Vault) -> int:
    """The stored size of every frame (files are padded to coarser sizes)."""
    packs = vault.repo.reload_index().packs.values()
    return sum(frame.length for frames in packs for frame in frames)


def assert_intact(vault: Vault) -> None:
    report = vault.verify(read_data=True)
    assert report.ok, [problem.describe() for problem in report.problems]


def assert_every_snapshot_restores(vault: Vault, exports: list[Path], out_dir: Path) -> None:
    """In a new process's view (no cache carries the restores), byte for byte."""
    fresh = Vault.open(vault.location, PASSPHRASE, vault.env)
    snapshots = fresh.snapshots()
    assert len(snapshots) == len(exports)
    for snap, path in zip(snapshots, exports, strict=True):
        assert_library_restores(fresh, snap.id.hex(), path.read_bytes(), out_dir)


def assert_next_month_costs_as_without_compact(
    make: Callable[[Path, list[Path]], Vault], root: Path, series: list[Path]
) -> Vault:
    """Compact after two months, then store the third: it costs at most 5 % more than in a
    vault never compacted (compact keeps the blobs that later months are stored against).
    Returns the compacted vault."""
    compacted = make(root / "compacted", series[:2])
    compacted.compact()
    before = frame_bytes(compacted)
    compacted.snapshot(series[2])
    plain = make(root / "plain", series[:2])
    plain_before = frame_bytes(plain)
    plain.snapshot(series[2])
    assert frame_bytes(compacted) - before <= 1.05 * (frame_bytes(plain) - plain_before)
    return compacted


def assert_restorable(base: Base, lk: Lk, label: str) -> Any:
    """The vault copy ``lk`` left behind verifies with --read-data and restores each of the
    base's snapshots byte for byte; returns the verify report."""
    vault = reopen(base.opened, lk.vault)
    report = vault.verify(read_data=True)
    assert report.ok, f"{label}: {[p.describe() for p in report.problems]}"
    for snap_id, data in zip(base.ids, base.data, strict=True):
        assert_library_restores(vault, snap_id, data, lk.vault.parent)
    return report


def assert_next_run_finishes(base: Base, lk: Lk, label: str, command: str) -> Vault:
    """``lkvault COMMAND`` run again succeeds cleanly and leaves compact nothing to do;
    returns the vault as it left it."""
    code, _out, err = lk.run(command)
    assert code == 0, f"{label}: the next {command} exited {code}: {err}"
    assert_clean_stderr(err)
    vault = reopen(base.opened, lk.vault)
    plan = vault.compact(dry_run=True).plan
    assert plan.nothing_to_do, f"{label}: {command} left work: {plan}"
    return vault
