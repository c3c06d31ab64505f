"""Any shop or marketplace as HTML: structured data first, CSS selectors where it is missing.

Product pages are read with :mod:`watcher.sources.structured` (JSON-LD, microdata,
OpenGraph); the shop's ``[shops.selectors]`` fill what structured data leaves empty and
describe catalog/search cards. Refs are absolute product URLs without the fragment (the
query is kept), so ``catalog()``, ``top()`` and ``listing(ref)`` agree on identity.

Blocked pages: a captcha, bot challenge or login wall is never "no listings". When a page
yields no product/items and shows such markers, :class:`BadResponseError` is raised (or a
later catalog page marks the catalog partial).

Catalog pagination rule: follow ``selectors.next_page`` (else ``<link rel="next">`` /
``<a rel="next">``) for at most :data:`MAX_PAGES` pages. The catalog is complete when the
last page has no next link, links back to a page already read, repeats only items
already seen, or shows a "no results" marker with zero items. It is partial (``complete=False``, with a note) when a later page
fails to fetch, looks blocked, or yields zero items without a "no results" marker, and when
the page cap is reached. A first page that fails, looks blocked or yields zero items with
no "no results" marker raises (FetchError / BadResponseError / ParseError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard
from urllib.parse import quote, urlsplit, urlunsplit

from watcher.config import Selectors, ShopConfig
from watcher.errors import BadResponseError, ConfigError, FetchError, ParseError
from watcher.http import Http, Response
from watcher.models import Catalog, Listing, Review
from watcher.sources.amazon import amazon_listing, is_amazon
from watcher.sources.base import Source, check_elements
from watcher.sources.blocks import blocked_reason
from watcher.sources.prices import parse_price
from watcher.sources.stock_words import stock_from_text
from watcher.sources.structured import (
    MAX_IMAGES,
    MAX_ITEMS,
    MAX_REVIEWS,
    MAX_TITLE,
    Page,
    absolute_url,
    extract_catalog,
    extract_products,
    fill_missing,
    head_links,
    inline_text,
    parse_date,
    parse_tree,
    to_five,
)
from watcher.sources.visible import Seen, read_visible

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

# BeautifulSoup and soupsieve are imported on first use: shops read from structured data
# never need them, and they cost about 6 MB and 0.15 s at start-up.

MAX_PAGES = 50

HTML_TYPES = frozenset(
    {"", "text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml"}
)

NO_RESULTS_MARKERS = (
    "no results",
    "no products",
    "no items",
    "nothing found",
    "0 results",
    "0 items",
    "0 products",
    "no matching",
    "did not match any",
    "no product found",
    "没有找到",
    "未找到",
    "暂无",
    "没有相关",
    "无结果",
    "找不到",
    "0件商品",
)
_RATIO = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:/|out of|of|分?满分)\s*(\d+(?:[.,]\d+)?)", re.I)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_STAR_CLASS = re.compile(r"(?:star|rating)s?[-_]?(\d{1,2})\b")
_BG_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


def has_no_results_marker(text: str) -> bool:
    """Whether the page says, in English or Chinese, that there is nothing to list."""
    low = text[:400_000].lower()
    return any(m in low for m in NO_RESULTS_MARKERS)


def rating_from_text(text: str) -> float | None:
    """A 5-star rating from "4.5 out of 5", "9/10", "80%", "★★★★☆", "4.5" or "star-4"."""
    s = text.strip()[:200]
    if not s:
        return None
    m = _RATIO.search(s)
    if m:
        return to_five(m.group(1).replace(",", "."), m.group(2).replace(",", "."), 0)
    m = _PERCENT.search(s)
    if m:
        return to_five(m.group(1), 100, 0)
    stars = s.count("★")
    if stars and not any(c.isdigit() for c in s):
        return to_five(stars, stars + s.count("☆") if "☆" in s else 5, 0)
    m = _STAR_CLASS.search(s.lower())
    if m and not _NUMBER.fullmatch(s):
        v = float(m.group(1))
        return to_five(v / 10 if v > 5 else v, 5, 0)
    m = _NUMBER.search(s)
    if not m:
        return None
    v = float(m.group(0).replace(",", "."))
    if v <= 5:
        return to_five(v, 5, 0)
    if v <= 10:
        return to_five(v, 10, 0)
    if v <= 100:
        return to_five(v, 100, 0)
    return None


def availability_from_text(text: str) -> bool | None:
    """True/False/None from a stock label ("Sold out", "有货", a schema.org URL...)."""
    return stock_from_text(text)


def product_ref(url: str) -> str:
    """The ref of a product URL: absolute, fragment stripped, query kept."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(fragment="")) if parts.fragment else url


