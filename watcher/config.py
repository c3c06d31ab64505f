"""Load the TOML configuration: ``${ENV}`` interpolation, durations, validation.

Every user error raises :class:`~watcher.errors.ConfigError` naming the key path
(``shops[2].url``) and what is wrong. Sections are plain dataclasses; the generic
:func:`build` validates a TOML table against one, so a source or alert channel declares
its own options as a dataclass and gets the same messages for free.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, NewType, TypeVar, get_args, get_origin
from urllib.parse import urlsplit

from watcher.errors import ConfigError
from watcher.models import FindingKind

T = TypeVar("T")

Url = NewType("Url", str)
"""An absolute http(s) URL."""

SECRETS: set[str] = set()
"""Values that came from ``${ENV}``: redacted from every log line."""

MAX_DURATION_S = 10 * 366 * 86400
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(value: object, path: str = "") -> timedelta:
    """Parse ``30m``, ``1h``, ``21d``, ``1h30m``, ``500ms`` or a number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(path, f"expected a duration like '30m', got {value!r}")
    if isinstance(value, int | float):
        if not MAX_DURATION_S >= value >= 0:  # also rejects NaN
            raise ConfigError(path, f"expected a duration between 0 and 10 years, got {value!r}")
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower()
        pos, total = 0, 0.0
        for m in _DURATION.finditer(text):
            if text[pos : m.start()].strip():
                break
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            if total > MAX_DURATION_S:
                raise ConfigError(path, f"expected a duration of at most 10 years, got {value!r}")
            return timedelta(seconds=total)
    raise ConfigError(path, f"expected a duration like '30m', '1h' or '21d', got {value!r}")


def check_url(value: str, path: str) -> str:
    """An absolute http(s) URL, or a ConfigError."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise ConfigError(path, f"expected an http(s) URL, got {value!r}")
    return value


def interpolate(value: str, path: str, env: typing.Mapping[str, str]) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}`` with the environment's values."""

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            secret = env[name]
        elif default is not None:
            secret = default
        else:
            raise ConfigError(path, f"environment variable {name} is not set")
        if len(secret) >= 4:
            SECRETS.add(secret)
        return secret

    return _ENV.sub(sub, value)


