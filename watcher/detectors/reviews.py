"""``negative_review``: a new 1–3 star review (``max_rating``) or a complaint in the text
on one of the seller's own watched listings. Reviews seen on the first read of a listing
are the baseline. An edit of the text alone is not news; an edit whose stars drop into the
negative range is (its dedup key names the rating it dropped to).

A review without stars is judged by its text at the classifier's own threshold for the
text's language; ``text_threshold`` (stricter) applies only when the stars say the review
is good."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from watcher.detectors.base import DetectContext, Detector
from watcher.i18n import Audience
from watcher.models import (
    Finding,
    FindingKind,
    KindDetail,
    KindNames,
    Review,
    Severity,
    json_num,
    json_str,
)
from watcher.readable import Line, Span, clean, fill, line, listing_link

Reason = Literal["rating", "text"]


def _bar(rating: float | None) -> str:
    """``★★☆☆☆`` for a 5-star rating (``?`` when there is none)."""
    if rating is None:
        return "?"
    full = max(0, min(5, round(rating)))
    return "★" * full + "☆" * (5 - full)


def stars(rating: float | None) -> str:
    """``"★★☆☆☆ 2/5"``; ``"no rating"`` when there is none."""
    if rating is None:
        return "no rating"
    return f"{_bar(rating)} {rating:g}/5"


def _reason(value: object) -> Reason | None:
    if value == "rating":
        return "rating"
    if value == "text":
        return "text"
    return None


@dataclass(frozen=True, slots=True)
class ReviewDetail(KindDetail):
    """The review: ``rating`` (5-star scale, None when it has none), ``text``, ``author``,
    ``published_at`` (ISO 8601), and why it is negative (``reason``)."""

    kind: ClassVar[FindingKind] = FindingKind.NEGATIVE_REVIEW
    names: ClassVar[KindNames] = KindNames(
        "Negative review", "negative review", "negative reviews", 1
    )

    rating: float | None
    text: str
    author: str | None
    published_at: str | None
    reason: Reason | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail."""
        return cls(
            json_num(data.get("rating")),
            json_str(data.get("text")) or "",
            json_str(data.get("author")),
            json_str(data.get("published_at")),
            _reason(data.get("reason")),
        )

    def severity(self) -> Severity:
        """1–2 stars is high; any other negative review medium."""
        return Severity.HIGH if self.rating is not None and self.rating <= 2 else Severity.MEDIUM

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """Stars and listing (a 3-star review is a mixed one: 中评), the full text as a
        quote, author and date."""
        _ = a._
        rated = Span(stars(self.rating) if self.rating is not None else _("no rating"))
        listing = listing_link(finding.listing, bold=True, fallback=_("(untitled listing)"))
        if self.rating is not None and self.rating <= 2:
            template = _("%(stars)s on %(listing)s")
        elif self.rating is not None and self.rating <= 3:
            template = _("%(stars)s, a mixed review, on %(listing)s")
        else:
            template = _("%(stars)s, a complaint, on %(listing)s")
        heading = line(*fill(template, stars=rated, listing=listing))
        text = clean(self.text, multiline=True)
        lines = [line(text, quote=True) if text else line(_("(no text)"))]
        who = clean(self.author) or _("anonymous")
        when = a.day(self.published_at)
        lines.append(line(f"— {who}" + (a.comma + when if when else "")))
        if self.reason == "text":
            lines.append(line(_("Flagged by its wording.")))
        return heading, lines


class NegativeReview(Detector):
    """New negative reviews on own listings."""

    kind = FindingKind.NEGATIVE_REVIEW

    @property
    def enabled(self) -> bool:
        return self.config.detect.reviews.enabled

    def reason(self, review: Review) -> Reason | None:
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
                    snippet = " ".join(review.text.split())
                    snippet = snippet if len(snippet) <= 80 else snippet[:79] + "…"
                    rated = (
                        f"{_bar(review.rating)} review" if review.rating is not None else "Review"
                    )
                    published = review.published_at.isoformat() if review.published_at else None
                    detail = ReviewDetail(review.rating, review.text, review.author, published, why)
                    yield Finding(
                        kind=self.kind,
                        severity=detail.severity(),
                        shop=result.shop.name,
                        listing=listing.brief(),
                        summary=f"{rated} on {listing.title}: “{snippet}”",
                        detail=detail,
                        dedup_key=f"{self.kind}:{result.shop.name}:{listing.ref}:{review.key}"
                        + (f":rated:{review.rating:g}" if why == "rating" else ""),
                        detected_at=ctx.now,
                    )
