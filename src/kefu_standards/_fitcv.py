"""Numeric helpers for models a shop fits on its own labels (private).

- :class:`Design` — a sparse (CSR) block of 0/1-style text features next to a
  small dense block, with the two products a logistic fit needs;
- :func:`fit_logistic` — L2-penalised logistic regression with a fixed
  per-row *offset* (the prior model's log-odds), by L-BFGS: with every weight
  at 0 the model *is* the prior, and the penalty pulls towards it;
- :func:`roc_auc`, :func:`auc_interval` — rank AUC and a bootstrap interval
  that resamples whole conversations (items of one conversation move together);
- :func:`grouped_folds` — cross-validation folds by conversation, stratified.

Everything is plain numpy; nothing here knows about chats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

__all__ = [
    "Design",
    "auc_interval",
    "fit_logistic",
    "grouped_folds",
    "log_loss",
    "platt",
    "roc_auc",
    "sigmoid",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def sigmoid(z: Floats) -> Floats:
    """Elementwise logistic function, without overflow warnings."""
    out: Floats = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _dot(a: Floats, b: Floats) -> float:
    """Return ``a . b`` of two vectors (einsum: BLAS ``ddot`` is slow under thread contention)."""
    return float(np.einsum("i,i->", a, b))


def _log1pexp(z: Floats) -> Floats:
    """``log(1 + exp(z))`` without overflow."""
    return np.logaddexp(0.0, z)


@attrs.frozen(slots=True, eq=False)
class Design:
    """Rows of features: a sparse part (CSR) and a dense part.

    ``indptr``/``indices``/``values`` are CSR over ``width`` sparse columns;
    ``dense`` is ``(rows, k)``.  Column order of a weight vector: intercept,
    dense columns, then sparse columns.
    """

    indptr: Ints
    indices: Ints
    values: Floats
    width: int
    dense: Floats
    _row_of: Ints = attrs.field(init=False, repr=False)  # row of each sparse entry

    def __attrs_post_init__(self) -> None:
        counts = np.diff(self.indptr)
        rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        object.__setattr__(self, "_row_of", rows)

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(self.dense.shape[0])

    @property
    def size(self) -> int:
        """Length of a weight vector: intercept + dense + sparse columns."""
        return 1 + int(self.dense.shape[1]) + self.width

    def take(self, rows: Ints) -> Design:
        """Return the sub-design of *rows* (in that order)."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        if len(rows) and int(indptr[-1]):
            pick = np.repeat(starts - indptr[:-1], lengths) + np.arange(int(indptr[-1]))
        else:
            pick = np.zeros(0, dtype=np.int64)
        return Design(indptr, self.indices[pick], self.values[pick], self.width, self.dense[rows])

    def linear(self, w: Floats) -> Floats:
        """``X @ w`` (with the intercept)."""
        k = self.dense.shape[1]
        out: Floats = w[0] + self.dense @ w[1 : 1 + k]
        if self.width and len(self.indices):
            sparse_w = w[1 + k :]
            out += np.bincount(
                self._row_of, self.values * sparse_w[self.indices], minlength=self.rows
            )
        return out

    def squares(self) -> Floats:
        """Sum of squares of each column (with the intercept): the scale of the curvature."""
        k = self.dense.shape[1]
        out = np.empty(self.size)
        out[0] = self.rows
        out[1 : 1 + k] = np.einsum("ij,ij->j", self.dense, self.dense)
        if self.width:
            out[1 + k :] = np.bincount(self.indices, self.values**2, minlength=self.width)
        return out

    def gradient(self, r: Floats) -> Floats:
        """``X.T @ r`` (with the intercept)."""
        k = self.dense.shape[1]
        out = np.empty(self.size)
        out[0] = r.sum()
        out[1 : 1 + k] = self.dense.T @ r
        if self.width:
            out[1 + k :] = np.bincount(
                self.indices, self.values * r[self._row_of], minlength=self.width
            )
        return out


