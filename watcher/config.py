"""The configuration schema: one dataclass per TOML table, and the loader.

Every user error raises :class:`~watcher.errors.ConfigError` naming the key path
(``shops[2].url``) and what is wrong. The generic machinery (types, durations, URLs,
``${ENV}``) is :mod:`watcher.validation`; the kinds a shop or an alert channel may have are
plugins, checked where the plugins are assembled (:mod:`watcher.registry`).
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from watcher.dburl import check_database
from watcher.errors import ConfigError
from watcher.models import FindingKind
from watcher.secrets import Secrets
from watcher.validation import (
    Url,
    between,
    build,
    check_url,
    convert,
    currency_code,
    env_reference,
    header_value,
    interpolate_all,
    nonempty,
    not_negative,
    parse_duration,
    positive,
    unit,
)

__all__ = [
    "FINDING_KINDS",
    "AlertConfig",
    "Config",
    "ConfigError",
    "DigestSchedule",
    "MarketplaceConfig",
    "Selectors",
    "ServeSettings",
    "ShopConfig",
    "Url",
    "WatcherSettings",
    "build",
    "check_url",
    "load_config",
    "parse_config",
    "parse_digest",
    "parse_duration",
]

FINDING_KINDS = tuple(FindingKind)
"""What ``[[alerts]] kinds = [...]`` may name."""


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
    """Checked by :func:`watcher.dburl.check_database`; a relative SQLite path is taken from
    the config file's folder."""
    interval: timedelta = field(default=timedelta(hours=1), metadata={"check": positive})
    jitter: timedelta = timedelta(minutes=5)
    timezone: str = "UTC"
    hemisphere: Literal["north", "south"] = "north"
    concurrency: int = field(default=8, metadata={"check": positive})
    per_host: int = field(default=2, metadata={"check": positive})
    timeout: timedelta = field(default=timedelta(seconds=20), metadata={"check": positive})
    retries: int = field(default=3, metadata={"check": not_negative})
    robots: bool = True
    user_agent: str = field(
        default="watcher/0.1 (+https://github.com/watcher-dev/watcher)",
        metadata={"check": header_value},
    )
    max_bytes: int = field(default=10 * 1024 * 1024, metadata={"check": positive})
    unreachable_after: int = field(default=3, metadata={"check": positive})
    alert_retry: timedelta = field(default=timedelta(minutes=1), metadata={"check": positive})
    """First delay before an undelivered alert is retried; doubles per attempt up to 6h."""
    lease: timedelta = timedelta(minutes=1)
    """How long a ``watcher run`` instance's claim on a shop (and its registration) lasts
    without a heartbeat: a dead instance's shops are taken over after this."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    keep_history: timedelta = timedelta(days=365)
    """Price history (listing snapshots) kept this long; 0 keeps everything. The state in
    force at the cutoff and each listing's latest state are always kept."""
    language: Literal["en", "zh"] = "en"
    """The words of alerts (chat, email), of the findings the commands print and of the
    dashboard; ``timezone`` is the zone their dates are written in."""

    def validate(self, path: str) -> None:
        """Check the timezone names a real zone."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{path}.timezone", f"unknown time zone {self.timezone!r}") from None
        if self.lease.total_seconds() < 1:
            raise ConfigError(f"{path}.lease", "must be at least 1s")
        keep = self.keep_history.total_seconds()
        if keep and (keep < 86400 or keep % 86400):
            raise ConfigError(
                f"{path}.keep_history",
                f'must be 0 (keep everything) or a whole number of days like "365d", got {keep:g}s',
            )


@dataclass(slots=True)
class ShopConfig:
    """One ``[[shops]]`` entry. ``kind`` names a source plugin (checked by
    :mod:`watcher.registry`)."""

    name: str = field(metadata={"check": nonempty})
    kind: str = field(metadata={"check": nonempty})
    url: Url
    role: Literal["own", "competitor"] = "competitor"
    top: int = field(default=5, metadata={"check": positive})
    listings: list[Url] = field(default_factory=list)
    """Own shops: watch these instead of the top N. Competitors: watch only these pages
    instead of the whole catalog."""
    top_url: str = ""
    search_url: str = field(default="", metadata={"check": _template})
    interval: timedelta | None = field(default=None, metadata={"check": positive})
    currency: str | None = None
    robots: bool | None = None
    allow_private: bool = False
    """URLs taken from this shop's pages (photos, next pages, redirects) may lead to
    loopback and private addresses; the configured URLs always may."""
    selectors: Selectors = field(default_factory=Selectors)

    def validate(self, path: str) -> None:
        """Check the URL-ish optional keys and the currency code."""
        if self.top_url:
            check_url(self.top_url, f"{path}.top_url")
        if self.currency is not None:
            self.currency = currency_code(self.currency, f"{path}.currency")

    @property
    def own(self) -> bool:
        """True for the seller's own shops."""
        return self.role == "own"


