"""Absurd dates from shops never raise from a parser and never come out of one.

``9999-12-31T23:59:59-14:00`` overflows on conversion to UTC, ``0001-01-01T00:00:00+14:00``
underflows, ``9999-06-01Z`` is valid but absurd: every date parser of the sources returns
None for them, against the sample marketplace's ``absurd_dates`` fault too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from watcher.config import Selectors, ShopConfig, Url
from watcher.dates import EARLIEST, LATEST, in_range, parse_iso
from watcher.demo import Marketplace
from watcher.demo.catalog import FAWN, FENGSHANG, OWN, URBAN
from watcher.demo.faults import ABSURD_DATES
from watcher.http import Http, HttpSettings
from watcher.models import Listing
from watcher.sources import source_kinds
from watcher.sources.base import parse_time
from watcher.sources.structured import extract_products, parse_date

ABSURD = [*ABSURD_DATES, "+99999-01-01", "2024-13-45", "9999-12-31", "1900-01-01T00:00:00Z"]


def _usable(dt: datetime | None) -> bool:
    """None, or a date that converts to UTC and lies in the sane range."""
    return dt is None or EARLIEST <= dt.astimezone(UTC) < LATEST


@pytest.mark.parametrize("value", ABSURD)
def test_parsers_are_total_and_return_none_out_of_range(value: str) -> None:
    for parse in (parse_iso, parse_time, parse_date):
        assert parse(value) is None, (parse.__name__, value)


def test_sane_dates_still_parse() -> None:
    assert parse_iso("2026-11-20T08:00:00Z") == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert parse_time("2026-11-20T16:00:00+08:00") == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert parse_date("2026年11月20日") == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_iso("2026-11-20") == datetime(2026, 11, 20, tzinfo=UTC)
    assert in_range(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert in_range(datetime.max) is None and in_range(None) is None


def test_json_ld_review_with_absurd_date() -> None:
    page = (
        '<script type="application/ld+json">{"@type":"Product","name":"Tee","offers":'
        '{"price":"9","priceCurrency":"USD"},"review":[{"@type":"Review","datePublished":'
        '"9999-12-31T23:59:59-14:00","reviewBody":"bad","reviewRating":{"ratingValue":1}}],'
        '"releaseDate":"0001-01-01T00:00:00+14:00"}</script>'
    )
    (product,) = extract_products(page, "https://shop.example/p/1")
    assert product.published_at is None
    assert product.reviews and product.reviews[0].published_at is None


@pytest.fixture(scope="module")
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def _dates(listings: list[Listing]) -> list[datetime | None]:
    out = [x.published_at for x in listings]
    out += [r.published_at for x in listings for r in x.reviews or []]
    return out


@pytest.mark.parametrize("name", [OWN, URBAN, FENGSHANG, FAWN])
async def test_sources_read_absurd_dates_as_unknown(market: Marketplace, name: str) -> None:
    """Every date field of the shop's answers is absurd: the catalog and a listing with
    reviews are still read, and no date comes out absurd."""
    demo = market.shop(name)
    shop = ShopConfig(
        name=name,
        kind=demo.kind,
        url=Url(demo.url),
        currency=demo.currency,
        selectors=Selectors(**demo.selectors),
    )
    market.set_fault(name, "absurd_dates")
    try:
        async with Http(HttpSettings(retries=0, timeout=10), trusted=[demo.base]) as http:
            src = source_kinds()[demo.kind](shop, http)
            catalog = await src.catalog()
            assert catalog.listings
            listing = await src.listing((await src.top(1))[0])
    finally:
        market.clear_faults()
    dates = _dates([*catalog.listings, listing])
    assert all(_usable(d) for d in dates), dates
    if demo.kind != "html":  # the HTML shop's cards carry no dates
        assert any(d is None for d in dates)
