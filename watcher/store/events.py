"""Pending events: stored changes (snapshots) and new reviews whose findings are not
recorded yet. They stay pending until :meth:`EventStore.clear`, so a crash between storing
a change and recording its findings loses nothing: the next check picks them up."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

import sqlmodel
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from watcher.models import Listing, Review
from watcher.store.db import chunks, from_db
from watcher.store.diff import TRACKED
from watcher.store.guard import guarded
from watcher.store.listings import row_listing
from watcher.store.records import Change, PendingEvents
from watcher.store.tables import ListingRow, ReviewRow, ShopRow, SnapshotRow

E = TypeVar("E", SnapshotRow, ReviewRow)


def _pending(
    s: Session, entity: type[E], shop_ids: Sequence[int]
) -> list[tuple[E, ListingRow, str]]:
    """The pending rows of ``entity`` of these shops with their listing and shop name."""
    q = (
        sqlmodel.select(entity, ListingRow, ShopRow.name)
        .join(ListingRow, col(ListingRow.id) == col(entity.listing_id))
        .join(ShopRow, col(ShopRow.id) == col(ListingRow.shop_id))
        .where(col(entity.pending), col(ListingRow.shop_id).in_(list(shop_ids)))
        .order_by(col(entity.id))
    )
    return list(s.exec(q))


class EventStore:
    """The ``pending`` flags of the ``snapshot`` and ``review`` tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def pending(self, shop_ids: Sequence[int]) -> PendingEvents:
        """Changes and new reviews of these shops whose findings are not recorded yet:
        this check's, and any a crashed earlier check left behind."""
        events = PendingEvents()
        if not shop_ids:
            return events
        with Session(self.engine) as s:
            for snap, row, shop in _pending(s, SnapshotRow, shop_ids):
                assert snap.id is not None and row.id is not None
                old = json.loads(snap.previous) if snap.previous else {}
                new = {k: getattr(snap, k) for k in TRACKED}
                item = row_listing(row, shop)
                item.title, item.price, item.currency = snap.title, snap.price, snap.currency
                events.snapshots.append(snap.id)
                if row.source == "search":
                    continue  # a stranger's search result changing price is not news
                events.changes.setdefault(row.shop_id, []).append(
                    Change(row.id, item, old, new, snap.prev_id)
                )
            by_listing: dict[int, tuple[int, Listing, list[Review]]] = {}
            for rev, row, shop in _pending(s, ReviewRow, shop_ids):
                assert rev.id is not None and row.id is not None
                events.reviews_ids.append(rev.id)
                entry = by_listing.setdefault(row.id, (row.shop_id, row_listing(row, shop), []))
                entry[2].append(
                    Review(
                        id=rev.key[3:] if rev.key.startswith("id:") else None,
                        rating=rev.rating,
                        text=rev.text,
                        author=rev.author,
                        published_at=from_db(rev.published_at),
                        stored_key=rev.key,
                    )
                )
            for lid, (shop_id, item, found) in by_listing.items():
                events.reviews.setdefault(shop_id, []).append((lid, item, found))
        return events

    @guarded
    def clear(self, events: PendingEvents) -> None:
        """Mark events handled once their findings are recorded."""
        with self.engine.begin() as c:
            for chunk in chunks(events.snapshots):
                c.execute(
                    update(SnapshotRow).where(col(SnapshotRow.id).in_(chunk)).values(pending=False)
                )
            for chunk in chunks(events.reviews_ids):
                c.execute(
                    update(ReviewRow).where(col(ReviewRow.id).in_(chunk)).values(pending=False)
                )
