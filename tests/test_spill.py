"""Scratch space: what is written comes back, any range of it, never in clear on the disk."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from lkvault.vault import spill as spill_module
from lkvault.vault.errors import StorageError
from lkvault.vault.spill import Spill

CONTENT = b"".join(f"2-{n:05d},Ada,private message number {n}\n".encode() for n in range(3000))


@pytest.mark.parametrize("memory_limit", [1 << 20, 1000])
def test_every_range_comes_back_from_memory_or_disk(memory_limit: int, tmp_path: Path) -> None:
    with Spill(memory_limit, str(tmp_path)) as spill:
        for start in range(0, len(CONTENT), 777):
            spill.write(CONTENT[start : start + 777])
        assert spill.on_disk == (memory_limit < len(CONTENT))
        for offset, length in [(0, 1), (5, 100), (4093, 37), (len(CONTENT) - 3, 3), (17, 0)]:
            assert spill.read_at(offset, length) == CONTENT[offset : offset + length]
        ranges = [(900, 50), (0, 10), (10, 5000)]
        assert b"".join(spill.ranges(ranges, block=64)) == b"".join(
            CONTENT[o : o + n] for o, n in ranges
        )
        with pytest.raises(ValueError):
            spill.read_at(len(CONTENT) - 1, 2)


@pytest.mark.parametrize("memory_limit", [1 << 20, 1000])
def test_many_small_ranges_in_any_order_come_back_in_that_order(
    memory_limit: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a message inbox is put back in its own order: thousands of conversations taken from
    all over the scratch space, near and far apart, some empty, some split over blocks."""
    monkeypatch.setattr(spill_module, "WINDOW", 20_000)  # several windows, gaps and spans
    monkeypatch.setattr(spill_module, "GAP", 300)
    monkeypatch.setattr(spill_module, "SPAN", 4000)
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(CONTENT)), 2000))
    groups = [(a, b - a) for a, b in zip([0, *cuts], [*cuts, len(CONTENT)], strict=True)]
    groups += [(rng.randrange(len(CONTENT)), 0), (0, len(CONTENT))]  # empty, and everything
    rng.shuffle(groups)
    with Spill(memory_limit, str(tmp_path)) as spill:
        spill.write(CONTENT)
        blocks = list(spill.ranges(groups, block=1024))
        assert b"".join(blocks) == b"".join(CONTENT[o : o + n] for o, n in groups)
        assert max(len(b) for b in blocks) <= (1024 if spill.on_disk else 2048)
        with pytest.raises(ValueError):
            list(spill.ranges([(len(CONTENT) - 5, 6)]))


def test_the_disk_holds_only_noise_and_nothing_is_left_behind(tmp_path: Path) -> None:
    with Spill(1000, str(tmp_path)) as spill:
        spill.write(CONTENT)
        assert not list(tmp_path.iterdir()), "the file has no name another process could open"
        fd = spill._fd
        assert fd is not None
        on_disk = os.pread(fd, len(CONTENT) + 1, 0)
        assert len(on_disk) == len(CONTENT)
        assert b"private message" not in on_disk
    with pytest.raises(OSError):
        os.fstat(fd)


def test_a_folder_that_cannot_hold_it_is_a_clear_storage_error(tmp_path: Path) -> None:
    with Spill(10, str(tmp_path / "missing")) as spill, pytest.raises(StorageError) as caught:
        spill.write(CONTENT)
    assert "TMPDIR" in str(caught.value)
