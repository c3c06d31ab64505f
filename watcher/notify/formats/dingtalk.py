"""DingTalk custom robots: ``msgtype: markdown`` with ``at.isAtAll = false``.

Signing (when a secret is set) goes in the URL query: ``timestamp`` (ms) and ``sign`` =
base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")). Rate limit: 20 messages a
minute per robot, then blocked for 10 minutes (errcode 130101), so one batch uses at most
``max_messages`` messages, 3 s apart; anything past that is counted in the last message.
The markdown size limit is not documented in anything we checked; ``MAX_BYTES`` is kept
conservative.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.models import AlertBatch
from watcher.notify import escape
from watcher.notify.formats.base import (
    Message,
    WebhookFormat,
    check_api_reply,
    dumps,
    plan,
    utf8_len,
)
from watcher.notify.render import Block, Line

MAX_BYTES = 5000
_RESERVE = 900
BLOCKED = 130101
"""Sent too much: the robot is blocked for 10 minutes."""

BLOCK_LIMIT = 800
"""One finding's share at most: a long review is shortened so a message holds several."""


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature (not yet URL-encoded; httpx encodes query values)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def markdown_line(line: Line, esc: Callable[..., str] = escape.dingtalk) -> str:
    """One line of DingTalk/WeCom markdown; hostile text made inert by ``esc``."""
    parts = []
    for s in line.spans:
        text = esc(s.text, multiline=line.quote)
        if s.url:
            text = f"[{text}]({s.url})"
        if s.bold and text.strip():
            text = f"**{text}**"
        parts.append(text)
    out = "".join(parts)
    if line.quote:
        out = "\n".join("> " + x for x in out.split("\n")) + "\n"
    return out


def markdown_block(b: Block) -> str:
    """A finding as DingTalk markdown (lines end with two spaces: a hard break)."""
    rows = [f"**{b.icon} {escape.dingtalk(b.title)}**", markdown_line(b.heading)]
    rows += [markdown_line(x) for x in b.lines]
    return "  \n".join(rows)


class DingTalkFormat(WebhookFormat):
    """Markdown messages; reply ``{"errcode": 0}``."""

    name = "dingtalk"
    pause: ClassVar[float] = 3.0
    max_messages: ClassVar[int] = 5

    def messages(self, batch: AlertBatch) -> list[Message]:
        """Markdown pages within ``MAX_BYTES``; signature in ``params``."""
        title = escape.dingtalk(self.title(batch))
        pages = plan(
            batch,
            markdown_block,
            block_limit=BLOCK_LIMIT,
            page_budget=MAX_BYTES - _RESERVE,
            measure=utf8_len,
            max_pages=self.max_messages,
            separator=2,
        )
        out = []
        for page in pages:
            text = f"#### {title}{page.suffix}\n\n" + "\n\n".join(page.rendered)
            if page.note:
                text += "\n\n" + escape.dingtalk(page.note)
            body = {
                "msgtype": "markdown",
                "markdown": {"title": (title + page.suffix)[:100], "text": text},
                "at": {"atMobiles": [], "atUserIds": [], "isAtAll": False},
            }
            params = {}
            if self.secret:
                ts = round(time.time() * 1000)
                params = {"timestamp": str(ts), "sign": sign(self.secret, ts)}
            out.append(
                Message(
                    dumps(body),
                    {"Content-Type": "application/json"},
                    params,
                    shown=len(page.blocks),
                    noted=len(page.left_out),
                )
            )
        return out

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """HTTP status, then ``errcode`` must be 0; 130101 (blocked) is retryable later."""
        return check_api_reply(response, "dingtalk", rate_limited={BLOCKED: 600.0})
