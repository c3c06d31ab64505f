"""What each page shows, computed from the store's read side (:mod:`watcher.store.history`,
:mod:`watcher.store.thumbnails`): plain dataclasses the templates and the JSON API render.
No SQL here and no HTML."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from watcher import money
from watcher.config import Config
from watcher.detectors.copies import CopyDetail, CopyRef
from watcher.detectors.launches import LaunchDetail
from watcher.errors import StorageError
from watcher.models import json_num, json_str, kind_names, parse_detail
from watcher.store import Store
from watcher.store.history import (
    AlertRecord,
    Backlog,
    DashboardReads,
    ListingRecord,
    ReviewRecord,
    State,
)
from watcher.web.labels import SEASON_ORDER
from watcher.web.titlediff import Segment, title_diff

PER_PAGE = 50
HEALTH_SLACK = timedelta(minutes=10)


def _local_midnight(now: datetime, config: Config) -> datetime:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(config.watcher.timezone)
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def _date_of(value: Any) -> datetime | None:
    """A ``YYYY-MM-DD`` (or ISO datetime) string from a finding as an aware UTC moment."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value[:10]), time(0))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- overview ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShopLine:
    """One shop on the overview."""

    name: str
    role: str
    kind: str
    status: str
    """ok | partial | failing | unchecked"""
    failing_since: datetime | None
    failures: int
    last_check: datetime | None
    next_check: datetime | None
    listings: int
    error: str | None


@dataclass(frozen=True, slots=True)
class Overview:
    """The morning page."""

    shops: list[ShopLine]
    today: dict[str, int]
    week: dict[str, int]
    kinds: list[str]
    backlog: Backlog
    last_check_at: datetime | None

    @property
    def failing(self) -> list[ShopLine]:
        """Shops whose checks fail."""
        return [s for s in self.shops if s.status == "failing"]

    @property
    def needs_attention(self) -> bool:
        """Whether something waits for a person."""
        return bool(self.failing or self.backlog.failed or self.backlog.retrying)


def _shop_configs(config: Config) -> list[tuple[str, str, str, timedelta]]:
    out: list[tuple[str, str, str, timedelta]] = [
        (s.name, s.role, s.kind, s.interval or config.watcher.interval) for s in config.shops
    ]
    out += [(m.name, "marketplace", m.kind, config.watcher.interval) for m in config.marketplaces]
    return out


def overview(store: Store, config: Config, now: datetime) -> Overview:
    """Every configured shop's status, today's and this week's alerts by kind, and what
    needs a person (failing shops, undelivered alerts)."""
    stored = {s.name: s for s in store.history.shop_states()}
    lines: list[ShopLine] = []
    for name, role, kind, interval in _shop_configs(config):
        st = stored.get(name)
        if st is None:
            lines.append(ShopLine(name, role, kind, "unchecked", None, 0, None, None, 0, None))
            continue
        if st.failures:
            status = "failing"
        elif st.last_run_status is None:
            status = "unchecked"
        else:
            status = "partial" if st.last_run_status == "partial" else "ok"
        last = st.last_run_at
        lines.append(
            ShopLine(
                name=name,
                role=role,
                kind=kind,
                status=status,
                failing_since=st.failing_since,
                failures=st.failures,
                last_check=last,
                next_check=last + interval if last else None,
                listings=st.listings,
                error=st.last_error,
            )
        )
    midnight = _local_midnight(now, config)
    monday = midnight - timedelta(days=midnight.weekday())
    today = store.history.alert_counts(midnight)
    week = store.history.alert_counts(monday)
    kinds = sorted(week, key=lambda k: (kind_names(k).order, k))
    return Overview(
        shops=lines,
        today=today,
        week=week,
        kinds=kinds,
        backlog=store.history.delivery_backlog(),
        last_check_at=store.history.last_check_at(),
    )


# --- alerts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertFilters:
    """The ``/alerts`` query: each empty string means "any"."""

    kind: str = ""
    shop: str = ""
    severity: str = ""
    delivery: str = ""

    def query(self, **extra: Any) -> dict[str, Any]:
        """The non-empty filters (plus ``extra``) as query parameters."""
        base = {
            "kind": self.kind,
            "shop": self.shop,
            "severity": self.severity,
            "delivery": self.delivery,
        }
        return {k: v for k, v in {**base, **extra}.items() if v not in ("", None)}


@dataclass(frozen=True, slots=True)
class AlertList:
    """A page of alerts."""

    alerts: list[AlertRecord]
    kinds: list[str]
    shops: list[str]
    next_before: int | None
    listing_ids: dict[int, int]
    """alert id -> the stored listing the alert is about (for a link)."""


