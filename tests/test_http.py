"""The shared HTTP client against a real server on loopback: size caps (also after
every content coding, stacked ones too), one deadline per request and a budget for its
retries, a minimum transfer rate, separate image slots, clean cancellation, retries with
Retry-After, robots.txt, schemes, redirects, 304s."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from watcher.demo.faults import stacked_gzip
from watcher.errors import BadResponseError, BlockedError, TooLargeError, TransportError
from watcher.http import Http, HttpSettings, Response, alert_client

BOMB = gzip.compress(b"\0" * (30 * 1024 * 1024))
STACKED = stacked_gzip(1024 * 1024, 256)  # 256 MiB inside two gzip layers, ~1 KB sent
PAGE = ("<p>hello 你好</p>" * 500).encode()
DRIP_BYTES = 40
DRIP_EVERY = 0.2  # 5 bytes/s: 8 s for the whole body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: ClassVar[dict[str, int]] = {}
    dripping: ClassVar[int] = 0
    drip_ended: ClassVar[threading.Event] = threading.Event()

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
        elif path.startswith("/drip"):
            self._drip()
        elif path == "/stacked":
            self._send(200, STACKED, {"Content-Encoding": "gzip, gzip"})
        elif path == "/gzip-deflate":
            body = zlib.compress(gzip.compress(PAGE))
            self._send(200, body, {"Content-Encoding": "gzip, deflate"})
        elif path == "/raw-deflate":
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            self._send(200, comp.compress(PAGE) + comp.flush(), {"Content-Encoding": "deflate"})
        elif path == "/two-members":
            half = len(PAGE) // 2
            body = gzip.compress(PAGE[:half]) + gzip.compress(PAGE[half:])
            self._send(200, body, {"Content-Encoding": "x-gzip"})
        elif path == "/brotli":
            self._send(200, b"\x0b\x02\x80hello\x03", {"Content-Encoding": "br"})
        elif path == "/quad":
            self._send(200, b"x", {"Content-Encoding": "gzip, gzip, gzip, gzip"})
        elif path == "/hang":
            time.sleep(0.8)
            self._send(503, b"busy")
        else:
            self._send(404, b"nope")

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(DRIP_BYTES))
        self.end_headers()
        Handler.dripping += 1
        try:
            self.wfile.flush()
            for _ in range(DRIP_BYTES):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(DRIP_EVERY)
        except OSError:
            pass
        finally:
            Handler.dripping -= 1
            Handler.drip_ended.set()


@pytest.fixture
def server() -> Iterator[str]:
    Handler.hits = {}
    Handler.dripping = 0
    Handler.drip_ended = threading.Event()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _http(server: str, **kw: object) -> Http:
    settings = {"backoff": 0.05, "timeout": 5, **kw}
    return Http(HttpSettings(**settings), trusted=[server])  # type: ignore[arg-type]


async def test_retries_5xx_then_succeeds(server: str) -> None:
    async with _http(server) as http:
        data, _ = await http.get_json(f"{server}/flaky")
    assert data == {"ok": True} and Handler.hits["/flaky"] == 3


async def test_429_honours_retry_after(server: str) -> None:
    async with _http(server) as http:
        start = time.monotonic()
        resp = await http.get(f"{server}/limited")
    assert resp.content == b"fine" and time.monotonic() - start >= 0.5


async def test_size_cap_plain_and_after_decompression(server: str) -> None:
    async with _http(server, max_bytes=1_000_000) as http:
        with pytest.raises(TooLargeError):
            await http.get(f"{server}/big")
        with pytest.raises(TooLargeError):
            await http.get(f"{server}/bomb")


async def test_schemes_and_redirects(server: str) -> None:
    async with _http(server) as http:
        for url in ("file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)"):
            with pytest.raises(BlockedError):
                await http.get(url)
        with pytest.raises(BlockedError):
            await http.get(f"{server}/to-file")
        with pytest.raises(BadResponseError):
            await http.get(f"{server}/loop-a")


async def test_robots_txt(server: str) -> None:
    async with _http(server) as http:
        with pytest.raises(BlockedError):
            await http.get(f"{server}/private/x", robots=True)
        with pytest.raises(BlockedError):
            await http.get(f"{server}/collections/all?sort_by=best-selling", robots=True)
        with pytest.raises(BadResponseError):  # allowed, but 404
            await http.get(f"{server}/public", robots=True)
        await http.get(f"{server}/etag", robots=True)
    assert Handler.hits["/robots.txt"] == 1, "robots.txt is cached per host"


async def test_conditional_requests(server: str) -> None:
    async with _http(server) as http:
        first = await http.get(f"{server}/etag", conditional=True)
        second = await http.get(f"{server}/etag", conditional=True)
    assert first.content == second.content == b"payload-v1"
    assert second.from_cache and not first.from_cache


async def test_json_errors_and_refused_connections(server: str) -> None:
    async with _http(server, retries=1) as http:
        with pytest.raises(BadResponseError, match="expected JSON"):
            await http.get_json(f"{server}/html-not-json")
        http.trust("http://127.0.0.1:9/")
        with pytest.raises(TransportError):
            await http.get("http://127.0.0.1:9/")


def test_a_broken_json_body_is_called_invalid_json() -> None:
    """A JSON answer cut short is not "expected JSON, got application/json": the note
    says the JSON is invalid and where it broke."""
    response = Response(
        url="https://s.example/products.json",
        status=200,
        headers=httpx.Headers({"content-type": "application/json; charset=utf-8"}),
        content=b'[{"id":1201,"name":"\xe6\xb3\x95\xe5\xbc\x8f","slug":"squ',
    )
    with pytest.raises(BadResponseError) as info:
        response.json()
    text = str(info.value)
    assert "invalid JSON" in text and "expected JSON" not in text, text
    assert "line 1 column 32" in text, "says where it broke"


async def test_stacked_gzip_is_capped_while_decoding(server: str) -> None:
    """``Content-Encoding: gzip, gzip``: 256 MiB behind ~1 KB. Each layer is inflated a step
    at a time, so the cap stops it with a few MB allocated, not 256 MB."""
    assert len(STACKED) < 4096
    tracemalloc.start()
    try:
        async with _http(server, max_bytes=1_000_000) as http:
            with pytest.raises(TooLargeError, match="once decoded"):
                await http.get(f"{server}/stacked")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB allocated"


async def test_content_codings_decode_correctly(server: str) -> None:
    async with _http(server) as http:
        for path in ("/gzip-deflate", "/raw-deflate", "/two-members"):
            assert (await http.get(f"{server}{path}")).content == PAGE, path
        with pytest.raises(BadResponseError, match="unsupported content coding 'br'"):
            await http.get(f"{server}/brotli")
        with pytest.raises(BadResponseError, match="stacked content codings"):
            await http.get(f"{server}/quad")


async def test_one_deadline_covers_the_whole_body(server: str) -> None:
    """A body dripping 5 bytes a second never trips a per-read timeout; the request's one
    deadline ends it, and the retry budget (3 x timeout) bounds all attempts."""
    async with _http(server, timeout=1.0, retries=5, min_rate=0) as http:
        start = time.monotonic()
        with pytest.raises(TransportError, match=r"within 1 s|budget of 3 s"):
            await asyncio.wait_for(http.get(f"{server}/drip"), 20)
        elapsed = time.monotonic() - start
    assert elapsed < 4.0, elapsed
    assert 1 <= Handler.hits["/drip"] <= 3


async def test_retry_budget_bounds_all_attempts(server: str) -> None:
    """Ten retries of a 0.8 s failure would take over 9 s; the budget stops them at ~2 s."""
    async with _http(server, timeout=5.0, budget=2.0, retries=10, backoff=0.01) as http:
        start = time.monotonic()
        with pytest.raises((BadResponseError, TransportError), match=r"HTTP 503|budget"):
            await asyncio.wait_for(http.get(f"{server}/hang"), 20)
        elapsed = time.monotonic() - start
    assert elapsed < 3.5, elapsed
    assert Handler.hits["/hang"] <= 3


async def test_minimum_transfer_rate(server: str) -> None:
    async with _http(server, timeout=30, retries=0, min_rate=1000, rate_grace=0.5) as http:
        start = time.monotonic()
        with pytest.raises(TransportError, match="bytes/s"):
            await asyncio.wait_for(http.get(f"{server}/drip"), 20)
    assert time.monotonic() - start < 2.0


async def test_images_have_their_own_slots(server: str) -> None:
    """Eight dripping photos on a client with two page slots: a page still gets through
    at once, and the photos give up at the image deadline."""
    settings = {"concurrency": 2, "image_concurrency": 8, "image_per_host": 8}
    async with _http(server, image_timeout=1.5, min_rate=0, **settings) as http:
        photos = [asyncio.create_task(http.get_image(f"{server}/drip/{i}.jpg")) for i in range(8)]
        await asyncio.sleep(0.3)
        start = time.monotonic()
        page = await asyncio.wait_for(http.get(f"{server}/etag"), 20)
        assert page.content == b"payload-v1"
        assert time.monotonic() - start < 1.0
        results = await asyncio.wait_for(asyncio.gather(*photos, return_exceptions=True), 20)
    assert all(isinstance(r, TransportError) for r in results), results


async def test_cancelled_request_leaves_no_connection(server: str) -> None:
    """Cancelling a request mid-body (a daemon stopping) closes its connection: the pool
    holds nothing afterwards and the server sees the client go."""
    async with _http(server, min_rate=0) as http:
        task = asyncio.create_task(http.get(f"{server}/drip"))
        for _ in range(50):
            await asyncio.sleep(0.05)
            if Handler.dripping:
                break
        assert http.open_connections() == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert http.open_connections() == 0
        assert await asyncio.to_thread(Handler.drip_ended.wait, 5)


async def test_alert_client_caps_replies_and_has_one_deadline(server: str) -> None:
    """The alert side reads receivers' replies too: stacked gzip is cut at the reply cap
    (no 256 MB), and a dripping reply ends at the request's timeout."""
    tracemalloc.start()
    try:
        async with alert_client(5.0, "watcher-test") as client:
            reply = await client.get(f"{server}/stacked")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reply.status_code == 200 and len(reply.content) == 64 * 1024
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB allocated"
    async with alert_client(1.0, "watcher-test") as client:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await asyncio.wait_for(client.get(f"{server}/drip"), 20)
        assert time.monotonic() - start < 2.5
        assert (await client.get(f"{server}/gzip-deflate")).content == PAGE


def test_strip_controls_matches_unicode_categories() -> None:
    import unicodedata

    from watcher.text.clean import strip_controls

    for cp in range(0x30000):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in "\n\t":
            assert strip_controls(f"a{ch}b") == "ab", hex(cp)
    assert strip_controls("line\nnext\tcol 中文 emoji 😀") == "line\nnext\tcol 中文 emoji 😀"


async def test_one_connection_pool_per_origin(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each origin has its own small pool (httpcore scans every connection of a pool on
    each request and release: one pool for a hundred shops cost a third of a check's CPU),
    connections are kept alive per origin, and past ``ORIGIN_POOLS`` origins the idle
    pools are closed rather than piling up."""
    import watcher.http as http_module

    servers = []
    for _ in range(3):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    origins = [server] + [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    try:
        async with Http(HttpSettings(timeout=5), trusted=origins[:3]) as http:
            for _ in range(2):
                for origin in origins[:3]:
                    assert (await http.get(f"{origin}/etag")).content == b"payload-v1"
            assert http._guard is not None
            pools = http._guard._open._pools
            assert len(pools) == 3
            assert [p.open_connections() for p in pools.values()] == [1, 1, 1]
            monkeypatch.setattr(http_module, "ORIGIN_POOLS", 3)
            http.trust(origins[3])
            await http.get(f"{origins[3]}/etag")
            assert len(http._guard._open._pools) == 1
            assert http.open_connections() == 1
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()
