"""Small copies of product photos (at most :data:`SIDE` px, WebP, a few KB), made when a
photo is hashed so the dashboard can show the evidence of a stolen photo after the copy
is gone, without ever loading a competitor's image from its site. Never raises.

:func:`watcher.images.fetch_hashes` makes them only for photos that hashed, on its
decoding thread: the photo has passed the same limits (formats, declared pixels, decode
memory), and a JPEG is decoded at 1/2-1/8 scale near :data:`SIDE`."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from watcher.images import FORMATS, MAX_BYTES, MAX_PIXELS, MIN_SIDE
from watcher.store.thumbnails import Thumbnail

__all__ = ["QUALITY", "SIDE", "make_thumbnail"]

SIDE = 240
"""Longest side of a thumbnail in pixels: two fit side by side on a printed page."""
QUALITY = 72


def make_thumbnail(data: bytes) -> Thumbnail | None:
    """A WebP thumbnail of image bytes, or None when they are no usable image (same
    limits as :func:`watcher.images.image_hash`: size, declared pixels, tiny images)."""
    if not data or len(data) > MAX_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opened = Image.open(io.BytesIO(data), formats=FORMATS)
            w, h = opened.size
            if w < MIN_SIDE or h < MIN_SIDE or w * h > MAX_PIXELS:
                return None
            opened.draft("RGB", (SIDE, SIDE))  # JPEG: decode near SIDE; others: no-op
            opened.load()
            im: Image.Image = ImageOps.exif_transpose(opened) or opened
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(flat, rgba)
            im = im.convert("RGB")
            im.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
            out = io.BytesIO()
            im.save(out, "WEBP", quality=QUALITY, method=4)
            return Thumbnail("image/webp", out.getvalue(), im.width, im.height)
    except Exception:
        return None
