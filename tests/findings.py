"""Findings for tests, written the way they are stored: the detail as its JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watcher.models import Finding, Severity


def stored(
    kind: str,
    severity: Severity,
    shop: str,
    listing: dict[str, Any] | None,
    summary: str,
    detail: dict[str, Any],
    dedup_key: str,
    detected_at: datetime,
) -> Finding:
    """A finding read back from its JSON (the detail parsed by its kind's module)."""
    return Finding.from_json(
        {
            "kind": kind,
            "severity": str(severity),
            "shop": shop,
            "listing": listing,
            "summary": summary,
            "detail": detail,
            "dedup_key": dedup_key,
            "detected_at": detected_at.isoformat(),
        }
    )
