"""Normalise product titles before comparing them (Chinese, English and mixed).

Copiers pad or strip marketing filler (包邮, 新款, "free shipping", years), swap brackets and
punctuation, use full-width characters and swap a shop name in front of the title. All of
that is removed here so the similarity measure only sees words describing the product.

:func:`normalize_many` does the work on one big newline-joined string, so the regular
expressions and ``str.translate`` run once in C for a whole catalogue instead of once per
title; :func:`normalize_title` is the same code applied to a single title, so both always agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np

__all__ = ["FILLER_EN", "FILLER_ZH", "fold_many", "normalize_many", "normalize_title"]

FILLER_ZH: tuple[str, ...] = (
    "包邮",
    "顺丰包邮",
    "全国包邮",
    "新款",
    "新品",
    "新品上市",
    "上新",
    "正品",
    "正品保证",
    "官方正品",
    "专柜正品",
    "爆款",
    "厂家直销",
    "工厂直销",
    "工厂店",
    "直销",
    "批发",
    "一件代发",
    "现货",
    "现货速发",
    "当天发货",
    "急速发货",
    "速发",
    "特价",
    "特惠",
    "优惠",
    "折扣",
    "秒杀",
    "限时",
    "大促",
    "热卖",
    "热销",
    "畅销",
    "官方",
    "旗舰店",
    "旗舰",
    "专营店",
    "自营",
    "直营",
    "促销",
    "清仓",
    "亏本",
    "年新款",
    "网红同款",
    "明星同款",
    "抖音同款",
    "小红书同款",
    "网红",
    "店长推荐",
    "推荐",
    "假一赔十",
    "七天无理由",
    "品质保证",
    "高品质",
    "超值",
    "实惠",
)
"""Chinese marketing filler removed wherever it appears (longest match first)."""

FILLER_EN: tuple[str, ...] = (
    "free shipping",
    "free ship",
    "free delivery",
    "fast shipping",
    "fast delivery",
    "hot sale",
    "hot sales",
    "hot selling",
    "best seller",
    "best sellers",
    "bestseller",
    "best selling",
    "top seller",
    "top selling",
    "top rated",
    "new arrival",
    "new arrivals",
    "brand new",
    "new style",
    "new design",
    "newest",
    "limited offer",
    "limited time offer",
    "limited time",
    "special offer",
    "on sale",
    "big sale",
    "flash sale",
    "clearance",
    "clearance sale",
    "wholesale",
    "factory direct",
    "factory price",
    "factory outlet",
    "in stock",
    "ready stock",
    "ready to ship",
    "high quality",
    "top quality",
    "premium quality",
    "100 authentic",
    "authentic",
    "official store",
    "official",
    "trending",
    "dropshipping",
)
"""English marketing filler removed as whole words (after punctuation is gone)."""

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SHOP_SUFFIX = "旗舰店|专营店|专卖店|官方店|小铺|小店|店铺|店|馆|铺|工作室"
_OPEN = "【\\[(「『《〔〖<{"
_CLOSE = "】\\])」』》〕〗>}"

# A bracketed shop name ("【悦享生活馆】", "[XYZ Official Store]") or one that leads the
# title before a space ("悦享生活馆 北欧风..."): copiers swap these, they say nothing of the item.
_SHOP = re.compile(
    rf"[{_OPEN}][^{_CLOSE}\n]{{0,16}}?(?:{_SHOP_SUFFIX}|store|shop)[{_CLOSE}]"
    rf"|^[ \t]*[^\s{_OPEN}]{{1,12}}?(?:{_SHOP_SUFFIX})(?=[ \t])",
    re.MULTILINE,
)
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")
_DOT = re.compile(r"(?<![0-9])\.|\.(?![0-9])")


def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_YEAR = r"(?<![a-z0-9])(?:new[ \t]+)?(?<![0-9])20[12][0-9](?![0-9])[ \t]*(?:年[ \t]*)?(?:款|new(?![a-z0-9]))?"
_FILLER = re.compile(
    rf"{_YEAR}"
    rf"|(?<![a-z0-9])(?:new[ \t]+)?(?:{_alternation(FILLER_EN)})(?![a-z0-9])"
    rf"|{_alternation(FILLER_ZH)}"
)
_SPACES = re.compile(r"[^\S\n]+")
_EDGES = re.compile(r"^ | $", re.MULTILINE)


_SPECIAL = np.uint32(0xFFFFFFFF)
_APOSTROPHES = "'’‘`"
# Code points whose NFKC form or category can differ from themselves; the big ideograph and
# Hangul-syllable blocks are left out (identity, not punctuation), which keeps the build fast.
_TABLE_RANGES = (
    range(0x3400),
    range(0x4DC0, 0x4E00),
    range(0xA000, 0xAC00),
    range(0xD7A4, 0x10000),
    range(0x1D400, 0x1D800),
    range(0x1F000, 0x1FB00),
    range(0x2F800, 0x2FA20),
)


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Code-point tables: NFKC+casefold fold (or ``_SPECIAL``) and punctuation-to-space."""
    fold = np.arange(0x110000, dtype=np.uint32)
    punct = np.arange(0x110000, dtype=np.uint32)
    for block in _TABLE_RANGES:
        for cp in block:
            c = chr(cp)
            cat = unicodedata.category(c)
            # Combining marks and jamo compose with their neighbours under NFKC, and
            # multi-character expansions ("…", "™", "⑩") change lengths: whole-title path.
            if cat[0] == "M" or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
                fold[cp] = _SPECIAL
            else:
                r = unicodedata.normalize("NFKC", c).casefold()
                if len(r) != 1:
                    fold[cp] = _SPECIAL
                else:
                    fold[cp] = ord("'") if r in _APOSTROPHES else ord(r)
            if cat[0] in "PS" or cat in ("Cc", "Cf"):
                punct[cp] = 0x20
    fold[0x0A] = punct[0x0A] = 0x0A
    punct[ord(".")] = ord(".")  # decimal points survive; stray dots go in _DOT
    fold.setflags(write=False)
    punct.setflags(write=False)
    return fold, punct


