"""A trainable topic classifier for a shop's own taxonomy (its 咨询类型 column, or its labels).

Features are character 1-3-grams of the normalised text, jieba words (``w:``
prefix) and the topics of the default cue lexicon's matches (``c:``); each
number becomes ``0`` and placeholders (order ids) are blanked.
The classifier is a multinomial logistic regression fitted in numpy
(full-batch Adam on the L2-penalised cross-entropy), over the features seen in
at least ``min_df`` training texts.  :meth:`TopicModel.train` reports a
cross-validated macro-F1; :meth:`TopicModel.save` / :meth:`TopicModel.load`
use one ``.npz`` file (arrays plus a JSON header), never pickle.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from ._frozendict import FrozenDict
from ._segment import words
from ._topics import Topic, topic
from .evidence import Evidence
from .exceptions import ConfigError, ModelFileError
from .text import has_content, normalize

if TYPE_CHECKING:
    import numpy as np

__all__ = ["TopicModel", "macro_f1"]

_FORMAT = "kefu_standards.TopicModel"
#: Copies of a ``c:<topic>`` feature per unit of cue weight.  2 rather than 1 raised the
#: 5-fold CV macro-F1 on each half of jddc dev (0.592 -> 0.652, 0.604 -> 0.626, with l2 3e-4).
CUE_REPEAT = 2
_VERSION = 1
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _char_features(text: str) -> list[str]:
    norm = _SPACE.sub(" ", _DIGITS.sub("0", normalize(text))).strip()
    out = []
    for n in (1, 2, 3):
        for i in range(len(norm) - n + 1):
            gram = norm[i : i + n]
            if " " not in gram:
                out.append(gram)
    return out


@lru_cache(maxsize=65536)
def _features(text: str) -> tuple[str, ...]:
    """Return the features of *text* (cached by text).

    Character 1-3-grams, ``w:`` jieba words and ``c:`` the topics of the default
    cue lexicon's cues in the text (``CUE_REPEAT`` per unit of cue weight, rounded
    up), so a model starts from what the lexicon knows and learns the shop's own labels.
    """
    cues = []
    for ev in topic(text).evidence:
        if ev.kind == "topic_cue":
            cues.extend(["c:" + ev.rule] * math.ceil(CUE_REPEAT * ev.weight))
    return (*_char_features(text), *("w:" + w for w in words(text)), *cues)


def macro_f1(truth: Sequence[str], predicted: Sequence[str | None]) -> float:
    """Macro-averaged F1 over the labels of *truth* (a ``None`` prediction is wrong)."""
    labels = sorted(set(truth))
    f1s = []
    for lab in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == lab and p == lab)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != lab and p == lab)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == lab and p != lab)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def _design(
    texts: Sequence[str], index: Mapping[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse rows as (feature ids, values, row ids); each row L2-normalised tf."""
    import numpy as np

    cols: list[int] = []
    vals: list[float] = []
    rows: list[int] = []
    for r, text in enumerate(texts):
        counts: dict[int, int] = {}
        for f in _features(text):
            j = index.get(f)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            continue
        norm = math.sqrt(sum(c * c for c in counts.values()))
        for j, c in counts.items():
            cols.append(j)
            vals.append(c / norm)
            rows.append(r)
    return (
        np.asarray(cols, dtype=np.int64),
        np.asarray(vals, dtype=np.float64),
        np.asarray(rows, dtype=np.int64),
    )


