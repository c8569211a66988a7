"""The backend conformance suite: every storage backend keeps the same contracts.

Remote backends join the ``backend`` fixture's parameters as they are added.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vault import StorageError
from vault.backend import Backend, LocalBackend
from vault.backend.faults import FailingBackend


@pytest.fixture(params=["local", "fault-wrapper"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    local = LocalBackend(tmp_path / "store")
    if request.param == "local":
        yield local
    else:
        yield FailingBackend(local)  # type: ignore[misc]


def test_write_read_round_trip(backend: Backend) -> None:
    backend.write("data/ab/abcd", b"hello world")
    assert backend.read("data/ab/abcd") == b"hello world"
    assert backend.read("data/ab/abcd", 6, 5) == b"world"
    assert backend.read("data/ab/abcd", 6) == b"world"
    assert backend.size("data/ab/abcd") == 11
    assert backend.exists("data/ab/abcd")


def test_write_replaces(backend: Backend) -> None:
    backend.write("config", b"one")
    backend.write("config", b"two!")
    assert backend.read("config") == b"two!"


def test_missing_names(backend: Backend) -> None:
    assert not backend.exists("keys/none")
    for call in (
        lambda: backend.read("keys/none"),
        lambda: backend.size("keys/none"),
        lambda: backend.delete("keys/none"),
    ):
        with pytest.raises(FileNotFoundError):
            call()


def test_short_range_read_is_an_error(backend: Backend) -> None:
    backend.write("index/x", b"12345")
    with pytest.raises(StorageError):
        backend.read("index/x", 3, 10)


def test_list_is_recursive_sorted_and_prefix_bound(backend: Backend) -> None:
    for name in ("data/01/01aa", "data/02/02bb", "index/cc", "snapshots/dd", "keys/ee"):
        backend.write(name, b"x")
    assert backend.list("data/") == ["data/01/01aa", "data/02/02bb"]
    assert backend.list("index/") == ["index/cc"]
    assert backend.list("locks/") == []
    backend.delete("data/01/01aa")
    assert backend.list("data/") == ["data/02/02bb"]


def test_empty_file(backend: Backend) -> None:
    backend.write("locks/empty", b"")
    assert backend.read("locks/empty") == b"" and backend.size("locks/empty") == 0


def test_names_cannot_escape(backend: Backend) -> None:
    for bad in ("../x", "data/../../x", "", "data//x", "data/.tmp-x"):
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
