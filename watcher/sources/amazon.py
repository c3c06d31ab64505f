"""Amazon product pages (``/dp/ASIN``, any locale), which carry no structured data.

Amazon's product page has kept stable element ids across its layouts, and those ids are
what this module reads (no configuration needed):

* title: ``#productTitle`` (``#ebooksProductTitle`` on Kindle pages);
* price, first that exists: the 2023+ ``corePrice``/``apex`` blocks (``.a-price`` that is
  not struck, its ``.a-offscreen`` text), the older ``#priceblock_dealprice`` /
  ``_ourprice`` / ``_saleprice``, ``#price_inside_buybox``, ``#newBuyBoxPrice``,
  ``#kindle-price``, the buy box of a used copy, the selected format swatch, then the
  first price in ``#buybox``;
* compare-at: a struck ``.a-price[data-a-strike]`` in those blocks, ``.basisPrice``, or the
  ``.a-text-strike`` of the old ``#price`` table ("List Price", "RRP", "Statt");
* rating ``#acrPopover[title]`` ("4.4 von 5 Sternen"), count ``#acrCustomerReviewText``;
* stock ``#availability`` (a Kindle page with a 1-Click button is available);
* image ``#landingImage`` (``data-old-hires``, the first ``data-a-dynamic-image`` key, or
  ``src``), ``#imgBlkFront`` / ``#ebooksImgBlkFront`` for books.

Prices are read with the page's currency and decimal mark from its domain and language
(``amazon.ca`` "$" is CAD, ``amazon.de`` "12,99" is 12.99).
"""

from __future__ import annotations

import json
import re
from typing import Any

from watcher.models import Listing
from watcher.sources import locales
from watcher.sources.prices import parse_price
from watcher.sources.stock_words import stock_from_text
from watcher.sources.structured import MAX_TITLE, absolute_url, inline_text, to_five

_HOST = re.compile(
    r"(?:^|\.)amazon\.(?:com|ca|cn|in|sg|ae|sa|eg|se|pl|nl|de|fr|es|it|co\.uk"
    r"|co\.jp|com\.au|com\.tr|com\.mx|com\.br|com\.be)$"
)
_CORE = (
    "corePrice_feature_div",
    "corePriceDisplay_desktop_feature_div",
    "corePrice_desktop",
    "apex_desktop",
    "apex_offerDisplay_desktop",
)
_OLD_IDS = (
    "priceblock_dealprice",
    "priceblock_ourprice",
    "priceblock_saleprice",
    "priceblock_pospromoprice",
    "price_inside_buybox",
    "newBuyBoxPrice",
    "kindle-price",
)
_RATING = re.compile(r"(\d+(?:[.,]\d+)?)\D{1,30}?(\d+(?:[.,]\d+)?)")
_COUNT = re.compile(r"\d[\d.,\s\u00a0\u202f]*")


def is_amazon(url: str) -> bool:
    """Whether ``url`` is on an Amazon storefront domain."""
    return bool(_HOST.search(locales.host_of(url)))


def _text(el: Any) -> str:
    if el is None:
        return ""
    parts = [t for t in el.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]")]
    return " ".join("".join(parts).split())


def _price_spans(block: Any, struck: bool) -> list[str]:
    """The ``.a-offscreen`` texts of the ``.a-price`` elements of ``block``."""
    out = []
    for el in block.xpath(
        ".//span[contains(concat(' ', normalize-space(@class), ' '), ' a-price ')]"
    ):
        is_struck = el.get("data-a-strike") == "true" or "a-text-strike" in (el.get("class") or "")
        if is_struck != struck:
            continue
        inside = el.xpath(".//span[contains(@class, 'a-offscreen')]")
        text = _text(inside[0]) if inside else _text(el)
        if text:
            out.append(text)
    return out


