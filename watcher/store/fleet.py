"""Several ``watcher run`` on one database: instances register and heartbeat, and each due
shop is claimed by exactly one of them with a row lease.

A claim is one statement: ``UPDATE schedule ... WHERE shop IN (SELECT ... FOR UPDATE SKIP
LOCKED) RETURNING``. On PostgreSQL concurrent claimers skip each other's locked rows; on
SQLite the write lock serialises them. The lease is renewed by the owner's heartbeat and
expires when the owner dies, so another instance takes the shop over. Every time compared
with a lease is the database server's clock (PostgreSQL ``now()``), not the instance's.
"""

from __future__ import annotations

import fcntl
import functools
import os
import random
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from watcher.errors import ConfigError, StorageError
from watcher.store.db import from_db, utcnow
from watcher.store.fleet_tables import instance as I
from watcher.store.fleet_tables import schedule as S

F = TypeVar("F", bound=Callable[..., Any])
FORGET_AFTER = timedelta(days=1)
"""How long a dead instance stays listed by ``watcher status``."""
SKIP_UNKNOWN = timedelta(hours=1)
"""How long a scheduled shop that is not in the claiming instance's config is put off (it
was removed from the config, or another instance runs a newer one)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _guarded(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OperationalError as e:
            raise StorageError(f"database error: {e.orig}") from None
        except SQLAlchemyError as e:
            raise StorageError(f"database error: {e}") from None

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Me:
    """What an instance says about itself when it registers."""

    id: str
    host: str
    boot: str
    pid: int
    version: str
    lease: timedelta


@dataclass(frozen=True, slots=True)
class Claim:
    """A shop this instance now checks, with its schedule at the moment of the claim."""

    shop: str
    nominal_at: datetime
    due_at: datetime
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class Instance:
    """A registered instance as ``watcher status`` shows it."""

    id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    checks: int


@dataclass(frozen=True, slots=True)
class Slot:
    """A shop's schedule as ``watcher status`` shows it."""

    shop: str
    due_at: datetime
    owner: str | None
    claimed_at: datetime | None
    lease_until: datetime | None
    last_by: str | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None


def next_times(
    claim: Claim, now: datetime, interval: timedelta, jitter: timedelta
) -> tuple[datetime, datetime]:
    """The grid time and due time of the check after ``claim``: one interval later on the
    same grid, plus a random jitter of at most a quarter of the interval. A check that
    started more than half an interval late (the daemon was down, a dead instance's claim
    had to run out) starts a new grid, so missed runs make one check, not a burst."""
    late = claim.claimed_at - claim.due_at
    nxt = (claim.claimed_at if late > interval / 2 else claim.nominal_at) + interval
    nxt = max(nxt, now)
    spread = min(jitter, interval / 4).total_seconds()
    return nxt, nxt + timedelta(seconds=random.uniform(0, spread))


