"""Title similarity for copied listings, Chinese, English and mixed.

A title becomes a *set* of tokens: Chinese/Japanese runs give character bigrams (a one-character
run gives itself), other scripts give words, digits split from letters ("iphone15pro" ->
``iphone 15 pro``), English words lightly stemmed ("mugs" -> ``mug``) and stop words dropped.
Sets make the measure order-insensitive: a reordered title is the same title.

The score is the Dice coefficient of the two sets, then lowered for *variant conflicts*.

Variant policy: two listings that name a different model, size or capacity of the same thing are
different products, not copies, even when every other word is shared ("iPhone 15 Pro" vs
"iPhone 14 Pro", "128GB" vs "256GB", "500ml" vs "1L", "42码" vs "44码", "Pro" vs "Pro Max",
"white" vs "black", "男" vs "女"). Each title yields values for a few kinds (bare numbers,
numbers with a unit, converted to one base unit per dimension, letter+digit codes like ``s24``,
clothing sizes, bed sizes, colours, gender, life stage such as adult/kitten, model-variant
words). When both titles state a kind
and neither's values include the other's, the Dice score is multiplied by
:data:`CONFLICT_FACTOR` (0.75), which puts an otherwise identical title below the 0.85 default
threshold while keeping it a candidate at lower thresholds. A value present on one side only
(a copier adding "2 pack" or dropping the colour) is not a conflict. Variant words must be equal
when both sides have any ("Pro" vs "Pro Max" conflicts).

:class:`TitleIndex` answers "which of these 100 000 titles are at least this similar to mine"
exactly (same numbers as :func:`title_similarity`) by bounding the score from substring counts
on a cheaply folded copy of all titles, then scoring only the survivors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from watcher.text.normalize import _CJK, fold_many, normalize_many, normalize_title

__all__ = ["CONFLICT_FACTOR", "TitleIndex", "title_features", "title_similarity"]

CONFLICT_FACTOR = 0.75
"""Multiplier applied to the Dice score when the titles name different variants."""

_TOKEN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<word>[^\W\d_{_CJK}]+)")

_STOP = frozenset(("a", "an", "and", "the", "of", "for", "with", "to", "in", "on", "at", "by"))

# unit -> (dimension, factor to the base unit of that dimension)
_UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("ml", "毫升"), ("volume", 1.0)),
    **dict.fromkeys(("l", "升", "litre", "liter", "litres", "liters"), ("volume", 1000.0)),
    **dict.fromkeys(("oz", "fl"), ("oz", 1.0)),
    **dict.fromkeys(("qt", "quart", "quarts"), ("quart", 1.0)),
    **dict.fromkeys(("g", "克", "gram", "grams"), ("mass", 1.0)),
    **dict.fromkeys(("kg", "千克", "公斤"), ("mass", 1000.0)),
    "斤": ("mass", 500.0),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), ("lb", 1.0)),
    **dict.fromkeys(("mb",), ("storage", 1 / 1024)),
    **dict.fromkeys(("gb", "g内存"), ("storage", 1.0)),
    **dict.fromkeys(("tb",), ("storage", 1024.0)),
    **dict.fromkeys(("mah", "毫安"), ("charge", 1.0)),
    **dict.fromkeys(("w", "瓦"), ("power", 1.0)),
    **dict.fromkeys(("v", "伏"), ("voltage", 1.0)),
    **dict.fromkeys(("mm", "毫米"), ("length", 1.0)),
    **dict.fromkeys(("cm", "厘米"), ("length", 10.0)),
    **dict.fromkeys(("m", "米"), ("length", 1000.0)),
    **dict.fromkeys(("ft", "feet", "foot"), ("length", 304.8)),
    **dict.fromkeys(("inch", "inches", "in", "寸", "英寸"), ("inch", 1.0)),
    **dict.fromkeys(("码", "号"), ("shoe", 1.0)),
    **dict.fromkeys(("岁", "years", "year", "yrs", "months", "个月"), ("age", 1.0)),
    **dict.fromkeys(("pcs", "pc", "pieces", "piece", "件", "个", "只", "支", "片"), ("count", 1.0)),
    **dict.fromkeys(
        ("pack", "packs", "pairs", "pair", "count", "ct", "双", "条", "包"), ("pack", 1.0)
    ),
    **dict.fromkeys(("册", "本", "books", "pages", "页"), ("books", 1.0)),
    **dict.fromkeys(("ply", "层"), ("ply", 1.0)),
    **dict.fromkeys(("colors", "colours", "color", "colour", "色"), ("colors", 1.0)),
    **dict.fromkeys(("keys", "键"), ("keys", 1.0)),
    **dict.fromkeys(("cup", "cups", "杯"), ("cups", 1.0)),
    **dict.fromkeys(("代", "gen", "generation"), ("generation", 1.0)),
    **dict.fromkeys(("dpi",), ("dpi", 1.0)),
    **dict.fromkeys(("hz",), ("hz", 1.0)),
    **dict.fromkeys(("xl",), ("size", 1.0)),
}
_CJK_UNITS = sorted((u for u in _UNITS if not u.isascii()), key=len, reverse=True)
_ORDINAL = frozenset(("st", "nd", "rd", "th"))
_SIZES = frozenset(("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl"))
_BED = frozenset(("twin", "full", "queen", "king", "californiaking"))
_SCALE_EN = {"small": "s", "medium": "m", "large": "l", "xlarge": "xl"}
_SCALE_ZH = {"特大号": "xl", "加大号": "xl", "大号": "l", "中号": "m", "小号": "s"}
_VARIANT = frozenset(("pro", "max", "plus", "mini", "ultra", "lite", "se", "fe"))
_COLOURS_EN = {
    "white": "white",
    "black": "black",
    "red": "red",
    "blue": "blue",
    "navy": "blue",
    "green": "green",
    "yellow": "yellow",
    "pink": "pink",
    "purple": "purple",
    "grey": "grey",
    "gray": "grey",
    "brown": "brown",
    "beige": "beige",
    "orange": "orange",
    "gold": "gold",
    "silver": "silver",
    "khaki": "khaki",
}
_COLOURS_ZH = {
    "白": "white",
    "黑": "black",
    "红": "red",
    "蓝": "blue",
    "绿": "green",
    "黄": "yellow",
    "粉": "pink",
    "紫": "purple",
    "灰": "grey",
    "棕": "brown",
    "咖": "brown",
    "米": "beige",
    "橙": "orange",
    "金": "gold",
    "银": "silver",
}
_STAGE_EN = {
    **dict.fromkeys(("adult", "adults"), "adult"),
    **dict.fromkeys(("kitten", "puppy", "kid", "kids", "baby", "toddler", "infant"), "young"),
    "senior": "senior",
}
_STAGE_ZH = {
    **dict.fromkeys(("成猫", "成犬", "成人"), "adult"),
    **dict.fromkeys(("幼猫", "幼犬", "儿童", "宝宝", "婴儿", "幼儿"), "young"),
    "老年": "senior",
}
_MALE = frozenset(("men", "mens", "man", "male", "boy", "boys", "gentlemen"))
_FEMALE = frozenset(("women", "womens", "woman", "female", "girl", "girls", "ladies", "lady"))


@dataclass(frozen=True, slots=True)
class TitleFeatures:
    """What :func:`title_similarity` compares: a token set and variant values by kind."""

    tokens: frozenset[str]
    variants: tuple[tuple[str, frozenset[str]], ...]


def _stem(word: str) -> str:
    """Strip an English plural; always a prefix of the word (the index relies on that)."""
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _fmt(value: float) -> str:
    return f"{value:.6g}"


@lru_cache(maxsize=8192)
def title_features(normalized: str) -> TitleFeatures:
    """Token set and variant values of an already normalised title."""
    matches = list(_TOKEN.finditer(normalized))
    tokens: set[str] = set()
    kinds: dict[str, set[str]] = {}

    def add(kind: str, value: str) -> None:
        kinds.setdefault(kind, set()).add(value)

    for i, m in enumerate(matches):
        nxt = matches[i + 1] if i + 1 < len(matches) else None
        close = nxt is not None and nxt.start() - m.end() <= 1
        adjacent = nxt is not None and nxt.start() == m.end()
        if m.lastgroup == "cjk":
            run = m.group()
            tokens.update(run)
            tokens.update(run[j : j + 2] for j in range(len(run) - 1))
            if "男" in run:
                add("gender", "m")
            if "女" in run:
                add("gender", "f")
            for j in range(1, len(run)):
                if run[j] == "色" and run[j - 1] in _COLOURS_ZH:
                    add("colour", _COLOURS_ZH[run[j - 1]])
            for word, stage in _STAGE_ZH.items():
                if word in run:
                    add("stage", stage)
            for word, size in _SCALE_ZH.items():
                if word in run:
                    add("scale", size)
                    break
        elif m.lastgroup == "num":
            tokens.add(m.group())
            value = float(m.group())
            unit = None
            if close and nxt is not None and nxt.lastgroup == "word" and nxt.group() in _UNITS:
                unit = nxt.group()
            elif close and nxt is not None and nxt.lastgroup == "word" and nxt.group() in _ORDINAL:
                unit = "代"
            elif close and nxt is not None and nxt.lastgroup == "cjk":
                unit = next((u for u in _CJK_UNITS if nxt.group().startswith(u)), None)
            if unit is None:
                add("num", _fmt(value))
            else:
                dim, factor = _UNITS[unit]
                add(dim, _fmt(value * factor))
        else:
            word = m.group()
            if adjacent and nxt is not None and nxt.lastgroup == "num" and len(word) <= 3:
                add("code", word + nxt.group())
            after_number = i > 0 and matches[i - 1].lastgroup == "num"
            before_size = adjacent and nxt is not None and nxt.group()[0] in "码号"
            if (word in _SIZES and not after_number) or before_size:
                add("size", word)
            if word in _BED:
                add("bed", word)
            if word in _SCALE_EN:
                add("scale", _SCALE_EN[word])
            if word in _VARIANT:
                add("variant", word)
            if word in _COLOURS_EN:
                add("colour", _COLOURS_EN[word])
            if word in _STAGE_EN:
                add("stage", _STAGE_EN[word])
            if word in _MALE:
                add("gender", "m")
            elif word in _FEMALE:
                add("gender", "f")
            if word.startswith("non") and len(word) > 5:
                # "nonstick" == "non stick"; both halves are substrings, as the index needs
                tokens.update(("non", _stem(word[3:])))
            elif word not in _STOP:
                tokens.add(_stem(word))
    variants = tuple(sorted((k, frozenset(v)) for k, v in kinds.items()))
    return TitleFeatures(frozenset(tokens), variants)


def _conflict(a: TitleFeatures, b: TitleFeatures) -> bool:
    other = dict(b.variants)
    for kind, values in a.variants:
        theirs = other.get(kind)
        if theirs is None:
            continue
        if kind == "variant":
            if values != theirs:
                return True
        elif not (values <= theirs or theirs <= values):
            return True
    return False


def features_similarity(a: TitleFeatures, b: TitleFeatures) -> float:
    """Dice coefficient of the token sets, times :data:`CONFLICT_FACTOR` on a variant conflict."""
    if not a.tokens or not b.tokens:
        return 0.0
    common = len(a.tokens & b.tokens)
    if not common:
        return 0.0
    score = 2.0 * common / (len(a.tokens) + len(b.tokens))
    if _conflict(a, b):
        score *= CONFLICT_FACTOR
    return score


def title_similarity(a: str, b: str) -> float:
    """Similarity of two raw product titles in 0..1 (1 = same words, same variant).

    Both titles go through :func:`~watcher.text.normalize.normalize_title`; see the module
    docstring for tokens and the variant-conflict policy. Titles with no tokens left (only
    filler or punctuation) score 0 against everything.
    """
    return features_similarity(
        title_features(normalize_title(a)), title_features(normalize_title(b))
    )


class TitleIndex:
    """Many candidate titles, searchable for ones similar to a query title.

    Built once from the candidates (only a cheap NFKC/casefold pass over all of them); each
    :meth:`matches` call then counts, per candidate, how many of the query's tokens occur in it
    as substrings. Every token :func:`title_features` produces is a substring of the title, so
    that count bounds the shared tokens from above and the Dice score by ``2F / (|A| + F)``;
    only candidates whose bound reaches the threshold are normalised and scored exactly.
    Results therefore equal :func:`title_similarity` for every candidate.
    """

    def __init__(self, titles: Sequence[str]) -> None:
        self._titles = list(titles)
        folded = [t.replace("'", "") for t in fold_many(self._titles)]
        # every title, the last included, ends with a newline so each segment is non-empty
        self._text = "".join(f + "\n" for f in folded)
        lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
        self._starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        codes = np.frombuffer(self._text.encode("utf-32-le"), dtype=np.uint32)
        self._codes = codes
        self._line = np.repeat(np.arange(len(folded), dtype=np.int32), lengths + 1)
        # Inverted index from character to its positions: number the characters that occur,
        # then one stable argsort (a radix sort on 16-bit keys) groups positions by character.
        per_char = np.bincount(codes, minlength=1)
        self._alphabet = np.flatnonzero(per_char)
        table = np.zeros(len(per_char), dtype=np.uint32)
        table[self._alphabet] = np.arange(len(self._alphabet), dtype=np.uint32)
        key_type = np.uint16 if len(self._alphabet) <= 0x10000 else np.uint32
        self._order = np.argsort(table[codes].astype(key_type), kind="stable")
        self._bounds = np.concatenate(([0], np.cumsum(per_char[self._alphabet])))
        self._features: dict[int, TitleFeatures] = {}

    def __len__(self) -> int:
        return len(self._titles)

    def _occurrences(self, char: str) -> np.ndarray:
        """Positions of ``char`` in the joined folded text (sorted)."""
        cp = ord(char)
        i = int(np.searchsorted(self._alphabet, cp))
        if i == len(self._alphabet) or self._alphabet[i] != cp:
            return np.empty(0, dtype=np.int64)
        return self._order[self._bounds[i] : self._bounds[i + 1]]

    def _contains(self, token: str) -> np.ndarray:
        """Indices of candidates whose folded title contains ``token`` as a substring."""
        codes = self._codes
        # anchor on the rarest character of the token, then check the others at offsets
        found = [self._occurrences(ch) for ch in token]
        k = min(range(len(token)), key=lambda j: len(found[j]))
        pos = found[k] - k
        pos = pos[(pos >= 0) & (pos + len(token) <= len(codes))]
        for j, ch in enumerate(token):
            if j != k and pos.size:
                pos = pos[codes[pos + j] == ord(ch)]
        return self._line[pos]

    def _candidate_features(self, ids: Sequence[int]) -> list[TitleFeatures]:
        missing = [i for i in ids if i not in self._features]
        if missing:
            normalized = normalize_many([self._titles[i] for i in missing])
            for i, norm in zip(missing, normalized, strict=True):
                self._features[i] = title_features(norm)
        return [self._features[i] for i in ids]

    def matches(self, query: str, threshold: float) -> list[tuple[int, float]]:
        """``(candidate index, similarity)`` for candidates scoring at least ``threshold``.

        Sorted by similarity, highest first (ties by index). An empty query (all filler)
        matches nothing.
        """
        q = title_features(normalize_title(query))
        if not q.tokens or not self._titles:
            return []
        counts = np.zeros(len(self._titles), dtype=np.int32)
        hit = np.zeros(len(self._titles), dtype=bool)
        for token in q.tokens:
            hit[:] = False
            hit[self._contains(token)] = True
            counts += hit
        # Dice <= 2F / (|A| + F) >= t  <=>  F >= t|A| / (2 - t); the epsilon keeps float ties in
        need = threshold * len(q.tokens) / (2.0 - threshold) - 1e-9 if threshold < 2 else np.inf
        ids = np.flatnonzero(counts >= need).tolist()
        out: list[tuple[int, float]] = []
        for i, f in zip(ids, self._candidate_features(ids), strict=True):
            score = features_similarity(q, f)
            if score >= threshold:
                out.append((i, score))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out
