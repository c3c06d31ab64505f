"""Helpers for end-to-end tests: run the real `watcher` program against the sample
marketplace over real sockets."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watcher.demo import Marketplace


@dataclass
class CheckRun:
    """The outcome of one `watcher check --json` subprocess."""

    code: int
    findings: list[dict[str, Any]]
    stderr: str


def write_config(
    market: Marketplace, path: Path, database: str, *, watcher: str = "", extra: str = ""
) -> Path:
    """Write the marketplace's config, with extra ``[watcher]`` keys and extra tables."""
    text = market.config_toml(database, extra=extra)
    if watcher:
        text = text.replace("[watcher]\n", f"[watcher]\n{watcher.strip()}\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def env() -> dict[str, str]:
    """The environment for a child watcher (no database override from the outside)."""
    return {k: v for k, v in os.environ.items() if k != "WATCHER_DATABASE_URL"}


def check(config: Path, *args: str, timeout: float = 120) -> CheckRun:
    """Run `watcher check --json` and parse its findings."""
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "check", "--json", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
    )
    findings = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return CheckRun(proc.returncode, findings, proc.stderr)


def brief(f: dict[str, Any]) -> tuple[Any, ...]:
    """The identifying facts of a finding, for exact comparisons."""
    d = f["detail"]
    listing = f["listing"]["title"] if f["listing"] else None
    extra: tuple[Any, ...] = ()
    if f["kind"] == "copied_listing":
        extra = (d["copy"]["shop"], d["image_distance"] is not None and d["image_distance"] <= 10)
    elif f["kind"] == "negative_review":
        extra = (d["rating"], d["reason"])
    elif f["kind"] == "seasonal_launch":
        extra = (
            d["season"],
            d["year"],
            len(d["items"]),
            d["competitors_launched"],
            d["competitors_tracked"],
        )
    elif f["kind"] in ("price_change", "stock_change"):
        extra = (d["old"], d["new"])
    elif f["kind"] == "listing_changed":
        extra = tuple(sorted(d["changes"]))
    elif f["kind"] == "price_position":
        cheapest = d["matched"][0]
        extra = (d["position"], d["undercut_by"], cheapest["shop"], cheapest["price"])
    return (f["kind"], f["severity"], f["shop"], listing, *extra)


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

    def drain(self) -> str:
        """Every line logged so far."""
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return "".join(self.log)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.drain()
        return code
