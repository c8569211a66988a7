"""The parts of remote storage: locations, retries, parallel uploads and the metadata cache."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
from conftest import PASSPHRASE
from lkvault.vault import Environment, StorageError, UsageError, Vault
from lkvault.vault.backend import LocalBackend, RemoteOptions, open_backend
from lkvault.vault.backend.cache import MetadataCache
from lkvault.vault.backend.location import S3Location, SftpLocation, parse_location
from lkvault.vault.backend.retry import Retrier, Retryable, RetryPolicy
from lkvault.vault.repository.uploads import PackUploads
from servers import S3Server, SshServer
from test_backend import FAST_RETRY, s3_settings, ssh_settings

# --- locations ------------------------------------------------------------------------------


def test_locations_are_parsed() -> None:
    assert parse_location("/home/ada/vault") == "/home/ada/vault"
    assert parse_location("file:///srv/vault") == "/srv/vault"
    assert parse_location("s3://my-bucket") == S3Location("my-bucket", "")
    assert parse_location("s3://my-bucket/a/b/") == S3Location("my-bucket", "a/b")
    assert parse_location("sftp://ada@host.example/srv/vault") == SftpLocation(
        "ada", "host.example", None, "/srv/vault"
    )
    assert parse_location("sftp://host:2222/~/backups/vault") == SftpLocation(
        None, "host", 2222, "backups/vault"
    )
    assert parse_location("sftp://[::1]/~") == SftpLocation(None, "::1", None, ".")
    for url in ("s3://my-bucket/a/b", "sftp://ada@host:2222/srv/v", "sftp://h/~/v", "sftp://h/~"):
        where = parse_location(url)
        assert not isinstance(where, str) and where.url == url


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("ftp://host/x", "ftp:// is not supported"),
        ("s3://UPPER/x", "not a valid bucket name"),
        ("s3://ab/x", "not a valid bucket name"),
        ("s3://bucket/a/../b", "'.' and '..' are not allowed"),
        ("sftp:///srv/vault", "names no host"),
        ("sftp://ada:secret@host/srv", "holds a password"),
        ("sftp://host:99999/srv", "not a valid sftp:// location"),
        ("sftp://host", "names no folder"),
    ],
)
def test_bad_locations_are_usage_errors(location: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        parse_location(location)


# --- retries --------------------------------------------------------------------------------


def test_transient_failures_are_retried_with_growing_delays() -> None:
    slept: list[float] = []
    notices: list[str] = []
    retrier = Retrier(
        "s3://b/p",
        RetryPolicy(retries=4),
        sleep=slept.append,
        jitter=lambda: 0.0,
        notice=notices.append,
    )
    failures = iter(["connection reset", "timed out"])

    def flaky() -> str:
        cause = next(failures, None)
        if cause is not None:
            raise Retryable(cause)
        return "done"

    assert retrier.call("writing data/aa/aa01", flaky) == "done"
    assert slept == [0.5, 1.0]
    assert "connection reset" in notices[0] and "attempt 2 of 5" in notices[0]


def test_persistent_failures_end_in_one_clear_storage_error() -> None:
    calls = 0

    def down() -> None:
        nonlocal calls
        calls += 1
        raise Retryable("connection refused")

    retrier = Retrier("sftp://h/srv/v", RetryPolicy(retries=3), sleep=lambda _s: None)
    with pytest.raises(StorageError) as raised:
        retrier.call("reading config", down)
    assert calls == 4
    message = str(raised.value)
    assert "reading config at sftp://h/srv/v failed 4 times: connection refused" in message


def test_other_errors_are_not_retried() -> None:
    calls = 0

    def missing() -> None:
        nonlocal calls
        calls += 1
        raise FileNotFoundError("keys/none")

    with pytest.raises(FileNotFoundError):
        Retrier("x", sleep=lambda _s: None).call("reading keys/none", missing)
    assert calls == 1


# --- parallel uploads -----------------------------------------------------------------------


class Recording(LocalBackend):
    """A local folder that logs each finished write, can hold pack writes at a gate, fails
    the packs it is told to, and remembers how many packs were being written at once."""

    def __init__(self, root: Path, failing: set[str] | None = None) -> None:
        super().__init__(root)
        self.log: list[str] = []
        self.failing = failing or set()
        self.gate = threading.Event()
        self.gate.set()
        self.active = 0
        self.most_active = 0
        self.lock = threading.Condition()

    def wait_until_active(self, count: int) -> None:
        with self.lock:
            self.lock.wait_for(lambda: self.active >= count, timeout=60)

    def write(self, name: str, data: bytes | bytearray) -> None:
        if name.startswith("data/"):
            with self.lock:
                self.active += 1
                self.most_active = max(self.most_active, self.active)
                self.lock.notify_all()
            try:
                self.gate.wait()
                if name in self.failing or "*" in self.failing:
                    raise StorageError(f"injected failure writing {name}")
                super().write(name, data)
            finally:
                with self.lock:
                    self.active -= 1
        else:
            super().write(name, data)
        with self.lock:
            self.log.append(name)


def test_packs_upload_in_parallel_and_wait_returns_once_all_are_stored(tmp_path: Path) -> None:
    inner = Recording(tmp_path / "s")
    uploads = PackUploads(inner, writers=3)
    inner.gate.clear()  # hold every pack upload until all three are under way
    packs = [f"data/0{i}/0{i}aa" for i in range(3)]
    for name in packs:
        uploads.submit(name, secrets.token_bytes(1000))  # returns before the pack is stored

    def release_once_all_are_uploading() -> None:
        inner.wait_until_active(3)
        inner.gate.set()

    releaser = threading.Thread(target=release_once_all_are_uploading)
    releaser.start()
    uploads.wait()
    inner.write("index/11", b"names the three packs")  # what the blob writer does next
    releaser.join()
    uploads.close()
    assert inner.most_active == 3
    assert sorted(inner.log[:3]) == packs and inner.log[3] == "index/11"


def test_a_failed_pack_upload_fails_the_wait_and_later_packs(tmp_path: Path) -> None:
    inner = Recording(tmp_path / "s", failing={"data/01/01aa"})
    uploads = PackUploads(inner, writers=2)
    uploads.submit("data/00/00aa", b"fine")
    uploads.submit("data/01/01aa", b"lost on the way")
    with pytest.raises(StorageError, match="01aa"):
        uploads.wait()
    with pytest.raises(StorageError, match="01aa"):
        uploads.submit("data/02/02aa", b"not taken after a failure")
    uploads.close()
    assert inner.list("data/") == ["data/00/00aa"]


def test_pack_bytes_in_flight_are_bounded(tmp_path: Path) -> None:
    inner = Recording(tmp_path / "s")
    uploads = PackUploads(inner, writers=4, max_bytes=250_000)
    for i in range(10):
        uploads.submit(f"data/{i:02x}/{i:02x}bb", secrets.token_bytes(100_000))
        assert uploads._pending_bytes <= 250_000
    uploads.wait()
    uploads.close()
    assert len(inner.list("data/")) == 10


class ParallelRecording(Recording):
    """A Recording that declares it gains from parallel writes, as remote backends do."""

    parallel_writes = 3


def test_a_snapshot_indexes_its_packs_only_once_all_are_stored(
    tmp_path: Path, env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository owns the order: with packs stored side by side, the index file still
    comes after every one of them, and a failed pack leaves no index naming it."""
    # Small frames and packs: one file of 3 MB is many packs, stored side by side.
    monkeypatch.setattr("lkvault.vault.repository.blobwriter.FRAME_TARGET", 64 * 1024)
    monkeypatch.setattr("lkvault.vault.repository.blobwriter.PACK_TARGET", 64 * 1024)
    good = ParallelRecording(tmp_path / "good")
    vault = Vault.init(good, PASSPHRASE, env)
    export = tmp_path / "random.bin"
    export.write_bytes(secrets.token_bytes(3_000_000))
    vault.snapshot(export, opaque=True)
    data_and_index = [n for n in good.log if n.startswith(("data/", "index/"))]
    assert len(data_and_index) > 3 and data_and_index[-1].startswith("index/")
    assert all(n.startswith("data/") for n in data_and_index[:-1])

    failing = ParallelRecording(tmp_path / "bad")
    vault = Vault.init(failing, PASSPHRASE, env)
    failing.failing = {"*"}  # every pack
    with pytest.raises(StorageError):
        vault.snapshot(export, opaque=True)
    assert failing.list("index/") == [] and failing.list("snapshots/") == []


