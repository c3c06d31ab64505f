"""Offline negative-review ("complaint") classifier for Chinese and English review text.

A linear model (logistic regression, trained by ``scripts/train_sentiment.py``) over sparse
features computed here in pure Python:

* Chinese: character 1-3-grams per run of CJK characters. N-grams within a few characters
  after a negator count with value -1 (so "没有色差" argues against the complaint that "色差"
  argues for) and also as ``n:`` bigram features; the negator alone is no feature. One idiom
  ("没有(质量)问题/毛病" = praise) is rewritten before featurisation.
* English: lower-cased words and word bigrams, with the words after a negator ("not", "never",
  "n't", ...) re-marked as negated until the clause ends; plus two dense lexicon features
  from the VADER lexicon (MIT) and the adjectives of pattern's lexicon (PDDL) that VADER
  lacks, shipped in the model, so English words absent from the small training set still count;
  two more over Hu & Liu's opinion lexicon of product reviews (MIT-packaged), and "no evidence"
  indicators for an English text without any lexicon word or complaint cue.
* Emoji are mapped to their VADER emoji descriptions and scored with the same lexicon.
* Two dense "complaint cue" counts, one per language, over wording that means a complaint in
  any product domain (退货, 差评, 假货, 漏液, 客服不理 ...; broken, refund, stopped working,
  "doesn't work", never replied ...), skipped when negated ("没有破损", "not broken"). They
  carry what the training reviews (health products, clothing) cannot teach about phones,
  books or hotels.
* Each language has its own fit (weights and intercept; a text is scored by the weights of
  its ``language()``), so a change to one language's data or features cannot move the
  other's scores; each language also has its own decision threshold (chosen on held-out
  reviews, stored with the model).

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
    "language",
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
# English idioms that negate their way to praise ("can't recommend it enough", "couldn't be
# happier", "can't go wrong", "can't live without it"): a negated "recommend" is otherwise a
# complaint cue. Matched after "n't" became " not" ("can't" -> "ca not").
_EN_PRAISE_IDIOM_RE = re.compile(
    r"\b(?:ca|can|could|would) ?not (?:"
    r"recommend (?:\w+ ){0,3}?(?:enough|highly|more)"
    r"|say enough (?:good|about)"
    r"|be (?:any )?(?:happier|more (?:happy|pleased|satisfied))"
    r"|go wrong|ask for (?:a )?better|live without)"
)

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
_EN_CONTRAST_RE = re.compile(r"\b(?:but|however|although|though|yet|except)\b")
# As in VADER: before a contrast word sentiment counts half, after it one and a half times
# ("Love the colour but it shrank two sizes" is a complaint).
_BEFORE_CONTRAST, _AFTER_CONTRAST = 0.5, 1.5
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
_LENGTHS = (3, 8, 20)
_CUE_VALENCE = 2.0
_VADER_NEG_SCALE = -0.74  # VADER's own constant for a negated lexicon word


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Domain-general complaint cues. Chinese: matched as substrings unless a negator stands in
# the two characters before ("没有破损", "无异味", "不掉色").
_ZH_CUES = (
    "退货|退款|退钱|差评|不值|失望|假货|假的|盗版|翻新|二手|客服不理|不理人|没人理|没人回|"
    "不回复|发错|破损|漏液|漏水|漏气|坏了|坏的|烂了|烂的|太差|很差|极差|超差|质量差|垃圾|上当|"
    "骗人|欺骗|后悔|再也不|不会再买|不推荐|别买|不要买|投诉|有问题|用不了|不能用|没效果|"
    "没有效果|没用|过期|变质|异味|发霉|缩水|掉色|起球|色差|破洞|开线|少发|漏发|不发货|太慢|"
    "态度差|态度恶劣|推脱|敷衍|死机|黑屏|蓝屏|卡顿|发烫|失灵|噪音大|异响|虚标|不给保价|坑人|"
    "差劲|恶心|难吃|难用|难闻|不符|不一样|货不对板|以次充好|不好用|不好|一般般|无语|气死"
)
_ZH_CUE_RE = re.compile(_ZH_CUES)
# ... and praise that holds in any domain, so that a good review of a book or a phone is not
# judged by the vocabulary of health-product reviews.
_ZH_PRAISE_RE = re.compile(
    "好评|满意|喜欢|不错|推荐|值得|很好|挺好|非常好|超好|精致|精细|流畅|清晰|舒服|舒适|正品|新鲜|"
    "好吃|好用|好看|划算|实惠|给力|超值|点赞|完美|惊喜|回购|物美价廉|性价比高|很快|很棒|赞"
)
_ZH_CUE_NEGATORS = frozenset("不没无未别非")
# English: single words, word pairs, and words that are a complaint when negated
# ("doesn't work", "won't charge", "would not recommend").
_EN_CUE_WORDS = _words(
    """broken broke defective faulty refund refunded refunds return returned returning
    returns waste junk garbage flimsy cracked ripped torn tore shrank shrunk faded peeling
    peeled leaked leaking leaks missing fake counterfeit scam disappointed disappointing
    disappointment useless terrible horrible awful worst unreliable disconnects disconnected
    disconnecting frustrating frustrated overpriced regret died dead dies malfunction
    unusable poorly worthless rip-off ripoff unhappy damaged scratched dented stained
    itchy lumpy pilled pilling unravel unraveled unresponsive glitchy glitches glitching
    freezes freezing froze crashes crashing crashed overheats overheating doa
    malfunctioning malfunctions inoperable distorted distorts crackles crackling
    muffled tinny buggy laggy lags"""
)
_EN_CUE_PAIRS = _words(
    """stopped_working quit_working stops_working stopped_charging fell_apart came_apart
    falls_apart came_off fell_off sent_back send_back sending_back poor_quality cheap_quality
    cheaply_made too_small too_big too_short too_tight too_loose too_large runs_small
    runs_large customer_service no_reply no_response never_arrived never_replied
    never_responded never_received never_came never_worked keeps_disconnecting
    keeps_dropping keeps_freezing keeps_crashing stopped_responding stops_responding
    quit_responding stopped_connecting keeps_disconnecting keeps_losing keeps_restarting
    keeps_rebooting poor_sound poor_reception poor_connection bad_sound bad_connection
    on_arrival money_back total_waste"""
)
_EN_NEGATED_CUES = _words(
    """work works worked working fit fits charge charges charging connect connects
    connected connecting last lasted recommend buy turn pair pairs paired respond responds
    responded responding reply replied hold holds understand understands recognize
    recognizes hear hears sync syncs load loads stay stays worth"""
)


@dataclass(frozen=True)
class SentimentModel:
    """Weights of the exported linear model: one independent fit per language."""

    weights: dict[str, dict[str, float]]
    biases: dict[str, float]
    threshold: float
    lexicon: dict[str, float]
    emoji: dict[str, str]
    meta: dict[str, Any]
    thresholds: dict[str, float]
    opinion: dict[str, int]

    def threshold_for(self, text: str) -> float:
        """The model's own decision threshold for the language of ``text``."""
        return self.thresholds.get(language(text), self.threshold)

    def score(self, text: str) -> float:
        """Probability-like negativity of ``text`` in [0, 1], by its language's weights."""
        feats = features(text, self.lexicon, self.emoji, self.opinion)
        if not feats:
            return 0.0
        lang = language(text)
        w = self.weights[lang].get
        z = self.biases[lang] + sum(map(mul, map(w, feats, repeat(0.0)), feats.values()))
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
                weights=_with_cjk_grams(data["weights"]),
                biases={k: float(v) for k, v in data["biases"].items()},
                threshold=float(data["threshold"]),
                lexicon=data.get("lexicon", {}),
                emoji=data.get("emoji", {}),
                meta=data.get("meta", {}),
                thresholds={k: float(v) for k, v in data.get("thresholds", {}).items()},
                opinion=data.get("opinion", {}),
            )
    return _model


