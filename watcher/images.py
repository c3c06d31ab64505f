"""Perceptual hashes of product photos, to spot stolen photos (盗图) on other shops.

Detectors do no I/O: :func:`fetch_hashes` fetches photos (on the HTTP client's image lane,
within one time budget) and hashes them; :func:`image_hash` never raises on hostile input.
Compare two hashes with :func:`image_distance` against the ``[detect.copies]
image_distance`` threshold (10 by default).

Memory is bounded whatever the photos: the header is read first and images declaring
more than :data:`MAX_PIXELS` are refused undecoded; JPEGs decode at 1/2-1/8 scale
(libjpeg's ``draft``); other formats must fit :data:`MAX_DECODE_BYTES` of working memory;
:data:`DECODE_SLOTS` decode runs at a time; and every image is shrunk to a thumbnail
before it is flattened or turned upright.
"""

from __future__ import annotations

import asyncio
import io
import threading
import warnings
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from loguru import logger
from PIL import Image

from watcher.errors import FetchError
from watcher.thumbnail import QUALITY, SIDE, Thumbnail
from watcher.workers import WORKERS, WorkerError

if TYPE_CHECKING:
    from watcher.http import Http

__all__ = [
    "DECODE_SLOTS",
    "MAX_BYTES",
    "MAX_DECODE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "REGIONS",
    "fetch_hashes",
    "hash_and_thumbnail",
    "hash_bytes",
    "image_distance",
    "image_hash",
    "mail_thumbnail",
    "make_thumbnail",
]

MAX_PIXELS = 24_000_000
"""Images declaring more pixels than this are refused before decoding (decompression bombs,
and 6300x6300 PNGs of 170 KB that would need 160 MB each)."""

MAX_DECODE_BYTES = 96 * 1024 * 1024
"""Most working memory one decode may need (estimated from the header); larger images are
refused undecoded. Fits: an 11-megapixel PNG with alpha, 17 without, a WebP of 5
megapixels (2300x2300), any JPEG up to :data:`MAX_PIXELS` (decoded at 1/8 scale)."""

DECODE_SLOTS = 1
"""Decodes running at once, in this process. One: a second decoding thread would keep
its own malloc arena full of freed image blocks (measured: 220 MB peak instead of 137 MB
for 24 large PNGs), and hashing a normal photo takes ~6 ms of CPU."""

MAX_BYTES = 64 * 1024 * 1024
"""Larger inputs are refused unread."""

MIN_SIDE = 16
"""Images smaller than this on either side (tracking pixels, icons) have no useful hash."""

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "AVIF")
"""The formats shops serve photos in (those this Pillow build reads); anything else (EPS,
PSD, TIFF...) is not opened."""

_WORK_SIDE = 128  # decode (JPEG draft) near, and hash from, this size: pHash looks at 32x32
_INFLIGHT = 4  # photos fetched or waiting to be hashed at once, per fetch_hashes call
_INFLIGHT_WORKERS = 4 + 2 * WORKERS  # the same, when worker processes hash them

WORKER_PHOTOS = 32
"""A check with at least this many photos to hash decodes them in worker processes
(:mod:`watcher.workers`); fewer are not worth starting a worker for."""

# Peak working bytes per decoded pixel (decode, greyscale copy, shrink), measured with
# bench/bench_images.py's method on 8-megapixel images (glibc, Pillow 13): PNG/GIF/BMP by
# mode, WebP and AVIF whatever the mode (the codec's own buffers), JPEG after the draft.
_COST = {"1": 2.2, "L": 2.2, "LA": 5.0, "P": 5.5, "PA": 8.5, "RGB": 5.5, "RGBA": 8.5}
_COST_CODEC = 18.5
_COST_PROGRESSIVE = 3.5  # per declared pixel: libjpeg keeps every coefficient


_DECODING = threading.BoundedSemaphore(DECODE_SLOTS)


