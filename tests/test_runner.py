"""The runner's stages in order, with fake strategies, detectors and notifier on a real
SQLite store: every shop is fetched and stored before any detector runs, detectors before
findings are recorded, recorded before events are cleared and alerts delivered; the copy
searches wait for the own titles; one broken shop stops nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.findings import stored
from watcher.config import Config, ShopConfig, parse_config
from watcher.detectors import DetectContext, Detector, ShopResult
from watcher.errors import FetchError
from watcher.http import Http, HttpSettings
from watcher.models import Catalog, Finding, Listing, Severity
from watcher.runner import Runner
from watcher.store import Store
from watcher.strategies import Competitor, Strategy, Titles

Log = list[str]


def _config(db: str) -> Config:
    return parse_config(
        {
            "watcher": {"database": db},
            "shops": [
                {"name": "Mine", "role": "own", "kind": "shopify", "url": "https://m.example"},
                {"name": "Rival", "kind": "shopify", "url": "https://r.example"},
                {"name": "Broken", "kind": "shopify", "url": "https://b.example"},
            ],
            "marketplaces": [
                {"name": "Market", "kind": "html", "search_url": "https://mk.example/s?q={query}"}
            ],
        },
        env={},
    )


class FakeStrategy(Strategy):
    """Records when it fetches, stores and searches; stores one listing per shop."""

    def __init__(self, shop: ShopConfig, store: Store, role: str, log: Log) -> None:
        super().__init__(shop, None, store)  # type: ignore[arg-type]  (no source: no fetching)
        self.role = role  # type: ignore[misc]
        self.log = log

    async def run(self, result: ShopResult, titles: Titles) -> None:
        name = self.shop.name
        self.log.append(f"fetch {name}")
        await asyncio.sleep(0.01)
        if name == "Broken":
            raise FetchError("HTTP 500")
        own = self.shop.own
        if self.role != "marketplace":
            item = Listing(ref=f"{name}-1", url=f"{self.shop.url}/1", title=f"{name} dress")
            result.changes = self.store.catalog.apply(
                result.shop_id, [item], complete=None, own_top=own
            )
            if own:
                self.store.catalog.set_own_top(result.shop_id, [result.changes.seen[0][0]])
            self.log.append(f"store {name}")
        if not own:
            queries = await asyncio.shield(titles)
            self.log.append(f"search {name}: {', '.join(queries)}")


class FakeDetector(Detector):
    """One finding per check, recording when it runs."""

    kind = "fake"
    log: Log

    def images_needed(self, ctx: DetectContext) -> Iterable[str]:
        self.log.append("images")
        return ()

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        self.log.append("detect")
        own = ctx.reads.own_top_listings()
        yield stored(
            "price_change",
            Severity.LOW,
            "Mine",
            None,
            f"{len(own)} own listing(s)",
            {"old": 10.0, "new": 8.0},
            f"fake:{ctx.now.isoformat()}",
            ctx.now,
        )


class FakeNotifier:
    def __init__(self, log: Log, store: Store, fail: bool = False) -> None:
        self.log, self.store, self.fail = log, store, fail

    def record(self, findings: Sequence[Finding]) -> list[Finding]:
        self.log.append("record")
        if self.fail:
            raise RuntimeError("the outbox is down")
        return list(findings)

    async def flush(self) -> object:
        self.log.append("flush")
        return None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'w.db'}")
    yield s
    s.close()


def _runner(store: Store, log: Log, *, fail_record: bool = False) -> Runner:
    config = _config(store.url)

    def strategy(shop: ShopConfig, role: str) -> Strategy:
        return FakeStrategy(shop, store, role, log)

    detector = FakeDetector(config)
    detector.log = log
    http = Http(HttpSettings())
    return Runner(
        config,
        store,
        http,
        FakeNotifier(log, store, fail=fail_record),
        strategies=strategy,
        detectors=[detector],
    )


def _index(log: Log, prefix: str) -> list[int]:
    return [i for i, e in enumerate(log) if e.startswith(prefix)]


def test_stages_run_in_order(store: Store) -> None:
    log: Log = []
    report = asyncio.run(_runner(store, log).check())
    status = {r.shop.name: r.status for r in report.results}
    assert status == {"Mine": "ok", "Rival": "ok", "Broken": "failed", "Market": "ok"}
    assert [r.marketplace for r in report.results if r.shop.name == "Market"] == [True]
    fetch_store = _index(log, "fetch") + _index(log, "store") + _index(log, "search")
    assert max(fetch_store) < log.index("images") < log.index("detect")
    assert log.index("detect") < log.index("record") < log.index("flush")
    assert log.index("store Mine") < log.index("search Rival: Mine dress"), (
        "competitors search for the own titles once they are stored"
    )
    assert log.index("store Mine") < log.index("fetch Market"), (
        "marketplaces start once the own titles are known"
    )
    assert "search Market: Mine dress" in log
    assert [f.summary for f in report.findings] == ["1 own listing(s)"]


def test_findings_recorded_before_events_are_cleared(store: Store) -> None:
    """A notifier that fails leaves the stored events pending for the next check."""
    log: Log = []
    asyncio.run(_runner(store, log).check())
    shop = next(s for s in store.shops() if s.name == "Rival")
    assert shop.id is not None
    store.catalog.apply(
        shop.id,
        [Listing(ref="Rival-1", url="https://r.example/1", title="Rival dress", price=5.0)],
        complete=None,
    )
    assert store.events.pending([shop.id]).snapshots, "the change is pending"
    with pytest.raises(RuntimeError):
        asyncio.run(_runner(store, log, fail_record=True).check())
    assert store.events.pending([shop.id]).snapshots, "still pending after the failure"
    asyncio.run(_runner(store, log).check())
    assert not store.events.pending([shop.id]).snapshots, "cleared once recorded"


def test_a_shop_is_never_checked_twice_at_once(store: Store) -> None:
    log: Log = []
    runner = _runner(store, log)

    async def both() -> None:
        mine = [s for s in runner.config.shops if s.name == "Rival"]
        await asyncio.gather(runner.check(mine), runner.check(mine))

    asyncio.run(both())
    fetches = _index(log, "fetch Rival")
    searches = _index(log, "search Rival")
    assert len(fetches) == 2 and fetches[1] > searches[0], "the second check waited"


class _CountingSource:
    """A competitor's source: a catalog of one listing, read slowly; counts how many
    catalogs are being read at once."""

    reading = 0
    most = 0

    def __init__(self, shop: ShopConfig) -> None:
        self.shop = shop

    async def catalog(self) -> Catalog:
        cls = _CountingSource
        cls.reading += 1
        cls.most = max(cls.most, cls.reading)
        try:
            await asyncio.sleep(0.05)
        finally:
            cls.reading -= 1
        item = Listing(ref="1", url=f"{self.shop.url}/1", title=f"{self.shop.name} dress")
        return Catalog([item], complete=True)

    async def search(self, query: str) -> list[Listing]:
        return []


def test_competitors_read_at_most_concurrency_catalogs_at_once(store: Store) -> None:
    """A catalog is held until it is stored, so a check reads at most `concurrency` of them
    at a time (memory does not grow with the shops); the copy searches, which wait for a
    slow own shop, wait outside that limit, so every catalog is still read before the own
    shop is done."""
    rivals = [
        {"name": f"Rival {n}", "kind": "shopify", "url": f"https://r{n}.example"} for n in range(6)
    ]
    config = parse_config(
        {
            "watcher": {"database": store.url, "concurrency": 2},
            "shops": [
                {"name": "Mine", "role": "own", "kind": "shopify", "url": "https://m.example"},
                *rivals,
            ],
        },
        env={},
    )
    log: Log = []
    own_done = asyncio.Event()

    class SlowOwn(FakeStrategy):
        async def run(self, result: ShopResult, titles: Titles) -> None:
            # done only once every competitor's catalog is stored: a competitor that kept
            # its slot while waiting for the own titles would leave this waiting forever
            while sum(e.startswith("stored Rival") for e in log) < len(rivals):
                await asyncio.sleep(0.01)
            await super().run(result, titles)
            own_done.set()

    class LoggedCompetitor(Competitor):
        async def run(self, result: ShopResult, titles: Titles) -> None:
            await super().run(result, titles)
            log.append(f"searched {self.shop.name}")

        async def _catalog(self) -> tuple[Catalog, bool | None]:
            out = await super()._catalog()
            log.append(f"stored {self.shop.name}")
            return out

    def strategy(shop: ShopConfig, role: str) -> Strategy:
        if role == "competitor":
            return LoggedCompetitor(shop, _CountingSource(shop), store)  # type: ignore[arg-type]
        return SlowOwn(shop, store, role, log)

    _CountingSource.reading = _CountingSource.most = 0
    runner = Runner(
        config,
        store,
        Http(HttpSettings()),
        FakeNotifier(log, store),
        strategies=strategy,
        detectors=[],
    )
    report = asyncio.run(asyncio.wait_for(runner.check(), 10))
    assert _CountingSource.most == 2, "never more catalogs at once than `concurrency`"
    assert own_done.is_set()
    assert {r.shop.name for r in report.results if r.ok} == {"Mine", *(r["name"] for r in rivals)}
    assert sum(e.startswith("searched") for e in log) == len(rivals)
