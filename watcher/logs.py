"""Logging set-up (loguru): human lines or JSON, with secrets redacted from every record."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from loguru import logger

from watcher.secrets import Secrets


def setup(level: str = "INFO", json: bool = False, secrets: Secrets | None = None) -> None:
    """Send logs to stderr at ``level``, as JSON lines when ``json``; every message has
    ``secrets`` (the config's) masked."""
    redact: Callable[[str], str] = secrets.redact if secrets is not None else str

    def patch(record: Any) -> None:
        record["message"] = redact(record["message"])

    def write(line: str) -> None:
        # The patcher reaches the message only: a logged exception's traceback (a channel
        # that crashed on a URL with its token in it) is masked here, fully formatted.
        sys.stderr.write(redact(line))

    logger.remove()
    logger.configure(patcher=patch)
    if json:
        logger.add(write, level=level, serialize=True, backtrace=False, diagnose=False)
    else:
        logger.add(
            write,
            level=level,
            format="<green>{time:YYYY-MM-DD HH:mm:ss}</green> <level>{level: <7}</level> {message}",
            colorize=sys.stderr.isatty(),
            backtrace=False,
            diagnose=False,
        )
