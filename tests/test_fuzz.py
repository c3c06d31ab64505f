"""Property-based fuzzing of everything that reads untrusted input.

* the config loader (``parse_config`` / ``load_config`` / ``watcher check``): only
  :class:`ConfigError` escapes, and its ``path`` names a key of the input;
* the page parsers (Shopify / WooCommerce JSON, structured data, prices, image hashes, text
  scorers): only :class:`ParseError` escapes (or nothing at all), results stay in range;
* URLs taken from pages: every URL a parser hands back is an absolute http(s) URL.

Deterministic (``derandomize=True``) so CI sees the same examples on every run. The
``*_BUGS`` tables and the named regression tests hold the inputs that once broke a property
(huge durations, bad IPv6 hosts, non-list JSON fields, NaN prices, lone surrogates...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.config import ShopConfig, Url, load_config, parse_config
from watcher.errors import ConfigError, FetchError, ParseError
from watcher.http import Http, Response
from watcher.images import image_hash
from watcher.models import Listing
from watcher.sources.html import HtmlSource
from watcher.sources.prices import parse_price
from watcher.sources.shopify import ShopifySource
from watcher.sources.structured import extract_catalog, extract_item_list, extract_products
from watcher.sources.woocommerce import WooCommerceSource
from watcher.text.seasons import Season, seasons_of
from watcher.text.sentiment import negativity
from watcher.text.similarity import title_similarity

ROOT = Path(__file__).resolve().parent.parent
PAGES = Path(__file__).parent / "data" / "pages"
EXAMPLE = ROOT / "config" / "example.toml"

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FUZZ, max_examples=40)


# ------------------------------------------------------------------------ config strategies

WATCHER_KEYS = {
    "database": st.sampled_from(["sqlite:///w.db", "sqlite://", ""]),
    "interval": st.sampled_from(["1h", "30m", "1h30m", "500ms", "0s", "-1h", "x", 90, 0, -5]),
    "jitter": st.sampled_from(["5m", "0s", "", "1d2h", 1.5]),
    "timezone": st.sampled_from(["UTC", "Asia/Shanghai", "Mars/Olympus", "", "../etc"]),
    "hemisphere": st.sampled_from(["north", "south", "east"]),
    "concurrency": st.integers(-3, 50),
    "per_host": st.integers(-3, 10),
    "timeout": st.sampled_from(["20s", "0s", "1e3s", 3]),
    "retries": st.integers(-3, 10),
    "robots": st.booleans(),
    "user_agent": st.text(max_size=20),
    "max_bytes": st.integers(-10, 10**9),
    "unreachable_after": st.integers(-1, 5),
    "alert_retry": st.sampled_from(["1m", "6h", "soon"]),
    "log_level": st.sampled_from(["INFO", "DEBUG", "info", "TRACE"]),
}
URLS = st.sampled_from(
    [
        "https://shop.example",
        "http://127.0.0.1:8080/shop",
        "ftp://x",
        "javascript:alert(1)",
        "https://",
        "//no-scheme.example",
        "https://s.example/search?q={query}",
        "https://s.example/search",
        "",
    ]
)
SELECTOR_KEYS = [
    "item",
    "link",
    "title",
    "price",
    "image",
    "shop",
    "availability",
    "rating",
    "review",
    "review_text",
    "review_rating",
    "review_author",
    "review_date",
    "next_page",
]
CSS = st.one_of(
    st.sampled_from([".card", "a.next", "div > img", "[data-x='1']", "a:has(> img)", "[[", "::"]),
    st.text(alphabet=" .#>+~:[]()=\"'*abc-_1\\", max_size=12),
)
SHOP_KEYS = {
    "name": st.one_of(st.sampled_from(["A", "B", " ", ""]), st.text(max_size=6)),
    "kind": st.sampled_from(["shopify", "woocommerce", "html", "magento"]),
    "url": URLS,
    "role": st.sampled_from(["own", "competitor", "owner"]),
    "top": st.integers(-2, 20),
    "listings": st.lists(URLS, max_size=3),
    "top_url": URLS,
    "search_url": URLS,
    "interval": st.sampled_from(["30m", "never", 60]),
    "currency": st.sampled_from(["CNY", "USD", ""]),
    "robots": st.booleans(),
    "selectors": st.dictionaries(
        st.one_of(st.sampled_from(SELECTOR_KEYS), st.text(max_size=5)), CSS, max_size=4
    ),
}
MARKET_KEYS = {
    k: SHOP_KEYS[k]
    for k in ("name", "search_url", "kind", "url", "currency", "robots", "selectors")
}
DETECT_KEYS = {
    "copies": st.fixed_dictionaries(
        {},
        optional={
            "enabled": st.booleans(),
            "title_similarity": st.floats(-1, 2),
            "image_distance": st.integers(-5, 70),
            "candidate_similarity": st.floats(-1, 2),
        },
    ),
    "reviews": st.fixed_dictionaries(
        {},
        optional={"enabled": st.booleans(), "max_rating": st.floats(0, 6), "text": st.booleans()},
    ),
    "launches": st.fixed_dictionaries(
        {},
        optional={
            "enabled": st.booleans(),
            "window": st.sampled_from(["21d", "2w", "1y", 7]),
            "min_items": st.integers(-1, 5),
        },
    ),
    "prices": st.fixed_dictionaries(
        {}, optional={"enabled": st.booleans(), "min_change": st.floats(-1, 2)}
    ),
}
ALERT_KEYS = {
    "kind": st.sampled_from(["webhook", "email", "sms", ""]),
    "name": st.sampled_from(["team", "team", "", "ops"]),
    "kinds": st.lists(st.sampled_from(["copied_listing", "price_change", "spam"]), max_size=2),
    "min_severity": st.sampled_from(["low", "high", "critical"]),
    "url": URLS,
    "format": st.sampled_from(["json", "slack", "feishu", "xml"]),
    "secret": st.sampled_from(["", "${WATCHER_SECRET}", "${WATCHER_SECRET:-s3cret}", "k"]),
    "timeout": st.sampled_from(["10s", "0s", "x"]),
    "headers": st.dictionaries(st.sampled_from(["X-A", "Bad Name", ""]), st.text(max_size=5)),
    "host": st.sampled_from(["smtp.example.com", "", "bad host"]),
    "sender": st.sampled_from(["w@example.com", "nobody", ""]),
    "to": st.lists(st.sampled_from(["o@example.com", "x"]), max_size=2),
    "port": st.integers(-1, 70000),
    "security": st.sampled_from(["starttls", "tls", "none", "ssl"]),
    "username": st.text(max_size=5),
    "password": st.text(max_size=5),
    "ca_file": st.sampled_from(["", "/nonexistent.pem"]),
}

# Finite, moderate numbers: huge and non-finite ones have their own tests below.
SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.booleans(),
)
WILD_SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.booleans(),
)


def _junk(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=6,
    )


def _table(
    known: dict[str, st.SearchStrategy[Any]], scalars: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """A table with a random subset of its real keys (plausible or junk values) and now and
    then an unknown key."""
    value = {k: st.one_of(v, v, v, _junk(scalars)) for k, v in known.items()}
    base = st.fixed_dictionaries({}, optional=value)
    extra = st.dictionaries(st.text(max_size=8), _junk(scalars), max_size=1)
    return st.builds(lambda a, b, flip: {**a, **b} if flip else a, base, extra, st.integers(0, 4))


def _full_shop(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A shop that usually has its required keys, so validation reaches the deeper checks."""
    return st.builds(
        lambda req, rest: {**req, **rest},
        st.fixed_dictionaries(
            {
                "name": st.sampled_from(["A", "B", "C"]),
                "kind": st.sampled_from(["shopify", "woocommerce", "html"]),
                "url": st.sampled_from(["https://a.example", "http://127.0.0.1:1/x"]),
            }
        ),
        _table(SHOP_KEYS, scalars),
    )


