"""``price_position``: where the seller's price stands among the listings that sell the
same item. Each own watched listing is matched with the other shops' and marketplaces'
listings the copy detector would call the same item (titles at least
``[detect.copies] title_similarity`` alike, or the photo within ``image_distance``),
across every catalog already read. Only prices in the own listing's currency are compared.

Two positions raise an alert:

- ``undercut``: a matched listing is cheaper by more than ``[detect.position] undercut``
  (10 % by default): "Your 真皮卡包 ¥159.00 — 4 matched listings ¥99.00–¥169.00; Tidewater
  now ¥99.00, ¥60.00 cheaper (−37.7%)" (in Chinese: 被低价跟卖 … 比你便宜 ¥60.00);
- ``most_expensive``: every matched listing is cheaper, none by that much (价格最高).

One alert per change of position, not per check: the dedup key holds the position and the
moment it began, worked out from the stored price history of the own listing and every
matched listing. A position that lasts raises nothing more; a return to normal followed
by a new undercut is a new position and alerts again. A shop that could not be read
(failed or partial in this check, or failing since its last one) is unknown: its listings
never make a position, and the seller is never called the most expensive while a matched
listing's shop is unknown or the listing shows no price or currency for now. Missing data
is never a change of position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self, TypeGuard

from watcher import money
from watcher.detectors._candidates import similar_candidates
from watcher.detectors.base import DetectContext, Detector, price
from watcher.i18n import ENGLISH, Audience
from watcher.models import (
    Finding,
    FindingKind,
    KindDetail,
    KindNames,
    Severity,
    json_list,
    json_num,
    json_obj,
    json_str,
)
from watcher.readable import Line, Span, fill, line, link, listing_link
from watcher.store.reads import CandidateListing, OwnListing, PricePoint

IMAGES_PER_LISTING = 30
UNDERCUT = "undercut"
MOST_EXPENSIVE = "most_expensive"


@dataclass(frozen=True, slots=True)
class OwnRef:
    """The seller's listing and its price."""

    url: str | None
    title: str | None
    price: float | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class MatchedRef:
    """A listing of another shop (or marketplace) that sells the same item."""

    url: str | None
    title: str | None
    price: float | None
    currency: str | None
    shop: str | None


@dataclass(frozen=True, slots=True)
class PositionDetail(KindDetail):
    """The ``own`` listing, the ``matched`` listings (cheapest first; listings in another
    currency are listed but not compared), the ``position`` (``most_expensive`` |
    ``undercut``) and ``undercut_by``: how much cheaper the cheapest matched listing in the
    own currency is (0..1; None when the position is ``most_expensive``)."""

    kind: ClassVar[FindingKind] = FindingKind.PRICE_POSITION
    names: ClassVar[KindNames] = KindNames("Price position", "price position", "price positions", 7)

    own: OwnRef
    matched: tuple[MatchedRef, ...]
    position: str
    undercut_by: float | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail."""
        o = json_obj(data.get("own"))
        own = OwnRef(
            json_str(o.get("url")),
            json_str(o.get("title")),
            json_num(o.get("price")),
            json_str(o.get("currency")),
        )
        matched = tuple(
            MatchedRef(
                json_str(m.get("url")),
                json_str(m.get("title")),
                json_num(m.get("price")),
                json_str(m.get("currency")),
                json_str(m.get("shop")),
            )
            for m in map(json_obj, json_list(data.get("matched")))
        )
        return cls(
            own, matched, json_str(data.get("position")) or "", json_num(data.get("undercut_by"))
        )

    def severity(self) -> Severity:
        """Being undercut is medium; being the most expensive low."""
        return Severity.MEDIUM if self.position == UNDERCUT else Severity.LOW

    def compared(self) -> list[MatchedRef]:
        """The matched listings with a price in the own listing's currency, cheapest first."""
        same = [
            m
            for m in self.matched
            if _priced(m.price) and money.same_currency(m.currency, self.own.currency)
        ]
        return sorted(same, key=lambda m: m.price or 0.0)

    def standing(self, a: Audience) -> list[Span | str]:
        """`` — 4 matched listings ¥99.00–¥169.00; Tidewater now ¥99.00, ¥60.00 cheaper
        (−37.7%)`` (zh: ``被低价跟卖 … 比你便宜 ¥60.00（−37.7%）``): what follows the own
        price in the alert's line and (in English) the summary."""
        own = self.own
        same = self.compared()
        parts: list[Span | str] = []
        if same:
            low, high = same[0].price, same[-1].price
            span = price(a, low, own.currency)
            if high != low:
                span += f"–{price(a, high, own.currency)}"
            parts.append(
                a.n_(
                    " — %(num)d matched listing %(range)s",
                    " — %(num)d matched listings %(range)s",
                    len(same),
                    range=span,
                )
            )
        if self.position == UNDERCUT and same:
            cheapest = same[0]
            pct = money.percent_change(own.price, cheapest.price)
            diff = money.difference(own.price, own.currency, cheapest.price, cheapest.currency)
            parts += fill(
                a._("; %(shop)s now %(price)s, %(amount)s cheaper%(pct)s"),
                shop=link(
                    cheapest.shop, cheapest.url, fallback=a._("a matched listing"), bold=True
                ),
                price=price(a, cheapest.price, cheapest.currency),
                amount=price(a, abs(diff) if diff is not None else None, own.currency),
                pct=a._(" (%(difference)s)") % {"difference": pct} if pct else "",
            )
        elif self.position == MOST_EXPENSIVE:
            parts += fill(
                a._("; %(position)s"),
                position=Span(a._("you are the most expensive"), bold=True),
            )
        return parts

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """``Your price ¥159.00 — 4 matched listings ¥99.00–¥169.00; Tidewater now ¥99.00,
        ¥60.00 cheaper (−37.7%)``, and how many listings in another currency were left out."""
        own = self.own
        same = self.compared()
        mine = a._("Your price %(price)s") % {"price": price(a, own.price, own.currency)}
        out = [line(mine, *self.standing(a))]
        skipped = len(self.matched) - len(same)
        if skipped:
            out.append(
                line(
                    a.n_(
                        "%(num)d matched listing in another currency not compared",
                        "%(num)d matched listings in another currency not compared",
                        skipped,
                    )
                )
            )
        heading = listing_link(finding.listing, bold=True, fallback=a._("(untitled listing)"))
        return line(heading), out


