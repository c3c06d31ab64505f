"""Product-page reading: CPU per page, and every reading written out to compare checkouts.

Reads the real saved pages of ``/work/shared/data/product-pages`` (as ``watcher inspect``
does: no selectors, no configured currency) and ``--cdio N`` pages of the changedetection.io
harness (``bench/cdio_pages.py``, versions 0 and 1, as ``watcher check`` reads them: the
shop's currency USD, no CSS selectors of price and title).

    .venv/bin/python bench/bench_read.py --dump readings.json   # every PageReading
    .venv/bin/python bench/bench_read.py --time --rounds 5      # ms/page CPU, per set

Two dumps of two checkouts compare with ``cmp`` (or ``--diff A B``): the readings are written
in full (listing fields, price source, everything in ``Seen``), floats as ``repr``, so any
change of a reading shows. Run a checkout's script with that checkout's interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cdio_pages

from watcher.config import ShopConfig
from watcher.errors import BadResponseError, ParseError
from watcher.http import Http, Response
from watcher.inspect import default_shop
from watcher.sources.html import HtmlSource

DATA = Path("/work/shared/data/product-pages")
BASE = "http://127.0.0.1:8000/"


def _plain(value: Any) -> Any:
    """A JSON-able form of a reading's value that keeps every detail (floats by repr)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | bool):
        return value
    return repr(value)


def pages(cdio: int) -> list[tuple[str, str, bytes, ShopConfig]]:
    """(set, url, bytes, shop) of every page read: ``real`` then ``cdio``."""
    out: list[tuple[str, str, bytes, ShopConfig]] = []
    if (DATA / "truth.json").exists():
        truth: dict[str, dict[str, Any]] = json.loads((DATA / "truth.json").read_text())
        for name in sorted(truth):
            t = truth[name]
            url = str(t.get("url") or f"https://{t['site']}/")
            raw = gzip.decompress((DATA / name).read_bytes())
            out.append(("real", url, raw, default_shop(url, "html")))
    shop = default_shop(BASE, "html", currency="USD")
    for index in range(cdio):
        for version in (0, 1):
            url = f"{BASE}p/{index}"
            out.append(("cdio", url, cdio_pages.render(index, version, BASE), shop))
    return out


def _response(url: str, raw: bytes) -> Response:
    return Response(
        url=url, status=200, headers=httpx.Headers({"content-type": "text/html"}), content=raw
    )


def dump(cdio: int) -> list[dict[str, Any]]:
    """Every reading: the page, the selectors flag, and the reading or the error."""
    http = Http()
    out: list[dict[str, Any]] = []
    for kind, url, raw, shop in pages(cdio):
        src = HtmlSource(shop, http)
        for selectors in (True, False):
            try:
                got: Any = _plain(src.read_page(_response(url, raw), url, selectors=selectors))
            except (BadResponseError, ParseError) as e:
                got = f"{type(e).__name__}: {e}"
            out.append({"set": kind, "url": url, "selectors": selectors, "reading": got})
    return out


def _reader(src: HtmlSource, resp: Response, url: str) -> Callable[[], None]:
    def read() -> None:
        with contextlib.suppress(BadResponseError, ParseError):
            src.read_listing(resp, url)

    return read


def timings(cdio: int, rounds: int) -> dict[str, dict[str, Any]]:
    """ms of CPU per page for each set (``read_listing``, as a check reads): per round, and
    the mean over pages of each page's fastest read (steadier on a shared machine)."""
    http = Http()
    loaded = pages(cdio)
    work: list[tuple[str, Callable[[], Any]]] = []
    for kind, url, raw, shop in loaded:
        work.append((kind, _reader(HtmlSource(shop, http), _response(url, raw), url)))
    gc.collect()
    gc.freeze()  # as a check does once the app is wired (app.settle_heap)
    best = [float("inf")] * len(work)
    per_round: dict[str, list[float]] = {}
    for _ in range(rounds):
        spent: dict[str, float] = {}
        for n, (kind, read) in enumerate(work):
            start = time.process_time()
            read()
            took = time.process_time() - start
            spent[kind] = spent.get(kind, 0.0) + took
            best[n] = min(best[n], took)
        for kind, total in spent.items():
            per_round.setdefault(kind, []).append(total)
    out: dict[str, dict[str, Any]] = {}
    for kind, totals in per_round.items():
        mins = [b for (k, _), b in zip(work, best, strict=True) if k == kind]
        out[kind] = {
            "pages": len(mins),
            "median_ms": round(1000 * statistics.median(totals) / len(mins), 3),
            "rounds_ms": [round(1000 * t / len(mins), 3) for t in totals],
            "best_ms": round(1000 * sum(mins) / len(mins), 3),
        }
    return out


def main() -> int:
    """Dump readings or time them (see the module doc)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cdio", type=int, default=100, help="harness pages (x2 versions)")
    ap.add_argument("--dump", type=Path, help="write every reading to this JSON file")
    ap.add_argument("--time", action="store_true", help="print ms/page CPU per set")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.dump:
        args.dump.write_text(json.dumps(dump(args.cdio), indent=1, ensure_ascii=False))
    if args.time:
        load = os.getloadavg()
        print(json.dumps({"load": load, **timings(args.cdio, args.rounds)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