def alert_list(
    store: Store, filters: AlertFilters, before: int | None, limit: int = PER_PAGE
) -> AlertList:
    """Alerts newest first with the filters applied, and the values the filters offer."""
    rows = store.history.alerts(
        kind=filters.kind or None,
        shop=filters.shop or None,
        severity=filters.severity or None,
        delivery=filters.delivery or None,
        before=before,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    kinds, shops = store.history.alert_facets()
    return AlertList(
        alerts=rows,
        kinds=kinds,
        shops=shops,
        next_before=rows[-1].id if more and rows else None,
        listing_ids=_alert_listings(store, rows),
    )


def _alert_listings(store: Store, rows: Sequence[AlertRecord]) -> dict[int, int]:
    pairs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for a in rows:
        listing = a.payload.get("listing")
        if isinstance(listing, dict) and isinstance(listing.get("url"), str):
            pairs[(a.shop, listing["url"])].append(a.id)
    found = store.history.listing_ids(list(pairs))
    return {aid: found[p] for p, aids in pairs.items() if p in found for aid in aids}


# --- listings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingList:
    """A page of listings."""

    listings: list[ListingRecord]
    total: int
    page: int
    pages: int
    shops: list[str]
    thumbs: dict[str, str]
    """image URL -> thumbnail key."""


def listing_list(
    store: Store, config: Config, shop: str, query: str, page: int, per_page: int = PER_PAGE
) -> ListingList:
    """One page of stored listings, newest first, of one shop and/or matching a title."""
    page = max(page, 1)
    rows, total = store.history.listings(
        shop=shop or None,
        query=query.strip() or None,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    pages = max(1, math.ceil(total / per_page))
    names = [n for n, *_ in _shop_configs(config)]
    return ListingList(
        listings=rows,
        total=total,
        page=page,
        pages=pages,
        shops=names,
        thumbs=store.thumbnails.keys_for([r.image for r in rows if r.image]),
    )


@dataclass(frozen=True, slots=True)
class PriceStats:
    """Figures over the shown period (time-weighted median: a price that held for a week
    counts more than one that held for an hour)."""

    low: float
    high: float
    median: float
    current: float | None
    currency: str | None
    lowest_days: int | None
    """The current price is the lowest in this many days (None when it is not)."""
    since_tracking: bool
    """...and lower than every price since watcher first saw the listing."""


def price_stats(states: Sequence[State], end: datetime) -> PriceStats | None:
    """Min, max, time-weighted median and "lowest in N days" of a history."""
    spans: list[tuple[float, float]] = []  # (price, seconds held)
    ts = [s.at.timestamp() for s in states]
    ts.append(end.timestamp())
    for i, s in enumerate(states):
        if s.price is not None:
            spans.append((s.price, max(ts[i + 1] - ts[i], 0.0)))
    if not spans:
        return None
    prices = [p for p, _ in spans]
    total = sum(w for _, w in spans)
    median = prices[-1]
    if total > 0:
        acc = 0.0
        for p, w in sorted(spans):
            acc += w
            if acc >= total / 2:
                median = p
                break
    current = states[-1].price
    lowest_days: int | None = None
    since_tracking = False
    if current is not None:
        since, since_tracking = states[0].at, True
        for i in range(len(states) - 1, -1, -1):
            earlier = states[i].price
            if earlier is not None and earlier < current:
                # the last lower price held until the next state began
                since, since_tracking = states[i + 1].at, False
                break
        days = int((end - since).total_seconds() // 86400)
        lowest_days = days if days >= 1 else None
        since_tracking = since_tracking and lowest_days is not None
    return PriceStats(
        low=min(prices),
        high=max(prices),
        median=median,
        current=current,
        currency=next((s.currency for s in reversed(states) if s.currency), None),
        lowest_days=lowest_days,
        since_tracking=since_tracking,
    )


@dataclass(frozen=True, slots=True)
class ReviewLine:
    """A review and whether (and why) it counts as negative."""

    review: ReviewRecord
    negative: str | None
    """None, ``bad`` (1–2★), ``mixed`` (3★) or ``text`` (a complaint in the text)."""


@dataclass(frozen=True, slots=True)
class History:
    """A listing and its states between ``start`` and ``end`` (the JSON API and the CSV
    export show this; the page adds the rest)."""

    listing: ListingRecord
    states: list[State]
    start: datetime
    end: datetime
    stats: PriceStats | None


@dataclass(frozen=True, slots=True)
class ListingPage:
    """Everything ``/listings/<id>`` shows."""

    listing: ListingRecord
    states: list[State]
    start: datetime
    end: datetime
    stats: PriceStats | None
    reviews: list[ReviewLine]
    thumb: str | None
    rows: list[tuple[State, frozenset[str]]]
    """One page of states, newest first, each with the fields that changed."""
    page: int
    pages: int


PERIODS = (30, 90, 365, 0)
"""The history periods the listing page offers, in days (0: everything)."""


def listing_history(store: Store, listing_id: int, *, days: int, now: datetime) -> History | None:
    """A listing's states over the last ``days`` (0: all) and their figures."""
    item = store.history.listing(listing_id)
    if item is None:
        return None
    states = store.history.history(listing_id, now - timedelta(days=days) if days else None)
    end = item.removed_at or now
    start = states[0].at if states else item.first_seen
    return History(item, states, start, end, price_stats(states, end))


def _changed_rows(
    states: list[State], page: int, per_page: int
) -> list[tuple[State, frozenset[str]]]:
    rows: list[tuple[State, frozenset[str]]] = []
    # newest first; only the shown page's rows are compared with their predecessor
    last = len(states) - 1 - (page - 1) * per_page
    for i in range(last, max(last - per_page, -1), -1):
        s, prev = states[i], states[i - 1] if i else None
        changed = frozenset(
            f
            for f in ("title", "price", "compare_at", "available", "image", "currency")
            if prev is not None and getattr(prev, f) != getattr(s, f)
        )
        rows.append((s, changed))
    return rows


def listing_page(
    store: Store,
    config: Config,
    listing_id: int,
    *,
    days: int,
    page: int,
    now: datetime,
    per_page: int = PER_PAGE,
) -> ListingPage | None:
    """A listing's fields, its history over ``days`` (0: all), one page of its states,
    and, for own listings, its reviews."""
    h = listing_history(store, listing_id, days=days, now=now)
    if h is None:
        return None
    item, states = h.listing, h.states
    pages = max(1, math.ceil(len(states) / per_page))
    page = min(max(page, 1), pages)
    rows = _changed_rows(states, page, per_page)
    reviews: list[ReviewLine] = []
    if item.role == "own":
        reviews = _review_lines(store, config, item)
    thumb = store.thumbnails.keys_for([item.image] if item.image else []).get(item.image or "")
    return ListingPage(
        listing=item,
        states=states,
        start=h.start,
        end=h.end,
        stats=h.stats,
        reviews=reviews,
        thumb=thumb,
        rows=rows,
        page=page,
        pages=pages,
    )


def _review_lines(store: Store, config: Config, item: ListingRecord) -> list[ReviewLine]:
    # The detector's verdicts are its alerts (dedup key "negative_review:shop:ref:review");
    # reviews from before watcher started were never judged, so their stars decide.
    prefix = f"negative_review:{item.shop}:{item.ref}:"
    flagged = {
        k[len(prefix) :].split(":rated:")[0]
        for k in store.history.alert_keys("negative_review", prefix)
    }
    limit = config.detect.reviews.max_rating
    out = []
    for r in store.history.reviews(item.id):
        negative = None
        if r.rating is not None and r.rating <= limit:
            negative = "bad" if r.rating <= 2 else "mixed"
        elif r.key in flagged:
            negative = "text"
        out.append(ReviewLine(r, negative))
    return out


# --- copies ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyLine:
    """One copy of an own listing, from its ``copied_listing`` alert."""

    alert_id: int
    found_at: datetime
    severity: str
    copy: CopyRef
    similarity: float | None
    distance: int | None
    stolen_photo: bool


@dataclass(frozen=True, slots=True)
class CopyGroup:
    """An own listing and its copies, newest first."""

    shop: str
    listing: dict[str, Any]
    listing_id: int | None
    thumb: str | None
    copies: list[CopyLine]


def _copy_detail(a: AlertRecord) -> CopyDetail:
    detail = parse_detail(a.kind, a.payload.get("detail"))
    return detail if isinstance(detail, CopyDetail) else CopyDetail.from_json({})


def _brief(a: AlertRecord) -> dict[str, Any]:
    listing = a.payload.get("listing")
    return listing if isinstance(listing, dict) else {}


COPIES_READ = 500
"""The copies page groups this many of the newest copy alerts (the rest: ``/alerts``)."""
COPIES_SHOWN = 20
"""Copies listed per own listing; the others are counted and linked."""


def copies(store: Store) -> list[CopyGroup]:
    """Every own listing with copies among the newest :data:`COPIES_READ` copy alerts,
    the one with the newest copy first."""
    groups: dict[tuple[str, str], CopyGroup] = {}
    for a in store.history.alerts(kind="copied_listing", limit=COPIES_READ, deliveries=False):
        listing, detail = _brief(a), _copy_detail(a)
        key = (a.shop, str(listing.get("url") or ""))
        group = groups.get(key)
        if group is None:
            group = CopyGroup(a.shop, listing, None, None, [])
            groups[key] = group
        group.copies.append(
            CopyLine(
                alert_id=a.id,
                found_at=a.created_at,
                severity=a.severity,
                copy=detail.copy,
                similarity=detail.title_similarity,
                distance=detail.image_distance,
                stolen_photo=detail.stolen_photo or a.severity == "high",
            )
        )
    ids = store.history.listing_ids(list(groups))
    out = []
    images: dict[tuple[str, str], str] = {}
    for key in groups:
        if key in ids:
            rec = store.history.listing(ids[key])
            if rec is not None and rec.image:
                images[key] = rec.image
    thumbs = store.thumbnails.keys_for(images.values())
    for key, g in groups.items():
        out.append(
            CopyGroup(g.shop, g.listing, ids.get(key), thumbs.get(images.get(key, "")), g.copies)
        )
    return out


@dataclass(frozen=True, slots=True)
class Side:
    """One side of the evidence: the own listing or its copy."""

    shop: str
    seller: str | None
    title: str
    url: str
    price: float | None
    currency: str | None
    first_seen: datetime | None
    removed_at: datetime | None
    listing_id: int | None
    thumb: str | None
    title_runs: list[Segment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the evidence page of a ``copied_listing`` alert shows."""

    alert: AlertRecord
    own: Side
    copy: Side
    similarity: float | None
    distance: int | None
    stolen_photo: bool
    threshold: int
    same_currency: bool
    cheaper_by: float | None
    """How much less the copy costs (same currency only; None when not cheaper)."""


def _side(
    store: Store,
    shop: str,
    url: str | None,
    title: str | None,
    price: float | None,
    currency: str | None,
    when: datetime,
    seller: str | None = None,
) -> Side:
    rec = store.history.find_listing(shop, url) if url else None
    image = None
    if rec is not None:
        # the photo as it was when the copy was found, not as it is today
        state = store.history.state_at(rec.id, when)
        image = state.image if state is not None else rec.image
    thumb = store.thumbnails.keys_for([image] if image else []).get(image or "")
    return Side(
        shop=shop,
        seller=seller,
        title=title or (rec.title if rec else ""),
        url=url or "",
        price=price,
        currency=currency,
        first_seen=rec.first_seen if rec else None,
        removed_at=rec.removed_at if rec else None,
        listing_id=rec.id if rec else None,
        thumb=thumb,
    )


def evidence(store: Store, config: Config, alert_id: int) -> Evidence | None:
    """The evidence of one ``copied_listing`` alert (None for any other alert)."""
    a = store.history.alert(alert_id)
    if a is None or a.kind != "copied_listing":
        return None
    listing, detail = _brief(a), _copy_detail(a)
    c = detail.copy
    own = _side(
        store,
        a.shop,
        json_str(listing.get("url")),
        json_str(listing.get("title")),
        json_num(listing.get("price")),
        json_str(listing.get("currency")),
        a.created_at,
    )
    theirs = _side(store, c.shop or "", c.url, c.title, c.price, c.currency, a.created_at, c.seller)
    left, right = title_diff(own.title, theirs.title)
    own = replace(own, title_runs=left)
    theirs = replace(theirs, title_runs=right)
    cheaper = money.difference(own.price, own.currency, theirs.price, theirs.currency)
    return Evidence(
        alert=a,
        own=own,
        copy=theirs,
        similarity=detail.title_similarity,
        distance=detail.image_distance,
        stolen_photo=detail.stolen_photo or a.severity == "high",
        threshold=config.detect.copies.image_distance,
        same_currency=money.same_currency(own.currency, theirs.currency),
        cheaper_by=cheaper if cheaper is not None and cheaper > 0 else None,
    )


# --- launches ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewItem:
    """A new item of a season, dated."""

    title: str
    url: str
    price: float | None
    currency: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class CompetitorLaunch:
    """When one competitor started a season, and with what."""

    shop: str
    started: datetime | None
    items: list[NewItem]
    alert_id: int | None


@dataclass(frozen=True, slots=True)
class SeasonLaunches:
    """Who has started one season of one year."""

    season: str
    year: int
    competitors: list[CompetitorLaunch]

    @property
    def started(self) -> int:
        """How many competitors have started."""
        return sum(1 for c in self.competitors if c.started is not None)

    @property
    def tracked(self) -> int:
        """How many competitors are watched."""
        return len(self.competitors)

    @property
    def span(self) -> tuple[datetime, datetime]:
        """The timeline's first and last day (a few days' margin around the dates)."""
        moments = [c.started for c in self.competitors if c.started] + [
            i.at for c in self.competitors for i in c.items if i.at
        ]
        if not moments:
            now = datetime.now(UTC)
            return now - timedelta(days=7), now
        lo, hi = min(moments), max(moments)
        margin = max((hi - lo) / 10, timedelta(days=2))
        return lo - margin, hi + margin


def _new_items(detail: LaunchDetail) -> list[NewItem]:
    return [
        NewItem(i.title or "", i.url or "", i.price, i.currency, _date_of(i.date))
        for i in detail.items
    ]


LAUNCHES_READ = 400
"""Launch alerts read for the page: one per competitor and season, so decades of
seasons for a handful of competitors (``everything`` reads up to 5,000)."""


def launches(store: Store, config: Config, *, everything: bool = False) -> list[SeasonLaunches]:
    """Per season and year (newest first), every competitor: when it started and its
    items, from the newest ``seasonal_launch`` alerts; competitors that have not started
    too."""
    tracked = [s.name for s in config.shops if not s.own]
    # (season, year) -> shop -> items by (url, title); and the earliest start known
    items: dict[tuple[str, int], dict[str, dict[tuple[str, str], NewItem]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    starts: dict[tuple[str, int], dict[str, datetime]] = defaultdict(dict)
    alert_ids: dict[tuple[str, int, str], int] = {}

    def started(key: tuple[str, int], shop: str, when: datetime | None) -> None:
        if when is not None and (shop not in starts[key] or when < starts[key][shop]):
            starts[key][shop] = when

    limit = 5000 if everything else LAUNCHES_READ
    for a in store.history.alerts(kind="seasonal_launch", limit=limit, deliveries=False):
        d = parse_detail(a.kind, a.payload.get("detail"))
        if not isinstance(d, LaunchDetail) or d.season is None or d.year is None:
            continue
        key = (d.season, d.year)
        alert_ids.setdefault((d.season, d.year, a.shop), a.id)
        for item in _new_items(d):
            items[key][a.shop].setdefault((item.url, item.title), item)
            started(key, a.shop, item.at)
        for entry in d.launched:
            if entry.name:
                started(key, entry.name, _date_of(entry.first_date))
    out = []
    never = datetime.min.replace(tzinfo=UTC)
    for key in set(items) | set(starts):
        season, year = key
        names = dict.fromkeys([*tracked, *items[key], *starts[key]])
        rows = [
            CompetitorLaunch(
                name,
                starts[key].get(name),
                sorted(items[key][name].values(), key=lambda i: i.at or never),
                alert_ids.get((season, year, name)),
            )
            for name in names
        ]
        rows.sort(key=lambda c: (c.started is None, c.started or never, c.shop))
        out.append(SeasonLaunches(season, year, rows))
    order = {s: i for i, s in enumerate(SEASON_ORDER)}
    out.sort(key=lambda s: (s.year, order.get(s.season, 9)), reverse=True)
    return out


SEASONS_SHOWN = 8
"""The launches page shows the newest two years of seasons unless asked for all."""
ITEMS_SHOWN = 12
"""Items listed per competitor and season; the others are counted."""


# --- health ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Health:
    """``/healthz``: the database answers and checks keep happening."""

    status: str
    database: str
    last_check_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The contract JSON."""
        return {
            "status": self.status,
            "last_check_at": self.last_check_at.isoformat() if self.last_check_at else None,
            "database": self.database,
        }


def health(reads: DashboardReads, config: Config, now: datetime) -> Health:
    """``ok`` when the database answers and the newest check is recent: within twice
    the longest check interval plus the jitter (a daemon that stopped checking, or cron
    that stopped running, turns ``degraded``)."""
    try:
        reads.ping()
        last = reads.last_check_at()
    except StorageError:
        return Health("degraded", "error", None)
    intervals = [i for *_, i in _shop_configs(config)] or [config.watcher.interval]
    allowed = 2 * max(intervals) + config.watcher.jitter + HEALTH_SLACK
    fresh = last is not None and now - last <= allowed
    if not config.shops and not config.marketplaces:
        fresh = True
    return Health("ok" if fresh else "degraded", "ok", last)
