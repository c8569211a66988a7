"""Tests of vault.format.deflater: lkvault's own deflate gives stock zlib's bytes, everywhere.

The reference is this process's ``zlib``, which must be stock zlib (1.2.12 or later): the
differential tests compare every output with it, byte for byte. The last tests run the real
CLI in child processes whose ``zlib`` module is zlib-ng (the PyPI ``zlib-ng`` package put in
its place), as on Fedora 40 and later.
"""

from __future__ import annotations

import functools
import json
import random
import subprocess
import sys
import tempfile
import textwrap
import zipfile
import zlib
from datetime import date
from pathlib import Path

import pytest
from helpers_cli import REPO_ROOT, Lk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lkvault.vault.format import deflater
from lkvault.vault.format.deflater import Z_FINISH, Z_FULL_FLUSH, Z_SYNC_FLUSH, compressobj

from bench.exportgen import generate_export

pytestmark = pytest.mark.skipif(not deflater.BUILT, reason="lkvault's deflate is not built")

STOCK = tuple(int(x) for x in zlib.ZLIB_RUNTIME_VERSION.split(".")[:3]) >= (1, 2, 12) and (
    "ng" not in zlib.ZLIB_RUNTIME_VERSION
)
needs_stock = pytest.mark.skipif(
    not STOCK, reason=f"the reference must be stock zlib 1.2.12+, not {zlib.ZLIB_RUNTIME_VERSION}"
)


@functools.cache
def export_csv() -> bytes:
    """messages.csv of a small synthetic export (bench/exportgen.py): real-looking CSV text."""
    with tempfile.TemporaryDirectory() as folder:
        path = generate_export(Path(folder) / "export.zip", date=date(2025, 3, 15), scale=0.05)
        with zipfile.ZipFile(path) as archive:
            return archive.read("messages.csv")


def reference(
    data: bytes, level: int, wbits: int = -15, mem: int = 8, strategy: int = 0, zdict=None
) -> bytes:
    args = (level, zlib.DEFLATED, wbits, mem, strategy) + (() if zdict is None else (zdict,))
    comp = zlib.compressobj(*args)
    return comp.compress(data) + comp.flush()


def ours(
    data: bytes,
    level: int,
    wbits: int = -15,
    mem: int = 8,
    strategy: int = 0,
    zdict=None,
    splits: list[int] | None = None,
) -> bytes:
    comp = compressobj(level, wbits, mem, strategy, zdict, native=True)
    out, pos = [], 0
    for size in splits or []:
        out.append(comp.compress(data[pos : pos + size]))
        pos += size
    out.append(comp.compress(data[pos:]))
    return b"".join(out) + comp.flush(Z_FINISH)


def random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# --- differential tests against stock zlib ------------------------------------------------


@needs_stock
def test_every_level_mem_level_and_window_size_gives_zlibs_bytes() -> None:
    csv = export_csv()
    samples = [csv[:30_000], random_bytes(1, 3000) + csv[:5000] + b"x" * 2000]
    for level in range(1, 10):
        for mem in range(1, 10):
            for wbits in range(9, 16):
                data = samples[(level + mem + wbits) % 2]
                assert ours(data, level, -wbits, mem) == reference(data, level, -wbits, mem), (
                    level,
                    mem,
                    wbits,
                )


@needs_stock
def test_every_strategy_gives_zlibs_bytes() -> None:
    csv = export_csv()
    data = csv[:20_000] + b"\0" * 3000 + random_bytes(2, 2000)
    for strategy in range(5):
        for level in (1, 3, 4, 6, 9):
            assert ours(data, level, strategy=strategy) == reference(data, level, strategy=strategy)


@needs_stock
@pytest.mark.parametrize("mem", [1, 8, 9])
def test_boundary_sizes_give_zlibs_bytes(mem: int) -> None:
    # Random bytes are all literals, so a block holds exactly (1 << (mem + 6)) - 1 of them.
    symbols = (1 << (mem + 6)) - 1
    sizes = {0, 1, 2, 3, 257, 258, 259, 32767, 32768, 32769, symbols - 1, symbols, symbols + 1}
    csv = export_csv()
    for size in sorted(sizes):
        for data in (random_bytes(size, size), (csv * 2)[:size], b"a" * size):
            for level in (1, 6, 9):
                assert ours(data, level, mem=mem) == reference(data, level, mem=mem), (size, level)


