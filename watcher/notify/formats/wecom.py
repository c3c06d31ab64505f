"""WeCom (企业微信) group robots: ``msgtype: markdown``, content ≤4,096 UTF-8 bytes.

The URL is the secret (no signing). 20 messages a minute per robot (errcode 45009), so
one batch uses at most ``max_messages`` messages, 3 s apart; the rest is counted in the
last message. Markdown has no mention list; mentions are ``<@userid>`` in the text, which
hostile text cannot form (``<`` and ``@`` are replaced with full-width look-alikes).
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.models import AlertBatch, Severity
from watcher.notify import escape
from watcher.notify.formats.base import (
    Message,
    WebhookFormat,
    check_api_reply,
    dumps,
    plan,
    utf8_len,
)
from watcher.notify.formats.dingtalk import markdown_line
from watcher.notify.render import Block

MAX_BYTES = 4096
_RESERVE = 900
RATE_LIMITED = 45009
_FONT = {Severity.HIGH: "warning", Severity.MEDIUM: "warning", Severity.LOW: "comment"}

BLOCK_LIMIT = 800
"""One finding's share at most: a long review is shortened so a message holds several."""


def markdown_block(b: Block) -> str:
    """A finding as WeCom markdown."""
    colour = _FONT.get(b.severity, "comment")
    rows = [f'<font color="{colour}">{b.icon} **{escape.wecom(b.title)}**</font>']
    rows.append(markdown_line(b.heading, escape.wecom))
    rows += [markdown_line(x, escape.wecom) for x in b.lines]
    return "\n".join(rows)


class WeComFormat(WebhookFormat):
    """Markdown messages within 4,096 bytes; reply ``{"errcode": 0}``."""

    name = "wecom"
    pause: ClassVar[float] = 3.0
    max_messages: ClassVar[int] = 5

    def messages(self, batch: AlertBatch) -> list[Message]:
        """Markdown pages; the last carries any "…and N more" note."""
        title = escape.wecom(self.title(batch))
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
            head = f"**{title}{page.suffix}**"
            if utf8_len(head) > 400:
                head = head.encode()[:390].decode(errors="ignore") + "…**"
            content = head + "\n\n" + "\n\n".join(page.rendered)
            if page.note:
                content += "\n\n" + escape.wecom(page.note)
            body = {"msgtype": "markdown", "markdown": {"content": content}}
            out.append(
                Message(
                    dumps(body),
                    {"Content-Type": "application/json"},
                    shown=len(page.blocks),
                    noted=len(page.left_out),
                )
            )
        return out

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """HTTP status, then ``errcode`` must be 0; 45009 (rate limit) is retryable."""
        return check_api_reply(response, "wecom", rate_limited={RATE_LIMITED: 60.0})
