"""Procedural product photos for the sample marketplace.

Every image is a pure function of its name, so shops only hand out names and the
``/cdn/<name>.jpg`` route renders (and caches) the bytes on first request:

* ``p<seed>``: a product photo: a studio backdrop, a garment or accessory silhouette in
  the product's colour with a fabric pattern, a prop and a soft shadow.
* ``s<seed>-<k>``: a STOLEN copy of ``p<seed>``: re-encoded at another size and quality,
  with a shop's watermark and a text band, as copy shops do. Its 64-bit pHash stays
  within a few bits of the original's.
"""

from __future__ import annotations

import io
import random
import re
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

_NAME = re.compile(r"^(p)(\d{1,9})$|^(s)(\d{1,9})-(\d{1,3})$")

SHAPES = ("dress", "shirt", "trousers", "skirt", "bag", "scarf", "hat", "coat")


def valid_name(name: str) -> bool:
    """True when ``name`` (without ``.jpg``) names an image this module can draw."""
    return _NAME.match(name) is not None


def _colour(rng: random.Random, light: bool) -> tuple[int, int, int]:
    lo, hi = (150, 250) if light else (15, 140)
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _silhouette(shape: str, cx: int, cy: int, s: int) -> list[tuple[int, int]]:
    """A garment outline around (cx, cy) of half-size ``s``."""
    p = {
        "dress": [(-0.3, -1), (0.3, -1), (0.35, -0.5), (0.9, 1), (-0.9, 1), (-0.35, -0.5)],
        "shirt": [
            (-0.35, -1),
            (0.35, -1),
            (1, -0.6),
            (0.8, -0.2),
            (0.5, -0.4),
            (0.5, 1),
            (-0.5, 1),
            (-0.5, -0.4),
            (-0.8, -0.2),
            (-1, -0.6),
        ],
        "trousers": [
            (-0.55, -1),
            (0.55, -1),
            (0.7, 1),
            (0.15, 1),
            (0, -0.2),
            (-0.15, 1),
            (-0.7, 1),
        ],
        "skirt": [(-0.4, -0.6), (0.4, -0.6), (1, 0.7), (-1, 0.7)],
        "bag": [(-0.8, -0.3), (0.8, -0.3), (0.9, 0.9), (-0.9, 0.9)],
        "scarf": [
            (-1, -0.4),
            (1, -0.7),
            (0.9, -0.1),
            (0.3, 0.1),
            (0.5, 1),
            (0.1, 1),
            (-0.1, 0.2),
            (-1, 0.2),
        ],
        "hat": [(-0.5, -0.6), (0.5, -0.6), (0.7, 0.2), (1, 0.4), (-1, 0.4), (-0.7, 0.2)],
        "coat": [
            (-0.4, -1),
            (0.4, -1),
            (1, -0.5),
            (1, 1),
            (0.5, 1),
            (0.5, 0),
            (-0.5, 0),
            (-0.5, 1),
            (-1, 1),
            (-1, -0.5),
        ],
    }[shape]
    return [(int(cx + x * s), int(cy + y * s)) for x, y in p]


