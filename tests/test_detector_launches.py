"""``seasonal_launch``: a competitor lists ``min_items`` new items of one season in
``window``; the alert says how many tracked competitors have started that season.

The detector reads each competitor's new listings from the store; here a fake gives it
those listings directly (``FakeLaunches`` replaces the read)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from tests.detect import NOW, OWN, RIVAL, RIVAL_B, result, run
from watcher.detectors.base import DetectContext
from watcher.detectors.launches import LaunchDetail, Launched, LaunchItem, SeasonalLaunch, _Item
from watcher.models import Severity

SPRING = ("spring", 2027)


def items(shop: str, n: int, days_ago: int) -> list[_Item]:
    when = NOW - timedelta(days=days_ago)
    return [
        _Item(f"https://{shop}.example/p/{i}", f"春季新款 {i}", 59.0, "CNY", when) for i in range(n)
    ]


NEW: dict[int, dict[tuple[str, int], list[_Item]]] = {}


class FakeLaunches(SeasonalLaunch):
    """Reads new listings from ``NEW`` (by shop id) instead of the database."""

    def _new_items(self, ctx: DetectContext, shop_id: int, *_: Any) -> Any:
        return NEW.get(shop_id, {})


class FakeStore:
    def shops(self) -> list[Any]:
        return [
            SimpleNamespace(name="My Shop", id=1, baseline_at=None),
            SimpleNamespace(name="Rival A", id=2, baseline_at=None),
            SimpleNamespace(name="Rival B", id=3, baseline_at=None),
        ]


def test_a_launch_counts_the_competitors_that_have_started() -> None:
    NEW.clear()
    NEW[2] = {SPRING: items("rival-a", 4, 2)}
    NEW[3] = {SPRING: items("rival-b", 3, 40)}  # launched earlier, outside the window
    (f,) = run(FakeLaunches, [result(RIVAL), result(RIVAL_B)], store=FakeStore())
    assert (f.shop, f.severity, f.listing) == ("Rival A", Severity.MEDIUM, None)
    assert isinstance(f.detail, LaunchDetail)
    assert (f.detail.season, f.detail.year, len(f.detail.items)) == ("spring", 2027, 4)
    assert f.detail.items[0] == LaunchItem(
        "https://rival-a.example/p/0", "春季新款 0", 59.0, "CNY", "2027-02-27"
    )
    assert f.detail.launched == (
        Launched("Rival B", "2027-01-20"),
        Launched("Rival A", "2027-02-27"),
    )
    assert (f.detail.competitors_launched, f.detail.competitors_tracked) == (2, 2)
    assert f.summary == (
        "Rival A started listing spring 2027 items (4 new); 2 of 2 competitors have started spring 2027"
    )
    assert f.dedup_key == "seasonal_launch:Rival A:spring:2027"


def test_too_few_items_or_no_competitor_checked_is_no_launch() -> None:
    NEW.clear()
    NEW[2] = {SPRING: items("rival-a", 2, 1)}
    assert run(FakeLaunches, [result(RIVAL)], store=FakeStore()) == []
    NEW[2] = {SPRING: items("rival-a", 5, 1)}
    assert run(FakeLaunches, [result(OWN)], store=FakeStore()) == []
    failed = result(RIVAL, status="failed")
    assert run(FakeLaunches, [failed], store=FakeStore()) == [], "a failed shop is unknown"
