"""End to end, in Chinese: `watcher demo --language zh` prints its findings in a shop
operator's words, and a real `watcher check` sends a stolen-photo alert with its evidence:
both photos inline in the email (real SMTP server), the copy's photo in Slack and Discord
payloads (real webhook receiver), a link to the alert's dashboard page everywhere."""

from __future__ import annotations

import email.utils
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from tests.e2e import check, env, write_config
from tests.receiver import Receiver
from tests.test_e2e_alerts import Sink, _port
from watcher.demo import Marketplace

PUBLIC = "https://watch.example/base"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Sink]]:
    sink = Sink()
    port = _port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, sink
    controller.stop()


def test_demo_prints_its_findings_in_chinese() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "demo", "--language", "zh"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env(),
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for word in ("同款/盗图", "盗图", "差评", "上新", "降价", "缺货", "重要程度", "摘要"):
        assert word in out, word
    assert "第 3 步" in out and "watcher init watcher.toml" in out
    assert "收到新的 1★ 差评" in out and "没有变化" in out, "the timeline is told in Chinese"
    for english in (
        "Copied listing",
        "Negative review",
        "Copy:",
        "has started",
        "summary",
        "Step 3",
        "Point watcher at your own shops",
        "new 1★ review on",
        "items published",
        "nothing changes",
    ):
        assert english not in out, english


def _config(market: Marketplace, tmp_path: Path, rx: Receiver, smtp_port: int) -> Path:
    extra = f"""
[serve]
public_url = "{PUBLIC}/"

[[alerts]]
kind = "email"
name = "mail"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "watcher@example.com"
to = ["owner@example.com"]
kinds = ["copied_listing"]

[[alerts]]
kind = "webhook"
name = "slack"
format = "slack"
url = "{rx.url("/slack")}"
kinds = ["copied_listing"]

[[alerts]]
kind = "webhook"
name = "discord"
format = "discord"
url = "{rx.url("/discord")}"
"""
    path = write_config(
        market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}", watcher='language = "zh"'
    )
    text = path.read_text(encoding="utf-8").replace("Asia/Shanghai", "America/New_York")
    path.write_text(text + extra, encoding="utf-8")
    return path


def _payload(rx: Receiver, path: str) -> Any:
    found = [r for r in rx.requests if r.path == path]
    assert len(found) == 1, rx.requests
    return found[0].json()


def test_stolen_photo_alert_carries_both_photos_and_its_dashboard_page(
    smtp: tuple[int, Sink], tmp_path: Path
) -> None:
    smtp_port, sink = smtp
    with Marketplace() as market, Receiver() as rx:
        run = check(_config(market, tmp_path, rx, smtp_port))
        assert run.code == 0, run.stderr
        stolen = [f for f in run.findings if f["kind"] == "copied_listing"]
        assert len(stolen) == 1 and stolen[0]["severity"] == "high"

        assert len(sink.messages) == 1
        msg = sink.messages[0]
        assert "同款" in msg["Subject"]
        sent = email.utils.parsedate_to_datetime(msg["Date"])
        assert sent.utcoffset() == datetime.now(ZoneInfo("America/New_York")).utcoffset()
        related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
        html = related.get_body(preferencelist=("html",))
        assert html is not None
        markup = html.get_content()
        images = [p for p in related.iter_parts() if p.get_content_maintype() == "image"]
        assert len(images) == 2
        for part in images:
            cid = part["Content-ID"].strip("<>")
            assert f'src="cid:{cid}"' in markup
            assert part.get_content_type() == "image/jpeg"
            data = part.get_content()
            assert data[:3] == b"\xff\xd8\xff" and len(data) > 500
        assert images[0].get_content() != images[1].get_content(), "own | copy"
        assert "你的商品图" in markup and "同款的商品图" in markup
        page = re.search(rf'href="{re.escape(PUBLIC)}/copies/(\d+)"', markup)
        assert page is not None, markup

        slack = _payload(rx, "/slack")
        section = next(b for b in slack["blocks"] if "accessory" in b)
        image = section["accessory"]
        assert image["type"] == "image" and image["image_url"].startswith("http://127.0.0.1:")
        assert f"<{PUBLIC}/copies/{page.group(1)}|在看板中查看>" in section["text"]["text"]
        text = section["text"]["text"]
        assert "盗图" in text and "|你的>" in text and "|同款的>" in text

        discord = _payload(rx, "/discord")
        embeds = discord["embeds"]
        assert len(embeds) == 3, embeds  # the stolen photo, a launch, an undercut (own #2)
        embed = next(e for e in embeds if "image" in e)
        launch = next(e for e in embeds if "上新" in e["description"])
        undercut = next(e for e in embeds if "被低价跟卖" in e["description"])
        assert "现价 ¥135.20，比你便宜 ¥33.80（−20.0%）" in undercut["description"], undercut
        assert "Your price" not in undercut["description"] and "image" not in undercut
        assert embed["image"]["url"] == image["image_url"]
        assert f"]({PUBLIC}/copies/{page.group(1)})" in embed["description"]
        assert "image" not in launch and "上新" in launch["description"]
        shop = next(f["shop"] for f in run.findings if f["kind"] == "seasonal_launch")
        query = urlencode({"kind": "seasonal_launch", "shop": shop})
        assert f"]({PUBLIC}/alerts?{query})" in launch["description"], launch

        alerts = subprocess.run(
            [sys.executable, "-m", "watcher", "alerts", "--config", str(tmp_path / "w.toml")],
            capture_output=True,
            text=True,
            timeout=60,
            env=env(),
        )
        assert alerts.returncode == 0, alerts.stderr
        assert "时间（America/New_York）" in alerts.stdout and "同款/盗图" in alerts.stdout

        market.advance()
        rx.clear()
        assert check(tmp_path / "w.toml").code == 0
        embeds = [e for r in rx.requests if r.path == "/discord" for e in r.json()["embeds"]]
        price = next(
            e for e in embeds if "降价" in e["description"] and "醋酸缎面半身裙" in e["description"]
        )
        assert re.search(rf"\]\({re.escape(PUBLIC)}/listings/\d+\)", price["description"]), price
