"""Who may see the dashboard and send its forms.

* Without ``[serve] password`` the dashboard only listens on loopback (checked before it
  starts) and only answers requests addressed to a loopback name, so a web page cannot
  reach it through DNS rebinding.
* With a password: a login form; a signed, HttpOnly, SameSite=Strict session cookie
  (Secure when ``public_url`` is https); failed logins limited per client and overall;
  the password compared in constant time.
* Every POST carries the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "SESSION_COOKIE",
    "AuthGate",
    "FormError",
    "LoginLimiter",
    "LoopbackHostOnly",
    "SecurityHeaders",
    "check_csrf",
    "csrf_token",
    "host_of",
    "password_matches",
    "read_form",
    "safe_next",
]

SESSION_COOKIE = "watcher_session"
SESSION_MAX_AGE = 7 * 86400
FORM_MAX_BYTES = 16 * 1024
CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
OPEN_PATHS = ("/login", "/healthz", "/static/", "/favicon.ico")
"""Reachable without logging in (``/healthz`` tells only whether checks run)."""


class SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Cross-Origin-Resource-Policy"] = "same-origin"
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (of digests, so the length leaks nothing either)."""
    a = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(expected.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b) and bool(expected)


@dataclass
class LoginLimiter:
    """Failed logins allowed per client and overall within ``window`` seconds. Once a
    limit is reached, logins wait (even with the right password) until the oldest
    failure leaves the window: guessing stays slow even from many addresses."""

    per_client: int = 5
    overall: int = 30
    window: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _clients: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)

    def _trim(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - self.window:
            q.popleft()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        now = self.clock()
        self._trim(self._all, now)
        q = self._clients.get(client, deque())
        self._trim(q, now)
        if not q and client in self._clients:
            del self._clients[client]
        wait = 0.0
        if len(q) >= self.per_client:
            wait = q[0] + self.window - now
        if len(self._all) >= self.overall:
            wait = max(wait, self._all[0] + self.window - now)
        return max(wait, 0.0)

    def failed(self, client: str) -> None:
        """Count one failed login."""
        now = self.clock()
        self._clients.setdefault(client, deque()).append(now)
        self._all.append(now)
        if len(self._clients) > 10_000:  # bound memory under a spray of addresses
            oldest = min(self._clients, key=lambda c: self._clients[c][-1])
            del self._clients[oldest]

    def succeeded(self, client: str) -> None:
        """Forget the client's failures."""
        self._clients.pop(client, None)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, form: dict[str, str]) -> bool:
    """Whether the form carries the session's CSRF token."""
    expected = request.session.get("csrf")
    given = form.get("csrf", "")
    return (
        isinstance(expected, str)
        and len(expected) >= 32
        and hmac.compare_digest(given.encode(), expected.encode())
    )


class FormError(Exception):
    """A form body that is too large or not URL-encoded."""


async def read_form(request: Request, limit: int = FORM_MAX_BYTES) -> dict[str, str]:
    """The URL-encoded body of a POST (first value of each field), at most ``limit`` bytes."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise FormError("expected a form")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise FormError("form too large")
    form: dict[str, str] = {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise FormError("malformed form") from None
    for k, v in pairs:
        form.setdefault(k, v)
    return form


def safe_next(value: str | None) -> str:
    """A local path to go to after logging in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 32 for c in value):
        return "/"
    return value


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_of(header: str) -> str:
    """The host name of a Host header, without port or IPv6 brackets, lower-case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class LoopbackHostOnly:
    """Answer only requests addressed to a loopback name: a page on another site cannot
    reach a password-less dashboard by pointing its own name at 127.0.0.1."""

    def __init__(self, app: ASGIApp, *, extra: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.allowed = LOOPBACK_HOSTS | extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 421 to a request for another host name."""
        if scope["type"] == "http":
            host = ""
            for k, v in scope["headers"]:
                if k == b"host":
                    host = host_of(v.decode("latin-1"))
                    break
            if host not in self.allowed:
                await _respond(send, 421, b"unknown host", "text/plain")
                return
        await self.app(scope, receive, send)


class AuthGate:
    """With a password set, every path but :data:`OPEN_PATHS` needs a logged-in session:
    pages redirect to ``/login``, ``/api/`` answers 401.

    SameSite=Strict cookies are not sent when a person arrives from another site (a link
    in a chat alert), so such a first request gets a page that reloads itself: the reload
    is same-site and carries the cookie."""

    def __init__(self, app: ASGIApp, *, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let a logged-in session (or an open path) through; send the rest to log in."""
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        session: dict[str, Any] = scope.get("session", {})
        if session.get("user") or any(
            path == p or (p.endswith("/") and path.startswith(p)) for p in OPEN_PATHS
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if path.startswith("/api/"):
            await _respond(send, 401, b'{"error": "log in first"}', "application/json")
            return
        target = path + (
            f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else ""
        )
        if request.method == "GET" and request.headers.get("sec-fetch-site") == "cross-site":
            body = (
                b'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0">'
                b"<title>watcher</title>"
            )
            await _respond(send, 200, body, "text/html; charset=utf-8")
            return
        location = "/login?next=" + quote(safe_next(target), safe="/")
        await _respond(send, 303, b"", "text/plain", [(b"location", location.encode())])


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
