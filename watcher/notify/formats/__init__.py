"""Webhook payload formats (``json``, ``slack``, ``discord``, ``feishu``, ``dingtalk``,
``wecom``), discovered from the modules of this package by their ``name``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from watcher.notify.formats.base import Message, WebhookFormat, classify


@cache
def formats() -> dict[str, type[WebhookFormat]]:
    """Every format class by its ``name``; a new format is one module with one class."""
    found: dict[str, type[WebhookFormat]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, WebhookFormat)
                and obj.__module__ == module.__name__
                and not inspect.isabstract(obj)
                and isinstance(getattr(obj, "name", None), str)
            ):
                found[obj.name] = obj
    return found


__all__ = ["Message", "WebhookFormat", "classify", "formats"]
