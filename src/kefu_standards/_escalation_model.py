"""Escalation's shipped model and what it reads from the other analysers.

The two logistic heads and their calibration (``data/escalation/model.tsv``), the
three CPED heads (``data/escalation/cped_*.npz``), the library's default sentiment
and politeness signals, and the :class:`Readings` of a conversation (one value per
message; :func:`sentiment_readings` scores the texts in one batch, :func:`read_signals`
builds the readings under the given signals).
"""

from __future__ import annotations

import hashlib
import math
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from . import _politeness, _sentiment
from ._escalation_text import sentiment_read
from ._escalation_types import FEATURES, PolitenessFn, PolitenessLike, SentimentFn
from .exceptions import ConfigError, KefuWarning, ModelFileError
from .model import Message, Role
from .resources import data_file, lazy, load_npz, load_tsv

# ---------------------------------------------------------------- coefficients


@attrs.frozen(slots=True)
class _Head:
    """One logistic head: hand-set weights, then a monotone Platt calibration.

    ``risk = sigmoid(offset + scale * sum(weight * feature))``; the weights are
    hand-set (they alone rank), ``scale`` (> 0) and ``offset`` are calibrated.
    """

    weights: tuple[float, ...]
    scale: float
    offset: float

    def raw(self, row: Sequence[float]) -> float:
        """Hand-set log-odds of one state (before calibration)."""
        total: float = sum(map(operator.mul, self.weights, row))
        return total

    def logit(self, row: Sequence[float]) -> float:
        """Calibrated log-odds of one state."""
        return self.offset + self.scale * self.raw(row)


@attrs.frozen(slots=True)
class LinearHeads:
    """Two heads over the same state: the risk now, and the risk at the end."""

    turn: _Head  # is the buyer dissatisfied right now? (per_message)
    outcome: _Head  # does the conversation end dissatisfied? (score)


_HEADS = ("turn", "outcome")
_CALIBRATION = ("scale", "offset")


def _model_from_table(values: dict[str, float], source: str) -> LinearHeads:
    names = [f"{h}.{f}" for h in _HEADS for f in (*_CALIBRATION, *FEATURES)]
    missing = [n for n in names if n not in values]
    if missing:
        msg = f"{source}: missing coefficients {missing}"
        raise ModelFileError(msg)
    unknown = sorted(set(values) - set(names))
    if unknown:
        msg = f"{source}: unknown coefficients {unknown}; valid names are <head>.<feature>"
        raise ModelFileError(msg)
    heads = []
    for h in _HEADS:
        scale = values[f"{h}.scale"]
        if not scale > 0:
            msg = f"{source}: {h}.scale must be > 0 (calibration must keep the order), got {scale}"
            raise ModelFileError(msg)
        weights = tuple(values[f"{h}.{f}"] for f in FEATURES)
        heads.append(_Head(weights, scale, values[f"{h}.offset"]))
    return LinearHeads(heads[0], heads[1])


@lazy
def _default_model() -> LinearHeads:
    name = "escalation/model.tsv"
    values: dict[str, float] = {}
    for e in load_tsv(name):
        try:
            values[e.phrase] = float(e.fields[0])
        except (IndexError, ValueError):
            msg = f"kefu_standards/data/{name}, line {e.line}: expected name<TAB>number"
            raise ModelFileError(msg) from None
    return _model_from_table(values, f"kefu_standards/data/{name}")


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# ---------------------------------------------------------------- default signals


