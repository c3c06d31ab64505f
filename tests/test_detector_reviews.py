"""``negative_review``: a new 1–3 star review, or a complaint in the text, on an own listing."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.detect import OWN, RIVAL, config, listing, result, run
from watcher.detectors.base import ShopResult
from watcher.detectors.reviews import NegativeReview, ReviewDetail
from watcher.models import Review, Severity

WHEN = datetime(2027, 2, 28, 10, 0, tzinfo=UTC)


def reviews(*rs: Review) -> list[ShopResult]:
    return [result(OWN, reviews=[(listing(), list(rs))])]


def test_low_stars_are_negative_and_one_or_two_stars_high() -> None:
    one = Review(id="9", rating=1, text="Arrived torn.", author="Kim", published_at=WHEN)
    three = Review(id="10", rating=3, text="OK I guess", author="Lee")
    high, medium = run(NegativeReview, reviews(one, three))
    assert high.severity is Severity.HIGH and medium.severity is Severity.MEDIUM
    assert high.detail == ReviewDetail(1, "Arrived torn.", "Kim", WHEN.isoformat(), "rating")
    assert high.summary == "★☆☆☆☆ review on Linen dress 亚麻连衣裙: “Arrived torn.”"
    assert high.dedup_key == "negative_review:My Shop:1:id:9:rated:1"


def test_a_complaint_with_five_stars_is_found_by_its_text() -> None:
    text = "五星是给快递的，衣服起球严重，洗了一次就变形了"
    (f,) = run(NegativeReview, reviews(Review(id="1", rating=5, text=text)))
    assert f.detail.reason == "text" and f.severity is Severity.MEDIUM  # type: ignore[attr-defined]
    cfg = config()
    cfg.detect.reviews.text = False
    assert run(NegativeReview, reviews(Review(id="1", rating=5, text=text)), cfg=cfg) == []


def test_good_reviews_and_competitors_reviews_are_not_alerts() -> None:
    assert run(NegativeReview, reviews(Review(id="1", rating=5, text="Lovely, fits well"))) == []
    bad = Review(id="2", rating=1, text="bad")
    assert run(NegativeReview, [result(RIVAL, reviews=[(listing(), [bad])])]) == []


def test_an_unrated_long_review_is_shortened_in_the_summary() -> None:
    (f,) = run(NegativeReview, reviews(Review(id="3", rating=2, text="差 " * 100)))
    assert f.summary.startswith("★★☆☆☆ review on") and f.summary.endswith("…”")
    (g,) = run(
        NegativeReview, reviews(Review(id="4", rating=None, text="质量太差了，完全不能穿，退货"))
    )
    assert g.summary.startswith("Review on") and g.detail.rating is None  # type: ignore[attr-defined]
