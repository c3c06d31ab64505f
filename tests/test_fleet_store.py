"""The schedule's claims and leases on the real databases: each due shop goes to exactly
one claimer even when many claim at once, a lease runs out and the shop is taken over,
and a stale row of a dead process on this machine is reaped at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from watcher.store import Store
from watcher.store.fleet import Claim, FleetStore, Me, next_times

LEASE = timedelta(seconds=1)


def me(name: str, *, pid: int = 1, host: str = "", lease: timedelta = LEASE) -> Me:
    """An instance on a machine of its own unless ``host`` says otherwise."""
    return Me(id=name, host=host or f"host-{name}", boot="b", pid=pid, version="t", lease=lease)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def due_now(fleet: FleetStore, shops: list[str]) -> None:
    fleet.ensure({s: timedelta(0) for s in shops}, {s: timedelta(hours=1) for s in shops})


def test_each_due_shop_goes_to_exactly_one_of_many_concurrent_claimers(store: Store) -> None:
    shops = [f"shop {i}" for i in range(60)]
    due_now(FleetStore(store.engine), shops)
    got: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def claimer(n: int) -> None:
        other = Store(store.url)  # a connection pool of its own, as another process has
        try:
            fleet, who = FleetStore(other.engine), me(f"i{n}", lease=timedelta(minutes=5))
            fleet.register(who)
            start.wait()
            while True:
                claims, _ = fleet.claim(who, 3, shops)
                if not claims:
                    break
                with lock:
                    got.extend((c.shop, who.id) for c in claims)
        finally:
            other.close()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    per_shop = Counter(shop for shop, _ in got)
    assert set(per_shop) == set(shops)
    assert max(per_shop.values()) == 1, [s for s, n in per_shop.items() if n > 1]
    assert len({who for _, who in got}) > 1, "the claimers shared the work"


def test_a_lease_runs_out_and_another_instance_takes_the_shop_over(store: Store) -> None:
    fleet = FleetStore(store.engine)
    a, b = me("a"), me("b")
    fleet.register(a)
    fleet.register(b)
    due_now(fleet, ["s"])
    (claim,), _ = fleet.claim(a, 5, {"s"})
    assert fleet.claim(b, 5, {"s"}) == ([], [])
    assert fleet.heartbeat(a) == 1, "the heartbeat renews the lease of a running check"
    time.sleep(1.2)  # a stops beating: its lease runs out
    (taken,), _ = fleet.claim(b, 5, {"s"})
    assert taken.shop == "s"
    assert fleet.finish(a, claim, "ok", interval=timedelta(hours=1), jitter=timedelta(0)) is None
    due = fleet.finish(b, taken, "ok", interval=timedelta(hours=1), jitter=timedelta(0))
    assert due is not None and due > fleet.now() + timedelta(minutes=59)
    (slot,) = fleet.schedule(["s"])
    assert (slot.owner, slot.last_by, slot.last_status) == (None, "b", "ok")


def test_stale_rows_of_this_machine_are_reaped_at_registration(store: Store) -> None:
    fleet = FleetStore(store.engine)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    old = me("old", pid=dead_pid, host="here", lease=timedelta(minutes=5))
    elsewhere = me("elsewhere", pid=dead_pid, host="other-host", lease=timedelta(minutes=5))
    alive = me("alive", pid=os.getpid(), host="here", lease=timedelta(minutes=5))
    fleet.register(alive)
    fleet.register(old)
    fleet.register(elsewhere)
    due_now(fleet, ["s"])
    assert len(fleet.claim(old, 5, {"s", "t"})[0]) == 1
    due_now(fleet, ["t"])
    assert len(fleet.claim(elsewhere, 5, {"s", "t"})[0]) == 1
    new = me("new", pid=os.getppid(), host="here", lease=timedelta(minutes=5))
    assert fleet.register(new) == ["old"], "only this machine's dead process is known dead"
    assert [c.shop for c in fleet.claim(new, 5, {"s", "t"})[0]] == ["s"]
    assert {i.id for i in fleet.instances()} == {"alive", "elsewhere", "new"}
    fleet.deregister(new)
    assert {i.id for i in fleet.instances()} == {"alive", "elsewhere"}
    (s,) = fleet.schedule(["s"])
    assert s.owner is None, "a clean stop releases its leases"


def test_next_check_keeps_the_grid_and_coalesces_missed_runs() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    hour, jitter = timedelta(hours=1), timedelta(minutes=5)
    on_time = Claim("s", t0, t0 + timedelta(minutes=2), t0 + timedelta(minutes=2, seconds=1))
    nominal, due = next_times(on_time, t0 + timedelta(minutes=3), hour, jitter)
    assert nominal == t0 + hour and nominal <= due <= nominal + jitter, "the grid is kept"
    late = Claim("s", t0, t0, t0 + timedelta(hours=5))
    nominal, _ = next_times(late, t0 + timedelta(hours=5, minutes=1), hour, jitter)
    assert nominal == t0 + timedelta(hours=6), "missed runs make one check, then a new grid"
    slow = Claim("s", t0, t0, t0)
    nominal, _ = next_times(slow, t0 + timedelta(hours=2), hour, jitter)
    assert nominal == t0 + timedelta(hours=2), "after a check longer than the interval: now"
    short = Claim("s", t0, t0, t0)
    nominal, due = next_times(short, t0, timedelta(seconds=20), timedelta(minutes=5))
    assert due - nominal <= timedelta(seconds=5), "jitter is at most a quarter of the interval"


def test_claim_records_the_schedule_it_took(store: Store) -> None:
    fleet = FleetStore(store.engine)
    a = me("a")
    fleet.register(a)
    due_now(fleet, ["s"])
    (c,), _ = fleet.claim(a, 1, {"s"})
    assert isinstance(c, Claim) and c.due_at <= c.claimed_at
    assert c.due_at.tzinfo is not None


def test_a_shop_missing_from_the_config_is_put_off_not_checked(store: Store) -> None:
    fleet = FleetStore(store.engine)
    a = me("a")
    fleet.register(a)
    due_now(fleet, ["kept", "removed"])
    claims, unknown = fleet.claim(a, 5, {"kept"})
    assert [c.shop for c in claims] == ["kept"] and unknown == ["removed"]
    (slot,) = fleet.schedule(["removed"])
    assert slot.owner is None and slot.due_at > fleet.now() + timedelta(minutes=59)
    assert fleet.claim(a, 5, {"kept"}) == ([], []), "not claimed again every pass"
