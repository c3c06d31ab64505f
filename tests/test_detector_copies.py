"""``copied_listing``: another shop sells the seller's item with a near title or its photo.

The detector reads the own top listings and the candidate listings (``ctx.reads``); here a
fake gives it exactly those rows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.detect import NOW, OWN, RIVAL, CandidatePages, config, result, run
from watcher.detectors.base import DetectContext
from watcher.detectors.copies import CopiedListing, CopyDetail, CopyRef
from watcher.models import Severity

TITLE = "法式碎花茶歇连衣裙 收腰显瘦 French Floral Tea Dress"
SAME, OTHER = "a" * 192, "5" * 192  # perceptual hashes: identical, and far apart


class FakeStore(CandidatePages):
    """The two reads the copy detector makes."""

    def __init__(self, candidates: list[Any]) -> None:
        own = SimpleNamespace(
            id=1,
            ref="own-1",
            url="https://my.example/p/1",
            title=TITLE,
            price=268.0,
            currency="CNY",
            image="https://my.example/1.jpg",
        )
        self.own = [SimpleNamespace(**vars(own), shop="My Shop")]
        self.cands = candidates

    def own_top_listings(self) -> list[Any]:
        return self.own

    def candidate_listings(self) -> list[Any]:
        return self.cands


def candidate(n: int, title: str = TITLE, **fields: Any) -> SimpleNamespace:
    row = {
        "id": 100 + n,
        "ref": f"c{n}",
        "url": f"https://rival-a.example/p/{n}",
        "title": title,
        "price": 201.0,
        "currency": "CNY",
        "image": f"https://rival-a.example/{n}.jpg",
        "seller": None,
        "shop": "Rival A",
    }
    return SimpleNamespace(**{**row, **fields})


def detect(*cands: SimpleNamespace, images: dict[str, str] | None = None) -> list[Any]:
    return run(
        CopiedListing, [result(OWN), result(RIVAL)], store=FakeStore(list(cands)), images=images
    )


def test_a_stolen_photo_is_high_and_says_how_much_cheaper() -> None:
    images = {"https://my.example/1.jpg": SAME, "https://rival-a.example/1.jpg": SAME}
    (f,) = detect(candidate(1, title="【包邮】" + TITLE), images=images)
    assert f.severity is Severity.HIGH and f.shop == "My Shop"
    assert f.summary == f"Copy of your “{TITLE}” at Rival A: stolen photo, ¥67.00 cheaper"
    assert isinstance(f.detail, CopyDetail) and f.detail.stolen_photo
    assert f.detail.copy == CopyRef(
        "https://rival-a.example/p/1", "【包邮】" + TITLE, 201.0, "CNY", "Rival A", None
    )
    assert f.detail.image_distance == 0
    assert f.dedup_key == "copied_listing:My Shop:own-1:Rival A:c1"


def test_a_copied_title_alone_is_medium() -> None:
    images = {"https://my.example/1.jpg": SAME, "https://rival-a.example/2.jpg": OTHER}
    (f,) = detect(candidate(2), images=images)
    assert f.severity is Severity.MEDIUM and "copied title" in f.summary
    assert f.detail.image_distance == 64  # type: ignore[attr-defined]


def test_a_price_in_another_currency_is_never_compared() -> None:
    (f,) = detect(candidate(3, price=59.0, currency="USD"))
    assert "cheaper" not in f.summary, "a copy at $59 is not '$209.00 cheaper' than ¥268"


def test_unrelated_titles_and_the_listing_itself_are_not_copies() -> None:
    assert detect(candidate(4, title="Men's leather wallet 男士钱包")) == []
    assert detect(candidate(5, url="https://my.example/p/1")) == []


def test_a_later_check_never_sees_an_earlier_checks_candidates() -> None:
    """The daemon's detector lives across checks; a new check's context may be given the
    memory (and ``id()``) of the previous one. Its copies must come from its own reads."""
    detector = CopiedListing(config())
    first = DetectContext(detector.config, FakeStore([]), [result(OWN)], NOW)  # type: ignore[arg-type]
    list(detector.images_needed(first))
    assert list(detector.detect(first)) == []
    store, results = FakeStore([candidate(7)]), [result(OWN)]
    old_id = id(first)
    del first
    # CPython hands the freed context's memory (and so its id()) to the next one made.
    ctx = DetectContext(detector.config, store, results, NOW)  # type: ignore[arg-type]
    assert id(ctx) == old_id, "the scenario needs the address reused"
    assert "https://rival-a.example/7.jpg" in list(detector.images_needed(ctx))
    found = [f.detail for f in detector.detect(ctx)]
    assert [d.copy.url for d in found if isinstance(d, CopyDetail)] == [
        "https://rival-a.example/p/7"
    ]


def test_images_needed_are_the_own_photo_and_the_likely_copies() -> None:
    detector = CopiedListing(config())
    ctx = DetectContext(detector.config, FakeStore([candidate(6)]), [result(OWN)], NOW)  # type: ignore[arg-type]
    assert list(detector.images_needed(ctx)) == [
        "https://my.example/1.jpg",
        "https://rival-a.example/6.jpg",
    ]
