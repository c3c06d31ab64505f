"""Crash safety: the daemon killed with SIGKILL 50 times during checks and deliveries, a
database locked by another writer, a disk that fills up mid-check.

The kill loop starts each `watcher run` by forking a helper process that has already
imported watcher (starting Python and importing watcher takes 1-4 s on a loaded 2-core
machine; 50 of those would not fit in a test). Each child runs the real command line
(``watcher.cli.main(["run", ...])``) in a process of its own, is killed with SIGKILL and
reaped by the helper. The first and the final runs are plain ``python -m watcher``
subprocesses.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import check, env, write_config
from tests.receiver import Receiver
from watcher.demo import Marketplace
from watcher.demo.catalog import FAWN, FENGSHANG, MARKET, OWN, URBAN

OWN1 = "山茶花刺绣真丝衬衫 Camellia Embroidered Silk Blouse"
OWN2 = "高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers"
OWN3 = "羊毛混纺格纹半身裙 Wool Blend Plaid Midi Skirt"
OWN4 = "法式碎花茶歇连衣裙 收腰显瘦 French Floral Tea Dress"
OWN5 = "珍珠发夹套装 Pearl Hair Clip Set"

Ident = tuple[str, str, str | None, str | None]
"""(kind, shop, listing title, season): what the timeline fixes whatever the check order."""

STEP0: frozenset[Ident] = frozenset(
    {
        ("copied_listing", OWN, OWN2, None),
        ("price_position", OWN, OWN2, None),
        ("seasonal_launch", URBAN, None, "winter"),
    }
)
STEP1: frozenset[Ident] = frozenset(
    {
        ("copied_listing", OWN, OWN4, None),
        ("price_position", OWN, OWN4, None),
        ("negative_review", OWN, OWN1, None),
        ("negative_review", OWN, OWN3, None),
        ("seasonal_launch", FENGSHANG, None, "spring"),
        ("listing_changed", OWN, OWN5, None),
        ("price_change", FENGSHANG, "醋酸缎面半身裙 垂感鱼尾裙", None),
        ("stock_change", URBAN, "Organic Cotton Crew Tee", None),
    }
)
STEP3: frozenset[Ident] = frozenset({("seasonal_launch", URBAN, None, "spring")})
EXPECTED = STEP0 | STEP1 | STEP3

KILLS = 40
"""Kills on SQLite; PostgreSQL gets a quarter of that: 50 in one test run."""
SETTINGS = 'timeout = "3s"\nretries = 0\nalert_retry = "1s"\nunreachable_after = 100000'


def ident(alert: dict[str, Any]) -> Ident:
    """The identity of a finding (see :data:`Ident`)."""
    listing = alert["listing"]["title"] if alert.get("listing") else None
    season = alert["detail"].get("season") if alert["kind"] == "seasonal_launch" else None
    return (alert["kind"], alert["shop"], listing, season)


ZYGOTE = r"""
import json, os, random, signal, sys, traceback
import watcher.cli, watcher.cli.commands, watcher.scheduler, watcher.app, watcher.runner
watcher.cli.commands.commands()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            random.seed()
            code = watcher.cli.main(req["argv"])
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    sys.stdout.write(f"{pid}\n")
    sys.stdout.flush()
