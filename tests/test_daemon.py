"""The daemon (`watcher run`) as a real process: scheduled checks, alerts delivered once,
and a clean exit 0 on SIGTERM while a check is in flight."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import env, write_config
from tests.receiver import Receiver
from watcher.demo import Marketplace
from watcher.demo.catalog import URBAN


class Daemon:
    """`watcher run` in a subprocess with its stderr collected line by line."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watcher",
                "--log-level",
                "DEBUG",
                "run",
                "--config",
                str(config),
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """Block until a log line containing ``text`` appears."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.log)
                continue
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in log:\n{''.join(self.log)}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return code


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
                len({a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]}) < 2
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            market.advance()
            deadline = time.monotonic() + 60
            while (
                len({a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]}) < 9
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            for _ in range(3):  # a few more cycles with nothing new
                daemon.wait_for(f"{URBAN}: ok")
        finally:
            code = daemon.stop()
        assert code == 0, "".join(daemon.log)
        keys = [a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]]
        assert len(keys) == 9, keys
        assert len(set(keys)) == len(keys), "every alert delivered exactly once"


def test_sigterm_mid_check_finishes_in_flight_work(market: Marketplace, tmp_path: Path) -> None:
    config = write_config(
        market,
        tmp_path / "w.toml",
        f"sqlite:///{tmp_path / 'w.db'}",
        watcher='timeout = "4s"\nretries = 0',
    )
    market.set_fault(URBAN, "timeout")
    daemon = Daemon(config)
    daemon.wait_for(f"{URBAN}: check starting")
    time.sleep(0.5)
    started = time.monotonic()
    code = daemon.stop(timeout=60)
    log = "".join(daemon.log)
    assert code == 0, log
    assert "check(s) in flight" in log, log
    assert f"{URBAN}: check failed" in log, "the in-flight check ran to its end"
    assert "watcher stopped" in log
    assert time.monotonic() - started < 30
