"""The outbox tables: alerts (one per ``dedup_key``, ever) and their deliveries, one per
(alert, channel), claimed with a lease so that processes sharing the database never send
the same delivery at once.

A delivery is ``pending`` until sent (``sent``) or refused for good (``failed``). A claim
sets ``claimed_until``; a process that dies holding a claim leaves it to expire, and the
delivery is claimed again: at most one duplicate per crash, never a loss.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlmodel
from sqlalchemy import Engine, func, insert, or_, select, update
from sqlmodel import Session, col

from watcher.models import Finding
from watcher.store.db import begin_write, chunks, from_db, insert_ignore, pk, utcnow
from watcher.store.guard import guarded
from watcher.store.ingest import clean_str
from watcher.store.tables import AlertRow, DeliveryRow

ERROR_CHARS = 2000
DEDUP_CHARS = 512
SHOP_CHARS = 255


def _claimable(now: datetime) -> Any:
    return or_(col(DeliveryRow.claimed_until).is_(None), col(DeliveryRow.claimed_until) < now)


class OutboxStore:
    """The ``alert`` and ``delivery`` tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def add_findings(
        self,
        findings: Sequence[Finding],
        channels: Mapping[str, Callable[[Finding], bool | datetime]],
        *,
        now: datetime | None = None,
    ) -> list[tuple[int, Finding]]:
        """Insert findings whose dedup_key is new; queue a delivery per matching channel.

        ``channels`` maps a channel name to ``due(finding)``: False for no delivery, True
        for a delivery due ``now``, a datetime for one held until then (a digest).
        Returns the findings that were new. Safe when several processes share the database:
        the unique ``dedup_key`` decides who inserts.
        """
        now = now or utcnow()
        unique: dict[str, Finding] = {}
        for f in findings:
            unique.setdefault(f.dedup_key[:DEDUP_CHARS], f)
        if not unique:
            return []
        rows = [
            {
                "dedup_key": key,
                "kind": f.kind,
                "severity": str(f.severity),
                "shop": f.shop[:SHOP_CHARS],
                "summary": f.summary,
                "payload": json.dumps(f.to_json(), ensure_ascii=False, default=str),
                "created_at": now,
            }
            for key, f in unique.items()
        ]
        with self.engine.begin() as c:
            # One statement for the batch; a key another process (or an earlier check)
            # inserted returns no row, so only the new findings get deliveries.
            stmt = insert_ignore(c.dialect.name, AlertRow, None, ["dedup_key"]).returning(
                col(AlertRow.id), col(AlertRow.dedup_key)
            )
            ids = {key: pk(alert_id) for alert_id, key in c.execute(stmt, rows)}
            added = [(ids[key], f) for key, f in unique.items() if key in ids]
            deliveries = [
                {
                    "alert_id": alert_id,
                    "channel": name,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now if due is True else due,
                }
                for alert_id, f in added
                for name, when in channels.items()
                if (due := when(f)) is not False
            ]
            if deliveries:
                c.execute(insert(DeliveryRow), deliveries)
        return added

    @guarded
    def claim_due(
        self, channel: str, lease: timedelta, limit: int = 5000, *, now: datetime | None = None
    ) -> list[tuple[int, Finding]]:
        """Claim the channel's due deliveries for ``lease`` so no other process sends them;
        returns (delivery id, finding) in alert order."""
        now = now or utcnow()
        with begin_write(self.engine) as c:
            rows = c.execute(
                select(col(DeliveryRow.id), col(AlertRow.payload))
                .join(AlertRow, col(AlertRow.id) == col(DeliveryRow.alert_id))
                .where(
                    col(DeliveryRow.channel) == channel,
                    col(DeliveryRow.state) == "pending",
                    col(DeliveryRow.next_attempt_at) <= now,
                    _claimable(now),
                )
                .order_by(col(DeliveryRow.alert_id))
                .limit(limit)
            ).all()
            claimed: list[tuple[int, Finding]] = []
            for delivery_id, payload in rows:
                # Conditional on the claim still being free: of two processes that read the
                # same row, only one updates it.
                res = c.execute(
                    update(DeliveryRow)
                    .where(
                        col(DeliveryRow.id) == delivery_id,
                        col(DeliveryRow.state) == "pending",
                        _claimable(now),
                    )
                    .values(claimed_until=now + lease)
                )
                if res.rowcount:
                    claimed.append((pk(delivery_id), Finding.from_json(json.loads(payload))))
        return claimed

    @guarded
    def mark_sent(self, delivery_ids: Sequence[int]) -> None:
        """Record deliveries as sent."""
        now = utcnow()
        with self.engine.begin() as c:
            for chunk in chunks(delivery_ids):
                c.execute(
                    update(DeliveryRow)
                    .where(col(DeliveryRow.id).in_(chunk))
                    .values(
                        state="sent",
                        sent_at=now,
                        claimed_until=None,
                        attempts=col(DeliveryRow.attempts) + 1,
                        last_error=None,
                    )
                )

    @guarded
    def mark_failed(
        self, delivery_ids: Sequence[int], error: str, *, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: pending again at ``retry_at``, or failed for good."""
        values: dict[str, Any] = {
            "claimed_until": None,
            "attempts": col(DeliveryRow.attempts) + 1,
            "last_error": clean_str(error, ERROR_CHARS),
        }
        if retry_at is None:
            values["state"] = "failed"
        else:
            values["next_attempt_at"] = retry_at
        with self.engine.begin() as c:
            for chunk in chunks(delivery_ids):
                c.execute(update(DeliveryRow).where(col(DeliveryRow.id).in_(chunk)).values(values))

    @guarded
    def attempts(self, delivery_ids: Sequence[int]) -> int:
        """The highest attempt count among these deliveries."""
        with self.engine.connect() as c:
            return int(
                c.execute(
                    select(func.max(col(DeliveryRow.attempts))).where(
                        col(DeliveryRow.id).in_(list(delivery_ids))
                    )
                ).scalar()
                or 0
            )

    @guarded
    def next_due(self, channels: Sequence[str]) -> datetime | None:
        """When the earliest pending delivery of these channels is due (a held digest, a
        retry), or None."""
        if not channels:
            return None
        with self.engine.connect() as c:
            value = c.execute(
                select(func.min(col(DeliveryRow.next_attempt_at))).where(
                    col(DeliveryRow.state) == "pending",
                    col(DeliveryRow.channel).in_(list(channels)),
                )
            ).scalar()
        return from_db(value)

    @guarded
    def requeue_failed(self, channel: str | None = None) -> int:
        """Make failed and pending deliveries due now (releasing the claims of processes
        that died sending); returns how many. A delivery held for a digest (never tried,
        not claimed, due later) keeps its time."""
        now = utcnow()
        held = (
            (col(DeliveryRow.attempts) == 0)
            & col(DeliveryRow.claimed_until).is_(None)
            & (col(DeliveryRow.next_attempt_at) > now)
        )
        q = update(DeliveryRow).where(
            or_(
                col(DeliveryRow.state) == "failed",
                (col(DeliveryRow.state) == "pending") & ~held,
            )
        )
        if channel:
            q = q.where(col(DeliveryRow.channel) == channel)
        with self.engine.begin() as c:
            return int(
                c.execute(
                    q.values(state="pending", next_attempt_at=now, claimed_until=None)
                ).rowcount
            )

    @guarded
    def alerts(self, limit: int = 200) -> list[tuple[AlertRow, list[DeliveryRow]]]:
        """The newest alerts with their deliveries."""
        with Session(self.engine) as s:
            rows = list(
                s.exec(sqlmodel.select(AlertRow).order_by(col(AlertRow.id).desc()).limit(limit))
            )
            ids = [r.id for r in rows if r.id is not None]
            deliveries: dict[int, list[DeliveryRow]] = {}
            for d in s.exec(
                sqlmodel.select(DeliveryRow)
                .where(col(DeliveryRow.alert_id).in_(ids))
                .order_by(col(DeliveryRow.channel))
            ):
                deliveries.setdefault(d.alert_id, []).append(d)
            return [(r, deliveries.get(r.id or 0, [])) for r in rows]