"""


class Zygote:
    """A process with watcher imported that forks a `watcher` command on request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env(),
        )

        self.children: list[int] = []

    def spawn(self, argv: list[str], log: Path) -> int:
        """Fork ``watcher <argv>`` with stdout and stderr appended to ``log``; its pid."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "log": str(log)}) + "\n")
        self.proc.stdin.flush()
        pid = int(self.proc.stdout.readline())
        self.children.append(pid)
        return pid

    def close(self) -> None:
        """Kill any child still running (a failed test), then stop the helper."""
        for pid in self.children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def alive(pid: int) -> bool:
    """Whether ``pid`` still exists (the helper reaps its children at once)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def kill9(pid: int) -> None:
    """SIGKILL and wait until the process is gone."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} survived SIGKILL"
        time.sleep(0.01)


def sqlite_opens_cleanly(db: Path) -> None:
    """The database opens, is in WAL mode and passes an integrity check (when the daemon
    lived long enough to create it)."""
    if not db.exists():
        return
    conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=30)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("SELECT count(*) FROM alert").fetchone()
    finally:
        conn.close()


def opens_cleanly(url: str, db: Path | None) -> None:
    """watcher's store opens the database (schema check included) and reads it; a SQLite
    file also passes an integrity check."""
    from watcher.store import Store

    if db is not None:
        sqlite_opens_cleanly(db)
    store = Store(url)
    try:
        store.counts()
    finally:
        store.close()


def stored(url: str) -> list[tuple[dict[str, Any], list[str]]]:
    """Every stored alert's payload with its deliveries' states."""
    from watcher.store import Store

    store = Store(url)
    try:
        return [
            (json.loads(a.payload), [d.state for d in ds]) for a, ds in store.alerts(limit=10_000)
        ]
    finally:
        store.close()


def received(rx: Receiver) -> list[dict[str, Any]]:
    """Every alert of every request the receiver got (a killed sender may not have seen
    the answer: such a request still counts as received)."""
    out: list[dict[str, Any]] = []
    for r in list(rx.requests):
        try:
            out.extend(r.json()["alerts"])
        except (ValueError, KeyError):  # cut off by the kill mid-body
            continue
    return out


def run_cli(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m watcher <args> --config <config>``."""
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
    )


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


def wait_log(log: Path, text: str, pid: int, timeout: float = 60) -> bool:
    """Wait until ``text`` is in the child's log (False after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not log.exists() or text not in log.read_text(encoding="utf-8", errors="replace"):
        assert alive(pid), f"daemon exited by itself:\n{log.read_text()[-3000:]}"
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def kill_loop(
    market: Marketplace,
    rx: Receiver,
    zygote: Zygote,
    config: Path,
    logs: Path,
    kills: int,
    rng: random.Random,
    url: str,
    db: Path | None,
) -> Counter[str]:
    """Start the daemon, SIGKILL it at a random moment, restart; the timeline advances a
    step at a quarter, half and three quarters of the way. Kill moments (by event, not by
    clock, so they land in the same phases on a slow machine): while starting (opening the
    database), 0.1-1.5 s after it started scheduling, right after the receiver got an alert
    request it answers slowly (mid-delivery), right after a shop's check was stored."""
    advance_at = {kills // 4, kills // 2, 3 * kills // 4}
    argv = ["--log-level", "DEBUG", "run", "--config", str(config)]
    modes: Counter[str] = Counter()
    for i in range(kills):
        if i in advance_at:
            market.advance()
        mode = rng.choice(["starting", "timed", "delivery", "delivery", "stored"])
        if i in advance_at:
            # The run right after a timeline step is the one with new alerts to send: kill
            # it mid-send (how far a run gets before a timed kill depends on the machine).
            mode = "delivery"
        rx.hang(0.3 if mode == "delivery" else rng.choice([0, 0.2]))
        before = len(rx.requests)
        log = logs / f"run-{i:03d}.log"
        pid = zygote.spawn(argv, log)
        if mode == "starting":
            time.sleep(rng.uniform(0.05, 0.5))
        else:
            wait_log(log, "watcher running", pid)
            if mode == "timed":
                time.sleep(rng.uniform(0.1, 1.5))
            elif mode == "delivery":
                deadline = time.monotonic() + 6
                while len(rx.requests) == before and time.monotonic() < deadline:
                    time.sleep(0.005)
                mode = "delivery" if len(rx.requests) > before else "delivery-none-due"
                time.sleep(rng.uniform(0, 0.25))
            else:
                wait_log(log, rng.choice([": ok, ", "check failed", "new finding(s)"]), pid, 6)
                time.sleep(rng.uniform(0, 0.2))
        modes[mode] += 1
        assert alive(pid), f"daemon {i} exited by itself:\n{log.read_text()[-3000:]}"
        kill9(pid)
        opens_cleanly(url, db)
    rx.hang(0)
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in logs.glob("run-*"))
    modes["starts_logged"] = text.count("watcher running")
    modes["checks_ok"] = text.count(": ok, ")
    modes["deliveries_logged"] = text.count("delivered ")
    return modes


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_during_checks_and_deliveries(
    backend: str,
    market: Marketplace,
    zygote: Zygote,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    db = tmp_path / "w.db"
    url = f"sqlite:///{db}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    kills = KILLS if backend == "sqlite" else KILLS // 4
    rng = random.Random(20261122)
    with Receiver() as rx:
        hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url()}"\ntimeout = "2s"\n'
        config = write_config(market, tmp_path / "w.toml", url, watcher=SETTINGS, extra=hook)
        config.write_text(config.read_text().replace('interval = "1h"', 'interval = "1s"'))
        # The baseline comes from one clean check: the first read of a shop is the baseline
        # by design, so a timeline step taken before any read completes is not an event.
        baseline = run_cli(config, "check")
        assert baseline.returncode == 0, baseline.stderr
        modes = kill_loop(
            market,
            rx,
            zygote,
            config,
            tmp_path,
            kills,
            rng,
            url,
            db if backend == "sqlite" else None,
        )
        print(dict(modes))
        assert modes["starts_logged"] >= kills * 2 // 3, "restarts opened the database"
        assert modes["checks_ok"] >= kills // 2, "the kills landed in and after checks"
        # A batch cut off mid-delivery is held back by its lease, then sent again.
        assert modes["delivery"] >= 1, f"no kill landed mid-delivery: {modes}"

        # A final clean run: leases of killed senders are released, every shop is read.
        retry = run_cli(config, "alerts", "--retry")
        assert retry.returncode == 0, retry.stderr
        final = run_cli(config, "check")
        assert final.returncode == 0, final.stderr
        assert "Traceback" not in final.stderr
        if backend == "sqlite":
            sqlite_opens_cleanly(db)

        rows = stored(url)
        got = received(rx)
    per_key = Counter(a["dedup_key"] for a in got)
    # The outbox's rule: a kill between the receiver accepting a batch and the record of it
    # can repeat that batch once; nothing else ever repeats an alert.
    over = {k: n for k, n in per_key.items() if n > 1 + modes["delivery"]}
    assert not over, f"more duplicates than kills mid-delivery ({modes['delivery']}): {over}"
    assert per_key.total() - len(per_key) <= modes["delivery"] * len(EXPECTED)
    unexpected = {ident(p) for p, _ in rows} - EXPECTED
    assert not unexpected, f"findings the timeline did not cause: {unexpected}"
    assert {ident(a) for a in got} <= EXPECTED
    undelivered = [p["summary"] for p, states in rows if states != ["sent"]]
    assert not undelivered, f"stored but not delivered after the clean run: {undelivered}"
    assert {p["dedup_key"] for p, _ in rows} == set(per_key), "what is stored is what arrived"
    lost = EXPECTED - {ident(p) for p, _ in rows}
    # Copies and launches are recomputed from stored state; changes and reviews stay
    # pending events until their findings are recorded: a kill can lose none of them.
    assert not lost, f"lost: {lost}"


