"""Perceptual image hashing for stolen product photos (盗图).

There is no photo data set here, so the quality set is generated: seeded product-like images
(backgrounds, gradients, textures, shaded objects, text labels), each transformed the way a
copier would (resize, recompress, crop, watermark, banner, brightness) for positive pairs, and
compared with every other base image, including "siblings" that share a layout but not the
object's colour/shape, for negative pairs. ``evaluate`` is also used by bench/bench_copies.py.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
import random
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from watcher.demo import Marketplace
from watcher.demo.catalog import URBAN
from watcher.demo.faults import huge_png
from watcher.http import Http, HttpSettings
from watcher.images import _DCT, MAX_PIXELS, fetch_hashes, image_distance, image_hash
from watcher.thumbnail import Thumbnail

THRESHOLD = 10
WORDS = ["SALE", "NEW", "Premium", "纯棉", "Cotton", "¥99", "$19.99", "2 PACK", "HOT", "Organic"]


# --- generated product photos ---------------------------------------------------------------


def _colour(rng: random.Random, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    kind = rng.choice(("solid", "linear", "radial", "noise", "stripes", "split"))
    a = np.array(_colour(rng), dtype=np.float32)
    b = np.array(_colour(rng), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "solid":
        t = np.zeros((h, w), np.float32)
    elif kind == "linear":
        ang = rng.uniform(0, math.pi)
        t = xx * math.cos(ang) + yy * math.sin(ang)
        t = (t - t.min()) / max(1.0, float(t.max() - t.min()))
    elif kind == "radial":
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        t = np.hypot(xx - cx, yy - cy)
        t = t / t.max()
    elif kind == "noise":
        small = np.random.default_rng(rng.randint(0, 2**31)).random((8, 8)).astype(np.float32)
        t = np.asarray(
            Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC),
            dtype=np.float32,
        )
        t = t / 255.0
    elif kind == "stripes":
        period = rng.randint(12, 60)
        t = ((xx + yy * rng.choice((0, 1))) // period % 2).astype(np.float32) * 0.5
    else:
        t = (yy > h * rng.uniform(0.55, 0.8)).astype(np.float32)  # table top / wall
    img = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _object(
    geo: random.Random, look: random.Random, draw: ImageDraw.ImageDraw, w: int, h: int
) -> None:
    """One product shape: position and size from ``geo``, shape and colour from ``look``."""
    cx, cy = geo.uniform(0.3, 0.7) * w, geo.uniform(0.3, 0.7) * h
    sw, sh = geo.uniform(0.2, 0.5) * w, geo.uniform(0.2, 0.55) * h
    shape = look.choice(("ellipse", "box", "bottle", "shirt", "poly", "ring", "shoe"))
    colour = _colour(look, 20, 235)
    rng = look
    x0, y0, x1, y1 = cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2
    dark = tuple(max(0, c - 60) for c in colour)
    light = tuple(min(255, c + 60) for c in colour)
    if shape == "ellipse":
        draw.ellipse((x0, y0, x1, y1), fill=colour, outline=dark, width=3)
        draw.ellipse((x0 + sw * 0.15, y0 + sh * 0.1, x0 + sw * 0.4, y0 + sh * 0.3), fill=light)
    elif shape == "box":
        draw.rounded_rectangle((x0, y0, x1, y1), radius=int(min(sw, sh) * 0.1), fill=colour)
        draw.polygon(
            [(x0, y0), (x0 + sw * 0.2, y0 - sh * 0.15), (x1 + sw * 0.2, y0 - sh * 0.15), (x1, y0)],
            fill=light,
        )
        draw.polygon(
            [(x1, y0), (x1 + sw * 0.2, y0 - sh * 0.15), (x1 + sw * 0.2, y1 - sh * 0.15), (x1, y1)],
            fill=dark,
        )
    elif shape == "bottle":
        draw.rounded_rectangle((x0, y0 + sh * 0.3, x1, y1), radius=int(sw * 0.2), fill=colour)
        draw.rectangle((cx - sw * 0.15, y0, cx + sw * 0.15, y0 + sh * 0.32), fill=dark)
        draw.rectangle((x0 + sw * 0.1, y0 + sh * 0.55, x1 - sw * 0.1, y0 + sh * 0.8), fill=light)
    elif shape == "shirt":
        draw.polygon(
            [
                (x0, y0 + sh * 0.2),
                (cx - sw * 0.15, y0),
                (cx + sw * 0.15, y0),
                (x1, y0 + sh * 0.2),
                (x1 - sw * 0.1, y0 + sh * 0.4),
                (x1 - sw * 0.2, y0 + sh * 0.35),
                (x1 - sw * 0.2, y1),
                (x0 + sw * 0.2, y1),
                (x0 + sw * 0.2, y0 + sh * 0.35),
                (x0 + sw * 0.1, y0 + sh * 0.4),
            ],
            fill=colour,
            outline=dark,
        )
    elif shape == "poly":
        n = rng.randint(3, 8)
        pts = [
            (
                cx + sw / 2 * math.cos(2 * math.pi * i / n + rng.uniform(0, 0.4)),
                cy + sh / 2 * math.sin(2 * math.pi * i / n + rng.uniform(0, 0.4)),
            )
            for i in range(n)
        ]
        draw.polygon(pts, fill=colour, outline=dark)
    elif shape == "ring":
        r = min(sw, sh) / 2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=int(r * 0.35))
    else:
        draw.chord((x0, y0, x1, y1 + sh * 0.6), 180, 360, fill=colour, outline=dark, width=3)
        draw.rectangle((x0, y1 - sh * 0.1, x1, y1 + sh * 0.05), fill=dark)


def product_image(seed: int, size: tuple[int, int] | None = None, variant: int = 0) -> Image.Image:
    """A seeded product-like photo; ``variant`` keeps the layout but changes the product."""
    rng = random.Random(seed)
    look = random.Random(seed * 7919 + variant)
    w, h = size or (rng.choice((224, 256, 288)), rng.choice((224, 256, 288)))
    img = _background(rng, w, h)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(1, 3)):
        _object(rng, look, draw, w, h)
    if rng.random() < 0.7:
        text = rng.choice(WORDS)
        font = _font(rng.randint(18, 40))
        draw.text(
            (rng.uniform(0.05, 0.6) * w, rng.uniform(0.05, 0.85) * h),
            text,
            fill=_colour(rng),
            font=font,
        )
    if rng.random() < 0.4:  # a texture/grain as on a real photo
        grain = np.random.default_rng(seed).normal(0, 6, (h, w, 3))
        arr = np.clip(np.asarray(img, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, "RGB")
    return img.filter(ImageFilter.GaussianBlur(0.6))


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


# --- what copiers do to a stolen photo ------------------------------------------------------


def _resize(f: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.resize(
        (max(1, int(im.width * f)), max(1, int(im.height * f))), Image.LANCZOS
    )


def _crop(left: float, top: float, right: float, bottom: float) -> Callable:
    def run(im: Image.Image) -> Image.Image:
        w, h = im.size
        return im.crop((int(w * left), int(h * top), int(w * (1 - right)), int(h * (1 - bottom))))

    return run


def _logo(im: Image.Image) -> Image.Image:
    """A copier's semi-transparent shop logo in the top-right corner."""
    base = im.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    w, h = base.size
    d.ellipse((w * 0.70, h * 0.04, w * 0.95, h * 0.24), fill=(255, 255, 255, 115))
    d.text((w * 0.74, h * 0.11), "SHOP", fill=(200, 0, 0, 160), font=_font(h // 16))
    return Image.alpha_composite(base, layer).convert("RGB")


def _text_watermark(im: Image.Image) -> Image.Image:
    """Faint shop name across the middle of the photo."""
    base = im.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    w, h = base.size
    d.text((w * 0.2, h * 0.45), "COPY SHOP", fill=(255, 255, 255, 80), font=_font(h // 10))
    return Image.alpha_composite(base, layer).convert("RGB")


def _banner(frac: float) -> Callable[[Image.Image], Image.Image]:
    def run(im: Image.Image) -> Image.Image:
        out = im.copy()
        d = ImageDraw.Draw(out)
        w, h = out.size
        d.rectangle((0, h * (1 - frac), w, h), fill=(200, 20, 30))
        d.text(
            (w * 0.05, h * (1 - frac * 0.8)),
            "包邮 FREE SHIPPING ¥39",
            fill="white",
            font=_font(int(h * frac * 0.5)),
        )
        return out

    return run


def _brightness(f: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: ImageEnhance.Brightness(im).enhance(f)


TRANSFORMS: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    # name: (pixel transform, JPEG quality of the re-upload; 0 = PNG)
    "resize_40%": (_resize(0.4), 90),
    "resize_60%_q60": (_resize(0.6), 60),
    "jpeg_q40": (lambda im: im, 40),
    "jpeg_q70": (lambda im: im, 70),
    "crop_4%_each_edge": (_crop(0.04, 0.04, 0.04, 0.04), 85),
    "crop_10%_one_edge": (_crop(0.0, 0.0, 0.0, 0.10), 85),
    "crop_8%_two_edges": (_crop(0.08, 0.08, 0.0, 0.0), 85),
    "crop_5%_sides_q60": (_crop(0.05, 0.0, 0.05, 0.0), 60),
    "logo_corner": (_logo, 85),
    "text_watermark": (_text_watermark, 85),
    "banner_12%": (_banner(0.12), 85),
    "banner_15%": (_banner(0.15), 85),
    "brighter_15%": (_brightness(1.15), 85),
    "darker_15%": (_brightness(0.85), 85),
    "resize_50%_crop_5%": (lambda im: _crop(0.05, 0.05, 0.0, 0.0)(_resize(0.5)(im)), 70),
}


@dataclass(slots=True)
class Evaluation:
    """Result of :func:`evaluate`."""

    n_base: int
    positives: int = 0
    hits: int = 0
    negatives: int = 0
    false_matches: int = 0
    max_positive: int = 0
    min_negative: int = 10**9
    sibling_pairs: int = 0
    sibling_false_matches: int = 0
    per_transform: dict[str, tuple[int, int]] = field(default_factory=dict)
    misses: list[tuple[int, str, int]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.hits / self.positives

    @property
    def false_match_rate(self) -> float:
        return self.false_matches / self.negatives


def evaluate(n_base: int = 64, seed: int = 0, threshold: int = THRESHOLD) -> Evaluation:
    """Hash base images, their transformed copies and layout siblings; count (mis)matches."""
    result = Evaluation(n_base)
    bases = [product_image(seed * 10_000 + i) for i in range(n_base)]
    hashes = [image_hash(_png(b)) for b in bases]
    assert all(hashes)
    for i, base in enumerate(bases):
        for name, (fn, quality) in TRANSFORMS.items():
            out = fn(base)
            data = _jpeg(out, quality) if quality else _png(out)
            d = image_distance(hashes[i], image_hash(data) or "")
            hit = d <= threshold
            got, total = result.per_transform.get(name, (0, 0))
            result.per_transform[name] = (got + hit, total + 1)
            result.positives += 1
            result.hits += hit
            result.max_positive = max(result.max_positive, d)
            if not hit:
                result.misses.append((i, name, d))
    negatives = [(hashes[i], hashes[j]) for i, j in itertools.combinations(range(n_base), 2)]
    # same layout and background, different product colour/shape: the hardest negatives
    for i in range(0, n_base, 2):
        sibling = image_hash(_jpeg(product_image(seed * 10_000 + i, variant=1), 85))
        negatives.append((hashes[i], sibling or ""))
    first_sibling = len(negatives) - len(range(0, n_base, 2))
    for k, (a, b) in enumerate(negatives):
        d = image_distance(a, b)
        if k >= first_sibling:
            result.sibling_pairs += 1
            result.sibling_false_matches += d <= threshold
        if d <= threshold:
            result.misses.append((k, "false match", d))
        result.negatives += 1
        result.false_matches += d <= threshold
        result.min_negative = min(result.min_negative, d)
    return result


# --- tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return evaluate(n_base=64, seed=0)


def test_recall_and_false_matches_at_default_distance(evaluation: Evaluation) -> None:
    assert evaluation.recall >= 0.95, evaluation.misses
    assert evaluation.false_match_rate <= 0.01


def test_every_transform_mostly_survives(evaluation: Evaluation) -> None:
    for name, (hits, total) in evaluation.per_transform.items():
        assert hits / total >= 0.85, (name, hits, total)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares an enormous size but holds almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = b"IDAT" + zlib.compress(b"\0" * 64)
    body += struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
    return b"\x89PNG\r\n\x1a\n" + body


def _gif_1x1() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (1, 1)).save(buf, "GIF")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"<html><body>404</body></html>" * 10,
        b"\xff\xd8\xff\xe0" + b"\x00" * 100,  # JPEG magic, nothing behind it
        _gif_1x1(),
        _png_header(100_000, 100_000),  # 10 gigapixels declared
        _png_header(7000, 7000),  # 49 MP: over MAX_PIXELS
        bytes(random.Random(3).getrandbits(8) for _ in range(5000)),
    ],
    ids=["empty", "text", "html", "jpeg-magic", "gif-1x1", "bomb-10gp", "bomb-49mp", "noise"],
)
def test_hostile_inputs_return_none_quickly(data: bytes) -> None:
    start = time.perf_counter()
    assert image_hash(data) is None
    assert time.perf_counter() - start < 1.0


def test_truncated_jpeg_is_none() -> None:
    data = _jpeg(product_image(1, size=(400, 400)), 90)
    assert image_hash(data) is not None
    assert image_hash(data[: len(data) // 2]) is None


def test_pixel_cap_refuses_the_6300_square_png_from_its_header() -> None:
    """24 of these (170 KB each) took 3.6 GB: 6300x6300 is now over the cap."""
    assert MAX_PIXELS < 6300 * 6300
    data = huge_png()
    start = time.perf_counter()
    assert image_hash(data) is None
    assert time.perf_counter() - start < 0.2


def test_decode_cost_refuses_large_non_jpeg_but_not_large_jpeg() -> None:
    assert image_hash(huge_png(4000, 4000, alpha=True)) is None  # ~130 MB to decode
    assert image_hash(huge_png(3000, 3000, alpha=True)) is not None
    y, x = np.mgrid[0:4000:8, 0:6000:8]
    small = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    big = Image.fromarray(small, "RGB").resize((6000, 4000), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=80, progressive=True)  # 24 MP: decoded at 1/8 scale
    assert image_hash(buf.getvalue()) is not None


def test_only_web_formats_are_opened() -> None:
    img = product_image(6)
    for fmt in ("TIFF", "PPM", "TGA", "ICO"):
        buf = io.BytesIO()
        img.convert("RGB").save(buf, fmt)
        assert image_hash(buf.getvalue()) is None, fmt
    for fmt in ("PNG", "WEBP", "GIF", "BMP"):
        buf = io.BytesIO()
        img.save(buf, fmt)
        assert image_hash(buf.getvalue()) is not None, fmt


def test_exif_orientation_is_applied_after_shrinking() -> None:
    img = product_image(11, size=(300, 200))
    upright = image_hash(_jpeg(img, 90)) or ""
    stored = img.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and how it said to turn it
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    assert image_distance(upright, image_hash(buf.getvalue()) or "") <= 2
    assert image_distance(upright, image_hash(_jpeg(stored, 90)) or "") > THRESHOLD


def test_dct_matches_its_definition() -> None:
    """pHash needs a DCT-II, not scipy: the matrix is scipy.fftpack.dct's, unnormalised."""
    n = 32
    x = np.random.default_rng(0).random(n)
    k = np.arange(n)
    expected = [2 * sum(x * np.cos(np.pi * f * (2 * k + 1) / (2 * n))) for f in range(n)]
    assert np.allclose(_DCT @ x, expected)


def test_peak_memory_of_many_large_photos() -> None:
    """24 of issue 9's PNGs and 6 of the largest PNGs with alpha still hashed, fetched and
    hashed at once in a fresh process: the peak stays far under 300 MB (it was 1.8 GB for
    the first set alone; measured figures in bench/README.md)."""
    bench = Path(__file__).parent.parent / "bench" / "bench_images.py"
    run = subprocess.run(
        [sys.executable, str(bench), "--sets", "issue,rgba", "--count", "6"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    sets = {r["set"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert sets["issue"]["refused"] == 6 and sets["rgba"]["hashed"] == 6
    for r in sets.values():
        assert r["peak_rss_mb"] - r["rss_after_imports_mb"] < 150, r


async def test_photos_have_a_time_budget_and_leave_no_connection() -> None:
    """Dripping photos: fetch_hashes returns at its budget with them unknown, and cancels
    their requests cleanly."""
    with Marketplace() as market:
        shop = market.shop(URBAN)
        market.set_fault(URBAN, "drip", paths=r"^/cdn/")
        urls = [f"{shop.base}cdn/p{i}.jpg" for i in range(1, 9)]
        async with Http(HttpSettings(timeout=30), trusted=[shop.base]) as http:
            start = time.monotonic()
            got = await fetch_hashes(http, urls, budget=1.0)
            assert time.monotonic() - start < 2.0
            assert got == {} and http.open_connections() == 0
        for _ in range(40):
            if market.drips == 0:
                break
            await asyncio.sleep(0.05)
        assert market.drips == 0


def test_large_jpeg_decodes_small_and_fast() -> None:
    img = product_image(2, size=(3000, 2000))
    data = _jpeg(img, 85)
    start = time.perf_counter()
    big = image_hash(data)
    assert time.perf_counter() - start < 1.0
    assert big is not None
    assert image_distance(big, image_hash(_jpeg(img.resize((600, 400)), 80)) or "") <= THRESHOLD


def test_transparent_png_matches_flattened_on_white() -> None:
    rgba = product_image(4).convert("RGBA")
    arr = np.asarray(rgba).copy()
    arr[:40, :, 3] = 0  # transparent top strip
    cut = Image.fromarray(arr, "RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", cut.size, "white"), cut).convert("RGB")
    assert image_distance(image_hash(_png(cut)) or "", image_hash(_jpeg(flat, 85)) or "") <= 2


def test_hash_format_and_distance_properties() -> None:
    h = image_hash(_png(product_image(9)))
    assert h is not None and len(h) == 192 and int(h, 16) >= 0
    assert image_distance(h, h) == 0
    other = image_hash(_png(product_image(10)))
    assert other is not None
    assert image_distance(h, other) == image_distance(other, h)
    assert image_distance(h, "zz") == 64
    assert image_distance("", h) == 64


async def test_many_photos_are_hashed_in_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check with many photos decodes them in worker processes (every core), with the
    same hashes and thumbnails as this process's decoding thread; a few photos start no
    worker."""
    import watcher.images as images_module
    from watcher import workers

    workers.shutdown()
    with Marketplace() as market:
        shop = market.shop(URBAN)
        urls = [f"{shop.base}cdn/p{i}.jpg" for i in range(1, 7)]
        async with Http(HttpSettings(timeout=30), trusted=[shop.base]) as http:
            small_thumbs: dict[str, Thumbnail] = {}
            small = await fetch_hashes(http, urls, thumbnails=small_thumbs)
            assert not workers.started()
            monkeypatch.setattr(images_module, "WORKER_PHOTOS", 4)
            pooled_thumbs: dict[str, Thumbnail] = {}
            pooled = await fetch_hashes(http, urls, thumbnails=pooled_thumbs)
            assert workers.started()
    workers.shutdown()
    assert len(small) == 6 and all(small.values())
    assert pooled == small
    assert pooled_thumbs == small_thumbs and len(small_thumbs) == 6
