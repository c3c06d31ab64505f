"""Typed records the store hands out: what a write changed, and stored events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watcher.models import Listing, Review


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
class Listed:
    """An own watched listing taken down (``listed`` False: its page answered 404 or 410 on
    checks in a row) or back on sale after that (``listed`` True). ``listing`` is its last
    stored state; ``since`` the first of those answers (the same for the whole takedown);
    ``status`` the last one's HTTP status (None when back)."""

    listing_id: int
    listing: Listing
    listed: bool
    since: datetime
    status: int | None


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
    let_go: int = 0
    """Listings of :attr:`seen` no longer held (counted here), see :meth:`let_go_stored`."""
    new_let_go: int = 0
    """The same for :attr:`new`."""

    @property
    def seen_count(self) -> int:
        """How many listings were seen, held or not."""
        return len(self.seen) + self.let_go

    @property
    def new_count(self) -> int:
        """How many listings were new, held or not."""
        return len(self.new) + self.new_let_go

    def let_go_stored(self) -> None:
        """Stop holding the listings that are stored and did not change (only their count
        stays): a check of a hundred catalogs would otherwise hold every listing until its
        detectors have run, its memory growing with the number of shops. Changed listings
        stay in :attr:`seen` for the detectors."""
        changed = {id(c.listing) for c in self.changed}
        kept = [(lid, item) for lid, item in self.seen if id(item) in changed]
        self.let_go += len(self.seen) - len(kept)
        self.new_let_go += len(self.new)
        self.seen, self.new = kept, []


@dataclass(slots=True)
class PendingEvents:
    """Stored events awaiting their findings, by shop id."""

    changes: dict[int, list[Change]] = field(default_factory=dict)
    reviews: dict[int, list[tuple[int, Listing, list[Review]]]] = field(default_factory=dict)
    snapshots: list[int] = field(default_factory=list)
    reviews_ids: list[int] = field(default_factory=list)
