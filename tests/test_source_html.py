"""HtmlSource against a real HTTP server on 127.0.0.1 serving the fixture pages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from watcher.config import MarketplaceConfig, Selectors, ShopConfig, Url
from watcher.errors import BadResponseError, BlockedError, ConfigError, ParseError
from watcher.http import Http, HttpSettings
from watcher.sources import source_kinds
from watcher.sources.html import HtmlSource, availability_from_text, rating_from_text

PAGES = Path(__file__).parent / "data" / "pages"
Route = tuple[int, str, bytes]


def fixture(name: str) -> bytes:
    return (PAGES / name).read_bytes()


HTML = "text/html; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.log.append(self.path)
        route = self.server.routes.get(self.path)
        if callable(route):
            route = route(self.path)
        status, ctype, body = route or (404, "text/plain", b"not found")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    routes: dict[str, Route | Callable[[str], Route]]
    log: list[str]


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.routes, srv.log = {}, []
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def base(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture
async def http(server: _Server) -> Iterator[Http]:
    settings = HttpSettings(retries=0, backoff=0.0, timeout=5)
    async with Http(settings, trusted=[base(server)]) as client:
        yield client  # type: ignore[misc]


CARD_SELECTORS = Selectors(
    item=".product-card",
    link="a.product-link",
    title=".product-title",
    price=".price",
    image="img",
    availability=".stock",
    next_page="a.next",
)


def shop(srv: _Server, url: str = "/shop", **kwargs: object) -> ShopConfig:
    return ShopConfig(name="Rival", kind="html", url=Url(base(srv) + url), **kwargs)  # type: ignore[arg-type]


def serve_catalog(srv: _Server, path: str, page2: Route | None) -> None:
    srv.routes[path] = (200, HTML, fixture("catalog_page1.html"))
    if page2 is not None:
        srv.routes[f"{path}?page=2"] = page2


def test_kind_is_discovered() -> None:
    assert source_kinds()["html"] is HtmlSource


async def test_listing_jsonld_product(server: _Server, http: Http) -> None:
    server.routes["/products/floral-dress"] = (200, HTML, fixture("product_jsonld.html"))
    # page-level selectors only fill gaps: JSON-LD's title and price win over the <h1>/.price
    src = HtmlSource(shop(server, currency="CNY", selectors=CARD_SELECTORS), http)
    ref = base(server) + "/products/floral-dress"
    listing = await src.listing(ref)
    assert listing.ref == ref  # the ref asked for stays the identity
    assert listing.url == "https://rival-a.example/products/floral-dress"
    assert (listing.title, listing.price, listing.currency) == (
        "碎花连衣裙 夏季新款 & 收腰",
        99.0,
        "CNY",
    )
    assert listing.reviews is not None and [r.author for r in listing.reviews] == [
        "阿珍",
        "小王",
        "Lily",
    ]


async def test_listing_microdata_and_opengraph(server: _Server, http: Http) -> None:
    server.routes["/p/linen-shirt"] = (200, HTML, fixture("product_microdata.html"))
    server.routes["/p/straw-hat"] = (200, HTML, fixture("product_og.html"))
    src = HtmlSource(shop(server), http)
    md = await src.listing(base(server) + "/p/linen-shirt")
    assert (md.title, md.price, md.currency, md.available) == (
        "Linen Shirt Summer edition",
        1299.0,
        "CZK",
        True,
    )
    assert md.reviews is not None and md.reviews[0].rating == 2.0
    og = await src.listing(base(server) + "/p/straw-hat")
    assert (og.title, og.price, og.reviews) == ("Straw Hat & Ribbon", 1299.0, [])


async def test_listing_from_selectors_gbk_page_with_reviews(server: _Server, http: Http) -> None:
    server.routes["/p/tee"] = (200, "text/html", fixture("product_selectors.html"))
    sel = Selectors(
        title="h1.p-name",
        price=".p-price",
        image=".p-gallery img",
        availability=".p-stock",
        rating=".score",
        review="li.comment",
        review_text=".txt",
        review_rating=".star",
        review_author=".nick",
        review_date="time",
    )
    src = HtmlSource(shop(server, currency="CNY", selectors=sel), http)
    listing = await src.listing(base(server) + "/p/tee")
    assert (listing.title, listing.price, listing.currency) == ("纯棉T恤 男款", 49.9, "CNY")
    assert listing.available is True
    assert listing.rating == 4.8
    assert listing.images == [base(server) + "/img/t1.jpg", base(server) + "/img/t2.jpg"]
    assert listing.reviews is not None
    assert [(r.id, r.author, r.rating, r.text) for r in listing.reviews] == [
        ("c1", "用户A", 2.0, "质量差，洗一次就变形"),
        ("c2", "用户B", 5.0, "不错"),
    ]
    assert listing.reviews[1].published_at == datetime(2024, 6, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("page", "message"), [("captcha.html", "captcha"), ("login.html", "login wall")]
)
async def test_listing_blocked_pages_are_bad_responses(
    server: _Server, http: Http, page: str, message: str
) -> None:
    server.routes["/p/x"] = (200, HTML, fixture(page))
    # even with a title selector that would match the challenge's <h1>
    src = HtmlSource(shop(server, selectors=Selectors(title="h1")), http)
    with pytest.raises(BadResponseError, match=message):
        await src.listing(base(server) + "/p/x")


async def test_listing_without_title_is_a_parse_error(server: _Server, http: Http) -> None:
    server.routes["/p/empty"] = (200, HTML, fixture("empty_search.html"))
    server.routes["/p/json"] = (200, "application/json", b'{"a": 1}')
    src = HtmlSource(shop(server), http)
    with pytest.raises(ParseError, match="no product title"):
        await src.listing(base(server) + "/p/empty")
    with pytest.raises(BadResponseError, match="expected an HTML page"):
        await src.listing(base(server) + "/p/json")


async def test_catalog_two_pages_from_selectors(server: _Server, http: Http) -> None:
    serve_catalog(server, "/shop", (200, HTML, fixture("catalog_page2.html")))
    src = HtmlSource(shop(server, currency="USD", selectors=CARD_SELECTORS), http)
    catalog = await src.catalog()
    b = base(server)
    assert catalog.complete and catalog.note == ""
    assert [i.ref for i in catalog.listings] == [
        f"{b}/p/1",  # fragment stripped
        "https://rival-b.example/p/2?color=red",  # query kept
        f"{b}/p/3",
        f"{b}/p/4",  # /p/1 on page 2 is not repeated
    ]
    tee, jacket, scarf, coat = catalog.listings
    assert (tee.title, tee.price, tee.currency, tee.available) == ("Cotton Tee", 19.99, "USD", True)
    assert tee.images == [f"{b}/img/1.jpg"]  # data-src, not the data: placeholder
    assert (jacket.price, jacket.compare_at, jacket.available) == (59.0, 89.0, False)
    assert (scarf.price, scarf.available, scarf.images) == (12.0, None, [])
    assert coat.reviews is None
    assert server.log == ["/shop", "/shop?page=2"]


@pytest.mark.parametrize(
    ("page2", "complete", "note"),
    [
        ((500, "text/plain", b"oops"), False, "page 2"),
        ((200, HTML, fixture("captcha.html")), False, "captcha"),
        ((200, HTML, b"<html><body><ul class='grid'></ul></body></html>"), False, "no items"),
        ((200, HTML, fixture("empty_search.html")), True, "no results"),
        ((200, HTML, fixture("catalog_page1.html")), True, ""),  # links back to page 2: loop ends
    ],
)
async def test_catalog_later_page_problems(
    server: _Server, http: Http, page2: Route, complete: bool, note: str
) -> None:
    serve_catalog(server, "/shop", page2)
    src = HtmlSource(shop(server, selectors=CARD_SELECTORS), http)
    catalog = await src.catalog()
    assert catalog.complete is complete
    assert note in catalog.note
    assert len(catalog.listings) == 3


@pytest.mark.parametrize(
    ("page1", "error"),
    [
        ((404, "text/html", b"gone"), BadResponseError),
        ((200, HTML, fixture("captcha.html")), BadResponseError),
        ((200, HTML, b"<html><body><p>Welcome</p></body></html>"), ParseError),
    ],
)
async def test_catalog_first_page_failure_raises(
    server: _Server, http: Http, page1: Route, error: type[Exception]
) -> None:
    server.routes["/shop"] = page1
    src = HtmlSource(shop(server, selectors=CARD_SELECTORS), http)
    with pytest.raises(error):
        await src.catalog()


async def test_catalog_first_page_with_no_results_marker_is_empty_and_complete(
    server: _Server, http: Http
) -> None:
    server.routes["/shop"] = (200, HTML, fixture("empty_search.html"))
    catalog = await HtmlSource(shop(server, selectors=CARD_SELECTORS), http).catalog()
    assert (catalog.listings, catalog.complete) == ([], True)


async def test_catalog_page_cap(server: _Server, http: Http) -> None:
    def endless(path: str) -> Route:
        n = int(path.rsplit("=", 1)[1]) if "=" in path else 1
        body = (
            f'<li class="product-card"><a class="product-link" href="/p/{n}">P{n}</a></li>'
            f'<a class="next" href="/shop?page={n + 1}">next</a>'
        )
        return 200, HTML, body.encode()

    server.routes.update({"/shop": endless, **{f"/shop?page={i}": endless for i in range(2, 60)}})
    catalog = await HtmlSource(shop(server, selectors=CARD_SELECTORS), http).catalog()
    assert not catalog.complete and "50 pages" in catalog.note
    assert len(catalog.listings) == 50


async def test_catalog_stops_when_pages_repeat_items(server: _Server, http: Http) -> None:
    def last_page_forever(path: str) -> Route:
        n = int(path.rsplit("=", 1)[1]) if "=" in path else 1
        body = (
            f'<li class="product-card"><a class="product-link" href="/p/{min(n, 2)}">P</a></li>'
            f'<a class="next" href="/shop?page={n + 1}">next</a>'
        )
        return 200, HTML, body.encode()

    server.routes.update({"/shop": last_page_forever, "/shop?page=2": last_page_forever})
    server.routes["/shop?page=3"] = last_page_forever
    catalog = await HtmlSource(shop(server, selectors=CARD_SELECTORS), http).catalog()
    assert catalog.complete and "repeated" in catalog.note
    assert [i.ref for i in catalog.listings] == [base(server) + "/p/1", base(server) + "/p/2"]
    assert server.log == ["/shop", "/shop?page=2", "/shop?page=3"]


async def test_top_from_top_url_item_list(server: _Server, http: Http) -> None:
    server.routes["/best"] = (200, HTML, fixture("catalog_jsonld.html"))
    src = HtmlSource(shop(server, top_url=base(server) + "/best"), http)
    assert await src.top(2) == [base(server) + "/products/a", base(server) + "/products/b"]
    assert server.log == ["/best"]  # n reached on page 1: the next page is not fetched
    # more than the list holds: the (missing) next page ends the crawl, with what there is
    assert len(await src.top(10)) == 3


async def test_top_falls_back_to_shop_url(server: _Server, http: Http) -> None:
    serve_catalog(server, "/shop", (200, HTML, fixture("catalog_page2.html")))
    src = HtmlSource(shop(server, selectors=CARD_SELECTORS), http)
    b = base(server)
    assert await src.top(4) == [
        f"{b}/p/1",
        "https://rival-b.example/p/2?color=red",
        f"{b}/p/3",
        f"{b}/p/4",
    ]
    assert await src.top(0) == []


async def test_marketplace_search_with_sellers(server: _Server, http: Http) -> None:
    query = "碎花连衣裙 夏季 & 收腰/新款"
    quoted = "%E7%A2%8E%E8%8A%B1%E8%BF%9E%E8%A1%A3%E8%A3%99%20%E5%A4%8F%E5%AD%A3%20%26%20%E6%94%B6%E8%85%B0%2F%E6%96%B0%E6%AC%BE"
    server.routes[f"/search?q={quoted}&sort={{price}}"] = (200, HTML, fixture("market_search.html"))
    market = MarketplaceConfig(
        name="Market",
        search_url=base(server) + "/search?q={query}&sort={price}",
        currency="CNY",
        selectors=Selectors(
            item=".result", title=".title", price=".price", link="a", image="img", shop=".seller"
        ),
    )
    src = HtmlSource(market.as_shop(), http)
    results = await src.search(query)
    assert unquote(server.log[0]).startswith("/search?q=碎花连衣裙 夏季 & 收腰/新款")
    assert [(r.title, r.price, r.currency, r.shop) for r in results] == [
        ("碎花连衣裙 夏季新款 收腰", 59.0, "CNY", "小美服饰"),
        ("夏季碎花连衣裙 收腰 新款", 79.0, "CNY", "潮流女装店"),
    ]
    assert results[0].images == ["http://img.market.example/1001.jpg"]
    assert results[0].ref == base(server) + "/item/1001"


async def test_search_empty_and_blocked(server: _Server, http: Http) -> None:
    server.routes["/search?q=none"] = (200, HTML, fixture("empty_search.html"))
    server.routes["/search?q=bot"] = (200, HTML, fixture("captcha.html"))
    src = HtmlSource(
        shop(server, search_url=base(server) + "/search?q={query}", selectors=CARD_SELECTORS), http
    )
    assert await src.search("none") == []
    with pytest.raises(BadResponseError, match="captcha"):
        await src.search("bot")
    with pytest.raises(ConfigError, match="search_url"):
        await HtmlSource(shop(server), http).search("x")


async def test_robots_txt_is_honoured(server: _Server, http: Http) -> None:
    server.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /p/\n")
    server.routes["/p/linen-shirt"] = (200, HTML, fixture("product_microdata.html"))
    src = HtmlSource(shop(server), http, robots=True)
    with pytest.raises(BlockedError):
        await src.listing(base(server) + "/p/linen-shirt")
    assert "/p/linen-shirt" not in server.log


def test_invalid_selector_is_a_config_error(server: _Server) -> None:
    with pytest.raises(ConfigError, match=r"selectors\.item"):
        HtmlSource(shop(server, selectors=Selectors(item="div[")), Http())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.5 out of 5 stars", 4.5),
        ("9/10", 4.5),
        ("width: 80%", 4.0),
        ("★★★★☆", 4.0),
        ("5分", 5.0),
        ("star-4", 4.0),
        ("rating-45", 4.5),
        ("", None),
        ("great", None),
    ],
)
def test_rating_from_text(text: str, expected: float | None) -> None:
    assert rating_from_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In stock", True),
        ("Currently unavailable", False),
        ("售罄", False),
        ("现货", True),
        ("?", None),
    ],
)
def test_availability_from_text(text: str, expected: bool | None) -> None:
    assert availability_from_text(text) is expected
