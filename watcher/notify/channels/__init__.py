"""Alert channel kinds, discovered from the modules of this package."""

from __future__ import annotations

from functools import cache

from watcher.notify.channels.base import Channel


@cache
def channel_kinds() -> dict[str, type[Channel]]:
    """Every channel class by its ``kind`` (``webhook``, ``email``)."""
    import watcher.notify.channels as package
    from watcher.plugins import discover

    return discover(package, Channel)


__all__ = ["Channel", "channel_kinds"]
