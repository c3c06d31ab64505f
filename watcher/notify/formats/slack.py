"""Slack incoming webhooks: ``{"text": fallback, "blocks": [section, ...]}`` in mrkdwn.

Limits (platforms.md §4): ≤50 blocks per message, section text ≤3,000 characters, about
one message a second. Not signed: the URL is the secret. Reply ``ok``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.notify.formats.base import ChatFormat, Limits, Page, classify, reason
from watcher.notify.markup import ZWSP, Markup, inert_links
from watcher.notify.render import Block
from watcher.readable import clean, safe_url

MAX_BLOCKS = 50
SECTION_CHARS = 3000
IMAGE_URL_CHARS = 3000
ALT_CHARS = 2000
MESSAGE_CHARS = 30_000
"""Total section text per message: well under the 40,000 characters Slack keeps of
``text``, so a message is never cut."""


def escape(text: object, *, multiline: bool = False) -> str:
    """Text for Slack mrkdwn: ``& < >`` become entities, which disarms ``<!channel>``,
    ``<@U…>`` and ``<url|text>`` links; ``@`` gets a zero-width space in case the webhook
    has ``link_names`` on; backticks become the full-width ``｀``, so fetched text cannot
    open a code span or a ```` ``` ```` block that swallows the rest of the message; bare
    URLs and domains are broken up (:func:`~watcher.notify.markup.inert_links`; the text
    objects are also ``verbatim``, which turns off Slack's own link detection). ``* _ ~``
    are left: Slack has no escape for them and they only change emphasis."""
    s = inert_links(clean(text, multiline=multiline, strip=False))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("@", "@" + ZWSP).replace("`", "｀")


MRKDWN = Markup(
    escape,
    link="<{url}|{text}>",
    bold="*{text}*",
    quote_prefix="> ",
    escape_url=lambda url: url.replace("&", "&amp;"),
)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(b: Block, rendered: str) -> dict[str, Any]:
    """One finding's section; a copy's photo (as its site serves it) beside the text."""
    section: dict[str, Any] = {"type": "section", "text": _mrkdwn(rendered)}
    photo = b.evidence.copy_photo
    url = safe_url(photo.url) if photo is not None else None
    if url and len(url) <= IMAGE_URL_CHARS:
        alt = clean(b.label)[:ALT_CHARS]
        section["accessory"] = {"type": "image", "image_url": url, "alt_text": alt}
    return section


class SlackFormat(ChatFormat):
    """Block Kit sections, one per finding; reply ``200 ok``."""

    name = "slack"
    pause: ClassVar[float] = 1.0
    max_messages: ClassVar[int] = 10
    limits = Limits(block=SECTION_CHARS, page=MESSAGE_CHARS, per_page=MAX_BLOCKS - 2)

    def render(self, block: Block) -> str:
        """``🔴 *Copied listing · My Shop*`` and the lines, as one section's text."""
        return f"{block.icon} {MRKDWN.strong(block.title)}\n{MRKDWN.body(block)}"

    def body(self, page: Page, title: str) -> dict[str, Any]:
        """A header section, one section per finding, and any note as context."""
        head = escape(title + page.suffix)
        sections: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(f"*{head}*")}]
        sections += [_section(b, r) for b, r in zip(page.blocks, page.rendered, strict=True)]
        if page.note:
            sections.append({"type": "context", "elements": [_mrkdwn(escape(page.note))]})
        return {"text": head, "blocks": sections}

    def without_photos(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The sections without their photo: Slack refuses the whole message
        (``invalid_blocks``) when it cannot download one image."""
        blocks = body.get("blocks", [])
        if not any("accessory" in b for b in blocks):
            return None
        plain = [{k: v for k, v in b.items() if k != "accessory"} for b in blocks]
        return {**body, "blocks": plain}

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """HTTP status first; a 2xx must say ``ok``."""
        error = classify(response.status_code, response.headers, reason(response))
        if error is not None:
            return error
        text = response.text.strip()
        if text == "ok" or text.startswith('{"ok":true'):
            return None
        return DeliveryError(f"slack answered {reason(response)}", retryable=False)
