"""Hostile and broken data from shops that answer normally (the sample marketplace's data
faults): `watcher check` as a subprocess, each test failing without its fix.

- tracking parameters that change on every visit never make a listing new, never repeat
  a copy alert nor a negative review, never grow the listing table, never keep a shop "partial";
- an over-long product id, an id with a NUL byte, a twelve-letter currency code never
  fail a shop (PostgreSQL refused them) nor raise a false ``shop_unreachable``;
- dates in the year 9999 or 1 never fail a shop nor invent a launch;
- a Shopify search result with a string where an object was expected never fails it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import brief, check, write_config
from tests.test_e2e import EXPECTED
from watcher.demo import Marketplace
from watcher.demo.catalog import FAWN, FENGSHANG, MARKET, OWN, URBAN
from watcher.store import Store

SETTINGS = "retries = 0\nunreachable_after = 2"


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def _rows(db: str) -> tuple[int, list[str]]:
    store = Store(db)
    try:
        return store.counts()["listing"], [r.row.ref for r in store.listings(active=False)]
    finally:
        store.close()


def test_tracking_parameters_never_make_a_listing_new(market: Marketplace, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    config = write_config(market, tmp_path / "w.toml", db, watcher=SETTINGS)
    market.set_fault(FAWN, "tracking")  # catalog links: ?_pos=…&_sid=<random>&qid=…
    market.set_fault(MARKET, "tracking")  # search results: the same
    market.set_fault(OWN, "tracking")  # own pages: review ids are the page's link + #review-N
    for step in (0, 1):
        if step:
            market.advance()
        run = check(config)
        assert run.code == 0, run.stderr
        assert {brief(f) for f in run.findings} == EXPECTED[step], run.findings
        rows, refs = _rows(db)
        again = check(config)
        assert again.code == 0, again.stderr
        assert again.findings == [], "no copy, no launch, no review raised again by a new link"
        assert f"{FAWN}: ok" in again.stderr, "never 'partial' (catalog shrank...)"
        assert _rows(db)[0] == rows, "the listing table does not grow"
    assert not [r for r in refs if "_sid=" in r or "qid=" in r], "identities hold no tracking"


def test_long_ids_nul_bytes_and_long_currency_never_blind_a_shop(
    market: Marketplace, tmp_path: Path, db_url: str
) -> None:
    config = write_config(market, tmp_path / "w.toml", db_url, watcher=SETTINGS)
    market.set_fault(URBAN, "long_fields")  # a 600-digit product id, an id with a NUL byte
    market.set_fault(FENGSHANG, "long_fields")  # every currency code "RENMINBI-YUAN"
    first = check(config)
    assert first.code == 0, first.stderr[-3000:]
    assert {brief(f) for f in first.findings} == EXPECTED[0]
    second = check(config)
    assert second.code == 0, second.stderr[-3000:]
    assert second.findings == [], "no false shop_unreachable, nothing new"
    _, refs = _rows(db_url)
    assert any(r.startswith("sha256:") for r in refs), "the over-long id is stored hashed"
    assert not [r for r in refs if "\x00" in r]


def test_absurd_dates_never_fail_a_shop_nor_invent_a_launch(
    market: Marketplace, tmp_path: Path
) -> None:
    config = write_config(
        market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}", watcher=SETTINGS
    )
    assert {brief(f) for f in check(config).findings} == EXPECTED[0]
    market.set_fault(URBAN, "absurd_dates")  # 9999-12-31T23:59:59-14:00, 0001-01-01T…+14:00
    run = check(config)
    assert run.code == 0, run.stderr[-3000:]
    assert run.findings == []
    market.set_fault(URBAN, "future_dates")  # 2099-06-01T00:00:00Z on every product
    for _ in range(2):
        run = check(config)
        assert run.code == 0, run.stderr[-3000:]
        assert run.findings == [], "no launch in 2099"


def test_odd_shopify_search_fields_never_fail_a_competitor(
    market: Marketplace, tmp_path: Path
) -> None:
    config = write_config(
        market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}", watcher=SETTINGS
    )
    market.set_fault(URBAN, "odd_fields")  # featured_image a string, price an object...
    run = check(config)
    assert run.code == 0, run.stderr[-3000:]
    assert f"{URBAN}: ok" in run.stderr
