"""Products from the structured data of a page: JSON-LD, then microdata, then OpenGraph.

JSON-LD is found without building a document tree: the page is scanned as bytes for
``ld+json`` and only the ``<script>`` blocks are decoded and parsed, so a 300 KB product
page costs about a millisecond. A tree (lxml) is built only for microdata, when JSON-LD
yields no product or leaves its price or title missing; OpenGraph ``<meta>`` tags are read
with the same byte scan as JSON-LD.

Every byte is hostile: a broken block is skipped (after trying the usual repairs: HTML
comments or CDATA around the JSON, trailing commas, raw control characters, a block that
is a JSON string holding JSON), URLs are kept only when they resolve to http(s), lists
are capped, and no input makes these functions raise (see :func:`extract_products`).

Decisions:

* ``available`` means "can be ordered now": InStock, LimitedAvailability, OnlineOnly,
  InStoreOnly, PreOrder, PreSale, BackOrder and MadeToOrder are True; OutOfStock, SoldOut,
  Discontinued (and Reserved) are False; anything else is None.
* Ratings go to a 5-star scale: a scale starting at 1 (``worstRating`` >= 1) is mapped
  linearly onto 1–5; a scale starting at 0 (0–5, 0–100 %) proportionally onto 0–5. The
  default 1–5 scale is unchanged.
* A product's price is the lowest price of its offers that are not known to be
  unavailable (all offers when every one is unavailable); ProductGroup variants count.
* ``ref`` is the product's ``sku`` (or ``productID``) when present, else its URL.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree

from watcher.dates import in_range
from watcher.errors import ParseError
from watcher.models import Listing, Review
from watcher.sources.prices import parse_price
from watcher.text.clean import strip_controls, strip_known_tags

MAX_REVIEWS = 200
MAX_IMAGES = 50
MAX_PRODUCTS = 500
MAX_ITEMS = 2000
MAX_BLOCKS = 100
MAX_BLOCK_CHARS = 4_000_000
MAX_NODES = 50_000
MAX_DEPTH = 40
MAX_TITLE = 1000
MAX_TEXT = 5000
MAX_URL = 2048
MAX_TAGS = 50
HEAD_SCAN = 512 * 1024

PRODUCT_TYPES = frozenset(
    {"product", "productgroup", "individualproduct", "productmodel", "someproducts"}
)
LIST_TYPES = frozenset({"itemlist", "offercatalog"})
_AVAILABLE = frozenset(
    {
        "instock",
        "limitedavailability",
        "onlineonly",
        "instoreonly",
        "preorder",
        "presale",
        "backorder",
        "madetoorder",
        "available",
        "in",
    }
)
_UNAVAILABLE = frozenset(
    {"outofstock", "soldout", "discontinued", "reserved", "oos", "unavailable", "out"}
)
_LIST_PRICE_TYPES = frozenset({"listprice", "strikethroughprice", "msrp", "srp"})

_LD_TYPE = re.compile(rb"""\btype\s*=\s*["']?\s*application/ld\+json""")
_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([a-z0-9_\-:.]{2,40})""")
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_TAG = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_JUNK = re.compile(r"[\x00-\x1f\x7f]")
_STRINGS_OR_COMMA = re.compile(r'"(?:[^"\\]|\\.)*"|,(?=\s*[}\]])', re.DOTALL)
_PREFIX = re.compile(r"\s*(?:<!--|//\s*<!\[CDATA\[|/\*\s*<!\[CDATA\[\s*\*/|<!\[CDATA\[)")
_SUFFIX = re.compile(r"(?:-->|//\s*\]\]>|/\*\s*\]\]>\s*\*/|\]\]>)\s*$")
_DATE_FORMATS = (
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%Y年%m月%d日",
)


# --------------------------------------------------------------------------- the page

_UNPARSED: Any = object()
"""A :class:`Page` whose lxml tree has not been asked for yet."""


class Page:
    """A page as bytes with an ASCII-lower-cased twin for case-insensitive scanning.

    Positions in ``low`` are positions in ``raw``; only the snippets that matter are
    decoded (with ``charset``).
    """

    __slots__ = ("_text", "_tree", "charset", "low", "raw")

    def __init__(
        self, html: str | bytes, encoding: str | None = None, *, verify: bool = False
    ) -> None:
        if isinstance(html, str):
            self.raw = html.encode("utf-8", "replace")
            self.charset = "utf-8"
            self._text: str | None = html
        elif isinstance(html, bytes | bytearray | memoryview):
            raw = bytes(html)
            charset = _sniff_charset(raw, encoding, verify=verify)
            if charset in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
                text = raw.decode(charset, "replace")
                raw, charset = text.encode("utf-8", "replace"), "utf-8"
            self.raw, self.charset, self._text = raw, charset, None
        else:
            self.raw, self.charset, self._text = b"", "utf-8", ""
        self.low = self.raw.lower()
        self._tree: Any = _UNPARSED

    def decode(self, start: int = 0, end: int | None = None) -> str:
        """The text of ``raw[start:end]``."""
        return self.raw[start:end].decode(self.charset, "replace")

    @property
    def text(self) -> str:
        """The whole page as text (decoded once, on demand)."""
        if self._text is None:
            self._text = self.decode()
        return self._text

    def head_end(self) -> int:
        """Where ``<head>`` ends (or a scan limit when it never does)."""
        end = self.low.find(b"</head", 0, HEAD_SCAN)
        return end if end >= 0 else min(len(self.low), HEAD_SCAN)

    def tags(self, name: bytes, start: int = 0, end: int | None = None) -> list[dict[str, str]]:
        """Attributes (lower-case names) of every ``<name ...>`` tag in ``[start, end)``."""
        end = len(self.low) if end is None else end
        out: list[dict[str, str]] = []
        needle = b"<" + name
        pos = start
        while len(out) < 2000:
            i = self.low.find(needle, pos, end)
            if i < 0:
                break
            after = self.low[i + len(needle) : i + len(needle) + 1]
            close = self.low.find(b">", i, min(end, i + 8192))
            if close < 0:
                break
            pos = close + 1
            if after and after not in b" \t\r\n/":
                continue
            out.append(parse_attrs(self.decode(i + len(needle), close)))
        return out


def parse_attrs(text: str) -> dict[str, str]:
    """Attributes of one tag's inside (``a="1" b='2' c=3 d``), names lower-cased."""
    attrs: dict[str, str] = {}
    for m in _ATTR.finditer(text):
        name = m.group(1).lower()
        if name not in attrs:
            value = m.group(2) if m.group(2) is not None else m.group(3)
            if value is None:
                value = m.group(4) or ""
            attrs[name] = unescape(value) if "&" in value else value
    return attrs


