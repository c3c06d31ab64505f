"""``stock_change``: a competitor's listing went out of stock or came back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from watcher.detectors.base import DetectContext, Detector, change_key
from watcher.i18n import Audience
from watcher.models import Finding, FindingKind, KindDetail, KindNames, Severity
from watcher.readable import Line, line, listing_link

IN_STOCK, OUT_OF_STOCK = "in stock", "out of stock"


def _word(available: bool | None) -> str | None:
    return None if available is None else IN_STOCK if available else OUT_OF_STOCK


def _available(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    return {IN_STOCK: True, OUT_OF_STOCK: False}.get(value) if isinstance(value, str) else None


def _shown(a: Audience, available: bool | None) -> str:
    if available is None:
        return a._("unknown")
    return a._("in stock") if available else a._("sold out")


@dataclass(frozen=True, slots=True)
class StockDetail(KindDetail):
    """Availability before (``old``) and after (``new``); JSON says ``"in stock"`` or
    ``"out of stock"`` (contract)."""

    kind: ClassVar[FindingKind] = FindingKind.STOCK_CHANGE
    names: ClassVar[KindNames] = KindNames("Stock change", "stock change", "stock changes", 6)

    old: bool | None
    new: bool | None

    def to_json(self) -> dict[str, Any]:
        """``{"old": "in stock", "new": "out of stock"}``."""
        return {"old": _word(self.old), "new": _word(self.new)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail (the words, or true/false)."""
        return cls(_available(data.get("old")), _available(data.get("new")))

    def severity(self) -> Severity:
        """Competitors' stock moves are low."""
        return Severity.LOW

    @classmethod
    def digest_facts(cls, details: Sequence[Self], a: Audience) -> list[str]:
        """How many sold out and how many came back: ``3 out of stock, 1 back in stock``."""
        out = sum(d.new is False for d in details)
        back = sum(d.new is True for d in details)
        facts = [a._("%(num)d out of stock") % {"num": out}] if out else []
        if back:
            facts.append(a._("%(num)d back in stock") % {"num": back})
        return facts

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """``in stock → sold out`` (缺货) or back in stock (补货) under the listing."""
        _ = a._
        old = _shown(a, self.old)
        if self.new is None:
            text = _("%(old)s → unknown") % {"old": old}
        elif self.new:
            text = _("%(old)s → in stock") % {"old": old}
        else:
            text = _("%(old)s → sold out") % {"old": old}
        link = listing_link(finding.listing, bold=True, fallback=_("(untitled listing)"))
        return line(link), [line(text)]


class StockChange(Detector):
    """Availability flips of competitors' listings (own listings: ``listing_changed``)."""

    kind = FindingKind.STOCK_CHANGE

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        for result in ctx.results:
            if result.shop.own:
                continue
            for ch in result.changes.changed:
                old, new = ch.old.get("available"), ch.new.get("available")
                # unknown -> out of stock is news (a listing that sells out before its
                # stock was ever read); unknown -> in stock is not
                if new is None or old == new or (old is None and new):
                    continue
                detail = StockDetail(old, new)
                yield Finding(
                    kind=self.kind,
                    severity=detail.severity(),
                    shop=result.shop.name,
                    listing=ch.listing.brief(),
                    summary=f"{result.shop.name}: {ch.listing.title} is now {_word(new)}",
                    detail=detail,
                    dedup_key=change_key(
                        self.kind, result.shop.name, ch.listing.ref, ch.prev_snapshot, new
                    ),
                    detected_at=ctx.now,
                )
