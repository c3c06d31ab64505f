"""Offline negative-review ("complaint") classifier for Chinese and English review text.

A linear model (logistic regression, trained by ``scripts/train_sentiment.py``) over sparse
features computed here in pure Python:

* Chinese: character 1-3-grams per run of CJK characters. N-grams within a few characters
  after a negator count with value -1 (so "没有色差" argues against the complaint that "色差"
  argues for) and also as ``n:`` bigram features; the negator alone is no feature. One idiom
  ("没有(质量)问题/毛病" = praise) is rewritten before featurisation.
* English: lower-cased words and word bigrams, with the words after a negator ("not", "never",
  "n't", ...) re-marked as negated until the clause ends; plus two dense lexicon features
  from the VADER lexicon (MIT), so English words absent from the small training set still count.
* Emoji are mapped to their VADER emoji descriptions and scored with the same lexicon.

The model is a gzip'd JSON file shipped in the package and loaded lazily once.
"""

from __future__ import annotations

import gzip
import html
import json
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from itertools import repeat
from operator import mul
from typing import Any

__all__ = [
    "MODEL_RESOURCE",
    "SentimentModel",
    "features",
    "is_negative",
    "load_model",
    "negativity",
]

MODEL_RESOURCE = "sentiment_model.json.gz"

# Work is capped on very long texts: the head and the tail of a review carry the verdict.
_HEAD_CHARS = 700
_TAIL_CHARS = 300
_RAW_CAP = 20_000

_TAG_RE = re.compile(r"<[^<>]{0,300}>")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
_CLAUSE_SPLIT_RE = re.compile(r"[,.;:!?()\[\]{}\"，。；：！？、（）【】「」『』《》\n\r\t…~～|/]+")
_TOKEN_RE = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9\u3400-\u9fff]"
)
# "No (quality) problem" idioms are praise in shop reviews, but the training corpus (books,
# hotels, laptops) has too few of them to learn that; they are rewritten to plain praise.
_ZH_NO_PROBLEM_RE = re.compile(r"(?:没有?|无|毫无)(?:任何|什么|啥)?(?:质量|大)?(?:问题|毛病)")

_EN_NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "nowhere",
        "neither",
        "nor",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "wont",
        "wouldnt",
        "shouldnt",
        "couldnt",
        "hasnt",
        "havent",
        "hadnt",
        "aint",
        "without",
        "hardly",
        "barely",
    ]
)
_EN_CONTRAST = frozenset({"but", "however", "although", "though", "yet", "except"})
_EN_SCOPE = 4
# Chinese negators; two-character ones are matched first.
_ZH_NEGATORS_2 = ("没有", "不是", "不会", "不要", "并不", "从不", "毫无", "不太", "不怎")
_ZH_NEGATORS_1 = frozenset("不没无未别非勿")
_ZH_SCOPE = 4
_ZH_NEGATOR_CHARS = frozenset("不没无未别非勿毫")
# Words that start with a negator character but negate nothing.
_ZH_NOT_NEGATORS = frozenset(
    [
        "非常",
        "不过",
        "不仅",
        "不少",
        "不断",
        "不久",
        "不但",
        "不管",
        "不论",
        "不如",
        "不停",
        "不禁",
        "无论",
        "无线",
        "无比",
        "无敌",
        "未来",
        "别人",
        "别的",
        "别说",
        "没事",
    ]
)
_VADER_NEG_SCALE = -0.74  # VADER's own constant for a negated lexicon word


@dataclass(frozen=True)
class SentimentModel:
    """Weights of the exported linear model."""

    weights: dict[str, float]
    bias: float
    threshold: float
    lexicon: dict[str, float]
    emoji: dict[str, str]
    meta: dict[str, Any]

    def score(self, text: str) -> float:
        """Probability-like negativity of ``text`` in [0, 1]."""
        feats = features(text, self.lexicon, self.emoji)
        if not feats:
            return 0.0
        w = self.weights.get
        z = self.bias + sum(map(mul, map(w, feats, repeat(0.0)), feats.values()))
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


_model: SentimentModel | None = None
_lock = threading.Lock()


def load_model() -> SentimentModel:
    """Load (once, then cached) the model shipped as package data."""
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            raw = resources.files("watcher.text").joinpath(MODEL_RESOURCE).read_bytes()
            data = json.loads(gzip.decompress(raw).decode("utf-8"))
            _model = SentimentModel(
                weights=data["weights"],
                bias=float(data["bias"]),
                threshold=float(data["threshold"]),
                lexicon=data.get("lexicon", {}),
                emoji=data.get("emoji", {}),
                meta=data.get("meta", {}),
            )
    return _model


def negativity(text: str) -> float:
    """Return a probability-like score in [0, 1] that ``text`` is a complaint.

    Empty or whitespace-only text (and text with nothing scorable) returns 0.0.
    """
    if not text or text.isspace():
        return 0.0
    return load_model().score(text)


