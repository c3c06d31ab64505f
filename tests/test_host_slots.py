"""Fleet-wide host slots on the real PostgreSQL server: two instances (two sessions)
together never hold more than ``per_host`` slots of one host, one instance never counts a
slot twice (advisory locks nest within a session), and a dead session frees its slots."""

from __future__ import annotations

import asyncio
import time

import pytest

from watcher.store.host_slots import PgHostSlots

pytestmark = pytest.mark.postgres


async def test_two_sessions_share_per_host_slots(pg_url: str) -> None:
    a = await PgHostSlots.open(pg_url)
    b = await PgHostSlots.open(pg_url)
    now, peak = 0, 0

    async def request(slots: PgHostSlots) -> None:
        nonlocal now, peak
        async with slots.hold("pages:shop.example:443", 2):
            now += 1
            peak = max(peak, now)
            await asyncio.sleep(0.02)
            now -= 1

    try:
        await asyncio.gather(*(request(s) for s in [a, b] * 10))
    finally:
        await a.aclose()
        await b.aclose()
    assert peak == 2, f"{peak} requests to one host at once with per_host = 2"


async def test_a_dead_session_frees_its_slots(pg_url: str) -> None:
    a = await PgHostSlots.open(pg_url)
    b = await PgHostSlots.open(pg_url)
    try:
        async with a.hold("h", 1):
            waiting = asyncio.ensure_future(_timed_hold(b, "h"))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the slot is taken"
            await a.aclose()  # as if the instance died: the server drops its locks
            assert await asyncio.wait_for(waiting, 5) < 5
    finally:
        await b.aclose()


async def _timed_hold(slots: PgHostSlots, host: str) -> float:
    started = time.monotonic()
    async with slots.hold(host, 1):
        return time.monotonic() - started
