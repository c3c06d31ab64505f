"""Feishu/Lark custom bots: ``msg_type: post`` with ``text`` and ``a`` tags only.

``{"tag": "text"}`` renders literally, so hostile text cannot mention anyone. Signing
(when a secret is set): ``timestamp`` and ``sign`` in the body, where ``sign`` is
base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")). Limits: body ≤20 KB, 5
messages a second. Success is ``{"code": 0}``: the HTTP status alone means nothing.
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


def _tags(line: Line) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = []
    for s in line.spans:
        text = escape.feishu(s.text, multiline=line.quote)
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
    head = [{"tag": "text", "text": f"{b.icon} {escape.feishu(b.title)}", "style": ["bold"]}]
    rows = [head, _tags(b.heading), *(_tags(x) for x in b.lines), [{"tag": "text", "text": ""}]]
    return rows


class FeishuFormat(WebhookFormat):
    """Rich-text posts within 20 KB; reply code 0."""

    name = "feishu"
    pause: ClassVar[float] = 0.25
    max_messages: ClassVar[int] = 10

    def messages(self, batch: AlertBatch) -> list[Message]:
        """Posts of several findings each; the last one carries any "…and N more" note."""
        title = escape.feishu(self.title(batch))

        def render(b: Block) -> str:
            return json.dumps(paragraphs(b), ensure_ascii=False, separators=(",", ":"))

        pages = plan(
            batch,
            render,
            block_limit=BLOCK_LIMIT,
            page_budget=MAX_BODY - _RESERVE,
            measure=utf8_len,
            max_pages=self.max_messages,
            separator=1,
        )
        out = []
        for page in pages:
            content: list[list[dict[str, Any]]] = []
            for r in page.rendered:
                content.extend(json.loads(r))
            if page.note:
                content.append([{"tag": "text", "text": escape.feishu(page.note)}])
            body: dict[str, Any] = {}
            if self.secret:
                ts = int(time.time())
                body.update(timestamp=str(ts), sign=sign(self.secret, ts))
            body["msg_type"] = "post"
            body["content"] = {
                "post": {"zh_cn": {"title": title + page.suffix, "content": content}}
            }
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
        """HTTP status, then ``code`` (or the older ``StatusCode``) must be 0."""
        return check_api_reply(
            response,
            "feishu",
            code_keys=("code", "StatusCode"),
            msg_keys=("msg", "StatusMessage"),
            rate_limited=dict.fromkeys(RATE_LIMITED, 60.0),
            hints={SIGN_FAILED: "; the signature was rejected: check the secret"},
        )
