"""Serving the browse application: a loopback socket, uvicorn, and the browser.

The socket is bound before the address is printed, so the address is right (a free port when
none is asked for) and a browser that connects at once waits in the listen queue.
"""

from __future__ import annotations

import errno
import socket
import threading
import webbrowser

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


def run(app: ASGIApp, sock: socket.socket) -> None:
    """Serve until Ctrl-C or SIGTERM; uvicorn then re-raises the signal (KeyboardInterrupt)."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # addresses hold search words; they are not logged anywhere
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[sock])