class LibrarySentiment:
    """The library's sentiment as a :class:`SentimentFn` (P(positive), ``None`` when undefined).

    Calling it scores one text through :func:`~kefu_standards.sentiment_scores`
    (the model's own text cache).  :func:`escalation` recognises it and scores
    a conversation's texts in one batch instead (:func:`sentiment_readings`),
    with the same values.
    """

    def __call__(self, text: str, /) -> float | None:
        """Return P(positive) of *text*, or ``None`` when undefined."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = float(_sentiment.sentiment_scores([text])[0])
        return None if math.isnan(x) else x


def _signal_off(name: str, why: str) -> None:
    """Warn once (the defaults are loaded once) that a default signal is off, and why."""
    msg = (
        f"escalation: the {name} signal is off ({why}); the risk rests on the other signals. "
        f"Pass {name}=... to use another model, or {name}=None to silence this warning."
    )
    warnings.warn(msg, KefuWarning, stacklevel=3)


def _default_sentiment() -> SentimentFn | None:
    try:
        fn = LibrarySentiment()
        fn("好的")
    except Exception as exc:  # a broken model file: the signal is off
        _signal_off("sentiment", f"{type(exc).__name__}: {exc}")
        return None
    return fn


def _default_politeness() -> PolitenessFn | None:
    try:
        # score_text: the library's politeness (its one text cache), without the
        # undefined-text warning of politeness()
        fn: PolitenessFn = _politeness.PolitenessScorer().score_text
        fn("您好")
    except Exception as exc:  # a broken model file: the signal is off
        _signal_off("politeness", f"{type(exc).__name__}: {exc}")
        return None
    return fn


def _log_odds_of(head: _sentiment.SentimentModel, scores: Any) -> Any:
    """Return ``bias - logit(P)`` of *scores*, the head's ``P`` of some texts (NaN stays NaN).

    Each CPED head is trained with target 0 for its class (a negative line, a thanks, a
    disagreement), so ``P`` is the probability of *not* being of the class.
    """
    p = np.clip(scores, 1e-9, 1.0 - 1e-9)
    return head.bias - np.log(p / (1.0 - p))


_CHAT_HEAD_FILE = "escalation/cped_negativity.npz"
# esc (#18): two more CPED heads, trained by tools/train_cped_head.py --head thanks / disagreement
_THANKS_HEAD_FILE = "escalation/cped_thanks.npz"
_DISAGREEMENT_HEAD_FILE = "escalation/cped_disagreement.npz"
_HEAD_FILES = (_CHAT_HEAD_FILE, _THANKS_HEAD_FILE, _DISAGREEMENT_HEAD_FILE)


def _head_model(name: str) -> _sentiment.SentimentModel:
    return _sentiment.SentimentModel._from_arrays(load_npz(name), f"kefu_standards/data/{name}")


@lazy
def _chat_head_model() -> _sentiment.SentimentModel:
    return _head_model(_CHAT_HEAD_FILE)


@lazy
def _thanks_head_model() -> _sentiment.SentimentModel:
    return _head_model(_THANKS_HEAD_FILE)


@lazy
def _disagreement_head_model() -> _sentiment.SentimentModel:
    return _head_model(_DISAGREEMENT_HEAD_FILE)


@lazy
def chat_head_digest() -> str:
    """Return a SHA-256 digest of the shipped CPED head files (their exact bytes, in order)."""
    digest = hashlib.sha256()
    for name in _HEAD_FILES:
        digest.update(hashlib.sha256(data_file(name).read_bytes()).digest())
    return digest.hexdigest()


def _loaded_head(
    name: str, model: Callable[[], _sentiment.SentimentModel]
) -> _sentiment.SentimentModel | None:
    """Return a CPED head's model, or ``None`` when it cannot load (warned: the feature is off)."""
    try:
        head = model()
        head.scores(["好的"])
    except Exception as exc:  # a broken model file: the feature is off
        _signal_off(name, f"{type(exc).__name__}: {exc}")
        return None
    return head


def _default_chat_head() -> _sentiment.SentimentModel | None:
    """Return the chat-negativity head (a CPED-trained model), or ``None`` when it is off."""
    return _loaded_head("chat-negativity", _chat_head_model)


def _default_thanks_head() -> _sentiment.SentimentModel | None:
    """Return the CPED thanks head, or ``None`` when it is off."""
    return _loaded_head("chat-thanks", _thanks_head_model)


def _default_disagreement_head() -> _sentiment.SentimentModel | None:
    """Return the CPED disagreement head, or ``None`` when it is off."""
    return _loaded_head("disagreement", _disagreement_head_model)


lazy_sentiment = lazy(_default_sentiment)
_lazy_chat_head = lazy(_default_chat_head)
_lazy_thanks_head = lazy(_default_thanks_head)
_lazy_disagreement_head = lazy(_default_disagreement_head)
lazy_politeness = lazy(_default_politeness)


def default_signals() -> tuple[SentimentFn | None, PolitenessFn | None]:
    """Return the library's sentiment and politeness signals (loaded once; ``None`` if off)."""
    return lazy_sentiment(), lazy_politeness()


def library_politeness_fn() -> PolitenessFn | None:
    """Return the default politeness signal if it is loaded (never loads it)."""
    return lazy_politeness() if lazy_politeness.loaded() else None  # type: ignore[attr-defined]


# -- readings (#14): what escalation reads from the other analysers, one value per message --
def _heads() -> tuple[_sentiment.SentimentModel | None, ...]:
    """Return the three CPED heads (negativity, thanks, disagreement); ``None`` where off."""
    return _lazy_chat_head(), _lazy_thanks_head(), _lazy_disagreement_head()


def _defined(texts: Sequence[str], values: list[float]) -> dict[str, float | None]:
    """Map each text to its value, ``None`` for NaN (undefined)."""
    return {t: None if math.isnan(x) else x for t, x in zip(texts, values, strict=True)}


