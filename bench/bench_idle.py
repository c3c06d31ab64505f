"""An idle watcher: many consecutive passes over a marketplace where nothing changes.

Starts ``python -m watcher.demo --shops N --listings M`` in its own process and runs
``app.runner.check()`` PASSES times in THIS process (through ``watcher.app.open_app``) on
a fresh SQLite database, so this process's RSS can be followed. After every pass the WAL is
checkpointed (TRUNCATE) and the database file size, the bytes in use (pages minus free
pages), the row count of every table and VmRSS are recorded. Prints one JSON line per pass
with ``--verbose`` and a JSON summary at the end:

* ``db_bytes_per_pass``: file growth per pass after the first (target < 2 KB);
* ``rss_growth``: RSS at the last pass relative to pass ``--warmup`` (target < 10 %).

    .venv/bin/python bench/bench_idle.py --shops 5 --listings 200 --passes 200
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from watcher import logs
from watcher.app import open_app
from watcher.config import parse_config


def vm_kib(field: str = "VmRSS") -> int:
    """A memory figure of this process in KiB from /proc/self/status (VmRSS: resident now,
    VmHWM: peak resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def start_market(shops: int, listings: int, port_file: Path) -> subprocess.Popen[bytes]:
    """The scale marketplace in its own process; returns once it serves."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watcher.demo",
            "--shops",
            str(shops),
            "--listings",
            str(listings),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.terminate()
            raise SystemExit("the sample marketplace did not start")
        time.sleep(0.1)
    return proc


def db_state(engine: Any, path: Path) -> dict[str, Any]:
    """Checkpoint the WAL, then file sizes, bytes in use and row counts."""
    with engine.connect() as c:
        c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        page_size = c.execute(text("PRAGMA page_size")).scalar()
        pages = c.execute(text("PRAGMA page_count")).scalar()
        free = c.execute(text("PRAGMA freelist_count")).scalar()
        rows = {
            t: c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
            for t in inspect(engine).get_table_names()
        }
    wal = path.with_name(path.name + "-wal")
    return {
        "file_bytes": path.stat().st_size + (wal.stat().st_size if wal.exists() else 0),
        "used_bytes": (pages - free) * page_size,
        "rows": rows,
    }


async def run(args: argparse.Namespace, config_toml: str, db_path: Path) -> dict[str, Any]:
    """All passes in this process; per-pass records."""
    toml_text = re.sub(
        r'(?m)^database = ".*"$', f'database = "sqlite:///{db_path}"', config_toml, count=1
    )
    import tomllib

    config = parse_config(tomllib.loads(toml_text), env={})
    records: list[dict[str, Any]] = []
    async with open_app(config) as app:
        for n in range(1, args.passes + 1):
            start = time.perf_counter()
            report = await app.runner.check()
            wall = time.perf_counter() - start
            gc.collect()
            state = db_state(app.store.engine, db_path)
            rec = {
                "pass": n,
                "wall_s": round(wall, 3),
                "failed": len(report.failed),
                "findings": len(report.findings),
                "rss_kib": vm_kib(),
                "peak_rss_kib": vm_kib("VmHWM"),
                **state,
            }
            records.append(rec)
            if args.verbose:
                print(json.dumps(rec), flush=True)
    return {"records": records}


def summarise(records: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    """Growth figures from the per-pass records."""
    first, last = records[0], records[-1]
    later = len(records) - 1
    warm = records[min(warmup, len(records)) - 1]
    rows_first, rows_last = first["rows"], last["rows"]
    walls = sorted(r["wall_s"] for r in records[1:]) or [first["wall_s"]]
    return {
        "passes": len(records),
        "first_pass_s": first["wall_s"],
        "median_idle_pass_s": walls[len(walls) // 2],
        "failed_checks": sum(r["failed"] for r in records),
        "findings_after_first": sum(r["findings"] for r in records[1:]),
        "db_file_bytes_after_pass1": first["file_bytes"],
        "db_file_bytes_final": last["file_bytes"],
        "db_bytes_per_pass": round((last["file_bytes"] - first["file_bytes"]) / max(later, 1), 1),
        "db_used_bytes_per_pass": round(
            (last["used_bytes"] - first["used_bytes"]) / max(later, 1), 1
        ),
        "row_growth": {
            t: rows_last[t] - rows_first.get(t, 0)
            for t in rows_last
            if rows_last[t] != rows_first.get(t, 0)
        },
        "rss_mib_pass1": round(first["rss_kib"] / 1024, 1),
        f"rss_mib_pass{warm['pass']}": round(warm["rss_kib"] / 1024, 1),
        "rss_mib_final": round(last["rss_kib"] / 1024, 1),
        "rss_growth_after_warmup": round(last["rss_kib"] / warm["rss_kib"] - 1, 4),
        "peak_rss_mib": round(last["peak_rss_kib"] / 1024, 1),
        "rss_mib_curve": {
            r["pass"]: round(r["rss_kib"] / 1024, 1)
            for r in records
            if r["pass"] in (1, 2, 5, 10, 20, 50, 100, 150, 200) or r is last
        },
    }


def main() -> None:
    """Run the benchmark and print the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shops", type=int, default=5)
    ap.add_argument("--listings", type=int, default=200)
    ap.add_argument("--passes", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20, help="RSS growth is measured from here")
    ap.add_argument("--verbose", action="store_true", help="one JSON line per pass")
    ap.add_argument("--records", type=Path, help="write every per-pass record to this file")
    args = ap.parse_args()
    logs.setup("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "market.json"
        market = start_market(args.shops, args.listings, port_file)
        try:
            desc = json.loads(port_file.read_text())
            db_path = Path(tmp) / "idle.db"
            out = asyncio.run(run(args, desc["config_toml"], db_path))
        finally:
            market.terminate()
            market.wait(10)
    records = out["records"]
    if args.records:
        args.records.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    summary = {
        "shops": args.shops,
        "listings_per_shop": args.listings,
        **summarise(records, args.warmup),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
