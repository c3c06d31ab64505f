"""Prices shown with their currency, compared only within one currency (watcher/money.py)."""

from __future__ import annotations

import pytest

from watcher.money import change, currency_code, difference, money, percent_change, same_currency


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (89, "CNY", "¥89.00"),
        (159.0, "cny", "¥159.00"),
        (1234.5, "USD", "$1,234.50"),
        (1200, "JPY", "¥1,200"),
        (1200.4, "KRW", "₩1,200"),
        (3.5, "KWD", "3.500 KWD"),
        (12, "CHF", "12.00 CHF"),
        (19.5, "PLN", "19.50 PLN"),
        (-5, "USD", "-$5.00"),
        (-0.001, "USD", "$0.00"),
        (159, None, "159.00 (currency unknown)"),
        (159, "", "159.00 (currency unknown)"),
        (159, "元", "159.00 (currency unknown)"),
        (159, "<b>EVIL</b>", "159.00 (currency unknown)"),
        (None, "CNY", "?"),
        (float("nan"), "CNY", "?"),
        (float("inf"), "USD", "?"),
        (True, "USD", "?"),
        ("n/a", "USD", "?"),
    ],
)
def test_every_price_carries_its_currency(amount: object, currency: object, shown: str) -> None:
    assert money(amount, currency) == shown


def test_a_price_move_says_an_unknown_currency_once() -> None:
    assert change(99, 79, "CNY") == "¥99.00 → ¥79.00"
    assert change(99, 79, None) == "99.00 → 79.00 (currency unknown)"
    assert change(None, 79, "USD") == "? → $79.00"
    assert change(None, None, None) == "? → ?"


def test_prices_in_different_currencies_are_never_subtracted() -> None:
    # A copy at $59 against your ¥89 is not "$30.00 cheaper".
    assert difference(89, "CNY", 59, "USD") is None
    assert difference(89, "CNY", 59, None) is None  # unknown is not "the same"
    assert difference(89, "CNY", 59, "cny") == 30
    assert difference(89, None, 59, None) is None  # two unknowns are not known to agree
    assert difference(None, "CNY", 59, "CNY") is None
    assert same_currency("usd", " USD ") and not same_currency("USD", "HKD")
    assert not same_currency(None, None)
    assert currency_code(" eur ") == "EUR" and currency_code("EURO") is None


def test_percent_change() -> None:
    assert percent_change(99.0, 79.0) == "−20.2%"
    assert percent_change(100, 105) == "+5.0%"
    assert percent_change(5, 5) == "±0.0%"
    assert percent_change(0, 5) is None and percent_change(None, 5) is None
