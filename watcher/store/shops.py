"""Shops and their checks: the shop rows (by configured name), check runs, and the count
of failed checks in a row behind ``shop_unreachable``. A shop's check is bracketed by two
transactions: :meth:`ShopRegistry.start_check` and :meth:`ShopRegistry.finish_check`."""

from __future__ import annotations

import sqlmodel
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update
from sqlmodel import Session, col

from watcher.store.db import insert_ignore, pk, utcnow
from watcher.store.guard import guarded
from watcher.store.ingest import clean_str
from watcher.store.tables import CheckRunRow, ShopRow

KEEP_RUNS = 50
"""Check runs kept per shop."""
ERROR_CHARS = 2000


def _ensure(c: Connection, name: str, kind: str, role: str, url: str) -> None:
    """Insert the shop unless a row of that name exists (several processes may start at
    once: the unique name decides who inserts), then bring kind/role/url up to date."""
    values = {"name": name, "kind": kind, "role": role, "url": url, "created_at": utcnow()}
    c.execute(insert_ignore(c.dialect.name, ShopRow, values, ["name"]))
    c.execute(
        update(ShopRow)
        .where(
            col(ShopRow.name) == name,
            or_(col(ShopRow.kind) != kind, col(ShopRow.role) != role, col(ShopRow.url) != url),
        )
        .values(kind=kind, role=role, url=url)
    )


class ShopRegistry:
    """The ``shop`` and ``check_run`` tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def ensure_shop(self, name: str, kind: str, role: str, url: str) -> ShopRow:
        """The row of the named shop, created or updated to the config's kind/role/url."""
        with Session(self.engine, expire_on_commit=False) as s:
            _ensure(s.connection(), name, kind, role, url)
            row = s.exec(sqlmodel.select(ShopRow).where(col(ShopRow.name) == name)).one()
            s.commit()
            return row

    @guarded
    def start_check(self, name: str, kind: str, role: str, url: str) -> tuple[ShopRow, int]:
        """The shop's row (see :meth:`ensure_shop`) and a new check run, in one transaction."""
        with Session(self.engine, expire_on_commit=False) as s:
            c = s.connection()
            _ensure(c, name, kind, role, url)
            row = s.exec(sqlmodel.select(ShopRow).where(col(ShopRow.name) == name)).one()
            run_id = c.execute(
                insert(CheckRunRow)
                .values(shop_id=pk(row.id), started_at=utcnow(), status="running")
                .returning(col(CheckRunRow.id))
            ).scalar_one()
            s.commit()
            return row, pk(run_id)

    @guarded
    def finish_check(
        self,
        shop_id: int,
        run_id: int | None,
        *,
        status: str,
        error: str | None,
        listings: int,
        baseline: bool = False,
    ) -> ShopRow:
        """Record the end of a shop's check in one transaction: one more failure in a row
        (``status`` failed) or a success (resetting the count; the baseline time on the
        first complete catalog), and the run (only the latest runs of a shop are kept).
        A ``cancelled`` check (the daemon stopping) is neither: only its run is recorded.
        Returns the updated shop."""
        now = utcnow()
        text = clean_str(error, ERROR_CHARS)
        with Session(self.engine, expire_on_commit=False) as s:
            c = s.connection()
            shop = col(ShopRow.id) == shop_id
            if status == "failed":
                c.execute(
                    update(ShopRow)
                    .where(shop)
                    .values(
                        failures=col(ShopRow.failures) + 1,
                        failing_since=func.coalesce(col(ShopRow.failing_since), now),
                        last_error=text,
                    )
                )
            elif status != "cancelled":
                c.execute(
                    update(ShopRow)
                    .where(shop)
                    .values(failures=0, failing_since=None, last_ok_at=now, last_error=None)
                )
                if baseline:
                    c.execute(
                        update(ShopRow)
                        .where(shop, col(ShopRow.baseline_at).is_(None))
                        .values(baseline_at=now)
                    )
            if run_id is not None:
                c.execute(
                    update(CheckRunRow)
                    .where(col(CheckRunRow.id) == run_id)
                    .values(finished_at=now, status=status, error=text, listings=listings)
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
            row = s.get(ShopRow, shop_id)
            assert row is not None
            s.commit()
            return row

    @guarded
    def shops(self) -> list[ShopRow]:
        """Every shop row."""
        with Session(self.engine) as s:
            return list(s.exec(sqlmodel.select(ShopRow).order_by(col(ShopRow.id))))
