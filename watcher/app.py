"""Composition root: config -> store -> http -> runner (sources, detectors) -> outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from watcher.config import Config
from watcher.http import Http, HttpSettings
from watcher.notify.outbox import Outbox
from watcher.runner import Runner
from watcher.store import Store


@dataclass(slots=True)
class App:
    """The wired parts of a running watcher."""

    config: Config
    store: Store
    http: Http
    outbox: Outbox
    runner: Runner


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


@asynccontextmanager
async def open_app(
    config: Config, store: Store | None = None, *, http_cache: bool = True
) -> AsyncIterator[App]:
    """Open everything a check needs and close it afterwards. ``http_cache`` keeps bodies
    for conditional requests (worth it only in a long-lived process)."""
    own_store = store is None
    store = store or Store(config.watcher.database)
    alert_client = httpx.AsyncClient(
        timeout=httpx.Timeout(config.watcher.timeout.total_seconds()),
        follow_redirects=False,
        headers={"User-Agent": config.watcher.user_agent},
    )
    settings = http_settings(config)
    if not http_cache:
        settings.cache_bytes = 0
    http = Http(settings)
    try:
        outbox = Outbox(store, config.alerts, alert_client, retry_first=config.watcher.alert_retry)
        yield App(config, store, http, outbox, Runner(config, store, http, outbox))
    finally:
        await http.aclose()
        await alert_client.aclose()
        if own_store:
            store.close()
