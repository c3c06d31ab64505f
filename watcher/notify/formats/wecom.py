"""WeCom (企业微信) group robots: ``msgtype: markdown``, content ≤4,096 UTF-8 bytes.

The URL is the secret (no signing). 20 messages a minute per robot (errcode 45009), so
one batch uses at most ``max_messages`` messages, 3 s apart; the rest is counted in the
last message. Markdown has no mention list; mentions are ``<@userid>`` in the text, which
hostile text cannot form (``<`` and ``@`` are replaced with full-width look-alikes).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, assert_never

import httpx

from watcher.errors import DeliveryError
from watcher.models import Severity
from watcher.notify.formats import dingtalk
from watcher.notify.formats.base import ChatFormat, Limits, Page, check_api_reply, utf8_len
from watcher.notify.formats.dingtalk import escape
from watcher.notify.render import Block

MAX_BYTES = 4096
_RESERVE = 900
RATE_LIMITED = 45009


def _font(severity: Severity) -> str:
    """WeCom's named font colours: ``warning`` (orange) and ``comment`` (grey)."""
    match severity:
        case Severity.HIGH | Severity.MEDIUM:
            return "warning"
        case Severity.LOW:
            return "comment"
        case _:
            assert_never(severity)


MARKDOWN = replace(dingtalk.MARKDOWN, newline="\n")


class WeComFormat(ChatFormat):
    """Markdown messages within 4,096 bytes; reply ``{"errcode": 0}``."""

    name = "wecom"
    pause: ClassVar[float] = 3.0
    max_messages: ClassVar[int] = 5
    limits = Limits(block=800, page=MAX_BYTES - _RESERVE, separator=2, utf8=True)

    def render(self, block: Block) -> str:
        """``<font color="warning">🔴 **Copied listing · My Shop**</font>`` and the lines."""
        title = f"{block.icon} {MARKDOWN.strong(block.title)}"
        return f'<font color="{_font(block.severity)}">{title}</font>\n{MARKDOWN.body(block)}'

    def body(self, page: Page, title: str) -> dict[str, Any]:
        """A markdown message; the last carries any "…and N more" note."""
        head = f"**{escape(title)}{page.suffix}**"
        if utf8_len(head) > 400:
            head = head.encode()[:390].decode(errors="ignore") + "…**"
        content = head + "\n\n" + "\n\n".join(page.rendered)
        if page.note:
            content += "\n\n" + escape(page.note)
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """HTTP status, then ``errcode`` must be 0; 45009 (rate limit) is retryable."""
        return check_api_reply(response, "wecom", rate_limited={RATE_LIMITED: 60.0})
