"""``price_change``: competitors' price moves of at least ``min_change``."""

from __future__ import annotations

from tests.detect import OWN, RIVAL, change, config, result, run
from watcher.detectors.prices import PriceChange, PriceDetail
from watcher.models import FindingKind, Severity


def test_a_competitor_price_drop_is_a_low_finding() -> None:
    (f,) = run(
        PriceChange,
        [result(RIVAL, changes=[change({"price": 99.0}, {"price": 89.0, "currency": "CNY"})])],
    )
    assert (f.kind, f.severity, f.shop) == (FindingKind.PRICE_CHANGE, Severity.LOW, "Rival A")
    assert f.detail == PriceDetail(99.0, 89.0, "CNY", -0.101)
    assert f.summary == "Rival A: Linen dress 亚麻连衣裙 ¥99.00 → ¥89.00 (-10%)"
    assert f.dedup_key == "price_change:Rival A:1:7:89.0"
    assert f.to_json()["detail"] == {"old": 99.0, "new": 89.0, "currency": "CNY", "change": -0.101}


def test_small_moves_own_shops_and_currency_switches_are_not_price_changes() -> None:
    cfg = config()
    cfg.detect.prices.min_change = 0.2
    small = change({"price": 99.0}, {"price": 89.0})
    assert run(PriceChange, [result(RIVAL, changes=[small])], cfg=cfg) == []
    drop = change({"price": 99.0}, {"price": 49.0})
    assert run(PriceChange, [result(OWN, changes=[drop])]) == [], "own: listing_changed"
    switch = change({"price": 99.0, "currency": "CNY"}, {"price": 15.0, "currency": "USD"})
    assert run(PriceChange, [result(RIVAL, changes=[switch])]) == []
    unknown = change({"price": None}, {"price": 15.0})
    assert run(PriceChange, [result(RIVAL, changes=[unknown])]) == []


def test_a_price_without_a_currency_says_so() -> None:
    (f,) = run(PriceChange, [result(RIVAL, changes=[change({"price": 100.0}, {"price": 80.0})])])
    assert "100.00 → 80.00 (currency unknown)" in f.summary
