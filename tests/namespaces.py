"""Test helper: running the CLI in Linux namespaces made with unshare(1), where allowed.

Tests that need a PID or mount namespace (root, or user namespaces) are skipped with the reason
``unshare_refusal`` gives where the machine refuses, never passed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from helpers_cli import REPO_ROOT, Lk

# A command run with this prefix sees only its own processes (and is killed with unshare).
IN_PID_NAMESPACE = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")

# Runs "$@" with the folder "$0" bind-mounted read-only over itself.
_READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'


def read_only_mount(folder: Path) -> tuple[str, ...]:
    """A prefix running a command with ``folder`` read-only, in a private mount namespace:
    nothing outside that command sees the change."""
    return ("unshare", "--mount", "sh", "-c", _READ_ONLY, str(folder))


def unshare_refusal(prefix: Sequence[str], what: str) -> str | None:
    """Why a command cannot run under ``prefix`` (an unshare command line) here, saying
    ``what`` was tried; None when it can."""
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    done = subprocess.run(
        [*prefix, "true"], capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        return f"{what} is refused here: {done.stderr.strip() or done.returncode}"
    return None


def run_in(prefix: Sequence[str], lk: Lk, *args: str) -> tuple[int, str, str]:
    """``lkvault ARGS`` under ``prefix``, never waiting for the vault's lock."""
    done = subprocess.run(
        [*prefix, *lk.argv(*args)],
        cwd=REPO_ROOT,
        env=lk.env({"LKVAULT_LOCK_WAIT": "0"}),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout, done.stderr