def _sniff_charset(raw: bytes, declared: str | None, *, verify: bool = False) -> str:
    """The page's charset: a BOM, else the HTTP header's, else the first ``<meta>``
    declaration, checked against the bytes.

    Declarations are often wrong: a Latin-1/Windows-1252 declaration over bytes that are
    valid UTF-8 (with non-ASCII text) means UTF-8. A UTF-8 declaration is trusted (as
    browsers do) unless ``verify`` asks to check it against the bytes (the product-page
    reader does; the structured-data fast path does not need to). A page without a usable
    early declaration that is not (mostly) valid UTF-8 is read with a ``<meta>`` found
    further down (saved pages put scripts first), else as GB18030 when it looks Chinese,
    else Windows-1252.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    candidates = [declared] if declared else []
    m = _CHARSET.search(raw[:4096].lower())
    if m:
        candidates.append(m.group(1).decode("ascii", "replace"))
    codec = _first_codec(candidates)
    if codec == "utf-8" and (not verify or _is_utf8(raw) or _mostly_utf8(raw)):
        return codec
    if codec in _LATIN and not raw.isascii() and _is_utf8(raw):
        return "utf-8"
    if codec is not None and codec != "utf-8":
        return codec
    if codec is None and (raw.isascii() or _is_utf8(raw) or _mostly_utf8(raw)):
        return "utf-8"
    m = _CHARSET.search(raw[:HEAD_SCAN].lower())
    later = _first_codec([m.group(1).decode("ascii", "replace")]) if m else None
    if later is not None and later != "utf-8":
        return later
    head = raw[:HEAD_SCAN].lower()
    if any(hint in head for hint in (b"gbk", b"gb2312", b"gb18030", b'lang="zh', b"taobao")):
        return "gb18030"
    return "cp1252"


_ASCII = bytes(range(128))
_LATIN = frozenset({"latin-1", "iso8859-1", "iso8859-15", "cp1252", "ascii"})


def _first_codec(names: list[str]) -> str | None:
    for name in names:
        try:
            codec = codecs.lookup(name).name
        except (LookupError, TypeError, ValueError):
            continue
        if codec in ("gb2312", "gbk"):
            return "gb18030"
        if codec.startswith("utf-16") or codec.startswith("utf-32"):
            continue  # a <meta> in an ASCII-readable page cannot really mean UTF-16
        return codec
    return None


def _is_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8 (a sequence cut at the very end is allowed)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(raw) - 3
    return True


def _mostly_utf8(raw: bytes) -> bool:
    """Whether all but a few (< 1 in 40) of the non-ASCII bytes form valid UTF-8."""
    sample = raw[:HEAD_SCAN]
    text = sample.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    return bad * 40 < len(sample.translate(None, _ASCII))


# ------------------------------------------------------------------------------ JSON-LD


def ld_blocks(page: Page) -> list[str]:
    """The text inside every ``<script type="application/ld+json">`` of the page."""
    low = page.low
    out: list[str] = []
    pos = 0
    while len(out) < MAX_BLOCKS:
        i = low.find(b"ld+json", pos)
        if i < 0:
            break
        pos = i + 7
        start = low.rfind(b"<script", max(0, i - 1000), i)
        if start < 0 or b">" in low[start:i]:
            continue
        tag_end = low.find(b">", i)
        if tag_end < 0:
            break
        if not _LD_TYPE.search(low, start, tag_end):
            continue
        close = low.find(b"</script", tag_end)
        if close < 0:
            close = len(low)
        if close - tag_end <= MAX_BLOCK_CHARS:
            out.append(page.decode(tag_end + 1, close))
        pos = close
    return out


def load_json(block: str) -> list[Any]:
    """The JSON values in one ld+json block, repairing common breakage; [] when hopeless."""
    text = _unwrap(block)
    if not text:
        return []
    value = _loads(text)
    if value is _FAIL:
        repaired = _STRINGS_OR_COMMA.sub(lambda m: m.group(0) if m.group(0) != "," else "", text)
        value = _loads(repaired)
        if value is _FAIL and "&quot;" in text:
            value = _loads(unescape(text))
        if value is _FAIL:
            return _load_many(repaired)
    if isinstance(value, str):
        inner = _loads(value.strip()) if value.strip()[:1] in ("{", "[") else _FAIL
        return [] if inner is _FAIL or isinstance(inner, str) else [inner]
    return [value]


_FAIL = object()
_DECODER = json.JSONDecoder(strict=False)


def _loads(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError):
        return _FAIL


def _load_many(text: str) -> list[Any]:
    """Several JSON values back to back (``{...}{...}`` or ``{...};{...}``)."""
    out: list[Any] = []
    pos = 0
    while pos < len(text) and len(out) < MAX_BLOCKS:
        while pos < len(text) and text[pos] in " \t\r\n;,":
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        out.append(value)
    return out


def _unwrap(block: str) -> str:
    """The block without HTML comment / CDATA wrappers (checked at the ends only)."""
    text = block.strip()
    m = _PREFIX.match(text)
    if m:
        text = text[m.end() :]
    m = _SUFFIX.search(text, max(0, len(text) - 40))
    if m:
        text = text[: m.start()]
    return text.strip()


@lru_cache(maxsize=4096)
def _type_key(name: str) -> str:
    return re.split(r"[/:#]", name.strip())[-1].lower()


def _type_names(node: dict[str, Any]) -> set[str]:
    t = node.get("@type")
    if isinstance(t, str):
        return {_type_key(t)} if len(t) < 300 else set()
    if not isinstance(t, list):
        return set()
    return {_type_key(n) for n in t[:10] if isinstance(n, str) and 0 < len(n) < 300}


@dataclass
class _Graph:
    """Everything the walk found: product and list nodes, and definitions by ``@id``."""

    products: list[dict[str, Any]] = field(default_factory=list)
    lists: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: int = 0
    merges: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    """Later definitions of an ``@id`` already seen, to fill its gaps once walked."""

    def finish(self) -> None:
        """Fill each ``@id``'s first definition from its later ones (after the walk)."""
        for known, value in self.merges:
            for k, v in value.items():
                known.setdefault(k, v)
        self.merges.clear()

    def deref(self, value: Any) -> Any:
        """A bare ``{"@id": ...}`` reference replaced by its definition when known."""
        if isinstance(value, dict) and _is_ref(value):
            ref = value.get("@id")
            if isinstance(ref, str):
                return self.ids.get(ref, value)
        return value

    def walk(self, value: Any, depth: int = 0, in_product: bool = False) -> None:
        """Collect products (not nested in another product), lists and definitions."""
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            return
        self.nodes += 1
        if isinstance(value, list):
            for v in value[:MAX_ITEMS]:
                self.walk(v, depth + 1, in_product)
            return
        if not isinstance(value, dict):
            return
        ref = value.get("@id")
        bare = ref is not None and _is_ref(value)
        if isinstance(ref, str) and not bare:
            known = self.ids.get(ref)
            if known is None:
                self.ids[ref] = value
            elif known is not value:
                # merged after the walk: ``known`` may be an ancestor being iterated
                self.merges.append((known, value))
        types = _type_names(value)
        is_product = bool(types & PRODUCT_TYPES) and not bare
        if is_product and not in_product and len(self.products) < MAX_PRODUCTS:
            self.products.append(value)
        if types & LIST_TYPES:
            self.lists.append(value)
        inside = in_product or is_product
        for k, v in value.items():
            # a product's own reviews hold no products or lists: skipping them halves
            # the walk of a typical product page
            if isinstance(v, dict | list) and k != "@context" and not (inside and k in _SKIP):
                self.walk(v, depth + 1, inside)


