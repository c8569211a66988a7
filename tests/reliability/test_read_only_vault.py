"""A vault on read-only media (a read-only disk, mount or share) can still be read.

Readers cannot write their shared lock there: ``list``, ``restore`` (archive and members),
``cat``, ``verify`` and ``stats`` work without one and say so in one warning line; writers
fail in one line and nothing changes. The read-only mount is real: a bind mount remounted
read-only inside a private mount namespace (``unshare --mount``), which only that command
sees; the test is skipped where mount namespaces are refused. The same holds for remote
vaults on the real test servers: an SFTP folder made read-only with chmod, and an S3 bucket
read with credentials that may read and list but not write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from helpers_cli import Lk, assert_one_line_error, vault_files
from lkvault.vault.backend import RemoteOptions, open_backend
from namespaces import read_only_mount, run_in, unshare_refusal
from servers import S3Server, SshServer
from test_backend import FAST_RETRY, s3_settings

from bench.exportgen import generate_export

from .budget import record

READ_ONLY = "cannot be written (read-only); reading it without a lock"


def _refusal(probe: Path) -> str | None:
    probe.mkdir(parents=True, exist_ok=True)
    return unshare_refusal(read_only_mount(probe), "a read-only bind mount")


def run_read_only(lk: Lk, *args: str) -> tuple[int, str, str]:
    return run_in(read_only_mount(lk.vault), lk, *args)


def warning_only(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lkvault: warning: "), err
    assert READ_ONLY in lines[0], err


def test_a_read_only_vault_can_be_listed_restored_and_verified(tmp_path: Path) -> None:
    refusal = _refusal(tmp_path / "probe")
    if refusal is not None:
        pytest.skip(refusal)
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    export = generate_export(tmp_path / "export.zip", date=date(2026, 3, 15), seed=91)
    snap_id = lk.snapshot(export)
    before = vault_files(lk.vault)

    code, out, err = run_read_only(lk, "list", "--json")
    assert code == 0, err
    assert [s["id"] for s in json.loads(out)] == [snap_id]
    warning_only(err)

    restored = tmp_path / "restored.zip"
    code, out, err = run_read_only(lk, "restore", "latest", "-o", str(restored))
    assert code == 0, err
    assert restored.read_bytes() == export.read_bytes()
    warning_only(err)

    code, out, err = run_read_only(lk, "restore", "latest", "--extract", str(tmp_path / "x"))
    assert code == 0, err
    assert any((tmp_path / "x").rglob("*.csv"))

    code, out, err = run_read_only(lk, "verify", "--read-data", "--json")
    assert code == 0 and json.loads(out)["ok"], out + err
    warning_only(err)

    for command in (("stats",), ("cat", "latest", "Profile.csv")):
        code, out, err = run_read_only(lk, *command)
        assert code == 0, f"{command[0]} on a read-only vault: {err}"
        warning_only(err)

    # Writers cannot work there: one line, exit 1, nothing changed.
    code, out, err = run_read_only(lk, "snapshot", str(export), "--opaque")
    assert code == 1, out + err
    assert "Read-only file system" in assert_one_line_error(err)
    code, out, err = run_read_only(lk, "prune")
    assert code == 1 and "Read-only" in assert_one_line_error(err)
    # watch --once, as a timer runs it, must not report success when it stored nothing.
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    later = downloads / "Basic_LinkedInDataExport_04-15-2026.zip"
    generate_export(later, date=date(2026, 4, 15), seed=91, month_index=1)
    code, out, err = run_read_only(lk, "watch", "--once", "--settle", "0", str(downloads))
    assert code == 1, f"watch --once on a read-only vault: exit {code}: {err}"
    assert "Read-only file system" in err and "Traceback" not in err, err
    assert vault_files(lk.vault) == before
    record("read-only-vault", commands=9)


def test_an_empty_vault_option_is_a_usage_error(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    for command in (("list", "--vault", ""), ("init", "--vault", " ")):
        code, out, err = lk.run(*command)
        assert code == 2, f"{command}: exit {code}: {out}{err}"
        assert "--vault is empty" in assert_one_line_error(err)
    assert not lk.vault.exists()


@dataclass
class RemoteCase:
    """A fresh remote vault: the CLI bound to it as its writer, the variables that make the
    CLI a reader instead, how to make the vault read-only, and what it stores."""

    lk: Lk
    reader: dict[str, str]
    read_only: AbstractContextManager[object]
    contents: Callable[[], dict[str, bytes]]


@contextmanager
def chmod_read_only(folder: Path) -> Iterator[None]:
    """Every folder and file under ``folder`` without write permission, as a share exported
    to this account read-only."""
    paths = [folder, *folder.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        yield
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | 0o200)


def remote_case(how: str, request: pytest.FixtureRequest, tmp_path: Path) -> RemoteCase:
    no_aws = {
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "LKVAULT_REMOTE_RETRIES": "1",
    }
    if how == "s3-read-only-credentials":
        s3: S3Server = request.getfixturevalue("s3_server")
        where = f"s3://lkv-ro-{tmp_path.name[-12:].lower().replace('_', '-')}/vault"
        writer = {**no_aws, **s3.env(), "LKVAULT_VAULT": where}
        options = RemoteOptions(s3=s3_settings(s3), retry=FAST_RETRY, cache_root=tmp_path / "cache")
        stored = open_backend(where, options)
        return RemoteCase(
            Lk(tmp_path / "unused", tmp_path / "state", extra_env=writer),
            s3.env(read_only=True),
            nullcontext(),
            lambda: {name: stored.read(name) for name in stored.list("")},
        )
    ssh: SshServer = request.getfixturevalue("ssh_server")
    folder = tmp_path / "served"
    writer = {**no_aws, "HOME": str(ssh.home), "LKVAULT_VAULT": ssh.url(folder)}
    return RemoteCase(
        Lk(tmp_path / "unused", tmp_path / "state", extra_env=writer),
        {},
        chmod_read_only(folder) if how == "sftp-chmod" else ssh.read_only_mount(folder),
        lambda: {name: (folder / name).read_bytes() for name in vault_files(folder)},
    )


@pytest.mark.parametrize("how", ["sftp-chmod", "sftp-read-only-mount", "s3-read-only-credentials"])
def test_a_read_only_remote_vault_can_be_read_and_refuses_writers_in_one_line(
    how: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case = remote_case(how, request, tmp_path)
    lk, reader = case.lk, case.reader
    code, out, err = lk.run("init")
    assert code == 0, err
    export = generate_export(tmp_path / "export.zip", date=date(2026, 3, 15), seed=93)
    snap_id = lk.snapshot(export)
    before = case.contents()
    with case.read_only:
        code, out, err = lk.run("list", "--json", extra=reader)
        assert code == 0, err
        assert [s["id"] for s in json.loads(out)] == [snap_id]
        warning_only(err)

        restored = tmp_path / "restored.zip"
        code, out, err = lk.run("restore", "latest", "-o", str(restored), extra=reader)
        assert code == 0, err
        assert restored.read_bytes() == export.read_bytes()
        warning_only(err)

        code, out, err = lk.run("verify", "--read-data", "--json", extra=reader)
        assert code == 0 and json.loads(out)["ok"], out + err
        warning_only(err)

        # Writers: one line naming the refusal, exit 1, nothing changed.
        for command in (("snapshot", str(export), "--opaque"), ("prune",)):
            code, out, err = lk.run(*command, extra={**reader, "LKVAULT_LOCK_WAIT": "0"})
            assert code == 1, f"{command[0]}: exit {code}: {out}{err}"
            message = assert_one_line_error(err)
            assert "read-only" in message or "may not write" in message, message
    assert case.contents() == before
    record("read-only-vault", commands=5)
