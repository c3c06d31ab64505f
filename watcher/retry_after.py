"""``Retry-After`` (RFC 9110 §10.2.3): how long a server asks a client to wait.

One parser for every place that reads the header: the alert channels and the shop
fetcher (``watcher/http.py``). Pure: standard library only.
"""

from __future__ import annotations

import math
import time
from datetime import UTC
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait: ``Retry-After`` as delta-seconds (``"120"``) or an HTTP date
    (``"Wed, 21 Oct 2026 07:28:00 GMT"``, counted from ``now``, default the clock);
    0 for a date in the past; None when absent or unreadable (also ``inf``/``nan``)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None
