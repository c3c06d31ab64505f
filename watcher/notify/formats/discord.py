"""Discord webhooks: one embed per finding, ``allowed_mentions: {"parse": []}`` always.

Limits (platforms.md §4): content 2,000; ≤10 embeds; title 256; description 4,096; all
embed text of a message ≤6,000. 429 replies carry ``retry_after`` in the JSON body too.
Not signed: the URL is the secret.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.notify.formats.base import ChatFormat, Limits, Page, classify, json_reply, reason
from watcher.notify.markup import ZWSP, Markup, inert_links
from watcher.notify.render import Block, severity_style
from watcher.readable import clean, safe_url

CONTENT_CHARS = 2000
MAX_EMBEDS = 10
TITLE_CHARS = 256
DESCRIPTION_CHARS = 4096
EMBED_TOTAL = 6000

_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<\-])")


def escape(text: object, *, multiline: bool = False) -> str:
    """Text for Discord markdown: every markdown character is backslash-escaped and ``@``
    is followed by a zero-width space, so ``@everyone`` reads as text even before
    ``allowed_mentions`` (always ``{"parse": []}``) mutes it. Discord links any
    ``http(s)://`` run by itself; :func:`~watcher.notify.markup.inert_links` breaks it."""
    s = _MARKDOWN.sub(r"\\\1", inert_links(clean(text, multiline=multiline, strip=False)))
    return s.replace("@", "@" + ZWSP)


MARKDOWN = Markup(escape, link="[{text}]({url})", bold="**{text}**", quote_prefix="> ")


def embed_title(block: Block) -> str:
    """``🔴 Copied listing · My Shop``, within 256 characters."""
    text = f"{block.icon} {escape(block.title)}"
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def _embed(b: Block, description: str) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": embed_title(b),
        "description": description,
        "color": int(severity_style(b.severity).colour[1:], 16),
    }
    url = safe_url((b.finding.listing or {}).get("url"))
    if url:
        embed["url"] = url
    photo = b.evidence.copy_photo
    image = safe_url(photo.url) if photo is not None else None
    if image:
        embed["image"] = {"url": image}
    return embed


class DiscordFormat(ChatFormat):
    """Embeds, ≤10 per message and ≤6,000 characters of embed text; reply 204 (or 200)."""

    name = "discord"
    pause: ClassVar[float] = 0.5
    max_messages: ClassVar[int] = 10
    limits = Limits(block=1500, page=EMBED_TOTAL - 100, per_page=MAX_EMBEDS)

    def render(self, block: Block) -> str:
        """The embed description, padded by the title's length: an embed costs both
        against the 6,000 total."""
        return MARKDOWN.body(block) + "\x00" * len(embed_title(block))

    def body(self, page: Page, title: str) -> dict[str, Any]:
        """The header and any "…and N more" note in ``content``; one embed a finding."""
        content = f"**{escape(title)}**{page.suffix}"
        if page.note:
            content += "\n" + escape(page.note)
        if len(content) > CONTENT_CHARS:
            content = content[: CONTENT_CHARS - 1] + "…"
        embeds = [
            _embed(b, r.rstrip("\x00")) for b, r in zip(page.blocks, page.rendered, strict=True)
        ]
        return {"content": content, "embeds": embeds, "allowed_mentions": {"parse": []}}

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """Status mapping, plus ``retry_after`` from the JSON body of a 429."""
        error = classify(response.status_code, response.headers, reason(response))
        if error is not None and response.status_code == 429 and error.retry_after is None:
            data = json_reply(response) or {}
            value = data.get("retry_after")
            if isinstance(value, int | float):
                error.retry_after = float(value)
        return error
