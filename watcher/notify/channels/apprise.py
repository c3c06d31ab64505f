"""The ``apprise`` channel: ``urls = ["tgram://…", "ntfy://…", "bark://…", …]`` reaches the
150+ services of Apprise (BSD licence, https://github.com/caronc/apprise/wiki). Feishu,
DingTalk and WeCom keep their native ``webhook`` formats: Apprise's cannot sign and send
plain text only.

Each URL receives every alert as plain text: the header line and each finding's lines
(:mod:`watcher.notify.render`, links as ``title <url>``), so fetched text arrives inert on
every service. Apprise sends with blocking ``requests``: each send runs in a worker thread,
off the event loop. Each URL of ``urls`` becomes a channel of its own
(:meth:`AppriseOptions.split`, named ``<name>[1]``, ``<name>[2]``…) with its own deliveries
in the outbox: a URL that took an alert is never sent it again because another failed.

Failure: Apprise's ``notify()`` only says yes or no (an object whose truth says so from
2.0). Its plugins log why, ``"Failed to send … notification: Not Found, error=404."``,
on the ``apprise`` logger, which this module captures per sending thread: an HTTP 4xx
(not 408 or 429) is permanent; 5xx, 408, 429, connection errors, timeouts and anything
unexplained are retryable.

The URLs carry the services' tokens: they are added to the config's secrets (masked in
every log line and error), and this channel's own errors are redacted with every part of
every URL; Apprise's own log lines never reach the output unredacted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from loguru import logger

from watcher.errors import ConfigError, DeliveryError
from watcher.models import AlertBatch
from watcher.notify.channels.base import Channel
from watcher.notify.mail import TEXT
from watcher.notify.render import blocks, more_note, subject_line

if TYPE_CHECKING:
    import apprise as apprise_lib

MAX_BLOCKS = 25
"""Findings one message shows; the rest are counted in an "…and N more" note."""
MASK = "***"
_CODE = re.compile(r"\berror=(\d{3})\b")
_MIN_PART = 4
_TOKEN = 8


class _Capture(logging.Handler):
    """Collects the ``apprise`` logger's records while a send runs. Apprise may log from
    its own worker threads, so records cannot be told apart by thread: sends through
    Apprise take turns (:data:`_SENDING`), and a send collects whatever is logged meanwhile."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.buffer: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        buffer = self.buffer
        if buffer is not None:
            try:
                buffer.append(record.getMessage())
            except Exception:  # a malformed record must not break a send
                buffer.append(str(record.msg))

    @contextmanager
    def collect(self) -> Iterator[list[str]]:
        """The messages Apprise logs while the block runs (one block at a time)."""
        with _SENDING:
            buffer: list[str] = []
            self.buffer = buffer
            try:
                yield buffer
            finally:
                self.buffer = None


_SENDING = threading.Lock()
_CAPTURE = _Capture()
_installed = threading.Lock()


def _install() -> None:
    """Route the ``apprise`` logger to the capture only: its lines carry hosts and, at
    debug level, whole URLs; Python's last-resort handler would print them."""
    log = logging.getLogger("apprise")
    with _installed:
        if _CAPTURE not in log.handlers:
            log.addHandler(_CAPTURE)
            log.propagate = False


def url_parts(url: str) -> list[str]:
    """Every part of an Apprise URL that may be a token or password: the URL itself, its
    host and credentials, path segments and query values (plain and percent-decoded)."""
    parts = {url, url.strip()}
    split = urlsplit(url.strip())
    netloc = split.netloc
    pieces = [netloc, split.path, split.query, *re.split(r"[:@]", netloc)]
    pieces += [seg for seg in split.path.split("/")]
    pieces += [v for _, v in parse_qsl(split.query, keep_blank_values=True)]
    for p in pieces:
        for form in (p, unquote(p)):
            if len(form) >= _MIN_PART and form != "/":
                parts.add(form)
    return sorted(parts, key=len, reverse=True)


def redactor(urls: Sequence[str]) -> Callable[[str], str]:
    """A function masking every part of ``urls`` (see :func:`url_parts`) in a text."""
    secrets = sorted({p for u in urls for p in url_parts(u)}, key=len, reverse=True)

    def redact(text: str) -> str:
        for s in secrets:
            if s in text:
                text = text.replace(s, MASK)
        return text

    return redact


def failure(messages: Sequence[str], where: str, redact: Callable[[str], str]) -> DeliveryError:
    """What Apprise's logged reasons mean (see the module docstring)."""
    codes = [int(c) for m in messages for c in _CODE.findall(m)]
    permanent = bool(codes) and all(400 <= c < 500 and c not in (408, 429) for c in codes)
    why = " ".join(" ".join(messages[-2:]).split())[:300] if messages else ""
    text = redact(why) if why else "the service did not take the message (no reason given)"
    return DeliveryError(f"{where}: {text}", retryable=not permanent)


