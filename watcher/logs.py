"""Logging set-up (loguru): human lines or JSON, with secrets redacted from every record."""

from __future__ import annotations

import sys
from typing import Any

from loguru import logger

from watcher.config import SECRETS


def redact(text: str) -> str:
    """``text`` with every known secret (values that came from ``${ENV}``) masked."""
    for secret in SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _patch(record: dict[str, Any]) -> None:
    record["message"] = redact(record["message"])


def setup(level: str = "INFO", json: bool = False) -> None:
    """Send logs to stderr at ``level``, as JSON lines when ``json``."""
    logger.remove()
    logger.configure(patcher=_patch)  # type: ignore[arg-type]
    if json:
        logger.add(sys.stderr, level=level, serialize=True, backtrace=False, diagnose=False)
    else:
        logger.add(
            sys.stderr,
            level=level,
            format="<green>{time:YYYY-MM-DD HH:mm:ss}</green> <level>{level: <7}</level> {message}",
            backtrace=False,
            diagnose=False,
        )
