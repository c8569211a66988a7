"""Storage backends (names and bytes only) and the choice of one from a vault location."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lkvault.vault.backend.base import Backend, Fingerprinted
from lkvault.vault.backend.local import LocalBackend
from lkvault.vault.backend.location import S3Location, SftpLocation, parse_location
from lkvault.vault.backend.retry import Retrier, RetryPolicy
from lkvault.vault.backend.settings import S3Settings, SshSettings
from lkvault.vault.errors import UsageError

__all__ = [
    "Backend",
    "LocalBackend",
    "RemoteOptions",
    "RetryPolicy",
    "S3Settings",
    "SshSettings",
    "is_remote",
    "open_backend",
    "parse_location",
]


@dataclass(frozen=True)
class RemoteOptions:
    """How to reach and use remote storage; the CLI fills it from the environment.

    (boto3 and paramiko are imported only when a location needs them.)
    """

    s3: S3Settings | None = None
    ssh: SshSettings | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    uploads: int = 4
    cache_root: Path | None = None  # the folder for metadata caches; None: no cache
    notice: Callable[[str], None] | None = None  # told of each retry
    jitter: Callable[[], float] | None = None  # spreads retries; None: a private generator


def is_remote(location: str) -> bool:
    return not isinstance(parse_location(location), str)


def open_backend(location: str, options: RemoteOptions | None = None) -> Backend:
    """The backend for a vault location: a folder, s3://bucket/prefix or sftp://user@host/path.

    A remote backend retries transient failures, lets the repository store ``options.uploads``
    packs at once (``ParallelWrites``), and with ``options.cache_root`` comes wrapped in a
    local cache of index files and snapshot records.
    """
    where = parse_location(location)
    if isinstance(where, str):
        return LocalBackend(where)
    options = options or RemoteOptions()
    retrier = Retrier(where.url, options.retry, jitter=options.jitter, notice=options.notice)
    remote: Fingerprinted
    if isinstance(where, S3Location):
        from lkvault.vault.backend.s3 import S3Backend

        remote = S3Backend(where, options.s3, retrier, options.uploads)
    elif isinstance(where, SftpLocation):
        from lkvault.vault.backend.sftp import SftpBackend

        if options.ssh is None:
            raise UsageError(f"{location}: no SSH settings given")
        remote = SftpBackend(where, options.ssh, retrier, options.uploads)
    else:  # pragma: no cover - parse_location returns one of the above
        raise UsageError(f"unsupported vault location {location!r}")
    if options.cache_root is None:
        return remote
    from lkvault.vault.backend.cache import MetadataCache, cache_folder

    return MetadataCache(remote, cache_folder(options.cache_root, where.url))
