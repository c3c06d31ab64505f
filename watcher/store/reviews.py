"""Reviews of own listings: the first read of a listing's reviews is its baseline; after
that a review with a new key is new (and pending until its findings are recorded); an
edited review keeps its key and is updated, and is news again only when its stars dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlmodel import col

from watcher.models import Review
from watcher.store.db import begin_write, to_db, utcnow
from watcher.store.guard import guarded
from watcher.store.ingest import clean_review
from watcher.store.tables import ListingRow, ReviewRow

KEY_CHARS = 255


class ReviewStore:
    """The ``review`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def apply(self, listing_id: int, reviews: Sequence[Review]) -> list[Review]:
        """Store reviews of a listing; return those never seen before, and those whose stars
        dropped (an edit from 5 to 2 stars is news; an edit of the text alone is not). The
        first time a listing's reviews are read they are the baseline and nothing is
        returned. Reviews are cleaned first (in place, see :mod:`watcher.store.ingest`)."""
        now = utcnow()
        with begin_write(self.engine) as c:
            seen_at = c.execute(
                select(col(ListingRow.reviews_seen_at)).where(col(ListingRow.id) == listing_id)
            ).scalar()
            baseline = seen_at is None
            known: dict[str, tuple[str, float | None]] = {
                key: (text, rating)
                for key, text, rating in c.execute(
                    select(col(ReviewRow.key), col(ReviewRow.text), col(ReviewRow.rating)).where(
                        col(ReviewRow.listing_id) == listing_id
                    )
                )
            }
            fresh: list[Review] = []
            rows: list[dict[str, Any]] = []
            edits: list[dict[str, Any]] = []
            drops: list[dict[str, Any]] = []
            for r in reviews:
                clean_review(r, now)
                key = r.key[:KEY_CHARS]
                if key in known:
                    if known[key] != (r.text, r.rating):
                        old_rating = known[key][1]
                        known[key] = (r.text, r.rating)
                        edit = {"v_key": key, "v_text": r.text, "v_rating": r.rating}
                        if (
                            r.rating is not None
                            and old_rating is not None
                            and r.rating < old_rating
                        ):
                            drops.append(edit)  # news: pending, the detector judges it again
                            fresh.append(r)
                        else:
                            edits.append(edit)
                    continue
                known[key] = (r.text, r.rating)
                rows.append(
                    {
                        "listing_id": listing_id,
                        "key": key,
                        "rating": r.rating,
                        "text": r.text,
                        "author": r.author,
                        "published_at": to_db(r.published_at),
                        "first_seen": now,
                        "baseline": baseline,
                        "pending": not baseline,
                    }
                )
                if not baseline:
                    fresh.append(r)
            edited = update(ReviewRow).where(
                col(ReviewRow.listing_id) == listing_id, col(ReviewRow.key) == bindparam("v_key")
            )
            if edits:
                c.execute(
                    edited.values(text=bindparam("v_text"), rating=bindparam("v_rating")), edits
                )
            if drops:
                c.execute(
                    edited.values(
                        text=bindparam("v_text"), rating=bindparam("v_rating"), pending=True
                    ),
                    drops,
                )
            if rows:
                c.execute(insert(ReviewRow), rows)
            if baseline:
                c.execute(
                    update(ListingRow)
                    .where(col(ListingRow.id) == listing_id)
                    .values(reviews_seen_at=now)
                )
            return fresh
