"""The one shared HTTP client: limits, deadlines, retries, size cap, robots.txt, caching.

Every fetched byte is hostile:

- A request has one deadline (``timeout``) for connect, headers and the whole body, a
  body must keep up a minimum rate, and all attempts of one request (with their backoff)
  share an overall budget: a server dripping a byte a second cannot hold a check.
- Bodies are capped after every content coding, decoded a step at a time
  (:mod:`watcher.inflate`): ``Content-Encoding: gzip, gzip`` cannot inflate past the cap.
- Only http(s) is followed; URLs that are not on an origin from the config never connect
  to loopback, private or link-local addresses, checked after DNS resolution on every
  redirect hop (:mod:`watcher.netguard`), and carry no credentials.
- Requests run in lanes with their own slots: product photos (``lane="images"``) can never
  take the slots catalog pages need.

A failure is raised as a :class:`~watcher.errors.FetchError` so the caller records
"unknown" rather than guessing.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx
from loguru import logger
from protego import Protego

from watcher.errors import (
    BadResponseError,
    BlockedError,
    FetchError,
    TooLargeError,
    TransportError,
)
from watcher.inflate import Inflater, UnsupportedEncodingError
from watcher.netguard import AddressBlockedError, GuardedBackend
from watcher.retry_after import parse_retry_after

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524})
MAX_RETRY_AFTER = 60.0
IMAGE_MAX_BYTES = 8 * 1024 * 1024
ALLOW_PRIVATE = "watcher.allow_private"  # request extension: this shop opted in

ORIGIN_POOLS = 256
"""Origins with a connection pool kept at once; past this, idle origins' pools close."""

Lane = Literal["pages", "images"]


@dataclass(slots=True)
class HttpSettings:
    """Knobs of the shared client (from ``[watcher]``)."""

    concurrency: int = 8
    per_host: int = 2
    timeout: float = 20.0
    """Deadline of one attempt: connect, headers and the whole body."""
    budget: float | None = None
    """All attempts of one request and the waits between them (None: 3 x ``timeout``);
    time spent queueing for a slot does not count."""
    min_rate: float = 1024.0
    """Bytes per second a body must average once ``rate_grace`` seconds have passed."""
    rate_grace: float = 3.0
    retries: int = 3
    backoff: float = 0.5
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = "watcher/0.1"
    max_redirects: int = 5
    cache_bytes: int = 64 * 1024 * 1024
    image_concurrency: int = 4
    """Slots of the image lane, apart from ``concurrency``."""
    image_per_host: int = 1
    image_timeout: float = 15.0
    """Deadline of one photo (capped by ``timeout``); photos get one retry."""

    @property
    def total_budget(self) -> float:
        """The effective :attr:`budget`."""
        return self.budget if self.budget is not None else 3 * self.timeout

    @property
    def image_deadline(self) -> float:
        """Deadline of one photo request."""
        return min(self.timeout, self.image_timeout)

    @property
    def image_budget(self) -> float:
        """Seconds the photos of one check may take all together (60 s by default)."""
        return 4 * self.image_deadline


@dataclass(slots=True)
class Response:
    """A fully read, size-checked response."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    from_cache: bool = False

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        """The body decoded with its declared charset (UTF-8 by default), never raising."""
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                charset = v.strip("\"' ")
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON, or BadResponseError (an HTML captcha in place of JSON...)."""
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError) as e:
            snippet = self.content[:60].decode("utf-8", "replace").strip()
            kind = self.content_type or "unknown content"
            # A body that says it is JSON but does not parse was cut short or garbled;
            # anything else is a page in place of the data (a captcha, a login wall).
            said_json = "json" in kind
            problem = f"invalid JSON ({kind}: {e})" if said_json else f"expected JSON, got {kind}"
            raise BadResponseError(
                f"{problem} ({snippet!r}...)", url=self.url, status=self.status
            ) from None


@dataclass(slots=True)
class _CacheEntry:
    etag: str | None
    last_modified: str | None
    response: Response


@dataclass(slots=True)
class _Robots:
    parser: Protego | None
    fetched: float