@dataclass(slots=True)
class MarketplaceConfig:
    """One ``[[marketplaces]]`` entry: somewhere else to search for copies."""

    name: str = field(metadata={"check": nonempty})
    search_url: str = field(metadata={"check": _template})
    kind: str = field(default="html", metadata={"check": nonempty})
    url: str = ""
    currency: str | None = None
    robots: bool | None = None
    selectors: Selectors = field(default_factory=Selectors)

    def validate(self, path: str) -> None:
        """A search URL is the point of a marketplace."""
        if not self.search_url:
            raise ConfigError(f"{path}.search_url", "is required")
        if self.currency is not None:
            self.currency = currency_code(self.currency, f"{path}.currency")

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
    title_similarity: float = field(default=0.85, metadata={"check": unit})
    image_distance: int = field(default=10, metadata={"check": between(0, 64)})
    candidate_similarity: float = field(default=0.6, metadata={"check": unit})


@dataclass(slots=True)
class ReviewsSettings:
    """``[detect.reviews]``."""

    enabled: bool = True
    max_rating: float = field(default=3, metadata={"check": between(0, 5)})
    text: bool = True
    text_threshold: float = field(default=0.75, metadata={"check": unit})
    """How sure the text classifier must be before a well-rated review counts as a
    complaint; high, because a false alarm on a 5-star review costs the seller's trust."""


@dataclass(slots=True)
class LaunchesSettings:
    """``[detect.launches]``."""

    enabled: bool = True
    window: timedelta = field(default=timedelta(days=21), metadata={"check": positive})
    min_items: int = field(default=3, metadata={"check": positive})


def _low_window(value: timedelta, path: str) -> None:
    seconds = value.total_seconds()
    if seconds < 86400 or seconds % 86400:
        raise ConfigError(path, f'must be a whole number of days like "30d", got {seconds:g}s')


@dataclass(slots=True)
class ShopPricesSettings:
    """``[detect.prices.shops."<shop name>"]``: one competitor's own price settings (an
    unset key keeps the ``[detect.prices]`` value)."""

    enabled: bool | None = None
    min_change: float | None = field(default=None, metadata={"check": unit})
    low_window: timedelta | None = field(default=None, metadata={"check": _low_window})


@dataclass(slots=True)
class PricesSettings:
    """``[detect.prices]``, with per-shop overrides in ``shops``."""

    enabled: bool = True
    min_change: float = field(default=0.05, metadata={"check": unit})
    low_window: timedelta | None = field(default=None, metadata={"check": _low_window})
    """A competitor's price drop to the lowest it has been in this long says so."""
    shops: dict[str, ShopPricesSettings] = field(default_factory=dict)

    def for_shop(self, name: str) -> ShopPricesSettings:
        """The settings in force for the shop (or marketplace) ``name``: its overrides
        over the ``[detect.prices]`` values, every key set."""
        own = self.shops.get(name, ShopPricesSettings())
        return ShopPricesSettings(
            self.enabled if own.enabled is None else own.enabled,
            self.min_change if own.min_change is None else own.min_change,
            self.low_window if own.low_window is None else own.low_window,
        )


def _fraction(value: float, path: str) -> None:
    if not 0 < value < 1:
        raise ConfigError(path, f"must be greater than 0 and less than 1, got {value}")


@dataclass(slots=True)
class PositionSettings:
    """``[detect.position]``."""

    enabled: bool = True
    undercut: float = field(default=0.10, metadata={"check": _fraction})
    """A matched listing this much cheaper than the own price (0.10: 10 %) undercuts it."""


@dataclass(slots=True)
class DetectSettings:
    """The ``[detect.*]`` tables."""

    copies: CopiesSettings = field(default_factory=CopiesSettings)
    reviews: ReviewsSettings = field(default_factory=ReviewsSettings)
    launches: LaunchesSettings = field(default_factory=LaunchesSettings)
    prices: PricesSettings = field(default_factory=PricesSettings)
    position: PositionSettings = field(default_factory=PositionSettings)


MIN_PASSWORD = 10


@dataclass(slots=True)
class ServeSettings:
    """``[serve]``: the dashboard (``watcher serve``, ``watcher run --serve``)."""

    password: str = ""
    """Required to listen on anything but loopback; must come from ``${ENV}``."""
    public_url: str = ""
    """Where people reach the dashboard (behind a TLS proxy): links in alerts, Secure cookies."""

    def validate(self, path: str) -> None:
        """A short password is refused; ``public_url`` must be an http(s) URL."""
        if self.password and len(self.password) < MIN_PASSWORD:
            raise ConfigError(
                f"{path}.password", f"must be at least {MIN_PASSWORD} characters long"
            )
        if self.public_url:
            check_url(self.public_url, f"{path}.public_url")


