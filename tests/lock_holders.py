"""Test helper: another real process holding a vault's lock until the test releases it.

The holder runs under an optional ``prefix`` (e.g. ``unshare --pid ...``, to hold the lock from
another PID namespace). It is noted with ``helpers_cli.started``, so a test that fails before
releasing it still has it killed when the test ends.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence

import pytest
from helpers_cli import REPO_ROOT, Lk, started

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lkvault.vault import Environment, Vault
    from lkvault.vault.repository.locks import lock

    vault = Vault.open(sys.argv[1], sys.argv[2].encode(), Environment(state_dir=Path(sys.argv[3])))
    held = lock(vault.repo, vault.env.holder(), exclusive=sys.argv[4] == "x", wait_seconds=0)
    print("locked", flush=True)
    sys.stdin.read()
    held.release()
    print("released", flush=True)
    """
)


def hold_lock(lk: Lk, exclusive: bool, prefix: Sequence[str] = ()) -> subprocess.Popen[str]:
    """A live process (run under ``prefix``) holding the vault's lock, exclusive or shared,
    until ``release``; the test fails if it cannot take the lock."""
    proc = started(
        subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-c",
                HOLDER,
                str(lk.vault),
                lk.password,
                str(lk.state_dir / "holder"),
                "x" if exclusive else "s",
            ],
            cwd=REPO_ROOT,
            env=lk.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "locked":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the holder did not take the lock: {line}{err}")
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    """Let the holder release its lock and end; it must do so cleanly."""
    out, err = proc.communicate(input="", timeout=60)
    assert proc.returncode == 0 and "released" in out, err
