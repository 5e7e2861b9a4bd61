"""A fixed, log-spaced histogram: a mergeable, deterministic quantile sketch.

Values are non-negative integer microseconds.  Bin 0 holds ``[0, 10 ms)``; bin
``k >= 1`` holds ``[EDGES[k-1], EDGES[k])`` where the integer edges grow by a
factor of about ``(1 + ALPHA) / (1 - ALPHA)`` from 10 ms to 30 days; the last bin
also takes everything above 30 days.  Because every sketch uses the same edges,
merging is an addition of counts, so the merged sketch is *identical* to the
sketch of the whole.

A quantile is the nearest-rank value (``sorted(x)[ceil(q * n) - 1]``, numpy's
``method="inverted_cdf"``) estimated by the bin's harmonic midpoint
``2 * lo * hi / (lo + hi)`` and clamped to the exact minimum and maximum.  Its
error is at most ``ALPHA`` (1 %) of the true value, plus 10 ms for values below
10 ms.  Values beyond 30 days fall in the last bin and are only bounded by the
exact maximum.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALPHA",
    "EDGES_US",
    "N_BINS",
    "bin_index",
    "histogram",
    "nearest_rank",
    "quantile_from_hist",
    "quantile_sparse",
    "quantiles_sparse",
]

#: Documented relative error of a quantile estimate.
ALPHA = 0.01
# Designed slightly tighter than ALPHA so that integer edges still honour it.
_GAMMA = (1.0 + 0.0099) / (1.0 - 0.0099)
_LOW_US = 10_000  # 10 ms
_HIGH_US = 30 * 86_400 * 1_000_000  # 30 days


def _edges() -> npt.NDArray[np.int64]:
    n = math.ceil(math.log(_HIGH_US / _LOW_US) / math.log(_GAMMA))
    raw = np.floor(_LOW_US * _GAMMA ** np.arange(n + 1, dtype=np.float64))
    edges = np.unique(raw.astype(np.int64))
    edges.flags.writeable = False
    return edges


#: Upper edges (exclusive) of bins 0 .. N_BINS - 2, in microseconds.
EDGES_US: npt.NDArray[np.int64] = _edges()
#: Number of bins (the last bin is open-ended).
N_BINS: int = len(EDGES_US) + 1


def _representatives() -> npt.NDArray[np.float64]:
    lo = np.concatenate(([0], EDGES_US)).astype(np.float64)
    hi = np.concatenate((EDGES_US, [EDGES_US[-1] * _GAMMA])).astype(np.float64)
    rep = np.where(lo > 0, 2.0 * lo * hi / np.maximum(lo + hi, 1.0), 0.0)
    rep.flags.writeable = False
    return rep


_REP_US = _representatives()


_UPPER = np.concatenate((EDGES_US, [np.iinfo(np.int64).max]))


@functools.cache
def _cell_table() -> npt.NDArray[np.intp]:
    """Bin of the low end of each float64 "cell" (sign, exponent and 7 mantissa bits).

    A cell spans a relative width of at most 2**-7 (0.8 %), less than one bin
    (about 2 %), so it holds at most one bin edge: the bin of any value in the
    cell is the table entry or the next one.  The low end is taken a little
    lower (1e-9) so that rounding the value to a float cannot push it above.
    Built on first use (about 2 MB).
    """
    cells = np.arange(1 << 18, dtype=np.uint64) << np.uint64(45)
    with np.errstate(invalid="ignore", over="ignore"):  # the top cells are inf / nan
        low = cells.view(np.float64) * (1.0 - 1e-9)
    low = np.nan_to_num(low, nan=float(2**62), posinf=float(2**62))
    low = np.minimum(np.floor(low), 2.0**62).astype(np.int64)
    table: npt.NDArray[np.intp] = np.searchsorted(EDGES_US, low, side="right").astype(np.intp)
    table.flags.writeable = False
    return table


def bin_index(values_us: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Return the bin of each value (non-negative integer microseconds).

    Same as ``searchsorted(EDGES_US, v, side="right")``: the top bits of the
    value as a float64 pick the bin or the one below from a table, and one
    exact integer comparison with the upper edge settles it (several times
    faster than a binary search or a logarithm on large arrays).
    """
    v = np.asarray(values_us, dtype=np.int64)
    cell = v.astype(np.float64).view(np.int64)
    cell >>= 45
    b = np.take(_cell_table(), cell)
    b += v >= np.take(_UPPER, b)
    return b


