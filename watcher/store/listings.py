"""Listings: write fetched listings (diffed by :mod:`watcher.store.diff`), with a snapshot
whenever a tracked field changes, in one transaction per batch and a few batched
statements; read them back for the ``listings`` command."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlmodel
from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlmodel import Session, col

from watcher.models import Listing
from watcher.store.db import begin_write, chunks, from_db, pk, utcnow
from watcher.store.diff import TRACKED, ListingDiff, StoredListing, diff_listings
from watcher.store.guard import guarded
from watcher.store.ingest import clean_listings
from watcher.store.records import Change, ListingChanges
from watcher.store.tables import ListingRow, ShopRow, SnapshotRow


def row_listing(row: ListingRow, shop: str | None = None) -> Listing:
    """A stored listing row back as a Listing (without reviews)."""
    return Listing(
        ref=row.ref,
        url=row.url,
        title=row.title,
        price=row.price,
        currency=row.currency,
        compare_at=row.compare_at,
        available=row.available,
        images=[row.image] if row.image else [],
        rating=row.rating,
        rating_count=row.rating_count,
        tags=json.loads(row.tags) if row.tags else [],
        product_type=row.product_type,
        description=row.description,
        published_at=from_db(row.published_at),
        shop=shop,
    )


@dataclass(slots=True)
class ShopListing:
    """A stored listing with the name and role of its shop."""

    row: ListingRow
    shop: str
    role: str

    @property
    def ListingRow(self) -> ListingRow:
        """The listing row (the name the rows of :meth:`ListingStore.rows` were read by)."""
        return self.row


_STATE = (
    col(ListingRow.id),
    col(ListingRow.ref),
    col(ListingRow.fingerprint),
    col(ListingRow.info_fingerprint),
    col(ListingRow.snapshot_id),
    col(ListingRow.removed_at),
    col(ListingRow.own_top),
    col(ListingRow.source),
    col(ListingRow.seller),
)
_TRACKED = tuple(col(getattr(ListingRow, k)) for k in TRACKED)


def stored_state(conn: Connection, shop_id: int) -> Iterator[StoredListing]:
    """Every stored listing of a shop as the diff needs it (no field values)."""
    for lid, ref, fp, info_fp, snap, removed, own_top, source, seller in conn.execute(
        select(*_STATE).where(col(ListingRow.shop_id) == shop_id)
    ):
        yield StoredListing(
            pk(lid),
            ref,
            fp,
            info_fp,
            snap,
            removed is not None,
            own_top is not None,
            source,
            seller,
        )


def tracked_values(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored :data:`TRACKED` fields of these listings, by id."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in chunks(ids):
        for row in conn.execute(
            select(col(ListingRow.id), *_TRACKED).where(col(ListingRow.id).in_(chunk))
        ):
            out[pk(row[0])] = dict(zip(TRACKED, row[1:], strict=True))
    return out


class ListingStore:
    """The ``listing`` and ``snapshot`` tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def apply(
        self,
        shop_id: int,
        listings: Sequence[Listing],
        *,
        complete: bool | None,
        source: str = "catalog",
        own_top: bool = False,
    ) -> ListingChanges:
        """Store fetched listings; return what is new, what changed, what was removed.
        The listings are cleaned first (in place, see :mod:`watcher.store.ingest`); one
        without a usable identity is skipped.

        ``complete`` True (a whole catalog) lets missing listings be marked removed;
        False (partial) or None (search results, single pages) never removes anything.
        """
        now = utcnow()
        fetched = clean_listings(listings, f"shop {shop_id}")
        with begin_write(self.engine) as c:
            held = c.execute(
                select(col(ShopRow.held_digest)).where(col(ShopRow.id) == shop_id)
            ).scalar()
            diff = diff_listings(
                stored_state(c, shop_id),
                fetched,
                complete=complete,
                source=source,
                own_top=own_top,
                held_before=held,
            )
            if complete is True and diff.digest != held:
                c.execute(
                    update(ShopRow)
                    .where(col(ShopRow.id) == shop_id)
                    .values(held_digest=diff.digest)
                )
            before = tracked_values(c, [s.old.id for s in diff.changed])
            self._snapshots(c, diff, before, now)
            self._updates(c, diff)
            new_ids = self._inserts(c, shop_id, diff, now, source, own_top)
            if diff.removed:
                for chunk in chunks(diff.removed):
                    c.execute(
                        update(ListingRow)
                        .where(col(ListingRow.id).in_(chunk))
                        .values(removed_at=now)
                    )
            if complete is True:
                c.execute(
                    update(ListingRow)
                    .where(
                        col(ListingRow.shop_id) == shop_id,
                        col(ListingRow.removed_at).is_(None),
                        col(ListingRow.source) == "catalog",
                    )
                    .values(last_seen=now)
                )
            else:
                seen = [s.old.id for s in diff.seen] + new_ids
                for chunk in chunks(seen):
                    c.execute(
                        update(ListingRow)
                        .where(col(ListingRow.id).in_(chunk))
                        .values(last_seen=now)
                    )
        return _changes(diff, new_ids, before)

    @staticmethod
    def _snapshots(
        c: Connection, diff: ListingDiff, before: dict[int, dict[str, Any]], now: datetime
    ) -> None:
        """One snapshot per changed listing (one statement), linked from the listing."""
        changed = diff.changed
        if not changed:
            return
        rows = [
            {
                "listing_id": s.old.id,
                "taken_at": now,
                "prev_id": s.old.snapshot_id,
                "previous": json.dumps(before[s.old.id], ensure_ascii=False, default=str),
                "pending": True,
                **{k: s.new_values[k] for k in TRACKED},
            }
            for s in changed
        ]
        ids = c.execute(
            insert(SnapshotRow).returning(col(SnapshotRow.id), sort_by_parameter_order=True),
            rows,
        ).scalars()
        for s, snapshot_id in zip(changed, ids, strict=True):
            s.columns["snapshot_id"] = snapshot_id

    @staticmethod
    def _updates(c: Connection, diff: ListingDiff) -> None:
        """Write changed columns: one executemany per set of columns."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for s in diff.seen:
            if s.columns:
                keys = tuple(sorted(s.columns))
                params = {f"v_{k}": v for k, v in s.columns.items()}
                params["v_id"] = s.old.id
                groups.setdefault(keys, []).append(params)
        for keys, params_list in groups.items():
            stmt = (
                update(ListingRow)
                .where(col(ListingRow.id) == bindparam("v_id"))
                .values({k: bindparam(f"v_{k}") for k in keys})
            )
            c.execute(stmt, params_list)

    @staticmethod
    def _inserts(
        c: Connection,
        shop_id: int,
        diff: ListingDiff,
        now: datetime,
        source: str,
        own_top: bool,
    ) -> list[int]:
        """Insert the new listings (one statement); their ids in order."""
        if not diff.new:
            return []
        rows = [
            {
                **n.values,
                "shop_id": shop_id,
                "ref": n.listing.ref,
                "fingerprint": n.fingerprint,
                "first_seen": now,
                "last_seen": now,
                "source": source,
                "own_top": 1 if own_top else None,
            }
            for n in diff.new
        ]
        if c.dialect.name != "sqlite":
            result = c.execute(
                insert(ListingRow).returning(col(ListingRow.id), sort_by_parameter_order=True),
                rows,
            )
            return [pk(i) for i in result.scalars()]
        # SQLite cannot promise the order of a multi-row RETURNING, so SQLAlchemy would send
        # one INSERT per row: one executemany, then the ids by ref, is three times faster.
        c.execute(insert(ListingRow), rows)
        refs = [n.listing.ref for n in diff.new]
        ids: dict[str, int] = {}
        for chunk in chunks(refs):
            q = select(col(ListingRow.ref), col(ListingRow.id)).where(
                col(ListingRow.shop_id) == shop_id, col(ListingRow.ref).in_(chunk)
            )
            ids.update((ref, pk(lid)) for ref, lid in c.execute(q))
        return [ids[ref] for ref in refs]

    @guarded
    def rows(
        self, shop_id: int | None = None, *, active: bool = True, own_top: bool | None = None
    ) -> list[ShopListing]:
        """Stored listings with their shop's name and role, optionally filtered."""
        q = sqlmodel.select(ListingRow, ShopRow.name, ShopRow.role).join(
            ShopRow, col(ShopRow.id) == col(ListingRow.shop_id)
        )
        if shop_id is not None:
            q = q.where(col(ListingRow.shop_id) == shop_id)
        if active:
            q = q.where(col(ListingRow.removed_at).is_(None))
        if own_top is not None:
            own = col(ListingRow.own_top)
            q = q.where(own.is_not(None) if own_top else own.is_(None))
        q = q.order_by(col(ListingRow.shop_id), col(ListingRow.id))
        with Session(self.engine) as s:
            return [ShopListing(row, name, role) for row, name, role in s.exec(q)]

    @guarded
    def set_own_top(self, shop_id: int, listing_ids: Sequence[int]) -> None:
        """Mark exactly these listings of an own shop as its watched top listings (in order)."""
        with self.engine.begin() as c:
            c.execute(
                update(ListingRow)
                .where(col(ListingRow.shop_id) == shop_id, col(ListingRow.own_top).is_not(None))
                .values(own_top=None)
            )
            if listing_ids:
                c.execute(
                    update(ListingRow)
                    .where(col(ListingRow.id) == bindparam("v_id"))
                    .values(own_top=bindparam("v_rank")),
                    [{"v_id": lid, "v_rank": rank} for rank, lid in enumerate(listing_ids, 1)],
                )


def _changes(
    diff: ListingDiff, new_ids: Iterable[int], before: dict[int, dict[str, Any]]
) -> ListingChanges:
    changes = ListingChanges(removed=diff.removed, suspect=diff.suspect)
    for s in diff.seen:
        changes.seen.append((s.old.id, s.listing))
        if s.changed:
            changes.changed.append(
                Change(
                    s.old.id,
                    s.listing,
                    before[s.old.id],
                    {k: s.new_values[k] for k in TRACKED},
                    s.old.snapshot_id,
                )
            )
    for n, lid in zip(diff.new, new_ids, strict=True):
        changes.new.append((lid, n.listing))
        changes.seen.append((lid, n.listing))
    return changes
