"""The shared HTTP client against a real server on loopback: size caps (also after
decompression), retries with Retry-After, robots.txt, schemes, redirects, 304s."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from watcher.errors import BadResponseError, BlockedError, TooLargeError, TransportError
from watcher.http import Http, HttpSettings, retry_after_seconds

BOMB = gzip.compress(b"\0" * (30 * 1024 * 1024))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        Handler.hits[path] = Handler.hits.get(path, 0) + 1
        n = Handler.hits[path]
        if path == "/robots.txt":
            self._send(
                200,
                b"User-agent: *\nDisallow: /private\nDisallow: /collections/*sort_by*\n",
                {"Content-Type": "text/plain"},
            )
        elif path == "/flaky":
            if n < 3:
                self._send(503, b"busy")
            else:
                self._send(200, b'{"ok": true}', {"Content-Type": "application/json"})
        elif path == "/limited":
            if n == 1:
                self._send(429, b"slow down", {"Retry-After": "1"})
            else:
                self._send(200, b"fine")
        elif path == "/big":
            self._send(200, b"x" * 3_000_000)
        elif path == "/bomb":
            self._send(200, BOMB, {"Content-Encoding": "gzip"})
        elif path == "/loop-a":
            self._send(302, b"", {"Location": "/loop-b"})
        elif path == "/loop-b":
            self._send(302, b"", {"Location": "/loop-a"})
        elif path == "/to-file":
            self._send(302, b"", {"Location": "file:///etc/passwd"})
        elif path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self._send(304, b"", {"ETag": '"v1"'})
            else:
                self._send(200, b"payload-v1", {"ETag": '"v1"'})
        elif path == "/html-not-json":
            self._send(200, b"<html>Verify you are human</html>", {"Content-Type": "text/html"})
        else:
            self._send(404, b"nope")


@pytest.fixture
def server() -> Iterator[str]:
    Handler.hits = {}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _http(**kw: object) -> Http:
    return Http(HttpSettings(backoff=0.05, timeout=5, **kw))  # type: ignore[arg-type]


async def test_retries_5xx_then_succeeds(server: str) -> None:
    async with _http() as http:
        data, _ = await http.get_json(f"{server}/flaky")
    assert data == {"ok": True} and Handler.hits["/flaky"] == 3


async def test_429_honours_retry_after(server: str) -> None:
    async with _http() as http:
        start = time.monotonic()
        resp = await http.get(f"{server}/limited")
    assert resp.content == b"fine" and time.monotonic() - start >= 0.5


async def test_size_cap_plain_and_after_decompression(server: str) -> None:
    async with _http(max_bytes=1_000_000) as http:
        with pytest.raises(TooLargeError):
            await http.get(f"{server}/big")
        with pytest.raises(TooLargeError):
            await http.get(f"{server}/bomb")


async def test_schemes_and_redirects(server: str) -> None:
    async with _http() as http:
        for url in ("file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)"):
            with pytest.raises(BlockedError):
                await http.get(url)
        with pytest.raises(BlockedError):
            await http.get(f"{server}/to-file")
        with pytest.raises(BadResponseError):
            await http.get(f"{server}/loop-a")


async def test_robots_txt(server: str) -> None:
    async with _http() as http:
        with pytest.raises(BlockedError):
            await http.get(f"{server}/private/x", robots=True)
        with pytest.raises(BlockedError):
            await http.get(f"{server}/collections/all?sort_by=best-selling", robots=True)
        with pytest.raises(BadResponseError):  # allowed, but 404
            await http.get(f"{server}/public", robots=True)
        await http.get(f"{server}/etag", robots=True)
    assert Handler.hits["/robots.txt"] == 1, "robots.txt is cached per host"


async def test_conditional_requests(server: str) -> None:
    async with _http() as http:
        first = await http.get(f"{server}/etag", conditional=True)
        second = await http.get(f"{server}/etag", conditional=True)
    assert first.content == second.content == b"payload-v1"
    assert second.from_cache and not first.from_cache


async def test_json_errors_and_refused_connections(server: str) -> None:
    async with _http(retries=1) as http:
        with pytest.raises(BadResponseError, match="expected JSON"):
            await http.get_json(f"{server}/html-not-json")
        with pytest.raises(TransportError):
            await http.get("http://127.0.0.1:9/")


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None
    assert 0 <= (retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") or 0) < 1


def test_strip_controls_matches_unicode_categories() -> None:
    import unicodedata

    from watcher.text.clean import strip_controls

    for cp in range(0x30000):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in "\n\t":
            assert strip_controls(f"a{ch}b") == "ab", hex(cp)
    assert strip_controls("line\nnext\tcol 中文 emoji 😀") == "line\nnext\tcol 中文 emoji 😀"