# --- the metadata cache ---------------------------------------------------------------------


@pytest.fixture(params=["s3", "sftp"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, RemoteOptions]:
    """A fresh remote location and the options to open it with a cache in tmp_path."""
    cache = tmp_path / "cache"
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        options = RemoteOptions(s3=s3_settings(server), retry=FAST_RETRY, cache_root=cache)
        return f"s3://lkv-cache-{secrets.token_hex(6)}/v", options
    ssh: SshServer = request.getfixturevalue("ssh_server")
    options = RemoteOptions(ssh=ssh_settings(ssh), retry=FAST_RETRY, cache_root=cache)
    return ssh.url(tmp_path / "vault"), options


def test_metadata_is_served_from_the_cache_until_the_remote_changes(
    remote: tuple[str, RemoteOptions], tmp_path: Path
) -> None:
    location, options = remote
    first = open_backend(location, options)
    first.write("snapshots/aa", b"record one")
    first.write("index/bb", b"index one")

    again = open_backend(location, options)  # a later command
    assert isinstance(again, MetadataCache)
    assert again.list("snapshots/") == ["snapshots/aa"] and again.list("index/") == ["index/bb"]
    assert again.read("snapshots/aa") == b"record one" and again.read("index/bb") == b"index one"
    assert (again.hits, again.misses) == (2, 0)

    # Another computer replaces a record: the listing shows it changed, the cache is bypassed.
    uncached = open_backend(location, RemoteOptions(s3=options.s3, ssh=options.ssh))
    uncached.write("snapshots/aa", b"record one, rewritten elsewhere")
    uncached.delete("index/bb")
    later = open_backend(location, options)
    assert later.list("snapshots/") == ["snapshots/aa"]
    assert later.read("snapshots/aa") == b"record one, rewritten elsewhere"
    assert (later.hits, later.misses) == (0, 1)
    assert later.list("index/") == []
    assert not list((later.folder / "index").iterdir())  # the dropped file left the cache


def test_a_damaged_or_lost_cache_is_filled_again(
    remote: tuple[str, RemoteOptions], tmp_path: Path
) -> None:
    location, options = remote
    writer = open_backend(location, options)
    writer.write("index/cc", b"the real index")
    assert isinstance(writer, MetadataCache)
    entry = writer.folder / "index" / "cc"
    entry.write_bytes(entry.read_bytes()[:-3] + b"BAD")

    reader = open_backend(location, options)
    reader.list("index/")
    assert reader.read("index/cc") == b"the real index"
    assert reader.misses == 1

    for path in sorted(writer.folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    writer.folder.rmdir()
    fresh = open_backend(location, options)
    fresh.list("index/")
    assert fresh.read("index/cc") == b"the real index" and entry.is_file()
