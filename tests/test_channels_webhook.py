"""The webhook channel in every format against a real HTTP server on loopback."""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.findings import stored
from tests.receiver import Receiver
from watcher.config import build
from watcher.errors import ConfigError, DeliveryError
from watcher.models import AlertBatch, Evidence, Finding, Photo, Severity
from watcher.notify.channels import channel_kinds
from watcher.notify.channels.webhook import WebhookChannel, WebhookOptions
from watcher.notify.formats import formats
from watcher.notify.formats.base import classify
from watcher.notify.formats.json_format import JsonFormat

TZ = timezone(timedelta(hours=8))
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=TZ)
HOSTILE = "</b><script>alert(1)</script> <!channel> @all [x](http://evil)"
SECRET = "s3cret-signing-key"
TOKEN = "tok3nSECRETvalue1234"
OK_REPLY: dict[str, tuple[int, Any]] = {
    "json": (204, b""),
    "slack": (200, b"ok"),
    "discord": (204, b""),
    "feishu": (200, {"code": 0, "msg": "success"}),
    "dingtalk": (200, {"errcode": 0, "errmsg": "ok"}),
    "wecom": (200, {"errcode": 0, "errmsg": "ok"}),
}
CHAT = ["slack", "discord", "feishu", "dingtalk", "wecom"]
ALL = ["json", *CHAT]
SIGNED = {"json", "feishu", "dingtalk"}
TLS = ssl.create_default_context()  # built once: loading CA certificates takes 0.2 s


def own(title: str = "亚麻衬衫 男款 春季新款", n: int = 1) -> dict[str, Any]:
    return {
        "url": f"https://my-shop.example/products/linen-{n}",
        "title": title,
        "price": 89.0,
        "currency": "CNY",
    }


def sample(title: str = HOSTILE) -> list[Finding]:
    """One finding of each kind; competitor-controlled strings are ``title``."""
    rival = {"url": "https://rival-a.example/p/1", "title": title, "price": 79.0, "currency": "CNY"}
    return [
        stored(
            "price_change",
            Severity.LOW,
            "Rival A",
            rival,
            "s",
            {"old": 99.0, "new": 79.0},
            "p1",
            NOW,
        ),
        stored(
            "copied_listing",
            Severity.HIGH,
            "My Shop",
            own(),
            "s",
            {
                "copy": {
                    "url": "https://market.example/item/9?a=1&b=(2)|x>y",
                    "title": title,
                    "price": 69.0,
                    "currency": "CNY",
                    "shop": "Market",
                },
                "title_similarity": 0.93,
                "image_distance": 3,
            },
            "c1",
            NOW,
        ),
        stored(
            "negative_review",
            Severity.HIGH,
            "My Shop",
            own(),
            "s",
            {
                "rating": 1,
                "text": "质量太差了，洗一次就缩水。\n" + title,
                "author": title,
                "published_at": "2027-02-28T10:00:00+08:00",
                "reason": "rating",
            },
            "r1",
            NOW,
        ),
        stored(
            "seasonal_launch",
            Severity.MEDIUM,
            "Rival B",
            None,
            "s",
            {
                "season": "spring",
                "year": 2027,
                "items": [
                    {"url": "javascript:alert(1)", "title": title, "price": 59.0, "currency": "CNY"}
                ],
                "competitors_launched": 3,
                "competitors_tracked": 4,
                "launched": [{"name": "Rival B", "first": "2027-02-25"}],
            },
            "l1",
            NOW,
        ),
    ]


