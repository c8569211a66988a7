"""Start-up: commands load only what they use. `lkvault --help` loads no crypto, compression,
storage or operation module, and `lkvault list` none of the operations, parsers, remote
storage clients or web server (what it costs beyond the key derivation is imports)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_cli import REPO_ROOT, Lk, assert_one_line_error
from lkvault.cli import heap

HEAVY_FOR_HELP = [
    "cryptography",
    "zstandard",
    "msgpack",
    "lkvault.vault.vault",
    "lkvault.vault.repository.repo",
    "lkvault.vault.operations.archiver",
    "lkvault.vault.export.load",
    "rich.progress",
    "importlib.metadata",  # the version, read only for --version
    "ctypes",  # glibc's heap trimming, only for commands working on a vault (cli/heap.py)
]
NEVER_FOR_LIST = [
    "boto3",
    "paramiko",
    "starlette",
    "uvicorn",
    "jinja2",
    "lkvault.vault.operations.archiver",
    "lkvault.vault.operations.checker",
    "lkvault.vault.operations.compactor",
    "lkvault.vault.operations.repairer",
    "lkvault.vault.ingest.deflate",
    "lkvault.vault.export.load",
    "lkvault.vault.export.diff",
    "lkvault.vault.export.records",  # summaries are read, no export is parsed
    "lkvault.vault.format.paperkey",
    "lkvault.vault.format.tree",
    "lkvault.vault.format.deflater",
    "lkvault.vault.release",
    "rich.progress",
]
PROBE = """
import json, sys, threading
from lkvault.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
sys.stderr.write("THREADS " + json.dumps(sorted(t.name for t in threading.enumerate())) + "\\n")
heap = sys.modules.get("lkvault.cli.heap")
sys.stderr.write("HEAP " + json.dumps(heap and heap.threshold()) + "\\n")
"""


def modules_loaded(lk: Lk, *args: str) -> set[str]:
    return probe(lk, *args)[0]


def probe(lk: Lk, *args: str) -> tuple[set[str], list[str]]:
    """The modules a command loaded and the threads left running when it ended."""
    modules, threads, _ = probe_heap(lk, *args)
    return modules, threads


def probe_heap(lk: Lk, *args: str) -> tuple[set[str], list[str], int | None]:
    """``probe``, and the mmap threshold the command asked glibc for (None: untouched)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=REPO_ROOT,
        env=lk.env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    lines = done.stderr.splitlines()
    modules = next(x for x in lines if x.startswith("MODULES ")).removeprefix("MODULES ")
    threads = next(x for x in lines if x.startswith("THREADS ")).removeprefix("THREADS ")
    heap = next(x for x in lines if x.startswith("HEAP ")).removeprefix("HEAP ")
    return set(json.loads(modules)), json.loads(threads), json.loads(heap)


def loaded(modules: set[str], names: list[str]) -> list[str]:
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_help_loads_no_heavy_module(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    modules = modules_loaded(lk, "--help")
    assert "typer" in modules
    assert loaded(modules, HEAVY_FOR_HELP) == []


def test_help_and_version_start_no_thread_and_touch_no_heap(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    for args in (["--help"], ["--version"], ["snapshot", "--help"]):
        modules, threads = probe(lk, *args)
        assert loaded(modules, ["ctypes", "lkvault.cli.heap"]) == [], args
        assert threads == ["MainThread"], args


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap only")
def test_a_command_opening_a_vault_trims_the_heap(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    modules, threads = probe(lk, "list")
    assert "lkvault.cli.heap" in modules
    assert "malloc-trim" in threads


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap only")
def test_a_small_snapshot_or_restore_reuses_its_buffers_and_a_large_one_stays_bounded(
    tmp_path: Path,
) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    export = tmp_path / "export.bin"
    export.write_bytes(bytes(range(256)) * 64)
    _, threads, threshold = probe_heap(lk, "snapshot", "--any-file", str(export))
    assert threshold == heap.ROOMY_THRESHOLD and "malloc-trim" in threads
    assert probe_heap(lk, "list")[2] == heap.BOUNDED_THRESHOLD
    restored = tmp_path / "restored.bin"
    assert probe_heap(lk, "restore", "latest", "-o", str(restored))[2] == heap.ROOMY_THRESHOLD
    assert restored.read_bytes() == export.read_bytes()
    # The bound that keeps a large snapshot's peak memory from growing with its input.
    assert heap.mmap_threshold(heap.ROOMY_INPUT) == heap.ROOMY_THRESHOLD
    assert heap.mmap_threshold(heap.ROOMY_INPUT + 1) == heap.BOUNDED_THRESHOLD
    assert heap.mmap_threshold(None) == heap.BOUNDED_THRESHOLD


def test_list_loads_what_opening_a_vault_needs_only(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    modules = modules_loaded(lk, "list")
    assert "lkvault.vault.repository.repo" in modules  # it did open the vault
    assert loaded(modules, NEVER_FOR_LIST) == []


def test_commands_convert_their_values_without_pydantic(tmp_path: Path) -> None:
    # typer 0.29 converts every value through pydantic (importing it and building one adapter
    # a parameter cost ~0.08 s a command); lkvault's plain values do not need it.
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    for args in (["list", "--json", "--at", "2025-01-15"], ["--help"], ["compact", "-h"]):
        assert "pydantic" not in modules_loaded(lk, *args), args


def test_a_bad_value_is_a_one_line_usage_error(cli) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    for args, says in (
        (["compact", "--max-memory", "lots"], "Input should be a valid integer"),
        (["compact", "--max-memory", "8"], "Input should be greater than or equal to 16"),
        (["watch", "--interval", "0.01", "."], "greater than or equal to 0.1"),
        (["watch", "--interval", "nan", "."], "Input should be a finite number"),
    ):
        wrong = cli(*args)
        assert wrong.code == 2, (args, wrong.err)
        message = assert_one_line_error(wrong.err)
        assert says in message and "--help" in message, (args, message)
    shown = cli("list", "--json")  # and good values arrive as they were given
    assert shown.code == 0 and json.loads(shown.out) == []
