"""``watcher inspect``: fetch one listing or shop page and show what watcher extracts, so a
user can try a site or their selectors before adding it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from loguru import logger

from watcher.app import config_urls, http_settings
from watcher.config import Config, ShopConfig, Url, check_url
from watcher.errors import FetchError, ParseError
from watcher.http import Http
from watcher.sources import source_kinds
from watcher.sources.html import HtmlSource, PageReading


def _host(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _matching_shop(config: Config | None, url: str) -> ShopConfig | None:
    """The configured shop or marketplace ``url`` belongs to: the one whose ``url`` is the
    longest prefix of it, else one on the same host (``www.`` ignored), so a shop's
    selectors apply to every page of its site."""
    if config is None:
        return None
    shops = [*config.shops, *(m.as_shop() for m in config.marketplaces)]
    prefixed = [s for s in shops if url.startswith(s.url.rstrip("/"))]
    if prefixed:
        return max(prefixed, key=lambda s: len(s.url.rstrip("/")))
    host = _host(url)
    for shop in shops:
        urls = [shop.url, shop.search_url or "", shop.top_url or ""]
        if host and any(_host(u) == host for u in urls if u):
            return shop
    return None


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


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def describe_reading(reading: PageReading, *, suggest: bool) -> dict[str, Any]:
    """What ``inspect`` adds to a product page's listing: where the price came from; when
    there is none, why, and the CSS selectors that would read the page (always with
    ``suggest``), also as a ``[shops.selectors]`` block to paste into the config."""
    out: dict[str, Any] = {"price_from": reading.source or None}
    seen = reading.seen
    if reading.listing.price is None:
        out["no_price"] = "no price in structured data (JSON-LD, microdata, OpenGraph)" + (
            f"; on the page: {seen.why}" if seen.why else ""
        )
    if suggest or reading.listing.price is None:
        selectors = dict(seen.selectors)
        out["suggested_selectors"] = selectors
        if selectors:
            lines = [f"{k} = {_toml_string(v)}" for k, v in selectors.items()]
            out["suggested_config"] = "[shops.selectors]\n" + "\n".join(lines)
        else:
            out["suggested_config"] = None
    return out


async def inspect_url(
    url: str,
    *,
    kind: str | None,
    config: Config | None,
    catalog: bool,
    suggest: bool = False,
) -> dict[str, Any]:
    """The extracted listing (or catalog) of ``url`` as JSON-ready data; for an HTML
    product page also where its price came from and, when it has none (or with
    ``suggest``), why and the selectors that would read it."""
    check_url(url, "URL")
    kinds = source_kinds()
    if kind is not None and kind not in kinds:
        raise ParseError(f"unknown kind {kind!r} (one of: {', '.join(kinds)})")
    settings = http_settings(config) if config else None
    trusted = [url, *(config_urls(config) if config else [])]
    async with Http(settings, trusted=trusted) as http:
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
                if isinstance(src, HtmlSource):
                    reading = src.read_page(await src.fetch(url), url)
                    return {
                        "kind": kind,
                        "listing": reading.listing.to_json(),
                        **describe_reading(reading, suggest=suggest),
                    }
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
