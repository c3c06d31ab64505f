"""The sample marketplace: every shop on its own 127.0.0.1 port, served from threads.

One acceptor thread watches every listening socket (so 100+ shops cost one thread, not
100 polling loops); each connection gets a daemon thread speaking HTTP/1.1 keep-alive.
``stop()`` closes listeners, wakes idle keep-alive connections and joins the threads.
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import hashlib
import json
import selectors
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from watcher.demo import faults, render
from watcher.demo.catalog import (
    TZ,
    ImageSeeds,
    ShopData,
    default_world,
    scale_price_changes,
    scale_world,
)
from watcher.demo.timeline import STEPS, World, apply_step, later

_COMPRESSIBLE = (render.JSON, render.HTML)

SELECTORS: dict[str, dict[str, str]] = {
    "html": {
        "item": ".product-card",
        "link": "a.product-link",
        "title": ".product-title",
        "price": ".price",
        "image": "img",
        "next_page": "a.next",
    },
    "marketplace": {
        "item": ".result",
        "link": "a",
        "title": ".title",
        "price": ".price",
        "image": "img",
        "shop": ".seller",
    },
}


@dataclass
class DemoShop:
    """One shop of the marketplace as the watcher's config sees it."""

    name: str
    role: str  # own | competitor | marketplace
    kind: str  # shopify | woocommerce | html
    currency: str
    data: ShopData = field(repr=False)
    selectors: dict[str, str] = field(default_factory=dict)
    port: int = 0

    @property
    def base(self) -> str:
        """The shop's root URL with a trailing slash ("" before ``start()``)."""
        return f"http://127.0.0.1:{self.port}/" if self.port else ""

    @property
    def url(self) -> str:
        """What goes in the config's ``url``: the root, or the catalogue page of an HTML shop."""
        if not self.port:
            return ""
        return (
            self.base + "shop/" if self.kind == "html" and self.role != "marketplace" else self.base
        )

    @property
    def search_url(self) -> str:
        """A search URL template with ``{query}`` ("" for the own shop)."""
        if not self.port or self.role == "own":
            return ""
        if self.kind == "shopify":
            return (
                self.base
                + "search/suggest.json?q={query}&resources[type]=product&resources[limit]=10"
            )
        if self.kind == "woocommerce":
            return self.base + "wp-json/wc/store/v1/products?search={query}"
        return self.base + "search?q={query}"

    @property
    def top_url(self) -> str:
        """The best-sellers page of an HTML shop ("" otherwise)."""
        return (
            self.base + "best/"
            if self.port and self.kind == "html" and self.role != "marketplace"
            else ""
        )