def _with_cjk_grams(weights: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each language's weights; the English ones also get the Chinese n-gram weights.

    A review that ``language()`` calls English may still hold some Chinese ("衣服质量很差 but
    shipping was fast"); the English fit never saw Chinese, so its Chinese n-grams (and the
    Chinese cue counts) are scored by the Chinese fit's weights. English and Chinese texts
    never share a weight otherwise.
    """
    zh = {
        name: v
        for name, v in weights["zh"].items()
        if name[0] >= "\u3400" or name.startswith(("n:", "_cue_zh", "_praise_zh"))
    }
    return {**weights, "en": {**zh, **weights["en"]}}


def negativity(text: str) -> float:
    """Return a probability-like score in [0, 1] that ``text`` is a complaint.

    Empty or whitespace-only text (and text with nothing scorable) returns 0.0.
    """
    if not text or text.isspace():
        return 0.0
    return load_model().score(text)


def language(text: str) -> str:
    """``zh`` when at least a third of the letters in ``text`` are CJK, else ``en``."""
    cjk = other = 0
    for ch in text[:_HEAD_CHARS]:
        if "\u3400" <= ch <= "\u9fff":
            cjk += 1
        elif ch.isalpha():
            other += 1
    return "zh" if cjk and cjk * 3 >= cjk + other else "en"


def is_negative(text: str, threshold: float | None = None) -> bool:
    """Return True when ``text`` reads as a complaint.

    ``threshold`` defaults to the model's own threshold for the text's language (the one with
    the best F1 on held-out reviews, stored with the model). Text with nothing scorable
    (empty, blank, markup only) is never negative.
    """
    if threshold is None:
        threshold = load_model().threshold_for(text)
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
    text = text.replace("’", "'").replace("n't", " not")
    if "not " in text:
        text = _EN_PRAISE_IDIOM_RE.sub("highly recommend", text)
    return text


def features(
    text: str,
    lexicon: dict[str, float] | None = None,
    emoji: dict[str, str] | None = None,
    opinion: dict[str, int] | None = None,
) -> dict[str, float]:
    """Sparse feature vector of ``text`` (name -> value); shared by training and inference.

    ``opinion`` maps the words of a product-review opinion lexicon to +1 / -1; their counts
    (negated and contrast-weighted like the lexicon's valences) are two more dense features.
    """
    text = clean(text)
    op_pos = 0.0
    op_neg = 0.0
    out: dict[str, float] = {}
    n_words = 0
    lex_pos = 0.0
    lex_neg = 0.0
    cue_en = 0.0
    cjk = False
    contrast = _BEFORE_CONTRAST if _EN_CONTRAST_RE.search(text) else 1.0
    for clause in _CLAUSE_SPLIT_RE.split(text):
        if not clause or clause.isspace():
            continue
        negate_left = 0
        prev_word = ""
        for tok in _TOKEN_RE.findall(clause):
            ch = tok[0]
            if "\u3400" <= ch <= "\u9fff":
                _cjk_features(tok, out)
                cjk = True
                prev_word = ""
                continue
            if ch.isalnum() or ch == "'":
                words = [tok]
            elif emoji and tok in emoji:
                out["e:" + tok] = 1.0
                words = emoji[tok].split()
            else:
                continue
            n_words += len(words)
            for word in words:
                if _is_cue(word, prev_word, negated=negate_left > 0):
                    cue_en += contrast
                    # A complaint cue is a negative word even where VADER has no valence for
                    # it ("shrank", "refund", "stopped working").
                    if not lexicon or word not in lexicon:
                        lex_neg += _CUE_VALENCE * contrast
                if word in _EN_NEGATORS:
                    negate_left = _EN_SCOPE
                    out["w:" + word] = 1.0
                    prev_word = word
                    continue
                if word in _EN_CONTRAST:
                    contrast = _AFTER_CONTRAST
                    negate_left = 0
                    out["w:" + word] = 1.0
                    prev_word = word
                    continue
                negated = negate_left > 0
                name = "w:not_" + word if negated else "w:" + word
                out[name] = max(out.get(name, 0.0), contrast)
                if prev_word:
                    out["b:" + prev_word + "_" + word] = contrast
                prev_word = word
                if opinion:
                    sign = opinion.get(word)
                    if sign is not None:
                        op = sign * contrast * (_VADER_NEG_SCALE if negated else 1.0)
                        if op > 0:
                            op_pos += op
                        else:
                            op_neg -= op
                if lexicon:
                    val = lexicon.get(word)
                    if val is not None:
                        if negated:
                            val *= _VADER_NEG_SCALE
                        val *= contrast
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
    if cue_en:
        out["_cue_en"] = math.log1p(cue_en)
    if op_pos:
        out["_op_pos"] = math.log1p(op_pos)
    if op_neg:
        out["_op_neg"] = math.log1p(op_neg)
    if cjk:
        cue_zh = sum(
            1
            for m in _ZH_CUE_RE.finditer(text)
            if _ZH_CUE_NEGATORS.isdisjoint(text[max(0, m.start() - 2) : m.start()])
        )
        if cue_zh:
            out["_cue_zh"] = math.log1p(cue_zh)
        praise_zh = sum(
            1
            for m in _ZH_PRAISE_RE.finditer(text)
            if _ZH_CUE_NEGATORS.isdisjoint(text[max(0, m.start() - 2) : m.start()])
        )
        if praise_zh:
            out["_praise_zh"] = math.log1p(praise_zh)
    elif out:
        out["_en"] = 1.0
        # Short reviews: the intercept of a review with few words (see _LENGTHS).
        for limit in _LENGTHS:
            if n_words <= limit:
                out[f"_len{limit}"] = 1.0
        if not (lex_pos or lex_neg or cue_en or op_pos or op_neg):
            # No word of any lexicon and no complaint cue: a review that says nothing either
            # way ("Bought this for my son."), which a stream holds many of; short ones apart.
            out["_noev"] = 1.0
            for limit in _LENGTHS:
                if n_words <= limit:
                    out[f"_noev{limit}"] = 1.0
    return out


def _is_cue(word: str, prev_word: str, *, negated: bool) -> bool:
    """A complaint cue in English: a cue word or pair, or a negated "work", "fit", "charge"."""
    if negated:
        return word in _EN_NEGATED_CUES
    return word in _EN_CUE_WORDS or f"{prev_word}_{word}" in _EN_CUE_PAIRS


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
