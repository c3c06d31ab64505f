"""Price extraction on real saved product pages, read the way ``watcher inspect URL`` reads
them (no ``--kind``, no selectors, no configured currency).

Data: ``/work/shared/data/product-pages`` (106 real pages from 96 shops, hand-checked truth
in ``truth.json``; see its README for sources and licences). The pages are read from there
and never copied; the benchmark is skipped when the folder is missing.

A price counts as correct when its value is within 0.005 of the truth's ``price_value`` and
its currency equals the truth's ``currency`` (when the truth has one). Precision is over
pages where a price was returned, recall over pages whose truth has a price. A page that
raises ``BadResponseError`` (captcha / login wall) is a block-page false positive: every
page here is a real product page.

Held-out split: pages are split by site (host) into two halves with a fixed hash
(:func:`halves`); half ``A`` was used while developing the extractor, half ``B`` was not
looked at. ``--half A|B`` restricts the run; the default prints A, B and all.

Run: ``.venv/bin/python bench/bench_pages.py [--data DIR] [--half A|B] [--show]``
(``--show`` lists every miss of the selected half).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from watcher.errors import BadResponseError, ParseError
from watcher.http import Http, Response
from watcher.inspect import default_shop
from watcher.models import Listing
from watcher.sources.html import HtmlSource

DATA = Path("/work/shared/data/product-pages")


def halves(sites: set[str]) -> dict[str, str]:
    """``A`` (development) or ``B`` (held out) per site: sites ordered by the SHA-1 of their
    host, then taken in turn, so each half has every other site of a fixed shuffle."""
    order = sorted(sites, key=lambda s: hashlib.sha1(s.encode()).hexdigest())
    return {site: "AB"[i % 2] for i, site in enumerate(order)}


def _amount(text: str | None) -> float | None:
    """The number in a truth price string as shown (``"UVP 1.299,00 €"``, ``"469,-"``)."""
    if not text:
        return None
    s = re.sub(r"[^\d.,]", "", text.split("-")[0] if re.search(r"\d\s*-\s*\d", text) else text)
    s = s.strip(".,")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", s):
        s = s.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    else:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@dataclass
class Score:
    pages: int = 0
    priced_truth: int = 0
    predicted: int = 0
    correct: int = 0
    currency_ok: int = 0
    currency_seen: int = 0
    compare_truth: int = 0
    compare_correct: int = 0
    compare_wrong: int = 0
    avail_truth: int = 0
    avail_correct: int = 0
    avail_wrong: int = 0
    title_exact: int = 0
    title_close: int = 0
    blocked: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, name: str, truth: dict[str, object], got: Listing | None, err: str) -> None:
        self.pages += 1
        value = float(str(truth["price_value"])) if truth.get("price_value") else None
        currency = truth.get("currency")
        if value is not None:
            self.priced_truth += 1
        price = got.price if got else None
        ok = False
        if price is not None:
            self.predicted += 1
            if currency:
                self.currency_seen += 1
                self.currency_ok += got is not None and got.currency == currency
            ok = (
                value is not None
                and abs(price - value) < 0.005
                and (not currency or (got is not None and got.currency == currency))
            )
            self.correct += ok
        if not ok:
            shown = f"{price} {got.currency if got else ''}" if price is not None else err or "-"
            self.misses.append(f"{name}: want {value} {currency}, got {shown}")
        old = _amount(truth.get("old_price"))  # type: ignore[arg-type]
        got_old = got.compare_at if got else None
        if old is not None:
            self.compare_truth += 1
            self.compare_correct += got_old is not None and abs(got_old - old) < 0.005
        if got_old is not None and (old is None or abs(got_old - old) >= 0.005):
            self.compare_wrong += 1
        avail = truth.get("available")
        got_avail = got.available if got else None
        if avail is not None and got_avail is not avail:
            self.other.append(f"{name}: available want {avail}, got {got_avail}")
        elif avail is None and got_avail is False:
            self.other.append(f"{name}: available want None, got False")
        if old != got_old and (old is None or got_old is None or abs(got_old - old) >= 0.005):
            self.other.append(f"{name}: compare_at want {old}, got {got_old}")
        if avail is not None:
            self.avail_truth += 1
            self.avail_correct += got_avail is avail
            self.avail_wrong += got_avail is not None and got_avail is not avail
        elif got_avail is False:
            self.avail_wrong += 1  # "out of stock" where a person sees no such thing
        title = _norm(str(truth.get("title") or ""))
        got_title = _norm(got.title) if got else ""
        self.title_exact += bool(title) and title == got_title
        self.title_close += bool(title and got_title) and (title in got_title or got_title in title)

    def report(self, label: str) -> str:
        p = self.correct / self.predicted if self.predicted else 0.0
        r = self.correct / self.priced_truth if self.priced_truth else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        cur = self.currency_ok / self.currency_seen if self.currency_seen else 0.0
        return (
            f"{label}: {self.pages} pages | price P {p:.3f} R {r:.3f} F1 {f1:.3f} "
            f"({self.correct} right of {self.predicted} given, {self.priced_truth} in truth) | "
            f"currency {cur:.3f} | compare_at {self.compare_correct}/{self.compare_truth} "
            f"right, {self.compare_wrong} wrong | available {self.avail_correct}/"
            f"{self.avail_truth} right, {self.avail_wrong} wrong | title exact "
            f"{self.title_exact}, contained {self.title_close} | blocked (false) "
            f"{len(self.blocked)} | {self.seconds * 1000 / max(self.pages, 1):.1f} ms/page | "
            "price from " + ", ".join(f"{k} {v}" for k, v in sorted(self.sources.items()))
        )


def read_page(src: HtmlSource, url: str, raw: bytes) -> tuple[Listing | None, str]:
    """What ``watcher inspect URL`` shows for a page served with these bytes (the error
    text, or where the price came from)."""
    resp = Response(
        url=url, status=200, headers=httpx.Headers({"content-type": "text/html"}), content=raw
    )
    try:
        reading = src.read_page(resp, url)
        return reading.listing, reading.source
    except BadResponseError as e:
        return None, f"BLOCKED {e}"
    except ParseError as e:
        return None, f"parse error: {e}"


def run(data: Path, wanted: set[str]) -> Score:
    truth: dict[str, dict[str, object]] = json.loads((data / "truth.json").read_text())
    score = Score()
    http = Http()
    split = halves({str(t["site"]) for t in truth.values()})
    for name in sorted(truth):
        t = truth[name]
        if split[str(t["site"])] not in wanted:
            continue
        raw = gzip.decompress((data / name).read_bytes())
        url = str(t.get("url") or f"https://{t['site']}/")
        src = HtmlSource(default_shop(url, "html"), http)
        start = time.process_time()
        got, err = read_page(src, url, raw)
        score.seconds += time.process_time() - start
        if err.startswith("BLOCKED"):
            score.blocked.append(f"{name}: {err}")
        if got is not None:
            score.sources[err or "none"] = score.sources.get(err or "none", 0) + 1
            err = ""
        score.add(name, t, got, err)
    return score


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--half", choices=["A", "B"], default=None)
    ap.add_argument("--show", action="store_true", help="list misses and block verdicts")
    args = ap.parse_args()
    if not (args.data / "truth.json").exists():
        print(f"skipped: {args.data} is not here")
        return 0
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()},"
        f" load {os.getloadavg()[0]:.1f}"
    )
    runs = [args.half] if args.half else ["A", "B", None]
    for h in runs:
        score = run(args.data, {h} if h else {"A", "B"})
        print(score.report(f"half {h}" if h else "all"))
        if args.show and h:
            for line in score.blocked + score.misses + score.other:
                print("   ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
