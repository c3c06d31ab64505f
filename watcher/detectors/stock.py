"""``stock_change``: a competitor's listing went out of stock or came back."""

from __future__ import annotations

from collections.abc import Iterable

from watcher.detectors.base import DetectContext, Detector, change_key
from watcher.models import Finding, Severity


def _word(available: bool) -> str:
    return "in stock" if available else "out of stock"


class StockChange(Detector):
    """Availability flips of competitors' listings (own listings: ``listing_changed``)."""

    kind = "stock_change"

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        for result in ctx.results:
            if result.shop.own:
                continue
            for ch in result.changes.changed:
                old, new = ch.old.get("available"), ch.new.get("available")
                if old is None or new is None or old == new:
                    continue
                yield Finding(
                    kind=self.kind,
                    severity=Severity.LOW,
                    shop=result.shop.name,
                    listing=ch.listing.brief(),
                    summary=f"{result.shop.name}: {ch.listing.title} is now {_word(new)}",
                    detail={"old": _word(old), "new": _word(new)},
                    dedup_key=change_key(
                        self.kind, result.shop.name, ch.listing.ref, ch.prev_snapshot, new
                    ),
                    detected_at=ctx.now,
                )