@dataclass(slots=True)
class AlertFilter:
    """The keys every ``[[alerts]]`` entry has, whatever its channel."""

    kind: str = field(metadata={"check": nonempty})
    name: str = ""
    """How ``watcher alerts`` names the channel; ``<kind>-<index>`` when not set."""
    kinds: list[str] = field(default_factory=list)
    min_severity: Literal["low", "medium", "high"] = "low"
    digest: str = ""
    """``"08:30"`` (daily, local time) or ``"1h"`` (every hour): alerts held for one message."""
    immediate: list[str] = field(default_factory=list)
    """Kinds a digest channel still sends at once."""

    def validate(self, path: str) -> None:
        """Only finding kinds that exist; a digest time that parses."""
        for key, kinds in (("kinds", self.kinds), ("immediate", self.immediate)):
            for i, k in enumerate(kinds):
                if k not in FINDING_KINDS:
                    raise ConfigError(f"{path}.{key}[{i}]", f"unknown finding kind {k!r}")
        if self.digest:
            parse_digest(self.digest, f"{path}.digest")
        elif self.immediate:
            raise ConfigError(f"{path}.immediate", "only means something with a digest")


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When a digest channel sends its held alerts: every day at ``daily`` (local time in
    ``[watcher] timezone``), or every ``every`` (slots aligned to local midnight)."""

    daily: time | None = None
    every: timedelta | None = None
    text: str = ""
    """As configured (``"08:30"``, ``"1h"``)."""


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MIN_DIGEST_EVERY = timedelta(seconds=1)


def parse_digest(value: str, path: str) -> DigestSchedule:
    """``"08:30"`` -> daily at 08:30; ``"1h"``, ``"30m"`` -> an interval; else ConfigError."""
    text = value.strip()
    if ":" in text:
        m = _CLOCK.match(text)
        if not m:
            raise ConfigError(path, f"expected a time of day like '08:30', got {value!r}")
        return DigestSchedule(daily=time(int(m.group(1)), int(m.group(2))), text=text)
    try:
        every = parse_duration(text, path)
    except ConfigError:
        raise ConfigError(
            path, f"expected a time of day like '08:30' or an interval like '1h', got {value!r}"
        ) from None
    if every < MIN_DIGEST_EVERY or every > timedelta(days=1):
        raise ConfigError(path, f"an interval between 1s and 1d, got {value!r}")
    return DigestSchedule(every=every, text=text)


@dataclass(slots=True)
class AlertConfig:
    """One ``[[alerts]]`` entry. ``table`` holds the channel's own keys; the channel's
    ``Options`` dataclass validates them into ``options`` when the plugins are assembled
    (:func:`watcher.registry.check_plugins`)."""

    kind: str
    name: str
    options: Any = None
    kinds: list[str] = field(default_factory=list)
    min_severity: str = "low"
    table: dict[str, Any] = field(default_factory=dict)
    digest: DigestSchedule | None = None
    """Held alerts are sent together at this schedule; None sends every check's at once."""
    immediate: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Config:
    """The whole validated configuration, with the secret values it was given."""

    watcher: WatcherSettings = field(default_factory=WatcherSettings)
    shops: list[ShopConfig] = field(default_factory=list)
    marketplaces: list[MarketplaceConfig] = field(default_factory=list)
    detect: DetectSettings = field(default_factory=DetectSettings)
    alerts: list[AlertConfig] = field(default_factory=list)
    serve: ServeSettings = field(default_factory=ServeSettings)
    path: Path | None = None
    secrets: Secrets = field(default_factory=Secrets)
    """Values from ``${ENV}`` and the database password: masked in every log and error."""

    def require_shops(self) -> None:
        """ConfigError unless at least one shop is configured (a check of nothing would
        succeed silently forever)."""
        if not self.shops:
            where = f" in {self.path}" if self.path else ""
            raise ConfigError(
                "shops",
                f"no [[shops]]{where}: add your own shop and the competitors to watch"
                " (`watcher init` writes an example)",
            )


SECTIONS = {"watcher", "shops", "marketplaces", "detect", "alerts", "serve"}


