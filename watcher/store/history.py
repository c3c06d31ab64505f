"""The read side the dashboard uses (:class:`DashboardReads`, ``store.history``): shops'
health, alerts with their deliveries, listings and how they changed over time, as typed
records. Read-only; every method opens one short connection and raises
:class:`~watcher.errors.StorageError` when the database fails.

A listing's history is its first state (kept as the ``previous`` fields of its first
snapshot, or its current fields when it never changed) at ``first_seen``, then one state
per snapshot: snapshots are written only on change, so each state lasts until the next.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Engine, func, select, text, type_coerce
from sqlalchemy.types import NullType

from watcher.store.db import from_db, to_db
from watcher.store.guard import guarded
from watcher.store.tables import SQLModel

# The Core tables: typed columns, and rows read as plain tuples (no ORM identity map).
_T = SQLModel.metadata.tables
ShopRow, ListingRow, SnapshotRow = _T["shop"].c, _T["listing"].c, _T["snapshot"].c
ReviewRow, AlertRow, DeliveryRow, CheckRunRow = (
    _T["review"].c,
    _T["alert"].c,
    _T["delivery"].c,
    _T["check_run"].c,
)
SHOP, LISTING, SNAPSHOT, REVIEW = _T["shop"], _T["listing"], _T["snapshot"], _T["review"]
ALERT, DELIVERY = _T["alert"], _T["delivery"]

__all__ = [
    "AlertRecord",
    "Backlog",
    "DashboardReads",
    "DeliveryState",
    "ListingRecord",
    "ReviewRecord",
    "ShopState",
    "State",
]

TRACKED = ("title", "price", "currency", "compare_at", "available", "image")


def _aware(value: datetime | None) -> datetime | None:
    return from_db(value)


# --- shops -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShopState:
    """A stored shop (or marketplace) and how its checks went."""

    name: str
    kind: str
    role: str
    url: str
    listings: int
    last_ok_at: datetime | None
    failures: int
    failing_since: datetime | None
    last_error: str | None
    last_run_at: datetime | None
    """When the newest finished check of the shop ended."""
    last_run_status: str | None


# --- alerts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """One alert's delivery to one channel."""

    channel: str
    state: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert: its finding (``payload``, the webhook JSON) and its deliveries."""

    id: int
    kind: str
    severity: str
    shop: str
    summary: str
    created_at: datetime
    payload: dict[str, Any]
    deliveries: tuple[DeliveryState, ...]


def _alert_records(
    c: Connection, rows: list[Any], with_deliveries: bool = True
) -> list[AlertRecord]:
    ids = [r.id for r in rows] if with_deliveries else []
    deliveries: dict[int, list[DeliveryState]] = {}
    for i in range(0, len(ids), 500):
        for d in c.execute(
            select(DELIVERY)
            .where(DeliveryRow.alert_id.in_(ids[i : i + 500]))
            .order_by(DeliveryRow.channel)
        ):
            deliveries.setdefault(d.alert_id, []).append(
                DeliveryState(
                    d.channel,
                    d.state,
                    d.attempts,
                    d.last_error,
                    _aware(d.sent_at),
                    _aware(d.next_attempt_at),
                )
            )
    out = []
    for r in rows:
        created = _aware(r.created_at)
        assert created is not None
        out.append(
            AlertRecord(
                id=r.id,
                kind=r.kind,
                severity=r.severity,
                shop=r.shop,
                summary=r.summary,
                created_at=created,
                payload=json.loads(r.payload),
                deliveries=tuple(deliveries.get(r.id, ())),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Backlog:
    """Deliveries that need attention: failed for good, and pending after a failed try."""

    failed: int
    retrying: int


# --- listings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingRecord:
    """A stored listing's latest state and where it belongs."""

    id: int
    shop: str
    role: str
    ref: str
    url: str
    title: str
    price: float | None
    currency: str | None
    compare_at: float | None
    available: bool | None
    image: str | None
    rating: float | None
    rating_count: int | None
    tags: tuple[str, ...]
    product_type: str | None
    published_at: datetime | None
    seller: str | None
    source: str
    own_top: int | None
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None


