"""The sample marketplace over real sockets: formats, headers, timeline, images, faults."""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
import tomllib
import zlib
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from watcher.demo import FAULT_MODES, Marketplace, faults
from watcher.demo.catalog import COPY_SELLER, FAWN, FENGSHANG, MARKET, OWN, URBAN
from watcher.demo.timeline import (
    FAWN_COPY_TITLE,
    REVIEW_1STAR,
    REVIEW_4STAR,
    REVIEW_5STAR_COMPLAINT,
    REVIEW_EDITED_ID,
    REVIEW_EDITED_TEXT,
)
from watcher.images import image_hash

LD = re.compile(r'<script type="application/ld\+json">\s*(.*?)\s*</script>', re.S)


@pytest.fixture(scope="module")
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def ld_product(html: str) -> dict:
    """The Product object of a page's JSON-LD (plain object or inside @graph)."""
    for block in LD.findall(html):
        data = json.loads(block)
        for node in data.get("@graph", [data]):
            if node.get("@type") == "Product":
                return node
    raise AssertionError("no Product in JSON-LD")


class phash(int):  # reads like imagehash.phash: ``a - b`` is the distance
    """The full-frame 64-bit pHash of :func:`watcher.images.image_hash`."""

    def __new__(cls, data: bytes) -> phash:
        full = image_hash(data)
        assert full is not None
        return super().__new__(cls, int(full[:16], 16))

    def __sub__(self, other: int) -> int:  # type: ignore[override]
        return (self ^ other).bit_count()


# --- Shopify ------------------------------------------------------------------------------


