"""What detectors may read of stored history: a narrow, typed interface.

Detectors get a :class:`DetectReads` in their context, never the store itself, and run no
SQL. :class:`StoreReads` answers it from the database; a test answers it with plain lists
(any object with these methods will do). Every datetime is aware (UTC).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Engine, Select, or_, select
from sqlmodel import col

from watcher.store.db import chunks, from_db, pk, to_db
from watcher.store.guard import guarded
from watcher.store.tables import ListingRow, ShopRow, SnapshotRow


class OwnListing(NamedTuple):
    """One watched listing of an own shop."""

    id: int
    ref: str
    url: str
    title: str
    price: float | None
    currency: str | None
    image: str | None
    shop: str


class CandidateListing(NamedTuple):
    """An active listing of a competitor or marketplace: a possible copy. ``seller`` is
    the seller a marketplace search showed (None for a shop's own listings)."""

    id: int
    ref: str
    url: str
    title: str
    price: float | None
    currency: str | None
    image: str | None
    seller: str | None
    shop: str


class ShopInfo(NamedTuple):
    """A stored shop. ``baseline_at``: when its first complete catalog was stored."""

    id: int
    name: str
    role: str
    baseline_at: datetime | None


class DatedListing(NamedTuple):
    """An active catalog listing with what tells when it appeared and what season it is."""

    id: int
    url: str
    title: str
    price: float | None
    currency: str | None
    tags: list[str]
    product_type: str | None
    description: str | None
    published_at: datetime | None
    first_seen: datetime


class PricePoint(NamedTuple):
    """A listing's price from ``at`` until its next point."""

    at: datetime
    price: float | None
    currency: str | None


class DetectReads(Protocol):
    """The stored history detectors read."""

    def own_top_listings(self) -> Sequence[OwnListing]:
        """The watched listings of every own shop, best first."""
        ...

    def candidate_titles(
        self, after: int, limit: int, shops: Collection[str] | None = None
    ) -> Sequence[tuple[int, str]]:
        """``(id, title)`` of up to ``limit`` active listings of shops that are not own
        shops (of ``shops`` only, when given), with ids above ``after``, in id order: the
        candidates are read a page at a time, so a check's memory does not grow with them."""
        ...

    def candidates(self, ids: Sequence[int]) -> Sequence[CandidateListing]:
        """The active competitor listings among ``ids`` (others are left out: a listing
        may have been removed since its title was read)."""
        ...

    def shops(self) -> Sequence[ShopInfo]:
        """Every stored shop."""
        ...

    def listings_since(
        self, shop_id: int, since: datetime, baseline: datetime | None
    ) -> Sequence[DatedListing]:
        """Active catalog listings of a shop published at or after ``since``, or first
        seen after ``baseline`` (when there is one)."""
        ...

    def failing_shops(self) -> set[str]:
        """The names of the shops whose last check failed (their stored state is old)."""
        ...

    def price_history(self, listing_ids: Sequence[int]) -> dict[int, list[PricePoint]]:
        """Each listing's prices in time order, from when it was first seen (listings
        that do not exist are left out)."""
        ...


def _select(fields: Sequence[str]) -> Select[Any]:
    """SELECT the listing columns named by a record's fields (``shop``: its shop's name)."""
    columns = [col(ShopRow.name) if f == "shop" else col(getattr(ListingRow, f)) for f in fields]
    return select(*columns).join(ShopRow, col(ShopRow.id) == col(ListingRow.shop_id))


_ACTIVE_COMPETITOR = (col(ShopRow.role) != "own", col(ListingRow.removed_at).is_(None))
"""What makes a listing a candidate: not removed, of a shop that is not an own shop."""


class StoreReads:
    """:class:`DetectReads` from the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def own_top_listings(self) -> list[OwnListing]:
        """The watched listings of every own shop, best first."""
        q = (
            _select(OwnListing._fields)
            .where(
                col(ShopRow.role) == "own",
                col(ListingRow.own_top).is_not(None),
                col(ListingRow.removed_at).is_(None),
            )
            .order_by(col(ShopRow.id), col(ListingRow.own_top))
        )
        with self.engine.connect() as c:
            return [OwnListing._make(r) for r in c.execute(q)]

    @guarded
    def candidate_titles(
        self, after: int, limit: int, shops: Collection[str] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, title)`` of up to ``limit`` active competitor listings with ids above
        ``after``, in id order (of ``shops`` only, when given)."""
        q = (
            _select(("id", "title"))
            .where(*_ACTIVE_COMPETITOR, col(ListingRow.id) > after)
            .order_by(col(ListingRow.id))
            .limit(limit)
        )
        if shops is not None:
            q = q.where(col(ShopRow.name).in_(sorted(shops)))
        with self.engine.connect() as c:
            return [(pk(i), t) for i, t in c.execute(q)]

    @guarded
    def candidates(self, ids: Sequence[int]) -> list[CandidateListing]:
        """The active competitor listings among ``ids``, in id order."""
        out: list[CandidateListing] = []
        with self.engine.connect() as c:
            for part in chunks(sorted(set(ids)), 500):
                q = (
                    _select(CandidateListing._fields)
                    .where(*_ACTIVE_COMPETITOR, col(ListingRow.id).in_(part))
                    .order_by(col(ListingRow.id))
                )
                out.extend(CandidateListing._make(r) for r in c.execute(q))
        return out

    @guarded
    def shops(self) -> list[ShopInfo]:
        """Every stored shop."""
        q = select(
            col(ShopRow.id), col(ShopRow.name), col(ShopRow.role), col(ShopRow.baseline_at)
        ).order_by(col(ShopRow.id))
        with self.engine.connect() as c:
            return [ShopInfo(pk(i), n, r, from_db(b)) for i, n, r, b in c.execute(q)]

    @guarded
    def listings_since(
        self, shop_id: int, since: datetime, baseline: datetime | None
    ) -> list[DatedListing]:
        """Active catalog listings of a shop published at or after ``since``, or first
        seen after ``baseline`` (when there is one)."""
        cond = [col(ListingRow.published_at) >= to_db(since)]
        if baseline is not None:
            cond.append(col(ListingRow.first_seen) > to_db(baseline))
        q = select(
            col(ListingRow.id),
            col(ListingRow.url),
            col(ListingRow.title),
            col(ListingRow.price),
            col(ListingRow.currency),
            col(ListingRow.tags),
            col(ListingRow.product_type),
            col(ListingRow.description),
            col(ListingRow.published_at),
            col(ListingRow.first_seen),
        ).where(
            col(ListingRow.shop_id) == shop_id,
            col(ListingRow.source) == "catalog",
            col(ListingRow.removed_at).is_(None),
            or_(*cond),
        )
        out: list[DatedListing] = []
        with self.engine.connect() as c:
            for lid, url, title, price, cur, tags, ptype, desc, published, first in c.execute(q):
                first_seen = from_db(first)
                assert first_seen is not None
                out.append(
                    DatedListing(
                        pk(lid),
                        url,
                        title,
                        price,
                        cur,
                        json.loads(tags) if tags else [],
                        ptype,
                        desc,
                        from_db(published),
                        first_seen,
                    )
                )
        return out

    @guarded
    def failing_shops(self) -> set[str]:
        """The names of the shops whose last check failed (their stored state is old)."""
        q = select(col(ShopRow.name)).where(col(ShopRow.failures) > 0)
        with self.engine.connect() as c:
            return {n for (n,) in c.execute(q)}

    @guarded
    def price_history(self, listing_ids: Sequence[int]) -> dict[int, list[PricePoint]]:
        """Each listing's prices in time order, from when it was first seen: its first
        state (the ``previous`` fields of its first snapshot, or its current fields when
        it never changed), then one point per snapshot."""
        out: dict[int, list[PricePoint]] = {}
        with self.engine.connect() as c:
            for ids in chunks(sorted(set(listing_ids)), 500):
                current = {
                    pk(i): (from_db(first), price, cur)
                    for i, first, price, cur in c.execute(
                        select(
                            col(ListingRow.id),
                            col(ListingRow.first_seen),
                            col(ListingRow.price),
                            col(ListingRow.currency),
                        ).where(col(ListingRow.id).in_(ids))
                    )
                }
                snaps: dict[int, list[tuple[datetime, float | None, str | None, str | None]]] = {}
                for lid, at, price, cur, previous in c.execute(
                    select(
                        col(SnapshotRow.listing_id),
                        col(SnapshotRow.taken_at),
                        col(SnapshotRow.price),
                        col(SnapshotRow.currency),
                        col(SnapshotRow.previous),
                    )
                    .where(col(SnapshotRow.listing_id).in_(ids))
                    .order_by(col(SnapshotRow.listing_id), col(SnapshotRow.id))
                ):
                    taken = from_db(at)
                    assert taken is not None
                    snaps.setdefault(pk(lid), []).append((taken, price, cur, previous))
                for lid, (first_seen, price, cur) in current.items():
                    assert first_seen is not None
                    rows = snaps.get(lid, [])
                    start = PricePoint(first_seen, price, cur)
                    if rows and rows[0][3]:
                        try:
                            before = json.loads(rows[0][3])
                            start = PricePoint(
                                first_seen, before.get("price"), before.get("currency")
                            )
                        except (ValueError, AttributeError):
                            pass
                    out[lid] = [start, *(PricePoint(at, p, cu) for at, p, cu, _ in rows)]
        return out
