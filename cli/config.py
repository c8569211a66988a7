"""The only place that reads environment variables, password sources and default locations."""

from __future__ import annotations

import getpass
import os
import shlex
import subprocess
import sys
from pathlib import Path

import platformdirs

from vault import AccessDenied, Environment, UsageError
from vault.backend import Backend, open_backend
from vault.backend.faults import KillAtWrite

APP = "lkvault"


def vault_location(option: str | None) -> str:
    """--vault, else LKVAULT_VAULT, else the user's data folder."""
    if option:
        return option
    env = os.environ.get("LKVAULT_VAULT")
    if env:
        return env
    return str(Path(platformdirs.user_data_dir(APP)) / "vault")


def backend_for(location: str) -> Backend:
    backend = open_backend(location)
    # Test hook for the crash-safety tests: SIGKILL this process at the n-th storage write.
    kill_at = os.environ.get("LKVAULT_DEBUG_KILL_AT_WRITE")
    if kill_at:
        nth, _, mode = kill_at.partition(":")
        backend = KillAtWrite(backend, int(nth), halfway=(mode == "halfway"))
    return backend


def environment() -> Environment:
    state = os.environ.get("LKVAULT_STATE_DIR") or platformdirs.user_state_dir(APP)
    wait = os.environ.get("LKVAULT_LOCK_WAIT")
    return Environment(
        state_dir=Path(state),
        pid=os.getpid(),
        lock_wait=float(wait) if wait else 10.0,
    )


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _from_file(path: str, what: str) -> bytes:
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return text.rstrip(b"\r\n")


def passphrase() -> bytes:
    """The passphrase of an existing vault (first found: command, file, variable, prompt)."""
    command = os.environ.get("LKVAULT_PASSWORD_COMMAND")
    if command:
        try:
            done = subprocess.run(shlex.split(command), capture_output=True, timeout=120)
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise AccessDenied(f"LKVAULT_PASSWORD_COMMAND failed: {exc}") from None
        if done.returncode != 0:
            raise AccessDenied(f"LKVAULT_PASSWORD_COMMAND exited with {done.returncode}")
        return done.stdout.rstrip(b"\r\n")
    path = os.environ.get("LKVAULT_PASSWORD_FILE")
    if path:
        return _from_file(path, "LKVAULT_PASSWORD_FILE")
    value = os.environ.get("LKVAULT_PASSWORD")
    if value:
        return value.encode()
    if _interactive():
        return getpass.getpass("Vault passphrase: ").encode()
    raise AccessDenied(
        "no passphrase: set LKVAULT_PASSWORD, LKVAULT_PASSWORD_FILE or "
        "LKVAULT_PASSWORD_COMMAND, or run in a terminal"
    )


def new_passphrase(file_option: Path | None) -> bytes:
    """A new passphrase: --new-password-file, LKVAULT_NEW_PASSWORD, a prompt asked twice,
    or else the ordinary passphrase sources (so scripts can init with LKVAULT_PASSWORD)."""
    if file_option is not None:
        return _from_file(str(file_option), "--new-password-file")
    value = os.environ.get("LKVAULT_NEW_PASSWORD")
    if value:
        return value.encode()
    if _interactive() and not any(
        os.environ.get(v)
        for v in ("LKVAULT_PASSWORD", "LKVAULT_PASSWORD_FILE", "LKVAULT_PASSWORD_COMMAND")
    ):
        first = getpass.getpass("New vault passphrase: ").encode()
        if not first:
            raise UsageError("an empty passphrase is not allowed")
        if getpass.getpass("Repeat the passphrase: ").encode() != first:
            raise UsageError("the two passphrases differ; nothing was changed")
        return first
    return passphrase()
