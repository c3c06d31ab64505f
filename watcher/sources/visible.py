"""What a person sees on a product page: title, price, struck-through price, currency, stock.

Structured data (``structured.py``) says what a shop *declares*; many pages declare nothing
(Amazon, Taobao, many small shops) and some declare something else than they show (a
stale JSON-LD price, another currency). This module reads the page the way a shopper does:

1. **The title** is the ``<h1>`` (or heading-like element) that best matches the page's
   ``og:title``/``<title>``; a logo or brand-only ``<h1>`` loses to a better match.
2. **Price candidates** are short texts that read as a price (a number with a currency
   symbol or code, or inside an element whose class/id/itemprop names a price in one of
   the languages shops use). Cents in ``<sup>`` or a separate span are joined
   (``327<sup>16</sup>`` is 327.16). Candidates in hidden elements, ``<select>`` options,
   navigation, header/footer, mini-carts and related/recommended/cross-sell blocks are
   dropped, and so are unit prices (per kg/100 ml), instalments, savings and shipping.
3. A candidate that is struck through (``<del>``/``<s>``, an "old/was/UVP/RRP" class or
   label) is a **compare-at** price, never the price.
4. **The price** is the candidate closest (in the element tree) to the title and the buy
   button, with bonuses for ``itemprop=price`` and price-like classes. When two different
   prices are equally close and nothing tells them apart, there is *no* price: a wrong
   price costs more than a missing one.
5. **The currency** comes from the symbol or code at the price, else the structured data,
   else the page's domain and language (:mod:`watcher.sources.locales`), which also give
   the decimal mark for "1.299" style numbers.
6. **Stock** comes from availability phrases (:mod:`watcher.sources.stock_words`) in the
   product block.

Every function here is pure and never raises on hostile input (a page without a tree gives
an empty :class:`Seen`).
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import Any

from lxml import etree

from watcher.sources import locales
from watcher.sources.prices import parse_price
from watcher.sources.stock_words import stock_from_text
from watcher.sources.structured import MAX_TITLE, Page, absolute_url, inline_text

MAX_CANDIDATES = 400
_NEAR_STOCK = 6
"""A stock sentence this close (tree edges) to the price or buy button is its label."""
MAX_PRICE_TEXT = 48
"""A price element's text is at most this long (longer text is a sentence, not a price)."""

_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "select", "option", "svg", "head", "textarea"}
)
_ZONE_TAGS = frozenset({"nav", "footer", "aside", "header"})
_ZONE_OR_SKIP_TAGS = _ZONE_TAGS | _SKIP_TAGS
_PRICE_DATA = frozenset({"data-price-type", "data-price", "data-price-amount"})
_PRICE_ATTRS = _PRICE_DATA | {"itemprop"}


def _folded(pattern: re.Pattern[str]) -> Callable[[str], re.Match[str] | None]:
    """``pattern.search`` for a case-insensitive ``pattern``, about four times faster on
    ASCII text (class names, ids, styles): such text is lower-cased and searched without
    ``re.I``. That finds exactly the same matches (lower-cased) because the pattern has no
    upper-case letter and no character outside ASCII that has a case (only those can match
    an ASCII letter of another case); any other text is searched with ``pattern``."""
    text = pattern.pattern
    if not pattern.flags & re.I or any(
        c.isupper() or (not c.isascii() and c.lower() != c.upper()) for c in text
    ):
        raise ValueError(f"cannot fold {text!r}")
    plain = re.compile(text, pattern.flags & ~re.I).search
    search = pattern.search

    def folded(value: str) -> re.Match[str] | None:
        return plain(value.lower()) if value.isascii() else search(value)

    return folded


_PRICE_WORD = re.compile(
    r"price|preis|prix|precio|prezzo|prijs|fiyat|cena|pris|amount|cost|money|betrag|tarif"
    r"|valor|jiage|价",
    re.I,
)
_CURRENT_WORD = re.compile(
    r"final|sale|special|current|now|our|actual|offer|deal|main|big|large|primary|selling"
    r"|promo|aktion|angebot|discount|reduced|red\b|to-?pay|buybox|pdp|product-?price",
    re.I,
)
_OLD_WORD = re.compile(
    r"(?<![a-z])(?:old|was|del|prima|oud|eski|antes|avant|statt|uvp|rrp|msrp|upe|list|before"
    r"|regular-price--old)(?![a-z])|strike|crossed|compare|original|former|previous|reference"
    r"|ref-?price|listprice|barr[ée]|tachad|line-?through|saving|retail",
)
_EXCLUDED_ZONE = re.compile(
    r"related|recommend|similar|upsell|up-sell|cross-?sell|crossselling|also-?(?:bought|viewed|like)"
    r"|recent|viewed|carousel|swiper|accessor|zubeh|bundle|sponsor|mini-?cart|minibasket"
    r"|mini-?basket|header-?cart|cart-?(?:total|count|summary|flyout|preview)|wishlist|merkzettel"
    r"|teaser|newsletter|cookie|breadcrumb|megamenu|mega-menu|navigation|navbar|topbar|footer"
    r"|site-?header|page-?header__top|shipping-?cover|modal|popup|overlay|toolbar"
    r"|other-?(?:products|offers|sellers)|more-?from|warrant|protection-?plan|insurance|garantie|service-?plan|frequently|bought-?together|compl[ei]ment"
    r"|suggest|reco\b|recs\b|product-?(?:list|grid|tile|card)s?\b|(?<![a-z])tiles?(?![a-z])"
    r"|card-list",
    re.I,
)
_CAMEL = re.compile(r"([a-z])([A-Z])")
_NEW_TOKEN = re.compile(r"new|now|final|current|special|sale|actual|selling", re.I)
_HIDDEN_CLASS = frozenset({"hidden", "hide", "d-none", "is-hidden", "display-none", "invisible"})
_ZONE_NAME_HINT = re.compile(
    _EXCLUDED_ZONE.pattern + "|" + "|".join(re.escape(c) for c in sorted(_HIDDEN_CLASS)), re.I
)
"""Matches (at least) wherever a class/id line names an excluded zone or a hidden class."""
_zone_name_hint = _folded(_ZONE_NAME_HINT)
_excluded_zone = _folded(_EXCLUDED_ZONE)
_price_word = _folded(_PRICE_WORD)


