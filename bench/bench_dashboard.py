"""Dashboard page times on a big database: 50,000 listings in 10 shops, a year of hourly
price changes (8,760 snapshots) for the listing shown, 10,000 alerts with two channels.

Builds the database through the store (``catalog.apply``, ``outbox.add_findings``; snapshots and
the year-old first-seen times are written with SQLAlchemy Core, since a check can only
write "now"), starts a real ``watcher serve`` on it, and times every page over HTTP on
loopback: ``--requests`` timed requests per route after two warm-up ones, and the server
process's CPU time per request (from /proc: what a page costs whatever else the machine
runs). Prints a Markdown table and a JSON summary; the target is every page under 200 ms
(median wall time; the JSON API and /healthz are listed but are not pages).

    .venv/bin/python bench/bench_dashboard.py
    .venv/bin/python bench/bench_dashboard.py --database postgresql+psycopg://postgres@127.0.0.1/bench_dash
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, update

from watcher import logs
from watcher.images import make_thumbnail
from watcher.models import Finding, Listing, Severity, parse_detail
from watcher.store import Store
from watcher.store.tables import ListingRow, SnapshotRow

SHOPS, PER_SHOP, HOURS, ALERTS = 10, 5_000, 24 * 365, 10_000
KINDS = ("price_change", "stock_change", "seasonal_launch", "negative_review", "copied_listing")


def build(url: str, seed: int = 7) -> dict[str, int]:
    """Fill the database; returns ids the routes need."""
    rng = random.Random(seed)
    store = Store(url)
    now = datetime.now(UTC)
    year_ago = now - timedelta(hours=HOURS)
    words = [
        "linen",
        "silk",
        "cotton",
        "wool",
        "dress",
        "shirt",
        "skirt",
        "coat",
        "scarf",
        "trousers",
        "连衣裙",
        "衬衫",
        "半身裙",
        "外套",
    ]
    shop_ids = []
    for s in range(SHOPS):
        role = "own" if s == 0 else "competitor"
        shop = store.registry.ensure_shop(
            f"Shop {s:02d}", "shopify", role, f"https://shop{s}.example/"
        )
        assert shop.id is not None
        shop_ids.append(shop.id)
        items = [
            Listing(
                ref=str(i),
                url=f"https://shop{s}.example/products/{i}",
                title=" ".join(rng.choice(words) for _ in range(4)) + f" {s}-{i}",
                price=round(rng.uniform(20, 400), 2),
                currency="CNY",
                available=rng.random() > 0.1,
                images=[f"https://shop{s}.example/cdn/{i}.jpg"],
            )
            for i in range(PER_SHOP)
        ]
        store.catalog.apply(shop.id, items, complete=True)
        _, run = store.registry.start_check(shop.name, "shopify", role, shop.url)
        store.registry.finish_check(
            shop.id, run, status="ok", error=None, listings=len(items), baseline=True
        )
    with store.engine.begin() as c:
        c.execute(update(ListingRow).values(first_seen=year_ago))
    # the listing shown: a price change every hour for a year, stock-outs, a sale
    shown = store.listings(shop_ids[1])[0].ListingRow.id
    price, rows = 199.0, []
    for h in range(1, HOURS):
        price = max(50.0, round(price * rng.uniform(0.97, 1.03), 2))
        rows.append(
            {
                "listing_id": shown,
                "taken_at": year_ago + timedelta(hours=h),
                "title": "linen dress 1-0",
                "price": price,
                "currency": "CNY",
                "compare_at": 259.0 if (h // 500) % 3 == 1 else None,
                "available": (h // 200) % 7 != 3,
                "image": None,
                "pending": False,
            }
        )
    with store.engine.begin() as c:
        c.execute(insert(SnapshotRow), rows)
    # a year of alerts, two channels; the copies with their thumbnails
    from watcher.demo import images

    thumb = make_thumbnail(images.render("p11"))
    assert thumb is not None
    findings = []
    for i in range(ALERTS):
        kind = KINDS[i % len(KINDS)]
        own = {
            "url": "https://shop0.example/products/7",
            "title": "linen dress",
            "price": 199.0,
            "currency": "CNY",
        }
        detail: dict[str, object] = {"old": 100, "new": 90}
        if kind == "copied_listing":
            copy_url = f"https://shop{1 + i % 9}.example/products/{i % PER_SHOP}"
            detail = {
                "copy": {
                    "url": copy_url,
                    "title": "linen dress copy",
                    "price": 150.0,
                    "currency": "CNY",
                    "shop": f"Shop {1 + i % 9:02d}",
                },
                "title_similarity": 0.91,
                "image_distance": 3,
            }
        elif kind == "seasonal_launch":
            detail = {
                "season": ("spring", "summer", "autumn", "winter")[i % 4],
                "year": 2020 + i % 7,
                "items": [
                    {
                        "url": f"https://s.example/{i}",
                        "title": "spring coat",
                        "price": 99,
                        "currency": "CNY",
                        "date": (now - timedelta(days=i % 300)).date().isoformat(),
                    }
                ],
                "competitors_launched": 3,
                "competitors_tracked": 9,
                "launched": [],
            }
        findings.append(
            Finding(
                kind=kind,
                severity=Severity.HIGH if kind == "copied_listing" else Severity.LOW,
                shop=f"Shop {i % SHOPS:02d}",
                listing=own,
                summary=f"alert {i}: something about linen dress",
                detail=parse_detail(kind, detail),
                dedup_key=f"bench:{i}",
                detected_at=now,
            )
        )
    for i in range(0, ALERTS, 1000):
        store.outbox.add_findings(
            findings[i : i + 1000],
            {"team": lambda f: True, "ops": lambda f: f.severity == Severity.HIGH},
        )
    store.thumbnails.save(
        [("https://shop0.example/cdn/7.jpg", thumb), ("https://shop1.example/cdn/0.jpg", thumb)],
    )
    copy_alert = next(a.id for a, _ in store.alerts(limit=50) if a.kind == "copied_listing")
    store.close()
    return {"listing": shown, "copy": copy_alert}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc): what a request costs the
    server whatever else the machine is doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def config_text(url: str) -> str:
    shops = "\n".join(
        f'[[shops]]\nname = "Shop {s:02d}"\nrole = "{"own" if s == 0 else "competitor"}"\n'
        f'kind = "shopify"\nurl = "https://shop{s}.example/"\n'
        for s in range(SHOPS)
    )
    return f'[watcher]\ndatabase = "{url}"\ntimezone = "Asia/Shanghai"\n\n{shops}'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--database", default="", help="SQLAlchemy URL (default: a temporary SQLite file)"
    )
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    logs.setup("WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'dash.db'}"
        started = time.monotonic()
        ids = build(url)
        built = time.monotonic() - started
        cfg = Path(tmp) / "watcher.toml"
        cfg.write_text(config_text(url), encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "serve", "--config", str(cfg), "--port", "0"],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"(http://\S+/)", line)
        assert m, line
        base = m.group(1)
        routes = [
            "/",
            "/alerts",
            "/alerts?kind=copied_listing&severity=high",
            "/alerts?delivery=pending",
            "/listings",
            "/listings?q=silk+coat",
            "/listings?shop=Shop+05&page=90",
            f"/listings/{ids['listing']}",
            f"/listings/{ids['listing']}?days=30",
            f"/listings/{ids['listing']}?page=150",
            "/copies",
            f"/copies/{ids['copy']}",
            "/launches",
            "/healthz",
            "/api/alerts",
            f"/api/listings/{ids['listing']}/history",
        ]
        results = []
        try:
            with httpx.Client(base_url=base.rstrip("/"), timeout=30) as client:
                for route in routes:
                    times = []
                    cpu_before = 0.0
                    for i in range(args.requests + 2):
                        if i == 2:
                            cpu_before = cpu_seconds(proc.pid)
                        t = time.perf_counter()
                        r = client.get(route)
                        elapsed = (time.perf_counter() - t) * 1000
                        assert r.status_code == 200, (route, r.status_code, r.text[:200])
                        if i >= 2:
                            times.append(elapsed)
                    cpu_ms = (cpu_seconds(proc.pid) - cpu_before) / args.requests * 1000
                    times.sort()
                    results.append(
                        {
                            "route": route,
                            "cpu_ms": round(cpu_ms, 1),
                            "median_ms": round(statistics.median(times), 1),
                            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
                            "max_ms": round(times[-1], 1),
                            "kb": round(len(r.content) / 1024, 1),
                        }
                    )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    print("| route | server CPU ms/request | median ms | p95 ms | max ms | KB |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| `{r['route']}` | {r['cpu_ms']} | {r['median_ms']} | {r['p95_ms']} |"
            f" {r['max_ms']} | {r['kb']} |"
        )
    pages = [r for r in results if not r["route"].startswith(("/api/", "/healthz"))]
    worst = max(r["median_ms"] for r in pages)
    worst_cpu = max(r["cpu_ms"] for r in pages)
    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "listings": SHOPS * PER_SHOP,
                "snapshots_shown": HOURS - 1,
                "alerts": ALERTS,
                "build_s": round(built, 1),
                "slowest_page_median_ms": worst,
                "slowest_page_cpu_ms": worst_cpu,
                "target_met": worst < 200,
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
