"""One check of a set of shops: fetch -> parse -> store -> detect -> notify.

A shop that cannot be read is "unknown" for this check: it is recorded as failed, nothing
of it is marked removed, and the other shops go on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loguru import logger

from watcher.config import Config, ShopConfig
from watcher.detectors import DetectContext, Detector, ShopResult, detector_kinds
from watcher.errors import BlockedError, FetchError, ParseError, StorageError, WatcherError
from watcher.http import Http
from watcher.models import Catalog, Finding, Listing
from watcher.notify.outbox import Outbox
from watcher.sources import Source, source_kinds
from watcher.store import Store
from watcher.store.db import from_db, utcnow

Progress = Callable[[str, ShopResult | ShopConfig], None]
IMAGE_RETRY = timedelta(hours=1)


@dataclass(slots=True, repr=False)
class CheckReport:
    """The outcome of one check."""

    def __repr__(self) -> str:
        # Short on purpose: asyncio builds the repr of a task's result at exit, and the
        # default one would render every listing of the pass.
        return f"<CheckReport {len(self.results)} shop(s), {len(self.findings)} finding(s)>"

    results: list[ShopResult]
    findings: list[Finding] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    @property
    def failed(self) -> list[ShopResult]:
        """Shops that could not be read completely."""
        return [r for r in self.results if r.status != "ok"]


def _error(e: BaseException) -> str:
    return str(e) or type(e).__name__


class Runner:
    """Runs checks. One per process; safe to call :meth:`check` concurrently for
    different shops (a shop is never checked twice at once)."""

    def __init__(
        self, config: Config, store: Store, http: Http, outbox: Outbox | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.http = http
        self.outbox = outbox
        self.detectors: list[Detector] = [cls(config) for cls in detector_kinds().values()]
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

    async def check(
        self, shops: Sequence[ShopConfig] | None = None, *, progress: Progress | None = None
    ) -> CheckReport:
        """One pass over ``shops`` (all configured shops by default). Own shops and
        competitors' catalogs are read at once; the copy searches wait for the own titles;
        then detectors run and new alerts are delivered."""
        shops = list(self.config.shops if shops is None else shops)
        report = CheckReport(results=[])
        own = [s for s in shops if s.own]
        others = [s for s in shops if not s.own]
        # Sorted, so two checks with overlapping shops cannot deadlock.
        locks = [self._locks.setdefault(n, asyncio.Lock()) for n in sorted({s.name for s in shops})]
        for lock in locks:
            await lock.acquire()
        try:
            titles: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
            competitors = asyncio.gather(
                *(self._guarded(self._check_competitor, s, progress, titles) for s in others)
            )
            try:
                own_results = await asyncio.gather(
                    *(self._guarded(self._check_own, s, progress) for s in own)
                )
            finally:
                try:
                    titles.set_result(self._own_titles() if own else [])
                except StorageError as e:
                    logger.error("cannot read own titles for copy searches: {}", e)
                    titles.set_result([])
            queries = titles.result()
            market_results: list[ShopResult] = []
            if own and queries:
                market_results = list(
                    await asyncio.gather(
                        *(
                            self._guarded(self._check_marketplace, m.as_shop(), progress, queries)
                            for m in self.config.marketplaces
                        )
                    )
                )
            other_results = await competitors
            report.results = [*own_results, *other_results, *market_results]
            report.findings = await self._detect_and_notify(report.results)
        finally:
            for lock in locks:
                lock.release()
        report.finished_at = datetime.now(UTC)
        return report

    def _own_titles(self) -> list[str]:
        titles: list[str] = []
        for row in self.store.reads.own_top_listings():
            t = row.title
            if t and t not in titles:
                titles.append(t)
        return titles

    async def _guarded(
        self,
        fn: Callable[..., Awaitable[None]],
        shop: ShopConfig,
        progress: Progress | None,
        *args: object,
    ) -> ShopResult:
        """Run one shop's part of the check; any failure becomes a failed result."""
        if progress:
            progress("start", shop)
        market = fn == self._check_marketplace
        result = ShopResult(shop=shop, shop_id=0, marketplace=market)
        run_id: int | None = None
        try:
            row = self.store.registry.ensure_shop(
                shop.name, shop.kind, "marketplace" if market else shop.role, shop.url
            )
            result.shop_id, result.baseline_at = row.id or 0, from_db(row.baseline_at)
            run_id = self.store.registry.begin_run(result.shop_id)
            await fn(result, *args)
        except asyncio.CancelledError:
            # The daemon is stopping: the shop is unknown for this check, not failing (no
            # failure counted); what was stored stays, its events stay pending.
            if run_id is not None:
                with contextlib.suppress(StorageError):
                    self.store.registry.finish_run(
                        run_id, result.shop_id, "cancelled", "stopped before the end", 0
                    )
            raise
        except WatcherError as e:
            result.status, result.error = "failed", _error(e)
        except Exception as e:  # one shop's bug must not stop the others
            logger.opt(exception=e).error("{}: unexpected error", shop.name)
            result.status, result.error = "failed", f"internal error: {type(e).__name__}: {e}"
        try:
            if not result.shop_id:
                logger.error("{}: check failed: {}", shop.name, result.error)
            elif result.status == "failed":
                row = self.store.registry.record_failure(result.shop_id, result.error or "")
                result.failures, result.failing_since = row.failures, from_db(row.failing_since)
                logger.warning(
                    "{}: check failed ({} in a row): {}", shop.name, row.failures, result.error
                )
            else:
                self.store.registry.record_success(result.shop_id, baseline=result.changes.baseline)
                if result.status == "partial":
                    logger.warning("{}: partial check: {}", shop.name, result.error)
                else:
                    logger.info(
                        "{}: ok, {} listing(s), {} new, {} changed",
                        shop.name,
                        len(result.changes.seen),
                        len(result.changes.new),
                        len(result.changes.changed),
                    )
            if run_id is not None:
                self.store.registry.finish_run(
                    run_id, result.shop_id, result.status, result.error, len(result.changes.seen)
                )
        except StorageError as e:
            logger.error("{}: could not record the check: {}", shop.name, e)
            result.status, result.error = "failed", _error(e)
        if progress:
            progress("done", result)
        return result

    async def _fetch_listings(
        self, src: Source, refs: Sequence[str]
    ) -> tuple[list[Listing], list[str]]:
        """Fetch listing pages; returns the listings read and an error text per failure."""
        fetched = await asyncio.gather(*(src.listing(r) for r in refs), return_exceptions=True)
        listings: list[Listing] = []
        errors: list[str] = []
        for ref, item in zip(refs, fetched, strict=True):
            if isinstance(item, Listing):
                listings.append(item)
            elif isinstance(item, FetchError | ParseError):
                errors.append(f"{ref}: {_error(item)}")
            elif isinstance(item, BaseException):
                errors.append(f"{ref}: internal error {type(item).__name__}: {item}")
        if not listings:
            raise FetchError("; ".join(errors[:3]) or "no listing could be read")
        return listings, errors

    async def _check_own(self, result: ShopResult) -> None:
        shop = result.shop
        src = self.source(shop)
        refs = list(shop.listings) or await src.top(shop.top)
        if not refs:
            raise ParseError(f"{shop.name}: no listings found to watch")
        listings, errors = await self._fetch_listings(src, refs)
        changes = self.store.catalog.apply(
            result.shop_id, listings, complete=None, source="top", own_top=True
        )
        ids = {item.ref: lid for lid, item in changes.seen}
        if not errors:
            self.store.catalog.set_own_top(result.shop_id, [ids[item.ref] for item in listings])
        result.changes = changes
        for item in listings:
            if item.reviews is not None:
                new = self.store.reviews.apply(ids[item.ref], item.reviews)
                if new:
                    result.new_reviews.append((ids[item.ref], item, new))
        if errors:
            result.status, result.error = "partial", "; ".join(errors[:3])

    async def _search(self, src: Source, result: ShopResult, queries: Sequence[str]) -> str | None:
        """Search the shop with every own title; returns an error text when searching failed."""
        found: list[Listing] = []
        for q in queries:
            try:
                found.extend(await src.search(q))
            except BlockedError as e:
                logger.info("{}: search skipped ({}); relying on its catalog", result.shop.name, e)
                return None
            except (FetchError, ParseError) as e:
                return f"search failed: {_error(e)}"
        if found:
            ch = self.store.catalog.apply(result.shop_id, found, complete=None, source="search")
            result.searched.extend(ch.seen)
        return None

    async def _check_competitor(
        self, result: ShopResult, titles: asyncio.Future[list[str]]
    ) -> None:
        src = self.source(result.shop)
        if result.shop.listings:
            # Only the named listings are watched: never a whole catalog, never removals.
            listings, errors = await self._fetch_listings(src, list(result.shop.listings))
            catalog = Catalog(listings, complete=not errors, note="; ".join(errors[:3]))
            complete: bool | None = None
        else:
            catalog = await src.catalog()
            complete = catalog.complete
        first = result.baseline_at is None
        changes = self.store.catalog.apply(result.shop_id, catalog.listings, complete=complete)
        changes.baseline = catalog.complete and first and not changes.suspect
        result.changes = changes
        if changes.suspect:
            result.status, result.error = "partial", changes.suspect
        if first:
            result.baseline_at = datetime.now(UTC) if catalog.complete else None
        if not catalog.complete:
            result.status, result.error = "partial", f"catalog incomplete: {catalog.note}"
        queries = await asyncio.shield(titles)
        if queries and (result.shop.search_url or result.shop.kind != "html"):
            err = await self._search(src, result, queries)
            if err and result.status == "ok":
                logger.warning("{}: {}", result.shop.name, err)

    async def _check_marketplace(self, result: ShopResult, queries: Sequence[str]) -> None:
        src = self.source(result.shop)
        err = await self._search(src, result, queries)
        if err:
            raise FetchError(err)

    async def _fetch_images(self, urls: set[str], results: list[ShopResult]) -> dict[str, str]:
        from watcher.images import fetch_hashes

        known = self.store.images.hashes(urls)
        out = {u: r.hash for u, r in known.items() if r.hash}
        now = utcnow()
        todo = [
            u
            for u in urls
            if u not in known or (not known[u].hash and now - known[u].fetched_at > IMAGE_RETRY)
        ]
        # photos of shops with allow_private = true may be on private networks
        private = {
            url
            for r in results
            if r.shop.allow_private
            for _, item in (*r.changes.seen, *r.searched)
            for url in item.images
        }
        fetched = await fetch_hashes(self.http, todo, allow_private=private)
        out.update({u: h for u, h in fetched.items() if h})
        try:
            self.store.images.save(
                [(u, h, None if h else "not an image") for u, h in fetched.items()]
            )
        except StorageError as e:
            logger.warning("could not remember {} image hash(es): {}", len(fetched), e)
        return out

    async def _detect_and_notify(self, results: list[ShopResult]) -> list[Finding]:
        """Run the detectors over this check's results and the stored events, record the
        findings, deliver. Stored change and review events stay pending until their
        findings are recorded, so a crash in between loses nothing."""
        events = self.store.events.pending([r.shop_id for r in results if r.shop_id])
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
            ctx.images = await self._fetch_images(wanted, results)
        findings: list[Finding] = []
        for d in active:
            try:
                findings.extend(d.detect(ctx))
            except StorageError:
                raise
            except Exception:
                logger.exception("detector {} failed", d.kind)
        new = self.outbox.record(findings) if self.outbox is not None else findings
        self.store.events.clear(events)
        if self.outbox is not None:
            await self.outbox.flush()
        return new
