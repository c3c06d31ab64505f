"""The outbox against the real receiver: one refused alert fails alone; nothing twice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.findings import stored
from tests.receiver import Receiver
from watcher.config import AlertConfig, build
from watcher.errors import StorageError
from watcher.i18n import audience
from watcher.models import Evidence, Finding, Severity
from watcher.notify.channels.webhook import WebhookOptions
from watcher.notify.outbox import Outbox, backoff, probe_budget
from watcher.store import Store

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
ATTACK = "Nice dress' UNION SELECT password FROM users --"


def review(n: int, text: str = "质量太差了") -> Finding:
    listing = {"url": f"https://s.example/p/{n}", "title": f"Dress {n}", "price": 9.0}
    detail = {"rating": 1, "text": text, "author": "a", "published_at": None, "reason": "rating"}
    return stored("negative_review", Severity.HIGH, "My Shop", listing, "s", detail, f"r{n}", NOW)


def price(n: int) -> Finding:
    listing = {"url": f"https://r.example/p/{n}", "title": f"ITEM{n:04d}X", "price": 8.0}
    detail = {"old": 10.0, "new": 8.0, "currency": "CNY", "change": -0.2}
    return stored("price_change", Severity.LOW, "Rival", listing, "s", detail, f"p{n}", NOW)


class Pauses(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def outbox(tmp_path: Path, rx: Receiver, client: httpx.AsyncClient, fmt: str) -> Outbox:
    options = build(WebhookOptions, {"url": rx.url("/hook"), "format": fmt, "timeout": "2s"})
    alert = AlertConfig("webhook", "hook", options)
    box = Outbox(Store(f"sqlite:///{tmp_path / 'w.db'}").outbox, [alert], client)
    box.sleep = Pauses()
    for _, channel in box.channels.values():
        channel.sleep = Pauses()  # type: ignore[attr-defined]
    return box


def accepted(rx: Receiver, fmt: str) -> Counter[str]:
    """How often each alert reached the receiver in a request it accepted."""
    seen: Counter[str] = Counter()
    for r in rx.requests:
        if 200 <= r.status < 300:
            if fmt == "json":
                seen.update(a["dedup_key"] for a in r.json()["alerts"])
            else:
                seen.update(f"p{int(n)}" for n in set(re.findall(r"ITEM(\d{4})X", r.text)))
                seen.update(f"r{n}" for n in set(re.findall(r"Dress (\d+)", r.text)))
    return seen


def states(box: Outbox) -> dict[str, tuple[str, str | None]]:
    return {a.dedup_key: (d.state, d.last_error) for a, ds in box.store.alerts() for d in ds}


@pytest.mark.parametrize("fmt", ["json", "slack"])
async def test_a_refused_alert_fails_alone(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient, fmt: str
) -> None:
    box = outbox(tmp_path, rx, client, fmt)
    findings = [review(1), review(2, ATTACK), review(3), price(4), price(5)]
    rx.waf("UNION SELECT")
    assert len(box.record(findings)) == 5
    report = await box.flush()
    assert accepted(rx, fmt) == Counter({"r1": 1, "r3": 1, "p4": 1, "p5": 1})
    got = states(box)
    assert got["r2"][0] == "failed" and "403" in (got["r2"][1] or "")
    assert {k: s for k, (s, _) in got.items() if k != "r2"} == dict.fromkeys(
        ["r1", "r3", "p4", "p5"], "sent"
    )
    assert report.sent == {"hook": 4} and "403" in report.failed["hook"]
    assert len(rx.requests) <= probe_budget(5)
    await box.flush()
    assert len(rx.requests) <= probe_budget(5), "nothing is due again"


async def test_messages_delivered_before_a_refusal_are_not_sent_again(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient
) -> None:
    # 120 price changes need three Slack messages; the refused text is in the third.
    box = outbox(tmp_path, rx, client, "slack")
    findings = [price(i) for i in range(120)] + [review(999, ATTACK)]
    rx.waf("UNION SELECT")
    box.record(findings)
    await box.flush()
    seen = accepted(rx, "slack")
    assert "r999" not in seen and max(seen.values()) == 1, "nothing shown twice"
    assert len(seen) >= 100
    got = states(box)
    assert got["r999"][0] == "failed"
    assert {s for k, (s, _) in got.items() if k != "r999"} == {"sent"}


async def test_a_channel_that_refuses_everything_is_not_flooded(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient
) -> None:
    box = outbox(tmp_path, rx, client, "json")
    rx.reply(403, b"invalid_token")
    box.record([review(i) for i in range(40)])
    await box.flush()
    assert len(rx.requests) <= probe_budget(40) <= 30
    assert {s for s, _ in states(box).values()} == {"failed"}
    assert box.sleep == [0.0] * (len(rx.requests) - 1)  # paced by the channel's rate limit


async def test_a_retryable_failure_while_isolating_keeps_the_rest_pending(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient
) -> None:
    box = outbox(tmp_path, rx, client, "json")
    box.record([review(1), review(2, ATTACK), review(3), review(4)])
    rx.queue(403, b"blocked")  # the whole batch: refused...
    rx.queue(503, b"down", {"Retry-After": "30"})  # ...then, for its first half, down
    await box.flush()
    got = states(box)
    assert {s for s, _ in got.values()} == {"pending"}, got
    assert all("503" in (e or "") for _, e in got.values())


def test_backoff_honours_retry_after_within_a_day() -> None:
    assert backoff(1, 120).total_seconds() >= 120
    assert backoff(1, 1e15).total_seconds() <= 86400  # never an OverflowError
    assert probe_budget(1) == 1


async def test_alerts_are_written_for_the_audience_and_go_without_evidence_it_cannot_read(
    tmp_path: Path, rx: Receiver, client: httpx.AsyncClient
) -> None:
    box = outbox(tmp_path, rx, client, "slack")
    box.audience = audience("zh", "Asia/Shanghai")

    def broken(findings: Sequence[Finding]) -> Mapping[str, Evidence]:
        raise StorageError("database is locked")

    box.evidence = broken
    box.record([review(1), price(2)])
    report = await box.flush()
    assert report.sent == {"hook": 2}
    text = rx.requests[0].text
    assert "中差评" in text and "降价" in text and "Negative review" not in text
    assert "在看板中查看" not in text

    box.evidence = lambda fs: {f.dedup_key: Evidence("https://watch.example/alerts") for f in fs}
    box.record([review(3)])
    await box.flush()
    assert "<https://watch.example/alerts|在看板中查看>" in rx.requests[1].text
