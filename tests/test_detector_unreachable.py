"""``shop_unreachable``: one alert when a shop has failed ``unreachable_after`` checks."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.detect import RIVAL, config, result, run
from watcher.detectors.base import ShopResult
from watcher.detectors.unreachable import ShopUnreachable, UnreachableDetail

SINCE = datetime(2027, 2, 28, 8, 0, tzinfo=UTC)


def failed(n: int) -> list[ShopResult]:
    return [result(RIVAL, status="failed", failures=n, failing_since=SINCE, error="HTTP 503")]


def test_reached_threshold_alerts_once_per_outage() -> None:
    (f,) = run(ShopUnreachable, failed(3))
    assert f.detail == UnreachableDetail(3, "2027-02-28T08:00:00+00:00", "HTTP 503")
    assert f.summary == "Rival A could not be checked 3 times in a row: HTTP 503"
    assert f.dedup_key == "shop_unreachable:Rival A:2027-02-28T08:00:00+00:00"
    assert run(ShopUnreachable, failed(4))[0].dedup_key == f.dedup_key


def test_below_threshold_nothing_and_one_failure_reads_right() -> None:
    assert run(ShopUnreachable, failed(2)) == []
    assert run(ShopUnreachable, [result(RIVAL)]) == []
    cfg = config()
    cfg.watcher.unreachable_after = 1
    (f,) = run(ShopUnreachable, failed(1), cfg=cfg)
    assert "could not be checked 1 time in a row" in f.summary
