"""The Source interface: one class per source kind, discovered by its ``kind``; and the
parsing plumbing every source uses.

Parsing runs off the event loop (:func:`parse_off_loop`), so a heavy page never holds up
other shops' requests, retries or a stop signal, and a page with more than
:data:`MAX_ELEMENTS` elements is refused before it is parsed (:func:`check_elements`).
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Concatenate, Literal, ParamSpec, TypeVar

from loguru import logger

from watcher.config import ShopConfig
from watcher.dates import parse_iso
from watcher.errors import ParseError
from watcher.http import Http, Response
from watcher.models import Catalog, Listing

P = ParamSpec("P")
T = TypeVar("T")

MAX_ELEMENTS = 50_000
"""Pages with more elements than this are broken or hostile, not product pages: the
largest of 106 real product pages from 96 shops (/work/shared/data/product-pages) has
about 8,800; BeautifulSoup needs ~1 KB and ~15 us per element (50 MB, 0.6 s here)."""

PARSE_WORKERS = 1
"""Parser threads. The page readers are mostly Python (the GIL): a second thread only
contended for it (500 product pages: 0.4 s more wall, 0.5 s more CPU, +2 MiB; a 20-shop
check the same either way). The thread keeps parsing off the event loop."""

_parser_pool: Executor | None = None


def element_estimate(raw: bytes) -> int:
    """About how many elements an HTML page has (its tags that are not end tags)."""
    return raw.count(b"<") - raw.count(b"</")


def check_elements(raw: bytes, url: str) -> None:
    """ParseError when the page at ``url`` has more than :data:`MAX_ELEMENTS` elements."""
    n = element_estimate(raw)
    if n > MAX_ELEMENTS:
        raise ParseError(
            f"{url}: the page has about {n:,} elements (more than {MAX_ELEMENTS:,}); "
            "treated as broken"
        )


def _pool() -> Executor:
    global _parser_pool
    if _parser_pool is None:
        _parser_pool = ThreadPoolExecutor(PARSE_WORKERS, thread_name_prefix="parse")
    return _parser_pool


_in_hand: weakref.WeakKeyDictionary[Http, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def _page_in_hand(http: Http) -> AsyncIterator[None]:
    """A slot for one page from before it is fetched until it is read: pages arrive faster
    than the parser threads read them, and without a bound every fetched body (and its
    request's task) would wait in the executor's queue at once, ~100 KB each. There are
    as many slots as requests may run at once plus two pages per parser thread, so the
    bound never slows the fetching down while the parsers keep up."""
    hand = _in_hand.get(http)
    if hand is None:
        hand = _in_hand[http] = asyncio.Semaphore(http.settings.concurrency + 2 * PARSE_WORKERS)
    async with hand:
        yield


async def parse_off_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on the parser threads, off the event loop.

    ``fn`` must be a parser: no I/O, no shared mutable state. lxml and the regexes release
    the GIL for much of the work. A process pool can replace the threads (issue 12) when
    ``fn`` and its arguments are picklable: module-level functions of a Response's bytes
    and the shop's config.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(fn, *args, **kwargs))


@dataclass(slots=True)
class ProductsPage:
    """One page of a JSON product list, read by a module-level function (so a worker
    process can read it): the listings, how many products the page had (read or not),
    and why products were skipped (logged by the caller, in the main process)."""

    shape: Literal["ok", "not json", "unexpected"]
    """"not json": the body is no JSON; "unexpected": JSON without the product list."""
    listings: list[Listing] = field(default_factory=list)
    products: int = 0
    skipped: list[str] = field(default_factory=list)


async def read_page(fn: Callable[[bytes, ShopConfig], T], content: bytes, shop: ShopConfig) -> T:
    """``fn(content, shop)``: in a worker process during a large check (pages of many
    shops arriving at once, see :func:`watcher.workers.worth`), where JSON decoding and
    record building use another core; on the event loop otherwise (a small page is read
    faster than it is sent to a process)."""
    from watcher import workers

    if workers.worth(len(content)):
        try:
            return await workers.run(fn, content, shop)
        except workers.WorkerError as e:
            logger.warning("{}: {}; reading the page here", shop.name, e)
    return fn(content, shop)


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp from a source as an aware datetime (no zone: UTC); None when
    it is missing, malformed or outside the sane range of :mod:`watcher.dates`."""
    return parse_iso(value)


class Source(ABC):
    """Reads one shop. Methods raise :class:`~watcher.errors.FetchError` or
    :class:`~watcher.errors.ParseError` when the shop cannot be read; a catalog that got
    only part of the way is returned with ``complete=False``.

    ``robots`` is True when robots.txt must be honoured for this shop (competitors and
    marketplaces, unless the shop sets ``robots = false``; own shops are exempt).
    """

    kind: ClassVar[str]

    def __init__(self, shop: ShopConfig, http: Http, *, robots: bool = False) -> None:
        self.shop = shop
        self.http = http
        self.robots = robots

    @abstractmethod
    async def catalog(self) -> Catalog:
        """Every listing of the shop (without reviews)."""

    @abstractmethod
    async def top(self, n: int) -> list[str]:
        """Refs (URLs or handles) of the shop's ``n`` best-selling listings, best first."""

    @abstractmethod
    async def listing(self, ref: str) -> Listing:
        """One listing with its reviews (``reviews`` is a list, possibly empty)."""

    @abstractmethod
    async def search(self, query: str) -> list[Listing]:
        """Listings the shop's own search returns for ``query``."""

    async def fetch(self, url: str, **kwargs: Any) -> Response:
        """GET through the shared client with this shop's robots.txt and address policy."""
        return await self.http.get(
            url, robots=self.robots, allow_private=self.shop.allow_private, **kwargs
        )

    async def fetch_and_read(
        self,
        url: str,
        read: Callable[Concatenate[Response, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Fetch ``url`` and read the response with ``read(response, *args, **kwargs)`` on the
        parser threads, holding a page slot from before the fetch until it is read (see
        :func:`_page_in_hand`)."""
        async with _page_in_hand(self.http):
            return await parse_off_loop(read, await self.fetch(url), *args, **kwargs)

    async def fetch_json(self, url: str, **kwargs: Any) -> tuple[object, Response]:
        """GET JSON through the shared client with this shop's robots.txt and address
        policy."""
        return await self.http.get_json(
            url, robots=self.robots, allow_private=self.shop.allow_private, **kwargs
        )
