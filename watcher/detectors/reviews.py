"""``negative_review``: a new 1–3 star review (``max_rating``) or a complaint in the text
on one of the seller's own watched listings. Reviews seen on the first read of a listing
are the baseline. An edit of the text alone is not news; an edit whose stars drop into the
negative range is (its dedup key names the rating it dropped to).

A review without stars is judged by its text at the classifier's own threshold for the
text's language; ``text_threshold`` (stricter) applies only when the stars say the review
is good."""

from __future__ import annotations

from collections.abc import Iterable

from watcher.detectors.base import DetectContext, Detector
from watcher.models import Finding, Review, Severity


def stars(rating: float | None) -> str:
    """``★★☆☆☆`` for a 5-star rating (``?`` when there is none)."""
    if rating is None:
        return "?"
    full = max(0, min(5, round(rating)))
    return "★" * full + "☆" * (5 - full)


class NegativeReview(Detector):
    """New negative reviews on own listings."""

    kind = "negative_review"

    @property
    def enabled(self) -> bool:
        return self.config.detect.reviews.enabled

    def reason(self, review: Review) -> str | None:
        """``rating``, ``text`` or None (not negative)."""
        settings = self.config.detect.reviews
        if review.rating is not None and review.rating <= settings.max_rating:
            return "rating"
        if settings.text and review.text.strip():
            from watcher.text.sentiment import is_negative, negativity

            if review.rating is None:
                if is_negative(review.text):
                    return "text"
            elif negativity(review.text) >= settings.text_threshold:
                return "text"
        return None

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        for result in ctx.results:
            if not result.shop.own:
                continue
            for _, listing, reviews in result.new_reviews:
                for review in reviews:
                    why = self.reason(review)
                    if why is None:
                        continue
                    severe = review.rating is not None and review.rating <= 2
                    snippet = " ".join(review.text.split())
                    snippet = snippet if len(snippet) <= 80 else snippet[:79] + "…"
                    rated = (
                        f"{stars(review.rating)} review" if review.rating is not None else "Review"
                    )
                    yield Finding(
                        kind=self.kind,
                        severity=Severity.HIGH if severe else Severity.MEDIUM,
                        shop=result.shop.name,
                        listing=listing.brief(),
                        summary=f"{rated} on {listing.title}: “{snippet}”",
                        detail={
                            "rating": review.rating,
                            "text": review.text,
                            "author": review.author,
                            "published_at": review.published_at.isoformat()
                            if review.published_at
                            else None,
                            "reason": why,
                        },
                        dedup_key=f"{self.kind}:{result.shop.name}:{listing.ref}:{review.key}"
                        + (f":rated:{review.rating:g}" if why == "rating" else ""),
                        detected_at=ctx.now,
                    )
