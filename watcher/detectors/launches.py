"""``seasonal_launch``: a competitor started listing a season's items — at least
``min_items`` new listings of one season inside ``window``. New means first seen after
the shop's baseline, or published inside the window when the source gives a date
(Shopify does), so a launch already under way is reported on the first run."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watcher.detectors.base import DetectContext, Detector
from watcher.models import Finding, Severity
from watcher.store.db import from_db, to_db

LOOKBACK = timedelta(days=300)
"""How far back a competitor's earlier launch of the same season still counts as 'launched'."""


@dataclass(slots=True)
class _Item:
    url: str
    title: str
    price: float | None
    currency: str | None
    when: datetime

    def brief(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "title": self.title,
            "price": self.price,
            "currency": self.currency,
            "date": self.when.date().isoformat(),
        }


class SeasonalLaunch(Detector):
    """Competitors' seasonal launches, with how many competitors have launched so far."""

    kind = "seasonal_launch"

    @property
    def enabled(self) -> bool:
        return self.config.detect.launches.enabled

    def _new_items(
        self, ctx: DetectContext, shop_id: int, baseline: datetime | None, since: datetime
    ) -> dict[tuple[str, int], list[_Item]]:
        """New listings of a shop since ``since`` grouped by (season, year)."""
        from sqlalchemy import or_, select

        from watcher.store.tables import ListingRow
        from watcher.text.seasons import listing_season_years

        cond = [ListingRow.published_at >= to_db(since)]  # type: ignore[operator]
        if baseline is not None:
            cond.append(ListingRow.first_seen > to_db(baseline))  # type: ignore[operator]
        q = select(ListingRow).where(
            ListingRow.shop_id == shop_id,
            ListingRow.source == "catalog",
            ListingRow.removed_at.is_(None),
            or_(*cond),
        )  # type: ignore[arg-type,union-attr]
        groups: dict[tuple[str, int], list[_Item]] = defaultdict(list)
        hemisphere = self.config.watcher.hemisphere
        with ctx.store.engine.connect() as c:
            for row in c.execute(q):
                published = from_db(row.published_at)
                first_seen = from_db(row.first_seen)
                assert first_seen is not None
                is_new_by_seen = baseline is not None and first_seen > baseline
                when = (
                    published
                    if published is not None and (not is_new_by_seen or published >= since)
                    else first_seen
                )
                if when < since:
                    continue
                tags = json.loads(row.tags) if row.tags else []
                years = listing_season_years(
                    row.title, tags, row.product_type, row.description, when.date(), hemisphere
                )
                for season, year in years.items():
                    groups[(str(season), year)].append(
                        _Item(row.url, row.title, row.price, row.currency, when)
                    )
        return groups

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        settings = self.config.detect.launches
        since = ctx.now - settings.window
        competitors = [s for s in self.config.shops if not s.own]
        checked = [
            r for r in ctx.results if not r.shop.own and not r.marketplace and r.status != "failed"
        ]
        if not checked:
            return
        shops = {row.name: row for row in ctx.store.shops()}
        history: dict[str, dict[tuple[str, int], list[_Item]]] = {}
        for shop in competitors:
            row = shops.get(shop.name)
            if row is None or row.id is None:
                continue
            history[shop.name] = self._new_items(
                ctx, row.id, from_db(row.baseline_at), ctx.now - LOOKBACK
            )
        for result in checked:
            groups = history.get(result.shop.name, {})
            for (season, year), items in sorted(groups.items()):
                recent = sorted(
                    (i for i in items if i.when >= since), key=lambda i: (i.when, i.title)
                )
                if len(recent) < settings.min_items:
                    continue
                launched = []
                for name, other in history.items():
                    theirs = sorted(other.get((season, year), []), key=lambda i: i.when)
                    if len(theirs) >= settings.min_items:
                        launched.append(
                            {"name": name, "first_date": theirs[0].when.date().isoformat()}
                        )
                launched.sort(key=lambda x: (x["first_date"], x["name"]))
                label = f"{season} {year}"
                yield Finding(
                    kind=self.kind,
                    severity=Severity.MEDIUM,
                    shop=result.shop.name,
                    listing=None,
                    summary=(
                        f"{result.shop.name} started listing {label} items ({len(recent)} new); "
                        f"{len(launched)} of {len(competitors)} competitors have started {label}"
                    ),
                    detail={
                        "season": season,
                        "year": year,
                        "items": [i.brief() for i in recent[:50]],
                        "competitors_launched": len(launched),
                        "competitors_tracked": len(competitors),
                        "launched": launched,
                    },
                    dedup_key=f"{self.kind}:{result.shop.name}:{season}:{year}",
                    detected_at=ctx.now,
                )
