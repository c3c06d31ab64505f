"""Fetched records made fit to store: identities, dates, strings, codes, numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from watcher.models import Listing, Review
from watcher.sources.base import parse_time
from watcher.store.ingest import (
    clean_currency,
    clean_date,
    clean_listing,
    clean_listings,
    clean_ref,
    clean_review,
    identity_url,
)

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_identity_drops_tracking_parameters_only() -> None:
    assert identity_url("https://s.example/item/1.html?qid=1732953600") == (
        "https://s.example/item/1.html"
    )
    assert identity_url("https://s.example/products/tee?_pos=3&_sid=9f1c2a7b1&_ss=r") == (
        "https://s.example/products/tee"
    )
    assert identity_url(
        "https://item.taobao.com/item.htm?spm=a21n57.1.0.0&id=6512&utm_source=x&fbclid=1#r"
    ) == ("https://item.taobao.com/item.htm?id=6512")
    kept = "https://s.example/p?id=%E4%B8%AD&variant=2"
    assert identity_url(kept) == kept, "other parameters stay exactly as written"
    assert identity_url("https://s.example/p?gclid=1&srsltid=2&ref=sr_1_1&utm_campaign=z") == (
        "https://s.example/p"
    )


def test_a_review_id_that_is_a_link_keeps_its_fragment_and_loses_its_tracking() -> None:
    page = "https://s.example/products/tee"
    for link in (page, f"{page}?_pos=3&_sid=9f1c2a7b1&qid=1796059689705603638"):
        review = clean_review(Review(id=f"{link}#review-32001", rating=1), NOW)
        assert review.id == f"{page}#review-32001"
        assert review.key == f"id:{page}#review-32001"
    other = clean_review(Review(id=f"{page}?variant=2#review-7"), NOW)
    assert other.id == f"{page}?variant=2#review-7", "other parameters stay"
    assert clean_review(Review(id="r-32001"), NOW).id == "r-32001"


def test_dates_outside_a_sane_range_are_none() -> None:
    for text in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-06-01Z"):
        assert clean_date(parse_time(text), NOW) is None, text
    assert clean_date(datetime(1989, 12, 31, tzinfo=UTC), NOW) is None
    assert clean_date(NOW + timedelta(days=3), NOW) is None
    east = datetime(2026, 11, 30, 8, tzinfo=timezone(timedelta(hours=8)))
    assert clean_date(east, NOW) == datetime(2026, 11, 30, 0, tzinfo=UTC)
    assert clean_date(datetime(2026, 1, 1), NOW) == datetime(2026, 1, 1, tzinfo=UTC)


def test_refs_strings_codes_and_numbers() -> None:
    long = "7" * 600
    assert clean_ref(long) == clean_ref(long) and str(clean_ref(long)).startswith("sha256:")
    assert len(str(clean_ref(long))) < 100 and clean_ref("12\x003") == "123"
    assert clean_ref(" \x00 ") is None
    assert clean_currency("cny") == "CNY" and clean_currency("CNYCNYCNYCNY") is None
    assert clean_currency("¥") is None and clean_currency(None) is None
    item = Listing(
        ref="https://s.example/item/1.html?_pos=1&_sid=abc",
        url="https://s.example/item/1.html?_pos=1&_sid=abc",
        title="Linen\x00 dress \ud800",
        price=float("nan"),
        compare_at=-1.0,
        currency="US Dollar",
        rating=7.0,
        rating_count=2**40,
        tags=["a\x00", "", "b" * 500],
        description="x" * 9000,
        published_at=parse_time("9999-06-01Z"),
        reviews=[Review(id="9" * 300, rating=float("inf"), text="bad\x00", author="A\ud800")],
    )
    cleaned = clean_listing(item, NOW)
    assert cleaned is item
    assert item.ref == item.url == "https://s.example/item/1.html"
    assert item.title == "Linen dress " and item.price is None and item.compare_at is None
    assert item.currency is None and item.rating is None and item.rating_count is None
    assert item.tags == ["a", "b" * 100] and len(item.description or "") == 5000
    assert item.published_at is None
    review = (item.reviews or [])[0]
    assert review.id and review.id.startswith("sha256:") and review.rating is None
    assert (review.text, review.author) == ("bad", "A")
    assert clean_review(Review(rating=4.0, text="ok"), NOW).rating == 4.0


def test_a_listing_without_identity_is_skipped_not_the_batch() -> None:
    good = Listing(ref="1", url="https://s.example/1", title="ok")
    bad = Listing(ref="\x00", url="https://s.example/2", title="no id")
    assert clean_listings([bad, good]) == [good]