def sentiment_readings(
    texts: Sequence[str], chat_texts: Sequence[str]
) -> tuple[dict[str, float | None], tuple[dict[str, float | None] | None, ...]]:
    """Return ``(P(positive) by text, the CPED heads' log-odds by text)``.

    *texts* are scored by the library's sentiment model
    (:func:`~kefu_standards.sentiment_scores`, ``None`` where undefined),
    *chat_texts* (buyer messages) by escalation's three CPED heads: chat
    negativity, chat thanks and disagreement (``bias - logit(P)``, ``None``
    where undefined; a head's mapping is ``None`` when it is off).  All the
    models read the same features, so they are computed once for the texts new
    to any of them (:func:`~kefu_standards._sentiment.shared_scores`); each
    model keeps its results in its own text cache.
    """
    heads = _heads() if chat_texts else (None, None, None)
    on = [h for h in heads if h is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = _sentiment.SentimentModel.default()
        if on:
            results = _sentiment.shared_scores(((default, texts), *((h, chat_texts) for h in on)))
        else:
            results = [default.scores(texts)]
        sentiment_of = _defined(texts, results[0].tolist())
        rest = iter(results[1:])
        heads_of = tuple(
            None if h is None else _defined(chat_texts, _log_odds_of(h, next(rest)).tolist())
            for h in heads
        )
    return sentiment_of, heads_of


@attrs.frozen(slots=True)
class Readings:
    """What escalation reads from the other analysers, one entry per message.

    ``sentiment``: P(positive) of each buyer and agent message with content
    (``None`` elsewhere and where undefined; a card's is never read);
    ``chat_negativity``, ``chat_thanks``, ``disagreement``: the CPED heads'
    log-odds of each buyer message (``None`` elsewhere and where undefined);
    ``politeness``: the
    politeness result of each agent message (the walk reads those with
    content; ``None`` for other messages).  A field that is
    ``None`` is a signal that is off.  :func:`kefu_standards.signals` builds
    them with the rest of a conversation's signals; :func:`escalation` reads
    them itself.

    .. versionadded:: 0.2.0
    """

    sentiment: tuple[float | None, ...] | None
    chat_negativity: tuple[float | None, ...] | None
    politeness: tuple[PolitenessLike | None, ...] | None
    chat_thanks: tuple[float | None, ...] | None = None
    disagreement: tuple[float | None, ...] | None = None

    def check(self, n: int, where: str) -> None:
        """Raise :class:`~kefu_standards.exceptions.ConfigError` when a field is not *n* long."""
        for name in ("sentiment", "chat_negativity", "politeness", "chat_thanks", "disagreement"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                msg = f"{where}: readings.{name} has {len(values)} entries for {n} messages"
                raise ConfigError(msg)


def read_signals(
    messages: Sequence[Message], sentiment: SentimentFn | None, politeness: PolitenessFn | None
) -> Readings:
    """Return the :class:`Readings` of *messages* under the given signals (``None``: off).

    The library's own analysers score the conversation's buyer and agent texts
    in one batch each (each keeps its results in its one text cache; a text
    without content is undefined, and the walk reads no card's sentiment); any
    other function is called once per message the walk reads it for.
    """
    buyer, agent = Role.BUYER, Role.AGENT
    pos: tuple[float | None, ...] | None = None
    per_head: list[tuple[float | None, ...] | None] = [None, None, None]
    if sentiment is not None:  # the CPED heads are part of the sentiment signal
        chat_texts = [m.text for m in messages if m.role is buyer]
        if isinstance(sentiment, LibrarySentiment):
            texts = [m.text for m in messages if m.role is buyer or m.role is agent]
            sentiment_of, heads_of = sentiment_readings(texts, chat_texts)
            pos = tuple(
                [
                    sentiment_of[m.text] if m.role is buyer or m.role is agent else None
                    for m in messages
                ]
            )
        else:
            _, heads_of = sentiment_readings([], chat_texts)
            pos = tuple([sentiment(m.text) if sentiment_read(m) else None for m in messages])
        per_head = [
            None
            if of is None
            else tuple([of[m.text] if m.role is buyer else None for m in messages])
            for of in heads_of
        ]
    polite: tuple[PolitenessLike | None, ...] | None = None
    if politeness is not None:
        if politeness is library_politeness_fn():  # the library's: one batch
            texts = [m.text for m in messages if m.role is agent]
            results = iter(_politeness.politeness_many(texts))
            polite = tuple([next(results) if m.role is agent else None for m in messages])
        else:
            polite = tuple(
                [
                    politeness(m.text) if m.role is agent and sentiment_read(m) else None
                    for m in messages
                ]
            )
    chat, thanks, disagreement = per_head
    return Readings(pos, chat, polite, thanks, disagreement)


def outcome_logit_of(final: Sequence[float], model: LinearHeads) -> float:
    """Outcome-head calibrated log-odds of the final state."""
    return model.outcome.logit(final)