@lru_cache(maxsize=4096)
def _names_zone(names: str) -> bool:
    """Whether an element's class/id may make it an excluded zone (shops repeat a few
    class names on thousands of elements)."""
    return _zone_name_hint(names) is not None


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_CENTS_CLASS = re.compile(r"cent|decimal|fraction|minor|sup\b|pennies|dec\b|small", re.I)
_CURRENCY_MARK = re.compile(
    r"[$€£¥￥₺₽₹₩₫฿₪₴₱]|(?<![A-Za-z])(?:EUR|USD|GBP|CHF|TRY|TL|CNY|RMB|JPY|AUD|CAD|CDN|NZD"
    r"|SEK|NOK|DKK|PLN|CZK|HUF|RON|BRL|MXN|CLP|ARS|COP|INR|KRW|HKD|SGD|zł|kr|Kč|Ft|lei)"
    r"(?![A-Za-z])|元|円|원"
)
_NUMBER = re.compile(r"\d")
_ASCII_DIGIT = re.compile(r"[0-9]")
_XML_SPACE = re.compile(r"[ \t\r\n]+")
_normalized_length: Any = etree.XPath("string-length(normalize-space(.))")
"""The length of an element's text, white space normalized (compiled once: compiling it
cost more than running it on most elements; lxml locks a compiled XPath while it runs, so
parser threads may share it)."""
_CENTS = re.compile(r"\d[.,]\d{2}(?!\d)")
_RANGE = re.compile(r"(\d)\s*(?:-|–|—|~|〜|至)\s*(?:[¥￥$€£]\s*)?(?=\d)")
_PERCENT = re.compile(r"\d\s*%|%\s*\d")
_LETTERS = re.compile(r"[^\W\d_]{4,}")
_NUMBERS = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d[\d.,']*")
_DIGITS_ONLY = re.compile(r"^\s*(\d{2})\s*\*?\s*$")
_WHOLE_UNITS = re.compile(r"\d\s*[,.]\s*[-–—]{1,2}")

# Labels (and text around a price) that say it is not the selling price.
_UNIT = re.compile(
    r"/\s*(?:\d+\s*)?(?:kg|g|l|ml|cl|m|m2|m²|100\s*(?:g|ml)|st(?:k|ück)?|piece|unit|stück|litre|liter"
    r"|lt|pack|pk|oz|lb|count|ct|adet\b)\b|\bper\s+(?:kg|litre|liter|100|unit|piece|pack|oz)|"
    r"grundpreis|prix\s*/\s*(?:litre|kg)|prix au (?:kg|litre)|precio por|prezzo al|eenheidsprijs"
    r"|\(\s*\d[^)]{0,20}/\s*\d*\s*(?:ml|l|kg|g)\s*\)",
    re.I,
)
_INSTALMENT = re.compile(
    r"/\s*(?:mo|month|mes|mois|monat|maand|ay)\b|per month|a month|monthly|mensual|mensuel"
    r"|monatlich|payments? of|installments?|instalments?|\braten?\b|cuotas|\brate da\b|taksit"
    r"|\d+\s*[x×]\s*$|^\s*\d+\s*[x×]\s|\bfinanc|分期|\d+\s*期",
    re.I,
)
_SAVING = re.compile(
    r"\bsave\b|you save|sparen|ersparnis|sie sparen|économ|ahorra|te ahorras|risparmi|bespaar"
    r"|korting|indirim|tasarruf|kazan[çc]|节省|省\s*[¥￥]|立减|\boff\b",
    re.I,
)
_SHIPPING = re.compile(
    r"shipping|delivery|versand|lieferkosten|livraison|envío|envio|gastos de|spedizione|verzend"
    r"|bezorg|kargo|运费|配送费|postage|frais de port|porto\b",
    re.I,
)
_ADDON = re.compile(
    r"garantie|warranty|versicherung|insurance|protection plan|care ?pack|applecare|schutzbrief"
    r"|extended|gift ?wrap|geschenk|montage|installation|assembly|recycling|entsorgung",
    re.I,
)
_COMPARE_LABEL = re.compile(
    r"\buvp\b|\brrp\b|\bwas\b|\bstatt\b|list price|listenpreis|regular price|reg\.|original"
    r"|prix conseill|prix de r[ée]f|prix barr|pvpr|\bantes\b|precio anterior|prezzo consigliato"
    r"|prezzo di listino|adviesprijs|\bvan\b|eski fiyat|piyasa|原价|市场价|专柜价|划线价|then\b"
    r"|unverbindliche|empf\.|msrp|compare at",
    re.I,
)
_BUY = re.compile(
    r"add to (?:cart|bag|basket|trolley)|add-?to-?(?:cart|bag|basket)|addtocart|buy now|buy-?now"
    r"|in den warenkorb|in den einkaufswagen|warenkorb|jetzt kaufen|ajouter au panier|acheter"
    r"|añadir a la cesta|añadir al carrito|comprar|aggiungi al carrello|acquista"
    r"|in winkelwagen|in mijn winkelwagen|bestellen|sepete ekle|hemen al|加入购物车|立即购买"
    r"|立即抢购|马上抢|buy-?box|add-?basket",
    re.I,
)
# class/id fragments (matched on lower-cased names)
_STOCK_NAMES = re.compile(r"stock|avail|lager|liefer|deliver|dispon|voorraad|stok|ship|versand")
_STRONG_STOCK_NAMES = re.compile(r"(?<!click)(?:availab|stock|lager|voorraad|stok|dispon)")
_TITLE_NAMES = re.compile(r"title|heading|name")
_BUY_NAMES = re.compile(
    r"cart|basket|buy|warenkorb|panier|carrito|cesta|carrello|winkelwagen|sepete|kaufen|trolley"
)
_TITLE_SPLIT = re.compile(r"\s+[|–—·•:]\s+|\s+-\s+")
_WORDS = re.compile(r"\w+", re.U)
_ID_OK = re.compile(r"^[A-Za-z][\w-]{0,80}$")
_CLASS_OK = re.compile(r"^[A-Za-z_][\w-]{0,60}$")


@dataclass
class Candidate:
    """One text on the page that reads as a price."""

    el: Any
    text: str
    value: float
    currency: str | None
    has_symbol: bool
    order: int
    old: bool = False
    score: float = 0.0
    distance: int = 0


@dataclass
class Seen:
    """What the page shows; ``why`` says why there is no price, ``selector`` is a CSS
    selector for the price element (the chosen one, or the best guess when none was)."""

    title: str = ""
    price: float | None = None
    currency: str | None = None
    compare_at: float | None = None
    available: bool | None = None
    image: str | None = None
    why: str = ""
    selector: str | None = None
    selectors: dict[str, str] = field(default_factory=dict)
    buy_button: bool = False
    values: set[float] = field(default_factory=set)
    """Every price value shown on the page outside excluded zones (to check structured
    data against)."""
    page_currency: str | None = None
    decimal: str | None = None
    stock_named: bool = False
    """``available`` comes from an element named for stock or delivery (not from any
    sentence of the product block)."""
    buyable: bool = False
    """A price and an enabled buy button by the title: in stock unless something says
    otherwise."""
    strong: bool = False
    """The price has a currency symbol or code and sits right by the title or buy button:
    strong enough to overrule structured data that says something else."""


# ----------------------------------------------------------------------------- helpers


def _attr(el: Any, name: str) -> str:
    value = el.get(name)
    return value if isinstance(value, str) else ""


def _class_id(el: Any) -> str:
    return f"{_attr(el, 'class')} {_attr(el, 'id')}".strip()


def _tag(el: Any) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _text(el: Any, cap: int = 4000) -> str:
    parts: list[str] = []
    _gather(el, parts, 0, cap)
    return " ".join("".join(parts).split())[:cap]


def _gather(el: Any, parts: list[str], size: int, cap: int) -> int:
    """Append the texts :func:`_itertext` gives for ``el`` to ``parts`` until their length
    (with ``size`` before them) passes ``cap``, and return that length: ``_itertext``
    without a generator per level, which cost ~40 % of reading a product block's text."""
    if _tag(el) in _SKIP_TAGS:
        return size
    text = el.text
    if text:
        parts.append(text)
        size += len(text)
        if size > cap:
            return size
    for child in el:
        if isinstance(child.tag, str) and not _hidden(child):
            size = _gather(child, parts, size, cap)
            if size > cap:
                return size
        tail = child.tail
        if tail:
            parts.append(tail)
            size += len(tail)
            if size > cap:
                return size
    return size


def _itertext(el: Any) -> Any:
    """Text of ``el`` without scripts, styles and hidden descendants."""
    if _tag(el) in _SKIP_TAGS:
        return
    if el.text:
        yield el.text
    for child in el:
        if isinstance(child.tag, str) and not _hidden(child):
            yield from _itertext(child)
        if child.tail:
            yield child.tail


def _hidden(el: Any) -> bool:
    if _tag(el) in _SKIP_TAGS:
        return True
    keys = el.keys()
    if not keys:
        return False  # most elements: no attribute to hide them
    if "hidden" in keys or el.get("type") == "hidden":
        return True
    style = _attr(el, "style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    classes = _attr(el, "class").lower().split()
    return any(c in _HIDDEN_CLASS for c in classes)


def price_text(el: Any, decimal: str | None = None) -> str:
    """The text of a price element with cents in ``<sup>``/cents spans joined to the whole
    units: ``1,399<sup>99</sup>`` -> ``1,399.99``; ``349,<sup>06</sup>`` -> ``349,06``."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if _tag(node) in _SKIP_TAGS or sum(len(x.strip()) for x in out) > 200:
            return
        if node.text:
            out.append(node.text)
        for child in node:
            if not isinstance(child.tag, str) or _hidden(child):
                if child.tail:
                    out.append(child.tail)
                continue
            child_text = "".join(_itertext(child))
            glued = "".join(out)
            so_far = glued.rstrip()
            cents = _DIGITS_ONLY.match(child_text)
            is_cents_el = (
                _tag(child) in ("sup", "sub", "small")
                or bool(_CENTS_CLASS.search(_class_id(child)))
                or (glued == so_far and not child.tail and child.getnext() is None)
            )
            if cents and is_cents_el and so_far and so_far[-1].isdigit():
                head = re.search(r"[\d.,'\s]+$", so_far)
                number = head.group(0) if head else ""
                mark = "," if "." in number.strip() and decimal != "." else "."
                if "," in number.strip() and mark == ",":
                    mark = "."
                out[:] = [so_far, mark, child_text.strip()]
            elif cents and is_cents_el and so_far and so_far[-1] in ".,":
                out[:] = [so_far, child_text.strip()]
            else:
                walk(child)
            if child.tail:
                out.append(child.tail)

    walk(el)
    return " ".join("".join(out).split())


def _tokens(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.casefold()) if len(w) > 1 or not w.isascii()}


def _overlap(a: str, b: str) -> float:
    """Dice similarity of the word sets of two titles (0..1)."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return 2 * len(ta & tb) / (len(ta) + len(tb))


def _css_part(el: Any) -> str:
    tag = _tag(el) or "*"
    eid = _attr(el, "id")
    if eid and _ID_OK.match(eid) and not re.search(r"\d{4,}", eid):
        return f"#{eid}"
    classes = [c for c in _attr(el, "class").split() if _CLASS_OK.match(c)][:2]
    return tag + "".join(f".{c}" for c in classes)


def _xpath_of(selector: str) -> str:
    steps = []
    for part in selector.split(" > "):
        if part.startswith("#"):
            steps.append(f"*[@id='{part[1:]}']")
            continue
        tag, *classes = part.split(".")
        cond = "".join(
            f"[contains(concat(' ', normalize-space(@class), ' '), ' {c} ')]" for c in classes
        )
        steps.append(f"{tag}{cond}")
    return "//" + "/".join(steps)


def css_selector(el: Any, root: Any) -> str | None:
    """A short CSS selector (ids, tags, classes, ``>``) whose first match on the page is
    ``el``; None when none of up to four levels is specific enough."""
    parts: list[str] = []
    node = el
    for _ in range(4):
        if node is None or not isinstance(node.tag, str) or _tag(node) in ("html", "body"):
            break
        parts.insert(0, _css_part(node))
        selector = " > ".join(parts)
        try:
            found = root.xpath(_xpath_of(selector))
        except Exception:  # lxml raises several types on odd names
            found = []
        specific = any(c in selector for c in ".#")  # a bare "p" breaks on any page edit
        if found and found[0] is el and specific:
            return selector
        if parts[0].startswith("#"):
            break
        node = node.getparent()
    return None


# ------------------------------------------------------------------------------ reading


class _Reader:
    def __init__(self, root: Any, page: Page, url: str, title_hint: str, currency: str | None):
        self.root = root
        self.page = page
        self.url = url
        self.title_hint = title_hint
        self._metas: dict[str, str] | None = None
        self.lang = (
            _attr(root, "lang") or _attr(root, "xml:lang") or self._meta_lang() or self._script()
        )
        self.decimal = locales.decimal_mark(self.lang, url)
        self.page_currency = locales.page_currency(url, self.lang)
        self.currency = currency or self._meta_currency() or self.page_currency
        self.order: dict[Any, int] = {}
        self.elements: list[Any] = []
        self._pricey_cache: dict[Any, bool] = {}
        self._excluded: dict[Any, str | None] = {}
        self._zone: list[int] = []
        """Per element (document order): the index of the nearest element, itself or an
        ancestor, that is an excluded zone (see :meth:`_own_exclusion`), or -1."""
        self._zone_reason: dict[int, str] = {}
        self._zone_walled: dict[int, bool] = {}
        self.stock_named = False
        self._index()

    def _meta(self, *names: str) -> str:
        """The content of the first ``<meta>`` named like the first of ``names`` that has
        one with content."""
        metas = self._metas
        if metas is None:
            # one walk over the page for all the names asked about (~10 a page)
            metas = self._metas = {}
            for el in self.root.iterfind(".//meta"):
                key = (_attr(el, "property") or _attr(el, "name") or _attr(el, "itemprop")).lower()
                if key not in metas:
                    content = _attr(el, "content").strip()
                    if content:
                        metas[key] = content
        for name in names:
            if name in metas:
                return metas[name]
        return ""

    def _script(self) -> str:
        """The language a page without a declared one is written in, from its title's
        script: Han without kana is Chinese, kana Japanese, Hangul Korean."""
        title = self.root.find(".//title")
        text = _text(title, 300) if title is not None else ""
        if re.search("[\u3040-\u30ff]", text):
            return "ja"
        if re.search("[\uac00-\ud7af]", text):
            return "ko"
        if re.search("[\u4e00-\u9fff]", text):
            return "zh"
        return ""

    def _meta_lang(self) -> str:
        locale = self._meta("og:locale", "content-language", "language")
        return locale.replace("_", "-")

    def _meta_currency(self) -> str | None:
        code = self._meta(
            "product:price:currency", "og:price:currency", "pricecurrency", "currency"
        ).upper()
        return code if re.fullmatch(r"[A-Z]{3}", code) else None

    def _index(self) -> None:
        self.elements = elements = list(self.root.iter())
        self.order = dict(zip(elements, range(len(elements)), strict=True))
        names: list[str] = []
        suspects: list[int] = []  # elements that may be excluded zones
        own: dict[int, str | None] = {}  # _own_exclusion of the suspects read so far
        self._price_attrs: list[Any] = []
        """Elements with ``itemprop="price"``/``"lowPrice"`` or a ``data-price*`` attribute
        (see :meth:`candidates`), in document order."""
        self._named_items: list[Any] = []
        """Elements with ``itemprop="name"`` (see :meth:`title_element`)."""
        digits = _ASCII_DIGIT.search
        self._digit_texts: list[tuple[int, bool]] = []
        """(element index, tail?) of every text or tail with an ASCII digit."""
        count = len(elements)
        i = 0
        while i < count:
            el = elements[i]
            tag = el.tag
            if not isinstance(tag, str):
                names.append("")
                i += 1
                continue
            text, tail = el.text, el.tail
            if text and digits(text):
                self._digit_texts.append((i, False))
            if tail and i and digits(tail):  # the root's tail is outside the document
                self._digit_texts.append((i, True))
            suspect = tag.lower() in _ZONE_OR_SKIP_TAGS
            keys = el.keys()
            name = ""
            if keys:
                if not _PRICE_ATTRS.isdisjoint(keys):
                    itemprop = el.get("itemprop")
                    if itemprop in ("price", "lowPrice") or not _PRICE_DATA.isdisjoint(keys):
                        self._price_attrs.append(el)
                    if itemprop == "name":
                        self._named_items.append(el)
                if "class" in keys or "id" in keys:  # _class_id, inline: lxml's values are str
                    name = f"{el.get('class') or ''} {el.get('id') or ''}".strip()
                suspect = (
                    suspect
                    or "style" in keys
                    or "hidden" in keys
                    or "type" in keys
                    or _names_zone(name)
                )
            names.append(name)
            if suspect:
                suspects.append(i)
                if len(el):
                    reason = own[i] = self._own_exclusion(el)
                    if reason is not None and _long_text(el):
                        # An excluded zone with too much text for a price to be read out
                        # of it (a block of related items, the <head>): nothing inside it
                        # can be a title, price, buy button or stock label (every reading
                        # leaves out what excluded() or _walled_in() say), so it is not
                        # indexed.
                        end = self._subtree_end(el)
                        names.extend([""] * (end - i - 1))
                        self._zone_walled[i] = True
                        i = end
                        continue
            i += 1
        # where each name starts in the blob: the lengths before it plus one "\n" each
        starts = accumulate(map(len, names), operator.add, initial=0)
        self._offsets: list[int] = list(map(operator.add, starts, range(len(names))))
        self._blob = "\n".join(names).lower()
        self._zones(suspects, own)

    def _subtree_end(self, el: Any) -> int:
        """The index of the first element after ``el`` and its descendants (document order):
        where the next sibling of it or of an ancestor starts."""
        node = el
        while node is not None:
            nxt = node.getnext()
            if nxt is not None:
                return self.order.get(nxt, len(self.elements))
            node = node.getparent()
        return len(self.elements)

    def _zones(self, suspects: list[int], own: dict[int, str | None]) -> None:
        """Mark every element with its nearest excluded zone (:attr:`_zone`), so that
        :meth:`excluded` is a lookup: the zones are found among few ``suspects`` (by tag,
        by a hiding attribute, by a class or id that names a zone) and checked one by one
        (``own`` holds those already checked), instead of walking up from each element
        asked about."""
        count = len(self.elements)
        zone = [-1] * count
        for i in sorted(set(suspects)):  # an ancestor before its descendants
            el = self.elements[i]
            reason = own[i] if i in own else self._own_exclusion(el)
            if reason is None:
                continue
            self._zone_reason[i] = reason
            end = self._subtree_end(el)
            zone[i:end] = [i] * (end - i)  # an inner zone overwrites the outer one
        self._zone = zone

    def named(self, pattern: re.Pattern[str]) -> list[Any]:
        """Elements whose lower-cased class or id matches ``pattern``, in document order
        (one regex pass over all names instead of one test per element)."""
        out: list[Any] = []
        last = -1
        for m in pattern.finditer(self._blob):
            i = bisect_right(self._offsets, m.start()) - 1
            if i != last:
                out.append(self.elements[i])
                last = i
        return out

    # -- zones

    def excluded(self, el: Any) -> str | None:
        """Why ``el`` is outside what a shopper reads as the product (or None)."""
        if not isinstance(el.tag, str):
            return None
        i = self.order.get(el)
        if i is not None:
            zone = self._zone[i]
            return self._zone_reason[zone] if zone >= 0 else None
        chain: list[Any] = []
        node = el
        reason: str | None = None
        while node is not None and isinstance(node.tag, str):
            if node in self._excluded:
                reason = self._excluded[node]
                break
            chain.append(node)
            reason = self._own_exclusion(node)
            if reason is not None or _tag(node) in ("body", "html"):
                break
            node = node.getparent()
        for n in chain:
            self._excluded[n] = reason
        return reason

    @staticmethod
    def _own_exclusion(node: Any) -> str | None:
        tag = _tag(node)
        if tag in ("body", "html"):
            return None
        if _hidden(node):
            return "hidden"
        if tag in _ZONE_TAGS:
            return tag
        names = _class_id(node)
        if names:
            m = _excluded_zone(names)
            if m:
                return m.group(0).lower()
        return None

    def distance(self, a: Any, b: Any) -> int:
        """Number of edges between two elements of the tree."""
        ancestors_a = {}
        node, d = a, 0
        while node is not None:
            ancestors_a[node] = d
            node, d = node.getparent(), d + 1
        node, d = b, 0
        while node is not None:
            if node in ancestors_a:
                return d + ancestors_a[node]
            node, d = node.getparent(), d + 1
        return 10_000

    # -- title

    def title_element(self) -> tuple[Any, str]:
        refs = [
            self.title_hint,
            self._meta("og:title", "twitter:title"),
            inline_text(_text(self.root.find(".//title")))
            if self.root.find(".//title") is not None
            else "",
        ]
        refs = [r for r in refs if r]
        best: tuple[float, int, Any] | None = None
        heads = list(self.root.iter("h1"))
        heads += self._named_items
        heads += [
            e
            for e in self.named(_TITLE_NAMES)
            if _tag(e) in ("h1", "h2", "h3", "td", "div", "span", "p")
        ]
        for el in sorted(set(heads), key=lambda e: self.order.get(e, 0)):
            tag = _tag(el)
            itemprop = _attr(el, "itemprop").lower()
            if self.excluded(el):
                continue
            text = _text(el, 600)
            if not text or len(text) > 400:
                continue
            match = max((_overlap(text, r) for r in refs), default=0.0)
            score = match + (0.3 if tag == "h1" else 0.0) + (0.2 if itemprop == "name" else 0)
            if tag != "h1" and match < 0.5:
                continue
            key = (score, -self.order.get(el, 0), el)
            if best is None or key[:2] > best[:2]:
                best = key
        anchor = best[2] if best is not None and best[0] >= 0.3 else None
        if best is not None and best[0] >= 0.8:
            return anchor, _text(best[2], MAX_TITLE)
        fallback = refs[1] if len(refs) > 1 else (refs[0] if refs else "")
        if fallback and not self.title_hint:
            fallback = _TITLE_SPLIT.split(fallback)[0] if len(fallback) > 20 else fallback
        if not fallback and anchor is not None:
            fallback = _text(anchor, MAX_TITLE)
        return anchor, inline_text(fallback, MAX_TITLE)

    # -- buy button

    def buy_elements(self) -> list[Any]:
        """Add-to-cart / buy-now controls outside excluded zones, in document order."""
        found: list[Any] = list(self.root.iter("button", "input"))
        found.extend(self.named(_BUY_NAMES))
        found.extend(a for a in self.root.iter("a") if a.get("href") is not None and len(a) < 4)
        # before anything is read: most links sit in nav and related items (every element
        # found is indexed: excluded() is its zone, looked up here inline)
        zone, order = self._zone, self.order
        found = [el for el in found if zone[order[el]] < 0]
        out = []
        for el in sorted(set(found), key=lambda e: self.order.get(e, 0)):
            tag = _tag(el)
            if tag == "input" and _attr(el, "type").lower() not in ("submit", "button", "image"):
                continue
            label = f"{_class_id(el)} {_attr(el, 'value')} {_attr(el, 'title')}"
            if tag in ("button", "input", "a"):
                text = _text(el, 80) if tag != "input" else ""
                if tag == "a" and len(text) > 40:
                    continue
                label = f"{label} {text}"
            if not _BUY.search(label):
                continue
            out.append(el)
            if len(out) > 50:
                break
        return out

    # -- prices

    def candidates(self) -> list[Candidate]:
        """Every text on the page that reads as a price, once per element, outside the zones
        a shopper does not read as the product (:meth:`excluded`: related items, reviews,
        hidden blocks...), which are left out before the costly reading of each price: a
        page with hundreds of related-item prices costs no more than one with a few."""
        seen: set[Any] = set()
        out: list[Candidate] = []
        found: list[tuple[Any, str | None, Any]] = []  # (element, own text, element before)
        for text, parent, is_tail in self._short_numbers():
            # what is left out below anyway is left out before any reading
            if is_tail:
                holder = parent.getparent()
                if holder is None or self.excluded(holder) is not None:
                    continue
            elif self._walled_in(parent):
                continue
            if not (
                _CURRENCY_MARK.search(text)
                or _WHOLE_UNITS.search(text)
                or self._pricey(parent if not is_tail else parent.getparent())
            ):
                continue
            if is_tail:
                # "<span>UVP 169,00</span> 167,00 EUR": the tail is a price of its own
                container = parent.getparent()
                if container is not None:
                    found.append((container, text, parent))
            else:
                found.append((parent, None, None))
        found.extend((el, None, None) for el in self._price_attrs)
        for el, own, before in found:
            if len(out) >= MAX_CANDIDATES:
                break
            if own is None:
                if self._walled_in(el):
                    continue
                el = self._price_element(el)
            key = (el, own)
            if el is None or key in seen:
                continue
            seen.add(key)
            if self.excluded(el) is not None:
                continue
            cand = self._candidate(el, own, before)
            if cand is not None:
                out.append(cand)
        return out

    def _short_numbers(self) -> list[tuple[str, Any, bool]]:
        """(text, its element, whether it is that element's tail) of every text node with
        an ASCII digit and 1 to 59 characters once its XML white space is normalized, in
        document order: what ``//text()`` with those conditions gives, without the XPath
        engine's walk over the whole page (~1 ms a page)."""
        keyed: list[tuple[tuple[int, int, int], str, Any, bool]] = []
        for i, is_tail in self._digit_texts:
            el = self.elements[i]
            text = el.tail if is_tail else el.text
            if len(text) >= 60 and _solid(text[:_SOLID_PREFIX]) >= 60:
                continue  # normalizing keeps every other character: a script, a paragraph
            size = len(_XML_SPACE.sub(" ", text.strip(" \t\r\n")))
            if not 0 < size < 60:
                continue
            if not is_tail:
                keyed.append(((i, 1, 0), text, el, False))
                continue
            # a tail follows the element's subtree: it comes before the next element after
            # it, and after the tails of the deeper elements that end there too
            end = self._subtree_end(el)
            depth = sum(1 for _ in el.iterancestors())
            keyed.append(((end, 0, -depth), text, el, True))
        keyed.sort(key=lambda k: k[0])
        return [(text, el, is_tail) for _, text, el, is_tail in keyed]

    def _walled_in(self, el: Any) -> bool:
        """Whether ``el`` lies inside an excluded zone (see :meth:`excluded`) whose text is
        too long for :meth:`_price_element` to climb into: whatever that finds is excluded
        too, so it need not be looked for (a block of 200 related items)."""
        parent = el.getparent()
        i = self.order.get(parent) if parent is not None else None
        zone = self._zone[i] if i is not None else -1
        if zone < 0:
            return False
        walled = self._zone_walled.get(zone)
        if walled is None:
            walled = self._zone_walled[zone] = _long_text(self.elements[zone])
        return walled

    def _pricey(self, el: Any, levels: int = 3) -> bool:
        """Whether ``el`` or one of its nearest ancestors is named like a price."""
        node = el
        for _ in range(levels):
            if node is None or not isinstance(node.tag, str):
                return False
            known = self._pricey_cache.get(node)
            if known is None:
                known = bool(
                    _price_word(_class_id(node))
                    or _attr(node, "itemprop").lower() in ("price", "lowprice")
                )
                self._pricey_cache[node] = known
            if known:
                return True
            node = node.getparent()
        return False

    def _price_element(self, el: Any) -> Any:
        """The element that holds a whole price: ``el`` or a short ancestor named "price"."""
        if not isinstance(el.tag, str) or _tag(el) in _SKIP_TAGS:
            return None
        best = el
        node = el
        words = len(_LETTERS.findall(_CURRENCY_MARK.sub(" ", price_text(el, self.decimal))))
        for _ in range(3):
            parent = node.getparent()
            if parent is None or _tag(parent) in ("body", "html", "tr", "table", "ul"):
                break
            if _long_text(parent):
                break
            if not self._pricey(parent, 1):
                node = parent
                continue
            text = price_text(parent, self.decimal)
            if len(text) > MAX_PRICE_TEXT or _count_numbers(text) > 1:
                break
            if len(_LETTERS.findall(_CURRENCY_MARK.sub(" ", text))) > words:
                break  # the parent adds words ("inkl. MwSt."): it is a sentence, not a price
            best = node = parent
        return best

    def _candidate(self, el: Any, own: str | None, before: Any) -> Candidate | None:
        if not isinstance(el.tag, str) or _tag(el) in _SKIP_TAGS:
            return None
        itemprop = _attr(el, "itemprop").lower()
        if own is not None:
            text = " ".join(own.split())
        elif itemprop in ("price", "lowprice") and _attr(el, "content"):
            text = _attr(el, "content")
        elif _tag(el) == "meta":
            return None
        else:
            text = price_text(el, self.decimal)
        if not text or len(text) > MAX_PRICE_TEXT or _count_numbers(text) != 1:
            return None
        near_names = " ".join(
            _class_id(a) for a in [el, *list(el.iterancestors())[:2]] if isinstance(a.tag, str)
        )
        has_symbol = bool(_CURRENCY_MARK.search(text))
        pricey = bool(_price_word(near_names)) or itemprop in ("price", "lowprice")
        whole = bool(_WHOLE_UNITS.search(text))
        if not (has_symbol or pricey or whole):
            return None
        if _PERCENT.search(text):
            return None
        words = _LETTERS.findall(_CURRENCY_MARK.sub(" ", text))
        if (words and not has_symbol) or len(words) > 2:
            return None
        if (
            not has_symbol
            and not whole
            and not (itemprop in ("price", "lowprice") or _CENTS.search(text))
        ):
            return None  # "(5)", "mon-1764": a count or a code under a price-named box
        clean = _WHOLE_UNITS.sub(lambda m: m.group(0)[0], text) if whole else text
        value, currency = parse_price(clean, self.currency, decimal=self.decimal)
        if value is None or value <= 0:
            return None
        if has_symbol:
            own_value, _ = parse_price(clean, None, decimal=self.decimal)
            if own_value is not None:
                currency = parse_price(clean, self.page_currency, decimal=self.decimal)[1]
        label = _after_last_number(self._label(el, before))
        context = label + " " + text
        if _UNIT.search(context) or _INSTALMENT.search(context):
            return None
        # "You save: $57.09" / "Save $50" are savings; "30% sparen" then "22,95 €" is not
        if _SAVING.search(text) or (label.rstrip().endswith(":") and _SAVING.search(label)):
            return None
        if _SHIPPING.search(label) or _ADDON.search(label):
            return None
        wide = _after_last_number(self._label(el, before, wide=True))
        digit = _NUMBER.search(text)
        prefix = text[: digit.start()] if digit else ""
        old = self._is_old(el) or bool(_COMPARE_LABEL.search(f"{wide} {prefix}"))
        return Candidate(
            el=el,
            text=text,
            value=value,
            currency=currency,
            has_symbol=has_symbol,
            order=self.order.get(el, 0),
            old=old,
        )

    def _label(self, el: Any, before: Any = None, wide: bool = False) -> str:
        """Up to 40 characters of text just before ``el`` (or before the tail of
        ``before``, a child of ``el``); ``wide`` also reads the element before the parent
        when that says little."""
        parts: list[str] = []
        prev = before if before is not None else el.getprevious()
        while prev is not None and sum(len(p) for p in parts) < 40:
            if prev.tail and prev is not before:
                parts.insert(0, prev.tail)
            if isinstance(prev.tag, str) and not _hidden(prev):
                parts.insert(0, _text(prev, 60))
            prev = prev.getprevious()
        parent = el if before is not None else el.getparent()
        if sum(len(p) for p in parts) < 40 and parent is not None:
            if parent.text:
                parts.insert(0, parent.text)
            if wide and sum(len(p) for p in parts) < 10:
                grand = parent.getprevious()
                if grand is not None and isinstance(grand.tag, str):
                    parts.insert(0, _text(grand, 40))
        return " ".join(" ".join(parts).split())[-40:]

    def _is_old(self, el: Any) -> bool:
        node = el
        for _ in range(4):
            if node is None or not isinstance(node.tag, str):
                break
            tag = _tag(node)
            if tag in ("del", "s", "strike"):
                return True
            style = _attr(node, "style").lower()
            if "line-through" in style:
                return True
            price_type = _attr(node, "data-price-type").lower()
            if price_type:
                return "old" in price_type or "regular" in price_type
            for token in _class_id(node).split():
                token = _CAMEL.sub(r"\1-\2", token).lower()
                if _OLD_WORD.search(token) and not _NEW_TOKEN.search(token):
                    return True
            node = node.getparent()
        return False

    # -- stock

    def stock(self, anchors: list[Any]) -> bool | None:
        """The stock phrase of the product block nearest to the price and buy button: an
        element named for availability beats one named for delivery."""
        block = self._block(anchors)
        if block is None:
            return None
        found: list[tuple[int, int, int, bool]] = []
        start = self.order.get(block, 0)
        end = start + sum(1 for _ in block.iter())
        for el in self.named(_STOCK_NAMES):
            order = self.order.get(el, -1)
            if not start <= order < end or _tag(el) in _SKIP_TAGS or self.excluded(el):
                continue
            text = _text(el, 300)
            if not text or len(text) > 200:
                continue
            verdict = stock_from_text(text)
            if verdict is None:
                continue
            strong = 0 if _STRONG_STOCK_NAMES.search(_class_id(el).lower()) else 1
            near = min(self.distance(el, a) for a in anchors)
            found.append((strong, near, order, verdict))
        if not found:
            # no element named for stock: a short sentence of the block that is one
            for node in block.xpath(
                ".//text()[string-length(normalize-space(.)) > 3]"
                "[string-length(normalize-space(.)) < 80]"
            ):
                parent = node.getparent()
                if parent is None or _tag(parent) in _SKIP_TAGS or self.excluded(parent):
                    continue
                verdict = stock_from_text(str(node), buttons=False)
                if verdict is not None:
                    near = min(self.distance(parent, a) for a in anchors)
                    found.append((2, near, self.order.get(parent, 0), verdict))
        if not found:
            return None
        tier, near, _, verdict = min(found)
        self.stock_named = tier < 2 or near <= _NEAR_STOCK
        return verdict

    def _block(self, anchors: list[Any]) -> Any:
        """The product block: the lowest common ancestor of the anchors, widened so that it
        holds more than a heading."""
        anchors = [a for a in anchors if a is not None]
        if not anchors:
            return None
        block = anchors[0]
        for other in anchors[1:]:
            block = _common_ancestor(block, other)
        for _ in range(3):
            if len(_text(block, 2000)) > 400:
                break
            parent = block.getparent()
            if parent is None or _tag(parent) in ("body", "html"):
                break
            block = parent
        return block


def _long_text(el: Any) -> bool:
    """Whether ``el`` holds more text than a price element can (:data:`MAX_PRICE_TEXT`
    four times over, white space normalized)."""
    return bool(_normalized_length(el) > 4 * MAX_PRICE_TEXT)


_SOLID_PREFIX = 256


def _solid(text: str) -> int:
    """How many characters of ``text`` are not XML white space (a lower bound of its
    length once white space is normalized)."""
    return len(text) - text.count(" ") - text.count("\t") - text.count("\r") - text.count("\n")


def _count_numbers(text: str) -> int:
    """How many numbers a price text holds; a range ("5499.00-6799.00") counts as one."""
    return len(_NUMBERS.findall(_RANGE.sub(r"\1", text)))


def _after_last_number(label: str) -> str:
    """The part of a label after its last number: "UVP 169,00 EUR" -> " EUR" (the
    label of a price is what stands right before it, not before an earlier price)."""
    ends = [m.end() for m in _NUMBERS.finditer(label)]
    return label[ends[-1] :] if ends else label


def _same_box(a: Any, b: Any, title: Any) -> bool:
    """Whether two prices sit in one price box (a sale price and its reference price)
    rather than in two offers: their nearest common element holds no product title and
    little text."""
    box = _common_ancestor(a, b)
    if title is not None and (box is title or title in set(box.iterdescendants())):
        return False
    return len(_text(box, 400)) < 300


def _nearest(reader: _Reader, els: list[Any], to: Any) -> Any:
    """The element of ``els`` nearest in document order to ``to`` (first when no ``to``)."""
    if not els:
        return None
    if to is None:
        return els[0]
    at = reader.order.get(to, 0)
    return min(els, key=lambda e: abs(reader.order.get(e, 0) - at))


def _common_ancestor(a: Any, b: Any) -> Any:
    ancestors = {a, *a.iterancestors()}
    node = b
    while node is not None and node not in ancestors:
        node = node.getparent()
    return node if node is not None else a


# ------------------------------------------------------------------------------ choice


def _choose(
    reader: _Reader, cands: list[Candidate], title_el: Any, buys: list[Any]
) -> tuple[Candidate | None, Candidate | None, str]:
    """(price, compare_at, why-not) from the candidates."""
    current = [c for c in cands if not c.old]
    if not current:
        return None, None, "no price text on the page" if not cands else "only struck-out prices"
    buy = None
    if buys:
        if title_el is not None:
            t = reader.order.get(title_el, 0)
            buy = min(buys, key=lambda b: abs(reader.order.get(b, 0) - t))
        else:
            buy = buys[0]
    anchors = [a for a in (title_el, buy) if a is not None]
    if not anchors:
        values = {round(c.value, 2) for c in current}
        itemprops = [c for c in current if _attr(c.el, "itemprop")]
        if len(values) == 1:
            return current[0], None, ""
        if len({round(c.value, 2) for c in itemprops}) == 1:
            return itemprops[0], None, ""
        return (
            None,
            None,
            (
                f"{len(values)} different prices and no product title or buy button to tell "
                "which one is the product's"
            ),
        )
    for c in current + [c for c in cands if c.old]:
        c.distance = min(reader.distance(c.el, a) for a in anchors)
        score = -float(c.distance)
        names = (
            _class_id(c.el)
            + " "
            + " ".join(
                _class_id(a) for a in list(c.el.iterancestors())[:2] if isinstance(a.tag, str)
            )
        )
        if _attr(c.el, "itemprop").lower() in ("price", "lowprice"):
            score += 3
        if _price_word(names):
            score += 1.5
        if _CURRENT_WORD.search(names):
            score += 1
        if c.has_symbol:
            score += 1
        if title_el is not None and c.order < reader.order.get(title_el, 0):
            score -= 2
        c.score = score
    current.sort(key=lambda c: (-c.score, c.order))
    best = current[0]
    if best.distance > 14:
        return None, None, "no price close to the product title or buy button"
    rivals = [
        c
        for c in current[1:]
        if abs(c.value - best.value) >= 0.005
        and c.score >= best.score - 1.0
        and not _same_box(best.el, c.el, title_el)
    ]
    if rivals:
        r = rivals[0]
        return (
            None,
            None,
            (
                f"two prices are equally close to the product ({best.text!r} and {r.text!r}) "
                "and nothing on the page tells which one is the product's"
            ),
        )
    olds = [
        c
        for c in cands
        if c.old and c.value > best.value + 0.004 and reader.distance(c.el, best.el) <= 8
    ]
    compare = min(olds, key=lambda c: (reader.distance(c.el, best.el), c.order)) if olds else None
    return best, compare, ""


def read_visible(
    page: Page,
    url: str,
    tree: Any,
    *,
    title_hint: str = "",
    currency: str | None = None,
    selectors: bool = True,
) -> Seen:
    """What a shopper sees on the product page ``tree`` (an lxml tree of ``page``);
    ``selectors=False`` leaves out the CSS selectors of the price and title (which only
    ``watcher inspect`` shows; a check does not need them)."""
    seen = Seen()
    if tree is None:
        seen.why = "the page could not be parsed"
        return seen
    reader = _Reader(tree, page, url, title_hint, currency)
    seen.page_currency, seen.decimal = reader.page_currency, reader.decimal
    title_el, seen.title = reader.title_element()
    named = title_el is not None or bool(title_hint or reader._meta("og:title"))
    buys = reader.buy_elements()
    seen.buy_button = bool(buys)
    usable = reader.candidates()
    seen.values = {round(c.value, 2) for c in usable}
    best, compare, why = _choose(reader, usable, title_el, buys)
    if best is not None:
        seen.price, seen.currency = best.value, best.currency or reader.currency
        seen.compare_at = compare.value if compare is not None else None
        seen.selector = css_selector(best.el, tree) if selectors else None
        seen.strong = best.has_symbol and best.distance <= 10
    else:
        seen.why = why
        guess = sorted(
            [c for c in usable if not c.old], key=lambda c: (-c.score, c.distance, c.order)
        )
        if guess and selectors:
            seen.selector = css_selector(guess[0].el, tree)
    if not named and best is None:
        seen.title = ""  # only a <title>: a search or error page, not a product
    anchor = best.el if best is not None else None
    buy = _nearest(reader, buys, anchor if anchor is not None else title_el)
    seen.available = reader.stock([a for a in (title_el, anchor, buy) if a is not None])
    seen.stock_named = reader.stock_named
    seen.buyable = best is not None and buy is not None and buy.get("disabled") is None
    if title_el is not None and selectors:
        sel = css_selector(title_el, tree)
        if sel:
            seen.selectors["title"] = sel
    if seen.selector:
        seen.selectors["price"] = seen.selector
    image = reader._meta("og:image", "twitter:image")
    seen.image = absolute_url(image, url) if image else None
    return seen