def _type_name(tp: Any) -> str:
    if tp is Url:
        return "an http(s) URL"
    if tp is timedelta:
        return "a duration"
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def convert(tp: Any, value: Any, path: str) -> Any:
    """Convert one TOML value to the annotated type, or raise ConfigError at ``path``."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return convert(args[0], value, path)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(path, f"expected one of {_type_name(tp)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected {_type_name(tp)}, got {value!r}")
        (item,) = get_args(tp)
        return [convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {value!r}")
        return {k: convert(get_args(tp)[1], v, f"{path}.{k}") for k, v in value.items()}
    if tp is timedelta:
        return parse_duration(value, path)
    if tp is Url:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected an http(s) URL, got {value!r}")
        return check_url(value, path)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {value!r}")
        return build(typing.cast(type, tp), value, path)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, f"expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ConfigError(path, f"expected {_type_name(tp)}, got {value!r}")
        return value
    raise ConfigError(path, f"unsupported type {tp!r}")  # pragma: no cover - programming error


def build(cls: type[T], data: dict[str, Any], path: str = "") -> T:
    """Validate ``data`` against dataclass ``cls``: unknown keys, missing keys, types.

    A field's ``metadata["check"]`` is called as ``check(value, path)`` after conversion
    and may raise ConfigError; a class method ``validate(self, path)`` runs last.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    prefix = f"{path}." if path else ""
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{prefix}{key}", f"unknown key (known keys: {known})")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        key_path = f"{prefix}{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(key_path, "is required")
            continue
        value = convert(hints[name], data[name], key_path)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            check(value, key_path)
        kwargs[name] = value
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(path)
    return obj


def _positive(value: float, path: str) -> None:
    if value <= 0:
        raise ConfigError(path, f"must be greater than 0, got {value}")


def _unit(value: float, path: str) -> None:
    if not 0 <= value <= 1:
        raise ConfigError(path, f"must be between 0 and 1, got {value}")


def _nonempty(value: str, path: str) -> None:
    if not value.strip():
        raise ConfigError(path, "must not be empty")


def _template(value: str, path: str) -> None:
    if value:
        if "{query}" not in value:
            raise ConfigError(path, "must contain {query} where the search words go")
        check_url(value.replace("{query}", "q"), path)


@dataclass(slots=True)
class Selectors:
    """CSS selectors for sites without structured data. ``item`` selects one card on a
    catalog or search page; the others are relative to a card (or to the page on a
    product page)."""

    item: str = ""
    link: str = ""
    title: str = ""
    price: str = ""
    image: str = ""
    shop: str = ""
    availability: str = ""
    rating: str = ""
    review: str = ""
    review_text: str = ""
    review_rating: str = ""
    review_author: str = ""
    review_date: str = ""
    next_page: str = ""

    def validate(self, path: str) -> None:
        """Every selector must be valid CSS."""
        import soupsieve

        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value:
                try:
                    soupsieve.compile(value)
                except soupsieve.SelectorSyntaxError as e:
                    msg = str(e).splitlines()[0]
                    raise ConfigError(
                        f"{path}.{name}", f"invalid CSS selector {value!r}: {msg}"
                    ) from None


@dataclass(slots=True)
class WatcherSettings:
    """The ``[watcher]`` table."""

    database: str = "sqlite:///watcher.db"
    interval: timedelta = timedelta(hours=1)
    jitter: timedelta = timedelta(minutes=5)
    timezone: str = "UTC"
    hemisphere: Literal["north", "south"] = "north"
    concurrency: int = field(default=8, metadata={"check": _positive})
    per_host: int = field(default=2, metadata={"check": _positive})
    timeout: timedelta = timedelta(seconds=20)
    retries: int = 3
    robots: bool = True
    user_agent: str = "watcher/0.1 (+https://github.com/watcher-dev/watcher)"
    max_bytes: int = field(default=10 * 1024 * 1024, metadata={"check": _positive})
    unreachable_after: int = field(default=3, metadata={"check": _positive})
    alert_retry: timedelta = timedelta(minutes=1)
    """First delay before an undelivered alert is retried; doubles per attempt up to 6h."""
    lease: timedelta = timedelta(minutes=1)
    """How long a ``watcher run`` instance's claim on a shop (and its registration) lasts
    without a heartbeat: a dead instance's shops are taken over after this."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def validate(self, path: str) -> None:
        """Check the timezone names a real zone."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{path}.timezone", f"unknown time zone {self.timezone!r}") from None
        if self.interval.total_seconds() <= 0:
            raise ConfigError(f"{path}.interval", "must be greater than 0")
        if self.lease.total_seconds() < 1:
            raise ConfigError(f"{path}.lease", "must be at least 1s")


@dataclass(slots=True)
class ShopConfig:
    """One ``[[shops]]`` entry."""

    name: str = field(metadata={"check": _nonempty})
    kind: str
    url: Url
    role: Literal["own", "competitor"] = "competitor"
    top: int = field(default=5, metadata={"check": _positive})
    listings: list[Url] = field(default_factory=list)
    """Own shops: watch these instead of the top N. Competitors: watch only these pages
    instead of the whole catalog."""
    top_url: str = ""
    search_url: str = field(default="", metadata={"check": _template})
    interval: timedelta | None = None
    currency: str | None = None
    robots: bool | None = None
    allow_private: bool = False
    """URLs taken from this shop's pages (photos, next pages, redirects) may lead to
    loopback and private addresses; the configured URLs always may."""
    selectors: Selectors = field(default_factory=Selectors)

    def validate(self, path: str) -> None:
        """Check the kind exists and URL-ish optional keys."""
        from watcher.sources import source_kinds

        kinds = source_kinds()
        if self.kind not in kinds:
            raise ConfigError(
                f"{path}.kind", f"unknown kind {self.kind!r} (one of: {', '.join(kinds)})"
            )
        if self.top_url:
            check_url(self.top_url, f"{path}.top_url")

    @property
    def own(self) -> bool:
        """True for the seller's own shops."""
        return self.role == "own"


