"""The own listings' pages as watched: which stored listing each watched ref showed, and
how many checks in a row it answered 404 or 410, behind the ``listed`` change of
``listing_changed`` (a listing taken down, then back on sale).

Only an answer of 404 or 410 counts; any other failure (a 500, a timeout, a captcha, a
page that does not parse) is unknown and leaves the count as it is; a page read with a
product resets it. A ref never read with a product has no row: a configured URL that was
wrong from the start is a config mistake, not a takedown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

import sqlmodel
from sqlalchemy import Engine, insert, update
from sqlmodel import Session, col

from watcher.store.db import from_db, pk, utcnow
from watcher.store.guard import guarded
from watcher.store.listings import row_listing
from watcher.store.records import Listed
from watcher.store.tables import ListingRow, ListingWatchRow

GONE_AFTER = 2
"""Answers of 404/410 in a row that make a listing gone (one can be a hiccup)."""
GONE_STATUS = frozenset({404, 410})
"""The HTTP statuses of a listing page taken down."""


def ref_key(ref: str) -> str:
    """The indexed key of a watched ref."""
    return hashlib.sha1(ref.encode()).hexdigest()


class WatchStore:
    """The ``listing_watch`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def record(
        self, shop_id: int, read: Mapping[str, int], missing: Mapping[str, int]
    ) -> list[Listed]:
        """Record one check of an own shop's watched pages, in one transaction: ``read``
        maps each ref read with a product to its stored listing id, ``missing`` each ref
        that answered 404/410 to that status (refs in neither were unknown this check).

        Returns the listings gone (every check while they stay gone: their findings'
        dedup keys are stable, so a crash before they are recorded loses nothing) and
        those back on sale (once)."""
        if not read and not missing:
            return []
        now = utcnow()
        keys = {ref_key(r): r for r in (*read, *missing)}
        events: list[Listed | None] = []
        with Session(self.engine, expire_on_commit=False) as s:
            rows = {
                row.ref_key: row
                for row in s.exec(
                    sqlmodel.select(ListingWatchRow).where(
                        col(ListingWatchRow.shop_id) == shop_id,
                        col(ListingWatchRow.ref_key).in_(list(keys)),
                    )
                )
            }
            c = s.connection()
            for ref, lid in read.items():
                row = rows.get(ref_key(ref))
                if row is None:
                    c.execute(
                        insert(ListingWatchRow).values(
                            shop_id=shop_id, ref_key=ref_key(ref), ref=ref, listing_id=lid
                        )
                    )
                    continue
                if row.gone_at is not None:
                    events.append(self._listed(s, lid, True, from_db(row.missing_since), None))
                if row.listing_id != lid or row.misses or row.gone_at is not None:
                    c.execute(
                        update(ListingWatchRow)
                        .where(col(ListingWatchRow.id) == pk(row.id))
                        .values(
                            listing_id=lid, misses=0, missing_since=None, status=None, gone_at=None
                        )
                    )
            for ref, status in missing.items():
                row = rows.get(ref_key(ref))
                if row is None:
                    continue
                misses = row.misses + 1
                since = from_db(row.missing_since) or now
                gone = from_db(row.gone_at) or (now if misses >= GONE_AFTER else None)
                c.execute(
                    update(ListingWatchRow)
                    .where(col(ListingWatchRow.id) == pk(row.id))
                    .values(misses=misses, missing_since=since, status=status, gone_at=gone)
                )
                if gone is not None:
                    events.append(self._listed(s, row.listing_id, False, since, status))
            s.commit()
        return [e for e in events if e is not None]

    @staticmethod
    def _listed(
        s: Session, listing_id: int, listed: bool, since: datetime | None, status: int | None
    ) -> Listed | None:
        row = s.get(ListingRow, listing_id)
        if row is None or since is None:  # listings are never deleted; kept for the types
            return None
        return Listed(listing_id, row_listing(row), listed, since, status)
