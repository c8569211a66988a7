"""The backend conformance suite: every storage backend keeps the same contracts.

The ``backend`` fixture runs each test against a local folder, an S3 bucket (SeaweedFS on
127.0.0.1), an SFTP folder (OpenSSH's sshd on 127.0.0.1) and the fault-injecting wrapper. The
remote ones are exactly what ``open_backend`` gives a command: retries and the metadata cache
included. A remote server that cannot start skips its tests.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import FailingBackend, KillAtWrite
from lkvault.vault import StorageError
from lkvault.vault.backend import Backend, LocalBackend, RemoteOptions, open_backend
from lkvault.vault.backend.base import (
    CleansTempFiles,
    Closes,
    Fingerprinted,
    ParallelWrites,
)
from lkvault.vault.backend.cache import MetadataCache
from lkvault.vault.backend.local import TEMP_PREFIX
from lkvault.vault.backend.retry import RetryPolicy
from lkvault.vault.backend.s3 import S3Settings
from lkvault.vault.backend.sftp import SshSettings
from lkvault.vault.repository.locks import GuardedBackend
from servers import S3Server, SshServer

FAST_RETRY = RetryPolicy(retries=2, first_delay=0.05)


def s3_settings(server: S3Server, **changes: str) -> S3Settings:
    env = {**server.env(), **changes}
    return S3Settings(
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region=env["AWS_REGION"],
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def ssh_settings(server: SshServer, home: Path | None = None) -> SshSettings:
    ssh = (home or server.home) / ".ssh"
    return SshSettings(
        user=server.user,
        known_hosts=(ssh / "known_hosts",),
        identity_files=(ssh / "id_ed25519",),
    )


def remote_backend(location: str, options: RemoteOptions) -> Backend:
    return open_backend(location, options)


@pytest.fixture(params=["local", "fault-wrapper", "s3", "sftp"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield LocalBackend(tmp_path / "store")
    elif request.param == "fault-wrapper":
        yield FailingBackend(LocalBackend(tmp_path / "store"))  # type: ignore[misc]
    elif request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        bucket = f"lkv-conf-{secrets.token_hex(6)}"
        options = RemoteOptions(
            s3=s3_settings(server), retry=FAST_RETRY, cache_root=tmp_path / "cache"
        )
        yield remote_backend(f"s3://{bucket}/some/prefix", options)
    else:
        ssh: SshServer = request.getfixturevalue("ssh_server")
        options = RemoteOptions(
            ssh=ssh_settings(ssh), retry=FAST_RETRY, cache_root=tmp_path / "cache"
        )
        remote = remote_backend(ssh.url(tmp_path / "store"), options)
        yield remote
        remote.close()  # type: ignore[attr-defined]


def test_write_read_round_trip(backend: Backend) -> None:
    backend.write("data/ab/abcd", b"hello world")
    assert backend.read("data/ab/abcd") == b"hello world"
    assert backend.read("data/ab/abcd", 6, 5) == b"world"
    assert backend.read("data/ab/abcd", 6) == b"world"
    assert backend.read("data/ab/abcd", 11) == b""
    assert backend.size("data/ab/abcd") == 11
    assert backend.exists("data/ab/abcd")


def test_write_replaces(backend: Backend) -> None:
    backend.write("config", b"one")
    backend.write("config", b"two!")
    assert backend.read("config") == b"two!"


def test_metadata_round_trip_and_replace(backend: Backend) -> None:
    backend.write("index/aa", b"first index")
    backend.write("snapshots/bb", b"a snapshot record")
    assert backend.list("index/") == ["index/aa"]
    assert backend.read("index/aa") == b"first index"
    assert backend.read("index/aa", 6, 5) == b"index"
    backend.write("index/aa", b"replaced")
    assert backend.list("index/") == ["index/aa"]
    assert backend.read("index/aa") == b"replaced"
    backend.delete("snapshots/bb")
    assert backend.list("snapshots/") == []
    with pytest.raises(FileNotFoundError):
        backend.read("snapshots/bb")


def test_missing_names(backend: Backend) -> None:
    assert not backend.exists("keys/none")
    for call in (
        lambda: backend.read("keys/none"),
        lambda: backend.read("data/00/none", 0, 4),
        lambda: backend.size("keys/none"),
        lambda: backend.delete("keys/none"),
    ):
        with pytest.raises(FileNotFoundError):
            call()


def test_short_range_read_is_an_error(backend: Backend) -> None:
    backend.write("index/x", b"12345")
    backend.write("data/aa/aa01", b"12345")
    for name in ("index/x", "data/aa/aa01"):
        with pytest.raises(StorageError):
            backend.read(name, 3, 10)


def test_list_is_recursive_sorted_and_prefix_bound(backend: Backend) -> None:
    for name in ("data/02/02bb", "data/01/01aa", "index/cc", "snapshots/dd", "keys/ee"):
        backend.write(name, b"x")
    assert backend.list("data/") == ["data/01/01aa", "data/02/02bb"]
    assert backend.list("data") == ["data/01/01aa", "data/02/02bb"]
    assert backend.list("index/") == ["index/cc"]
    assert backend.list("locks/") == []
    backend.delete("data/01/01aa")
    assert backend.list("data/") == ["data/02/02bb"]


def test_empty_file(backend: Backend) -> None:
    backend.write("locks/empty", b"")
    assert backend.read("locks/empty") == b"" and backend.size("locks/empty") == 0
    assert backend.read("locks/empty", 0, 0) == b""


def test_large_file_and_ranges(backend: Backend) -> None:
    data = secrets.token_bytes(9 * 1024 * 1024 + 7)
    backend.write("data/cd/cdef", data)
    assert backend.size("data/cd/cdef") == len(data)
    assert backend.read("data/cd/cdef") == data
    tail = len(data) - 4 * 1024 * 1024
    assert backend.read("data/cd/cdef", tail, 4 * 1024 * 1024) == data[tail:]


def test_writes_from_many_threads(backend: Backend) -> None:
    blobs = {
        f"data/{i:02x}/{i:02x}{secrets.token_hex(4)}": secrets.token_bytes(50_000 + i)
        for i in range(12)
    }
    errors: list[BaseException] = []

    def put(names: list[str]) -> None:
        try:
            for name in names:
                backend.write(name, blobs[name])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    names = sorted(blobs)
    threads = [threading.Thread(target=put, args=(names[i::3],)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert backend.list("data/") == names
    assert all(backend.read(name) == blobs[name] for name in names)


def test_names_cannot_escape(backend: Backend) -> None:
    for bad in ("../x", "data/../../x", "", "data//x", "data/.tmp-x", "/abs"):
        with pytest.raises(ValueError):
            backend.write(bad, b"x")


def test_local_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalBackend(tmp_path / "s")
    store.write("data/aa/aa11", b"x" * 100_000)
    assert [p.name for p in (tmp_path / "s" / "data" / "aa").iterdir()] == ["aa11"]
    # A temp file left by a crash is invisible to list and cleaned up on request.
    (tmp_path / "s" / "data" / "aa" / ".tmp-crash").write_bytes(b"half")
    store.write("locks/l1", b"x")
    (tmp_path / "s" / "locks" / ".tmp-other-process").write_bytes(b"in flight")
    assert store.list("data/") == ["data/aa/aa11"]
    assert store.remove_stale_temp_files() == 1
    assert (tmp_path / "s" / "locks" / ".tmp-other-process").exists()  # readers write locks


def test_local_storage_errors_are_storage_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    store = LocalBackend(blocker)  # the root is a file: nothing can be written under it
    with pytest.raises(StorageError):
        store.write("data/aa/aa11", b"x")


def test_fault_wrapper_fails_after_n_writes(tmp_path: Path) -> None:
    faulty = FailingBackend(LocalBackend(tmp_path / "s"), fail_writes_after=1)
    faulty.write("a/1", b"ok")
    with pytest.raises(StorageError):
        faulty.write("a/2", b"no")
    assert faulty.list("a/") == ["a/1"]


ABILITIES = (Fingerprinted, CleansTempFiles, Closes, ParallelWrites)


def abilities(backend: object) -> list[tuple[str, bool]]:
    """Which optional abilities ``backend`` declares, and how many packs it writes at once."""
    found = [(ability.__name__, isinstance(backend, ability)) for ability in ABILITIES]
    if isinstance(backend, ParallelWrites):
        found.append(("parallel_writes", backend.parallel_writes == 3))
    return found


@pytest.mark.parametrize("kind", ["local", "s3", "sftp"])
def test_wrappers_have_exactly_the_abilities_of_the_storage_they_wrap(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # The lock guard, the metadata cache and the fault injectors sit between the repository
    # and its storage: hiding an ability loses it (one upload at a time, temp files left),
    # claiming one the storage lacks makes callers trust a no-op.
    options = RemoteOptions(retry=FAST_RETRY, uploads=3)
    inner: Backend
    if kind == "local":
        inner = LocalBackend(tmp_path / "store")
    elif kind == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        options = RemoteOptions(s3=s3_settings(server), retry=FAST_RETRY, uploads=3)
        inner = open_backend(f"s3://lkv-abilities-{secrets.token_hex(6)}/p", options)
    else:
        ssh: SshServer = request.getfixturevalue("ssh_server")
        options = RemoteOptions(ssh=ssh_settings(ssh), retry=FAST_RETRY, uploads=3)
        inner = open_backend(ssh.url(tmp_path / "store"), options)
    try:
        wrappers: list[Backend] = [
            GuardedBackend(inner),
            KillAtWrite(inner, 0),  # type: ignore[list-item]
            FailingBackend(inner),  # type: ignore[list-item]
            GuardedBackend(FailingBackend(inner)),  # type: ignore[arg-type]
        ]
        if isinstance(inner, Fingerprinted):
            wrappers += [MetadataCache(inner, tmp_path / "cache")]
            wrappers += [GuardedBackend(MetadataCache(inner, tmp_path / "cache"))]
        for wrapper in wrappers:
            assert abilities(wrapper) == abilities(inner), type(wrapper).__name__
            wrapper.write("data/ab/ab01", b"through the wrapper")
            assert inner.read("data/ab/ab01") == b"through the wrapper"
        assert isinstance(wrappers[0], GuardedBackend)
    finally:
        if isinstance(inner, Closes):
            inner.close()


def test_temp_files_are_cleaned_through_the_lock_guard(tmp_path: Path) -> None:
    store = LocalBackend(tmp_path / "store")
    store.write("data/ab/ab01", b"kept")
    left = tmp_path / "store" / "data" / "ab" / f"{TEMP_PREFIX}interrupted"
    left.write_bytes(b"half a pack")
    guard = GuardedBackend(store)
    assert isinstance(guard, CleansTempFiles)
    assert guard.remove_stale_temp_files() == 1
    assert not left.exists()
    assert guard.read("data/ab/ab01") == b"kept"
