"""Several `watcher run` processes on one database, as real processes.

PostgreSQL: three instances with one config share the shops (each check of a shop by one
instance at a time, once per interval), one is killed with SIGKILL mid-check and its shops
are taken over within two intervals, every alert arrives exactly once, and `watcher
status` shows who is alive and holds what. SQLite: a second daemon on the file is refused
with a clear message, and starts at once after the first one stops or dies.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.e2e import Daemon, env, write_config
from tests.receiver import Receiver
from watcher.cli import main
from watcher.demo import Marketplace
from watcher.demo.catalog import URBAN
from watcher.store import Store
from watcher.store.fleet import FleetStore

INTERVAL = 3.0
LEASE = 3.0
"""Long enough that a machine loaded by parallel tests does not starve a heartbeat."""


def status(config: Path) -> dict[str, Any]:
    """`watcher status --json` (the command's code, in this process: no start-up cost)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["status", "--json", "--config", str(config)]) == 0
    return dict(json.loads(out.getvalue()))


def runs(url: str, shops: list[str]) -> dict[str, list[tuple[datetime, datetime | None]]]:
    """(started, finished) of every check of each configured shop, oldest first."""
    store = Store(url)
    try:
        with store.engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT shop.name, check_run.started_at, check_run.finished_at FROM check_run"
                    " JOIN shop ON shop.id = check_run.shop_id ORDER BY check_run.id"
                )
            ).all()
    finally:
        store.close()
    out: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for name, started, finished in rows:
        if name in shops:
            out[name].append((started, finished))
    return out


def wait_until(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.postgres
def test_three_instances_share_the_shops_and_take_over_a_killed_one(
    pg_url: str, tmp_path: Path
) -> None:
    with Marketplace() as market, Receiver() as rx:
        hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url()}"\n'
        settings = f'lease = "{LEASE}s"\ntimeout = "5s"\nretries = 0'
        config = write_config(market, tmp_path / "w.toml", pg_url, watcher=settings, extra=hook)
        config.write_text(
            config.read_text().replace('interval = "1h"', f'interval = "{INTERVAL}s"')
        )
        shops = [s.name for s in market.shops if s.role != "marketplace"]
        daemons = [Daemon(config) for _ in range(3)]
        store = Store(pg_url)
        fleet = FleetStore(store.engine)
        try:
            for d in daemons:
                d.wait_for("watcher running")
            wait_until(lambda: len(rx.requests) >= 1, 30, "the first alerts")
            wait_until(
                lambda: all(len(r) >= 2 for r in runs(pg_url, shops).values()),
                30,
                "two checks of every shop",
            )

            seen = status(config)
            assert len([i for i in seen["instances"] if i["alive"]]) == 3
            assert {s["shop"] for s in seen["shops"]} == set(shops)
            assert all(s["scheduled"] and s["due_at"] for s in seen["shops"])

            # Kill the instance that is checking a shop right now (mid-check).
            victim_id = ""

            def someone_checking() -> bool:
                nonlocal victim_id
                held = [s.owner for s in fleet.schedule(shops) if s.owner]
                victim_id = held[0] if held else ""
                return bool(victim_id)

            wait_until(someone_checking, 20, "a check in flight")
            victim = next(d for d in daemons if f"instance {victim_id}" in d.drain())
            held_by_victim = [s.shop for s in fleet.schedule(shops) if s.owner == victim_id]
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(10)
            killed_at = fleet.now()

            # Its claims run out and the others take its shops over.
            wait_until(
                lambda: all(
                    s.last_by != victim_id
                    and s.last_started_at is not None
                    and s.last_started_at > killed_at
                    for s in fleet.schedule(shops)
                ),
                4 * INTERVAL,
                "every shop checked by a survivor",
            )
            market.advance()  # new events, found and delivered by the survivors
            wait_until(lambda: len(rx.requests) >= 2, 30, "the alerts of the second step")
            after = status(config)
            gone = next(i for i in after["instances"] if i["id"] == victim_id)
            assert not gone["alive"] and gone["checking"] == []
            assert sum(i["alive"] for i in after["instances"]) == 2
        finally:
            store.close()
            codes = [d.stop() for d in daemons if d.proc.poll() is None]
        logs = [d.drain() for d in daemons]
        assert codes == [0, 0], [log[-3000:] for log in logs]
        stalls = [
            line for log in logs for line in log.splitlines() if "took this shop over" in line
        ]
        delivered = [a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]]

    history = runs(pg_url, shops)
    for shop, checks in history.items():
        done = [(s, f) for s, f in checks if f is not None]
        for (_, prev_end), (start, _) in itertools.pairwise(done):
            assert prev_end is not None and start >= prev_end, (shop, "two checks at once", stalls)
        starts = [s for s, _ in checks]
        # Once per interval across the three instances, not three times: the count fits
        # the time span, and no two checks start within a quarter of an interval (a claim
        # on a loaded machine can be a second or so late while the grid stays put), but
        # for the check restarted after the kill.
        span = (starts[-1] - starts[0]).total_seconds()
        assert len(starts) <= span / INTERVAL + 2, (shop, len(starts), span, stalls)
        close = [
            (a, b) for a, b in itertools.pairwise(starts) if (b - a).total_seconds() < INTERVAL / 4
        ]
        assert len(close) <= (1 if shop in held_by_victim else 0), (shop, close, stalls)
        # Taken over within two intervals of the kill (a check in flight when its lease
        # ran out, the others when due).
        later = [s for s in starts if s > killed_at]
        assert later and later[0] - killed_at <= timedelta(seconds=2 * INTERVAL), shop
    per_key = Counter(delivered)
    assert per_key and max(per_key.values()) == 1, per_key
    stored = Store(pg_url)
    try:
        keys = {a.dedup_key for a, _ in stored.alerts(limit=1000)}
    finally:
        stored.close()
    assert keys == set(per_key), "every stored alert arrived, once"


