"""The plugins of this installation, assembled: source kinds and alert channels, and the
check of a :class:`~watcher.config.Config` against them.

The config schema knows nothing about plugins (so plugins may import it); this is where a
shop's ``kind``, an alert's ``kind`` and the channel's own keys (a webhook's ``format``...)
are checked, with the same key-path errors as the rest of the config, before anything runs.
"""

from __future__ import annotations

import typing
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from watcher.config import AlertConfig, Config, load_config
from watcher.errors import ConfigError
from watcher.notify.channels import channel_kinds
from watcher.sources import source_kinds
from watcher.validation import build


def _check_kind(kind: str, known: Collection[str], path: str) -> None:
    if kind not in known:
        raise ConfigError(path, f"unknown kind {kind!r} (one of: {', '.join(sorted(known))})")


def _check(config: Config) -> None:
    sources = source_kinds()
    for i, shop in enumerate(config.shops):
        _check_kind(shop.kind, sources, f"shops[{i}].kind")
    for i, market in enumerate(config.marketplaces):
        _check_kind(market.kind, sources, f"marketplaces[{i}].kind")
    if not config.alerts:
        return  # the channel plugins (mail, images, SMTP) are imported only when used
    channels = channel_kinds()
    alerts: list[AlertConfig] = []
    for i, alert in enumerate(config.alerts):
        _check_kind(alert.kind, channels, f"alerts[{i}].kind")
        alert.options = build(channels[alert.kind].Options, alert.table, f"alerts[{i}]")
        # A channel whose keys hold secrets in their own right (an Apprise URL is a token
        # even when written in the file) has them masked like ${ENV} values.
        hidden = getattr(alert.options, "secrets", None)
        for value in hidden() if callable(hidden) else ():
            config.secrets.add(value, f"alerts[{i}]")
        alerts += _split(alert)
    config.alerts[:] = alerts


def _split(alert: AlertConfig) -> list[AlertConfig]:
    """One channel per destination when the options name several (``apprise`` ``urls``):
    each has its own deliveries in the outbox, so one failing destination never makes
    another receive the same alerts twice. Named ``<name>[1]``, ``<name>[2]``…"""
    split = getattr(alert.options, "split", None)
    parts: list[tuple[Any, dict[str, Any]]] = split() if callable(split) else []
    if len(parts) <= 1:
        return [alert]
    return [
        replace(alert, name=f"{alert.name}[{j}]", options=options, table=table)
        for j, (options, table) in enumerate(parts, start=1)
    ]


def check_plugins(config: Config) -> Config:
    """Check every plugin kind the config names and build each alert channel's options
    from its keys; returns ``config``. Raises ConfigError naming the key (secrets masked).
    Safe to call more than once."""
    try:
        _check(config)
    except ConfigError as e:
        raise config.secrets.redact_error(e) from None
    return config


def load(
    path: str | Path, env: typing.Mapping[str, str] | None = None, *, channels: bool = True
) -> Config:
    """Read a config file and check it against the installed plugins; without
    ``channels`` its ``[[alerts]]`` are left out (for commands that send nothing)."""
    return check_plugins(load_config(path, env, channels=channels))