def _charset(resp: Response) -> str | None:
    for part in resp.headers.get("content-type", "").split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip("\"' ")
    return None


@dataclass(slots=True)
class _PageRead:
    """What a catalog or search page says, read off the event loop."""

    url: str
    status: int
    items: list[Listing]
    next_url: str | None
    blocked: str | None  # why the page looks blocked, when it has no items
    no_results: bool  # no items, and the page says there are none


class _Doc:
    """One fetched page: bytes view, lazily built soup."""

    def __init__(self, resp: Response) -> None:
        if resp.content_type not in HTML_TYPES:
            raise BadResponseError(
                f"expected an HTML page, got {resp.content_type}", url=resp.url, status=resp.status
            )
        check_elements(resp.content, resp.url)
        self.resp = resp
        self.url = resp.url
        self.encoding = _charset(resp)
        self.page = Page(resp.content, self.encoding, verify=True)
        self._soup: BeautifulSoup | None = None

    @property
    def soup(self) -> BeautifulSoup:
        if self._soup is None:
            from bs4 import BeautifulSoup

            self._soup = BeautifulSoup(self.page.text, "lxml")
        return self._soup

    @property
    def text(self) -> str:
        return self.page.text


def _is_tag(value: object) -> TypeGuard[Tag]:
    from bs4 import Tag

    return isinstance(value, Tag)


def _element_text(el: Tag | None) -> str:
    if el is None:
        return ""
    if el.name == "meta" or (el.get("content") and not el.get_text(strip=True)):
        return inline_text(el.get("content"))
    return inline_text(el.get_text(" ", strip=True))


def _attr(el: Tag, name: str) -> str | None:
    value = el.get(name)
    if isinstance(value, list):
        return " ".join(value)
    return value


def _image_of(el: Tag | None, base: str) -> str | None:
    if el is None:
        return None
    if el.name != "img":
        inner = el.find("img")
        if _is_tag(inner):
            el = inner
    for name in ("data-src", "data-original", "data-lazy-src", "data-lazy", "src", "content"):
        url = absolute_url(_attr(el, name), base, fragment=True)
        if url:
            return url
    srcset = _attr(el, "srcset") or _attr(el, "data-srcset")
    if srcset:
        url = absolute_url(srcset.split(",")[0].split()[0] if srcset.strip() else "", base)
        if url:
            return url
    m = _BG_URL.search(_attr(el, "style") or "")
    if m:
        return absolute_url(m.group(1), base)
    return absolute_url(_attr(el, "href"), base)


def _rating_of(el: Tag | None) -> float | None:
    if el is None:
        return None
    for name in (
        "content",
        "data-rating",
        "data-score",
        "data-value",
        "value",
        "aria-label",
        "title",
    ):
        value = _attr(el, name)
        if value:
            rating = rating_from_text(value)
            if rating is not None:
                return rating
    text = el.get_text(" ", strip=True)
    if text:
        rating = rating_from_text(text)
        if rating is not None:
            return rating
    for name in ("style", "class"):
        value = _attr(el, name)
        if value:
            rating = rating_from_text(value)
            if rating is not None:
                return rating
    return None


def _date_of(el: Tag | None) -> Any:
    if el is None:
        return None
    for name in ("datetime", "content", "data-date", "title"):
        value = parse_date(_attr(el, name))
        if value is not None:
            return value
    return parse_date(el.get_text(" ", strip=True))


