"""Discord webhooks: one embed per finding, ``allowed_mentions: {"parse": []}`` always.

Limits (platforms.md §4): content 2,000; ≤10 embeds; title 256; description 4,096; all
embed text of a message ≤6,000. 429 replies carry ``retry_after`` in the JSON body too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.models import AlertBatch, Severity
from watcher.notify import escape
from watcher.notify.formats.base import (
    Message,
    WebhookFormat,
    classify,
    dumps,
    json_reply,
    plan,
    reason,
)
from watcher.notify.render import Block, Line

CONTENT_CHARS = 2000
MAX_EMBEDS = 10
TITLE_CHARS = 256
DESCRIPTION_CHARS = 4096
EMBED_TOTAL = 6000
_COLOURS = {Severity.HIGH: 0xD93025, Severity.MEDIUM: 0xE37400, Severity.LOW: 0x5F6368}

BLOCK_LIMIT = 1500
"""One finding's share at most: a long review is shortened so a message holds several."""


def markdown_line(line: Line) -> str:
    """One line as Discord markdown: text escaped, links as ``[text](url)``."""
    parts = []
    for s in line.spans:
        text = escape.discord(s.text, multiline=line.quote)
        if s.url:
            text = f"[{text}]({s.url})"
        if s.bold and text.strip():
            text = f"**{text}**"
        parts.append(text)
    out = "".join(parts)
    if line.quote:
        out = "\n".join("> " + x for x in out.split("\n"))
    return out


def description(b: Block) -> str:
    """The embed description of a finding."""
    return "\n".join([markdown_line(b.heading), *(markdown_line(x) for x in b.lines)])


def embed_title(b: Block) -> str:
    """``🔴 Copied listing · My Shop``, within 256 characters."""
    text = f"{b.icon} {escape.discord(b.title)}"
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _embed(b: Block, desc: str) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": embed_title(b),
        "description": desc,
        "color": _COLOURS.get(b.severity, 0x5F6368),
    }
    url = (b.finding.listing or {}).get("url")
    safe = escape.safe_url(url)
    if safe:
        embed["url"] = safe
    return embed


class DiscordFormat(WebhookFormat):
    """Embeds, ≤10 per message and ≤6,000 characters of embed text; reply 204 (or 200)."""

    name = "discord"
    pause: ClassVar[float] = 0.5
    max_messages: ClassVar[int] = 10

    def messages(self, batch: AlertBatch) -> list[Message]:
        """Pages of embeds; the header and any "…and N more" note go in ``content``."""
        title = self.title(batch)

        # An embed costs its description plus its title against the 6,000 total.
        def render(b: Block) -> str:
            return description(b) + "\x00" * len(embed_title(b))

        pages = plan(
            batch,
            render,
            block_limit=BLOCK_LIMIT,
            page_budget=EMBED_TOTAL - 100,
            per_page=MAX_EMBEDS,
            max_pages=self.max_messages,
        )
        out = []
        for page in pages:
            content = f"**{escape.discord(title)}**{page.suffix}"
            if page.note:
                content += "\n" + escape.discord(page.note)
            if len(content) > CONTENT_CHARS:
                content = content[: CONTENT_CHARS - 1] + "…"
            embeds = [
                _embed(b, r.rstrip("\x00")) for b, r in zip(page.blocks, page.rendered, strict=True)
            ]
            body = {"content": content, "embeds": embeds, "allowed_mentions": {"parse": []}}
            out.append(
                Message(
                    dumps(body),
                    {"Content-Type": "application/json"},
                    shown=len(embeds),
                    noted=len(page.left_out),
                )
            )
        return out

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """Status mapping, plus ``retry_after`` from the JSON body of a 429."""
        error = classify(response.status_code, response.headers, reason(response))
        if error is not None and response.status_code == 429 and error.retry_after is None:
            data = json_reply(response) or {}
            value = data.get("retry_after")
            if isinstance(value, int | float):
                error.retry_after = float(value)
        return error
