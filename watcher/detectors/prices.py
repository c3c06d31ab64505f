"""``price_change``: a competitor's listing price moved by at least ``min_change``."""

from __future__ import annotations

from collections.abc import Iterable

from watcher.detectors.base import DetectContext, Detector, change_key, fmt_price
from watcher.models import Finding, Severity


class PriceChange(Detector):
    """Relative price changes of competitors' listings (own listings: ``listing_changed``)."""

    kind = "price_change"

    @property
    def enabled(self) -> bool:
        return self.config.detect.prices.enabled

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        threshold = self.config.detect.prices.min_change
        for result in ctx.results:
            if result.shop.own:
                continue
            for ch in result.changes.changed:
                old, new = ch.old.get("price"), ch.new.get("price")
                if old is None or new is None or old <= 0 or old == new:
                    continue
                if (
                    ch.old.get("currency")
                    and ch.new.get("currency")
                    and ch.old["currency"] != ch.new["currency"]
                ):
                    continue
                rel = (new - old) / old
                if abs(rel) + 1e-9 < threshold:
                    continue
                cur = ch.new.get("currency")
                yield Finding(
                    kind=self.kind,
                    severity=Severity.LOW,
                    shop=result.shop.name,
                    listing=ch.listing.brief(),
                    summary=f"{result.shop.name}: {ch.listing.title} {fmt_price(old, cur)} → {fmt_price(new, cur)} ({rel:+.0%})",
                    detail={"old": old, "new": new, "currency": cur, "change": round(rel, 4)},
                    dedup_key=change_key(
                        self.kind, result.shop.name, ch.listing.ref, ch.prev_snapshot, new
                    ),
                    detected_at=ctx.now,
                )
