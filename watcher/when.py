"""Times as a person reads them: "at 2026-11-30 22:08:01 CST (in 4m 3s)"."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo


def span(delta: timedelta) -> str:
    """A duration in its two largest units: ``45s``, ``4m 3s``, ``1h 2m``, ``3d 4h``."""
    s = max(int(delta.total_seconds()), 0)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size or (unit == "s" and not parts):
            parts.append(f"{s // size}{unit}")
            s %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def local(moment: datetime, tz: tzinfo) -> str:
    """``moment`` in ``tz`` to the second, with the zone's abbreviation."""
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}".strip()


def due(moment: datetime, now: datetime, tz: tzinfo) -> str:
    """When something due at ``moment`` happens, seen at ``now``."""
    if moment <= now:
        return f"now (due since {local(moment, tz)})"
    return f"at {local(moment, tz)} (in {span(moment - now)})"


def ago(moment: datetime, now: datetime) -> str:
    """``4m 3s ago``."""
    return f"{span(now - moment)} ago"
