"""The read interface detectors get: a fake made of plain lists drives the detectors just
like the store does, and the store answers it with typed records."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.detect import CandidatePages
from watcher.config import Config, parse_config
from watcher.detectors import DetectContext, ShopResult
from watcher.detectors.copies import CopiedListing
from watcher.detectors.launches import SeasonalLaunch
from watcher.models import Listing
from watcher.store import DetectReads, Store
from watcher.store.reads import CandidateListing, DatedListing, OwnListing, ShopInfo

NOW = datetime(2026, 11, 20, 8, tzinfo=UTC)
BASELINE = NOW - timedelta(days=60)


def _config() -> Config:
    return parse_config(
        {
            "watcher": {"database": "sqlite://"},
            "shops": [
                {"name": "Mine", "role": "own", "kind": "shopify", "url": "https://m.example"},
                {"name": "Rival", "kind": "shopify", "url": "https://r.example"},
                {"name": "Other", "kind": "woocommerce", "url": "https://o.example"},
            ],
        },
        env={},
    )


class FakeReads(CandidatePages):
    """Stored history as plain lists."""

    def __init__(self) -> None:
        self.own = [
            OwnListing(
                1, "m1", "https://m.example/p/1", "真丝衬衫 Silk Blouse", 299.0, "CNY", None, "Mine"
            )
        ]
        self.cands = [
            CandidateListing(
                7,
                "r9",
                "https://r.example/p/9",
                "真丝衬衫 Silk Blouse",
                199.0,
                "CNY",
                None,
                None,
                "Rival",
            ),
            CandidateListing(
                8,
                "r8",
                "https://r.example/p/8",
                "Garden Hose 20m",
                19.0,
                "CNY",
                None,
                None,
                "Rival",
            ),
        ]
        self.dated = {
            2: [
                DatedListing(
                    20 + i,
                    f"https://r.example/p/w{i}",
                    t,
                    99.0,
                    "CNY",
                    [],
                    None,
                    None,
                    None,
                    NOW - timedelta(days=2),
                )
                for i, t in enumerate(["羽绒服 长款", "加绒卫衣", "Down Jacket", "Wool Coat"])
            ]
        }

    def own_top_listings(self) -> list[OwnListing]:
        return self.own

    def candidate_listings(self) -> list[CandidateListing]:
        return self.cands

    def shops(self) -> list[ShopInfo]:
        return [
            ShopInfo(1, "Mine", "own", None),
            ShopInfo(2, "Rival", "competitor", BASELINE),
            ShopInfo(3, "Other", "competitor", BASELINE),
        ]

    def listings_since(
        self, shop_id: int, since: datetime, baseline: datetime | None
    ) -> list[DatedListing]:
        return [d for d in self.dated.get(shop_id, []) if d.first_seen >= since]


def _ctx(config: Config, reads: DetectReads) -> DetectContext:
    results = [
        ShopResult(shop=s, shop_id=i, baseline_at=BASELINE) for i, s in enumerate(config.shops, 1)
    ]
    return DetectContext(config=config, reads=reads, results=results, now=NOW)


def test_detectors_run_on_a_fake_read_interface() -> None:
    config = _config()
    ctx = _ctx(config, FakeReads())
    launches = list(SeasonalLaunch(config).detect(ctx))
    assert [
        (f.shop, f.detail.to_json()["season"], f.detail.to_json()["year"]) for f in launches
    ] == [("Rival", "winter", 2026)]
    assert launches[0].detail.to_json()["competitors_launched"] == 1
    copies = list(CopiedListing(config).detect(ctx))
    assert [(f.shop, f.detail.to_json()["copy"]["url"]) for f in copies] == [
        ("Mine", "https://r.example/p/9")
    ]


def test_the_store_answers_the_read_interface(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    reads: DetectReads = store.reads
    mine = store.registry.ensure_shop("Mine", "shopify", "own", "https://m.example")
    rival = store.registry.ensure_shop("Rival", "shopify", "competitor", "https://r.example")
    assert mine.id and rival.id
    own = store.catalog.apply(
        mine.id,
        [
            Listing(
                ref="m1",
                url="https://m.example/p/1",
                title="Silk Blouse",
                images=["https://m.example/1.jpg"],
            )
        ],
        complete=None,
        own_top=True,
    )
    store.catalog.set_own_top(mine.id, [own.seen[0][0]])
    published = datetime.now(UTC) - timedelta(days=1)
    store.catalog.apply(
        rival.id,
        [
            Listing(
                ref="r1",
                url="https://r.example/p/1",
                title="Down Jacket",
                tags=["winter"],
                published_at=published,
            ),
            Listing(ref="r2", url="https://r.example/p/2", title="Old Tee"),
        ],
        complete=True,
    )
    assert [(o.title, o.shop, o.image) for o in reads.own_top_listings()] == [
        ("Silk Blouse", "Mine", "https://m.example/1.jpg")
    ]
    titles = reads.candidate_titles(0, 10)
    assert [t for _, t in titles] == ["Down Jacket", "Old Tee"], "own listings are no candidates"
    assert reads.candidate_titles(0, 1) == titles[:1], "a page holds at most `limit`"
    assert reads.candidate_titles(titles[0][0], 10) == titles[1:], "the next page"
    assert reads.candidate_titles(0, 10, {"Other"}) == []
    assert {(c.ref, c.shop) for c in reads.candidates([i for i, _ in titles])} == {
        ("r1", "Rival"),
        ("r2", "Rival"),
    }
    assert reads.candidates([own.seen[0][0]]) == [], "an own listing is never a candidate"
    shops = {s.name: s for s in reads.shops()}
    assert shops["Rival"].role == "competitor" and shops["Rival"].baseline_at is None
    since = datetime.now(UTC) - timedelta(days=7)
    dated = reads.listings_since(rival.id, since, None)
    assert [(d.title, d.tags) for d in dated] == [("Down Jacket", ["winter"])]
    assert dated[0].published_at is not None and dated[0].published_at.tzinfo is not None
    assert {d.title for d in reads.listings_since(rival.id, since, since)} == {
        "Down Jacket",
        "Old Tee",
    }, "first seen after the baseline counts too"


def test_candidates_found_a_page_at_a_time_are_those_of_one_index(tmp_path: Path) -> None:
    """The copy and position detectors search the candidates a page at a time (memory
    that does not grow with the shops); any page size finds the same listings with the
    same similarities as searching them all at once."""
    from watcher.detectors._candidates import similar_candidates
    from watcher.text.similarity import TitleIndex

    store = _three_catalogs(tmp_path)
    queries = ["Linen Midi Dress", "亚麻 连衣裙 Red", "Wool Coat"]
    every = store.reads.candidates([i for i, _ in store.reads.candidate_titles(0, 1000)])
    assert len(every) == 120
    index = TitleIndex([c.title for c in every])
    whole = [sorted((every[i].id, round(s, 9)) for i, s in index.matches(q, 0.4)) for q in queries]
    assert any(whole), "the queries match something"
    for page in (1, 7, 50, 5000):
        found = similar_candidates(store.reads, queries, 0.4, page=page)
        assert [[(c.id, round(s, 9)) for c, s in hits] for hits in found] == whole, page
    only = similar_candidates(store.reads, queries, 0.4, shops={"R1"}, page=7)
    assert {c.shop for hits in only for c, _ in hits} == {"R1"}
    searched = every[5]
    forced = similar_candidates(store.reads, ["zzz qqq"], 0.4, always={searched.id}, page=7)
    assert [c.id for c, _ in forced[0]] == [searched.id], "a search result is always compared"


def test_detectors_of_one_check_share_one_search(tmp_path: Path) -> None:
    """The copy detector (one shop's check, with a copy-search result) and the position
    detector (every shop) search the catalogs once between them, and each gets what its
    own search would have found."""
    from watcher.detectors._candidates import similar_candidates

    store = _three_catalogs(tmp_path)
    pages: list[int] = []

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(store.reads, name)

        def candidate_titles(self, after: int, limit: int, shops: object = None) -> object:
            pages.append(after)
            return store.reads.candidate_titles(after, limit, shops)  # type: ignore[arg-type]

    reads = Counting()
    queries = ["Linen Midi Dress", "亚麻 连衣裙 Red", "Wool Coat"]
    far = next(c for c in store.reads.candidates(list(range(1, 121))) if c.shop == "R2")
    kw: dict[str, Any] = {"shops": {"R1", "R2"}, "always": {far.id}, "page": 7}

    def ids(found: list[list[tuple[CandidateListing, float]]]) -> list[list[tuple[int, float]]]:
        return [[(c.id, round(s, 9)) for c, s in hits] for hits in found]

    alone_copies = ids(similar_candidates(store.reads, queries, 0.4, **kw))
    alone_market = ids(similar_candidates(store.reads, queries, 0.4, page=7))
    shared: dict[Hashable, Any] = {}
    copies = ids(similar_candidates(reads, queries, 0.4, shared=shared, **kw))  # type: ignore[arg-type]
    searched_once = len(pages)
    market = ids(similar_candidates(reads, queries, 0.4, page=7, shared=shared))  # type: ignore[arg-type]
    assert (copies, market) == (alone_copies, alone_market)
    assert any(far.id in [i for i, _ in hits] for hits in copies), "the search result is kept"
    assert not any(far.id in [i for i, _ in hits] for hits in market), "only where searched"
    assert searched_once > 1 and len(pages) == searched_once, "the second detector reads nothing"
    other = Counting()
    similar_candidates(other, queries, 0.4, page=7, shared=shared)  # type: ignore[arg-type]
    assert len(pages) == 2 * searched_once, "other reads (another check's) search again"


def _three_catalogs(tmp_path: Path) -> Store:
    """A store with three competitors of 40 listings each, titles from a few words."""
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    words = ["Linen", "Dress", "Silk", "Blouse", "Wool", "Coat", "亚麻", "连衣裙", "Midi", "Red"]
    for n in range(3):
        shop = store.registry.ensure_shop(f"R{n}", "shopify", "competitor", f"https://r{n}.x")
        assert shop.id
        store.catalog.apply(
            shop.id,
            [
                Listing(
                    ref=f"{n}-{i}",
                    url=f"https://r{n}.x/p/{i}",
                    title=" ".join(words[(i * k + n) % len(words)] for k in (1, 3, 7)),
                )
                for i in range(40)
            ],
            complete=True,
        )
    return store
