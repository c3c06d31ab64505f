"""Config loading: every user error exits 2 with the key path named; no tracebacks."""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import socket
import subprocess
import sys
import tomllib
import typing
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from watcher.config import (
    AlertFilter,
    ConfigError,
    DetectSettings,
    MarketplaceConfig,
    ServeSettings,
    ShopConfig,
    WatcherSettings,
    parse_config,
    parse_duration,
)
from watcher.notify.channels import channel_kinds
from watcher.registry import load

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "example.toml"

GOOD = """
[watcher]
database = "sqlite:///{db}"
interval = "30m"

[[shops]]
name = "Mine"
role = "own"
kind = "shopify"
url = "https://mine.example"

[[shops]]
name = "Rival"
kind = "woocommerce"
url = "https://rival.example"
"""


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_WEBHOOK_URL", "https://hooks.example/abc")
    monkeypatch.setenv("WATCHER_SMTP_PASSWORD", "s3cret-pass")
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    config = load(EXAMPLE)
    assert [s.name for s in config.shops] == ["My Shop", "Rival A", "Rival B"]
    assert config.shops[0].interval == timedelta(minutes=30)
    assert config.shops[2].selectors.item == ".product-card"
    assert config.marketplaces[0].selectors.shop == ".seller"
    assert config.detect.launches.window == timedelta(days=21)
    assert [a.kind for a in config.alerts] == ["webhook", "email"]
    assert config.alerts[0].options.url == "https://hooks.example/abc"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30m", 1800),
        ("1h", 3600),
        ("21d", 21 * 86400),
        ("1h30m", 5400),
        ("500ms", 0.5),
        (45, 45),
        ("2w", 14 * 86400),
    ],
)
def test_durations(text: object, value: float) -> None:
    assert parse_duration(text).total_seconds() == value


