"""``watcher`` with prototype fixes monkeypatched in, to measure them before making them.

Used by ``compare_changedetection.py --prototype``; runs ``watcher.cli.main`` with the
command-line arguments given. Each patch stands for a change outside ``watcher/sources``
that is recommended in ``bench/results/changedetection.md``:

* ``sniffio``: httpcore asks ``import sniffio`` which library runs it on every lock it
  sets up (several per request). sniffio is not installed (anyio 4.16 no longer depends
  on it), and a failed import searches all of ``sys.path`` each time: about 1.5 ms of CPU
  per request. The fix is the dependency ``sniffio>=1.3`` in pyproject.toml; the patch
  answers "asyncio" the way sniffio would.
* ``copies``: ``CopiedListing._pairs`` (watcher/detectors/copies.py) imports
  ``watcher.text.similarity`` (numpy, rapidfuzz) before it knows whether there is any own
  listing to compare, and ``CopiedListing.detect`` imports ``watcher.images`` (numpy,
  Pillow) before it looks at the pairs: ~20 MB and ~0.3 s for a config without own shops.
  The fix moves the imports under ``if own:`` / after the first pair; the patch returns
  [] early in that case.
* ``repr``: when ``asyncio.run`` ends it restores the SIGINT handler, and
  ``signal.getsignal`` formats a ValueError with the repr of asyncio's handler, which holds
  the main task, whose repr holds ``repr(result)``: the whole ``CheckReport`` (every
  listing with its reviews, every finding) as one string, ~26 MB and ~0.25 s at 500
  listings, growing with the listings. The fix is a short ``__repr__`` on ``CheckReport``
  (watcher/runner.py: ``@dataclass(slots=True, repr=False)`` plus ``__repr__`` giving the
  counts); the patch sets that ``__repr__``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

PATCHES = ("sniffio", "copies", "repr")


def apply(names: tuple[str, ...] = PATCHES) -> None:
    """Apply the named patches."""
    if "sniffio" in names:
        import httpcore._synchronization as sync

        sync.current_async_library = lambda: "asyncio"  # only asyncio runs watcher
    if "copies" in names:
        from watcher.detectors import copies

        original = copies.CopiedListing._pairs

        def _pairs(self: Any, ctx: Any) -> list[Any]:
            if not ctx.store.own_top_listings():
                return []
            return original(self, ctx)

        copies.CopiedListing._pairs = _pairs  # type: ignore[method-assign]
        detect = copies.CopiedListing.detect

        def detect_if_pairs(self: Any, ctx: Any) -> Any:
            return detect(self, ctx) if self._pairs(ctx) else []

        copies.CopiedListing.detect = detect_if_pairs  # type: ignore[method-assign]
    if "repr" in names:
        from watcher.runner import CheckReport

        def short(self: Any) -> str:
            return f"CheckReport({len(self.results)} shops, {len(self.findings)} findings)"

        CheckReport.__repr__ = short  # type: ignore[method-assign]


if __name__ == "__main__":
    wanted = os.environ.get("WATCHER_PROTOTYPE", ",".join(PATCHES))
    apply(tuple(n for n in wanted.split(",") if n))
    from watcher.cli import main

    sys.exit(main(sys.argv[1:]))
