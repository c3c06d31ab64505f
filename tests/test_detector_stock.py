"""``stock_change``: a competitor's listing went out of stock or came back."""

from __future__ import annotations

import pytest

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


def test_unknown_to_out_of_stock_is_a_stock_change() -> None:
    # a listing that sells out before its stock was ever read (issue 13)
    sold = change({"available": None}, {"available": False})
    (f,) = run(StockChange, [result(RIVAL, changes=[sold])])
    assert f.detail == StockDetail(None, False)
    assert f.to_json()["detail"] == {"old": None, "new": "out of stock"}
    assert f.summary == "Rival A: Linen dress 亚麻连衣裙 is now out of stock"


@pytest.mark.parametrize(
    ("old", "new"),
    [(None, True), (True, None), (False, None), (False, False), (None, None)],
)
def test_stock_first_read_or_lost_is_not_a_stock_change(old: bool | None, new: bool | None) -> None:
    moved = change({"available": old}, {"available": new})
    assert run(StockChange, [result(RIVAL, changes=[moved])]) == []


def test_own_shops_are_not_stock_changes() -> None:
    for old in (True, None):
        gone = change({"available": old}, {"available": False})
        assert run(StockChange, [result(OWN, changes=[gone])]) == []