def check_scheme(url: str) -> None:
    """Raise BlockedError unless ``url`` is absolute http(s)."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port outside 0-65535
    except ValueError:
        ok = False
    if not ok:
        raise BlockedError(f"refusing URL {url[:100]!r} (not http(s) with a valid host)", url=url)


async def _body(content: bytes) -> AsyncIterator[bytes]:
    yield content


class HostSlots(Protocol):
    """Per-host slots shared with other processes (several daemons on one database)."""

    def hold(self, key: str, slots: int) -> AbstractAsyncContextManager[None]:
        """Hold one of the ``slots`` slots named ``key`` while a request is on the wire."""
        ...


class _Lane:
    """Slots of one kind of request: at most ``concurrency`` at once, ``per_host`` per host
    (and, with ``shared``, ``per_host`` per host across every process sharing them)."""

    def __init__(
        self, name: str, concurrency: int, per_host: int, shared: HostSlots | None = None
    ) -> None:
        self.name = name
        self.concurrency = concurrency
        self.per_host = per_host
        self.shared = shared
        self._global: asyncio.Semaphore | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold a slot of this lane for ``url``'s host."""
        if self._global is None:
            self._global = asyncio.Semaphore(self.concurrency)
        host = urlsplit(url).netloc.lower()
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.per_host)
        shared = (
            nullcontext()
            if self.shared is None
            else self.shared.hold(f"{self.name}:{host}", self.per_host)
        )
        async with self._global, sem, shared:
            yield


