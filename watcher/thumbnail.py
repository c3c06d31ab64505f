"""What watcher keeps of a product photo it compared: a small copy (at most :data:`SIDE`
px, WebP, a few KB), so the dashboard shows the evidence of a stolen photo after the copy
is gone, without ever loading a competitor's image from its site.
:func:`watcher.images.make_thumbnail` makes them; :mod:`watcher.store.thumbnails` keeps
them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QUALITY", "SIDE", "Thumbnail"]

SIDE = 240
"""Longest side of a thumbnail in pixels: two fit side by side on a printed page."""
QUALITY = 72
"""WebP quality: a product photo at 240 px stays a few KB and reads clearly."""


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A small image: its bytes, their media type and its size in pixels."""

    content_type: str
    data: bytes
    width: int
    height: int
