"""Hostile shops against the real `watcher check`: wall time and peak RSS per scenario.

Each scenario starts the sample marketplace, sets one hostile fault (issue 9) and runs one
`watcher check` (``timeout = "2s"``) in a fresh process that reports its peak RSS
(``VmHWM``). The same scenarios, with their limits, are the regression tests in
``tests/test_hostile.py``.

    .venv/bin/python bench/bench_hostile.py
    PYTHONPATH=/path/to/other/checkout .venv/bin/python bench/bench_hostile.py  # compare

Prints one JSON line per scenario.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.test_hostile import check  # noqa: E402
from watcher.demo import Marketplace  # noqa: E402
from watcher.demo.catalog import FAWN, MARKET, OWN, URBAN  # noqa: E402

ALL = (OWN, URBAN, FAWN, MARKET)
SCENARIOS: dict[str, list[tuple[str, str, str]]] = {
    # name: [(shop, fault mode, paths regex)]
    "clean": [],
    "drip_shop": [(URBAN, "drip", "")],
    "drip_photos": [(s, "drip", r"^/cdn/") for s in ALL],
    "gzip_stack": [(URBAN, "gzip_stack", "")],
    "huge_photos": [(s, "huge_images", "") for s in ALL],
    "huge_dom": [(FAWN, "huge_dom", "")],
}


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios named by ``--only`` (all by default)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(SCENARIOS))
    p.add_argument("--limit", type=float, default=120.0, help="seconds before giving up")
    args = p.parse_args(argv)
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory() as tmp, Marketplace() as market:
            for shop, mode, paths in SCENARIOS[name]:
                market.set_fault(shop, mode, paths=paths)
            try:
                run = check(market, Path(tmp), limit=args.limit)
                result = {
                    "scenario": name,
                    "exit_code": run.code,
                    "seconds": round(run.seconds, 1),
                    "peak_rss_mb": round(run.peak_mb, 1),
                    "failed": sorted(s for s in ALL if run.failed(s)),
                }
            except subprocess.TimeoutExpired:
                result = {"scenario": name, "seconds": f"> {args.limit:g} (killed)"}
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
