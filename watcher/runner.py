"""One check of a set of shops, stage by stage: fetch and store each shop (own shops and
competitors' catalogs at once; the copy searches once the own titles are stored), detect,
notify.

How one shop is fetched and stored is its strategy's business (:mod:`watcher.strategies`);
image hashes come from :mod:`watcher.imaging`. A shop that cannot be read is "unknown" for
this check and the other shops go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from loguru import logger

from watcher.config import Config, ShopConfig
from watcher.detectors import DetectContext, Detector, ShopResult, detector_kinds
from watcher.errors import StorageError
from watcher.http import Http
from watcher.imaging import ImageHashes
from watcher.models import Finding
from watcher.sources import Source, source_kinds
from watcher.store import PendingEvents, Store
from watcher.strategies import STRATEGIES, Progress, Strategy, check_shop

StrategyFactory = Callable[[ShopConfig, str], Strategy]
"""Builds the strategy that checks a shop in a role (own, competitor, marketplace)."""


class Notifier(Protocol):
    """Where findings go: recorded (deduplicated) first, delivered after."""

    def record(self, findings: Sequence[Finding]) -> list[Finding]:
        """Store findings; return only those never raised before."""
        ...

    async def flush(self) -> object:
        """Deliver what is due."""
        ...


@dataclass(slots=True, repr=False)
class CheckReport:
    """The outcome of one check."""

    def __repr__(self) -> str:
        # Short on purpose: asyncio builds the repr of a task's result at exit, and the
        # default one would render every listing of the pass.
        return f"<CheckReport {len(self.results)} shop(s), {len(self.findings)} finding(s)>"

    results: list[ShopResult]
    findings: list[Finding] = field(default_factory=list)
    finished_at: datetime | None = None

    @property
    def failed(self) -> list[ShopResult]:
        """Shops that could not be read completely."""
        return [r for r in self.results if r.status != "ok"]


class Runner:
    """Runs checks. One per process; safe to call :meth:`check` concurrently for
    different shops (a shop is never checked twice at once)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        http: Http,
        outbox: Notifier | None = None,
        *,
        strategies: StrategyFactory | None = None,
        detectors: Sequence[Detector] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.http = http
        self.outbox = outbox
        self.strategy = strategies or self._strategy
        self.detectors: list[Detector] = (
            list(detectors)
            if detectors is not None
            else [cls(config) for cls in detector_kinds().values()]
        )
        self.images = ImageHashes(store.images, http, store.thumbnails)
        self._locks: dict[str, asyncio.Lock] = {}
        self._sources = source_kinds()

    def source(self, shop: ShopConfig) -> Source:
        """The Source for a shop, with its robots.txt policy (own shops are exempt)."""
        robots = (
            False
            if shop.own
            else (shop.robots if shop.robots is not None else self.config.watcher.robots)
        )
        return self._sources[shop.kind](shop, self.http, robots=robots)

    def _strategy(self, shop: ShopConfig, role: str) -> Strategy:
        return STRATEGIES[role](shop, self.source(shop), self.store)

    async def check(
        self, shops: Sequence[ShopConfig] | None = None, *, progress: Progress | None = None
    ) -> CheckReport:
        """One pass over ``shops`` (all configured shops by default): fetch and store,
        detect, notify."""
        shops = list(self.config.shops if shops is None else shops)
        async with self._locked(shops):
            report = CheckReport(results=await self._fetch_and_store(shops, progress))
            events = self.store.events.pending([r.shop_id for r in report.results if r.shop_id])
            findings = await self._detect(report.results, events)
            report.findings = await self._notify(findings, events)
        report.finished_at = datetime.now(UTC)
        return report

    @asynccontextmanager
    async def _locked(self, shops: Sequence[ShopConfig]) -> AsyncIterator[None]:
        # Sorted, so two checks with overlapping shops cannot deadlock.
        locks = [self._locks.setdefault(n, asyncio.Lock()) for n in sorted({s.name for s in shops})]
        for lock in locks:
            await lock.acquire()
        try:
            yield
        finally:
            for lock in locks:
                lock.release()

    async def _fetch_and_store(
        self, shops: Sequence[ShopConfig], progress: Progress | None
    ) -> list[ShopResult]:
        """Own shops and competitors at once; marketplaces once the own titles are stored
        (competitors' searches wait for them too)."""
        own = [s for s in shops if s.own]
        titles: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        # Every competitor starts at once (their copy searches wait for the own titles),
        # but only `concurrency` of them read their catalogs at a time: a catalog is held
        # until stored, and a hundred half-read catalogs would grow memory with the shops.
        slots = asyncio.Semaphore(self.config.watcher.concurrency)
        rivals = [self.strategy(s, "competitor") for s in shops if not s.own]
        for rival in rivals:
            rival.catalog_slots = slots
        competitors = asyncio.gather(*(check_shop(r, titles, progress) for r in rivals))
        try:
            own_results = await asyncio.gather(
                *(check_shop(self.strategy(s, "own"), titles, progress) for s in own)
            )
        finally:
            titles.set_result(self._own_titles() if own else [])
        market_results: list[ShopResult] = []
        if own and titles.result():
            market_results = list(
                await asyncio.gather(
                    *(
                        check_shop(self.strategy(m.as_shop(), "marketplace"), titles, progress)
                        for m in self.config.marketplaces
                    )
                )
            )
        return [*own_results, *await competitors, *market_results]

    def _own_titles(self) -> list[str]:
        try:
            own = self.store.reads.own_top_listings()
        except StorageError as e:
            logger.error("cannot read own titles for copy searches: {}", e)
            return []
        return list(dict.fromkeys(o.title for o in own if o.title))

    async def _detect(self, results: list[ShopResult], events: PendingEvents) -> list[Finding]:
        """Run the detectors over this check's results and the stored events (this check's
        changes and new reviews, and any an interrupted check left pending)."""
        for r in results:
            r.changes.changed = events.changes.get(r.shop_id, [])
            r.new_reviews = events.reviews.get(r.shop_id, [])
        ctx = DetectContext(
            config=self.config, reads=self.store.reads, results=results, now=datetime.now(UTC)
        )
        active = [d for d in self.detectors if d.enabled]
        wanted: set[str] = set()
        for d in active:
            try:
                wanted.update(u for u in d.images_needed(ctx) if u)
            except StorageError:
                raise
            except Exception:
                logger.exception("detector {} failed to list images", d.kind)
        if wanted:
            # photos of shops with allow_private = true may be on private networks
            private = {
                url
                for r in results
                if r.shop.allow_private
                for _, item in (*r.changes.seen, *r.searched)
                for url in item.images
            }
            ctx.images = await self.images.hashes(wanted, allow_private=private)
        findings: list[Finding] = []
        for d in active:
            try:
                findings.extend(d.detect(ctx))
            except StorageError:
                raise
            except Exception:
                logger.exception("detector {} failed", d.kind)
        return findings

    async def _notify(self, findings: list[Finding], events: PendingEvents) -> list[Finding]:
        """Record the findings (only new ones are kept), then mark their events handled,
        then deliver. Events stay pending until their findings are recorded, so a crash in
        between loses nothing."""
        new = self.outbox.record(findings) if self.outbox is not None else findings
        self.store.events.clear(events)
        if self.outbox is not None:
            await self.outbox.flush()
        return new
