"""One `watcher check` pass over a scale sample marketplace on loopback.

Starts ``python -m watcher.demo --shops N --listings M`` (the scale sample marketplace)
in its own process, writes a config, runs
``watcher check`` as a child process (a fresh SQLite database, so the pass stores every
listing for the first time; ``--passes 2`` adds a second, steady-state pass), and prints
wall time, listings per second and the child's peak RSS.

    .venv/bin/python bench/bench_check.py --shops 20 --listings 500
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _tree_rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and its child processes (the worker pool), in KiB."""
    total = 0
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run_pass(config: Path, env: dict[str, str]) -> tuple[float, float, int, int, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB, peak RSS of the process and its
    workers together in KiB (sampled every 0.1 s), exit code) of one `watcher check`.
    CPU seconds include the worker processes'."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watcher",
            "--log-level",
            "WARNING",
            "check",
            "--json",
            "--config",
            str(config),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    tree = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree
        while not done.wait(0.1):
            tree = max(tree, _tree_rss_kib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        print(err, file=sys.stderr)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, tree, code


def main() -> None:
    """Run the benchmark and print a JSON line of results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--listings", type=int, default=500)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument(
        "--database", default="", help="database URL (default: a temporary SQLite file)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "market.json"
        # The marketplace runs in its own process: forking this harness must not make the
        # child's peak RSS include the marketplace's memory.
        market = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watcher.demo",
                "--shops",
                str(args.shops),
                "--listings",
                str(args.listings),
                "--port-file",
                str(port_file),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists():
                if time.monotonic() > deadline or market.poll() is not None:
                    raise SystemExit("the sample marketplace did not start")
                time.sleep(0.1)
            desc = json.loads(port_file.read_text())
            db = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
            config = Path(tmp) / "bench.toml"
            text = desc["config_toml"]
            config.write_text(
                text.replace(text.split('database = "', 1)[1].split('"', 1)[0], db, 1)
            )
            env = {k: v for k, v in os.environ.items() if k != "WATCHER_DATABASE_URL"}
            total = args.shops * args.listings
            results = []
            for n in range(args.passes):
                if n:
                    market.send_signal(signal.SIGUSR1)  # advance the timeline: ~5% of prices change
                    time.sleep(0.5)
                load = os.getloadavg()[0]
                wall, cpu, rss, tree, code = run_pass(config, env)
                results.append(
                    {
                        "pass": n + 1,
                        "wall_s": round(wall, 2),
                        "cpu_s": round(cpu, 2),
                        "listings_per_s": round(total / wall),
                        "peak_rss_mb": round(rss / 1024, 1),
                        "peak_rss_with_workers_mb": round(tree / 1024, 1),
                        "load_1min_before": round(load, 2),
                        "exit": code,
                    }
                )
                print(json.dumps(results[-1]), flush=True)
            print(
                json.dumps(
                    {"shops": args.shops, "listings_per_shop": args.listings, "passes": results}
                )
            )
        finally:
            market.terminate()
            market.wait(10)


if __name__ == "__main__":
    main()
