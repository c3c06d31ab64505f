"""Shops and their checks: the shop rows (by configured name), check runs, and the count
of failed checks in a row behind ``shop_unreachable``."""

from __future__ import annotations

from typing import Any

import sqlmodel
from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlmodel import Session, col

from watcher.store.db import insert_ignore, pk, utcnow
from watcher.store.guard import guarded
from watcher.store.ingest import clean_str
from watcher.store.tables import CheckRunRow, ShopRow

KEEP_RUNS = 50
"""Check runs kept per shop."""
ERROR_CHARS = 2000


class ShopRegistry:
    """The ``shop`` and ``check_run`` tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def ensure_shop(self, name: str, kind: str, role: str, url: str) -> ShopRow:
        """The row of the named shop, created or updated to the config's kind/role/url.
        Safe when several processes start at once: the unique name decides who inserts."""
        with self.engine.begin() as c:
            c.execute(
                insert_ignore(
                    c.dialect.name,
                    ShopRow,
                    {"name": name, "kind": kind, "role": role, "url": url, "created_at": utcnow()},
                    ["name"],
                )
            )
            c.execute(
                update(ShopRow)
                .where(
                    col(ShopRow.name) == name,
                    or_(
                        col(ShopRow.kind) != kind,
                        col(ShopRow.role) != role,
                        col(ShopRow.url) != url,
                    ),
                )
                .values(kind=kind, role=role, url=url)
            )
        with Session(self.engine) as s:
            row = s.exec(sqlmodel.select(ShopRow).where(col(ShopRow.name) == name)).first()
            assert row is not None
            return row

    @guarded
    def shops(self) -> list[ShopRow]:
        """Every shop row."""
        with Session(self.engine) as s:
            return list(s.exec(sqlmodel.select(ShopRow).order_by(col(ShopRow.id))))

    @guarded
    def get_shop(self, shop_id: int) -> ShopRow:
        """One shop row by id."""
        with Session(self.engine) as s:
            row = s.get(ShopRow, shop_id)
            assert row is not None
            return row

    @guarded
    def begin_run(self, shop_id: int) -> int:
        """Record the start of a check of a shop."""
        with self.engine.begin() as c:
            return pk(
                c.execute(
                    insert(CheckRunRow)
                    .values(shop_id=shop_id, started_at=utcnow(), status="running")
                    .returning(col(CheckRunRow.id))
                ).scalar_one()
            )

    @guarded
    def finish_run(
        self, run_id: int, shop_id: int, status: str, error: str | None, listings: int
    ) -> None:
        """Record the end of a check and keep only the latest runs of the shop."""
        with self.engine.begin() as c:
            c.execute(
                update(CheckRunRow)
                .where(col(CheckRunRow.id) == run_id)
                .values(
                    finished_at=utcnow(),
                    status=status,
                    error=clean_str(error, ERROR_CHARS),
                    listings=listings,
                )
            )
            keep = (
                select(col(CheckRunRow.id))
                .where(col(CheckRunRow.shop_id) == shop_id)
                .order_by(col(CheckRunRow.id).desc())
                .limit(KEEP_RUNS)
            )
            c.execute(
                delete(CheckRunRow).where(
                    col(CheckRunRow.shop_id) == shop_id,
                    col(CheckRunRow.id).not_in(keep.scalar_subquery()),
                )
            )

    @guarded
    def record_failure(self, shop_id: int, error: str) -> ShopRow:
        """Count one more failed check in a row; returns the updated shop."""
        now = utcnow()
        with self.engine.begin() as c:
            c.execute(
                update(ShopRow)
                .where(col(ShopRow.id) == shop_id)
                .values(
                    failures=col(ShopRow.failures) + 1,
                    failing_since=func.coalesce(col(ShopRow.failing_since), now),
                    last_error=clean_str(error, ERROR_CHARS),
                )
            )
        return self.get_shop(shop_id)

    @guarded
    def record_success(self, shop_id: int, *, baseline: bool) -> None:
        """Reset the failure count; set the baseline time on the first complete catalog."""
        now = utcnow()
        values: dict[str, Any] = {
            "failures": 0,
            "failing_since": None,
            "last_ok_at": now,
            "last_error": None,
        }
        with self.engine.begin() as c:
            c.execute(update(ShopRow).where(col(ShopRow.id) == shop_id).values(**values))
            if baseline:
                c.execute(
                    update(ShopRow)
                    .where(col(ShopRow.id) == shop_id, col(ShopRow.baseline_at).is_(None))
                    .values(baseline_at=now)
                )
