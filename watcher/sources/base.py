"""The Source interface: one class per source kind, discovered by its ``kind``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar

from watcher.config import ShopConfig
from watcher.dates import parse_iso
from watcher.http import Http, Response
from watcher.models import Catalog, Listing


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

    async def fetch(self, url: str, **kwargs: object) -> Response:
        """GET through the shared client with this shop's robots.txt and address policy."""
        return await self.http.get(  # type: ignore[arg-type]
            url, robots=self.robots, allow_private=self.shop.allow_private, **kwargs
        )

    async def fetch_json(self, url: str, **kwargs: object) -> tuple[object, Response]:
        """GET JSON through the shared client with this shop's robots.txt and address
        policy."""
        return await self.http.get_json(
            url, robots=self.robots, allow_private=self.shop.allow_private, **kwargs
        )
