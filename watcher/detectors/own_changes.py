"""``listing_changed``: one of the seller's own watched listings changed title, price,
main image or availability — something they did not expect to change."""

from __future__ import annotations

from collections.abc import Iterable

from watcher.detectors.base import DetectContext, Detector, change_key, fmt_price
from watcher.models import Finding, Severity

FIELDS = ("title", "price", "image", "available")


class ListingChanged(Detector):
    """Changes to own listings."""

    kind = "listing_changed"

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        for result in ctx.results:
            if not result.shop.own:
                continue
            for ch in result.changes.changed:
                diff = {
                    k: {"old": ch.old.get(k), "new": ch.new.get(k)}
                    for k in FIELDS
                    if ch.old.get(k) != ch.new.get(k)
                }
                if not diff:
                    continue
                parts = []
                cur = ch.new.get("currency")
                if "price" in diff:
                    parts.append(
                        f"price {fmt_price(diff['price']['old'], cur)} → {fmt_price(diff['price']['new'], cur)}"
                    )
                if "title" in diff:
                    parts.append("title changed")
                if "image" in diff:
                    parts.append("main image changed")
                if "available" in diff:
                    parts.append("now in stock" if diff["available"]["new"] else "now out of stock")
                yield Finding(
                    kind=self.kind,
                    severity=Severity.MEDIUM,
                    shop=result.shop.name,
                    listing=ch.listing.brief(),
                    summary=f"Your listing {ch.listing.title}: {', '.join(parts)}",
                    detail={"changes": diff},
                    dedup_key=change_key(
                        self.kind, result.shop.name, ch.listing.ref, ch.prev_snapshot, sorted(diff)
                    ),
                    detected_at=ctx.now,
                )