@lru_cache(maxsize=1)
def _formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in FORMATS if f in Image.OPEN)


_ORIENTATION = 0x0112  # EXIF: how the camera was held
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _cost(im: Image.Image, declared: int) -> int:
    """Estimated peak bytes to decode and shrink ``im`` (after any draft)."""
    w, h = im.size
    if im.format in ("WEBP", "AVIF"):
        per_pixel = _COST_CODEC
    elif im.mode == "P" and "transparency" in im.info:
        per_pixel = _COST["PA"]
    else:
        per_pixel = _COST.get(im.mode, 9.0)
    cost = w * h * per_pixel
    if im.info.get("progressive") or im.info.get("progression"):
        cost += declared * _COST_PROGRESSIVE
    return int(cost)


def _decode(data: bytes) -> Image.Image | None:
    """Decode to a small greyscale image, flattened on white and upright, or None for
    anything unusable. ``im`` is reassigned at each step so the full-size decode is freed
    as soon as its greyscale copy exists."""
    if not data or len(data) > MAX_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF/ICC complaints
            im: Image.Image = Image.open(io.BytesIO(data), formats=_formats())
            w, h = im.size
            if w < MIN_SIDE or h < MIN_SIDE or w * h > MAX_PIXELS:
                return None
            # JPEG (and MPO): let libjpeg decode at 1/2, 1/4 or 1/8 scale; others: no-op
            im.draft("RGB", (_WORK_SIDE, _WORK_SIDE))
            if _cost(im, w * h) > MAX_DECODE_BYTES:
                return None
            with _DECODING:
                im.load()
                turn = _UPRIGHT.get(im.getexif().get(_ORIENTATION, 1))
                alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                    im.mode == "P" and "transparency" in im.info
                )
                if im.mode in ("P", "PA"):
                    im = im.convert("RGBA" if alpha else "RGB")
                im = im.convert("LA" if alpha else "L")
                im.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
            if alpha:
                # a cut-out on transparency is the same photo as it flattened on white
                grey, mask = im.split()
                im = Image.composite(grey, Image.new("L", im.size, 255), mask)
            return im if turn is None else im.transpose(turn)
    except Exception:
        return None


def make_thumbnail(data: bytes) -> Thumbnail | None:
    """A WebP copy of a photo at most :data:`~watcher.thumbnail.SIDE` px, upright and
    flattened on white, or None for anything unusable. The same limits as the hash
    (formats, declared pixels, decode memory, one decode at a time); a JPEG is decoded at
    1/2-1/8 scale near the thumbnail's size. Never raises."""
    if not data or len(data) > MAX_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im: Image.Image = Image.open(io.BytesIO(data), formats=_formats())
            w, h = im.size
            if w < MIN_SIDE or h < MIN_SIDE or w * h > MAX_PIXELS:
                return None
            im.draft("RGB", (SIDE, SIDE))
            if _cost(im, w * h) > MAX_DECODE_BYTES:
                return None
            with _DECODING:
                im.load()
                turn = _UPRIGHT.get(im.getexif().get(_ORIENTATION, 1))
                if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                    im.mode == "P" and "transparency" in im.info
                ):
                    rgba = im.convert("RGBA")
                    im = Image.new("RGB", rgba.size, (255, 255, 255))
                    im.paste(rgba, mask=rgba.getchannel("A"))
                else:
                    im = im.convert("RGB")
                im.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
            if turn is not None:
                im = im.transpose(turn)
            out = io.BytesIO()
            # method 2: a quarter of the CPU of the default (4) for a file ~3 % larger
            im.save(out, "WEBP", quality=QUALITY, method=2)
            return Thumbnail("image/webp", out.getvalue(), im.width, im.height)
    except Exception:
        return None


