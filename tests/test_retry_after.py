"""``Retry-After``: delta-seconds or an HTTP date; anything else is no answer."""

from __future__ import annotations

import pytest

from watcher.retry_after import parse_retry_after

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("Fri, 15 Jan 2027 08:01:30 GMT", 90.0),
        ("Fri, 15 Jan 2027 08:01:30", 90.0),  # no zone: taken as GMT
        ("Thu, 01 Jan 2026 00:00:00 GMT", 0.0),  # in the past
        ("1e400", None),  # infinite
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds
