"""The pure diff of a shop's stored listings against the listings just fetched: what is
new, what changed (a snapshot is written), what was seen unchanged, what was removed.

No database here: :func:`diff_listings` takes the stored state as plain records, so every
rule (dedup by ref, the removal rules, the shrink check) is testable on its own. The stored
state is small on purpose (ids, flags and two fingerprints, no field values): a shop's
whole catalog is never copied out of the database to be compared.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from watcher.models import Listing

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
INFO_HASHED = tuple(k for k in INFO if k != "seller")
"""INFO fields compared through :func:`info_fingerprint` (a search result's seller is
compared as it is: a catalog, which has no seller, must not erase it)."""

SHRINK_MIN = 5
"""A complete catalog may lose this many listings at once (or half of them) and be trusted."""


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def listing_values(listing: Listing, *, seller: str | None = None) -> dict[str, Any]:
    """The stored columns (:data:`TRACKED` and :data:`INFO`) of a Listing."""
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
        "description": listing.description or None,
        "published_at": _utc(listing.published_at),
        "seller": seller,
    }


def fingerprint(values: dict[str, Any]) -> str:
    """A short hash of a listing's tracked fields."""
    raw = json.dumps([values.get(k) for k in TRACKED], ensure_ascii=False, default=str)
    return hashlib.sha1(raw.encode()).hexdigest()


def info_fingerprint(values: dict[str, Any]) -> str:
    """A short hash of a listing's :data:`INFO_HASHED` fields. (``repr``, not JSON: half
    the cost, and a change of representation only rewrites these fields once.)"""
    raw = repr([values.get(k) for k in INFO_HASHED])
    return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class StoredListing:
    """What the diff needs to know of one stored listing of the shop. ``info_fingerprint``
    is None for a row stored before it existed (its fields are then written once)."""

    id: int
    ref: str
    fingerprint: str
    info_fingerprint: str | None
    snapshot_id: int | None
    removed: bool
    own_top: bool
    source: str
    seller: str | None
    """The stored :data:`TRACKED` and :data:`INFO` columns."""


@dataclass(slots=True)
class NewListing:
    """A fetched listing the store does not have yet."""

    listing: Listing
    values: dict[str, Any]
    fingerprint: str


@dataclass(slots=True)
class SeenListing:
    """A stored listing fetched again. ``columns`` are the columns to write (empty when
    nothing but ``last_seen`` moves); ``changed`` means a tracked field changed."""

    old: StoredListing
    listing: Listing
    columns: dict[str, Any]
    changed: bool
    new_values: dict[str, Any]


@dataclass(slots=True)
class ListingDiff:
    """What one batch of fetched listings means for the stored ones."""

    new: list[NewListing] = field(default_factory=list)
    seen: list[SeenListing] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    suspect: str = ""
    """Why a complete catalog was not trusted (empty when trusted): then nothing is
    removed and its unknown listings are held back, not stored as new."""
    held_back: list[NewListing] = field(default_factory=list)
    digest: str | None = None
    """For a complete catalog: the digest of the listings held back (None when none were);
    the same digest on the next check means they are real (see :func:`diff_listings`)."""

    @property
    def changed(self) -> list[SeenListing]:
        """Listings whose tracked fields changed."""
        return [s for s in self.seen if s.changed]

    @property
    def unchanged(self) -> list[SeenListing]:
        """Listings seen again with the same tracked fields."""
        return [s for s in self.seen if not s.changed]


def refs_digest(refs: Iterable[str]) -> str:
    """A digest of a set of refs."""
    h = hashlib.sha1()
    for ref in sorted(refs):
        h.update(ref.encode())
        h.update(b"\n")
    return h.hexdigest()


def _seen(
    old: StoredListing, item: Listing, values: dict[str, Any], source: str, own_top: bool
) -> SeenListing:
    fp = fingerprint(values)
    columns: dict[str, Any] = {}
    if old.removed:
        columns["removed_at"] = None
    if own_top and not old.own_top:
        columns["own_top"] = 1
    if source == "catalog" and old.source != "catalog":
        columns["source"] = "catalog"
    info_fp = info_fingerprint(values)
    if info_fp != old.info_fingerprint:
        columns.update({k: values[k] for k in INFO_HASHED}, info_fingerprint=info_fp)
    if values["seller"] is not None and values["seller"] != old.seller:
        columns["seller"] = values["seller"]
    changed = fp != old.fingerprint
    if changed:
        columns.update({k: values[k] for k in TRACKED}, fingerprint=fp)
    return SeenListing(old, item, columns, changed, values)


def diff_listings(
    stored: Iterable[StoredListing],
    fetched: Sequence[Listing],
    *,
    complete: bool | None,
    source: str = "catalog",
    own_top: bool = False,
    held_before: str | None = None,
) -> ListingDiff:
    """Compare a shop's stored listings with fetched ones (the first of a repeated ref wins).

    ``complete`` True (a whole catalog) lets missing catalog listings be removed, unless
    most of them went missing at once: a catalog like that is far likelier a broken page
    (or links whose identity changes on every visit) than a closing-down sale, so nothing
    is removed and no unknown listing is stored (``suspect`` says why). When the unknown
    listings of such a catalog are exactly those held back on the previous check
    (``held_before``, the previous ``digest``), the shop really replaced its catalog and
    the diff is trusted. False (partial) or None (search results, single pages) never
    removes anything. Search results keep the seller they were found with.
    """
    existing = {s.ref: s for s in stored}
    diff = ListingDiff()
    refs: set[str] = set()
    for item in fetched:
        if item.ref in refs:
            continue
        refs.add(item.ref)
        seller = item.shop if source == "search" and item.shop else None
        values = listing_values(item, seller=seller)
        old = existing.get(item.ref)
        if old is None:
            values["info_fingerprint"] = info_fingerprint(values)
            diff.new.append(NewListing(item, values, fingerprint(values)))
        else:
            diff.seen.append(_seen(old, item, values, source, own_top))
    if complete is not True:
        return diff
    catalog = [s for s in existing.values() if not s.removed and s.source == "catalog"]
    gone = [s.id for s in catalog if s.ref not in refs]
    if not gone or (refs and len(gone) <= max(SHRINK_MIN, len(catalog) // 2)):
        diff.removed = gone
        return diff
    digest = refs_digest(n.listing.ref for n in diff.new) if diff.new else None
    if digest is not None and digest == held_before:
        diff.removed = gone
        return diff
    if diff.new:
        diff.suspect = (
            f"{len(gone)} of {len(catalog)} listings replaced by {len(diff.new)} unknown ones"
            " at once; not trusted until the next check shows the same"
        )
    else:
        diff.suspect = (
            f"catalog shrank from {len(catalog)} to {len(refs)} listings at once; not trusted"
        )
    diff.held_back, diff.new, diff.digest = diff.new, [], digest
    return diff
