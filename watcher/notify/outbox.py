"""The outbox: dedup -> queue per channel -> group -> deliver -> record, with retries.

Delivery rule: every alert is delivered once per channel in normal operation. A
delivery is claimed with a lease before sending and recorded as sent right after; if the
process dies between the receiver accepting the message and the record, the lease runs
out and the message is sent again: at most one duplicate per crash, never a loss.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from loguru import logger

from watcher.config import AlertConfig
from watcher.errors import DeliveryError, StorageError
from watcher.models import AlertBatch, Finding, Severity
from watcher.notify.channels import Channel, channel_kinds
from watcher.store import Store
from watcher.store.db import utcnow

LEASE = timedelta(minutes=3)
"""How long a claimed delivery is held back from other processes: longer than the slowest
paced multi-message send, short enough that a restarted daemon resends soon after a crash."""
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)


def accepts(cfg: AlertConfig, finding: Finding) -> bool:
    """Whether a channel's ``kinds`` and ``min_severity`` filters let ``finding`` through."""
    if cfg.kinds and finding.kind not in cfg.kinds:
        return False
    return finding.severity.rank >= Severity(cfg.min_severity).rank


def backoff(
    attempts: int, retry_after: float | None = None, first: timedelta = BACKOFF_BASE
) -> timedelta:
    """Exponential backoff with jitter (``first`` doubled per attempt, at most 6 hours), and
    at least what the receiver asked for."""
    base = min(first * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    delay = base * (0.5 + random.random() / 2)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


@dataclass(slots=True)
class FlushReport:
    """What one flush did, per channel."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class Outbox:
    """Records findings and delivers them to every configured channel."""

    def __init__(
        self,
        store: Store,
        alerts: Sequence[AlertConfig],
        client: httpx.AsyncClient,
        *,
        retry_first: timedelta = BACKOFF_BASE,
    ) -> None:
        self.store = store
        self.retry_first = retry_first
        kinds = channel_kinds()
        self.channels: dict[str, tuple[AlertConfig, Channel]] = {
            a.name: (a, kinds[a.kind](a.options, client)) for a in alerts
        }

    def record(self, findings: Sequence[Finding]) -> list[Finding]:
        """Store findings; return only those never raised before (by ``dedup_key``)."""
        filters = {
            name: (lambda f, c=cfg: accepts(c, f)) for name, (cfg, _) in self.channels.items()
        }
        return [f for _, f in self.store.add_findings(findings, filters)]

    async def flush(self) -> FlushReport:
        """Deliver every due delivery: one grouped message per channel."""
        report = FlushReport()
        for name, (_, channel) in self.channels.items():
            try:
                claimed = self.store.claim_due(name, LEASE)
            except StorageError as e:
                logger.error("outbox: cannot read deliveries for {}: {}", name, e)
                continue
            if not claimed:
                continue
            ids = [d for d, _ in claimed]
            batch = AlertBatch([f for _, f in claimed])
            try:
                await channel.send(batch)
            except DeliveryError as e:
                attempts = self.store.attempts(ids) + 1
                retry_at = (
                    utcnow() + backoff(attempts, e.retry_after, self.retry_first)
                    if e.retryable
                    else None
                )
                self.store.mark_failed(ids, str(e), retry_at=retry_at)
                report.failed[name] = str(e)
                if e.retryable:
                    logger.warning(
                        "alerts to {} failed (attempt {}), retry at {:%H:%M:%S}: {}",
                        name,
                        attempts,
                        retry_at,
                        e,
                    )
                else:
                    logger.error("alerts to {} failed permanently: {}", name, e)
                continue
            except Exception as e:  # a channel bug must not lose alerts: retry later
                attempts = self.store.attempts(ids) + 1
                self.store.mark_failed(
                    ids,
                    f"{type(e).__name__}: {e}",
                    retry_at=utcnow() + backoff(attempts, None, self.retry_first),
                )
                logger.exception("alerts to {} crashed", name)
                report.failed[name] = str(e)
                continue
            self.store.mark_sent(ids)
            report.sent[name] = len(ids)
            logger.info("delivered {} alert(s) to {}", len(ids), name)
        return report