@dataclass
class PageReading:
    """A product page as read: the listing, where its price came from (``structured
    data``, ``selectors``, ``Amazon page``, ``visible page`` or '' when there is none) and
    what the page visibly shows (:class:`~watcher.sources.visible.Seen`: why there is no
    price, the selector that would read it)."""

    listing: Listing
    source: str
    seen: Seen


def _reconcile(listing: Listing, seen: Seen, source: str) -> str:
    """Merge what the page shows into what structured data and selectors said; returns the
    price's source.

    Structured data wins, except where the page contradicts it: a structured price that
    appears nowhere on the page while the page clearly shows another one (a stale JSON-LD
    price, a price in the shop's currency while the page converts) gives way to the shown
    one. A stock label of the product block wins over declared availability; a stock
    sentence elsewhere in the block, or an enabled buy button by the price, only fills in
    when nothing else says."""
    if seen.price is not None:
        shown = round(seen.price, 2)
        if listing.price is None:
            listing.price, listing.currency = seen.price, seen.currency
            listing.compare_at = seen.compare_at
            source = "visible page"
        elif (
            seen.strong
            and abs(listing.price - shown) >= 0.005
            and round(listing.price, 2) not in seen.values
        ):
            listing.price, listing.currency = seen.price, seen.currency or listing.currency
            listing.compare_at = seen.compare_at
            source = "visible page"
        elif listing.compare_at is None and abs(listing.price - shown) < 0.005:
            listing.compare_at = seen.compare_at
    if listing.price is not None and listing.currency is None:
        listing.currency = seen.currency
    if seen.available is not None and (seen.stock_named or listing.available is None):
        listing.available = seen.available
    elif listing.available is None and seen.buyable:
        listing.available = True
    if not listing.title:
        listing.title = seen.title
    if not listing.images and seen.image:
        listing.images = [seen.image]
    return source