@pytest.mark.parametrize("text", ["", "abc", "10 minutes", "-5m", "5x", True, "1h junk"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text, "watcher.interval")


def test_env_interpolation_and_database_override() -> None:
    data = {
        "watcher": {"database": "${DB:-sqlite:///x.db}"},
        "shops": [{"name": "A", "kind": "shopify", "url": "${SHOP_URL}"}],
    }
    config = parse_config(data, {"SHOP_URL": "https://a.example"})
    assert config.shops[0].url == "https://a.example"
    assert config.watcher.database == "sqlite:///x.db"
    config = parse_config(
        data, {"SHOP_URL": "https://a.example", "WATCHER_DATABASE_URL": "sqlite:///y.db"}
    )
    assert config.watcher.database == "sqlite:///y.db"


BAD_CASES = [
    (
        "unknown key",
        '[watcher]\ninterval = "1h"\ncolour = "red"\n',
        "watcher.colour",
        "unknown key",
    ),
    ("unknown section", "[wacher]\n", "wacher", "unknown section"),
    (
        "wrong type",
        '[watcher]\nconcurrency = "eight"\n',
        "watcher.concurrency",
        "expected an integer",
    ),
    ("bad duration", '[watcher]\ninterval = "soon"\n', "watcher.interval", "duration"),
    ("bad hemisphere", '[watcher]\nhemisphere = "east"\n', "watcher.hemisphere", "'north'"),
    ("bad timezone", '[watcher]\ntimezone = "Mars/Olympus"\n', "watcher.timezone", "time zone"),
    ("zero concurrency", "[watcher]\nconcurrency = 0\n", "watcher.concurrency", "greater than 0"),
    (
        "shop without kind",
        '[[shops]]\nname = "A"\nurl = "https://a.example"\n',
        "shops[0].kind",
        "is required",
    ),
    (
        "unknown kind",
        '[[shops]]\nname = "A"\nkind = "ebay"\nurl = "https://a.example"\n',
        "shops[0].kind",
        "unknown kind",
    ),
    (
        "bad url",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[[shops]]\nname = "B"\nkind = "html"\nurl = "ftp://b.example"\n',
        "shops[1].url",
        "http(s) URL",
    ),
    (
        "relative url",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "/shop"\n',
        "shops[0].url",
        "http(s) URL",
    ),
    (
        "bad role",
        '[[shops]]\nname = "A"\nkind = "html"\nrole = "friend"\nurl = "https://a.example"\n',
        "shops[0].role",
        "'own'",
    ),
    (
        "duplicate names",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[[shops]]\nname = "A"\nkind = "html"\nurl = "https://b.example"\n',
        "shops[1].name",
        "duplicate",
    ),
    (
        "search_url without query",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\nsearch_url = "https://a.example/s"\n',
        "shops[0].search_url",
        "{query}",
    ),
    (
        "unknown selector",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[shops.selectors]\ncard = ".x"\n',
        "shops[0].selectors.card",
        "unknown key",
    ),
    (
        "bad selector",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[shops.selectors]\nitem = "div[["\n',
        "shops[0].selectors.item",
        "invalid CSS selector",
    ),
    (
        "similarity out of range",
        "[detect.copies]\ntitle_similarity = 1.5\n",
        "detect.copies.title_similarity",
        "between 0 and 1",
    ),
    (
        "missing env",
        '[[alerts]]\nkind = "webhook"\nurl = "${NOPE_NOT_SET}"\n',
        "alerts[0].url",
        "NOPE_NOT_SET",
    ),
    (
        "alert without kind",
        '[[alerts]]\nurl = "https://h.example"\n',
        "alerts[0].kind",
        "is required",
    ),
    (
        "unknown alert kind",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[[alerts]]\nkind = "pigeon"\n',
        "alerts[0].kind",
        "unknown kind",
    ),
    (
        "bad alert filter",
        '[[alerts]]\nkind = "webhook"\nurl = "https://h.example"\nkinds = ["spam"]\n',
        "alerts[0].kinds[0]",
        "unknown finding kind",
    ),
    (
        "undercut out of range",
        "[detect.position]\nundercut = 1\n",
        "detect.position.undercut",
        "greater than 0 and less than 1",
    ),
    (
        "undercut zero",
        "[detect.position]\nundercut = 0\n",
        "detect.position.undercut",
        "greater than 0 and less than 1",
    ),
    (
        "undercut not a number",
        '[detect.position]\nundercut = "10%"\n',
        "detect.position.undercut",
        "expected a number",
    ),
    (
        "unknown position key",
        "[detect.position]\nundercuts = 0.1\n",
        "detect.position.undercuts",
        "unknown key",
    ),
    (
        "low_window in hours",
        '[detect.prices]\nlow_window = "36h"\n',
        "detect.prices.low_window",
        "whole number of days",
    ),
    (
        "per-shop prices of an unknown shop",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[detect.prices.shops.B]\nmin_change = 0.1\n',
        "detect.prices.shops.B",
        "names no competitor",
    ),
    (
        "per-shop prices of the own shop",
        '[[shops]]\nname = "A"\nkind = "html"\nrole = "own"\nurl = "https://a.example"\n[detect.prices.shops.A]\nmin_change = 0.1\n',
        "detect.prices.shops.A",
        "names no competitor",
    ),
    (
        "per-shop prices unknown key",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[detect.prices.shops.A]\nthreshold = 0.1\n',
        "detect.prices.shops.A.threshold",
        "unknown key",
    ),
    (
        "per-shop min_change out of range",
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[detect.prices.shops.A]\nmin_change = 2\n',
        "detect.prices.shops.A.min_change",
        "between 0 and 1",
    ),
    (
        "currency as a symbol",
        '[[shops]]\nname = "A"\nkind = "shopify"\nurl = "https://a.example"\ncurrency = "¥"\n',
        "shops[0].currency",
        "ISO 4217",
    ),
    (
        "currency as a word",
        '[[shops]]\nname = "A"\nkind = "shopify"\nurl = "https://a.example"\ncurrency = "yuan"\n',
        "shops[0].currency",
        "ISO 4217",
    ),
    (
        "currency RMB",
        '[[shops]]\nname = "A"\nkind = "shopify"\nurl = "https://a.example"\ncurrency = "RMB"\n',
        "shops[0].currency",
        "'CNY'",
    ),
    (
        "marketplace currency",
        '[[marketplaces]]\nname = "M"\nsearch_url = "https://m.example/s?q={query}"\ncurrency = "$"\n',
        "marketplaces[0].currency",
        "ISO 4217",
    ),
    (
        "user_agent not ASCII",
        '[watcher]\nuser_agent = "我的监控 watcher"\n',
        "watcher.user_agent",
        "printable ASCII",
    ),
    (
        "user_agent with a line break",
        '[watcher]\nuser_agent = "a\\nb"\n',
        "watcher.user_agent",
        "printable ASCII",
    ),
    ("shops not a table array", 'shops = "x"\n', "shops", "[[shops]]"),
    ("invalid toml", "[watcher\n", "", "not valid TOML"),
]


@pytest.mark.parametrize(
    ("name", "text", "path", "problem"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_config_names_the_key(
    tmp_path: Path, name: str, text: str, path: str, problem: str
) -> None:
    f = tmp_path / "w.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(f, env={})
    assert info.value.path == path, str(info.value)
    assert problem in str(info.value)


def test_a_currency_code_in_any_case_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "w.toml"
    f.write_text(
        '[[shops]]\nname = "A"\nkind = "shopify"\nurl = "https://a.example"\ncurrency = " cny"\n',
        encoding="utf-8",
    )
    assert load(f, env={}).shops[0].currency == "CNY"


def test_cli_exits_2_with_the_key_and_no_traceback(tmp_path: Path) -> None:
    f = tmp_path / "w.toml"
    f.write_text(
        '[[shops]]\nname = "A"\nkind = "html"\nurl = "https://a.example"\n[[shops]]\nname = "B"\nurl = "https://b.example"\n'
    )
    for cmd in (["check"], ["run"], ["listings"], ["alerts"]):
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", *cmd, "--config", str(f)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert "shops[1].kind" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_missing_file_and_usage_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "check", "--config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "frobnicate"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "check"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "--config" in proc.stderr


# ------------------------------------------------------------- the example config


def _uncommented(text: str) -> str:
    """The example with its optional ``# key = value`` lines (and commented-out
    ``# [[alerts]]`` channels) switched on."""
    return re.sub(r"(?m)^# ?(\[\[alerts\]\]|[a-z_]+ = )", r"\1", text)


def _example_env() -> dict[str, str]:
    return {
        "WATCHER_WEBHOOK_URL": "https://hooks.example/abc",
        "WATCHER_SMTP_PASSWORD": "pw",
        "WATCHER_DASHBOARD_PASSWORD": "a long dashboard password",
        "WATCHER_APPRISE_URL": "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345",
    }


def _schema_fields(cls: type) -> set[tuple[str, str]]:
    """Every (dataclass, key) reachable from ``cls`` through nested tables."""
    out: set[tuple[str, str]] = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        out.add((cls.__name__, f.name))
        tp = hints[f.name]
        if typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out |= _schema_fields(tp)
    return out


def _covered(cls: type, table: dict[str, Any]) -> set[tuple[str, str]]:
    """The (dataclass, key) pairs a TOML table sets."""
    out: set[tuple[str, str]] = set()
    hints = typing.get_type_hints(cls)
    for key, value in table.items():
        out.add((cls.__name__, key))
        tp = hints.get(key)
        if typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
            for item in value if isinstance(value, list) else []:
                if isinstance(item, dict):
                    out |= _covered(tp, item)
        elif typing.get_origin(tp) is dict and isinstance(value, dict):
            tp = typing.get_args(tp)[1]
            for item in value.values():
                if isinstance(item, dict) and dataclasses.is_dataclass(tp):
                    out |= _covered(tp, item)  # type: ignore[arg-type]
        elif isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
            out |= _covered(tp, value)
    return out


SECTIONS: dict[str, type] = {
    "watcher": WatcherSettings,
    "shops": ShopConfig,
    "marketplaces": MarketplaceConfig,
    "detect": DetectSettings,
    "serve": ServeSettings,
}


def test_example_names_every_key_the_code_accepts_and_only_those(tmp_path: Path) -> None:
    """Each key of each config table (and of each alert channel) appears in the example,
    at least as a commented ``# key = value`` line; with those lines switched on the example
    still validates, so it names no key the code refuses."""
    text = _uncommented(EXAMPLE.read_text(encoding="utf-8"))
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    text = re.sub(r'(?m)^ca_file = "[^"]*"', f'ca_file = "{ca}"', text)
    path = tmp_path / "w.toml"
    path.write_text(text, encoding="utf-8")
    config = load(path, env=_example_env())
    assert config.alerts[0].kinds and config.shops[0].robots is False

    data = tomllib.loads(text)
    channels = channel_kinds()
    expected: set[tuple[str, str]] = set()
    for cls in [*SECTIONS.values(), AlertFilter, *(c.Options for c in channels.values())]:
        expected |= _schema_fields(cls)
    covered: set[tuple[str, str]] = set()
    for section, cls in SECTIONS.items():
        value = data.get(section, {})
        for table in value if isinstance(value, list) else [value]:
            covered |= _covered(cls, table)
    for table in data["alerts"]:
        common = {
            k: v for k, v in table.items() if k in {f.name for f in dataclasses.fields(AlertFilter)}
        }
        covered |= _covered(AlertFilter, common)
        covered |= _covered(
            channels[table["kind"]].Options, {k: v for k, v in table.items() if k not in common}
        )
    missing = sorted(expected - covered)
    assert not missing, f"keys the code accepts that the example does not show: {missing}"
    assert {k for k in data} == {*SECTIONS, "alerts"}


def test_a_key_missing_from_the_example_is_noticed() -> None:
    """The walk above sees a key that only the code knows."""
    covered = _covered(WatcherSettings, {"interval": "1h"})
    assert ("WatcherSettings", "timeout") in _schema_fields(WatcherSettings) - covered


def test_the_example_ships_inside_the_package() -> None:
    """``watcher init`` reads the example from the package; the repository's copy in
    ``config/`` is the same file, and the build includes it."""
    shipped = files("watcher").joinpath("example.toml").read_bytes()
    assert shipped == EXAMPLE.read_bytes()
    assert not EXAMPLE.is_symlink()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["watcher"]
    assert any(fnmatch.fnmatch("example.toml", p) for p in patterns)


# ------------------------------------------- issue 9: broken configs, as a real process

SHOP = '[[shops]]\nname = "A"\nkind = "shopify"\nurl = "http://127.0.0.1:9/"\n'


def _watcher(
    tmp_path: Path, text: str, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``watcher <args or check> --config <text>`` with ``env`` added to a clean
    environment."""
    config = tmp_path / "w.toml"
    config.write_text(text, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k != "WATCHER_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "watcher", *(args or ("check",)), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
        cwd=cwd or tmp_path,
    )


def _refused(proc: subprocess.CompletedProcess[str], key: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert f"config error: {key}:" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("https://hooks.example/T0KEN-7f3a9c\r", "T0KEN-7f3a9c"),
        ("hooks.example/T0KEN-7f3a9c", "T0KEN-7f3a9c"),
        ("https://hooks.example/T0KEN-7f3a9c extra", "T0KEN-7f3a9c"),
    ],
)
def test_a_bad_webhook_url_from_the_environment_is_not_echoed(
    tmp_path: Path, value: str, shown: str
) -> None:
    text = f'{SHOP}[[alerts]]\nkind = "webhook"\nurl = "${{HOOK_URL}}"\n'
    proc = _watcher(tmp_path, text, HOOK_URL=value)
    _refused(proc, "alerts[0].url")
    assert shown not in proc.stderr and "hooks.example" not in proc.stderr
    assert "${HOOK_URL}" in proc.stderr, "the message says which variable to look at"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://watcher:hunter2-pw@db.example:notaport/watcher",
        "post gres://watcher:hunter2-pw@db.example/watcher",
        "postgresql://watcher:hunter2-pw@[::1/watcher",
        "mysqlx://watcher:hunter2-pw@db.example/watcher",
    ],
)
def test_a_malformed_database_url_keeps_its_password(tmp_path: Path, url: str) -> None:
    proc = _watcher(tmp_path, SHOP, WATCHER_DATABASE_URL=url)
    _refused(proc, "WATCHER_DATABASE_URL")
    assert "hunter2" not in proc.stderr
    proc = _watcher(tmp_path, f'[watcher]\ndatabase = "{url}"\n{SHOP}')
    _refused(proc, "watcher.database")
    assert "hunter2" not in proc.stderr


def test_the_database_password_stays_out_of_the_logs(tmp_path: Path) -> None:
    """A database that cannot be reached: the error and the log lines name no password."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://watcher:hunter2-pw@127.0.0.1:{port}/watcher"
    proc = _watcher(tmp_path, SHOP, "--log-level", "DEBUG", "listings", WATCHER_DATABASE_URL=url)
    assert proc.returncode == 1, proc.stderr
    assert "hunter2" not in proc.stderr


def test_a_shop_url_from_the_environment_stays_out_of_the_summary_and_logs(
    tmp_path: Path,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = f"http://127.0.0.1:{port}/private-7f3a9c/"
    text = '[watcher]\nretries = 0\n[[shops]]\nname = "A"\nkind = "shopify"\nurl = "${SHOP_URL}"\n'
    proc = _watcher(tmp_path, text, SHOP_URL=secret)
    assert proc.returncode == 1, proc.stderr
    assert "private-7f3a9c" not in proc.stdout + proc.stderr
    assert "***" in proc.stdout, proc.stdout


LIMITS = [
    ("watcher", "timeout", '"0s"'),
    ("watcher", "alert_retry", '"0s"'),
    ("watcher", "interval", '"0s"'),
    ("watcher", "concurrency", "0"),
    ("watcher", "per_host", "-1"),
    ("watcher", "max_bytes", "0"),
    ("watcher", "retries", "-1"),
    ("watcher", "unreachable_after", "0"),
    ("shops[0]", "interval", '"0s"'),
    ("shops[0]", "top", "0"),
    ("detect.launches", "window", '"0s"'),
    ("detect.launches", "min_items", "0"),
    ("detect.copies", "image_distance", "-1"),
    ("detect.reviews", "max_rating", "-1"),
]


@pytest.mark.parametrize(("table", "key", "value"), LIMITS, ids=[f"{t}.{k}" for t, k, _ in LIMITS])
def test_zero_and_negative_limits_are_refused(
    tmp_path: Path, table: str, key: str, value: str
) -> None:
    line = f"{key} = {value}\n"
    text = SHOP + line if table == "shops[0]" else f"[{table}]\n{line}{SHOP}"
    _refused(_watcher(tmp_path, text), f"{table}.{key}")


def test_zero_jitter_and_retries_are_fine(tmp_path: Path) -> None:
    text = f'[watcher]\njitter = "0s"\nretries = 0\n{SHOP}'
    proc = _watcher(tmp_path, text, "listings")
    assert proc.returncode == 0, proc.stderr


def test_a_config_without_shops_is_refused(tmp_path: Path) -> None:
    for command in ("check", "run"):
        proc = _watcher(tmp_path, '[watcher]\ninterval = "1h"\n', command)
        _refused(proc, "shops")
        assert "no [[shops]]" in proc.stderr


def test_a_sqlite_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "w.db"
    proc = _watcher(tmp_path, f'[watcher]\ndatabase = "sqlite:///{missing}"\n{SHOP}', "listings")
    _refused(proc, "watcher.database")
    assert "does not exist" in proc.stderr
    assert not missing.parent.exists(), "no folder (and no empty database) was made"


@pytest.mark.parametrize("where", ["/proc/watcher.db", "{file}/w.db", "{folder}"])
def test_an_impossible_sqlite_path_is_refused(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    path = where.format(file=tmp_path / "a-file", folder=tmp_path / "a-folder")
    proc = _watcher(tmp_path, f'[watcher]\ndatabase = "sqlite:///{path}"\n{SHOP}', "listings")
    _refused(proc, "watcher.database")


def test_a_relative_sqlite_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    """cron starts watcher in another directory: the database is still next to the config;
    a relative path in WATCHER_DATABASE_URL is taken from the current directory."""
    conf, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    conf.mkdir()
    elsewhere.mkdir()
    proc = _watcher(
        conf, f'[watcher]\ndatabase = "sqlite:///w.db"\n{SHOP}', "listings", cwd=elsewhere
    )
    assert proc.returncode == 0, proc.stderr
    assert (conf / "w.db").is_file() and not (elsewhere / "w.db").exists()
    proc = _watcher(conf, SHOP, "listings", cwd=elsewhere, WATCHER_DATABASE_URL="sqlite:///env.db")
    assert proc.returncode == 0, proc.stderr
    assert (elsewhere / "env.db").is_file() and not (conf / "env.db").exists()
