"""Take the README's screenshots of the dashboard (``docs/screens/*.png``).

Runs the demo timeline's checks against the sample marketplace (alerts delivered to a
local webhook receiver), serves the result with ``watcher serve`` in English and in
Chinese, and photographs each page with Debian's headless Chromium. The demo's timeline
runs in seconds, so its charts span seconds; ``listing-year.png`` shows a listing with a
year of generated hourly price changes instead (the benchmark's data, one listing).
Needs ``fonts-wqy-microhei`` (or any CJK font) for the Chinese text.

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright
from sqlalchemy import insert, update

from watcher.config import parse_config
from watcher.demo import Marketplace
from watcher.models import Listing
from watcher.store import Store
from watcher.store.tables import ListingRow, SnapshotRow

OUT = Path(__file__).resolve().parent.parent / "docs" / "screens"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def demo_database(url: str) -> str:
    """Run the demo timeline into ``url``; returns the config text (without channels)."""
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with Marketplace() as market:
        channel = (
            f'[[alerts]]\nkind = "webhook"\nname = "team-chat"\n'
            f'url = "http://127.0.0.1:{hook.server_address[1]}/hook"\n'
        )
        text = market.config_toml(url, extra=channel)
        config = parse_config(tomllib.loads(text), env={})

        async def timeline() -> None:
            from watcher.app import open_app

            async with open_app(config) as app:
                for step in range(4):
                    if step:
                        market.advance()
                    await app.runner.check()

        asyncio.run(timeline())
    hook.shutdown()
    return text.split("[[alerts]]", 1)[0]


def year_database(url: str) -> int:
    """One listing with a year of hourly price changes, a sale and stock-outs."""
    rng = random.Random(3)
    store = Store(url)
    shop = store.registry.ensure_shop(
        "风尚女装 Fengshang", "shopify", "competitor", "https://fs.example/"
    )
    assert shop.id is not None
    item = Listing("1", "https://fs.example/products/1", "醋酸缎面半身裙 垂感鱼尾裙", 199.0, "CNY")
    store.catalog.apply(shop.id, [item], complete=True)
    lid = store.listings(shop.id)[0].ListingRow.id
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    rows: list[dict[str, Any]] = []
    state = {"price": 199.0, "compare_at": None, "available": True}
    for h in range(1, 365 * 24, 6):
        new = dict(state)
        if rng.random() < 0.04:
            new["price"] = rng.choice([159.0, 169.0, 179.0, 189.0, 199.0, 219.0])
            new["compare_at"] = 219.0 if new["price"] < 199 else None
        new["available"] = not (2000 < h < 2300 or 6100 < h < 6200)
        if new == state:
            continue  # watcher writes a snapshot only when something changed
        fixed = {"title": item.title, "currency": "CNY", "image": None}
        rows.append(
            {
                "listing_id": lid,
                "taken_at": start + timedelta(hours=h),
                "pending": False,
                "previous": json.dumps({**fixed, **state}, ensure_ascii=False),
                **fixed,
                **new,
            }
        )
        state = new
    with store.engine.begin() as c:
        c.execute(update(ListingRow).values(first_seen=start, **state))
        c.execute(insert(SnapshotRow), rows)
    store.close()
    return int(lid)


def serve(config: Path) -> tuple[subprocess.Popen[str], str]:
    """`watcher serve` on a free port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "serve", "--config", str(config), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    m = re.search(r"(http://\S+/)", proc.stderr.readline())
    assert m
    return proc, m.group(1)


def save(png: bytes, name: str) -> None:
    """A palette PNG: a few tens of KB instead of a few hundred."""
    im = Image.open(io.BytesIO(png)).convert("RGB")
    im = im.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    OUT.mkdir(parents=True, exist_ok=True)
    im.save(OUT / f"{name}.png", optimize=True)
    print(f"{name}.png {(OUT / f'{name}.png').stat().st_size // 1024} KB")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="screens-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'demo.db'}"
        text = demo_database(db)
        en, zh, year = Path(tmp) / "en.toml", Path(tmp) / "zh.toml", Path(tmp) / "year.toml"
        en.write_text(text, encoding="utf-8")
        zh.write_text(text.replace("[watcher]\n", '[watcher]\nlanguage = "zh"\n', 1), "utf-8")
        ydb = f"sqlite:///{Path(tmp) / 'year.db'}"
        lid = year_database(ydb)
        year.write_text(
            f'[watcher]\ndatabase = "{ydb}"\ntimezone = "Asia/Shanghai"\n', encoding="utf-8"
        )
        servers = [serve(en), serve(zh), serve(year)]
        (_, base), (_, base_zh), (_, base_year) = servers
        store = Store(db)
        rows = {r.ListingRow.title: r.ListingRow.id for r in store.listings()}
        store.close()
        copy_id = 1
        shots = [
            (base, "", "overview"),
            (base, "alerts", "alerts"),
            (base, "listings", "listings"),
            (base, f"listings/{rows['醋酸缎面半身裙 垂感鱼尾裙']}", "listing"),
            (base_year, f"listings/{lid}", "listing-year"),
            (base, "copies", "copies"),
            (base, f"copies/{copy_id}", "evidence"),
            (base, "launches", "launches"),
            (base_zh, "", "overview-zh"),
            (base_zh, f"copies/{copy_id}", "evidence-zh"),
        ]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1100, "height": 800})
                for url, path, name in shots:
                    page.goto(url + path)
                    # long lists: the top of the page is what the README needs
                    height = page.evaluate("document.documentElement.scrollHeight")
                    clip = {"x": 0, "y": 0, "width": 1100, "height": min(height, 1500)}
                    save(page.screenshot(full_page=True, clip=clip), name)
                browser.close()
        finally:
            for proc, _ in servers:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)


if __name__ == "__main__":
    main()
