"""Processes starting at once on a fresh database: the schema is created once, every
process gets the same shop row, none fails (SQLite file and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

from watcher.store import Store

PROCESSES = 4
ROUNDS = 4


def _start(url: str, start: Any, out: Any) -> None:
    try:
        start.wait(60)
        store = Store(url)
        row = store.registry.ensure_shop("Rival", "shopify", "competitor", "https://r.example")
        out.put(("ok", row.id))
    except BaseException as e:  # reported to the test, whatever it is
        out.put(("error", f"{type(e).__name__}: {e}"))


def _race(url: str) -> list[tuple[str, object]]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_start, args=(url, start, out)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    got = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    return got


def test_concurrent_first_start_sqlite(tmp_path: Any) -> None:
    for _ in range(ROUNDS):
        got = _race(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
        assert [s for s, _ in got] == ["ok"] * PROCESSES, got
        assert len({i for _, i in got}) == 1, "one shop row"


def test_concurrent_first_start_postgres(pg_url: str) -> None:
    import psycopg

    admin, name = pg_url.rsplit("/", 1)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    for i in range(ROUNDS):
        db = f"{name}_{i}"
        with psycopg.connect(f"{admin}/{name}", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        try:
            got = _race(pg_url.rsplit("/", 1)[0] + f"/{db}")
            assert [s for s, _ in got] == ["ok"] * PROCESSES, got
            assert len({i for _, i in got}) == 1, "one shop row"
        finally:
            with psycopg.connect(f"{admin}/{name}", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
