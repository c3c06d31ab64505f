"""DingTalk custom robots: ``msgtype: markdown`` with ``at.isAtAll = false``.

Signing (when a secret is set) goes in the URL query: ``timestamp`` (ms) and ``sign`` =
base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")). Rate limit: 20 messages a
minute per robot, then blocked for 10 minutes (errcode 130101), so one batch uses at most
``max_messages`` messages, 3 s apart; anything past that is counted in the last message.
The markdown size limit is not documented in anything we checked; ``MAX_BYTES`` is kept
conservative. WeCom robots read the same markdown dialect (:class:`DingTalkMarkup`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any, ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.notify.formats.base import ChatFormat, Limits, Page, check_api_reply
from watcher.notify.markup import ZWSP, Markup, inert_links
from watcher.notify.render import Block
from watcher.readable import clean

MAX_BYTES = 5000
_RESERVE = 900
BLOCKED = 130101
"""Sent too much: the robot is blocked for 10 minutes."""

# Full-width look-alikes for a markdown dialect without a documented escape. Without
# "[" and "]" no link or image can form, so "(", ")" and "!" stay as they are.
_FULLWIDTH = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "#": "＃",
        "@": "＠",
        "\\": "＼",
    }
)


def escape(text: object, *, multiline: bool = False) -> str:
    """Text for DingTalk (and WeCom) markdown, which document no escape: syntax
    characters become full-width look-alikes (``［``, ``＜``, ``＠``...), which read
    naturally in Chinese text, so no link, image, heading, ``<font>`` tag, ``<@userid>``
    or ``@mobile`` mention can be formed (the message also sends ``at.isAtAll = false``
    and no ``atMobiles``); bare URLs, which both clients link by themselves, are broken
    up by :func:`~watcher.notify.markup.inert_links`."""
    s = inert_links(clean(text, multiline=multiline, strip=False)).translate(_FULLWIDTH)
    if multiline:
        # A leading "-", "+" or "1." would start a list inside our own layout.
        s = re.sub(r"(?m)^(\s*)([-+=]|\d+\.)", lambda m: m.group(1) + ZWSP + m.group(2), s)
    return s


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature (not yet URL-encoded; httpx encodes query values)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


MARKDOWN = Markup(
    escape,
    link="[{text}]({url})",
    bold="**{text}**",
    quote_prefix="> ",
    quote_end="\n",
    newline="  \n",
)
"""DingTalk markdown: a quote ends with a blank line; lines end with two spaces (a hard
break). WeCom's markdown is the same but for the line ends."""


class DingTalkFormat(ChatFormat):
    """Markdown messages; reply ``{"errcode": 0}``."""

    name = "dingtalk"
    signs = True
    pause: ClassVar[float] = 3.0
    max_messages: ClassVar[int] = 5
    limits = Limits(block=800, page=MAX_BYTES - _RESERVE, separator=2, utf8=True)

    def render(self, block: Block) -> str:
        """``**🔴 Copied listing · My Shop**`` and the lines."""
        title = MARKDOWN.bold.format(text=f"{block.icon} {escape(block.title)}")
        return MARKDOWN.newline.join([title, MARKDOWN.body(block)])

    def body(self, page: Page, title: str) -> dict[str, Any]:
        """A markdown message; ``at`` names nobody."""
        head = escape(title) + page.suffix
        text = f"#### {head}\n\n" + "\n\n".join(page.rendered)
        if page.note:
            text += "\n\n" + escape(page.note)
        return {
            "msgtype": "markdown",
            "markdown": {"title": head[:100], "text": text},
            "at": {"atMobiles": [], "atUserIds": [], "isAtAll": False},
        }

    def params(self) -> dict[str, str]:
        """``timestamp`` (ms) and ``sign`` when a secret is set."""
        if not self.secret:
            return {}
        ts = round(time.time() * 1000)
        return {"timestamp": str(ts), "sign": sign(self.secret, ts)}

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """HTTP status, then ``errcode`` must be 0; 130101 (blocked) is retryable later."""
        return check_api_reply(response, "dingtalk", rate_limited={BLOCKED: 600.0})
