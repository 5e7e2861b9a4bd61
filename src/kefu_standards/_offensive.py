"""Offensive-language probability: hashed character n-gram logistic regression (numpy only).

The shipped weights (``data/politeness/offensive_cold.npz``) were trained by
``tools/train_offensive.py`` on the COLD dev set (thu-coai/COLDataset, Deng et
al., EMNLP 2022, Apache-2.0); the file names its source and licence in its
``sources`` and ``licence`` arrays.

Features are the character 1-, 2- and 3-grams of :func:`kefu_standards.text.normalize`
(Traditional folded to Simplified, full-width to half-width, placeholders blanked),
hashed into ``2**bits`` buckets with a fixed multiplicative hash, so the same text
always lands in the same buckets on every platform and Python version.  The
hash is computed with vectorised numpy on the code points: no Python loop per
n-gram, which keeps a chat message well under a tenth of a millisecond.

:func:`fit` trains a model from any labelled texts (a shop can retrain on its own
data); it is also what the benchmark uses for honest cross-validated figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce
from itertools import pairwise
from operator import add
from typing import Any

import attrs

from .exceptions import ConfigError, ModelFileError
from .resources import lazy, load_npz
from .text import normalize

__all__ = ["OffensiveModel", "default_model", "fit", "hashed_ngrams"]

_WEIGHTS = "politeness/offensive_cold.npz"
_FORMAT = "kefu-offensive-ngram-lr/1"
_MIX = 0x9E3779B97F4A7C15  # 2**64 / golden ratio: Fibonacci hashing
_BASE = 0x110000  # one more than the largest code point
_M64 = (1 << 64) - 1
_BMP = 0x10000
#: Longest text :meth:`OffensiveModel.logit_one` scores in plain Python (measured crossover).
_ONE_TEXT_MAX = 48
_BASE_U: Any = None  # numpy.uint64 versions, made on first use (numpy is not imported at import)
_MIX_U: Any = None


def _hashed_keys(codes: Any, bits: int) -> Any:
    """Bucket ids of the 1-, 2- and 3-grams of code points *codes* (``[uni | bi | tri]``)."""
    import numpy as np

    global _BASE_U, _MIX_U
    if _BASE_U is None:
        _BASE_U, _MIX_U = np.uint64(_BASE), np.uint64(_MIX)
    n = codes.size
    # keys = [unigrams | bigrams | trigrams], built in place (few numpy calls: this is hot)
    keys = np.empty(max(3 * n - 3, n), dtype=np.uint64)
    keys[:n] = codes
    if n > 1:
        bi = keys[n : 2 * n - 1]
        np.multiply(codes[:-1], _BASE_U, out=bi)
        bi += codes[1:]
        tri = keys[2 * n - 1 :]
        np.multiply(bi[:-1], _BASE_U, out=tri)
        tri += codes[2:]
    keys *= _MIX_U  # wraps modulo 2**64 (unsigned arrays do not warn)
    keys >>= np.uint64(64 - bits)
    return keys


def _codes(text: str) -> Any:
    import numpy as np

    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def hashed_ngrams(text: str, bits: int) -> Any:
    """Bucket ids (``numpy.uint64`` array) of the character 1-3-grams of *text*.

    *text* is used as given (callers pass normalised text).  Unigrams, bigrams
    and trigrams hash to different buckets because their integer keys differ in
    range (code point, ``a*B+b``, ``(a*B+b)*B+c`` with ``B = 0x110000``).
    """
    import numpy as np

    codes = _codes(text)
    if codes.size == 0:
        return np.zeros(0, dtype=np.uint64)
    return _hashed_keys(codes, bits)


@attrs.frozen(slots=True, eq=False)
class OffensiveModel:
    """A logistic regression over hashed character n-grams.

    ``weights`` has ``2**bits`` entries; ``sources`` and ``licence`` say what
    it was trained on and under which terms.
    """

    weights: Any = attrs.field(repr=False)
    bias: float
    bits: int
    sources: tuple[str, ...] = ()
    licence: str = ""
    _weight_of: memoryview = attrs.field(init=False, repr=False)
    _unigram: list[float] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        import numpy as np

        if not 8 <= self.bits <= 24:
            msg = f"OffensiveModel.bits must be between 8 and 24, got {self.bits}"
            raise ConfigError(msg)
        if getattr(self.weights, "shape", None) != (1 << self.bits,):
            msg = f"OffensiveModel.weights must have shape ({1 << self.bits},) for bits={self.bits}"
            raise ConfigError(msg)
        # the weights as Python floats on indexing, for logit_one (a view of the same values
        # numpy's take() reads, so the sums agree to the last bit)
        weights = np.ascontiguousarray(self.weights)
        if weights.dtype not in (np.float32, np.float64):
            weights = weights.astype(np.float64)
        raw = weights.data.cast("B")
        view = raw.cast("f") if weights.dtype == np.float32 else raw.cast("d")
        object.__setattr__(self, "_weight_of", view)
        # the weight of every Basic Multilingual Plane character as a unigram (the same
        # values, looked up by code point instead of hashed once per character)
        codes = np.arange(_BMP, dtype=np.uint64)
        buckets = (codes * np.uint64(_MIX)) >> np.uint64(64 - self.bits)
        object.__setattr__(self, "_unigram", weights[buckets.astype(np.intp)].tolist())

    def logit_one(self, normalized: str) -> float:
        """:meth:`logits` of one text: the same float, without numpy for a short text.

        Up to 48 characters the text is scored in plain Python (:meth:`_logit_plain`),
        past that by :meth:`logits`, which is then the faster of the two.
        """
        if len(normalized) > _ONE_TEXT_MAX:
            return self.logits([normalized])[0]
        return self._logit_plain(normalized)

    def _logit_plain(self, normalized: str) -> float:
        """:meth:`logits` of one text in plain Python, to the last bit.

        The n-gram keys are the same integers, their weights are added left to right
        (unigrams, bigrams, trigrams) as ``numpy.bincount`` adds them, and the
        division by ``sqrt(n)`` is correctly rounded in both.
        """
        codes = [ord(c) for c in normalized]
        if not codes:
            return self.bias
        shift, mix, m64 = 64 - self.bits, _MIX, _M64
        weight_of, unigram = self._weight_of, self._unigram
        bigrams = [a * _BASE + b for a, b in pairwise(codes)]
        longer = bigrams + [k * _BASE + c for k, c in zip(bigrams, codes[2:], strict=False)]
        weights = [unigram[c] if c < _BMP else weight_of[((c * mix) & m64) >> shift] for c in codes]
        weights += [weight_of[((k * mix) & m64) >> shift] for k in longer]
        total = reduce(add, weights, 0.0)  # left to right, as bincount adds
        return total / math.sqrt(len(weights)) + self.bias

    def logit(self, normalized: str) -> float:
        """Log-odds that already-normalised text is offensive.

        ``bias + sum(weights of its n-grams) / sqrt(number of n-grams)``.
        """
        import numpy as np

        idx = hashed_ngrams(normalized, self.bits)
        if idx.size == 0:
            return self.bias
        return float(self.weights.take(idx).sum(dtype=np.float64)) / math.sqrt(idx.size) + self.bias

    def logits(self, normalized: Sequence[str]) -> list[float]:
        """:meth:`logit` of many texts at once (one vectorised pass; same values)."""
        import numpy as np

        count = len(normalized)
        if count == 0:
            return []
        lengths = np.fromiter((len(t) for t in normalized), dtype=np.int64, count=count)
        codes = _codes("".join(normalized))
        total = codes.size
        if total == 0:
            return [self.bias] * count
        seg = np.repeat(np.arange(count), lengths)
        keys = _hashed_keys(codes, self.bits)
        if total > 1:
            seg_keys = np.concatenate((seg, seg[:-1], seg[:-2]))
            valid = np.concatenate(
                (np.ones(total, dtype=bool), seg[:-1] == seg[1:], seg[:-2] == seg[2:])
            )
            keys, seg_keys = keys[valid], seg_keys[valid]
        else:
            seg_keys = seg
        sums = np.bincount(seg_keys, weights=self.weights.take(keys), minlength=count)
        ns = np.bincount(seg_keys, minlength=count)
        out = sums / np.sqrt(np.maximum(ns, 1)) + self.bias
        return [float(x) for x in out]

    def probability(self, text: str) -> float:
        """Probability that raw *text* is offensive (normalises it first)."""
        return _sigmoid(self.logit(normalize(text)))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _design(texts: Sequence[str], bits: int) -> tuple[Any, Any, Any]:
    """Concatenated bucket ids, per-text offsets and per-entry scale (1/sqrt(n))."""
    import numpy as np

    parts = [hashed_ngrams(normalize(t), bits) for t in texts]
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    idx = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    scale = 1.0 / np.sqrt(np.maximum(lengths, 1))
    return idx, lengths, scale


def fit(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    bits: int = 18,
    l2: float = 1e-5,
    epochs: int = 300,
    learning_rate: float = 0.05,
    sources: tuple[str, ...] = (),
    licence: str = "",
) -> OffensiveModel:
    """Train an :class:`OffensiveModel` (full-batch Adam on the logistic loss, numpy only).

    *labels* are 1 (offensive) or 0 (safe).  Deterministic: the same data and
    settings give the same weights.
    """
    import numpy as np

    if len(texts) != len(labels):
        msg = f"fit() needs one label per text, got {len(texts)} texts and {len(labels)} labels"
        raise ConfigError(msg)
    y = np.asarray(labels, dtype=np.float64)
    if y.size == 0 or not np.isin(y, (0.0, 1.0)).all():
        msg = "fit() labels must be a non-empty sequence of 0 (safe) and 1 (offensive)"
        raise ConfigError(msg)
    idx, lengths, scale = _design(texts, bits)
    doc = np.repeat(np.arange(len(texts)), lengths)
    entry_scale = scale[doc]
    size = 1 << bits
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
    return OffensiveModel(w.astype(np.float32), float(b), bits, tuple(sources), licence)


def to_arrays(model: OffensiveModel) -> dict[str, Any]:
    """Return the arrays :func:`numpy.savez_compressed` stores for *model* (no pickled objects)."""
    import numpy as np

    return {
        "format": np.array(_FORMAT),
        "weights": np.asarray(model.weights, dtype=np.float32),
        "bias": np.array(model.bias, dtype=np.float64),
        "bits": np.array(model.bits, dtype=np.int64),
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
            arrays["weights"],
            float(arrays["bias"]),
            int(arrays["bits"]),
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
