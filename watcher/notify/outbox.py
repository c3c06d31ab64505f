"""The outbox: dedup -> queue per channel -> group -> deliver -> record, with retries.

Delivery rule: every alert is delivered once per channel in normal operation. A
delivery is claimed with a lease before sending and recorded as sent right after; if the
process dies between the receiver accepting the message and the record, the lease runs
out and the message is sent again: at most one duplicate per crash, never a loss.

One refused alert does not fail the others: when a receiver refuses a batch of several
alerts for good (a WAF answering 403 to one review's text), the batch is sent again in
halves, and halves of the refused halves, until the refused alerts stand alone; the rest
are delivered once. A channel that refuses everything costs a bounded number of tries
(:func:`probe_budget`); the alerts of a multi-message batch that reached the receiver
before a failure (``DeliveryError.delivered``) are recorded as sent, never resent.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from loguru import logger

from watcher import when
from watcher.config import AlertConfig
from watcher.errors import DeliveryError, StorageError
from watcher.i18n import ENGLISH, Audience
from watcher.models import AlertBatch, DigestView, Evidence, Finding, Severity
from watcher.notify.channels import Channel, channel_kinds
from watcher.notify.digest import next_slot, view_for
from watcher.store.db import utcnow
from watcher.store.outbox import OutboxStore

LEASE = timedelta(minutes=3)
"""How long a claimed delivery is held back from other processes: longer than the slowest
paced multi-message send, short enough that a restarted daemon resends soon after a crash."""
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
RETRY_AFTER_MAX = timedelta(days=1)
"""The longest wait a receiver's ``Retry-After`` is honoured with."""

Claimed = list[tuple[int, Finding]]


def accepts(cfg: AlertConfig, finding: Finding) -> bool:
    """Whether a channel's ``kinds`` and ``min_severity`` filters let ``finding`` through."""
    if cfg.kinds and finding.kind not in cfg.kinds:
        return False
    return finding.severity.rank >= Severity(cfg.min_severity).rank


def held(cfg: AlertConfig, finding: Finding) -> bool:
    """Whether a channel holds ``finding`` for its digest (not one of its ``immediate``)."""
    return cfg.digest is not None and finding.kind not in cfg.immediate


