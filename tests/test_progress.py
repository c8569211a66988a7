"""Honest progress: a snapshot shows one bar per phase (reading, proving, compressing,
writing, hashing); none is full while its work remains, each is full when it is done, and
nothing is shown off a terminal."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from helpers_cli import Lk
from lkvault.vault import Environment, Vault
from lkvault.vault.backend import LocalBackend

from bench.exportgen import generate_series

PHASES = ["Reading", "Proving", "Compressing", "Writing", "Hashing"]


class Bars:
    """Records what a user would see: every bar's count and total, and every moment a bar
    was advanced while already full (a bar sitting at 100 % while work went on)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.order: list[str] = []
        self.count: dict[str, int] = {}
        self.total: dict[str, int | None] = {}
        self.wrongs: list[str] = []
        self.main = ""

    def full(self, label: str) -> bool:
        total = self.total[label]
        return total is not None and self.count[label] >= total

    def _begin(self, label: str, total: int | None) -> None:
        with self.lock:
            self.order.append(label)
            self.count[label], self.total[label] = 0, total

    def _advance(self, label: str, amount: int) -> None:
        with self.lock:
            if amount and self.full(label):
                self.wrongs.append(f"{label} advanced by {amount} while full")
            self.count[label] += amount
            total = self.total[label]
            if total is not None and self.count[label] > total:
                self.wrongs.append(f"{label} past its total: {self.count[label]} > {total}")

    def _set_total(self, label: str, total: int) -> None:
        with self.lock:
            if total < self.count[label]:
                self.wrongs.append(f"{label} given a total below its count")
            self.total[label] = total

    # the Progress interface
    def start(self, label: str, total: int | None) -> None:
        self.main = label
        self._begin(label, total)

    def advance(self, amount: int) -> None:
        self._advance(self.main, amount)

    def phase(self, label: str, total: int | None = None) -> Bar:
        self._begin(label, total)
        return Bar(self, label)

    def done(self) -> None:
        pass


class Bar:
    def __init__(self, bars: Bars, label: str) -> None:
        self.bars = bars
        self.label = label

    def advance(self, amount: int) -> None:
        self.bars._advance(self.label, amount)

    def set_total(self, total: int) -> None:
        self.bars._set_total(self.label, total)


class WatchedBackend(LocalBackend):
    """A real folder; at each pack write, the Writing bar must not be full yet, and when the
    snapshot record is written every bar must be."""

    bars: Bars | None = None

    def write(self, name: str, data: bytes) -> None:
        bars = self.bars
        if bars is not None and name.startswith("data/") and bars.full("Writing"):
            bars.wrongs.append(f"Writing full before {name} was written")
        if bars is not None and name.startswith("snapshots/"):
            for label in bars.order:
                if not bars.full(label):
                    bars.wrongs.append(f"{label} not full when the snapshot was recorded")
        super().write(name, data)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_series(tmp_path_factory.mktemp("progress"), months=2, scale=2, seed=31)


@pytest.mark.parametrize("frame_target", [4 * 1024 * 1024, 64 * 1024])
def test_each_phase_has_a_bar_full_exactly_when_its_work_is_done(
    tmp_path: Path, exports: list[Path], monkeypatch: pytest.MonkeyPatch, frame_target: int
) -> None:
    # With small frames and packs, packs are written while the export is still read.
    from lkvault.vault.repository import blobwriter

    monkeypatch.setattr(blobwriter, "FRAME_TARGET", frame_target)
    monkeypatch.setattr(blobwriter, "PACK_TARGET", 4 * frame_target)
    backend = WatchedBackend(tmp_path / "vault")
    env = Environment(rng=random.Random(5).randbytes, state_dir=tmp_path / "state")
    vault = Vault.init(backend, b"progress passphrase", env)
    for export in exports:
        bars = Bars()
        backend.bars = bars
        vault.snapshot(export, progress=bars)
        backend.bars = None
        assert bars.order == PHASES
        assert bars.wrongs == []
        for label in PHASES:
            assert bars.full(label), f"{label}: {bars.count[label]} of {bars.total[label]}"
        assert bars.total["Reading"] == bars.total["Hashing"] == export.stat().st_size
        assert bars.total["Compressing"] > 0 and bars.total["Writing"] > 0


def test_no_bar_off_a_terminal(tmp_path: Path, exports: list[Path]) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    code, out, err = lk.run("snapshot", str(exports[0]))
    assert code == 0 and len(out.split()) == 1
    assert err == ""