def test_a_second_daemon_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    with Marketplace() as market:
        db = tmp_path / "w.db"
        config = write_config(market, tmp_path / "w.toml", f"sqlite:///{db}")
        first = Daemon(config)
        first.wait_for("watcher running")
        second = subprocess.run(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
        )
        assert second.returncode == 2, second.stderr
        assert f"pid {first.proc.pid}" in second.stderr
        assert "SQLite database serves one daemon" in second.stderr
        assert "PostgreSQL" in second.stderr
        # A daemon killed with SIGKILL leaves no lock behind: the next one starts at once
        # and releases the dead one's claims.
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        again = Daemon(config)
        again.wait_for("released the checks of 1 stopped instance")
        again.wait_for("watcher running")
        assert again.stop() == 0


@pytest.mark.postgres
def test_two_instances_together_keep_to_the_per_host_limit(pg_url: str, tmp_path: Path) -> None:
    """Six shops on one slow host, two instances each running two checks at a time: each
    instance alone keeps to ``per_host = 2``, but together they would have up to four
    requests open to the host, were the slots not shared through the database. The server
    counts the requests it is answering at once (idle keep-alive connections are not
    requests)."""
    with Marketplace() as market:
        host = market.shop(URBAN)
        market.delays[URBAN] = 0.3
        lines = [
            "[watcher]",
            f'database = "{pg_url}"',
            'interval = "1s"',
            'jitter = "0s"',
            "concurrency = 2",
            "per_host = 2",
            'lease = "3s"',
            "robots = false",
            "",
        ]
        for i in range(6):
            lines += ["[[shops]]", f'name = "Rival {i}"', 'kind = "shopify"', f'url = "{host.url}"']
            lines += ['currency = "USD"', ""]
        config = tmp_path / "w.toml"
        config.write_text("\n".join(lines), encoding="utf-8")
        daemons = [Daemon(config) for _ in range(2)]
        try:
            for d in daemons:
                d.wait_for("watcher running")
            for d in daemons:  # both instances are checking shops of that host
                for _ in range(4):
                    d.wait_for(": ok, ")
        finally:
            codes = [d.stop() for d in daemons]
        assert codes == [0, 0], [d.drain()[-3000:] for d in daemons]
        assert market.requests[URBAN] >= 8
        assert market.peak[URBAN] == 2, f"{market.peak[URBAN]} requests at once"
