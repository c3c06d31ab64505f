"""The one shared HTTP client: limits, timeouts, retries, size cap, robots.txt, caching.

Every fetched byte is hostile: only http(s) is followed, bodies are capped after
decompression, and a failure is raised as a :class:`~watcher.errors.FetchError` so the
caller records "unknown" rather than guessing.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

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

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524})
MAX_RETRY_AFTER = 60.0


@dataclass(slots=True)
class HttpSettings:
    """Knobs of the shared client (from ``[watcher]``)."""

    concurrency: int = 8
    per_host: int = 2
    timeout: float = 20.0
    retries: int = 3
    backoff: float = 0.5
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = "watcher/0.1"
    max_redirects: int = 5
    cache_bytes: int = 64 * 1024 * 1024


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
        except (ValueError, UnicodeDecodeError):
            snippet = self.content[:60].decode("utf-8", "replace").strip()
            raise BadResponseError(
                f"expected JSON, got {self.content_type or 'unknown content'} ({snippet!r}...)",
                url=self.url,
                status=self.status,
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


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


class Http:
    """Shared async HTTP client. Use as ``async with Http(settings) as http``."""

    def __init__(
        self,
        settings: HttpSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        s = self.settings
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(s.timeout),
            follow_redirects=True,
            max_redirects=s.max_redirects,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            # The semaphores bound concurrency; the pool only has to keep a connection per
            # host alive between requests (a reconnect is a TLS handshake on real shops).
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=512),
        )
        self._global = asyncio.Semaphore(s.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._cache_size = 0
        self.requests = 0

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._client.aclose()

    def _host_sem(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.settings.per_host)
        return sem

    async def allowed(self, url: str) -> bool:
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
                        "GET", f"{origin}/robots.txt", max_bytes=512 * 1024, retries=1
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
    ) -> Response:
        """GET ``url``. Raises FetchError subclasses; never returns a status outside ``ok``.

        ``robots`` checks robots.txt first (BlockedError when forbidden); ``conditional``
        sends If-None-Match / If-Modified-Since from an earlier answer and returns that
        earlier answer (``from_cache``) on 304.
        """
        check_scheme(url)
        full = str(httpx.URL(url, params=params)) if params else url
        if robots and not await self.allowed(full):
            raise BlockedError(f"robots.txt forbids {full}", url=full)
        hdrs = dict(headers or {})
        cached = self._cache.get(full) if conditional else None
        if cached is not None:
            if cached.etag:
                hdrs["If-None-Match"] = cached.etag
            if cached.last_modified:
                hdrs["If-Modified-Since"] = cached.last_modified
        resp = await self._request("GET", full, headers=hdrs, max_bytes=max_bytes)
        if resp.status == 304 and cached is not None:
            self._cache.move_to_end(full)
            old = cached.response
            return Response(old.url, 200, old.headers, old.content, from_cache=True)
        if resp.status not in ok:
            raise BadResponseError(f"HTTP {resp.status} from {full}", url=full, status=resp.status)
        if conditional and resp.status == 200:
            self._remember(full, resp)
        return resp

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
    ) -> Response:
        s = self.settings
        cap = max_bytes or s.max_bytes
        attempts = (s.retries if retries is None else retries) + 1
        last: FetchError | None = None
        for attempt in range(attempts):
            if attempt:
                delay = s.backoff * (2 ** (attempt - 1))
                if (
                    last is not None
                    and last.status == 429
                    and getattr(last, "retry_after", None) is not None
                ):
                    delay = max(delay, last.retry_after)  # type: ignore[attr-defined]
                await asyncio.sleep(delay * (0.5 + random.random()))
            try:
                async with self._global, self._host_sem(url):
                    self.requests += 1
                    resp = await self._read(method, url, headers, cap)
            except httpx.TooManyRedirects:
                raise BadResponseError(f"too many redirects from {url}", url=url) from None
            except httpx.UnsupportedProtocol:
                raise BlockedError(f"redirected to a non-http(s) URL from {url}", url=url) from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
                last = TransportError(f"{type(e).__name__} for {url}", url=url)
                continue
            except httpx.DecodingError:
                raise BadResponseError(f"undecodable body from {url}", url=url) from None
            except httpx.InvalidURL as e:
                raise BlockedError(f"invalid URL {url[:100]!r}: {e}", url=url) from None
            if resp.status in RETRY_STATUS:
                err = BadResponseError(
                    f"HTTP {resp.status} from {url}", url=url, status=resp.status
                )
                ra = retry_after_seconds(resp.headers.get("retry-after"))
                err.retry_after = ra  # type: ignore[attr-defined]
                last = err
                if ra is not None and ra > MAX_RETRY_AFTER:
                    break
                continue
            return resp
        assert last is not None
        raise last

    async def _read(
        self, method: str, url: str, headers: dict[str, str] | None, cap: int
    ) -> Response:
        async with self._client.stream(method, url, headers=headers) as r:
            final = str(r.url)
            check_scheme(final)
            length = r.headers.get("content-length")
            if length and length.isdigit() and int(length) > cap:
                raise TooLargeError(
                    f"{url} is {int(length)} bytes (cap {cap})", url=url, status=r.status_code
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in r.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise TooLargeError(
                        f"{url} is over the {cap}-byte cap", url=url, status=r.status_code
                    )
                chunks.append(chunk)
            return Response(final, r.status_code, r.headers, b"".join(chunks))
