"""Database tables (SQLModel). Times are stored as UTC and read back as aware datetimes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself (schema version)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class ShopRow(SQLModel, table=True):
    """A configured shop or marketplace, by its configured name."""

    __tablename__ = "shop"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=255)
    kind: str = Field(max_length=32)
    role: str = Field(max_length=16)
    url: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    baseline_at: datetime | None = None
    last_ok_at: datetime | None = None
    failures: int = 0
    failing_since: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    held_digest: str | None = Field(default=None, max_length=40)
    """Digest of the unknown listings a distrusted catalog held back on the last check."""


class ListingRow(SQLModel, table=True):
    """A listing's latest known state. ``removed_at`` is set only by a complete catalog."""

    __tablename__ = "listing"
    __table_args__ = (
        UniqueConstraint("shop_id", "ref", name="uq_listing_shop_ref"),
        Index("ix_listing_shop_active", "shop_id", "removed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id")
    ref: str = Field(max_length=512)
    url: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    price: float | None = None
    currency: str | None = Field(default=None, max_length=8)
    compare_at: float | None = None
    available: bool | None = None
    image: str | None = Field(default=None, sa_column=Column(Text))
    rating: float | None = None
    rating_count: int | None = None
    tags: str | None = Field(default=None, sa_column=Column(Text))
    product_type: str | None = Field(default=None, sa_column=Column(Text))
    description: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = None
    seller: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(default="catalog", max_length=16)
    own_top: int | None = None
    fingerprint: str = Field(max_length=40)
    """Hash of the tracked fields (see :mod:`watcher.store.diff`)."""
    info_fingerprint: str | None = Field(default=None, max_length=40)
    """Hash of the other kept fields, so a diff never reads their values."""
    snapshot_id: int | None = None
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None = None
    reviews_seen_at: datetime | None = None


class ListingWatchRow(SQLModel, table=True):
    """An own listing's page as it is watched (a configured or top-N ref): the stored listing
    it last showed, and its answers of 404/410 in a row (a listing taken down)."""

    __tablename__ = "listing_watch"
    __table_args__ = (UniqueConstraint("shop_id", "ref_key", name="uq_listing_watch_shop_ref"),)
    id: int | None = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id")
    ref_key: str = Field(max_length=40)
    """SHA-1 of ``ref`` (a ref may be longer than an index allows)."""
    ref: str = Field(sa_column=Column(Text, nullable=False))
    listing_id: int = Field(foreign_key="listing.id")
    misses: int = 0
    """Checks in a row whose answer was 404 or 410 (unknown answers neither add nor reset)."""
    missing_since: datetime | None = None
    """The first of those answers (part of the alerts' dedup keys)."""
    status: int | None = None
    """The last of those answers' HTTP status."""
    gone_at: datetime | None = None
    """When the listing was taken for gone (``misses`` reached the threshold); None on sale."""


class SnapshotRow(SQLModel, table=True):
    """A listing's tracked fields at a moment they changed (never written when unchanged)."""

    __tablename__ = "snapshot"
    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="listing.id", index=True)
    taken_at: datetime
    title: str = Field(sa_column=Column(Text, nullable=False))
    price: float | None = None
    currency: str | None = Field(default=None, max_length=8)
    compare_at: float | None = None
    available: bool | None = None
    image: str | None = Field(default=None, sa_column=Column(Text))
    prev_id: int | None = None
    previous: str | None = Field(default=None, sa_column=Column(Text))
    """JSON of the tracked fields before this change."""
    pending: bool = Field(default=False, index=True)
    """True until the findings of this change are recorded (survives a crash in between)."""


class ReviewRow(SQLModel, table=True):
    """A review seen on a listing, keyed by :attr:`watcher.models.Review.key`."""

    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("listing_id", "key", name="uq_review_listing_key"),)
    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="listing.id", index=True)
    key: str = Field(max_length=255)
    rating: float | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = None
    first_seen: datetime
    baseline: bool = False
    pending: bool = Field(default=False, index=True)
    """True for a new review until the findings about it are recorded."""


class ImageRow(SQLModel, table=True):
    """The perceptual hash of an image URL (or why it could not be hashed)."""

    __tablename__ = "image"
    url_key: str = Field(primary_key=True, max_length=40)
    url: str = Field(sa_column=Column(Text, nullable=False))
    hash: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))
    fetched_at: datetime


class CheckRunRow(SQLModel, table=True):
    """One check of one shop."""

    __tablename__ = "check_run"
    id: int | None = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id", index=True)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text))
    listings: int = 0


class AlertRow(SQLModel, table=True):
    """A finding; ``dedup_key`` is unique so an event becomes one alert, ever."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_created_at", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(unique=True, max_length=512)
    kind: str = Field(max_length=32, index=True)
    severity: str = Field(max_length=8)
    shop: str = Field(max_length=255)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class DeliveryRow(SQLModel, table=True):
    """The outbox: one row per (alert, channel). state: pending | sent | failed."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", name="uq_delivery_alert_channel"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id")
    channel: str = Field(max_length=255)
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime
    claimed_until: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = None


class ThumbnailRow(SQLModel, table=True):
    """A small copy of a hashed photo (WebP or JPEG, at most 240 px), keyed like
    :class:`ImageRow`: the evidence of a stolen photo survives the copy being taken down,
    and the dashboard never hotlinks a competitor's image."""

    __tablename__ = "thumbnail"
    url_key: str = Field(primary_key=True, max_length=40)
    content_type: str = Field(max_length=32)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    width: int
    height: int
    created_at: datetime
