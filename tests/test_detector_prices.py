"""``price_change``: competitors' price moves of at least ``min_change``."""

from __future__ import annotations

from datetime import timedelta

from tests.detect import NOW, OWN, RIVAL, RIVAL_B, change, config, result, run
from watcher.config import Config, parse_config
from watcher.detectors.prices import PriceChange, PriceDetail
from watcher.models import Finding, FindingKind, Severity
from watcher.notify.render import block
from watcher.store.reads import PricePoint


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


def _config(prices: dict[str, object]) -> Config:
    return parse_config(
        {
            "watcher": {"database": "sqlite://"},
            "shops": [
                {"name": s.name, "kind": s.kind, "url": s.url, "role": s.role}
                for s in (OWN, RIVAL, RIVAL_B)
            ],
            "detect": {"prices": prices},
        },
        env={},
    )


def test_a_shop_can_have_its_own_threshold_or_be_left_out() -> None:
    cfg = _config({"min_change": 0.2, "shops": {"Rival B": {"min_change": 0.05}}})
    drop = change({"price": 100.0}, {"price": 90.0, "currency": "CNY"})
    results = [result(RIVAL, changes=[drop]), result(RIVAL_B, changes=[drop])]
    assert [f.shop for f in run(PriceChange, results, cfg=cfg)] == ["Rival B"]
    off = _config({"shops": {"Rival A": {"enabled": False}}})
    assert [f.shop for f in run(PriceChange, results, cfg=off)] == ["Rival B"]
    only = _config({"enabled": False, "shops": {"Rival A": {"enabled": True}}})
    assert PriceChange(only).enabled
    assert [f.shop for f in run(PriceChange, results, cfg=only)] == ["Rival A"]


class History:
    """Stored prices of listing 1: ¥99 since 40 days ago, ¥79 for a week 20 days ago,
    back to ¥99, and now the new price."""

    def __init__(self, new: float, first_seen_days: int = 40) -> None:
        self.points = [
            PricePoint(NOW - timedelta(days=first_seen_days), 99.0, "CNY"),
            PricePoint(NOW - timedelta(days=20), 79.0, "CNY"),
            PricePoint(NOW - timedelta(days=13), 99.0, "CNY"),
            PricePoint(NOW - timedelta(minutes=1), new, "CNY"),
        ]

    def price_history(self, ids: list[int]) -> dict[int, list[PricePoint]]:
        return dict.fromkeys(ids, self.points)


def _low(new: float, prices: dict[str, object], **history: int) -> list[Finding]:
    drop = change({"price": 99.0}, {"price": new, "currency": "CNY"})
    return run(
        PriceChange,
        [result(RIVAL, changes=[drop])],
        cfg=_config(prices),
        store=History(new, **history),
    )


def test_a_drop_to_the_lowest_price_in_low_window_says_so() -> None:
    (f,) = _low(69.0, {"low_window": "30d"})
    assert isinstance(f.detail, PriceDetail) and f.detail.lowest_in_days == 30
    assert f.summary.endswith(", lowest in 30 days")
    assert f.to_json()["detail"]["lowest_in_days"] == 30
    assert "lowest in 30 days" in "".join(s.text for s in block(f).lines[0].spans)
    (f,) = _low(89.0, {"low_window": "30d"})
    assert f.detail.to_json() == {"old": 99.0, "new": 89.0, "currency": "CNY", "change": -0.101}
    (f,) = _low(89.0, {"low_window": "10d"})
    assert f.detail.to_json()["lowest_in_days"] == 10, "the ¥79 week is older than 10 days"
    (f,) = _low(69.0, {"low_window": "30d"}, first_seen_days=25)
    assert "lowest_in_days" not in f.detail.to_json(), "watched for less than the window"
    (f,) = _low(69.0, {"low_window": "30d", "shops": {"Rival A": {"low_window": "7d"}}})
    assert f.detail.to_json()["lowest_in_days"] == 7
    (f,) = _low(69.0, {})
    assert "lowest_in_days" not in f.detail.to_json(), "off unless low_window is set"