def config_documents(scalars: st.SearchStrategy[Any] = SCALARS) -> st.SearchStrategy[Any]:
    """TOML-like documents: the real sections with real and random keys, or plain junk."""
    sections = {
        "watcher": st.one_of(_table(WATCHER_KEYS, scalars), _junk(scalars)),
        "shops": st.one_of(
            st.lists(st.one_of(_full_shop(scalars), _table(SHOP_KEYS, scalars)), max_size=3),
            _junk(scalars),
        ),
        "marketplaces": st.one_of(st.lists(_table(MARKET_KEYS, scalars), max_size=2), scalars),
        "detect": st.one_of(
            st.fixed_dictionaries(
                {}, optional={k: st.one_of(v, _junk(scalars)) for k, v in DETECT_KEYS.items()}
            ),
            _junk(scalars),
        ),
        "alerts": st.one_of(st.lists(_table(ALERT_KEYS, scalars), max_size=2), _junk(scalars)),
    }
    doc = st.fixed_dictionaries({}, optional=sections)
    extra = st.dictionaries(st.text(max_size=8), _junk(scalars), max_size=1)
    return st.one_of(
        doc,
        doc,
        doc,
        st.builds(lambda a, b: {**a, **b}, doc, extra),
    )


def _paths(value: Any, path: str = "") -> dict[str, Any]:
    """Every key path of a document, spelled the way ConfigError spells them."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{path}.{k}" if path else str(k)
            out[p] = v
            out.update(_paths(v, p))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            p = f"{path}[{i}]"
            out[p] = v
            out.update(_paths(v, p))
    return out


def _names_input_key(path: str, data: dict[str, Any]) -> bool:
    """``path`` is a key of ``data``, or a key missing from a table of ``data``."""
    paths = _paths(data)
    if path in paths:
        return True
    parent, dot, _ = path.rpartition(".")
    if not dot:
        return False
    return isinstance(paths.get(parent), dict)


def _check_config(data: Any) -> None:
    try:
        parse_config(data, env={})
    except ConfigError as e:
        assert _names_input_key(e.path, data), f"error path {e.path!r} is not in the input: {e}"


@FUZZ
@given(config_documents())
def test_parse_config_raises_only_config_error_naming_a_key(data: dict[str, Any]) -> None:
    """Any document either validates or fails with a ConfigError at one of its keys."""
    _check_config(data)


DURATION_KEYS = [
    ("watcher", "interval"),
    ("watcher", "jitter"),
    ("watcher", "timeout"),
    ("watcher", "alert_retry"),
    ("detect", "launches", "window"),
]


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return out


@FUZZ
@given(
    st.sampled_from(DURATION_KEYS),
    st.one_of(st.floats(), st.integers(), st.from_regex(r"\A[0-9]{1,14}(\.[0-9])?[smhdw]\Z")),
)
def test_parse_config_wild_durations(path: tuple[str, ...], value: Any) -> None:
    """Any number or number-with-unit as a duration: valid, or a ConfigError at its key."""
    _check_config(_nest(path, value))


# Each of these escapes parse_config as something other than ConfigError today.
CONFIG_BUGS = {
    "duration-float-huge": {"watcher": {"interval": 1e308}},
    "duration-int-huge": {"watcher": {"timeout": 10**20}},
    "duration-inf": {"watcher": {"jitter": math.inf}},
    "duration-nan": {"watcher": {"timeout": math.nan}},
    "duration-text-huge": {"watcher": {"interval": "9999999999d"}},
    "detect-window-huge": {"detect": {"launches": {"window": "99999999999w"}}},
    "url-bad-ipv6": {"shops": [{"name": "A", "kind": "html", "url": "http://[::1"}]},
    "top-url-bad-ipv6": {
        "shops": [{"name": "A", "kind": "html", "url": "https://a.example", "top_url": "http://[x"}]
    },
    "listings-bad-ipv6": {
        "shops": [
            {"name": "A", "kind": "shopify", "url": "https://a.example", "listings": ["https://["]}
        ]
    },
    "alert-kind-list": {"alerts": [{"kind": ["webhook"]}]},
    "alert-kind-table": {"alerts": [{"kind": {"a": 1}}]},
}


@pytest.mark.parametrize("name", sorted(CONFIG_BUGS))
def test_config_regressions(name: str) -> None:
    """Each input must give a ConfigError naming its key."""
    data = CONFIG_BUGS[name]
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert _names_input_key(info.value.path, data)


def test_config_url_port_out_of_range() -> None:
    """A URL with an impossible port is a config error, not a crash at the first fetch."""
    with pytest.raises(ConfigError) as info:
        parse_config({"shops": [{"name": "A", "kind": "html", "url": "http://x:99999/"}]}, env={})
    assert info.value.path == "shops[0].url"


def _mutations() -> st.SearchStrategy[bytes]:
    """The example config with lines dropped, duplicated or overwritten, or bytes flipped."""
    lines = EXAMPLE.read_bytes().splitlines(keepends=True)

    def mutate(ops: list[tuple[int, int, bytes]]) -> bytes:
        out = list(lines)
        for op, i, junk in ops:
            i %= max(len(out), 1)
            if not out:
                break
            if op == 0:
                del out[i]
            elif op == 1:
                out.insert(i, out[i])
            elif op == 2:
                key = out[i].split(b"=", 1)[0] if b"=" in out[i] else b"x "
                out[i] = key + b"= " + junk + b"\n"
            else:
                pos = len(junk) % max(len(out[i]), 1)
                out[i] = out[i][:pos] + junk + out[i][pos:]
        return b"".join(out)

    values = st.one_of(
        st.sampled_from(
            [
                b'"ftp://x"',
                b"-1",
                b"1e400",
                b"inf",
                b"nan",
                b'"1y"',
                b"[1, 2]",
                b"{a = 1}",
                b'"${NOPE}"',
                b"true",
                b'"\xff\xfe"',
                b"9999999999999999999999",
            ]
        ),
        st.binary(max_size=8),
    )
    ops = st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10_000), values), min_size=1, max_size=4
    )
    return st.one_of(st.binary(max_size=200), st.builds(mutate, ops))


@pytest.mark.parametrize(
    "line", ["interval = inf", "timeout = nan", "jitter = 1e400", "alert_retry = 99999999999999"]
)
def test_load_config_overflowing_durations(tmp_path: Path, line: str) -> None:
    """The example config with one duration replaced: a ConfigError naming that key."""
    key = line.split(" ", 1)[0]
    text = re.sub(rf"(?m)^{key} = .*$", line, EXAMPLE.read_text(), count=1)
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(
            path, env={"WATCHER_WEBHOOK_URL": "https://h.example", "WATCHER_SMTP_PASSWORD": "pw"}
        )
    assert info.value.path == f"watcher.{key}"


@FUZZ
@given(_mutations().filter(lambda b: not re.search(rb"\b(inf|nan|1e400|9{19,})\b", b)))
def test_load_config_bytes(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    """Any file content (without the known overflow values) loads or fails with ConfigError."""
    path = tmp_path_factory.mktemp("cfg") / "w.toml"
    path.write_bytes(raw)
    try:
        load_config(path, env={})
    except ConfigError as e:
        if e.path:
            data = tomllib.loads(raw.decode())
            assert _names_input_key(e.path, data), e


GOOD_CONFIG = """\
[watcher]
database = "sqlite:///{db}"
interval = "1h"