@dataclass(slots=True)
class MarketplaceConfig:
    """One ``[[marketplaces]]`` entry: somewhere else to search for copies."""

    name: str = field(metadata={"check": _nonempty})
    search_url: str = field(metadata={"check": _template})
    kind: str = "html"
    url: str = ""
    currency: str | None = None
    robots: bool | None = None
    selectors: Selectors = field(default_factory=Selectors)

    def validate(self, path: str) -> None:
        """Check the kind exists."""
        from watcher.sources import source_kinds

        if not self.search_url:
            raise ConfigError(f"{path}.search_url", "is required")
        if self.kind not in source_kinds():
            raise ConfigError(f"{path}.kind", f"unknown kind {self.kind!r}")

    def as_shop(self) -> ShopConfig:
        """A competitor-like shop view used by sources to run searches."""
        parts = urlsplit(self.search_url)
        return ShopConfig(
            name=self.name,
            kind=self.kind,
            url=Url(self.url or f"{parts.scheme}://{parts.netloc}/"),
            role="competitor",
            search_url=self.search_url,
            currency=self.currency,
            robots=self.robots,
            selectors=self.selectors,
        )


@dataclass(slots=True)
class CopiesSettings:
    """``[detect.copies]``."""

    enabled: bool = True
    title_similarity: float = field(default=0.85, metadata={"check": _unit})
    image_distance: int = 10
    candidate_similarity: float = field(default=0.6, metadata={"check": _unit})


@dataclass(slots=True)
class ReviewsSettings:
    """``[detect.reviews]``."""

    enabled: bool = True
    max_rating: float = 3
    text: bool = True
    text_threshold: float = field(default=0.75, metadata={"check": _unit})
    """How sure the text classifier must be before a well-rated review counts as a
    complaint; high, because a false alarm on a 5-star review costs the seller's trust."""


@dataclass(slots=True)
class LaunchesSettings:
    """``[detect.launches]``."""

    enabled: bool = True
    window: timedelta = timedelta(days=21)
    min_items: int = field(default=3, metadata={"check": _positive})


@dataclass(slots=True)
class PricesSettings:
    """``[detect.prices]``."""

    enabled: bool = True
    min_change: float = field(default=0.05, metadata={"check": _unit})


@dataclass(slots=True)
class DetectSettings:
    """The ``[detect.*]`` tables."""

    copies: CopiesSettings = field(default_factory=CopiesSettings)
    reviews: ReviewsSettings = field(default_factory=ReviewsSettings)
    launches: LaunchesSettings = field(default_factory=LaunchesSettings)
    prices: PricesSettings = field(default_factory=PricesSettings)


@dataclass(slots=True)
class AlertConfig:
    """One ``[[alerts]]`` entry: ``kind`` picks the channel; ``options`` were validated by
    that channel's own ``Options`` dataclass."""

    kind: str
    name: str
    options: Any
    kinds: list[str] = field(default_factory=list)
    min_severity: str = "low"


@dataclass(slots=True)
class Config:
    """The whole validated configuration."""

    watcher: WatcherSettings = field(default_factory=WatcherSettings)
    shops: list[ShopConfig] = field(default_factory=list)
    marketplaces: list[MarketplaceConfig] = field(default_factory=list)
    detect: DetectSettings = field(default_factory=DetectSettings)
    alerts: list[AlertConfig] = field(default_factory=list)
    path: Path | None = None

    def shop(self, name: str) -> ShopConfig:
        """The shop called ``name``."""
        for s in self.shops:
            if s.name == name:
                return s
        raise KeyError(name)


FINDING_KINDS = tuple(FindingKind)


