"""The outbox tables on a real SQLite file and on PostgreSQL: a claim holds a delivery for
its lease, an expired lease (a sender that died) frees it, a retry waits for its time, a
permanent failure stays failed until requeued, and processes claiming at once never
claim the same delivery twice."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.findings import stored
from watcher.errors import StorageError
from watcher.models import Finding, Severity
from watcher.store import Store

LEASE = timedelta(minutes=5)
ALL = {"hook": lambda f: True}


def _finding(key: str) -> Finding:
    detail = {"old": 10.0, "new": 8.0}
    return stored("price_change", Severity.LOW, "S", None, key, detail, key, datetime.now(UTC))


def _keys(claimed: list[tuple[int, Finding]]) -> list[str]:
    return [f.dedup_key for _, f in claimed]


def test_lease_holds_then_expires(db_url: str) -> None:
    store, other = Store(db_url), Store(db_url)
    store.outbox.add_findings([_finding("a"), _finding("b")], ALL)
    short = store.outbox.claim_due("hook", timedelta(milliseconds=300))
    assert _keys(short) == ["a", "b"]
    assert other.outbox.claim_due("hook", LEASE) == [], "held while the lease runs"
    time.sleep(0.5)  # the claimer died without recording anything
    again = other.outbox.claim_due("hook", LEASE)
    assert _keys(again) == ["a", "b"], "an expired lease frees the delivery"
    assert store.outbox.claim_due("hook", LEASE) == []
    other.outbox.mark_sent([d for d, _ in again])
    time.sleep(0.1)
    assert store.outbox.claim_due("hook", timedelta(milliseconds=1)) == [], "sent is final"
    assert {d.state for _, ds in store.alerts() for d in ds} == {"sent"}
    assert store.outbox.attempts([d for d, _ in again]) == 1


def test_retry_waits_for_its_time_and_failures_stay_until_requeued(db_url: str) -> None:
    store = Store(db_url)
    store.outbox.add_findings([_finding("a"), _finding("b")], ALL)
    claimed = store.outbox.claim_due("hook", LEASE)
    (da, _), (db, _) = claimed
    later = datetime.now(UTC) + timedelta(hours=1)
    store.outbox.mark_failed([da], "HTTP 503", retry_at=later)
    store.outbox.mark_failed([db], "HTTP 400", retry_at=None)
    assert store.outbox.claim_due("hook", LEASE) == [], "a retry waits; a failure stays"
    states = {
        a.summary: (d.state, d.attempts, d.last_error) for a, ds in store.alerts() for d in ds
    }
    assert states == {"a": ("pending", 1, "HTTP 503"), "b": ("failed", 1, "HTTP 400")}
    store.outbox.mark_failed([da], "HTTP 503", retry_at=datetime.now(UTC) - timedelta(seconds=1))
    assert _keys(store.outbox.claim_due("hook", LEASE)) == ["a"], "due again at its time"
    assert store.outbox.attempts([da, db]) == 2
    assert store.requeue_failed() == 2
    assert _keys(store.outbox.claim_due("hook", LEASE)) == ["a", "b"], "requeued: due now"


def _claim_all(url: str, start: Any, out: Any) -> None:
    store = Store(url)
    got: list[int] = []
    start.wait(60)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            claimed = store.outbox.claim_due("hook", LEASE, limit=7)
        except StorageError:
            continue  # SQLite: another writer was busy; the outbox tries again later too
        got.extend(d for d, _ in claimed)
        time.sleep(0.005)
    out.put(got)


def test_processes_claiming_at_once_never_share_a_delivery(db_url: str) -> None:
    store = Store(db_url)
    added = store.outbox.add_findings([_finding(f"k{i}") for i in range(120)], ALL)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start = ctx.Barrier(3)
    procs = [ctx.Process(target=_claim_all, args=(db_url, start, out)) for _ in range(3)]
    for p in procs:
        p.start()
    claims = [out.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(30)
    every = [d for got in claims for d in got]
    assert len(every) == len(set(every)) == len(added), "each delivery claimed exactly once"
    assert sum(1 for got in claims if got) >= 2, "the processes shared the work"
