"""Product pages read as a shopper sees them: real saved pages (MIT-licensed, see
``tests/data/pages/real/README.md``), bot-challenge pages, pages with anti-bot widgets,
and the rules behind them (price text, stock wording)."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from watcher.config import Selectors
from watcher.errors import BadResponseError, ParseError
from watcher.http import Http, HttpSettings, Response
from watcher.inspect import default_shop, describe_reading
from watcher.sources import visible
from watcher.sources.blocks import blocked_reason
from watcher.sources.html import HtmlSource, PageReading
from watcher.sources.stock_words import stock_from_text
from watcher.sources.structured import Page, extract_products, parse_tree
from watcher.sources.visible import price_text, read_visible

DATA = Path(__file__).parent / "data" / "pages"
REAL = DATA / "real"
BLOCKS = DATA / "blocks"


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    async with Http(HttpSettings(retries=0)) as client:
        yield client


def response(url: str, body: bytes, content_type: str = "text/html") -> Response:
    return Response(
        url=url, status=200, headers=httpx.Headers({"content-type": content_type}), content=body
    )


def read(http: Http, url: str, body: bytes, *, selectors: Selectors | None = None) -> PageReading:
    """What ``watcher inspect URL`` reads from a page served with ``body``."""
    shop = default_shop(url, "html")
    if selectors is not None:
        shop.selectors = selectors
    return HtmlSource(shop, http).read_page(response(url, body), url)


def real(name: str) -> bytes:
    return gzip.decompress((REAL / f"{name}.html.gz").read_bytes())


# ----------------------------------------------------------------- real product pages

REAL_PAGES = [
    # (file, url, title starts, price, currency, compare_at, available)
    (
        "amazon.co.uk__vegetable-perfection",  # was a "login wall": only a used copy for sale
        "https://www.amazon.co.uk/Vegetable-Perfection-delicious-recipes-shoots/dp/1849757259",
        "Vegetable Perfection",
        4.45,
        "GBP",
        None,
        True,
    ),
    (
        "amazon.com__sainsmart-relay",  # 2024 corePrice layout
        "https://www.amazon.com/SainSmart-101-70-101-4-Channel-Relay-Module/dp/B0057OC5O8",
        "SainSmart 4-Channel Relay Module",
        8.99,
        "USD",
        None,
        True,
    ),
    (
        "amazon.de__odys-q27-monitor",  # "242,00€", "Nur noch 20 auf Lager"
        "https://www.amazon.de/Monitor-Reaktionszeit-Blaulicht-Reduktion-Display/dp/B0C6QBTD9B",
        "ODYS Q27 PRO",
        242.0,
        "EUR",
        None,
        True,
    ),
    (
        "etsy.com__es-doormat",  # shows 53,11 €; JSON-LD says 43.90 EUR, og 48,00 USD
        "https://www.etsy.com/es/listing/550571276/el-original-he-y-hay-calabaza-decoracion",
        "EL original he y hay calabaza",
        53.11,
        "EUR",
        None,
        True,
    ),
    (
        "haym.info__asus-va27acfsn",  # "349,<sup>06</sup>" with no currency symbol
        "https://haym.info/shop/asus-va27acfsn",
        "VA27ACFSN Monitor",
        349.06,
        "EUR",
        None,
        True,
    ),
    (
        "heinzsoft-shop.de__iiyama-gb2470hsu",  # "UVP 169,00 EUR" then "167,00 EUR"
        "https://www.heinzsoft-shop.de/iiyama-gb2470hsu",
        "iiyama G-MASTER RED EAGLE",
        167.0,
        "EUR",
        169.0,
        True,
    ),
    (
        "globalindustrial.com__maple-bench-top",  # no structured data; accessory prices
        "https://www.globalindustrial.com/p/maple-butcher-block-top",
        '60"W x 24"D',
        165.95,
        "USD",
        None,
        True,
    ),
    (
        "syswork.at__samsung-odyssey-g9",  # no structured data, no <h1>, "€ 1.299,00"
        "https://www.syswork.at/samsung-odyssey-g9",
        "Samsung Odyssey OLED G9",
        1299.0,
        "EUR",
        None,
        False,  # "Nachbestellt, Liefertermin unbekannt"
    ),
    (
        "hiq24.de__acer-k243ybmix",  # cross-sell prices all around; "zur Zeit nicht lieferbar"
        "https://hiq24.de/shop/acer-k243ybmix",
        "Acer TFT K243Ybmix",
        112.5,
        "EUR",
        None,
        False,
    ),
    (
        "wayfair.com__penhook-armchair",  # sale price with the old one in <s>
        "https://www.wayfair.com/furniture/pdp/penhook-armchair.html",
        "Penhook",
        111.99,
        "USD",
        141.99,
        True,
    ),
    (
        "ditech.at__msi-pro-mp273apde",  # microdata OutOfStock, page "versandbereit"
        "https://www.ditech.at/p/msi-pro-mp273apde",
        "MSI PRO MP273APDE",
        228.9,
        "EUR",
        None,
        True,
    ),
    (
        "taufnaus.at__acer-r272",  # WooCommerce; a hidden "Nicht lieferbar" span
        "https://taufnaus.at/de/product/acer-r272",
        "Acer R272",
        167.71,
        "EUR",
        None,
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "url", "title", "price", "currency", "compare_at", "available"),
    REAL_PAGES,
    ids=[p[0] for p in REAL_PAGES],
)
async def test_real_product_pages(
    http: Http,
    name: str,
    url: str,
    title: str,
    price: float,
    currency: str,
    compare_at: float | None,
    available: bool,
) -> None:
    listing = read(http, url, real(name)).listing
    assert listing.title.startswith(title)
    assert (listing.price, listing.currency, listing.compare_at, listing.available) == (
        price,
        currency,
        compare_at,
        available,
    )


async def test_amazon_reads_rating_count_and_image_without_configuration(http: Http) -> None:
    url = "https://www.amazon.de/Monitor-Reaktionszeit-Blaulicht-Reduktion-Display/dp/B0C6QBTD9B"
    reading = read(http, url, real("amazon.de__odys-q27-monitor"))
    listing = reading.listing
    assert (listing.rating, listing.rating_count) == (4.4, 799)  # "4,4 von 5 Sternen"
    assert listing.images == ["https://m.media-amazon.com/images/I/81F993aVJ9L._AC_SL1500_.jpg"]
    assert reading.source == "Amazon page"


async def test_visible_price_beats_structured_price_nobody_sees(http: Http) -> None:
    url = "https://www.etsy.com/es/listing/550571276/el-original-he-y-hay-calabaza-decoracion"
    reading = read(http, url, real("etsy.com__es-doormat"))
    assert reading.source == "visible page"
    # the same page read for its structured data alone says 43.90
    assert 43.9 not in reading.seen.values


# ------------------------------------------------------------------------- block pages

CHALLENGES = [
    ("cloudflare_just_a_moment.html", "https://shop.example/products/linen-dress"),
    ("cloudflare_attention_required.html", "https://shop.example/products/linen-dress"),
    ("amazon_robot_check.html", "https://www.amazon.com/dp/B00N150YS4"),
    ("taobao_punish.html", "https://detail.tmall.com/item.htm?id=605258110430"),
    ("jd_security_check.html", "https://item.jd.com/100012043978.html"),
    ("akamai_empty_shell.html", "https://shop.example/p/1"),
    ("perimeterx_press_and_hold.html", "https://shop.example/p/1"),
]


@pytest.mark.parametrize(("name", "url"), CHALLENGES, ids=[c[0] for c in CHALLENGES])
async def test_challenge_pages_are_block_pages(http: Http, name: str, url: str) -> None:
    body = (BLOCKS / name).read_bytes()
    assert blocked_reason(body.decode(), yielded_nothing=True)
    with pytest.raises(BadResponseError, match=r"challenge|captcha|block"):
        read(http, url, body)
    # a title selector matching the challenge's heading does not make it a product
    with pytest.raises(BadResponseError):
        read(http, url, body, selectors=Selectors(title="h1, h3, h4, title"))


async def test_product_with_captcha_widgets_and_sign_in_is_not_a_block_page(http: Http) -> None:
    body = (BLOCKS / "product_with_captcha_widgets.html").read_bytes()
    listing = read(http, "https://fawn.example/products/linen-wrap-dress", body).listing
    assert (listing.title, listing.price, listing.currency) == ("Linen Wrap Dress", 89.0, "USD")


async def test_product_without_structured_data_behind_a_login_layer(http: Http) -> None:
    body = (BLOCKS / "product_no_structured_data_login_form.html").read_bytes()
    reading = read(http, "https://werkzeug.example/p/bohrschrauber", body)
    listing = reading.listing
    assert listing.title == "Akku-Bohrschrauber 18 V"
    # "1.299,<sup>00</sup> €" on a German page; the related products' prices are not it
    assert (listing.price, listing.currency, listing.available) == (1299.0, "EUR", True)
    assert listing.compare_at is None  # "UVP 149,00 €" is below the price: not a compare-at
    assert reading.source == "visible page"


@pytest.mark.parametrize(
    "body",
    [
        "<html><head><title>Sign in</title></head><body><form><input type=password>"
        "<button>Sign in</button></form></body></html>",
        "<html><head><title>Security check</title></head><body><h1>Security check</h1>"
        "<p>Please complete the captcha.</p></body></html>",
    ],
)
async def test_short_login_and_captcha_pages_are_block_pages(http: Http, body: str) -> None:
    with pytest.raises(BadResponseError):
        read(http, "https://shop.example/p/1", body.encode())


async def test_long_page_without_product_that_mentions_captcha_is_not_blocked(
    http: Http,
) -> None:
    # a blog post that mentions captchas: no product, but no block page either
    text = "Why shops use a captcha on their forms. " * 80
    body = f"<html><head><title>Blog</title></head><body><h1>Our blog</h1><p>{text}</p>"
    listing = read(http, "https://shop.example/blog/1", (body + "</body></html>").encode()).listing
    assert (listing.title, listing.price) == ("Our blog", None)
    with pytest.raises(ParseError):  # and without any heading it is not a product at all
        read(http, "https://shop.example/blog/2", f"<p>{text}</p>".encode())


# ------------------------------------------------------------------ visible price rules


def seen_of(html: str, url: str = "https://shop.example/p/1") -> object:
    page = Page(html)
    return read_visible(page, url, parse_tree(page))


def test_two_unrelated_prices_and_no_way_to_tell_give_no_price() -> None:
    seen = read_visible(
        page := Page(
            "<html><body><h1>Garden hose 20 m</h1><div><p>€ 19,99</p></div>"
            "<div><p>€ 24,99</p></div><button>Add to cart</button></body></html>"
        ),
        "https://shop.example/p/1",
        parse_tree(page),
    )
    assert seen.price is None
    assert "19,99" in seen.why and "24,99" in seen.why


def test_sale_price_beside_a_struck_one() -> None:
    page = Page(
        "<html><body><h1>Wool scarf</h1><div class='price-box'><del>$40.00</del>"
        "<span class='price'>$29.50</span></div><button>Add to cart</button></body></html>"
    )
    seen = read_visible(page, "https://shop.example/p/1", parse_tree(page))
    assert (seen.price, seen.currency, seen.compare_at) == (29.5, "USD", 40.0)


def test_related_items_and_instalments_are_not_the_price() -> None:
    page = Page(
        "<html lang='en-AU'><body><h1>Repco Blade 20</h1>"
        "<div class='product-price'>$ 99</div><p>or 4 payments of $24.75</p>"
        "<button>Add to cart</button>"
        "<div class='recommended'><div class='price'>$ 15</div></div></body></html>"
    )
    seen = read_visible(page, "https://www.bigw.com.au/product/repco-blade-20", parse_tree(page))
    assert (seen.price, seen.currency) == (99.0, "AUD")  # "$" on .com.au


def test_a_long_related_block_is_never_read_and_the_text_after_it_is() -> None:
    # The related block holds a title, prices, a struck price, a stock label and buy
    # buttons of its own; none of them is the product's. The price after the block (the
    # block's tail) is the product's.
    card = (
        "<div class='card'><h1>Trail shoe X</h1><span class='price'>$ 10.00</span>"
        "<del>$ 80.00</del><p class='stock'>Out of stock</p><button>Add to cart</button></div>"
    )
    page = Page(
        "<html><head><title>Trail shoe X</title></head><body><h1>Trail shoe X</h1>"
        f"<div class='price-box'><div class='related'>{card * 30}</div>$ 59.00"
        " <del>$ 70.00</del></div><p class='availability'>In stock</p>"
        "<button>Add to cart</button></body></html>"
    )
    seen = read_visible(page, "https://shop.example/p/1", parse_tree(page))
    assert (seen.price, seen.compare_at, seen.available) == (59.0, 70.0, True)
    assert seen.values == {59.0, 70.0}
    assert seen.title == "Trail shoe X" and seen.stock_named


def test_a_page_is_parsed_once_and_its_tree_shared() -> None:
    page = Page(
        "<html><body><div itemscope itemtype='https://schema.org/Product'>"
        "<h1 itemprop='name'>Lamp</h1><div itemprop='offers' itemscope "
        "itemtype='https://schema.org/Offer'><span itemprop='price' content='12.50'>12,50 €"
        "</span><meta itemprop='priceCurrency' content='EUR'></div></div></body></html>"
    )
    tree = parse_tree(page)
    assert parse_tree(page) is tree
    (from_page,) = extract_products(page, "https://shop.example/p/1")
    (from_bytes,) = extract_products(page.raw, "https://shop.example/p/1")
    assert repr(from_page) == repr(from_bytes)
    assert (from_page.price, from_page.currency) == (12.5, "EUR")
    assert parse_tree(page) is tree


def test_a_price_text_padded_with_white_space_is_read_and_a_long_script_is_not() -> None:
    pad = "\n" + " " * 300 + "\t"
    page = Page(
        "<html><head><title>Desk lamp</title></head><body><h1>Desk lamp</h1>"
        f"<script>var prices = [{', '.join(['$ 1.00'] * 40)}];</script>"
        f"<span class='price'>{pad}$ 59.00{pad}</span><button>Add to cart</button>"
        "</body></html>"
    )
    seen = read_visible(page, "https://shop.example/p/1", parse_tree(page))
    assert (seen.price, seen.values) == (59.0, {59.0})


def test_meta_tags_first_named_with_content_wins() -> None:
    page = Page(
        "<html><head><meta property='og:title' content=' '>"
        "<meta name='twitter:title' content='Twitter lamp'>"
        "<meta property='OG:TITLE' content='Brass lamp'>"
        "<meta property='og:title' content='Later lamp'></head>"
        "<body><p>A lamp for the desk</p><span>$ 20.00</span></body></html>"
    )
    seen = read_visible(page, "https://shop.example/p/1", parse_tree(page))
    assert seen.title == "Brass lamp"  # og:title before twitter:title; empty content skipped


@pytest.mark.parametrize(
    "text",
    [
        "Related-Products x",
        "PRODUCT-TILES",
        "tile",
        "Tiles2",
        "xtile",
        "Mini-Cart d-none",
        "Zubehör related",
        "İ related",
        "carte",
        "ſponsor",
        "",
        "price PRICE",
        "价格",
        "Kelvin K",
    ],
)
@pytest.mark.parametrize(
    "pattern", [visible._EXCLUDED_ZONE, visible._ZONE_NAME_HINT, visible._PRICE_WORD]
)
def test_folded_search_matches_as_re_i_does(pattern: re.Pattern[str], text: str) -> None:
    want = pattern.search(text)
    got = visible._folded(pattern)(text)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert got.span() == want.span() and got.group(0).lower() == want.group(0).lower()


@pytest.mark.parametrize("pattern", [r"Price", r"\W", r"straße", "price"])
def test_folded_search_refuses_patterns_it_cannot_fold(pattern: str) -> None:
    flags = re.I if pattern != "price" else 0
    with pytest.raises(ValueError, match="cannot fold"):
        visible._folded(re.compile(pattern, flags))


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<span>$1,399<span class='x'>99</span></span>", "$1,399.99"),
        ("<span>349,<sup>06</sup></span>", "349,06"),
        ("<b>24.<sup>99*</sup></b>", "24.99*"),
        ("<span>327<sup>16</sup> €</span>", "327.16 €"),
        ("<span>1.299<sup>00</sup> €</span>", "1.299,00 €"),
        ("<span>€ 59,99 <span style='display:none'>99,00</span></span>", "€ 59,99"),
    ],
)
def test_price_text_joins_cents(html: str, expected: str) -> None:
    tree = parse_tree(Page(f"<html><body>{html}</body></html>"))
    el = tree.find(".//body")[0]
    assert price_text(el, ",") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("库存紧张", True),
        ("仅剩3件", True),
        ("库存0件", False),
        ("Only 3 left in stock - order soon.", True),
        ("售罄", False),
        ("缺货", False),
        ("无货", False),
        ("暂时缺货", False),
        ("Sold out", False),
        ("Currently unavailable.", False),
        ("Nur noch 5 auf Lager", True),
        ("Versand: zur Zeit nicht lieferbar", False),
        ("Nachbestellt, Liefertermin unbekannt", False),
        ("Sofort lieferbar", True),
        ("En stock.", True),
        ("Rupture de stock", False),
        ("No disponible temporalmente.", False),
        ("Non disponibile", False),
        ("Disponibile", True),
        ("Niet op voorraad", False),
        ("Op voorraad", True),
        ("Stokta yok", False),
        ("288 adet ürün stokta", True),
        ("https://schema.org/InStock", True),
        ("Add to cart", True),
        ("Colour", None),
    ],
)
def test_stock_phrases(text: str, expected: bool | None) -> None:
    assert stock_from_text(text) is expected


def test_buy_button_labels_do_not_count_when_only_stock_words_are_wanted() -> None:
    assert stock_from_text("In den Warenkorb", buttons=False) is None


# --------------------------------------------------------------------------- inspect


async def test_inspect_says_why_there_is_no_price_and_suggests_selectors(http: Http) -> None:
    body = (
        b"<html><body><h1 class='name'>Garden hose 20 m</h1><div class='box'><p>19,99 EUR</p>"
        b"</div><div class='other'><p>24,99 EUR</p></div><button>Add to cart</button>"
        b"</body></html>"
    )
    reading = read(http, "https://shop.example/p/hose", body)
    assert reading.listing.price is None
    shown = describe_reading(reading, suggest=False)
    assert "nothing on the page tells" in shown["no_price"]
    assert shown["suggested_selectors"]["title"] == "h1.name"
    assert shown["suggested_selectors"]["price"] in ("div.box > p", "div.other > p")
    assert shown["suggested_config"].startswith("[shops.selectors]\ntitle = ")
    # with the suggested price selector configured, the price is read
    fixed = read(
        http,
        "https://shop.example/p/hose",
        body,
        selectors=Selectors(price=shown["suggested_selectors"]["price"]),
    )
    assert fixed.listing.price in (19.99, 24.99)
    assert fixed.source == "selectors"


async def test_inspect_suggest_with_a_price(http: Http) -> None:
    body = (BLOCKS / "product_no_structured_data_login_form.html").read_bytes()
    reading = read(http, "https://werkzeug.example/p/bohrschrauber", body)
    shown = describe_reading(reading, suggest=True)
    assert "no_price" not in shown
    assert shown["price_from"] == "visible page"
    assert shown["suggested_selectors"] == {
        "title": "h1.product-title",
        "price": "span.price-current",
    }


async def test_page_declared_utf8_but_written_in_latin1(http: Http) -> None:
    body = (
        '<html><head><meta charset="utf-8"><title>Théière en fonte</title></head><body>'
        "<h1>Théière en fonte</h1><p class='price'>£ 24,50</p><button>Ajouter au panier"
        "</button></body></html>"
    ).encode("cp1252")
    listing = read(http, "https://shop.example/p/theiere", body).listing
    assert (listing.title, listing.price, listing.currency) == ("Théière en fonte", 24.5, "GBP")
