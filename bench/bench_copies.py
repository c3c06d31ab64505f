"""Benchmark the copied-listing helpers: title precision/recall, image recall/false matches, speed.

Run from the repository root::

    .venv/bin/python bench/bench_copies.py [--runs 5] [--candidates 100000]

Prints precision/recall of :func:`watcher.text.similarity.title_similarity` on
``tests/data/title_pairs.tsv`` at 0.85 (overall and per language), recall and false-match rate of
:func:`watcher.images.image_hash` at distance 10 on procedurally generated product images, and
the time to build a :class:`~watcher.text.similarity.TitleIndex` over synthetic candidate titles
and query it with 5 own titles (median of several runs, each on freshly generated titles).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from watcher.text.similarity import TitleIndex, title_similarity  # noqa: E402

ZH_WORDS = [
    "纯棉",
    "短袖",
    "长袖",
    "T恤",
    "男",
    "女",
    "宽松",
    "修身",
    "圆领",
    "V领",
    "上衣",
    "卫衣",
    "连帽",
    "加绒",
    "加厚",
    "外套",
    "夹克",
    "牛仔裤",
    "阔腿裤",
    "休闲裤",
    "运动裤",
    "连衣裙",
    "半身裙",
    "衬衫",
    "针织衫",
    "毛衣",
    "羽绒服",
    "棉服",
    "睡衣",
    "家居服",
    "内衣",
    "袜子",
    "帽子",
    "围巾",
    "运动鞋",
    "跑步鞋",
    "板鞋",
    "帆布鞋",
    "小白鞋",
    "凉鞋",
    "拖鞋",
    "皮鞋",
    "靴子",
    "透气",
    "网面",
    "防滑",
    "软底",
    "轻便",
    "减震",
    "手机壳",
    "钢化膜",
    "数据线",
    "充电器",
    "充电宝",
    "蓝牙耳机",
    "手机支架",
    "磁吸",
    "透明",
    "防摔",
    "全包",
    "硅胶",
    "快充",
    "无线",
    "保温杯",
    "水杯",
    "马克杯",
    "陶瓷",
    "不锈钢",
    "炒锅",
    "不粘锅",
    "菜刀",
    "砧板",
    "收纳盒",
    "置物架",
    "沥水篮",
    "密封罐",
    "餐具",
    "碗",
    "盘子",
    "面膜",
    "洗面奶",
    "口红",
    "粉底液",
    "防晒霜",
    "护手霜",
    "眼影盘",
    "精华液",
    "补水",
    "保湿",
    "控油",
    "持久",
    "哑光",
    "积木",
    "拼图",
    "毛绒玩具",
    "遥控车",
    "小火车",
    "益智",
    "儿童",
    "宝宝",
    "早教",
    "枕头",
    "毛毯",
    "四件套",
    "床单",
    "被套",
    "窗帘",
    "地垫",
    "桌布",
    "香薰",
    "蜡烛",
    "加湿器",
    "台灯",
    "夏季",
    "冬季",
    "春秋",
    "韩版",
    "北欧风",
    "简约",
    "复古",
    "ins风",
    "大容量",
    "便携",
    "家用",
    "学生",
    "情侣",
    "百搭",
    "黑色",
    "白色",
    "灰色",
]
EN_WORDS = [
    "women",
    "mens",
    "kids",
    "casual",
    "loose",
    "slim",
    "fit",
    "cotton",
    "linen",
    "short",
    "long",
    "sleeve",
    "crew",
    "neck",
    "t-shirt",
    "hoodie",
    "sweatshirt",
    "jacket",
    "coat",
    "jeans",
    "pants",
    "leggings",
    "dress",
    "skirt",
    "shirt",
    "sweater",
    "pajamas",
    "socks",
    "hat",
    "cap",
    "running",
    "shoes",
    "sneakers",
    "sandals",
    "slippers",
    "boots",
    "breathable",
    "lightweight",
    "non-slip",
    "case",
    "cover",
    "screen",
    "protector",
    "cable",
    "charger",
    "power",
    "bank",
    "earbuds",
    "headphones",
    "holder",
    "magnetic",
    "clear",
    "shockproof",
    "wireless",
    "fast",
    "charging",
    "water",
    "bottle",
    "mug",
    "ceramic",
    "stainless",
    "steel",
    "frying",
    "pan",
    "knife",
    "set",
    "cutting",
    "board",
    "storage",
    "organizer",
    "rack",
    "colander",
    "jar",
    "cookware",
    "makeup",
    "serum",
    "cleanser",
    "lipstick",
    "foundation",
    "sunscreen",
    "hand",
    "cream",
    "eyeshadow",
    "palette",
    "moisturizing",
    "building",
    "blocks",
    "puzzle",
    "plush",
    "toy",
    "remote",
    "control",
    "car",
    "train",
    "pillow",
    "blanket",
    "duvet",
    "curtain",
    "mat",
    "tablecloth",
    "candle",
    "humidifier",
    "lamp",
    "summer",
    "winter",
    "vintage",
    "minimalist",
    "large",
    "capacity",
    "portable",
    "home",
    "black",
    "white",
    "grey",
    "pink",
    "blue",
]
BRANDS = [
    "Anker",
    "ZMOON",
    "Yeecao",
    "UGREEN",
    "Baseus",
    "Xiaomi",
    "Apple",
    "Samsung",
    "Nike",
    "Adidas",
    "小米",
    "华为",
    "苹果",
    "南极人",
]
FILLER = [
    "包邮",
    "2026新款",
    "正品",
    "爆款",
    "现货",
    "特价",
    "热卖",
    "【官方旗舰】",
    "Hot Sale",
    "Free Shipping",
    "New Arrival",
]
UNITS = ("ml", "L", "GB", "mAh", "W", "cm", "码", "件装", "双", "Pack", "oz", "inch")


def synthetic_titles(n: int, seed: int) -> list[str]:
    """``n`` product-like titles mixing Chinese and English words, numbers and filler."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        style = rng.random()
        parts: list[str] = []
        if rng.random() < 0.3:
            parts.append(rng.choice(BRANDS))
        if style < 0.45:
            words = rng.sample(ZH_WORDS, rng.randint(5, 10))
            text = "".join(words) if rng.random() < 0.6 else " ".join(words)
            parts.append(text)
        elif style < 0.85:
            parts.append(" ".join(w.title() for w in rng.sample(EN_WORDS, rng.randint(6, 14))))
        else:
            parts.append("".join(rng.sample(ZH_WORDS, rng.randint(3, 6))))
            parts.append(" ".join(rng.sample(EN_WORDS, rng.randint(2, 5))))
        if rng.random() < 0.5:
            parts.append(
                f"{rng.choice((1, 2, 3, 5, 10, 15, 20, 32, 64, 128, 500))}{rng.choice(UNITS)}"
            )
        if rng.random() < 0.4:
            parts.insert(rng.randint(0, len(parts)), rng.choice(FILLER))
        out.append(" ".join(parts))
    return out


