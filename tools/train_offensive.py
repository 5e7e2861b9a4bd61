"""Train the offensive-language model shipped as data/politeness/offensive_cold.npz.

Usage (from the repository root)::

    python tools/train_offensive.py            # 5-fold CV report, then train on all and write
    python tools/train_offensive.py --no-cv    # only train and write

Training data: COLD dev set (thu-coai/COLDataset, "COLD: A Benchmark for Chinese
Offensive Language Detection", Deng et al., EMNLP 2022), Apache-2.0, read from
``../shared/data/cold.dev.jsonl.gz``.  The written file carries that attribution
in its ``sources`` and ``licence`` arrays.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np

from kefu_standards._offensive import fit, to_arrays
from kefu_standards.text import normalize

ROOT = Path(__file__).resolve().parents[1]
COLD = ROOT.parent / "shared" / "data" / "cold.dev.jsonl.gz"
OUT = ROOT / "src" / "kefu_standards" / "data" / "politeness" / "offensive_cold.npz"
SOURCES = (
    "COLD dev set: thu-coai/COLDataset (https://github.com/thu-coai/COLDataset), "
    "Deng et al., 'COLD: A Benchmark for Chinese Offensive Language Detection', EMNLP 2022",
    "trained by tools/train_offensive.py (kefu_standards): "
    "logistic regression over a table of character 1- and 2-grams (naive-Bayes scaled)",
)
LICENCE = "Apache-2.0 (COLD dataset); model code MIT (kefu_standards)"


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):  # average ranks for ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-cv", action="store_true", help="skip the 5-fold cross-validation")
    # the defaults are fit()'s, which are the shipped setting
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--nb-alpha", type=float, default=1.0)
    ap.add_argument("--l2", type=float, default=1e-5)
    ap.add_argument("--min-weight", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=600)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not COLD.exists():
        print(f"COLD data not found at {COLD}", file=sys.stderr)
        return 2
    with gzip.open(COLD, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    texts = [r["text"] for r in rows]
    labels = np.array([int(r["label"]) for r in rows])
    kw = {
        "min_count": args.min_count,
        "nb_alpha": args.nb_alpha,
        "l2": args.l2,
        "epochs": args.epochs,
        "min_weight": args.min_weight,
    }
    if not args.no_cv:
        rng = np.random.default_rng(20240601)
        fold = rng.permutation(len(texts)) % 5
        aucs = []
        for k in range(5):
            tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            model = fit([texts[i] for i in tr], labels[tr], **kw)
            scores = np.array([model.logit(normalize(texts[i])) for i in te])
            aucs.append(roc_auc(scores, labels[te]))
            print(f"fold {k}: held-out ROC AUC {aucs[-1]:.4f}")
        print(f"5-fold CV ROC AUC: mean {np.mean(aucs):.4f} (min {min(aucs):.4f})")
    model = fit(texts, labels, sources=SOURCES, licence=LICENCE, **kw)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **to_arrays(model))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes; {len(model)} n-grams)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
