"""Feishu/Lark custom bots: ``msg_type: post`` with ``text`` and ``a`` tags only.

``{"tag": "text"}`` renders literally, so hostile text cannot mention anyone. Signing
(when a secret is set): ``timestamp`` and ``sign`` in the body, where ``sign`` is
base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")). Limits: body ≤20 KB, 5
messages a second. Success is ``{"code": 0}``: the HTTP status alone means nothing.

A post is JSON tags, not a text markup, so this format renders spans to tags itself
(:func:`paragraphs`) rather than through a :class:`~watcher.notify.markup.Markup`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.notify.formats.base import ChatFormat, Limits, Page, check_api_reply
from watcher.notify.markup import ZWSP, inert_links
from watcher.notify.render import Block
from watcher.readable import Line, clean

MAX_BODY = 20_000
"""Bytes; the documented limit is 20 KB. Headroom is kept for title, timestamp, sign."""
_RESERVE = 1_500
SIGN_FAILED = 19021
RATE_LIMITED = frozenset({11232, 9499})

BLOCK_LIMIT = 3000
"""One finding's share at most: a long review is shortened so a message holds several."""


def sign(secret: str, timestamp: int) -> str:
    """Feishu's signature of ``timestamp`` (seconds) with ``secret``."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def escape(text: object, *, multiline: bool = False) -> str:
    """Text for a ``{"tag": "text"}`` element. The element renders literally, but Feishu
    links bare URLs in it: :func:`~watcher.notify.markup.inert_links` breaks them up.
    ``<at`` and ``@`` get a zero-width space so the text cannot become a mention if it is
    ever moved into a ``text`` message."""
    s = inert_links(clean(text, multiline=multiline, strip=False))
    return s.replace("<", "<" + ZWSP).replace("@", "@" + ZWSP)


def _tags(line: Line) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = []
    for s in line.spans:
        text = escape(s.text, multiline=line.quote)
        if line.quote:
            text = "\n".join("｜ " + x for x in text.split("\n"))
        if s.url:
            tags.append({"tag": "a", "text": text, "href": s.url})
        else:
            tag: dict[str, Any] = {"tag": "text", "text": text}
            if s.bold:
                tag["style"] = ["bold"]
            tags.append(tag)
    return tags


def paragraphs(b: Block) -> list[list[dict[str, Any]]]:
    """A finding as post paragraphs (each a list of tags)."""
    head = [{"tag": "text", "text": f"{b.icon} {escape(b.title)}", "style": ["bold"]}]
    rows = [head, _tags(b.heading), *(_tags(x) for x in b.lines), [{"tag": "text", "text": ""}]]
    return rows


class FeishuFormat(ChatFormat):
    """Rich-text posts within 20 KB; reply code 0."""

    name = "feishu"
    signs = True
    pause: ClassVar[float] = 0.25
    max_messages: ClassVar[int] = 10
    limits = Limits(block=BLOCK_LIMIT, page=MAX_BODY - _RESERVE, separator=1, utf8=True)

    def render(self, block: Block) -> str:
        """The finding's paragraphs as JSON (measured as they will be sent)."""
        return json.dumps(paragraphs(block), ensure_ascii=False, separators=(",", ":"))

    def body(self, page: Page, title: str) -> dict[str, Any]:
        """A post of several findings; the last one carries any "…and N more" note;
        ``timestamp`` and ``sign`` first when a secret is set."""
        content: list[list[dict[str, Any]]] = []
        for r in page.rendered:
            content.extend(json.loads(r))
        if page.note:
            content.append([{"tag": "text", "text": escape(page.note)}])
        body: dict[str, Any] = {}
        if self.secret:
            ts = int(time.time())
            body.update(timestamp=str(ts), sign=sign(self.secret, ts))
        body["msg_type"] = "post"
        post = {"title": escape(title) + page.suffix, "content": content}
        body["content"] = {"post": {"zh_cn": post}}
        return body

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """HTTP status, then ``code`` (or the older ``StatusCode``) must be 0."""
        return check_api_reply(
            response,
            "feishu",
            code_keys=("code", "StatusCode"),
            msg_keys=("msg", "StatusMessage"),
            rate_limited=dict.fromkeys(RATE_LIMITED, 60.0),
            hints={SIGN_FAILED: "; the signature was rejected: check the secret"},
        )
