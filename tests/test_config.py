"""Config loading: every user error exits 2 with the key path named; no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from watcher.config import ConfigError, parse_config, parse_duration
from watcher.registry import load

ROOT = Path(__file__).resolve().parents[1]

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
    config = load(ROOT / "config" / "example.toml")
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