def result_messages(result: object) -> list[str]:
    """The warnings an Apprise 2 result keeps per service and attempt (Apprise 1 returns
    a plain bool: nothing)."""
    out: list[str] = []
    try:
        for service in result:  # type: ignore[attr-defined]
            for attempt in service:
                for entry in attempt:
                    text = getattr(entry, "message", None)
                    level = str(getattr(entry, "level", "WARNING"))
                    if isinstance(text, str) and level in ("WARNING", "ERROR", "CRITICAL"):
                        out.append(text)
    except TypeError:
        return []
    return out


def scheme(url: str) -> str:
    """The service part of an Apprise URL (``tgram``), safe to show."""
    head, sep, _ = url.strip().partition("://")
    return head.lower() if sep and head.isascii() and head.replace("+", "").isalnum() else "?"


def _service(url: str) -> apprise_lib.Apprise | None:
    """An Apprise object for one URL (None when Apprise does not understand it); sends
    in the calling thread (no Apprise thread pool), so its log lines can be told apart."""
    import apprise as apprise_lib

    _install()
    service = apprise_lib.Apprise(asset=apprise_lib.AppriseAsset(async_mode=False))
    return service if service.add(url) else None


def _urls(value: list[str], path: str) -> None:
    if not value:
        raise ConfigError(path, "needs at least one Apprise URL (e.g. 'tgram://token/chat')")
    for i, url in enumerate(value):
        if _service(url) is None:
            # Never the URL: it carries the service's token.
            raise ConfigError(
                f"{path}[{i}]",
                f"Apprise cannot use this URL (service {scheme(url)!r}); the formats are at "
                "https://github.com/caronc/apprise/wiki",
            )


@dataclass(slots=True)
class AppriseOptions:
    """``[[alerts]] kind = "apprise"``: the Apprise URLs that each receive every alert."""

    urls: list[str] = field(metadata={"check": _urls})

    def split(self) -> list[tuple[AppriseOptions, dict[str, Any]]]:
        """One channel per URL (options and config keys): each URL has its own deliveries
        in the outbox, so one failing service never makes another receive alerts twice."""
        return [(AppriseOptions([url]), {"urls": [url]}) for url in self.urls]

    def secrets(self) -> list[str]:
        """What every log line and error masks: each URL, and its parts that look like
        tokens (long, not a host name or address: masking ``127.0.0.1`` or a port in every
        line would hide nothing and garble the log)."""
        return [
            p
            for u in self.urls
            for p in url_parts(u)
            if p.strip() == u.strip() or (len(p) >= _TOKEN and "." not in p)
        ]


def message(batch: AlertBatch) -> tuple[str, str]:
    """The title and plain-text body of ``batch`` in its audience's language (at most
    :data:`MAX_BLOCKS` findings, the rest counted)."""
    bs = blocks(batch)
    shown, rest = bs[:MAX_BLOCKS], bs[MAX_BLOCKS:]
    out = [f"{b.icon} {b.title}\n{TEXT.body(b)}" for b in shown]
    if rest:
        out.append(more_note([f for b in rest for f in b.findings], batch.audience))
    return subject_line(batch), "\n\n".join(out)


class AppriseChannel(Channel):
    """Sends each batch to every URL through Apprise; see the module docstring."""

    kind: ClassVar[str] = "apprise"
    Options: ClassVar[type] = AppriseOptions

    def __init__(self, options: AppriseOptions, client: httpx.AsyncClient) -> None:
        super().__init__(options, client)
        self.redact = redactor(options.urls)
        self._services: dict[int, Any] = {}

    def _send_one(self, index: int, batch: AlertBatch) -> None:
        """One URL, in a worker thread."""
        url = self.options.urls[index]
        where = f"apprise URL {index + 1} ({scheme(url)})"
        service = self._services.get(index)
        if service is None:
            service = self._services[index] = _service(url)
        if service is None:
            raise DeliveryError(f"{where}: Apprise cannot use this URL", retryable=False)
        import apprise as apprise_lib

        title, body = message(batch)
        with _CAPTURE.collect() as said:
            try:
                result = service.notify(
                    body=body, title=title, body_format=apprise_lib.NotifyFormat.TEXT
                )
            except Exception as e:  # a plugin bug or an odd reply: worth another try
                why = self.redact(f"{type(e).__name__}: {e}")
                raise DeliveryError(f"{where}: {why}", retryable=True) from None
        ok = bool(result)
        said = list(dict.fromkeys([*said, *result_messages(result)]))
        for line in said:
            logger.debug("apprise: {}", self.redact(line))
        if not ok:
            raise failure(said, where, self.redact)

    async def send(self, batch: AlertBatch) -> None:
        """Deliver ``batch`` to the channel's URL (the config gives each URL its own
        channel); raise DeliveryError (``retryable`` set) on failure."""
        if not batch.findings:
            return
        for i in range(len(self.options.urls)):
            await asyncio.to_thread(self._send_one, i, batch)