class FleetStore:
    """The ``instance`` and ``schedule`` tables. Every method is one short transaction and
    raises :class:`~watcher.errors.StorageError` for database failures."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    def _now(self, c: Connection) -> datetime:
        if self.postgres:
            now = c.execute(select(func.now())).scalar_one()
            return from_db(now) or utcnow()
        return utcnow()

    def now(self) -> datetime:
        """The database's clock (this machine's for SQLite)."""
        with self.engine.connect() as c:
            return self._now(c)

    # --- instances ------------------------------------------------------------------

    @staticmethod
    def _insert(c: Connection, me: Me, now: datetime) -> None:
        c.execute(
            insert(I).values(
                id=me.id,
                host=me.host,
                boot=me.boot,
                pid=me.pid,
                version=me.version,
                started_at=now,
                heartbeat_at=now,
                lease_s=me.lease.total_seconds(),
                checks=0,
            )
        )

    @_guarded
    def register(self, me: Me, *, exclusive: bool = False) -> list[str]:
        """Register ``me``. Rows this machine left behind (same host and boot, a pid that is
        gone or is ours again after a restart) are dead: they are removed and their leases
        released at once, so a restarted daemon does not wait for its own old leases. With
        ``exclusive`` (SQLite, where a file lock guarantees one daemon) every other row is
        dead. Returns the ids removed."""
        with self.engine.begin() as c:
            now = self._now(c)
            rows = c.execute(select(I.c.id, I.c.host, I.c.boot, I.c.pid)).all()
            dead = [
                r.id
                for r in rows
                if r.id != me.id
                and (
                    exclusive
                    or (
                        r.host == me.host
                        and r.boot == me.boot
                        and (r.pid == me.pid or not _pid_alive(r.pid))
                    )
                )
            ]
            if dead:
                self._release(c, dead)
                c.execute(delete(I).where(I.c.id.in_(dead)))
            self._insert(c, me, now)
        return dead

    @_guarded
    def heartbeat(self, me: Me) -> int:
        """Prove ``me`` alive and renew the leases of the shops it is checking; returns how
        many leases were renewed. Re-registers a row someone removed; forgets instances
        dead for a day."""
        with self.engine.begin() as c:
            now = self._now(c)
            found = c.execute(update(I).where(I.c.id == me.id).values(heartbeat_at=now)).rowcount
            if not found:
                self._insert(c, me, now)
            renewed = c.execute(
                update(S).where(S.c.owner == me.id).values(lease_until=now + me.lease)
            ).rowcount
            c.execute(delete(I).where(I.c.heartbeat_at < now - FORGET_AFTER))
        return int(renewed)

    @_guarded
    def deregister(self, me: Me) -> None:
        """Release every lease of ``me`` and remove its row (a clean stop)."""
        with self.engine.begin() as c:
            self._release(c, [me.id])
            c.execute(delete(I).where(I.c.id == me.id))

    @_guarded
    def instances(self) -> list[Instance]:
        """Every registered instance, oldest first, with whether it is alive."""
        with self.engine.connect() as c:
            now = self._now(c)
            rows = c.execute(select(I).order_by(I.c.started_at)).all()
        out = []
        for r in rows:
            beat = from_db(r.heartbeat_at) or now
            out.append(
                Instance(
                    id=r.id,
                    host=r.host,
                    pid=r.pid,
                    version=r.version,
                    started_at=from_db(r.started_at) or now,
                    heartbeat_at=beat,
                    alive=now - beat <= timedelta(seconds=r.lease_s),
                    checks=r.checks,
                )
            )
        return out

    # --- the schedule ---------------------------------------------------------------

    @_guarded
    def ensure(self, first: dict[str, timedelta], latest: dict[str, timedelta]) -> None:
        """Give every shop in ``first`` a schedule row, due that long from now, unless it
        has one; bring a stored due time nearer when it is later than ``latest[shop]`` from
        now (the shop's interval was shortened since)."""
        with self.engine.begin() as c:
            now = self._now(c)
            have = set(c.execute(select(S.c.shop)).scalars())
            for shop, delay in first.items():
                if shop in have:
                    cap = now + latest[shop]
                    c.execute(
                        update(S)
                        .where(S.c.shop == shop, S.c.due_at > cap)
                        .values(nominal_at=cap, due_at=cap)
                    )
                    continue
                values = {"shop": shop, "nominal_at": now + delay, "due_at": now + delay}
                mod = postgresql if self.postgres else sqlite
                c.execute(
                    mod.insert(S).values(**values).on_conflict_do_nothing(index_elements=["shop"])
                )

    @_guarded
    def claim(
        self, me: Me, limit: int, known: Container[str], *, skip: timedelta = SKIP_UNKNOWN
    ) -> tuple[list[Claim], list[str]]:
        """Claim at most ``limit`` shops that are due and not being checked (or whose
        checker's lease ran out), soonest due first, for ``me.lease``. Returns the claims
        and the names of due shops that are not in ``known`` (this instance's config):
        those are put off by ``skip`` and left alone. The statement carries no list of
        names, so a claim pass costs the same with ten shops or ten thousand."""
        if limit <= 0:
            return [], []
        with self.engine.begin() as c:
            now = self._now(c)
            due = (
                select(S.c.shop)
                .where(
                    S.c.due_at <= now,
                    or_(S.c.lease_until.is_(None), S.c.lease_until < now),
                )
                .order_by(S.c.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True, of=S)
            )
            rows = c.execute(
                update(S)
                .where(S.c.shop.in_(due.scalar_subquery()))
                .values(owner=me.id, lease_until=now + me.lease, claimed_at=now)
                .returning(S.c.shop, S.c.nominal_at, S.c.due_at)
            ).all()
            unknown = [r.shop for r in rows if r.shop not in known]
            if unknown:
                c.execute(
                    update(S)
                    .where(S.c.shop.in_(unknown))
                    .values(owner=None, lease_until=None, due_at=now + skip)
                )
        claims = [
            Claim(r.shop, from_db(r.nominal_at) or now, from_db(r.due_at) or now, now)
            for r in rows
            if r.shop in known
        ]
        return sorted(claims, key=lambda cl: cl.due_at), unknown

    @_guarded
    def finish(
        self,
        me: Me,
        claim: Claim,
        status: str,
        *,
        interval: timedelta,
        jitter: timedelta,
    ) -> datetime | None:
        """Record the end of a claimed check and schedule the next one; returns its due time,
        or None when the lease was lost meanwhile (another instance took the shop over and
        owns its schedule now)."""
        with self.engine.begin() as c:
            now = self._now(c)
            nominal, due = next_times(claim, now, interval, jitter)
            done = c.execute(
                update(S)
                .where(S.c.shop == claim.shop, S.c.owner == me.id)
                .values(
                    owner=None,
                    lease_until=None,
                    last_by=me.id,
                    last_started_at=claim.claimed_at,
                    last_finished_at=now,
                    last_status=status[:16],
                    nominal_at=nominal,
                    due_at=due,
                )
            ).rowcount
            c.execute(update(I).where(I.c.id == me.id).values(checks=I.c.checks + 1))
        return due if done else None

    def _release(self, c: Connection, owners: Iterable[str], shops: Sequence[str] = ()) -> int:
        q = update(S).where(S.c.owner.in_(list(owners)))
        if shops:
            q = q.where(S.c.shop.in_(list(shops)))
        return int(c.execute(q.values(owner=None, lease_until=None)).rowcount)

    @_guarded
    def release(self, me: Me, shops: Sequence[str] = ()) -> int:
        """Give up claims of ``me`` (all when ``shops`` is empty) without rescheduling: the
        shops stay due, so the next instance to look checks them first."""
        with self.engine.begin() as c:
            return self._release(c, [me.id], shops)

    @_guarded
    def schedule(self, shops: Sequence[str] | None = None) -> list[Slot]:
        """The schedule rows of ``shops`` (all by default), soonest due first."""
        q = select(S).order_by(S.c.due_at)
        if shops is not None:
            q = q.where(S.c.shop.in_(list(shops)))
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return [
            Slot(
                shop=r.shop,
                due_at=from_db(r.due_at) or utcnow(),
                owner=r.owner,
                claimed_at=from_db(r.claimed_at) if r.owner else None,
                lease_until=from_db(r.lease_until),
                last_by=r.last_by,
                last_started_at=from_db(r.last_started_at),
                last_finished_at=from_db(r.last_finished_at),
                last_status=r.last_status,
            )
            for r in rows
        ]


@dataclass(slots=True)
class DaemonLock:
    """The file lock that makes one ``watcher run`` the only daemon on a SQLite file. The
    kernel drops it when the process ends, however it ends (SIGKILL included)."""

    path: Path
    fd: int

    def release(self) -> None:
        """Unlock (closing the descriptor drops the lock)."""
        os.close(self.fd)


def sqlite_daemon_lock(url: str, me: Me) -> DaemonLock | None:
    """Lock ``<database>.run-lock`` next to a SQLite file for this daemon; None for other
    databases. A second daemon on the same file gets a ConfigError naming the first one:
    SQLite serves one daemon (two would fight over its write lock and check every shop
    twice); several instances share the work through PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # the store reports the bad URL
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    db = Path(parsed.database or "").expanduser().resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    path = db.with_name(db.name + ".run-lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 512).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise ConfigError(
            "watcher.database",
            f"another `watcher run` ({holder}) is already using {db}. A SQLite database"
            " serves one daemon: stop that one first, or point every instance at the same"
            " PostgreSQL database to share the work between them",
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {me.pid} on {me.host}, instance {me.id}".encode(), 0)
    return DaemonLock(path, fd)


__all__ = [
    "Claim",
    "DaemonLock",
    "FleetStore",
    "Instance",
    "Me",
    "Slot",
    "next_times",
    "sqlite_daemon_lock",
]
