"""The daemon: one APScheduler job per shop on its interval plus jitter, never two checks
of a shop at once, missed runs coalesced, and a retry job for undelivered alerts. On
SIGTERM/SIGINT it stops scheduling, lets in-flight checks finish and exits 0."""

from __future__ import annotations

import asyncio
import random
import signal
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from watcher.app import App, open_app
from watcher.config import Config, ShopConfig
from watcher.errors import StorageError

RETRY_EVERY = timedelta(minutes=1)
SHUTDOWN_GRACE = 300.0


class Daemon:
    """``watcher run``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.stopping = asyncio.Event()
        self.inflight: set[asyncio.Task[object]] = set()
        self.checks = 0

    async def _check(self, app: App, shop: ShopConfig) -> None:
        if self.stopping.is_set():
            return
        task = asyncio.current_task()
        assert task is not None
        self.inflight.add(task)  # type: ignore[arg-type]
        logger.debug("{}: check starting", shop.name)
        try:
            report = await app.runner.check([shop])
            self.checks += 1
            if report.findings:
                logger.info("{}: {} new finding(s)", shop.name, len(report.findings))
        except asyncio.CancelledError:
            raise
        except StorageError as e:
            logger.error("{}: database unavailable, will retry on the next run: {}", shop.name, e)
        except Exception:  # the daemon survives any one check crashing
            logger.exception("{}: check crashed; the next run will try again", shop.name)
        finally:
            self.inflight.discard(task)  # type: ignore[arg-type]

    async def _retry_deliveries(self, app: App) -> None:
        if self.stopping.is_set():
            return
        try:
            await app.outbox.flush()
        except Exception:
            logger.exception("alert retry failed")

    def _schedule(self, scheduler: AsyncIOScheduler, app: App) -> None:
        now = datetime.now(UTC)
        jitter = self.config.watcher.jitter.total_seconds()
        for i, shop in enumerate(self.config.shops):
            interval = shop.interval or self.config.watcher.interval
            spread = random.uniform(0, min(jitter, interval.total_seconds() / 4))
            first = now + timedelta(seconds=min(i * 0.2, 5) + spread)
            scheduler.add_job(
                self._check,
                IntervalTrigger(
                    seconds=interval.total_seconds(), jitter=int(jitter) or None, timezone=UTC
                ),
                args=[app, shop],
                id=f"shop:{shop.name}",
                name=f"check {shop.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(max(interval.total_seconds(), 1)),
                next_run_time=first,
            )
        scheduler.add_job(
            self._retry_deliveries,
            IntervalTrigger(seconds=RETRY_EVERY.total_seconds(), timezone=UTC),
            args=[app],
            id="alerts:retry",
            max_instances=1,
            coalesce=True,
        )

    async def run(self) -> int:
        """Run until a stop signal; returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        async with open_app(self.config) as app:
            scheduler = AsyncIOScheduler(timezone=UTC)
            self._schedule(scheduler, app)
            scheduler.start()
            logger.info(
                "watcher running: {} shop(s), {} alert channel(s)",
                len(self.config.shops),
                len(self.config.alerts),
            )
            await self.stopping.wait()
            # Pause first: shutting the scheduler down would cancel the running jobs.
            scheduler.pause()
            if self.inflight:
                logger.info("finishing {} check(s) in flight", len(self.inflight))
                _, pending = await asyncio.wait(set(self.inflight), timeout=SHUTDOWN_GRACE)
                for t in pending:
                    t.cancel()
            scheduler.shutdown(wait=False)
            logger.info("watcher stopped after {} check(s)", self.checks)
        return 0

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.stopping.is_set():
            logger.info("received {}, shutting down", sig.name)
            self.stopping.set()
