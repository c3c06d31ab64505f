"""The smaller commands as real processes: inspect, listings, alerts, init, --log-json,
--version, demo; what a new user tripped on; hostile text in tables."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import check, env, write_config
from watcher.demo import Marketplace
from watcher.demo.catalog import FAWN, FENGSHANG, OWN


def run(
    *args: str, timeout: float = 90, cwd: Path | None = None, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True,
        text=True,
        env={**env(), **extra_env},
        timeout=timeout,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def _hook_config(market: Marketplace, tmp_path: Path, url: str, watcher: str = "") -> Path:
    """A config on the sample marketplace with one JSON webhook to ``url``."""
    return write_config(
        market,
        tmp_path / "w.toml",
        f"sqlite:///{tmp_path / 'w.db'}",
        watcher=watcher,
        extra=f'[[alerts]]\nkind = "webhook"\nurl = "{url}"\n',
    )


def test_inspect_each_kind(market: Marketplace, tmp_path: Path) -> None:
    own = market.shop(OWN)
    proc = run("inspect", f"{own.base}products/pearl-hair-clip-set")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kind"] == "shopify"
    assert (
        out["listing"]["title"] == "珍珠发夹套装 Pearl Hair Clip Set"
        and out["listing"]["price"] == 129.0
    )
    assert out["listing"]["reviews"], "reviews come from the product page's structured data"

    proc = run("inspect", market.shop(FENGSHANG).base)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kind"] == "woocommerce" and out["complete"] and out["count"] == 30

    fawn = market.shop(FAWN)
    proc = run("inspect", fawn.url, "--kind", "html", "--catalog")
    assert proc.returncode == 1 and "check selectors.item" in proc.stderr, "no selectors: said so"
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    proc = run("inspect", fawn.url, "--catalog", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["count"] >= 12 and all(
        x["url"].startswith("http://127.0.0.1") for x in out["listings"]
    )


def test_inspect_failures(market: Marketplace) -> None:
    proc = run("inspect", "http://127.0.0.1:9/products/x", "--kind", "shopify")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    proc = run("inspect", "ftp://example.com/x")
    assert proc.returncode == 2
    proc = run("inspect", "http://127.0.0.1:9/", "--kind", "ebay")
    assert proc.returncode in (1, 2) and "unknown kind" in proc.stderr


def test_listings_and_log_json(market: Marketplace, tmp_path: Path) -> None:
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    proc = run("--log-json", "check", "--config", str(config))
    assert proc.returncode == 0
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert records and all("record" in r for r in records)
    assert "Shops" in proc.stdout and "New findings" in proc.stdout
    proc = run("listings", "--json", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    watched = [r for r in rows if r["watched"]]
    assert len(watched) == 5 and {r["shop"] for r in watched} == {OWN}
    assert {r["shop"] for r in rows} >= {OWN, FENGSHANG, FAWN}
    proc = run("listings", "--config", str(config), "--shop", FENGSHANG)
    assert proc.returncode == 0 and "醋酸缎面半身裙" in proc.stdout
    assert check(config).findings == []


def test_output_to_a_closed_pipe_is_no_traceback(market: Marketplace, tmp_path: Path) -> None:
    """`watcher listings --json | head -1`: the reader leaving early is not a crash."""
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    assert run("check", "--config", str(config)).returncode == 0
    for args in (["listings", "--json"], ["listings"], ["alerts", "--json"]):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first line
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "watcher", *args, "--config", str(config)],
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                env=env(),
                timeout=90,
            )
        finally:
            os.close(write)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
        assert proc.returncode == 1, args


def test_demo_runs_offline_under_30_seconds() -> None:
    import time

    start = time.monotonic()
    proc = run("demo", "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    findings = [json.loads(x) for x in proc.stdout.splitlines()]
    assert {f["kind"] for f in findings} == {
        "copied_listing",
        "negative_review",
        "seasonal_launch",
        "price_change",
        "stock_change",
        "listing_changed",
        "price_position",
    }
    assert len(findings) == 12
    assert time.monotonic() - start < 60  # 30 s on an idle machine; CI shares its cores


# ------------------------------------------------------------ what a new user tripped on


def test_global_options_after_the_command(market: Marketplace, tmp_path: Path) -> None:
    """``--log-level`` and ``--log-json`` work after the command's name as well as before."""
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    proc = run("check", "--config", str(config), "--log-json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert {r["record"]["level"]["name"] for r in records} == {"INFO"}
    proc = run("check", "--config", str(config), "--log-level", "error", "--log-json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", "INFO lines are gone at level ERROR"
    proc = run("--log-level", "ERROR", "listings", "--config", str(config), "--json")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr


def test_version_comes_from_the_package_metadata() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"watcher {version('watcher')}"


def test_usage_errors_exit_2(market: Marketplace) -> None:
    proc = run("inspect", "http://127.0.0.1:9/", "--kind", "bogus")
    assert proc.returncode == 2, proc.stderr
    assert "unknown kind 'bogus'" in proc.stderr and "shopify" in proc.stderr
    proc = run("inspect", "not a url")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_shop_names_ignore_case_and_a_typo_gets_a_suggestion(
    market: Marketplace, tmp_path: Path
) -> None:
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    proc = run("check", "--config", str(config), "--json", "--shop", FENGSHANG.upper())
    assert proc.returncode == 0, proc.stderr
    proc = run("listings", "--config", str(config), "--json", "--shop", FENGSHANG.lower())
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert rows and {r["shop"] for r in rows} == {FENGSHANG}

    typo = FENGSHANG[:-1] + "x"
    for command in ("check", "listings"):
        proc = run(command, "--config", str(config), "--shop", typo)
        assert proc.returncode == 2, proc.stderr
        assert f"did you mean {FENGSHANG!r}?" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_database_error_is_said_once(market: Marketplace, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{db}")
    assert run("listings", "--config", str(config)).returncode == 0  # creates the schema
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE delivery")
        conn.execute("DROP TABLE alert")
    proc = run("alerts", "--config", str(config))
    assert proc.returncode == 1
    assert "no such table" in proc.stderr
    assert proc.stderr.count("database error") == 1, proc.stderr


# --------------------------------------------------------------------------- watcher init


def test_init_writes_the_example_and_never_overwrites(tmp_path: Path) -> None:
    proc = run("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "watcher.toml"
    example = Path(__file__).resolve().parents[1] / "config" / "example.toml"
    assert written.read_bytes() == example.read_bytes()
    assert "watcher check --config watcher.toml" in proc.stderr

    written.write_text("# mine\n", encoding="utf-8")
    proc = run("init", cwd=tmp_path)
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert written.read_text(encoding="utf-8") == "# mine\n"

    other = tmp_path / "shop.toml"
    assert run("init", str(other)).returncode == 0 and other.is_file()
    proc = run("init", str(tmp_path / "no-such-dir" / "w.toml"))
    assert proc.returncode == 2 and "cannot write" in proc.stderr


# ----------------------------------------------------------- hostile text in the tables

HOSTILE = "Dress [/] [link=https://evil.example/]click[/link] [bold red]SALE"


class _Shop:
    """A Shopify-like competitor on loopback whose product titles are rich markup."""

    def __init__(self) -> None:
        self.price = "10.00"
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/products.json"):
                    self.send_error(404)
                    return
                products = [
                    {
                        "id": i,
                        "handle": f"p{i}",
                        "title": f"{HOSTILE} {i}",
                        "variants": [{"price": shop.price, "available": True}],
                    }
                    for i in (1, 2)
                ]
                body = json.dumps({"products": products}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[_Shop, Path]]:
    shop = _Shop()
    config = tmp_path / "w.toml"
    config.write_text(
        f"""
[watcher]
database = "sqlite:///{tmp_path / "w.db"}"
timeout = "5s"
retries = 0
alert_retry = "1s"

[[shops]]
name = "Rival"
kind = "shopify"
url = "{shop.url}"
currency = "USD"

[[alerts]]
kind = "webhook"
name = "hook"
url = "http://127.0.0.1:{_dead_port()}/hook"
""",
        encoding="utf-8",
    )
    yield shop, config
    shop.server.shutdown()
    shop.server.server_close()


def _terminal_output_is_plain(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr and "MarkupError" not in proc.stderr
    assert "\x1b]8;" not in proc.stdout, "fetched text became a terminal link"
    assert "[/]" in proc.stdout and "[link=https://evil.example/]" in proc.stdout


def test_markup_in_fetched_text_is_printed_as_text(hostile: tuple[_Shop, Path]) -> None:
    """Titles with ``[/]`` and ``[link=…]`` in the check, listings and alerts tables, on a
    terminal that shows colours and links: printed as they are."""
    shop, config = hostile
    term = {"FORCE_COLOR": "1", "COLUMNS": "400"}
    first = run("check", "--config", str(config), **term)
    assert first.returncode == 0, first.stderr
    _terminal_output_is_plain(run("listings", "--config", str(config), **term))
    shop.price = "20.00"
    second = run("check", "--config", str(config), **term)
    _terminal_output_is_plain(second)
    assert "price_change" in second.stdout
    _terminal_output_is_plain(run("alerts", "--config", str(config), **term))


def test_alerts_retry_exits_1_while_a_delivery_fails(hostile: tuple[_Shop, Path]) -> None:
    shop, config = hostile
    assert run("check", "--config", str(config)).returncode == 0
    shop.price = "20.00"
    assert run("check", "--config", str(config)).returncode == 0
    proc = run("alerts", "--config", str(config), "--retry")
    assert proc.returncode == 1, proc.stderr
    assert "hook: failed" in proc.stderr


def test_an_unreachable_shop_counts_its_failures_in_words(tmp_path: Path) -> None:
    config = tmp_path / "w.toml"
    config.write_text(
        f"""
[watcher]
database = "sqlite:///{tmp_path / "w.db"}"
retries = 0
unreachable_after = 1

[[shops]]
name = "Gone"
kind = "shopify"
url = "http://127.0.0.1:{_dead_port()}/"
""",
        encoding="utf-8",
    )
    result = check(config)
    assert result.code == 1
    (finding,) = [f for f in result.findings if f["kind"] == "shop_unreachable"]
    assert "could not be checked 1 time in a row" in finding["summary"]


def test_status_prints_shop_names_as_text(tmp_path: Path) -> None:
    """A shop name is text, never terminal markup: ``[/]`` neither crashes the table
    nor ``[bold]`` vanishes."""
    name = "Rival [bold]A[/bold] [/]"
    config = tmp_path / "w.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        f'[[shops]]\nname = "{name}"\nkind = "shopify"\nurl = "https://a.example"\n',
        encoding="utf-8",
    )
    proc = run("status", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    assert name in proc.stdout and "Traceback" not in proc.stderr


def test_listings_times_are_in_the_configured_zone(market: Marketplace, tmp_path: Path) -> None:
    """`watcher listings` writes its moments in `[watcher] timezone`, as `watcher alerts`
    and the alerts do, and says which zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    assert run("check", "--config", str(config)).returncode == 0
    proc = run("listings", "--json", "--config", str(config), "--shop", FENGSHANG)
    first = json.loads(proc.stdout.splitlines()[0])
    seen = datetime.fromisoformat(first["last_seen"]).astimezone(ZoneInfo("Asia/Shanghai"))
    proc = run("listings", "--config", str(config), "--shop", FENGSHANG)
    assert proc.returncode == 0, proc.stderr
    assert f"{seen:%Y-%m-%d %H:%M}" in proc.stdout and "Asia/Shanghai" in proc.stdout


def test_status_and_listings_speak_the_configured_language(
    market: Marketplace, tmp_path: Path
) -> None:
    """With `language = "zh"` the command line's tables are Chinese, as the config's
    `language` key promises (alerts, the CLI and the dashboard)."""
    config = write_config(
        market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}", watcher='language = "zh"'
    )
    assert run("check", "--config", str(config)).returncode == 0
    status = run("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    for word in ("实例", "店铺", "下次检查"):
        assert word in status.stdout, word
    for english in ("Instances", "next check", "not scheduled yet", "checking now"):
        assert english not in status.stdout, english
    listings = run("listings", "--config", str(config), "--shop", FENGSHANG)
    assert listings.returncode == 0, listings.stderr
    for word in ("商品", "价格", "有货"):
        assert word in listings.stdout, word
    for english in ("Listings", "title", "in stock", "first seen"):
        assert english not in listings.stdout, english


def test_an_alert_retry_is_logged_in_the_configured_zone(
    market: Marketplace, tmp_path: Path
) -> None:
    """ "retry at …" is a moment in `[watcher] timezone` with its zone, like "next check
    at …", not a bare UTC clock time that reads as the past on a server in Shanghai."""
    import re

    from tests.receiver import Receiver

    with Receiver() as rx:
        rx.reply(500)
        config = _hook_config(market, tmp_path, rx.url())
        proc = run("check", "--config", str(config))
    line = next(x for x in proc.stderr.splitlines() if "retry at" in x)
    assert re.search(r"retry at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CST:", line), line


def test_alerts_delivery_states_speak_the_configured_language(
    market: Marketplace, tmp_path: Path
) -> None:
    """`watcher alerts` in Chinese says 待发送 and 已尝试 N 次, as the dashboard does, not
    "pending (1 tries: …)"."""
    from tests.receiver import Receiver

    with Receiver() as rx:
        rx.reply(500)
        config = _hook_config(market, tmp_path, rx.url(), watcher='language = "zh"')
        assert run("check", "--config", str(config)).returncode == 0
    proc = run("alerts", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "待发送" in proc.stdout and "已尝试 1 次" in proc.stdout, proc.stdout
    for english in ("pending", "tries"):
        assert english not in proc.stdout, english


def test_json_output_writes_moments_in_iso_8601(market: Marketplace, tmp_path: Path) -> None:
    """`--json` moments are ISO 8601 with a "T", like `detected_at` and the webhook's, so
    jq's `fromdateiso8601` and JavaScript's `Date` read them."""
    import re

    from tests.receiver import Receiver

    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")
    with Receiver() as rx:
        config = _hook_config(market, tmp_path, rx.url())
        assert run("check", "--config", str(config)).returncode == 0
    alert = json.loads(run("alerts", "--json", "--config", str(config)).stdout.splitlines()[0])
    assert iso.fullmatch(alert["detected_at"]), alert["detected_at"]
    assert iso.fullmatch(alert["deliveries"][0]["sent_at"]), alert["deliveries"][0]
    listing = json.loads(run("listings", "--json", "--config", str(config)).stdout.splitlines()[0])
    assert iso.fullmatch(listing["first_seen"]) and iso.fullmatch(listing["last_seen"]), listing


def test_commands_that_send_nothing_do_not_need_the_channels_secrets(tmp_path: Path) -> None:
    """`watcher status` and `watcher listings` from a shell without the daemon's
    environment work: they send no alert, so an unset ${FEISHU_HOOK} is no config error
    for them. A command that sends still refuses to start without it."""
    config = tmp_path / "w.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        '[[shops]]\nname = "A"\nkind = "shopify"\nurl = "https://a.example"\n'
        '[[alerts]]\nkind = "webhook"\nformat = "feishu"\nurl = "${FEISHU_HOOK_UNSET}"\n',
        encoding="utf-8",
    )
    for command in ("status", "listings"):
        proc = run(command, "--config", str(config))
        assert proc.returncode == 0, (command, proc.stderr)
    for command in ("check", "test-alert"):
        proc = run(command, "--config", str(config))
        assert proc.returncode == 2 and "FEISHU_HOOK_UNSET" in proc.stderr, command


def test_alerts_json_masks_secrets_in_delivery_errors(market: Marketplace, tmp_path: Path) -> None:
    """A delivery error that quotes a secret (a crashed channel stores its exception text
    as it was) is masked in `watcher alerts --json`, as in the table and on the dashboard."""
    import sqlite3

    from tests.receiver import Receiver

    token = "tok-5f0e9a1c77"
    with Receiver() as rx:
        rx.reply(500)
        config = _hook_config(market, tmp_path, rx.url() + "?t=${HOOK_TOKEN}")
        assert run("check", "--config", str(config), HOOK_TOKEN=token).returncode == 0
    with sqlite3.connect(tmp_path / "w.db") as db:
        changed = db.execute(
            "UPDATE delivery SET last_error = ? WHERE state = 'pending'",
            (f"InvalidURL: {rx.url()}?t={token}",),
        ).rowcount
    assert changed
    proc = run("alerts", "--json", "--config", str(config), HOOK_TOKEN=token)
    assert proc.returncode == 0, proc.stderr
    errors = [
        d["last_error"] for x in proc.stdout.splitlines() for d in json.loads(x)["deliveries"]
    ]
    assert any(e and "***" in e for e in errors), errors
    assert token not in proc.stdout
