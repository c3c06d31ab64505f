"""Fault injection for the sample shops: the ways real sites fail.

A :class:`FaultTable` holds at most one fault per shop; the server asks it on every
request whether (and how) to misbehave. The bodies of the nastier faults are built here:
random bytes, a challenge page, a 50 MB stream and a gzip bomb that inflates past 1 GiB
while neither side ever holds more than a few hundred kilobytes.
"""

from __future__ import annotations

import random
import re
import struct
import threading
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
)

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
        if self.mode == "bad_image" and not target.startswith("/cdn/"):
            return False
        return self.paths is None or self.paths.search(target) is not None


class FaultTable:
    """Thread-safe faults by shop name."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def set(self, shop: str, mode: str, paths: str = "", count: int | None = None) -> None:
        """Make ``shop`` fail with ``mode`` (see FAULT_MODES)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r} (one of: {', '.join(FAULT_MODES)})")
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
