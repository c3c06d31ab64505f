"""What the ``price_position`` detector adds to a check: its reads (every candidate listing,
the price history of the matched ones), the title index and the position's history.

Builds a SQLite store with one own shop (``--own`` watched listings) and ``--shops``
competitors of ``--listings`` listings each; every own listing is sold by ``--matches``
competitors, whose prices then change ``--changes`` times (a snapshot each). Prints the
wall and CPU time of one ``detect`` (median of ``--runs``) and the findings it raised, and
the copy detector's time on the same store for scale, and both on one check's context
(where they share one candidate search). ``--history N`` times instead the
dating of a position over N stored price changes on each of the own listing and 4 matched
listings (a year of hourly changes: ``--history 8760``).

    .venv/bin/python bench/bench_position.py --shops 20 --listings 500
    .venv/bin/python bench/bench_position.py --history 8760
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from watcher.config import parse_config
from watcher.detectors.base import DetectContext, ShopResult
from watcher.detectors.copies import CopiedListing
from watcher.detectors.position import PricePosition, position_since
from watcher.models import Listing
from watcher.store import Store
from watcher.store.reads import PricePoint

WORDS = [
    "真丝",
    "衬衫",
    "连衣裙",
    "碎花",
    "收腰",
    "显瘦",
    "阔腿裤",
    "高腰",
    "针织",
    "开衫",
    "羊毛",
    "半身裙",
    "外套",
    "风衣",
    "卫衣",
    "牛仔",
]


def _title(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 5)) + f" {rng.randrange(10_000)}"


def history(changes: int, runs: int) -> None:
    """Time :func:`position_since` over ``changes`` hourly prices per listing, the rivals
    always at least 20 % cheaper (the walk goes back through the whole year)."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    own = [PricePoint(start + timedelta(hours=h), 159.0, "CNY") for h in range(changes)]
    rivals = [
        [
            PricePoint(start + timedelta(hours=h, minutes=r + 1), rng.uniform(80, 125), "CNY")
            for h in range(changes)
        ]
        for r in range(4)
    ]
    times = []
    for _ in range(runs):
        c0 = time.process_time()
        since = position_since("undercut", own, rivals, "CNY", 0.10)
        times.append(time.process_time() - c0)
    assert since == start + timedelta(minutes=1), since
    print(
        json.dumps(
            {
                "changes_per_listing": changes,
                "listings": 5,
                "cpu_s": round(statistics.median(times), 3),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--listings", type=int, default=500)
    parser.add_argument("--own", type=int, default=5)
    parser.add_argument("--matches", type=int, default=4)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--history", type=int, default=0)
    args = parser.parse_args()
    if args.history:
        history(args.history, args.runs)
        return
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        shops = [{"name": "Mine", "role": "own", "kind": "shopify", "url": "https://m.example"}]
        shops += [
            {"name": f"Rival {i}", "kind": "shopify", "url": f"https://r{i}.example"}
            for i in range(args.shops)
        ]
        cfg = parse_config({"watcher": {"database": "sqlite://"}, "shops": shops}, env={})
        store = Store(f"sqlite:///{Path(tmp) / 'w.db'}")
        mine = store.registry.ensure_shop("Mine", "shopify", "own", "https://m.example")
        assert mine.id
        own_titles = [_title(rng) for _ in range(args.own)]
        own = [
            Listing(f"m{i}", f"https://m.example/p/{i}", t, 159.0, "CNY")
            for i, t in enumerate(own_titles)
        ]
        seen = store.catalog.apply(mine.id, own, complete=None, own_top=True).seen
        store.catalog.set_own_top(mine.id, [lid for lid, _ in seen])
        catalogs: list[tuple[int, list[Listing]]] = []
        for i in range(args.shops):
            row = store.registry.ensure_shop(
                f"Rival {i}", "shopify", "competitor", f"https://r{i}.example"
            )
            assert row.id
            items = [
                Listing(f"r{j}", f"https://r{i}.example/p/{j}", _title(rng), 150.0, "CNY")
                for j in range(args.listings)
            ]
            if i < args.matches:
                items += [
                    Listing(f"s{k}", f"https://r{i}.example/s/{k}", "【包邮】" + t, 150.0, "CNY")
                    for k, t in enumerate(own_titles)
                ]
            catalogs.append((row.id, items))
        for shop_id, items in catalogs:
            store.catalog.apply(shop_id, items, complete=True)
        for _ in range(args.changes):
            for shop_id, items in catalogs[: args.matches]:
                for item in items[args.listings :]:
                    item.price = rng.choice([99.0, 129.0, 150.0, 169.0])
                store.catalog.apply(shop_id, items, complete=True)
        results = [ShopResult(s, 1) for s in cfg.shops]
        timings: dict[str, tuple[list[float], list[float]]] = {}
        raised = 0
        for _ in range(args.runs):
            # Alone, then both on one context as a check runs them (one shared search).
            for name, classes in (
                ("PricePosition", (PricePosition,)),
                ("CopiedListing", (CopiedListing,)),
                ("both", (CopiedListing, PricePosition)),
            ):
                ctx = DetectContext(cfg, store.reads, results, datetime.now(UTC))
                detectors = [cls(cfg) for cls in classes]
                w0, c0 = time.perf_counter(), time.process_time()
                for detector in detectors:
                    list(detector.images_needed(ctx))
                found = [len(list(detector.detect(ctx))) for detector in detectors]
                walls, cpus = timings.setdefault(name, ([], []))
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
                if name == "PricePosition":
                    raised = found[0]
        store.close()
    print(
        json.dumps(
            {
                "shops": args.shops,
                "listings": args.shops * args.listings + args.matches * args.own,
                "own": args.own,
                "price_changes_per_match": args.changes,
                **{
                    f"{name}_{what}_s": round(statistics.median(values), 3)
                    for name, (walls, cpus) in timings.items()
                    for what, values in (("wall", walls), ("cpu", cpus))
                },
                "price_position_findings": raised,
            }
        )
    )


if __name__ == "__main__":
    main()
