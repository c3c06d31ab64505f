"""watcher against changedetection.io on the same 500 product pages, in the same run.

Serves ``--pages`` product pages of ~100 KB (``bench/cdio_pages.py``: one JSON-LD Product
with offers, aggregateRating and 10 reviews, in realistic markup) from a local server in its
own process, then, for each of ``--repeats`` rounds, changes every price (and every 10th
product's stock) at once and measures how long each tool takes to re-check all pages and
register every change, and its peak memory:

* **changedetection.io** (its own venv, made by ``--setup`` under ``bench/out/``; never in
  the project venv) runs as its own daemon process with ``ALLOW_IANA_RESTRICTED_ADDRESSES
  =true`` and its default worker count. One watch per page is created through its REST API
  with the price/restock processor (``restock_diff``, all stock changes, follow price
  changes); the creation triggers its baseline pass. A round calls ``GET /api/v1/watch?
  recheck_all=1`` and ends when every watch's ``history-*.txt`` has a new snapshot line
  (read from its datastore on disk, so the polling costs it nothing). The new price of
  every watch is then checked in its ``watch.json``.
* **watcher** gets a config with one competitor ``kind = "html"`` shop whose ``listings``
  are the same URLs (``robots = false``, ``[detect.prices] min_change = 0.01``), SQLite in a
  temporary directory. After one untimed baseline ``watcher check``, a round times one
  ``watcher check --json`` child process and requires exactly one ``price_change`` finding
  per page with the new price (and one ``stock_change`` per flipped product). It runs twice
  per round on separate databases: with ``per_host``/``concurrency`` tuned for one host
  (``--per-host``, ``--concurrency``) and with the defaults (2 per host, 8 in all).

Memory: changedetection.io's peak is the largest sum of VmRSS over its process tree sampled
every 50 ms during the round (its lifetime VmHWM is reported too); watcher's is its
``VmHWM`` (exact, read from /proc while it runs) and ``ru_maxrss`` from ``os.wait4``.
CPU seconds are utime+stime used by each tool during the round. The order of the tools
rotates between rounds; medians are reported. The JSON summary goes to stdout (and to
``--json-out``); progress to stderr.

    .venv/bin/python bench/compare_changedetection.py --setup      # once: makes its venv
    .venv/bin/python bench/compare_changedetection.py --pages 500 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cdio_pages

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENV = ROOT / "bench" / "out" / "cdio-venv"
TICK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    """The 1/5/15-minute load averages."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


# ------------------------------------------------------------------------------ /proc


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (alive now)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                todo.extend(int(k) for k in kids)
        except OSError:
            continue
    return out


def status_kib(pid: int, *keys: str) -> dict[str, int]:
    """Fields of /proc/PID/status in KiB ({} when the process is gone)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in keys:
                out[name] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and its reaped children (cutime+cstime), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK


class Sampler:
    """Samples a process tree every ``interval`` s: peak summed VmRSS and peak VmHWM."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak_rss = 0
        self.hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        """One sample."""
        total = 0
        for p in tree(self.pid):
            st = status_kib(p, "VmRSS", "VmHWM")
            total += st.get("VmRSS", 0)
            if "VmHWM" in st:
                self.hwm[p] = max(self.hwm.get(p, 0), st["VmHWM"])
        self.peak_rss = max(self.peak_rss, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


# ---------------------------------------------------------------------- page server


class PageServer:
    """``bench/cdio_pages.py`` in its own process (its memory never counts for a tool)."""

    def __init__(self, pages: int, tmp: Path) -> None:
        port_file = tmp / "pages.json"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("cdio_pages.py")),
                "--pages",
                str(pages),
                "--port-file",
                str(port_file),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the page server did not start")
            time.sleep(0.2)
        self.base = f"http://127.0.0.1:{json.loads(port_file.read_text())['port']}/"
        self.count = pages

    def urls(self) -> list[str]:
        """The product page URLs."""
        return [f"{self.base}p/{i}" for i in range(self.count)]

    def switch(self, version: int) -> None:
        """Every page to ``version`` (returns once all are switched)."""
        req = urllib.request.Request(f"{self.base}_bench/version?v={version}", method="POST")
        with urllib.request.urlopen(req, timeout=600) as r:
            r.read()

    def close(self) -> None:
        """Stop the server."""
        self.proc.terminate()
        self.proc.wait(10)


