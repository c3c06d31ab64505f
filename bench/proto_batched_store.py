"""Prototype (not wired in): ``Store._apply_listings`` with batched writes, measured against
the current one on synthetic catalogs. Monkeypatches nothing in watcher/; the batched method
lives here and is installed on a subclass.

Changed listings are written as one executemany INSERT ... RETURNING into ``snapshot`` and
one executemany UPDATE per distinct column set into ``listing`` instead of one statement
each. Same rows, same ListingChanges (checked).

    .venv/bin/python bench/proto_batched_store.py --shops 20 --listings 500 --change 0.05
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from watcher.models import Listing
from watcher.store import Store
from watcher.store.db import utcnow
from watcher.store.repo import (
    INFO,
    TRACKED,
    Change,
    ListingChanges,
    _chunks,
    fingerprint,
    listing_values,
)
from watcher.store.tables import ListingRow, SnapshotRow


class BatchedStore(Store):
    """Store whose listing writes are batched."""

    def _apply_listings(  # type: ignore[override]
        self,
        shop_id: int,
        listings: Any,
        complete: bool | None,
        source: str,
        own_top: bool,
    ) -> ListingChanges:
        now = utcnow()
        changes = ListingChanges()
        cols = [
            ListingRow.id,
            ListingRow.ref,
            ListingRow.fingerprint,
            ListingRow.snapshot_id,
            ListingRow.removed_at,
            ListingRow.own_top,
            ListingRow.source,
            *(getattr(ListingRow, k) for k in TRACKED),
            *(getattr(ListingRow, k) for k in INFO),
        ]
        with self.engine.begin() as c:
            existing = {
                r.ref: r for r in c.execute(select(*cols).where(ListingRow.shop_id == shop_id))
            }
            unique: dict[str, Listing] = {}
            for item in listings:
                unique.setdefault(item.ref, item)
            inserts: list[dict[str, Any]] = []
            snaps: list[dict[str, Any]] = []
            pending: list[tuple[Any, Listing, dict[str, Any], dict[str, Any], str]] = []
            updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for ref, item in unique.items():
                values = listing_values(item)
                values["seller"] = item.shop if source == "search" and item.shop else None
                fp = fingerprint(values)
                old = existing.get(ref)
                if old is None:
                    inserts.append(
                        {
                            **values,
                            "shop_id": shop_id,
                            "ref": ref,
                            "fingerprint": fp,
                            "first_seen": now,
                            "last_seen": now,
                            "source": source,
                            "own_top": 1 if own_top else None,
                        }
                    )
                    continue
                upd: dict[str, Any] = {}
                if old.removed_at is not None:
                    upd["removed_at"] = None
                if own_top and not old.own_top:
                    upd["own_top"] = 1
                if source == "catalog" and old.source != "catalog":
                    upd["source"] = "catalog"
                for k in INFO:
                    if values[k] != getattr(old, k) and not (k == "seller" and values[k] is None):
                        upd[k] = values[k]
                if fp != old.fingerprint:
                    snaps.append(
                        {"listing_id": old.id, "taken_at": now, **{k: values[k] for k in TRACKED}}
                    )
                    pending.append((old, item, values, upd, fp))
                elif upd:
                    updates.setdefault(tuple(sorted(upd)), []).append({"_id": old.id, **upd})
                changes.seen.append((old.id, item))
            if snaps:
                ids = c.execute(
                    insert(SnapshotRow).returning(
                        SnapshotRow.id, SnapshotRow.listing_id, sort_by_parameter_order=True
                    ),
                    snaps,
                ).all()
                for (snap_id, _), (old, item, values, upd, fp) in zip(ids, pending, strict=True):
                    upd.update({k: values[k] for k in TRACKED}, fingerprint=fp, snapshot_id=snap_id)
                    updates.setdefault(tuple(sorted(upd)), []).append({"_id": old.id, **upd})
                    changes.changed.append(
                        Change(
                            old.id,
                            item,
                            {k: getattr(old, k) for k in TRACKED},
                            {k: values[k] for k in TRACKED},
                            old.snapshot_id,
                        )
                    )
            for keys, rows in updates.items():
                stmt = (
                    update(ListingRow)
                    .where(ListingRow.id == bindparam("_id"))
                    .values({k: bindparam(k) for k in keys})
                )
                c.execute(stmt, rows)
            if inserts:
                c.execute(insert(ListingRow), inserts)
                new_refs = [v["ref"] for v in inserts]
                got = dict(
                    c.execute(
                        select(ListingRow.ref, ListingRow.id).where(
                            ListingRow.shop_id == shop_id, ListingRow.ref.in_(new_refs)
                        )
                    ).all()
                )
                for ref in new_refs:
                    changes.new.append((got[ref], unique[ref]))
                    changes.seen.append((got[ref], unique[ref]))
            seen_ids = [i for i, _ in changes.seen]
            if complete is True:
                gone = [
                    r.id
                    for ref, r in existing.items()
                    if ref not in unique and r.removed_at is None and r.source == "catalog"
                ]
                active_before = sum(
                    1 for r in existing.values() if r.removed_at is None and r.source == "catalog"
                )
                if gone and (not unique or len(gone) > max(5, active_before // 2)):
                    changes.suspect = (
                        f"catalog shrank from {active_before} to {len(unique)} listings at once;"
                        " not trusted"
                    )
                elif gone:
                    c.execute(
                        update(ListingRow).where(ListingRow.id.in_(gone)).values(removed_at=now)
                    )
                    changes.removed = gone
                c.execute(
                    update(ListingRow)
                    .where(
                        ListingRow.shop_id == shop_id,
                        ListingRow.removed_at.is_(None),
                        ListingRow.source == "catalog",
                    )
                    .values(last_seen=now)
                )
            elif seen_ids:
                for chunk in _chunks(seen_ids, 500):
                    c.execute(
                        update(ListingRow).where(ListingRow.id.in_(chunk)).values(last_seen=now)
                    )
        return changes


def catalog(shop: int, n: int, step: int, change: float) -> list[Listing]:
    """A synthetic catalog; at ``step`` > 0 a ``change`` share of prices moved."""
    rng = random.Random(shop * 1000 + step)
    out = []
    for i in range(n):
        price = 10.0 + (i % 97)
        if step and rng.random() < change:
            price += step
        out.append(
            Listing(
                ref=f"{shop}-{i}",
                url=f"https://s{shop}.example/products/p{i}",
                title=f"Linen summer dress model {i}",
                price=price,
                currency="CNY",
                available=True,
                images=[f"https://s{shop}.example/img/{i}.jpg"],
                tags=["summer", "linen"],
                product_type="Dresses",
                description="A light dress.",
                shop=f"S{shop}",
            )
        )
    return out


def run(cls: type[Store], shops: int, n: int, change: float, passes: int) -> dict[str, Any]:
    """CPU and wall seconds of apply_listings per pass; the changed counts."""
    with tempfile.TemporaryDirectory() as tmp:
        store = cls(f"sqlite:///{Path(tmp) / 'b.db'}")
        ids = [
            store.ensure_shop(f"S{s}", "shopify", "competitor", "https://x").id
            for s in range(shops)
        ]
        out = []
        for step in range(passes):
            cats = [catalog(s, n, step, change) for s in range(shops)]
            c0, w0 = time.process_time(), time.perf_counter()
            changed = 0
            for sid, cat in zip(ids, cats, strict=True):
                changed += len(store.apply_listings(sid, cat, complete=True).changed)
            out.append(
                {
                    "pass": step + 1,
                    "cpu_s": round(time.process_time() - c0, 3),
                    "wall_s": round(time.perf_counter() - w0, 3),
                    "changed": changed,
                }
            )
        store.close()
    return {"store": cls.__name__, "passes": out}


def main() -> None:
    """Compare the two stores (alternating, ``--repeat`` times)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--shops", type=int, default=20)
    ap.add_argument("--listings", type=int, default=500)
    ap.add_argument("--change", type=float, default=0.05)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for _ in range(args.repeat):
        for cls in (Store, BatchedStore):
            print(json.dumps(run(cls, args.shops, args.listings, args.change, args.passes)))


if __name__ == "__main__":
    main()
