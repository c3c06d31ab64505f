"""Three `watcher run` instances on one PostgreSQL database, one SIGKILLed midway.

Starts the scale sample marketplace (one own shop plus ``--shops - 1`` competitors) in a
process of its own, a webhook receiver, a fresh PostgreSQL database, and ``--instances``
daemons with one config (``--interval``, jitter a quarter of it, ``--lease``). Every two
intervals about 5 % of competitor prices change (price alerts). At ``--kill-at`` intervals
the instance that is checking a shop right then is killed with SIGKILL; the run ends
after ``--intervals`` intervals with SIGTERM to the survivors.

Reports, from the database's check history and a 4 Hz sample of the schedule table:
checks per shop per interval (target 1), checks of one shop running at once (target 0),
how long after the kill each of the killed instance's shops was checked again, the
longest time any shop went unchecked (target <= 2 intervals), alerts stored vs. delivered
(each exactly once, none lost), the survivors' exit time after SIGTERM, and each
instance's CPU time and peak RSS.

    .venv/bin/python bench/bench_fleet.py --shops 60 --interval 20 --intervals 9
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from tests.receiver import Receiver  # noqa: E402
from watcher.store import Store  # noqa: E402
from watcher.store.fleet import FleetStore  # noqa: E402

ADMIN = os.environ.get("WATCHER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MB) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return cpu, hwm


def start_market(
    tmp: Path, shops: int, listings: int
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    port_file = tmp / "market.json"
    market = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watcher.demo",
            "--shops",
            str(shops - 1),
            "--listings",
            str(listings),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if time.monotonic() > deadline or market.poll() is not None:
            raise SystemExit("the sample marketplace did not start")
        time.sleep(0.1)
    return market, json.loads(port_file.read_text())


def main() -> None:
    """Run the benchmark; print a JSON summary."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--shops", type=int, default=60, help="shops in the config (1 own)")
    ap.add_argument("--listings", type=int, default=100)
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--interval", type=float, default=20.0)
    ap.add_argument("--lease", type=float, default=10.0)
    ap.add_argument("--intervals", type=float, default=9.0, help="length of the run")
    ap.add_argument("--kill-at", type=float, default=4.0, help="in intervals from the start")
    ap.add_argument("--logs", type=Path, default=None, help="keep the daemons' logs here")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args()

    import psycopg

    dbname = f"watcher_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    url = f"postgresql+psycopg://{ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{dbname}"
    interval = args.interval
    with tempfile.TemporaryDirectory() as tmpdir, Receiver() as rx:
        tmp = Path(tmpdir)
        logs = args.logs or tmp
        logs.mkdir(parents=True, exist_ok=True)
        market, desc = start_market(tmp, args.shops, args.listings)
        config = tmp / "fleet.toml"
        body = desc["config_toml"]
        body = body.replace(body.split('database = "', 1)[1].split('"', 1)[0], url, 1)
        body = body.replace(
            'interval = "1h"\njitter = "0s"',
            f'interval = "{interval}s"\njitter = "{interval / 4}s"\nlease = "{args.lease}s"',
        )
        body += f'\n[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url("/hook")}"\n'
        config.write_text(body, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "WATCHER_DATABASE_URL"}
        daemons = []
        for n in range(args.instances):
            log = (logs / f"instance-{n}.log").open("wb")
            daemons.append(
                subprocess.Popen(
                    [sys.executable, "-m", "watcher", "run", "--config", str(config)],
                    stdout=log,
                    stderr=log,
                    env=env,
                )
            )
        store = Store(url)
        fleet = FleetStore(store.engine)
        shops = [s["name"] for s in desc["shops"] if s["role"] != "marketplace"]
        owners: dict[tuple[str, datetime], str] = {}  # (shop, claimed_at) -> instance
        late: dict[tuple[str, datetime], float] = {}  # (shop, claimed_at) -> s past due
        ids: dict[int, str] = {}  # pid -> instance id
        started = time.monotonic()
        end = started + args.intervals * interval
        kill_due = started + args.kill_at * interval
        next_advance = started + 2 * interval
        victim_pid = 0
        killed_at: datetime | None = None
        victim_id = ""
        victim_held: list[str] = []
        stats: dict[str, tuple[float, float]] = {}
        try:
            while time.monotonic() < end:
                try:
                    slots = fleet.schedule(shops)
                    for i in fleet.instances():
                        ids.setdefault(int(i.id.split(":")[-2]), i.id)
                except Exception as e:  # the database is still being created
                    print(f"sample failed: {e}", file=sys.stderr)
                    time.sleep(0.25)
                    continue
                for s in slots:
                    if s.owner and s.claimed_at:
                        owners.setdefault((s.shop, s.claimed_at), s.owner)
                        late[(s.shop, s.claimed_at)] = (s.claimed_at - s.due_at).total_seconds()
                now = time.monotonic()
                if now >= next_advance:
                    market.send_signal(signal.SIGUSR1)
                    next_advance += 2 * interval
                if killed_at is None and now >= kill_due:
                    busy = {s.owner for s in slots if s.owner}
                    candidates = [p for p, i in ids.items() if i in busy]
                    if candidates or now >= kill_due + interval:
                        victim_pid = candidates[0] if candidates else daemons[-1].pid
                        victim_id = ids.get(victim_pid, "")
                        victim_held = [s.shop for s in slots if s.owner == victim_id]
                        stats[victim_id] = proc_stats(victim_pid)
                        os.kill(victim_pid, signal.SIGKILL)
                        killed_at = fleet.now()
                        print(
                            f"killed {victim_id} while it checked {victim_held}",
                            file=sys.stderr,
                        )
                time.sleep(0.25)
            for d in daemons:
                if d.pid != victim_pid and d.poll() is None:
                    stats[ids.get(d.pid, str(d.pid))] = proc_stats(d.pid)
            stop_times = []
            for d in daemons:
                if d.pid == victim_pid:
                    d.wait(10)
                    continue
                t0 = time.monotonic()
                d.send_signal(signal.SIGTERM)
                code = d.wait(30)
                stop_times.append((round(time.monotonic() - t0, 2), code))
            time.sleep(1.0)
            pending = {
                a.dedup_key
                for a, ds in store.alerts(limit=100000)
                if [d.state for d in ds] != ["sent"]
            }
            # A batch cut off by the kill is held by its outbox lease (3 min); redeliver now.
            retry = subprocess.run(
                [sys.executable, "-m", "watcher", "alerts", "--retry", "--config", str(config)],
                capture_output=True,
                text=True,
                env=env,
            )
            with store.engine.connect() as c:
                history = c.execute(
                    text(
                        "SELECT shop.name, check_run.started_at, check_run.finished_at,"
                        " check_run.status FROM check_run JOIN shop ON shop.id = check_run.shop_id"
                        " ORDER BY check_run.id"
                    )
                ).all()
            stored = {a.dedup_key: [d.state for d in ds] for a, ds in store.alerts(limit=100000)}
        finally:
            for d in daemons:
                if d.poll() is None:
                    d.kill()
            store.close()
            market.terminate()
            market.wait(10)
            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        delivered: Counter[str] = Counter()
        cut_off = 0
        for r in list(rx.requests):
            try:
                delivered.update(a["dedup_key"] for a in r.json()["alerts"])
            except (ValueError, KeyError):  # a body cut off by the kill
                cut_off += 1

    runs: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for name, s, f, _ in history:
        if name in shops:
            runs[name].append((s, f))
    first = min(s for r in runs.values() for s, _ in r)
    warm = first + timedelta(seconds=interval)  # the first interval staggers the start
    per_interval = {}  # checks per interval of each shop: interval / its mean gap
    for shop, r in runs.items():
        steady = [s for s, _ in r if s >= warm]
        if len(steady) > 1:
            span = (steady[-1] - steady[0]).total_seconds()
            per_interval[shop] = (len(steady) - 1) * interval / span
    overlaps = 0
    max_gap = 0.0
    for r in runs.values():
        done = [(s, f) for s, f in r if f is not None]
        overlaps += sum(1 for (_, f), (s, _) in itertools.pairwise(done) if f is not None and s < f)
        starts = [s for s, _ in r]
        if len(starts) > 1:
            max_gap = max(
                max_gap, max((b - a).total_seconds() for a, b in itertools.pairwise(starts))
            )
    gaps = [
        (b - a).total_seconds()
        for r in runs.values()
        for a, b in itertools.pairwise([s for s, _ in r if s >= warm])
    ]
    lateness = sorted(late.values())
    took = sorted((f - s).total_seconds() for r in runs.values() for s, f in r if f is not None)
    takeover: dict[str, float] = {}
    kept = [shop for (shop, _), who in owners.items() if who == victim_id]
    if killed_at is not None:
        for shop in set(kept) | set(victim_held):
            later = [s for s, _ in runs[shop] if s > killed_at]
            takeover[shop] = round((later[0] - killed_at).total_seconds(), 1) if later else -1
    checks_by = Counter(owners.values())
    result = {
        "shops": len(shops),
        "instances": args.instances,
        "interval_s": interval,
        "lease_s": args.lease,
        "run_s": round(args.intervals * interval),
        "checks": sum(len(r) for r in runs.values()),
        "checks_per_shop_per_interval": {
            "mean": round(sum(per_interval.values()) / len(per_interval), 3),
            "min": round(min(per_interval.values()), 3),
            "max": round(max(per_interval.values()), 3),
        },
        "mean_s_between_checks_of_a_shop": round(sum(gaps) / len(gaps), 2),
        "claimed_after_due_s": {
            "median": round(lateness[len(lateness) // 2], 2),
            "p95": round(lateness[int(len(lateness) * 0.95)], 2),
            "max": round(lateness[-1], 2),
        },
        "check_s": {
            "median": round(took[len(took) // 2], 2),
            "p95": round(took[int(len(took) * 0.95)], 2),
        },
        "checks_by_instance": dict(checks_by),
        "same_shop_checks_at_once": overlaps,
        "killed": victim_id,
        "killed_mid_check_of": victim_held,
        "taken_over_after_s": {
            "in_flight": {s: takeover.get(s) for s in victim_held},
            "max_all_its_shops": max(takeover.values()) if takeover else None,
            "its_shops": len(takeover),
        },
        "longest_unchecked_s": round(max_gap, 1),
        "longest_unchecked_intervals": round(max_gap / interval, 2),
        "alerts_stored": len(stored),
        "alerts_delivered": len(delivered),
        "alerts_delivered_twice": sum(1 for n in delivered.values() if n > 1),
        "requests_cut_off_by_the_kill": cut_off,
        "alerts_lost": sorted(set(stored) - set(delivered))[:5],
        "alerts_not_sent_at_stop": len(pending),
        "alerts_not_sent_after_retry": sum(1 for st in stored.values() if st != ["sent"]),
        "retry_exit": retry.returncode,
        "survivor_stop_s_and_exit": stop_times,
        "cpu_s_and_peak_rss_mb": {k: [round(c, 1), round(m, 1)] for k, (c, m) in stats.items()},
        "load_avg": os.getloadavg(),
    }
    out = json.dumps(result, ensure_ascii=False, indent=1)
    print(out)
    if args.out:
        args.out.write_text(out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
