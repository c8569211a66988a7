"""Shared fixtures: real vaults in temporary folders, and the CLI run in-process."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import kill_started
from lkvault.cli.main import main
from lkvault.vault import Environment, Vault

from tests.helpers_cli import kill_started as kill_started_by_package

# The real S3 and SSH servers of the remote-vault tests (session-wide; see tests/servers.py).
from servers import s3_server, ssh_server  # noqa: F401  # isort: skip

PASSPHRASE = b"correct horse battery staple"


def pytest_configure(config: pytest.Config) -> None:
    """Tests send real Ctrl-Cs to the processes they start. A test run started in the
    background by a non-interactive shell inherits an ignored SIGINT, which every process it
    starts would inherit too (and lkvault, like Python, keeps an ignored SIGINT ignored, as a
    background job should). Python's own handler here makes them start with the default."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    """Every process a test started through helpers_cli is killed when the test ends, failed
    or not (a browse left running would keep serving a decrypted vault)."""
    yield
    # Test modules import the helper as helpers_cli or as tests.helpers_cli: two modules,
    # each noting the processes started through it.
    kill_started()
    kill_started_by_package()


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    return Environment(state_dir=tmp_path / "state", lock_wait=2.0)


@pytest.fixture
def vault(tmp_path: Path, env: Environment) -> Vault:
    return Vault.init(str(tmp_path / "vault"), PASSPHRASE, env)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """Runs ``lkvault ARGS`` in this process against tmp_path/vault."""
    monkeypatch.setenv("LKVAULT_VAULT", str(tmp_path / "vault"))
    monkeypatch.setenv("LKVAULT_PASSWORD", PASSPHRASE.decode())
    monkeypatch.setenv("LKVAULT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LKVAULT_LOCK_WAIT", "2")
    for name in ("LKVAULT_PASSWORD_FILE", "LKVAULT_PASSWORD_COMMAND", "LKVAULT_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
