"""The only place that reads environment variables, password sources and default locations."""

from __future__ import annotations

import getpass
import importlib
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from lkvault.vault import (
    AccessDenied,
    Backend,
    RemoteOptions,
    RetryPolicy,
    S3Settings,
    SshSettings,
    UsageError,
    is_remote,
    open_backend,
)

from . import collector

if TYPE_CHECKING:
    from lkvault.vault import Environment


APP = "lkvault"


def vault_location(option: str | None) -> str:
    """--vault, else LKVAULT_VAULT, else the user's data folder."""
    if option is not None:
        if not option.strip():
            raise UsageError("--vault is empty: give a folder, s3://bucket/prefix or sftp://...")
        return option
    env = os.environ.get("LKVAULT_VAULT")
    if env:
        return env
    return str(Path(platformdirs.user_data_dir(APP)) / "vault")


def backend_for(location: str) -> Backend:
    return open_backend(location, remote_options() if is_remote(location) else None)


def state_dir() -> Path:
    """LKVAULT_STATE_DIR, else the user's state folder (~/.local/state/lkvault)."""
    return Path(os.environ.get("LKVAULT_STATE_DIR") or platformdirs.user_state_dir(APP))


def workers() -> int:
    """LKVAULT_WORKERS: the threads that compress, prove, re-create and pack, in every command
    (the one place that decides); default: the cores this process may run on."""
    text = os.environ.get("LKVAULT_WORKERS", "").strip()
    if not text:
        return usable_cores()
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise UsageError(f"LKVAULT_WORKERS must be a whole number from 1 to 256, not {text!r}")
    return int(text)


def usable_cores() -> int:
    """The cores this process may run on: fewer than the machine has in a container or
    under ``taskset``, where the machine's count would start threads that only wait."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def environment() -> Environment:
    """The world a command opens or creates a vault in; asked for by every command that
    reads or writes vault data, and by no other, so the process gets ready for that work
    here (heap.py), not for --help or --version."""
    from lkvault.vault import Environment

    from .heap import return_freed_memory

    return_freed_memory()

    wait = os.environ.get("LKVAULT_LOCK_WAIT")
    return Environment(
        state_dir=state_dir(),
        pid=os.getpid(),
        lock_wait=float(wait) if wait else 10.0,
        parsing=collector.paused,
        workers=workers(),
        lock_waiting=_retry_notice,
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
    found = _passphrase_from("LKVAULT_PASSWORD", "Vault passphrase: ")
    if found is None:
        raise AccessDenied(
            "no passphrase: set LKVAULT_PASSWORD, LKVAULT_PASSWORD_FILE or "
            "LKVAULT_PASSWORD_COMMAND, or run in a terminal"
        )
    return found


def target_passphrase(file_option: Path | None, location: str) -> bytes:
    """The passphrase of the vault 'lkvault copy' writes to: --to-password-file, else
    LKVAULT_TO_PASSWORD_COMMAND, LKVAULT_TO_PASSWORD_FILE, LKVAULT_TO_PASSWORD, else a prompt.
    Never the source vault's passphrase: two vaults, two secrets, each named on purpose."""
    if file_option is not None:
        return _from_file(str(file_option), "--to-password-file")
    found = _passphrase_from("LKVAULT_TO_PASSWORD", f"Passphrase of the target vault {location}: ")
    if found is None:
        raise AccessDenied(
            "no passphrase for the target vault: give --to-password-file FILE, set "
            "LKVAULT_TO_PASSWORD, LKVAULT_TO_PASSWORD_FILE or LKVAULT_TO_PASSWORD_COMMAND, "
            "or run in a terminal"
        )
    return found


def _passphrase_from(variable: str, prompt: str) -> bytes | None:
    """From ``variable``_COMMAND, ``variable``_FILE, ``variable`` or a prompt, first found."""
    command = os.environ.get(f"{variable}_COMMAND")
    if command:
        try:
            done = subprocess.run(shlex.split(command), capture_output=True, timeout=120)
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise AccessDenied(f"{variable}_COMMAND failed: {exc}") from None
        if done.returncode != 0:
            raise AccessDenied(f"{variable}_COMMAND exited with {done.returncode}")
        return done.stdout.rstrip(b"\r\n")
    path = os.environ.get(f"{variable}_FILE")
    if path:
        return _from_file(path, f"{variable}_FILE")
    value = os.environ.get(variable)
    if value:
        return value.encode()
    if _interactive():
        return getpass.getpass(prompt).encode()
    return None