def many(n: int = 1000) -> list[Finding]:
    """``n`` findings of mixed kinds, each with a unique marker ``ITEM<i>X`` in its title;
    every 50th is a review with a 6,000-character text (forces per-finding truncation)."""
    out = []
    for i in range(n):
        marker = f"ITEM{i:04d}X 连衣裙"
        if i % 50 == 0:
            detail = {
                "rating": 2,
                "text": "很差 " * 3000,
                "author": "a",
                "published_at": None,
                "reason": "rating",
            }
            out.append(
                stored(
                    "negative_review",
                    Severity.HIGH,
                    "My Shop",
                    own(marker, i),
                    "s",
                    detail,
                    f"k{i}",
                    NOW,
                )
            )
        elif i % 3 == 0:
            listing = {
                "url": f"https://r.example/p/{i}",
                "title": marker,
                "price": 10.0,
                "currency": "CNY",
            }
            out.append(
                stored(
                    "stock_change",
                    Severity.LOW,
                    "Rival A",
                    listing,
                    "s",
                    {"old": True, "new": False},
                    f"k{i}",
                    NOW,
                )
            )
        else:
            listing = {
                "url": f"https://r.example/p/{i}",
                "title": marker,
                "price": 10.0,
                "currency": "CNY",
            }
            out.append(
                stored(
                    "price_change",
                    Severity.LOW,
                    "Rival A",
                    listing,
                    "s",
                    {"old": 12.0, "new": 10.0},
                    f"k{i}",
                    NOW,
                )
            )
    return out


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver(secret=SECRET) as r:
        yield r


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=TLS) as c:
        yield c


class Pauses(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(
    rx: Receiver,
    client: httpx.AsyncClient,
    fmt: str,
    *,
    secret: str = "",
    timeout: str = "2s",
    **extra: Any,
) -> tuple[WebhookChannel, Pauses]:
    status, body = OK_REPLY[fmt]
    rx.reply(status, body)
    path = f"/hook/{TOKEN}?access_token={TOKEN}" if fmt == "dingtalk" else f"/hook/{TOKEN}"
    options = build(
        WebhookOptions,
        {"url": rx.url(path), "format": fmt, "secret": secret, "timeout": timeout, **extra},
        "alerts[0]",
    )
    channel = WebhookChannel(options, client)
    pauses = Pauses()
    channel.sleep = pauses
    return channel, pauses


def payload_text(fmt: str, data: dict[str, Any]) -> str:
    """Every human-visible string of a chat payload, joined."""
    if fmt == "slack":
        parts = [data["text"]]
        for b in data["blocks"]:
            if b["type"] == "section":
                parts.append(b["text"]["text"])
            else:
                parts += [e["text"] for e in b["elements"]]
        return "\n".join(parts)
    if fmt == "discord":
        parts = [data["content"]]
        for e in data["embeds"]:
            parts += [e["title"], e["description"]]
        return "\n".join(parts)
    if fmt == "feishu":
        post = data["content"]["post"]["zh_cn"]
        parts = [post["title"]]
        for para in post["content"]:
            parts += [t.get("text", "") for t in para]
        return "\n".join(parts)
    if fmt == "dingtalk":
        return data["markdown"]["title"] + "\n" + data["markdown"]["text"]
    if fmt == "wecom":
        return data["markdown"]["content"]
    raise AssertionError(fmt)


def visible(fmt: str, text: str) -> str:
    """Roughly what a person sees: Discord's backslash escapes and zero-width spaces gone."""
    if fmt == "discord":
        text = re.sub(r"\\(.)", r"\1", text)
    return text.replace("\u200b", "")


# -- registry and config ---------------------------------------------------------------


def test_formats_are_discovered_by_name() -> None:
    assert set(formats()) == {"json", *CHAT}
    assert {name for name, f in formats().items() if f.signs} == SIGNED
    assert channel_kinds()["webhook"] is WebhookChannel
    for name in formats():
        assert build(WebhookOptions, {"url": "https://x.example", "format": name}).format == name


def test_options_validation() -> None:
    with pytest.raises(ConfigError) as e:
        build(WebhookOptions, {"url": "ftp://x"}, "alerts[0]")
    assert e.value.path == "alerts[0].url"
    with pytest.raises(ConfigError) as e:
        build(WebhookOptions, {"url": "https://x.example", "format": "teams"}, "alerts[0]")
    assert e.value.path == "alerts[0].format"
    with pytest.raises(ConfigError) as e:
        build(
            WebhookOptions,
            {"url": "https://x.example", "format": "slack", "secret": "s"},
            "alerts[0]",
        )
    assert e.value.path == "alerts[0].secret"
    with pytest.raises(ConfigError) as e:
        build(
            WebhookOptions,
            {"url": "https://x.example", "headers": {"Content-Type": "x"}},
            "alerts[0]",
        )
    assert e.value.path == "alerts[0].headers.Content-Type"
    with pytest.raises(ConfigError):
        build(WebhookOptions, {"url": "https://x.example", "timeout": "0s"}, "alerts[0]")
    opts = build(
        WebhookOptions, {"url": "https://x.example", "headers": {"Authorization": "Bearer t"}}
    )
    assert opts.format == "json" and opts.timeout == timedelta(seconds=10)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("X Team", "ops", "not a valid header name"),
        ("X:Team", "ops", "not a valid header name"),
        ("X-Tëam", "ops", "not a valid header name"),
        ("X-Team", "运营", "printable ASCII"),
        ("X-Team", "a\x00b", "printable ASCII"),
    ],
)
def test_a_header_http_cannot_send_is_a_config_error(name: str, value: str, problem: str) -> None:
    """A header that could never be sent fails at start with its key, not at every
    delivery (retried for ever, or a crash in the log)."""
    with pytest.raises(ConfigError) as e:
        build(WebhookOptions, {"url": "https://x.example", "headers": {name: value}}, "alerts[0]")
    assert e.value.path == f"alerts[0].headers.{name}"
    assert problem in str(e.value)


