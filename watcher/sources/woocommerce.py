"""WooCommerce shops through the public Store API (``/wp-json/wc/store/v1``)."""

from __future__ import annotations

import html
import json
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urljoin, urlsplit

from watcher.config import ShopConfig
from watcher.errors import BadResponseError, FetchError, ParseError
from watcher.models import Catalog, Listing, Review
from watcher.sources.base import ProductsPage, Source, parse_time, read_page
from watcher.sources.structured import absolute_url
from watcher.text.clean import clean_text, strip_controls, strip_html

if TYPE_CHECKING:
    from watcher.http import Http

API = "wp-json/wc/store/v1/"
PER_PAGE = 100
MAX_PAGES = 200
MAX_REVIEW_PAGES = 5


def _minor(amount: object, minor_unit: object) -> float | None:
    if amount in (None, ""):
        return None
    try:
        unit = int(minor_unit) if minor_unit is not None else 2  # type: ignore[call-overload]
        if not 0 <= unit <= 8:
            return None
        value = float(Decimal(str(amount)) / (Decimal(10) ** unit))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return value if math.isfinite(value) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


class WooCommerceSource(Source):
    """A WooCommerce shop at ``shop.url``."""

    kind = "woocommerce"

    @property
    def api(self) -> str:
        """The Store API root with a trailing slash."""
        base = self.shop.url if self.shop.url.endswith("/") else self.shop.url + "/"
        return urljoin(base, API)

    def parse_product(self, p: dict[str, Any]) -> Listing:
        """One Store API product as a Listing (prices are minor-unit strings)."""
        if not isinstance(p, dict) or "id" not in p or not p.get("name"):
            raise ParseError("WooCommerce product without id or name")
        raw_prices = p.get("prices")
        prices: dict[str, Any] = raw_prices if isinstance(raw_prices, dict) else {}
        unit = prices.get("currency_minor_unit", 2)
        price = _minor(prices.get("price"), unit)
        regular = _minor(prices.get("regular_price"), unit)
        found = [
            absolute_url(i.get("src"), self.api)
            for i in _list(p.get("images"))
            if isinstance(i, dict)
        ]
        images = [u for u in found if u][:20]
        names = lambda key: [  # noqa: E731
            clean_text(html.unescape(str(t.get("name"))), 100)
            for t in _list(p.get(key))
            if isinstance(t, dict) and t.get("name")
        ]
        categories = names("categories")
        count = p.get("review_count")
        rating = None
        try:
            if isinstance(count, int) and count > 0:
                rating = float(p.get("average_rating") or 0) or None
        except (ValueError, TypeError):
            rating = None
        if rating is not None and not 0 < rating <= 5:
            rating = None
        permalink = absolute_url(p.get("permalink"), self.shop.url) or urljoin(
            self.shop.url, f"?p={quote(strip_controls(str(p['id'])))}"
        )
        stock = p.get("is_in_stock")
        return Listing(
            ref=str(p["id"]),
            url=permalink,
            title=clean_text(html.unescape(str(p["name"])), 500),
            price=price,
            currency=str(prices.get("currency_code") or self.shop.currency or "") or None,
            compare_at=regular
            if regular is not None and price is not None and regular > price
            else None,
            available=stock if isinstance(stock, bool) else None,
            images=images,
            rating=rating,
            rating_count=count if isinstance(count, int) else None,
            tags=[*names("tags"), *categories][:50],
            product_type=categories[0] if categories else None,
            description=strip_html(p.get("description") or p.get("short_description"), 2000)
            or None,
            shop=self.shop.name,
        )

    async def _products_page(self, params: dict[str, Any]) -> tuple[list[Any], int | None]:
        data, resp = await self.fetch_json(
            urljoin(self.api, "products"), params=params, conditional=True
        )
        if not isinstance(data, list):
            raise BadResponseError(f"{self.shop.url}: Store API did not return a product list")
        pages = resp.headers.get("x-wp-totalpages")
        return data, int(pages) if pages and pages.isdigit() else None

    async def catalog(self) -> Catalog:
        """Every published product, 100 per page in id order, until ``X-WP-TotalPages``."""
        listings: list[Listing] = []
        page, total = 1, None
        url = urljoin(self.api, "products")
        while page <= MAX_PAGES:
            params = {"per_page": PER_PAGE, "page": page, "orderby": "id", "order": "asc"}
            try:
                resp = await self.fetch(
                    url, params=params, conditional=True, headers={"Accept": "application/json"}
                )
                read = await read_page(read_products, resp.content, self.shop)
                if read.shape == "not json":
                    resp.json()  # raises the error that says what came instead
                if read.shape != "ok":
                    raise BadResponseError(
                        f"{self.shop.url}: Store API did not return a product list"
                    )
            except FetchError as e:
                if page == 1:
                    raise
                return Catalog(listings, complete=False, note=f"page {page}: {e}")
            pages = resp.headers.get("x-wp-totalpages")
            total = int(pages) if pages and pages.isdigit() else total
            listings.extend(read.listings)
            if (total is not None and page >= total) or (
                total is None and read.products < PER_PAGE
            ):
                return Catalog(listings, complete=True)
            if not read.products:
                return Catalog(listings, complete=False, note=f"page {page} empty before the last")
            page += 1
        return Catalog(listings, complete=False, note=f"stopped after {MAX_PAGES} pages")

    async def top(self, n: int) -> list[str]:
        """Best sellers (``orderby=popularity``)."""
        items, _ = await self._products_page(
            {"per_page": min(max(n, 1), 100), "orderby": "popularity", "order": "desc"}
        )
        return [str(p["id"]) for p in items if isinstance(p, dict) and "id" in p][:n]

    async def _product_id(self, ref: str) -> str:
        if ref.isdigit():
            return ref
        slug = [part for part in urlsplit(ref).path.split("/") if part]
        if not slug:
            raise ParseError(f"cannot tell the product of {ref!r}")
        items, _ = await self._products_page({"slug": slug[-1]})
        if not items or not isinstance(items[0], dict) or "id" not in items[0]:
            raise ParseError(f"no WooCommerce product with slug {slug[-1]!r}")
        return str(items[0]["id"])

    async def reviews(self, product_id: str) -> list[Review]:
        """Approved reviews of one product, newest first, at most 500."""
        out: list[Review] = []
        for page in range(1, MAX_REVIEW_PAGES + 1):
            data, resp = await self.fetch_json(
                urljoin(self.api, "products/reviews"),
                params={"product_id": product_id, "per_page": PER_PAGE, "page": page},
            )
            if not isinstance(data, list):
                raise BadResponseError(f"{self.shop.url}: reviews are not a list")
            for r in data:
                if not isinstance(r, dict):
                    continue
                rating = r.get("rating")
                out.append(
                    Review(
                        id=str(r["id"]) if r.get("id") is not None else None,
                        rating=float(rating)
                        if isinstance(rating, int | float) and rating > 0
                        else None,
                        text=strip_html(r.get("review"), 10_000),
                        author=clean_text(r.get("reviewer"), 200) or None,
                        published_at=parse_time(r.get("date_created_gmt"))
                        or parse_time(r.get("date_created")),
                    )
                )
            pages = resp.headers.get("x-wp-totalpages")
            last = int(pages) if pages and pages.isdigit() else None
            if (last is not None and page >= last) or len(data) < PER_PAGE:
                break
        return out

    async def listing(self, ref: str) -> Listing:
        """One product (by id or permalink) with its reviews."""
        pid = await self._product_id(ref)
        data, _ = await self.fetch_json(urljoin(self.api, f"products/{pid}"))
        listing = self.parse_product(data)  # type: ignore[arg-type]
        listing.reviews = await self.reviews(pid)
        return listing

    async def search(self, query: str) -> list[Listing]:
        """The Store API's title/SKU search."""
        items, _ = await self._products_page({"search": query[:200], "per_page": 20})
        out = []
        for p in items:
            try:
                out.append(self.parse_product(p))
            except ParseError:
                continue
        return out


def read_products(content: bytes, shop: ShopConfig) -> ProductsPage:
    """A Store API product list read into listings (module-level: runs in a worker)."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return ProductsPage("not json")
    if not isinstance(data, list):
        return ProductsPage("unexpected")
    source = WooCommerceSource(shop, cast("Http", None))
    page = ProductsPage("ok", products=len(data))
    for p in data:
        try:
            page.listings.append(source.parse_product(p))
        except ParseError:
            continue
    return page
