"""Vault storage in a folder on an SSH server, over SFTP (paramiko).

Log-in is by public key only: the keys of the SSH agent, then the key files the caller names
(~/.ssh/id_* from the CLI). The server's host key must already be in a known_hosts file; an
unknown or changed key is refused with its fingerprint, never accepted silently.

Writes go to a temp file in the target folder, are flushed to the server's disk
(fsync@openssh.com) and renamed over the name (posix-rename@openssh.com), so a file is whole
or absent. Each thread talks over its own SFTP channel of one shared SSH connection; a dropped
connection is opened again on the next try.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import posixpath
import secrets
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import paramiko
from lkvault.vault.backend.location import DEFAULT_SSH_PORT, SftpLocation
from lkvault.vault.backend.names import TEMP_PREFIX, check_name, check_prefix
from lkvault.vault.backend.retry import Retrier, Retryable
from lkvault.vault.backend.settings import SshSettings
from lkvault.vault.errors import AccessDenied, ReadOnlyStorage, StorageError, UsageError
from paramiko.agent import AgentSSH
from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY

T = TypeVar("T")

# paramiko names host-key algorithms; a known RSA key may be offered under any of these.
KEY_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}
CHANNEL_TIMEOUT = 60.0
# OpenSSH's statvfs@openssh.com reply: eleven 64-bit fields; the tenth holds the mount flags,
# of which this one says the file system is mounted read-only.
STATVFS_FIELDS, STATVFS_FLAGS, STATVFS_READ_ONLY = 11, 9, 0x1
KEEPALIVE_SECONDS = 30


def fingerprint(key: paramiko.PKey) -> str:
    """A host key's fingerprint as OpenSSH prints it (SHA256:...)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class _AgentAt(AgentSSH):  # type: ignore[misc]  # paramiko ships no types
    """The keys of the SSH agent listening on a given socket."""

    def __init__(self, path: str) -> None:
        super().__init__()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
        self._connect(conn)  # paramiko's own Agent does the same, with the path from the env


@dataclass(frozen=True)
class _Target:
    """The host to reach, after applying the SSH config file."""

    host: str
    port: int
    user: str
    identity_files: tuple[Path, ...]

    @property
    def known_hosts_name(self) -> str:
        return self.host if self.port == DEFAULT_SSH_PORT else f"[{self.host}]:{self.port}"


