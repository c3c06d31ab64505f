"""The store: one engine and the parts that work on it, one part per job.

==============  =================================  =========================================
attribute       class (module)                     job
==============  =================================  =========================================
``registry``    ShopRegistry (``shops``)           shop rows, check runs, failures in a row
``catalog``     ListingStore (``listings``)        listings and snapshots, diffed on write
``reviews``     ReviewStore (``reviews``)          reviews: baseline, new, edited
``events``      EventStore (``events``)            changes and reviews awaiting findings
``images``      ImageStore (``images``)            perceptual hashes of image URLs
``outbox``      OutboxStore (``outbox``)           alerts and their deliveries per channel
``reads``       StoreReads (``reads``)             what detectors read (``DetectReads``)
``thumbnails``  ThumbnailStore (``thumbnails``)    small copies of hashed photos (dashboard)
``history``     DashboardReads (``history``)       what the dashboard reads
``watch``       WatchStore (``watch``)             own listings' pages: 404/410s in a row
``retention``   HistoryRetention (``retention``)   old price history pruned, once a day
==============  =================================  =========================================

Every public method of a part is one short transaction and raises
:class:`~watcher.errors.StorageError` for database failures. The few reads the commands
print (:meth:`Store.shops`, :meth:`Store.listings`, :meth:`Store.alerts`) and
:meth:`Store.requeue_failed` are also on the store itself.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from watcher.store.db import make_engine, migrate
from watcher.store.events import EventStore
from watcher.store.guard import guarded
from watcher.store.history import DashboardReads
from watcher.store.images import ImageStore
from watcher.store.listings import ListingStore, ShopListing, row_listing
from watcher.store.outbox import OutboxStore
from watcher.store.reads import StoreReads
from watcher.store.records import Change, ListingChanges, PendingEvents
from watcher.store.retention import HistoryRetention
from watcher.store.reviews import ReviewStore
from watcher.store.shops import ShopRegistry
from watcher.store.tables import (
    AlertRow,
    CheckRunRow,
    DeliveryRow,
    ImageRow,
    ListingRow,
    ReviewRow,
    ShopRow,
    SnapshotRow,
)
from watcher.store.thumbnails import ThumbnailStore
from watcher.store.watch import WatchStore

TABLES = (ShopRow, ListingRow, SnapshotRow, ReviewRow, AlertRow, DeliveryRow, CheckRunRow, ImageRow)


class Store:
    """Everything watcher keeps, behind one engine, as parts (see the module doc)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        migrate(self.engine)
        self.registry = ShopRegistry(self.engine)
        self.catalog = ListingStore(self.engine)
        self.reviews = ReviewStore(self.engine)
        self.events = EventStore(self.engine)
        self.images = ImageStore(self.engine)
        self.outbox = OutboxStore(self.engine)
        self.reads = StoreReads(self.engine)
        self.thumbnails = ThumbnailStore(self.engine)
        self.history = DashboardReads(self.engine)
        self.watch = WatchStore(self.engine)
        self.retention = HistoryRetention(self.engine)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    def shops(self) -> list[ShopRow]:
        """Every shop row."""
        return self.registry.shops()

    def listings(
        self, shop_id: int | None = None, *, active: bool = True, own_top: bool | None = None
    ) -> list[ShopListing]:
        """Stored listings with their shop's name and role (see :meth:`ListingStore.rows`)."""
        return self.catalog.rows(shop_id, active=active, own_top=own_top)

    def alerts(self, limit: int = 200) -> list[tuple[AlertRow, list[DeliveryRow]]]:
        """The newest alerts with their deliveries."""
        return self.outbox.alerts(limit)

    def requeue_failed(self, channel: str | None = None) -> int:
        """Make failed (and pending) deliveries due now; returns how many."""
        return self.outbox.requeue_failed(channel)

    @guarded
    def counts(self) -> dict[str, int]:
        """Row counts per table (for status output and tests)."""
        out: dict[str, int] = {}
        with self.engine.connect() as c:
            for t in TABLES:
                n = c.execute(select(func.count()).select_from(t)).scalar()
                out[str(t.__tablename__)] = int(n or 0)
        return out


__all__ = [
    "Change",
    "ListingChanges",
    "PendingEvents",
    "ShopListing",
    "Store",
    "row_listing",
]
