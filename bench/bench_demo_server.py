"""The sample marketplace itself: start/stop time, catalogue pass throughput, images.

Runs ``python -m watcher.demo`` as a separate process (as the check benchmark's server
would be) and fetches every competitor catalogue page of a scale world with an async
httpx client (gzip, keep-alive, ``--concurrency`` requests at once): the cost the
marketplace adds to an end-to-end benchmark. Also times the default demo world's
start/stop and the first render of product photos.

    .venv/bin/python bench/bench_demo_server.py --shops 100 --listings 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watcher.demo import Marketplace, images  # noqa: E402


async def catalogue_pass(shops: list[dict], concurrency: int) -> tuple[int, int, int]:
    """(requests, products, compressed bytes) of one full pass over every shop."""
    sem = asyncio.Semaphore(concurrency)
    counts = [0, 0, 0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(shop: dict) -> None:
            page = 1
            while True:
                async with sem:
                    if shop["kind"] == "shopify":
                        r = await client.get(
                            shop["base"] + "products.json", params={"limit": 250, "page": page}
                        )
                        items = r.json()["products"]
                        last = len(items) < 250
                    else:
                        r = await client.get(
                            shop["base"] + "wp-json/wc/store/v1/products",
                            params={"per_page": 100, "page": page},
                        )
                        items = r.json()
                        last = page >= int(r.headers["x-wp-totalpages"])
                counts[0] += 1
                counts[1] += len(items)
                counts[2] += int(r.headers.get("content-length", 0))
                if last:
                    return
                page += 1

        await asyncio.gather(*(one(s) for s in shops))
    return counts[0], counts[1], counts[2]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Run and print the measurements."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--shops", type=int, default=100)
    ap.add_argument("--listings", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    t = time.perf_counter()
    m = Marketplace.scale(args.shops, args.listings)
    m.start()
    started = time.perf_counter() - t
    t = time.perf_counter()
    m.stop()
    print(
        f"in-process scale({args.shops}, {args.listings}): start {started:.3f} s, "
        f"stop {time.perf_counter() - t:.3f} s"
    )
    t = time.perf_counter()
    with Marketplace():
        pass
    print(f"default demo world start+stop: {time.perf_counter() - t:.3f} s")
    t = time.perf_counter()
    for seed in range(20000, 20020):
        images.render(f"p{seed}")
    print(f"product photo first render: {(time.perf_counter() - t) / 20 * 1000:.1f} ms each")

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "market.json"
        t = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watcher.demo",
                "--shops",
                str(args.shops),
                "--listings",
                str(args.listings),
                "--port-file",
                str(port_file),
            ],
            cwd=ROOT,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        while not port_file.exists():
            if proc.poll() is not None:
                raise SystemExit("the marketplace process died")
            time.sleep(0.05)
        print(f"subprocess ready (incl. interpreter start): {time.perf_counter() - t:.2f} s")
        shops = [s for s in json.loads(port_file.read_text())["shops"] if s["role"] != "own"]
        for label in ("first pass (renders)", "second pass (cached)"):
            t, cpu = time.perf_counter(), cpu_seconds(proc.pid)
            n, products, size = asyncio.run(catalogue_pass(shops, args.concurrency))
            dt = time.perf_counter() - t
            print(
                f"{label}: {n} requests, {products} products, {size / 1e6:.1f} MB gzip, "
                f"{dt:.2f} s wall, {products / dt:.0f} products/s, "
                f"server CPU {cpu_seconds(proc.pid) - cpu:.2f} s"
            )
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


if __name__ == "__main__":
    main()
