"""The ``webhook`` channel: POST a batch in one of the formats of
:mod:`watcher.notify.formats` (``json``, ``slack``, ``discord``, ``feishu``, ``dingtalk``,
``wecom``; ``format`` names one of the discovered formats).

A batch that needs several messages is sent in order, ``format.pause`` seconds apart (the
platform's rate limit). If message k fails, the error says how many were delivered and
carries the findings those messages delivered (``DeliveryError.delivered``): the outbox
records them as sent and tries again only the others.

Error messages never contain the URL (its path or query is the token) or the secret.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
from loguru import logger

from watcher.config import Url
from watcher.errors import ConfigError, DeliveryError
from watcher.models import AlertBatch
from watcher.notify.channels.base import Channel
from watcher.notify.formats import WebhookFormat, formats
from watcher.validation import header_value

_FORBIDDEN_HEADERS = {
    "content-type",
    "content-length",
    "host",
    "x-watcher-part",
    "x-watcher-signature",
    "x-watcher-signature-v2",
    "x-watcher-timestamp",
}


def _positive_duration(value: timedelta, path: str) -> None:
    if value.total_seconds() <= 0:
        raise ConfigError(path, "must be greater than 0")


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name (RFC 9110 ``token``)."""


def _headers(value: dict[str, str], path: str) -> None:
    for name, v in value.items():
        if name.lower() in _FORBIDDEN_HEADERS:
            raise ConfigError(f"{path}.{name}", "is set by watcher and cannot be overridden")
        if any(c in name + v for c in "\r\n"):
            raise ConfigError(f"{path}.{name}", "must not contain line breaks")
        if not _TOKEN.fullmatch(name):
            raise ConfigError(
                f"{path}.{name}",
                "not a valid header name (letters, digits and !#$%&'*+-.^_`|~, no spaces)",
            )
        header_value(v, f"{path}.{name}")


def _format(value: str, path: str) -> None:
    known = formats()
    if value not in known:
        raise ConfigError(path, f"unknown format {value!r} (one of: {', '.join(known)})")


@dataclass(slots=True)
class WebhookOptions:
    """``[[alerts]] kind = "webhook"``: where to POST and in which format."""

    url: Url
    format: str = field(default="json", metadata={"check": _format})
    secret: str = ""
    timeout: timedelta = field(
        default=timedelta(seconds=10), metadata={"check": _positive_duration}
    )
    headers: dict[str, str] = field(default_factory=dict, metadata={"check": _headers})

    def validate(self, path: str) -> None:
        """Signing needs a format that supports it."""
        if self.secret and not formats()[self.format].signs:
            raise ConfigError(
                f"{path}.secret",
                f"{self.format} webhooks are not signed (the URL is the secret); remove it",
            )


def _with_params(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` appended to its query (httpx's ``params=`` would replace
    the query, and with it DingTalk's ``access_token``)."""
    if not params:
        return url
    extra = urlencode(params, quote_via=quote, safe="")
    base, _, fragment = url.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}{extra}"
    return f"{joined}#{fragment}" if fragment else joined


class WebhookChannel(Channel):
    """Sends each batch as one or more HTTP POSTs; see the module docstring."""

    kind: ClassVar[str] = "webhook"
    Options: ClassVar[type] = WebhookOptions

    def __init__(self, options: WebhookOptions, client: httpx.AsyncClient) -> None:
        super().__init__(options, client)
        self.format: WebhookFormat = formats()[options.format](options.secret)
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """Used for pacing between messages; tests replace it to observe the pauses."""

    @property
    def pause(self) -> float:
        """The format's pause between messages (its platform's rate limit)."""
        return self.format.pause

    def _redact(self, text: str) -> str:
        parts = urlsplit(self.options.url)
        secrets = [self.options.url, parts.path, parts.query, self.options.secret]
        secrets += [v for _, v in parse_qsl(parts.query) if len(v) >= 4]
        secrets += [seg for seg in parts.path.split("/") if len(seg) >= 16]
        for s in sorted((s for s in secrets if s and s != "/"), key=len, reverse=True):
            text = text.replace(s, "***")
        return text

    async def send(self, batch: AlertBatch) -> None:
        """Deliver ``batch``; raise DeliveryError (``retryable`` set) on failure."""
        if not batch.findings:
            return
        messages = self.format.messages(batch)
        timeout = self.options.timeout.total_seconds()
        name = self.format.name
        delivered: list[str] = []
        for i, message in enumerate(messages):
            if i:
                await self.sleep(self.format.pause)
            where = f"{name} webhook" + (f" message {i + 1} of {len(messages)}" if i else "")
            done = f" ({i} of {len(messages)} messages were delivered)" if i else ""
            headers = {**self.options.headers, **message.headers}
            url = _with_params(self.options.url, message.params)
            bodies = (
                [message.body] if message.fallback is None else [message.body, message.fallback]
            )
            for n, body in enumerate(bodies):
                try:
                    response = await self.client.post(
                        url, content=body, headers=headers, timeout=timeout, follow_redirects=False
                    )
                except httpx.TransportError as e:  # timeouts included: both are worth a retry
                    why = (
                        f"timed out after {timeout:g}s ({type(e).__name__})"
                        if isinstance(e, httpx.TimeoutException)
                        else f"{type(e).__name__}: {self._redact(str(e))}"
                    )
                    raise DeliveryError(
                        f"{where}: {why}{done}", retryable=True, delivered=delivered
                    ) from None
                error = self.format.check(response)
                if error is None or error.retryable or n == len(bodies) - 1:
                    break
                # refused for good with its photos: the same message once more without them
                logger.warning(
                    "{}: refused with photos, sending without: {}", where, self._redact(str(error))
                )
            if error is not None:
                raise DeliveryError(
                    f"{where}: {self._redact(str(error))}{done}",
                    retryable=error.retryable,
                    retry_after=error.retry_after,
                    delivered=delivered,
                )
            delivered += [f.dedup_key for f in message.findings]
