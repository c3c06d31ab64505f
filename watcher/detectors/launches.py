"""``seasonal_launch``: a competitor started listing a season's items — at least
``min_items`` new listings of one season inside ``window``. New means first seen after
the shop's baseline, or published inside the window when the source gives a date
(Shopify does), so a launch already under way is reported on the first run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from watcher.detectors.base import DetectContext, Detector, price
from watcher.i18n import N_, Audience
from watcher.models import (
    Finding,
    FindingKind,
    KindDetail,
    KindNames,
    Severity,
    json_int,
    json_list,
    json_num,
    json_obj,
    json_str,
)
from watcher.readable import Line, Span, clean, line, link

LOOKBACK = timedelta(days=300)
"""How far back a competitor's earlier launch of the same season still counts as 'launched'."""
MAX_ITEMS = 8
"""Items of a launch listed by name in an alert; the rest are counted."""
SEASONS: dict[str, str] = {
    "spring": N_("spring"),
    "summer": N_("summer"),
    "autumn": N_("autumn"),
    "winter": N_("winter"),
}
"""The seasons' names, translated when shown."""


@dataclass(frozen=True, slots=True)
class LaunchItem:
    """One new listing of the launch; ``date`` (ISO 8601) is when it appeared."""

    url: str | None
    title: str | None
    price: float | None
    currency: str | None
    date: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LaunchItem:
        """Read a stored item."""
        return cls(
            json_str(data.get("url")),
            json_str(data.get("title")),
            json_num(data.get("price")),
            json_str(data.get("currency")),
            json_str(data.get("date")),
        )


@dataclass(frozen=True, slots=True)
class Launched:
    """A competitor that has launched the season, and its first date (ISO 8601)."""

    name: str | None
    first_date: str | None


@dataclass(frozen=True, slots=True)
class LaunchDetail(KindDetail):
    """A competitor's launch of ``season`` ``year``: its new ``items`` (at most 50), and
    how many of the tracked competitors have ``launched`` that season."""

    kind: ClassVar[FindingKind] = FindingKind.SEASONAL_LAUNCH
    names: ClassVar[KindNames] = KindNames(
        "Seasonal launch", "seasonal launch", "seasonal launches", 2
    )

    season: str | None
    year: int | None
    items: tuple[LaunchItem, ...] = ()
    competitors_launched: int | None = None
    competitors_tracked: int | None = None
    launched: tuple[Launched, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail."""
        launched = []
        for entry in json_list(data.get("launched")):
            e = json_obj(entry)
            first = e.get("first_date") or e.get("first") or e.get("date")
            launched.append(Launched(json_str(e.get("name")), json_str(first)))
        return cls(
            json_str(data.get("season")),
            json_int(data.get("year")),
            tuple(LaunchItem.from_json(json_obj(i)) for i in json_list(data.get("items"))),
            json_int(data.get("competitors_launched")),
            json_int(data.get("competitors_tracked")),
            tuple(launched),
        )

    def severity(self) -> Severity:
        """A launch is medium."""
        return Severity.MEDIUM

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """Who started which season, how many competitors have, and the first items."""
        _ = a._
        season = clean(self.season)
        word = _(SEASONS[season]) if season in SEASONS else season
        when = (_("%(season)s %(year)s") % {"season": word, "year": clean(self.year)}).strip()
        heading = line(
            Span(
                _("%(shop)s has started %(season)s")
                % {"shop": clean(finding.shop), "season": when},
                bold=True,
            )
        )
        lines: list[Line] = []
        done, tracked = self.competitors_launched, self.competitors_tracked
        if done is not None and tracked is not None:
            text = a.n_(
                "%(num)d of %(total)s competitors has started %(season)s.",
                "%(num)d of %(total)s competitors have started %(season)s.",
                done,
                total=tracked,
                season=when,
            )
            lines.append(line(text))
        names = []
        for entry in self.launched:
            first = a.day(entry.first_date)
            name = clean(entry.name)
            names.append(
                _("%(name)s (since %(date)s)") % {"name": name, "date": first} if first else name
            )
        if names:
            lines.append(line(_("Started: %(names)s") % {"names": a.comma.join(names)}))
        for item in self.items[:MAX_ITEMS]:
            shown = link(item.title, item.url, fallback=_("(untitled listing)"))
            lines.append(line("• ", shown, f" — {price(a, item.price, item.currency)}"))
        if len(self.items) > MAX_ITEMS:
            more = len(self.items) - MAX_ITEMS
            lines.append(
                line(a.n_("…and %(num)d more new item", "…and %(num)d more new items", more))
            )
        return heading, lines


@dataclass(slots=True)
class _Item:
    url: str
    title: str
    price: float | None
    currency: str | None
    when: datetime

    def launch_item(self) -> LaunchItem:
        return LaunchItem(
            self.url, self.title, self.price, self.currency, self.when.date().isoformat()
        )


class SeasonalLaunch(Detector):
    """Competitors' seasonal launches, with how many competitors have launched so far."""

    kind = FindingKind.SEASONAL_LAUNCH

    @property
    def enabled(self) -> bool:
        return self.config.detect.launches.enabled

    def _new_items(
        self, ctx: DetectContext, shop_id: int, baseline: datetime | None, since: datetime
    ) -> dict[tuple[str, int], list[_Item]]:
        """New listings of a shop since ``since`` grouped by (season, year)."""
        groups: dict[tuple[str, int], list[_Item]] = defaultdict(list)
        hemisphere = self.config.watcher.hemisphere
        for row in ctx.reads.listings_since(shop_id, since, baseline):
            published = row.published_at
            first_seen = row.first_seen
            is_new_by_seen = baseline is not None and first_seen > baseline
            when = (
                published
                if published is not None and (not is_new_by_seen or published >= since)
                else first_seen
            )
            if when < since:
                continue
            # imported for the first new listing: its lexicon takes ~30 ms to build
            from watcher.text.seasons import listing_season_years

            years = listing_season_years(
                row.title, row.tags, row.product_type, row.description, when.date(), hemisphere
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
        shops = {row.name: row for row in ctx.reads.shops()}
        history: dict[str, dict[tuple[str, int], list[_Item]]] = {}
        for shop in competitors:
            row = shops.get(shop.name)
            if row is None:
                continue
            history[shop.name] = self._new_items(ctx, row.id, row.baseline_at, ctx.now - LOOKBACK)
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
                        launched.append(Launched(name, theirs[0].when.date().isoformat()))
                launched.sort(key=lambda x: (x.first_date or "", x.name or ""))
                label = f"{season} {year}"
                detail = LaunchDetail(
                    season,
                    year,
                    tuple(i.launch_item() for i in recent[:50]),
                    len(launched),
                    len(competitors),
                    tuple(launched),
                )
                yield Finding(
                    kind=self.kind,
                    severity=detail.severity(),
                    shop=result.shop.name,
                    listing=None,
                    summary=(
                        f"{result.shop.name} started listing {label} items ({len(recent)} new); "
                        f"{len(launched)} of {len(competitors)} competitors have started {label}"
                    ),
                    detail=detail,
                    dedup_key=f"{self.kind}:{result.shop.name}:{season}:{year}",
                    detected_at=ctx.now,
                )