_LISTING_COLS = (
    ListingRow.id,
    ShopRow.name.label("shop"),
    ShopRow.role,
    ListingRow.ref,
    ListingRow.url,
    ListingRow.title,
    ListingRow.price,
    ListingRow.currency,
    ListingRow.compare_at,
    ListingRow.available,
    ListingRow.image,
    ListingRow.rating,
    ListingRow.rating_count,
    ListingRow.tags,
    ListingRow.product_type,
    ListingRow.published_at,
    ListingRow.seller,
    ListingRow.source,
    ListingRow.own_top,
    ListingRow.first_seen,
    ListingRow.last_seen,
    ListingRow.removed_at,
)


def _listing(r: Any) -> ListingRecord:
    try:
        tags = tuple(str(t) for t in json.loads(r.tags)) if r.tags else ()
    except (ValueError, TypeError):
        tags = ()
    first_seen, last_seen = _aware(r.first_seen), _aware(r.last_seen)
    assert first_seen is not None and last_seen is not None
    return ListingRecord(
        id=r.id,
        shop=r.shop,
        role=r.role,
        ref=r.ref,
        url=r.url,
        title=r.title,
        price=r.price,
        currency=r.currency,
        compare_at=r.compare_at,
        available=r.available,
        image=r.image,
        rating=r.rating,
        rating_count=r.rating_count,
        tags=tags,
        product_type=r.product_type,
        published_at=_aware(r.published_at),
        seller=r.seller,
        source=r.source,
        own_top=r.own_top,
        first_seen=first_seen,
        last_seen=last_seen,
        removed_at=_aware(r.removed_at),
    )


class State(NamedTuple):
    """A listing's tracked fields from ``at`` until the next state (a named tuple: a
    year of hourly states is built on every chart request)."""

    at: datetime
    title: str
    price: float | None
    currency: str | None
    compare_at: float | None
    available: bool | None
    image: str | None


_STATE_COLS = (SnapshotRow.taken_at, *(getattr(SnapshotRow, k) for k in TRACKED))
_RAW = NullType()
"""A column type without result processing: rows come back as the driver gives them."""


def _state(at: datetime, values: Any) -> State:
    get = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
    return State(
        at=at,
        title=get("title") or "",
        price=get("price"),
        currency=get("currency"),
        compare_at=get("compare_at"),
        available=get("available"),
        image=get("image"),
    )


def _first_state(c: Connection, listing_id: int) -> State | None:
    row = c.execute(
        select(ListingRow.first_seen, *(getattr(ListingRow, k) for k in TRACKED)).where(
            ListingRow.id == listing_id
        )
    ).first()
    if row is None:
        return None
    first = c.execute(
        select(SnapshotRow.previous)
        .where(SnapshotRow.listing_id == listing_id)
        .order_by(SnapshotRow.id)
        .limit(1)
    ).first()
    values: Any = row
    if first is not None and first.previous:
        try:
            values = json.loads(first.previous)
        except ValueError:
            values = row
    at = _aware(row.first_seen)
    assert at is not None
    return _state(at, values)


def _fields(s: State) -> tuple[Any, ...]:
    return (s.title, s.price, s.currency, s.compare_at, s.available, s.image)


# --- reviews -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A stored review of a listing."""

    key: str
    rating: float | None
    text: str
    author: str | None
    published_at: datetime | None
    first_seen: datetime


