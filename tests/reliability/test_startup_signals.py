"""Ctrl-C and SIGTERM while lkvault starts (issue 22, item 8).

Loading the command line takes a few tenths of a second; a signal then used to print a
traceback of 13 to 27 lines or end the process by the signal. What a user (or a service
manager) relies on: from the moment lkvault's own code runs, SIGINT ends it with exit 130 and
SIGTERM with exit 143, each with one line on stderr and never a traceback.

The process is the real console script (whatever pyproject.toml names), started with a
passphrase command that never answers, so it is still running whenever the signal lands: the
test waits until the process has installed its SIGTERM handler (read from /proc, the earliest
moment the promise holds), then signals it after a few different delays covering the imports.
Whatever the delay, the outcome must be the same, so no assertion depends on timing.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers_cli import REPO_ROOT, Lk

from .budget import pick, record

# Seconds after the handlers are in place; the imports take some 0.2-0.5 s.
DELAYS = pick((0.0, 0.02, 0.1, 0.3), tuple(i * 0.01 for i in range(60)))


def script_target() -> tuple[str, str]:
    """The module and function pyproject.toml names as the ``lkvault`` console script."""
    found = re.search(
        r'^lkvault = "([\w.]+):(\w+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M
    )
    assert found, "pyproject.toml names no lkvault console script"
    module, function = found.groups()
    return module, function


def console_script() -> list[str]:
    """The ``lkvault`` command as pip's generated wrapper runs it."""
    module, function = script_target()
    wrapper = f"import re, sys; from {module} import {function}; sys.exit({function}())"
    return [sys.executable, "-c", wrapper]


def caught_signals(pid: int) -> int:
    """The mask of signals the process has handlers for (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    return 0


def wait_for_child(process: subprocess.Popen[str]) -> None:
    """Until the process runs its passphrase command (it is then inside the command it was
    asked to run, past every import), or fail if it exits."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    while not children.read_text().strip():
        if process.poll() is not None:
            raise AssertionError(f"lkvault exited ({process.returncode}) before its command ran")
        time.sleep(0.001)


def wait_for_handlers(process: subprocess.Popen[str]) -> None:
    """Until the process catches SIGTERM (Python alone never does), or fail if it exits."""
    while not caught_signals(process.pid) & (1 << (signal.SIGTERM - 1)):
        if process.poll() is not None:
            raise AssertionError(
                f"lkvault exited ({process.returncode}) without ever handling SIGTERM"
            )
        time.sleep(0.001)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_at_start_up_is_one_line_and_the_usual_exit_code(
    tmp_path: Path, signum: int
) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    env = lk.env()
    del env["LKVAULT_PASSWORD"]
    env["LKVAULT_PASSWORD_COMMAND"] = "sleep 600"  # never answers: still running when signalled
    for delay in (*DELAYS, None):  # None: once the command itself runs
        process = subprocess.Popen(
            [*console_script(), "list"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, so the test can end it all
        )
        try:
            wait_for_handlers(process)
            if delay is None:
                wait_for_child(process)
            else:
                time.sleep(delay)
            process.send_signal(signum)
            out, err = process.communicate(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the sleep too, if anything is left
            process.wait()
        lines = err.strip().splitlines()
        assert process.returncode == 128 + signum, (delay, process.returncode, err[-2000:])
        assert "Traceback" not in err and len(lines) == 1, (delay, err[-2000:])
        assert lines[0].startswith("lkvault: error: "), (delay, lines)
        assert out == ""
    record("startup-signals", signals=len(DELAYS) + 1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_right_after_the_console_scripts_import_is_one_line(signum: int) -> None:
    # pip's wrapper runs lines of its own after importing the script's module and before
    # calling it (a regular expression on argv[0]); on a loaded machine that and the module's
    # own imports took long enough for a Ctrl-C to print a traceback. The signal arrives
    # exactly there: the process sends it to itself.
    module, function = script_target()
    wrapper = (
        f"import os, time; from {module} import {function}; "
        f"os.kill(os.getpid(), {int(signum)}); time.sleep(600)"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=600, check=False
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 128 + signum, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("lkvault: error: "), done.stderr[-2000:]
    record("startup-signals", signals=1)
