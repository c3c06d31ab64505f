"""Where a profiled `watcher check` spends its time, by stage.

Reads a pyinstrument session (``python -m pyinstrument -r pyisession -o pass.pyisession
-m watcher check --config ...``) and attributes every sample to the first matching stage
of its stack (innermost frame first, so a JSON parse inside the HTTP layer counts as JSON
parsing): network wait (the event loop idle in ``select``), JSON parsing, HTML / structured
data parsing, source record building, the database, detectors, image fetching and hashing,
the HTTP client's own CPU, logging, start-up (imports, config), other.

    .venv/bin/python bench/profile_breakdown.py pass1.pyisession
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from pyinstrument.session import Session

# (stage, substrings of a frame identifier "function\x00file\x00line"), checked per frame from
# the innermost outwards; the first frame that matches any stage decides.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("network wait (event loop idle)", ("\x00selectors.py", "select\x00<built-in>")),
    ("JSON parsing", ("/json/", "Response.json")),
    (
        "image hashing",
        ("watcher/images.py", "PIL/", "to_thread", "imagehash"),
    ),
    (
        "HTML / structured-data parsing",
        ("watcher/sources/structured.py", "watcher/sources/html.py", "bs4/", "lxml", "soupsieve"),
    ),
    (
        "source record building (parse_product, prices, text cleaning)",
        ("watcher/sources/", "watcher/text/clean.py"),
    ),
    ("database (SQLAlchemy + sqlite3)", ("sqlalchemy/", "sqlmodel/", "sqlite3", "watcher/store/")),
    ("detectors (incl. title similarity, seasons)", ("watcher/detectors/", "watcher/text/")),
    ("alerts (outbox, render, channels)", ("watcher/notify/",)),
    (
        "HTTP client CPU (httpx/httpcore/h11/anyio, gzip)",
        ("httpx/", "httpcore/", "h11/", "anyio/", "zlib", "gzip", "watcher/http.py"),
    ),
    ("logging", ("loguru/",)),
    ("start-up (imports, config)", ("<frozen importlib", "watcher/config.py", "tomllib")),
    ("socket I/O (asyncio transports, syscalls)", ("asyncio/selector_events.py", "socket.")),
    ("asyncio scheduling", ("asyncio/",)),
]
# Checked first, anywhere on the stack: known single causes worth their own line.
WHOLE_STACK: list[tuple[str, str]] = [
    ("CheckReport repr at asyncio.run exit", "_task_repr\x00"),
    ("failed 'import sniffio' per httpcore lock", "current_async_library\x00"),
]
# Frames that count for the image stage when the image fetch (watcher/images.py) is on the
# stack.
IMAGE_FETCH = "fetch_hashes\x00"


def classify(stack: list[str]) -> str:
    """The stage of one sample's stack (outermost frame first)."""
    for stage, needle in WHOLE_STACK:
        if any(needle in f for f in stack):
            return stage
    if any(IMAGE_FETCH in f for f in stack):
        if any("\x00selectors.py" in f for f in stack[-3:]):
            return "network wait (event loop idle)"
        return "image fetching + hashing"
    for frame in reversed(stack):
        for stage, needles in STAGES:
            if any(n in frame for n in needles):
                return stage
    return "other"


def breakdown(path: Path) -> dict[str, object]:
    """Seconds and shares per stage of one session."""
    session = Session.load(str(path))
    totals: Counter[str] = Counter()
    for stack, seconds, *_ in session.frame_records:
        totals[classify(stack)] += seconds
    total = sum(totals.values()) or 1.0
    return {
        "duration_s": round(session.duration, 2),
        "cpu_s": round(session.cpu_time or 0.0, 2),
        "stages": {
            k: {"s": round(v, 2), "pct": round(100 * v / total, 1)} for k, v in totals.most_common()
        },
    }


def main() -> None:
    """Print the breakdown of each session file as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sessions", nargs="+", type=Path)
    args = ap.parse_args()
    for p in args.sessions:
        print(json.dumps({"session": str(p), **breakdown(p)}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
