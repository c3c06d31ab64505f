"""The storage operations the runner, detectors and outbox use. Synchronous SQLAlchemy
Core/ORM; every method is one short transaction."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from watcher.errors import StorageError
from watcher.models import Finding, Listing, Review
from watcher.store.db import from_db, make_engine, migrate, to_db, utcnow
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

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

TRACKED = ("title", "price", "currency", "compare_at", "available", "image")
"""Fields whose change writes a snapshot."""
INFO = (
    "url",
    "rating",
    "rating_count",
    "tags",
    "product_type",
    "description",
    "published_at",
    "seller",
)
"""Fields kept current without a snapshot."""
KEEP_RUNS = 50


def fingerprint(values: dict[str, Any]) -> str:
    """A short hash of a listing's tracked fields."""
    raw = json.dumps([values.get(k) for k in TRACKED], ensure_ascii=False, default=str)
    return hashlib.sha1(raw.encode()).hexdigest()


def listing_values(listing: Listing) -> dict[str, Any]:
    """The stored columns of a Listing."""
    return {
        "url": listing.url,
        "title": listing.title,
        "price": listing.price,
        "currency": listing.currency,
        "compare_at": listing.compare_at,
        "available": listing.available,
        "image": listing.image,
        "rating": listing.rating,
        "rating_count": listing.rating_count,
        "tags": json.dumps(listing.tags, ensure_ascii=False) if listing.tags else None,
        "product_type": listing.product_type,
        "description": (listing.description or "")[:5000] or None,
        "published_at": to_db(listing.published_at),
        "seller": None,
    }


def row_listing(row: Any, shop: str | None = None) -> Listing:
    """A stored listing row back as a Listing (without reviews)."""
    return Listing(
        ref=row.ref,
        url=row.url,
        title=row.title,
        price=row.price,
        currency=row.currency,
        compare_at=row.compare_at,
        available=row.available,
        images=[row.image] if row.image else [],
        rating=row.rating,
        rating_count=row.rating_count,
        tags=json.loads(row.tags) if row.tags else [],
        product_type=row.product_type,
        description=row.description,
        published_at=from_db(row.published_at),
        shop=shop,
    )


@dataclass(slots=True)
class Change:
    """A listing whose tracked fields changed: ``old``/``new`` hold those fields;
    ``prev_snapshot`` is the id of the state that was left (part of stable dedup keys)."""

    listing_id: int
    listing: Listing
    old: dict[str, Any]
    new: dict[str, Any]
    prev_snapshot: int | None


