"""The daemon (`watcher run`) as a real process: scheduled checks, alerts delivered once;
SIGTERM during a hung check exits 0 within 10 s with nothing lost, a second signal at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.e2e import Daemon, check, env, write_config
from tests.receiver import Receiver
from tests.test_crash import STEP1, ident, stored
from watcher.demo import Marketplace
from watcher.demo.catalog import MARKET, OWN, URBAN
from watcher.store import Store
from watcher.store.fleet import FleetStore


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def test_daemon_checks_on_schedule_and_alerts_once(market: Marketplace, tmp_path: Path) -> None:
    with Receiver() as rx:
        extra = f'[[alerts]]\nkind = "webhook"\nurl = "{rx.url("/hook")}"\n'
        config = write_config(
            market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}", extra=extra
        )
        config.write_text(config.read_text().replace('interval = "1h"', 'interval = "2s"'))
        daemon = Daemon(config)
        try:
            daemon.wait_for("new finding(s)")
            deadline = time.monotonic() + 30
            while (
                len({a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]}) < 3
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            market.advance()
            deadline = time.monotonic() + 60
            while (
                len({a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]}) < 11
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            for _ in range(3):  # a few more cycles with nothing new
                daemon.wait_for(f"{URBAN}: ok")
        finally:
            code = daemon.stop()
        assert code == 0, "".join(daemon.log)
        keys = [a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]]
        assert len(keys) == 11, keys
        assert len(set(keys)) == len(keys), "every alert delivered exactly once"


def _hung_marketplace(market: Marketplace, tmp_path: Path) -> tuple[Path, str]:
    """A database with a baseline and the timeline's next step waiting to be read, and a
    marketplace whose search hangs: the own shop's check stores its new reviews and
    changes, then hangs in the copy search."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    config = write_config(market, tmp_path / "w.toml", url, watcher='timeout = "60s"\nretries = 0')
    assert check(config).code == 0
    market.advance()
    market.set_fault(MARKET, "timeout")
    return config, url


def test_sigterm_cancels_a_hung_check_within_10_s_and_loses_nothing(
    market: Marketplace, tmp_path: Path
) -> None:
    config, url = _hung_marketplace(market, tmp_path)
    daemon = Daemon(config)
    daemon.wait_for(f"{OWN}: ok")
    time.sleep(0.5)  # the search request is hanging now
    started = time.monotonic()
    code = daemon.stop(timeout=30)
    took = time.monotonic() - started
    log = "".join(daemon.log)
    assert code == 0, log
    assert took < 10, f"stopped after {took:.1f}s"
    assert f"{OWN}: check cancelled" in log, log
    store = Store(url)
    try:
        fleet = FleetStore(store.engine)
        (slot,) = fleet.schedule([OWN])
        assert slot.owner is None, "the lease is released"
        assert slot.due_at <= fleet.now(), "the cancelled shop stays due"
        assert fleet.instances() == [], "the instance deregistered"
        search = next(r for r in store.shops() if r.name == MARKET)
        assert search.failures == 0, "a stop is not the shop's failure"
        with store.engine.connect() as c:
            runs = c.execute(
                text("SELECT status FROM check_run WHERE shop_id = :s ORDER BY id"),
                {"s": search.id},
            ).scalars()
            assert list(runs)[-1] == "cancelled", "the hung search is recorded as cancelled"
    finally:
        store.close()
    market.clear_faults()
    assert check(config).code == 0
    raised = {ident(p) for p, _ in stored(url)}
    assert raised >= STEP1, f"lost: {STEP1 - raised}"


def test_a_second_signal_exits_at_once(market: Marketplace, tmp_path: Path) -> None:
    config, _ = _hung_marketplace(market, tmp_path)
    daemon = Daemon(config)
    daemon.wait_for(f"{OWN}: ok")
    daemon.proc.send_signal(signal.SIGINT)
    daemon.wait_for("stopping")
    started = time.monotonic()
    code = daemon.stop(timeout=30)
    assert time.monotonic() - started < 1.5, "the second signal does not wait for the grace"
    assert code == 128 + signal.SIGTERM, "".join(daemon.log)
    assert "second SIGTERM, exiting now" in "".join(daemon.log)


def test_sigterm_mid_delivery_lets_the_send_finish_and_sends_nothing_twice(
    market: Marketplace, tmp_path: Path
) -> None:
    """The receiver takes 6 s to answer, longer than checks get after SIGTERM: the check is
    cancelled, but not the send it started, which finishes and is recorded before the
    exit; a redelivery of everything pending afterwards sends nothing again."""
    with Receiver() as rx:
        hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url()}"\ntimeout = "15s"\n'
        url = f"sqlite:///{tmp_path / 'w.db'}"
        config = write_config(market, tmp_path / "w.toml", url, extra=hook)
        rx.hang(6)
        daemon = Daemon(config)
        deadline = time.monotonic() + 60
        while not rx.requests:
            assert time.monotonic() < deadline, daemon.drain()
            time.sleep(0.05)
        started = time.monotonic()
        code = daemon.stop(timeout=30)
        took = time.monotonic() - started
        rx.hang(0)
        assert code == 0, daemon.drain()
        assert took < 10, f"stopped after {took:.1f}s"
        retry = subprocess.run(
            [sys.executable, "-m", "watcher", "alerts", "--retry", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
        )
        assert retry.returncode == 0, retry.stderr
        keys = [a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]]
    assert keys and len(keys) == len(set(keys)), keys
    assert {p["dedup_key"] for p, states in stored(url)} == set(keys)
