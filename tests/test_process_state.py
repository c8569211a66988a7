"""lkvault leaves the process it runs in alone: no setting changed on import, no test hook, the
garbage collector paused only as the front end decides, and one version, the installed one."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from importlib.metadata import version
from pathlib import Path

from helpers_cli import REPO_ROOT, Lk
from lkvault.cli import collector
from lkvault.vault import Environment, Vault


def test_importing_lkvault_changes_no_process_wide_setting() -> None:
    """A program embedding the library keeps its own csv field limit and collector."""
    probe = (
        "import csv, gc\n"
        "before = (csv.field_size_limit(), gc.isenabled())\n"
        "import lkvault.vault, lkvault.cli.main, lkvault.cli.browse.webapp\n"
        "import lkvault.vault.export.tables, lkvault.vault.export.messagetable\n"
        "assert (csv.field_size_limit(), gc.isenabled()) == before, before\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_no_environment_variable_can_kill_the_command(tmp_path: Path) -> None:
    """The crash tests' kill-at-write hook lives in tests/faults.py, not in the product."""
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    code, _out, err = lk.run("init", extra={"LKVAULT_DEBUG_KILL_AT_WRITE": "1"})
    assert code == 0, err
    lk.ok("list")


def test_version_is_the_installed_distributions(tmp_path: Path, vault: Vault) -> None:
    installed = version("lkvault")
    lk = Lk(tmp_path / "unused", tmp_path / "state")
    code, out, err = lk.run("--version")
    assert (code, out.strip()) == (0, f"lkvault {installed}"), err
    stored = tmp_path / "notes.txt"
    stored.write_bytes(b"any file")
    assert vault.snapshot(stored, opaque=True).tool == f"lkvault {installed}"


def test_an_environment_names_the_process_that_made_it() -> None:
    """A lock taken in a forked process must name that process, or it looks stale (its
    named holder gone) while it is held, or alive forever once it is not."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        try:
            os.write(writing, str(Environment().pid).encode())
        finally:
            os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading) as told:
        assert int(told.read()) == child
    assert Environment().pid == os.getpid()


def test_collector_pause_lasts_until_the_last_reader_is_done() -> None:
    """Two threads reading exports at once: the first to finish must not turn the collector
    back on under the other (the library's old pause did), and the last one does."""
    assert gc.isenabled()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with collector.paused():
            first_in.set()
            second_in.wait()
        first_out.set()

    def second() -> None:
        first_in.wait()
        with collector.paused():
            second_in.set()
            first_out.wait()
            seen["after the first finished"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"after the first finished": False}
    assert gc.isenabled()