def _check_until(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    """Read a child's stderr until a line containing ``text``; returns what was read."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        seen.append(line)
        if text in line or time.monotonic() > deadline:
            break
    return "".join(seen)


def test_crash_after_storing_changes_keeps_findings(market: Marketplace, tmp_path: Path) -> None:
    config = write_config(
        market,
        tmp_path / "w.toml",
        f"sqlite:///{tmp_path / 'w.db'}",
        watcher='timeout = "20s"\nretries = 0',
    )
    assert check(config).code == 0
    market.advance()
    market.set_fault(MARKET, "timeout")  # the marketplace search holds the check open
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "check", "--config", str(config)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env(),
    )
    try:
        seen = ""
        for shop in (OWN, FENGSHANG, URBAN, FAWN):
            if f"{shop}: ok" not in seen:
                seen += _check_until(proc, f"{shop}: ok")
        time.sleep(0.3)
    finally:
        proc.kill()
        proc.wait()
    market.clear_faults()
    after = check(config)
    assert after.code == 0, after.stderr
    assert {ident(f) for f in after.findings} == STEP1


@dataclass
class Scenario:
    """A check run under a broken database, and the clean check after it."""

    broken: subprocess.CompletedProcess[str]
    seconds: float
    after: subprocess.CompletedProcess[str]
    before_rows: dict[str, int]
    after_rows: dict[str, int]


def _rows(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db, timeout=60)
    try:
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("listing", "review", "snapshot", "alert", "delivery")
        }
    finally:
        conn.close()


def _scenario(tmp: Path, breaker: str) -> Scenario:
    db = tmp / "w.db"
    with Marketplace() as market, Receiver() as rx:
        hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url()}"\n'
        config = write_config(
            market, tmp / "w.toml", f"sqlite:///{db}", watcher=SETTINGS, extra=hook
        )
        first = check(config)
        assert first.code == 0, first.stderr
        assert {ident(f) for f in first.findings} == STEP0
        market.advance()
        before = _rows(db)
        started = time.monotonic()
        if breaker == "lock":
            holder = sqlite3.connect(db, isolation_level=None, timeout=5)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                broken = _check_while_locked(config, holder.rollback)
            finally:
                holder.rollback()
                holder.close()
        else:
            limit = 150_000  # the database opens, a write part-way through the check fails

            def small_disk() -> None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

            broken = subprocess.run(
                [sys.executable, "-m", "watcher", "check", "--json", "--config", str(config)],
                capture_output=True,
                text=True,
                env=env(),
                timeout=180,
                preexec_fn=small_disk,
            )
        seconds = time.monotonic() - started
        after = run_cli(config, "check", "--json")
        sent_ok = len(rx.requests)
    assert sent_ok >= 1
    return Scenario(broken, seconds, after, before, _rows(db))


def _check_while_locked(
    config: Path, release: Callable[[], None]
) -> subprocess.CompletedProcess[str]:
    """`watcher check --json` while the caller holds the lock; ``release`` is called once
    the check has reported the locked database (or has ended), and the check finishes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "check", "--json", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert proc.stderr is not None and proc.stdout is not None
    err: list[str] = []
    for line in proc.stderr:
        err.append(line)
        if "locked" in line:
            break
    release()
    return _finish(proc, err)


def _finish(proc: subprocess.Popen[str], err: list[str]) -> subprocess.CompletedProcess[str]:
    out, rest = proc.communicate(timeout=240)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(err) + rest)