def _draw_product(seed: int) -> Image.Image:
    rng = random.Random(seed * 7919 + 17)
    w = rng.choice((480, 520, 560, 600))
    h = rng.choice((480, 540, 600))
    # Backdrop: a two-colour gradient in a random direction, light or dark.
    light = rng.random() < 0.6
    a, b = _colour(rng, light), _colour(rng, not light if rng.random() < 0.5 else light)
    t = np.linspace(0.0, 1.0, h if rng.random() < 0.5 else w, dtype=np.float32)
    ramp = np.outer(1 - t, a) + np.outer(t, b)
    if len(t) == h:
        grid = np.broadcast_to(ramp[:, None, :], (h, w, 3))
    else:
        grid = np.broadcast_to(ramp[None, :, :], (h, w, 3))
    img = Image.fromarray(grid.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    # Props: a couple of large blocks (a table top, a wall panel) placed anywhere.
    for _ in range(rng.randint(1, 3)):
        x0, y0 = rng.randint(-w // 3, w), rng.randint(-h // 3, h)
        x1, y1 = x0 + rng.randint(w // 4, w), y0 + rng.randint(h // 4, h)
        fill = _colour(rng, rng.random() < 0.5)
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=fill)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=fill)
    # The product, off-centre, with a soft shadow and a pattern.
    shape = rng.choice(SHAPES)
    s = rng.randint(min(w, h) // 4, int(min(w, h) / 2.4))
    cx = rng.randint(s, w - s)
    cy = rng.randint(s, h - s)
    outline = _silhouette(shape, cx, cy, s)
    shadow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(shadow).polygon([(x + s // 8, y + s // 8) for x, y in outline], fill=120)
    img.paste((20, 20, 20), mask=shadow.filter(ImageFilter.GaussianBlur(s // 10 + 2)))
    body = _colour(rng, rng.random() < 0.4)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    fabric = Image.new("RGB", (w, h), body)
    fd = ImageDraw.Draw(fabric)
    accent = _colour(rng, sum(body) < 380)
    pattern = rng.choice(("plain", "stripes", "dots", "checks", "flowers"))
    step = rng.randint(14, 34)
    if pattern == "stripes":
        for x in range(-h, w, step):
            fd.line([(x, 0), (x + h, h)], fill=accent, width=step // 3)
    elif pattern == "dots":
        for y in range(0, h, step):
            for x in range((y // step % 2) * step // 2, w, step):
                fd.ellipse([x, y, x + step // 3, y + step // 3], fill=accent)
    elif pattern == "checks":
        for x in range(0, w, step * 2):
            fd.rectangle([x, 0, x + step, h], fill=accent)
        for y in range(0, h, step * 2):
            fd.line([(0, y), (w, y)], fill=accent, width=step // 2)
    elif pattern == "flowers":
        for _ in range(60):
            x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(4, 10)
            for dx, dy in ((-r, 0), (r, 0), (0, -r), (0, r)):
                fd.ellipse([x + dx - r, y + dy - r, x + dx + r, y + dy + r], fill=accent)
            fd.ellipse([x - r // 2, y - r // 2, x + r // 2, y + r // 2], fill=(240, 210, 80))
    img.paste(fabric, mask=mask)
    # Fine texture so JPEG sizes look like photos, not flat vector art.
    noise = np.random.default_rng(seed).integers(-4, 5, (h, w, 1), dtype=np.int16)
    pixels = np.asarray(img, dtype=np.int16) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _encode(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


@lru_cache(maxsize=256)
def _product_image(seed: int) -> Image.Image:
    return _draw_product(seed)


def _stolen(seed: int, k: int) -> bytes:
    """The copy shop's version: resized, watermarked, a text band, lower quality."""
    rng = random.Random(seed * 31 + k)
    src = _product_image(seed)
    scale = rng.choice((0.8, 0.85, 1.15, 1.25))
    img = src.resize((int(src.width * scale), int(src.height * scale)), Image.Resampling.LANCZOS)
    w, h = img.size
    overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    od = ImageDraw.Draw(overlay)
    band = h // 16
    od.rectangle([0, h - band, w, h], fill=(200, 20, 30, 110))
    font = ImageFont.load_default()
    od.text(
        (10, h - band + band // 3),
        "HOT SALE  FREE SHIPPING  2027",
        fill=(255, 255, 255, 255),
        font=font,
    )
    for i in range(4):
        od.text(
            (w // 5 + i * w // 6, h // 5 + i * h // 6),
            "COPY SHOP",
            fill=(255, 255, 255, 90),
            font=font,
        )
    out = Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
    return _encode(out, rng.choice((62, 70, 78)))


@lru_cache(maxsize=512)
def render(name: str) -> bytes:
    """The JPEG bytes of image ``name`` (``p12`` or ``s12-1``); KeyError if not a name."""
    m = _NAME.match(name)
    if m is None:
        raise KeyError(name)
    if m.group(1):
        return _encode(_product_image(int(m.group(2))), 86)
    return _stolen(int(m.group(4)), int(m.group(5)))


@lru_cache(maxsize=4096)
def size(name: str) -> tuple[int, int]:
    """(width, height) of image ``name`` without drawing it."""
    m = _NAME.match(name)
    if m is None:
        raise KeyError(name)
    if m.group(1):
        rng = random.Random(int(m.group(2)) * 7919 + 17)
        return rng.choice((480, 520, 560, 600)), rng.choice((480, 540, 600))
    seed, k = int(m.group(4)), int(m.group(5))
    w, h = size(f"p{seed}")
    scale = random.Random(seed * 31 + k).choice((0.8, 0.85, 1.15, 1.25))
    return int(w * scale), int(h * scale)
