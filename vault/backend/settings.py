"""How to reach remote storage: the S3 and SSH clients' settings, without their libraries.

The front end fills these from the environment; boto3 and paramiko are imported only when a
location needs them (vault/backend/s3.py, sftp.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class S3Settings:
    """Where the S3 service is and who we are; None leaves the value to boto3's own chain."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = None
    connections: int = 16


@dataclass(frozen=True)
class SshSettings:
    """What the SSH client uses besides the location: who we are, keys and known hosts."""

    user: str  # the login name when neither the location nor the SSH config names one
    known_hosts: tuple[Path, ...] = ()
    identity_files: tuple[Path, ...] = ()
    agent_socket: str | None = None
    config_file: Path | None = None
    timeout: float = 15.0
