"""``price_change``: a competitor's listing price moved by at least ``min_change``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from watcher import money
from watcher.detectors.base import DetectContext, Detector, change_key, price_move
from watcher.i18n import Audience
from watcher.models import (
    Finding,
    FindingKind,
    KindDetail,
    KindNames,
    Severity,
    json_num,
    json_str,
)
from watcher.readable import Line, line, listing_link


@dataclass(frozen=True, slots=True)
class PriceDetail(KindDetail):
    """``old`` and ``new`` price in ``currency``; ``change`` is relative (-0.2 = 20% less)."""

    kind: ClassVar[FindingKind] = FindingKind.PRICE_CHANGE
    names: ClassVar[KindNames] = KindNames("Price change", "price change", "price changes", 5)

    old: float | None
    new: float | None
    currency: str | None = None
    change: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail."""
        return cls(
            json_num(data.get("old")),
            json_num(data.get("new")),
            json_str(data.get("currency")),
            json_num(data.get("change")),
        )

    def severity(self) -> Severity:
        """Competitors' price moves are low."""
        return Severity.LOW

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """``▼ ¥99.00 → ¥79.00 (−20.2%)`` (降价) under the listing."""
        currency = self.currency or (finding.listing or {}).get("currency")
        return line(listing_link(finding.listing, bold=True, fallback=a._("(untitled listing)"))), [
            line(move_text(a, self.old, self.new, currency))
        ]


def move_text(a: Audience, old: object, new: object, currency: object) -> str:
    """A price move with its direction: ``▼ ¥99.00 → ¥79.00 (−20.2%)`` / ``降价 …``."""
    pct = money.percent_change(old, new)
    values = {"move": price_move(a, old, new, currency), "pct": f" ({pct})" if pct else ""}
    if money.is_amount(old) and money.is_amount(new) and new < old:
        return a._("▼ %(move)s%(pct)s") % values
    if money.is_amount(old) and money.is_amount(new) and new > old:
        return a._("▲ %(move)s%(pct)s") % values
    return "{move}{pct}".format(**values)


class PriceChange(Detector):
    """Relative price changes of competitors' listings (own listings: ``listing_changed``)."""

    kind = FindingKind.PRICE_CHANGE

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
                detail = PriceDetail(old, new, cur, round(rel, 4))
                yield Finding(
                    kind=self.kind,
                    severity=detail.severity(),
                    shop=result.shop.name,
                    listing=ch.listing.brief(),
                    summary=f"{result.shop.name}: {ch.listing.title} {money.change(old, new, cur)} ({rel:+.0%})",
                    detail=detail,
                    dedup_key=change_key(
                        self.kind, result.shop.name, ch.listing.ref, ch.prev_snapshot, new
                    ),
                    detected_at=ctx.now,
                )
