"""``watcher test-alert``: one sample alert to every channel."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from watcher.cli.command import Command, Exit, UsageError
from watcher.models import AlertBatch, Finding, Severity

if TYPE_CHECKING:
    from watcher.config import Config


def sample_finding() -> Finding:
    """The finding ``watcher test-alert`` sends."""
    from watcher.detectors.reviews import ReviewDetail

    now = datetime.now(UTC)
    return Finding(
        kind="negative_review",
        severity=Severity.HIGH,
        shop="watcher test",
        listing={
            "url": "https://example.com/products/sample",
            "title": "Sample listing 示例商品",
            "price": 89.0,
            "currency": "CNY",
        },
        summary="Test alert from watcher: if you can read this, this channel works.",
        detail=ReviewDetail(
            rating=1,
            text="This is a test alert. 这是一条测试提醒。",
            author="watcher",
            published_at=now.isoformat(),
            reason="rating",
        ),
        dedup_key=f"test-alert:{now.isoformat()}",
        detected_at=now,
    )


async def _send_all(config: Config) -> int:
    """Send the sample to each channel directly (not stored); how many failed."""
    import httpx

    from watcher.errors import DeliveryError
    from watcher.i18n import audience
    from watcher.notify.channels import channel_kinds

    failed = 0
    words = audience(config.watcher.language, config.watcher.timezone)
    async with httpx.AsyncClient(timeout=config.watcher.timeout.total_seconds()) as client:
        for a in config.alerts:
            channel = channel_kinds()[a.kind](a.options, client)
            try:
                await channel.send(AlertBatch([sample_finding()], audience=words))
                print(f"{a.name}: sent", file=sys.stderr)
            except DeliveryError as e:
                failed += 1
                print(f"{a.name}: FAILED: {config.secrets.redact(str(e))}", file=sys.stderr)
    return failed


class TestAlert(Command):
    """Check every channel's address, credentials and format in one go."""

    __test__ = False  # not a pytest test class, whatever its name

    name = "test-alert"
    help = "send one sample alert to every channel"

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0 when every channel took it; 1 when one failed; 2 without channels."""
        assert config is not None
        if not config.alerts:
            raise UsageError("no [[alerts]] configured")
        return Exit.FAILED if asyncio.run(_send_all(config)) else Exit.OK
