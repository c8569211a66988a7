"""The browse server's gate: loopback Host only, a one-time token then a session cookie scoped
to a secret path, and security headers on every response.

An ASGI middleware, so it guards static files, downloads and errors alike. The token in the
printed address is accepted once and exchanged for an HttpOnly, SameSite=Strict cookie, then
the browser is sent to the application without it (so it stays out of history). A Host
header naming anything but this server's loopback address is refused: that is what a DNS
rebinding page would send.

Browsers do not scope cookies by port: a cookie set by 127.0.0.1:8000 is also sent to any
other server on 127.0.0.1, such as one another local user runs. So the application lives
under a secret path chosen for this run (``/<scope>/...``) and the cookie carries
``Path=/<scope>``: a browser sends it only to addresses under that path, which a server on
another port cannot know (it cannot read this server's pages, and no page sends a Referer).
A request needs both the path and the cookie; a cookie of another run or port is refused.
A ``__Host-`` cookie would need ``Secure`` (HTTPS) and ``Path=/``, so it cannot be used here.
"""

from __future__ import annotations

import hmac
import threading
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_PARAMETER = "token"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
NO_TOKEN = (
    "Forbidden: open the address that 'lkvault browse' printed. Its token works once; "
    "for another browser, start 'lkvault browse' again.\n"
)
BAD_HOST = "Forbidden: this server answers only to its own loopback address.\n"


class Guard:
    """Wraps the application; see the module docstring."""

    def __init__(self, app: ASGIApp, *, port: int, token: str, session: str, scope: str) -> None:
        self.app = app
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.cookie = f"lkvault-{port}"
        self.base = f"/{scope}"  # where the application is served; see the module docstring
        self._token: str | None = token
        self._session = session
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        headers = Headers(scope=scope)
        if headers.get("host", "").lower() not in self.hosts:
            await _refuse(send_with_headers, BAD_HOST)
            return
        path = scope.get("path", "/")
        if path == self.base or path.startswith(self.base + "/"):
            if not self._has_session(headers):
                await _refuse(send_with_headers, NO_TOKEN)
                return
            inner = {**scope, "root_path": scope.get("root_path", "") + self.base}
            await self.app(inner, receive, send_with_headers)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        offered = next((value for name, value in query if name == TOKEN_PARAMETER), None)
        if offered is None or not self._take_token(offered):
            await _refuse(send_with_headers, NO_TOKEN)
            return
        rest = urlencode([(name, value) for name, value in query if name != TOKEN_PARAMETER])
        location = self.base + path + (f"?{rest}" if rest else "")
        cookie = f"{self.cookie}={self._session}; Path={self.base}; HttpOnly; SameSite=Strict"
        await send_with_headers(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1", "replace")),
                    (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send_with_headers({"type": "http.response.body", "body": b""})

    def _has_session(self, headers: Headers) -> bool:
        jar = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is just no session
            return False
        morsel = jar.get(self.cookie)
        return morsel is not None and hmac.compare_digest(
            morsel.value.encode(), self._session.encode()
        )

    def _take_token(self, offered: str) -> bool:
        """True once: the first time the right token is offered."""
        with self._lock:
            if self._token is None or not hmac.compare_digest(
                offered.encode(), self._token.encode()
            ):
                return False
            self._token = None
            return True


async def _refuse(send: Send, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
