"""Structured data (JSON-LD, microdata, OpenGraph) -> Listings, on fixtures and hostile input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.errors import ParseError
from watcher.sources.structured import (
    MAX_IMAGES,
    MAX_REVIEWS,
    availability,
    extract_catalog,
    extract_item_list,
    extract_products,
    load_json,
    parse_date,
    to_five,
)

PAGES = Path(__file__).parent / "data" / "pages"
BASE = "https://rival-a.example/products/floral-dress?utm=1"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def ld(*blocks: object, head: str = "", attrs: str = 'type="application/ld+json"') -> str:
    scripts = "".join(
        f"<script {attrs}>{b if isinstance(b, str) else json.dumps(b)}</script>" for b in blocks
    )
    return f"<html><head>{head}{scripts}</head><body><p>x</p></body></html>"


def one(html: str | bytes, base: str = "https://shop.example/p/1") -> object:
    items = extract_products(html, base)
    assert len(items) == 1, items
    return items[0]


def test_jsonld_graph_product_with_references_and_reviews() -> None:
    (p,) = extract_products(page("product_jsonld.html"), BASE)
    assert p.ref == "FD-2024-S"  # sku is the stable id
    assert p.url == "https://rival-a.example/products/floral-dress"  # canonical
    assert p.title == "碎花连衣裙 夏季新款 & 收腰"
    # the cheaper offer is out of stock: price is the cheapest orderable one
    assert (p.price, p.currency, p.available) == (99.0, "CNY", True)
    assert p.compare_at == 159.0
    assert p.images == [
        "https://rival-a.example/cdn/floral-1.jpg",
        "https://rival-a.example/cdn/floral-2.jpg",
    ]
    assert p.rating == pytest.approx(1 + 7.6 * 4 / 9, abs=0.01)  # 8.6 on 1-10
    assert p.rating_count == 1204  # ratingCount wins over reviewCount
    assert p.product_type == "女装 > 连衣裙"
    assert p.description == "轻薄雪纺， 夏季 必备。"
    assert p.published_at == datetime(2024, 4, 2, tzinfo=UTC)
    assert p.reviews is not None and len(p.reviews) == 3
    first, second, third = p.reviews
    assert first.id == "https://rival-a.example/products/floral-dress#review-1"
    assert (first.author, first.rating, first.text) == ("阿珍", 5.0, "质量很好， 会回购")
    assert first.published_at == datetime(2024, 5, 1, 20, tzinfo=timezone(timedelta(hours=8)))
    assert second.rating == pytest.approx(1 + 1 * 4 / 9, abs=0.01)  # 2 of 1-10
    assert second.published_at == datetime(2024, 5, 3, 9, 30, tzinfo=UTC)  # naive -> UTC
    assert (third.author, third.text, third.rating) == ("Lily", "Lovely fabric & fit", 5.0)


def test_microdata_only_page() -> None:
    (p,) = extract_products(page("product_microdata.html"), "https://rival-b.example/p/x")
    assert p.title == "Linen Shirt Summer edition"
    assert p.ref == "LS-01"
    assert p.url == "https://rival-b.example/p/linen-shirt"
    assert (p.price, p.currency, p.available) == (1299.0, "CZK", True)  # content= wins
    assert p.images == ["https://rival-b.example/img/linen-1.jpg"]
    assert (p.rating, p.rating_count) == (4.5, 12)
    assert p.description == "Breathable linen."
    assert p.reviews is not None and len(p.reviews) == 1
    r = p.reviews[0]
    assert (r.author, r.rating, r.text) == ("Jan", 2.0, "Shrank after one wash.")
    assert r.published_at == datetime(2024, 6, 1, tzinfo=UTC)


def test_opengraph_only_page_money_format() -> None:
    (p,) = extract_products(page("product_og.html"), "https://rival-c.example/x")
    assert p.title == "Straw Hat & Ribbon"
    assert p.url == p.ref == "https://rival-c.example/products/straw-hat"
    assert (p.price, p.currency) == (1299.0, "CNY")
    assert p.images[0] == "http://rival-c.example/cdn/hat.jpg"
    assert p.reviews == []


def test_opengraph_without_product_signals_is_not_a_product() -> None:
    html = '<head><meta property="og:title" content="About us"><meta property="og:type" content="website"></head>'
    assert extract_products(html, "https://shop.example/about") == []


def test_malformed_blocks_do_not_stop_the_others() -> None:
    (p,) = extract_products(page("malformed_jsonld.html"), "https://rival-d.example/")
    assert p.title == "Sun Glasses Polarised"  # raw tab in a string, trailing commas, <!-- -->
    assert p.url == "https://rival-d.example/p/sun-glasses"
    assert p.price is None  # "1.299" USD is ambiguous: dropped, not guessed
    assert p.available is True  # bare "InStock"
    assert (p.rating, p.rating_count) == (4.2, 7)


def test_script_tag_variants() -> None:
    product = {"@type": "Product", "name": "A", "offers": {"price": 5, "priceCurrency": "USD"}}
    for attrs in (
        'type="application/ld+json"',
        "TYPE='application/ld+json'",
        "type=application/ld+json",
        'id="x" type = "application/ld+json; charset=utf-8" nonce="abc"',
        'type="Application/LD+JSON"',
    ):
        assert one(ld(product, attrs=attrs)).title == "A", attrs  # type: ignore[attr-defined]
    # text that merely mentions ld+json is no block
    js = "<script>var s='script[type=\"application/ld+json\"]';</script>"
    assert extract_products(f"<html><head>{js}</head></html>", "https://shop.example/") == []


def test_array_and_type_list_and_nested_main_entity() -> None:
    html = ld(
        [
            {"@type": "Organization", "name": "Shop"},
            {
                "@type": "ItemPage",
                "mainEntity": {"@type": ["Thing", "schema:Product"], "name": "B"},
            },
        ]
    )
    assert one(html).title == "B"  # type: ignore[attr-defined]


def test_product_group_variants() -> None:
    group = {
        "@type": "ProductGroup",
        "name": "Tee",
        "productGroupID": "T1",
        "image": "/g.jpg",
        "hasVariant": [
            {
                "@type": "Product",
                "name": "Tee S",
                "image": "/s.jpg",
                "offers": {"price": "19.00", "priceCurrency": "EUR", "availability": "SoldOut"},
            },
            {
                "@type": "Product",
                "name": "Tee M",
                "offers": {
                    "@type": "Offer",
                    "priceSpecification": {"price": "21.50", "priceCurrency": "EUR"},
                    "availability": "https://schema.org/PreOrder",
                },
            },
        ],
    }
    p = one(ld(group))
    assert p.title == "Tee"  # type: ignore[attr-defined]
    assert (p.price, p.currency, p.available) == (21.5, "EUR", True)  # type: ignore[attr-defined]
    assert p.images == ["https://shop.example/g.jpg", "https://shop.example/s.jpg"]  # type: ignore[attr-defined]


def test_all_offers_out_of_stock_keeps_cheapest_price() -> None:
    offers = [
        {"price": 30, "priceCurrency": "USD", "availability": "OutOfStock"},
        {"price": 25, "priceCurrency": "USD", "availability": "http://schema.org/Discontinued"},
    ]
    p = one(ld({"@type": "Product", "name": "X", "offers": offers}))
    assert (p.price, p.available) == (25.0, False)  # type: ignore[attr-defined]


def test_aggregate_offer_low_price() -> None:
    offer = {"@type": "AggregateOffer", "lowPrice": "59", "highPrice": "99", "priceCurrency": "CNY"}
    p = one(ld({"@type": "Product", "name": "X", "offers": offer}))
    assert (p.price, p.currency, p.available) == (59.0, "CNY", None)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://schema.org/InStock", True),
        ("http://schema.org/LimitedAvailability", True),
        ("OnlineOnly", True),
        ("InStoreOnly", True),
        ("PreOrder", True),
        ("PreSale", True),
        ("BackOrder", True),
        ("MadeToOrder", True),
        ("schema:OutOfStock", False),
        ("SoldOut", False),
        ("https://schema.org/Discontinued/", False),
        ("in stock", True),
        ("out of stock", False),
        ({"@id": "https://schema.org/InStock"}, True),
        ("Whatever", None),
        (None, None),
        (5, None),
    ],
)
def test_availability(value: object, expected: bool | None) -> None:
    assert availability(value) is expected


@pytest.mark.parametrize(
    ("value", "best", "worst", "expected"),
    [
        (4, None, None, 4.0),
        ("4,5", None, None, 4.5),
        (10, 10, None, 5.0),
        (1, 10, None, 1.0),
        (80, 100, 0, 4.0),
        (3, 5, 0, 3.0),
        (6, 5, None, 5.0),  # a little over the scale: clamped
        ("x", None, None, None),
        (3, 1, 5, None),  # best below worst
        (float("nan"), None, None, None),
    ],
)
def test_to_five(value: object, best: object, worst: object, expected: float | None) -> None:
    assert to_five(value, best, worst) == expected


def test_reviews_authors_ids_and_caps() -> None:
    reviews = [
        {
            "@type": "Review",
            "url": f"/r/{i}",
            "author": {"@type": "Person", "name": f"u{i}"},
            "reviewBody": f"text {i}",
            "reviewRating": {"ratingValue": 3},
        }
        for i in range(MAX_REVIEWS + 50)
    ]
    images = [f"/i/{i}.jpg" for i in range(MAX_IMAGES + 30)]
    p = one(ld({"@type": "Product", "name": "X", "review": reviews, "image": images}))
    assert len(p.reviews) == MAX_REVIEWS  # type: ignore[attr-defined]
    assert len(p.images) == MAX_IMAGES  # type: ignore[attr-defined]
    assert p.reviews[0].id == "https://shop.example/r/0"  # type: ignore[attr-defined]
    assert p.reviews[0].author == "u0"  # type: ignore[attr-defined]


def test_merge_fills_gaps_from_opengraph_and_microdata() -> None:
    head = (
        '<meta property="og:title" content="OG name">'
        '<meta property="og:image" content="/og.jpg">'
        '<meta property="product:price:amount" content="1.299,00">'
        '<meta property="product:price:currency" content="EUR">'
    )
    p = one(ld({"@type": "Product", "name": "LD name"}, head=head))
    assert p.title == "LD name"  # type: ignore[attr-defined]
    assert (p.price, p.currency) == (1299.0, "EUR")  # type: ignore[attr-defined]
    assert p.images == ["https://shop.example/og.jpg"]  # type: ignore[attr-defined]

    microdata = (
        '<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">MD</span>'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<meta itemprop="price" content="7.50"><meta itemprop="priceCurrency" content="GBP">'
        "</div></div>"
    )
    html = ld({"@type": "Product", "name": "LD"}).replace("<p>x</p>", microdata)
    p = one(html)
    assert (p.title, p.price, p.currency) == ("LD", 7.5, "GBP")  # type: ignore[attr-defined]


def test_duplicate_blocks_of_one_product_merge() -> None:
    a = {"@type": "Product", "name": "A", "url": "/p/a", "image": "/a.jpg"}
    b = {
        "@type": "Product",
        "name": "A full",
        "url": "/p/a",
        "offers": {"price": 3, "priceCurrency": "USD"},
    }
    (p,) = extract_products(ld(a, b), "https://shop.example/p/a")
    assert (p.title, p.price, p.images) == ("A", 3.0, ["https://shop.example/a.jpg"])


def test_hostile_json_values() -> None:
    deep = "[" * 5000 + "]" * 5000
    html = ld(
        deep,
        '{"@type": "Product", "name": "N", "offers": {"price": 1e999, "priceCurrency": "USD"}}',
        '{"@type": "Product", "name": "M", "offers": {"price": NaN}, "aggregateRating": {"ratingValue": '
        + "9" * 5000
        + "}}",
        '{"@type": "Product", "name": ["L", 1], "image": {"url": ["/l.jpg"]}, "offers": {"price": 12345678901234567890}}',
        '"{\\"@type\\": \\"Product\\", \\"name\\": \\"Double\\"}"',
        "{&quot;@type&quot;: &quot;Product&quot;, &quot;name&quot;: &quot;Escaped&quot;}",
    )
    titles = [p.title for p in extract_products(html, "https://shop.example/")]
    assert titles == ["N", "L", "Double", "Escaped"]  # the 5000-digit number kills block M
    assert all(p.price is None for p in extract_products(html, "https://shop.example/"))


def test_urls_are_resolved_and_only_http() -> None:
    product = {
        "@type": "Product",
        "name": "X",
        "url": "javascript:alert(1)",
        "image": ["data:image/png;base64,xx", "//cdn.example/a.jpg", "ftp://x/y.jpg", "b.jpg"],
    }
    p = one(ld(product), "https://shop.example/dir/page")
    assert p.url == "https://shop.example/dir/page"  # type: ignore[attr-defined]
    assert p.images == ["https://cdn.example/a.jpg", "https://shop.example/dir/b.jpg"]  # type: ignore[attr-defined]


def test_gbk_bytes_are_decoded_by_meta_charset() -> None:
    html = '<html><head><meta charset="gbk">' + ld({"@type": "Product", "name": "纯棉T恤"})[12:]
    assert one(html.encode("gbk")).title == "纯棉T恤"  # type: ignore[attr-defined]
    assert one(html.encode("gbk")[:0] + html.encode("utf-16")).title == "纯棉T恤"  # type: ignore[attr-defined]


def test_item_list_in_position_order() -> None:
    urls = extract_item_list(page("catalog_jsonld.html"), "https://rival-a.example/best")
    assert urls == [
        "https://rival-a.example/products/a#top",
        "https://rival-a.example/products/b",
        "https://rival-a.example/products/c",
    ]
    items = extract_catalog(page("catalog_jsonld.html"), "https://rival-a.example/best")
    assert [(i.title, i.price) for i in items] == [
        ("Top Dress", 129.0),
        ("Second", None),
        ("", None),
    ]
    assert all(i.reviews is None for i in items)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024/05/01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024年5月1日", datetime(2024, 5, 1, tzinfo=UTC)),
        ("May 1, 2024", datetime(2024, 5, 1, tzinfo=UTC)),
        ("yesterday", None),
        ("0001-01-01", None),
        ("20240501", datetime(2024, 5, 1, tzinfo=UTC)),  # ISO 8601 basic format
        (None, None),
    ],
)
def test_parse_date(text: object, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_load_json_repairs() -> None:
    assert load_json('<!-- {"a": [1, 2,],} -->') == [{"a": [1, 2]}]
    assert load_json('/*<![CDATA[*/ {"a": 1} /*]]>*/') == [{"a": 1}]
    assert load_json('{"a": "x\ny"}') == [{"a": "x\ny"}]
    assert load_json('{"a": 1}{"b": 2}') == [{"a": 1}, {"b": 2}]
    assert load_json('"plain"') == []
    assert load_json("{") == []


def test_bad_base_url_is_a_parse_error() -> None:
    for base in ("", "/relative", "ftp://x/", "http://[::1"):
        with pytest.raises(ParseError):
            extract_products("<html></html>", base)


FIXTURES = sorted(p.read_bytes() for p in PAGES.glob("*.html"))


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.one_of(st.text(max_size=3000), st.binary(max_size=3000)))
def test_fuzz_arbitrary_input_never_raises(data: str | bytes) -> None:
    for html in (data, ld(data) if isinstance(data, str) else data):
        assert isinstance(extract_products(html, "https://shop.example/p"), list)
        assert isinstance(extract_item_list(html, "https://shop.example/p"), list)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FIXTURES)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["delete", "insert", "flip", "dup"]))
        i = draw(st.integers(0, len(data)))
        if op == "delete":
            del data[i : i + draw(st.integers(1, 40))]
        elif op == "insert":
            junk = draw(
                st.one_of(
                    st.binary(max_size=20),
                    st.sampled_from(
                        [
                            b"{",
                            b"}",
                            b"]",
                            b",",
                            b'"',
                            b"</script>",
                            b"<!--",
                            b"\x00",
                            b"\xff\xfe",
                            b"NaN",
                            b"1e999",
                            b'{"@id":"#x"}',
                            b"ld+json",
                        ]
                    ),
                )
            )
            data[i:i] = junk
        elif op == "flip" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 200))]
    return bytes(data)


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated_fixture())
def test_fuzz_mutated_fixtures_never_raise(data: bytes) -> None:
    for listing in extract_products(data, "https://rival-a.example/p/1"):
        assert listing.url.startswith(("http://", "https://"))
        assert all(u.startswith(("http://", "https://")) for u in listing.images)
        assert listing.reviews is not None and len(listing.reviews) <= MAX_REVIEWS
    extract_item_list(data, "https://rival-a.example/p/1")
    text = data.decode("utf-8", "replace")
    extract_products(text, "https://rival-a.example/p/1")


def test_urls_with_tabs_and_newlines_are_cleaned() -> None:
    from watcher.sources.structured import absolute_url

    assert absolute_url("http\t://x.example/p", "https://b.example/") == "http://x.example/p"
    assert absolute_url("java\nscript:alert(1)", "https://b.example/") is None
    assert absolute_url("/p/\n1", "https://b.example/") == "https://b.example/p/1"


def test_jsonld_text_is_literal_and_only_descriptions_lose_markup() -> None:
    p = one(
        ld(
            {
                "@type": "Product",
                "name": "Mug <350ml> ceramic",
                "description": "<p>Holds <b>350 ml</b></p>",
                "review": [
                    {"@type": "Review", "reviewBody": "a<b and c>d", "reviewRating": 2},
                    {"@type": "Review", "reviewBody": 'Bike 16" <for 4-6 yrs> &amp; bell'},
                    {
                        "@type": "Review",
                        "reviewBody": '<p>Fits <350ml>,<br/> <a href="/x">see</a></p>',
                    },
                ],
            }
        )
    )
    assert p.title == "Mug <350ml> ceramic"  # type: ignore[attr-defined]
    assert p.description == "Holds 350 ml"  # type: ignore[attr-defined]
    texts = [r.text for r in p.reviews]  # type: ignore[attr-defined]
    assert texts == ["a<b and c>d", 'Bike 16" <for 4-6 yrs> & bell', "Fits <350ml>, see"]


def test_microdata_text_from_the_dom_keeps_what_the_page_shows() -> None:
    html = (
        '<html><body><div itemscope itemtype="https://schema.org/Product">'
        '<h1 itemprop="name">Bike 16" &lt;for 4-6 yrs&gt;</h1>'
        '<span itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<meta itemprop="price" content="99"><meta itemprop="priceCurrency" content="EUR">'
        "</span></div></body></html>"
    )
    assert one(html).title == 'Bike 16" <for 4-6 yrs>'  # type: ignore[attr-defined]


def test_node_that_repeats_its_ancestors_id_with_more_keys() -> None:
    # a real shop page nests the product's @id again inside it, with extra fields; merging
    # those into the ancestor while it was being walked raised RuntimeError
    block = {
        "@context": "https://schema.org",
        "@id": "https://shop.example/p/1#product",
        "@type": "Product",
        "name": "Kettle",
        "offers": {"@type": "Offer", "price": "19.90", "priceCurrency": "EUR"},
        "isRelatedTo": {"@id": "https://shop.example/p/1#product", "sku": "K-1"},
    }
    html = f'<script type="application/ld+json">{json.dumps(block)}</script>'
    (p,) = extract_products(html, "https://shop.example/p/1")
    assert (p.title, p.price, p.currency, p.ref) == ("Kettle", 19.9, "EUR", "K-1")


def test_charset_declared_late_or_wrong() -> None:
    # a saved GBK page (Tmall) puts kilobytes of scripts before its <meta charset="gbk">
    scripts = "<script src='https://g.alicdn.com/x.js'></script>" * 200
    gbk = (
        f"<html><head>{scripts}<meta charset='gbk'><title>苹果11 手机</title>"
        '<meta property="og:title" content="苹果11 手机"><meta property="og:type" content="product">'
        '<meta property="product:price:amount" content="5499.00"></head><body></body></html>'
    ).encode("gbk")
    (p,) = extract_products(gbk, "https://detail.tmall.com/item.htm?id=1")
    assert (p.title, p.price) == ("苹果11 手机", 5499.0)
    # a Latin-1 declaration over UTF-8 bytes (a common server misconfiguration) is UTF-8
    latin = (
        '<html><head><meta charset="iso-8859-1"><meta property="og:title" content="Größe M – Hülle">'
        '<meta property="product:price:amount" content="9.99"></head></html>'
    ).encode()
    (p,) = extract_products(latin, "https://shop.example/p/1")
    assert p.title == "Größe M – Hülle"