# -- json (contract) -------------------------------------------------------------------


async def test_json_body_is_the_contract_and_signed(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    channel, _ = make(rx, client, "json", secret=SECRET, headers={"Authorization": "Bearer t"})
    batch = AlertBatch(sample())
    await channel.send(batch)
    assert len(rx.requests) == 1
    req = rx.requests[0]
    assert req.method == "POST" and req.path == f"/hook/{TOKEN}"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["authorization"] == "Bearer t"
    assert req.json() == {"version": 1, "alerts": [f.to_json() for f in batch.sorted()]}
    assert HOSTILE in req.text and "亚麻衬衫" in req.text  # data, UTF-8, not \u escapes
    assert rx.verify_json_signature(req)
    assert not rx.verify_json_signature(req, "wrong")


async def test_json_signature_v2_covers_a_timestamp(
    rx: Receiver, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, _ = make(rx, client, "json", secret=SECRET)
    await channel.send(AlertBatch(sample()))
    req = rx.requests[0]
    assert abs(int(req.headers["x-watcher-timestamp"]) - time.time()) < 5
    assert rx.verify_json_signature_v2(req) and rx.verify_json_signature(req)
    assert not rx.verify_json_signature_v2(req, "wrong")
    tampered = replace(req, body=req.body.replace(b'"version":1', b'"version":2'))
    assert not rx.verify_json_signature_v2(tampered)
    # The same request captured and sent again ten minutes later is refused...
    monkeypatch.setattr(time, "time", lambda: int(req.headers["x-watcher-timestamp"]) + 600)
    assert not rx.verify_json_signature_v2(req)
    # ...and a fresh timestamp pasted onto it does not match the signature.
    later = {**req.headers, "x-watcher-timestamp": str(int(time.time()))}
    assert not rx.verify_json_signature_v2(replace(req, headers=later))


def test_signature_headers_cannot_be_overridden() -> None:
    for name in ("X-Watcher-Timestamp", "X-Watcher-Signature-V2"):
        with pytest.raises(ConfigError) as e:
            build(WebhookOptions, {"url": "https://x.example", "headers": {name: "1"}}, "a")
        assert e.value.path == f"a.headers.{name}"


async def test_json_unsigned_and_empty_batch(rx: Receiver, client: httpx.AsyncClient) -> None:
    channel, _ = make(rx, client, "json")
    await channel.send(AlertBatch([]))
    assert rx.requests == []
    await channel.send(AlertBatch(sample()))
    assert "x-watcher-signature" not in rx.requests[0].headers
    assert "x-watcher-signature-v2" not in rx.requests[0].headers
    assert "x-watcher-timestamp" not in rx.requests[0].headers


async def test_json_splits_only_when_enormous(
    rx: Receiver, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, _ = make(rx, client, "json", secret=SECRET)
    findings = many(1000)
    await channel.send(AlertBatch(findings))
    assert len(rx.requests) == 1 and len(rx.requests[0].json()["alerts"]) == 1000
    rx.clear()
    monkeypatch.setattr(JsonFormat, "max_bytes", 100_000)
    await channel.send(AlertBatch(findings))
    assert len(rx.requests) > 2
    keys = [a["dedup_key"] for r in rx.requests for a in r.json()["alerts"]]
    assert sorted(keys) == sorted(f.dedup_key for f in findings)
    for n, r in enumerate(rx.requests, start=1):
        assert len(r.body) <= 100_000
        assert r.headers["x-watcher-part"] == f"{n}/{len(rx.requests)}"
        assert rx.verify_json_signature(r) and rx.verify_json_signature_v2(r)


# -- chat formats: shape and signing ---------------------------------------------------


@pytest.mark.parametrize("fmt", CHAT)
async def test_chat_payload_shape(rx: Receiver, client: httpx.AsyncClient, fmt: str) -> None:
    channel, pauses = make(rx, client, fmt, secret=SECRET if fmt in SIGNED else "")
    await channel.send(AlertBatch(sample("连衣裙 夏季 新款")))
    assert len(rx.requests) == 1 and pauses == []
    req = rx.requests[0]
    data = req.json()
    text = visible(fmt, payload_text(fmt, data))
    assert "My Shop" in text and "连衣裙 夏季 新款" in text and "亚麻衬衫" in text
    assert "https://my-shop.example/products/linen-1" in req.text
    assert "★☆☆☆☆" in text and "¥20.00 cheaper" in text and "3 of 4 competitors" in text
    # Most important first: the copy is shown before the price change.
    assert text.index("Copied listing") < text.index("Price change")
    if fmt == "slack":
        assert data["blocks"][0]["type"] == "section" and len(data["blocks"]) == 5
    elif fmt == "discord":
        assert data["allowed_mentions"] == {"parse": []}
        assert len(data["embeds"]) == 4 and data["embeds"][0]["color"] == 0xD93025
        assert data["embeds"][0]["url"] == "https://my-shop.example/products/linen-1"
    elif fmt == "feishu":
        assert data["msg_type"] == "post"
        assert rx.verify_feishu(req) and not rx.verify_feishu(req, "wrong")
        tags = {t["tag"] for para in data["content"]["post"]["zh_cn"]["content"] for t in para}
        assert tags == {"text", "a"}
    elif fmt == "dingtalk":
        assert data["msgtype"] == "markdown"
        assert data["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}
        assert req.query["access_token"] == [TOKEN]
        assert rx.verify_dingtalk(req) and not rx.verify_dingtalk(req, "wrong")
    elif fmt == "wecom":
        assert data["msgtype"] == "markdown"
        assert len(data["markdown"]["content"].encode()) <= 4096


async def test_feishu_and_dingtalk_unsigned_without_secret(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    for fmt in ("feishu", "dingtalk"):
        rx.clear()
        channel, _ = make(rx, client, fmt)
        await channel.send(AlertBatch(sample()))
        req = rx.requests[0]
        assert "sign" not in req.json() and "sign" not in req.query


# -- splitting -------------------------------------------------------------------------


def check_limits(fmt: str, data: dict[str, Any], body: bytes) -> None:
    if fmt == "slack":
        assert len(data["blocks"]) <= 50
        for b in data["blocks"]:
            if b["type"] == "section":
                assert len(b["text"]["text"]) <= 3000
    elif fmt == "discord":
        assert len(data["content"]) <= 2000 and len(data["embeds"]) <= 10
        total = 0
        for e in data["embeds"]:
            assert len(e["title"]) <= 256 and len(e["description"]) <= 4096
            total += len(e["title"]) + len(e["description"])
        assert total <= 6000
        assert data["allowed_mentions"] == {"parse": []}
    elif fmt == "feishu":
        assert len(body) <= 20_000
    elif fmt == "dingtalk":
        assert len(data["markdown"]["text"].encode()) <= 5000
    elif fmt == "wecom":
        assert len(data["markdown"]["content"].encode()) <= 4096


_MORE = re.compile(r"and\s*(\d+)\s*more\s*alerts?\s*not\s*shown")


@pytest.mark.parametrize("fmt", CHAT)
async def test_thousand_findings_split_within_limits_none_lost(
    rx: Receiver, client: httpx.AsyncClient, fmt: str
) -> None:
    channel, pauses = make(rx, client, fmt, secret=SECRET if fmt in SIGNED else "")
    batch = AlertBatch(many(1000))
    await channel.send(batch)
    fmt_cls = formats()[fmt]
    assert 1 < len(rx.requests) <= fmt_cls.max_messages
    assert pauses == [fmt_cls.pause] * (len(rx.requests) - 1)
    seen: list[str] = []
    noted = 0
    for req in rx.requests:
        data = req.json()
        check_limits(fmt, data, req.body)
        text = payload_text(fmt, data)
        seen += re.findall(r"ITEM(\d{4})X", text)
        noted += sum(int(n) for n in _MORE.findall(text))
    assert len(seen) == len(set(seen)), "a finding was shown twice"
    assert len(seen) + noted == 1000
    # Shown in importance order; what is left out is the least important.
    order = [re.search(r"ITEM(\d{4})X", f.listing["title"]).group(1) for f in batch.sorted()]  # type: ignore[index,union-attr]
    assert seen == order[: len(seen)]
    assert len(seen) >= 10
    if noted:
        last = payload_text(fmt, rx.requests[-1].json())
        assert "price change" in last and "stock change" in last


async def test_pauses_are_real_sleeps_by_default(
    rx: Receiver, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watcher.notify.formats.slack import SlackFormat

    monkeypatch.setattr(SlackFormat, "pause", 0.2)
    channel, _ = make(rx, client, "slack")
    channel.sleep = __import__("asyncio").sleep
    await channel.send(AlertBatch(many(120)))
    assert len(rx.requests) >= 3
    gaps = [b.at - a.at for a, b in zip(rx.requests, rx.requests[1:], strict=False)]
    assert min(gaps) >= 0.19


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize(
    ("status", "headers", "retryable", "after"),
    [
        (500, {}, True, None),
        (503, {"Retry-After": "120"}, True, 120.0),
        (429, {"Retry-After": "7"}, True, 7.0),
        (408, {}, True, None),
        (400, {}, False, None),
        (403, {}, False, None),
        (404, {}, False, None),
        (301, {"Location": "https://elsewhere.example/"}, False, None),
    ],
)
async def test_status_mapping(
    rx: Receiver,
    client: httpx.AsyncClient,
    fmt: str,
    status: int,
    headers: dict[str, str],
    retryable: bool,
    after: float | None,
) -> None:
    channel, _ = make(rx, client, fmt, secret=SECRET if fmt in SIGNED else "")
    rx.queue(status, f"bad thing {TOKEN} " + "x" * 500, headers)
    with pytest.raises(DeliveryError) as e:
        await channel.send(AlertBatch(sample()))
    assert e.value.retryable is retryable
    assert e.value.retry_after == after
    message = str(e.value)
    assert f"HTTP {status}" in message and "bad thing" in message
    assert TOKEN not in message and SECRET not in message and "127.0.0.1" not in message
    assert len(message) < 400
    await channel.send(AlertBatch(sample()))  # the default reply is OK again


def test_classify_retry_after_http_date() -> None:
    when = (datetime.now(UTC) + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    error = classify(429, {"Retry-After": when})
    assert error is not None and error.retryable and 80 <= (error.retry_after or 0) <= 91
    assert classify(204, {}) is None
    assert classify(418, {}).retryable is False  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", ["json", "feishu"])
async def test_hang_is_a_retryable_timeout(
    rx: Receiver, client: httpx.AsyncClient, fmt: str
) -> None:
    channel, _ = make(rx, client, fmt, timeout="300ms")
    rx.hang(1.5)
    with pytest.raises(DeliveryError) as e:
        await channel.send(AlertBatch(sample()))
    assert e.value.retryable and "timed out" in str(e.value)
    rx.hang(0)
    await channel.send(AlertBatch(sample()))


async def test_refused_is_retryable_then_recovers(rx: Receiver, client: httpx.AsyncClient) -> None:
    channel, _ = make(rx, client, "slack")
    rx.refuse()
    with pytest.raises(DeliveryError) as e:
        await channel.send(AlertBatch(sample()))
    assert e.value.retryable and "ConnectError" in str(e.value)
    assert TOKEN not in str(e.value)
    rx.recover()
    await channel.send(AlertBatch(sample()))
    assert len(rx.requests) == 1


@pytest.mark.parametrize(
    ("fmt", "status", "body", "retryable", "after"),
    [
        ("slack", 200, "not ok", False, None),
        ("slack", 400, "invalid_payload", False, None),
        ("slack", 200, '{"ok":true}', None, None),
        ("discord", 200, '{"id":"1"}', None, None),
        (
            "discord",
            429,
            '{"message":"You are being rate limited.","retry_after":1.5,"global":false}',
            True,
            1.5,
        ),
        (
            "feishu",
            200,
            '{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}',
            False,
            None,
        ),
        ("feishu", 200, '{"code":19024,"msg":"Key Words Not Found"}', False, None),
        ("feishu", 200, '{"code":11232,"msg":"frequency limited"}', True, 60.0),
        ("feishu", 200, '{"StatusCode":0,"StatusMessage":"success"}', None, None),
        ("feishu", 200, "<html>proxy</html>", False, None),
        ("dingtalk", 200, '{"errcode":130101,"errmsg":"send too fast"}', True, 600.0),
        ("dingtalk", 200, '{"errcode":310000,"errmsg":"sign not match"}', False, None),
        ("wecom", 200, '{"errcode":45009,"errmsg":"api freq out of limit"}', True, 60.0),
        ("wecom", 200, '{"errcode":93000,"errmsg":"invalid webhook url"}', False, None),
    ],
)
async def test_platform_replies(
    rx: Receiver,
    client: httpx.AsyncClient,
    fmt: str,
    status: int,
    body: str,
    retryable: bool | None,
    after: float | None,
) -> None:
    channel, _ = make(rx, client, fmt)
    rx.queue(status, body)
    if retryable is None:
        await channel.send(AlertBatch(sample()))
        return
    with pytest.raises(DeliveryError) as e:
        await channel.send(AlertBatch(sample()))
    assert e.value.retryable is retryable and e.value.retry_after == after


async def test_later_message_failure(rx: Receiver, client: httpx.AsyncClient) -> None:
    channel, _ = make(rx, client, "slack")
    rx.queue(200, "ok")
    rx.queue(500, "oops")
    with pytest.raises(DeliveryError) as e:
        await channel.send(AlertBatch(many(120)))
    assert e.value.retryable
    assert "message 2 of" in str(e.value) and "1 of" in str(e.value)
    assert len(rx.requests) == 2


# -- hostile text ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", CHAT)
async def test_hostile_text_arrives_inert(
    rx: Receiver, client: httpx.AsyncClient, fmt: str
) -> None:
    channel, _ = make(rx, client, fmt)
    await channel.send(AlertBatch(sample()))
    req = rx.requests[0]
    data = req.json()
    text = payload_text(fmt, data)
    raw = json.dumps(data, ensure_ascii=False)
    assert "alert" in text and "script" in text  # the text is there, shown...
    assert "<script>" not in raw  # ...but never as markup
    if fmt not in ("slack", "feishu"):  # no [text](url) syntax there: inert as is
        assert "[x](http://evil)" not in raw
    assert "javascript:" not in raw
    assert "@all" not in text
    assert "x>y" not in raw  # the hostile URL's ">" and "|" are percent-encoded
    assert "%7Cx%3Ey" in raw
    if fmt == "slack":
        assert "<!channel>" not in raw and "&lt;!channel&gt;" in text
        assert "<http://evil" not in raw
        links = re.findall(r"<([^>|]+)\|", text)
        assert links and all(u.startswith("https://") and "evil" not in u for u in links)
    elif fmt == "discord":
        assert data["allowed_mentions"] == {"parse": []}
        assert "\\[x\\]\\(http" in text  # escaped brackets: no masked link
        links = re.findall(r"(?<!\\)\]\((https?://[^)]+)\)", text)
        assert links and all("evil" not in u for u in links)
    elif fmt == "feishu":
        assert "<at" not in raw and "<!channel>" not in raw
        for para in data["content"]["post"]["zh_cn"]["content"]:
            for tag in para:
                assert tag["tag"] in ("text", "a")
                if tag["tag"] == "a":
                    assert tag["href"].startswith("https://") and "evil" not in tag["href"]
    else:
        assert "<" not in re.sub(r'<font color="\w+">|</font>', "", text)
        links = re.findall(r"\]\(([^)]*)\)", text)
        assert links and all(u.startswith("https://") and "evil" not in u for u in links)
        if fmt == "dingtalk":
            assert data["at"]["isAtAll"] is False


async def test_control_characters_are_stripped(rx: Receiver, client: httpx.AsyncClient) -> None:
    channel, _ = make(rx, client, "slack")
    await channel.send(AlertBatch(sample("line\x00one\x1b[31m\u202eevil\u2028two\nthree")))
    text = payload_text("slack", rx.requests[0].json())
    assert not any(c in text for c in "\x00\x1b\u202e\u2028")
    assert "lineone[31mevil two three" in text


LINKY = "see https://evil.example/x, www.evil.example or evil.example/y ```rm -rf /``` `x`"


def _own_links_removed(fmt: str, data: dict[str, Any]) -> str:
    """The visible text of a chat payload without our own link targets."""
    if fmt == "feishu":
        post = data["content"]["post"]["zh_cn"]
        return "\n".join(t["text"] for para in post["content"] for t in para)
    text = payload_text(fmt, data)
    if fmt == "slack":
        return re.sub(r"<https?://[^|>]+\|", "<", text)
    return re.sub(r"\]\(https?://[^)]+\)", "]", text)


@pytest.mark.parametrize("fmt", CHAT)
async def test_urls_in_fetched_text_are_not_clickable(
    rx: Receiver, client: httpx.AsyncClient, fmt: str
) -> None:
    channel, _ = make(rx, client, fmt)
    await channel.send(AlertBatch(sample(LINKY)))
    data = rx.requests[0].json()
    text = _own_links_removed(fmt, data)
    shown = visible(fmt, text)
    assert "evil" in shown and "rm -rf" in shown, "the text is still there to read"
    # What an auto-linker looks for: a scheme run, or a host name with a dot before letters.
    assert not re.search(r"https?://", text), text
    assert not re.search(r"(?i)\b(www\.)?evil\.example\b", text), text
    assert "https://evil.example/x" in visible(fmt, text).replace("\\", "")
    if fmt in ("slack", "dingtalk", "wecom"):
        assert "`" not in text, "no code span or block can swallow the message"
    elif fmt == "discord":
        assert "```" not in text
    if fmt == "slack":
        for b in data["blocks"]:
            objects = [b["text"]] if b["type"] == "section" else b["elements"]
            assert all(o["verbatim"] is True for o in objects)


async def test_slack_refusing_a_photo_gets_the_message_without_it(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    channel, _ = make(rx, client, "slack")
    copy = sample()[1]
    photo = Photo("https://market.example/img/9.jpg")
    batch = AlertBatch([copy], evidence={copy.dedup_key: Evidence(copy_photo=photo)})
    rx.queue(400, b"invalid_blocks")
    await channel.send(batch)
    first, second = (r.json() for r in rx.requests)
    shown = [b for b in first["blocks"] if "accessory" in b]
    assert shown and shown[0]["accessory"]["image_url"] == "https://market.example/img/9.jpg"
    assert not any("accessory" in b for b in second["blocks"])
    assert second["text"] == first["text"] and len(second["blocks"]) == len(first["blocks"])
    rx.clear()
    rx.queue(400, b"invalid_blocks")
    rx.queue(400, b"invalid_blocks")
    with pytest.raises(DeliveryError) as refused:
        await channel.send(batch)
    assert not refused.value.retryable and len(rx.requests) == 2


@pytest.mark.parametrize("fmt", ["slack", "discord"])
async def test_only_an_http_photo_is_shown(
    fmt: str, rx: Receiver, client: httpx.AsyncClient
) -> None:
    channel, _ = make(rx, client, fmt)
    copy = sample()[1]
    for url in ("javascript:alert(1)", "data:image/png;base64,AAAA", "https://u:p@evil.example/x"):
        ev = Evidence(copy_photo=Photo(url))
        await channel.send(AlertBatch([copy], evidence={copy.dedup_key: ev}))
    assert len(rx.requests) == 3
    for r in rx.requests:
        body = r.text
        assert "javascript" not in body and "data:image" not in body and "evil.example" not in body
