"""Read the data frames of an R package's lazy-load data base (``data/Rdata.rdx`` + ``.rdb``).

Just enough of R's XDR serialisation format (version 2 and 3) for data frames of character,
integer, double and logical columns; used at training time to read lexicons that Debian's R
packages ship as R data (no R installation needed).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib
from pathlib import Path
from typing import Any

_NIL, _REF, _SYM, _CHAR, _LIST, _STR, _INT, _LGL, _REAL, _VEC = (
    254,
    255,
    1,
    9,
    2,
    16,
    13,
    10,
    14,
    19,
)


class _Reader:
    def __init__(self, blob: bytes) -> None:
        self.blob, self.pos, self.refs = blob, 0, []  # type: ignore[var-annotated]

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.blob, self.pos)
        self.pos += 4
        return int(v)

    def top(self) -> Any:
        if self.blob[:2] != b"X\n":
            raise ValueError("not XDR-serialised R data")
        self.pos = 2
        version = self.int()
        self.pos += 8
        if version == 3:
            n = self.int()  # the native encoding's name follows
            self.pos += n
        return self.item()

    def item(self) -> Any:
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind in (_NIL, 242, 241, 253):
            return None
        if kind == _REF:
            return self.refs[(flags >> 8 or self.int()) - 1]
        if kind == _SYM:
            sym = ("sym", self.item())
            self.refs.append(sym)
            return sym
        if kind == _CHAR:
            n = self.int()
            if n == -1:
                return None
            s = self.blob[self.pos : self.pos + n].decode("utf-8", "replace")
            self.pos += n
            return s
        if kind == _LIST:
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            head = [(tag[1] if tag else None, self.item())]
            rest = self.item()
            return head + (rest or [])
        if kind == _STR:
            value: Any = [self.item() for _ in range(self.int())]
        elif kind in (_INT, _LGL):
            n = self.int()
            value = list(struct.unpack_from(f">{n}i", self.blob, self.pos))
            self.pos += 4 * n
        elif kind == _REAL:
            n = self.int()
            value = list(struct.unpack_from(f">{n}d", self.blob, self.pos))
            self.pos += 8 * n
        elif kind == _VEC:
            value = [self.item() for _ in range(self.int())]
        else:
            raise ValueError(f"R type {kind} not supported")
        if has_attr:
            return {"value": value, "attributes": dict(self.item())}
        return value


def _inflate(raw: bytes) -> bytes:
    body = raw[4:]  # big-endian uncompressed length first
    kind = body[:1]
    if kind == b"Z":
        return lzma.decompress(body[1:])
    if kind == b"2":
        return bz2.decompress(body[1:])
    if kind == b"1":
        return zlib.decompress(body[1:])
    if kind == b"0":
        return body[1:]
    return zlib.decompress(body)


def data_frames(data_dir: Path) -> dict[str, dict[str, list[Any]]]:
    """Every data frame of ``data_dir/Rdata.{rdx,rdb}`` as ``{name: {column: values}}``."""
    index = _Reader(gzip.decompress((data_dir / "Rdata.rdx").read_bytes())).top()
    variables = dict(zip(["variables", "references", "compressed"], index["value"], strict=True))
    table = variables["variables"]
    blob = (data_dir / "Rdata.rdb").read_bytes()
    out = {}
    for name, (offset, length) in zip(table["attributes"]["names"], table["value"], strict=True):
        obj = _Reader(_inflate(blob[offset : offset + length])).top()
        if isinstance(obj, dict) and "names" in obj["attributes"]:
            out[name] = dict(zip(obj["attributes"]["names"], obj["value"], strict=True))
    return out
