"""Composition root: config -> store -> http -> runner (sources, detectors) -> outbox."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from watcher.config import Config
from watcher.http import HostSlots, Http, HttpSettings, alert_client
from watcher.i18n import audience
from watcher.models import DigestView
from watcher.notify.evidence import EvidenceReads
from watcher.notify.outbox import Outbox
from watcher.registry import check_plugins
from watcher.runner import Runner
from watcher.store import Store
from watcher.store.db import utcnow


@dataclass(slots=True)
class App:
    """The wired parts of a running watcher."""

    config: Config
    store: Store
    http: Http
    outbox: Outbox
    runner: Runner


def config_urls(config: Config) -> list[str]:
    """Every URL the config names for fetching: their origins are trusted to be on any
    address (fetched content may only lead to public ones)."""
    urls: list[str] = []
    for shop in config.shops:
        urls += [shop.url, shop.top_url, shop.search_url.replace("{query}", ""), *shop.listings]
    for market in config.marketplaces:
        urls += [market.url, market.search_url.replace("{query}", "")]
    return [u for u in urls if u]


def http_settings(config: Config) -> HttpSettings:
    """The shared client's settings from ``[watcher]``."""
    w = config.watcher
    return HttpSettings(
        concurrency=w.concurrency,
        per_host=w.per_host,
        timeout=w.timeout.total_seconds(),
        retries=w.retries,
        max_bytes=w.max_bytes,
        user_agent=w.user_agent,
    )


_settled = False


def settle_heap() -> None:
    """Move every object alive now (modules, classes, the wired app) out of the cyclic
    garbage collector's reach, once per process.

    A full collection walks every tracked object, the ~90,000 of start-up (SQLAlchemy,
    pydantic, httpx, lxml's readers, the config) included, although they live as long as
    the process: in a 500-page check the six full collections cost ~0.35 s of CPU and
    freed almost nothing. Objects made later are collected as before (nine cheap full
    collections there, ~0.05 s).
    """
    global _settled
    if not _settled:
        _settled = True
        gc.freeze()


@asynccontextmanager
async def open_app(
    config: Config,
    store: Store | None = None,
    *,
    http_cache: bool = True,
    host_slots: HostSlots | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[App]:
    """Open everything a check needs and close it afterwards. ``http_cache`` keeps bodies
    for conditional requests (worth it only in a long-lived process); ``host_slots``
    shares the per-host limit with other processes; ``clock`` is the outbox's now (when
    alerts are due: digests, retries)."""
    check_plugins(config)
    own_store = store is None
    store = store or Store(config.watcher.database)
    alerts = (  # without alerts there is nothing to post (a client is ~25 ms and 1.4 MiB)
        alert_client(config.watcher.timeout.total_seconds(), config.watcher.user_agent)
        if config.alerts
        else None
    )
    settings = http_settings(config)
    if not http_cache:
        settings.cache_bytes = 0
    http = Http(settings, trusted=config_urls(config), host_slots=host_slots)
    try:
        outbox = Outbox(
            store.outbox,
            config.alerts,
            alerts,
            retry_first=config.watcher.alert_retry,
            audience=audience(config.watcher.language, config.watcher.timezone),
            evidence=EvidenceReads(store, config.serve.public_url).gather,
            clock=clock,
            view=DigestView(public_url=config.serve.public_url),
        )
        app = App(config, store, http, outbox, Runner(config, store, http, outbox))
        settle_heap()
        yield app
    finally:
        await http.aclose()
        if alerts is not None:
            await alerts.aclose()
        if own_store:
            store.close()