def _walk_interpolate(value: Any, path: str, env: typing.Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, path, env)
    if isinstance(value, list):
        return [_walk_interpolate(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, dict):
        prefix = f"{path}." if path else ""
        return {k: _walk_interpolate(v, f"{prefix}{k}", env) for k, v in value.items()}
    return value


def _build_alert(data: dict[str, Any], path: str) -> AlertConfig:
    from watcher.notify.channels import channel_kinds

    kinds = channel_kinds()
    kind = data.get("kind")
    if kind is None:
        raise ConfigError(f"{path}.kind", f"is required (one of: {', '.join(kinds)})")
    if not isinstance(kind, str) or kind not in kinds:
        raise ConfigError(f"{path}.kind", f"unknown kind {kind!r} (one of: {', '.join(kinds)})")
    rest = dict(data)
    rest.pop("kind")
    name = rest.pop("name", None) or f"{kind}-{path.split('[')[-1].rstrip(']')}"
    if not isinstance(name, str):
        raise ConfigError(f"{path}.name", "expected a string")
    filters = {k: rest.pop(k) for k in ("kinds", "min_severity") if k in rest}
    kinds_filter = convert(list[str], filters.get("kinds", []), f"{path}.kinds")
    for i, k in enumerate(kinds_filter):
        if k not in FINDING_KINDS:
            raise ConfigError(f"{path}.kinds[{i}]", f"unknown finding kind {k!r}")
    min_sev = convert(
        Literal["low", "medium", "high"], filters.get("min_severity", "low"), f"{path}.min_severity"
    )
    options = build(kinds[kind].Options, rest, path)
    return AlertConfig(
        kind=kind, name=name, options=options, kinds=kinds_filter, min_severity=min_sev
    )


def parse_config(data: dict[str, Any], env: typing.Mapping[str, str] | None = None) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    env = os.environ if env is None else env
    data = _walk_interpolate(data, "", env)
    known = {"watcher", "shops", "marketplaces", "detect", "alerts"}
    for key in data:
        if key not in known:
            raise ConfigError(key, f"unknown section (known: {', '.join(sorted(known))})")
    for key in ("shops", "marketplaces", "alerts"):
        if key in data and not (
            isinstance(data[key], list) and all(isinstance(x, dict) for x in data[key])
        ):
            raise ConfigError(key, f"expected [[{key}]] tables")
    watcher = convert(WatcherSettings, data.get("watcher", {}), "watcher")
    shops = [convert(ShopConfig, s, f"shops[{i}]") for i, s in enumerate(data.get("shops", []))]
    markets = [
        convert(MarketplaceConfig, m, f"marketplaces[{i}]")
        for i, m in enumerate(data.get("marketplaces", []))
    ]
    detect = convert(DetectSettings, data.get("detect", {}), "detect")
    alerts = [_build_alert(a, f"alerts[{i}]") for i, a in enumerate(data.get("alerts", []))]
    seen: dict[str, str] = {}
    for i, s in enumerate([*shops, *markets]):
        where = f"shops[{i}].name" if i < len(shops) else f"marketplaces[{i - len(shops)}].name"
        if s.name in seen:
            raise ConfigError(where, f"duplicate name {s.name!r} (also {seen[s.name]})")
        seen[s.name] = where
    names: set[str] = set()
    for i, a in enumerate(alerts):
        if a.name in names:
            raise ConfigError(f"alerts[{i}].name", f"duplicate name {a.name!r}")
        names.add(a.name)
    override = env.get("WATCHER_DATABASE_URL")
    if override:
        watcher.database = override
    return Config(watcher=watcher, shops=shops, marketplaces=markets, detect=detect, alerts=alerts)


def load_config(path: str | Path, env: typing.Mapping[str, str] | None = None) -> Config:
    """Read and validate a TOML config file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("", f"config file {str(p)!r} does not exist") from None
    except OSError as e:
        raise ConfigError("", f"cannot read config file {str(p)!r}: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("", f"{p} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("", f"{p} is not valid TOML: {e}") from None
    config = parse_config(data, env)
    config.path = p
    return config
