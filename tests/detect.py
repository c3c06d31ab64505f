"""Fakes for detector tests: shops, one check's results, and a context to run a detector in.

A detector reads the check's results (``ctx.results``) and, for copies and launches, the
stored listings (``ctx.reads``); tests give it a small fake of exactly what it reads.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from watcher.config import Config, ShopConfig, Url
from watcher.detectors.base import DetectContext, Detector, ShopResult
from watcher.models import Finding, Listing, Review
from watcher.store import ListingChanges
from watcher.store.repo import Change

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


class CandidatePages:
    """The paged candidate reads of :class:`~watcher.store.reads.DetectReads`, answered
    from a fake's ``candidate_listings()`` list (any objects with ``id``, ``title`` and
    ``shop``), with the same order and filters as the store."""

    def candidate_listings(self) -> Sequence[Any]:
        raise NotImplementedError

    def candidate_titles(
        self, after: int, limit: int, shops: Collection[str] | None = None
    ) -> list[tuple[int, str]]:
        rows = sorted(self.candidate_listings(), key=lambda c: c.id)
        rows = [c for c in rows if c.id > after and (shops is None or c.shop in shops)]
        return [(c.id, c.title) for c in rows[:limit]]

    def candidates(self, ids: Sequence[int]) -> list[Any]:
        wanted = set(ids)
        return sorted((c for c in self.candidate_listings() if c.id in wanted), key=lambda c: c.id)


OWN = ShopConfig("My Shop", "shopify", Url("https://my.example"), role="own", currency="CNY")
RIVAL = ShopConfig("Rival A", "woocommerce", Url("https://rival-a.example"))
RIVAL_B = ShopConfig("Rival B", "shopify", Url("https://rival-b.example"))


def config(*shops: ShopConfig) -> Config:
    """A config with these shops (default: own, Rival A, Rival B) and default settings."""
    return Config(shops=list(shops or (OWN, RIVAL, RIVAL_B)))


def listing(ref: str = "1", title: str = "Linen dress 亚麻连衣裙", **fields: Any) -> Listing:
    """A listing of shop ``s.example`` (price 89 CNY unless given)."""
    fields.setdefault("price", 89.0)
    fields.setdefault("currency", "CNY")
    return Listing(ref=ref, url=f"https://s.example/p/{ref}", title=title, **fields)


def change(old: dict[str, Any], new: dict[str, Any], item: Listing | None = None) -> Change:
    """A stored change of ``item``'s tracked fields, leaving snapshot 7."""
    return Change(1, item or listing(), old, new, prev_snapshot=7)


def result(
    shop: ShopConfig,
    *,
    changes: Iterable[Change] = (),
    reviews: Iterable[tuple[Listing, list[Review]]] = (),
    **fields: Any,
) -> ShopResult:
    """What one check learned about ``shop``."""
    return ShopResult(
        shop=shop,
        shop_id=1,
        changes=ListingChanges(changed=list(changes)),
        new_reviews=[(1, item, rs) for item, rs in reviews],
        **fields,
    )


def run(
    detector: type[Detector],
    results: list[ShopResult],
    *,
    cfg: Config | None = None,
    store: Any = None,
    images: dict[str, str] | None = None,
) -> list[Finding]:
    """The findings of ``detector`` for one check."""
    cfg = cfg or config()
    ctx = DetectContext(cfg, store, results, NOW, images or {})
    return list(detector(cfg).detect(ctx))