def backoff(
    attempts: int, retry_after: float | None = None, first: timedelta = BACKOFF_BASE
) -> timedelta:
    """Exponential backoff with jitter (``first`` doubled per attempt, at most 6 hours), and
    at least what the receiver asked for."""
    base = min(first * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    delay = base * (0.5 + random.random() / 2)
    if retry_after is not None:
        asked = min(retry_after, RETRY_AFTER_MAX.total_seconds())
        delay = max(delay, timedelta(seconds=asked))
    return delay


def probe_budget(alerts: int) -> int:
    """How many sends one claimed batch of ``alerts`` may take: enough to bisect a
    refused batch down to two refused alerts (about 4·log2 n), few enough that a channel
    refusing everything is not flooded."""
    return 1 if alerts <= 1 else 2 + 4 * math.ceil(math.log2(alerts))


@dataclass(slots=True)
class FlushReport:
    """What one flush did, per channel."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _report_orphan(task: asyncio.Future[None]) -> None:
    """A send that went on after its flush was cancelled has no caller to raise to."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("alert send failed after its flush was cancelled: {}", task.exception())


class Outbox:
    """Records findings and delivers them to every configured channel."""

    def __init__(
        self,
        store: OutboxStore,
        alerts: Sequence[AlertConfig],
        client: httpx.AsyncClient | None,
        *,
        retry_first: timedelta = BACKOFF_BASE,
        audience: Audience = ENGLISH,
        evidence: Callable[[Sequence[Finding]], Mapping[str, Evidence]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        view: DigestView | None = None,
    ) -> None:
        self.store = store
        self.retry_first = retry_first
        self.audience = audience
        """Language and time zone every message is written in (a digest's slots too)."""
        self.evidence = evidence
        """Reads what alerts show beyond their findings (dashboard pages, photos)."""
        self.clock = clock
        """Now (aware): when deliveries are due, held and retried; tests control it."""
        self.view = view or DigestView()
        """What digests link to (the dashboard's URL)."""
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """Paces the sends of one flush to a channel; tests replace it."""
        self._sending: set[asyncio.Future[None]] = set()
        self.channels: dict[str, tuple[AlertConfig, Channel]] = {}
        if alerts:  # no channel plugin is imported, and no client needed, without alerts
            if client is None:
                raise ValueError("alert channels need an HTTP client")
            kinds = channel_kinds()
            self.channels = {a.name: (a, kinds[a.kind](a.options, client)) for a in alerts}

    def record(self, findings: Sequence[Finding]) -> list[Finding]:
        """Store findings; return only those never raised before (by ``dedup_key``). A
        digest channel's deliveries are due at its next slot (its ``immediate`` kinds now)."""
        now = self.clock()
        due: dict[str, Callable[[Finding], bool | datetime]] = {}
        for name, (cfg, _) in self.channels.items():
            slot = next_slot(cfg.digest, now, self.audience.tz) if cfg.digest is not None else now

            def when(f: Finding, c: AlertConfig = cfg, at: datetime = slot) -> bool | datetime:
                if not accepts(c, f):
                    return False
                return at if held(c, f) else True

            due[name] = when
        return [f for _, f in self.store.add_findings(findings, due, now=now)]

    def next_due(self) -> datetime | None:
        """When the earliest undelivered alert is due (a digest slot, a retry), or None."""
        return self.store.next_due(list(self.channels))

    async def flush(self) -> FlushReport:
        """Deliver every due delivery: one grouped message per channel."""
        report = FlushReport()
        for name, (cfg, channel) in self.channels.items():
            now = self.clock()
            try:
                claimed = self.store.claim_due(name, LEASE, now=now)
            except StorageError as e:
                logger.error("outbox: cannot read deliveries for {}: {}", name, e)
                continue
            if claimed:
                digest = None
                if cfg.digest is not None and any(held(cfg, f) for _, f in claimed):
                    digest = view_for(
                        self.view,
                        schedule=cfg.digest.text,
                        attaches=channel.attaches,
                        at=now,
                        a=self.audience,
                    )
                # A stop that cancels the check must not cut a send between the receiver
                # accepting it and its record (it would be sent again after the lease):
                # the send goes on by itself, and the daemon waits for it (settle).
                task = asyncio.ensure_future(self._deliver(name, channel, claimed, report, digest))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
                try:
                    await asyncio.shield(task)
                except asyncio.CancelledError:
                    task.add_done_callback(_report_orphan)
                    raise
        return report

    async def settle(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for sends whose flush was cancelled; returns how
        many are still running (their deliveries keep their lease and are sent again
        after it: at most one duplicate)."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=max(timeout, 0))
        return len(self._sending)

    async def _deliver(
        self,
        name: str,
        channel: Channel,
        claimed: Claimed,
        report: FlushReport,
        digest: DigestView | None = None,
    ) -> None:
        """Send the claimed deliveries as one batch; a batch refused for good is sent
        again in halves (see the module docstring)."""
        parts = [claimed]
        evidence = self._evidence([f for _, f in claimed])
        budget, sends = probe_budget(len(claimed)), 0
        deadline = time.monotonic() + LEASE.total_seconds() / 2
        refused: DeliveryError | None = None
        while parts:
            part = parts.pop(0)
            if refused is not None and (sends >= budget or time.monotonic() > deadline):
                # Out of tries: what is left fails as refused (the channel may refuse
                # everything); out of time: it waits for the next flush, inside the lease.
                rest = part + [x for p in parts for x in p]
                if sends >= budget:
                    self._failed(name, rest, refused, report)
                else:
                    late = DeliveryError(f"{refused} (the rest is tried again later)")
                    self._failed(name, rest, late, report)
                return
            if sends:
                await self.sleep(channel.pause)
            sends += 1
            try:
                batch = AlertBatch(
                    [f for _, f in part],
                    audience=self.audience,
                    evidence=evidence,
                    digest=digest,
                )
                await channel.send(batch)
            except DeliveryError as e:
                self._sent(name, [d for d, f in part if f.dedup_key in e.delivered], report)
                rest = [(d, f) for d, f in part if f.dedup_key not in e.delivered]
                if e.retryable:
                    self._failed(name, rest + [x for p in parts for x in p], e, report)
                    return
                if len(rest) > 1:
                    logger.warning(
                        "{} refused {} alerts for good; sending them in halves: {}",
                        name,
                        len(rest),
                        e,
                    )
                    parts[:0] = [rest[: len(rest) // 2], rest[len(rest) // 2 :]]
                    refused = e
                    continue
                self._failed(name, rest, e, report)
            except Exception as e:  # a channel bug must not lose alerts: retry later
                logger.exception("alerts to {} crashed", name)
                error = DeliveryError(f"{type(e).__name__}: {e}", retryable=True)
                self._failed(name, part + [x for p in parts for x in p], error, report)
                return
            else:
                self._sent(name, [d for d, _ in part], report)

    def _evidence(self, findings: Sequence[Finding]) -> Mapping[str, Evidence]:
        """The findings' evidence; an alert goes without it rather than not at all."""
        if self.evidence is None:
            return {}
        try:
            return self.evidence(findings)
        except StorageError as e:
            logger.warning("outbox: alerts go without their photos and links: {}", e)
            return {}

    def _sent(self, name: str, ids: Sequence[int], report: FlushReport) -> None:
        if not ids:
            return
        self.store.mark_sent(ids)
        report.sent[name] = report.sent.get(name, 0) + len(ids)
        logger.info("delivered {} alert(s) to {}", len(ids), name)

    def _failed(
        self, name: str, claimed: Claimed, error: DeliveryError, report: FlushReport
    ) -> None:
        ids = [d for d, _ in claimed]
        if not ids:
            return
        attempts = self.store.attempts(ids) + 1
        retry_at = (
            self.clock() + backoff(attempts, error.retry_after, self.retry_first)
            if error.retryable
            else None
        )
        self.store.mark_failed(ids, str(error), retry_at=retry_at)
        report.failed[name] = str(error)
        if error.retryable:
            logger.warning(
                "alerts to {} failed (attempt {}), retry at {}: {}",
                name,
                attempts,
                when.local(retry_at, self.audience.tz) if retry_at else "?",
                error,
            )
        else:
            logger.error("{} alert(s) to {} failed permanently: {}", len(ids), name, error)