def test_shopify_products_json_fields_and_pagination(market: Marketplace, client: httpx.Client):
    own = market.shop(OWN)
    r = client.get(own.base + "products.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    products = r.json()["products"]
    assert len(products) == 12  # default limit 30, one short page
    p = products[0]
    for key in (
        "id",
        "title",
        "handle",
        "body_html",
        "published_at",
        "created_at",
        "updated_at",
        "vendor",
        "product_type",
        "tags",
        "variants",
        "images",
        "options",
    ):
        assert key in p
    assert isinstance(p["tags"], list)
    v = p["variants"][0]
    assert re.fullmatch(r"\d+\.\d\d", v["price"]) and v["compare_at_price"] is None
    assert isinstance(v["available"], bool) and "grams" in v and "featured_image" in v
    img = p["images"][0]
    assert img["src"].startswith(own.base + "cdn/") and img["width"] > 0 and "variant_ids" in img
    pages = [
        client.get(own.base + "products.json", params={"limit": 5, "page": n}).json()
        for n in (1, 2, 3, 4)
    ]
    assert [len(x["products"]) for x in pages] == [5, 5, 2, 0]
    ids = [x["id"] for page in pages for x in page["products"]]
    assert len(set(ids)) == 12
    r = client.get(own.base + "products.json", params={"limit": 250, "page": 101})
    assert r.status_code == 400
    assert r.json() == {"errors": "Page * Limit exceeds the 25000 limit."}


def test_shopify_product_json_is_admin_shaped(market: Marketplace, client: httpx.Client):
    own = market.shop(OWN)
    r = client.get(own.base + "products/pearl-hair-clip-set.json")
    product = r.json()["product"]
    assert isinstance(product["tags"], str) and "," in product["tags"]
    assert product["variants"][0]["compare_at_price"] == ""
    assert client.get(own.base + "products/nope.json").status_code == 404


def test_shopify_product_page_has_reviews_in_json_ld(market: Marketplace, client: httpx.Client):
    own = market.shop(OWN)
    r = client.get(own.base + "products/high-waist-wide-leg-trousers")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert 30_000 <= len(r.content) <= 110_000
    p = ld_product(r.text)
    assert p["name"] == "高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers"
    assert p["offers"][0]["price"] == 169.0 and p["offers"][0]["priceCurrency"] == "CNY"
    assert p["offers"][0]["availability"].endswith("InStock")
    assert p["aggregateRating"]["reviewCount"] == 4
    ids = [x["@id"] for x in p["review"]]
    assert len(set(ids)) == 4 and all(i.endswith(tuple("0123456789")) for i in ids)
    first = p["review"][-1]
    assert first["reviewRating"] == {"@type": "Rating", "ratingValue": 5, "bestRating": 5}
    assert first["author"]["name"] == "晓晓" and first["datePublished"]


def test_shopify_best_selling_and_search(market: Marketplace, client: httpx.Client):
    own = market.shop(OWN)
    r = client.get(own.base + "collections/all", params={"sort_by": "best-selling"})
    handles = list(dict.fromkeys(re.findall(r'href="/products/([^"?]+)"', r.text)))
    assert handles[:5] == [
        "camellia-embroidered-silk-blouse",
        "high-waist-wide-leg-trousers",
        "wool-blend-plaid-midi-skirt",
        "french-floral-tea-dress",
        "pearl-hair-clip-set",
    ]
    r = client.get(own.base + "collections/all", params={"sort_by": "price-ascending"})
    assert re.findall(r'href="/products/([^"?]+)"', r.text)[0] == "vintage-gold-hoop-earrings"
    urban = market.shop(URBAN)
    r = client.get(
        urban.base + "search/suggest.json",
        params={
            "q": "merino winter scarf wool",
            "resources[type]": "product",
            "resources[limit]": 10,
        },
    )
    results = r.json()["resources"]["results"]
    assert results["queries"] == []
    hit = results["products"][0]
    assert hit["title"] == "Merino Wool Winter Scarf" and hit["price"] == "49.00"
    for key in (
        "id",
        "handle",
        "url",
        "vendor",
        "type",
        "tags",
        "available",
        "image",
        "price_min",
        "price_max",
        "compare_at_price_min",
        "compare_at_price_max",
    ):
        assert key in hit
    robots = client.get(urban.base + "robots.txt").text
    assert "Disallow: /collections/*sort_by*" in robots and "Allow: /search/" in robots


def test_conditional_get_and_gzip(market: Marketplace, client: httpx.Client):
    url = market.shop(OWN).base + "products.json"
    r = client.get(url)
    assert r.headers["content-encoding"] == "gzip" and r.headers["etag"]
    assert r.headers["last-modified"].endswith("GMT")
    r304 = client.get(url, headers={"If-None-Match": r.headers["etag"]})
    assert r304.status_code == 304 and r304.content == b""
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == r.content


# --- WooCommerce --------------------------------------------------------------------------


def test_woocommerce_store_api(market: Marketplace, client: httpx.Client):
    base = market.shop(FENGSHANG).base + "wp-json/wc/store/v1/"
    r = client.get(base + "products")
    assert r.headers["x-wp-total"] == "30" and r.headers["x-wp-totalpages"] == "3"
    assert 'rel="next"' in r.headers["link"] and len(r.json()) == 10
    last = client.get(base + "products", params={"per_page": 25, "page": 2})
    assert len(last.json()) == 5 and 'rel="prev"' in last.headers["link"]
    bad = client.get(base + "products", params={"per_page": 101})
    assert bad.status_code == 400
    assert bad.json()["code"] == "rest_invalid_param" and "per_page" in bad.json()["data"]["params"]
    p = client.get(base + "products", params={"search": "醋酸缎面半身裙"}).json()[0]
    assert p["name"] == "醋酸缎面半身裙 垂感鱼尾裙" and p["prices"]["price"] == "19900"
    assert p["prices"]["currency_minor_unit"] == 2 and p["prices"]["currency_code"] == "CNY"
    assert p["average_rating"] == "4.00" and p["review_count"] == 2
    assert p["permalink"].endswith("/product/acetate-satin-mermaid-skirt/")
    for key in (
        "sku",
        "description",
        "on_sale",
        "images",
        "categories",
        "tags",
        "attributes",
        "variations",
        "is_in_stock",
        "is_purchasable",
        "low_stock_remaining",
    ):
        assert key in p
    assert set(p["images"][0]) >= {"id", "src", "thumbnail", "alt"}
    one = client.get(base + f"products/{p['id']}").json()
    assert one["id"] == p["id"]
    reviews = client.get(base + "products/reviews", params={"product_id": p["id"]})
    assert reviews.headers["x-wp-total"] == "2"
    rv = reviews.json()[0]
    assert rv["review"].startswith("<p>") and isinstance(rv["rating"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", rv["date_created_gmt"])
    assert rv["product_id"] == p["id"] and "verified" in rv and "reviewer" in rv
    popular = client.get(base + "products", params={"orderby": "popularity", "per_page": 3})
    assert len(popular.json()) == 3
    page = client.get(p["permalink"])
    assert ld_product(page.text)["offers"][0]["price"] == "199.00"


# --- HTML shops and the marketplace -------------------------------------------------------


def test_html_shop_catalog_pages_and_json_ld(market: Marketplace, client: httpx.Client):
    fawn = market.shop(FAWN)
    first = client.get(fawn.url).text
    assert (
        first.count('class="product-card"') == 12
        and '<a class="next" href="/shop/?page=2">' in first
    )
    second = client.get(fawn.base + "shop/", params={"page": 2}).text
    assert second.count('class="product-card"') == 8 and 'class="next"' not in second
    assert "￥59起" in first + second and "¥199.00" in first + second
    agg = ld_product(client.get(fawn.base + "item/20031.html").text)
    assert agg["offers"]["@type"] == "AggregateOffer" and agg["offers"]["lowPrice"] == "59.00"
    graph_page = client.get(fawn.base + "item/20034.html").text
    assert '"@graph"' in graph_page
    assert ld_product(graph_page)["aggregateRating"]["reviewCount"] == 2
    best = client.get(fawn.top_url).text
    assert best.count('class="product-card"') == 12
    assert "直筒休闲裤" in client.get(fawn.base + "search", params={"q": "休闲裤"}).text


def test_marketplace_search_finds_the_existing_copy(market: Marketplace, client: httpx.Client):
    m = market.shop(MARKET)
    url = m.search_url.replace("{query}", "高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers")
    text = client.get(url).text
    cards = re.findall(r'<div class="result">.*?</div>', text)
    assert len(cards) >= 2
    assert "包邮 2027新款 高腰阔腿西装裤" in cards[0] and "￥135.20" in cards[0]
    assert COPY_SELLER in cards[0]
    pid = re.search(r'href="/p/(\d+)"', cards[0]).group(1)
    p = ld_product(client.get(m.base + f"p/{pid}").text)
    assert p["offers"]["price"] == "135.20"


# --- images -------------------------------------------------------------------------------


def test_stolen_photos_match_and_other_photos_do_not(market: Marketplace, client: httpx.Client):
    own = market.shop(OWN)
    products = client.get(own.base + "products.json").json()["products"]
    originals = {p["handle"]: p["images"][0]["src"] for p in products}
    r = client.get(originals["french-floral-tea-dress"])
    assert r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    hashes = {h: phash(client.get(u).content) for h, u in originals.items()}
    for a, b in itertools.combinations(hashes, 2):
        assert hashes[a] - hashes[b] > 20, (a, b)
    market_copy = re.search(
        r'<img src="([^"]+)"',
        client.get(market.shop(MARKET).search_url.replace("{query}", "高腰阔腿西装裤")).text,
    ).group(1)
    seed4 = originals["french-floral-tea-dress"].rsplit("/p", 1)[1].removesuffix(".jpg")
    fawn_copy = market.shop(FAWN).base + f"cdn/s{seed4}-1.jpg"
    for handle, url in (
        ("high-waist-wide-leg-trousers", market_copy),
        ("french-floral-tea-dress", fawn_copy),
    ):
        stolen = client.get(url).content
        assert (
            Image.open(io.BytesIO(stolen)).size
            != Image.open(io.BytesIO(client.get(originals[handle]).content)).size
        )
        h = phash(stolen)
        assert h - hashes[handle] <= 10
        assert all(h - other > 20 for k, other in hashes.items() if k != handle)


# --- timeline -----------------------------------------------------------------------------


def test_timeline_steps(client: httpx.Client):
    with Marketplace() as m:
        own, feng, urban, fawn = (m.shop(n) for n in (OWN, FENGSHANG, URBAN, FAWN))
        urls = [
            own.base + "products.json",
            own.base + "products/camellia-embroidered-silk-blouse",
            feng.base + "wp-json/wc/store/v1/products?per_page=100",
            fawn.url,
            urban.base + "products.json?limit=250",
            m.shop(MARKET).base + "search?q=x",
        ]
        winter = [p for p in client.get(urls[4]).json()["products"] if "winter" in p["tags"]]
        assert len(winter) == 3
        assert m.events(0) and m.step == 0
        assert m.advance() == 1
        blouse = ld_product(client.get(urls[1]).text)
        texts = {r["reviewBody"]: r["reviewRating"]["ratingValue"] for r in blouse["review"]}
        assert texts[REVIEW_1STAR] == 1 and len(texts) == 7
        skirt = ld_product(client.get(own.base + "products/wool-blend-plaid-midi-skirt").text)
        assert skirt["review"][0]["reviewBody"] == REVIEW_5STAR_COMPLAINT
        woo = client.get(urls[2]).json()
        assert len(woo) == 34 and max(p["id"] for p in woo) == 1442
        sale = next(p for p in woo if p["slug"] == "acetate-satin-mermaid-skirt")["prices"]
        assert (sale["price"], sale["regular_price"]) == ("15900", "19900")
        assert FAWN_COPY_TITLE in client.get(urls[3]).text
        tee = client.get(urban.base + "products/organic-cotton-crew-tee.js").json()
        assert tee["available"] is False
        clips = client.get(own.base + "products/pearl-hair-clip-set.json").json()["product"]
        assert clips["variants"][0]["price"] == "99.00"
        before = [client.get(u) for u in urls]
        assert m.advance() == 2 and m.events(2) == ["nothing changes"]
        after = [client.get(u) for u in urls]
        assert [r.content for r in before] == [r.content for r in after]
        assert [r.headers.get("etag") for r in before] == [r.headers.get("etag") for r in after]
        assert m.advance() == 3
        spring = [p for p in client.get(urls[4]).json()["products"] if "spring" in p["tags"]]
        assert len(spring) == 3
        trousers = ld_product(client.get(own.base + "products/high-waist-wide-leg-trousers").text)
        by_id = {r["@id"].rsplit("-", 1)[1]: r for r in trousers["review"]}
        assert by_id[str(REVIEW_EDITED_ID)]["reviewBody"] == REVIEW_EDITED_TEXT
        assert trousers["review"][0]["reviewBody"] == REVIEW_4STAR and len(by_id) == 5
        assert "¥147.00" in client.get(fawn.url).text + client.get(fawn.url + "?page=2").text


# --- faults -------------------------------------------------------------------------------


def test_faults(market: Marketplace, client: httpx.Client):
    base = market.shop(URBAN).base
    url = base + "products.json"
    assert len(FAULT_MODES) == 20
    try:
        market.set_fault(URBAN, "500", count=2)
        assert [client.get(url).status_code for _ in range(3)] == [500, 500, 200]
        market.set_fault(URBAN, "429", paths=r"^/products\.json")
        r = client.get(url)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert client.get(base + "robots.txt").status_code == 200
        market.set_fault(URBAN, "garbage")
        r = client.get(url, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200
        with pytest.raises(ValueError):
            json.loads(r.content)
        market.set_fault(URBAN, "truncated_json")
        with pytest.raises(ValueError):
            client.get(url).json()
        market.set_fault(URBAN, "captcha")
        assert "Verify you are human" in client.get(url).text
        market.set_fault(URBAN, "empty_catalog")
        assert client.get(url).json() == {"products": []}
        market.set_fault(FENGSHANG, "empty_catalog")
        r = client.get(market.shop(FENGSHANG).base + "wp-json/wc/store/v1/products")
        assert r.json() == [] and r.headers["x-wp-total"] == "0"
        market.set_fault(FAWN, "empty_catalog")
        assert 'class="product-card"' not in client.get(market.shop(FAWN).url).text
        market.set_fault(URBAN, "redirect_loop")
        with pytest.raises(httpx.TooManyRedirects):
            client.get(url, follow_redirects=True)
        market.set_fault(URBAN, "bad_image")
        assert client.get(url).status_code == 200
        img = client.get(base + "cdn/p1.jpg")
        with pytest.raises(OSError):
            Image.open(io.BytesIO(img.content))
        market.set_fault(URBAN, "refuse")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(url)
        market.set_fault(URBAN, "huge")
        with client.stream("GET", url) as r:
            assert int(r.headers["content-length"]) == 50 * 1024 * 1024
            got = 0
            for chunk in r.iter_raw():
                got += len(chunk)
                if got > 1_000_000:
                    break
        market.set_fault(URBAN, "gzip_bomb")
        with client.stream("GET", url) as r:
            assert r.headers["content-encoding"] == "gzip"
            assert int(r.headers["content-length"]) < 2_000_000
            inflate, out = zlib.decompressobj(31), 0
            for chunk in r.iter_raw():
                out += len(inflate.decompress(chunk, 10_000_000))
                if out >= 10_000_000:
                    break
            assert out >= 10_000_000
        market.set_fault(URBAN, "timeout", count=1)
        with pytest.raises(httpx.ReadTimeout):
            client.get(url, timeout=0.5)
        with pytest.raises(ValueError):
            market.set_fault(URBAN, "explode")
    finally:
        market.clear_faults()
    assert client.get(url).status_code == 200
    assert market.requests[URBAN] > 10


def test_hostile_faults(market: Marketplace, client: httpx.Client):
    """drip, gzip_stack, huge_images and the rewrites of a normal answer."""
    urban, fawn = market.shop(URBAN), market.shop(FAWN)
    url = urban.base + "products.json"
    normal = client.get(url).content
    try:
        market.set_fault(URBAN, "gzip_stack")
        with client.stream("GET", url) as r:
            assert r.headers["content-encoding"] == "gzip, gzip"
            raw = b"".join(r.iter_raw())
        assert len(raw) < 4096
        inner = zlib.decompress(raw, 31)
        assert zlib.decompressobj(31).decompress(inner, 10_000_000) == bytes(10_000_000)
        market.set_fault(URBAN, "huge_images")
        assert client.get(url).content == normal  # only the photos are hit
        img = Image.open(io.BytesIO(client.get(urban.base + "cdn/p1.jpg").content))
        assert img.size == (6300, 6300) and img.format == "PNG"
        market.set_fault(URBAN, "absurd_dates")
        dates = {p["published_at"] for p in client.get(url).json()["products"]}
        assert dates <= set(faults.ABSURD_DATES) and len(dates) > 1
        market.set_fault(URBAN, "long_fields")
        reply = client.get(url)
        ids = [str(p["id"]) for p in reply.json()["products"]]
        assert any(len(i) == 600 for i in ids) and "\\u0000" in reply.text
        assert [str(p["id"]) for p in client.get(url).json()["products"]] == ids, "stable"
        market.set_fault(FENGSHANG, "long_fields")
        woo = client.get(market.shop(FENGSHANG).base + "wp-json/wc/store/v1/products").json()
        assert {p["prices"]["currency_code"] for p in woo} == {faults.LONG_CURRENCY}
        market.set_fault(FAWN, "tracking")
        links = re.findall(r'href="(/item/[^"]+)"', client.get(fawn.url).text)
        assert links and all("_sid=" in u and "qid=" in u for u in links)
        again = re.findall(r'href="(/item/[^"]+)"', client.get(fawn.url).text)
        assert again != links  # new random parameters on every visit
        market.set_fault(FAWN, "long_fields")
        assert re.search(r'href="/item/\d{600}\.html"', client.get(fawn.url).text)
        market.set_fault(URBAN, "drip")
        with client.stream("GET", url) as r:
            start = time.monotonic()
            first = next(r.iter_raw(1))
            assert len(first) == 1 and time.monotonic() - start < 2
            assert market.drips == 1
    finally:
        market.clear_faults()
    for _ in range(50):
        if market.drips == 0:
            break
        time.sleep(0.05)
    assert market.drips == 0


def test_timeout_fault_is_interrupted_by_stop():
    m = Marketplace()
    m.start()
    m.set_fault(OWN, "timeout")
    errors: list[Exception] = []

    def call() -> None:
        try:
            httpx.get(m.shop(OWN).base + "products.json", timeout=20)
        except httpx.HTTPError as e:
            errors.append(e)

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.3)
    started = time.perf_counter()
    m.stop()
    t.join(5)
    assert time.perf_counter() - started < 3 and not t.is_alive() and errors


# --- scale and config ---------------------------------------------------------------------


def test_scale_world_starts_fast_and_stops_cleanly():
    threads = threading.active_count()
    client = httpx.Client(timeout=10)
    started = time.perf_counter()
    m = Marketplace.scale(100, 500)
    m.start()
    assert time.perf_counter() - started < 5
    assert len(m.shops) == 101 and len({s.port for s in m.shops}) == 101
    woo = next(s for s in m.shops if s.kind == "woocommerce")
    r = client.get(woo.base + "wp-json/wc/store/v1/products", params={"per_page": 100})
    assert r.headers["x-wp-total"] == "500" and r.headers["x-wp-totalpages"] == "5"
    shop = next(s for s in m.shops if s.kind == "shopify" and s.role == "competitor")
    before = {
        p["id"]: p["variants"][0]["price"]
        for p in client.get(shop.base + "products.json", params={"limit": 250}).json()["products"]
    }
    m.advance()
    after = {
        p["id"]: p["variants"][0]["price"]
        for p in client.get(shop.base + "products.json", params={"limit": 250}).json()["products"]
    }
    changed = sum(before[k] != after[k] for k in before)
    assert 3 <= changed <= 30  # about 5% of 250
    m.stop()  # while the client still holds keep-alive connections
    client.close()
    deadline = time.time() + 3
    while threading.active_count() > threads and time.time() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads


def test_config_toml_parses(market: Marketplace):
    text = market.config_toml("sqlite:///demo.db", extra='[[alerts]]\nkind = "webhook"\n')
    data = tomllib.loads(text)
    assert data["watcher"]["database"] == "sqlite:///demo.db"
    assert data["watcher"]["jitter"] == "0s" and data["watcher"]["robots"] is True
    assert [s["name"] for s in data["shops"]] == [OWN, FENGSHANG, URBAN, FAWN]
    assert data["shops"][3]["selectors"]["item"] == ".product-card"
    assert data["marketplaces"][0]["selectors"]["shop"] == ".seller"
    assert data["alerts"] == [{"kind": "webhook"}]


def test_every_step_is_told_in_chinese_too() -> None:
    """`watcher demo --language zh` narrates each step in Chinese, one line per event."""
    from watcher.demo.timeline import STEPS

    for step in STEPS:
        assert len(step.events_zh) == len(step.events), step.events