class SftpBackend:
    """Files under a folder on an SSH server; see Backend for the contracts."""

    def __init__(
        self,
        where: SftpLocation,
        settings: SshSettings,
        retrier: Retrier | None = None,
        parallel_writes: int = 4,
    ) -> None:
        self.where = where
        self.location = where.url
        self.parallel_writes = max(1, parallel_writes)  # packs stored at once (base.ParallelWrites)
        self.settings = settings
        self.retrier = retrier or Retrier(self.location)
        self.target = self._resolve(where, settings)
        self._lock = threading.Lock()
        self._transport: paramiko.Transport | None = None
        self._generation = 0
        self._local = threading.local()
        self._folders: set[str] = set()
        self._fsync_supported = True
        self._posix_rename_supported = True

    # --- connecting --------------------------------------------------------------------------

    @staticmethod
    def _resolve(where: SftpLocation, settings: SshSettings) -> _Target:
        host, port, user = where.host, where.port, where.user
        identity = list(settings.identity_files)
        if settings.config_file is not None and settings.config_file.is_file():
            try:
                entry = paramiko.SSHConfig.from_path(str(settings.config_file)).lookup(host)
            except (OSError, paramiko.SSHException, ValueError) as exc:
                raise UsageError(f"cannot read {settings.config_file}: {exc}") from None
            host = entry.get("hostname", host)
            user = user or entry.get("user")
            if port is None and "port" in entry:
                try:
                    port = int(entry["port"])
                except ValueError:
                    raise UsageError(f"{settings.config_file}: bad Port for {host}") from None
            identity = [Path(p) for p in entry.get("identityfile", [])] + identity
        return _Target(host, port or DEFAULT_SSH_PORT, user or settings.user, tuple(identity))

    def _known_keys(self) -> dict[str, paramiko.PKey]:
        keys = paramiko.HostKeys()
        for path in self.settings.known_hosts:
            if path.is_file():
                try:
                    keys.load(str(path))
                except (OSError, paramiko.SSHException, ValueError) as exc:
                    raise UsageError(f"cannot read known hosts file {path}: {exc}") from None
        entry = keys.lookup(self.target.known_hosts_name)
        return dict(entry) if entry is not None else {}

    def _connect(self) -> paramiko.Transport:
        target = self.target
        known = self._known_keys()
        try:
            sock = socket.create_connection((target.host, target.port), self.settings.timeout)
        except OSError as exc:
            raise Retryable(
                f"cannot connect to {target.host} port {target.port}: {exc.strerror or exc}"
            ) from None
        transport = paramiko.Transport(sock)
        try:
            if known:
                # Ask for a key type we already know, as OpenSSH does.
                wanted = {a for t in known for a in KEY_ALGORITHMS.get(t, (t,))}
                options = transport.get_security_options()
                offered = [a for a in options.key_types if a in wanted]
                if offered:
                    options.key_types = offered
            try:
                transport.start_client(timeout=self.settings.timeout)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise Retryable(f"SSH handshake with {target.host} failed: {exc}") from None
            self._check_host_key(transport.get_remote_server_key(), known)
            self._authenticate(transport)
            transport.set_keepalive(KEEPALIVE_SECONDS)
        except BaseException:
            transport.close()
            raise
        return transport

    def _check_host_key(self, key: paramiko.PKey, known: dict[str, paramiko.PKey]) -> None:
        name = self.target.known_hosts_name
        present = [str(p) for p in self.settings.known_hosts if p.is_file()]
        files = ", ".join(present) or "no known_hosts file"
        if not known:
            port = f"-p {self.target.port} " if self.target.port != DEFAULT_SSH_PORT else ""
            raise AccessDenied(
                f"the SSH host key of {name} is not known ({key.get_name()} {fingerprint(key)} "
                f"is not in {files}); check that fingerprint with the server's owner, then "
                f"add it with 'ssh {port}{self.target.user}@{self.target.host}' or ssh-keyscan"
            )
        stored = known.get(key.get_name())
        if stored is None or stored.asbytes() != key.asbytes():
            raise AccessDenied(
                f"the SSH host key of {name} has CHANGED: it offered {key.get_name()} "
                f"{fingerprint(key)}, not the key recorded in {files}; someone may be "
                "intercepting the connection (or the server was reinstalled): refusing to connect"
            )

    def _candidate_keys(self) -> Iterator[tuple[str, paramiko.PKey]]:
        if self.settings.agent_socket:
            try:
                agent = _AgentAt(self.settings.agent_socket)
            except (OSError, paramiko.SSHException):
                agent = None  # a dangling SSH_AUTH_SOCK: carry on with the key files
            if agent is not None:
                for key in agent.get_keys():
                    yield "ssh-agent", key
        for path in self.target.identity_files:
            if not path.is_file():
                continue
            try:
                key = paramiko.PKey.from_path(str(path))
            except paramiko.PasswordRequiredException:
                continue  # protected by a passphrase: only usable through the agent
            except (OSError, paramiko.SSHException, ValueError):
                continue  # not a private key paramiko understands
            yield str(path), key

    def _authenticate(self, transport: paramiko.Transport) -> None:
        tried: list[str] = []
        for source, key in self._candidate_keys():
            tried.append(source)
            try:
                transport.auth_publickey(self.target.user, key)
            except paramiko.AuthenticationException:
                continue
            except (paramiko.SSHException, EOFError, OSError):
                break  # the server gave up on us (too many tries)
            if transport.is_authenticated():
                return
        what = ", ".join(dict.fromkeys(tried)) if tried else "no key found"
        raise AccessDenied(
            f"{self.target.user}@{self.target.host} accepted none of the SSH keys tried "
            f"({what}); add your public key to its ~/.ssh/authorized_keys, or load the "
            "right key into ssh-agent"
        )

    def _sftp(self) -> paramiko.SFTPClient:
        """This thread's SFTP channel, connecting (again) if needed."""
        with self._lock:
            if self._transport is None or not self._transport.is_active():
                self._transport = self._connect()
                self._generation += 1
            transport, generation = self._transport, self._generation
        local = self._local
        if getattr(local, "generation", None) != generation:
            client = paramiko.SFTPClient.from_transport(transport)
            if client is None:
                raise Retryable("the server refused an SFTP channel")
            client.get_channel().settimeout(CHANNEL_TIMEOUT)
            local.client, local.generation = client, generation
        return local.client

    def _drop_connection(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None

    def close(self) -> None:
        self._drop_connection()

    def _run(
        self, what: str, operation: Callable[[paramiko.SFTPClient], T], *, writes: bool = False
    ) -> T:
        """``operation(sftp)`` with dropped connections retried and errors made ours.

        A permission refused to an operation that ``writes`` means the folder is read-only for
        this account (a chmod-ed folder, a read-only SFTP share): ReadOnlyStorage, which lets
        readers go on without a lock. Refused reads are AccessDenied.
        """

        def attempt() -> T:
            sftp: paramiko.SFTPClient | None = None
            try:
                sftp = self._sftp()
                return operation(sftp)
            except FileNotFoundError:
                raise
            except PermissionError as exc:
                if writes:
                    raise ReadOnlyStorage(
                        f"{what} at {self.location} was refused: {exc.strerror or exc} "
                        f"(the folder is read-only for {self.target.user}@{self.target.host})"
                    ) from None
                raise AccessDenied(
                    f"permission denied {what} at {self.location}: {exc.strerror or exc}"
                ) from None
            except (paramiko.SSHException, EOFError, ConnectionError, TimeoutError) as exc:
                self._drop_connection()
                raise Retryable(str(exc) or exc.__class__.__name__) from None
            except OSError as exc:
                if not self._transport_alive():
                    self._drop_connection()
                    raise Retryable(str(exc) or "connection lost") from None
                if writes and sftp is not None and self._mounted_read_only(sftp):
                    # OpenSSH reports EROFS as a bare "Failure"; the mount flags tell.
                    raise ReadOnlyStorage(
                        f"{what} at {self.location} failed: the file system there is mounted "
                        "read-only"
                    ) from None
                raise StorageError(
                    f"{what} at {self.location} failed: {exc.strerror or exc}"
                ) from None

        return self.retrier.call(what, attempt)

    def _mounted_read_only(self, sftp: paramiko.SFTPClient) -> bool:
        """Whether the server says the vault's file system is mounted read-only (False where
        it cannot say: no statvfs@openssh.com, or no vault folder yet)."""
        try:
            kind, reply = sftp._request(CMD_EXTENDED, "statvfs@openssh.com", self.where.path)
            if kind != CMD_EXTENDED_REPLY:
                return False
            fields = [reply.get_int64() for _ in range(STATVFS_FIELDS)]
        except (OSError, paramiko.SSHException, EOFError):
            return False
        return bool(fields[STATVFS_FLAGS] & STATVFS_READ_ONLY)

    def _transport_alive(self) -> bool:
        with self._lock:
            return self._transport is not None and self._transport.is_active()

    # --- paths -------------------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return posixpath.join(self.where.path, check_name(name))

    def _make_folders(self, sftp: paramiko.SFTPClient, folder: str) -> None:
        if folder in self._folders or folder in ("", ".", "/"):
            return
        try:
            mode = sftp.stat(folder).st_mode
        except FileNotFoundError:
            self._make_folders(sftp, posixpath.dirname(folder))
            try:
                sftp.mkdir(folder, 0o700)
            except OSError as refused:
                try:
                    mode = sftp.stat(folder).st_mode  # made by another writer meanwhile
                except FileNotFoundError:
                    raise refused from None
            else:
                mode = stat.S_IFDIR
        if not stat.S_ISDIR(mode or 0):
            raise StorageError(f"{folder} on {self.target.host} is not a folder")
        self._folders.add(folder)

    def _fsync(self, sftp: paramiko.SFTPClient, handle: paramiko.SFTPFile) -> None:
        if not self._fsync_supported:
            return
        try:
            # paramiko has no call for OpenSSH's fsync extension; this is how its own
            # posix_rename sends an extended request.
            sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
        except OSError as exc:
            if self._transport_alive() and "unsupported" in str(exc).lower():
                self._fsync_supported = False  # the server flushes on close, or never
            else:
                raise

    def _rename(self, sftp: paramiko.SFTPClient, temp: str, path: str) -> None:
        if self._posix_rename_supported:
            try:
                sftp.posix_rename(temp, path)
                return
            except OSError as exc:
                if not (self._transport_alive() and "unsupported" in str(exc).lower()):
                    raise
                self._posix_rename_supported = False
        # Plain SFTP rename refuses to replace; only config, key slots and locks are ever
        # replaced, and never while another process reads them.
        with contextlib.suppress(FileNotFoundError):
            sftp.remove(path)
        sftp.rename(temp, path)

    def _walk(
        self, sftp: paramiko.SFTPClient, folder: str, relative: str, temps: bool = False
    ) -> Iterator[tuple[str, paramiko.SFTPAttributes]]:
        try:
            entries = sftp.listdir_attr(folder)
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.filename.startswith(TEMP_PREFIX) and not temps:
                continue
            name = f"{relative}{entry.filename}"
            if stat.S_ISDIR(entry.st_mode or 0):
                yield from self._walk(sftp, f"{folder}/{entry.filename}", f"{name}/", temps)
            elif stat.S_ISREG(entry.st_mode or 0):
                yield name, entry

    # --- the Backend interface ---------------------------------------------------------------

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        path = self._path(name)

        def get(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as handle:
                wanted = length
                if wanted is None:
                    wanted = max(0, (handle.stat().st_size or 0) - offset)
                if wanted == 0:
                    return b""
                return b"".join(handle.readv([(offset, wanted)]))

        data = self._run(f"reading {name}", get)
        if length is not None and len(data) != length:
            raise StorageError(
                f"{self.location}/{name} is shorter than expected ({len(data)} of {length} bytes)"
            )
        return data

    def write(self, name: str, data: bytes | bytearray) -> None:
        path = self._path(name)
        folder = posixpath.dirname(path)

        def put(sftp: paramiko.SFTPClient) -> None:
            self._make_folders(sftp, folder)
            temp = posixpath.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(8)}")
            try:
                with sftp.open(temp, "wb") as handle:
                    handle.set_pipelined(True)
                    handle.chmod(0o600)
                    handle.write(data)
                    handle.flush()
                    self._fsync(sftp, handle)
                self._rename(sftp, temp, path)
            except BaseException:
                if self._transport_alive():
                    with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                        sftp.remove(temp)
                raise  # a temp left by a lost connection goes with remove_stale_temp_files

        self._run(f"writing {name}", put, writes=True)

    def delete(self, name: str) -> None:
        path = self._path(name)
        first_try = True

        def remove(sftp: paramiko.SFTPClient) -> None:
            nonlocal first_try
            try:
                sftp.remove(path)
            except FileNotFoundError:
                if first_try:
                    raise  # else: removed by the try whose answer was lost
            finally:
                first_try = False

        self._run(f"deleting {name}", remove, writes=True)

    def list(self, prefix: str) -> list[str]:
        return sorted(self.list_fingerprints(prefix))

    def list_fingerprints(self, prefix: str) -> dict[str, str]:
        """Names under ``prefix`` with a fingerprint of each file (size and time)."""
        folder = check_prefix(prefix)
        start = posixpath.join(self.where.path, folder.rstrip("/")) if folder else self.where.path

        def listing(sftp: paramiko.SFTPClient) -> dict[str, str]:
            return {
                name: f"{attrs.st_size}:{attrs.st_mtime}"
                for name, attrs in self._walk(sftp, start, folder)
            }

        return self._run(f"listing {folder or '/'}", listing)

    def fingerprint(self, name: str) -> str:
        """The fingerprint ``list_fingerprints`` gives for one file."""
        attrs = self._stat(name)
        return f"{attrs.st_size}:{attrs.st_mtime}"

    def size(self, name: str) -> int:
        return int(self._stat(name).st_size or 0)

    def exists(self, name: str) -> bool:
        try:
            return stat.S_ISREG(self._stat(name).st_mode or 0)
        except FileNotFoundError:
            return False

    def _stat(self, name: str) -> paramiko.SFTPAttributes:
        path = self._path(name)
        return self._run(f"looking up {name}", lambda sftp: sftp.stat(path))

    def remove_stale_temp_files(
        self,
        folders: tuple[str, ...] = ("data", "index", "snapshots"),
        *,
        modified_before: float | None = None,
    ) -> int:
        """Delete temp files that interrupted writes left in ``folders``; returns how many.

        Only safe while no other process writes there (the caller holds the exclusive lock),
        or, with ``modified_before`` (a POSIX time), for temp files no write can still be
        busy with (readers write lock files while a writer holds its lock).
        """

        def clean(sftp: paramiko.SFTPClient) -> int:
            removed = 0
            for folder in folders:
                start = posixpath.join(self.where.path, folder)
                for name, attrs in self._walk(sftp, start, f"{folder}/", temps=True):
                    old = modified_before is None or (attrs.st_mtime or 0) < modified_before
                    if posixpath.basename(name).startswith(TEMP_PREFIX) and old:
                        with contextlib.suppress(FileNotFoundError):
                            sftp.remove(posixpath.join(self.where.path, name))
                        removed += 1
            return removed

        return self._run("removing stale temp files", clean, writes=True)
