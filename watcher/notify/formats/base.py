"""What a webhook format is, the chat-format template, and the one place that decides
what a response means.

A format turns an :class:`~watcher.models.AlertBatch` into one or more request bodies
(:class:`Message`) that respect the platform's size limits, and checks each response. The
webhook channel does the sending, pacing and error wrapping.

A chat format (:class:`ChatFormat`) states only its platform's facts: how a finding looks
in its markup (a :class:`~watcher.notify.markup.Markup` with its own escaper), its
:class:`Limits`, the shape of its request body, whether and how it signs, and how its
replies say "accepted". The template does the rest: every finding rendered and shortened to ``block_limit``, pages
within the limits, most important first, and the findings past ``max_messages`` counted
in an "…and N more" note on the last page: nothing is dropped silently.

Adding a format is one module in this package with one :class:`WebhookFormat` subclass
whose ``name`` is the config value of ``format``; it is discovered by that name.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from watcher.errors import DeliveryError
from watcher.models import AlertBatch, Finding
from watcher.notify.render import Block, blocks, fit, more_note, subject_line
from watcher.retry_after import parse_retry_after

REASON_CHARS = 200
"""How much of an error response body a DeliveryError quotes."""


@dataclass(slots=True)
class Message:
    """One request of a batch: ``body`` (UTF-8 JSON), extra ``headers``, extra URL query
    ``params`` (DingTalk's signature), and the findings it shows (``shown``) or
    mentions only in its "…and N more" note (``noted``): once it is accepted, those
    findings are delivered."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    shown: list[Finding] = field(default_factory=list)
    noted: list[Finding] = field(default_factory=list)
    fallback: bytes | None = None
    """The same message without its photos, sent once when the platform refuses the one
    with photos for good (Slack refuses a whole message when it cannot fetch one image)."""

    @property
    def findings(self) -> list[Finding]:
        """Every finding this message delivers."""
        return [*self.shown, *self.noted]

    def json(self) -> Any:
        """The body parsed (for tests and logs)."""
        return json.loads(self.body)


def reason(response: httpx.Response) -> str:
    """``HTTP 403: <first 200 characters of the body>`` (never the request URL)."""
    body = " ".join(response.content[:2000].decode("utf-8", errors="replace").split())
    snippet = body[:REASON_CHARS] + ("…" if len(body) > REASON_CHARS else "")
    return f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")


def classify(
    status: int, headers: httpx.Headers | dict[str, str], why: str = ""
) -> DeliveryError | None:
    """What an HTTP status means for delivery, in one place.

    2xx: delivered (None). 408, 429 and 5xx: retryable, with ``retry_after`` from the
    ``Retry-After`` header. Anything else (3xx, other 4xx): permanent. ``why`` (status and
    body snippet) becomes the message.
    """
    why = why or f"HTTP {status}"
    if 200 <= status < 300:
        return None
    if status in (408, 429) or 500 <= status < 600:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return DeliveryError(why, retryable=True, retry_after=parse_retry_after(value))
    if 300 <= status < 400:
        return DeliveryError(f"{why} (a redirect: configure the final URL)", retryable=False)
    return DeliveryError(why, retryable=False)


def json_reply(response: httpx.Response) -> dict[str, Any] | None:
    """The response body as a JSON object, or None."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def check_api_reply(
    response: httpx.Response,
    name: str,
    *,
    code_keys: tuple[str, ...] = ("errcode",),
    msg_keys: tuple[str, ...] = ("errmsg",),
    rate_limited: dict[int, float] | None = None,
    hints: dict[int, str] | None = None,
) -> DeliveryError | None:
    """The chat platforms that answer HTTP 200 with a JSON status code (Feishu, DingTalk,
    WeCom): the HTTP status first, then the code must be 0. Codes in ``rate_limited`` are
    retryable after the given seconds; any other code is permanent (``hints`` adds advice)."""
    error = classify(response.status_code, response.headers, reason(response))
    if error is not None:
        return error
    data = json_reply(response)
    if data is None:
        return DeliveryError(f"{name} answered non-JSON {reason(response)}", retryable=False)
    code = next((data[k] for k in code_keys if k in data), None)
    if code == 0:
        return None
    msg = str(next((data[k] for k in msg_keys if k in data), ""))[:200]
    if rate_limited and code in rate_limited:
        return DeliveryError(
            f"{name} rate limit (code {code}: {msg})", retry_after=rate_limited[code]
        )
    hint = (hints or {}).get(code, "") if isinstance(code, int) else ""
    return DeliveryError(f"{name} refused the message (code {code}: {msg}){hint}", retryable=False)


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes (how Feishu, WeCom and DingTalk count)."""
    return len(text.encode("utf-8"))


def paginate(
    sizes: Sequence[int],
    *,
    budget: int,
    per_page: int = 10**9,
    max_pages: int = 10**9,
    separator: int = 0,
) -> tuple[list[list[int]], int]:
    """Greedy split of entries (by size) into pages of at most ``per_page`` entries and
    ``budget`` total size (``separator`` counted between entries), at most ``max_pages``
    pages. Returns the pages (entry indexes) and how many entries did not fit."""
    pages: list[list[int]] = []
    page: list[int] = []
    used = 0
    for i, size in enumerate(sizes):
        extra = size + (separator if page else 0)
        if page and (len(page) >= per_page or used + extra > budget):
            pages.append(page)
            if len(pages) >= max_pages:
                return pages, len(sizes) - i
            page, used, extra = [], 0, size
        page.append(i)
        used += extra
    if page:
        pages.append(page)
    return pages, 0


@dataclass(slots=True)
class Page:
    """A planned message: its blocks (rendered), part number and the note (if any)."""

    rendered: list[str]
    blocks: list[Block]
    number: int
    total: int
    note: str = ""
    left_out: list[Finding] = field(default_factory=list)

    @property
    def suffix(self) -> str:
        """``" (2/3)"`` when the batch needs several messages."""
        return f" ({self.number}/{self.total})" if self.total > 1 else ""


def plan(
    batch: AlertBatch,
    render: Callable[[Block], str],
    *,
    block_limit: int,
    page_budget: int,
    measure: Callable[[str], int] = len,
    per_page: int = 10**9,
    max_pages: int = 10**9,
    separator: int = 0,
) -> list[Page]:
    """Render every finding with ``render`` (each shortened to ``block_limit``), then split
    into pages within ``page_budget``/``per_page``; findings past ``max_pages`` are
    counted in the last page's ``note``. Nothing is dropped silently."""
    bs = blocks(batch)
    a = batch.audience
    shortened = a._("(shortened)")
    pages: list[Page] = []
    page: list[int] = []
    rendered: dict[int, str] = {}
    used, left = 0, 0
    for i, b in enumerate(bs):
        # Rendered lazily: a rate-limited format shows only the first few of a big batch.
        text = fit(b, render, min(block_limit, page_budget), measure, shortened)
        size = measure(text)
        extra = size + (separator if page else 0)
        if page and (len(page) >= per_page or used + extra > page_budget):
            pages.append(Page([rendered[j] for j in page], [bs[j] for j in page], 0, 0))
            if len(pages) >= max_pages:
                left = len(bs) - i
                break
            page, used, extra = [], 0, size
        page.append(i)
        rendered[i] = text
        used += extra
    else:
        if page:
            pages.append(Page([rendered[j] for j in page], [bs[j] for j in page], 0, 0))
    for n, p in enumerate(pages, start=1):
        p.number, p.total = n, len(pages)
    if left:
        left_out = [f for b in bs[len(bs) - left :] for f in b.findings]
        pages[-1].left_out = left_out
        pages[-1].note = more_note(left_out, a)
    return pages


class WebhookFormat(ABC):
    """One webhook payload dialect. Subclasses set ``name`` (the config value of
    ``format``), ``signs`` (whether a ``secret`` signs its requests; formats whose URL is
    the secret refuse one), ``pause`` (seconds between the messages of one batch, from the
    platform's rate limit) and ``max_messages`` (most messages one batch may use)."""

    name: ClassVar[str]
    signs: ClassVar[bool] = False
    pause: ClassVar[float] = 0.0
    max_messages: ClassVar[int] = 10

    def __init__(self, secret: str = "") -> None:
        self.secret = secret

    @abstractmethod
    def messages(self, batch: AlertBatch) -> list[Message]:
        """The request bodies for ``batch``, in sending order."""

    def check(self, response: httpx.Response) -> DeliveryError | None:
        """None when the platform accepted the message; else the error. The default
        trusts the HTTP status."""
        return classify(response.status_code, response.headers, reason(response))

    def title(self, batch: AlertBatch) -> str:
        """The batch's header line."""
        return subject_line(batch)


@dataclass(frozen=True, slots=True)
class Limits:
    """A chat platform's size limits, as the template applies them."""

    block: int
    """One finding's share of a message at most (a long review is shortened)."""
    page: int
    """Size of the rendered findings of one message at most."""
    per_page: int = 10**9
    """Findings per message at most."""
    separator: int = 0
    """Size of what joins two rendered findings."""
    utf8: bool = False
    """Sizes are UTF-8 bytes (else characters)."""


class ChatFormat(WebhookFormat):
    """The chat-format template (see the module docstring). Subclasses set ``limits``
    and write :meth:`render` and :meth:`body`."""

    limits: ClassVar[Limits]

    @abstractmethod
    def render(self, block: Block) -> str:
        """One finding as it is measured and placed in a page."""

    @abstractmethod
    def body(self, page: Page, title: str) -> dict[str, Any]:
        """The JSON request body of one page (``title``: the batch's header line)."""

    def params(self) -> dict[str, str]:
        """Extra URL query parameters of each request (a signature)."""
        return {}

    def without_photos(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """``body`` without the photos the platform loads itself, when it has any and the
        platform refuses a message whose photo it cannot fetch; None otherwise."""
        return None

    def messages(self, batch: AlertBatch) -> list[Message]:
        """Every page of the batch as one request."""
        limits = self.limits
        pages = plan(
            batch,
            self.render,
            block_limit=limits.block,
            page_budget=limits.page,
            measure=utf8_len if limits.utf8 else len,
            per_page=limits.per_page,
            max_pages=self.max_messages,
            separator=limits.separator,
        )
        title = self.title(batch)
        out = []
        for page in pages:
            body = self.body(page, title)
            plain = self.without_photos(body)
            out.append(
                Message(
                    dumps(body),
                    {"Content-Type": "application/json"},
                    self.params(),
                    shown=[f for b in page.blocks for f in b.findings],
                    noted=page.left_out,
                    fallback=dumps(plain) if plain is not None else None,
                )
            )
        return out


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON (Chinese kept as is)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()