# --------------------------------------------------------------- changedetection.io


def setup_venv(venv: Path) -> None:
    """Create ``venv`` with ``python3 -m venv`` and install changedetection.io into it."""
    log(f"creating {venv} and installing changedetection.io (a few minutes)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    pip = str(venv / "bin" / "pip")
    subprocess.run([pip, "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([pip, "install", "-q", "changedetection.io"], check=True)


def cdio_version(venv: Path) -> str:
    """The installed changedetection.io version."""
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import changedetectionio as c; print(c.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


class Cdio:
    """A changedetection.io daemon with its own datastore."""

    def __init__(self, venv: Path, datadir: Path, dummy_url: str) -> None:
        self.datadir = datadir
        sock = __import__("socket").socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env.update(ALLOW_IANA_RESTRICTED_ADDRESSES="true", LOGGER_LEVEL="WARNING")
        self.log = open(datadir.parent / "cdio.log", "wb")  # noqa: SIM115
        # One URL on the command line stops it from adding its two default (internet)
        # watches; that placeholder watch is deleted through the API below.
        self.proc = subprocess.Popen(
            [
                str(venv / "bin" / "python"),
                str(venv / "bin" / "changedetection.py"),
                "-d",
                str(datadir),
                "-C",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-u",
                dummy_url,
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=datadir.parent,
        )
        self.key = ""
        self.api_base = f"http://127.0.0.1:{self.port}/api/v1/"
        self.watches: dict[str, str] = {}  # uuid -> url

    def api(self, method: str, path: str, data: Any = None) -> tuple[int, Any]:
        """One REST API call: (status, decoded JSON or None)."""
        req = urllib.request.Request(
            self.api_base + path,
            method=method,
            data=json.dumps(data).encode() if data is not None else None,
            headers={"x-api-key": self.key, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                body = r.read()
                return r.status, json.loads(body) if body else None
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def wait_ready(self) -> None:
        """Wait for the API (the key is in the datastore's changedetection.json)."""
        settings = self.datadir / "changedetection.json"
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("changedetection.io exited; see cdio.log")
            if time.monotonic() > deadline:
                raise SystemExit("changedetection.io did not start")
            try:
                app = json.loads(settings.read_text())["settings"]["application"]
                self.key = app["api_access_token"]
                status, listed = self.api("GET", "watch")
                if status == 200:
                    for uuid in listed:
                        self.api("DELETE", f"watch/{uuid}")
                    return
            except (OSError, ValueError, KeyError, urllib.error.URLError):
                pass
            time.sleep(0.5)

    def create(self, urls: list[str]) -> None:
        """One restock_diff watch per URL (4 API clients at a time)."""

        def one(url: str) -> tuple[str, str]:
            status, body = self.api(
                "POST",
                "watch",
                {
                    "url": url,
                    "processor": "restock_diff",
                    "fetch_backend": "html_requests",
                    "processor_config_restock_diff": {
                        "in_stock_processing": "all_changes",
                        "follow_price_changes": True,
                    },
                },
            )
            if status != 201:
                raise SystemExit(f"creating a watch for {url} failed: {status} {body}")
            return body["uuid"], url

        with ThreadPoolExecutor(4) as pool:
            self.watches = dict(pool.map(one, urls))

    def snapshots(self, uuid: str) -> int:
        """How many snapshots (history lines) the watch has."""
        n = 0
        for f in (self.datadir / uuid).glob("history*.txt"):
            try:
                n += sum(1 for line in f.read_text().splitlines() if line.strip())
            except OSError:
                continue
        return n

    def wait_snapshots(self, before: dict[str, int], timeout: float, sampler: Sampler) -> float:
        """Wait until every watch has more snapshots than in ``before``; the time it took."""
        start = time.perf_counter()
        todo = set(self.watches)
        mtimes: dict[str, float] = {}
        while todo:
            for uuid in list(todo):
                mt = 0.0
                for f in (self.datadir / uuid).glob("history*.txt"):
                    try:
                        mt = max(mt, f.stat().st_mtime)
                    except OSError:
                        continue
                if mt and mt != mtimes.get(uuid):
                    mtimes[uuid] = mt
                    if self.snapshots(uuid) > before.get(uuid, 0):
                        todo.discard(uuid)
            if not todo:
                break
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"changedetection.io: {len(todo)} watches never re-checked")
            if self.proc.poll() is not None:
                raise SystemExit("changedetection.io exited; see cdio.log")
            time.sleep(0.05)
        sampler.sample()
        return time.perf_counter() - start

    def restock(self, uuid: str) -> dict[str, Any]:
        """The watch's stored restock data (price, in_stock)."""
        data = json.loads((self.datadir / uuid / "watch.json").read_text())
        return data.get("restock") or {}

    def close(self) -> None:
        """Stop the daemon."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def cdio_round(cdio: Cdio, version: int, urls: dict[str, int]) -> dict[str, Any]:
    """Recheck all watches after the switch to ``version``; time, memory, and checks."""
    before = {uuid: cdio.snapshots(uuid) for uuid in cdio.watches}
    load = loadavg()
    cpu0 = sum(cpu_seconds(p) for p in tree(cdio.proc.pid))
    with Sampler(cdio.proc.pid) as sampler:
        start = time.perf_counter()
        status, body = cdio.api("GET", "watch?recheck_all=1")
        if status not in (200, 202):
            raise SystemExit(f"recheck_all failed: {status} {body}")
        cdio.wait_snapshots(before, 1800, sampler)
        wall = time.perf_counter() - start
    cpu = sum(cpu_seconds(p) for p in tree(cdio.proc.pid)) - cpu0
    wrong = []
    for uuid, url in cdio.watches.items():
        index = urls[url]
        got = cdio.restock(uuid)
        want = cdio_pages.price(index, version)
        if got.get("price") is None or abs(float(got["price"]) - want) > 0.005:
            wrong.append((url, got.get("price"), want))
        elif got.get("in_stock") != cdio_pages.in_stock(index, version):
            wrong.append((url, got.get("in_stock"), "stock"))
    lifetime = status_kib(cdio.proc.pid, "VmHWM").get("VmHWM", 0)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mib": round(sampler.peak_rss / 1024, 1),
        "lifetime_hwm_mib": round(lifetime / 1024, 1),
        "processes": len(tree(cdio.proc.pid)),
        "changes_registered": len(cdio.watches) - len(wrong),
        "wrong": wrong[:5],
        "load_before": load,
    }


# -------------------------------------------------------------------------- watcher


def write_config(path: Path, urls: list[str], per_host: int | None, conc: int | None) -> None:
    """A watcher config: one competitor html shop watching ``urls``."""
    db = path.with_suffix(".db")
    lines = [
        "[watcher]",
        f'database = "sqlite:///{db}"',
        'log_level = "WARNING"',
        "robots = false",
    ]
    if per_host is not None:
        lines.append(f"per_host = {per_host}")
    if conc is not None:
        lines.append(f"concurrency = {conc}")
    lines += [
        "",
        "[detect.prices]",
        "min_change = 0.01",
        "",
        "[[shops]]",
        'name = "Rival"',
        'kind = "html"',
        f'url = "{urls[0].rsplit("/p/", 1)[0]}/"',
        "robots = false",
        'currency = "USD"',
        "listings = [",
        *(f'  "{u}",' for u in urls),
        "]",
        "",
    ]
    path.write_text("\n".join(lines))


WATCHER = [sys.executable, "-m", "watcher"]
PROTOTYPE = [sys.executable, str(Path(__file__).with_name("cdio_prototype.py"))]


def watcher_pass(
    config: Path, out: Path, command: list[str] = WATCHER, cwd: Path = ROOT
) -> dict[str, Any]:
    """One ``watcher check --json`` child (run in ``cwd``, whose ``watcher`` package
    ``python -m`` finds first): wall time, CPU, memory, its findings."""
    load = loadavg()
    with open(out, "wb") as stdout, open(out.with_suffix(".err"), "wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                *command,
                "--log-level",
                "WARNING",
                "check",
                "--json",
                "--config",
                str(config),
            ],
            stdout=stdout,
            stderr=stderr,
            cwd=cwd,
        )
        with Sampler(proc.pid) as sampler:
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    code = proc.returncode
    if code != 0:
        sys.stderr.write(out.with_suffix(".err").read_text()[-3000:])
        raise SystemExit(f"watcher check exited with {code}")
    findings = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(max(sampler.hwm.values(), default=0) / 1024, 1),
        "ru_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
        "findings": findings,
        "load_before": load,
    }


def watcher_round(
    config: Path,
    out: Path,
    version: int,
    urls: dict[str, int],
    command: list[str] = WATCHER,
    cwd: Path = ROOT,
) -> dict[str, Any]:
    """A timed pass after the switch to ``version``; every price change must be found."""
    res = watcher_pass(config, out, command, cwd)
    findings = res.pop("findings")
    prices = {
        f["listing"]["url"]: f["detail"]["new"] for f in findings if f["kind"] == "price_change"
    }
    stock = [f for f in findings if f["kind"] == "stock_change"]
    wrong = [
        (u, prices.get(u), cdio_pages.price(i, version))
        for u, i in urls.items()
        if prices.get(u) is None or abs(prices[u] - cdio_pages.price(i, version)) > 0.005
    ]
    flips = sum(
        1
        for i in urls.values()
        if cdio_pages.in_stock(i, version) != cdio_pages.in_stock(i, version - 1)
    )
    res.update(
        price_change_findings=sum(1 for f in findings if f["kind"] == "price_change"),
        changes_registered=len(urls) - len(wrong),
        stock_change_findings=len(stock),
        stock_flips_expected=flips,
        wrong=wrong[:5],
        other_findings=sorted({f["kind"] for f in findings} - {"price_change", "stock_change"}),
    )
    return res


# ----------------------------------------------------------------------------- main


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the rounds."""
    return {
        "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 2),
        "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
        "median_peak_rss_mib": round(statistics.median(r["peak_rss_mib"] for r in runs), 1),
        "all_changes_registered": all(not r["wrong"] for r in runs),
        "runs": runs,
    }


def main() -> None:
    """Run the comparison and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="create changedetection.io's venv")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-host", type=int, default=8, help="watcher per_host, tuned run")
    parser.add_argument("--concurrency", type=int, default=8, help="watcher concurrency, tuned")
    parser.add_argument("--no-defaults", action="store_true", help="skip watcher with defaults")
    parser.add_argument("--no-cdio", action="store_true", help="watcher only")
    parser.add_argument(
        "--prototype",
        nargs="?",
        const="sniffio,copies,repr,transport",
        default="",
        help="also run the tuned watcher with these bench/cdio_prototype.py patches "
        "(default: all of them)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        action="append",
        default=[],
        metavar="CHECKOUT",
        help="also run the tuned watcher of this checkout (its own .venv; repeatable), "
        "interleaved with the others: before/after figures from the same run",
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    if args.setup:
        setup_venv(args.venv)
    if not args.no_cdio and not (args.venv / "bin" / "changedetection.py").exists():
        raise SystemExit(f"no changedetection.io in {args.venv}; run with --setup first")

    tmpdir = None
    if args.keep:
        work = args.keep
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="cdio-bench-")
        work = Path(tmpdir.name)
    closers: list[Callable[[], None]] = []
    try:
        log(f"rendering {args.pages} pages")
        server = PageServer(args.pages, work)
        closers.append(server.close)
        urls = server.urls()
        index = {u: i for i, u in enumerate(urls)}

        tuned = f"watcher_per_host_{args.per_host}_concurrency_{args.concurrency}"
        variants: dict[str, Path] = {tuned: work / "tuned.toml"}
        commands = {tuned: WATCHER}
        cwds: dict[str, Path] = {}
        write_config(variants[tuned], urls, args.per_host, args.concurrency)
        if not args.no_defaults:
            variants["watcher_defaults"] = work / "defaults.toml"
            commands["watcher_defaults"] = WATCHER
            write_config(variants["watcher_defaults"], urls, None, None)
        if args.prototype:
            variants[f"{tuned}_prototype"] = work / "prototype.toml"
            commands[f"{tuned}_prototype"] = PROTOTYPE
            write_config(variants[f"{tuned}_prototype"], urls, args.per_host, args.concurrency)
            os.environ["WATCHER_PROTOTYPE"] = args.prototype  # read by cdio_prototype.py

        for checkout in args.before:
            checkout = checkout.resolve()
            head = subprocess.run(
                ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            name = f"{tuned}_at_{head}"
            variants[name] = work / f"before-{head}.toml"
            commands[name] = [str(checkout / ".venv" / "bin" / "python"), "-m", "watcher"]
            cwds[name] = checkout
            write_config(variants[name], urls, args.per_host, args.concurrency)

        baseline: dict[str, Any] = {}
        for name, cfg in variants.items():
            log(f"{name}: baseline pass")
            res = watcher_pass(
                cfg, work / f"{name}-base.jsonl", commands[name], cwds.get(name, ROOT)
            )
            baseline[name] = {k: res[k] for k in ("wall_s", "cpu_s", "peak_rss_mib")}

        cdio: Cdio | None = None
        version_info = None
        if not args.no_cdio:
            version_info = cdio_version(args.venv)
            datadir = work / "cdio-data"
            log(f"changedetection.io {version_info}: starting")
            cdio = Cdio(args.venv, datadir, f"{server.base}_bench/stats")
            closers.insert(0, cdio.close)
            cdio.wait_ready()
            start = time.perf_counter()
            cdio.create(urls)
            log(f"changedetection.io: {len(cdio.watches)} watches created, baseline pass")
            with Sampler(cdio.proc.pid) as s:
                cdio.wait_snapshots({}, 1800, s)
            baseline["changedetection"] = {
                "wall_s": round(time.perf_counter() - start, 2),
                "peak_rss_mib": round(s.peak_rss / 1024, 1),
            }
            time.sleep(2)  # its history keys are whole seconds: the next snapshot is later

        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        if cdio is not None:
            runs["changedetection"] = []
        for r in range(1, args.repeats + 1):
            server.switch(r)
            log(f"round {r}: every price changed")
            order = list(runs)
            order = order[r % len(order) :] + order[: r % len(order)]
            for name in order:
                if name == "changedetection":
                    assert cdio is not None
                    res = cdio_round(cdio, r, index)
                else:
                    res = watcher_round(
                        variants[name],
                        work / f"{name}-{r}.jsonl",
                        r,
                        index,
                        commands[name],
                        cwds.get(name, ROOT),
                    )
                runs[name].append(res)
                log(
                    f"round {r}: {name}: {res['wall_s']} s, {res['cpu_s']} CPU s, "
                    f"{res['peak_rss_mib']} MiB, {res['changes_registered']} changes"
                )
            time.sleep(1.5)

        results = {name: summarize(rs) for name, rs in runs.items()}
        summary: dict[str, Any] = {
            "pages": args.pages,
            "page_bytes": len(cdio_pages.render(0, 0, server.base)),
            "repeats": args.repeats,
            "nproc": os.cpu_count(),
            "changedetection_version": version_info,
            "prototype_patches": args.prototype or None,
            "watcher_commit": subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
            ).stdout.strip(),
            "watcher_settings": {"per_host": args.per_host, "concurrency": args.concurrency},
            "baseline_pass": baseline,
            "results": results,
        }
        if cdio is not None:
            ref = results["changedetection"]
            summary["ratios"] = {
                name: {
                    "speedup": round(ref["median_wall_s"] / res["median_wall_s"], 2),
                    "cpu_ratio": round(ref["median_cpu_s"] / res["median_cpu_s"], 2),
                    "memory_ratio": round(
                        res["median_peak_rss_mib"] / ref["median_peak_rss_mib"], 3
                    ),
                    "target_met": ref["median_wall_s"] / res["median_wall_s"] >= 15
                    and res["median_peak_rss_mib"] <= ref["median_peak_rss_mib"] / 2
                    and res["all_changes_registered"],
                }
                for name, res in results.items()
                if name != "changedetection"
            }
        text = json.dumps(summary, indent=2)
        print(text)
        if args.json_out:
            args.json_out.write_text(text + "\n")
    finally:
        for close in closers:
            try:
                close()
            except Exception as e:  # cleanup must go on
                log(f"cleanup: {e}")
        if tmpdir is not None:
            tmpdir.cleanup()


if __name__ == "__main__":
    main()
