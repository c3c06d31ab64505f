"""``stock_change``: a competitor's listing went out of stock or came back."""

from __future__ import annotations

from tests.detect import OWN, RIVAL, change, result, run
from watcher.detectors.stock import StockChange, StockDetail
from watcher.models import Severity


def test_out_of_stock_and_back() -> None:
    gone = change({"available": True}, {"available": False})
    (f,) = run(StockChange, [result(RIVAL, changes=[gone])])
    assert f.severity is Severity.LOW and f.detail == StockDetail(True, False)
    assert f.summary == "Rival A: Linen dress 亚麻连衣裙 is now out of stock"
    assert f.to_json()["detail"] == {"old": "in stock", "new": "out of stock"}
    back = change({"available": False}, {"available": True})
    assert run(StockChange, [result(RIVAL, changes=[back])])[0].dedup_key.endswith(":7:True")


def test_unknown_availability_and_own_shops_are_not_stock_changes() -> None:
    assert (
        run(
            StockChange,
            [result(RIVAL, changes=[change({"available": None}, {"available": False})])],
        )
        == []
    )
    assert (
        run(StockChange, [result(OWN, changes=[change({"available": True}, {"available": False})])])
        == []
    )