def _fit(
    texts: Sequence[str],
    y: np.ndarray,
    n_classes: int,
    *,
    min_df: int,
    l2: float,
    epochs: int,
    balanced: bool,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    import numpy as np

    df: dict[str, int] = {}
    for text in texts:
        for f in set(_features(text)):
            df[f] = df.get(f, 0) + 1
    vocab = sorted(f for f, c in df.items() if c >= min_df)
    index = {f: j for j, f in enumerate(vocab)}
    cols, vals, rows = _design(texts, index)
    n, v = len(texts), len(vocab)
    # rows come sorted: sum per row with reduceat; sort once by column for the gradient
    row_ids, row_starts = np.unique(rows, return_index=True)
    by_col = np.argsort(cols, kind="stable")
    col_ids, col_starts = np.unique(cols[by_col], return_index=True)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    # balanced sample weights (each label weighs the same in total) for macro-F1
    sample_w = (n / (n_classes * np.maximum(counts, 1.0)))[y] if balanced else np.ones(n)
    w = np.zeros((v, n_classes))
    b = np.zeros(n_classes)
    onehot = np.eye(n_classes)[y]
    # Adam on the weighted mean cross-entropy + l2/2 * |w|^2
    mw, vw = np.zeros_like(w), np.zeros_like(w)
    mb, vb = np.zeros_like(b), np.zeros_like(b)
    for step in range(1, epochs + 1):
        logits = np.zeros((n, n_classes)) + b
        if len(cols):
            logits[row_ids] += np.add.reduceat(w[cols] * vals[:, None], row_starts, axis=0)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * (sample_w / sample_w.sum())[:, None]
        gw = l2 * w
        if len(cols):
            contrib = (g[rows] * vals[:, None])[by_col]
            gw[col_ids] += np.add.reduceat(contrib, col_starts, axis=0)
        gb = g.sum(axis=0)
        _adam(w, gw, mw, vw, step)
        _adam(b, gb, mb, vb, step)
    return vocab, w, b


def _adam(param: np.ndarray, grad: np.ndarray, m: np.ndarray, s: np.ndarray, step: int) -> None:
    """One Adam step, in place (learning rate 0.1, betas 0.9 / 0.999)."""
    import numpy as np

    beta1, beta2 = 0.9, 0.999
    m[...] = beta1 * m + (1 - beta1) * grad
    s[...] = beta2 * s + (1 - beta2) * grad * grad
    mhat = m / (1 - beta1**step)
    shat = s / (1 - beta2**step)
    param -= 0.1 * mhat / (np.sqrt(shat) + 1e-8)


class TopicModel:
    """A trained topic classifier: use it with ``ks.topic(text, model=m)`` or :meth:`topic`.

    Build one with :meth:`train` or :meth:`load`.  ``labels`` are the topics it
    knows, ``cv_macro_f1`` the cross-validated macro-F1 measured at training
    (``None`` when ``folds=0``), ``min_confidence`` the probability under which
    :meth:`topic` returns no label.

    .. versionadded:: 0.2.0
    """

    __slots__ = (
        "_index",
        "_names",
        "bias",
        "cv_macro_f1",
        "labels",
        "min_confidence",
        "vocabulary",
        "weights",
    )

    def __init__(
        self,
        labels: Sequence[str],
        vocabulary: Sequence[str],
        weights: np.ndarray,
        bias: np.ndarray,
        *,
        names: Mapping[str, str] | None = None,
        min_confidence: float = 0.0,
        cv_macro_f1: float | None = None,
    ) -> None:
        """Wrap learned arrays (use :meth:`train` or :meth:`load` rather than this)."""
        import numpy as np

        self.labels = tuple(labels)
        self.vocabulary = tuple(vocabulary)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)
        if self.weights.shape != (len(self.vocabulary), len(self.labels)) or self.bias.shape != (
            len(self.labels),
        ):
            msg = (
                f"TopicModel arrays do not fit: weights {self.weights.shape}, bias "
                f"{self.bias.shape}, {len(self.vocabulary)} features, {len(self.labels)} labels"
            )
            raise ConfigError(msg)
        if not 0.0 <= min_confidence < 1.0:
            raise ConfigError(f"min_confidence must be in [0, 1), got {min_confidence!r}")
        self.min_confidence = float(min_confidence)
        self.cv_macro_f1 = cv_macro_f1
        self._names = {lab: (names or {}).get(lab, lab) for lab in self.labels}
        self._index = {f: j for j, f in enumerate(self.vocabulary)}

    def __repr__(self) -> str:
        cv = "n/a" if self.cv_macro_f1 is None else f"{self.cv_macro_f1:.3f}"
        return (
            f"<TopicModel: {len(self.labels)} labels, {len(self.vocabulary)} features, "
            f"cv macro-F1 {cv}>"
        )

    @property
    def names(self) -> dict[str, str]:
        """Display name of each label (the label itself unless names were given)."""
        return dict(self._names)

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        labels: Iterable[str],
        *,
        names: Mapping[str, str] | None = None,
        folds: int = 5,
        min_df: int = 2,
        l2: float = 3e-4,
        epochs: int = 150,
        balanced: bool = True,
        min_confidence: float = 0.0,
        seed: int = 0,
    ) -> TopicModel:
        """Fit a model on *texts* and *labels*; report a ``folds``-fold cross-validated macro-F1.

        *texts* and *labels* must have the same length, with at least two labels
        and two texts per label.  ``folds=0`` skips cross-validation.
        """
        import numpy as np

        xs = list(texts)
        ys = list(labels)
        if len(xs) != len(ys):
            raise ConfigError(
                f"train(): {len(xs)} texts but {len(ys)} labels; give one label per text"
            )
        for i, (t, lab) in enumerate(zip(xs, ys, strict=True)):
            if not isinstance(t, str) or not isinstance(lab, str) or not lab:
                msg = (
                    f"train(): item {i} must be a str text with a non-empty str label, "
                    f"got {t!r}, {lab!r}"
                )
                raise ConfigError(msg)
        classes = sorted(set(ys))
        counts = {c: ys.count(c) for c in classes}
        if len(classes) < 2 or min(counts.values()) < 2:
            msg = f"train() needs at least 2 labels with 2 texts each; counts are {counts}"
            raise ConfigError(msg)
        if folds != 0 and not 2 <= folds <= len(xs):
            raise ConfigError(f"folds must be 0 or between 2 and the number of texts, got {folds}")
        ids = {c: k for k, c in enumerate(classes)}
        y = np.asarray([ids[c] for c in ys])
        cv = None
        if folds:
            order = np.random.default_rng(seed).permutation(len(xs))
            fold_of = np.empty(len(xs), dtype=np.int64)
            fold_of[order] = np.arange(len(xs)) % folds
            truth: list[str] = []
            pred: list[str | None] = []
            for k in range(folds):
                train_idx = np.flatnonzero(fold_of != k)
                test_idx = np.flatnonzero(fold_of == k)
                sub_y = y[train_idx]
                vocab, w, b = _fit(
                    [xs[i] for i in train_idx],
                    sub_y,
                    len(classes),
                    min_df=min_df,
                    l2=l2,
                    epochs=epochs,
                    balanced=balanced,
                )
                part = cls(classes, vocab, w, b)
                for i in test_idx.tolist():
                    truth.append(ys[i])
                    pred.append(part._predict(xs[i])[0])
            cv = macro_f1(truth, pred)
        vocab, w, b = _fit(
            xs, y, len(classes), min_df=min_df, l2=l2, epochs=epochs, balanced=balanced
        )
        return cls(classes, vocab, w, b, names=names, min_confidence=min_confidence, cv_macro_f1=cv)

    def probabilities(self, text: str) -> dict[str, float]:
        """Return P(label | text) for every label."""
        return dict(zip(self.labels, self._proba(text).tolist(), strict=True))

    def _proba(self, text: str) -> np.ndarray:
        import numpy as np

        counts: dict[int, int] = {}
        for f in _features(text):
            j = self._index.get(f)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        logits = self.bias.copy()
        if counts:
            norm = math.sqrt(sum(c * c for c in counts.values()))
            cols = np.fromiter(counts.keys(), dtype=np.int64)
            vals = np.fromiter(counts.values(), dtype=np.float64) / norm
            logits += vals @ self.weights[cols]
        logits -= logits.max()
        p = np.exp(logits)
        return p / p.sum()  # type: ignore[no-any-return]

    def _predict(self, text: str) -> tuple[str, float]:
        p = self._proba(text)
        k = int(p.argmax())
        return self.labels[k], float(p[k])

    def topic(self, text: str) -> Topic:
        """Return the :class:`~kefu_standards.Topic` of *text* under this model.

        ``scores`` are probabilities; ``evidence`` the (up to five) features present in
        the text that pushed most towards the winning label (kind ``"topic_feature"``).
        """
        if not has_content(text):
            zero = FrozenDict(dict.fromkeys(self.labels, 0.0))
            return Topic(text, None, None, 0.0, zero, (), "no content")
        p = self._proba(text)
        k = int(p.argmax())
        scores = FrozenDict(dict(zip(self.labels, (float(x) for x in p), strict=True)))
        label = self.labels[k]
        evidence = self._evidence(text, k)
        if float(p[k]) < self.min_confidence:
            reason = f"top label {label!r} has probability {float(p[k]):.2f} < min_confidence"
            return Topic(text, None, None, float(p[k]), scores, evidence, reason)
        return Topic(text, label, self._names[label], float(p[k]), scores, evidence)

    def _evidence(self, text: str, k: int) -> tuple[Evidence, ...]:
        norm = normalize(text)
        seen: dict[str, float] = {}
        for f in _features(text):
            j = self._index.get(f)
            if j is not None and f not in seen:
                seen[f] = float(self.weights[j, k])
        out = []
        for f, wt in sorted(seen.items(), key=lambda kv: -kv[1])[:5]:
            if wt <= 0:
                break
            needle = f[2:] if f.startswith("w:") else f
            at = norm.find(needle)
            if at >= 0:
                out.append(
                    Evidence(
                        at, at + len(needle), text[at : at + len(needle)], "topic_feature", wt, f
                    )
                )
        return tuple(sorted(out, key=lambda e: e.start))

    # -------------------------------------------------------------- files

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the model to *path* (``.npz``: arrays plus a JSON header; no pickle)."""
        import numpy as np

        header = {
            "format": _FORMAT,
            "version": _VERSION,
            "labels": list(self.labels),
            "names": self._names,
            "min_confidence": self.min_confidence,
            "cv_macro_f1": self.cv_macro_f1,
            "features": "char 1-3-grams, jieba words (w:), default cue topics (c:); numbers as 0",
            "cue_repeat": CUE_REPEAT,
        }
        out = Path(path)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            header=np.asarray(json.dumps(header, ensure_ascii=False)),
            vocabulary=np.asarray(self.vocabulary, dtype=str),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
        )
        out.write_bytes(buf.getvalue())
        return out

    @classmethod
    def load(cls, path: str | PathLike[str]) -> TopicModel:
        """Read a model written by :meth:`save`; a bad file raises ``ModelFileError`` naming it."""
        import numpy as np

        source = str(path)
        try:
            with np.load(source, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                vocabulary = [str(v) for v in z["vocabulary"].tolist()]
                weights, bias = z["weights"], z["bias"]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{source}: not a TopicModel file ({exc})") from exc
        if header.get("format") != _FORMAT or header.get("version") != _VERSION:
            msg = (
                f"{source}: format {header.get('format')!r} version {header.get('version')!r}; "
                f"expected {_FORMAT!r} version {_VERSION}"
            )
            raise ModelFileError(msg)
        if header.get("cue_repeat") != CUE_REPEAT:
            msg = (
                f"{source}: built with cue_repeat {header.get('cue_repeat')!r}, this version "
                f"computes features with {CUE_REPEAT}; retrain the model"
            )
            raise ModelFileError(msg)
        try:
            return cls(
                header["labels"],
                vocabulary,
                weights,
                bias,
                names=header.get("names"),
                min_confidence=header.get("min_confidence", 0.0),
                cv_macro_f1=header.get("cv_macro_f1"),
            )
        except (ConfigError, KeyError) as exc:
            raise ModelFileError(f"{source}: inconsistent TopicModel file ({exc})") from exc
