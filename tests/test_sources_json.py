"""Shopify and WooCommerce record parsing, on payloads shaped like the real APIs."""

from __future__ import annotations

import httpx
import pytest

from watcher.config import ShopConfig, Url
from watcher.errors import ParseError
from watcher.http import Http
from watcher.sources.shopify import ShopifySource
from watcher.sources.woocommerce import WooCommerceSource


def _shop(kind: str, currency: str | None = "USD") -> ShopConfig:
    return ShopConfig(name="S", kind=kind, url=Url("https://s.example"), currency=currency)


SHOPIFY_PRODUCT = {
    "id": 632910392,
    "title": "IPod Nano - 8GB",
    "handle": "ipod-nano",
    "body_html": "<p>It's the <strong>small</strong> iPod.</p>",
    "published_at": "2026-11-02T10:00:00-05:00",
    "created_at": "2026-10-01T10:00:00-05:00",
    "vendor": "Apple",
    "product_type": "Cult Products",
    "tags": "Emotive, Flash Memory, MP3",
    "variants": [
        {"id": 1, "price": "199.00", "compare_at_price": "", "available": False},
        {"id": 2, "price": "189.00", "compare_at_price": "219.00", "available": True},
    ],
    "images": [
        {"id": 2, "src": "//cdn.shopify.com/b.jpg", "position": 2},
        {"id": 1, "src": "https://cdn.shopify.com/a.jpg", "position": 1},
    ],
}


def test_shopify_product_admin_shape() -> None:
    src = ShopifySource(_shop("shopify"), Http())
    item = src.parse_product(SHOPIFY_PRODUCT)
    assert item.ref == "632910392" and item.url == "https://s.example/products/ipod-nano"
    assert (item.price, item.compare_at, item.currency, item.available) == (
        189.0,
        219.0,
        "USD",
        True,
    )
    assert item.images == ["https://cdn.shopify.com/a.jpg", "https://cdn.shopify.com/b.jpg"]
    assert item.tags == ["Emotive", "Flash Memory", "MP3"]
    assert item.description == "It's the small iPod."
    assert item.published_at is not None and item.published_at.utcoffset() is not None


def test_shopify_products_json_shape_and_stock_out() -> None:
    src = ShopifySource(_shop("shopify"), Http())
    p = {
        **SHOPIFY_PRODUCT,
        "tags": ["a", "b"],
        "variants": [{"id": 1, "price": "5.00", "compare_at_price": None, "available": False}],
    }
    item = src.parse_product(p)
    assert (
        item.tags == ["a", "b"]
        and item.available is False
        and item.price == 5.0
        and item.compare_at is None
    )
    with pytest.raises(ParseError):
        src.parse_product({"id": 1})


WOO_PRODUCT = {
    "id": 34,
    "name": "Beanie &amp; Scarf",
    "permalink": "https://s.example/product/beanie/",
    "description": "<p>Warm.</p>",
    "on_sale": True,
    "prices": {
        "currency_code": "EUR",
        "currency_minor_unit": 2,
        "price": "1800",
        "regular_price": "2000",
        "sale_price": "1800",
    },
    "average_rating": "4.50",
    "review_count": 2,
    "images": [
        {"id": 1, "src": "https://s.example/beanie.jpg"},
        {"id": 2, "src": "javascript:alert(1)"},
    ],
    "categories": [{"id": 1, "name": "Accessories", "slug": "acc"}],
    "tags": [{"id": 2, "name": "winter", "slug": "winter"}],
    "is_in_stock": True,
}


def test_woocommerce_minor_units_and_entities() -> None:
    src = WooCommerceSource(_shop("woocommerce", None), Http())
    item = src.parse_product(WOO_PRODUCT)
    assert item.title == "Beanie & Scarf"
    assert (item.price, item.compare_at, item.currency) == (18.0, 20.0, "EUR")
    assert item.rating == 4.5 and item.rating_count == 2
    assert item.images == ["https://s.example/beanie.jpg"]
    assert item.tags == ["winter", "Accessories"] and item.product_type == "Accessories"
    zero = src.parse_product(
        {
            **WOO_PRODUCT,
            "prices": {**WOO_PRODUCT["prices"], "currency_minor_unit": 0, "price": "1800"},
        }
    )
    assert zero.price == 1800.0


async def test_woocommerce_catalog_pagination_and_partial() -> None:
    pages = {1: [WOO_PRODUCT], 2: [{**WOO_PRODUCT, "id": 35}]}
    fail_page_2 = False

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        if page == 2 and fail_page_2:
            return httpx.Response(500)
        return httpx.Response(
            200, json=pages[page], headers={"X-WP-TotalPages": "2", "X-WP-Total": "2"}
        )

    async with Http(transport=httpx.MockTransport(handler)) as http:
        http.settings.retries = 0
        src = WooCommerceSource(_shop("woocommerce"), http)
        cat = await src.catalog()
        assert cat.complete and [x.ref for x in cat.listings] == ["34", "35"]
        fail_page_2 = True
        cat = await src.catalog()
        assert not cat.complete and [x.ref for x in cat.listings] == ["34"]


def test_woocommerce_review_html_is_markup_and_the_name_keeps_angle_brackets() -> None:
    src = WooCommerceSource(_shop("woocommerce", None), Http())
    item = src.parse_product({**WOO_PRODUCT, "name": "Mug &lt;350ml&gt; ceramic"})
    assert item.title == "Mug <350ml> ceramic"
