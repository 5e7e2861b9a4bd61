"""Small numpy metrics shared by the benchmarks (no scipy / sklearn needed).

- :func:`roc_auc` — rank-based ROC AUC (Mann-Whitney U), ties counted half.
- :func:`spearman` — Spearman rank correlation (average ranks for ties).
- :func:`accuracy` — share of equal labels.
- :func:`fitted_ceiling` — out-of-sample AUC of a logistic regression fitted on one
  half and scored on the other (a check of what the signals allow, never shipped).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["accuracy", "fitted_ceiling", "logistic_fit", "rankdata", "roc_auc", "spearman"]

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


def logistic_fit(
    x: ArrayLike, y: ArrayLike, l2: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """L2-penalised logistic regression on standardised columns, by Newton's method.

    Returns ``(weights, mean, scale)``: the log-odds of a row ``r`` are
    ``weights[0] + ((r - mean) / scale) @ weights[1:]``. The intercept is not
    penalised; a constant column gets scale 1 (its weight is then pushed to 0).
    """
    xs = np.asarray(x, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64).ravel()
    if xs.ndim != 2 or len(xs) != len(t):
        raise ValueError(f"x must be (n, k) with n == len(y); got {xs.shape} and {len(t)}")
    mean = xs.mean(axis=0)
    scale = xs.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(len(xs)), (xs - mean) / scale])
    penalty = np.full(z.shape[1], float(l2))
    penalty[0] = 0.0
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - t) + penalty * w
        hess = (z * (p * (1.0 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return w, mean, scale


def fitted_ceiling(x: ArrayLike, y: ArrayLike, half_a: ArrayLike, l2: float) -> tuple[float, float]:
    """``(A->B, B->A)``: ROC AUC on each half of a logistic model fitted on the other.

    A check of how far the *same signals* go when their weights are fitted on
    labelled data instead of set by hand. It is measured only: dev-set terms
    forbid shipping weights trained on them.
    """
    xs = np.asarray(x, dtype=np.float64)
    t = np.asarray(y).ravel()
    a = np.asarray(half_a, dtype=bool).ravel()
    out = []
    for fit_on, score_on in ((a, ~a), (~a, a)):
        w, mean, scale = logistic_fit(xs[fit_on], t[fit_on], l2)
        logits = w[0] + ((xs[score_on] - mean) / scale) @ w[1:]
        out.append(roc_auc(t[score_on], logits))
    return out[0], out[1]