_SKIP = frozenset({"review", "reviews"})


def _is_ref(node: dict[str, Any]) -> bool:
    return "@id" in node and all(k in ("@id", "@type", "@context") for k in node)


# ----------------------------------------------------------------------------- helpers


def inline_text(value: Any, cap: int = MAX_TEXT) -> str:
    """A text field as the page shows it: entities decoded, controls dropped, whitespace
    collapsed, capped. Nothing that looks like a tag is removed: a JSON-LD ``name`` or
    ``reviewBody`` is literal text, and text taken from the DOM has no markup left, so
    "Mug <350ml> ceramic" is what the shop wrote."""
    s = _str(value)
    if not s:
        return ""
    s = s[: cap * 4]
    if "&" in s:
        s = unescape(s)
    s = strip_controls(s)
    return " ".join(s.split())[:cap]


def clean_markup(value: Any, cap: int = MAX_TEXT) -> str:
    """A field that shops fill with HTML (a JSON-LD ``description``), as plain text."""
    s = _str(value)[: cap * 4]
    if "<" in s:
        s = _TAG.sub(" ", s)
    return inline_text(s, cap)


def _finite(value: Any) -> float | None:
    """A finite float from an int/float (bools, NaN, infinities and huge ints are None)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _str(value: Any) -> str:
    for _ in range(5):
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or value is None:
            return ""
        if isinstance(value, int | float):
            f = _finite(value)
            return "" if f is None else str(int(f)) if isinstance(value, int) else str(f)
        if isinstance(value, list):
            value = value[0] if value else None
        elif isinstance(value, dict):
            value = value.get("@value", value.get("name", value.get("text")))
        else:
            return ""
    return ""


def absolute_url(value: Any, base: str, *, fragment: bool = True) -> str | None:
    """``value`` resolved against ``base`` when it is an http(s) URL; else None."""
    if not isinstance(value, str):
        return None
    # Browsers drop tabs and newlines anywhere in a URL (WHATWG); so must we, or a
    # "http\t://" would pass the scheme check with the tab still inside.
    s = _URL_JUNK.sub("", strip_controls(value.strip()))
    if not s or len(s) > MAX_URL or s.startswith(("javascript:", "data:", "mailto:")):
        return None
    try:
        # the common shapes skip urljoin, which is slow
        if s.startswith(("https://", "http://")):
            url = s
        elif s[0] == "#":
            url = base.split("#", 1)[0] + s
        elif s[0] == "/" and s[1:2] != "/" and "\\" not in s:
            origin = urlsplit(base)
            url = f"{origin.scheme}://{origin.netloc}{s}"
        else:
            url = urljoin(base, s)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError for a port outside 0-65535
        if not fragment and parts.fragment:
            url = urlunsplit(parts._replace(fragment=""))
    except ValueError:
        return None
    return url


def parse_date(value: Any) -> datetime | None:
    """An aware datetime from ISO 8601 and a few common shop formats (naive -> UTC)."""
    s = _str(value).strip()[:64]
    if not s or not any(c.isdigit() for c in s):
        return None
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except (ValueError, OverflowError):
        for fmt in _DATE_FORMATS:
            try:
                dt = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        else:
            try:
                dt = parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
    return in_range(dt)


def availability(value: Any) -> bool | None:
    """True/False/None from a schema.org ItemAvailability (URL, bare name or text)."""
    s = _str(value.get("@id") if isinstance(value, dict) else value).strip()
    return _availability_key(s) if s and len(s) < 200 else None


@lru_cache(maxsize=1024)
def _availability_key(s: str) -> bool | None:
    key = re.split(r"[/:#]", s.rstrip("/"))[-1].lower()
    key = re.sub(r"[\s_\-]", "", key)
    if key in _AVAILABLE:
        return True
    if key in _UNAVAILABLE:
        return False
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _finite(value)
    else:
        s = _str(value).strip()[:32]
        if s.isdigit():
            return float(s)
        if "," in s and "." not in s:
            s = s.replace(",", ".")
        m = re.search(r"\d+(?:\.\d+)?", s)
        if not m:
            return None
        f = float(m.group(0))
    return f if math.isfinite(f) else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = _finite(value)
        return int(f) if f is not None and 0 <= f < 1e12 else None
    digits = re.sub(r"[,.\s\u00a0]", "", _str(value))[:15]
    return int(digits) if digits.isdigit() else None


def to_five(value: Any, best: Any = None, worst: Any = None) -> float | None:
    """A rating on a 5-star scale from its value and its scale's best/worst (5 and 1)."""
    v = _number(value)
    b = _number(best) if best is not None else None
    w = _number(worst) if worst is not None else None
    b = 5.0 if b is None else b
    w = (1.0 if b > 1 else 0.0) if w is None else w
    if v is None or b <= w or b <= 0:
        return None
    v = min(max(v, w), b)  # a value a little outside its scale is the scale's end
    # a scale starting at 1 star maps linearly onto 1-5; one starting at 0 proportionally
    five = 1 + (v - w) * 4 / (b - w) if w >= 1 else v * 5 / b
    return round(five, 2)


