"""Soak test: the real daemon (`watcher run`, 1-second interval) against the sample
marketplace and a webhook receiver for ``--minutes``, with seeded random faults on the shops
and on the receiver. Prints a JSON summary and exits 1 on any violation.

Checks: the daemon stays alive (same pid); its RSS stays flat after the warm-up; the findings
delivered are exactly the twelve the timeline causes (same kind, severity, shop and listing); each
is delivered exactly once (only requests the receiver answered 2xx in time count); the database
grows little.

The shop faults are every mode of the sample marketplace (``--modes`` picks some): the
ordinary failures (500, 429, timeouts, garbage, captchas...) and the hostile ones of issue 9
(a dripping shop, stacked gzip, 6300x6300 photos, tracking parameters on every link, absurd
dates, a page of 1.4 million elements). ``long_fields`` (600-character ids, NUL bytes,
over-long currency codes; PostgreSQL refused them and blinded the whole shop) is not dealt:
a product's id does not change from one visit to the next, so on PostgreSQL
(``--database postgres``) it is a standing condition of one competitor (:data:`STANDING`)
from the first check to the last, and the random faults leave that shop alone.

    .venv/bin/python bench/soak.py --minutes 30 --seed 1 --log bench/results/soak-30m.log
    .venv/bin/python bench/soak.py --minutes 30 --database postgres
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e import env  # noqa: E402
from tests.receiver import Receiver, Recorded, _reply  # noqa: E402
from watcher.demo import FAULT_MODES, Marketplace  # noqa: E402
from watcher.demo.catalog import FAWN, FENGSHANG, MARKET, OWN, URBAN  # noqa: E402

SHOPS = (OWN, FENGSHANG, URBAN, FAWN, MARKET)
# The default deck: every fault mode but ``ssrf`` (its planted photo URLs are a real change
# of the listings, which watcher rightly reports) and ``long_fields`` (standing, below).
DECK = frozenset(FAULT_MODES) - {"ssrf", "long_fields"}
STANDING = (URBAN, "long_fields")
"""On PostgreSQL: a competitor whose odd ids and currency codes are there all along."""
RECEIVER_MODES = ("500", "429", "hang", "refuse")
SNAPSHOTS = 4  # listings whose tracked fields the timeline changes (steps 1 and 3)
HOOK_TIMEOUT = 2.0
HANG_SECONDS = 5.0  # past the webhook channel's timeout: such a request is not delivered

OWN1 = "山茶花刺绣真丝衬衫 Camellia Embroidered Silk Blouse"
OWN2 = "高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers"
OWN3 = "羊毛混纺格纹半身裙 Wool Blend Plaid Midi Skirt"
OWN4 = "法式碎花茶歇连衣裙 收腰显瘦 French Floral Tea Dress"
OWN5 = "珍珠发夹套装 Pearl Hair Clip Set"

# What steps 0..3 of the timeline cause (tests/test_e2e.py EXPECTED), as
# (kind, severity, shop, listing title, season-or-None).
EXPECTED: frozenset[tuple[str, str, str, str | None, str | None]] = frozenset(
    {
        ("copied_listing", "high", OWN, OWN2, None),
        ("price_position", "medium", OWN, OWN2, None),
        ("seasonal_launch", "medium", URBAN, None, "winter"),
        ("copied_listing", "high", OWN, OWN4, None),
        ("price_position", "medium", OWN, OWN4, None),
        ("negative_review", "high", OWN, OWN1, None),
        ("negative_review", "medium", OWN, OWN3, None),
        ("seasonal_launch", "medium", FENGSHANG, None, "spring"),
        ("listing_changed", "medium", OWN, OWN5, None),
        ("price_change", "low", FENGSHANG, "醋酸缎面半身裙 垂感鱼尾裙", None),
        ("stock_change", "low", URBAN, "Organic Cotton Crew Tee", None),
        ("seasonal_launch", "medium", URBAN, None, "spring"),
    }
)


def identity(alert: dict[str, Any]) -> tuple[str, str, str, str | None, str | None]:
    """The facts of a finding that the timeline fixes, whatever the order of checks."""
    listing = alert["listing"]["title"] if alert.get("listing") else None
    season = alert["detail"].get("season") if alert["kind"] == "seasonal_launch" else None
    return (alert["kind"], alert["severity"], alert["shop"], listing, season)


class _Log(list[Recorded]):
    """The receiver's request list; notes, under the receiver's lock, how each request is
    about to be answered (the receiver picks the answer right after appending)."""

    def __init__(self, rx: TrackingReceiver) -> None:
        super().__init__()
        self.rx = rx
        self.delivered: list[bool] = []

    def append(self, item: Recorded) -> None:  # type: ignore[override]
        ok = 200 <= self.rx._default.status < 300 and self.rx._hang < HOOK_TIMEOUT * 0.5
        self.delivered.append(ok and not self.rx._queue)
        super().append(item)


class TrackingReceiver(Receiver):
    """A :class:`Receiver` that knows which requests it answered with success in time."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = _Log(self)

    def reply(
        self,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"ok",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Set the default answer atomically with respect to a request being answered."""
        with self._lock:
            self._default = _reply(status, body, headers)

    def hang(self, seconds: float) -> None:
        """Delay answers, atomically with respect to a request being answered."""
        with self._lock:
            self._hang = seconds

    def delivered_alerts(self) -> list[dict[str, Any]]:
        """Every alert of every request answered with success in time."""
        with self._lock:
            pairs = list(zip(list(self.requests), list(self.requests.delivered), strict=True))
        return [a for r, ok in pairs if ok for a in r.json()["alerts"]]

    def all_alerts(self) -> list[dict[str, Any]]:
        """Every alert of every request, answered well or not."""
        with self._lock:
            reqs = list(self.requests)
        return [a for r in reqs for a in r.json()["alerts"]]


@dataclass
class Soak:
    """One soak run's state and counters."""

    args: argparse.Namespace
    rng: random.Random
    market: Marketplace
    rx: TrackingReceiver
    db: Database
    started: float = field(default_factory=time.monotonic)
    violations: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    receiver_outages: Counter[str] = field(default_factory=Counter)
    shop_faults: dict[str, tuple[str, float]] = field(default_factory=dict)
    standing: dict[str, str] = field(default_factory=dict)
    rx_outage: tuple[str, float] | None = None
    rss: list[tuple[float, int]] = field(default_factory=list)
    steps: list[tuple[int, float]] = field(default_factory=list)
    deck: list[str] = field(default_factory=list)
    wal_max: int = 0
    db_file_start: int = 0

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.started

    # -- faults ------------------------------------------------------------------------

    def _apply_shop_faults(self) -> None:
        self.market.clear_faults()
        for shop, mode in self.standing.items():
            self.market.set_fault(shop, mode)
        for shop, (mode, _) in self.shop_faults.items():
            self.market.set_fault(shop, mode)

    def next_mode(self) -> str:
        """Fault modes in shuffled rounds, so every mode is used about equally often."""
        if not self.deck:
            self.deck = list(self.args.mode_list)
            self.rng.shuffle(self.deck)
        return self.deck.pop()

    def inject(self, *, receiver: bool = False) -> None:
        """Start one random fault: a shop's (most of the time) or a receiver outage."""
        now = self.elapsed()
        if not receiver and self.rng.random() < 0.7:
            free = [s for s in SHOPS if s not in self.standing]
            shop = self.rng.choice([s for s in free if s not in self.shop_faults] or free)
            mode = self.next_mode()
            self.shop_faults[shop] = (mode, now + self.rng.uniform(2, 20))
            self._apply_shop_faults()
            self.faults[mode] += 1
        elif self.rx_outage is None:
            mode = self.rng.choice(RECEIVER_MODES)
            self.rx_outage = (mode, now + self.rng.uniform(2, 15))
            if mode == "500":
                self.rx.reply(500, b"upstream down")
            elif mode == "429":
                self.rx.reply(429, b"slow down", {"Retry-After": "1"})
            elif mode == "hang":
                self.rx.hang(HANG_SECONDS)
            else:
                self.rx.refuse()
            self.receiver_outages[mode] += 1

    def expire(self, everything: bool = False) -> None:
        """End the faults whose time is up (all of them with ``everything``)."""
        now = self.elapsed()
        done = [s for s, (_, until) in self.shop_faults.items() if everything or until <= now]
        for s in done:
            del self.shop_faults[s]
        if done:
            self._apply_shop_faults()
        if self.rx_outage and (everything or self.rx_outage[1] <= now):
            mode = self.rx_outage[0]
            self.rx.reply(200, b"ok")
            self.rx.hang(0)
            if mode == "refuse":
                self.rx.recover()
            self.rx_outage = None


def rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class Database:
    """The soak's database: a fresh SQLite file, or a fresh PostgreSQL database."""

    def __init__(self, work: Path, kind: str, pg_admin: str) -> None:
        self.kind = kind
        self.path = work / "soak.db"
        self.pg_admin = pg_admin
        self.name = f"watcher_soak_{uuid.uuid4().hex[:10]}"
        if kind == "sqlite":
            for p in work.glob("soak.db*"):
                p.unlink()
            self.url = f"sqlite:///{self.path}"
        else:
            import psycopg

            with psycopg.connect(pg_admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            base = pg_admin.rsplit("/", 1)[0].split("://", 1)[1]
            self.url = f"postgresql+psycopg://{base}/{self.name}"

    def _pg(self) -> Any:
        import psycopg

        return psycopg.connect(f"{self.pg_admin.rsplit('/', 1)[0]}/{self.name}")

    def size(self) -> int:
        """Bytes on disk (SQLite: with its WAL and shared-memory files)."""
        if self.kind == "sqlite":
            db = self.path
            return sum(_size(p) for p in db.parent.glob(db.name + "*") if p.is_file())
        with self._pg() as conn:
            return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])

    def file_size(self) -> int:
        """The main file alone (SQLite), or the whole database."""
        return _size(self.path) if self.kind == "sqlite" else self.size()

    def wal_size(self) -> int:
        """SQLite's WAL file (0 on PostgreSQL)."""
        return _size(self.path.with_name(self.path.name + "-wal")) if self.kind == "sqlite" else 0

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                return list(conn.execute(sql))
            finally:
                conn.close()
        with self._pg() as conn:
            return list(conn.execute(sql).fetchall())

    def row_counts(self) -> dict[str, int]:
        """Rows per table."""
        if self.kind == "sqlite":
            names = [
                n for (n,) in self._query("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
        else:
            names = [
                n
                for (n,) in self._query(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            ]
        return {n: int(self._query(f'SELECT count(*) FROM "{n}"')[0][0]) for n in names}

    def stored_alerts(self) -> list[dict[str, Any]]:
        """Every alert row's payload."""
        return [json.loads(p) for (p,) in self._query("SELECT payload FROM alert ORDER BY id")]

    def drop(self) -> None:
        """Drop a PostgreSQL database (the SQLite file stays for inspection)."""
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def config_text(market: Marketplace, db: Database, rx: Receiver) -> str:
    """The daemon's config: 1-second interval, short timeouts, fast alert retries."""
    text = market.config_toml(
        db.url,
        extra=(
            f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url("/hook")}"\n'
            f'timeout = "{HOOK_TIMEOUT:g}s"\n'
        ),
    )
    return text.replace('interval = "1h"', 'interval = "1s"').replace(
        "[watcher]\n",
        '[watcher]\ntimeout = "3s"\nretries = 1\nalert_retry = "1s"\nunreachable_after = 100000\n',
        1,
    )


def delivered_keys(rx: TrackingReceiver) -> Counter[str]:
    """How many times each dedup_key was delivered."""
    return Counter(a["dedup_key"] for a in rx.delivered_alerts())


def wait_for(cond: Any, timeout: float, proc: subprocess.Popen[bytes]) -> bool:
    """Poll ``cond`` until true, the timeout, or the daemon's death."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return bool(cond())


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The soak itself; returns the summary."""
    duration = args.minutes * 60
    warmup = min(180.0, duration / 3)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="watcher-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    db = Database(work, args.database, args.pg_admin)
    log_path = Path(args.log) if args.log else work / "daemon.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with Marketplace(seed=args.seed) as market, TrackingReceiver() as rx:
        config = work / "soak.toml"
        config.write_text(config_text(market, db, rx), encoding="utf-8")
        soak = Soak(args, random.Random(args.seed), market, rx, db)
        if args.database == "postgres" and not args.modes:
            soak.standing[STANDING[0]] = STANDING[1]
            soak._apply_shop_faults()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "watcher", "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env(),
                cwd=ROOT,
            )
            summary = _drive(soak, proc, duration, warmup)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    summary["exit_code"] = proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    summary["exit_code"] = proc.wait()
                    soak.violations.append("daemon did not stop within 60 s of SIGTERM")
                if summary["exit_code"] != 0:
                    soak.violations.append(f"daemon exited {summary['exit_code']} on SIGTERM")
    summary["database"] = args.database
    summary["fault_modes"] = list(args.mode_list)
    summary["standing_faults"] = soak.standing
    summary["db_file_bytes_after_stop"] = db.file_size()
    summary["db_wal_bytes_after_stop"] = db.wal_size()
    summary["rows"] = rows = db.row_counts()
    if rows.get("snapshot", 0) != SNAPSHOTS:
        soak.violations.append(
            f"{rows.get('snapshot')} snapshots written; the timeline changes {SNAPSHOTS} listings"
        )
    text = log_path.read_text(encoding="utf-8", errors="replace")
    summary["log"] = str(log_path)
    summary["log_lines"] = text.count("\n")
    summary["log_tracebacks"] = text.count("Traceback")
    summary["log_errors"] = sum(1 for line in text.splitlines() if "| ERROR" in line)
    summary["violations"] = soak.violations
    summary["ok"] = not soak.violations
    db.drop()
    return summary


def _drive(
    soak: Soak, proc: subprocess.Popen[bytes], duration: float, warmup: float
) -> dict[str, Any]:
    rx, market = soak.rx, soak.market
    pid = proc.pid
    checks_done = 0
    # Phase A: a clean baseline (step 0 findings delivered, every shop read once).
    if not wait_for(lambda: len(delivered_keys(rx)) >= 2, 180, proc):
        soak.violations.append("step 0 findings were not delivered within 180 s")
    time.sleep(3)
    baseline_at = soak.elapsed()
    db_start = soak.db.size()
    soak.db_file_start = soak.db.file_size()
    timeline_at = [baseline_at + 15 * i for i in (1, 2, 3)]
    next_fault = soak.elapsed() + soak.rng.uniform(1, 5)
    next_rss = 0.0
    end = max(duration, baseline_at + 60)
    while soak.elapsed() < end:
        now = soak.elapsed()
        if proc.poll() is not None:
            soak.violations.append(f"daemon died at {now:.0f} s with code {proc.returncode}")
            break
        if timeline_at and now >= timeline_at[0]:
            timeline_at.pop(0)
            if soak.rx_outage is None and soak.rng.random() < 0.7:
                soak.inject(receiver=True)  # the step's alerts meet a receiver outage
            soak.steps.append((market.advance(), round(now, 1)))
        soak.expire()
        if now >= next_fault:
            soak.inject()
            next_fault = now + soak.rng.uniform(soak.args.gap_min, soak.args.gap_max)
        if now >= next_rss:
            soak.rss.append((round(now, 1), rss_kb(pid)))
            soak.wal_max = max(soak.wal_max, soak.db.wal_size())
            next_rss = now + 10
        checks_done += 1
        _check_running(soak)
        time.sleep(0.2)
    # Settle: no faults; everything the timeline caused must arrive.
    soak.expire(everything=True)
    settle_start = soak.elapsed()
    wait_for(lambda: {identity(a) for a in rx.delivered_alerts()} >= EXPECTED, 180, proc)
    time.sleep(5)  # a few clean cycles: nothing more may arrive
    settle = soak.elapsed() - settle_start
    soak.rss.append((round(soak.elapsed(), 1), rss_kb(pid)))
    alive = proc.poll() is None
    if not alive and not any("daemon died" in v for v in soak.violations):
        soak.violations.append(f"daemon died with code {proc.returncode}")
    return _verdict(soak, warmup, db_start, settle, alive)


def _check_running(soak: Soak) -> None:
    """Invariants that must hold at every moment: nothing unexpected, nothing twice."""
    seen = soak.rx.all_alerts()
    for a in seen:
        ident = identity(a)
        if ident not in EXPECTED:
            msg = f"unexpected finding delivered: {ident} {a['summary']!r}"
            if msg not in soak.violations:
                soak.violations.append(msg)
    for key, n in delivered_keys(soak.rx).items():
        if n > 1:
            msg = f"delivered {n} times: {key}"
            if msg not in soak.violations:
                soak.violations.append(msg)


def _verdict(
    soak: Soak, warmup: float, db_start: int, settle: float, alive: bool
) -> dict[str, Any]:
    _check_running(soak)
    delivered = soak.rx.delivered_alerts()
    per_key = Counter(a["dedup_key"] for a in delivered)
    idents = Counter(identity(a) for a in delivered)
    stored = soak.db.stored_alerts()
    stored_ids = Counter(identity(a) for a in stored)
    for ident in sorted(EXPECTED, key=str):
        if idents[ident] == 0:
            where = "stored but never delivered" if stored_ids[ident] else "never raised"
            soak.violations.append(f"expected finding missing ({where}): {ident}")
        elif idents[ident] > 1:
            soak.violations.append(f"finding delivered {idents[ident]} times: {ident}")
    for ident in stored_ids:
        if ident not in EXPECTED:
            soak.violations.append(f"unexpected finding stored: {ident}")
    after = [kb for t, kb in soak.rss if t >= warmup and kb]
    rss = {
        "samples": len(soak.rss),
        "first_kb": soak.rss[0][1] if soak.rss else 0,
        "after_warmup_first_kb": after[0] if after else None,
        "last_kb": soak.rss[-1][1] if soak.rss else 0,
        "max_kb": max((kb for _, kb in soak.rss), default=0),
        "warmup_s": warmup,
    }
    if after and max(after) > after[0] * 1.10:
        soak.violations.append(
            f"RSS grew after warm-up: {after[0]} kB -> max {max(after)} kB (> 10%)"
        )
    if len(after) < 2:
        rss["note"] = "run too short for an RSS trend"
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "minutes": soak.args.minutes,
        "seed": soak.args.seed,
        "duration_s": round(soak.elapsed(), 1),
        "settle_s": round(settle, 1),
        "daemon_alive_throughout": alive,
        "timeline_steps": soak.steps,
        "faults_injected": dict(sorted(soak.faults.items())),
        "faults_total": sum(soak.faults.values()),
        "receiver_outages": dict(sorted(soak.receiver_outages.items())),
        "receiver_requests": len(soak.rx.requests),
        "receiver_requests_answered_ok": sum(soak.rx.requests.delivered),
        "findings_stored": len(stored),
        "findings_delivered": sorted(
            [[*i, per_key[a["dedup_key"]]] for i, a in _by_ident(delivered).items()], key=str
        ),
        "expected_findings": len(EXPECTED),
        "rss": rss,
        "db_wal_max_bytes": soak.wal_max,
        "db_file_bytes_after_baseline": soak.db_file_start,
        "db_bytes_after_baseline": db_start,
        "db_bytes_end": soak.db.size(),
        "db_growth_bytes": soak.db.size() - db_start,
        "market_requests": dict(soak.market.requests),
    }


def _by_ident(alerts: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {identity(a): a for a in alerts}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the summary; exit 1 on a violation."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gap-min", type=float, default=2.0, help="min seconds between faults")
    p.add_argument("--gap-max", type=float, default=8.0, help="max seconds between faults")
    p.add_argument("--workdir", default="", help="where the database goes (a temp dir)")
    p.add_argument("--log", default="", help="the daemon's log file")
    p.add_argument("--out", default="", help="also write the JSON summary here")
    p.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "WATCHER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL URL allowed to create the soak's database",
    )
    p.add_argument(
        "--modes",
        default="",
        help="comma-separated shop fault modes (default: all but ssrf and long_fields; on "
        "postgres long_fields is a standing condition of one competitor)",
    )
    args = p.parse_args(argv)
    if args.modes:
        args.mode_list = [m for m in args.modes.split(",") if m]
        unknown = sorted(set(args.mode_list) - set(FAULT_MODES))
        if unknown:
            p.error(f"unknown fault mode(s): {', '.join(unknown)}")
    else:
        args.mode_list = [m for m in FAULT_MODES if m in DECK]
    summary = run(args)
    text = json.dumps(summary, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
