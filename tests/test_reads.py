"""The read interface detectors get: a fake made of plain lists drives the detectors just
like the store does, and the store answers it with typed records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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


class FakeReads:
    """Stored history as plain lists."""

    def __init__(self) -> None:
        self.own = [
            OwnListing(
                1, "m1", "https://m.example/p/1", "真丝衬衫 Silk Blouse", 299.0, "CNY", None, "Mine"
            )
        ]
        self.candidates = [
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
        return self.candidates

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
    assert {(c.ref, c.shop) for c in reads.candidate_listings()} == {
        ("r1", "Rival"),
        ("r2", "Rival"),
    }
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
