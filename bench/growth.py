"""What the database gains per check and per change, by table (rows and bytes on disk).

Runs the real ``watcher check`` (one process per check, as a daemon's pass would store)
against the sample marketplace with a webhook receiver, on a fresh SQLite file, and reads
SQLite's ``dbstat`` (pages of each table and its indexes) after every check:

- ``demo``: the default world; a baseline, then checks with nothing changed (the cost of a
  check alone), then the timeline's steps 1-3 (the cost of the changes they make).
- ``scale``: ``Marketplace.scale(shops, listings)``; a baseline, then ``--steps`` steps that
  each move about 5 % of the competitors' prices, one check per step.

    .venv/bin/python bench/growth.py --shops 5 --listings 200 --steps 3 --out /tmp/growth.json
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e import env  # noqa: E402
from tests.receiver import Receiver  # noqa: E402
from watcher.demo import Marketplace  # noqa: E402


def measure(path: Path) -> dict[str, dict[str, int]]:
    """Rows and bytes (table pages plus its indexes' pages) of every table, after a
    checkpoint so the main file holds everything."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
        out: dict[str, dict[str, int]] = {}
        for name, pages, payload in conn.execute(
            "SELECT name, sum(pgsize), sum(payload) FROM dbstat GROUP BY name"
        ):
            table = owner.get(name, name)
            t = out.setdefault(table, {"rows": 0, "bytes": 0, "payload": 0})
            t["bytes"] += int(pages)
            t["payload"] += int(payload)
        for table in out:
            if table in owner.values() and not table.startswith("sqlite_"):
                out[table]["rows"] = int(
                    conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                )
        out["_file"] = {
            "rows": 0,
            "bytes": path.stat().st_size,
            "payload": int(conn.execute("PRAGMA freelist_count").fetchone()[0]),
        }
        return out
    finally:
        conn.close()


def delta(a: dict[str, dict[str, int]], b: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """b - a, for the tables that changed."""
    out = {}
    for t in sorted(set(a) | set(b)):
        x, y = a.get(t, {}), b.get(t, {})
        d = {k: y.get(k, 0) - x.get(k, 0) for k in ("rows", "bytes", "payload")}
        if any(d.values()):
            out[t] = d
    return out


def check(config: Path) -> tuple[int, float]:
    """One ``watcher check``; its exit code and CPU seconds."""
    t0 = time.process_time()
    before = _child_cpu()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "watcher",
            "--log-level",
            "WARNING",
            "check",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env(),
    )
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr[-2000:])
    return proc.returncode, _child_cpu() - before + time.process_time() - t0


def _child_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(market: Marketplace, work: Path, static: int, steps: int) -> dict[str, Any]:
    """Baseline, ``static`` unchanged checks, then ``steps`` timeline steps."""
    db = work / "growth.db"
    with Receiver() as rx:
        config = work / "growth.toml"
        extra = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url("/hook")}"\n'
        config.write_text(market.config_toml(f"sqlite:///{db}", extra=extra), encoding="utf-8")
        log: list[dict[str, Any]] = []
        prev: dict[str, dict[str, int]] = {}
        for i in range(1 + static + steps):
            label = (
                "baseline" if i == 0 else "static" if i <= static else f"step {market.advance()}"
            )
            code, cpu = check(config)
            now = measure(db)
            log.append(
                {"check": label, "exit": code, "cpu_s": round(cpu, 1), "delta": delta(prev, now)}
            )
            prev = now
        return {"checks": log, "final": prev}


def main() -> None:
    """Parse arguments, run both worlds, print (and write) the JSON."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--shops", type=int, default=5)
    p.add_argument("--listings", type=int, default=200)
    p.add_argument("--static", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--out", default="")
    args = p.parse_args()
    result: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    with tempfile.TemporaryDirectory(prefix="watcher-growth-") as tmp:
        work = Path(tmp)
        (work / "demo").mkdir()
        with Marketplace() as market:
            result["demo"] = run(market, work / "demo", args.static, 3)
        (work / "scale").mkdir()
        with Marketplace.scale(args.shops, args.listings) as market:
            result["scale"] = run(market, work / "scale", args.static, args.steps)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
