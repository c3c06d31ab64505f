"""``listing_changed``: an own listing's title, price, main image or stock changed."""

from __future__ import annotations

from tests.detect import OWN, RIVAL, change, result, run
from watcher.detectors.own_changes import FieldChange, ListingChanged, ListingChangedDetail
from watcher.models import Severity


def test_every_changed_field_is_listed_in_a_fixed_order() -> None:
    ch = change(
        {"title": "Old", "price": 129.0, "image": "https://i.example/a.jpg", "available": True},
        {
            "title": "New",
            "price": 99.0,
            "image": "https://i.example/a.jpg",
            "available": False,
            "currency": "CNY",
        },
    )
    (f,) = run(ListingChanged, [result(OWN, changes=[ch])])
    assert f.severity is Severity.MEDIUM and f.shop == "My Shop"
    assert f.detail == ListingChangedDetail(
        {
            "title": FieldChange("Old", "New"),
            "price": FieldChange(129.0, 99.0),
            "available": FieldChange(True, False),
        }
    )
    assert f.summary == (
        "Your listing Linen dress 亚麻连衣裙: price ¥129.00 → ¥99.00, title changed, now out of stock"
    )
    assert f.dedup_key == "listing_changed:My Shop:1:7:['available', 'price', 'title']"


def test_competitors_and_untracked_fields_are_not_own_changes() -> None:
    assert (
        run(ListingChanged, [result(RIVAL, changes=[change({"price": 1.0}, {"price": 2.0})])]) == []
    )
    same = change({"price": 1.0, "currency": "CNY"}, {"price": 1.0, "currency": "USD"})
    assert run(ListingChanged, [result(OWN, changes=[same])]) == []