[[shops]]
name = "Mine"
role = "own"
kind = "shopify"
url = "http://127.0.0.1:9/"
"""

CLI_CASES = [
    ('url = "http://127.0.0.1:9/"', 'url = "ftp://x"', "shops[0].url"),
    ('interval = "1h"', 'interval = "soon"', "watcher.interval"),
    ('kind = "shopify"', 'kind = "magento"', "shops[0].kind"),
    ('name = "Mine"\n', "", "shops[0].name"),
    ('role = "own"', 'role = "own"\ncolour = "red"', "shops[0].colour"),
]


@pytest.mark.parametrize(("old", "new", "key"), CLI_CASES)
def test_cli_config_errors(tmp_path: Path, old: str, new: str, key: str) -> None:
    """`watcher check` on a bad config: exit 2, one line naming the key, no traceback."""
    text = GOOD_CONFIG.format(db=tmp_path / "w.db")
    assert old in text
    cfg = tmp_path / "w.toml"
    cfg.write_text(text.replace(old, new, 1))
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "check", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "config error:" in proc.stderr
    assert key in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


# ------------------------------------------------------------------------- JSON parsers

SHOP = ShopConfig(name="S", kind="shopify", url=Url("https://shop.example"), currency="CNY")
SHOPIFY = ShopifySource(SHOP, None)  # type: ignore[arg-type]  # parse_product does no I/O
WOO = WooCommerceSource(SHOP, None)  # type: ignore[arg-type]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
TEXTY = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["12.50", "1,299.00", "0", "-3", "NaN", "1e999", "", "abc", "9" * 30]),
)
# JSON whose containers are where the parsers expect containers: reaches deep code paths
# without tripping over the type confusions tested separately.
HOSTILE_URLS = st.one_of(
    st.sampled_from(
        [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:image/png;base64,AAAA",
            "file:///etc/passwd",
            "FILE://host/x",
            "vbscript:msgbox(1)",
            "mailto:a@b.example",
            "ftp://files.example/x.jpg",
            "//cdn.example/img.jpg",
            "/files/a.jpg",
            "files/a.jpg",
            "../up.jpg",
            "?page=2",
            "#top",
            "http:relative.jpg",
            "https:\\\\evil.example\\x",
            "\x00javascript:x",
            "blob:https://x.example/1",
            "about:blank",
            "ws://x.example/",
            "HTTPS://UPPER.EXAMPLE/A.JPG",
            "https://ok.example/a.jpg",
            "  https://ok.example/b.jpg  ",
            "http://[::1]:8080/c.jpg",
        ]
    ),
    st.text(max_size=15),
)


def _variant() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "price": TEXTY | st.floats() | st.integers(),
            "compare_at_price": TEXTY | st.none(),
            "available": st.booleans() | st.none() | st.text(max_size=3),
        },
    )


SHOPIFY_PRODUCTS = st.fixed_dictionaries(
    {"id": st.integers() | st.text(max_size=6), "title": st.text(min_size=1, max_size=20)},
    optional={
        "handle": st.text(max_size=20) | st.none(),
        "variants": st.lists(_variant() | JSON, max_size=4),
        "images": st.lists(
            st.fixed_dictionaries(
                {"src": HOSTILE_URLS}, optional={"position": st.integers(-5, 5) | st.none()}
            )
            | JSON,
            max_size=4,
        ),
        "tags": st.lists(st.text(max_size=8) | JSON, max_size=4) | st.text(max_size=20),
        "product_type": st.text(max_size=10) | st.none() | st.integers(),
        "body_html": st.text(max_size=40) | st.none(),
        "published_at": st.text(max_size=25) | st.none() | st.integers(),
        "created_at": st.sampled_from(["2026-01-01T00:00:00Z", "2026-13-01", ""]),
    },
)
WOO_PRODUCTS = st.fixed_dictionaries(
    {"id": st.integers() | st.text(max_size=6), "name": st.text(min_size=1, max_size=20)},
    optional={
        "prices": st.fixed_dictionaries(
            {},
            optional={
                "price": TEXTY | st.none(),
                "regular_price": TEXTY | st.none(),
                "currency_code": st.text(max_size=4) | st.none(),
                "currency_minor_unit": st.integers(-3, 8) | st.text(max_size=2) | st.none(),
            },
        )
        | JSON,
        "images": st.lists(st.fixed_dictionaries({"src": HOSTILE_URLS}) | JSON, max_size=4),
        "categories": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=8)}) | JSON, max_size=3
        ),
        "tags": st.lists(st.fixed_dictionaries({"name": JSON}) | JSON, max_size=3),
        "review_count": st.integers(-1, 10) | JSON,
        "average_rating": TEXTY | st.none(),
        "permalink": HOSTILE_URLS | st.none(),
        "is_in_stock": st.booleans() | JSON,
        "description": st.text(max_size=40) | JSON,
    },
)


def _http_urls(listing: Listing) -> list[str]:
    return [listing.url, *listing.images]


def _assert_absolute_http(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https"), url
    assert parts.hostname, url


def _parse_or_parse_error(fn: Callable[[Any], Listing], value: Any) -> Listing | None:
    try:
        return fn(value)
    except ParseError:
        return None


@FUZZ
@given(SHOPIFY_PRODUCTS)
def test_shopify_parse_product_shaped(product: dict[str, Any]) -> None:
    """Product-shaped JSON parses (or ParseError); titles and numbers come out sane."""
    listing = _parse_or_parse_error(SHOPIFY.parse_product, product)
    if listing is not None:
        assert listing.url.startswith("https://shop.example/products/")
        assert all(u.startswith(("http://", "https://")) for u in listing.images)
        assert isinstance(listing.title, str)


@FUZZ
@given(WOO_PRODUCTS)
def test_woocommerce_parse_product_shaped(product: dict[str, Any]) -> None:
    """Store-API-shaped JSON parses (or ParseError)."""
    listing = _parse_or_parse_error(WOO.parse_product, product)
    if listing is not None:
        assert listing.url.startswith(("http://", "https://"))
        assert all(u.startswith(("http://", "https://")) for u in listing.images)


@FUZZ
@given(
    JSON
    | st.fixed_dictionaries(
        {"id": JSON, "title": JSON.filter(bool)},
        optional={"variants": JSON, "images": JSON, "tags": JSON, "handle": JSON},
    )
)
def test_shopify_parse_product_any_json(value: Any) -> None:
    """Any JSON value: a Listing or ParseError (one bad product must not fail a catalog)."""
    _parse_or_parse_error(SHOPIFY.parse_product, value)


@FUZZ
@given(
    JSON
    | st.dictionaries(
        st.sampled_from(
            ["id", "name", "images", "tags", "prices", "review_count", "average_rating"]
        ),
        JSON,
    )
)
def test_woocommerce_parse_product_any_json(value: Any) -> None:
    """Any JSON value: a Listing or ParseError."""
    _parse_or_parse_error(WOO.parse_product, value)


PARSER_BUGS: dict[str, tuple[Any, dict[str, Any]]] = {
    "shopify-tags-int": (SHOPIFY, {"id": 1, "title": "x", "tags": 5}),
    "shopify-variants-int": (SHOPIFY, {"id": 1, "title": "x", "variants": 5}),
    "shopify-images-int": (SHOPIFY, {"id": 1, "title": "x", "images": 5}),
    "shopify-position-mixed": (
        SHOPIFY,
        {
            "id": 1,
            "title": "x",
            "images": [{"src": "a", "position": "1"}, {"src": "b", "position": 2}],
        },
    ),
    "woo-minor-unit-huge": (
        WOO,
        {"id": 1, "name": "x", "prices": {"price": "100", "currency_minor_unit": 10**6}},
    ),
    "woo-average-rating-list": (
        WOO,
        {"id": 1, "name": "x", "review_count": 1, "average_rating": [4]},
    ),
    "woo-images-int": (WOO, {"id": 1, "name": "x", "images": 5}),
    "woo-tags-int": (WOO, {"id": 1, "name": "x", "tags": 5}),
}


@pytest.mark.parametrize("name", sorted(PARSER_BUGS))
def test_parser_regressions(name: str) -> None:
    """Each malformed product is a Listing or a ParseError, never another exception."""
    source, product = PARSER_BUGS[name]
    _parse_or_parse_error(source.parse_product, product)


@pytest.mark.parametrize(
    ("source", "product"),
    [
        (SHOPIFY, {"id": 1, "title": "x", "images": [{"src": "https://"}]}),
        (WOO, {"id": 1, "name": "x", "images": [{"src": "http:///etc/passwd"}]}),
        (WOO, {"id": 1, "name": "x", "permalink": "https://"}),
    ],
)
def test_json_sources_urls_have_a_host(source: Any, product: dict[str, Any]) -> None:
    """Every URL from a JSON source is an absolute http(s) URL with a host."""
    for url in _http_urls(source.parse_product(product)):
        _assert_absolute_http(url)


@pytest.mark.parametrize(
    ("source", "product"),
    [
        (WOO, {"id": 1, "name": "x", "prices": {"price": "NaN"}}),
        (WOO, {"id": 1, "name": "x", "prices": {"price": "1e999"}}),
        (SHOPIFY, {"id": 1, "title": "x", "variants": [{"price": "nan"}]}),
        (SHOPIFY, {"id": 1, "title": "x", "variants": [{"price": "inf"}]}),
    ],
)
def test_json_sources_prices_are_finite(source: Any, product: dict[str, Any]) -> None:
    """A price is None or a finite number."""
    price = source.parse_product(product).price
    assert price is None or math.isfinite(price)


# ------------------------------------------------------------------------ HTML parsers

REAL_PAGES = [p.read_bytes() for p in sorted(PAGES.glob("*.html"))]


def _product_page(url: str, image: str, offer_url: str, name: str, price: str) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "url": url,
        "image": [image, {"url": image}, {"@type": "ImageObject", "contentUrl": image}],
        "offers": {"@type": "Offer", "price": price, "priceCurrency": "USD", "url": offer_url},
        "review": [{"@type": "Review", "reviewBody": name, "author": {"name": "k"}, "@id": url}],
    }
    return (
        f'<html><head><link rel="canonical" href="{url}">'
        f'<meta property="og:image" content="{image}"><meta property="og:url" content="{url}">'
        f'<link rel="next" href="{offer_url}">'
        f'<script type="application/ld+json">{json.dumps(ld)}</script></head>'
        f'<body><div itemscope itemtype="https://schema.org/Product">'
        f'<span itemprop="name">{name}</span><img itemprop="image" src="{image}">'
        f'<a itemprop="url" href="{url}">x</a></div></body></html>'
    )


def _list_page(urls: list[str], image: str) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "url": u, "name": f"n{i}", "image": image}
            for i, u in enumerate(urls)
        ]
        + [
            {
                "@type": "ListItem",
                "item": {"@type": "Product", "name": "p", "url": urls[0], "image": image},
            }
        ],
    }
    cards = "".join(
        f'<div class="product-card"><a class="product-link" href="{u}">t</a>'
        f'<span class="product-title">T{i}</span><span class="price">$1</span>'
        f'<img src="{image}" srcset="{image} 2x" data-src="{u}">'
        f'<div style="background:url({image})"></div></div>'
        for i, u in enumerate(urls)
    )
    return (
        f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head>'
        f'<body>{cards}<a class="next" href="{urls[-1]}">next</a>'
        f'<a rel="next" href="{image}">n</a></body></html>'
    )


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _mutate(page: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    out = page
    for start, length, junk in cuts:
        i = start % (len(out) + 1)
        out = out[:i] + junk + out[i + length :]
    return out


PAGE_JUNK = st.one_of(
    st.sampled_from(
        [
            b"<",
            b">",
            b'"',
            b"{",
            b"}",
            b",",
            b"</script>",
            b"<!--",
            b"-->",
            b"\x00",
            b"\xff\xfe",
            b'<meta charset="utf-16">',
            b"itemscope",
            b'"@type":"Product"',
            b"\\u0000",
            b"&#0;",
        ]
    ),
    st.binary(max_size=6),
)
MUTATED = st.builds(
    _mutate,
    st.sampled_from(REAL_PAGES),
    st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 40), PAGE_JUNK), max_size=5),
)
PAGES_ANY = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    MUTATED,
    st.builds(
        lambda *a: _product_page(*a),
        HOSTILE_URLS,
        HOSTILE_URLS,
        HOSTILE_URLS,
        st.text(max_size=10),
        TEXTY,
    ),
)
BASES = st.sampled_from(
    ["https://shop.example/p/1", "http://127.0.0.1:8080/", "ftp://x/", "", "not a url"]
)


def _only_parse_error(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ParseError:
        return None


@FUZZ
@given(PAGES_ANY, BASES)
def test_extract_products_only_parse_error(page: str | bytes, base: str) -> None:
    """Any page gives a list of Listings with absolute http(s) URLs, or ParseError for a bad
    base URL."""
    listings = _only_parse_error(lambda: extract_products(page, base))
    for item in listings or []:
        for url in _http_urls(item):
            _assert_absolute_http(url)
        assert item.price is None or math.isfinite(item.price)
        assert item.rating is None or 0 <= item.rating <= 5
        assert isinstance(item.reviews, list)


@FUZZ
@given(PAGES_ANY, BASES)
def test_extract_item_list_only_parse_error(page: str | bytes, base: str) -> None:
    """ItemList URLs are absolute http(s) URLs."""
    urls = _only_parse_error(lambda: extract_item_list(page, base))
    for url in urls or []:
        _assert_absolute_http(url)
    for item in _only_parse_error(lambda: extract_catalog(page, base)) or []:
        for url in _http_urls(item):
            _assert_absolute_http(url)


class _PageSource(HtmlSource):
    """An HtmlSource whose every fetch answers with one fixed page (no network)."""

    page: bytes = b""
    fetched: list[str]

    async def fetch(self, url: str, **kwargs: object) -> Response:
        self.fetched.append(url)
        return Response(
            url=url,
            status=200,
            headers=httpx.Headers({"content-type": "text/html; charset=utf-8"}),
            content=self.page,
        )


def _html_source(page: bytes, selectors: bool) -> _PageSource:
    sel = {
        "item": ".product-card",
        "link": "a.product-link",
        "title": ".product-title",
        "price": ".price",
        "image": "img",
        "next_page": "a.next",
    }
    shop = ShopConfig(
        name="H",
        kind="html",
        url=Url("https://h.example/shop"),
        search_url="https://h.example/search?q={query}",
        currency="USD",
    )
    if selectors:
        from watcher.config import Selectors

        shop.selectors = Selectors(**sel)
    # A real client that is never used (every fetch is answered by the fixed page): the
    # source still takes its page slots from it.
    src = _PageSource(shop, Http(), robots=False)
    src.page, src.fetched = page, []
    return src


@FEW
@given(
    st.lists(HOSTILE_URLS, min_size=1, max_size=4),
    HOSTILE_URLS,
    st.booleans(),
)
def test_html_source_urls_are_http(urls: list[str], image: str, selectors: bool) -> None:
    """Listing pages full of javascript:, data:, file: and relative URLs: every listing URL,
    image and followed page (pagination) is an absolute http(s) URL."""
    safe = [_escape(u) for u in urls]
    src = _html_source(_list_page(safe, _escape(image)).encode(), selectors)

    async def run() -> list[Listing]:
        out: list[Listing] = []
        with contextlib.suppress(FetchError, ParseError):
            out.extend((await src.catalog()).listings)
        with contextlib.suppress(FetchError, ParseError):
            out.extend(await src.search("linen dress"))
        src.page = _product_page(safe[0], _escape(image), safe[-1], "Dress", "12.00").encode()
        with contextlib.suppress(FetchError, ParseError):
            out.append(await src.listing("https://h.example/p/1"))
        return out

    for item in asyncio.run(run()):
        for url in _http_urls(item):
            _assert_absolute_http(url)
    for url in src.fetched:
        _assert_absolute_http(url)


@FUZZ
@given(st.lists(HOSTILE_URLS, min_size=1, max_size=4), HOSTILE_URLS)
def test_structured_list_pages_urls_are_http(urls: list[str], image: str) -> None:
    """The ItemList and Product extractors never hand back a non-http(s) URL."""
    page = _list_page([_escape(u) for u in urls], _escape(image))
    for item in extract_catalog(page, "https://h.example/c/"):
        for url in _http_urls(item):
            _assert_absolute_http(url)
    for base in ("https://h.example/p/1", "http://127.0.0.1:1/"):
        ppage = _product_page(*(_escape(u) for u in (urls[0], image, urls[-1])), "Dress", "9")
        for item in extract_products(ppage, base):
            for url in _http_urls(item):
                _assert_absolute_http(url)


# ----------------------------------------------------------------------- scalars & text


@FUZZ
@given(
    st.one_of(st.text(max_size=40), TEXTY, st.floats(), st.integers(), st.none()),
    st.sampled_from([None, "CNY", "USD", "XYZ", ""]),
)
def test_parse_price_never_raises(text: Any, currency: str | None) -> None:
    """parse_price returns (finite non-negative amount or None, currency or None)."""
    amount, code = parse_price(text, currency)
    assert amount is None or (isinstance(amount, float | int) and math.isfinite(amount))
    assert code is None or isinstance(code, str)
    if amount is None:
        assert code is None


def _image_bytes(fmt: str, size: tuple[int, int], colour: int) -> bytes:
    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", size, (colour, 255 - colour, colour // 2)).save(buf, format=fmt)
    return buf.getvalue()


REAL_IMAGES = [
    _image_bytes("PNG", (40, 30), 10),
    _image_bytes("JPEG", (64, 64), 200),
    _image_bytes("GIF", (20, 20), 90),
    _image_bytes("BMP", (17, 33), 50),
    _image_bytes("WEBP", (32, 32), 120),
]
HEX = re.compile(r"[0-9a-f]{192}")


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=200),
        st.builds(
            _mutate,
            st.sampled_from(REAL_IMAGES),
            st.lists(
                st.tuples(st.integers(0, 4000), st.integers(0, 8), st.binary(max_size=6)),
                max_size=4,
            ),
        ),
    )
)
def test_image_hash_never_raises(data: bytes) -> None:
    """None or a 192-hex-digit hash, whatever the bytes."""
    h = image_hash(data)
    assert h is None or HEX.fullmatch(h), h


# Lone surrogates are left out here: see test_text_lone_surrogates.
UNICODE = st.text(st.characters(exclude_categories=("Cs",)), max_size=80) | st.sampled_from(
    ["", " ", "\u202e夏季连衣裙\u200b", "Summer 2027 SS27 Christmas", "差评！！！", "ｓｕｍｍｅｒ"]
)


@FUZZ
@given(
    UNICODE,
    st.lists(UNICODE, max_size=3),
    UNICODE | st.none(),
    UNICODE | st.none(),
    st.sampled_from(["north", "south", " South "]),
)
def test_seasons_of_never_raises(
    title: str, tags: list[str], product_type: str | None, description: str | None, hemi: str
) -> None:
    """A frozenset of Seasons, whatever the text."""
    out = seasons_of(title, tags, product_type, description, hemisphere=hemi)
    assert isinstance(out, frozenset)
    assert all(isinstance(s, Season) for s in out)


@FUZZ
@given(UNICODE)
def test_negativity_in_range(text: str) -> None:
    """A score in [0, 1]."""
    score = negativity(text)
    assert 0.0 <= score <= 1.0 and not math.isnan(score)


@FUZZ
@given(UNICODE, UNICODE)
def test_title_similarity_in_range(a: str, b: str) -> None:
    """A similarity in [0, 1], symmetric, 1 for a title with itself when it has tokens."""
    s = title_similarity(a, b)
    assert 0.0 <= s <= 1.0
    assert abs(s - title_similarity(b, a)) < 1e-9


@pytest.mark.parametrize("fn", [negativity, lambda t: seasons_of(t)])
def test_text_lone_surrogates(fn: Callable[[str], Any]) -> None:
    """Text with a lone surrogate (JSON ``"\\ud800"``) is scored like any other text."""
    fn("Dress \ud800 summer")


def test_title_similarity_lone_surrogate() -> None:
    """A title holding a lone surrogate compares without raising."""
    assert 0.0 <= title_similarity("Linen dress \ud800", "Linen dress") <= 1.0


def _storable(listing: Listing) -> None:
    """Every string of a listing can be written to the database (UTF-8 encodable)."""
    json.dumps(listing.to_json(), ensure_ascii=False).encode("utf-8")


SURROGATE_LD = (
    '<script type="application/ld+json">{"@type": "Product", "name": "Dress \\ud800",'
    ' "image": "https://h.example/\\udfff.jpg", "offers": {"price": "5"}}</script>'
)


@pytest.mark.parametrize(
    "parse",
    [
        lambda: extract_products(SURROGATE_LD, "https://h.example/p")[0],
        lambda: SHOPIFY.parse_product({"id": 1, "title": "x", "handle": "a\ud800"}),
        lambda: SHOPIFY.parse_product(
            {"id": 1, "title": "x", "images": [{"src": "https://h.example/\ud800.jpg"}]}
        ),
        lambda: WOO.parse_product({"id": 1, "name": "x", "permalink": "https://h.example/\ud800"}),
    ],
    ids=["structured", "shopify-handle", "shopify-image", "woo-permalink"],
)
def test_parsed_listings_are_storable(parse: Callable[[], Listing]) -> None:
    """A listing parsed from JSON holding ``\\ud800`` escapes has only UTF-8-encodable text."""
    _storable(parse())


def _port_ok(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return False
    return True


def test_page_urls_with_impossible_ports() -> None:
    """URLs with a port outside 0-65535 are dropped like any other unusable URL."""
    page = _product_page(
        "https://h.example:70000/p/1",
        "http://h.example:99999/a.jpg",
        "https://h.example/",
        "D",
        "9",
    )
    for item in extract_products(page, "https://h.example/p/1"):
        assert all(_port_ok(u) for u in _http_urls(item)), _http_urls(item)


async def test_http_get_impossible_port() -> None:
    """A URL with an impossible port is a FetchError (BlockedError), like any bad URL."""

    async with Http() as http:
        with pytest.raises(FetchError):
            await http.get("http://127.0.0.1:99999/a.jpg")
