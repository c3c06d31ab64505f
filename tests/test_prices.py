"""Price strings -> (amount, ISO 4217 currency)."""

from __future__ import annotations

import pytest

from watcher.sources.locales import decimal_mark, page_currency
from watcher.sources.prices import currency_for, parse_price, parse_price_range


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("¥1,299.00", None, (1299.0, "CNY")),
        ("￥59起", None, (59.0, "CNY")),
        ("1.299,00 €", None, (1299.0, "EUR")),
        ("US$19.99", None, (19.99, "USD")),
        ("19,99 zł", None, (19.99, "PLN")),
        ("HK$ 88", None, (88.0, "HKD")),
        ("RMB 128", None, (128.0, "CNY")),
        ("128元", None, (128.0, "CNY")),
        ("¥59-¥99", None, (59.0, "CNY")),
        ("59 - 99", "CNY", (59.0, "CNY")),
        ("3800.0", None, (3800.0, None)),
        ("59.00", "CNY", (59.0, "CNY")),
        ("1299円", None, (1299.0, "JPY")),
        ("JP¥ 1,200", None, (1200.0, "JPY")),
        ("R$ 1.299,90", None, (1299.9, "BRL")),
        ("2 999 ₽", None, (2999.0, "RUB")),
        ("CHF 1'299.00", None, (1299.0, "CHF")),
        ("12 345,67 €", None, (12345.67, "EUR")),
        ("1.234.567 ₫", None, (1234567.0, "VND")),
        ("₹1,29,999", None, (129999.0, "INR")),
        ("$.99", None, (0.99, "USD")),
        ("Price: 12.99 USD", None, (12.99, "USD")),
        ("1.2万", "CNY", (12000.0, "CNY")),
        ("0.00", "USD", (0.0, "USD")),
        ("￥５９", None, (59.0, "CNY")),  # full-width digits
    ],
)
def test_price_forms(text: str, default: str | None, expected: tuple[float, str | None]) -> None:
    assert parse_price(text, default) == expected


@pytest.mark.parametrize("text", ["Free", "免费", "Sold out", "", "   ", "abc", "-5", "¥", "N/A"])
def test_garbage_is_none(text: str) -> None:
    assert parse_price(text) == (None, None)


@pytest.mark.parametrize(
    "value", [None, True, False, float("nan"), float("inf"), -1, 10**400, 1e13, [1], {"a": 1}]
)
def test_bad_values_are_none(value: object) -> None:
    assert parse_price(value) == (None, None)  # type: ignore[arg-type]


def test_numbers_pass_through_with_default_currency() -> None:
    assert parse_price(3800.0) == (3800.0, None)
    assert parse_price(59, "cny") == (59.0, "CNY")


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        # one separator + 3 digits: decided by the currency's conventions
        ("1,299", "USD", (1299.0, "USD")),  # "," is not USD's decimal mark -> thousands
        ("1.299", "PLN", (1299.0, "PLN")),  # "." is not PLN's decimal mark -> thousands
        ("1.299", "JPY", (1299.0, "JPY")),  # zero-decimal currency -> thousands
        ("¥1.299", "JPY", (1299.0, "JPY")),
        ("1.299", "KWD", (1.299, "KWD")),  # three-decimal currency -> decimals
        ("1.299", None, (None, None)),  # no currency: truly ambiguous, dropped
        ("1.299", "USD", (None, None)),  # USD's own decimal mark: 1.299 or 1299? dropped
        ("€1.299", None, (None, None)),  # EUR locales disagree: dropped
        ("1,299", None, (None, None)),
        ("1234.567", None, (1234.567, None)),  # 4 leading digits cannot be a group
        ("$1,39999", None, (None, None)),  # "$1,399<span>99</span>" read without the join
        ("0.1234", None, (0.1234, None)),
        ("0.299", None, (0.299, None)),
        ("1.5", None, (1.5, None)),
        ("1.2.3", None, (None, None)),
        ("12,34,5", None, (None, None)),
    ],
)
def test_ambiguous_separators(
    text: str, default: str | None, expected: tuple[float | None, str | None]
) -> None:
    assert parse_price(text, default) == expected