SHORT_PASSPHRASE = 12  # characters; below this a warning says it is easy to guess
PROMPT_ATTEMPTS = 3  # passphrases a person may type at a terminal before lkvault gives up


def passphrase_is_typed() -> bool:
    """Whether ``passphrase()`` asks at the terminal (no command, file or variable gives it),
    so a mistyped one may be asked for again."""
    return _interactive() and not any(
        os.environ.get(v)
        for v in ("LKVAULT_PASSWORD", "LKVAULT_PASSWORD_FILE", "LKVAULT_PASSWORD_COMMAND")
    )


def new_passphrase(file_option: Path | None) -> bytes:
    """A new passphrase: --new-password-file, LKVAULT_NEW_PASSWORD, a prompt asked twice,
    or else the ordinary passphrase sources (so scripts can init with LKVAULT_PASSWORD).
    Warns when it is shorter than SHORT_PASSPHRASE characters."""
    chosen = _new_passphrase(file_option)
    if len(chosen.decode("utf-8", "replace")) < SHORT_PASSPHRASE:
        _retry_notice(
            f"the new passphrase has fewer than {SHORT_PASSPHRASE} characters: anyone who gets "
            "the vault's files can try to guess it; a few random words are better"
        )
    return chosen


def _new_passphrase(file_option: Path | None) -> bytes:
    if file_option is not None:
        return _from_file(str(file_option), "--new-password-file")
    value = os.environ.get("LKVAULT_NEW_PASSWORD")
    if value:
        return value.encode()
    if passphrase_is_typed():
        first = getpass.getpass("New vault passphrase: ").encode()
        if not first:
            raise UsageError("an empty passphrase is not allowed")
        if getpass.getpass("Repeat the passphrase: ").encode() != first:
            raise UsageError("the two passphrases differ; nothing was changed")
        return first
    return passphrase()


# --- remote vaults (s3://, sftp://) --------------------------------------------------------

# Commands that must see the remote exactly as it is: verify checks what another computer
# would read, so it never takes index files or snapshot records from the local cache.
UNCACHED_COMMANDS = frozenset({"verify"})


def remote_options() -> RemoteOptions:
    """How to reach S3 and SSH servers, from the standard variables and files."""
    return RemoteOptions(
        s3=_s3_settings(),
        ssh=_ssh_settings(),
        retry=RetryPolicy(retries=_count("LKVAULT_REMOTE_RETRIES", RetryPolicy.retries)),
        uploads=max(1, _count("LKVAULT_UPLOADS", 4)),
        cache_root=None if _running_command() in UNCACHED_COMMANDS else state_dir() / "cache",
        notice=_retry_notice,
    )


def _retry_notice(message: str) -> None:
    from . import render  # render imports rich, which a local-only run need not load early

    render.warning_line(message)


def _count(variable: str, default: int) -> int:
    value = os.environ.get(variable)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise UsageError(f"{variable} must be a whole number of 0 or more, not {value!r}")
    return number


def _running_command() -> str | None:
    """The name of the lkvault command being run, if any."""
    for module in ("typer._click.globals", "click.globals"):  # newer typers vendor click
        try:
            current = importlib.import_module(module).get_current_context
        except (ImportError, AttributeError):
            continue
        context = current(silent=True)
        if context is not None:
            name: str | None = context.info_name
            return name
    return None


def _s3_settings() -> S3Settings:
    env = os.environ
    return S3Settings(
        endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
        secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        session_token=env.get("AWS_SESSION_TOKEN") or None,
        profile=env.get("AWS_PROFILE") or None,
    )


def _ssh_settings() -> SshSettings:
    ssh = Path.home() / ".ssh"
    return SshSettings(
        user=getpass.getuser(),
        known_hosts=(ssh / "known_hosts", ssh / "known_hosts2", Path("/etc/ssh/ssh_known_hosts")),
        identity_files=(ssh / "id_ed25519", ssh / "id_ecdsa", ssh / "id_rsa"),
        agent_socket=os.environ.get("SSH_AUTH_SOCK") or None,
        config_file=ssh / "config",
    )