# ------------------------------------------------------------------------ conversion


@dataclass
class _Offer:
    price: float | None
    currency: str | None
    available: bool | None
    compare_at: float | None


def _currency_code(value: Any) -> str | None:
    s = _str(value).strip().upper()
    return s if re.fullmatch(r"[A-Z]{3}", s) else None


class _Converter:
    """Turns JSON-LD-shaped dicts (also built from microdata/OpenGraph) into Listings."""

    def __init__(self, base: str, graph: _Graph, default_currency: str | None = None) -> None:
        self.base = base
        self.g = graph
        self.default_currency = default_currency

    def _list(self, value: Any, cap: int = MAX_ITEMS) -> list[Any]:
        value = self.g.deref(value)
        items = value if isinstance(value, list) else [] if value is None else [value]
        return [self.g.deref(v) for v in items[:cap]]

    def images(self, value: Any) -> list[str]:
        out: list[str] = []
        for item in self._list(value, MAX_IMAGES * 2):
            url = item
            if isinstance(item, dict):
                url = item.get("url") or item.get("contentUrl") or item.get("@id")
            if isinstance(url, list):
                url = url[0] if url else None
            u = absolute_url(url, self.base)
            if u and u not in out:
                out.append(u)
            if len(out) >= MAX_IMAGES:
                break
        return out

    def offer(self, node: Any, depth: int = 0) -> list[_Offer]:
        if not isinstance(node, dict) or depth > 3:
            return []
        types = _type_names(node)
        out: list[_Offer] = []
        currency = _currency_code(node.get("priceCurrency"))
        avail = availability(node.get("availability"))
        price_value = node.get("lowPrice") if "aggregateoffer" in types else None
        if price_value is None:
            price_value = node.get("price")
        compare_at: float | None = None
        for spec in self._list(node.get("priceSpecification"), 20):
            if not isinstance(spec, dict):
                continue
            kind = _str(spec.get("priceType")).rsplit("/", 1)[-1].lower()
            spec_currency = _currency_code(spec.get("priceCurrency")) or currency
            amount, _ = parse_price(spec.get("price"), spec_currency or self.default_currency)
            if kind in _LIST_PRICE_TYPES:
                compare_at = amount
            elif price_value is None and amount is not None:
                price_value, currency = spec.get("price"), spec_currency
        price, parsed_currency = parse_price(price_value, currency or self.default_currency)
        if price is not None or avail is not None:
            out.append(_Offer(price, currency or parsed_currency, avail, compare_at))
        if "aggregateoffer" in types or node.get("offers") is not None:
            for inner in self._list(node.get("offers"), 200):
                out.extend(self.offer(inner, depth + 1))
        return out

    def rating(self, node: Any) -> tuple[float | None, int | None]:
        node = self.g.deref(node)
        if isinstance(node, list):
            node = self.g.deref(node[0]) if node else None
        if not isinstance(node, dict):
            v = to_five(node) if isinstance(node, int | float | str) else None
            return v, None
        value = to_five(node.get("ratingValue"), node.get("bestRating"), node.get("worstRating"))
        count = _count(node.get("ratingCount"))
        if count is None:
            count = _count(node.get("reviewCount"))
        return value, count

    def rating_value(self, node: Any) -> float | None:
        """A Rating (or a bare number) on the 5-star scale."""
        node = self.g.deref(node)
        if isinstance(node, dict):
            return to_five(node.get("ratingValue"), node.get("bestRating"), node.get("worstRating"))
        if isinstance(node, int | float | str):
            return to_five(node)
        return None

    def review(self, node: Any) -> Review | None:
        if not isinstance(node, dict):
            return None
        text = inline_text(
            strip_known_tags(_str(node.get("reviewBody"))[: MAX_TEXT * 4])
        ) or inline_text(strip_known_tags(_str(node.get("description"))[: MAX_TEXT * 4]))
        if not text:
            text = inline_text(node.get("name"))
        author_node = self.g.deref(node.get("author"))
        if isinstance(author_node, list):
            author_node = self.g.deref(author_node[0]) if author_node else None
        author = inline_text(author_node, 200) or None
        rating = self.rating_value(node.get("reviewRating"))
        published = parse_date(node.get("datePublished") or node.get("dateCreated"))
        rid = node.get("@id") or node.get("url")
        review_id = None
        if isinstance(rid, str | int) and not isinstance(rid, bool):
            review_id = absolute_url(rid, self.base) if isinstance(rid, str) else str(rid)
            review_id = (review_id or str(rid))[:500]
        if not text and rating is None:
            return None
        return Review(id=review_id, rating=rating, text=text, author=author, published_at=published)

    def product(self, node: dict[str, Any], page_url: str | None) -> Listing:
        """One Listing from a Product / ProductGroup node."""
        variants = [
            v
            for v in self._list(node.get("hasVariant"), 200)
            if isinstance(v, dict) and v is not node
        ]
        offers: list[_Offer] = []
        for n in [node, *variants]:
            for o in self._list(n.get("offers"), 200):
                offers.extend(self.offer(o))
        priced = [o for o in offers if o.price is not None]
        open_offers = [o for o in priced if o.available is not False] or priced
        best = min(open_offers, key=lambda o: o.price or 0.0) if open_offers else None
        states = [o.available for o in offers if o.available is not None]
        available = True if any(states) else False if states else None

        images = self.images(node.get("image"))
        for v in variants:
            if len(images) >= MAX_IMAGES:
                break
            images.extend(u for u in self.images(v.get("image")) if u not in images)
        images = images[:MAX_IMAGES]

        rating, rating_count = self.rating(node.get("aggregateRating"))
        reviews: list[Review] = []
        seen: set[str] = set()
        for n in [node, *variants]:
            for r in self._list(n.get("review", n.get("reviews")), MAX_REVIEWS):
                rev = self.review(r)
                if rev is not None and rev.key not in seen and len(reviews) < MAX_REVIEWS:
                    seen.add(rev.key)
                    reviews.append(rev)

        url = absolute_url(_str(node.get("url")), self.base) if node.get("url") else None
        if url is None:
            url = page_url
        if url is None and isinstance(node.get("@id"), str):
            url = absolute_url(node["@id"], self.base, fragment=False)
        url = url or self.base
        sku = inline_text(node.get("sku"), 200) or inline_text(node.get("productID"), 200)

        keywords = node.get("keywords")
        tags = (
            [inline_text(k, 100) for k in keywords[:MAX_TAGS]]
            if isinstance(keywords, list)
            else [t.strip() for t in inline_text(keywords, 2000).split(",")][:MAX_TAGS]
        )
        category = self.g.deref(node.get("category"))
        return Listing(
            ref=sku or url,
            url=url,
            title=inline_text(node.get("name"), MAX_TITLE),
            price=best.price if best else None,
            currency=(best.currency or self.default_currency) if best else None,
            compare_at=(
                best.compare_at
                if best and best.compare_at and best.price and best.compare_at > best.price
                else None
            ),
            available=available,
            images=images,
            rating=rating,
            rating_count=rating_count,
            reviews=reviews,
            tags=[t for t in tags if t],
            product_type=inline_text(category, 200) or None,
            description=clean_markup(node.get("description")) or None,
            published_at=parse_date(node.get("datePublished") or node.get("releaseDate")),
        )

    def list_entries(self, node: dict[str, Any]) -> list[Listing]:
        """Listings (often just url and name) of one ItemList, in ``position`` order."""
        rows: list[tuple[float, int, Listing]] = []
        for index, el in enumerate(self._list(node.get("itemListElement"), MAX_ITEMS)):
            position = _number(el.get("position")) if isinstance(el, dict) else None
            listing = self._entry(el)
            if listing is not None:
                rows.append((position if position is not None else math.inf, index, listing))
        rows.sort(key=lambda r: (r[0], r[1]))
        return [r[2] for r in rows]

    def _entry(self, el: Any) -> Listing | None:
        if isinstance(el, str):
            url = absolute_url(el, self.base)
            return Listing(ref=url, url=url, title="") if url else None
        if not isinstance(el, dict):
            return None
        item = self.g.deref(el.get("item"))
        if "offer" in _type_names(el) or (item is None and el.get("itemOffered") is not None):
            item = self.g.deref(el.get("itemOffered"))
        if item is None and _type_names(el) & PRODUCT_TYPES:
            item = el
        if isinstance(item, dict) and _type_names(item) & PRODUCT_TYPES:
            listing = self.product(item, None)
            if listing.url == self.base and el.get("url"):
                listing.url = absolute_url(el.get("url"), self.base) or listing.url
            if not listing.title:
                listing.title = inline_text(el.get("name"), MAX_TITLE)
            listing.reviews = None
            listing.ref = listing.url
            return listing
        target = item if isinstance(item, str) else None
        if isinstance(item, dict):
            target = item.get("url") or item.get("@id")
        url = absolute_url(target, self.base) or absolute_url(el.get("url"), self.base)
        if url is None:
            return None
        name = el.get("name") or (item.get("name") if isinstance(item, dict) else None)
        images = self.images(
            el.get("image") or (item.get("image") if isinstance(item, dict) else None)
        )
        return Listing(ref=url, url=url, title=inline_text(name, MAX_TITLE), images=images)


