"""Price history retention: snapshots superseded before ``[watcher] keep_history`` ago.

A snapshot is deleted only when a newer snapshot of the same listing was itself taken
before the cutoff, so the state in force at every moment after the cutoff (the one the
dashboard draws and ``low_window`` compares with) is still stored exactly; only the path
that led to it is forgotten. Never deleted: a listing's latest snapshot (the diff base and
the ``prev_snapshot`` of its next change), a pending snapshot (its findings are not recorded
yet), any snapshot taken after the cutoff. Nothing else is pruned here: alerts hold the
dedup keys, reviews the keys that tell an old review from a new one, listings the refs that
tell a returning listing from a new one, images and thumbnails the evidence of copies.

Work is done in short transactions of ``batch`` rows, walking the ids upwards, and is
claimed at most once per ``every`` through a ``meta`` row, so several instances (or a
daemon and a cron ``check``) share one pass a day.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from loguru import logger
from sqlalchemy import Engine, and_, delete, exists, select, update
from sqlalchemy.orm import aliased
from sqlmodel import col

from watcher.errors import StorageError
from watcher.store.db import begin_write, insert_ignore, pk, to_db
from watcher.store.guard import guarded
from watcher.store.tables import ListingRow, Meta, SnapshotRow

CLAIM_KEY = "history_pruned_at"
BATCH = 500
"""Snapshots deleted per transaction: a few milliseconds of write lock on SQLite."""


def _stamp(moment: datetime) -> str:
    """A fixed-width UTC ISO time: such strings sort as the moments do."""
    value = to_db(moment)
    assert value is not None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class HistoryRetention:
    """Deletes superseded snapshots older than a cutoff, a batch at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def claim(self, now: datetime, every: timedelta) -> bool:
        """True when no pass was claimed in the last ``every``; records ``now`` as this
        pass's claim (one conditional UPDATE, so two instances never both win)."""
        with begin_write(self.engine) as c:
            c.execute(insert_ignore(c.dialect.name, Meta, {"key": CLAIM_KEY, "value": ""}, ["key"]))
            won = c.execute(
                update(Meta)
                .where(col(Meta.key) == CLAIM_KEY, col(Meta.value) <= _stamp(now - every))
                .values(value=_stamp(now))
                .returning(col(Meta.key))
            ).first()
            return won is not None

    @guarded
    def prune_batch(self, cutoff: datetime, after: int = 0, batch: int = BATCH) -> tuple[int, int]:
        """Delete up to ``batch`` prunable snapshots with an id above ``after``; returns how
        many were deleted and the id to continue after (``-1`` when none are left)."""
        newer = aliased(SnapshotRow)
        at = to_db(cutoff)
        superseded = exists().where(
            col(newer.listing_id) == col(SnapshotRow.listing_id),
            col(newer.id) > col(SnapshotRow.id),
            col(newer.taken_at) < at,
        )
        latest = exists().where(
            and_(
                col(ListingRow.id) == col(SnapshotRow.listing_id),
                col(ListingRow.snapshot_id) == col(SnapshotRow.id),
            )
        )
        prunable = (
            col(SnapshotRow.taken_at) < at,
            col(SnapshotRow.pending).is_(False),
            superseded,
            ~latest,
        )
        q = (
            select(col(SnapshotRow.id))
            .where(col(SnapshotRow.id) > after, *prunable)
            .order_by(col(SnapshotRow.id))
            .limit(batch)
        )
        # The search reads without the write lock (it may scan many kept rows); the delete
        # takes it only for the ids found, checking again that each may go.
        with self.engine.connect() as c:
            ids = [pk(i) for (i,) in c.execute(q)]
        deleted = 0
        if ids:
            with begin_write(self.engine) as c:
                gone = c.execute(delete(SnapshotRow).where(col(SnapshotRow.id).in_(ids), *prunable))
                deleted = gone.rowcount
        return deleted, (-1 if len(ids) < batch else ids[-1])


async def prune_history(
    part: HistoryRetention,
    keep: timedelta,
    now: datetime,
    *,
    every: timedelta = timedelta(days=1),
    pause: float = 0.05,
    batch: int = BATCH,
    stop: asyncio.Event | None = None,
) -> int | None:
    """One retention pass when ``keep`` is set and none ran in the last ``every``: deletes
    the snapshots superseded before ``now - keep``, a batch per transaction with ``pause``
    seconds between batches so checks running beside it keep their turn. Returns how many
    were deleted, or None when no pass was due. A set ``stop`` ends the pass after the
    batch in hand (the rest waits for the next day's pass)."""
    # On a worker thread: the search for old rows may scan a large table, and the daemon's
    # event loop keeps serving checks meanwhile.
    if not keep or not await asyncio.to_thread(part.claim, now, every):
        return None
    cutoff, after, total = now - keep, 0, 0
    while after >= 0 and not (stop is not None and stop.is_set()):
        deleted, after = await asyncio.to_thread(part.prune_batch, cutoff, after, batch)
        total += deleted
        if after >= 0:
            await asyncio.sleep(pause)
    return total


async def keep_history(
    part: HistoryRetention, keep: timedelta, stop: asyncio.Event | None = None
) -> None:
    """The daily pass as the daemon and ``watcher check`` run it: logged, and a database
    failure only logged (the next pass tries again; nothing depends on pruning)."""
    try:
        deleted = await prune_history(part, keep, datetime.now(UTC), stop=stop)
    except StorageError as e:
        logger.error("could not prune old price history (tried again tomorrow): {}", e)
        return
    if deleted is not None:
        logger.info(
            "price history older than {} days pruned: {} snapshot(s) deleted", keep.days, deleted
        )
