"""Prices as a person reads them, in one place.

Every price shown carries its currency: ``¥89.00``, ``$1,234.50``, ``¥1,200`` (a currency
without minor units), ``89.000 KWD``, ``89.00 CHF`` (a code whose symbol is ambiguous or
unknown), and ``89.00 (currency unknown)`` when the shop did not say: a currency is never
invented. Two prices are compared or subtracted only when both name the same currency
(:func:`difference` answers None otherwise), so a copy at $59 is never "$30.00 cheaper"
than a listing at ¥89.

Pure: no imports from the rest of watcher, so every stage can use it.
"""

from __future__ import annotations

import math
import re
from typing import TypeGuard

SYMBOLS: dict[str, str] = {
    "CNY": "¥",
    "RMB": "¥",
    "JPY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "TWD": "NT$",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "C$",
    "SGD": "S$",
}
"""Currencies shown with a symbol before the amount; any other code follows the amount."""

ZERO_DECIMAL = frozenset(
    [
        "JPY",
        "KRW",
        "VND",
        "CLP",
        "ISK",
        "PYG",
        "UGX",
        "XAF",
        "XOF",
        "XPF",
        "KMF",
        "RWF",
        "GNF",
        "VUV",
        "DJF",
        "BIF",
        "IDR",
    ]
)
"""Currencies written without minor units (ISO 4217 exponent 0, and IDR by custom)."""
THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
"""Currencies with three decimals (ISO 4217 exponent 3)."""

ISO_CODES = frozenset(
    [
        "AED",
        "ARS",
        "AUD",
        "AZN",
        "BDT",
        "BGN",
        "BHD",
        "BRL",
        "BYN",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CZK",
        "DKK",
        "EGP",
        "EUR",
        "GBP",
        "GEL",
        "GHS",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "ISK",
        "JOD",
        "JPY",
        "KES",
        "KRW",
        "KWD",
        "KZT",
        "LKR",
        "LYD",
        "MOP",
        "MXN",
        "MYR",
        "NGN",
        "NOK",
        "NZD",
        "OMR",
        "PHP",
        "PKR",
        "PLN",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TND",
        "TRY",
        "TWD",
        "UAH",
        "USD",
        "UYU",
        "VND",
        "ZAR",
    ]
)
"""The ISO 4217 codes a price text is read for (``USD 12``, ``12 CNY``): the currencies
shops write, not every code (three capitals in a text are often a word)."""

UNKNOWN = "currency unknown"
_CODE = re.compile(r"[A-Za-z]{3}")


def currency_code(currency: object) -> str | None:
    """The upper-case three-letter code, or None when ``currency`` is not one."""
    if not isinstance(currency, str):
        return None
    text = currency.strip()
    return text.upper() if _CODE.fullmatch(text) else None


def is_amount(value: object) -> TypeGuard[float]:
    """A finite number (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def digits(currency: str | None) -> int:
    """How many decimals ``currency`` is written with (2 when unknown)."""
    code = currency_code(currency)
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def _number(amount: float, currency: str | None) -> str:
    """``-¥1,234.50`` / ``1,234.50 CHF`` / ``1,234.50`` (no currency note)."""
    code = currency_code(currency)
    number = f"{abs(amount):,.{digits(code)}f}"
    sign = "-" if amount < 0 and number.strip("0.,") else ""
    symbol = SYMBOLS.get(code or "")
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {code}" if code else f"{sign}{number}"


def money(amount: object, currency: object = None) -> str:
    """One price with its currency: ``¥89.00``, ``$5.50``, ``89.00 CHF``,
    ``89.00 (currency unknown)``; ``?`` when the amount is unknown."""
    if not is_amount(amount):
        return "?"
    code = currency_code(currency)
    text = _number(amount, code)
    return text if code else f"{text} ({UNKNOWN})"


def change(old: object, new: object, currency: object = None) -> str:
    """A price move in one currency: ``¥99.00 → ¥79.00``, or
    ``99.00 → 79.00 (currency unknown)`` (said once, not after each price)."""
    code = currency_code(currency)
    parts = [_number(v, code) if is_amount(v) else "?" for v in (old, new)]
    text = " → ".join(parts)
    return text if code or parts == ["?", "?"] else f"{text} ({UNKNOWN})"


def same_currency(a: object, b: object) -> bool:
    """Whether two prices are known to be in the same currency: both name it, and it is
    the same. A missing currency is not known to be anything."""
    code = currency_code(a)
    return code is not None and code == currency_code(b)


def difference(
    amount: object, currency: object, other: object, other_currency: object
) -> float | None:
    """``amount - other`` when both are known prices in one known currency, else None."""
    if is_amount(amount) and is_amount(other) and same_currency(currency, other_currency):
        return amount - other
    return None


def percent_change(old: object, new: object) -> str | None:
    """``"−20.2%"`` / ``"+5.0%"`` / ``"±0.0%"``; None when it cannot be computed."""
    if not (is_amount(old) and is_amount(new)) or old == 0:
        return None
    pct = (new - old) / old * 100
    sign = "+" if pct > 0 else "−" if pct < 0 else "±"
    return f"{sign}{abs(pct):.1f}%"
