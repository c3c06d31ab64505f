"""Engine, sessions and schema migrations. SQLite (WAL) by default; PostgreSQL for a shared
database. The schema version lives in the ``meta`` table; every release appends steps to
:data:`MIGRATIONS` and never edits old ones, so a user's database survives upgrades."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger
from sqlalchemy import Connection, Engine, Insert, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlmodel import SQLModel

from watcher.errors import ConfigError, StorageError
from watcher.store import fleet_tables, tables  # also registers the tables with SQLModel
from watcher.store.guard import describe, storage_error

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

T = TypeVar("T")

CHUNK = 500
"""Values per ``IN (...)`` list (SQLite allows 32,766 parameters, PostgreSQL 65,535)."""


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def pk(value: int | None) -> int:
    """A primary key read from the database (never None there; the type allows it for rows
    not inserted yet)."""
    if value is None:
        raise ValueError("a stored row without a primary key")
    return value


def utcnow() -> datetime:
    """Now, aware, in UTC (the columns store UTC and return aware values)."""
    return datetime.now(UTC)


def to_db(dt: datetime | None) -> datetime | None:
    """A datetime as aware UTC for storage; a naive one is taken to be UTC already."""
    if dt is None:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def from_db(dt: datetime | None) -> datetime | None:
    """A stored datetime as an aware one (databases without zones return naive UTC)."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that reads, then writes. SQLite takes the write lock at its start
    (``BEGIN IMMEDIATE``): a read transaction that later writes cannot wait for another
    writer (SQLite refuses the upgrade at once, "database is locked"), one that begins
    with the lock waits its busy timeout like any write."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _insert(dialect: str, table: type[SQLModel]) -> PgInsert | SqliteInsert:
    """The dialect's INSERT (with ON CONFLICT); PostgreSQL's module is imported only for a
    PostgreSQL database (~2 MiB)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def insert_ignore(
    dialect: str, table: type[SQLModel], values: dict[str, Any] | None, keys: Sequence[str]
) -> Insert:
    """INSERT that does nothing when a row with the same ``keys`` exists (PostgreSQL, SQLite);
    ``values`` None: the rows are given at execution (one statement for many rows)."""
    stmt = _insert(dialect, table)
    if values is not None:
        stmt = stmt.values(**values)
    return stmt.on_conflict_do_nothing(index_elements=list(keys))


def upsert(
    dialect: str, table: type[SQLModel], values: dict[str, Any], keys: Sequence[str]
) -> Insert:
    """INSERT, or UPDATE the other columns when a row with the same ``keys`` exists."""
    return (
        _insert(dialect, table)
        .values(**values)
        .on_conflict_do_update(
            index_elements=list(keys), set_={k: v for k, v in values.items() if k not in keys}
        )
    )


def _v1(conn: Connection) -> None:
    """Initial schema."""
    SQLModel.metadata.create_all(conn)


def _v2(conn: Connection) -> None:
    """Index alerts by creation time for ``watcher alerts``."""
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_alert_created_at ON alert (created_at)"))


def _v3(conn: Connection) -> None:
    """Pending change and review events, so a crash between storing a change and recording
    its findings does not lose them."""
    false = "false" if conn.dialect.name == "postgresql" else "0"
    for sql in (
        "ALTER TABLE snapshot ADD COLUMN prev_id INTEGER",
        "ALTER TABLE snapshot ADD COLUMN previous TEXT",
        f"ALTER TABLE snapshot ADD COLUMN pending BOOLEAN NOT NULL DEFAULT {false}",
        f"ALTER TABLE review ADD COLUMN pending BOOLEAN NOT NULL DEFAULT {false}",
        "CREATE INDEX IF NOT EXISTS ix_snapshot_pending ON snapshot (pending)",
        "CREATE INDEX IF NOT EXISTS ix_review_pending ON review (pending)",
    ):
        conn.execute(text(sql))


def _v4(conn: Connection) -> None:
    """The instances of ``watcher run`` sharing the database and the shops' schedule."""
    SQLModel.metadata.create_all(conn, tables=list(fleet_tables.FLEET_TABLES))


