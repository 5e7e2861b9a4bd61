"""Specification of the numpy metrics shared by the benchmarks (benchmarks/_metrics.py)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "_metrics.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bench_metrics", _PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


metrics = _load()


@pytest.mark.parametrize(
    ("y", "score", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0),
        ([0, 1], [0.5, 0.5], 0.5),
        ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75),
    ],
)
def test_roc_auc_table(y: list[int], score: list[float], expected: float) -> None:
    """ROC AUC on small hand-checked cases, ties counted one half."""
    assert metrics.roc_auc(y, score) == pytest.approx(expected)


def test_roc_auc_one_class_is_nan() -> None:
    """AUC is undefined without both classes."""
    assert math.isnan(metrics.roc_auc([1, 1], [0.2, 0.3]))


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 4)), min_size=2, max_size=30).filter(
        lambda xs: 0 < sum(b for b, _ in xs) < len(xs)
    )
)
def test_roc_auc_equals_pair_count(pairs: list[tuple[bool, int]]) -> None:
    """AUC equals the share of (positive, negative) pairs ranked right, ties half."""
    pos = [s for b, s in pairs if b]
    neg = [s for b, s in pairs if not b]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    expected = wins / (len(pos) * len(neg))
    y = [b for b, _ in pairs]
    s = [v for _, v in pairs]
    assert metrics.roc_auc(y, s) == pytest.approx(expected)


def test_spearman_and_accuracy() -> None:
    """Spearman of a monotone map is 1; accuracy is the share of equal labels."""
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 25, 100]) == pytest.approx(1.0)
    assert metrics.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(metrics.spearman([1, 1, 1], [1, 2, 3]))
    assert metrics.accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    assert list(metrics.rankdata([3, 1, 3, 2])) == [3.5, 1.0, 3.5, 2.0]


def _toy(n: int = 400, seed: int = 7) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int_]]:
    """Two informative columns and one constant column; labels drawn from a known model."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), rng.normal(size=n), np.ones(n)])
    p = 1.0 / (1.0 + np.exp(-(0.5 + 2.0 * x[:, 0] - 1.0 * x[:, 1])))
    return x, (rng.random(n) < p).astype(int)


@pytest.mark.parametrize("l2", [0.0, 1.0, 50.0])
def test_logistic_fit_is_at_the_penalised_optimum(l2: float) -> None:
    """The gradient of the penalised log-likelihood vanishes at the returned weights."""
    x, y = _toy()
    w, mean, scale = metrics.logistic_fit(x, y, l2)
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    p = 1.0 / (1.0 + np.exp(-(z @ w)))
    penalty = np.r_[0.0, np.full(len(w) - 1, l2)]
    assert np.abs(z.T @ (p - y) + penalty * w).max() < 1e-6
    assert scale[2] == 1.0  # the constant column is left unscaled, its weight 0
    assert w[3] == pytest.approx(0.0, abs=1e-6)
    assert w[1] > 0 > w[2]  # the signs of the generating model


def test_logistic_fit_strong_penalty_leaves_the_base_rate() -> None:
    """With an overwhelming penalty only the (unpenalised) intercept is left: logit(mean y)."""
    x, y = _toy()
    w, _mean, _scale = metrics.logistic_fit(x, y, 1e12)
    rate = float(np.mean(y))
    assert w[0] == pytest.approx(math.log(rate / (1 - rate)), abs=1e-6)
    assert np.abs(w[1:]).max() < 1e-6


def test_fitted_ceiling_scores_each_half_with_the_other_halfs_model() -> None:
    """Both out-of-sample AUCs see the generating signal; shapes are checked."""
    x, y = _toy(800)
    half_a = [i % 2 == 0 for i in range(800)]
    a_to_b, b_to_a = metrics.fitted_ceiling(x, y, half_a, 1.0)
    assert 0.75 < a_to_b <= 1.0
    assert 0.75 < b_to_a <= 1.0
    with pytest.raises(ValueError, match="n == len"):
        metrics.logistic_fit(x, y[:10], 1.0)