class _Server(ThreadingHTTPServer):
    """One shop's HTTP server; connections are tracked so ``stop()`` can end them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, market: Marketplace, shop: DemoShop) -> None:
        self.market = market
        self.shop = shop
        self.conns: dict[threading.Thread, socket.socket] = {}
        self.conn_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a tracked daemon thread."""
        t = threading.Thread(
            target=self._serve,
            args=(request, client_address),
            daemon=True,
            name=f"demo-{self.shop.port}",
        )
        with self.conn_lock:
            self.conns[t] = request
        t.start()

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.conn_lock:
                self.conns.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer are normal here (faults, size caps): stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 30  # idle keep-alive connections end after this
    wbufsize = 64 * 1024  # headers and small bodies in one send; flushed after each response
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_HEAD(self) -> None:
        """Headers only."""
        self._answer(head=True)

    def do_GET(self) -> None:
        """Route, apply faults, serve."""
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        market, shop = self.server.market, self.server.shop
        market._count(shop.name)
        market._enter(shop.name)
        try:
            delay = market.delays.get(shop.name, 0.0)
            if delay and market._stopping.wait(delay):
                return None
            return self._respond(head)
        finally:
            market._leave(shop.name)

    def _respond(self, head: bool) -> None:
        market, shop = self.server.market, self.server.shop
        parts = urlsplit(self.path)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.path in ("/__loop/a", "/__loop/b"):
            return self._redirect("/__loop/b" if parts.path == "/__loop/a" else "/__loop/a")
        mode = market._faults.take(shop.name, target)
        req = render.Request(
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            shop.base,
            empty=mode == "empty_catalog",
        )
        if mode == "refuse":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if mode == "500":
            return self._send(500, b"<h1>500 Internal Server Error</h1>", render.HTML)
        if mode in faults.GONE_FAULTS:
            return self._send(
                int(mode), b"<h1>This product is no longer available</h1>", render.HTML
            )
        if mode == "429":
            return self._send(
                429, b'{"errors":"Too Many Requests"}', render.JSON, {"Retry-After": "1"}
            )
        if mode == "captcha":
            return self._send(
                200,
                faults.CAPTCHA_PAGE.encode(),
                render.HTML,
                {"Cache-Control": "no-store"},
                head=head,
            )
        if mode == "redirect_loop":
            return self._redirect("/__loop/a")
        if mode == "bad_image":
            return self._send(
                200, b"<html><body>Image not available</body></html>", render.JPEG, head=head
            )
        if mode == "timeout" and market._stopping.wait(faults.TIMEOUT_SECONDS):
            self.close_connection = True
            return None
        if mode in ("huge", "gzip_bomb", "gzip_stack"):
            return self._stream(mode, parts.path, head)
        if mode == "huge_images":
            return self._send(200, faults.huge_png(), "image/png", head=head)
        if mode == "huge_dom":
            return self._send(200, faults.huge_dom(), render.HTML, head=head)
        if mode == "ssrf" and parts.path.startswith("/cdn/"):
            return self._redirect(f"http://{market.ssrf_target}{parts.path}")
        page = market._page(shop, req)
        if mode == "drip":
            return self._drip(page, head)
        if mode in faults.REWRITES:
            body = faults.rewrite(mode, page.body, market.requests[shop.name], market.ssrf_target)
            page = render.Page(page.status, body, page.content_type, dict(page.headers))
        if mode == "garbage":
            body = faults.garbage(max(len(page.body), 4096), market.requests[shop.name])
            return self._send(200, body, page.content_type, head=head)
        if mode == "truncated_json" and page.content_type == render.JSON:
            return self._send(
                page.status,
                page.body[: len(page.body) // 2],
                page.content_type,
                page.headers,
                head=head,
            )
        return self._serve_page(page, head)

    def _serve_page(self, page: render.Page, head: bool) -> None:
        headers = dict(page.headers)
        if page.conditional and page.status == 200:
            headers["ETag"] = page.etag
            if page.last_modified:
                headers["Last-Modified"] = format_datetime(
                    page.last_modified.astimezone(UTC), usegmt=True
                )
            if self._not_modified(page):
                self.send_response(304)
                for k, v in headers.items():
                    if k in ("ETag", "Last-Modified", "Cache-Control"):
                        self.send_header(k, v)
                self.end_headers()
                return
        body = page.body
        if page.content_type in _COMPRESSIBLE:
            headers["Vary"] = "Accept-Encoding"
            if len(body) > 1024 and "gzip" in self.headers.get("Accept-Encoding", "").lower():
                if page.gzipped is None:
                    page.gzipped = gzip.compress(body, 6 if len(body) < 65536 else 1, mtime=0)
                body = page.gzipped
                headers["Content-Encoding"] = "gzip"
        self._send(page.status, body, page.content_type, headers, head=head)

    def _not_modified(self, page: render.Page) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or page.etag.removeprefix("W/") in tags
        ims = self.headers.get("If-Modified-Since")
        if ims and page.last_modified:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            return page.last_modified.replace(microsecond=0) <= since
        return False

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", render.HTML, {"Location": location})

    def _drip(self, page: render.Page, head: bool) -> None:
        """The real answer, its body one byte per ``faults.DRIP_SECONDS``."""
        market = self.server.market
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        if head:
            return
        market._dripping(+1)
        try:
            for i in range(len(page.body)):
                self.wfile.write(page.body[i : i + 1])
                self.wfile.flush()
                if market._stopping.wait(faults.DRIP_SECONDS):
                    return
        except OSError:
            pass  # the client gave up: what a deadline is for
        finally:
            market._dripping(-1)

    def _stream(self, mode: str, path: str, head: bool) -> None:
        ctype = (
            render.JSON if path.endswith(".json") or path.startswith("/wp-json") else render.HTML
        )
        if path.startswith("/cdn/"):
            ctype = render.JPEG
        if mode == "huge":
            size, chunks, extra = faults.HUGE_BYTES, faults.huge_chunks(), {}
        elif mode == "gzip_stack":
            body = faults.stacked_gzip()
            size, chunks, extra = len(body), iter([body]), {"Content-Encoding": "gzip, gzip"}
        else:
            bomb = faults.gzip_bomb()
            size, chunks, extra = bomb.size, bomb.chunks(), {"Content-Encoding": "gzip"}
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return
        stopping = self.server.market._stopping
        try:
            for chunk in chunks:
                if stopping.is_set():
                    break
                self.wfile.write(chunk)
        except OSError:
            pass
        self.close_connection = True


class Marketplace:
    """A local marketplace of fake shops for ``watcher demo``, tests and benchmarks.

    ``Marketplace()`` is the default demo world (see :mod:`watcher.demo.timeline`);
    ``Marketplace.scale(shops, listings)`` a large generated one. Use as a context manager
    or call ``start()`` / ``stop()``.
    """

    def __init__(self, *, seed: int = 1) -> None:
        self.seed = seed
        self.now = datetime.now(TZ).replace(microsecond=0)
        self._seeds = ImageSeeds()
        self._setup(default_world(self.now, self._seeds), scale=False)

    @classmethod
    def scale(cls, shops: int, listings: int, page_kb: int = 0, seed: int = 1) -> Marketplace:
        """One own Shopify shop plus ``shops`` competitors (alternating Shopify and
        WooCommerce) with ``listings`` products each; product pages padded to ``page_kb``
        KB (0: compact pages). ``advance()`` moves about 5% of prices."""
        self = cls.__new__(cls)
        self.seed = seed
        self.now = datetime.now(TZ).replace(microsecond=0)
        self._seeds = ImageSeeds()
        self._setup(
            scale_world(shops, listings, page_kb, seed, self.now, lambda: self.step), scale=True
        )
        return self

    def _setup(self, data: list[ShopData], scale: bool) -> None:
        self._scale = scale
        self.step = 0
        self.requests: collections.Counter[str] = collections.Counter()
        self.drips = 0  # answers of the ``drip`` fault still being sent
        self.ssrf_target = "127.0.0.1:9"  # host:port the ``ssrf`` fault points links to
        self.inflight: collections.Counter[str] = collections.Counter()
        """Requests each shop is answering right now (a shop's port is its host)."""
        self.peak: collections.Counter[str] = collections.Counter()
        """The most requests each shop was answering at once."""
        self.delays: dict[str, float] = {}
        """Seconds each shop waits before answering any request (a slow host)."""
        self._count_lock = threading.Lock()
        self._lock = threading.RLock()
        self._faults = faults.FaultTable()
        self._stopping = threading.Event()
        self._servers: list[_Server] = []
        self._acceptor: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._cache: dict[str, tuple[int, dict[tuple[str, str, bool], render.Page]]] = {}
        self._scale_events: dict[int, list[str]] = {}
        self._last = self.now
        self.shops = [
            DemoShop(
                d.name,
                d.role,
                d.kind,
                d.currency,
                d,
                dict(SELECTORS.get("marketplace" if d.role == "marketplace" else d.kind, {})),
            )
            for d in data
        ]
        self._world = World(data, self._seeds)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Bind every shop to a free port on 127.0.0.1 and start serving in the background."""
        if self._servers:
            return
        self._stopping.clear()
        for shop in self.shops:
            srv = _Server(self, shop)
            shop.port = srv.server_address[1]
            srv.socket.setblocking(False)
            self._servers.append(srv)
        self._wake = socket.socketpair()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="demo-acceptor", daemon=True
        )
        self._acceptor.start()

    def _accept_loop(self) -> None:
        assert self._wake is not None
        sel = selectors.DefaultSelector()
        for srv in self._servers:
            sel.register(srv.socket, selectors.EVENT_READ, srv)
        sel.register(self._wake[0], selectors.EVENT_READ, None)
        try:
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    srv = key.data
                    if srv is None:
                        return
                    try:
                        request, addr = srv.get_request()
                    except OSError:
                        continue
                    request.setblocking(True)
                    # Headers and body leave in separate segments: without this, delayed
                    # ACKs stall every response by ~40 ms.
                    request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    try:
                        srv.process_request(request, addr)
                    except Exception:
                        srv.shutdown_request(request)
        finally:
            sel.close()

    def stop(self) -> None:
        """Stop serving: close the listeners, end open connections, join the threads."""
        if not self._servers:
            return
        self._stopping.set()
        if self._wake is not None:
            self._wake[1].send(b"x")
        if self._acceptor is not None:
            self._acceptor.join(5)
        threads: list[threading.Thread] = []
        for srv in self._servers:
            with srv.conn_lock:
                conns = list(srv.conns.items())
            for t, sock in conns:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                threads.append(t)
            srv.server_close()
        for t in threads:
            t.join(2)
        if self._wake is not None:
            for s in self._wake:
                s.close()
        self._servers, self._acceptor, self._wake = [], None, None
        for shop in self.shops:
            shop.port = 0

    def __enter__(self) -> Marketplace:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- timeline -------------------------------------------------------------------------

    def advance(self) -> int:
        """Apply the next timeline step; returns the new step number."""
        with self._lock:
            now = later(self._last, datetime.now(TZ).replace(microsecond=0))
            self._last = now
            self.step += 1
            if self._scale:
                changed = 0
                for i, shop in enumerate(self._world.shops.values()):
                    if i == 0:
                        continue  # the own shop keeps its prices
                    if shop.built:
                        changed += scale_price_changes(shop, i, self.seed, self.step, now)
                    shop.touch()
                self._scale_events[self.step] = [
                    f"about 5% of competitor prices changed ({changed} in the shops built so far)"
                ]
            elif self.step < len(STEPS):
                apply_step(STEPS[self.step], self._world, now)
            return self.step

    def events(self, step: int, language: str = "en") -> list[str]:
        """What happens at ``step``, in words (``language`` ``zh``: in Chinese)."""
        if self._scale:
            return ["scale world: baseline"] if step == 0 else self._scale_events.get(step, [])
        if not 0 <= step < len(STEPS):
            return []
        s = STEPS[step]
        return list(s.events_zh if language == "zh" and s.events_zh else s.events)

    # --- faults ---------------------------------------------------------------------------

    def set_fault(self, shop: str, mode: str, *, paths: str = "", count: int | None = None) -> None:
        """Make ``shop`` misbehave (``mode`` from FAULT_MODES) on requests whose path and
        query match the regex ``paths`` (all when empty), for the next ``count`` of them."""
        self.shop(shop)
        self._faults.set(shop, mode, paths, count)

    def clear_faults(self) -> None:
        """Every shop answers normally again."""
        self._faults.clear()

    # --- lookups and config ---------------------------------------------------------------

    def shop(self, name: str) -> DemoShop:
        """The shop called ``name``."""
        for s in self.shops:
            if s.name == name:
                return s
        raise KeyError(name)

    def config_toml(self, database: str, *, extra: str = "") -> str:
        """A complete watcher config for this world (needs ``start()`` for the URLs)."""
        if not self._servers:
            raise RuntimeError("start() the marketplace first: the URLs need its ports")
        q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731 - TOML basic strings
        out = [
            "[watcher]",
            f"database = {q(database)}",
            'interval = "1h"',
            'jitter = "0s"',
            "robots = true",
            'timezone = "Asia/Shanghai"',
            "",
        ]
        for s in self.shops:
            table = "marketplaces" if s.role == "marketplace" else "shops"
            out.append(f"[[{table}]]")
            out.append(f"name = {q(s.name)}")
            if table == "shops":
                out.append(f"role = {q(s.role)}")
            out += [
                f"kind = {q(s.kind)}",
                f"url = {q(s.url)}",
                f"currency = {q(s.currency)}",
                f"search_url = {q(s.search_url)}",
            ]
            if table == "shops":
                out.append(f"top_url = {q(s.top_url)}")
            if s.selectors:
                out.append(f"[{table}.selectors]")
                out += [f"{k} = {q(v)}" for k, v in s.selectors.items()]
            out.append("")
        if extra:
            out.append(extra)
        return "\n".join(out) + "\n"

    # --- serving internals ----------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._count_lock:
            self.requests[name] += 1

    def _dripping(self, delta: int) -> None:
        with self._count_lock:
            self.drips += delta

    def _enter(self, name: str) -> None:
        with self._count_lock:
            self.inflight[name] += 1
            self.peak[name] = max(self.peak[name], self.inflight[name])

    def _leave(self, name: str) -> None:
        with self._count_lock:
            self.inflight[name] -= 1

    def _page(self, shop: DemoShop, req: render.Request) -> render.Page:
        """The (cached) response of ``shop`` to ``req``; cache entries die with the shop's
        version, so an unchanged shop answers with identical bytes and ETags."""
        key = (
            req.path,
            "&".join(f"{k}={v}" for k, vs in sorted(req.query.items()) for v in vs),
            req.empty,
        )
        with self._lock:
            version, pages = self._cache.get(shop.name, (-1, {}))
            if version != shop.data.version:
                pages = {}
                self._cache[shop.name] = (shop.data.version, pages)
            page = pages.get(key)
            if page is None:
                page = render.route(shop.data, req)
                if page.conditional:
                    digest = hashlib.sha1(page.body + page.content_type.encode()).hexdigest()
                    page.etag = f'W/"{digest[:24]}"'
                if req.path.startswith("/cdn/") or len(pages) < 20000:
                    pages[key] = page
            return page