def is_negative(text: str, threshold: float | None = None) -> bool:
    """Return True when ``text`` reads as a complaint.

    ``threshold`` defaults to the one stored with the model (chosen on training data).
    Text with nothing scorable (empty, blank, markup only) is never negative.
    """
    if threshold is None:
        threshold = load_model().threshold
    score = negativity(text)
    return score > 0.0 and score >= threshold


def clean(text: str) -> str:
    """Normalise review text: cap its length, drop HTML remnants and URLs, NFKC, lower-case."""
    text = text[:_RAW_CAP]
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _URL_RE.sub(" ", text)
    if len(text) > _HEAD_CHARS + _TAIL_CHARS:
        text = text[:_HEAD_CHARS] + "\n" + text[-_TAIL_CHARS:]
    text = unicodedata.normalize("NFKC", text).lower()
    if "问题" in text or "毛病" in text:
        text = _ZH_NO_PROBLEM_RE.sub("很好", text)
    return text.replace("’", "'").replace("n't", " not")


def features(
    text: str, lexicon: dict[str, float] | None = None, emoji: dict[str, str] | None = None
) -> dict[str, float]:
    """Sparse feature vector of ``text`` (name -> value); shared by training and inference."""
    text = clean(text)
    out: dict[str, float] = {}
    lex_pos = 0.0
    lex_neg = 0.0
    for clause in _CLAUSE_SPLIT_RE.split(text):
        if not clause or clause.isspace():
            continue
        negate_left = 0
        prev_word = ""
        for tok in _TOKEN_RE.findall(clause):
            ch = tok[0]
            if "\u3400" <= ch <= "\u9fff":
                _cjk_features(tok, out)
                prev_word = ""
                continue
            if ch.isalnum() or ch == "'":
                words = [tok]
            elif emoji and tok in emoji:
                out["e:" + tok] = 1.0
                words = emoji[tok].split()
            else:
                continue
            for word in words:
                if word in _EN_NEGATORS:
                    negate_left = _EN_SCOPE
                    out["w:" + word] = 1.0
                    prev_word = word
                    continue
                if word in _EN_CONTRAST:
                    negate_left = 0
                    out["w:" + word] = 1.0
                    prev_word = word
                    continue
                negated = negate_left > 0
                name = "w:not_" + word if negated else "w:" + word
                out[name] = 1.0
                if prev_word:
                    out["b:" + prev_word + "_" + word] = 1.0
                prev_word = word
                if lexicon:
                    val = lexicon.get(word)
                    if val is not None:
                        if negated:
                            val *= _VADER_NEG_SCALE
                        if val > 0:
                            lex_pos += val
                        else:
                            lex_neg -= val
                if negated:
                    negate_left -= 1
    if lex_pos:
        out["_lex_pos"] = math.log1p(lex_pos)
    if lex_neg:
        out["_lex_neg"] = math.log1p(lex_neg)
    return out


def _cjk_features(run: str, out: dict[str, float]) -> None:
    n = len(run)
    grams = [*run, *[run[i : i + 2] for i in range(n - 1)], *[run[i : i + 3] for i in range(n - 2)]]
    if _ZH_NEGATOR_CHARS.isdisjoint(run):
        out.update(dict.fromkeys(grams, 1.0))
        return
    # Negation scope: the few characters right after a negator. An n-gram lying wholly inside
    # a scope counts with value -1, so a complaint word learnt from plain use ("色差") argues
    # the other way when negated ("没有色差"); its bigrams also become "n:" features. N-grams
    # that overlap the negator itself are left out, so that the negator alone carries no
    # polarity and the model has to learn from what is negated.
    flipped: dict[str, float] = {}
    negator_at: dict[int, tuple[int, int]] = {}
    i = 0
    while i < n - 1:
        if run[i : i + 2] in _ZH_NOT_NEGATORS:
            i += 2
            continue
        if run[i : i + 2] in _ZH_NEGATORS_2:
            start = i + 2
        elif run[i] in _ZH_NEGATORS_1:
            start = i + 1
        else:
            i += 1
            continue
        for j in range(i, start):
            negator_at[j] = (i, start)
        stop = min(n, start + _ZH_SCOPE)
        for j in range(start, stop):
            flipped[run[j]] = -1.0
            if j + 2 <= stop:
                flipped[run[j : j + 2]] = -1.0
                flipped["n:" + run[j : j + 2]] = 1.0
                if j + 3 <= stop:
                    flipped[run[j : j + 3]] = -1.0
        i = start
    if not negator_at:
        out.update(dict.fromkeys(grams, 1.0))
        return
    for k in (1, 2, 3):
        for i in range(n - k + 1):
            span = negator_at.get(i)
            # Keep n-grams that start outside a negator, or at its start and run past it
            # ("不好"); drop the negator alone and n-grams starting inside it ("有异味").
            if span is None or (i == span[0] and i + k > span[1]):
                out[run[i : i + k]] = 1.0
    out.update(flipped)
