"""``copied_listing``: another shop sells the seller's item under a lightly edited title
(``title_similarity``) or with the seller's own photo (perceptual-hash distance within
``image_distance``). A stolen photo is ``high``; a copied title alone is ``medium``.
One alert per (own listing, copy); a copy that exists on the first run is reported then."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from watcher import money
from watcher.detectors._candidates import similar_candidates
from watcher.detectors.base import DetectContext, Detector, price
from watcher.i18n import Audience
from watcher.models import (
    Finding,
    FindingKind,
    KindDetail,
    KindNames,
    Severity,
    json_int,
    json_num,
    json_obj,
    json_str,
)
from watcher.readable import Line, Span, clean, fill, line, link, listing_link

IMAGES_PER_LISTING = 30


@dataclass(frozen=True, slots=True)
class CopyRef:
    """The copy: where it was found (``shop``: the configured shop or marketplace name;
    ``seller``: the marketplace seller, when known)."""

    url: str | None
    title: str | None
    price: float | None
    currency: str | None
    shop: str | None
    seller: str | None = None


@dataclass(frozen=True, slots=True)
class CopyDetail(KindDetail):
    """The ``copy``, how alike the titles are (``title_similarity``, 0..1) and the photos
    (``image_distance``: perceptual-hash distance, None when not compared)."""

    kind: ClassVar[FindingKind] = FindingKind.COPIED_LISTING
    names: ClassVar[KindNames] = KindNames("Copied listing", "copied listing", "copied listings", 0)

    copy: CopyRef
    title_similarity: float | None
    image_distance: int | None
    stolen_photo: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail."""
        c = json_obj(data.get("copy"))
        copy = CopyRef(
            json_str(c.get("url")),
            json_str(c.get("title")),
            json_num(c.get("price")),
            json_str(c.get("currency")),
            json_str(c.get("shop")),
            json_str(c.get("seller")),
        )
        return cls(
            copy,
            json_num(data.get("title_similarity")),
            json_int(data.get("image_distance")),
            data.get("stolen_photo") is True,
        )

    def severity(self) -> Severity:
        """A stolen photo is high; a copied title alone medium."""
        return Severity.HIGH if self.stolen_photo else Severity.MEDIUM

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """Your listing; the copy with its price and how much cheaper (only when both
        prices are in one currency); similarity and whether the photo is yours."""
        _ = a._
        own: Mapping[str, Any] = finding.listing or {}
        c = self.copy
        copy_link = link(c.title, c.url, fallback=_("(untitled listing)"))
        copy_price = price(a, c.price, c.currency)
        if c.shop:
            copy_line = fill(
                _("Copy: %(listing)s — %(price)s at %(shop)s"),
                listing=copy_link,
                price=copy_price,
                shop=clean(c.shop),
            )
        else:
            copy_line = fill(
                _("Copy: %(listing)s — %(price)s"), listing=copy_link, price=copy_price
            )
        diff = money.difference(own.get("price"), own.get("currency"), c.price, c.currency)
        if diff is not None and abs(diff) < 0.005:
            copy_line.append(_(" (same price)"))
        elif diff is not None:
            amount = money.money(abs(diff), c.currency)
            word = _("%(amount)s cheaper") if diff > 0 else _("%(amount)s dearer")
            copy_line += fill(
                _(" (%(difference)s)"), difference=Span(word % {"amount": amount}, bold=True)
            )
        facts: list[Span | str] = [
            _("Your price: %(price)s") % {"price": price(a, own.get("price"), own.get("currency"))}
        ]
        if self.title_similarity is not None:
            facts.append(
                " · "
                + _("title similarity %(pct)s%%") % {"pct": f"{self.title_similarity * 100:.0f}"}
            )
        if self.image_distance is None:
            facts.append(" · " + _("photo not compared"))
        elif finding.severity is Severity.HIGH:
            facts += [
                " · ",
                Span(_("PHOTO STOLEN"), bold=True),
                _(" (image distance %(distance)s)") % {"distance": self.image_distance},
            ]
        else:
            facts.append(
                " · "
                + _("photo differs (image distance %(distance)s)")
                % {"distance": self.image_distance}
            )
        own_link = listing_link(own, bold=True, fallback=_("(untitled listing)"))
        return line(own_link), [line(*copy_line), line(*facts)]