class HtmlSource(Source):
    """A shop or marketplace read from its HTML pages (``kind = "html"``)."""

    kind: ClassVar[str] = "html"

    def __init__(self, shop: ShopConfig, http: Http, *, robots: bool = False) -> None:
        super().__init__(shop, http, robots=robots)
        self._compiled: dict[str, Any] = {}
        sel: Selectors = shop.selectors
        for name in Selectors.__slots__:
            value = getattr(sel, name)
            if value:
                import soupsieve

                try:
                    self._compiled[name] = soupsieve.compile(value)
                except (soupsieve.SelectorSyntaxError, ValueError, TypeError) as e:
                    raise ConfigError(
                        f"{shop.name}.selectors.{name}", f"invalid CSS selector {value!r}: {e}"
                    ) from None

    # ------------------------------------------------------------------ helpers

    def _select(self, root: Tag, name: str, limit: int = 0) -> list[Tag]:
        compiled = self._compiled.get(name)
        if compiled is None:
            return []
        return list(compiled.select(root, limit=limit))

    def _select_one(self, root: Tag, name: str) -> Tag | None:
        compiled = self._compiled.get(name)
        return compiled.select_one(root) if compiled is not None else None

    def _price(self, el: Tag | None) -> tuple[float | None, str | None, float | None]:
        """(price, currency, compare_at) of a price element. A struck-out old price
        (``<del>``/``<s>``) is the compare-at price, the rest (or ``<ins>``) the price."""
        if el is None:
            return None, None, None
        for name in ("content", "data-price", "data-price-amount", "value"):
            value = _attr(el, name)
            if value:
                amount, currency = parse_price(value, self.shop.currency)
                if amount is not None:
                    return amount, currency, None
        old_els = el.find_all(["del", "s", "strike"], limit=3)
        old = (
            parse_price(old_els[0].get_text(" ", strip=True), self.shop.currency)[0]
            if old_els
            else None
        )
        current = el.find("ins")
        if _is_tag(current):
            text = current.get_text(" ", strip=True)
        else:
            text = " ".join(
                str(t)
                for t in el.find_all(string=True)
                if t.find_parent(["del", "s", "strike"]) is None
            )
        amount, currency = parse_price(text, self.shop.currency)
        compare_at = old if old is not None and amount is not None and old > amount else None
        return amount, currency, compare_at

    async def _get_page(self, url: str) -> _PageRead:
        """Fetch a catalog or search page and read it on the parser threads."""
        return await self.fetch_and_read(url, self._read_page)

    def _read_page(self, resp: Response) -> _PageRead:
        doc = _Doc(resp)
        items = self._items(doc)
        blocked = None if items else blocked_reason(doc.text, yielded_nothing=True)
        return _PageRead(
            url=doc.url,
            status=resp.status,
            items=items,
            next_url=self._next_url(doc) if items else None,
            blocked=blocked,
            no_results=not items and not blocked and has_no_results_marker(doc.text),
        )

    def _cards(self, doc: _Doc) -> list[Listing]:
        """Listings from ``selectors.item`` cards of a catalog or search page."""
        if "item" not in self._compiled:
            return []
        out: list[Listing] = []
        seen: set[str] = set()
        for card in self._select(doc.soup, "item", MAX_ITEMS):
            if "link" in self._compiled:
                link = self._select_one(card, "link")
            else:
                link = card if card.name == "a" else card.find("a", href=True)
            link = link if _is_tag(link) else None
            if link is not None and link.name != "a" and not link.get("href"):
                inner = link.find("a", href=True)
                link = inner if _is_tag(inner) else link
            url = absolute_url(_attr(link, "href") if link else None, doc.url, fragment=False)
            if url is None or url in seen:
                continue
            seen.add(url)
            if "title" in self._compiled:
                title = _element_text(self._select_one(card, "title"))
            else:
                title = inline_text(_attr(link, "title") if link else "") or _element_text(link)
            price, currency, compare_at = self._price(self._select_one(card, "price"))
            image_el = (
                self._select_one(card, "image") if "image" in self._compiled else card.find("img")
            )
            image = _image_of(image_el if _is_tag(image_el) else None, doc.url)
            avail_el = self._select_one(card, "availability")
            seller = _element_text(self._select_one(card, "shop")) or None
            out.append(
                Listing(
                    ref=product_ref(url),
                    url=url,
                    title=title[:MAX_TITLE],
                    price=price,
                    currency=currency,
                    compare_at=compare_at,
                    available=availability_from_text(_element_text(avail_el))
                    if avail_el is not None
                    else None,
                    images=[image] if image else [],
                    rating=_rating_of(self._select_one(card, "rating")),
                    shop=seller,
                )
            )
        return out

    def _items(self, doc: _Doc) -> list[Listing]:
        """The listings of a catalog/search page: JSON-LD ItemList or Products, else cards.

        Cards still fill what the structured entries leave out (title, price, seller...).
        """
        structured = extract_catalog(
            doc.page.raw, doc.url, encoding=doc.page.charset, default_currency=self.shop.currency
        )
        if not structured:
            structured = [
                p
                for p in extract_products(
                    doc.page.raw,
                    doc.url,
                    encoding=doc.page.charset,
                    default_currency=self.shop.currency,
                )
                if p.title
            ]
            for p in structured:
                p.ref, p.reviews = product_ref(p.url), None
        cards = self._cards(doc)
        if not structured:
            return cards
        by_url = {c.ref: c for c in cards}
        for item in structured:
            item.ref = product_ref(item.url)
            card = by_url.get(item.ref)
            if card is not None:
                fill_missing(item, card)
                item.shop = item.shop or card.shop
            if item.price is not None and item.currency is None:
                item.currency = self.shop.currency
        return structured

    def _next_url(self, doc: _Doc) -> str | None:
        if "next_page" in self._compiled:
            el = self._select_one(doc.soup, "next_page")
            if el is None:
                return None
            if el.name != "a" and not el.get("href"):
                inner = el.find("a", href=True)
                el = inner if _is_tag(inner) else el
            return absolute_url(_attr(el, "href"), doc.url, fragment=False)
        nxt = head_links(doc.page).get("next")
        if nxt:
            return absolute_url(nxt, doc.url, fragment=False)
        el = doc.soup.find(["a", "link"], rel=lambda r: bool(r) and "next" in r)
        if _is_tag(el):
            return absolute_url(_attr(el, "href"), doc.url, fragment=False)
        return None

    def _reviews(self, doc: _Doc) -> list[Review]:
        out: list[Review] = []
        for el in self._select(doc.soup, "review", MAX_REVIEWS):
            text_el = self._select_one(el, "review_text") if "review_text" in self._compiled else el
            text = _element_text(text_el)
            rating = _rating_of(self._select_one(el, "review_rating"))
            author = _element_text(self._select_one(el, "review_author"))[:200] or None
            published = _date_of(self._select_one(el, "review_date"))
            rid = _attr(el, "id") or _attr(el, "data-review-id") or _attr(el, "data-id")
            if text or rating is not None:
                out.append(
                    Review(
                        id=rid[:200] if rid else None,
                        rating=rating,
                        text=text,
                        author=author,
                        published_at=published,
                    )
                )
        return out

    def _page_listing(self, doc: _Doc, ref: str) -> Listing:
        """Page-level selectors applied to a product page (no card scope)."""
        root = doc.soup
        price, currency, compare_at = self._price(self._select_one(root, "price"))
        image_els = self._select(root, "image", MAX_IMAGES)
        images = [u for u in (_image_of(e, doc.url) for e in image_els) if u]
        avail_el = self._select_one(root, "availability")
        return Listing(
            ref=ref,
            url=doc.url,
            title=_element_text(self._select_one(root, "title"))[:MAX_TITLE],
            price=price,
            currency=currency,
            compare_at=compare_at,
            available=availability_from_text(_element_text(avail_el)) if avail_el else None,
            images=list(dict.fromkeys(images)),
            rating=_rating_of(self._select_one(root, "rating")),
            reviews=self._reviews(doc) if "review" in self._compiled else [],
            shop=_element_text(self._select_one(root, "shop")) or None,
        )

    # --------------------------------------------------------------- interface

    async def listing(self, ref: str) -> Listing:
        """The product page at ``ref`` with its reviews; structured data first, selectors
        for the gaps. BadResponseError for a captcha/login wall, ParseError when the page
        has no product title (or is too big to be one)."""
        return await self.fetch_and_read(ref, self.read_listing, ref)

    def read_listing(self, resp: Response, ref: str) -> Listing:
        """The listing of an already fetched product page (what :meth:`listing` returns for
        it): no I/O, so ``watcher inspect`` and the page benchmark read pages the same way."""
        return self.read_page(resp, ref, selectors=False).listing

    def read_page(self, resp: Response, ref: str, *, selectors: bool = True) -> PageReading:
        """:meth:`read_listing` with where the price came from and, when there is none, why
        (see :class:`PageReading`); ``selectors=False`` leaves the CSS selectors that would
        read the price and title out of ``seen``."""
        doc = _Doc(resp)
        # the page itself, not its bytes: it is lower-cased and its charset sniffed once,
        # and the tree a microdata reading builds is the one the visible reading uses
        products = extract_products(doc.page, doc.url, default_currency=self.shop.currency)
        wanted = {product_ref(ref), product_ref(doc.url)}
        main = next((p for p in products if product_ref(p.url) in wanted), None)
        if main is None and products:
            main = products[0]
        if main is not None and not main.title and main.price is None:
            main = None
        listing = main or Listing(ref=ref, url=doc.url, title="", reviews=[])
        source = "structured data" if listing.price is not None else ""
        gaps = (
            not listing.title
            or listing.price is None
            or not listing.images
            or listing.available is None
            or (not listing.reviews and "review" in self._compiled)
            or "shop" in self._compiled
        )
        if self._compiled and gaps:  # the soup is built only when selectors can add something
            page_level = self._page_listing(doc, ref)
            fill_missing(listing, page_level)
            listing.shop = listing.shop or page_level.shop
            if not source and listing.price is not None:
                source = "selectors"
        tree = parse_tree(doc.page)
        amazon = amazon_listing(tree, doc.url) if is_amazon(doc.url) else None
        if amazon is not None:
            # Amazon's own ids beat the generic reading (which sees the other sellers' box)
            amazon.reviews = None
            fill_missing(listing, amazon)
            if not source and listing.price is not None:
                source = "Amazon page"
        if amazon is not None and amazon.price is not None:
            seen = Seen(title=amazon.title, buy_button=True)  # nothing left to look for
        else:
            seen = read_visible(
                doc.page,
                doc.url,
                tree,
                title_hint=listing.title,
                currency=listing.currency,
                selectors=selectors,
            )
        if amazon is None:
            source = _reconcile(listing, seen, source)
        product = main is not None or amazon is not None or seen.buy_button
        if not listing.title or (not product and listing.price is None):
            # a title with no price, no structured product and no buy button: a login
            # wall or challenge page with a heading, unless no marker says so
            reason = blocked_reason(doc.text, yielded_nothing=True)
            if reason:
                raise BadResponseError(reason, url=ref, status=doc.resp.status)
            if not listing.title:
                raise ParseError(f"no product title found on {ref}")
        listing.ref = ref
        if listing.reviews is None:
            listing.reviews = []
        if listing.price is not None and listing.currency is None:
            listing.currency = self.shop.currency or seen.page_currency
        return PageReading(listing=listing, source=source, seen=seen)

    async def _crawl(self, start: str, want: int | None = None) -> Catalog:
        """Items of a paginated listing page (see the module doc for the rules)."""
        listings: list[Listing] = []
        refs: set[str] = set()
        visited: set[str] = set()
        url: str | None = start
        complete, note = True, ""
        page_no = 0
        while url is not None:
            if url in visited:
                break  # pagination came back to a page already read: it ended
            if page_no >= MAX_PAGES:
                complete, note = False, f"stopped after {MAX_PAGES} pages"
                break
            visited.add(url)
            first = page_no == 0
            page_no += 1
            try:
                page = await self._get_page(url)
            except (FetchError, ParseError) as e:
                if first:
                    raise
                complete, note = False, f"page {page_no} ({url}) failed: {e}"
                break
            visited.add(page.url)
            items = page.items
            if not items:
                reason = page.blocked
                if reason:
                    if first:
                        raise BadResponseError(reason, url=url, status=page.status)
                    complete, note = False, f"page {page_no} ({url}): {reason}"
                elif page.no_results:
                    note = f"page {page_no} says there are no results"
                elif first:
                    raise ParseError(
                        f"no items found on {url} (no JSON-LD ItemList/Product; check "
                        "selectors.item)"
                    )
                else:
                    complete = False
                    note = f"page {page_no} ({url}) had no items and no 'no results' marker"
                break
            fresh = [item for item in items if item.ref not in refs]
            if not fresh:
                # a site that answers every page number past the end with the last page
                note = f"page {page_no} repeated earlier items"
                break
            for item in fresh:
                refs.add(item.ref)
                listings.append(item)
            if want is not None and len(listings) >= want:
                break
            url = page.next_url
        return Catalog(listings=listings, complete=complete, note=note)

    async def catalog(self) -> Catalog:
        """Every listing on the shop's listing pages (``shop.url`` and its next pages)."""
        return await self._crawl(self.shop.url)

    async def top(self, n: int) -> list[str]:
        """Refs of the first ``n`` listings of ``top_url`` (a best-sellers page), else of
        ``shop.url``, in page order."""
        if n <= 0:
            return []
        catalog = await self._crawl(self.shop.top_url or self.shop.url, want=n)
        return [item.ref for item in catalog.listings[:n]]

    def search_url(self, query: str) -> str:
        """The search page URL for ``query`` (percent-encoded, UTF-8)."""
        if not self.shop.search_url:
            raise ConfigError(f"{self.shop.name}.search_url", "is required to search this shop")
        return self.shop.search_url.replace("{query}", quote(query.strip(), safe=""))

    async def search(self, query: str) -> list[Listing]:
        """Listings on the first page of the shop's search for ``query``; ``shop`` is the
        seller named by ``selectors.shop`` on marketplaces. A page that only looks blocked
        raises BadResponseError; a genuinely empty result is []."""
        page = await self._get_page(self.search_url(query))
        if page.blocked:
            raise BadResponseError(page.blocked, url=page.url, status=page.status)
        return page.items
