"""Helpers for the dashboard tests: a database filled by real checks of the sample
marketplace's timeline (plus a hostile listing and review), and a real `watcher serve`
subprocess on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.e2e import env
from tests.receiver import Receiver
from watcher.config import parse_config
from watcher.demo import Marketplace
from watcher.demo.catalog import OWN, URBAN
from watcher.demo.timeline import NewProduct, NewReview, Step, apply_step

HOSTILE_TITLE = (
    "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
    " Hostile \u202egpj.exe Tee"
)
FORMULA_TITLE = '=HYPERLINK("http://evil.example/","Flash deal")'
HOSTILE_REVIEW = "<script>document.title='pwned'</script><b>bold?</b> 差评 terrible"
PASSWORD_ENV = "WATCHER_TEST_DASHBOARD_PASSWORD"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Filled:
    """A database after the demo timeline's four checks."""

    database: str
    config_text: str
    """The marketplace's config for this database (its shop URLs are dead afterwards)."""

    def write(self, path: Path, *, watcher: str = "", extra: str = "") -> Path:
        """The config with extra ``[watcher]`` keys and extra tables, written to ``path``."""
        text = self.config_text
        if watcher:
            text = text.replace("[watcher]\n", f"[watcher]\n{watcher.strip()}\n", 1)
        path.write_text(text + "\n" + extra + "\n", encoding="utf-8")
        return path


def _hostile(step: int) -> Step:
    if step != 1:
        return Step(events=())
    return Step(
        events=("a hostile title and review",),
        changes=(
            NewProduct(URBAN, 7301200099001, HOSTILE_TITLE, "hostile-tee", "12.00", "Tops"),
            NewProduct(URBAN, 7301200099002, FORMULA_TITLE, "formula-tee", "13.00", "Tops"),
            NewReview(
                OWN, "camellia-embroidered-silk-blouse", 39901, "<i>Eve</i>", 2, HOSTILE_REVIEW
            ),
        ),
    )


def fill(database: str) -> Filled:
    """Run the demo timeline's checks (with two alert channels: one that takes every
    alert, one that refuses them for good) into ``database``."""
    with Receiver() as ok, Receiver() as refusing, Marketplace() as market:
        refusing.reply(400, b"bad request")
        channels = (
            f'[[alerts]]\nkind = "webhook"\nname = "team-chat"\nurl = "{ok.url("/hook")}"\n\n'
            f'[[alerts]]\nkind = "webhook"\nname = "ops-hook"\nurl = "{refusing.url("/hook")}"\n'
            'kinds = ["copied_listing", "negative_review"]\n'
        )
        text = market.config_toml(database, extra=channels)
        config = parse_config(tomllib.loads(text), env={})

        async def timeline() -> None:
            from watcher.app import open_app

            async with open_app(config) as app:
                for step in range(4):
                    if step:
                        market.advance()
                        apply_step(_hostile(step), market._world, datetime.now(UTC))
                    await app.runner.check()

        # its own thread: the sync Playwright API keeps an event loop running in this one
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, timeline()).result()
    return Filled(database, market_config_without_alerts(text))


def market_config_without_alerts(text: str) -> str:
    """The config minus its ``[[alerts]]`` (their receivers are gone after the fill)."""
    return text.split("[[alerts]]", 1)[0]


@dataclass
class Served:
    """A running `watcher serve`."""

    proc: subprocess.Popen[str]
    url: str

    def get(self, path: str, **kw: object) -> httpx.Response:
        """A GET on the dashboard (no redirects followed)."""
        return httpx.get(self.url + path.lstrip("/"), timeout=10, **kw)  # type: ignore[arg-type]


@contextmanager
def serve(config: Path, *args: str, password: str | None = None) -> Iterator[Served]:
    """`watcher serve --config CONFIG --port 0 ARGS` until the block ends (SIGTERM)."""
    child_env = env()
    if password is not None:
        child_env[PASSWORD_ENV] = password
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "serve", "--config", str(config), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env,
    )
    try:
        url = wait_for_address(proc)
        yield Served(proc, url)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for_address(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """Read the child's stderr until it says where the dashboard listens."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                raise AssertionError(f"watcher exited {proc.returncode}: {''.join(seen)}")
            continue
        seen.append(line)
        m = re.search(r"dashboard on (http://\S+/)", line)
        if m:
            _wait_ready(m.group(1), deadline)
            return m.group(1)
    raise AssertionError(f"no dashboard address within {timeout}s: {''.join(seen)}")


def _wait_ready(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "healthz", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def with_password(filled: Filled, path: Path, *, public_url: str = "") -> Path:
    """The config with ``[serve] password`` from :data:`PASSWORD_ENV`."""
    extra = f'[serve]\npassword = "${{{PASSWORD_ENV}}}"\n'
    if public_url:
        extra += f'public_url = "{public_url}"\n'
    return filled.write(path, extra=extra)


def in_env(name: str) -> bool:
    """Whether the environment asks for ``name`` (``1``/``true``)."""
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
