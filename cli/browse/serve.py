"""Serving the browse application: a loopback socket, uvicorn, and the browser.

The socket is bound before the address is printed, so the address is right (a free port when
none is asked for) and a browser that connects at once waits in the listen queue. Ctrl-C and
SIGTERM are caught from before the address is printed (``Stopper``), so a signal that comes
while the server is still starting is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import Iterator
from types import FrameType

import uvicorn
from lkvault.vault import UsageError
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


def bind(port: int | None) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port``, else a free one)."""
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {port}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A port browse served on a moment ago (connections in TIME_WAIT) can be served on again;
    # one another process listens on is still refused (Linux checks listeners regardless).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port or 0))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} is already in use; choose another --port") from None
        if exc.errno == errno.EACCES:
            raise UsageError(f"port {port} needs privileges; choose one above 1023") from None
        raise
    sock.listen(128)
    return sock


def open_browser(url: str) -> None:
    """Open the default browser without waiting for it (a console browser would block)."""
    threading.Thread(
        target=webbrowser.open, args=(url,), name="lkvault-browser", daemon=True
    ).start()


class Stopper:
    """Ctrl-C and SIGTERM, as a request to stop the server, from ``install`` on.

    uvicorn's own handling is not used: it is installed only once the server runs, and a
    signal in the moment before went to asyncio's or Python's handler instead (seen as a
    browse that ignored Ctrl-C and kept serving). A second signal stops at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None  # the first signal that asked to stop
        self.server: uvicorn.Server | None = None

    def install(self) -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._stop)

    def _stop(self, number: int, frame: FrameType | None) -> None:
        if self.requested and self.server is not None:
            self.server.force_exit = True
        self.requested = True
        if self.signum is None:
            self.signum = number
        if self.server is not None:
            self.server.should_exit = True


class _Server(uvicorn.Server):
    """uvicorn's server, leaving the signals to the ``Stopper``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run(app: ASGIApp, sock: socket.socket, stopper: Stopper) -> None:
    """Serve until ``stopper`` is asked to stop (at once if it already was)."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # addresses hold search words; they are not logged anywhere
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    stopper.server = server
    server.should_exit = stopper.requested
    # A loop of our own, not asyncio.run: that installs a Ctrl-C handler of its own.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(server.serve(sockets=[sock]))
    finally:
        loop.close()


def exit_now(code: int) -> None:
    """End the process without waiting for the threads still reading the vault.

    They only fill memory (browse writes nothing), but Python waits at exit for the worker
    threads of a read in progress, which kept a stopped browse alive for many seconds.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