@dataclass(slots=True)
class _Pair:
    own: Any
    own_shop: str
    cand: Any
    similarity: float


class CopiedListing(Detector):
    """Copies of own watched listings among competitors' catalogs and search results."""

    kind = FindingKind.COPIED_LISTING

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pairs found for ``images_needed`` are reused by ``detect`` of the same check.
        # Keyed by the context object itself and dropped once used: a later check's context
        # can be given a freed one's ``id()``, and stale pairs would hide its copies.
        self._cache: tuple[DetectContext, list[_Pair]] | None = None

    @property
    def enabled(self) -> bool:
        return self.config.detect.copies.enabled

    def _pairs(self, ctx: DetectContext) -> list[_Pair]:
        """(own listing, candidate) pairs worth comparing: titles at least
        ``candidate_similarity`` alike, plus everything a copy search returned."""
        if self._cache is not None and self._cache[0] is ctx:
            return self._cache[1]
        own = ctx.reads.own_top_listings()
        pairs: list[_Pair] = []
        if own:
            checked = {r.shop.name for r in ctx.results}
            everything = any(r.shop.own for r in ctx.results)
            found = similar_candidates(
                ctx.reads,
                [o.title for o in own],
                self.config.detect.copies.candidate_similarity,
                shops=None if everything else checked,
                always={lid for r in ctx.results for lid, _ in r.searched},
                # The position detector searches every shop anyway: one search serves both.
                shared=ctx.shared if everything or self.config.detect.position.enabled else None,
            )
            for o, hits in zip(own, found, strict=True):
                pairs.extend(_Pair(o, o.shop, cand, sim) for cand, sim in hits)
        self._cache = (ctx, pairs)
        return pairs

    def images_needed(self, ctx: DetectContext) -> Iterable[str]:
        """Main images of own listings and of their likeliest copies: every search result,
        and the :data:`IMAGES_PER_LISTING` most similar titles (images are fetched once
        and their hashes kept, so this bounds the first run, not later ones)."""
        per_own: dict[int, list[_Pair]] = {}
        for p in self._pairs(ctx):
            per_own.setdefault(p.own.id, []).append(p)
        searched = {lid for r in ctx.results for lid, _ in r.searched}
        for pairs in per_own.values():
            if pairs[0].own.image:
                yield pairs[0].own.image
            pairs.sort(key=lambda p: -p.similarity)
            for rank, p in enumerate(pairs):
                if p.cand.image and (rank < IMAGES_PER_LISTING or p.cand.id in searched):
                    yield p.cand.image

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        pairs = self._pairs(ctx)
        self._cache = None
        if not pairs:
            return
        from watcher.images import image_distance

        settings = self.config.detect.copies
        for p in pairs:
            own, cand = p.own, p.cand
            if cand.url == own.url:
                continue
            distance = None
            own_hash = ctx.images.get(own.image or "")
            cand_hash = ctx.images.get(cand.image or "")
            if own_hash and cand_hash:
                distance = image_distance(own_hash, cand_hash)
            stolen = distance is not None and distance <= settings.image_distance
            if not stolen and p.similarity < settings.title_similarity:
                continue
            where = cand.shop if not cand.seller else f"{cand.shop} ({cand.seller})"
            notes = ["stolen photo" if stolen else "copied title"]
            diff = money.difference(own.price, own.currency, cand.price, cand.currency)
            if diff is not None and diff > 0:
                notes.append(f"{money.money(diff, own.currency)} cheaper")
            detail = CopyDetail(
                CopyRef(cand.url, cand.title, cand.price, cand.currency, cand.shop, cand.seller),
                round(p.similarity, 3),
                distance,
                stolen,
            )
            yield Finding(
                kind=self.kind,
                severity=detail.severity(),
                shop=p.own_shop,
                listing={
                    "url": own.url,
                    "title": own.title,
                    "price": own.price,
                    "currency": own.currency,
                },
                summary=f"Copy of your “{own.title}” at {where}: {', '.join(notes)}",
                detail=detail,
                dedup_key=f"{self.kind}:{p.own_shop}:{own.ref}:{cand.shop}:{cand.ref}",
                detected_at=ctx.now,
            )