def _codepoints(text: str) -> np.ndarray:
    # surrogatepass: a lone surrogate from a "\ud800" JSON escape is a code point like any
    # other here (the tables map it to a space) instead of an encoding error.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _text(codes: np.ndarray) -> str:
    return codes.astype(np.uint32, copy=False).tobytes().decode("utf-32-le", "surrogatepass")


def _fold_slow(title: str) -> str:
    text = unicodedata.normalize("NFKC", title.replace("\n", " ")).casefold()
    for a in _APOSTROPHES[1:]:
        text = text.replace(a, "'")
    return text


def fold_many(titles: Sequence[str]) -> list[str]:
    """NFKC + casefold each title (apostrophe-likes become ``'``), vectorised with numpy.

    Titles made only of characters that NFKC maps one-to-one (nearly all real titles) are
    folded through a code-point table in one pass; the rest go through
    :func:`unicodedata.normalize` whole, which gives the same result for the simple ones.
    """
    if not titles:
        return []
    fold, _ = _tables()
    joined = "\n".join(t.replace("\n", " ") for t in titles)
    codes = fold[_codepoints(joined)]
    out = _text(np.where(codes == _SPECIAL, 0x20, codes)).split("\n")
    special = np.flatnonzero(codes == _SPECIAL)
    if special.size:
        starts = np.flatnonzero(codes == 0x0A)
        for i in np.unique(np.searchsorted(starts, special)).tolist():
            out[i] = _fold_slow(titles[i])
    return out


def normalize_many(titles: Sequence[str]) -> list[str]:
    """Normalise many titles at once; same result as :func:`normalize_title` on each."""
    if not titles:
        return []
    text = "\n".join(fold_many(titles))
    text = _SHOP.sub(" ", text)
    text = _APOSTROPHE.sub("", text)
    _, punct = _tables()
    text = _text(punct[_codepoints(text)])
    text = _DOT.sub(" ", text)
    text = _FILLER.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _EDGES.sub("", text)
    return text.split("\n")


@lru_cache(maxsize=8192)
def normalize_title(title: str) -> str:
    """Normalise one product title for comparison.

    Steps: Unicode NFKC (full-width to half-width), casefold, drop a bracketed or leading
    shop name, join apostrophes ("men's" -> "mens"), turn punctuation, brackets and symbols
    into spaces (a decimal point between digits stays: "1.5l"), remove marketing filler
    (:data:`FILLER_ZH`, :data:`FILLER_EN`, years 2010-2029 with 年/款/new) and collapse spaces.
    """
    return normalize_many([title])[0]
