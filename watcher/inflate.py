"""Bounded decoding of ``Content-Encoding``: a body's size cap holds after every coding.

A decoder that inflates a whole network chunk at once turns ``Content-Encoding: gzip,
gzip`` (3.4 KB on the wire) into gigabytes before any size check runs: one deflate layer
expands at most ~1000x, two layers a million-fold. :class:`Inflater` pulls output through
the chain of decoders a step at a time (every zlib call has a ``max_length``), so no stage
ever holds more than :data:`STEP` bytes of output and the caller can stop at its cap.

Supported codings: ``identity``, ``gzip``/``x-gzip`` (several members too) and ``deflate``
(zlib-wrapped or raw), at most :data:`MAX_CODINGS` of them stacked. Anything else (``br``,
``zstd``, which watcher never asks for) is refused rather than passed on undecoded.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

__all__ = ["MAX_CODINGS", "STEP", "Inflater", "UnsupportedEncodingError"]

STEP = 64 * 1024
"""Most bytes one decoding step produces."""

MAX_CODINGS = 3
"""More codings than this on one body is an attack, not a server configuration."""

_GZIP = 16 + zlib.MAX_WBITS


class UnsupportedEncodingError(ValueError):
    """The body's Content-Encoding cannot be decoded within bounds."""


class _Stage:
    """One coding's decoder; keeps the input it has not consumed yet."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.pending = b""
        self.done = False
        self._raw_fallback = coding == "deflate"
        self._z = zlib.decompressobj(_GZIP if coding == "gzip" else zlib.MAX_WBITS)

    def step(self) -> bytes:
        """Up to STEP bytes of output from the pending input (b"": needs more input)."""
        if self.done:
            self.pending = b""
            return b""
        data, self.pending = self.pending, b""
        try:
            out = self._z.decompress(data, STEP)
        except zlib.error:
            if not self._raw_fallback:
                raise
            # "deflate" is often sent raw (RFC 1951) rather than zlib-wrapped (RFC 1950)
            self._raw_fallback = False
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, STEP)
        if data:
            self._raw_fallback = False
        self.pending = self._z.unconsumed_tail
        if self._z.eof:
            rest = self._z.unused_data
            if self.coding == "gzip" and rest.strip(b"\0"):
                self._z = zlib.decompressobj(_GZIP)  # the next member
                self.pending = rest + self.pending
            else:
                self.done = True
        return out


class Inflater:
    """Decodes a body whose Content-Encoding header is ``header`` as its bytes arrive.

    ``feed(raw)`` and ``finish()`` yield the decoded body in pieces of at most
    :data:`STEP` bytes; stop iterating (and drop the Inflater) to stop decoding.
    Raises :class:`UnsupportedEncodingError` (from the constructor) for codings it cannot
    bound and :class:`zlib.error` for corrupt data.
    """

    def __init__(self, header: str | None) -> None:
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = ["gzip" if c == "x-gzip" else c for c in codings if c and c != "identity"]
        if len(codings) > MAX_CODINGS:
            raise UnsupportedEncodingError(
                f"{len(codings)} stacked content codings ({header!r}); at most {MAX_CODINGS}"
            )
        for c in codings:
            if c not in ("gzip", "deflate"):
                raise UnsupportedEncodingError(f"unsupported content coding {c!r}")
        # the last coding listed was applied last: it comes off first
        self._stages = [_Stage(c) for c in reversed(codings)]
        self._input = b""

    @property
    def identity(self) -> bool:
        """True when the body is not encoded at all."""
        return not self._stages

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded output of the next ``raw`` bytes of the body."""
        if not self._stages:
            if raw:
                yield raw
            return
        self._input = raw
        while piece := self._pull(len(self._stages) - 1):
            yield piece

    def finish(self) -> Iterator[bytes]:
        """Whatever the decoders still hold at the end of the body."""
        return self.feed(b"")

    def _pull(self, i: int) -> bytes:
        stage = self._stages[i]
        while True:
            out = stage.step()
            if out:
                return out
            if i == 0:
                data, self._input = self._input, b""
            else:
                data = self._pull(i - 1)
            if not data:
                return b""
            stage.pending += data