class _Amazon:
    def __init__(self, root: Any, url: str) -> None:
        self.root = root
        self.url = url
        lang = root.get("lang") or ""
        self.currency = locales.page_currency(url, lang)
        self.decimal = locales.decimal_mark(lang, url)
        self._ids: dict[str, Any] | None = None

    def by_id(self, eid: str) -> Any:
        """The first element with this id (one pass over the page builds the index)."""
        if self._ids is None:
            self._ids = {}
            for el in self.root.iter():
                key = el.get("id") if isinstance(el.tag, str) else None
                if key and key not in self._ids:
                    self._ids[key] = el
        return self._ids.get(eid)

    def money(self, text: str) -> tuple[float | None, str | None]:
        return parse_price(text, self.currency, decimal=self.decimal)

    def price(self) -> tuple[float | None, str | None, float | None]:
        """(price, currency, compare_at)."""
        for eid in _CORE:
            block = self.by_id(eid)
            if block is None:
                continue
            for text in _price_spans(block, struck=False):
                value, currency = self.money(text)
                if value is not None:
                    old = self._first_money(_price_spans(block, struck=True))
                    basis = block.xpath(".//*[contains(@class, 'basisPrice')]")
                    if old is None and basis:
                        old = self._first_money(_price_spans(basis[0], struck=True))
                    return value, currency, old
        for eid in _OLD_IDS:
            el = self.by_id(eid)
            value, currency = self.money(_text(el)) if el is not None else (None, None)
            if value is not None:
                return value, currency, self._old_table()
        for xpath in (
            "//*[@id='usedBuySection']//*[contains(@class, 'a-color-price')]",
            "//*[@id='usedBuySection']",
            "//*[@id='buyNewSection']//*[contains(@class, 'a-color-price')]",
            "//*[@id='tmmSwatches']//*[contains(@class, 'a-button-selected')]"
            "//*[contains(@class, 'a-color-price') or contains(@class, 'slot-price')]",
            "//*[@id='buybox']//*[contains(@class, 'a-color-price')]",
        ):
            for el in self.root.xpath(xpath)[:3]:
                value, currency = self.money(_text(el))
                if value is not None:
                    return value, currency, None
        buybox = self.by_id("buybox")
        if buybox is not None:
            m = re.search(
                r"(?:[$€£¥₺]|[A-Z]{3}|CDN\$)\s?\d[\d.,]*|\d[\d.,]*\s?(?:€|[A-Z]{3}|TL)",
                _text(buybox)[:600],
            )
            if m:
                value, currency = self.money(m.group(0))
                if value is not None:
                    return value, currency, None
        return None, None, None

    def _first_money(self, texts: list[str]) -> float | None:
        for text in texts:
            value, _ = self.money(text)
            if value is not None:
                return value
        return None

    def _old_table(self) -> float | None:
        table = self.by_id("price")
        if table is None:
            return None
        return self._first_money(
            [_text(el) for el in table.xpath(".//*[contains(@class, 'a-text-strike')]")]
        )

    def title(self) -> str:
        for eid in ("productTitle", "ebooksProductTitle", "title"):
            text = inline_text(_text(self.by_id(eid)), MAX_TITLE)
            if text:
                return text
        return ""

    def rating(self) -> tuple[float | None, int | None]:
        pop = self.by_id("acrPopover")
        rating = None
        label = (pop.get("title") or _text(pop)) if pop is not None else ""
        if not label:
            alt = self.root.xpath(
                "//*[@id='averageCustomerReviews']//*[contains(@class,'a-icon-alt')]"
            )
            label = _text(alt[0]) if alt else ""
        m = _RATING.search(label)
        if m:
            a, b = (float(x.replace(",", ".")) for x in m.groups())
            value, best = (a, b) if a <= b else (b, a)  # "5 üzerinden 4,4", "5つ星のうち4.4"
            rating = to_five(value, best, 0 if best != 5 else None)
        count = None
        m = _COUNT.search(_text(self.by_id("acrCustomerReviewText")))
        if m:
            digits = re.sub(r"\D", "", m.group(0))
            count = int(digits) if digits and len(digits) < 12 else None
        return rating, count

    def available(self, has_price: bool) -> bool | None:
        if self.by_id("outOfStock") is not None:
            return False
        verdict = stock_from_text(_text(self.by_id("availability"))[:300])
        if verdict is not None:
            return verdict
        buttons = (
            "add-to-cart-button",
            "add-to-cart-button-ubb",
            "buy-now-button",
            "one-click-button",
        )
        if has_price and any(self.by_id(b) is not None for b in buttons):
            return True
        return None

    def image(self) -> str | None:
        for eid in ("landingImage", "imgBlkFront", "ebooksImgBlkFront", "main-image"):
            el = self.by_id(eid)
            if el is None:
                continue
            hires = el.get("data-old-hires")
            if hires:
                return absolute_url(hires, self.url)
            dynamic = el.get("data-a-dynamic-image")
            if dynamic:
                try:
                    urls = json.loads(dynamic)
                except ValueError:
                    urls = {}
                if isinstance(urls, dict) and urls:
                    return absolute_url(next(iter(urls)), self.url)
            src = el.get("src")
            if src and not src.startswith("data:"):
                return absolute_url(src, self.url)
        return None


def amazon_listing(root: Any, url: str) -> Listing | None:
    """The product of an Amazon page (None when the page has no product title)."""
    if root is None:
        return None
    page = _Amazon(root, url)
    title = page.title()
    if not title:
        return None
    price, currency, compare_at = page.price()
    rating, count = page.rating()
    image = page.image()
    return Listing(
        ref=url,
        url=url,
        title=title,
        price=price,
        currency=currency if price is not None else None,
        compare_at=compare_at if compare_at and price and compare_at > price else None,
        available=page.available(price is not None),
        images=[image] if image else [],
        rating=rating,
        rating_count=count,
        reviews=[],
    )
