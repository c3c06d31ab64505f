"""``price_change``: a competitor's listing price moved by at least ``min_change`` (per shop:
``[detect.prices.shops."<name>"]``). With ``low_window`` set, a drop to the lowest price the
listing has had in that window says so (``lowest_in_days``), from the stored price history;
a listing watched for less than the window makes no such claim."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
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
    json_int,
    json_num,
    json_str,
)
from watcher.readable import Line, line, listing_link
from watcher.store.reads import PricePoint


@dataclass(frozen=True, slots=True)
class PriceDetail(KindDetail):
    """``old`` and ``new`` price in ``currency``; ``change`` is relative (-0.2 = 20% less);
    ``lowest_in_days``: the new price is the lowest in that many days (``low_window``; the
    key is left out of the JSON when it is not)."""

    kind: ClassVar[FindingKind] = FindingKind.PRICE_CHANGE
    names: ClassVar[KindNames] = KindNames("Price change", "price change", "price changes", 5)

    old: float | None
    new: float | None
    currency: str | None = None
    change: float | None = None
    lowest_in_days: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail."""
        return cls(
            json_num(data.get("old")),
            json_num(data.get("new")),
            json_str(data.get("currency")),
            json_num(data.get("change")),
            json_int(data.get("lowest_in_days")),
        )

    def to_json(self) -> dict[str, Any]:
        """The contract JSON; ``lowest_in_days`` only when the price is a new low."""
        data = KindDetail.to_json(self)
        if self.lowest_in_days is None:
            del data["lowest_in_days"]
        return data

    def severity(self) -> Severity:
        """Competitors' price moves are low."""
        return Severity.LOW

    @classmethod
    def digest_facts(cls, details: Sequence[Self], a: Audience) -> list[str]:
        """The median change and how many went down and up: ``median −15.0%, 40 down``."""
        changes = [d.change for d in details if d.change is not None]
        if not changes:
            return []
        median = money.percent_change(1.0, 1.0 + statistics.median(changes)) or ""
        down, up = sum(c < 0 for c in changes), sum(c > 0 for c in changes)
        facts = [a._("median %(change)s") % {"change": median}]
        if down:
            facts.append(a._("%(num)d down") % {"num": down})
        if up:
            facts.append(a._("%(num)d up") % {"num": up})
        return facts

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """``▼ ¥99.00 → ¥79.00 (−20.2%)`` (降价) under the listing."""
        currency = self.currency or (finding.listing or {}).get("currency")
        text = move_text(a, self.old, self.new, currency)
        if self.lowest_in_days:
            low = a.n_("lowest in %(num)d day", "lowest in %(num)d days", self.lowest_in_days)
            text = f"{text} · {low}"
        return line(listing_link(finding.listing, bold=True, fallback=a._("(untitled listing)"))), [
            line(text)
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


def lowest_in(
    points: Sequence[PricePoint], new: float, currency: str | None, now: datetime, window: timedelta
) -> bool:
    """Whether ``new`` is below every other price of the listing in the ``window`` before
    ``now`` (the price in force when the window began counts; the last point is the new
    price itself). False when the listing was first seen after the window began: it has
    not been watched long enough to say."""
    start = now - window
    if len(points) < 2 or points[0].at > start:
        return False
    earlier = [
        p.price
        for i, p in enumerate(points[:-1])
        if (p.at > start or points[i + 1].at > start)
        and money.is_amount(p.price)
        and (currency is None or p.currency in (None, currency))
    ]
    return bool(earlier) and new < min(earlier) - 1e-9


class PriceChange(Detector):
    """Relative price changes of competitors' listings (own listings: ``listing_changed``)."""

    kind = FindingKind.PRICE_CHANGE

    @property
    def enabled(self) -> bool:
        """On when ``[detect.prices]`` is, or when any shop's override switches it on."""
        prices = self.config.detect.prices
        return prices.enabled or any(s.enabled for s in prices.shops.values())

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        found = list(self._changes(ctx))
        drops = [lid for _, lid, window in found if window is not None]
        history = ctx.reads.price_history(drops) if drops else {}
        for finding, lid, window in found:
            detail = finding.detail
            assert isinstance(detail, PriceDetail)
            if (
                window is not None
                and detail.new is not None
                and lowest_in(history.get(lid, []), detail.new, detail.currency, ctx.now, window)
            ):
                days = round(window.total_seconds() / 86400)
                finding.detail = replace(detail, lowest_in_days=days)
                finding.summary += f", lowest in {days} days"
            yield finding

    def _changes(self, ctx: DetectContext) -> Iterator[tuple[Finding, int, timedelta | None]]:
        """Each price change of at least the shop's ``min_change``, its listing id and the
        shop's ``low_window`` when it is a drop (else None)."""
        for result in ctx.results:
            if result.shop.own:
                continue
            settings = self.config.detect.prices.for_shop(result.shop.name)
            if not settings.enabled:
                continue
            threshold = settings.min_change or 0.0
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
                finding = Finding(
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
                yield finding, ch.listing_id, settings.low_window if new < old else None