@needs_stock
def test_long_inputs_that_slide_the_window_give_zlibs_bytes() -> None:
    csv = export_csv()
    data = csv * 3 + random_bytes(3, 70_000) + csv[:50_000]
    for level, wbits in ((1, 9), (4, 10), (6, 15), (9, 12)):
        assert ours(data, level, -wbits) == reference(data, level, -wbits)


@needs_stock
def test_preset_dictionary_gives_zlibs_bytes() -> None:
    csv = export_csv()
    data = csv[40_000:60_000]
    for zdict in (b"", b"a", b"ab", csv[:100], csv[:40_000], random_bytes(4, 500)):
        for level in (1, 6, 9):
            for wbits in (9, 15):
                assert ours(data, level, -wbits, zdict=zdict) == reference(
                    data, level, -wbits, zdict=zdict
                ), (len(zdict), level, wbits)


@needs_stock
def test_sync_and_full_flushes_give_zlibs_bytes() -> None:
    csv = export_csv()
    rng = random.Random(5)
    for _ in range(40):
        level = rng.randrange(1, 10)
        steps: list[bytes | int] = []
        for _ in range(rng.randrange(1, 7)):
            if rng.random() < 0.6:
                start = rng.randrange(len(csv))
                steps.append(csv[start : start + rng.randrange(0, 6000)])
            else:
                steps.append(rng.choice([Z_SYNC_FLUSH, Z_FULL_FLUSH]))
        got = [compressobj(level, native=True), zlib.compressobj(level, zlib.DEFLATED, -15)]
        outputs = []
        for comp in got:
            parts = [comp.compress(s) if isinstance(s, bytes) else comp.flush(s) for s in steps]
            outputs.append(b"".join(parts) + comp.flush(Z_FINISH))
        assert outputs[0] == outputs[1], (
            level,
            [s if isinstance(s, int) else len(s) for s in steps],
        )


def _pieces() -> st.SearchStrategy[bytes]:
    csv_slice = st.tuples(st.integers(0, 100_000), st.integers(0, 20_000)).map(
        lambda t: export_csv()[t[0] : t[0] + t[1]]
    )
    repeat = st.tuples(st.binary(min_size=1, max_size=6), st.integers(1, 12_000)).map(
        lambda t: t[0] * t[1]
    )
    noise = st.tuples(st.integers(0, 2**32), st.integers(0, 40_000)).map(lambda t: random_bytes(*t))
    text = st.text(max_size=2000).map(lambda s: s.encode("utf-8"))
    return st.one_of(st.binary(max_size=3000), text, csv_slice, repeat, noise)


contents = st.lists(_pieces(), max_size=4).map(b"".join)


@needs_stock
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=contents,
    level=st.integers(1, 9),
    mem=st.integers(1, 9),
    wbits=st.integers(9, 15),
    strategy=st.sampled_from([0, 0, 0, 1, 2, 3, 4]),
    zdict=st.none() | _pieces(),
    splits=st.lists(st.integers(0, 9000), max_size=12),
)
def test_any_content_parameters_and_split_give_zlibs_bytes(
    data: bytes,
    level: int,
    mem: int,
    wbits: int,
    strategy: int,
    zdict: bytes | None,
    splits: list[int],
) -> None:
    expected = reference(data, level, -wbits, mem, strategy, zdict)
    assert ours(data, level, -wbits, mem, strategy, zdict, splits) == expected


# --- the object's contract ----------------------------------------------------------------


def test_parameters_zlib_would_not_reproduce_are_refused() -> None:
    with pytest.raises(ValueError, match="level 0"):
        compressobj(0)
    with pytest.raises(ValueError, match="wbits"):
        compressobj(6, 15)  # a zlib-wrapped stream, not raw deflate
    with pytest.raises(ValueError, match="memLevel"):
        compressobj(6, -15, 10, native=True)
    with pytest.raises(ValueError, match="strategy"):
        compressobj(6, -15, 8, 5, native=True)


def test_a_finished_compressor_refuses_more_input() -> None:
    comp = compressobj(6, native=True)
    comp.compress(b"abc")
    comp.flush(Z_FINISH)
    with pytest.raises(ValueError, match="finished"):
        comp.compress(b"more")


