"""Source kinds, discovered from the modules of this package."""

from __future__ import annotations

from functools import cache

from watcher.sources.base import Source


@cache
def source_kinds() -> dict[str, type[Source]]:
    """Every source class by its ``kind`` (``shopify``, ``woocommerce``, ``html``...)."""
    import watcher.sources as package
    from watcher.plugins import discover

    return discover(package, Source)


__all__ = ["Source", "source_kinds"]
