"""negative_review decisions: unrated reviews at the classifier's own threshold, the stricter
``text_threshold`` only for well-rated ones, and an edit whose stars drop as a new finding
(real store on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.config import Config, parse_config
from watcher.detectors.base import DetectContext, ShopResult
from watcher.detectors.reviews import NegativeReview
from watcher.models import Finding, Listing, Review
from watcher.store import Store
from watcher.text.sentiment import load_model, negativity

NOW = datetime(2026, 11, 30, tzinfo=UTC)
# A real complaint that the model scores between its own threshold and 0.75 (the default
# text_threshold): flagged without stars, not flagged under five stars.
MIDDLING = "Pretty dress but the zipper broke"


def _config() -> Config:
    return parse_config(
        {
            "watcher": {"database": "sqlite:///unused.db"},
            "shops": [
                {"name": "Mine", "kind": "shopify", "url": "https://mine.example", "role": "own"}
            ],
        }
    )


def _listing() -> Listing:
    return Listing(ref="p1", url="https://mine.example/products/p1", title="Linen dress")


def test_the_middling_complaint_sits_between_the_thresholds() -> None:
    model = load_model()
    assert model.thresholds["en"] <= negativity(MIDDLING) < 0.75


def test_unrated_reviews_use_the_models_own_threshold() -> None:
    detector = NegativeReview(_config())
    assert detector.reason(Review(id="1", rating=None, text=MIDDLING)) == "text"
    assert detector.reason(Review(id="2", rating=5, text=MIDDLING)) is None
    assert (
        detector.reason(
            Review(id="3", rating=5, text="Stopped working after a week, refund please")
        )
        == "text"
    )
    assert detector.reason(Review(id="4", rating=None, text="Works great, love it")) is None
    assert detector.reason(Review(id="5", rating=2, text="Works great")) == "rating"
    assert detector.reason(Review(id="6", rating=None, text="发错货了，客服不理人")) == "text"


def _detect(store: Store, config: Config, shop_id: int) -> list[Finding]:
    events = store.events.pending([shop_id])
    result = ShopResult(shop=config.shops[0], shop_id=shop_id)
    result.new_reviews = events.reviews.get(shop_id, [])
    findings = list(
        NegativeReview(config).detect(DetectContext(config, store.reads, [result], NOW))
    )
    added = store.outbox.add_findings(findings, {})
    store.events.clear(events)
    return [f for _, f in added]


def test_an_edit_whose_stars_drop_is_a_new_negative_review(db_url: str) -> None:
    store = Store(db_url)
    config = _config()
    shop = store.registry.ensure_shop("Mine", "shopify", "own", "https://mine.example")
    changes = store.catalog.apply(shop.id, [_listing()], complete=True)
    lid = changes.seen[0][0]
    good = Review(id="r1", rating=5, text="Lovely dress", author="Kim")
    assert store.reviews.apply(lid, [good]) == []  # baseline
    assert _detect(store, config, shop.id) == []

    # Text edited, stars unchanged: not news.
    assert (
        store.reviews.apply(lid, [Review(id="r1", rating=5, text="Lovely dress!!", author="Kim")])
        == []
    )
    assert _detect(store, config, shop.id) == []

    # Same id, stars drop to 2: a new negative_review.
    dropped = Review(id="r1", rating=2, text="Fell apart after a week", author="Kim")
    assert [r.id for r in store.reviews.apply(lid, [dropped])] == ["r1"]
    found = _detect(store, config, shop.id)
    assert [
        (f.kind, f.to_json()["detail"]["rating"], f.to_json()["detail"]["reason"]) for f in found
    ] == [("negative_review", 2, "rating")]
    assert found[0].dedup_key.endswith(":rated:2")

    # Read again unchanged: nothing new, nothing twice.
    assert store.reviews.apply(lid, [dropped]) == []
    assert _detect(store, config, shop.id) == []

    # Dropping further, to 1 star, is news again; going back up is not.
    worse = Review(id="r1", rating=1, text="Fell apart after a week", author="Kim")
    assert [r.rating for r in store.reviews.apply(lid, [worse])] == [1]
    assert [f.to_json()["detail"]["rating"] for f in _detect(store, config, shop.id)] == [1]
    assert store.reviews.apply(lid, [good]) == []
    assert _detect(store, config, shop.id) == []
