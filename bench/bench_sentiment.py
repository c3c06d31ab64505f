"""Benchmark watcher.text.sentiment: throughput on one core, model size, F1 per held-out set.

Held-out sets: the small samples and hand-written check sets in tests/data/sentiment_*.tsv
always; the full test splits written by ``scripts/train_sentiment.py --eval-dir DIR`` too when
DIR exists (default ``~/.cache/watcher-sentiment/eval``). Every review is judged the way the
``negative_review`` detector judges a review without stars: ``is_negative(text)`` at the
model's own threshold for the text's language. For 3-star sets (mixed reviews) the share
flagged is printed instead of F1.

Most held-out sets are not at the balance of a real review stream (the sentence sets and the
hand-written sets are 35-50 % complaints; a shop's short reviews are mostly praise), so the
report also gives "F1 @10 %": the F1 that the same recall and false-positive rate give on a
stream with 10 % complaints.

Usage: .venv/bin/python bench/bench_sentiment.py [--eval-dir DIR] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.text import sentiment  # noqa: E402

TESTS_DATA = ROOT / "tests" / "data"
DEFAULT_EVAL = Path.home() / ".cache" / "watcher-sentiment" / "eval"


def read_tsv(path: Path) -> list[tuple[str, int]]:
    """``label<TAB>text`` rows; lines starting with '#' are comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        rows.append((text, int(label)))
    return rows


PREVALENCE = 0.10


def scores(rows: list[tuple[str, int]]) -> dict[str, float]:
    """Precision, recall and F1 of the negative class, accuracy, and F1 at ``PREVALENCE``."""
    tp = fp = fn = tn = 0
    for text, label in rows:
        pred = sentiment.is_negative(text)
        tp += pred and label == 1
        fp += pred and label == 0
        fn += (not pred) and label == 1
        tn += (not pred) and label == 0
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    tp_s, fp_s = r * PREVALENCE, fpr * (1 - PREVALENCE)
    f1_s = 2 * tp_s / (2 * tp_s + fp_s + PREVALENCE - tp_s) if tp_s else 0.0
    return {
        "n": len(rows),
        "neg": tp + fn,
        "P": p,
        "R": r,
        "F1": f1,
        "acc": (tp + tn) / len(rows),
        "F1s": f1_s,
    }


def throughput(texts: list[str], seconds: float) -> tuple[float, float]:
    """Reviews per second for negativity() on one thread: (wall clock, CPU time)."""
    sentiment.load_model()
    done = 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for t in texts:
            sentiment.negativity(t)
        done += len(texts)
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def main() -> None:
    """Print a markdown report."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    t0 = time.perf_counter()
    model = sentiment.load_model()
    load_s = time.perf_counter() - t0
    # The English table also holds the Chinese n-gram weights (for mixed text).
    counts = ", ".join(f"{g} {len(w)}" for g, w in model.weights.items())
    size = (ROOT / "watcher" / "text" / sentiment.MODEL_RESOURCE).stat().st_size
    print(f"model: {size / 1e6:.2f} MB gz, weights {counts}, load {load_s:.2f} s\n")

    sets: dict[str, list[tuple[str, int]]] = {}
    for path in sorted(TESTS_DATA.glob("sentiment_*.tsv")):
        sets["tests/data/" + path.name] = read_tsv(path)
    if args.eval_dir.is_dir():
        for path in sorted(args.eval_dir.glob("*.tsv")):
            sets[f"full:{path.name}"] = read_tsv(path)
    print(f"thresholds: {model.thresholds}\n")
    print("| held-out set | n | negatives | precision | recall | F1 (neg) | F1 @10 % | accuracy |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in sets.items():
        if "3star" in name:
            flagged = sum(sentiment.is_negative(text) for text, _ in rows) / len(rows)
            print(f"| {name} | {len(rows)} | 3-star | flagged {flagged:.3f} | | | | |")
            continue
        s = scores(rows)
        print(
            f"| {name} | {s['n']} | {s['neg']} | {s['P']:.3f} | {s['R']:.3f} | "
            f"**{s['F1']:.3f}** | {s['F1s']:.3f} | {s['acc']:.3f} |"
        )

    print()
    for lang in ("zh", "en"):
        texts = [t for name, rows in sets.items() if f"{lang}_" in name for t, _ in rows]
        if not texts:
            continue
        mean_len = sum(map(len, texts)) / len(texts)
        wall, cpu = throughput(texts, args.seconds)
        print(
            f"throughput {lang}: {wall:,.0f} reviews/s wall, {cpu:,.0f} reviews/s CPU time, "
            f"one core ({len(texts)} texts, mean {mean_len:.0f} chars)"
        )
    long_text = "质量很好，物流很快。" * 500 + " great product " * 500
    wall, cpu = throughput([long_text], 1.0)
    print(f"throughput on a {len(long_text):,}-char review: {wall:,.0f}/s wall (work is capped)")


if __name__ == "__main__":
    main()
