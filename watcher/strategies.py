"""How each kind of shop is checked: fetch it through its Source and store what was read.

- own shops: the top listings (or the configured ones) with their reviews;
- competitors: the whole catalog (or the configured listings), then a search with every
  own title once those are known;
- marketplaces: only the searches.

:func:`check_shop` wraps any of them with the bookkeeping of one shop's check: its row,
the check run, the count of failures in a row. A shop that cannot be read is "unknown"
for this check: recorded as failed, nothing of it marked removed.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from loguru import logger

from watcher.config import ShopConfig
from watcher.detectors import ShopResult
from watcher.errors import BlockedError, FetchError, ParseError, StorageError, WatcherError
from watcher.models import Catalog, Listing
from watcher.sources import Source
from watcher.store import Store
from watcher.store.db import from_db
from watcher.store.watch import GONE_STATUS

Titles = Awaitable[list[str]]
"""The own listings' titles to search for: known once the own shops are stored."""
Progress = Callable[[str, ShopResult | ShopConfig], None]

INTERNAL_CHARS = 300
"""How much of an unexpected exception's text a shop's error shows (the log has it all)."""


def error_text(e: BaseException) -> str:
    """The one-line text of an error for a shop's status."""
    return str(e) or type(e).__name__


@dataclass(slots=True)
class ListingReads:
    """What fetching listing pages gave: each listing read with the ref it was fetched by,
    an error text per failure, and the refs whose page answered 404/410 with that status."""

    read: list[tuple[str, Listing]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)

    def failure(self) -> FetchError:
        """The error of a fetch in which no listing could be read."""
        return FetchError("; ".join(self.errors[:3]) or "no listing could be read")


class Strategy(ABC):
    """Fetches one shop and stores what was read into ``result``."""

    role: ClassVar[str]
    """The role the shop is stored with."""

    def __init__(self, shop: ShopConfig, source: Source, store: Store) -> None:
        self.shop = shop
        self.source = source
        self.store = store
        self.catalog_slots: asyncio.Semaphore | None = None
        """Shared by the competitors of one check: how many catalogs are read and stored
        at once (each holds its listings until stored, so this bounds a check's memory
        whatever the number of shops)."""

    @abstractmethod
    async def run(self, result: ShopResult, titles: Titles) -> None:
        """Fetch and store the shop; raise WatcherError when it cannot be read at all."""

    async def read_listings(self, refs: Sequence[str]) -> ListingReads:
        """Fetch listing pages: the listings read (each with the ref it was fetched by), an
        error text per failure, and the refs whose page answered 404 or 410 (taken down)
        with that status. Nothing is raised for the pages that failed."""
        fetched = await asyncio.gather(
            *(self.source.listing(r) for r in refs), return_exceptions=True
        )
        reads = ListingReads()
        for ref, item in zip(refs, fetched, strict=True):
            if isinstance(item, Listing):
                reads.read.append((ref, item))
            elif isinstance(item, FetchError | ParseError):
                reads.errors.append(f"{ref}: {error_text(item)}")
                if isinstance(item, FetchError) and item.status in GONE_STATUS:
                    reads.missing[ref] = item.status
            elif isinstance(item, BaseException):
                logger.opt(exception=item).warning("{}: {} could not be read", self.shop.name, ref)
                reads.errors.append(f"{ref}: internal error {type(item).__name__}")
        return reads

    async def fetch_listings(self, refs: Sequence[str]) -> tuple[list[Listing], list[str]]:
        """Fetch listing pages; returns the listings read and an error text per failure."""
        reads = await self.read_listings(refs)
        if not reads.read:
            raise reads.failure()
        return [item for _, item in reads.read], reads.errors

    async def search(self, result: ShopResult, queries: Sequence[str]) -> str | None:
        """Search the shop with every own title and store the results; returns an error
        text when searching failed."""
        found: list[Listing] = []
        for q in queries:
            try:
                found.extend(await self.source.search(q))
            except BlockedError as e:
                logger.info("{}: search skipped ({}); relying on its catalog", self.shop.name, e)
                return None
            except (FetchError, ParseError) as e:
                return f"search failed: {error_text(e)}"
        if found:
            changes = self.store.catalog.apply(
                result.shop_id, found, complete=None, source="search"
            )
            result.searched.extend(changes.seen)
        return None


class OwnShop(Strategy):
    """An own shop: its watched listings, with reviews."""

    role = "own"

    async def run(self, result: ShopResult, titles: Titles) -> None:
        """Read the watched listings and their reviews."""
        refs = list(self.shop.listings) or await self.source.top(self.shop.top)
        if not refs:
            raise ParseError(f"{self.shop.name}: no listings found to watch")
        reads = await self.read_listings(refs)
        if not reads.read:
            # every watched page failed: the ones taken down are still told
            result.listed = self.store.watch.record(result.shop_id, {}, reads.missing)
            gone = {x.listing_id for x in result.listed if not x.listed}
            if len(gone) < len(set(refs)):
                raise reads.failure()
            # The shop answered: each watched page is a listing known to be taken down,
            # which its findings tell. Not an unreachable shop.
            result.status, result.error = "partial", "; ".join(reads.errors[:3])
            return
        listings, errors = [item for _, item in reads.read], reads.errors
        changes = self.store.catalog.apply(
            result.shop_id, listings, complete=None, source="top", own_top=True
        )
        result.changes = changes
        ids = {item.ref: lid for lid, item in changes.seen}
        stored = dict(changes.seen)
        watched = list(dict.fromkeys(ids[item.ref] for item in listings if item.ref in ids))
        pages = {ref: ids[item.ref] for ref, item in reads.read if item.ref in ids}
        result.listed = self.store.watch.record(result.shop_id, pages, reads.missing)
        if not errors:
            self.store.catalog.set_own_top(result.shop_id, watched)
        for lid in watched:
            item = stored[lid]
            if item.reviews is not None:
                new = self.store.reviews.apply(lid, item.reviews)
                if new:
                    result.new_reviews.append((lid, item, new))
        if errors:
            result.status, result.error = "partial", "; ".join(errors[:3])


