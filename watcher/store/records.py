"""Typed records the store hands out: what a write changed, and stored events."""

from __future__ import annotations

from dataclasses import dataclass, field
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
class ListingChanges:
    """What one batch of fetched listings changed in the store."""

    new: list[tuple[int, Listing]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    seen: list[tuple[int, Listing]] = field(default_factory=list)
    baseline: bool = False
    suspect: str = ""
    """Why a complete catalog was not trusted to mark listings removed (empty when trusted)."""


@dataclass(slots=True)
class PendingEvents:
    """Stored events awaiting their findings, by shop id."""

    changes: dict[int, list[Change]] = field(default_factory=dict)
    reviews: dict[int, list[tuple[int, Listing, list[Review]]]] = field(default_factory=dict)
    snapshots: list[int] = field(default_factory=list)
    reviews_ids: list[int] = field(default_factory=list)
