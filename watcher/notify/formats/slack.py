"""Slack incoming webhooks: ``{"text": fallback, "blocks": [section, ...]}`` in mrkdwn.

Limits (platforms.md §4): ≤50 blocks per message, section text ≤3,000 characters, about
one message a second. A batch uses at most ``max_messages`` messages; findings past
that are counted in an "…and N more" line of the last one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.models import AlertBatch
from watcher.notify import escape
from watcher.notify.formats.base import Message, WebhookFormat, classify, dumps, plan, reason
from watcher.notify.render import Block, Line

MAX_BLOCKS = 50
SECTION_CHARS = 3000
MESSAGE_CHARS = 30_000
"""Total section text per message: well under the 40,000 characters Slack keeps of
``text``, so a message is never cut."""


def mrkdwn_line(line: Line) -> str:
    """One line as Slack mrkdwn, hostile text escaped, links as ``<url|text>``."""
    parts = []
    for s in line.spans:
        text = escape.slack(s.text, multiline=line.quote)
        if s.url:
            text = f"<{s.url.replace('&', '&amp;')}|{text}>"
        if s.bold and text.strip():
            text = f"*{text}*"
        parts.append(text)
    out = "".join(parts)
    if line.quote:
        out = "\n".join("> " + x for x in out.split("\n"))
    return out


def mrkdwn_block(b: Block) -> str:
    """A finding as one section's mrkdwn text."""
    lines = [f"{b.icon} *{escape.slack(b.title)}*", mrkdwn_line(b.heading)]
    lines += [mrkdwn_line(x) for x in b.lines]
    return "\n".join(lines)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


class SlackFormat(WebhookFormat):
    """Block Kit sections, one per finding; reply ``200 ok``."""

    name = "slack"
    pause: ClassVar[float] = 1.0
    max_messages: ClassVar[int] = 10

    def messages(self, batch: AlertBatch) -> list[Message]:
        """Header section + one section per finding (+ a note), ≤50 blocks each."""
        title = self.title(batch)
        pages = plan(
            batch,
            mrkdwn_block,
            block_limit=SECTION_CHARS,
            page_budget=MESSAGE_CHARS,
            per_page=MAX_BLOCKS - 2,
            max_pages=self.max_messages,
        )
        out = []
        for page in pages:
            head = escape.slack(title + page.suffix)
            sections = [_section(f"*{head}*")] + [_section(r) for r in page.rendered]
            if page.note:
                sections.append(
                    {
                        "type": "context",
                        "elements": [{"type": "mrkdwn", "text": escape.slack(page.note)}],
                    }
                )
            body = {"text": head, "blocks": sections}
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
        """HTTP status first; a 2xx must say ``ok``."""
        error = classify(response.status_code, response.headers, reason(response))
        if error is not None:
            return error
        text = response.text.strip()
        if text == "ok" or text.startswith('{"ok":true'):
            return None
        return DeliveryError(f"slack answered {reason(response)}", retryable=False)
