"""Prototype gains on a whole check: client CPU seconds of pass 1 (empty database) and pass 2
(about 5% of prices moved) with optional patches applied in this process only:

* ``pool``: the HTTP pool keeps a connection per host (``max_connections`` and
  ``max_keepalive_connections`` 64 instead of 2x / 1x ``concurrency``), so 20+ shops
  checked together stop evicting each other's connections;
* ``batched``: :class:`bench.proto_batched_store.BatchedStore` (executemany writes);
* ``nocache``: no in-memory conditional-request cache (``cache_bytes = 0``): a one-shot
  ``watcher check`` process never reuses it, yet it keeps up to 64 MB of bodies alive;
* sniffio is not a patch: run with ``PYTHONPATH`` pointing at a directory holding
  ``sniffio`` (``pip install --target DIR sniffio``) to measure it.

Each pass opens its own app (as ``watcher check`` does: no HTTP cache carried over) against
a marketplace already serving (``python -m watcher.demo ... --port-file F``); SIGUSR1 moves
its prices between the passes. CPU time is reported because the machine is shared: wall
time depends on other load.

    .venv/bin/python bench/proto_check_cpu.py --market F --patch pool --patch batched
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import signal
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import httpcore
import httpx

from watcher import logs
from watcher.app import open_app
from watcher.config import parse_config

sys.path.insert(0, str(Path(__file__).resolve().parent))

CONNECTIONS = {"opened": 0}


def _count_connections() -> None:
    original = httpcore.AsyncConnectionPool.create_connection

    def counting(self: Any, origin: Any) -> Any:
        CONNECTIONS["opened"] += 1
        return original(self, origin)

    httpcore.AsyncConnectionPool.create_connection = counting  # type: ignore[method-assign]


def _patch_pool() -> None:
    real = httpx.Limits

    def limits(**_: Any) -> httpx.Limits:
        return real(max_connections=64, max_keepalive_connections=64)

    httpx.Limits = limits  # type: ignore[misc,assignment]


async def one_pass(config: Any, store_cls: Any) -> dict[str, Any]:
    """One check in a fresh app; CPU and wall seconds."""
    CONNECTIONS["opened"] = 0
    store = store_cls(config.watcher.database) if store_cls else None
    c0, w0 = time.process_time(), time.perf_counter()
    async with open_app(config, store) as app:
        report = await app.runner.check()
        requests = app.http.requests
    if store is not None:
        store.close()
    return {
        "cpu_s": round(time.process_time() - c0, 2),
        "wall_s": round(time.perf_counter() - w0, 2),
        "requests": requests,
        "connections": CONNECTIONS["opened"],
        "findings": len(report.findings),
        "failed": len(report.failed),
        "peak_rss_mb": round(_vm("VmHWM") / 1024, 1),
    }


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    """Run pass 1 and pass 2 and print one JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--market", type=Path, required=True, help="the marketplace's port file")
    ap.add_argument("--patch", action="append", default=[], choices=["pool", "batched", "nocache"])
    args = ap.parse_args()
    logs.setup("ERROR")
    _count_connections()
    if "pool" in args.patch:
        _patch_pool()
    if "nocache" in args.patch:
        import watcher.app

        real_settings = watcher.app.http_settings

        def no_cache(config: Any) -> Any:
            settings = real_settings(config)
            settings.cache_bytes = 0
            return settings

        watcher.app.http_settings = no_cache  # type: ignore[assignment]
    store_cls = None
    if "batched" in args.patch:
        from proto_batched_store import BatchedStore

        store_cls = BatchedStore
    desc = json.loads(args.market.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "p.db"
        text = re.sub(
            r'(?m)^database = ".*"$', f'database = "sqlite:///{db}"', desc["config_toml"], count=1
        )
        config = parse_config(tomllib.loads(text), env={})
        first = asyncio.run(one_pass(config, store_cls))
        os.kill(desc["pid"], signal.SIGUSR1)
        time.sleep(0.5)
        second = asyncio.run(one_pass(config, store_cls))
    print(
        json.dumps(
            {
                "patches": sorted(args.patch)
                + (["sniffio"] if importlib.util.find_spec("sniffio") else []),
                "pass1": first,
                "pass2": second,
                "load": os.getloadavg()[0],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
