"""Digests as real processes: `watcher check` holds, a later process sends the digest once
to the real receiver and a real SMTP server; the daemon wakes at the digest time."""

from __future__ import annotations

import asyncio
import email
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e import Daemon, check, env, write_config
from tests.receiver import Receiver
from tests.test_channels_email import Sink, serve
from watcher.app import open_app
from watcher.demo import Marketplace
from watcher.registry import load


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def alerts_of(rx: Receiver) -> list[tuple[bool, str]]:
    """(in a digest, dedup key) of every alert the receiver accepted."""
    return [
        ("digest" in r.json(), a["dedup_key"])
        for r in rx.requests
        if r.status == 200
        for a in r.json()["alerts"]
    ]


async def later(config: Path) -> None:
    """Processes started after the digest time (their clock says so) flush the outbox."""
    cfg = load(config)
    async with open_app(cfg) as probe:
        due = probe.outbox.next_due()
    assert due is not None
    local = due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (8, 30)
    # Two processes wake after the digest time: one sends, none twice.
    for _ in range(2):
        async with open_app(cfg, clock=lambda: due + timedelta(seconds=5)) as app:
            await app.outbox.flush()


def test_check_holds_and_a_later_process_sends_the_digest_once(
    market: Marketplace, tmp_path: Path
) -> None:
    sink = Sink()
    with Receiver() as rx:
        for smtp in serve(sink):
            extra = (
                f'[[alerts]]\nkind = "webhook"\nurl = "{rx.url("/hook")}"\ndigest = "08:30"\n'
                'immediate = ["copied_listing", "negative_review"]\n'
                f'[[alerts]]\nkind = "email"\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                'security = "none"\nsender = "w@example.com"\nto = ["o@example.com"]\n'
                'digest = "08:30"\n'
            )
            db = f"sqlite:///{tmp_path / 'w.db'}"
            config = write_config(market, tmp_path / "w.toml", db, extra=extra)
            first = check(config)
            assert first.code == 0, first.stderr
            kinds = Counter(f["kind"] for f in first.findings)
            # The demo's first step: a copy (immediate), a launch and an undercut (held).
            assert kinds == Counter(
                {"copied_listing": 1, "seasonal_launch": 1, "price_position": 1}
            )
            assert [k for d, k in alerts_of(rx)] == [
                f["dedup_key"] for f in first.findings if f["kind"] == "copied_listing"
            ], "the immediate kind at once, the others held"
            assert sink.envelopes == [], "the email channel holds everything"
            listed = subprocess.run(
                [sys.executable, "-m", "watcher", "alerts", "--json", "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=60,
                env=env(),
            )
            assert listed.returncode == 0, listed.stderr
            held = {
                (a["kind"], d["channel"]): d["due_at"]
                for a in map(json.loads, listed.stdout.splitlines())
                for d in a["deliveries"]
                if d["state"] == "pending"
            }
            assert set(held) == {
                ("seasonal_launch", "webhook-0"),
                ("seasonal_launch", "email-1"),
                ("price_position", "webhook-0"),
                ("price_position", "email-1"),
                ("copied_listing", "email-1"),
            }
            due = datetime.fromisoformat(next(iter(held.values())))
            assert f"{due.astimezone(ZoneInfo('Asia/Shanghai')):%H:%M}" == "08:30"
            asyncio.run(later(config))
    digests = [k for d, k in alerts_of(rx) if d]
    kept = [f["dedup_key"] for f in first.findings if f["kind"] != "copied_listing"]
    assert sorted(digests) == sorted(kept)
    assert len(sink.envelopes) == 1
    msg = email.message_from_bytes(sink.envelopes[0].content)
    assert f"Digest (08:30): {len(first.findings)} alerts" in str(
        email.header.make_header(email.header.decode_header(msg["Subject"]))
    )
    assert any(p.get_filename() for p in msg.walk())


def test_daemon_wakes_at_the_digest_time(market: Marketplace, tmp_path: Path) -> None:
    with Receiver() as rx:
        extra = (
            f'[[alerts]]\nkind = "webhook"\nurl = "{rx.url("/hook")}"\ndigest = "4s"\n'
            'immediate = ["copied_listing"]\n'
        )
        db = f"sqlite:///{tmp_path / 'w.db'}"
        config = write_config(market, tmp_path / "w.toml", db, extra=extra)
        daemon = Daemon(config)
        try:
            daemon.wait_for("new finding(s)")
            found = time.monotonic()
            # No check is due for an hour and the retry pass runs once a minute: only the
            # wake at the digest slot sends the held alerts this soon.
            # Each shop is its own check: the launch and the undercut may fall in two slots.
            while sum(d for d, _ in alerts_of(rx)) < 2 and time.monotonic() < found + 20:
                time.sleep(0.1)
            took = time.monotonic() - found
        finally:
            code = daemon.stop()
        assert code == 0, "".join(daemon.log)
    sent = alerts_of(rx)
    assert took < 15, (took, sent, daemon.drain())
    # The copy at once; the launch and the undercut in the digest; none twice.
    assert sorted(d for d, _ in sent) == [False, True, True], sent
    assert len({k for _, k in sent}) == 3
