"""Vault storage in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, R2, B2, Wasabi, Ceph).

One object per storage name, under the location's key prefix. A PUT is atomic (an object is
either whole or absent) and durable once the server answers, so writes need no temp objects.
Each upload carries its MD5 (Content-MD5), so the server refuses bytes damaged on the way.

Settings: the CLI reads the variables lkvault documents (AWS_ENDPOINT_URL, AWS_REGION,
AWS_ACCESS_KEY_ID, ...) and passes them in S3Settings; what is not given there comes from
boto3's own chain (the profile's entries in ~/.aws/config and ~/.aws/credentials, container
and instance credentials), which boto3 resolves itself because re-implementing it (SSO, role
assumption, credential processes) would only make it wrong.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import botocore.exceptions
import urllib3.exceptions
from botocore.config import Config
from lkvault.vault.backend.location import S3Location
from lkvault.vault.backend.names import check_name, check_prefix
from lkvault.vault.backend.retry import Retrier, Retryable
from lkvault.vault.backend.settings import S3Settings
from lkvault.vault.errors import AccessDenied, ReadOnlyStorage, StorageError, UsageError

T = TypeVar("T")

MISSING_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
DENIED_CODES = {
    "403",
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AccountProblem",
}
# Refusals of a write by credentials that work (they may read): a read-only bucket or identity.
READ_ONLY_CODES = {"403", "AccessDenied", "AllAccessDisabled"}
TRANSIENT_CODES = {
    "500",
    "502",
    "503",
    "504",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "OperationAborted",
}
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ResponseStreamingError,
    botocore.exceptions.IncompleteReadError,
    botocore.exceptions.HTTPClientError,
    # A body read can raise urllib3's own error when the connection breaks mid-response.
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code or str(status or "")


def _describe(exc: botocore.exceptions.ClientError) -> str:
    error = exc.response.get("Error", {})
    message = error.get("Message") or ""
    code = _error_code(exc)
    return f"{code}: {message}" if message and message != code else code


class S3Backend:
    """Objects in a bucket under a key prefix; see Backend for the contracts."""

    def __init__(
        self,
        where: S3Location,
        settings: S3Settings | None = None,
        retrier: Retrier | None = None,
        parallel_writes: int = 4,
    ) -> None:
        self.where = where
        self.location = where.url
        self.parallel_writes = max(1, parallel_writes)  # packs stored at once (base.ParallelWrites)
        self.settings = settings or S3Settings()
        self.retrier = retrier or Retrier(self.location)
        self._client: Any = None
        self._client_lock = threading.Lock()

    # --- the connection ---------------------------------------------------------------------

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        s = self.settings
        try:
            session = boto3.session.Session(
                aws_access_key_id=s.access_key_id,
                aws_secret_access_key=s.secret_access_key,
                aws_session_token=s.session_token,
                region_name=s.region,
                profile_name=s.profile,
            )
        except botocore.exceptions.ProfileNotFound as exc:
            raise UsageError(f"{exc} (AWS_PROFILE)") from None
        config = Config(
            # lkvault retries itself (vault.backend.retry), with messages a user can act on.
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=s.connections,
            # Custom endpoints (MinIO, SeaweedFS, Ceph, ...) are reached by path, which every
            # S3-compatible server supports; AWS itself picks virtual-host addressing.
            s3={"addressing_style": "path" if s.endpoint_url else "auto"},
            # Content-MD5 protects uploads; the newer default checksums are not understood by
            # every S3-compatible server, and every stored object is authenticated anyway.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        try:
            return session.client("s3", endpoint_url=s.endpoint_url, config=config)
        except ValueError as exc:
            raise UsageError(f"invalid S3 endpoint {s.endpoint_url!r}: {exc}") from None

    def _run(self, what: str, operation: Callable[[], T], *, writes: bool = False) -> T:
        """``operation`` with transient failures retried and the rest turned into our errors.

        An operation that ``writes`` and is refused access (not for bad credentials) meets a
        bucket these credentials may read but not change: ReadOnlyStorage, which lets readers
        go on without a lock.
        """

        def attempt() -> T:
            try:
                return operation()
            except botocore.exceptions.ClientError as exc:
                code = _error_code(exc)
                if code in MISSING_CODES:
                    raise FileNotFoundError(f"{what}: {code}") from None
                if writes and code in READ_ONLY_CODES:
                    raise ReadOnlyStorage(
                        f"the S3 service refused {what} at {self.location} ({_describe(exc)}): "
                        "these credentials may not write to the bucket"
                    ) from None
                if code in DENIED_CODES:
                    raise AccessDenied(
                        f"the S3 service refused {what} at {self.location} ({_describe(exc)}); "
                        "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                        "AWS_PROFILE) and their permissions on the bucket"
                    ) from None
                if code in TRANSIENT_CODES or code.startswith("5"):
                    raise Retryable(_describe(exc)) from None
                raise StorageError(f"{what} at {self.location} failed: {_describe(exc)}") from None
            except botocore.exceptions.NoCredentialsError:
                raise AccessDenied(
                    f"no S3 credentials for {self.location}: set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
                ) from None
            except NETWORK_ERRORS as exc:
                raise Retryable(str(exc) or exc.__class__.__name__) from None
            except botocore.exceptions.BotoCoreError as exc:
                raise StorageError(f"{what} at {self.location} failed: {exc}") from None

        return self.retrier.call(what, attempt)

    # --- the Backend interface ---------------------------------------------------------------

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        key = self.where.key(check_name(name))
        if length == 0:
            self.size(name)  # a missing object must still raise
            return b""
        request: dict[str, Any] = {"Bucket": self.where.bucket, "Key": key}
        if length is not None:
            request["Range"] = f"bytes={offset}-{offset + length - 1}"
        elif offset:
            request["Range"] = f"bytes={offset}-"

        def get() -> bytes:
            try:
                response = self.client.get_object(**request)
            except botocore.exceptions.ClientError as exc:
                if _error_code(exc) == "InvalidRange":
                    return b""  # the range starts at or after the end of the object
                raise
            with response["Body"] as body:
                content: bytes = body.read()
                return content

        data = self._run(f"reading {name}", get)
        if length is not None and len(data) != length:
            raise StorageError(
                f"{self.location}/{name} is shorter than expected ({len(data)} of {length} bytes)"
            )
        return data

    def write(self, name: str, data: bytes | bytearray) -> None:
        key = self.where.key(check_name(name))
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()

        def put() -> None:
            self.client.put_object(Bucket=self.where.bucket, Key=key, Body=data, ContentMD5=md5)

        try:
            self._run(f"writing {name}", put, writes=True)
        except FileNotFoundError:
            # NoSuchBucket: only 'init' writes to an empty location, and it makes the bucket.
            self._create_bucket()
            self._run(f"writing {name}", put, writes=True)

    def delete(self, name: str) -> None:
        key = self.where.key(check_name(name))
        first_try = True

        def remove() -> None:
            nonlocal first_try
            # S3 deletes succeed on missing keys; the contract wants FileNotFoundError. A key
            # missing on a later try was removed by the try whose answer got lost.
            try:
                self.client.head_object(Bucket=self.where.bucket, Key=key)
            except botocore.exceptions.ClientError as exc:
                if not first_try and _error_code(exc) in MISSING_CODES:
                    return
                raise
            finally:
                first_try = False
            self.client.delete_object(Bucket=self.where.bucket, Key=key)

        self._run(f"deleting {name}", remove, writes=True)

    def list(self, prefix: str) -> list[str]:
        return sorted(self.list_fingerprints(prefix))

    def list_fingerprints(self, prefix: str) -> dict[str, str]:
        """Names under ``prefix`` with a fingerprint of each object (size and ETag)."""
        folder = check_prefix(prefix)
        root = f"{self.where.prefix}/" if self.where.prefix else ""

        def listing() -> dict[str, str]:
            found: dict[str, str] = {}
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.where.bucket, Prefix=root + folder):
                for item in page.get("Contents", []):
                    name = item["Key"][len(root) :]
                    found[name] = f"{item['Size']}:{item.get('ETag', '')}"
            return found

        try:
            return self._run(f"listing {folder or '/'}", listing)
        except FileNotFoundError:
            return {}  # no bucket yet: an empty location

    def fingerprint(self, name: str) -> str:
        """The fingerprint ``list_fingerprints`` gives for one object."""
        head = self._head(name)
        return f"{head['ContentLength']}:{head.get('ETag', '')}"

    def size(self, name: str) -> int:
        return int(self._head(name)["ContentLength"])

    def exists(self, name: str) -> bool:
        try:
            self._head(name)
        except FileNotFoundError:
            return False
        return True

    def _head(self, name: str) -> dict[str, Any]:
        key = self.where.key(check_name(name))
        return self._run(
            f"looking up {name}",
            lambda: self.client.head_object(Bucket=self.where.bucket, Key=key),
        )

    def _create_bucket(self) -> None:
        region = self.client.meta.region_name
        request: dict[str, Any] = {"Bucket": self.where.bucket}
        if region and region not in ("us-east-1", "aws-global"):
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}

        def create() -> None:
            try:
                self.client.create_bucket(**request)
            except botocore.exceptions.ClientError as exc:
                if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

        self._run(f"creating bucket {self.where.bucket}", create, writes=True)
