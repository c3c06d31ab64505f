"""A small pool of worker processes for the CPU-bound, pure work of a large check
(product photos decoded, hashed and shrunk), so a check uses every core while the event
loop keeps fetching.

- Started only when a check has enough such work to pay for it (a worker costs ~0.3 s of
  CPU and ~40 MB to start): small checks never start one.
- Spawned, never forked: the parent has threads (parsers, the image thread, SQLite) and
  a fork would copy their locks mid-use.
- Bounded: at most :data:`WORKERS` processes, each running one task at a time (a photo's
  decode is bounded by :mod:`watcher.images`); a worker that dies (a codec crashing on a
  hostile photo, the OOM killer) fails only the tasks it had, and the next call starts a
  fresh pool. (Workers are not recycled after N tasks: ``max_tasks_per_child`` can leave
  CPython 3.11's pool with no worker and its caller waiting forever.)

Functions sent here must be module-level, their arguments and results picklable.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar, TypeVarTuple, Unpack

__all__ = [
    "WORKERS",
    "WORTH_BYTES",
    "WorkerError",
    "run",
    "shutdown",
    "started",
    "worth",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

WORKERS = max(1, min(2, (os.cpu_count() or 2) - 1))
"""Worker processes at most: one core is the event loop's (and the database's), the others
up to two run workers (each costs ~60 MB: one on a 2-core machine)."""

WORTH_BYTES = 4 * 1024 * 1024
"""Bytes of pages offered within :data:`WORTH_WINDOW` seconds from which a check counts as
large (pages go to the workers): ~10 full catalog pages, ~0.25 s of parsing."""
WORTH_WINDOW = 10.0

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()
_offered: deque[tuple[float, int]] = deque()
_offered_bytes = 0


class WorkerError(Exception):
    """A worker process died while it ran the task (the task's result is unknown)."""


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
            )
        return _pool


def worth(nbytes: int) -> bool:
    """Whether a page of ``nbytes`` should be read in a worker: yes once the pages offered
    in the last :data:`WORTH_WINDOW` seconds reach :data:`WORTH_BYTES` (a large check;
    a daemon checking a few small shops never starts a worker), or while the pool of a
    large check is running anyway."""
    global _offered_bytes
    now = time.monotonic()
    _offered.append((now, nbytes))
    _offered_bytes += nbytes
    while _offered and _offered[0][0] < now - WORTH_WINDOW:
        _offered_bytes -= _offered.popleft()[1]
    return _offered_bytes >= WORTH_BYTES or (_pool is not None and nbytes >= 64 * 1024)


def started() -> bool:
    """Whether the worker pool is running (for tests and the benchmarks)."""
    return _pool is not None


async def run(fn: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
    """``fn(*args)`` in a worker process; :class:`WorkerError` when the worker died under
    it (the pool is replaced for the next call)."""
    global _pool
    pool = _executor()
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool, fn, *args)
    except BrokenProcessPool as e:
        with _lock:
            if _pool is pool:
                _pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        raise WorkerError(f"a worker process died running {getattr(fn, '__name__', fn)}") from e


def shutdown() -> None:
    """Stop the worker processes (the next :func:`run` starts new ones)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