def mail_thumbnail(thumb: Thumbnail) -> Thumbnail | None:
    """A stored thumbnail as a JPEG, which every mail client shows (several desktop
    clients show no WebP); None when it cannot be read. Never raises."""
    if thumb.content_type == "image/jpeg":
        return thumb
    if thumb.width > SIDE or thumb.height > SIDE or len(thumb.data) > MAX_BYTES:
        return None
    try:
        with Image.open(io.BytesIO(thumb.data), formats=["WEBP", "PNG", "JPEG"]) as im:
            if im.width > SIDE or im.height > SIDE:
                return None
            rgb = im.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=85)
            return Thumbnail("image/jpeg", out.getvalue(), rgb.width, rgb.height)
    except Exception:
        return None


_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(DECODE_SLOTS, thread_name_prefix="image-hash")
    return _EXECUTOR


async def hash_bytes(data: bytes) -> str | None:
    """:func:`image_hash` on the decoding threads, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), image_hash, data)


def hash_and_thumbnail(data: bytes, thumbnail: bool) -> tuple[str | None, Thumbnail | None]:
    """:func:`image_hash` of a photo and, with ``thumbnail``, its :func:`make_thumbnail`
    when it has a hash (one call, so a worker process gets the bytes once)."""
    h = image_hash(data)
    return h, make_thumbnail(data) if thumbnail and h else None


async def _hash_and_thumbnail(
    data: bytes, thumbnail: bool, workers: bool
) -> tuple[str | None, Thumbnail | None]:
    if workers:
        from watcher import workers as pool

        return await pool.run(hash_and_thumbnail, data, thumbnail)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), hash_and_thumbnail, data, thumbnail)


async def fetch_hashes(
    http: Http,
    urls: Iterable[str],
    *,
    allow_private: Collection[str] = (),
    budget: float | None = None,
    thumbnails: dict[str, Thumbnail] | None = None,
) -> dict[str, str | None]:
    """Fetch and hash product photos on ``http``'s image lane within ``budget`` seconds
    (``http.settings.image_budget`` by default: 4 photo deadlines, 60 s).

    Returns a hash for each photo that was fetched, or None when its bytes are no usable
    image (worth remembering). URLs that could not be fetched, or were not done when the
    budget ran out, are left out: unknown this time, tried again next check. URLs in
    ``allow_private`` come from shops with ``allow_private = true``. With ``thumbnails``,
    each photo that hashed also leaves its small copy there (:func:`make_thumbnail`, on
    the same decoding thread, for the dashboard's evidence). Never raises a
    FetchError; a cancelled call cancels its requests cleanly.
    """
    out: dict[str, str | None] = {}
    todo = list(dict.fromkeys(urls))
    # Many photos (a first check): decoded in worker processes, on every core; a few:
    # on this process's decoding thread, with no worker to start.
    workers = len(todo) >= WORKER_PHOTOS
    inflight = asyncio.Semaphore(_INFLIGHT_WORKERS if workers else _INFLIGHT)
    budget = http.settings.image_budget if budget is None else budget

    async def one(url: str) -> None:
        async with inflight:
            try:
                resp = await http.get_image(url, allow_private=url in allow_private)
            except FetchError as e:
                logger.debug("image {} unavailable: {}", url, e)
                return
            except Exception as e:  # one hostile image URL must not abort the check
                logger.warning("image {} could not be fetched: {}: {}", url, type(e).__name__, e)
                return
            try:
                h, small = await _hash_and_thumbnail(resp.content, thumbnails is not None, workers)
            except WorkerError as e:  # unknown this time, tried again next check
                logger.warning("image {} could not be hashed: {}", url, e)
                return
            out[url] = h
            if thumbnails is not None and small is not None:
                thumbnails[url] = small

    tasks = [asyncio.create_task(one(u)) for u in todo]
    if not tasks:
        return out
    try:
        _, pending = await asyncio.wait(tasks, timeout=budget)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if pending:
        logger.info(
            "{} of {} photo(s) not fetched within the {:g} s image budget; next check tries again",
            len(pending),
            len(tasks),
            budget,
        )
    return out


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
