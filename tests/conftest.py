"""Shared fixtures: database URLs for SQLite and for the local PostgreSQL server, a webhook
receiver on loopback (``rx``) and an HTTP client for the channels (``client``); a module
that needs them set up otherwise (a secret, TLS) defines its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.receiver import Receiver

PG_ADMIN = os.environ.get("WATCHER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as e:
        return f"PostgreSQL not reachable at {PG_ADMIN}: {e}"


_PG_PROBLEM = _pg_available()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    yield from _pg_database()


@pytest.fixture(scope="module")
def pg_url_module() -> Iterator[str]:
    """A fresh, empty PostgreSQL database shared by the tests of one module."""
    yield from _pg_database()


def _pg_database() -> Iterator[str]:
    if _PG_PROBLEM:
        if os.environ.get("WATCHER_REQUIRE_POSTGRES"):
            pytest.fail(_PG_PROBLEM)
        pytest.skip(_PG_PROBLEM)
    import psycopg

    name = f"watcher_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on SQLite and, as a second run, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'watcher.db'}"
    return request.getfixturevalue("pg_url")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--screens``: the browser tests save a screenshot of every page under bench/screens/."""
    parser.addoption(
        "--screens",
        action="store_true",
        default=False,
        help="save screenshots of the dashboard's pages under bench/screens/",
    )


@pytest.fixture
def rx() -> Iterator[Receiver]:
    """A webhook receiver on loopback, answering 200."""
    with Receiver() as r:
        yield r


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client a channel sends with."""
    async with httpx.AsyncClient() as c:
        yield c
