"""Plain typed records passed between the stages: fetch -> parse -> store -> detect -> notify."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How urgently a person should look at a finding."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Ordering helper: high sorts first."""
        return {"high": 3, "medium": 2, "low": 1}[self.value]


@dataclass(slots=True)
class Review:
    """One review of a listing. ``rating`` is on a 5-star scale (None when it has none)."""

    id: str | None = None
    rating: float | None = None
    text: str = ""
    author: str | None = None
    published_at: datetime | None = None
    stored_key: str | None = None
    """The key it was stored under, when read back from the database."""

    @property
    def key(self) -> str:
        """Stable identity: the source's id, else author+date, else the text.

        Edited text keeps the same key when an id or author/date exist, so an edit is
        never a new review.
        """
        if self.stored_key:
            return self.stored_key
        if self.id:
            return f"id:{self.id}"
        if self.author or self.published_at:
            date = self.published_at.date().isoformat() if self.published_at else ""
            return f"ad:{(self.author or '').strip().lower()}|{date}"
        digest = hashlib.sha1(" ".join(self.text.split()).encode()).hexdigest()[:16]
        return f"tx:{digest}"


@dataclass(slots=True)
class Listing:
    """A normalised product listing, whatever the source kind.

    ``ref`` is the listing's stable id inside its shop (product id, or URL). ``available``
    and ``price`` are None when the source did not say. ``reviews`` is None when reviews
    were not fetched (as opposed to an empty list: fetched, none there).
    """

    ref: str
    url: str
    title: str
    price: float | None = None
    currency: str | None = None
    compare_at: float | None = None
    available: bool | None = None
    images: list[str] = field(default_factory=list)
    rating: float | None = None
    rating_count: int | None = None
    reviews: list[Review] | None = None
    tags: list[str] = field(default_factory=list)
    product_type: str | None = None
    description: str | None = None
    published_at: datetime | None = None
    shop: str | None = None

    @property
    def image(self) -> str | None:
        """The main image URL."""
        return self.images[0] if self.images else None

    def brief(self) -> dict[str, Any]:
        """The listing as it appears in a finding: url, title, price, currency."""
        return {
            "url": self.url,
            "title": self.title,
            "price": self.price,
            "currency": self.currency,
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        if self.reviews is not None:
            data["reviews"] = [
                {
                    **asdict(r),
                    "published_at": r.published_at.isoformat() if r.published_at else None,
                }
                for r in self.reviews
            ]
        return data


@dataclass(slots=True)
class Catalog:
    """All listings of a shop as far as one fetch got. ``complete`` False means partial:
    a listing missing from a partial catalog is unknown, never removed."""

    listings: list[Listing]
    complete: bool
    note: str = ""


@dataclass(slots=True)
class Finding:
    """Something a person should see; the JSON webhook payload's element (contract)."""

    kind: str
    severity: Severity
    shop: str
    listing: dict[str, Any] | None
    summary: str
    detail: dict[str, Any]
    dedup_key: str
    detected_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The contract JSON shape of the finding."""
        return {
            "kind": self.kind,
            "severity": str(self.severity),
            "shop": self.shop,
            "listing": self.listing,
            "summary": self.summary,
            "detail": self.detail,
            "dedup_key": self.dedup_key,
            "detected_at": self.detected_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_json`."""
        return cls(
            kind=data["kind"],
            severity=Severity(data["severity"]),
            shop=data["shop"],
            listing=data.get("listing"),
            summary=data["summary"],
            detail=data.get("detail") or {},
            dedup_key=data["dedup_key"],
            detected_at=datetime.fromisoformat(data["detected_at"]),
        )


@dataclass(slots=True)
class AlertBatch:
    """The new alerts of one check for one channel, most important first."""

    findings: list[Finding]
    title: str = "watcher"

    def sorted(self) -> list[Finding]:
        """Findings ordered by severity (high first), then kind, then summary."""
        order = {
            "copied_listing": 0,
            "negative_review": 1,
            "seasonal_launch": 2,
            "listing_changed": 3,
            "shop_unreachable": 4,
            "price_change": 5,
            "stock_change": 6,
        }
        return sorted(
            self.findings,
            key=lambda f: (-f.severity.rank, order.get(f.kind, 9), f.shop, f.summary),
        )
