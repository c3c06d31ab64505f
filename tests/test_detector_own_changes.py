"""``listing_changed``: an own listing's title, price, main image or stock changed, or it was
taken down (its page answered 404/410 on two checks in a row) or came back."""

from __future__ import annotations

from datetime import timedelta

from tests.detect import NOW, OWN, RIVAL, change, listing, result, run
from watcher.detectors.own_changes import FieldChange, ListingChanged, ListingChangedDetail
from watcher.models import Severity
from watcher.store import Listed


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


def test_a_listing_taken_down_is_high_and_its_return_medium() -> None:
    since = NOW - timedelta(hours=2)
    item = listing("801", "Silk blouse 真丝衬衫")
    gone = Listed(3, item, False, since, 410)
    back = Listed(3, item, True, since, None)
    (down,) = run(ListingChanged, [result(OWN, listed=[gone])])
    assert down.severity is Severity.HIGH
    assert down.detail == ListingChangedDetail({"listed": FieldChange(True, False)}, 410)
    assert down.detail.to_json() == {
        "changes": {"listed": {"old": True, "new": False}},
        "http_status": 410,
    }
    assert down.summary == "Your listing Silk blouse 真丝衬衫: gone from sale (HTTP 410)"
    assert down.dedup_key == "listing_changed:My Shop:801:gone:2027-03-01T06:00:00+00:00"
    (up,) = run(ListingChanged, [result(OWN, listed=[back])])
    assert up.severity is Severity.MEDIUM
    assert up.detail.to_json() == {"changes": {"listed": {"old": False, "new": True}}}
    assert up.dedup_key == "listing_changed:My Shop:801:back:2027-03-01T06:00:00+00:00"
    assert run(ListingChanged, [result(RIVAL, listed=[gone])]) == [], "own listings only"