@pytest.mark.parametrize(
    ("symbol", "default", "expected"),
    [
        ("¥5", None, "CNY"),
        ("¥5", "JPY", "JPY"),
        ("¥5", "USD", "CNY"),
        ("$5", None, "USD"),
        ("$5", "HKD", "HKD"),
        ("$5", "CNY", "USD"),
        ("5 zł", "EUR", "PLN"),
        ("€5", None, "EUR"),
        ("£5", None, "GBP"),
        ("NT$5", None, "TWD"),
        ("5 kr", "SEK", "SEK"),
        ("5 kr", "EUR", None),
        ("5", "eur", "EUR"),
    ],
)
def test_currency_symbols(symbol: str, default: str | None, expected: str | None) -> None:
    assert currency_for(symbol, default) == expected


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("¥59-¥99", None, (59.0, 99.0, "CNY")),
        ("¥59-¥99", "JPY", (59.0, 99.0, "JPY")),
        ("59 - 99", None, (59.0, 99.0, None)),
        ("$12 – $18", None, (12.0, 18.0, "USD")),
        ("99~59 元", None, (59.0, 99.0, "CNY")),
        ("From $10", None, (10.0, 10.0, "USD")),
        ("Free", None, (None, None, None)),
    ],
)
def test_ranges(
    text: str, default: str | None, expected: tuple[float | None, float | None, str | None]
) -> None:
    assert parse_price_range(text, default) == expected


@pytest.mark.parametrize(
    ("text", "default", "decimal", "expected"),
    [
        ("¥1,299.00", None, None, (1299.0, "CNY")),
        ("1.299,00 €", None, None, (1299.0, "EUR")),
        ("$24.990 CLP", None, None, (24990.0, "CLP")),  # zero-decimal peso
        ("$24.990", "CLP", None, (24990.0, "CLP")),  # "$" on a .cl shop
        ("2.449 ARS", None, None, (2449.0, "ARS")),  # "." is not ARS's decimal mark
        ("81€99", None, None, (81.99, "EUR")),  # French shops: € as the decimal mark
        ("379€99", None, None, (379.99, "EUR")),
        ("469,-", "EUR", None, (469.0, "EUR")),
        ("3.699 TL", None, None, (3699.0, "TRY")),
        ("2.029,00 TL", None, None, (2029.0, "TRY")),
        ("₺130,00", None, None, (130.0, "TRY")),
        ("CDN$ 7.48", None, None, (7.48, "CAD")),
        ("$ 99", "AUD", None, (99.0, "AUD")),  # "$" on a .com.au shop
        ("1.299 €", None, ",", (1299.0, "EUR")),  # German page: "." groups thousands
        ("€1,299", None, ".", (1299.0, "EUR")),  # Irish page: "," groups thousands
        ("1,299 €", None, ",", (None, None)),  # the locale's own decimal mark: ambiguous
        ("1.299 €", None, None, (None, None)),  # no locale: ambiguous
        ("24.99*", "EUR", ",", (24.99, "EUR")),  # two decimals are decimals in any locale
    ],
)
def test_separators_by_currency_and_locale(
    text: str, default: str | None, decimal: str | None, expected: tuple[float | None, str | None]
) -> None:
    assert parse_price(text, default, decimal=decimal) == expected


@pytest.mark.parametrize(
    ("url", "lang", "currency", "mark"),
    [
        ("https://www.amazon.co.uk/dp/1849757259", "en-GB", "GBP", "."),
        ("https://www.amazon.com.tr/dp/B0", "tr-TR", "TRY", ","),
        ("https://www.bestbuy.ca/en-ca/product/1", "en", "CAD", "."),
        ("https://www.bigw.com.au/product/1", "en", "AUD", "."),
        ("https://www.lidlonline.es/p/1", "", "EUR", ","),
        ("https://www.mediamarkt.de/p/1", "", "EUR", ","),
        ("https://detail.tmall.com/item.htm?id=1", "zh", "CNY", "."),
        ("https://shop.example.com/p/1", "de-CH", "CHF", ","),
        ("https://shop.example.com/p/1", "es-MX", "MXN", ","),
        ("https://shop.example.com/p/1", "de", "EUR", ","),
        ("https://shop.example.com/p/1", "en", None, "."),
        ("https://shop.example.com/p/1", "", None, None),
        ("https://shop.example.co/p/1", "", None, None),  # .co is used as a generic domain
    ],
)
def test_page_currency_and_decimal_mark(
    url: str, lang: str, currency: str | None, mark: str | None
) -> None:
    assert page_currency(url, lang) == currency
    assert decimal_mark(lang, url) == mark
