"""``copied_listing``: another shop sells the seller's item under a lightly edited title
(``title_similarity``) or with the seller's own photo (perceptual-hash distance within
``image_distance``). A stolen photo is ``high``; a copied title alone is ``medium``.
One alert per (own listing, copy); a copy that exists on the first run is reported then."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from watcher.detectors.base import DetectContext, Detector, fmt_price
from watcher.models import Finding, Severity

IMAGES_PER_LISTING = 30


@dataclass(slots=True)
class _Pair:
    own: Any
    own_shop: str
    cand: Any
    similarity: float


class CopiedListing(Detector):
    """Copies of own watched listings among competitors' catalogs and search results."""

    kind = "copied_listing"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: tuple[int, list[_Pair]] | None = None

    @property
    def enabled(self) -> bool:
        return self.config.detect.copies.enabled

    def _pairs(self, ctx: DetectContext) -> list[_Pair]:
        """(own listing, candidate) pairs worth comparing: titles at least
        ``candidate_similarity`` alike, plus everything a copy search returned."""
        if self._cache is not None and self._cache[0] == id(ctx):
            return self._cache[1]
        own = ctx.store.own_top_listings()
        pairs: list[_Pair] = []
        if own:
            # Imported here: numpy and friends cost ~20 MB a check with no own listings skips.
            from watcher.text.similarity import TitleIndex, title_similarity

            checked = {r.shop.name for r in ctx.results}
            everything = any(r.shop.own for r in ctx.results)
            cands = [c for c in ctx.store.candidate_listings() if everything or c.shop in checked]
            searched = {lid for r in ctx.results for lid, _ in r.searched}
            searched_idx = [i for i, c in enumerate(cands) if c.id in searched]
            index = TitleIndex([c.title for c in cands])
            low = self.config.detect.copies.candidate_similarity
            for o in own:
                row = o.ListingRow
                hits = dict(index.matches(row.title, low))
                for i in searched_idx:
                    if i not in hits:
                        hits[i] = title_similarity(row.title, cands[i].title)
                pairs.extend(_Pair(row, o.shop, cands[i], sim) for i, sim in sorted(hits.items()))
        self._cache = (id(ctx), pairs)
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
            if (
                own.price is not None
                and cand.price is not None
                and cand.price < own.price
                and (cand.currency or own.currency) == (own.currency or cand.currency)
            ):
                notes.append(f"{fmt_price(own.price - cand.price, own.currency)} cheaper")
            yield Finding(
                kind=self.kind,
                severity=Severity.HIGH if stolen else Severity.MEDIUM,
                shop=p.own_shop,
                listing={
                    "url": own.url,
                    "title": own.title,
                    "price": own.price,
                    "currency": own.currency,
                },
                summary=f"Copy of your “{own.title}” at {where}: {', '.join(notes)}",
                detail={
                    "copy": {
                        "url": cand.url,
                        "title": cand.title,
                        "price": cand.price,
                        "currency": cand.currency,
                        "shop": cand.shop,
                        "seller": cand.seller,
                    },
                    "title_similarity": round(p.similarity, 3),
                    "image_distance": distance,
                    "stolen_photo": stolen,
                },
                dedup_key=f"{self.kind}:{p.own_shop}:{own.ref}:{cand.shop}:{cand.ref}",
                detected_at=ctx.now,
            )
