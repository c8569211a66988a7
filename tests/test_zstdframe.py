"""Frames written in bounded memory stay plain zstd: any reader given the dictionary as a
raw-content dictionary gets the content back, whichever path wrote them; squeezing a large
frame needs a bounded context; the writer's compressions share one memory budget."""

from __future__ import annotations

import contextlib
import random
import threading
import time

import pytest
import zstandard
from lkvault.vault.budget import Budget
from lkvault.vault.errors import IntegrityError
from lkvault.vault.format import codec, zstdframe

MiB = 1024 * 1024


def rows(count: int, seed: int) -> bytes:
    r = random.Random(seed)
    return "".join(
        f"{r.getrandbits(32):08x},Person {r.randrange(10**6)},Company {r.randrange(500)},"
        f"2025-0{r.randrange(1, 10)}-1{r.randrange(10)}\n"
        for _ in range(count)
    ).encode()


def public_decompress(frame: bytes, dictionary: bytes | None) -> bytes:
    if dictionary:
        raw = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        return zstandard.ZstdDecompressor(dict_data=raw).decompress(frame)
    return zstandard.ZstdDecompressor().decompress(frame)


@pytest.fixture(params=["prefix", "public"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of writing a frame: the bounded-memory prefix, and the public API's fallback."""
    if request.param == "prefix":
        if not zstdframe.prefixes_available():
            pytest.skip("this zstandard build has no cffi binding")
    else:
        monkeypatch.setattr(zstdframe, "_PREFIXES", False)
    return str(request.param)


@pytest.mark.parametrize("level", [3, 10, 19])
def test_frames_against_a_dictionary_read_back_with_plain_zstd(path: str, level: int) -> None:
    old = rows(20_000, seed=1)
    new = rows(300, seed=2) + old[: len(old) // 2] + rows(300, seed=3) + old[len(old) // 2 :]
    pieces = [new[i : i + 16_384] for i in range(0, len(new), 16_384)]

    frame = zstdframe.compress(pieces, level, len(new), old)

    assert public_decompress(frame, old) == new
    assert codec.decompress(frame, len(new), "test frame", old) == new
    # The dictionary is what makes it small: the shared rows cost almost nothing.
    assert len(frame) < len(zstdframe.compress(pieces, level, len(new))) / 4


def test_frames_without_a_dictionary_read_back(path: str) -> None:
    data = rows(5_000, seed=4)
    frame = zstdframe.compress([data[:1000], data[1000:]], 10, len(data))
    assert public_decompress(frame, None) == data
    assert zstandard.get_frame_parameters(frame).content_size == len(data)


def test_a_wrong_size_is_refused(path: str) -> None:
    with pytest.raises(ValueError):
        zstdframe.compress([b"abc"], 10, 4)


def test_squeezing_a_full_frame_against_a_full_dictionary_needs_a_bounded_context() -> None:
    # Level 19's own tables need ~81 MiB for this; two of them made a snapshot of a 300 MB
    # export peak at 370 MB.
    assert zstdframe.context_size(19, 4 * MiB, 4 * MiB) <= 36 * MiB
    assert zstdframe.context_size(10, 4 * MiB, 4 * MiB) <= 24 * MiB
    # Small frames need little, so many can be squeezed side by side.
    assert zstdframe.context_size(19, 256 * 1024, 256 * 1024) <= 8 * MiB


def test_a_budget_holds_back_what_does_not_fit_and_runs_an_oversized_request_alone() -> None:
    budget = Budget(10)
    running: list[int] = []
    seen: list[list[int]] = []
    lock = threading.Lock()

    def work(amount: int) -> None:
        with budget.reserve(amount):
            with lock:
                running.append(amount)
                seen.append(sorted(running))
            time.sleep(0.05)
            with lock:
                running.remove(amount)

    threads = [threading.Thread(target=work, args=(a,)) for a in (6, 6, 4, 15, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)  # the oversized one ran too
    assert [15] in seen
    assert all(sum(together) <= 10 or together == [15] for together in seen)
    assert budget.used == 0


def test_a_fast_frame_reaches_back_across_the_whole_prefix(path: str) -> None:
    # At level 3 zstd's window is 2 MiB: from the end of a 3.5 MiB frame the 4 MiB prefix is
    # out of reach, and a stretch the frame shares with the prefix's end was stored again.
    prefix = rows(100_000, 3)[: 4 * MiB]
    fresh = rows(100_000, 4)[: 3 * MiB]
    content = fresh + prefix[-MiB // 2 :]
    frame = zstdframe.compress([content], 3, len(content), prefix)
    alone = zstdframe.compress([fresh], 3, len(fresh), prefix)
    assert len(frame) - len(alone) < 16 * 1024  # the shared half MiB costs next to nothing
    assert codec.decompress(frame, len(content), "frame", prefix) == content
    assert public_decompress(frame, prefix) == content


@pytest.fixture(params=["prefix", "public"])
def read_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of reading a frame against its dictionary: the prefix, referenced in place
    (restore decodes 16 MiB frames against 16 MiB dictionaries, two at a time), and the
    public API's dictionary object, a copy of it."""
    if request.param == "prefix":
        if not zstdframe.prefix_reads_available():
            pytest.skip("this zstandard build has no cffi binding")
        # No dictionary object may be built: that would be the copy.
        monkeypatch.setattr(zstandard, "ZstdCompressionDict", None)
    else:
        monkeypatch.setattr(zstdframe, "_PREFIX_READS", False)
    return str(request.param)


def test_a_frame_reads_back_against_its_dictionary_and_nothing_else(read_path: str) -> None:
    old = rows(20_000, seed=5)
    new = rows(200, seed=6) + old[: len(old) // 3] + rows(200, seed=7)
    frame = zstdframe.compress([new], 19, len(new), old)

    assert codec.decompress(frame, len(new), "frame", old) == new
    assert codec.decompress(frame, len(new), "frame", bytearray(old)) == new
    other = rows(20_000, seed=8)
    # The wrong dictionary: refused, or other bytes (which their blob ids then refuse).
    with contextlib.suppress(IntegrityError):
        assert codec.decompress(frame, len(new), "frame", other) != new
    for size in (len(new) - 1, len(new) + 1):  # not the size its entry records
        with pytest.raises(IntegrityError):
            codec.decompress(frame, size, "frame", old)
    with pytest.raises(IntegrityError):
        codec.decompress(frame[:-5], len(new), "frame", old)
