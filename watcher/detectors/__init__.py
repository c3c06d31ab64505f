"""Detector kinds, discovered from the modules of this package."""

from __future__ import annotations

from functools import cache

from watcher.detectors.base import DetectContext, Detector, ShopResult


@cache
def detector_kinds() -> dict[str, type[Detector]]:
    """Every detector class by the finding kind it raises."""
    import watcher.detectors as package
    from watcher.plugins import discover

    return discover(package, Detector)


__all__ = ["DetectContext", "Detector", "ShopResult", "detector_kinds"]
