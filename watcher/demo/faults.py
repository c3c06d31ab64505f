"""Fault injection for the sample shops: the ways real sites fail, and hostile ones attack.

A :class:`FaultTable` holds at most one fault per shop; the server asks it on every
request whether (and how) to misbehave. The bodies of the nastier faults are built here:
random bytes, a challenge page, a 50 MB stream, a gzip bomb that inflates past 1 GiB
while neither side ever holds more than a few hundred kilobytes, the same bomb gzipped
twice (``Content-Encoding: gzip, gzip``, a few KB on the wire), a 6300x6300 PNG of about
170 KB, a 9.8 MB page of 1.4 million elements, and rewrites of the normal answer (:func:`rewrite`): tracking parameters on every
product link, absurd dates, over-long ids and currency codes.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

FAULT_MODES = (
    "500",
    "429",
    "timeout",
    "garbage",
    "truncated_json",
    "captcha",
    "empty_catalog",
    "redirect_loop",
    "huge",
    "gzip_bomb",
    "bad_image",
    "refuse",
    "drip",
    "gzip_stack",
    "huge_images",
    "tracking",
    "absurd_dates",
    "long_fields",
    "ssrf",
    "huge_dom",
)
IMAGE_ONLY = frozenset({"bad_image", "huge_images"})
"""Modes that only hit the shop's photos (``/cdn/`` paths)."""
DATA_FAULTS = ("future_dates", "odd_fields")
"""More rewrites, kept apart from :data:`FAULT_MODES` (whose size a test pins): dates a
parser accepts but a listing cannot have, and fields of the wrong JSON type."""
GONE_FAULTS = ("404", "410")
"""A page taken down (a listing removed after a complaint, an expired one): a plain Not
Found or Gone page. Kept apart from :data:`FAULT_MODES`, whose failures are all "unknown"
to watcher; aim it at one listing with ``paths``."""
REWRITES = frozenset({"tracking", "absurd_dates", "long_fields", "ssrf", *DATA_FAULTS})
"""Modes that serve the normal answer with a rewritten body (see :func:`rewrite`)."""

DRIP_SECONDS = 0.5
"""The ``drip`` fault sends the real answer's body one byte per this many seconds."""
HUGE_IMAGE_SIDE = 6300
HUGE_DOM_TAGS = 1_400_000
ABSURD_DATES = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-06-01Z")
LONG_ID_CHARS = 600
LONG_CURRENCY = "RENMINBI-YUAN"
SSRF_SPELLINGS = (
    "{host}:{port}",
    "127.1:{port}",
    "2130706433:{port}",
    "0x7f000001:{port}",
    "localhost:{port}",
    "[::1]:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "user:pw@{host}:{port}",
    "",  # the shop's own photo, which answers with a redirect to the target
)
"""How the ``ssrf`` fault spells the internal target in the links it plants."""

HUGE_BYTES = 50 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
BOMB_CHUNK = 1024 * 1024
BOMB_CHUNKS = 1100  # 1100 MiB inflated: more than 1 GiB
# CRC-32 of the default bomb's 1100 MiB of zeros (checking 1.1 GB takes 1.5 s).
_ZERO_CRC = {(BOMB_CHUNK, BOMB_CHUNKS): 0xE7AF0FC0}

CAPTCHA_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow">
<style>body{font-family:system-ui;text-align:center;padding-top:10%}</style></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">Verify you are human</h1>
<h2 class="h2" id="challenge-running">Verify you are human by completing the action below.</h2>
<div id="challenge-stage"><div class="cf-turnstile" data-sitekey="0x4AAAAAAADnPIDROrmt1Wwj"></div>
<noscript>Enable JavaScript and cookies to continue</noscript></div>
<p>This site needs to review the security of your connection before proceeding.</p>
</div></div>
<script>window._cf_chl_opt={cvId:'3',cType:'managed',cRay:'8f1d2c3b4a5e6f70'};</script>
</body></html>
"""


@dataclass
class Fault:
    """One shop's fault: ``mode``, the request paths it applies to, how many are left."""

    mode: str
    paths: re.Pattern[str] | None = None
    count: int | None = None

    def applies(self, target: str) -> bool:
        """True when this fault should hit a request for ``target`` (path and query)."""
        if self.mode in IMAGE_ONLY and not target.startswith("/cdn/"):
            return False
        return self.paths is None or self.paths.search(target) is not None


