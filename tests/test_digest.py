"""Digests on a clock the tests control: held alerts sent as one message at the slot,
storms summarised, ``immediate`` kinds at once, a restart between hold and send losing
nothing and sending nothing twice; against the real receiver and a real SMTP server."""

from __future__ import annotations

import csv
import email
import io
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e import env
from tests.findings import stored
from tests.receiver import Receiver
from tests.test_channels_email import Sink
from watcher.config import AlertConfig, DigestSchedule, build, parse_digest
from watcher.i18n import audience
from watcher.models import AlertBatch, DigestView, Finding, Severity
from watcher.notify.channels.email import EmailOptions
from watcher.notify.channels.webhook import WebhookOptions
from watcher.notify.digest import csv_table, next_slot
from watcher.notify.outbox import Outbox
from watcher.notify.render import COLLAPSE
from watcher.store import Store

SH = ZoneInfo("Asia/Shanghai")
SHOP = "风尚女装"
START = datetime(2027, 11, 11, 7, 0, tzinfo=SH)  # 双11, 07:00 local


class Clock:
    """Now, as the test says."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


def price(n: int, change: float = -0.15) -> Finding:
    listing = {"url": f"https://r.example/p/{n}", "title": f"连衣裙 ITEM{n:04d}X", "price": 85.0}
    old, new = 100.0, round(100.0 * (1 + change), 2)
    detail = {"old": old, "new": new, "currency": "CNY", "change": change}
    return stored("price_change", Severity.LOW, SHOP, listing, "s", detail, f"p{n}", START)


def stock(n: int) -> Finding:
    listing = {"url": f"https://r.example/s/{n}", "title": f"外套 STOCK{n:04d}X", "price": 9.0}
    detail = {"old": "in stock", "new": "out of stock"}
    return stored("stock_change", Severity.LOW, SHOP, listing, "s", detail, f"s{n}", START)


def review(n: int, text: str = "质量太差了") -> Finding:
    listing = {"url": f"https://mine.example/p/{n}", "title": f"Dress {n}", "price": 9.0}
    detail = {"rating": 1, "text": text, "author": "a", "published_at": None}
    return stored("negative_review", Severity.HIGH, "My Shop", listing, "s", detail, f"r{n}", START)


def storm() -> list[Finding]:
    """48 price changes (47 down, 1 up) and 3 stock-outs in one shop, one bad review."""
    return [*(price(i, -0.15 if i else 0.05) for i in range(48)), *map(stock, range(3)), review(1)]


def hook(rx: Receiver, fmt: str = "json", digest: str = "08:30") -> AlertConfig:
    options = build(WebhookOptions, {"url": rx.url("/hook"), "format": fmt})
    return AlertConfig(
        "webhook",
        "hook",
        options,
        digest=parse_digest(digest, "alerts[0].digest"),
        immediate=["negative_review", "copied_listing"],
    )


def box(
    db: Path,
    alert: AlertConfig,
    client: httpx.AsyncClient,
    clock: Clock,
    language: str = "en",
    **view: Any,
) -> Outbox:
    """An outbox as a fresh process opens it: its own store on the database file, writing
    for ``[watcher] language`` in Asia/Shanghai."""
    return Outbox(
        Store(f"sqlite:///{db}").outbox,
        [alert],
        client,
        clock=clock,
        audience=audience(language, "Asia/Shanghai"),
        view=DigestView(**view),
    )


def keys(rx: Receiver) -> Counter[str]:
    return Counter(
        a["dedup_key"] for r in rx.requests if r.status == 200 for a in r.json()["alerts"]
    )


# -- when --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "after", "expected"),
    [
        ("08:30", datetime(2027, 3, 1, 7, 0, tzinfo=SH), datetime(2027, 3, 1, 8, 30, tzinfo=SH)),
        ("08:30", datetime(2027, 3, 1, 8, 30, tzinfo=SH), datetime(2027, 3, 2, 8, 30, tzinfo=SH)),
        ("08:30", datetime(2027, 3, 1, 23, 0, tzinfo=UTC), datetime(2027, 3, 2, 8, 30, tzinfo=SH)),
        ("1h", datetime(2027, 3, 1, 7, 59, tzinfo=SH), datetime(2027, 3, 1, 8, 0, tzinfo=SH)),
        ("1h", datetime(2027, 3, 1, 8, 0, tzinfo=SH), datetime(2027, 3, 1, 9, 0, tzinfo=SH)),
        ("30m", datetime(2027, 3, 1, 8, 10, tzinfo=SH), datetime(2027, 3, 1, 8, 30, tzinfo=SH)),
        ("7h", datetime(2027, 3, 1, 22, 0, tzinfo=SH), datetime(2027, 3, 2, 0, 0, tzinfo=SH)),
    ],
)
def test_next_slot(value: str, after: datetime, expected: datetime) -> None:
    assert next_slot(parse_digest(value, "d"), after, SH) == expected


def test_parse_digest() -> None:
    assert parse_digest("8:05", "d") == DigestSchedule(daily=time(8, 5), text="8:05")
    assert parse_digest("1h", "d").every == timedelta(hours=1)


@pytest.mark.parametrize(
    ("keys_", "where", "says"),
    [
        ('digest = "25:00"', "alerts[1].digest", "'25:00'"),
        ('digest = "1x"', "alerts[1].digest", "'1x'"),
        ('digest = "0s"', "alerts[1].digest", "'0s'"),
        (
            'digest = "1h"\nimmediate = ["negative_review", "bad_kind"]',
            "alerts[1].immediate[1]",
            "'bad_kind'",
        ),
        ('immediate = ["negative_review"]', "alerts[1].immediate", "digest"),
    ],
)
def test_bad_digest_keys_exit_2_naming_the_key(
    tmp_path: Path, keys_: str, where: str, says: str
) -> None:
    config = tmp_path / "w.toml"
    config.write_text(
        f'[[shops]]\nname = "A"\nrole = "own"\nkind = "shopify"\nurl = "https://a.example"\n'
        f'[[alerts]]\nkind = "webhook"\nurl = "http://127.0.0.1:9/h"\n'
        f'[[alerts]]\nkind = "webhook"\nurl = "http://127.0.0.1:9/h"\n{keys_}\n',
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env(),
    )
    assert proc.returncode == 2, proc.stderr
    assert where in proc.stderr and says in proc.stderr, proc.stderr


# -- hold, collapse, send ------------------------------------------------------------------


async def test_digest_at_the_slot_storm_collapsed_immediate_at_once_restart_sends_once(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient
) -> None:
    db = tmp_path / "w.db"
    alert = hook(rx, "slack")
    clock = Clock(START)
    first = box(db, alert, client, clock, public_url="https://watch.example/")
    assert len(first.record(storm())) == 52
    await first.flush()
    assert len(rx.requests) == 1, "only the immediate kind is sent at once"
    assert "Dress 1" in rx.requests[0].text and "ITEM" not in rx.requests[0].text
    assert first.next_due() == datetime(2027, 11, 11, 8, 30, tzinfo=SH)

    clock.now = START.replace(hour=8, minute=29, second=59)
    await first.flush()
    assert len(rx.requests) == 1, "held until 08:30"

    # A restart between hold and send: a new process on the same database, at 08:31.
    clock.now = START.replace(hour=8, minute=31)
    second = box(db, alert, client, clock, public_url="https://watch.example/")
    await second.flush()
    await second.flush()
    await box(db, alert, client, clock).flush()
    assert len(rx.requests) == 2, "one digest, once"
    text = rx.requests[1].text
    assert "Digest (08:30): 51 alerts" in text
    # The storm is one line with the full list a click away; the small group stays itemised.
    assert "48 alerts, median −15.0%, 47 down, 1 up" in text
    shop = "%E9%A3%8E%E5%B0%9A%E5%A5%B3%E8%A3%85"
    assert f"<https://watch.example/alerts?shop={shop}&amp;kind=price_change|All 48" in text
    assert text.count("ITEM") == 3, "three examples of the storm"
    assert text.count("STOCK") == 3 and "All 3" not in text
    states = {d.state for _, ds in second.store.alerts() for d in ds}
    assert states == {"sent"}
    assert second.next_due() is None


async def test_json_digest_delivers_every_alert_once_with_a_summary(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient
) -> None:
    clock = Clock(START)
    alert = hook(rx, "json", digest="1h")
    outbox = box(tmp_path / "w.db", alert, client, clock)
    outbox.record(storm())
    await outbox.flush()
    clock.now = START + timedelta(hours=1)
    rx.queue(500, "down")  # the digest fails once, then is retried like any delivery
    await outbox.flush()
    clock.now += timedelta(hours=1)
    await outbox.flush()
    assert [r.status for r in rx.requests] == [200, 500, 200]
    assert keys(rx) == Counter({f.dedup_key: 1 for f in storm()})
    digest = rx.requests[2].json()["digest"]
    assert digest["schedule"] == "1h"
    groups = {(g["kind"], g["shop"]): g for g in digest["groups"]}
    assert groups["price_change", SHOP]["count"] == 48
    assert groups["stock_change", SHOP]["facts"] == ["3 out of stock"]
    assert "digest" not in rx.requests[0].json(), "an immediate alert is a plain message"


async def test_chinese_digest(tmp_path: Path, rx: Receiver, client: httpx.AsyncClient) -> None:
    clock = Clock(START)
    outbox = box(tmp_path / "w.db", hook(rx, "slack"), client, clock, language="zh")
    outbox.record(storm())
    clock.now = START.replace(hour=9)
    await outbox.flush()
    text = rx.requests[-1].text
    assert "摘要（08:30）：52 条提醒 — 中差评 1，价格变动 48，库存变动 3" in text
    assert "48 条提醒，中位数 −15.0%，47 个降价，1 个涨价" in text
    assert "价格变动" in text


def test_csv_cells_are_inert_and_complete() -> None:
    findings = [price(i) for i in range(COLLAPSE + 2)]
    findings.append(
        stored(
            "price_change",
            Severity.LOW,
            '=HYPERLINK("http://evil")',
            {"url": "https://r.example/x", "title": "+cmd|' /C calc'!A0", "price": 1.0},
            "-2+3",
            {"old": 2.0, "new": 1.0, "currency": "CNY", "change": -0.5},
            "evil",
            START,
        )
    )
    batch = AlertBatch(findings, audience=audience("en", "Asia/Shanghai"), digest=DigestView())
    table = csv_table(batch)
    rows = list(csv.reader(io.StringIO(table.decode("utf-8-sig"))))
    assert len(rows) == 1 + len(findings)
    evil = next(r for r in rows if "evil" in r[3])
    assert evil[3].startswith("'=") and evil[4].startswith("'+") and evil[6].startswith("'+cmd")
    assert rows[1][0] == "2027-11-11 07:00"


async def test_email_digest_attaches_the_full_list(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    from tests.test_channels_email import serve

    sink = Sink()
    for controller in serve(sink):
        options = build(
            EmailOptions,
            {
                "host": "127.0.0.1",
                "port": controller.port,
                "security": "none",
                "sender": "watcher@example.com",
                "to": ["owner@example.com"],
            },
        )
        alert = AlertConfig("email", "mail", options, digest=parse_digest("08:30", "d"))
        clock = Clock(START)
        outbox = box(tmp_path / "w.db", alert, client, clock)
        outbox.record(storm())
        await outbox.flush()
        assert sink.envelopes == [], "everything held: no immediate kinds on this channel"
        clock.now = START.replace(hour=8, minute=30)
        await box(tmp_path / "w.db", alert, client, clock).flush()
        await outbox.flush()
    assert len(sink.envelopes) == 1
    msg: Message = email.message_from_bytes(sink.envelopes[0].content)
    assert "Digest (08:30): 52 alerts" in str(
        email.header.make_header(email.header.decode_header(msg["Subject"]))
    )
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert list(parts) == ["watcher-digest-2027-11-11-0830.csv"]
    payload = parts["watcher-digest-2027-11-11-0830.csv"].get_payload(decode=True)
    assert isinstance(payload, bytes)
    rows = list(csv.reader(io.StringIO(payload.decode("utf-8-sig"))))
    assert len(rows) == 53
    body = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "All 48 in the attached file watcher-digest-2027-11-11-0830.csv" in text


async def test_retry_now_does_not_send_a_held_digest_early(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient
) -> None:
    clock = Clock(START)
    outbox = box(tmp_path / "w.db", hook(rx), client, clock)
    outbox.record(storm())
    rx.queue(500, "down")
    await outbox.flush()  # the immediate review fails and waits for a retry
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    assert store.requeue_failed() == 1, "the failed review, not the 51 held alerts"
    await outbox.flush()
    assert [sorted(keys(rx))] == [["r1"]]
    assert outbox.next_due() == datetime(2027, 11, 11, 8, 30, tzinfo=SH)


@pytest.mark.parametrize("fmt", ["slack", "discord", "feishu", "dingtalk", "wecom", "json"])
async def test_every_format_sends_the_digest_and_records_every_alert(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient, fmt: str
) -> None:
    if fmt in ("feishu", "dingtalk", "wecom"):
        rx.reply(200, {"code": 0, "errcode": 0, "errmsg": "ok", "msg": "success"})
    clock = Clock(START.replace(hour=9))
    alert = hook(rx, fmt)
    alert.immediate.clear()
    outbox = box(tmp_path / "w.db", alert, client, clock)
    for channel in (c for _, c in outbox.channels.values()):
        channel.sleep = _no_pause  # type: ignore[attr-defined]
    outbox.sleep = _no_pause
    outbox.record(storm())
    clock.now = START.replace(hour=9) + timedelta(days=1)
    report = await outbox.flush()
    assert report.sent == {"hook": 52} and not report.failed
    text = "".join(r.body.decode() for r in rx.requests)
    assert "48 alerts" in text or '"count":48' in text
    assert {d.state for _, ds in outbox.store.alerts() for d in ds} == {"sent"}


async def _no_pause(seconds: float) -> None:
    return None


def test_the_alerts_table_says_when_a_held_alert_is_due_in_the_audiences_words() -> None:
    from types import SimpleNamespace

    from watcher.cli.commands.alerts import _delivery_state

    due = datetime.now(UTC) + timedelta(hours=2)
    held = SimpleNamespace(
        channel="hook", state="pending", attempts=0, last_error=None, next_attempt_at=due
    )
    local = f"{due.astimezone(SH):%Y-%m-%d %H:%M}"
    en = _delivery_state([held], audience("en", "Asia/Shanghai"), str)
    zh = _delivery_state([held], audience("zh", "Asia/Shanghai"), str)
    assert en == f"hook: pending (held for the digest at {local})"
    assert zh.endswith(f"（留待 {local} 的摘要发送）")


def test_a_storm_of_reviews_shows_what_each_example_complains_of() -> None:
    """An example line of a review storm quotes the start of the review, on one line; it
    is not the author line after an empty dash ("… — — a")."""
    from watcher.notify.render import summary_block

    long = "拉链第一天就坏了，客服一直不回复，" * 6
    reviews = [review(0, long + "\n第二行"), *(review(n) for n in range(1, COLLAPSE + 1))]
    for lang in ("en", "zh"):
        block = summary_block(
            "negative_review", "My Shop", reviews, DigestView(), audience(lang, "UTC")
        )
        examples = ["".join(s.text for s in x.spans) for x in block.lines[:3]]
        assert "“拉链第一天就坏了" in examples[0] and examples[0].endswith("…”")
        assert "\n" not in examples[0] and len(examples[0]) < 120
        assert all("— —" not in e and "质量太差了" in e for e in examples[1:]), examples