# ------------------------------------------------------------------- microdata, OG


def parse_tree(page: Page) -> Any:
    """An lxml tree of the page (comments dropped), or None when lxml cannot make one.

    The tree is built once per :class:`Page` (the microdata reader and the visible-page
    reader share it; neither changes it)."""
    if page._tree is not _UNPARSED:
        return page._tree
    try:
        # collect_ids=False: nothing looks elements up by XPath id(), and libxml2's id
        # table costs ~3 % of the parse
        parser = etree.HTMLParser(
            encoding=page.charset if page.charset != "utf-8-sig" else "utf-8",
            recover=True,
            no_network=True,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        page._tree = etree.fromstring(page.raw, parser)
    except (etree.LxmlError, ValueError, LookupError):
        page._tree = None
    return page._tree


_URL_PROPS = {
    "a": "href",
    "area": "href",
    "link": "href",
    "img": "src",
    "audio": "src",
    "video": "src",
    "source": "src",
    "embed": "src",
    "iframe": "src",
    "track": "src",
    "object": "data",
}


def _md_value(el: Any) -> str:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag == "meta":
        return el.get("content") or ""
    if tag in _URL_PROPS:
        return el.get(_URL_PROPS[tag]) or el.get("content") or ""
    if tag in ("data", "meter"):
        return el.get("value") or ""
    if tag == "time":
        return el.get("datetime") or _element_text(el)
    if el.get("content") is not None:
        return el.get("content") or ""
    return _element_text(el)


def _element_text(el: Any) -> str:
    try:
        return " ".join("".join(el.itertext()).split())[: MAX_TEXT * 2]
    except (ValueError, TypeError):
        return ""


def _md_item(scope: Any, budget: list[int], depth: int = 0) -> dict[str, Any]:
    """A microdata item as a JSON-LD-shaped dict (``@type`` from its itemtype)."""
    item: dict[str, Any] = {}
    itemtype = (scope.get("itemtype") or "").split()
    if itemtype:
        item["@type"] = itemtype[0]
    if scope.get("itemid"):
        item["@id"] = scope.get("itemid")
    props: dict[str, list[Any]] = {}
    stack = list(reversed([c for c in scope if isinstance(c.tag, str)]))
    while stack and budget[0] > 0:
        budget[0] -= 1
        el = stack.pop()
        names = (el.get("itemprop") or "").split()
        nested = el.get("itemscope") is not None
        if names:
            if nested:
                value: Any = _md_item(el, budget, depth + 1) if depth < 8 else {}
            else:
                value = _md_value(el)
            for n in names[:5]:
                bucket = props.setdefault(n, [])
                if len(bucket) < MAX_REVIEWS:
                    bucket.append(value)
        if not nested:
            stack.extend(reversed([c for c in el if isinstance(c.tag, str)]))
    for name, values in props.items():
        item[name] = values[0] if len(values) == 1 else values
    return item


def microdata_products(tree: Any) -> list[dict[str, Any]]:
    """Top-level microdata Products of a tree, as JSON-LD-shaped dicts."""
    if tree is None:
        return []
    out: list[dict[str, Any]] = []
    budget = [MAX_NODES]
    try:
        scopes = tree.xpath("//*[@itemscope][@itemtype]")
    except etree.LxmlError:
        return []
    inside: set[Any] = set()
    for scope in scopes[: MAX_PRODUCTS * 4]:
        types = {re.split(r"[/:#]", t)[-1].lower() for t in scope.get("itemtype", "").split()}
        if not types & PRODUCT_TYPES:
            continue
        if any(a in inside for a in scope.iterancestors()):
            continue
        inside.add(scope)
        out.append(_md_item(scope, budget))
        if len(out) >= MAX_PRODUCTS:
            break
    return out


def meta_properties(page: Page) -> dict[str, list[str]]:
    """``<meta property|name=... content=...>`` values of the page head, by lower-case key."""
    out: dict[str, list[str]] = {}
    for attrs in page.tags(b"meta", 0, page.head_end()):
        key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        content = attrs.get("content")
        if key and content is not None:
            out.setdefault(key, []).append(content)
    return out


def head_links(page: Page) -> dict[str, str]:
    """First href of each ``<link rel=...>`` in the head (``canonical``, ``next``...)."""
    out: dict[str, str] = {}
    for attrs in page.tags(b"link", 0, page.head_end()):
        href = attrs.get("href")
        if href:
            for rel in attrs.get("rel", "").lower().split():
                out.setdefault(rel, href)
    return out


def opengraph_product(meta: dict[str, list[str]]) -> dict[str, Any] | None:
    """A JSON-LD-shaped Product from OpenGraph / product: meta tags (None if no title)."""

    def first(*keys: str) -> str | None:
        for k in keys:
            if meta.get(k):
                return meta[k][0]
        return None

    title = first("og:title", "twitter:title")
    amount = first("product:price:amount", "og:price:amount", "product:sale_price:amount")
    og_type = (first("og:type") or "").lower()
    if not title and amount is None:
        return None
    node: dict[str, Any] = {"@type": "Product", "name": title or ""}
    node["image"] = [
        *meta.get("og:image", []),
        *meta.get("og:image:secure_url", []),
        *meta.get("og:image:url", []),
    ]
    if first("og:url"):
        node["url"] = first("og:url")
    if first("og:description", "description"):
        node["description"] = first("og:description", "description")
    if first("product:retailer_item_id"):
        node["sku"] = first("product:retailer_item_id")
    node["offers"] = {
        "@type": "Offer",
        "price": amount,
        "priceCurrency": first(
            "product:price:currency", "og:price:currency", "product:sale_price:currency"
        ),
        "availability": first("product:availability", "og:availability"),
    }
    node["_is_product"] = og_type.startswith("product") or amount is not None
    return node


# --------------------------------------------------------------------------- public


def fill_missing(a: Listing, b: Listing) -> None:
    """Fill ``a``'s missing fields from ``b`` (``a`` wins wherever it has a value)."""
    if not a.title:
        a.title = b.title
    if a.price is None and b.price is not None:
        a.price, a.currency = b.price, b.currency
    for name in ("compare_at", "available", "rating", "rating_count", "description"):
        if getattr(a, name) is None:
            setattr(a, name, getattr(b, name))
    for name in ("product_type", "published_at"):
        if getattr(a, name) is None:
            setattr(a, name, getattr(b, name))
    if not a.images:
        a.images = list(b.images)
    if not a.tags:
        a.tags = list(b.tags)
    if not a.reviews and b.reviews:
        a.reviews = list(b.reviews)


def _check_base(base_url: str) -> None:
    ok = False
    if isinstance(base_url, str):
        try:
            parts = urlsplit(base_url.strip())
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
    if not ok:
        raise ParseError(f"base URL must be an absolute http(s) URL, got {str(base_url)[:100]!r}")


def ld_graph(page: Page) -> _Graph:
    """Every JSON-LD node of the page, walked."""
    g = _Graph()
    for block in ld_blocks(page):
        for root in load_json(block):
            g.walk(root)
    g.finish()
    return g


def extract_products(
    html: str | bytes | Page,
    base_url: str,
    *,
    encoding: str | None = None,
    default_currency: str | None = None,
) -> list[Listing]:
    """Products described by the page's structured data, main product first.

    JSON-LD Products (merged when two blocks describe the same product) win; microdata and
    OpenGraph fill the fields they leave empty, or stand in when there is no JSON-LD
    product. ``reviews`` is always a list. ``encoding`` is the charset from the HTTP
    header (bytes only; a :class:`Page` has its own); ``default_currency`` applies to
    prices without a currency.
    Raises :class:`ParseError` only when ``base_url`` is not an absolute http(s) URL;
    any page, however broken, gives a (possibly empty) list.
    """
    _check_base(base_url)
    base = base_url.strip()
    page = html if isinstance(html, Page) else Page(html, encoding)
    graph = ld_graph(page)
    conv = _Converter(base, graph, default_currency)
    head: dict[str, Any] = {}

    def page_url() -> str | None:
        # the head is scanned only when a product lacks a URL or fields OpenGraph may fill
        if "url" not in head:
            links = head_links(page)
            head["meta"] = meta_properties(page)
            head["url"] = absolute_url(links.get("canonical"), base) or absolute_url(
                (head["meta"].get("og:url") or [None])[0], base
            )
        return head["url"]

    single = len(graph.products) == 1
    listings: list[Listing] = []
    explicit: list[bool] = []  # whether each listing's URL came from the product itself
    for node in graph.products:
        has_url = absolute_url(_str(node.get("url")), base) is not None
        listing = conv.product(node, page_url() if single and not has_url else None)
        for i, known in enumerate(listings):
            same_url = known.url == listing.url and (
                listing.url != base or (has_url and explicit[i]) or known.title == listing.title
            )
            if same_url or known.ref == listing.ref != listing.url:
                fill_missing(known, listing)
                break
        else:
            listings.append(listing)
            explicit.append(has_url)

    main = listings[0] if listings else None
    needs_microdata = main is None or not main.title or main.price is None
    if needs_microdata and b"itemscope" in page.low:
        md_conv = _Converter(base, _Graph(), default_currency)
        nodes = microdata_products(parse_tree(page))
        md = [md_conv.product(n, page_url() if len(nodes) == 1 else None) for n in nodes]
        if main is None:
            listings = md
        elif md and len(listings) == 1:
            fill_missing(main, md[0])
        main = listings[0] if listings else None

    gaps = main is None or (
        len(listings) == 1
        and (not main.title or main.price is None or not main.images or main.available is None)
    )
    og = None
    if gaps:
        page_url()
        og = opengraph_product(head["meta"])
    if og is not None and (main is None or len(listings) == 1):
        og_listing = _Converter(base, _Graph(), default_currency).product(og, page_url())
        if main is None:
            if og.get("_is_product"):
                listings = [og_listing]
        else:
            fill_missing(main, og_listing)
    return listings


def extract_item_list(
    html: str | bytes, base_url: str, *, encoding: str | None = None
) -> list[str]:
    """Product URLs of the page's JSON-LD ``ItemList`` (listing pages), in position order.

    Several lists are concatenated in page order, duplicates dropped. Raises
    :class:`ParseError` only for a bad ``base_url``.
    """
    return [item.url for item in extract_catalog(html, base_url, encoding=encoding)]


def extract_catalog(
    html: str | bytes,
    base_url: str,
    *,
    encoding: str | None = None,
    default_currency: str | None = None,
) -> list[Listing]:
    """The JSON-LD ``ItemList`` entries of a listing page as Listings (``reviews`` None).

    Entries carry whatever the list says: at least the URL (also the ``ref``), often the
    name, sometimes a full Product with offers. Raises :class:`ParseError` only for a bad
    ``base_url``.
    """
    _check_base(base_url)
    base = base_url.strip()
    graph = ld_graph(Page(html, encoding))
    conv = _Converter(base, graph, default_currency)
    out: list[Listing] = []
    seen: set[str] = set()
    for node in graph.lists:
        for listing in conv.list_entries(node):
            if listing.url not in seen and len(out) < MAX_ITEMS:
                seen.add(listing.url)
                out.append(listing)
    return out