@dataclass(slots=True)
class PendingEvents:
    """Stored events awaiting their findings, by shop id."""

    changes: dict[int, list[Change]] = field(default_factory=dict)
    reviews: dict[int, list[tuple[int, Listing, list[Review]]]] = field(default_factory=dict)
    snapshots: list[int] = field(default_factory=list)
    reviews_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ListingChanges:
    """What one batch of fetched listings changed in the store."""

    new: list[tuple[int, Listing]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    seen: list[tuple[int, Listing]] = field(default_factory=list)
    baseline: bool = False
    suspect: str = ""
    """Why a complete catalog was not trusted to mark listings removed (empty when trusted)."""


def _guarded(fn: F) -> F:
    """Turn database errors (locked, disk full, connection lost) into StorageError."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StorageError:
            raise
        except OperationalError as e:
            raise StorageError(f"database error: {e.orig}") from None
        except SQLAlchemyError as e:
            raise StorageError(f"database error: {e}") from None

    return wrapper  # type: ignore[return-value]


def _guard_public_methods(cls: type[T]) -> type[T]:
    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_") and name not in ("session", "url_key"):
            setattr(cls, name, _guarded(value))
    return cls


@_guard_public_methods
class Store:
    """Everything watcher keeps, behind one engine. Every public method raises
    :class:`~watcher.errors.StorageError` for database failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        migrate(self.engine)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    def _guard(self, e: Exception) -> StorageError:
        if isinstance(e, OperationalError):
            return StorageError(f"database error: {e.orig}")
        return StorageError(f"database error: {e}")

    def session(self) -> Session:
        """A new ORM session."""
        return Session(self.engine, expire_on_commit=False)

    # --- shops and check runs -------------------------------------------------------

    def ensure_shop(self, name: str, kind: str, role: str, url: str) -> ShopRow:
        """The row of the named shop, created or updated to the config's kind/role/url."""
        try:
            with self.session() as s:
                row = s.exec(select(ShopRow).where(ShopRow.name == name)).scalars().first()  # type: ignore[call-overload]
                if row is None:
                    row = ShopRow(name=name, kind=kind, role=role, url=url, created_at=utcnow())
                    s.add(row)
                elif (row.kind, row.role, row.url) != (kind, role, url):
                    row.kind, row.role, row.url = kind, role, url
                    s.add(row)
                else:
                    return row
                s.commit()
                s.refresh(row)
                return row
        except SQLAlchemyError as e:
            raise self._guard(e) from None

    def shops(self) -> list[ShopRow]:
        """Every shop row."""
        with self.session() as s:
            return list(s.exec(select(ShopRow).order_by(ShopRow.id)).scalars())  # type: ignore[call-overload]

    def get_shop(self, shop_id: int) -> ShopRow:
        """One shop row by id."""
        with self.session() as s:
            row = s.get(ShopRow, shop_id)
            assert row is not None
            return row

    def begin_run(self, shop_id: int) -> int:
        """Record the start of a check of a shop."""
        with self.engine.begin() as c:
            return int(
                c.execute(
                    insert(CheckRunRow).values(
                        shop_id=shop_id, started_at=utcnow(), status="running"
                    )
                ).inserted_primary_key[0]
            )  # type: ignore[index]

    def finish_run(
        self, run_id: int, shop_id: int, status: str, error: str | None, listings: int
    ) -> None:
        """Record the end of a check and keep only the latest runs of the shop."""
        try:
            with self.engine.begin() as c:
                c.execute(
                    update(CheckRunRow)
                    .where(CheckRunRow.id == run_id)  # type: ignore[arg-type]
                    .values(finished_at=utcnow(), status=status, error=error, listings=listings)
                )
                keep = (
                    select(CheckRunRow.id)
                    .where(CheckRunRow.shop_id == shop_id)
                    .order_by(CheckRunRow.id.desc())
                    .limit(KEEP_RUNS)
                )  # type: ignore[union-attr,attr-defined]
                c.execute(
                    delete(CheckRunRow).where(
                        CheckRunRow.shop_id == shop_id,
                        CheckRunRow.id.not_in(keep.scalar_subquery()),
                    )
                )  # type: ignore[union-attr,attr-defined]
        except SQLAlchemyError as e:
            raise self._guard(e) from None

    def record_failure(self, shop_id: int, error: str) -> ShopRow:
        """Count one more failed check in a row; returns the updated shop."""
        now = utcnow()
        with self.engine.begin() as c:
            c.execute(
                update(ShopRow)
                .where(ShopRow.id == shop_id)  # type: ignore[arg-type]
                .values(
                    failures=ShopRow.failures + 1,
                    failing_since=func.coalesce(ShopRow.failing_since, now),
                    last_error=error[:2000],
                )
            )
        return self.get_shop(shop_id)

    def record_success(self, shop_id: int, *, baseline: bool) -> None:
        """Reset the failure count; set the baseline time on the first complete catalog."""
        now = utcnow()
        values: dict[str, Any] = {
            "failures": 0,
            "failing_since": None,
            "last_ok_at": now,
            "last_error": None,
        }
        with self.engine.begin() as c:
            c.execute(update(ShopRow).where(ShopRow.id == shop_id).values(**values))  # type: ignore[arg-type]
            if baseline:
                c.execute(
                    update(ShopRow)
                    .where(ShopRow.id == shop_id, ShopRow.baseline_at.is_(None))
                    .values(baseline_at=now)
                )  # type: ignore[arg-type,union-attr]

    # --- listings -------------------------------------------------------------------

    def apply_listings(
        self,
        shop_id: int,
        listings: Sequence[Listing],
        *,
        complete: bool | None,
        source: str = "catalog",
        own_top: bool = False,
    ) -> ListingChanges:
        """Store fetched listings; return what is new, what changed, what was removed.

        ``complete`` True (a whole catalog) lets missing listings be marked removed;
        False (partial) or None (search results, single pages) never removes anything.
        """
        try:
            return self._apply_listings(shop_id, listings, complete, source, own_top)
        except SQLAlchemyError as e:
            raise self._guard(e) from None

    def _apply_listings(
        self,
        shop_id: int,
        listings: Sequence[Listing],
        complete: bool | None,
        source: str,
        own_top: bool,
    ) -> ListingChanges:
        now = utcnow()
        changes = ListingChanges()
        cols = [
            ListingRow.id,
            ListingRow.ref,
            ListingRow.fingerprint,
            ListingRow.snapshot_id,
            ListingRow.removed_at,
            ListingRow.own_top,
            ListingRow.source,
            *(getattr(ListingRow, k) for k in TRACKED),
            *(getattr(ListingRow, k) for k in INFO),
        ]
        with self.engine.begin() as c:
            existing = {
                r.ref: r for r in c.execute(select(*cols).where(ListingRow.shop_id == shop_id))
            }  # type: ignore[arg-type]
            unique: dict[str, Listing] = {}
            for item in listings:
                unique.setdefault(item.ref, item)
            inserts: list[dict[str, Any]] = []
            for ref, item in unique.items():
                values = listing_values(item)
                values["seller"] = item.shop if source == "search" and item.shop else None
                fp = fingerprint(values)
                old = existing.get(ref)
                if old is None:
                    inserts.append(
                        {
                            **values,
                            "shop_id": shop_id,
                            "ref": ref,
                            "fingerprint": fp,
                            "first_seen": now,
                            "last_seen": now,
                            "source": source,
                            "own_top": 1 if own_top else None,
                        }
                    )
                    continue
                upd: dict[str, Any] = {}
                if old.removed_at is not None:
                    upd["removed_at"] = None
                if own_top and not old.own_top:
                    upd["own_top"] = 1
                if source == "catalog" and old.source != "catalog":
                    upd["source"] = "catalog"
                for k in INFO:
                    if values[k] != getattr(old, k) and not (k == "seller" and values[k] is None):
                        upd[k] = values[k]
                if fp != old.fingerprint:
                    before = {k: getattr(old, k) for k in TRACKED}
                    snap = c.execute(
                        insert(SnapshotRow).values(
                            listing_id=old.id,
                            taken_at=now,
                            prev_id=old.snapshot_id,
                            previous=json.dumps(before, ensure_ascii=False),
                            pending=True,
                            **{k: values[k] for k in TRACKED},
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                    upd.update({k: values[k] for k in TRACKED}, fingerprint=fp, snapshot_id=snap)
                    changes.changed.append(
                        Change(
                            old.id,
                            item,
                            {k: getattr(old, k) for k in TRACKED},
                            {k: values[k] for k in TRACKED},
                            old.snapshot_id,
                        )
                    )
                if upd:
                    c.execute(update(ListingRow).where(ListingRow.id == old.id).values(**upd))  # type: ignore[arg-type]
                changes.seen.append((old.id, item))
            if inserts:
                c.execute(insert(ListingRow), inserts)
                new_refs = [v["ref"] for v in inserts]
                ids = dict(
                    c.execute(
                        select(ListingRow.ref, ListingRow.id).where(
                            ListingRow.shop_id == shop_id, ListingRow.ref.in_(new_refs)
                        )
                    ).all()
                )  # type: ignore[arg-type,attr-defined]
                for ref in new_refs:
                    changes.new.append((ids[ref], unique[ref]))
                    changes.seen.append((ids[ref], unique[ref]))
            seen_ids = [i for i, _ in changes.seen]
            if complete is True:
                gone = [
                    r.id
                    for ref, r in existing.items()
                    if ref not in unique and r.removed_at is None and r.source == "catalog"
                ]
                active_before = sum(
                    1 for r in existing.values() if r.removed_at is None and r.source == "catalog"
                )
                if gone and (not unique or len(gone) > max(5, active_before // 2)):
                    # A catalog that lost most of its listings at once is far likelier a broken
                    # page than a closing-down sale: keep them and let the next pass decide.
                    changes.suspect = (
                        f"catalog shrank from {active_before} to {len(unique)} listings at once;"
                        " not trusted"
                    )
                elif gone:
                    c.execute(
                        update(ListingRow).where(ListingRow.id.in_(gone)).values(removed_at=now)
                    )  # type: ignore[attr-defined]
                    changes.removed = gone
                c.execute(
                    update(ListingRow)
                    .where(
                        ListingRow.shop_id == shop_id,
                        ListingRow.removed_at.is_(None),
                        ListingRow.source == "catalog",
                    )
                    .values(last_seen=now)
                )  # type: ignore[arg-type,union-attr]
            elif seen_ids:
                for chunk in _chunks(seen_ids, 500):
                    c.execute(
                        update(ListingRow).where(ListingRow.id.in_(chunk)).values(last_seen=now)
                    )  # type: ignore[attr-defined]
        return changes

    def listings(
        self, shop_id: int | None = None, *, active: bool = True, own_top: bool | None = None
    ) -> list[Any]:
        """Stored listing rows (with the shop name as ``shop``), optionally filtered."""
        q = select(ListingRow, ShopRow.name.label("shop"), ShopRow.role).join(
            ShopRow, ShopRow.id == ListingRow.shop_id
        )  # type: ignore[arg-type,attr-defined]
        if shop_id is not None:
            q = q.where(ListingRow.shop_id == shop_id)  # type: ignore[arg-type]
        if active:
            q = q.where(ListingRow.removed_at.is_(None))  # type: ignore[union-attr]
        if own_top is not None:
            q = q.where(
                ListingRow.own_top.is_not(None) if own_top else ListingRow.own_top.is_(None)
            )  # type: ignore[union-attr]
        with self.session() as s:
            return list(s.execute(q.order_by(ListingRow.shop_id, ListingRow.id)))

    def set_own_top(self, shop_id: int, listing_ids: Sequence[int]) -> None:
        """Mark exactly these listings of an own shop as its watched top listings (in order)."""
        with self.engine.begin() as c:
            c.execute(
                update(ListingRow)
                .where(ListingRow.shop_id == shop_id, ListingRow.own_top.is_not(None))
                .values(own_top=None)
            )  # type: ignore[arg-type,union-attr]
            for rank, lid in enumerate(listing_ids, 1):
                c.execute(update(ListingRow).where(ListingRow.id == lid).values(own_top=rank))  # type: ignore[arg-type]

    def own_top_listings(self) -> list[Any]:
        """The watched listings of every own shop, best first."""
        q = (
            select(ListingRow, ShopRow.name.label("shop"))  # type: ignore[attr-defined]
            .join(ShopRow, ShopRow.id == ListingRow.shop_id)  # type: ignore[arg-type]
            .where(
                ShopRow.role == "own",
                ListingRow.own_top.is_not(None),
                ListingRow.removed_at.is_(None),
            )  # type: ignore[union-attr]
            .order_by(ShopRow.id, ListingRow.own_top)
        )
        with self.session() as s:
            return list(s.execute(q))

    def candidate_listings(self) -> list[Any]:
        """Active listings of every non-own shop: copy candidates."""
        q = (
            select(
                ListingRow.id,
                ListingRow.ref,
                ListingRow.url,
                ListingRow.title,
                ListingRow.price,
                ListingRow.currency,
                ListingRow.image,
                ListingRow.seller,
                ShopRow.name.label("shop"),
            )  # type: ignore[attr-defined]
            .join(ShopRow, ShopRow.id == ListingRow.shop_id)  # type: ignore[arg-type]
            .where(ShopRow.role != "own", ListingRow.removed_at.is_(None))  # type: ignore[union-attr]
        )
        with self.engine.connect() as c:
            return list(c.execute(q))

    def new_listings_since(self, shop_id: int, since: datetime) -> list[Any]:
        """Active listings of a shop first seen after ``since`` (aware or naive UTC)."""
        q = select(ListingRow).where(
            ListingRow.shop_id == shop_id,
            ListingRow.first_seen > to_db(since),
            ListingRow.source == "catalog",
        )  # type: ignore[arg-type,operator]
        with self.engine.connect() as c:
            return list(c.execute(q))

    # --- reviews --------------------------------------------------------------------

    def apply_reviews(self, listing_id: int, reviews: Sequence[Review]) -> list[Review]:
        """Store reviews of a listing; return those never seen before, and those whose stars
        dropped (an edit from 5 to 2 stars is news; an edit of the text alone is not). The
        first time a listing's reviews are read they are the baseline and nothing is
        returned."""
        now = utcnow()
        try:
            with self.engine.begin() as c:
                seen_at = c.execute(
                    select(ListingRow.reviews_seen_at).where(ListingRow.id == listing_id)
                ).scalar()  # type: ignore[arg-type]
                baseline = seen_at is None
                known = {
                    k: (t, r)
                    for k, t, r in c.execute(
                        select(ReviewRow.key, ReviewRow.text, ReviewRow.rating).where(
                            ReviewRow.listing_id == listing_id
                        )
                    )
                }  # type: ignore[arg-type]
                fresh: list[Review] = []
                rows: list[dict[str, Any]] = []
                for r in reviews:
                    key = r.key[:255]
                    if key in known:
                        if known[key] != (r.text, r.rating):
                            old_rating = known[key][1]
                            dropped = (
                                r.rating is not None
                                and old_rating is not None
                                and r.rating < old_rating
                            )
                            values: dict[str, Any] = {"text": r.text, "rating": r.rating}
                            if dropped:
                                values["pending"] = True  # news: the detector judges it again
                            c.execute(
                                update(ReviewRow)
                                .where(ReviewRow.listing_id == listing_id, ReviewRow.key == key)
                                .values(**values)
                            )  # type: ignore[arg-type]
                            known[key] = (r.text, r.rating)
                            if dropped:
                                fresh.append(r)
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
                if rows:
                    c.execute(insert(ReviewRow), rows)
                if baseline:
                    c.execute(
                        update(ListingRow)
                        .where(ListingRow.id == listing_id)
                        .values(reviews_seen_at=now)
                    )  # type: ignore[arg-type]
                return fresh
        except SQLAlchemyError as e:
            raise self._guard(e) from None

    # --- pending events ---------------------------------------------------------------

    def pending_events(self, shop_ids: Sequence[int]) -> PendingEvents:
        """Changes and new reviews of these shops whose findings are not recorded yet:
        this check's, and any a crashed earlier check left behind."""
        events = PendingEvents()
        if not shop_ids:
            return events
        with self.session() as s:
            q = (
                select(SnapshotRow, ListingRow, ShopRow.name)
                .join(ListingRow, ListingRow.id == SnapshotRow.listing_id)  # type: ignore[arg-type]
                .join(ShopRow, ShopRow.id == ListingRow.shop_id)  # type: ignore[arg-type]
                .where(SnapshotRow.pending, ListingRow.shop_id.in_(list(shop_ids)))  # type: ignore[arg-type,attr-defined]
                .order_by(SnapshotRow.id)
            )
            for snap, row, shop in s.execute(q):
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
            q = (
                select(ReviewRow, ListingRow, ShopRow.name)
                .join(ListingRow, ListingRow.id == ReviewRow.listing_id)  # type: ignore[arg-type]
                .join(ShopRow, ShopRow.id == ListingRow.shop_id)  # type: ignore[arg-type]
                .where(ReviewRow.pending, ListingRow.shop_id.in_(list(shop_ids)))  # type: ignore[arg-type,attr-defined]
                .order_by(ReviewRow.id)
            )
            by_listing: dict[int, tuple[int, Listing, list[Review]]] = {}
            for rev, row, shop in s.execute(q):
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
            for lid, (shop_id, item, reviews) in by_listing.items():
                events.reviews.setdefault(shop_id, []).append((lid, item, reviews))
        return events

    def clear_pending(self, events: PendingEvents) -> None:
        """Mark events handled once their findings are recorded."""
        with self.engine.begin() as c:
            for chunk in _chunks(events.snapshots, 500):
                c.execute(
                    update(SnapshotRow).where(SnapshotRow.id.in_(chunk)).values(pending=False)
                )  # type: ignore[attr-defined]
            for chunk in _chunks(events.reviews_ids, 500):
                c.execute(update(ReviewRow).where(ReviewRow.id.in_(chunk)).values(pending=False))  # type: ignore[attr-defined]

    # --- images ---------------------------------------------------------------------

    @staticmethod
    def url_key(url: str) -> str:
        """The primary key of an image URL."""
        return hashlib.sha1(url.encode()).hexdigest()

    def image_hashes(self, urls: Iterable[str]) -> dict[str, ImageRow]:
        """Known image rows by URL."""
        keys = {self.url_key(u): u for u in urls}
        out: dict[str, ImageRow] = {}
        with self.session() as s:
            for chunk in _chunks(list(keys), 500):
                for row in s.exec(select(ImageRow).where(ImageRow.url_key.in_(chunk))).scalars():  # type: ignore[call-overload,attr-defined]
                    out[row.url] = row
        return out

    def save_images(self, items: Sequence[tuple[str, str | None, str | None]]) -> None:
        """Remember images' hashes (or why they have none): (url, hash, error) each."""
        now = utcnow()
        try:
            with self.engine.begin() as c:
                for url, hash_, error in items:
                    values = {
                        "url_key": self.url_key(url),
                        "url": url,
                        "hash": hash_,
                        "error": error,
                        "fetched_at": now,
                    }
                    c.execute(_upsert(c.dialect.name, ImageRow, values, ["url_key"]))
        except SQLAlchemyError as e:
            raise self._guard(e) from None

    # --- alerts and deliveries ------------------------------------------------------

    def add_findings(
        self, findings: Sequence[Finding], channels: dict[str, Any]
    ) -> list[tuple[int, Finding]]:
        """Insert findings whose dedup_key is new; queue a delivery per matching channel.

        ``channels`` maps a channel name to a predicate ``accepts(finding) -> bool``.
        Returns the findings that were new. Safe when several processes share the database:
        the unique ``dedup_key`` decides who inserts.
        """
        now = utcnow()
        added: list[tuple[int, Finding]] = []
        try:
            with self.engine.begin() as c:
                for f in findings:
                    values = {
                        "dedup_key": f.dedup_key[:512],
                        "kind": f.kind,
                        "severity": str(f.severity),
                        "shop": f.shop[:255],
                        "summary": f.summary,
                        "payload": json.dumps(f.to_json(), ensure_ascii=False, default=str),
                        "created_at": now,
                    }
                    stmt = _insert_ignore(c.dialect.name, AlertRow, values, ["dedup_key"])
                    alert_id = c.execute(stmt.returning(AlertRow.id)).scalar()
                    if alert_id is None:
                        continue
                    added.append((alert_id, f))
                    rows = [
                        {
                            "alert_id": alert_id,
                            "channel": name,
                            "state": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                        }
                        for name, accepts in channels.items()
                        if accepts(f)
                    ]
                    if rows:
                        c.execute(insert(DeliveryRow), rows)
        except SQLAlchemyError as e:
            raise self._guard(e) from None
        return added

    def claim_due(
        self, channel: str, lease: timedelta, limit: int = 5000
    ) -> list[tuple[int, Finding]]:
        """Claim the channel's due deliveries for ``lease`` so no other process sends them;
        returns (delivery id, finding) in alert order."""
        now = utcnow()
        with self.engine.begin() as c:
            rows = c.execute(
                select(DeliveryRow.id, AlertRow.payload)
                .join(AlertRow, AlertRow.id == DeliveryRow.alert_id)  # type: ignore[arg-type]
                .where(
                    DeliveryRow.channel == channel,
                    DeliveryRow.state == "pending",
                    DeliveryRow.next_attempt_at <= now,
                    or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now),
                )  # type: ignore[arg-type,union-attr,operator]
                .order_by(DeliveryRow.alert_id)
                .limit(limit)
            ).all()
            claimed: list[tuple[int, Finding]] = []
            for did, payload in rows:
                res = c.execute(
                    update(DeliveryRow)
                    .where(
                        DeliveryRow.id == did,
                        DeliveryRow.state == "pending",
                        or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now),
                    )
                    .values(claimed_until=now + lease)
                )  # type: ignore[arg-type,union-attr,operator]
                if res.rowcount:
                    claimed.append((did, Finding.from_json(json.loads(payload))))
        return claimed

    def mark_sent(self, delivery_ids: Sequence[int]) -> None:
        """Record deliveries as sent."""
        now = utcnow()
        with self.engine.begin() as c:
            for chunk in _chunks(list(delivery_ids), 500):
                c.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id.in_(chunk))
                    .values(
                        state="sent",
                        sent_at=now,
                        claimed_until=None,
                        attempts=DeliveryRow.attempts + 1,
                        last_error=None,
                    )
                )  # type: ignore[attr-defined]

    def mark_failed(
        self, delivery_ids: Sequence[int], error: str, *, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: pending again at ``retry_at``, or failed for good."""
        with self.engine.begin() as c:
            for chunk in _chunks(list(delivery_ids), 500):
                values: dict[str, Any] = {
                    "claimed_until": None,
                    "attempts": DeliveryRow.attempts + 1,
                    "last_error": error[:2000],
                }
                if retry_at is None:
                    values["state"] = "failed"
                else:
                    values["next_attempt_at"] = retry_at
                c.execute(update(DeliveryRow).where(DeliveryRow.id.in_(chunk)).values(**values))  # type: ignore[attr-defined]

    def attempts(self, delivery_ids: Sequence[int]) -> int:
        """The highest attempt count among these deliveries."""
        with self.engine.connect() as c:
            return int(
                c.execute(
                    select(func.max(DeliveryRow.attempts)).where(
                        DeliveryRow.id.in_(list(delivery_ids))
                    )
                ).scalar()
                or 0
            )  # type: ignore[attr-defined]

    def requeue_failed(self, channel: str | None = None) -> int:
        """Make failed (and pending) deliveries due now; returns how many."""
        now = utcnow()
        with self.engine.begin() as c:
            q = update(DeliveryRow).where(DeliveryRow.state.in_(("failed", "pending")))  # type: ignore[attr-defined]
            if channel:
                q = q.where(DeliveryRow.channel == channel)  # type: ignore[arg-type]
            return int(
                c.execute(
                    q.values(state="pending", next_attempt_at=now, claimed_until=None)
                ).rowcount
            )

    def alerts(self, limit: int = 200) -> list[tuple[AlertRow, list[DeliveryRow]]]:
        """The newest alerts with their deliveries."""
        with self.session() as s:
            rows = list(
                s.exec(select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)).scalars()
            )  # type: ignore[call-overload,attr-defined]
            ids = [r.id for r in rows]
            deliveries: dict[int, list[DeliveryRow]] = {}
            for d in s.exec(
                select(DeliveryRow)
                .where(DeliveryRow.alert_id.in_(ids))
                .order_by(DeliveryRow.channel)
            ).scalars():  # type: ignore[call-overload,attr-defined]
                deliveries.setdefault(d.alert_id, []).append(d)
            return [(r, deliveries.get(r.id or 0, [])) for r in rows]

    def counts(self) -> dict[str, int]:
        """Row counts per table (for status output and tests)."""
        out = {}
        with self.engine.connect() as c:
            for t in (
                ShopRow,
                ListingRow,
                SnapshotRow,
                ReviewRow,
                AlertRow,
                DeliveryRow,
                CheckRunRow,
                ImageRow,
            ):
                out[t.__tablename__] = int(
                    c.execute(select(func.count()).select_from(t)).scalar() or 0
                )  # type: ignore[arg-type,attr-defined]
        return out


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _insert_ignore(dialect: str, table: Any, values: dict[str, Any], keys: list[str]) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    return insert(table).prefix_with("IGNORE").values(**values)


def _upsert(dialect: str, table: Any, values: dict[str, Any], keys: list[str]) -> Any:
    mod = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(table).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}
    )


__all__ = ["Change", "ListingChanges", "PendingEvents", "Store", "row_listing"]
