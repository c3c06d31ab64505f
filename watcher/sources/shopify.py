"""Shopify storefronts through their public JSON: ``/products.json``, ``/products/<handle>.json``,
best sellers from ``/collections/all?sort_by=best-selling``, ``/search/suggest.json``, and
reviews from the product page's structured data."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urljoin, urlsplit

from loguru import logger

from watcher.config import ShopConfig
from watcher.errors import BadResponseError, BlockedError, FetchError, ParseError
from watcher.models import Catalog, Listing
from watcher.sources.base import (
    ProductsPage,
    Source,
    check_elements,
    parse_off_loop,
    parse_time,
    read_page,
)
from watcher.sources.structured import absolute_url
from watcher.text.clean import clean_text, strip_controls, strip_html

if TYPE_CHECKING:
    from watcher.http import Http

PAGE_LIMIT = 250
MAX_PAGES = 25_000 // PAGE_LIMIT
_HANDLE = re.compile(r"/products/([A-Za-z0-9][A-Za-z0-9\-_%.]*)")


def _money(value: object) -> float | None:
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        amount = round(float(str(value).replace(",", "")), 4)
    except (ValueError, OverflowError):
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


def _page_products(content: bytes, url: str) -> list[Listing]:
    """The structured-data products of a product page (its reviews), size-checked first."""
    from watcher.sources.structured import extract_products

    check_elements(content, url)
    return extract_products(content, url)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _position(image: dict[str, Any]) -> int:
    pos = image.get("position")
    return pos if isinstance(pos, int) and not isinstance(pos, bool) else 10**6


class ShopifySource(Source):
    """A Shopify store at ``shop.url``. Shopify's JSON has no currency: ``shop.currency``."""

    kind = "shopify"

    @property
    def base(self) -> str:
        """The store root with a trailing slash."""
        return self.shop.url if self.shop.url.endswith("/") else self.shop.url + "/"

    def product_url(self, handle: str) -> str:
        """The public product page of ``handle``."""
        return f"{self.base}products/{quote(strip_controls(handle), safe='-_.~%')}"

    def absolute(self, src: str) -> str | None:
        """An image or link URL made absolute (protocol-relative URLs become https); None
        unless it is http(s) with a host."""
        if src.startswith("//"):
            src = "https:" + src
        return absolute_url(src, self.base)

    def parse_product(self, p: dict[str, Any]) -> Listing:
        """One ``/products.json`` (or ``/products/<h>.json``) product as a Listing."""
        if not isinstance(p, dict) or "id" not in p or not p.get("title"):
            raise ParseError("Shopify product without id or title")
        variants = [v for v in _list(p.get("variants")) if isinstance(v, dict)]
        money = [(v, _money(v.get("price"))) for v in variants]
        priced = [(v, x) for v, x in money if x is not None]
        available_variants = [(v, x) for v, x in priced if v.get("available") is not False]
        pool = available_variants or priced
        price: float | None = None
        compare: float | None = None
        if pool:
            variant, lowest = min(pool, key=lambda vx: vx[1])
            price, compare = lowest, _money(variant.get("compare_at_price"))
            if compare is not None and compare <= lowest:
                compare = None
        available: bool | None = None
        flags = [v.get("available") for v in variants if isinstance(v.get("available"), bool)]
        if flags:
            available = any(flags)
        found = [
            self.absolute(str(i.get("src")))
            for i in sorted(
                (i for i in _list(p.get("images")) if isinstance(i, dict) and i.get("src")),
                key=_position,
            )
        ][:20]
        images = [u for u in found if u]
        tags = p.get("tags") or []
        tags = [t.strip() for t in tags.split(",")] if isinstance(tags, str) else _list(tags)
        handle = str(p.get("handle") or p["id"])
        return Listing(
            ref=str(p["id"]),
            url=self.product_url(handle),
            title=clean_text(p["title"], 500),
            price=price,
            currency=self.shop.currency,
            compare_at=compare,
            available=available,
            images=images,
            tags=[clean_text(t, 100) for t in tags if isinstance(t, str) and t.strip()][:50],
            product_type=clean_text(p.get("product_type"), 200) or None,
            description=strip_html(p.get("body_html"), 2000) or None,
            published_at=parse_time(p.get("published_at")) or parse_time(p.get("created_at")),
            shop=self.shop.name,
        )

    async def catalog(self) -> Catalog:
        """Every product, 250 per page until a short page; partial when a later page fails."""
        listings: list[Listing] = []
        url = urljoin(self.base, "products.json")
        for page in range(1, MAX_PAGES + 1):
            try:
                resp = await self.fetch(
                    url,
                    params={"limit": PAGE_LIMIT, "page": page},
                    conditional=True,
                    headers={"Accept": "application/json"},
                )
                read = await read_page(read_products, resp.content, self.shop)
                if read.shape == "not json":
                    resp.json()  # raises the error that says what came instead
                if read.shape != "ok":
                    raise BadResponseError(f"{url}: no 'products' list (not a Shopify store?)")
            except FetchError as e:
                if page == 1:
                    raise
                return Catalog(listings, complete=False, note=f"page {page}: {e}")
            for note in read.skipped:
                logger.info("{}: skipped a product with odd fields ({})", self.shop.name, note)
            listings.extend(read.listings)
            if read.products < PAGE_LIMIT:
                return Catalog(listings, complete=True)
        return Catalog(listings, complete=False, note="stopped at Shopify's 25,000-product cap")

    async def top(self, n: int) -> list[str]:
        """Best sellers from the best-selling collection page; the catalog order when
        robots.txt forbids sorted collections."""
        url = urljoin(self.base, "collections/all")
        try:
            resp = await self.fetch(url, params={"sort_by": "best-selling"})
            handles: list[str] = []
            for m in _HANDLE.finditer(resp.text):
                h = m.group(1).rstrip(".")
                if h.endswith(".json") or h.endswith(".js"):
                    continue
                if h not in handles:
                    handles.append(h)
                if len(handles) >= n:
                    break
            if handles:
                return [self.product_url(h) for h in handles]
            logger.info(
                "{}: no products on the best-selling page; using catalog order", self.shop.name
            )
        except BlockedError as e:
            logger.info("{}: {}; using catalog order for best sellers", self.shop.name, e)
        cat = await self.catalog()
        return [x.url for x in cat.listings[:n]]

    def _handle(self, ref: str) -> str:
        path = urlsplit(ref).path if "://" in ref else ref
        m = _HANDLE.search(path)
        handle = m.group(1) if m else path.strip("/")
        return handle.removesuffix(".json").removesuffix(".js")

    async def listing(self, ref: str) -> Listing:
        """One product with reviews read from its page's structured data (None when the page
        could not be read)."""
        handle = self._handle(ref)
        data, _ = await self.fetch_json(urljoin(self.base, f"products/{handle}.json"))
        if not isinstance(data, dict) or not isinstance(data.get("product"), dict):
            raise BadResponseError(f"{ref}: no 'product' object")
        listing = self.parse_product(data["product"])
        try:
            page = await self.fetch(listing.url, conditional=True)
            found = await parse_off_loop(_page_products, page.content, listing.url)
        except (FetchError, ParseError) as e:
            logger.warning("{}: reviews unavailable for {} ({})", self.shop.name, listing.url, e)
            return listing
        if found:
            best = found[0]
            listing.reviews = best.reviews if best.reviews is not None else []
            listing.rating = best.rating
            listing.rating_count = best.rating_count
        else:
            listing.reviews = []
        return listing

    async def search(self, query: str) -> list[Listing]:
        """Predictive search (``/search/suggest.json``), products only."""
        url = urljoin(self.base, "search/suggest.json")
        params = {
            "q": query[:200],
            "resources[type]": "product",
            "resources[limit]": 10,
            "resources[options][unavailable_products]": "last",
        }
        data, _ = await self.fetch_json(url, params=params)
        try:
            products = data["resources"]["results"]["products"]  # type: ignore[index]
        except (KeyError, TypeError):
            raise BadResponseError(f"{url}: unexpected search response") from None
        out: list[Listing] = []
        for p in products if isinstance(products, list) else []:
            item = self._parsed(p, self.parse_suggestion)
            if item is not None:
                out.append(item)
        return out

    def parse_suggestion(self, p: dict[str, Any]) -> Listing:
        """One product of a ``/search/suggest.json`` answer as a Listing."""
        if not isinstance(p, dict) or not p.get("title") or "id" not in p:
            raise ParseError("Shopify search result without id or title")
        handle = str(p.get("handle") or p["id"])
        featured = p.get("featured_image")
        if isinstance(featured, dict):
            featured = featured.get("url")
        image = next((i for i in (p.get("image"), featured) if isinstance(i, str) and i), None)
        img_url = self.absolute(image) if image else None
        price = _money(p.get("price") or p.get("price_min"))
        compare = _money(p.get("compare_at_price_min"))
        return Listing(
            ref=str(p["id"]),
            url=self.product_url(handle),
            title=clean_text(p["title"], 500),
            price=price,
            currency=self.shop.currency,
            compare_at=compare if compare and price and compare > price else None,
            available=p.get("available") if isinstance(p.get("available"), bool) else None,
            images=[img_url] if img_url else [],
            tags=[t for t in _list(p.get("tags")) if isinstance(t, str)][:50],
            product_type=clean_text(p.get("type"), 200) or None,
            shop=self.shop.name,
        )

    def _parsed(
        self, p: Any, parse: Callable[[Any], Listing], skipped: list[str] | None = None
    ) -> Listing | None:
        """``parse(p)``, or None for a product that cannot be read: one odd field (a string
        where an object was expected...) skips that product, never the shop. Why is
        logged, or added to ``skipped`` when given (in a worker process)."""
        try:
            return parse(p)
        except ParseError:
            return None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
            if skipped is None:
                logger.info("{}: skipped a product with odd fields ({})", self.shop.name, e)
            else:
                skipped.append(str(e))
            return None


def read_products(content: bytes, shop: ShopConfig) -> ProductsPage:
    """A ``/products.json`` page read into listings (module-level: runs in a worker)."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return ProductsPage("not json")
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        return ProductsPage("unexpected")
    source = ShopifySource(shop, cast("Http", None))
    page = ProductsPage("ok", products=len(data["products"]))
    for p in data["products"]:
        item = source._parsed(p, source.parse_product, page.skipped)
        if item is not None:
            page.listings.append(item)
    return page
