"""Remote vaults end to end: real exports through S3 and SFTP servers on 127.0.0.1, a server
stopped in the middle of an upload, and 'lkvault copy' from a folder to S3 to SFTP."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from conftest import PASSPHRASE, Result
from helpers_cli import assert_one_line_error
from lkvault.vault import Environment, StorageError, Vault
from lkvault.vault.backend import Backend, RemoteOptions, open_backend
from lkvault.vault.backend.base import DelegatingBackend
from lkvault.vault.backend.retry import RetryPolicy
from servers import S3Server, SshServer
from test_backend import s3_settings, ssh_settings

from bench.exportgen import generate_export

Cli = Callable[..., Result]


@pytest.fixture
def remote_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: S3Server, ssh_server: SshServer
) -> None:
    """The variables a user of both servers sets (and none of this machine's own)."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("HOME", str(ssh_server.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("LKVAULT_REMOTE_RETRIES", "1")


def new_location(kind: str, tmp_path: Path, ssh: SshServer, name: str = "vault") -> str:
    if kind == "s3":
        return f"s3://lkv-{name}-{tmp_path.name[-12:].lower().replace('_', '-')}/{name}"
    return ssh.url(tmp_path / f"sftp-{name}")


def exports(tmp_path: Path, months: int) -> list[Path]:
    return [
        generate_export(
            tmp_path / f"Basic_LinkedInDataExport_{m + 1:02d}-15-2026.zip",
            date=date(2026, m + 1, 15),
            month_index=m,
        )
        for m in range(months)
    ]


@pytest.mark.parametrize("kind", ["s3", "sftp"])
def test_snapshot_restore_and_verify_a_real_export(
    cli: Cli, remote_env: None, ssh_server: SshServer, tmp_path: Path, kind: str
) -> None:
    where = new_location(kind, tmp_path, ssh_server)
    made = cli("init", "--vault", where, "--json")  # for S3 this makes the bucket
    assert made.code == 0, made.err
    assert made.json()["created"] is True and made.json()["location"] == where
    first, second = exports(tmp_path, 2)
    ids = []
    for export in (first, second):
        stored = cli("snapshot", "--vault", where, str(export))
        assert stored.code == 0, stored.err
        ids.append(stored.out.strip())

    listed = cli("list", "--vault", where, "--json").json()
    assert [s["id"] for s in listed] == ids
    assert [s["source"] for s in listed] == [first.name, second.name]
    for snap_id, export in zip(ids, (first, second), strict=True):
        target = tmp_path / f"restored-{snap_id[:8]}.zip"
        restored = cli("restore", snap_id, "-o", str(target), "--vault", where)
        assert restored.code == 0, restored.err
        assert target.read_bytes() == export.read_bytes()
    member = cli("cat", "latest", "Connections.csv", "--vault", where)
    with zipfile.ZipFile(second) as archive:
        assert member.out.encode() == archive.read("Connections.csv")
    checked = cli("verify", "--read-data", "--vault", where, "--json")
    assert checked.code == 0 and checked.json()["ok"] is True, checked.out
    assert checked.json()["snapshots"] == 2


class StopServerAtPack(DelegatingBackend):
    """Stops a server just before the n-th pack is handed to the storage: a network failure
    in the middle of a snapshot's uploads."""

    def __init__(self, inner: Backend, stop: Callable[[], None], nth: int) -> None:
        super().__init__(inner)
        self.stop = stop
        self.nth = nth
        self.packs = 0

    def write(self, name: str, data: bytes) -> None:
        if name.startswith("data/"):
            self.packs += 1
            if self.packs == self.nth:
                self.stop()
        self.inner.write(name, data)


def dead_pid() -> int:
    """The id of a process that has ended (what a failed lkvault run leaves in its lock)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("kind", ["s3", "sftp"])
def test_a_server_stopped_mid_upload_leaves_a_consistent_vault_and_the_snapshot_reruns(
    kind: str,
    s3_server: S3Server,
    ssh_server: SshServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small frames and packs, so that one small export is many uploads and the failure lands
    # among them.
    monkeypatch.setattr("lkvault.vault.repository.blobwriter.FRAME_TARGET", 32 * 1024)
    monkeypatch.setattr("lkvault.vault.repository.blobwriter.PACK_TARGET", 32 * 1024)
    server = s3_server if kind == "s3" else ssh_server
    where = new_location(kind, tmp_path, ssh_server, "fault")
    options = RemoteOptions(
        s3=s3_settings(s3_server),
        ssh=ssh_settings(ssh_server),
        retry=RetryPolicy(retries=1, first_delay=0.05),
        cache_root=tmp_path / "cache",
    )
    env = Environment(state_dir=tmp_path / "state", lock_wait=5.0)
    first = exports(tmp_path, 1)[0]
    # Another member's export: all of it is new content, to be uploaded.
    second = generate_export(tmp_path / "other.zip", date=date(2026, 2, 15), seed=2)
    vault = Vault.init(open_backend(where, options), PASSPHRASE, env)
    kept = vault.snapshot(first)

    # The failing run: its lock names a process that will be gone, as after a real failure.
    failing_env = Environment(state_dir=tmp_path / "state", lock_wait=5.0, pid=dead_pid())
    cut = StopServerAtPack(open_backend(where, options), server.stop, nth=3)
    try:
        with pytest.raises(StorageError) as failed:
            Vault.open(cut, PASSPHRASE, failing_env).snapshot(second)
        assert where in str(failed.value)
    finally:
        server.start()
    assert cut.packs >= 3

    after = Vault.open(open_backend(where, options), PASSPHRASE, env)
    assert [s.id for s in after.snapshots()] == [kept.id]
    report = after.verify(read_data=True)
    assert report.ok, [p.describe() for p in report.problems]
    restored = tmp_path / "kept.zip"
    after.restore(kept.id.hex(), restored)
    assert restored.read_bytes() == first.read_bytes()

    rerun = after.snapshot(second)  # simply run again
    assert [s.id for s in after.snapshots()] == [kept.id, rerun.id]
    after.restore(rerun.id.hex(), tmp_path / "rerun.zip")
    assert (tmp_path / "rerun.zip").read_bytes() == second.read_bytes()
    assert after.verify(read_data=True).ok


def test_copy_from_a_folder_to_s3_to_sftp(
    cli: Cli, remote_env: None, ssh_server: SshServer, tmp_path: Path
) -> None:
    s3_vault = new_location("s3", tmp_path, ssh_server, "copy")
    sftp_vault = new_location("sftp", tmp_path, ssh_server, "copy")
    for where, secret in ((s3_vault, "s3 passphrase 1"), (sftp_vault, "sftp passphrase 2")):
        (tmp_path / "new").write_text(secret)
        assert cli("init", "--vault", where, "--new-password-file", str(tmp_path / "new")).code == 0
    assert cli("init").code == 0  # the local vault, in tmp_path/vault
    originals = exports(tmp_path, 3)
    local_ids = [cli("snapshot", str(p)).out.strip() for p in originals[:2]]

    (tmp_path / "s3-pass").write_text("s3 passphrase 1\n")
    copied = cli(
        "copy", "--to", s3_vault, "--to-password-file", str(tmp_path / "s3-pass"), "--json"
    )
    assert copied.code == 0, copied.err
    report = copied.json()
    assert (report["copied"], report["skipped"]) == (2, 0)
    assert [s["source"]["id"] for s in report["snapshots"]] == local_ids

    # From S3 on to SFTP: the source passphrase is S3's now, the target's from the variable.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LKVAULT_PASSWORD", "s3 passphrase 1")
        env.setenv("LKVAULT_TO_PASSWORD", "sftp passphrase 2")
        onward = cli("copy", "--vault", s3_vault, "--to", sftp_vault)
        assert onward.code == 0, onward.err
        assert "Copied 2 snapshots" in onward.out
        again = cli("copy", "--vault", s3_vault, "--to", sftp_vault, "--json")
        assert (again.json()["copied"], again.json()["skipped"]) == (0, 2)

    local = cli("list", "--json").json()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LKVAULT_PASSWORD", "sftp passphrase 2")
        remote = cli("list", "--vault", sftp_vault, "--json").json()
        for snap, original in zip(remote, originals[:2], strict=True):
            target = tmp_path / f"from-sftp-{snap['short_id']}.zip"
            done = cli("restore", snap["id"], "-o", str(target), "--vault", sftp_vault)
            assert done.code == 0, done.err
            assert target.read_bytes() == original.read_bytes()
    keep = ("time", "source", "size", "sha256", "kind")
    assert [{k: s[k] for k in keep} for s in remote] == [{k: s[k] for k in keep} for s in local]
    assert {s["id"] for s in remote}.isdisjoint(local_ids)  # ids are keyed per vault

    # A new export: only it is copied, and only what the target lacks is written.
    cli("snapshot", str(originals[2]))
    more = cli("copy", "--to", s3_vault, "--to-password-file", str(tmp_path / "s3-pass"), "--json")
    assert (more.json()["copied"], more.json()["skipped"]) == (1, 2)
    newest = more.json()["snapshots"][-1]["target"]
    assert newest["stats"]["stored_bytes"] < newest["size"] / 2
    assert hashlib.sha256(originals[2].read_bytes()).hexdigest() == newest["sha256"]


def test_copy_refuses_what_it_cannot_do(
    cli: Cli, remote_env: None, ssh_server: SshServer, tmp_path: Path
) -> None:
    assert cli("init").code == 0
    same = cli("copy", "--to", str(tmp_path / "vault"))
    assert same.code == 2 and "same vault" in assert_one_line_error(same.err)
    missing = cli("copy", "--to", new_location("s3", tmp_path, ssh_server, "none"))
    assert missing.code == 2 and "no vault at" in assert_one_line_error(missing.err)
    other = str(tmp_path / "other")
    (tmp_path / "pw").write_text("other passphrase")
    assert cli("init", "--vault", other, "--new-password-file", str(tmp_path / "pw")).code == 0
    no_secret = cli("copy", "--to", other)
    assert no_secret.code == 3
    assert "--to-password-file" in assert_one_line_error(no_secret.err)
    wrong = cli("copy", "--to", other, "--to-password-file", __file__)
    assert wrong.code == 3, wrong.err


def test_ssh_host_keys_are_checked(
    cli: Cli, remote_env: None, ssh_server: SshServer, tmp_path: Path
) -> None:
    where = new_location("sftp", tmp_path, ssh_server, "hostkeys")
    known_hosts = ssh_server.home / ".ssh" / "known_hosts"
    pinned = known_hosts.read_text()
    try:
        known_hosts.write_text("")
        unknown = cli("init", "--vault", where)
        message = assert_one_line_error(unknown.err)
        assert unknown.code == 3 and "is not known" in message and "SHA256:" in message
        # A different key recorded for this host: a changed key, maybe an attacker.
        other = tmp_path / "other_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
        )
        host = pinned.split()[0]
        known_hosts.write_text(
            f"{host} {' '.join((other.with_suffix('.pub')).read_text().split()[:2])}\n"
        )
        changed = cli("init", "--vault", where)
        assert changed.code == 3 and "CHANGED" in assert_one_line_error(changed.err)
        assert not Path(where.split(str(ssh_server.port), 1)[1]).exists()  # nothing was written
    finally:
        known_hosts.write_text(pinned)
    assert cli("init", "--vault", where).code == 0


def test_remote_failures_are_one_line_errors(
    cli: Cli,
    remote_env: None,
    s3_server: S3Server,
    ssh_server: SshServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    where = new_location("s3", tmp_path, ssh_server, "errors")
    assert cli("init", "--vault", where).code == 0
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not the secret")
    denied = cli("list", "--vault", where)
    assert denied.code == 3 and "refused" in assert_one_line_error(denied.err)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.env()["AWS_SECRET_ACCESS_KEY"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    down = cli("list", "--vault", where)
    message = assert_one_line_error(down.err)
    assert down.code == 1 and where in message and "failed 2 times" in message
    assert "trying again" in down.err  # the retry was announced
    bad = cli("list", "--vault", "sftp://nobody@/srv")
    assert bad.code == 2 and "names no host" in assert_one_line_error(bad.err)
