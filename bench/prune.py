"""Time of the price-history retention pass and what it does to the SQLite file.

Builds ``--listings`` listings on a fresh SQLite file (or ``--database``), writes
``--changes`` price changes to each (one snapshot per change), ages all of them past the
cutoff, then runs the pass (:func:`watcher.store.retention.prune_history`, batches of 500).
Prints rows, file size, free pages and the longest batch (wall and CPU).

    .venv/bin/python bench/prune.py --listings 2000 --changes 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from watcher.models import Listing  # noqa: E402
from watcher.store import Store  # noqa: E402
from watcher.store.retention import HistoryRetention  # noqa: E402


def _file(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {
            "file_bytes": path.stat().st_size,
            "free_pages": int(conn.execute("PRAGMA freelist_count").fetchone()[0]),
            "page_size": int(conn.execute("PRAGMA page_size").fetchone()[0]),
            "auto_vacuum": int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]),
        }
    finally:
        conn.close()


class _Timed(HistoryRetention):
    """Records each batch's wall and CPU time."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.engine)
        self.batches: list[tuple[float, float]] = []

    def prune_batch(self, cutoff: datetime, after: int = 0, batch: int = 500) -> tuple[int, int]:
        w, c = time.perf_counter(), time.process_time()
        out = super().prune_batch(cutoff, after, batch)
        self.batches.append((time.perf_counter() - w, time.process_time() - c))
        return out


def main() -> None:
    """Build, age, prune, print JSON."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listings", type=int, default=2000)
    p.add_argument("--changes", type=int, default=20)
    args = p.parse_args()
    from watcher.store.retention import prune_history

    with tempfile.TemporaryDirectory(prefix="watcher-prune-") as tmp:
        path = Path(tmp) / "p.db"
        store = Store(f"sqlite:///{path}")
        shop = store.registry.ensure_shop("S", "shopify", "competitor", "https://s.example")
        for step in range(args.changes + 1):
            store.catalog.apply(
                shop.id,
                [
                    Listing(
                        ref=str(i),
                        url=f"https://s.example/p/{i}",
                        title=f"Item {i} with a title of ordinary length for a product",
                        price=100.0 + step,
                        currency="CNY",
                        available=True,
                        images=[f"https://cdn.s.example/files/{i}/main-photo.jpg"],
                    )
                    for i in range(args.listings)
                ],
                complete=True,
            )
        with store.engine.begin() as c:
            c.execute(text("UPDATE snapshot SET pending = false"))
            c.execute(
                text("UPDATE snapshot SET taken_at = :t"),
                {"t": datetime.now(UTC) - timedelta(days=400)},
            )
        rows = store.counts()["snapshot"]
        before = _file(path)
        part = _Timed(store)
        cpu, wall = time.process_time(), time.perf_counter()
        deleted = asyncio.run(prune_history(part, timedelta(days=365), datetime.now(UTC), pause=0))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        after = _file(path)
        store.close()
    print(
        json.dumps(
            {
                "command": " ".join(sys.argv),
                "loadavg": Path("/proc/loadavg").read_text().split()[:3],
                "snapshots": rows,
                "deleted": deleted,
                "batches": len(part.batches),
                "pass_cpu_s": round(cpu, 2),
                "pass_wall_s": round(wall, 2),
                "longest_batch_wall_ms": round(max(w for w, _ in part.batches) * 1000, 1),
                "longest_batch_cpu_ms": round(max(c for _, c in part.batches) * 1000, 1),
                "before": before,
                "after": after,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
