"""End to end: alerts from real `watcher` processes to a real webhook receiver and a real
SMTP server; outages, restarts, exactly-once delivery, secrets kept out of the logs."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e import check, env, write_config
from tests.receiver import Receiver
from watcher.demo import Marketplace

SECRET = "hook-secret-7f3a9c"


class Sink:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.rcpts: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )  # type: ignore[arg-type]
        self.rcpts.append(list(envelope.rcpt_tos))
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, Sink]]:
    sink = Sink()
    port = _port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, sink
    controller.stop()


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def _alerts_config(rx: Receiver, smtp_port: int) -> str:
    return f"""
[[alerts]]
kind = "webhook"
name = "hook"
url = "{rx.url("/hook")}"
secret = "${{HOOK_SECRET}}"
timeout = "2s"

[[alerts]]
kind = "email"
name = "mail"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "watcher@example.com"
to = ["owner@example.com"]
min_severity = "medium"
"""


def _break(rx: Receiver, mode: str) -> None:
    if mode == "500":
        rx.reply(500, b"upstream down")
    elif mode == "429":
        rx.reply(429, b"slow down", {"Retry-After": "1"})
    elif mode == "hang":
        rx.hang(5)
    elif mode == "refuse":
        rx.refuse()


def _heal(rx: Receiver, mode: str) -> None:
    rx.reply(200, b"ok")
    rx.hang(0)
    if mode == "refuse":
        rx.recover()


@pytest.mark.parametrize("mode", ["500", "429", "hang", "refuse"])
def test_alert_arrives_exactly_once_after_an_outage(
    mode: str,
    market: Marketplace,
    smtp: tuple[int, Sink],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    smtp_port, sink = smtp
    with Receiver(secret=SECRET) as rx:
        config = write_config(
            market,
            tmp_path / "w.toml",
            f"sqlite:///{tmp_path / 'w.db'}",
            watcher='alert_retry = "1s"',
            extra=_alerts_config(rx, smtp_port),
        )
        _break(rx, mode)
        first = check(config)
        assert first.code == 0, first.stderr
        keys = {f["dedup_key"] for f in first.findings}
        assert len(keys) == 3
        assert len(sink.messages) == 1, "the e-mail channel is independent of the broken webhook"
        assert SECRET not in first.stderr and "/hook" not in first.stderr

        time.sleep(1.5)
        _heal(rx, mode)
        rx.clear()
        second = check(config)  # a new process: the outbox survived the restart
        assert second.code == 0 and second.findings == []
        assert len(rx.requests) == 1, rx.requests
        req = rx.requests[0]
        assert rx.verify_json_signature(req) and rx.verify_json_signature_v2(req)
        body = req.json()
        assert body["version"] == 1 and {a["dedup_key"] for a in body["alerts"]} == keys
        assert len(sink.messages) == 1, "delivered mail is not sent again"

        third = check(config)
        assert third.findings == [] and len(rx.requests) == 1, "nothing is delivered twice"
        for run in (first, second, third):
            assert SECRET not in run.stderr


def test_email_content_and_alerts_command(
    market: Marketplace, smtp: tuple[int, Sink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    smtp_port, sink = smtp
    with Receiver(secret=SECRET) as rx:
        config = write_config(
            market,
            tmp_path / "w.toml",
            f"sqlite:///{tmp_path / 'w.db'}",
            extra=_alerts_config(rx, smtp_port),
        )
        check(config)
        market.advance()
        run = check(config)
        assert len(run.findings) == 8
        assert len(rx.requests) == 2 and len(rx.requests[1].json()["alerts"]) == 8
        msg = sink.messages[-1]
        assert msg["Subject"].startswith("[watcher] ")
        assert "negative review" in msg["Subject"] and "copied listing" in msg["Subject"]
        assert sink.rcpts[-1] == ["owner@example.com"]
        assert msg.get_content_type() == "multipart/alternative"
        text = msg.get_body(preferencelist=("plain",)).get_content()
        html = msg.get_body(preferencelist=("html",)).get_content()
        assert "五星是给快递的" in text and "五星是给快递的" in html
        assert "醋酸缎面半身裙" not in text, "min_severity = medium keeps low findings out"

        proc = subprocess.run(
            [sys.executable, "-m", "watcher", "alerts", "--json", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        rows = [json.loads(x) for x in proc.stdout.splitlines()]
        assert len(rows) == 11
        for row in rows:
            states = {d["channel"]: d["state"] for d in row["deliveries"]}
            assert states.get("hook") == "sent"
            assert ("mail" in states) == (row["severity"] != "low")


def test_test_alert_reaches_every_channel(
    smtp: tuple[int, Sink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    smtp_port, sink = smtp
    with Receiver(secret=SECRET) as rx:
        config = tmp_path / "w.toml"
        config.write_text(
            f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
            + _alerts_config(rx, smtp_port)
        )
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", "test-alert", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert len(rx.requests) == 1 and rx.verify_json_signature(rx.requests[0])
        assert len(sink.messages) == 1
        rx.reply(403, b"forbidden")
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", "test-alert", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
        )
        assert proc.returncode == 1 and "hook: FAILED" in proc.stderr


def test_permanent_failure_waits_for_alerts_retry(
    market: Marketplace, smtp: tuple[int, Sink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    smtp_port, _ = smtp
    with Receiver(secret=SECRET) as rx:
        config = write_config(
            market,
            tmp_path / "w.toml",
            f"sqlite:///{tmp_path / 'w.db'}",
            watcher='alert_retry = "1s"',
            extra=_alerts_config(rx, smtp_port),
        )
        rx.reply(403, b"invalid_token")
        check(config)
        # The refused batch of three was also tried in halves, and halves of the refused
        # halves, until each alert stood alone (one refused alert must not fail the others):
        # the batch, its halves of one and two, and the two halves of that.
        tried = len(rx.requests)
        assert tried == 5
        time.sleep(1.2)
        assert check(config).findings == []
        assert len(rx.requests) == tried, "a permanent failure is not retried by later checks"
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", "alerts", "--json", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
        )
        hook = [
            next(d for d in json.loads(x)["deliveries"] if d["channel"] == "hook")
            for x in proc.stdout.splitlines()
        ]
        assert {d["state"] for d in hook} == {"failed"} and all(
            "403" in d["last_error"] for d in hook
        )
        rx.reply(200, b"ok")
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", "alerts", "--retry", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert len(rx.requests) == tried + 1 and len(rx.requests[-1].json()["alerts"]) == 3
        assert SECRET not in proc.stderr
