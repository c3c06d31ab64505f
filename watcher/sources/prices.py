"""Price strings as shops write them -> (amount, ISO 4217 currency).

``price-parser`` finds the number and the currency symbol in free text; the number itself
is interpreted here, because a lone separator followed by three digits ("1.299") means a
thousands group in one locale and a decimal mark in another. The rule:

* a separator followed by 1 or 2 digits is the decimal mark ("19,99", "59.00"), and so is
  one followed by 4+ digits after a 0 or 4+ leading digits; 1–3 leading digits and 4+
  trailing ones ("1,39999": cents glued to a group) are dropped;
* with both "." and ",", the last one is the decimal mark ("1.299,00", "1,299.00");
* the same separator repeated is a thousands separator ("1.234.567", "1,29,999");
* one separator followed by exactly 3 digits (after 1–3 leading digits) is decided by the
  currency: a zero-decimal currency (JPY, KRW...) reads it as thousands, a three-decimal
  one (KWD, BHD...) as decimals, and a separator that is *not* the currency's decimal
  mark ("," for USD/CNY, "." for PLN/BRL) as thousands. Otherwise (no currency, EUR/CHF
  whose locales disagree, or the currency's own decimal mark as in "¥1.299") the value is
  truly ambiguous and dropped: ``(None, None)``.

Symbols: ¥/￥/元/RMB map to CNY, but a bare ``¥`` follows ``default_currency`` when that
is JPY; ``$`` is ``default_currency`` when that is a dollar currency, else USD. Whenever
the amount is None the currency is None too.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

from price_parser import Price

from watcher.money import ISO_CODES, THREE_DECIMAL, ZERO_DECIMAL

MAX_TEXT = 200
"""Only the first characters of a price text are read (hostile input stays cheap)."""

DECIMAL_POINT = frozenset(
    [
        "USD",
        "GBP",
        "CNY",
        "JPY",
        "HKD",
        "TWD",
        "SGD",
        "AUD",
        "CAD",
        "NZD",
        "INR",
        "MYR",
        "PHP",
        "THB",
        "KRW",
        "MXN",
        "ILS",
        "AED",
        "SAR",
        "QAR",
        "PKR",
        "BDT",
        "LKR",
        "NGN",
        "KES",
        "GHS",
        "EGP",
        "MOP",
    ]
)
DECIMAL_COMMA = frozenset(
    [
        "PLN",
        "BRL",
        "RUB",
        "TRY",
        "DKK",
        "NOK",
        "SEK",
        "CZK",
        "HUF",
        "RON",
        "ARS",
        "COP",
        "CLP",
        "IDR",
        "VND",
        "UAH",
        "BGN",
        "RSD",
        "KZT",
        "UYU",
        "BYN",
        "GEL",
        "AZN",
        "ISK",
    ]
)
DOLLARS = frozenset(["USD", "HKD", "TWD", "SGD", "AUD", "CAD", "NZD", "MXN"])
PESOS = frozenset(["MXN", "CLP", "ARS", "COP", "UYU"])  # also written with "$"
KRONER = frozenset(["SEK", "NOK", "DKK", "ISK"])


# Symbols (after NFKC, lower-cased) -> currency. Checked longest first.
_SYMBOLS: dict[str, str] = {
    "us$": "USD",
    "usd$": "USD",
    "hk$": "HKD",
    "nt$": "TWD",
    "s$": "SGD",
    "sg$": "SGD",
    "a$": "AUD",
    "au$": "AUD",
    "c$": "CAD",
    "cdn$": "CAD",
    "can$": "CAD",
    "ca$": "CAD",
    "nz$": "NZD",
    "mx$": "MXN",
    "r$": "BRL",
    "cn¥": "CNY",
    "jp¥": "JPY",
    "rmb": "CNY",
    "人民币": "CNY",
    "元": "CNY",
    "块": "CNY",
    "円": "JPY",
    "€": "EUR",
    "£": "GBP",
    "zł": "PLN",
    "zl": "PLN",
    "₽": "RUB",
    "руб": "RUB",
    "₹": "INR",
    "rs": "INR",
    "₩": "KRW",
    "원": "KRW",
    "₫": "VND",
    "฿": "THB",
    "₺": "TRY",
    "tl": "TRY",
    "ytl": "TRY",
    "₴": "UAH",
    "₱": "PHP",
    "rm": "MYR",
    "rp": "IDR",
    "kč": "CZK",
    "ft": "HUF",
    "lei": "RON",
    "fr.": "CHF",
    "₪": "ILS",
}
_SYMBOL_RE = re.compile(
    "|".join(
        (r"(?<![a-z])" + re.escape(s) + r"(?![a-z])") if s[0].isascii() else re.escape(s)
        for s in sorted(_SYMBOLS, key=len, reverse=True)
    )
)
_ISO_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_RANGE_RE = re.compile(r"(\d)\s*(?:[-–—~〜]|至|\bto\b|\bbis\b)\s*(?=\D{0,6}\d)", re.IGNORECASE)
_SPACES = re.compile(r"[\s'’\u00a0\u202f\u2009]")
_NUMBER_TEXT = re.compile(r"^(?:\d[\d.,]*|[.,]\d+)$")
_MULTIPLIER = re.compile(r"\d\s*(万|亿)")
_EURO_MARK = re.compile(r"(\d)€(\d{2})(?![\d.,])")  # "81€99" (French shops): € as decimal mark
_PLAIN = re.compile(r"\s*\d{1,12}(?:\.(?:\d{1,2}|\d{4,12}))?\s*\Z")


def _number_value(value: float | int) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    if not math.isfinite(f) or f < 0 or f > 1e12:
        return None
    return f


@lru_cache(maxsize=1024)
def _symbol_currency(low: str) -> str | None:
    """The currency of the first symbol in a lower-cased price text (the symbol pattern
    costs ~17 us a search; a page reader asks about one text with several defaults)."""
    m = _SYMBOL_RE.search(low)
    return _SYMBOLS[m.group(0)] if m else None


def currency_for(text: str, default_currency: str | None = None) -> str | None:
    """The ISO 4217 code a price text names (symbol or code), else ``default_currency``."""
    default = default_currency.upper() if default_currency else None
    low = text.lower()
    symbol = _symbol_currency(low)
    if symbol is not None:
        return symbol
    iso = _ISO_RE.search(text)
    if iso and iso.group(1) in ISO_CODES:
        return iso.group(1)
    if "¥" in text:
        return default if default in ("JPY", "CNY") else "CNY"
    if "$" in text:
        return default if default in DOLLARS or default in PESOS else "USD"
    if re.search(r"(?<![a-z])kr(?![a-z])", low):
        return default if default in KRONER else None
    return default


def _interpret(number: str, currency: str | None, decimal: str | None = None) -> float | None:
    """Turn the digits-and-separators text into a float, or None when ambiguous.

    ``decimal`` is the page locale's decimal mark: it decides a lone separator before three
    digits when the currency does not (a "." in a German page groups thousands)."""
    s = _SPACES.sub("", number)
    if not s or not _NUMBER_TEXT.match(s):
        return None
    dot, comma = s.rfind("."), s.rfind(",")
    if dot < 0 and comma < 0:
        return float(s)
    last = max(dot, comma)
    sep = s[last]
    head, tail = s[:last], s[last + 1 :]
    if dot >= 0 and comma >= 0:
        other = "," if sep == "." else "."
        if sep in head or not _grouped(head, other):
            return None
        return float(head.replace(other, "") + "." + (tail or "0"))
    if s.count(sep) > 1:
        if not _grouped(s, sep):
            return None
        return float(s.replace(sep, ""))
    if not head:
        return float("0." + tail)
    if len(tail) > 3 and len(head) <= 3 and head != "0":
        return None  # "1,39999": cents glued to a thousands group, not a 5-decimal price
    if len(tail) != 3 or len(head) > 3 or head == "0":
        return float(head + "." + (tail or "0"))
    if currency in ZERO_DECIMAL:
        return float(head + tail)
    if currency in THREE_DECIMAL:
        return float(head + "." + tail)
    mark = "." if currency in DECIMAL_POINT else "," if currency in DECIMAL_COMMA else None
    if mark is not None and sep != mark:
        return float(head + tail)
    if mark is None and decimal is not None and sep != decimal:
        return float(head + tail)
    return None


def _grouped(head: str, sep: str) -> bool:
    """Whether ``head`` (an integer part) is digits grouped by ``sep``: a first group of
    1–3 digits, then groups of 3 (or Indian-style 2s before the last 3)."""
    groups = head.split(sep)
    if not groups[0].isdigit() or (len(groups[0]) > 3 and len(groups) > 1):
        return False
    rest = groups[1:]
    if not rest:
        return True
    return len(rest[-1]) == 3 and all(g.isdigit() and len(g) in (2, 3) for g in rest)


@lru_cache(maxsize=1024)
def _amount_text(text: str) -> str | None:
    """The number part of a price text, as price-parser finds it (~60 us a call; a page
    reader asks about the same text once per currency it tries)."""
    return Price.fromstring(text).amount_text


def _single(
    text: str, default_currency: str | None, decimal: str | None = None
) -> tuple[float | None, str | None]:
    if not any(c.isdigit() for c in text):
        return None, None
    amount_text = _amount_text(text)
    if not amount_text:
        return None, None
    start = text.find(amount_text[0])
    if start > 0 and text[:start].rstrip().endswith("-") and not text[:start].rstrip()[:-1]:
        return None, None  # a negative number is never a price
    currency = currency_for(text, default_currency)
    value = _interpret(amount_text, currency, decimal)
    if value is None:
        return None, None
    m = _MULTIPLIER.search(text)
    if m:
        value *= 10_000 if m.group(1) == "万" else 100_000_000
    value = _number_value(value)
    if value is None:
        return None, None
    return value, currency


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text[:MAX_TEXT]).strip()
    return _EURO_MARK.sub(r"\1,\2 €", s) if "€" in s else s


def parse_price_range(
    text: str | float | int | None,
    default_currency: str | None = None,
    *,
    decimal: str | None = None,
) -> tuple[float | None, float | None, str | None]:
    """``(low, high, currency)`` of a price or a range like ``¥59-¥99`` / ``59 - 99``.

    A single price gives ``low == high``; anything unusable gives ``(None, None, None)``.
    ``decimal`` is the page locale's decimal mark ("," or "."), when known.
    """
    if text is None:
        return None, None, None
    if isinstance(text, int | float):
        value = _number_value(text)
        return (
            value,
            value,
            (default_currency.upper() if value is not None and default_currency else None),
        )
    if not isinstance(text, str):
        return None, None, None
    if _PLAIN.match(text):  # the schema.org shape ("59.00"): no symbol, no ambiguity
        value = _number_value(float(text))
        currency = default_currency.upper() if value is not None and default_currency else None
        return value, value, currency
    s = _normalise(text)
    m = _RANGE_RE.search(s)
    if m:
        left, right = s[: m.start() + 1], s[m.end() :]
        currency_hint = currency_for(left, None) or currency_for(right, default_currency)
        if currency_hint is None or (currency_hint == "CNY" and "¥" in s):
            currency_hint = currency_for(left, default_currency)
        low, c1 = _single(left, currency_hint, decimal)
        high, c2 = _single(right, currency_hint, decimal)
        if low is not None and high is not None:
            if high < low:
                low, high = high, low
            return low, high, c1 or c2
    value, currency = _single(s, default_currency, decimal)
    return value, value, currency


def parse_price(
    text: str | float | int | None,
    default_currency: str | None = None,
    *,
    decimal: str | None = None,
) -> tuple[float | None, str | None]:
    """``(amount, ISO 4217 currency)`` of a price text, number or JSON-LD price string.

    Ranges and from-prices give their low end (``¥59-¥99`` -> 59, ``￥59起`` -> 59);
    "Free", garbage and ambiguous values give ``(None, None)`` (see the module doc).
    """
    low, _, currency = parse_price_range(text, default_currency, decimal=decimal)
    return low, currency if low is not None else None
