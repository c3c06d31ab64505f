"""Offline negative-review ("complaint") classifier for Chinese and English review text.

A linear model (logistic regression, trained by ``scripts/train_sentiment.py``) over sparse
features computed here in pure Python:

* Chinese: character 1-3-grams per clause, plus negation-scoped bigrams ("没有色差" yields
  ``n:色差``) so that a negated complaint word is a different feature from the word itself.
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
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_RE = re.compile(r"[a-z]")

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
_ZH_SCOPE = 3
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
        z = self.bias
        w = self.weights
        for name, value in feats.items():
            wt = w.get(name)
            if wt is not None:
                z += wt * value
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
    """
    if threshold is None:
        threshold = load_model().threshold
    return negativity(text) >= threshold


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
    return text.replace("’", "'").replace("n't", " not")


def language_of(text: str) -> str:
    """'zh' when the cleaned text has more CJK characters than Latin letters, else 'en'."""
    cjk = len(_CJK_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    return "zh" if cjk and cjk >= latin / 3 else "en"


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
    if out:
        out["_lang_" + language_of(text)] = 1.0
    return out


def _cjk_features(run: str, out: dict[str, float]) -> None:
    n = len(run)
    for i in range(n):
        out["c:" + run[i]] = 1.0
        if i + 1 < n:
            out["c:" + run[i : i + 2]] = 1.0
            if i + 2 < n:
                out["c:" + run[i : i + 3]] = 1.0
    # Negation scope: the bigrams right after a negator become "n:" features.
    i = 0
    while i < n - 1:
        two = run[i : i + 2]
        if two in _ZH_NEGATORS_2:
            start = i + 2
        elif run[i] in _ZH_NEGATORS_1:
            start = i + 1
        else:
            i += 1
            continue
        stop = min(n - 1, start + _ZH_SCOPE)
        for j in range(start, stop):
            out["n:" + run[j : j + 2]] = 1.0
        i = start
