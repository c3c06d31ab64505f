"""Run a sample marketplace in the foreground, for benchmarks in a separate process.

    python -m watcher.demo --shops 100 --listings 500 --port-file market.json

writes ``market.json`` (atomically, once serving) with the shops, their URLs and a ready
watcher TOML config, then serves until SIGTERM / SIGINT. SIGUSR1 advances the timeline
(about 5% of prices move) and rewrites the file with the new ``step``. Without
``--shops`` it serves the default demo world.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from watcher.demo.server import Marketplace


def describe(market: Marketplace, database: str) -> dict[str, object]:
    """The JSON description written to the port file."""
    return {
        "pid": os.getpid(),
        "step": market.step,
        "events": market.events(market.step),
        "shops": [
            {
                "name": s.name,
                "role": s.role,
                "kind": s.kind,
                "url": s.url,
                "base": s.base,
                "port": s.port,
                "search_url": s.search_url,
                "top_url": s.top_url,
                "currency": s.currency,
                "selectors": s.selectors,
            }
            for s in market.shops
        ],
        "config_toml": market.config_toml(database),
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so readers never see a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve until a signal, return the exit code."""
    ap = argparse.ArgumentParser(prog="python -m watcher.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--shops", type=int, default=0, help="competitor shops (scale world)")
    ap.add_argument("--listings", type=int, default=100, help="products per shop (scale world)")
    ap.add_argument("--page-kb", type=int, default=0, help="product page size in KB (0: compact)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port-file", type=Path, required=True, help="where to write the JSON")
    ap.add_argument("--database", default="sqlite:///watcher-bench.db", help="for the config")
    args = ap.parse_args(argv)
    if args.shops < 0 or args.listings < 1:
        ap.error("--shops must be >= 0 and --listings >= 1")
    started = time.perf_counter()
    if args.shops:
        market = Marketplace.scale(args.shops, args.listings, args.page_kb, args.seed)
    else:
        market = Marketplace(seed=args.seed)
    done = threading.Event()
    advance = threading.Event()

    def on_stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    def on_advance(signum: int, frame: FrameType | None) -> None:
        advance.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, on_advance)
    with market:
        write_atomic(
            args.port_file, json.dumps(describe(market, args.database), ensure_ascii=False)
        )
        print(
            f"serving {len(market.shops)} shops on 127.0.0.1 "
            f"(ready in {time.perf_counter() - started:.2f} s); description in {args.port_file}",
            file=sys.stderr,
            flush=True,
        )
        while not done.wait(0.2):
            if advance.is_set():
                advance.clear()
                market.advance()
                write_atomic(
                    args.port_file, json.dumps(describe(market, args.database), ensure_ascii=False)
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
