"""``watcher inspect``: fetch one listing or shop page and show what watcher extracts, so a
user can try a site or their selectors before adding it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from loguru import logger

from watcher.app import http_settings
from watcher.config import Config, ShopConfig, Url, check_url
from watcher.errors import FetchError, ParseError
from watcher.http import Http
from watcher.sources import source_kinds


def _matching_shop(config: Config | None, url: str) -> ShopConfig | None:
    if config is None:
        return None
    best: ShopConfig | None = None
    for shop in [*config.shops, *(m.as_shop() for m in config.marketplaces)]:
        base = shop.url.rstrip("/")
        if url.startswith(base) and (best is None or len(base) > len(best.url.rstrip("/"))):
            best = shop
    return best


def default_shop(url: str, kind: str, *, currency: str | None = None) -> ShopConfig:
    """The shop ``watcher inspect`` reads ``url`` as when no configured shop matches it:
    named after its host, no selectors."""
    parts = urlsplit(url)
    return ShopConfig(
        name=parts.netloc,
        kind=kind,
        url=Url(f"{parts.scheme}://{parts.netloc}/"),
        currency=currency,
    )


async def guess_kind(http: Http, url: str) -> str:
    """Which source kind ``url`` looks like: Shopify and WooCommerce answer their JSON
    endpoints; anything else is ``html``."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    try:
        data, _ = await http.get_json(origin + "products.json", params={"limit": 1})
        if isinstance(data, dict) and isinstance(data.get("products"), list):
            return "shopify"
    except FetchError:
        pass
    try:
        data, _ = await http.get_json(
            origin + "wp-json/wc/store/v1/products", params={"per_page": 1}
        )
        if isinstance(data, list):
            return "woocommerce"
    except FetchError:
        pass
    return "html"


async def inspect_url(
    url: str, *, kind: str | None, config: Config | None, catalog: bool
) -> dict[str, Any]:
    """The extracted listing (or catalog) of ``url`` as JSON-ready data."""
    check_url(url, "URL")
    kinds = source_kinds()
    if kind is not None and kind not in kinds:
        raise ParseError(f"unknown kind {kind!r} (one of: {', '.join(kinds)})")
    settings = http_settings(config) if config else None
    async with Http(settings) as http:
        shop = _matching_shop(config, url)
        kind = kind or (shop.kind if shop else None) or await guess_kind(http, url)
        parts = urlsplit(url)
        if shop is None or shop.kind != kind:
            shop = default_shop(url, kind, currency=shop.currency if shop else None)
        if catalog:
            shop.url = Url(url)
        src = kinds[kind](shop, http, robots=False)
        is_root = parts.path in ("", "/")
        if not catalog and not is_root:
            try:
                listing = await src.listing(url)
                return {"kind": kind, "listing": listing.to_json()}
            except ParseError as e:
                if kind != "html":
                    raise
                logger.info("not a product page ({}); reading it as a catalog", e)
                shop.url = Url(url)
        cat = await src.catalog()
        return {
            "kind": kind,
            "complete": cat.complete,
            "note": cat.note,
            "count": len(cat.listings),
            "listings": [x.to_json() for x in cat.listings],
        }