def _alert(data: dict[str, Any], path: str) -> AlertConfig:
    keys = ("kind", "name", "kinds", "min_severity", "digest", "immediate")
    common = {k: data[k] for k in keys if k in data}
    head = convert(AlertFilter, common, path)
    index = path.rpartition("[")[2].rstrip("]")
    return AlertConfig(
        kind=head.kind,
        name=head.name or f"{head.kind}-{index}",
        table={k: v for k, v in data.items() if k not in common},
        kinds=head.kinds,
        min_severity=head.min_severity,
        digest=parse_digest(head.digest, f"{path}.digest") if head.digest else None,
        immediate=head.immediate,
    )


def _unique_names(shops: list[ShopConfig], markets: list[MarketplaceConfig]) -> None:
    seen: dict[str, str] = {}
    named: list[ShopConfig | MarketplaceConfig] = [*shops, *markets]
    for i, s in enumerate(named):
        where = f"shops[{i}].name" if i < len(shops) else f"marketplaces[{i - len(shops)}].name"
        if s.name in seen:
            raise ConfigError(where, f"duplicate name {s.name!r} (also {seen[s.name]})")
        seen[s.name] = where


def _parse(
    data: dict[str, Any], env: typing.Mapping[str, str], base: Path | None, secrets: Secrets
) -> Config:
    serve_table = data.get("serve")
    password = serve_table.get("password") if isinstance(serve_table, dict) else None
    if isinstance(password, str) and password and not env_reference(password):
        # A password written into the file ends up in backups and screenshots of it.
        raise ConfigError(
            "serve.password", 'must come from the environment, e.g. "${WATCHER_DASHBOARD_PASSWORD}"'
        )
    data = interpolate_all(data, "", env, secrets)
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(key, f"unknown section (known: {', '.join(sorted(SECTIONS))})")
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
    serve = convert(ServeSettings, data.get("serve", {}), "serve")
    alerts = [_alert(a, f"alerts[{i}]") for i, a in enumerate(data.get("alerts", []))]
    _unique_names(shops, markets)
    known = {s.name for s in (*shops, *markets) if not (isinstance(s, ShopConfig) and s.own)}
    for name in detect.prices.shops:
        if name not in known:
            raise ConfigError(
                f"detect.prices.shops.{name}",
                "names no competitor shop or marketplace (the [[shops]] / [[marketplaces]] name)",
            )
    _history_covers_windows(watcher, detect, markets, shops)
    names: set[str] = set()
    for i, a in enumerate(alerts):
        if a.name in names:
            raise ConfigError(f"alerts[{i}].name", f"duplicate name {a.name!r}")
        names.add(a.name)
    override = env.get("WATCHER_DATABASE_URL")
    if override:
        secrets.add(override, "WATCHER_DATABASE_URL")
        watcher.database = check_database(override, "WATCHER_DATABASE_URL", None, secrets)
    else:
        watcher.database = check_database(watcher.database, "watcher.database", base, secrets)
    return Config(
        watcher=watcher,
        shops=shops,
        marketplaces=markets,
        detect=detect,
        alerts=alerts,
        serve=serve,
        secrets=secrets,
    )


def _history_covers_windows(
    watcher: WatcherSettings,
    detect: DetectSettings,
    markets: list[MarketplaceConfig],
    shops: list[ShopConfig],
) -> None:
    """``keep_history`` must reach back over every ``low_window`` in force: the lowest price
    in the window is read from the kept history."""
    keep = watcher.keep_history
    if not keep:
        return
    names = [s.name for s in shops] + [m.name for m in markets]
    windows = [detect.prices.for_shop(n).low_window for n in names]
    widest = max((w for w in windows if w is not None), default=None)
    if widest is not None and widest > keep:
        raise ConfigError(
            "watcher.keep_history",
            f"must be at least the longest [detect.prices] low_window ({widest.days}d),"
            f" got {keep.days}d (or 0 to keep everything)",
        )


def parse_config(
    data: dict[str, Any], env: typing.Mapping[str, str] | None = None, *, base: Path | None = None
) -> Config:
    """Validate a parsed TOML document into a :class:`Config`. ``env`` supplies ``${VAR}``
    (default: the process environment); a relative SQLite path is taken from ``base`` (the
    config file's folder) or, without one, from the current directory. Error messages
    never show a secret."""
    env = os.environ if env is None else env
    secrets = Secrets()
    try:
        return _parse(data, env, base, secrets)
    except ConfigError as e:
        raise secrets.redact_error(e) from None


def load_config(
    path: str | Path, env: typing.Mapping[str, str] | None = None, *, channels: bool = True
) -> Config:
    """Read and validate a TOML config file; without ``channels`` its ``[[alerts]]`` are
    left out (neither read nor their ``${VAR}`` required)."""
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
    if not channels:
        data.pop("alerts", None)
    config = parse_config(data, env, base=p.resolve().parent)
    config.path = p
    return config
