"""Tests of vault.chunker: the normative cut rule, its two implementations, and streaming.

``tests/vectors/chunker.json`` is written by ``_spec_lengths`` below, a literal transcription
of the rule in docs/FORMAT.md that shares no code with vault.chunker; regenerate it with
``python tests/test_chunker.py --write-vectors`` (only if the format changes on purpose).
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections.abc import Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lkvault.vault.format import chunker
from lkvault.vault.format.chunker import ACCELERATED, Chunker, ChunkerParams, chunk_lengths

VECTORS_PATH = Path(__file__).parent / "vectors" / "chunker.json"
IMPLS = chunker.implementations()  # "reference" first, then the C ones built and usable here
NATIVE_IMPLS = [name for name in IMPLS if name != "reference"]
needs_native = pytest.mark.skipif(
    not NATIVE_IMPLS,
    reason="lkvault.vault.format._cdc not built or no AES-NI here: C path untestable",
)

SMALL = ChunkerParams(64, 256, 1024)
TINY = ChunkerParams(64, 128, 200)  # many forced cuts at max
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
KEY2 = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")

HYPO = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


# ---- independent oracle: the rule exactly as docs/FORMAT.md states it ---------------------


def _spec_lengths(key: bytes, params: ChunkerParams, stream: bytes) -> list[int]:
    encrypt = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update
    mn, avg, mx = params.min_size, params.avg_size, params.max_size
    t_small, t_large = 2**64 // (2 * avg), 2**64 * 2 // avg
    lengths: list[int] = []
    s = 0
    while s < len(stream):
        length = min(mx, len(stream) - s)
        for candidate in range(mn, mx):
            if s + candidate > len(stream):
                break
            p = s + candidate - 1
            v = int.from_bytes(encrypt(stream[p - 15 : p + 1])[0:8], "little")
            if v < (t_small if candidate < avg else t_large):
                length = candidate
                break
        lengths.append(length)
        s += length
    return lengths


# ---- deterministic inputs ------------------------------------------------------------------


def sha256_ctr(seed: bytes, length: int) -> bytes:
    """SHA-256(seed || i as 8 bytes big-endian) for i = 0, 1, ..., concatenated, truncated."""
    out = bytearray()
    i = 0
    while len(out) < length:
        out += hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:length])


def csv_rows(seed: bytes, rows: int, words: Sequence[str]) -> bytes:
    """Row i: "{i},{words[h[0] % n]},{h[1:5].hex()},https://www.linkedin.com/in/u{h[5]}\\n"
    with h = SHA-256(seed || i as 8 bytes big-endian)."""
    lines = []
    for i in range(rows):
        h = hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
        lines.append(
            f"{i},{words[h[0] % len(words)]},{h[1:5].hex()},https://www.linkedin.com/in/u{h[5]}\n"
        )
    return "".join(lines).encode()


def make_input(recipe: dict[str, Any]) -> bytes:
    kind = recipe["kind"]
    if kind == "sha256-ctr":
        return sha256_ctr(recipe["seed"].encode(), recipe["length"])
    if kind == "repeat":
        pattern = bytes.fromhex(recipe["pattern_hex"])
        return (pattern * (recipe["length"] // len(pattern) + 1))[: recipe["length"]]
    if kind == "csv":
        return csv_rows(recipe["seed"].encode(), recipe["rows"], recipe["words"])
    raise AssertionError(f"unknown recipe {kind}")


def text_sample(n: int) -> bytes:
    return csv_rows(b"text", n // 60 + 1, ["Alice", "Bob", "Carol", "Dan"])[:n]


def feed_all(c: Chunker, data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """Feed data split at the given offsets, then finish."""
    chunks: list[bytes] = []
    prev = 0
    for cut in [*sorted(cuts), len(data)]:
        chunks += c.feed(data[prev:cut])
        prev = max(prev, cut)
    return chunks + c.finish()


def params_of(v: dict[str, Any]) -> ChunkerParams:
    return ChunkerParams(v["min_size"], v["avg_size"], v["max_size"])


def load_vectors() -> list[dict[str, Any]]:
    if not VECTORS_PATH.exists():  # only while writing them; the coverage test then fails
        return []
    return json.loads(VECTORS_PATH.read_text())["vectors"]


# ---- vectors: both paths --------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["name"])
def test_vectors(vector: dict[str, Any], impl: str) -> None:
    key = bytes.fromhex(vector["key_hex"])
    params = params_of(vector["params"])
    data = make_input(vector["input"])
    assert hashlib.sha256(data).hexdigest() == vector["input_sha256"], "recipe drifted"
    assert chunk_lengths(key, params, data, implementation=impl) == vector["lengths"]
    chunks = feed_all(Chunker(key, params, implementation=impl), data, [len(data) // 3, 77])
    assert [len(c) for c in chunks] == vector["lengths"]
    assert [hashlib.sha256(c).hexdigest() for c in chunks] == vector["chunk_sha256"]


def test_vectors_cover_the_interesting_cases() -> None:
    """The vector file keeps forced max cuts, avg-threshold cuts, a short tail, empty input."""
    vectors = load_vectors()
    all_lengths = [(params_of(v["params"]), v["lengths"]) for v in vectors]
    assert any(p.max_size in ls[:-1] for p, ls in all_lengths)
    assert any(any(p.min_size <= n < p.avg_size for n in ls[:-1]) for p, ls in all_lengths)
    assert any(any(p.avg_size <= n < p.max_size for n in ls[:-1]) for p, ls in all_lengths)
    assert any(ls and ls[-1] < p.min_size for p, ls in all_lengths)
    assert any(ls == [] for _, ls in all_lengths)


@pytest.mark.parametrize("vector", load_vectors()[:4], ids=lambda v: v["name"])
def test_vectors_match_the_spec_text(vector: dict[str, Any]) -> None:
    data = make_input(vector["input"])
    key = bytes.fromhex(vector["key_hex"])
    assert _spec_lengths(key, params_of(vector["params"]), data) == vector["lengths"]


@HYPO
@given(
    data=st.binary(min_size=0, max_size=3000),
    params=st.sampled_from([SMALL, TINY, ChunkerParams(100, 512, 700)]),
)
def test_reference_path_is_the_spec(data: bytes, params: ChunkerParams) -> None:
    assert chunk_lengths(KEY, params, data, implementation="reference") == _spec_lengths(
        KEY, params, data
    )


# ---- C path == reference path ---------------------------------------------------------------


def _corpus() -> Iterator[tuple[str, bytes]]:
    yield "random", sha256_ctr(b"corpus/random", 300_000)
    yield "text", text_sample(300_000)
    yield "zeros", bytes(200_000)
    yield "ff", b"\xff" * 100_000
    yield "abc", b"abc" * 50_000
    yield "period16", bytes(range(16)) * 10_000
    yield "period17", bytes(range(17)) * 10_000
    yield "sparse", b"".join(bytes(997) + sha256_ctr(b"%d" % i, 3) for i in range(200))
    yield "tiny", b"x"


CORPUS = list(_corpus())
PARAM_SET = [ChunkerParams(), SMALL, TINY, ChunkerParams(4096, 8192, 1 << 20)]


@needs_native
@pytest.mark.parametrize("impl", NATIVE_IMPLS)
@pytest.mark.parametrize("name,data", CORPUS, ids=[n for n, _ in CORPUS])
def test_native_equals_reference(name: str, data: bytes, impl: str) -> None:
    for params in PARAM_SET:
        for key in (KEY, hashlib.sha256(name.encode()).digest()[:16]):
            ref = chunk_lengths(key, params, data, implementation="reference")
            assert chunk_lengths(key, params, data, implementation=impl) == ref, (name, params)


@needs_native
def test_native_low_entropy_keys_hitting_both_thresholds() -> None:
    """All-zero data under keys where the zero window cuts at min, at avg, or never."""
    params = SMALL
    seen = set()
    for i in range(4000):
        key = hashlib.sha256(b"zero-key/%d" % i).digest()[:16]
        ref = chunk_lengths(key, params, bytes(5000), implementation="reference")
        kind = ref[0]
        if kind in seen:
            continue
        seen.add(kind)
        for impl in NATIVE_IMPLS:
            assert chunk_lengths(key, params, bytes(5000), implementation=impl) == ref
        if seen == {params.min_size, params.avg_size, params.max_size}:
            break
    assert seen == {params.min_size, params.avg_size, params.max_size}


def test_accelerated_flag_matches_availability() -> None:
    assert bool(NATIVE_IMPLS) == ACCELERATED
    assert (chunker._cdc_module is not None) or not ACCELERATED


# ---- streaming -------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
@HYPO
@given(data=st.data())
def test_feed_split_invariance(impl: str, data: st.DataObject) -> None:
    stream = data.draw(st.sampled_from([CORPUS[0][1][:20_000], CORPUS[1][1][:20_000]]))
    params = data.draw(st.sampled_from([SMALL, TINY]))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=40))
    expected = chunk_lengths(KEY, params, stream, implementation="reference")
    chunks = feed_all(Chunker(KEY, params, implementation=impl), stream, cuts)
    assert [len(c) for c in chunks] == expected
    assert b"".join(chunks) == stream


@pytest.mark.parametrize("impl", IMPLS)
def test_byte_at_a_time_and_one_block(impl: str) -> None:
    stream = CORPUS[0][1][:6000]
    expected = chunk_lengths(KEY, SMALL, stream, implementation="reference")
    one = Chunker(KEY, SMALL, implementation=impl)
    assert [len(c) for c in feed_all(one, stream, range(len(stream)))] == expected
    whole = Chunker(KEY, SMALL, implementation=impl)
    assert [len(c) for c in whole.feed(stream) + whole.finish()] == expected


@pytest.mark.parametrize("impl", IMPLS)
def test_reuse_after_finish(impl: str) -> None:
    c = Chunker(KEY, SMALL, implementation=impl)
    a, b = CORPUS[0][1][:9000], CORPUS[1][1][:7000]
    first = c.feed(a[:5000]) + c.feed(a[5000:]) + c.finish()
    second = c.feed(b) + c.finish()
    assert [len(x) for x in first] == chunk_lengths(KEY, SMALL, a, implementation="reference")
    assert [len(x) for x in second] == chunk_lengths(KEY, SMALL, b, implementation="reference")
    assert c.finish() == []


@pytest.mark.parametrize("impl", IMPLS)
def test_input_types(impl: str) -> None:
    stream = CORPUS[0][1][:8000]
    expected = chunk_lengths(KEY, SMALL, stream, implementation="reference")
    c = Chunker(KEY, SMALL, implementation=impl)
    words = memoryview(bytearray(stream[2000:6000])).cast("I")  # non-byte format
    out = c.feed(bytearray(stream[:2000])) + c.feed(words) + c.feed(memoryview(stream)[6000:])
    assert [len(x) for x in out + c.finish()] == expected


@pytest.mark.parametrize("impl", IMPLS)
def test_holds_at_most_max_size_between_feeds(impl: str) -> None:
    params = ChunkerParams(64, 256, 1024)
    c = Chunker(KEY, params, implementation=impl)
    for i in range(0, 200_000, 700):
        c.feed(bytes(700))  # zeros: most keys give forced max-size cuts
        assert len(c._pending) < params.max_size
        c.feed(CORPUS[0][1][i : i + 700])
        assert len(c._pending) < params.max_size


@needs_native
def test_native_threads_give_the_same_result() -> None:
    data = [CORPUS[0][1], CORPUS[1][1]]
    expected = [chunk_lengths(KEY, ChunkerParams(), d) for d in data]
    results: list[list[int]] = [[], []]

    def work(i: int) -> None:
        for _ in range(5):
            results[i] = chunk_lengths(KEY, ChunkerParams(), data[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


# ---- chunk properties ------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
@HYPO
@given(
    stream=st.one_of(
        st.binary(max_size=5000),
        st.builds(lambda n, b: b * n, st.integers(0, 3000), st.binary(min_size=1, max_size=5)),
    ),
    params=st.sampled_from([SMALL, TINY, ChunkerParams(64, 1024, 1100)]),
)
def test_bounds_and_concatenation(impl: str, stream: bytes, params: ChunkerParams) -> None:
    c = Chunker(KEY, params, implementation=impl)
    chunks = c.feed(stream) + c.finish()
    assert b"".join(chunks) == stream
    assert all(params.min_size <= len(x) <= params.max_size for x in chunks[:-1])
    assert all(0 < len(x) <= params.max_size for x in chunks[-1:])


def test_default_mean_chunk_size() -> None:
    lengths = chunk_lengths(KEY, ChunkerParams(), CORPUS[0][1] * 4)
    mean = sum(lengths[:-1]) / len(lengths[:-1])
    assert 15_000 < mean < 25_000  # about min + 15 KiB for 4/16/64 KiB normalized chunking


@pytest.mark.parametrize("impl", IMPLS)
def test_keys_decide_boundaries(impl: str) -> None:
    data = CORPUS[0][1][:100_000]
    a = chunk_lengths(KEY, SMALL, data, implementation=impl)
    assert chunk_lengths(bytes(KEY), SMALL, data, implementation=impl) == a
    b = chunk_lengths(KEY2, SMALL, data, implementation=impl)
    assert a != b
    ends_a = {sum(a[: i + 1]) for i in range(len(a))}
    ends_b = {sum(b[: i + 1]) for i in range(len(b))}
    assert len(ends_a & ends_b) < len(ends_a) // 4  # mostly different, not a shifted copy


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", ["random", "text"])
def test_insertion_near_start_resynchronises(impl: str, name: str) -> None:
    old = dict(CORPUS)[name][:200_000]
    new = old[:100] + b"inserted line,with,some,fields\n" * 3 + old[100:]
    for key in (KEY, KEY2):
        a = chunk_lengths(key, SMALL, old, implementation=impl)
        b = chunk_lengths(key, SMALL, new, implementation=impl)
        # the chunk sequences differ only at the front, then agree to the end
        common = 0
        while common < min(len(a), len(b)) and a[-1 - common] == b[-1 - common]:
            common += 1
        assert len(a) - common <= 4 and len(b) - common <= 4, (len(a), len(b), common)
        assert common > 100


# ---- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        ChunkerParams(63, 256, 1024),
        ChunkerParams(256, 256, 1024),
        ChunkerParams(64, 300, 1024),
        ChunkerParams(64, 256, 256),
        ChunkerParams(64, 1 << 23, (1 << 24) + 1),
        ChunkerParams(4096, 2048, 65536),
        ChunkerParams(64.0, 256, 1024),  # type: ignore[arg-type]
        ChunkerParams(True, 256, 1024),  # type: ignore[arg-type]
    ],
)
def test_invalid_params(params: ChunkerParams) -> None:
    with pytest.raises(ValueError):
        params.validate()
    with pytest.raises(ValueError):
        Chunker(KEY, params)
    with pytest.raises(ValueError):
        chunk_lengths(KEY, params, b"abc")


def test_valid_extremes() -> None:
    ChunkerParams(64, 128, 129).validate()
    ChunkerParams(64, 1 << 23, 1 << 24).validate()
    assert ChunkerParams() == ChunkerParams(4096, 16384, 65536)


@pytest.mark.parametrize("key", [b"", b"k" * 15, b"k" * 17, b"k" * 32, "k" * 16, None, 12345])
def test_invalid_keys(key: Any) -> None:
    with pytest.raises(ValueError):
        Chunker(key)
    with pytest.raises(ValueError):
        chunk_lengths(key, SMALL, b"abc")


def test_unknown_implementation() -> None:
    with pytest.raises(ValueError):
        Chunker(KEY, implementation="gear")


@needs_native
def test_native_module_checks_its_arguments() -> None:
    cdc = chunker._cdc_module
    assert cdc is not None
    args = (KEY, b"x" * 1000, 0, 0, 64, 256, 1024, True, "")
    assert cdc.cuts(*args)[0][-1] == 1000
    with pytest.raises(ValueError):
        cdc.cuts(b"short", *args[1:])
    with pytest.raises(ValueError):
        cdc.cuts(*args[:4], 32, 256, 1024, True, "")  # min below the window
    with pytest.raises(ValueError):
        cdc.cuts(*args[:5], 300, 1024, True, "")  # avg not a power of two
    with pytest.raises(ValueError):
        cdc.cuts(*args[:2], 1001, *args[3:])  # start past the end
    with pytest.raises(ValueError):
        cdc.cuts(*args[:8], "gear")


# ---- vector generation -----------------------------------------------------------------------


def _find_zero_key(params: ChunkerParams, want: str) -> bytes:
    """A key under which the all-zero window cuts at L=min ("small") or only at L>=avg."""
    for i in range(100_000):
        key = hashlib.sha256(b"lkvault-chunker-vector-key/%d" % i).digest()[:16]
        v = int.from_bytes(
            Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(bytes(16))[:8], "little"
        )
        if (want == "small" and v < params.t_small) or (
            want == "large" and params.t_small <= v < params.t_large
        ):
            return key
    raise AssertionError("no such key")


def _vector_specs() -> list[tuple[str, bytes, ChunkerParams, dict[str, Any]]]:
    words = ["Alice", "Bob", "Carol", "Dan", "Erin"]
    rnd = {"kind": "sha256-ctr", "seed": "lkvault-chunker-v1", "length": 20_000}
    return [
        ("small-random", KEY, SMALL, rnd),
        ("small-random-key2", KEY2, SMALL, rnd),
        ("tiny-random-forced-max", KEY, TINY, {**rnd, "length": 6_000}),
        ("small-csv", KEY, SMALL, {"kind": "csv", "seed": "rows", "rows": 300, "words": words}),
        (
            "default-random",
            KEY,
            ChunkerParams(),
            {"kind": "sha256-ctr", "seed": "lkvault-chunker-v1/default", "length": 300_000},
        ),
        (
            "default-csv",
            KEY2,
            ChunkerParams(),
            {"kind": "csv", "seed": "lkvault-chunker-v1/csv", "rows": 4_000, "words": words},
        ),
        (
            "default-zeros",
            KEY,
            ChunkerParams(),
            {"kind": "repeat", "pattern_hex": "00", "length": 200_000},
        ),
        (
            "small-zeros-cut-at-min",
            _find_zero_key(SMALL, "small"),
            SMALL,
            {"kind": "repeat", "pattern_hex": "00", "length": 1_000},
        ),
        (
            "small-zeros-cut-at-avg",
            _find_zero_key(SMALL, "large"),
            SMALL,
            {"kind": "repeat", "pattern_hex": "00", "length": 1_000},
        ),
        ("small-abc", KEY, SMALL, {"kind": "repeat", "pattern_hex": "616263", "length": 10_000}),
        (
            "mid-random",
            KEY,
            ChunkerParams(100, 512, 3000),
            {"kind": "sha256-ctr", "seed": "lkvault-chunker-v1/mid", "length": 30_000},
        ),
        ("short-tail-only", KEY, SMALL, {**rnd, "length": 50}),
        ("exactly-min", KEY, SMALL, {**rnd, "length": 64}),
        ("empty", KEY, SMALL, {**rnd, "length": 0}),
    ]


def write_vectors() -> None:
    out = []
    for name, key, params, recipe in _vector_specs():
        data = make_input(recipe)
        lengths = _spec_lengths(key, params, data)
        offsets = [sum(lengths[:i]) for i in range(len(lengths) + 1)]
        out.append(
            {
                "name": name,
                "key_hex": key.hex(),
                "params": {
                    "min_size": params.min_size,
                    "avg_size": params.avg_size,
                    "max_size": params.max_size,
                },
                "input": recipe,
                "input_sha256": hashlib.sha256(data).hexdigest(),
                "lengths": lengths,
                "chunk_sha256": [
                    hashlib.sha256(data[a:b]).hexdigest() for a, b in pairwise(offsets)
                ],
            }
        )
    doc = {
        "about": "lkvault chunker test vectors (docs/FORMAT.md, Chunker). Inputs by recipe: "
        "sha256-ctr = SHA-256(seed || i as 8-byte big-endian) for i = 0, 1, ... concatenated "
        "and truncated to length; repeat = bytes.fromhex(pattern_hex) repeated, truncated to "
        "length; csv = for i in range(rows), with h = SHA-256(seed || i as 8-byte big-endian), "
        "the UTF-8 line f'{i},{words[h[0] % len(words)]},{h[1:5].hex()},"
        "https://www.linkedin.com/in/u{h[5]}\\n'. Seeds are UTF-8.",
        "vectors": out,
    }
    VECTORS_PATH.parent.mkdir(parents=True, exist_ok=True)
    VECTORS_PATH.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-vectors"]:
        write_vectors()
    else:
        sys.exit("usage: python tests/test_chunker.py --write-vectors")
