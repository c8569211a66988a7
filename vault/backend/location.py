"""Parsing of vault locations: a local folder, ``s3://bucket/prefix`` or ``sftp://user@host/path``.

Pure: no I/O. Every malformed location is a UsageError with a one-line explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lkvault.vault.errors import UsageError

SCHEMES = ("s3", "sftp", "file")
DEFAULT_SSH_PORT = 22
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Location:
    """A bucket, and the key prefix under which the vault's files live ('' for the bucket root)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name


@dataclass(frozen=True)
class SftpLocation:
    """An SSH host and a folder on it: absolute, or relative to the login folder."""

    user: str | None
    host: str
    port: int | None
    path: str  # absolute ('/srv/vault'), or relative to the login folder ('vault', '.')

    @property
    def url(self) -> str:
        who = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        if self.path.startswith("/"):
            path = self.path
        else:
            path = "/~" if self.path == "." else f"/~/{self.path}"
        return f"sftp://{who}{host}{port}{path}"


Location = str | S3Location | SftpLocation


def parse_location(text: str) -> Location:
    """A local folder (returned as the string itself), an S3Location or an SftpLocation."""
    if "://" not in text:
        return text
    scheme = text.split("://", 1)[0].lower()
    if scheme == "s3":
        return _parse_s3(text)
    if scheme == "sftp":
        return _parse_sftp(text)
    if scheme == "file":
        path = unquote(urlsplit(text).path)
        if not path:
            raise UsageError(f"{text!r} names no folder")
        return path
    raise UsageError(
        f"vault location scheme {scheme}:// is not supported "
        "(use a folder, s3://bucket/prefix or sftp://user@host/path)"
    )


def _clean_parts(path: str, text: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise UsageError(f"{text!r}: '.' and '..' are not allowed in a vault location")
    return parts


def _parse_s3(text: str) -> S3Location:
    rest = text.split("://", 1)[1]
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise UsageError(
            f"{text!r}: {bucket!r} is not a valid bucket name "
            "(3 to 63 characters: lower-case letters, digits, '.' and '-')"
        )
    if "?" in prefix or "#" in prefix:
        raise UsageError(f"{text!r}: a vault location takes no '?' or '#' part")
    return S3Location(bucket, "/".join(_clean_parts(prefix, text)))


def _parse_sftp(text: str) -> SftpLocation:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{text!r} is not a valid sftp:// location: {exc}") from None
    if not parts.hostname:
        raise UsageError(f"{text!r} names no host (sftp://user@host[:port]/path)")
    if parts.password is not None:
        raise UsageError(
            f"{text!r} holds a password: lkvault logs in with SSH keys only "
            "(from the SSH agent or ~/.ssh)"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"{text!r}: a vault location takes no '?' or '#' part")
    path = unquote(parts.path)
    if not path:
        raise UsageError(
            f"{text!r} names no folder: use sftp://user@host/srv/vault, or "
            "sftp://user@host/~/vault for a folder in the login folder"
        )
    user = unquote(parts.username) if parts.username else None
    if path == "/~" or path.startswith("/~/"):
        relative = _clean_parts(path[2:], text)
        folder = "/".join(relative) or "."
    else:
        folder = "/" + "/".join(_clean_parts(path, text))
    return SftpLocation(user, parts.hostname, port, folder)