def _v5(conn: Connection) -> None:
    """Listing identities without tracking parameters (``?_pos=…&_sid=…``, ``utm_*``…), the
    held-back listings of a distrusted catalog, and the fingerprint of a listing's other
    fields (empty until its next check writes them). Of several stored rows that are one
    listing, the oldest keeps the identity and the others are marked removed."""
    from watcher.store.ingest import identity_url

    for table, column in (("shop", "held_digest"), ("listing", "info_fingerprint")):
        if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(40)"))
    rows = conn.execute(
        text(
            "SELECT id, shop_id, ref FROM listing"
            " WHERE ref LIKE 'http%' AND (ref LIKE '%?%' OR ref LIKE '%#%') ORDER BY id"
        )
    ).all()
    renames: list[dict[str, object]] = []
    duplicates: list[dict[str, object]] = []
    taken: set[tuple[int, str]] = set()
    for listing_id, shop_id, ref in rows:
        ident = identity_url(ref)
        if ident == ref:
            continue
        exists = conn.execute(
            text("SELECT 1 FROM listing WHERE shop_id = :s AND ref = :r"),
            {"s": shop_id, "r": ident},
        ).first()
        if exists or (shop_id, ident) in taken:
            duplicates.append({"i": listing_id, "t": utcnow()})
        else:
            taken.add((shop_id, ident))
            renames.append({"i": listing_id, "r": ident})
    if renames:
        conn.execute(text("UPDATE listing SET ref = :r WHERE id = :i"), renames)
    if duplicates:
        conn.execute(
            text("UPDATE listing SET removed_at = :t WHERE id = :i AND removed_at IS NULL"),
            duplicates,
        )
    if renames or duplicates:
        logger.info(
            "listing identities: {} without tracking parameters, {} duplicate(s) retired",
            len(renames),
            len(duplicates),
        )


def _v6(conn: Connection) -> None:
    """Thumbnails of hashed photos, for the dashboard's evidence pages."""
    tables.ThumbnailRow.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v7(conn: Connection) -> None:
    """The own listings' pages as watched: 404/410 answers in a row (a listing taken down)."""
    tables.ListingWatchRow.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _v1),
    (2, _v2),
    (3, _v3),
    (4, _v4),
    (5, _v5),
    (6, _v6),
    (7, _v7),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


BUSY_TIMEOUT_MS = 5000
"""How long a SQLite write waits for another process's lock. Store calls run on the event
loop, so a long wait stalls the whole check; a locked database fails this check and the
next one tries again."""


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` (any SQLAlchemy URL); ConfigError when it is unusable."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("watcher.database", f"not a database URL: {url!r}") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.drivername.startswith("sqlite"):
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except ModuleNotFoundError as e:
        raise ConfigError(
            "watcher.database", f"driver for {parsed.drivername} is not installed ({e.name})"
        ) from None
    except ArgumentError as e:
        raise ConfigError("watcher.database", str(e)) from None
    return engine


def current_version(conn: Connection) -> int:
    """The schema version stored in the database (0 for an empty database)."""
    if not inspect(conn).has_table("meta"):
        return 0
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else 0


MIGRATION_TRIES = 5
MIGRATION_LOCK = 724241
"""The PostgreSQL advisory lock held while the schema is created or migrated."""


def migrate(engine: Engine) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction; returns it.

    A new database gets the current tables at once; an older one runs each later step.
    Processes starting at once on a new database take turns: the version is read and the
    schema written under a lock (PostgreSQL: a transaction-level advisory lock; SQLite:
    ``BEGIN IMMEDIATE``, the write lock taken before the version is read)."""
    for attempt in range(1, MIGRATION_TRIES + 1):
        try:
            # SQLite: pysqlite opens a transaction only before a DML statement, so without
            # BEGIN IMMEDIATE the version would be read outside any lock and two processes
            # would both create the schema.
            with begin_write(engine) as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
                _migrate(conn)
            return SCHEMA_VERSION
        except OperationalError as e:
            # SQLite answers "locked" at once, without waiting, to one of two connections
            # that switch a new file to WAL together: that one tries again.
            locked = engine.dialect.name == "sqlite" and describe(e) == "database is locked"
            if locked and attempt < MIGRATION_TRIES:
                time.sleep(0.1 * attempt)
                continue
            raise StorageError(f"cannot open the database: {describe(e)}") from None
        except SQLAlchemyError as e:
            raise storage_error(e) from None
    raise AssertionError("unreachable")


def _migrate(conn: Connection) -> None:
    have = current_version(conn)
    if have > SCHEMA_VERSION:
        raise StorageError(
            f"the database has schema {have}, newer than this watcher"
            f" ({SCHEMA_VERSION}); upgrade watcher"
        )
    if have == 0:
        SQLModel.metadata.create_all(conn)
        conn.execute(
            text("INSERT INTO meta (key, value) VALUES ('schema_version', :v)"),
            {"v": str(SCHEMA_VERSION)},
        )
        return
    for version, step in MIGRATIONS:
        if version <= have:
            continue
        step(conn)
        conn.execute(
            text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(version)},
        )
        logger.info("database schema migrated to version {}", version)
