"""The daemon (``watcher run``).

When each shop is due lives in the database (:mod:`watcher.store.fleet`), so one daemon
or several sharing a PostgreSQL database run the same way: every second an instance
claims due shops with a row lease (at most ``concurrency`` checks at once), checks them,
and schedules the next check one interval later plus jitter. APScheduler drives the
housekeeping: the claim pass, the heartbeat that renews leases, and redelivery of
undelivered alerts. A SQLite file serves one daemon (a file lock refuses a second).

Stopping: on SIGTERM/SIGINT no new check starts; checks in flight get
:data:`STOP_GRACE` seconds, then are cancelled (recorded as cancelled, the shop stays due,
stored events stay pending, an alert batch being sent keeps its outbox lease), leases are
released and the process exits 0. A second signal exits at once; a watchdog ends the
process at :data:`STOP_DEADLINE` whatever is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from watcher import when
from watcher.app import App, open_app
from watcher.config import Config, ShopConfig
from watcher.errors import StorageError
from watcher.store.fleet import Claim, FleetStore, Me, sqlite_daemon_lock
from watcher.store.host_slots import PgHostSlots
from watcher.store.retention import keep_history

POLL = 1.0
"""Seconds between claim passes, plus up to half of it at random (a check finishing on a
full instance starts one at once)."""
RETRY_EVERY = timedelta(minutes=1)
PRUNE_EVERY = timedelta(hours=1)
"""How often the daemon asks whether the daily history pass is due (a ``meta`` row
decides, shared by every instance and by ``watcher check``)."""
PRUNE_FIRST = timedelta(minutes=1)
"""The first ask comes after the first checks, not in their way."""
STOP_GRACE = 4.0
"""Seconds checks in flight may take to finish after a stop signal before they are cancelled."""
STOP_DEADLINE = 8.5
"""Seconds after the first stop signal at which the process ends, finished or not (Docker
sends SIGKILL at 10)."""
ANNOUNCE = 30
"""Shops listed one per line at start; `watcher status` lists any number."""


def identity(config: Config) -> Me:
    """Who this process is in the ``instance`` table."""
    host = socket.gethostname()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    try:
        ver = version("watcher")
    except PackageNotFoundError:
        ver = ""
    pid = os.getpid()
    return Me(
        id=f"{host[:80]}:{pid}:{secrets.token_hex(3)}",
        host=host[:255],
        boot=boot[:64],
        pid=pid,
        version=ver[:32],
        lease=config.watcher.lease,
    )


class Daemon:
    """``watcher run``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.me = identity(config)
        self.shops = {s.name: s for s in config.shops}
        self.tz = ZoneInfo(config.watcher.timezone)
        self.stopping = asyncio.Event()
        self.inflight: dict[str, asyncio.Task[None]] = {}
        self.checks = 0
        self.cap = max(config.watcher.concurrency, 1)
        self.shortest = min([self.interval(s) for s in config.shops] or [config.watcher.interval])
        self._app: App | None = None
        self._fleet: FleetStore | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._stop_at = time.monotonic()

    def interval(self, shop: ShopConfig) -> timedelta:
        """The shop's check interval."""
        return shop.interval or self.config.watcher.interval

    # --- the claim pass ---------------------------------------------------------------

    def _fill(self) -> None:
        """Claim due shops up to the free check slots and start their checks."""
        if self.stopping.is_set() or self._fleet is None:
            return
        free = self.cap - len(self.inflight)
        if free <= 0:
            return
        try:
            claims, unknown = self._fleet.claim(self.me, free, self.shops)
        except StorageError as e:
            logger.error("cannot read the schedule, will try again: {}", e)
            return
        for name in unknown:
            logger.warning(
                "{}: scheduled in the database but not in this config (removed, or another"
                " instance runs a different config); left alone for an hour",
                name,
            )
        for claim in claims:
            self.inflight[claim.shop] = asyncio.get_running_loop().create_task(
                self._check(claim), name=f"check {claim.shop}"
            )

    async def _fill_job(self) -> None:
        self._fill()

    async def _check(self, claim: Claim) -> None:
        assert self._app is not None and self._fleet is not None
        shop = self.shops[claim.shop]
        logger.debug("{}: check starting", shop.name)
        status = "failed"
        try:
            report = await self._app.runner.check([shop])
            self.checks += 1
            mine = [r.status for r in report.results if r.shop.name == shop.name]
            status = mine[0] if mine else "failed"
            if report.findings:
                logger.info("{}: {} new finding(s)", shop.name, len(report.findings))
                self._plan_wake()
        except asyncio.CancelledError:
            self.inflight.pop(shop.name, None)
            with contextlib.suppress(StorageError):
                self._fleet.release(self.me, [shop.name])
            logger.warning(
                "{}: check cancelled (watcher is stopping); it stays due and runs first on"
                " the next start or on another instance",
                shop.name,
            )
            raise
        except StorageError as e:
            logger.error("{}: database unavailable, will retry on the next run: {}", shop.name, e)
        except Exception:  # the daemon survives any one check crashing
            logger.exception("{}: check crashed; the next run will try again", shop.name)
        was_full = len(self.inflight) >= self.cap
        self.inflight.pop(shop.name, None)
        try:
            due = self._fleet.finish(
                self.me,
                claim,
                status,
                interval=self.interval(shop),
                jitter=self.config.watcher.jitter,
            )
        except StorageError as e:
            logger.error(
                "{}: could not record the check in the schedule (it runs again when its"
                " lease ends): {}",
                shop.name,
                e,
            )
        else:
            if due is None:
                logger.warning(
                    "{}: another instance took this shop over during the check (this one's"
                    " lease ran out: a stalled process or database); it schedules it now",
                    shop.name,
                )
            else:
                logger.info("{}: next check {}", shop.name, self._due(due))
        if was_full:
            # A freed slot is used at once; otherwise the next pass claims, so an instance
            # that finishes checks often does not claim more than its share.
            self._fill()

    def _due(self, moment: datetime) -> str:
        assert self._fleet is not None
        return when.due(moment, self._fleet.now(), self.tz)

    # --- housekeeping -----------------------------------------------------------------

    async def _heartbeat(self) -> None:
        assert self._fleet is not None
        try:
            self._fleet.heartbeat(self.me)
        except StorageError as e:
            logger.error(
                "heartbeat failed ({}); if this lasts {}, other instances take over the"
                " checks in flight",
                e,
                when.span(self.me.lease),
            )

    async def _retry_deliveries(self) -> None:
        if self.stopping.is_set() or self._app is None:
            return
        try:
            await self._app.outbox.flush()
        except Exception:
            logger.exception("alert retry failed")
        self._plan_wake()

    async def _prune(self) -> None:
        if self.stopping.is_set() or self._app is None:
            return
        await keep_history(
            self._app.store.retention, self.config.watcher.keep_history, self.stopping
        )

    def _plan_wake(self) -> None:
        """Wake when the next held alert is due (a digest slot), whether or not a check
        or the minutely retry pass runs then."""
        if self._app is None or self._scheduler is None or self.stopping.is_set():
            return
        try:
            due = self._app.outbox.next_due()
        except StorageError as e:
            logger.error("cannot read when alerts are due: {}", e)
            return
        now = datetime.now(UTC)
        if due is None or due <= now:
            return  # due now: the retry pass sends it
        job = self._scheduler.get_job("alerts:due")
        if job is not None and job.next_run_time is not None and job.next_run_time <= due:
            return
        self._scheduler.add_job(
            self._retry_deliveries,
            DateTrigger(run_date=due),
            id="alerts:due",
            replace_existing=True,
            misfire_grace_time=None,
        )
        logger.debug("alerts: next delivery due {}", when.local(due, self.tz))

    def _announce(self, reaped: list[str]) -> None:
        """Say what will happen: who shares the work, when each shop is next due."""
        assert self._fleet is not None
        if reaped:
            logger.info(
                "released the checks of {} stopped instance(s) of this machine: {}",
                len(reaped),
                ", ".join(reaped),
            )
        others = [i for i in self._fleet.instances() if i.alive and i.id != self.me.id]
        if others:
            logger.info(
                "sharing the work with {} other instance(s): {}",
                len(others),
                ", ".join(i.id for i in others),
            )
        if self._fleet.postgres and self.me.lease > self.shortest:
            logger.warning(
                "lease ({}) is longer than the shortest interval ({}): the shops of an"
                " instance that dies wait up to the lease before another takes them over",
                when.span(self.me.lease),
                when.span(self.shortest),
            )
        slots = self._fleet.schedule(list(self.shops))
        now = self._fleet.now()
        for s in slots[:ANNOUNCE]:
            who = f", checked by {s.owner}" if s.owner else ""
            logger.info("{}: next check {}{}", s.shop, when.due(s.due_at, now, self.tz), who)
        if len(slots) > ANNOUNCE:
            logger.info(
                "... and {} more shop(s), the next at {}; `watcher status` lists them all",
                len(slots) - ANNOUNCE,
                when.local(slots[ANNOUNCE].due_at, self.tz),
            )

    # --- the run ----------------------------------------------------------------------

    async def run(self) -> int:
        """Run until a stop signal; returns the exit code."""
        self._watch_signals(asyncio.get_running_loop())
        lock = sqlite_daemon_lock(self.config.watcher.database, self.me)
        slots: PgHostSlots | None = None
        try:
            slots = await self._host_slots()
            async with open_app(self.config, host_slots=slots) as app:
                self._app, self._fleet = app, FleetStore(app.store.engine)
                reaped = self._fleet.register(self.me, exclusive=lock is not None)
                try:
                    await self._serve(reaped)  # returns once stopping
                finally:
                    await self._drain()
                    try:
                        self._fleet.deregister(self.me)
                    except StorageError as e:
                        logger.error("could not release this instance's leases: {}", e)
        finally:
            if slots is not None:
                await slots.aclose()
            if lock is not None:
                lock.release()
        logger.info("watcher stopped after {} check(s)", self.checks)
        return 0

    def _spread(self, shop: ShopConfig) -> timedelta:
        return min(self.config.watcher.jitter, self.interval(shop) / 4)

    async def _host_slots(self) -> PgHostSlots | None:
        """On PostgreSQL, per-host slots shared by every instance on the database."""
        url = self.config.watcher.database
        try:
            if make_url(url).get_backend_name() != "postgresql":
                return None
        except ArgumentError:
            return None  # the store names the bad URL
        import psycopg

        try:
            return await PgHostSlots.open(url)
        except psycopg.Error as e:
            raise StorageError(f"cannot open the database: {e}") from None

    async def _serve(self, reaped: list[str]) -> None:
        assert self._fleet is not None
        # A new shop's first check: staggered by a fraction of a second each (at most 5 s),
        # plus jitter; a shop scheduled before keeps its time, but never later than one
        # interval from now (its interval may have been shortened).
        first = {
            s.name: timedelta(
                seconds=min(i * 0.2, 5) + random.uniform(0, self._spread(s).total_seconds())
            )
            for i, s in enumerate(self.config.shops)
        }
        latest = {s.name: self.interval(s) + self._spread(s) for s in self.config.shops}
        self._fleet.ensure(first, latest)
        self._announce(reaped)
        scheduler = self._scheduler = AsyncIOScheduler(timezone="UTC")
        every = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        # Passes drift at random: a shop goes to whichever instance looks first after it
        # is due, and with fixed phases one instance would be first for most due times.
        scheduler.add_job(
            self._fill_job,
            IntervalTrigger(seconds=POLL, jitter=POLL / 2),
            id="fleet:claim",
            **every,
        )
        scheduler.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=max(self.me.lease.total_seconds() / 3, 0.3)),
            id="fleet:heartbeat",
            **every,
        )
        scheduler.add_job(
            self._retry_deliveries,
            IntervalTrigger(seconds=RETRY_EVERY.total_seconds()),
            id="alerts:retry",
            **every,
        )
        if self.config.watcher.keep_history:
            scheduler.add_job(
                self._prune,
                IntervalTrigger(seconds=PRUNE_EVERY.total_seconds()),
                id="history:prune",
                next_run_time=datetime.now(UTC) + PRUNE_FIRST,
                **every,
            )
        scheduler.start()
        logger.info(
            "watcher running: {} shop(s), {} alert channel(s), instance {}",
            len(self.config.shops),
            len(self.config.alerts),
            self.me.id,
        )
        self._plan_wake()  # digests held before a restart
        self._fill()
        try:
            await self.stopping.wait()
        finally:
            # The heartbeat keeps the leases of the checks still finishing.
            with contextlib.suppress(Exception):
                scheduler.remove_job("fleet:claim")
                scheduler.remove_job("alerts:retry")
            with contextlib.suppress(Exception):
                scheduler.remove_job("history:prune")
            with contextlib.suppress(Exception):
                scheduler.remove_job("alerts:due")

    async def _drain(self) -> None:
        """Give checks in flight :data:`STOP_GRACE` to finish, then cancel them."""
        tasks = list(self.inflight.values())
        if tasks:
            logger.info("waiting up to {:.0f}s for {} check(s) in flight", STOP_GRACE, len(tasks))
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.5)
        if self._app is not None:
            # Alert sends the cancelled checks left running finish (within the deadline).
            left = STOP_DEADLINE - 1.0 - (time.monotonic() - self._stop_at)
            if await self._app.outbox.settle(left):
                logger.warning("an alert send did not finish; it is sent again after its lease")
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)

    # --- signals ----------------------------------------------------------------------

    def _watch_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        """Handle SIGTERM/SIGINT on a thread of their own: the C-level handler writes each
        signal to a pipe at once, so the first one starts the deadline and the second one
        ends the process even while the event loop is busy."""
        read, write = os.pipe()
        os.set_blocking(write, False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _ignore)  # the pipe carries them
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)

        def watch() -> None:
            count = 0
            while True:
                try:
                    data = os.read(read, 16)
                except OSError:
                    return
                for signum in data:
                    if signum not in (signal.SIGTERM, signal.SIGINT):
                        continue
                    count += 1
                    name = signal.Signals(signum).name
                    if count > 1:
                        os.write(2, f"\nwatcher: second {name}, exiting now\n".encode())
                        os._exit(128 + signum)
                    timer = threading.Timer(STOP_DEADLINE, _force_exit)
                    timer.daemon = True
                    timer.start()
                    with contextlib.suppress(RuntimeError):  # the loop has closed already
                        loop.call_soon_threadsafe(self._stop, name)

        threading.Thread(target=watch, name="watcher-signals", daemon=True).start()

    def _stop(self, name: str) -> None:
        self._stop_at = time.monotonic()
        logger.info(
            "received {}, stopping: no new checks, {} in flight (a second signal exits at once)",
            name,
            len(self.inflight),
        )
        self.stopping.set()


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler: nothing (the watcher thread acts on the wakeup pipe)."""


def _force_exit() -> None:
    os.write(2, f"\nwatcher: could not stop within {STOP_DEADLINE:.1f}s, exiting\n".encode())
    os._exit(1)