class DashboardReads:
    """The dashboard's reads (``store.history``): one short read-only connection per call;
    every method raises :class:`~watcher.errors.StorageError` when the database fails."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def shop_states(self) -> list[ShopState]:
        """Every stored shop with its active listing count and its newest finished check."""
        counts = (
            select(ListingRow.shop_id, func.count().label("n"))
            .where(ListingRow.removed_at.is_(None))
            .group_by(ListingRow.shop_id)
            .subquery()
        )
        newest = (
            select(func.max(CheckRunRow.id))
            .where(CheckRunRow.finished_at.is_not(None))
            .group_by(CheckRunRow.shop_id)
        )
        with self.engine.connect() as c:
            runs = {
                r.shop_id: r
                for r in c.execute(
                    select(CheckRunRow.shop_id, CheckRunRow.finished_at, CheckRunRow.status).where(
                        CheckRunRow.id.in_(newest)
                    )
                )
            }
            rows = c.execute(
                select(
                    ShopRow.id,
                    ShopRow.name,
                    ShopRow.kind,
                    ShopRow.role,
                    ShopRow.url,
                    ShopRow.last_ok_at,
                    ShopRow.failures,
                    ShopRow.failing_since,
                    ShopRow.last_error,
                    func.coalesce(counts.c.n, 0).label("n"),
                )
                .select_from(SHOP)
                .outerjoin(counts, counts.c.shop_id == ShopRow.id)
                .order_by(ShopRow.id)
            ).all()
        out = []
        for shop in rows:
            run = runs.get(shop.id)
            out.append(
                ShopState(
                    name=shop.name,
                    kind=shop.kind,
                    role=shop.role,
                    url=shop.url,
                    listings=int(shop.n),
                    last_ok_at=_aware(shop.last_ok_at),
                    failures=shop.failures,
                    failing_since=_aware(shop.failing_since),
                    last_error=shop.last_error,
                    last_run_at=_aware(run.finished_at) if run else None,
                    last_run_status=run.status if run else None,
                )
            )
        return out

    @guarded
    def last_check_at(self) -> datetime | None:
        """When the newest check of any shop finished."""
        with self.engine.connect() as c:
            return _aware(c.execute(select(func.max(CheckRunRow.finished_at))).scalar())

    @guarded
    def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        with self.engine.connect() as c:
            c.execute(text("SELECT 1"))

    @guarded
    def alerts(
        self,
        *,
        kind: str | None = None,
        shop: str | None = None,
        severity: str | None = None,
        delivery: str | None = None,
        before: int | None = None,
        limit: int = 50,
        deliveries: bool = True,
    ) -> list[AlertRecord]:
        """Alerts newest first, filtered by kind, shop, severity and delivery state
        (``failed`` / ``pending`` / ``sent``: having a delivery in that state); ``before``
        pages by alert id. ``deliveries=False`` leaves their deliveries out (faster)."""
        q = select(ALERT)
        if kind:
            q = q.where(AlertRow.kind == kind)
        if shop:
            q = q.where(AlertRow.shop == shop)
        if severity:
            q = q.where(AlertRow.severity == severity)
        if delivery:
            q = q.where(
                AlertRow.id.in_(select(DeliveryRow.alert_id).where(DeliveryRow.state == delivery))
            )
        if before is not None:
            q = q.where(AlertRow.id < before)
        with self.engine.connect() as c:
            rows = list(c.execute(q.order_by(AlertRow.id.desc()).limit(limit)))
            return _alert_records(c, rows, deliveries)

    @guarded
    def alert(self, alert_id: int) -> AlertRecord | None:
        """One alert by id."""
        with self.engine.connect() as c:
            rows = list(c.execute(select(ALERT).where(AlertRow.id == alert_id)))
            found = _alert_records(c, rows)
        return found[0] if found else None

    @guarded
    def alert_ids(self, dedup_keys: Sequence[str]) -> dict[str, int]:
        """The ids of the stored alerts with these dedup keys."""
        out: dict[str, int] = {}
        keys = sorted(set(dedup_keys))
        with self.engine.connect() as c:
            for i in range(0, len(keys), 500):
                for key, alert_id in c.execute(
                    select(AlertRow.dedup_key, AlertRow.id).where(
                        AlertRow.dedup_key.in_(keys[i : i + 500])
                    )
                ):
                    out[key] = alert_id
        return out

    @guarded
    def alert_facets(self) -> tuple[list[str], list[str]]:
        """The kinds and the shops that have alerts (for filter menus)."""
        with self.engine.connect() as c:
            kinds = [
                k for (k,) in c.execute(select(AlertRow.kind).distinct().order_by(AlertRow.kind))
            ]
            shops = [
                s for (s,) in c.execute(select(AlertRow.shop).distinct().order_by(AlertRow.shop))
            ]
        return kinds, shops

    @guarded
    def alert_counts(self, since: datetime) -> dict[str, int]:
        """Alerts per kind created since ``since``."""
        with self.engine.connect() as c:
            return {
                kind: int(n)
                for kind, n in c.execute(
                    select(AlertRow.kind, func.count())
                    .where(AlertRow.created_at >= to_db(since))
                    .group_by(AlertRow.kind)
                )
            }

    @guarded
    def alert_keys(self, kind: str, prefix: str) -> set[str]:
        """Dedup keys of a kind's alerts that start with ``prefix``."""
        with self.engine.connect() as c:
            return {
                k
                for (k,) in c.execute(
                    select(AlertRow.dedup_key).where(
                        AlertRow.kind == kind,
                        AlertRow.dedup_key.startswith(prefix, autoescape=True),
                    )
                )
            }

    @guarded
    def delivery_backlog(self) -> Backlog:
        """How many deliveries failed for good and how many wait for a retry."""
        with self.engine.connect() as c:
            failed = c.execute(select(func.count()).where(DeliveryRow.state == "failed")).scalar()
            retrying = c.execute(
                select(func.count()).where(
                    DeliveryRow.state == "pending",
                    DeliveryRow.attempts > 0,
                )
            ).scalar()
        return Backlog(int(failed or 0), int(retrying or 0))

    @guarded
    def listings(
        self,
        *,
        shop: str | None = None,
        query: str | None = None,
        removed: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[ListingRecord], int]:
        """One page of listings, newest first, and how many match: of one shop, whose title
        contains ``query`` (case-insensitive), without removed ones unless ``removed``."""
        where: list[Any] = []
        if shop:
            where.append(ShopRow.name == shop)
        if query:
            where.append(ListingRow.title.icontains(query, autoescape=True))
        if not removed:
            where.append(ListingRow.removed_at.is_(None))
        base = select(*_LISTING_COLS).join(SHOP, ShopRow.id == ListingRow.shop_id)
        count = (
            select(func.count()).select_from(LISTING).join(SHOP, ShopRow.id == ListingRow.shop_id)
        )
        with self.engine.connect() as c:
            total = int(c.execute(count.where(*where)).scalar() or 0)
            rows = c.execute(
                base.where(*where).order_by(ListingRow.id.desc()).offset(offset).limit(limit)
            ).all()
        return [_listing(r) for r in rows], total

    @guarded
    def listing(self, listing_id: int) -> ListingRecord | None:
        """One listing by id."""
        with self.engine.connect() as c:
            row = c.execute(
                select(*_LISTING_COLS)
                .join(SHOP, ShopRow.id == ListingRow.shop_id)
                .where(ListingRow.id == listing_id)
            ).first()
        return _listing(row) if row is not None else None

    @guarded
    def find_listing(self, shop: str, url: str) -> ListingRecord | None:
        """The listing of the named shop at ``url`` (also a removed one)."""
        with self.engine.connect() as c:
            row = c.execute(
                select(*_LISTING_COLS)
                .join(SHOP, ShopRow.id == ListingRow.shop_id)
                .where(ShopRow.name == shop, ListingRow.url == url)
                .order_by(ListingRow.id.desc())
            ).first()
        return _listing(row) if row is not None else None

    @guarded
    def listing_ids(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The ids of the listings at these (shop name, url) pairs that are stored."""
        by_shop: dict[str, set[str]] = {}
        for shop, url in pairs:
            by_shop.setdefault(shop, set()).add(url)
        out: dict[tuple[str, str], int] = {}
        with self.engine.connect() as c:
            for shop, urls in by_shop.items():
                wanted = sorted(urls)
                for i in range(0, len(wanted), 500):
                    for r in c.execute(
                        select(ListingRow.id, ListingRow.url)
                        .join(SHOP, ShopRow.id == ListingRow.shop_id)
                        .where(ShopRow.name == shop, ListingRow.url.in_(wanted[i : i + 500]))
                        .order_by(ListingRow.id)
                    ):
                        out[(shop, r.url)] = r.id
        return out

    @guarded
    def history(self, listing_id: int, since: datetime | None = None) -> list[State]:
        """The listing's states in time order; with ``since``, the state at that moment (its
        ``at`` moved to ``since``) and every later one. Empty for an unknown listing."""
        with self.engine.connect() as c:
            first = _first_state(c, listing_id)
            if first is None:
                return []
            q = select(*_STATE_COLS).where(SnapshotRow.listing_id == listing_id)
            states: list[State] = []
            if since is not None and since > first.at:
                before = c.execute(
                    q.where(SnapshotRow.taken_at < to_db(since))
                    .order_by(SnapshotRow.id.desc())
                    .limit(1)
                ).first()
                start = _state(since, before) if before is not None else first
                states.append(State(since, *_fields(start)))
                q = q.where(SnapshotRow.taken_at >= to_db(since))
            else:
                states.append(first)
            # The hot loop of a year of hourly changes: the raw driver values (SQLite gives
            # times as ISO text, booleans as 0/1) converted here, 4x faster than per-column
            # result processing.
            raw = q.with_only_columns(*(type_coerce(col, _RAW) for col in _STATE_COLS)).order_by(
                SnapshotRow.id
            )
            rows = cast(list[tuple[Any, ...]], c.execute(raw).all())
            for at, title, price, currency, compare_at, available, image in rows:
                if isinstance(at, str):  # stored as UTC; parsing the offset beats .replace()
                    try:
                        at = datetime.fromisoformat(at + "+00:00")
                    except ValueError:
                        at = datetime.fromisoformat(at)
                states.append(
                    State(
                        at if at.tzinfo else at.replace(tzinfo=UTC),
                        title or "",
                        price,
                        currency,
                        compare_at,
                        None if available is None else bool(available),
                        image,
                    )
                )
        return states

    @guarded
    def state_at(self, listing_id: int, when: datetime) -> State | None:
        """The listing's tracked fields as they were at ``when`` (its first state when it
        was first seen later)."""
        with self.engine.connect() as c:
            row = c.execute(
                select(*_STATE_COLS)
                .where(
                    SnapshotRow.listing_id == listing_id,
                    SnapshotRow.taken_at <= to_db(when),
                )
                .order_by(SnapshotRow.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                at = _aware(row.taken_at)
                assert at is not None
                return _state(at, row)
            return _first_state(c, listing_id)

    @guarded
    def reviews(self, listing_id: int, limit: int = 200) -> list[ReviewRecord]:
        """The listing's reviews, newest first."""
        with self.engine.connect() as c:
            rows = c.execute(
                select(REVIEW)
                .where(ReviewRow.listing_id == listing_id)
                .order_by(ReviewRow.first_seen.desc(), ReviewRow.id.desc())
                .limit(limit)
            ).all()
        out = []
        for r in rows:
            first_seen = _aware(r.first_seen)
            assert first_seen is not None
            out.append(
                ReviewRecord(r.key, r.rating, r.text, r.author, _aware(r.published_at), first_seen)
            )
        out.sort(key=lambda r: (r.published_at or r.first_seen, r.first_seen), reverse=True)
        return out