def origin_key(url: httpx.URL) -> tuple[str, int]:
    """(host, port) of a URL, the way trusted origins are compared."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.raw_host.decode("ascii", "replace").lower().rstrip("."), port


class _PoolTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool with its own network backend."""

    def __init__(
        self, ssl: Any, limits: httpx.Limits, backend: httpcore.AsyncNetworkBackend
    ) -> None:
        super().__init__(verify=ssl, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
        self._sending = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` (counted until its connection is in use)."""
        self._sending += 1
        try:
            return await super().handle_async_request(request)
        finally:
            self._sending -= 1

    def open_connections(self) -> int:
        """Connections of the pool that are not closed."""
        return sum(1 for c in self._pool.connections if not c.is_closed())

    def idle(self) -> bool:
        """Whether no request is being sent and no connection of the pool is in use."""
        return not self._sending and all(
            c.is_idle() or c.is_closed() for c in self._pool.connections
        )


class _OriginPools(httpx.AsyncBaseTransport):
    """One small connection pool per origin. httpcore scans every connection of a pool on
    each request and each release (an expiry check with a system call per connection), so
    one pool shared by a hundred shops costs far more CPU than the requests themselves."""

    def __init__(
        self, ssl: Any, limits: httpx.Limits, backend: httpcore.AsyncNetworkBackend
    ) -> None:
        self._ssl = ssl
        self._limits = limits
        self._backend = backend
        self._pools: dict[tuple[bytes, bytes, int | None], _PoolTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through its origin's pool."""
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= ORIGIN_POOLS:
                await self._drop_idle()
            pool = self._pools[key] = _PoolTransport(self._ssl, self._limits, self._backend)
        return await pool.handle_async_request(request)

    async def _drop_idle(self) -> None:
        """Close the pools of origins with no connection in use (a daemon meets new image
        hosts for months; their pools must not pile up)."""
        for key, pool in list(self._pools.items()):
            if pool.idle():
                del self._pools[key]
                await pool.aclose()

    def open_connections(self) -> int:
        """Connections of every pool that are not closed."""
        return sum(p.open_connections() for p in self._pools.values())

    async def aclose(self) -> None:
        """Close every pool."""
        pools, self._pools = list(self._pools.values()), {}
        for p in pools:
            await p.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """Routes every request, redirect hops included, by its origin: trusted origins (from
    the config) connect anywhere; others only to public addresses (loopback and private
    networks too when the request carries the :data:`ALLOW_PRIVATE` extension), and with
    no credentials in the URL. Each policy has its own connection pool, so a connection
    opened under a looser policy is never reused under a stricter one."""

    def __init__(self, limits: httpx.Limits) -> None:
        ssl = httpx.create_ssl_context(trust_env=False)
        self.trusted: dict[tuple[str, int], set[str]] = {}
        self._open = _OriginPools(ssl, limits, httpcore.AnyIOBackend())
        self._public = _OriginPools(ssl, limits, GuardedBackend(allow_private=False))
        self._private = _OriginPools(ssl, limits, GuardedBackend(allow_private=True))

    def trust(self, url: str) -> None:
        """Let ``url``'s origin connect anywhere (with the credentials it carries)."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            return
        if parsed.scheme in ("http", "https") and parsed.raw_host:
            host, port = origin_key(parsed)
            # the default ports too: a shop that redirects http:// to https:// stays itself
            for key in {(host, port), (host, 80), (host, 443)}:
                self.trusted.setdefault(key, set()).add(parsed.userinfo.decode())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the pool its origin's policy allows."""
        url = request.url
        if url.scheme not in ("http", "https"):
            raise BlockedError(f"refusing a non-http(s) URL {str(url)[:100]!r}", url=str(url))
        allowed = self.trusted.get(origin_key(url))
        if url.userinfo and url.userinfo.decode() not in (allowed or ()):
            raise AddressBlockedError(
                f"refusing a URL with credentials from fetched content ({url.host})",
                url=str(url.copy_with(username=None, password=None)),
            )
        if allowed is not None:
            return await self._open.handle_async_request(request)
        if request.extensions.get(ALLOW_PRIVATE):
            return await self._private.handle_async_request(request)
        return await self._public.handle_async_request(request)

    def open_connections(self) -> int:
        """Open connections over every pool."""
        return sum(t.open_connections() for t in (self._open, self._public, self._private))

    async def aclose(self) -> None:
        """Close every pool."""
        for t in (self._open, self._public, self._private):
            await t.aclose()


class Http:
    """Shared async HTTP client. Use as ``async with Http(settings, trusted=urls) as http``.

    ``trusted`` are the URLs from the config (shops, marketplaces): their origins may be on
    any address; every other origin must resolve to public addresses (see
    :mod:`watcher.netguard`). A ``transport`` (tests of one parser) replaces the network
    and its guard entirely.
    """

    def __init__(
        self,
        settings: HttpSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        trusted: Iterable[str] = (),
        host_slots: HostSlots | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        s = self.settings
        # The lanes bound concurrency; a pool (one per origin) only has to keep its
        # connections alive between requests (a reconnect is a TLS handshake on real shops).
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=32)
        self._guard = GuardedTransport(limits) if transport is None else None
        self.trust(*trusted)
        self._client = httpx.AsyncClient(
            transport=transport or self._guard,
            timeout=httpx.Timeout(s.timeout),
            follow_redirects=True,
            max_redirects=s.max_redirects,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            trust_env=False,  # an environment proxy would bypass the address guard
        )
        self._lanes: dict[str, _Lane] = {
            "pages": _Lane("pages", s.concurrency, s.per_host, host_slots),
            "images": _Lane("images", s.image_concurrency, s.image_per_host, host_slots),
        }
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._cache_size = 0
        self.requests = 0

    def trust(self, *urls: str) -> None:
        """Trust the origins of ``urls`` (config URLs) to be on any address."""
        if self._guard is not None:
            for url in urls:
                if url:
                    self._guard.trust(url)

    def open_connections(self) -> int:
        """Connections currently open (kept alive or in use)."""
        return self._guard.open_connections() if self._guard is not None else 0

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connection pools."""
        await self._client.aclose()

    async def allowed(self, url: str, *, allow_private: bool = False) -> bool:
        """Whether robots.txt of ``url``'s host lets our User-Agent fetch it (cached per host
        for an hour; a missing or broken robots.txt allows everything)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            entry = self._robots.get(origin)
            if entry is None or time.monotonic() - entry.fetched > 3600:
                parser: Protego | None = None
                try:
                    resp = await self._request(
                        "GET",
                        f"{origin}/robots.txt",
                        max_bytes=512 * 1024,
                        retries=1,
                        allow_private=allow_private,
                    )
                    if resp.status == 200 and "html" not in resp.content_type:
                        parser = Protego.parse(resp.text)
                except FetchError as e:
                    logger.debug("robots.txt of {} unavailable ({}); allowing", origin, e)
                entry = self._robots[origin] = _Robots(parser=parser, fetched=time.monotonic())
        if entry.parser is None:
            return True
        agent = self.settings.user_agent.split("/")[0]
        return bool(entry.parser.can_fetch(url, agent))

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        robots: bool = False,
        conditional: bool = False,
        max_bytes: int | None = None,
        ok: tuple[int, ...] = (200,),
        allow_private: bool = False,
        lane: Lane = "pages",
    ) -> Response:
        """GET ``url``. Raises FetchError subclasses; never returns a status outside ``ok``.

        ``robots`` checks robots.txt first (BlockedError when forbidden); ``conditional``
        sends If-None-Match / If-Modified-Since from an earlier answer and returns that
        earlier answer (``from_cache``) on 304. ``allow_private`` lets a URL outside the
        trusted origins reach loopback and private networks (a shop's ``allow_private``).
        ``lane="images"`` runs the request on the image slots with the image deadline.
        """
        check_scheme(url)
        full = str(httpx.URL(url, params=params)) if params else url
        if robots and not await self.allowed(full, allow_private=allow_private):
            raise BlockedError(f"robots.txt forbids {full}", url=full)
        hdrs = dict(headers or {})
        cached = self._cache.get(full) if conditional else None
        if cached is not None:
            if cached.etag:
                hdrs["If-None-Match"] = cached.etag
            if cached.last_modified:
                hdrs["If-Modified-Since"] = cached.last_modified
        resp = await self._request(
            "GET",
            full,
            headers=hdrs,
            max_bytes=max_bytes,
            allow_private=allow_private,
            lane=lane,
        )
        if resp.status == 304 and cached is not None:
            self._cache.move_to_end(full)
            old = cached.response
            return Response(old.url, 200, old.headers, old.content, from_cache=True)
        if resp.status not in ok:
            raise BadResponseError(f"HTTP {resp.status} from {full}", url=full, status=resp.status)
        if conditional and resp.status == 200:
            self._remember(full, resp)
        return resp

    async def get_image(self, url: str, *, allow_private: bool = False) -> Response:
        """GET a product photo on the image lane: its own slots, the image deadline, one
        retry, at most :data:`IMAGE_MAX_BYTES`."""
        return await self.get(
            url, max_bytes=IMAGE_MAX_BYTES, allow_private=allow_private, lane="images"
        )

    async def get_json(self, url: str, **kwargs: Any) -> tuple[Any, Response]:
        """GET and decode JSON; BadResponseError when the body is not JSON."""
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        resp = await self.get(url, headers=headers, **kwargs)
        return resp.json(), resp

    def _remember(self, url: str, resp: Response) -> None:
        etag = resp.headers.get("etag")
        modified = resp.headers.get("last-modified")
        if not (etag or modified) or len(resp.content) > self.settings.cache_bytes // 8:
            return
        old = self._cache.pop(url, None)
        if old is not None:
            self._cache_size -= len(old.response.content)
        self._cache[url] = _CacheEntry(etag, modified, resp)
        self._cache_size += len(resp.content)
        while self._cache_size > self.settings.cache_bytes and self._cache:
            _, evicted = self._cache.popitem(last=False)
            self._cache_size -= len(evicted.response.content)

    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
        retries: int | None = None,
        allow_private: bool = False,
        lane: Lane = "pages",
    ) -> Response:
        s = self.settings
        cap = max_bytes or s.max_bytes
        deadline = s.timeout
        if lane == "images":
            deadline = s.image_deadline
            retries = min(1, s.retries) if retries is None else retries
        attempts = (s.retries if retries is None else retries) + 1
        budget = s.total_budget
        extensions = {ALLOW_PRIVATE: True} if allow_private else None
        spent = 0.0
        last: FetchError | None = None
        for attempt in range(attempts):
            if attempt:
                delay = s.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
                if last is not None and last.status == 429:
                    delay = max(delay, getattr(last, "retry_after", None) or 0.0)
                if spent + delay >= budget:
                    break
                await asyncio.sleep(delay)
                spent += delay
            limit = min(deadline, budget - spent)
            try:
                async with self._lanes[lane].slot(url):
                    self.requests += 1
                    started = time.monotonic()
                    try:
                        async with asyncio.timeout(limit):
                            resp = await self._read(method, url, headers, cap, extensions)
                    finally:
                        spent += time.monotonic() - started
            except TimeoutError:
                if limit < deadline:
                    msg = f"retry budget of {budget:g} s used up fetching {url}"
                else:
                    msg = f"no complete answer within {deadline:g} s from {url}"
                last = TransportError(msg, url=url)
                continue
            except httpx.TooManyRedirects:
                raise BadResponseError(f"too many redirects from {url}", url=url) from None
            except httpx.UnsupportedProtocol:
                raise BlockedError(f"redirected to a non-http(s) URL from {url}", url=url) from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
                last = TransportError(f"{type(e).__name__} for {url}", url=url)
                continue
            except httpx.InvalidURL as e:
                raise BlockedError(f"invalid URL {url[:100]!r}: {e}", url=url) from None
            except TransportError as e:  # too slow: worth another try within the budget
                last = e
                continue
            if resp.status in RETRY_STATUS:
                err = BadResponseError(
                    f"HTTP {resp.status} from {url}", url=url, status=resp.status
                )
                ra = parse_retry_after(resp.headers.get("retry-after"))
                err.retry_after = ra  # type: ignore[attr-defined]
                last = err
                if ra is not None and ra > MAX_RETRY_AFTER:
                    break
                continue
            return resp
        if last is None:
            last = TransportError(f"no time left to fetch {url}", url=url)
        raise last

    async def _read(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        cap: int,
        extensions: dict[str, Any] | None,
    ) -> Response:
        s = self.settings
        async with self._client.stream(method, url, headers=headers, extensions=extensions) as r:
            final = str(r.url)
            check_scheme(final)
            length = r.headers.get("content-length")
            if length and length.isdigit() and int(length) > cap:
                raise TooLargeError(
                    f"{url} is {int(length)} bytes (cap {cap})", url=url, status=r.status_code
                )
            # A test transport (httpx.MockTransport) answers with the body already read.
            preread = r.is_stream_consumed
            try:
                inflater = Inflater(None if preread else r.headers.get("content-encoding"))
            except UnsupportedEncodingError as e:
                raise BadResponseError(f"{e} from {url}", url=url, status=r.status_code) from None
            chunks: list[bytes] = []
            size = received = 0
            started = time.monotonic()

            def keep(decoded: Iterable[bytes]) -> None:
                nonlocal size
                for chunk in decoded:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > cap:
                        raise TooLargeError(
                            f"{url} is over the {cap}-byte cap once decoded",
                            url=url,
                            status=r.status_code,
                        )

            try:
                async for raw in _body(r.content) if preread else r.aiter_raw():
                    received += len(raw)
                    if received > cap:
                        raise TooLargeError(
                            f"{url} is over the {cap}-byte cap", url=url, status=r.status_code
                        )
                    keep(inflater.feed(raw))
                    elapsed = time.monotonic() - started
                    if elapsed > s.rate_grace and received < s.min_rate * elapsed:
                        raise TransportError(
                            f"{url} sends {received / elapsed:.0f} bytes/s "
                            f"(minimum {s.min_rate:g})",
                            url=url,
                        )
                keep(inflater.finish())
            except zlib.error:
                raise BadResponseError(
                    f"undecodable body from {url}", url=url, status=r.status_code
                ) from None
            return Response(final, r.status_code, r.headers, b"".join(chunks))


ALERT_REPLY_BYTES = 64 * 1024


class _BoundedReplies(httpx.AsyncBaseTransport):
    """Alert-side transport: each request (with its reply body) has one deadline, the
    largest timeout the request carries, and the reply is decoded a step at a time and cut
    at ``cap`` bytes: a receiver's reply is only read for its status and a short reason."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send, then read at most ``cap`` decoded bytes of the reply within the deadline."""
        timeouts = request.extensions.get("timeout") or {}
        deadline = max((v for v in timeouts.values() if v), default=None)
        try:
            async with asyncio.timeout(deadline):
                resp = await self._inner.handle_async_request(request)
                try:
                    body = await self._read(resp)
                finally:
                    await resp.aclose()
        except TimeoutError:
            raise httpx.ReadTimeout(
                f"no complete reply within {deadline:g} s", request=request
            ) from None
        headers = [
            (k, v)
            for k, v in resp.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            resp.status_code, headers=headers, content=body, extensions=resp.extensions
        )

    async def _read(self, resp: httpx.Response) -> bytes:
        try:
            inflater = Inflater(resp.headers.get("content-encoding"))
        except UnsupportedEncodingError:
            return b""
        out = bytearray()
        try:
            async for raw in resp.aiter_raw():
                for chunk in inflater.feed(raw):
                    out += chunk[: self.cap - len(out)]
                    if len(out) >= self.cap:
                        return bytes(out)
            for chunk in inflater.finish():
                out += chunk[: self.cap - len(out)]
                if len(out) >= self.cap:
                    break
        except zlib.error:
            pass  # a corrupt reply still has its status
        return bytes(out)

    async def aclose(self) -> None:
        """Close the pool."""
        await self._inner.aclose()


def alert_client(timeout: float, user_agent: str) -> httpx.AsyncClient:
    """The client alert channels post with: configured URLs only, never following
    redirects, each request bounded by one deadline, replies cut at
    :data:`ALERT_REPLY_BYTES` after decoding."""
    return httpx.AsyncClient(
        transport=_BoundedReplies(ALERT_REPLY_BYTES),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        headers={"User-Agent": user_agent},
    )