def title_quality() -> None:
    """Precision and recall at 0.85 on the labelled pairs."""
    path = ROOT / "tests" / "data" / "title_pairs.tsv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    print(f"titles: {len(rows)} labelled pairs, threshold 0.85")
    for lang in ("zh", "en", "all"):
        tp = fp = fn = tn = 0
        for r in rows:
            if lang != "all" and r["lang"] != lang:
                continue
            hit = title_similarity(r["a"], r["b"]) >= 0.85
            copy = r["label"] == "1"
            tp += hit and copy
            fp += hit and not copy
            fn += copy and not hit
            tn += not copy and not hit
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(
            f"  {lang:>3}: precision {precision:.3f}  recall {recall:.3f}  "
            f"(tp {tp}, fp {fp}, fn {fn}, tn {tn})"
        )


def image_quality() -> None:
    """Recall and false-match rate at distance 10 on generated images."""
    from test_images import evaluate  # tests/test_images.py builds the image set

    t0 = time.perf_counter()
    result = evaluate(n_base=80, seed=7)
    print(
        f"images: {result.n_base} base images, {result.positives} transformed copies, "
        f"{result.negatives} different-image pairs ({time.perf_counter() - t0:.1f}s)"
    )
    print(f"  recall {result.recall:.3f}  false-match rate {result.false_match_rate:.4f}")
    distinct = result.negatives - result.sibling_pairs
    distinct_fm = result.false_matches - result.sibling_false_matches
    print(
        f"    distinct photos: {distinct_fm}/{distinct} false matches; same layout, "
        f"recoloured/reshaped product: {result.sibling_false_matches}/{result.sibling_pairs}"
    )
    for name, (hits, total) in sorted(result.per_transform.items()):
        print(f"    {name:<22} {hits}/{total}")
    print(
        f"  max distance of a copy {result.max_positive}, min distance of a non-copy "
        f"{result.min_negative}"
    )


def index_speed(runs: int, n: int) -> None:
    """Build TitleIndex over ``n`` synthetic titles and query 5 own titles; median of runs."""
    own = [
        "2026新款夏季纯棉短袖T恤男宽松圆领半袖上衣",
        "适用苹果15ProMax手机壳磁吸透明防摔保护套",
        "Stainless Steel Insulated Water Bottle 32oz Leak Proof Sports Flask",
        "Women's Casual Loose Short Sleeve Cotton T-Shirt Crew Neck Summer Tops",
        "北欧风陶瓷马克杯 Ceramic Coffee Mug 350ml 家用早餐杯",
    ]
    timings: list[float] = []
    builds: list[float] = []
    found: list[int] = []
    for run in range(runs):
        candidates = synthetic_titles(n, seed=run)
        # plant a few copies so the queries have something to find
        candidates[run * 7] = "【包邮】" + own[0]
        candidates[n // 2 + run] = own[2].replace("Leak Proof", "Leak-Proof") + " Hot Sale"
        t0 = time.perf_counter()
        index = TitleIndex(candidates)
        t1 = time.perf_counter()
        hits = [index.matches(q, 0.85) for q in own]
        t2 = time.perf_counter()
        timings.append(t2 - t0)
        builds.append(t1 - t0)
        found.append(sum(len(h) for h in hits))
    print(
        f"index: 5 queries x {n:,} candidates, {runs} runs: median total "
        f"{statistics.median(timings):.3f}s (build {statistics.median(builds):.3f}s), "
        f"min {min(timings):.3f}s, max {max(timings):.3f}s; matches per run {found}"
    )
    t0 = time.perf_counter()
    for q in own:
        index.matches(q, 0.5)
    print(f"  same index, 5 queries at threshold 0.5: {time.perf_counter() - t0:.3f}s")


def main() -> None:
    """Run all three benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--skip-images", action="store_true")
    args = parser.parse_args()
    title_quality()
    if not args.skip_images:
        image_quality()
    index_speed(args.runs, args.candidates)


if __name__ == "__main__":
    main()
