"""A small pool of worker processes for the CPU-bound, pure work of a large check
(product photos decoded, hashed and shrunk), so a check uses every core while the event
loop keeps fetching.

- Started only when a check has enough such work to pay for it (a worker costs ~0.3 s of
  CPU and ~40 MB to start): small checks never start one.
- Spawned, never forked: the parent has threads (parsers, the image thread, SQLite) and
  a fork would copy their locks mid-use.
- Bounded: at most :data:`WORKERS` processes, each replaced after
  :data:`TASKS_PER_WORKER` tasks, so whatever a decode left in its heap goes back to the
  system; a worker that dies (a codec crashing on a hostile photo, the OOM killer) fails
  only the tasks it had, and the next call starts a fresh pool.

Functions sent here must be module-level, their arguments and results picklable.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar, TypeVarTuple, Unpack

__all__ = ["TASKS_PER_WORKER", "WORKERS", "WorkerError", "run", "shutdown", "started"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Worker processes at most: the machine's cores, up to two (the event loop needs one)."""

TASKS_PER_WORKER = 400
"""Tasks a worker runs before it is replaced (its memory returned to the system)."""

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


class WorkerError(Exception):
    """A worker process died while it ran the task (the task's result is unknown)."""


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=TASKS_PER_WORKER,
            )
        return _pool


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
