"""A real HTTP server on 127.0.0.1 that records webhook requests, for tests.

Usage::

    with Receiver(secret="s3cret") as rx:          # listens on a random free port
        url = rx.url("/hook?access_token=abc")     # absolute URL for a channel's config
        ...send something...
        req = rx.requests[0]                       # Recorded: method, path, query, headers, body
        assert rx.verify_json_signature(req)

Behaviour can be changed at any time, also while a client is waiting:

- ``rx.reply(status, body, headers)`` sets the default answer (200 ``ok`` to start with);
- ``rx.queue(status, body, headers)`` answers the next request(s) that way, in order,
  before falling back to the default (e.g. ``rx.queue(429, headers={"Retry-After": "7"})``);
- ``rx.hang(seconds)`` makes every request wait that long before answering (past a
  client's timeout); ``rx.hang(0)`` stops it;
- ``rx.waf(b"UNION SELECT")`` answers 403 to every request whose body contains that
  text, before any other rule, as a web application firewall in front of a receiver
  does; ``rx.waf(None)`` stops it;
- ``rx.refuse()`` closes the listening socket (connections are refused) and
  ``rx.recover()`` listens again on the same port.

The verify helpers check the signing schemes against ``secret``: the JSON webhook's
``X-Watcher-Signature`` header and its replay-proof ``X-Watcher-Timestamp`` +
``X-Watcher-Signature-V2``, Feishu's ``timestamp``/``sign`` body fields, and DingTalk's
``timestamp``/``sign`` query parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    """One programmed answer."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One received request. ``headers`` keys are lower-case; ``query`` values are lists
    (as ``urllib.parse.parse_qs`` gives them); ``at`` is ``time.monotonic()`` on arrival."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0
    """The status it was answered with."""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn): slow, not needed.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = host if isinstance(host, str) else bytes(host).decode()


class Receiver:
    """A recording HTTP server on ``127.0.0.1`` (see the module docstring)."""

    def __init__(self, secret: str = "", *, reply: Reply | None = None) -> None:
        self.secret = secret
        self.requests: list[Recorded] = []
        self._default = reply or Reply()
        self._queue: deque[Reply] = deque()
        self._hang = 0.0
        self._waf: tuple[bytes, Reply] | None = None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Receiver:
        """Start listening (on a random free port the first time, the same port after)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with receiver._lock:
                    waf = receiver._waf
                    if waf is not None and waf[0] in body:
                        answer = waf[1]
                    elif receiver._queue:
                        answer = receiver._queue.popleft()
                    else:
                        answer = receiver._default
                    receiver.requests.append(
                        Recorded(
                            method=self.command,
                            path=parts.path,
                            query=parse_qs(parts.query, keep_blank_values=True),
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            at=time.monotonic(),
                            status=answer.status,
                        )
                    )
                    delay = receiver._hang
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(answer.status)
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            do_POST = do_GET = do_PUT = _handle

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; recorded requests are kept."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def refuse(self) -> None:
        """Close the listening socket: new connections are refused until :meth:`recover`."""
        self.stop()

    def recover(self) -> None:
        """Listen again on the same port, with no hang."""
        self._hang = 0.0
        if self._server is None:
            self.start()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour -------------------------------------------------------------------

    def url(self, path: str = "/hook") -> str:
        """The absolute URL of ``path`` (may include a query) on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(
        self,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"ok",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Set the default answer; a dict body is sent as JSON."""
        self._default = _reply(status, body, headers)

    def queue(
        self,
        status: int,
        body: bytes | str | dict[str, Any] = b"",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests this way, then fall back to the default."""
        with self._lock:
            self._queue.extend([_reply(status, body, headers)] * times)

    def hang(self, seconds: float) -> None:
        """Make each request wait ``seconds`` before its answer (0 to stop)."""
        self._hang = seconds

    def waf(
        self, needle: bytes | str | None, status: int = 403, body: bytes | str = b"Forbidden"
    ) -> None:
        """Answer ``status`` to every request whose body contains ``needle`` (None: stop)."""
        if needle is None:
            self._waf = None
            return
        raw = needle.encode() if isinstance(needle, str) else needle
        self._waf = (raw, _reply(status, body, None))

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    # -- signatures ------------------------------------------------------------------

    def verify_json_signature(self, request: Recorded, secret: str | None = None) -> bool:
        """``X-Watcher-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`` is right."""
        key = (secret if secret is not None else self.secret).encode()
        expected = "sha256=" + hmac.new(key, request.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(request.headers.get("x-watcher-signature", ""), expected)

    def verify_json_signature_v2(
        self, request: Recorded, secret: str | None = None, max_skew: float = 300
    ) -> bool:
        """``X-Watcher-Timestamp`` is within ``max_skew`` seconds of now and
        ``X-Watcher-Signature-V2: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
        is right: what a receiver checks to refuse a replayed request."""
        key = (secret if secret is not None else self.secret).encode()
        ts = request.headers.get("x-watcher-timestamp", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > max_skew:
            return False
        signed = ts.encode() + b"." + request.body
        expected = "sha256=" + hmac.new(key, signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(request.headers.get("x-watcher-signature-v2", ""), expected)

    def verify_feishu(
        self, request: Recorded, secret: str | None = None, max_skew: float = 3600
    ) -> bool:
        """Body ``timestamp`` (s, within ``max_skew`` of now) and ``sign`` =
        base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
        secret = secret if secret is not None else self.secret
        data = request.json()
        ts, sign = str(data.get("timestamp", "")), str(data.get("sign", ""))
        if not ts.isdigit() or abs(time.time() - int(ts)) > max_skew:
            return False
        mac = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
        return hmac.compare_digest(sign, base64.b64encode(mac).decode())

    def verify_dingtalk(
        self, request: Recorded, secret: str | None = None, max_skew: float = 3600
    ) -> bool:
        """Query ``timestamp`` (ms, within ``max_skew`` s of now) and ``sign`` =
        base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-decoded."""
        secret = secret if secret is not None else self.secret
        ts = (request.query.get("timestamp") or [""])[0]
        sign = (request.query.get("sign") or [""])[0]
        if not ts.isdigit() or abs(time.time() - int(ts) / 1000) > max_skew:
            return False
        mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(sign, base64.b64encode(mac).decode())


def _reply(
    status: int, body: bytes | str | dict[str, Any], headers: dict[str, str] | None
) -> Reply:
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Reply(status, body, headers)
