"""The smaller commands as real processes: inspect, listings, --log-json, demo."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import check, env, write_config
from watcher.demo import Marketplace
from watcher.demo.catalog import FAWN, FENGSHANG, OWN


def run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def test_inspect_each_kind(market: Marketplace, tmp_path: Path) -> None:
    own = market.shop(OWN)
    proc = run("inspect", f"{own.base}products/pearl-hair-clip-set")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kind"] == "shopify"
    assert (
        out["listing"]["title"] == "珍珠发夹套装 Pearl Hair Clip Set"
        and out["listing"]["price"] == 129.0
    )
    assert out["listing"]["reviews"], "reviews come from the product page's structured data"

    proc = run("inspect", market.shop(FENGSHANG).base)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kind"] == "woocommerce" and out["complete"] and out["count"] == 30

    fawn = market.shop(FAWN)
    proc = run("inspect", fawn.url, "--kind", "html", "--catalog")
    assert proc.returncode == 1 and "check selectors.item" in proc.stderr, "no selectors: said so"
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    proc = run("inspect", fawn.url, "--catalog", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["count"] >= 12 and all(
        x["url"].startswith("http://127.0.0.1") for x in out["listings"]
    )


def test_inspect_failures(market: Marketplace) -> None:
    proc = run("inspect", "http://127.0.0.1:9/products/x", "--kind", "shopify")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    proc = run("inspect", "ftp://example.com/x")
    assert proc.returncode == 2
    proc = run("inspect", "http://127.0.0.1:9/", "--kind", "ebay")
    assert proc.returncode in (1, 2) and "unknown kind" in proc.stderr


def test_listings_and_log_json(market: Marketplace, tmp_path: Path) -> None:
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    proc = run("--log-json", "check", "--config", str(config))
    assert proc.returncode == 0
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert records and all("record" in r for r in records)
    assert "Shops" in proc.stdout and "New findings" in proc.stdout
    proc = run("listings", "--json", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    watched = [r for r in rows if r["watched"]]
    assert len(watched) == 5 and {r["shop"] for r in watched} == {OWN}
    assert {r["shop"] for r in rows} >= {OWN, FENGSHANG, FAWN}
    proc = run("listings", "--config", str(config), "--shop", FENGSHANG)
    assert proc.returncode == 0 and "醋酸缎面半身裙" in proc.stdout
    assert check(config).findings == []


def test_demo_runs_offline_under_30_seconds() -> None:
    import time

    start = time.monotonic()
    proc = run("demo", "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    findings = [json.loads(x) for x in proc.stdout.splitlines()]
    assert {f["kind"] for f in findings} == {
        "copied_listing",
        "negative_review",
        "seasonal_launch",
        "price_change",
        "stock_change",
        "listing_changed",
    }
    assert len(findings) == 10
    assert time.monotonic() - start < 60  # 30 s on an idle machine; CI shares its cores