class Competitor(Strategy):
    """A competitor: its catalog (new listings, prices, stock), then copy searches."""

    role = "competitor"

    async def _catalog(self) -> tuple[Catalog, bool | None]:
        """The shop's catalog, and whether it is complete for removals (None: only the
        configured listings are watched, never a whole catalog, never removals)."""
        if self.shop.listings:
            listings, errors = await self.fetch_listings(list(self.shop.listings))
            return Catalog(listings, complete=not errors, note="; ".join(errors[:3])), None
        catalog = await self.source.catalog()
        return catalog, catalog.complete

    async def run(self, result: ShopResult, titles: Titles) -> None:
        """Read and store the catalog, then search it for the own titles."""
        async with self.catalog_slots or contextlib.nullcontext():
            catalog, complete = await self._catalog()
            first = result.baseline_at is None
            changes = self.store.catalog.apply(result.shop_id, catalog.listings, complete=complete)
            if not self.shop.allow_private:  # whose photos the runner needs to know
                changes.let_go_stored()
            whole, note = catalog.complete, catalog.note
            del catalog  # its listings are stored: let them go before the searches
        changes.baseline = whole and first and not changes.suspect
        result.changes = changes
        if changes.suspect:
            result.status, result.error = "partial", changes.suspect
        if first:
            result.baseline_at = datetime.now(UTC) if whole else None
        if not whole:
            result.status, result.error = "partial", f"catalog incomplete: {note}"
        queries = await asyncio.shield(titles)
        if queries and (self.shop.search_url or self.shop.kind != "html"):
            err = await self.search(result, queries)
            if err and result.status == "ok":
                logger.warning("{}: {}", self.shop.name, err)


class Marketplace(Strategy):
    """A marketplace: searched with the own titles, nothing else."""

    role = "marketplace"

    async def run(self, result: ShopResult, titles: Titles) -> None:
        """Search for every own title."""
        err = await self.search(result, await asyncio.shield(titles))
        if err:
            raise FetchError(err)


async def check_shop(
    strategy: Strategy, titles: Titles, progress: Progress | None = None
) -> ShopResult:
    """Run one shop's strategy with its bookkeeping; any failure becomes a failed result."""
    shop, store = strategy.shop, strategy.store
    if progress:
        progress("start", shop)
    result = ShopResult(shop=shop, shop_id=0, marketplace=strategy.role == "marketplace")
    run_id: int | None = None
    try:
        row, run_id = store.registry.start_check(shop.name, shop.kind, strategy.role, shop.url)
        result.shop_id, result.baseline_at = row.id or 0, from_db(row.baseline_at)
        await strategy.run(result, titles)
    except asyncio.CancelledError:
        # The daemon is stopping: the shop is unknown for this check, not failing (no
        # failure counted); what was stored stays, its events stay pending.
        if run_id is not None:
            with contextlib.suppress(StorageError):
                store.registry.finish_check(
                    result.shop_id,
                    run_id,
                    status="cancelled",
                    error="stopped before the end",
                    listings=0,
                )
        raise
    except WatcherError as e:
        result.status, result.error = "failed", error_text(e)
    except Exception as e:  # one shop's bug must not stop the others
        logger.opt(exception=e).error("{}: unexpected error", shop.name)
        text = f"{type(e).__name__}: {e}"[:INTERNAL_CHARS]
        result.status, result.error = "failed", f"internal error: {text}"
    try:
        _record(store, result, run_id)
    except StorageError as e:
        logger.error("{}: could not record the check: {}", shop.name, e)
        result.status, result.error = "failed", error_text(e)
    if progress:
        progress("done", result)
    return result


def _record(store: Store, result: ShopResult, run_id: int | None) -> None:
    """Record the outcome of a shop's check: failures in a row, or success; the run."""
    name = result.shop.name
    if not result.shop_id:
        logger.error("{}: check failed: {}", name, result.error)
        return
    row = store.registry.finish_check(
        result.shop_id,
        run_id,
        status=result.status,
        error=result.error,
        listings=result.changes.seen_count,
        baseline=result.changes.baseline,
    )
    if result.status == "failed":
        result.failures, result.failing_since = row.failures, from_db(row.failing_since)
        logger.warning("{}: check failed ({} in a row): {}", name, row.failures, result.error)
    elif result.status == "partial":
        logger.warning("{}: partial check: {}", name, result.error)
    else:
        logger.info(
            "{}: ok, {} listing(s), {} new, {} changed",
            name,
            result.changes.seen_count,
            result.changes.new_count,
            len(result.changes.changed),
        )


STRATEGIES: dict[str, type[Strategy]] = {s.role: s for s in (OwnShop, Competitor, Marketplace)}
"""The strategy of each role."""
