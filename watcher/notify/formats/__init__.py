"""Webhook payload formats (``json``, ``slack``, ``discord``, ``feishu``, ``dingtalk``,
``wecom``), discovered from the modules of this package by their ``name``: a new format is
one module with one :class:`WebhookFormat` subclass (see :mod:`.base`)."""

from __future__ import annotations

import sys
from functools import cache

from watcher.notify.formats.base import ChatFormat, Message, WebhookFormat, classify
from watcher.plugins import discover


@cache
def formats() -> dict[str, type[WebhookFormat]]:
    """Every format class by its ``name``."""
    return discover(sys.modules[__name__], WebhookFormat, attr="name")


__all__ = ["ChatFormat", "Message", "WebhookFormat", "classify", "formats"]