def test_the_extension_is_used_when_built() -> None:
    assert deflater.IMPLEMENTATION == deflater.NATIVE_NAME
    assert type(compressobj(6)).__module__.endswith("_deflate")
    assert deflater.fallback_notice() is None


# --- whole vaults across zlib implementations ---------------------------------------------

ZLIB_NG_SITE = """\
import sys
from zlib_ng import zlib_ng
sys.modules["zlib"] = zlib_ng
"""

NO_EXTENSION_SITE = """\
import sys
sys.modules["lkvault.vault.format._deflate"] = None  # as if it had not been built
"""


def _child_with(tmp_path: Path, name: str, site: str) -> dict[str, str]:
    """Environment for a child process that runs `site` at startup (a sitecustomize)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(site)
    return {"PYTHONPATH": f"{folder}:{REPO_ROOT}"}


def _zlib_ng_env(tmp_path: Path) -> dict[str, str]:
    try:
        from zlib_ng import zlib_ng  # noqa: F401
    except ImportError:
        pytest.skip("the zlib-ng package (pip install zlib-ng) is not installed")
    return _child_with(tmp_path, "zlib-ng-site", ZLIB_NG_SITE)


def _snapshot(lk: Lk, path: Path, extra: dict[str, str] | None = None) -> dict:
    code, out, err = lk.run("snapshot", "--json", str(path), extra=extra)
    assert code == 0, err
    return json.loads(out)


def _restore(lk: Lk, snap_id: str, target: Path, extra: dict[str, str] | None = None) -> str:
    code, _, err = lk.run("restore", snap_id, "-o", str(target), extra=extra)
    assert code == 0, err
    return err


@needs_stock
def test_a_vault_restores_byte_exact_where_zlib_is_zlib_ng(tmp_path: Path) -> None:
    ng = _zlib_ng_env(tmp_path)
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    assert lk.run("init")[0] == 0
    first = generate_export(tmp_path / "first.zip", date=date(2025, 3, 15), scale=0.3)
    second = generate_export(
        tmp_path / "second.zip", date=date(2025, 4, 15), scale=0.3, month_index=1
    )

    # The child really compresses with zlib-ng, and zlib-ng does not give stock zlib's bytes
    # for this export: without lkvault's own deflate, nothing here could be re-created.
    probe = textwrap.dedent(
        """
        import sys, zipfile, zlib
        content = zipfile.ZipFile(sys.argv[1]).read("messages.csv")
        comp = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
        print(zlib.__name__, (comp.compress(content) + comp.flush()).hex())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(first)],
        env=lk.env(ng),
        capture_output=True,
        text=True,
        check=True,
    )
    module, ng_hex = done.stdout.split()
    assert module == "zlib_ng.zlib_ng"
    with zipfile.ZipFile(first) as archive:
        original = archive.read("messages.csv")
    assert bytes.fromhex(ng_hex) != reference(original, 6)

    made_here = _snapshot(lk, first)  # stock zlib in this process's children
    _restore(lk, made_here["id"], tmp_path / "restored-ng.zip", ng)
    assert (tmp_path / "restored-ng.zip").read_bytes() == first.read_bytes()

    # A snapshot made under zlib-ng still proves its members, so it stores only their new
    # content, deduplicated against the earlier snapshot, not their compressed bytes (which
    # neither compress nor deduplicate): far less than the zip's own size.
    made_there = _snapshot(lk, second, ng)
    assert made_there["stats"]["stored_bytes"] < second.stat().st_size // 4, made_there["stats"]
    _restore(lk, made_there["id"], tmp_path / "restored-stock.zip")
    assert (tmp_path / "restored-stock.zip").read_bytes() == second.read_bytes()


def test_without_the_extension_lkvault_says_so_once_and_still_works(tmp_path: Path) -> None:
    bare = _child_with(tmp_path, "no-extension-site", NO_EXTENSION_SITE)
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    assert lk.run("init")[0] == 0
    export = generate_export(tmp_path / "export.zip", date=date(2025, 3, 15), scale=0.05)
    code, out, err = lk.run("snapshot", "--json", str(export), extra=bare)
    assert code == 0, err
    assert err.count("lkvault's own deflate is not built") == 1, err
    snap = json.loads(out)
    err = _restore(lk, snap["id"], tmp_path / "restored.zip", bare)
    assert err.count("lkvault's own deflate is not built") == 1, err
    assert (tmp_path / "restored.zip").read_bytes() == export.read_bytes()