def _assert_clean_failure(s: Scenario, words: tuple[str, ...]) -> None:
    assert s.broken.returncode == 1, s.broken.stderr[-3000:]
    assert "Traceback" not in s.broken.stderr, s.broken.stderr[-3000:]
    assert any(w in s.broken.stderr for w in words), s.broken.stderr[-3000:]


def _assert_nothing_lost(s: Scenario) -> None:
    assert s.after.returncode == 0, s.after.stderr[-3000:]
    raised = {ident(json.loads(line)) for line in s.after.stdout.splitlines() if line.strip()}
    raised |= {ident(json.loads(line)) for line in s.broken.stdout.splitlines() if line.strip()}
    assert raised == STEP1, f"missing: {STEP1 - raised}; extra: {raised - STEP1}"
    for table in ("listing", "review", "alert"):
        assert s.after_rows[table] >= s.before_rows[table], table


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """`watcher check` while another connection holds ``BEGIN EXCLUSIVE`` (until the check
    reports it: watcher's SQLite busy timeout is 5 s), then a check after the release."""
    return _scenario(tmp_path_factory.mktemp("locked"), "lock")


@pytest.fixture(scope="module")
def disk_full(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """`watcher check` whose files may not grow past 150 kB (RLIMIT_FSIZE: writes fail
    with EFBIG like on a full disk), then a check with room again."""
    return _scenario(tmp_path_factory.mktemp("full"), "full")


def test_locked_database_then_next_check_loses_nothing(locked: Scenario) -> None:
    assert locked.broken.returncode != 0
    assert locked.seconds < 90, "SQLite's busy timeout ends the wait"
    _assert_nothing_lost(locked)


def test_locked_database_check_fails_with_clear_error(locked: Scenario) -> None:
    _assert_clean_failure(locked, ("database is locked",))


def test_disk_full_check_fails_with_clear_error(disk_full: Scenario) -> None:
    _assert_clean_failure(disk_full, ("disk I/O error", "database or disk is full"))


def test_disk_full_then_next_check_loses_nothing(disk_full: Scenario) -> None:
    _assert_nothing_lost(disk_full)