class FaultTable:
    """Thread-safe faults by shop name."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def set(self, shop: str, mode: str, paths: str = "", count: int | None = None) -> None:
        """Make ``shop`` fail with ``mode`` (see FAULT_MODES, DATA_FAULTS and GONE_FAULTS)."""
        if mode not in (*FAULT_MODES, *DATA_FAULTS, *GONE_FAULTS):
            known = ", ".join((*FAULT_MODES, *DATA_FAULTS, *GONE_FAULTS))
            raise ValueError(f"unknown fault mode {mode!r} (one of: {known})")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults[shop] = Fault(mode, re.compile(paths) if paths else None, count)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, shop: str, target: str) -> str | None:
        """The fault mode to apply to this request, counting it; None for a normal answer."""
        with self._lock:
            fault = self._faults.get(shop)
            if fault is None or not fault.applies(target):
                return None
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    del self._faults[shop]
            return fault.mode


def garbage(n: int, seed: int) -> bytes:
    """``n`` random bytes (reproducible from ``seed``)."""
    return random.Random(seed).randbytes(n)


def huge_chunks(total: int = HUGE_BYTES, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A ``total``-byte body in chunks, JSON-looking so a parser gets far before failing."""
    head = b'{"products":['
    filler = (b'{"id":1,"title":"' + b"x" * 200 + b'"},') * (chunk // 220 + 1)
    yield head
    sent = len(head)
    while sent < total:
        part = filler[: min(chunk, total - sent)]
        yield part
        sent += len(part)


@dataclass(frozen=True)
class GzipBomb:
    """A gzip member whose deflate stream is one block repeated: tiny to send, huge inflated."""

    header: bytes
    first: bytes
    block: bytes
    repeats: int
    trailer: bytes

    @property
    def size(self) -> int:
        """Compressed size in bytes."""
        return (
            len(self.header) + len(self.first) + len(self.block) * self.repeats + len(self.trailer)
        )

    def chunks(self) -> Iterator[bytes]:
        """The body, a block at a time."""
        yield self.header + self.first
        for _ in range(self.repeats):
            yield self.block
        yield self.trailer


@cache
def gzip_bomb(chunk: int = BOMB_CHUNK, chunks: int = BOMB_CHUNKS) -> GzipBomb:
    """Build (once) a gzip body inflating to ``chunk * chunks`` zero bytes.

    A full flush after each chunk resets the compressor, so every chunk after the first
    compresses to the same bytes: only two chunks are ever compressed."""
    zeros = bytes(chunk)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    first = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)
    crc = _ZERO_CRC.get((chunk, chunks))
    if crc is None:
        crc, view = 0, memoryview(zeros)
        for _ in range(chunks):
            crc = zlib.crc32(view, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = tail + struct.pack("<II", crc & 0xFFFFFFFF, (chunk * chunks) & 0xFFFFFFFF)
    return GzipBomb(header, first, block, chunks - 1, trailer)


@cache
def huge_dom(tags: int = HUGE_DOM_TAGS) -> bytes:
    """A valid HTML page of ``tags`` empty elements: 9.8 MB for the default 1.4 million."""
    return b"<!DOCTYPE html><html><body>" + b"<i></i>" * tags + b"</body></html>"


@cache
def stacked_gzip(chunk: int = BOMB_CHUNK, chunks: int = BOMB_CHUNKS) -> bytes:
    """:func:`gzip_bomb` gzipped once more, for ``Content-Encoding: gzip, gzip``: a few KB
    that inflate to about 1 MB and then to ``chunk * chunks`` zero bytes."""
    return gzip.compress(b"".join(gzip_bomb(chunk, chunks).chunks()), 9, mtime=0)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@cache
def huge_png(
    width: int = HUGE_IMAGE_SIDE, height: int = HUGE_IMAGE_SIDE, alpha: bool = False
) -> bytes:
    """A real, valid PNG of ``width`` x ``height`` (RGB, or RGBA with ``alpha``): horizontal
    bands of colour with a diagonal stripe, compressed row by row so building it never
    holds the raw pixels (6300 x 6300 RGB is 119 MB raw, about 170 KB here)."""
    bands = 7
    channels = 4 if alpha else 3
    rng = random.Random(width * 7919 + height)
    colours = [bytes(rng.randrange(256) for _ in range(channels)) for _ in range(bands)]
    comp = zlib.compressobj(9)
    parts: list[bytes] = []
    for y in range(height):
        band = colours[y * bands // height]
        stripe = (y * width // height) // 64 * 64
        row = band * stripe + colours[(y * bands // height + 3) % bands] * min(64, width - stripe)
        row += band * (width - len(row) // channels)
        parts.append(comp.compress(b"\0" + row))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


# --- rewrites of a normal answer -------------------------------------------------------------

_PRODUCT_LINK = re.compile(
    rb"""((?:href=|"url":\s*|"permalink":\s*|"@id":\s*)"(?:https?://[^/"]+)?"""
    rb'/(?:item|p|products|product)/[^"?#]+?)(\?[^"#]*)?(#[^"]*)?"',
)
_DATE_FIELD = re.compile(
    rb'("(?:published_at|created_at|updated_at|date_created|date_created_gmt|'
    rb'date_modified|date_modified_gmt|datePublished|dateCreated|dateModified|releaseDate)"'
    rb':\s*)"[^"]*"'
)
_ID_FIELD = re.compile(rb'("(?:id|productID|sku)":\s*)("[^"]*"|\d+)')
_CURRENCY_FIELD = re.compile(rb'("(?:currency_code|priceCurrency|currency)":\s*)"[^"]*"')
_CARD_ID = re.compile(rb'(href="/item/)(\d+)(\.html")')
_OWN_PHOTO = re.compile(rb"(https?://)(127\.0\.0\.1:\d+)(/cdn/)")
_NEXT_LINK = re.compile(rb'(class="(?:next|pagination__item--next)" href=")[^"]*(")')


def _oddity(value: bytes) -> int:
    """0, 1 or 2, the same for a given id in every answer: which ``long_fields`` change it
    gets (a real shop's odd id is odd every time it is served, never on one page only)."""
    return zlib.crc32(value) % 3


def rewrite(mode: str, body: bytes, seq: int, target: str = "127.0.0.1:9") -> bytes:
    """The normal answer ``body`` rewritten by ``mode`` (one of :data:`REWRITES`); ``seq``
    (the shop's request count) varies what changes from one request to the next.

    ``tracking``: every product link gains ``?_pos=…&_sid=<random>&qid=<timestamp>`` (its
    own query kept). ``absurd_dates``: every date field becomes one of
    :data:`ABSURD_DATES`. ``long_fields``: about a third of the ids (chosen by the
    id itself, so a product keeps its odd id in every answer that names it) grow to 600
    characters, another third gain a NUL byte, every currency code becomes
    :data:`LONG_CURRENCY`, and card links of an HTML page chosen the same way a 600-digit
    id. ``ssrf``: photo URLs point to
    ``target`` (``host:port``, an internal service) spelled each of the
    :data:`SSRF_SPELLINGS` ways in turn, and the next-page link goes there too."""
    if mode == "tracking":
        rng = random.Random(seq)
        stamp = time.time_ns()

        def track(m: re.Match[bytes]) -> bytes:
            query = m.group(2) or b"?"
            sep = b"" if query in (b"?",) or query.endswith(b"&") else b"&"
            extra = f"_pos={rng.randint(1, 40)}&_sid={rng.getrandbits(40):010x}&qid={stamp}"
            return m.group(1) + query + sep + extra.encode() + (m.group(3) or b"") + b'"'

        return _PRODUCT_LINK.sub(track, body)
    if mode == "absurd_dates":
        n = iter(range(1 << 30))

        def absurd(m: re.Match[bytes]) -> bytes:
            value = ABSURD_DATES[(seq + next(n)) % len(ABSURD_DATES)]
            return m.group(1) + b'"' + value.encode() + b'"'

        return _DATE_FIELD.sub(absurd, body)
    if mode == "long_fields":

        def long_id(m: re.Match[bytes]) -> bytes:
            value = m.group(2).strip(b'"')
            odd = _oddity(value)
            if odd == 0:
                return m.group(1) + b'"' + value.ljust(LONG_ID_CHARS, b"7") + b'"'
            if odd == 1:
                return m.group(1) + b'"' + value + b'\\u0000x"'
            return m.group(0)

        body = _ID_FIELD.sub(long_id, body)
        body = _CURRENCY_FIELD.sub(
            lambda m: m.group(1) + b'"' + LONG_CURRENCY.encode() + b'"', body
        )
        return _CARD_ID.sub(
            lambda m: (
                m.group(1)
                + (
                    m.group(2).ljust(LONG_ID_CHARS, b"9")
                    if _oddity(m.group(2)) == 0
                    else m.group(2)
                )
                + m.group(3)
            ),
            body,
        )
    if mode == "ssrf":
        host, _, port = target.rpartition(":")
        turn = iter(range(seq, seq + (1 << 30)))

        def spell(m: re.Match[bytes]) -> bytes:
            form = SSRF_SPELLINGS[next(turn) % len(SSRF_SPELLINGS)]
            where = form.format(host=host, port=port).encode() if form else m.group(2)
            return m.group(1) + where + m.group(3)

        body = _OWN_PHOTO.sub(spell, body)
        return _NEXT_LINK.sub(
            lambda m: m.group(1) + f"http://{target}/shop/?page=2".encode() + m.group(2), body
        )
    if mode == "future_dates":
        return _DATE_FIELD.sub(lambda m: m.group(1) + b'"' + FUTURE_DATE.encode() + b'"', body)
    if mode == "odd_fields":
        return _odd_fields(body)
    raise ValueError(f"not a rewrite fault: {mode!r}")


FUTURE_DATE = "2099-06-01T00:00:00Z"
"""What ``future_dates`` puts in every date field: a valid timestamp no listing can have."""
ODD_SUGGESTION = {
    "id": 9990001,
    "title": "Odd Search Result",
    "handle": "odd-search-result",
    "featured_image": "/cdn/odd.jpg",
    "price": {"amount": "19.00"},
    "tags": "odd,result",
    "available": "yes",
}
"""What a Shopify search answers in the ``odd_fields`` fault when it found nothing."""


def _odd_fields(body: bytes) -> bytes:
    """``odd_fields``: Shopify search suggestions with a string ``featured_image``, an object
    for a price, a string for tags; catalog products with a string for ``images`` and a
    number for ``tags``."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    results = data.get("resources", {}).get("results") if "resources" in data else None
    if isinstance(results, dict):
        found = results.get("products") or [dict(ODD_SUGGESTION)]
        for p in found:
            image = p.pop("image", None)
            p["featured_image"] = image if isinstance(image, str) else "/cdn/odd.jpg"
            p["price"] = {"amount": p.get("price")}
            p["tags"] = ",".join(t for t in p.get("tags") or [] if isinstance(t, str))
            p["available"] = "yes"
        results["products"] = found
    for p in data.get("products") or []:
        if isinstance(p, dict):
            p["images"], p["tags"], p["options"] = "/cdn/odd.jpg", 7, None
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
