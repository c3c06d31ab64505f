"""Dates from fetched content: parsed totally, kept inside a sane range.

A shop's JSON or page can carry any timestamp: ``9999-12-31T23:59:59-14:00`` overflows as
soon as it is converted to UTC, ``0001-01-01T00:00:00+14:00`` underflows, and
``9999-06-01Z`` is valid but would make a "winter 9999" launch that stays new forever.
Every date a source reads goes through :func:`parse_iso` or :func:`in_range`: both return
None for anything outside [:data:`EARLIEST`, :data:`LATEST`) and never raise.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["EARLIEST", "LATEST", "in_range", "parse_iso"]

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
"""No e-commerce listing or review is older than this."""

LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Nor newer than this (how far past *now* a date may be is the store's call at ingest)."""

_MAX_LEN = 64


def in_range(dt: datetime | None) -> datetime | None:
    """``dt`` as an aware datetime (naive means UTC) when it lies in
    [:data:`EARLIEST`, :data:`LATEST`), else None. Never raises."""
    if not isinstance(dt, datetime):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        utc = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return dt if EARLIEST <= utc < LATEST else None


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset; none means UTC) as an aware datetime in
    the sane range; None when missing, malformed or out of range. Never raises."""
    if not isinstance(value, str):
        return None
    s = value.strip()[:_MAX_LEN]
    if not s:
        return None
    if s[-1] in "Zz":
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except (ValueError, OverflowError):
        return None
    return in_range(dt)