def histogram(values_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the counts of *values_us* per bin (length ``N_BINS``)."""
    return np.bincount(bin_index(values_us), minlength=N_BINS).astype(np.int64)


def nearest_rank(q: float, n: int) -> int:
    """Return the 1-based nearest rank ``max(1, ceil(q * n))`` of quantile *q* among *n*."""
    return max(1, math.ceil(round(q * n, 9)))


def quantile_from_hist(
    hist: npt.NDArray[np.int64],
    q: float,
    lo_us: npt.NDArray[np.int64],
    hi_us: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Estimate quantile *q* per row of *hist* (shape ``(groups, N_BINS)``), in seconds.

    *lo_us* / *hi_us* are the exact minimum / maximum per row.  Rows with no
    values give NaN.
    """
    counts = hist.sum(axis=1)
    out = np.full(len(counts), np.nan)
    has = counts > 0
    if not has.any():
        return out
    ranks = np.maximum(1, np.ceil(np.round(q * counts[has], 9))).astype(np.int64)
    cum = np.cumsum(hist[has], axis=1)
    bins = (cum < ranks[:, None]).sum(axis=1)
    est = np.minimum(np.maximum(_REP_US[bins], lo_us[has]), hi_us[has])
    out[has] = est / 1e6
    return out


def quantile_sparse(
    hist_key: npt.NDArray[np.int64],
    hist_count: npt.NDArray[np.int64],
    q: float,
    lo_us: npt.NDArray[np.int64],
    hi_us: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Like :func:`quantile_from_hist` for a sparse histogram, in seconds.

    *hist_key* holds sorted ``group * N_BINS + bin`` keys of non-empty bins and
    *hist_count* their counts; *lo_us* / *hi_us* give the number of groups.
    """
    g = len(lo_us)
    out = np.full(g, np.nan)
    if len(hist_key) == 0:
        return out
    group = hist_key // N_BINS
    counts = np.bincount(group, weights=hist_count, minlength=g).astype(np.int64)
    cum = np.cumsum(hist_count)
    has = counts > 0
    offset = (np.cumsum(counts) - counts)[has]
    ranks = np.maximum(1, np.ceil(np.round(q * counts[has], 9))).astype(np.int64)
    idx = np.searchsorted(cum, offset + ranks, side="left")
    bins = hist_key[idx] % N_BINS
    est = np.minimum(np.maximum(_REP_US[bins], lo_us[has]), hi_us[has])
    out[has] = est / 1e6
    return out


def quantiles_sparse(
    hist_key: npt.NDArray[np.int64],
    hist_count: npt.NDArray[np.int64],
    qs: tuple[float, ...],
    *,
    counts: npt.NDArray[np.int64],
    lo_us: npt.NDArray[np.int64],
    hi_us: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Several quantiles at once from a sparse histogram: shape ``(len(qs), groups)``, seconds.

    Same values as :func:`quantile_sparse` per quantile; *counts* must be the
    number of values per group (the histogram's row sums), which the caller
    already has, so one cumulative sum and one search serve every quantile.
    """
    g = len(lo_us)
    out = np.full((len(qs), g), np.nan)
    has = np.flatnonzero(counts > 0)
    if len(hist_key) == 0 or len(has) == 0:
        return out
    cum = np.cumsum(hist_count)
    n = counts[has]
    offset = (np.cumsum(counts) - counts)[has]
    q = np.array(qs, dtype=np.float64)[:, None]
    ranks = np.maximum(1, np.ceil(np.round(q * n, 9))).astype(np.int64)
    idx = np.searchsorted(cum, (offset + ranks).reshape(-1), side="left")
    bins = (hist_key[idx] % N_BINS).reshape(len(qs), len(has))
    est = np.minimum(np.maximum(_REP_US[bins], lo_us[has]), hi_us[has])
    out[:, has] = est / 1e6
    return out
