"""The ``apprise`` channel: real Apprise sending to the loopback receiver (``json://``),
failures mapped to retryable or permanent, URLs redacted everywhere, and an alert
delivered exactly once after an outage by the real `watcher` process."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e import check, env, write_config
from tests.findings import stored
from tests.receiver import Receiver
from watcher.config import build
from watcher.demo import Marketplace
from watcher.errors import ConfigError, DeliveryError
from watcher.i18n import audience
from watcher.models import AlertBatch, DigestView, Finding, Severity
from watcher.notify.channels import channel_kinds
from watcher.notify.channels.apprise import (
    MAX_BLOCKS,
    AppriseChannel,
    AppriseOptions,
    failure,
    redactor,
    url_parts,
)
from watcher.notify.outbox import Outbox
from watcher.registry import load
from watcher.store import Store

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
TOKEN = "s3cretT0kenPath"
TELEGRAM = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567"


def review(n: int, text: str = "质量太差了 <b>bold</b> @all") -> Finding:
    listing = {"url": f"https://s.example/p/{n}", "title": f"Dress {n}", "price": 9.0}
    detail = {"rating": 1, "text": text, "author": "a", "published_at": None, "reason": "rating"}
    return stored("negative_review", Severity.HIGH, "My Shop", listing, "s", detail, f"r{n}", NOW)


def channel(client: httpx.AsyncClient, *urls: str) -> AppriseChannel:
    return AppriseChannel(build(AppriseOptions, {"urls": list(urls)}, "alerts[0]"), client)


def json_url(rx: Receiver, path: str = f"/hook/{TOKEN}") -> str:
    return f"json://127.0.0.1:{rx.port}{path}"


# -- unit: redaction and failure mapping ---------------------------------------------------


def test_url_parts_hide_every_token() -> None:
    redact = redactor([TELEGRAM, "ntfy://user:pa55word@ntfy.example/topic-9f8e7d"])
    text = (
        f"Failed to send to {TELEGRAM} (bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw,"
        " chat -1001234567, user pa55word, topic topic-9f8e7d)"
    )
    out = redact(text)
    for secret in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "1001234567", "pa55word", "topic-9f8e7d"):
        assert secret not in out, out
    assert "123456789" not in out
    assert "Failed to send to ***" in out


def test_secrets_for_the_log_are_tokens_not_hosts() -> None:
    options = build(AppriseOptions, {"urls": [f"json://127.0.0.1:8080/hook/{TOKEN}", TELEGRAM]})
    hidden = options.secrets()
    assert TOKEN in hidden and f"json://127.0.0.1:8080/hook/{TOKEN}" in hidden
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" in hidden
    assert "127.0.0.1" not in hidden and "127.0.0.1:8080" not in hidden and "hook" not in hidden
    assert set(url_parts("json://h.example/a")) >= {"json://h.example/a", "h.example"}


@pytest.mark.parametrize(
    ("said", "retryable"),
    [
        (["Failed to send JSON POST notification: Not Found, error=404."], False),
        (["Failed to send Telegram notification: Unauthorized, error=401."], False),
        (["Failed to send JSON POST notification: Internal Server Error, error=500."], True),
        (["Failed to send ntfy notification: Too Many Requests, error=429."], True),
        (["Failed to send JSON POST notification: Request Timeout, error=408."], True),
        (["A Connection error occurred sending JSON notification to 127.0.0.1."], True),
        ([], True),
    ],
)
def test_failure_mapping(said: list[str], retryable: bool) -> None:
    error = failure(said, "apprise URL 1 (json)", lambda t: t)
    assert error.retryable is retryable
    assert str(error).startswith("apprise URL 1 (json): ")


def test_channel_is_discovered_and_bad_urls_are_named_not_shown(tmp_path: Path) -> None:
    assert channel_kinds()["apprise"] is AppriseChannel
    with pytest.raises(ConfigError) as e:
        build(AppriseOptions, {"urls": [TELEGRAM, f"nosuch://{TOKEN}@x"]}, "alerts[3]")
    assert e.value.path == "alerts[3].urls[1]" and TOKEN not in str(e.value)
    assert "'nosuch'" in str(e.value)
    with pytest.raises(ConfigError) as e:
        build(AppriseOptions, {"urls": []}, "alerts[0]")
    assert e.value.path == "alerts[0].urls"


def test_a_bad_url_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "w.toml"
    config.write_text(
        '[[shops]]\nname = "A"\nrole = "own"\nkind = "shopify"\nurl = "https://a.example"\n'
        f'[[alerts]]\nkind = "apprise"\nurls = ["${{HOOK}}", "nosuch://{TOKEN}"]\n',
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env(), "HOOK": TELEGRAM},
    )
    assert proc.returncode == 2, proc.stderr
    assert "alerts[0].urls[1]" in proc.stderr and TOKEN not in proc.stderr, proc.stderr


def test_literal_urls_join_the_configs_secrets(tmp_path: Path) -> None:
    config = tmp_path / "w.toml"
    config.write_text(
        f'[[alerts]]\nkind = "apprise"\nurls = ["json://127.0.0.1:9/hook/{TOKEN}"]\n',
        encoding="utf-8",
    )
    loaded = load(config, env={})
    assert loaded.secrets.redact(f"posting to /hook/{TOKEN} failed") == "posting to *** failed"


# -- against the real receiver -------------------------------------------------------------


async def test_sends_plain_text_through_apprise(rx: Receiver, client: httpx.AsyncClient) -> None:
    await channel(client, json_url(rx)).send(AlertBatch([review(1), review(2)]))
    assert len(rx.requests) == 1
    request = rx.requests[0]
    assert request.path == f"/hook/{TOKEN}"
    body = request.json()
    assert body["title"] == "My Shop: 2 negative reviews"
    assert "Dress 1 <https://s.example/p/1>" in body["message"]
    assert "质量太差了 <b>bold</b> @all" in body["message"], "fetched text as it is, as text"


async def test_sends_in_the_audiences_language(rx: Receiver, client: httpx.AsyncClient) -> None:
    """``[watcher] language`` reaches Apprise's title, the lines and the note of what did
    not fit; and a digest through Apprise reads in it too."""
    zh = audience("zh", "Asia/Shanghai")
    findings = [review(n) for n in range(MAX_BLOCKS + 2)]
    await channel(client, json_url(rx)).send(AlertBatch(findings, audience=zh))
    digest = DigestView(schedule="1h", at=NOW)
    await channel(client, json_url(rx)).send(AlertBatch(findings, audience=zh, digest=digest))
    plain, summary = (r.json() for r in rx.requests)
    assert plain["title"] == "My Shop：27 条中差评"
    assert "差评 ★☆☆☆☆ 1/5" in plain["message"]
    assert "……另有 2 条提醒未在此显示：2 条中差评。" in plain["message"]
    assert summary["title"].startswith("摘要（1h，16:00）：27 条提醒 — 中差评 27")
    assert "27 条提醒" in summary["message"]
    for body in (plain, summary):
        text = f"{body['title']}\n{body['message']}"
        words = re.sub(
            r"<https?://[^>]+>|Dress \d+|My Shop|<b>bold</b>|@all|`watcher alerts`", "", text
        )
        assert not re.findall(r"[A-Za-z]{3,}", words), text


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (404, False), (429, True)])
async def test_http_failures_are_mapped(
    rx: Receiver, client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    rx.reply(status, "no")
    with pytest.raises(DeliveryError) as e:
        await channel(client, json_url(rx)).send(AlertBatch([review(1)]))
    assert e.value.retryable is retryable
    assert f"error={status}" in str(e.value) and TOKEN not in str(e.value)


async def test_a_receiver_down_is_retryable(rx: Receiver, client: httpx.AsyncClient) -> None:
    rx.refuse()
    with pytest.raises(DeliveryError) as e:
        await channel(client, json_url(rx)).send(AlertBatch([review(1)]))
    assert e.value.retryable is True and TOKEN not in str(e.value)


async def test_each_url_is_its_own_channel_so_one_outage_sends_nothing_twice(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    with Receiver() as good, Receiver() as bad:
        bad.reply(503, "busy")
        config = tmp_path / "w.toml"
        config.write_text(
            f'[[alerts]]\nkind = "apprise"\nname = "chat"\n'
            f'urls = ["{json_url(good)}", "{json_url(bad)}"]\n',
            encoding="utf-8",
        )
        alerts = load(config, env={}).alerts
        assert [a.name for a in alerts] == ["chat[1]", "chat[2]"]
        now = [NOW]
        box = Outbox(
            Store(f"sqlite:///{tmp_path / 'w.db'}").outbox, alerts, client, clock=lambda: now[0]
        )
        box.record([review(1)])
        report = await box.flush()
        assert report.sent == {"chat[1]": 1} and "chat[2]" in report.failed
        assert TOKEN not in report.failed["chat[2]"]
        bad.reply(200, "ok")
        now[0] += timedelta(hours=1)
        await box.flush()
        await box.flush()
        assert (len(good.requests), len(bad.requests)) == (1, 2)


# -- end to end ------------------------------------------------------------------------------


def test_delivered_exactly_once_after_an_outage(tmp_path: Path) -> None:
    with Marketplace() as market, Receiver() as rx:
        rx.refuse()  # the service is down during the first check
        extra = f'[[alerts]]\nkind = "apprise"\nurls = ["{json_url(rx)}"]\n'
        config = write_config(
            market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}", extra=extra
        )
        first = check(config)
        assert first.code == 0 and first.findings, first.stderr
        assert TOKEN not in first.stderr and "delivered" not in first.stderr
        listed = subprocess.run(
            [sys.executable, "-m", "watcher", "alerts", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env(),
        )
        assert "pending" in listed.stdout and TOKEN not in listed.stdout + listed.stderr
        rx.recover()
        retry = subprocess.run(
            [sys.executable, "-m", "watcher", "alerts", "--retry", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env(),
        )
        assert retry.returncode == 0, retry.stderr
        again = check(config)
        assert again.code == 0, again.stderr
    assert len(rx.requests) == 1, [r.body for r in rx.requests]
    message = rx.requests[0].json()["message"]
    for f in first.findings:
        assert f["listing"] is None or f["listing"]["title"] in message
    assert TOKEN not in retry.stderr + again.stderr