def position_of(
    own_price: float | None, others: Sequence[float], undercut: float
) -> tuple[str | None, float | None]:
    """The position of ``own_price`` among ``others`` (prices in one currency) and how much
    cheaper the cheapest other is: (``undercut``, 0.38), (``most_expensive``, None), or
    (None, None) for neither."""
    if own_price is None or own_price <= 0 or not others:
        return None, None
    cheapest = min(others)
    by = (own_price - cheapest) / own_price
    if by > undercut + 1e-9:
        return UNDERCUT, by
    if own_price > max(others):
        return MOST_EXPENSIVE, None
    return None, None


def _priced(price: object) -> TypeGuard[float]:
    """A known price above zero (a zero price is a placeholder, not an offer)."""
    return money.is_amount(price) and price > 0


def _known(points: Sequence[PricePoint]) -> list[PricePoint]:
    """The points with a price and a currency, in time order."""
    return sorted(
        (p for p in points if _priced(p.price) and money.currency_code(p.currency)),
        key=lambda p: p.at,
    )


def position_since(
    position: str,
    own: Sequence[PricePoint],
    matched: Sequence[Sequence[PricePoint]],
    currency: str | None,
    undercut: float,
) -> datetime | None:
    """When the own listing's ``position`` began: the earliest moment from which every
    state of the stored prices up to the latest one had it (None when the latest state
    does not: the history does not back the position up). A moment a listing showed no
    price or no currency (a shop's bad day) changes nothing: its last known price holds.

    Walks back from the latest change with one cursor per listing: linear in the number
    of stored prices, so a year of hourly changes costs milliseconds, not minutes."""
    series = [_known(own), *(_known(points) for points in matched)]
    moments = sorted({p.at for points in series for p in points}, reverse=True)
    cursors = [len(points) - 1 for points in series]

    def at(when: datetime) -> str | None:
        for i, points in enumerate(series):
            while cursors[i] >= 0 and points[cursors[i]].at > when:
                cursors[i] -= 1
        current = [points[c] if c >= 0 else None for points, c in zip(series, cursors, strict=True)]
        o = current[0]
        if o is None or not money.same_currency(o.currency, currency):
            return None
        others = [
            p.price
            for p in current[1:]
            if p is not None and p.price is not None and money.same_currency(p.currency, currency)
        ]
        return position_of(o.price, others, undercut)[0]

    if not moments or at(moments[0]) != position:
        return None
    since = moments[0]
    for moment in moments[1:]:
        if at(moment) != position:
            break
        since = moment
    return since


_Similar = tuple[OwnListing, list[tuple[CandidateListing, float]]]
"""An own listing and the candidates whose titles are at least ``candidate_similarity``
alike, most alike first."""


@dataclass(slots=True)
class _Match:
    own: OwnListing
    cands: list[CandidateListing]


