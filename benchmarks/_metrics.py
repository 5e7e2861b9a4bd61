"""Small numpy metrics shared by the benchmarks (no scipy / sklearn needed).

- :func:`roc_auc` — rank-based ROC AUC (Mann-Whitney U), ties counted half.
- :func:`spearman` — Spearman rank correlation (average ranks for ties).
- :func:`accuracy` — share of equal labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["accuracy", "rankdata", "roc_auc", "spearman"]

ArrayLike = npt.ArrayLike


def rankdata(values: ArrayLike) -> npt.NDArray[np.float64]:
    """Ranks 1..n of *values*, ties given their average rank."""
    a = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(a, kind="mergesort")
    sorted_a = a[order]
    # boundaries of runs of equal values
    new_run = np.concatenate(([True], sorted_a[1:] != sorted_a[:-1]))
    run_id = np.cumsum(new_run) - 1
    run_start = np.flatnonzero(new_run)
    run_end = np.append(run_start[1:], len(a))
    avg = (run_start + run_end + 1) / 2.0  # mean of 1-based positions start+1..end
    ranks = np.empty(len(a), dtype=np.float64)
    ranks[order] = avg[run_id]
    return ranks


def roc_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """ROC AUC of *score* for the positive class ``y_true == 1`` (NaN if one class is absent).

    Equal to the probability that a random positive outranks a random
    negative, ties counting one half.
    """
    y = np.asarray(y_true).ravel().astype(bool)
    s = np.asarray(score, dtype=np.float64).ravel()
    if len(y) != len(s):
        raise ValueError(f"y_true has {len(y)} values but score has {len(s)}")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman rank correlation of *a* and *b* (NaN if either is constant)."""
    ra = rankdata(a)
    rb = rankdata(b)
    if len(ra) != len(rb):
        raise ValueError(f"a has {len(ra)} values but b has {len(rb)}")
    ra -= ra.mean()
    rb -= rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float("nan") if denom == 0 else float((ra * rb).sum() / denom)


def accuracy(y_true: Sequence[object] | ArrayLike, y_pred: Sequence[object] | ArrayLike) -> float:
    """Share of positions where *y_true* equals *y_pred* (NaN when empty)."""
    t = np.asarray(y_true).ravel()
    p = np.asarray(y_pred).ravel()
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} values but y_pred has {len(p)}")
    return float("nan") if len(t) == 0 else float((t == p).mean())
