"""The Detector interface and the context detectors read. Detectors never do I/O: they read
the check's results and the store, and return findings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from watcher import money
from watcher.config import Config, ShopConfig
from watcher.i18n import Audience
from watcher.models import Finding, FindingKind, Listing, Review
from watcher.store import DetectReads, Listed, ListingChanges


@dataclass(slots=True, repr=False)
class ShopResult:
    """What one check learned about one shop (or marketplace).

    ``status``: ``ok``; ``partial`` (some of it could not be read: unknown, not removed);
    ``failed``. ``failures`` is the count of failed checks in a row after this one.
    """

    shop: ShopConfig
    shop_id: int
    status: str = "ok"
    error: str | None = None
    changes: ListingChanges = field(default_factory=ListingChanges)
    new_reviews: list[tuple[int, Listing, list[Review]]] = field(default_factory=list)
    searched: list[tuple[int, Listing]] = field(default_factory=list)
    baseline_at: datetime | None = None
    failures: int = 0
    failing_since: datetime | None = None
    marketplace: bool = False
    listed: list[Listed] = field(default_factory=list)
    """Own watched listings taken down (their pages answered 404/410 on checks in a row)
    or back on sale this check."""

    def __repr__(self) -> str:
        return (
            f"<ShopResult {self.shop.name!r} {self.status}, {self.changes.seen_count} listing(s)>"
        )

    @property
    def ok(self) -> bool:
        """True when the shop was read completely."""
        return self.status == "ok"


@dataclass(slots=True)
class DetectContext:
    """Everything a detector may read."""

    config: Config
    reads: DetectReads
    """Stored history (detectors run no SQL: this is all they read of the database)."""
    results: list[ShopResult]
    now: datetime
    images: dict[str, str] = field(default_factory=dict)
    """Perceptual hashes of image URLs fetched for this check (url -> hex hash)."""
    shared: dict[Hashable, Any] = field(default_factory=dict)
    """What one detector computed that another of the same check needs too (the search
    for listings like the own ones); gone with the check."""

    def result(self, name: str) -> ShopResult | None:
        """The result of the named shop in this check, if it was checked."""
        return next((r for r in self.results if r.shop.name == name), None)


class Detector(ABC):
    """Turns stored state into findings. Subclasses set ``kind`` (the finding kind they
    raise) and are discovered from the modules of :mod:`watcher.detectors`."""

    kind: ClassVar[FindingKind]

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def enabled(self) -> bool:
        """Whether the config switched this detector on."""
        return True

    def images_needed(self, ctx: DetectContext) -> Iterable[str]:
        """Image URLs whose perceptual hash :meth:`detect` wants in ``ctx.images``."""
        return ()

    @abstractmethod
    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        """The findings of this check."""


def change_key(kind: str, shop: str, ref: str, prev_snapshot: int | None, new: object) -> str:
    """Dedup key of a change event: the state left (its snapshot id) and the state reached.
    Two processes that see the same change compute the same key; a later flip-flop gets
    a new one."""
    return f"{kind}:{shop}:{ref}:{prev_snapshot or 'first'}:{new}"


def price(a: Audience, amount: object, currency: object = None) -> str:
    """:func:`watcher.money.money` with its "currency unknown" note in ``a``'s words."""
    return _unknown(a, money.money(amount, currency))


def price_move(a: Audience, old: object, new: object, currency: object = None) -> str:
    """:func:`watcher.money.change` with its "currency unknown" note in ``a``'s words."""
    return _unknown(a, money.change(old, new, currency))


def _unknown(a: Audience, text: str) -> str:
    return text.replace(money.UNKNOWN, a._("currency unknown"))