class PricePosition(Detector):
    """Own listings undercut by, or dearer than every one of, the listings selling the
    same item."""

    kind = FindingKind.PRICE_POSITION

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The matches images_needed found, for detect on the same context (held by the
        # object, not its id: a later check's context may get the id of a freed one).
        self._cache: tuple[DetectContext, list[_Similar]] | None = None

    @property
    def enabled(self) -> bool:
        return self.config.detect.position.enabled

    def _similar(self, ctx: DetectContext) -> list[_Similar]:
        """Each own listing with every candidate at least ``candidate_similarity`` alike
        (the ones whose photos are worth comparing), from every stored catalog: a check of
        one shop still sees the whole market."""
        if self._cache is not None and self._cache[0] is ctx:
            return self._cache[1]
        own = ctx.reads.own_top_listings()
        out: list[_Similar] = []
        if own:
            found = similar_candidates(
                ctx.reads,
                [o.title for o in own],
                self.config.detect.copies.candidate_similarity,
                shared=ctx.shared,
            )
            for o, hits in zip(own, found, strict=True):
                out.append((o, sorted(hits, key=lambda h: -h[1])))
        self._cache = (ctx, out)
        return out

    def images_needed(self, ctx: DetectContext) -> Iterable[str]:
        """Main images of own listings and of their :data:`IMAGES_PER_LISTING` likeliest
        matches (the copy detector asks for the same ones: each is fetched once)."""
        for o, hits in self._similar(ctx):
            if o.image:
                yield o.image
            yield from (c.image for c, _ in hits[:IMAGES_PER_LISTING] if c.image)

    def _matches(self, ctx: DetectContext) -> list[_Match]:
        copies = self.config.detect.copies
        out: list[_Match] = []
        similar = self._similar(ctx)
        self._cache = None
        if not similar:
            return out  # no own listings: the image stack (numpy, Pillow) is not imported
        from watcher.images import image_distance

        for o, hits in similar:
            own_hash = ctx.images.get(o.image or "")
            same = []
            for c, sim in hits:
                if c.url == o.url:
                    continue
                cand_hash = ctx.images.get(c.image or "")
                photo = (
                    own_hash is not None
                    and cand_hash is not None
                    and image_distance(own_hash, cand_hash) <= copies.image_distance
                )
                if photo or sim >= copies.title_similarity:
                    same.append(c)
            if same:
                out.append(_Match(o, same))
        return out

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        matches = self._matches(ctx)
        if not matches:
            return
        unknown = {r.shop.name for r in ctx.results if not r.ok}
        checked = {r.shop.name for r in ctx.results}
        unknown |= {n for n in ctx.reads.failing_shops() if n not in checked}
        undercut = self.config.detect.position.undercut
        history = ctx.reads.price_history(
            [i for m in matches for i in (m.own.id, *(c.id for c in m.cands))]
        )
        for m in matches:
            own = m.own
            if not _priced(own.price) or money.currency_code(own.currency) is None:
                continue
            same = [
                c
                for c in m.cands
                if _priced(c.price) and money.same_currency(c.currency, own.currency)
            ]
            known = [c for c in same if c.shop not in unknown]
            position, by = position_of(own.price, [c.price or 0.0 for c in known], undercut)
            if position is None:
                continue
            if position == MOST_EXPENSIVE and (
                len(known) < len(same) or self._gap(m, same, history, own.currency)
            ):
                continue  # a listing we cannot see or price now may be cheaper
            since = position_since(
                position,
                history.get(own.id, []),
                [history.get(c.id, []) for c in same],
                own.currency,
                undercut,
            )
            if since is None:
                continue
            yield self._finding(ctx, m, unknown, position, by, since)

    @staticmethod
    def _gap(
        m: _Match,
        same: list[CandidateListing],
        history: dict[int, list[PricePoint]],
        currency: str | None,
    ) -> bool:
        """Whether a matched listing shows no price or currency now but had one in the own
        currency before (missing data, not a change)."""
        return any(
            any(money.same_currency(p.currency, currency) for p in _known(history.get(c.id, [])))
            for c in m.cands
            if c not in same
        )

    def _finding(
        self,
        ctx: DetectContext,
        m: _Match,
        unknown: set[str],
        position: str,
        by: float | None,
        since: datetime,
    ) -> Finding:
        own = m.own
        ordered = sorted(
            (c for c in m.cands if c.shop not in unknown),
            key=lambda c: (
                not money.same_currency(c.currency, own.currency),
                c.price if c.price is not None else float("inf"),
                c.shop,
                c.url,
            ),
        )
        detail = PositionDetail(
            OwnRef(own.url, own.title, own.price, own.currency),
            tuple(MatchedRef(c.url, c.title, c.price, c.currency, c.shop) for c in ordered),
            position,
            round(by, 4) if by is not None else None,
        )
        standing = "".join(p.text if isinstance(p, Span) else p for p in detail.standing(ENGLISH))
        summary = f"Your “{own.title}” {money.money(own.price, own.currency)}{standing}"
        return Finding(
            kind=self.kind,
            severity=detail.severity(),
            shop=own.shop,
            listing={
                "url": own.url,
                "title": own.title,
                "price": own.price,
                "currency": own.currency,
            },
            summary=summary,
            detail=detail,
            dedup_key=f"{self.kind}:{own.shop}:{own.ref}:{position}:{since.isoformat()}",
            detected_at=ctx.now,
        )
