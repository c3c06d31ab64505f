"""Per-host politeness across instances: the per-host slots of :class:`watcher.http.Http`
(``per_host`` for pages, ``image_per_host`` for photos) shared by every ``watcher run`` on
one PostgreSQL database, as session advisory locks.

Each instance still limits itself per host; on top of that a request holds one of the
host's fleet-wide slots while it is on the wire, so two instances together never have more
requests open to one host than one instance alone may. A shop's own check
has one owner at a time, but other checks touch the same hosts too: copy searches of every
own shop hit each marketplace and competitor search page, image fetches hit the shops'
image hosts and shared CDNs, and two configured shops may live on one host. Those are the
cases the slots are for; a slot costs two short statements on a connection of its own.

A slot is ``pg_try_advisory_lock(key)`` with the key hashed from the host and the slot
number: the server frees it if the instance dies (its session ends), so a dead instance
never holds a host. No slot free: wait a little and try again.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from loguru import logger
from sqlalchemy.engine import make_url

WAIT_FIRST = 0.02
WAIT_MAX = 0.5


def slot_key(name: str, slot: int) -> int:
    """The advisory lock key (signed 64-bit) of slot number ``slot`` of ``name``."""
    digest = hashlib.blake2b(f"watcher host slot:{name}:{slot}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class PgHostSlots:
    """Fleet-wide host slots on a connection of their own. Use :meth:`open`."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: Any = None
        self._generation = 0
        self._mine: set[int] = set()
        """Keys this instance holds now."""
        self._lock = asyncio.Lock()
        self._warned = 0.0
        self.waits = 0
        """How many times a request found every slot of its host taken (for benchmarks)."""

    @classmethod
    async def open(cls, url: str) -> PgHostSlots:
        """Connect to the database of the SQLAlchemy ``url``."""
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        slots = cls(conninfo)
        await slots._connect()
        return slots

    async def _connect(self) -> None:
        import psycopg

        self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        self._generation += 1
        self._mine.clear()  # a new session holds nothing

    async def aclose(self) -> None:
        """Close the connection (the server drops every slot it held)."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _try(self, keys: list[int]) -> int | None:
        """Take the first free slot of ``keys`` in one statement (CASE stops at the first
        lock it gets); the key, or None when all are taken. Keys this instance holds
        already are skipped: advisory locks nest within a session, so trying one again
        would succeed and count one slot twice."""
        async with self._lock:
            if self._conn is None or self._conn.closed:
                await self._connect()
            free = [k for k in keys if k not in self._mine]
            if not free:
                return None
            whens = " ".join(f"WHEN pg_try_advisory_lock(%s) THEN {i}" for i in range(len(free)))
            cur = await self._conn.execute(f"SELECT CASE {whens} ELSE -1 END", free)
            row = await cur.fetchone()
            got = int(row[0]) if row else -1
            if got < 0:
                return None
            self._mine.add(free[got])
            return free[got]

    async def _release(self, key: int, generation: int) -> None:
        async with self._lock:
            if generation == self._generation and self._conn is not None:
                self._mine.discard(key)
                await self._conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    @asynccontextmanager
    async def hold(self, key: str, slots: int) -> AsyncIterator[None]:
        """Hold one of the ``slots`` slots named ``key`` (a lane and a host) for the
        duration of the block, waiting for one."""
        import psycopg

        keys = [slot_key(key, i) for i in range(max(slots, 1))]
        wait = WAIT_FIRST
        held: tuple[int, int] | None = None
        while True:
            try:
                got = await self._try(keys)
            except psycopg.Error as e:
                # The database is away: the instance's own per-host limit still holds;
                # the check itself will find out whether it can store anything.
                if time.monotonic() - self._warned > 60:
                    self._warned = time.monotonic()
                    logger.warning("host slots unavailable ({}); per-instance limits only", e)
                try:
                    await self.aclose()
                except (psycopg.Error, OSError):
                    self._conn = None
                break
            if got is not None:
                held = (got, self._generation)
                break
            self.waits += 1
            await asyncio.sleep(wait * (0.5 + random.random()))
            wait = min(wait * 2, WAIT_MAX)
        try:
            yield
        finally:
            if held is not None:
                try:
                    # Shielded: a cancelled request must not keep the slot until exit.
                    await asyncio.shield(self._release(*held))
                except (psycopg.Error, OSError) as e:
                    logger.debug("host slot release failed (the session is gone): {}", e)


__all__ = ["PgHostSlots", "slot_key"]
