"""Offensive-language probability: a logistic regression over character n-grams, kept by n-gram.

The shipped weights (``data/politeness/offensive_cold.npz``) were trained by
``tools/train_offensive.py`` on the COLD dev set (thu-coai/COLDataset, Deng et
al., EMNLP 2022, Apache-2.0); the file names its source and licence in its
``sources`` and ``licence`` arrays.

Features are the 1- and 2-grams of :func:`kefu_standards.text.normalize`
(Traditional folded to Simplified, full-width to half-width, placeholders
blanked), read as UTF-16 code units (a character outside the Basic Multilingual
Plane, e.g. an emoji, is two units).  The model is a table from n-gram to weight
holding the n-grams seen in at least ``min_count`` training texts; any other
n-gram weighs 0 but still counts in the length normaliser::

    logit = bias + sum(weights of the text's n-grams) / sqrt(number of n-grams)

Scoring one text makes no Python object per n-gram beyond its key: the UTF-16
bytes of the text are read through :class:`memoryview` casts, so a unigram is a
16-bit index into a list and a bigram one 32-bit integer looked up with ``map``
over a dict's ``get``, both at C speed.  (Trigrams were measured and dropped: on
COLD they added nothing to 1- and 2-grams, and cost twice the time.)
:meth:`OffensiveModel.logits` scores many texts with the very same function, so
a text gets the same float alone or in a batch.

:func:`fit` trains a model from any labelled texts (a shop can retrain on its own
data); it is also what the benchmarks use for honest cross-validated figures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

import attrs

from .exceptions import ConfigError, ModelFileError
from .resources import lazy, load_npz
from .text import normalize

__all__ = ["OffensiveModel", "default_model", "fit", "ngram_keys"]

_WEIGHTS = "politeness/offensive_cold.npz"
_FORMAT = "kefu-offensive-ngram-table/2"
_UNITS = 0x10000  # UTF-16 code units


def _views(normalized: str) -> tuple[Any, Any, Any]:
    """Return the units of *normalized* and its bigrams starting on even / odd units."""
    raw = normalized.encode("utf-16-le", "surrogatepass")
    view = memoryview(raw)
    size = len(raw)
    return (
        view.cast("H"),
        view[: size // 4 * 4].cast("I"),
        view[2 : 2 + (size - 2) // 4 * 4].cast("I"),
    )


def ngram_keys(normalized: str) -> tuple[list[int], list[int]]:
    """Return the unigram and bigram keys of *normalized*, as the model reads them.

    A unigram is a UTF-16 code unit ``a``, a bigram ``a | b << 16``.  Bigrams
    come in the order the model adds them: those starting on even units, then
    those starting on odd units.
    """
    units, even, odd = _views(normalized)
    return units.tolist(), even.tolist() + odd.tolist()


def _units(gram: str) -> int:
    return len(gram.encode("utf-16-le", "surrogatepass")) // 2


def _key(gram: str) -> int:
    return int.from_bytes(gram.encode("utf-16-le", "surrogatepass"), "little")


def _gram(key: int, units: int) -> str:
    return key.to_bytes(2 * units, "little").decode("utf-16-le", "surrogatepass")


def _as_tuple(grams: Iterable[str]) -> tuple[str, ...]:
    return tuple(grams)


def _check_grams(grams: tuple[str, ...], weights: Any) -> None:
    import numpy as np

    if np.shape(weights) != (len(grams),):
        msg = (
            f"OffensiveModel.weights must have one weight per n-gram: {len(grams)} n-grams, "
            f"weights of shape {np.shape(weights)}"
        )
        raise ConfigError(msg)
    if not np.isfinite(weights).all():
        msg = "OffensiveModel.weights must be finite numbers"
        raise ConfigError(msg)
    if len(set(grams)) != len(grams):
        msg = "OffensiveModel.grams must not repeat an n-gram"
        raise ConfigError(msg)
    for gram in grams:
        if not isinstance(gram, str) or not 1 <= _units(gram) <= 2:
            msg = f"OffensiveModel.grams must be strings of 1 or 2 UTF-16 units, got {gram!r}"
            raise ConfigError(msg)


@attrs.frozen(slots=True, eq=False)
class OffensiveModel:
    """A logistic regression over character 1- and 2-grams, kept as a table by n-gram.

    ``grams`` are the n-grams with a weight (1 or 2 UTF-16 units each, no
    duplicates) and ``weights`` their weights, in the same order; ``bias`` is the
    intercept; ``sources`` and ``licence`` say what it was trained on and under
    which terms.
    """

    grams: tuple[str, ...] = attrs.field(repr=False, converter=_as_tuple)
    weights: Any = attrs.field(repr=False)
    bias: float = attrs.field(converter=float)
    sources: tuple[str, ...] = ()
    licence: str = ""
    _unigram: list[float] = attrs.field(init=False, repr=False)
    _bigram: dict[int, float] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _check_grams(self.grams, self.weights)
        if not math.isfinite(self.bias):
            msg = f"OffensiveModel.bias must be a finite number, got {self.bias!r}"
            raise ConfigError(msg)
        unigram = [0.0] * _UNITS
        bigram: dict[int, float] = {}
        for gram, weight in zip(self.grams, [float(w) for w in self.weights], strict=True):
            if _units(gram) == 1:
                unigram[_key(gram)] = weight
            else:
                bigram[_key(gram)] = weight
        object.__setattr__(self, "_unigram", unigram)
        object.__setattr__(self, "_bigram", bigram)

    def __len__(self) -> int:
        return len(self.grams)

    def logit(self, normalized: str) -> float:
        """Log-odds that already-normalised text is offensive.

        ``bias + sum(weights of its n-grams) / sqrt(number of n-grams)``, the sum
        taken in a fixed order (unigrams, then bigrams as :func:`ngram_keys` lists them).
        """
        units, even, odd = _views(normalized)
        n = len(units)
        if n == 0:
            return self.bias
        get = self._bigram.get
        total = sum(map(self._unigram.__getitem__, units))
        total += sum(map(get, even, repeat(0.0)))
        total += sum(map(get, odd, repeat(0.0)))
        return total / math.sqrt(2 * n - 1) + self.bias

    def logits(self, normalized: Sequence[str]) -> list[float]:
        """:meth:`logit` of each text (the same function, so the same floats)."""
        return list(map(self.logit, normalized))

    def probability(self, text: str) -> float:
        """Probability that raw *text* is offensive (normalises it first)."""
        return _sigmoid(self.logit(normalize(text)))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _tagged(normalized: str) -> list[tuple[int, int]]:
    """Return the n-gram keys of *normalized*, each tagged with its length in units."""
    uni, bi = ngram_keys(normalized)
    return [(1, k) for k in uni] + [(2, k) for k in bi]


def _naive_bayes_ratios(doc: Any, idx: Any, y: Any, size: int, alpha: float) -> Any:
    """Return the log-count ratio of each n-gram: how much likelier in offensive texts.

    ``log(p / |p|_1) - log(q / |q|_1)`` with ``p`` (``q``) the number of offensive
    (safe) texts holding the n-gram plus *alpha* (Wang & Manning's NBSVM, 2012).
    """
    import numpy as np

    pairs = np.unique(doc * size + idx)  # each n-gram once per text
    held_doc, held = pairs // size, pairs % size
    positive = y[held_doc] == 1
    p = np.bincount(held[positive], minlength=size) + alpha
    q = np.bincount(held[~positive], minlength=size) + alpha
    return np.log(p / p.sum()) - np.log(q / q.sum())


def _validate_fit(texts: Sequence[str], labels: Sequence[int], min_count: int, alpha: float) -> Any:
    import numpy as np

    if len(texts) != len(labels):
        msg = f"fit() needs one label per text, got {len(texts)} texts and {len(labels)} labels"
        raise ConfigError(msg)
    y = np.asarray(labels, dtype=np.float64)
    if y.size == 0 or not np.isin(y, (0.0, 1.0)).all():
        msg = "fit() labels must be a non-empty sequence of 0 (safe) and 1 (offensive)"
        raise ConfigError(msg)
    if min_count < 1:
        msg = f"fit() min_count must be >= 1, got {min_count}"
        raise ConfigError(msg)
    if not alpha >= 0:
        msg = f"fit() nb_alpha must be >= 0 (0: no naive-Bayes scaling), got {alpha}"
        raise ConfigError(msg)
    return y


def fit(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    min_count: int = 3,
    nb_alpha: float = 1.0,
    l2: float = 1e-5,
    epochs: int = 600,
    learning_rate: float = 0.05,
    min_weight: float = 0.1,
    sources: tuple[str, ...] = (),
    licence: str = "",
) -> OffensiveModel:
    """Train an :class:`OffensiveModel` (full-batch Adam on the logistic loss, numpy only).

    *labels* are 1 (offensive) or 0 (safe).  The n-grams found in at least
    *min_count* texts are the features.  With *nb_alpha* > 0 each feature is first
    scaled by its naive-Bayes log-count ratio (NBSVM; *nb_alpha* smooths the
    counts), which on COLD generalises better than the plain n-grams; 0 turns the
    scaling off.  After training, n-grams whose weight is below *min_weight* in
    absolute value are dropped (a smaller, faster table).  Deterministic: the same
    data and settings give the same weights.

    The defaults are the shipped model's setting, chosen on COLD folds 0-1 by
    ``benchmarks/bench_offensive_cv.py`` (see the politeness explanation page).
    """
    import numpy as np

    y = _validate_fit(texts, labels, min_count, nb_alpha)
    keys_of = [_tagged(normalize(t)) for t in texts]
    seen = Counter(k for keys in keys_of for k in set(keys))
    vocab = sorted(k for k, c in seen.items() if c >= min_count)
    index = {k: i for i, k in enumerate(vocab)}
    ids = [[index[k] for k in keys if k in index] for keys in keys_of]
    idx = np.fromiter((i for row in ids for i in row), dtype=np.int64)
    doc = np.repeat(np.arange(len(texts)), [len(row) for row in ids])
    size = len(vocab)
    ratio = _naive_bayes_ratios(doc, idx, y, size, nb_alpha) if nb_alpha > 0 else np.ones(size)
    lengths = np.maximum([len(keys) for keys in keys_of], 1)
    entry_scale = (1.0 / np.sqrt(lengths))[doc] * ratio[idx]
    w = np.zeros(size)
    b = float(np.log((y.mean() + 1e-9) / (1 - y.mean() + 1e-9)))
    m_w, v_w = np.zeros(size), np.zeros(size)
    m_b = v_b = 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n = float(len(texts))
    for step in range(1, epochs + 1):
        z = np.bincount(doc, weights=w[idx] * entry_scale, minlength=len(texts)) + b
        p = 1.0 / (1.0 + np.exp(-z))
        err = (p - y) / n
        g_w = np.bincount(idx, weights=err[doc] * entry_scale, minlength=size) + l2 * w
        g_b = float(err.sum())
        m_w = beta1 * m_w + (1 - beta1) * g_w
        v_w = beta2 * v_w + (1 - beta2) * g_w * g_w
        m_b = beta1 * m_b + (1 - beta1) * g_b
        v_b = beta2 * v_b + (1 - beta2) * g_b * g_b
        c1, c2 = 1 - beta1**step, 1 - beta2**step
        w -= learning_rate * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= learning_rate * (m_b / c1) / (math.sqrt(v_b / c2) + eps)
    weights = (w * ratio).astype(np.float32)
    keep = np.flatnonzero(np.abs(weights) >= min_weight)
    grams = tuple(_gram(vocab[i][1], vocab[i][0]) for i in keep)
    return OffensiveModel(grams, weights[keep], b, tuple(sources), licence)


def to_arrays(model: OffensiveModel) -> dict[str, Any]:
    """Return the arrays :func:`numpy.savez_compressed` stores for *model* (no pickled objects)."""
    import numpy as np

    return {
        "format": np.array(_FORMAT),
        "grams": np.array(model.grams, dtype=str),
        "weights": np.asarray(model.weights, dtype=np.float32),
        "bias": np.array(model.bias, dtype=np.float64),
        "sources": np.array(model.sources, dtype=str),
        "licence": np.array(model.licence),
    }


def from_arrays(arrays: dict[str, Any], name: str = _WEIGHTS) -> OffensiveModel:
    """Rebuild a model from the arrays of a ``.npz`` file written by :func:`to_arrays`."""
    try:
        fmt = str(arrays["format"])
        if fmt != _FORMAT:
            msg = f"{name}: format {fmt!r} is not supported (expected {_FORMAT!r})"
            raise ModelFileError(msg)
        return OffensiveModel(
            tuple(arrays["grams"].tolist()),
            arrays["weights"],
            float(arrays["bias"]),
            tuple(str(s) for s in arrays["sources"]),
            str(arrays["licence"]),
        )
    except (KeyError, ConfigError) as exc:
        msg = f"{name}: not a valid offensive-language model ({exc})"
        raise ModelFileError(msg) from exc


@lazy
def default_model() -> OffensiveModel:
    """Return the shipped COLD-trained model (loaded once, on first use)."""
    return from_arrays(load_npz(_WEIGHTS))
