"""Perceptual hashes of product photos, to spot stolen photos (盗图) on other shops.

Detectors do no I/O: image bytes are fetched elsewhere and handed to :func:`image_hash`, which
never raises on hostile input. Compare two hashes with :func:`image_distance` against the
``[detect.copies] image_distance`` threshold (10 by default).
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps

__all__ = ["MAX_BYTES", "MAX_PIXELS", "MIN_SIDE", "REGIONS", "image_distance", "image_hash"]

MAX_PIXELS = 40_000_000
"""Images declaring more pixels than this are refused before decoding (decompression bombs)."""

MAX_BYTES = 64 * 1024 * 1024
"""Larger inputs are refused unread."""

MIN_SIDE = 16
"""Images smaller than this on either side (tracking pixels, icons) have no useful hash."""

_WORK_SIDE = 128  # decode (JPEG draft) near, and hash from, this size: pHash looks at 32x32


def _decode(data: bytes) -> Image.Image | None:
    """Decode to a small greyscale image, or None for anything unusable."""
    if not data or len(data) > MAX_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF/ICC complaints
            im = Image.open(io.BytesIO(data))
            w, h = im.size
            if w < MIN_SIDE or h < MIN_SIDE or w * h > MAX_PIXELS:
                return None
            if im.format == "JPEG":
                # let libjpeg decode at 1/2, 1/4 or 1/8 scale: fast and small in memory
                im.draft("RGB", (_WORK_SIDE, _WORK_SIDE))
            im.load()
            im = ImageOps.exif_transpose(im) or im
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                # a cut-out on transparency is the same photo as it flattened on white
                rgba = im.convert("RGBA")
                flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(flat, rgba)
            im = im.convert("L")
            im.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.LANCZOS, reducing_gap=2.0)
            return im
    except Exception:
        return None


# Regions hashed besides the full frame, as (left, top, right, bottom) fractions cut off.
# A copy cropped by about one of these has its full frame match our region (and vice versa);
# a banner or logo over one edge leaves the same region of both images alike.
REGIONS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.0, 0.0, 0.10),
    (0.0, 0.10, 0.0, 0.0),
    (0.10, 0.0, 0.0, 0.0),
    (0.0, 0.0, 0.10, 0.0),
    (0.06, 0.06, 0.06, 0.06),
    (0.0, 0.0, 0.0, 0.18),
    (0.0, 0.20, 0.0, 0.0),
    (0.08, 0.08, 0.0, 0.0),
    (0.0, 0.08, 0.08, 0.0),
    (0.08, 0.0, 0.0, 0.08),
    (0.0, 0.0, 0.08, 0.08),
)
_PARTS = 1 + len(REGIONS)
_HEX = 16  # hex digits per 64-bit pHash


_SIZE = 32  # pHash: DCT of a 32x32 reduction, keep the 8x8 lowest frequencies
_K = np.arange(_SIZE)
# unnormalised DCT-II, as scipy.fftpack.dct (what imagehash.phash uses)
_DCT = 2.0 * np.cos(np.pi * _K[:, None] * (2 * _K[None, :] + 1) / (2 * _SIZE))
_BITS = 1 << np.arange(63, -1, -1, dtype=np.uint64)


@lru_cache(maxsize=256)
def _area_matrix(n_in: int) -> np.ndarray:
    """(32, n_in) weights averaging each output cell's share of the input samples."""
    edges = np.linspace(0.0, n_in, _SIZE + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    pos = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, pos + 1) - np.maximum(lo, pos), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def _phash(pixels: np.ndarray) -> int:
    """64-bit pHash of a greyscale array, as ``imagehash.phash`` (area resampling, numpy DCT)."""
    h, w = pixels.shape
    small = _area_matrix(h) @ pixels @ _area_matrix(w).T
    low = (_DCT @ small @ _DCT.T)[:8, :8].ravel()
    bits = low > np.median(low)
    return int(_BITS[bits].sum())


def image_hash(data: bytes) -> str | None:
    """Perceptual hash of image bytes as a hex string, or None if the bytes are no usable image.

    The string is 12 concatenated 64-bit pHashes (192 hex digits): the full frame, then each of
    :data:`REGIONS`. None for: empty or oversized input, undecodable or truncated data, images
    declaring more than :data:`MAX_PIXELS` pixels (checked from the header, before decoding),
    images under :data:`MIN_SIDE` pixels on a side. Never raises.
    """
    im = _decode(data)
    if im is None:
        return None
    pixels = np.asarray(im, dtype=np.float64)
    h, w = pixels.shape
    parts = [_phash(pixels)]
    for left, top, right, bottom in REGIONS:
        region = pixels[
            round(h * top) : round(h * (1 - bottom)), round(w * left) : round(w * (1 - right))
        ]
        parts.append(_phash(region))
    return "".join(f"{p:016x}" for p in parts)


def _parts(value: str) -> list[int] | None:
    if len(value) != _PARTS * _HEX:
        return None
    try:
        return [int(value[i : i + _HEX], 16) for i in range(0, len(value), _HEX)]
    except ValueError:
        return None


def image_distance(a: str, b: str) -> int:
    """Distance between two :func:`image_hash` values, comparable to a 64-bit Hamming distance.

    The minimum Hamming distance over the region pairings a copy can produce: full frame vs
    full frame, one image's full frame vs a region of the other (a crop), and the same region
    of both (a banner or watermark near an edge). 64 when either hash is malformed.
    """
    pa, pb = _parts(a), _parts(b)
    if pa is None or pb is None:
        return 64
    best = (pa[0] ^ pb[0]).bit_count()
    for i in range(1, _PARTS):
        best = min(
            best,
            (pa[i] ^ pb[0]).bit_count(),
            (pa[0] ^ pb[i]).bit_count(),
            (pa[i] ^ pb[i]).bit_count(),
        )
    return best