def fit_logistic(
    x: Design,
    y: Floats,
    offset: Floats,
    penalty: Floats,
    *,
    start: Floats | None = None,
    max_iter: int = 300,
    tol: float = 1e-5,
) -> Floats:
    """Minimise ``sum(log-loss(y, offset + X w)) + 0.5 * sum(penalty * w**2)`` by L-BFGS.

    *penalty* has one entry per weight (0 for the intercept: it is free).
    Returns the weights (intercept first).  Converges when the largest
    gradient entry is below ``tol`` times the number of rows.

    The initial inverse-Hessian of L-BFGS is diagonal, ``1 / (penalty + 0.25 *
    sum of squares of the column)`` (a bound on the curvature of each weight), so
    weights with very different penalties converge together.
    """
    n = x.rows
    w = np.zeros(x.size) if start is None else start.astype(np.float64, copy=True)
    inv_diag = 1.0 / (penalty + 0.25 * x.squares() + 1e-8)

    def objective(v: Floats) -> tuple[float, Floats]:
        z = offset + x.linear(v)
        loss = float(np.sum(_log1pexp(z) - y * z) + 0.5 * _dot(penalty * v, v))
        grad = x.gradient(sigmoid(z) - y) + penalty * v
        return loss, grad

    f, g = objective(w)
    memory: list[tuple[Floats, Floats, float]] = []
    limit = tol * max(n, 1)
    for _ in range(max_iter):
        if float(np.max(np.abs(g))) < limit:
            break
        # two-loop recursion
        q = g.copy()
        alphas = []
        for s, yv, rho in reversed(memory):
            a = rho * _dot(s, q)
            alphas.append(a)
            q -= a * yv
        if memory:
            s, yv, _rho = memory[-1]
            q *= inv_diag * (_dot(s, yv) / _dot(yv, inv_diag * yv))
        else:
            q *= inv_diag
        for (s, yv, rho), a in zip(memory, reversed(alphas), strict=True):
            b = rho * _dot(yv, q)
            q += (a - b) * s
        direction = -q
        slope = _dot(g, direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            memory.clear()
            direction = -g * inv_diag
            slope = _dot(g, direction)
        step = 1.0
        for _ls in range(40):  # backtracking (Armijo)
            w_new = w + step * direction
            f_new, g_new = objective(w_new)
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_k, y_k = w_new - w, g_new - g
        sy = _dot(s_k, y_k)
        if sy > 1e-12:
            memory.append((s_k, y_k, 1.0 / sy))
            if len(memory) > 10:
                memory.pop(0)
        done = abs(f - f_new) <= 1e-10 * max(1.0, abs(f))
        w, f, g = w_new, f_new, g_new
        if done:
            break
    return w


def platt(z: Floats, y: Floats) -> tuple[float, float]:
    """``(scale, offset)`` of ``P(y) = sigmoid(offset + scale * z)``, scale kept > 0 (monotone)."""
    t = np.asarray(y, dtype=np.float64)
    x = np.column_stack([np.ones(len(z)), np.asarray(z, dtype=np.float64)])
    rate = min(max(float(t.mean()), 1e-6), 1 - 1e-6)
    w = np.array([math.log(rate / (1 - rate)), 1.0])
    for _ in range(100):
        p = sigmoid(x @ w)
        grad = x.T @ (p - t)
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.eye(2) * 1e-6
        new = w - np.linalg.solve(hess, grad)
        new[1] = max(float(new[1]), 1e-3)
        if float(np.max(np.abs(new - w))) < 1e-10:
            w = new
            break
        w = new
    return float(w[1]), float(w[0])


def log_loss(y: Floats, z: Floats) -> float:
    """Mean log loss of log-odds *z* for labels *y*."""
    return float(np.mean(_log1pexp(z) - y * z))


def roc_auc(y: Sequence[int] | Floats | npt.NDArray[np.bool_], score: Floats) -> float | None:
    """ROC AUC (ties count one half); ``None`` when one class is absent."""
    return _weighted_auc(np.asarray(y, dtype=bool), np.asarray(score, dtype=np.float64), None)


def _ranks(score: Floats) -> tuple[Ints, Ints]:
    """Sort order of *score* and the tie-group id of each sorted position."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    new = np.concatenate(([True], s[1:] != s[:-1])) if len(s) else np.zeros(0, dtype=bool)
    return order, np.cumsum(new) - 1


def _weighted_auc(y: npt.NDArray[np.bool_], score: Floats, weight: Floats | None) -> float | None:
    order, group = _ranks(score)
    w = np.ones(len(y)) if weight is None else weight
    return _auc_sorted(y[order], group, w[order])


def _auc_sorted(y: npt.NDArray[np.bool_], group: Ints, w: Floats) -> float | None:
    n_groups = int(group[-1]) + 1 if len(group) else 0
    pos = np.bincount(group, w * y, minlength=n_groups).astype(np.float64)
    neg = np.bincount(group, w * ~y, minlength=n_groups).astype(np.float64)
    wp, wn = float(pos.sum()), float(neg.sum())
    if wp <= 0 or wn <= 0:
        return None
    below = np.cumsum(neg) - neg
    return _dot(pos, below + 0.5 * neg) / (wp * wn)


def auc_interval(
    y: npt.NDArray[np.bool_],
    scores: Sequence[Floats],
    groups: Ints,
    *,
    resamples: int,
    seed: int,
    level: float = 0.95,
) -> list[tuple[float, float] | None]:
    """Percentile bootstrap intervals of the AUC of each of *scores*, and of their difference.

    Whole groups (conversations) are resampled with replacement, so items of
    one conversation move together.  Returns one interval per score and, when
    there are two scores, a last one for ``AUC(scores[0]) - AUC(scores[1])``
    computed on the same resamples.  ``None`` where undefined.
    """
    if resamples <= 0 or len(y) == 0:
        return [None] * (len(scores) + (len(scores) == 2))
    _, group_ids = np.unique(groups, return_inverse=True)
    n_groups = int(group_ids.max()) + 1
    rng = np.random.default_rng(seed)
    sorted_parts = [(_ranks(s)) for s in scores]
    values: list[list[float]] = [[] for _ in range(len(scores) + (len(scores) == 2))]
    for _ in range(resamples):
        counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        w = counts[group_ids].astype(np.float64)
        aucs = [_auc_sorted(y[order], g, w[order]) for order, g in sorted_parts]
        if any(a is None for a in aucs):
            continue
        for k, a in enumerate(aucs):
            values[k].append(float(a))  # type: ignore[arg-type]
        if len(scores) == 2:
            values[2].append(float(aucs[0]) - float(aucs[1]))  # type: ignore[arg-type]
    tail = (1.0 - level) / 2.0
    out: list[tuple[float, float] | None] = []
    for v in values:
        if len(v) < max(10, resamples // 2):
            out.append(None)
        else:
            lo, hi = np.quantile(np.asarray(v), [tail, 1.0 - tail])
            out.append((round(float(lo), 4), round(float(hi), 4)))
    return out


def grouped_folds(strata: Sequence[int], folds: int, seed: int) -> Ints:
    """Fold number (0..folds-1) of each group, stratified by *strata*, seeded.

    Within each stratum the groups are shuffled and dealt round-robin, so every
    fold gets ``n // folds`` or one more of each stratum.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(strata, dtype=np.int64)
    out = np.zeros(len(labels), dtype=np.int64)
    start = 0
    for value in np.unique(labels):
        idx = np.flatnonzero(labels == value)
        rng.shuffle(idx)
        out[idx] = (np.arange(len(idx)) + start) % folds
        start += len(idx)
    return out
