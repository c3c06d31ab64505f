"""Title normalisation, similarity, and the batch TitleIndex, on hand-written zh/en pairs."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from watcher.text.normalize import fold_many, normalize_many, normalize_title
from watcher.text.similarity import TitleIndex, title_similarity

THRESHOLD = 0.85
PAIRS = Path(__file__).parent / "data" / "title_pairs.tsv"


def _pairs() -> list[dict[str, str]]:
    with PAIRS.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


# --- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("【包邮】2025新款夏季纯棉短袖T恤男", "夏季纯棉短袖t恤男"),
        ("Ｗｏｍｅｎｓ　Ｙｏｇａ Ｐａｎｔｓ", "womens yoga pants"),
        ("[Free Shipping] Men's 1.5L Kettle... 2027 New!! 🔥Hot Sale🔥", "mens 1.5l kettle"),
        ("「爆款」保温杯（500ml）《现货》", "保温杯 500ml"),
        ("【小鹿家居馆】北欧风ins陶瓷餐盘", "北欧风ins陶瓷餐盘"),
        ("悦享生活馆 北欧风陶瓷马克杯", "北欧风陶瓷马克杯"),
        ("Best Seller Vitamin C Serum - 1 fl oz", "vitamin c serum 1 fl oz"),
        ("2026年新款 官方旗舰 厂家直销 特价清仓 羽绒服", "羽绒服"),
        ("New Balance 574", "new balance 574"),  # "new" alone is a brand word, kept
        ("Café ™ ⑩ men’s", "café tm 10 mens"),
        ("包邮 正品 现货", ""),
        ("line\nbreak", "line break"),
    ],
)
def test_normalize_title(raw: str, expected: str) -> None:
    assert normalize_title(raw) == expected


def test_normalize_many_matches_single() -> None:
    titles = [p["a"] for p in _pairs()] + ["", "a\nb", "e\u0301clair", "ｶﾀｶﾅ", "x…y"]
    assert normalize_many(titles) == [normalize_title(t) for t in titles]
    assert normalize_many([]) == []


def test_fold_fast_path_equals_unicode_nfkc() -> None:
    import unicodedata

    rng = random.Random(5)
    alphabet = "ＡＢＣａｂｃ１２３　！（）【】abcXYZ纯棉短袖ß’'…™①é\u0301ｶﾞ가각\u1100\u1161"
    titles = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))) for _ in range(300)]
    expected = [
        unicodedata.normalize("NFKC", t).casefold().replace("’", "'").replace("‘", "'")
        for t in titles
    ]
    assert fold_many(titles) == expected


# --- similarity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("纯棉短袖T恤男宽松圆领", "【包邮】2026新款 宽松圆领纯棉短袖T恤男 正品"),
        (
            "Stainless Steel Water Bottle 32oz Leak Proof",
            "Leak-Proof 32oz Water Bottle Stainless Steel",
        ),
        ("ＴＰＵ软壳适用华为Mate60Pro手机壳", "TPU软壳适用华为Mate60Pro手机壳"),
        ("【优品家居】北欧风陶瓷餐盘家用菜盘子", "【小鹿家居馆】北欧风陶瓷餐盘家用菜盘子"),
        (
            "ZMOON Wireless Earbuds Bluetooth 5.3 Noise Cancelling",
            "Yeecao Wireless Earbuds Bluetooth 5.3 Noise Cancelling",
        ),
        (
            "Nonstick Frying Pan 10 Inch Granite Skillet",
            "Non-Stick Frying Pans 10 Inch Granite Skillet",
        ),
    ],
)
def test_copies_match(a: str, b: str) -> None:
    assert title_similarity(a, b) >= THRESHOLD
    assert title_similarity(a, b) == title_similarity(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("iPhone 15 Pro 磁吸手机壳 透明防摔", "iPhone 14 Pro 磁吸手机壳 透明防摔"),
        ("iPhone 15 Pro Case Clear", "iPhone 15 Pro Max Case Clear"),
        ("Nike Air Zoom Pegasus 40 男款跑鞋 42码", "Nike Air Zoom Pegasus 40 男款跑鞋 44码"),
        ("U盘128GB高速USB3.0金属优盘", "U盘256GB高速USB3.0金属优盘"),
        ("不锈钢保温杯大容量500ml便携水杯", "不锈钢保温杯大容量1L便携水杯"),
        ("纯棉白色T恤 男 短袖", "纯棉黑色T恤 女 长袖"),
        ("Queen Size Cotton Duvet Cover Set", "King Size Cotton Duvet Cover Set"),
        ("Dry Cat Food Adult Chicken 4 lb", "Dry Cat Food Kitten Chicken 4 lb"),
        ("笔记本A5加厚学生", "笔记本B5加厚学生"),
    ],
)
def test_different_variants_do_not_match(a: str, b: str) -> None:
    score = title_similarity(a, b)
    assert score < THRESHOLD
    assert score > 0.4  # still plainly related: the detector's candidate threshold sees them


def test_variant_value_on_one_side_only_is_no_conflict() -> None:
    assert (
        title_similarity("Ceramic Coffee Mug Set of 4", "Ceramic Coffee Mug Set of 4 White") >= 0.85
    )


def test_identical_and_empty() -> None:
    assert title_similarity("陶瓷马克杯 Ceramic Mug", "陶瓷马克杯 Ceramic Mug") == 1.0
    assert title_similarity("包邮 正品", "包邮 正品") == 0.0
    assert title_similarity("", "") == 0.0
    assert 0.0 <= title_similarity("a", "b") <= 1.0


def test_precision_and_recall_on_labelled_pairs() -> None:
    rows = _pairs()
    assert len(rows) >= 300
    langs = {r["lang"] for r in rows}
    assert langs == {"zh", "en"}
    tp = fp = fn = 0
    for r in rows:
        hit = title_similarity(r["a"], r["b"]) >= THRESHOLD
        copy = r["label"] == "1"
        tp += hit and copy
        fp += hit and not copy
        fn += copy and not hit
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.95, precision
    assert recall >= 0.90, recall


# --- TitleIndex -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str], dict[str, list[float]]]:
    """Candidate titles, queries, and every query's brute-force score against every title."""
    rows = _pairs()
    titles = [r["b"] for r in rows] + [r["a"] for r in rows[::4]]
    titles += ["", "包邮 正品", "Café ™ ⑩ men’s", "a\nb", "ＴＰＵ软壳"]
    random.Random(1).shuffle(titles)
    queries = [r["a"] for r in rows[::5]] + ["TPU软壳", "Mens 1.5L"]
    scores = {q: [title_similarity(q, t) for t in titles] for q in queries}
    return titles, queries, scores


@pytest.mark.parametrize("threshold", [0.3, 0.5, THRESHOLD, 1.0])
def test_index_agrees_with_title_similarity(
    corpus: tuple[list[str], list[str], dict[str, list[float]]], threshold: float
) -> None:
    titles, queries, scores = corpus
    index = TitleIndex(titles)
    assert len(index) == len(titles)
    for query in queries:
        expected = sorted(
            ((i, s) for i, s in enumerate(scores[query]) if s >= threshold),
            key=lambda x: (-x[1], x[0]),
        )
        assert index.matches(query, threshold) == expected, query


def test_index_finds_planted_copy_among_noise() -> None:
    titles = [f"Random Product {i} Widget Gadget 配件{i % 97}" for i in range(5000)]
    titles[1234] = "【包邮】北欧风陶瓷马克杯家用早餐杯 2026新款"
    index = TitleIndex(titles)
    assert [i for i, _ in index.matches("北欧风陶瓷马克杯 家用早餐杯", THRESHOLD)] == [1234]
    assert index.matches("包邮 正品", 0.5) == []
    assert TitleIndex([]).matches("anything", 0.5) == []
