"""Escalation risk of a conversation: will the buyer end dissatisfied, complain or dispute.

:func:`escalation` reads a conversation message by message and keeps a small,
interpretable *state* (see :data:`FEATURES`):

- **buyer language** — threats (12315, 工商局, 律师, 平台介入, 给差评, 找你们主管),
  negative emotion cues, and the sentiment trajectory (sustained negativity, not
  one word);
- **repetition** — the buyer says they are repeating themselves (我说过了), asks
  the same question again, or nudges (在吗, 人呢, ``??``) after the first message;
- **waiting** — long waits and still-unanswered rounds (needs timestamps);
- **agent behaviour** — impolite replies and banned phrases, no apology after a
  long wait, holding replies (稍等) never followed up;
- **unsolved problems** — a refusal or deflection (无法, 只能, 请您联系) after the
  buyer raised a problem;
- **de-escalation** — an apology with a concrete remedy (退款/补发/换货/跟进),
  better still with a deadline, lowers the risk afterwards.

After every message the state is mapped to a risk by a small logistic head
(``per_message``: is the buyer dissatisfied now?); ``score`` is a second head on
the final state (does the conversation end dissatisfied?); ``level`` is the
worse of the two risks' bands (:meth:`EscalationPolicy.alert_level`), so a chat
that ends on a threat is ``high`` even while its ending risk is moderate.
Escalation's own per-text parsing (cues, bigrams) is cached by the raw text
(chat repeats itself); what it reads from the other analysers (sentiment,
politeness, the chat-negativity head) comes in as :class:`Readings`, one value
per message, scored in one batch per conversation (:func:`escalation`) or per
chunk of conversations (:func:`kefu_standards.signals_many`, then
:func:`escalation_from`).  The weights of both
heads are hand-set by the developers from domain reasoning (QC rule points, cue
strengths), one justification per line in ``data/escalation/model.tsv``; only a
monotone Platt calibration (``scale``, ``offset`` per head) is fitted on the
JDDC satisfaction dev set, so that data set never decides the ranking.

Signals that need other analysers are injectable: pass ``sentiment=`` (any
``text -> P(positive) | None``) and ``politeness=`` (any ``text -> object with
label and evidence``).  By default the library's own
:func:`kefu_standards._sentiment.sentiment` and
:func:`kefu_standards._politeness.politeness` are used when they are available;
without them those two signals are off (documented fallback).

This module holds the entry points (:func:`escalation`, :func:`escalation_from`,
:class:`EscalationScorer`) and re-exports the public names of the modules it
is made of, one concern each, imported one way (each only from those above it):

- :mod:`._escalation_types`: features, reason kinds, the policy, the results and
  the protocols of the injectable signals;
- :mod:`._escalation_text`: per-text parsing of buyer and agent messages;
- :mod:`._escalation_model`: the shipped heads, the CPED heads, the default
  signals and the :class:`Readings`;
- :mod:`._escalation_walk`: the walk through a conversation (state, events);
- :mod:`._escalation_reasons`: material reasons and minor signals.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from ._escalation_model import (
    LibrarySentiment,
    Readings,
    _default_model,
    _sigmoid,
    lazy_politeness,
    lazy_sentiment,
    library_politeness_fn,
    outcome_logit_of,
    read_signals,
    sentiment_readings,
)
from ._escalation_reasons import listed_reasons
from ._escalation_types import (
    FEATURES,
    LEVELS,
    NOTHING_MATERIAL_ZH,
    REASON_DEFINITIONS,
    REASON_KINDS,
    REASON_MIN_CONTRIBUTION,
    Escalation,
    EscalationPolicy,
    PolitenessFn,
    PolitenessLike,
    Reason,
    Rescorer,
    SentimentFn,
    check_model,
)
from ._escalation_walk import walk_messages
from .evidence import Evidence, ScoreResult
from .exceptions import ConfigError, InputTypeError
from .model import Conversation
from .resources import lazy

__all__ = [
    "FEATURES",
    "LEVELS",
    "NOTHING_MATERIAL_ZH",
    "REASON_DEFINITIONS",
    "REASON_KINDS",
    "REASON_MIN_CONTRIBUTION",
    "Escalation",
    "EscalationPolicy",
    "EscalationScorer",
    "PolitenessFn",
    "PolitenessLike",
    "Readings",
    "Reason",
    "SentimentFn",
    "escalation",
    "escalation_from",
    "sentiment_readings",
]


@lazy
def _default_policy() -> EscalationPolicy:
    """Return ``EscalationPolicy()`` (frozen), built once rather than per conversation."""
    return EscalationPolicy()


def _check_fn(name: str, value: object) -> None:
    if value is not None and value is not _DEFAULT and not callable(value):
        msg = (
            f"escalation({name}=...) must be a callable, None (signal off) or omitted, "
            f"got {value!r}"
        )
        raise ConfigError(msg)


def _checked_sentiment(fn: SentimentFn | None) -> SentimentFn | None:
    """*fn* held to its contract: P(positive) in [0, 1], ``None`` (or NaN) when undefined.

    NaN is read as undefined, as :func:`~kefu_standards.sentiment_scores` writes it;
    anything else outside [0, 1] raises instead of moving the risk silently.  The
    library's own batched sentiment is passed through as it is.
    """
    if fn is None or isinstance(fn, LibrarySentiment):
        return fn

    def checked(text: str, /) -> float | None:
        value = fn(text)
        if value is None:
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = -1.0
        if math.isnan(x):
            return None
        if not 0.0 <= x <= 1.0:
            msg = (
                f"escalation(sentiment=...) must return P(positive) in [0, 1] or None, "
                f"got {value!r} for {text[:40]!r}"
            )
            raise ConfigError(msg)
        return x

    return checked


def _checked_politeness(fn: PolitenessFn | None) -> PolitenessFn | None:
    """*fn* held to its contract: a result with ``label`` and ``evidence``."""
    if fn is None or fn is library_politeness_fn():
        return fn

    def checked(text: str, /) -> PolitenessLike:
        result = fn(text)
        if not isinstance(result, PolitenessLike):
            msg = (
                "escalation(politeness=...) must return a result with 'label' and "
                f"'evidence' (such as kefu_standards.politeness), got {result!r}"
            )
            raise ConfigError(msg)
        return result

    return checked


class _Default:
    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Any = _Default()


def escalation(
    conversation: Conversation,
    *,
    policy: EscalationPolicy | None = None,
    sentiment: SentimentFn | None = _DEFAULT,
    politeness: PolitenessFn | None = _DEFAULT,
    model: Rescorer | None = None,
) -> Escalation:
    """Escalation risk of *conversation*, with reasons and the risk after each message.

    Parameters
    ----------
    conversation:
        The conversation; timestamps are optional (without them the waiting
        signals are off).
    policy:
        Thresholds and time rules; ``None`` means :class:`EscalationPolicy()`.
    sentiment:
        ``text -> P(positive) | None`` for buyer messages.  Omitted: the
        library's sentiment model if available; ``None``: signal off, the
        features of the three heads trained on CPED (``chat_negativity``,
        ``chat_thanks``, ``disagreement_mean``) included.  A function of your
        own replaces P(positive) only.
    politeness:
        ``text -> result with label and evidence`` for agent messages.
        Omitted: :func:`kefu_standards._politeness.politeness` if available;
        ``None``: signal off.
    model:
        An :class:`~kefu_standards.EscalationModel` fitted on the shop's own
        labelled chats: ``score`` and ``per_message`` come from it (``level``
        from those), ``reasons`` still explain the shipped signals.  ``None``:
        the shipped model.

        .. versionadded:: 0.2.0

    Returns
    -------
    Escalation
        ``score`` (risk in [0, 1]), ``level``, ``reasons`` (strongest first)
        and ``per_message`` (one risk per message).

    >>> from kefu_standards import Conversation
    >>> conv = Conversation.from_records(
    ...     [{"role": "buyer", "text": "快递一直没到"},
    ...      {"role": "buyer", "text": "再不处理我就打12315投诉你们"}], id="c1")
    >>> e = escalation(conv, sentiment=None, politeness=None)
    >>> e.level, e.reasons[0].kind
    ('high', 'threat')

    """
    if not isinstance(conversation, Conversation):
        msg = f"escalation() needs a Conversation, got {type(conversation).__name__}"
        raise InputTypeError(msg)
    policy = _default_policy() if policy is None else policy
    if not isinstance(policy, EscalationPolicy):
        msg = f"policy must be an EscalationPolicy or None, got {type(policy).__name__}"
        raise InputTypeError(msg)
    _check_fn("sentiment", sentiment)
    _check_fn("politeness", politeness)
    check_model(model, "escalation(model=...)")
    sent = lazy_sentiment() if sentiment is _DEFAULT else _checked_sentiment(sentiment)
    pol = lazy_politeness() if politeness is _DEFAULT else _checked_politeness(politeness)
    readings = read_signals(conversation.messages, sent, pol)
    return escalation_from(conversation, readings, policy=policy, model=model)


def escalation_from(
    conversation: Conversation,
    readings: Readings,
    *,
    policy: EscalationPolicy | None = None,
    model: Rescorer | None = None,
) -> Escalation:
    """:func:`escalation` of *conversation* given what the other analysers said of it.

    *readings* hold the sentiment, chat negativity and politeness of each
    message (:class:`Readings`); :func:`kefu_standards.signals` passes the
    conversation's signals here, so each analyser runs once per conversation.
    ``escalation(conv)`` equals ``escalation_from(conv, readings)`` with the
    library's readings of *conv*.

    .. versionadded:: 0.2.0
    """
    if not isinstance(conversation, Conversation):
        msg = f"escalation_from() needs a Conversation, got {type(conversation).__name__}"
        raise InputTypeError(msg)
    if not isinstance(readings, Readings):
        msg = f"escalation_from() needs Readings, got {type(readings).__name__}"
        raise InputTypeError(msg)
    readings.check(len(conversation.messages), "escalation_from()")
    check_model(model, "escalation_from(model=...)")
    policy = _default_policy() if policy is None else policy
    if not conversation.messages:
        return Escalation(None, None, (), ())
    shipped = _default_model()
    logits, rows, events = walk_messages(
        conversation.messages,
        policy=policy,
        sentiment=None,
        politeness=None,
        model=shipped,
        readings=readings,
    )
    final = rows[-1]
    outcome = outcome_logit_of(final, shipped)
    if model is not None:
        logits, outcome = model._rescore(conversation.messages, logits, rows, outcome)
    exp = math.exp  # _sigmoid, inlined: it runs once per message
    per_message = tuple(
        [round(1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z)), 6) for z in logits]
    )
    score = round(_sigmoid(outcome), 6)
    level = policy.alert_level(score, per_message[-1])
    reasons, minor = listed_reasons(rows, events, shipped)
    return Escalation(score, level, reasons, per_message, minor)


# ---------------------------------------------------------------- scorer


def _check_policy(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, EscalationPolicy):
        msg = f"EscalationScorer.policy must be an EscalationPolicy, got {type(value).__name__}"
        raise ConfigError(msg)


def _check_escalation_fn(_inst: object, _attr: object, value: Any) -> None:
    if value is not None and not callable(value):
        msg = (
            "EscalationScorer.escalation must be a callable conversation -> result "
            f"(or None for the library's escalation), got {value!r}"
        )
        raise ConfigError(msg)


@attrs.frozen(slots=True)
class EscalationScorer:
    """Low escalation risk as a contract-keeping scorer (``name == "escalation"``).

    ``score(conversation)`` returns a :class:`~kefu_standards.scoring.ScoreResult`
    on the scorecard scale (1 = best): ``1 - Escalation.score``, N/A with a
    reason when the risk is undefined (an empty conversation).  Its ``evidence``
    is the evidence of the reasons that raise the risk, its ``reason`` names the
    strongest of them, and ``details`` holds ``risk`` (the :class:`Escalation`
    score), ``risk_now``, ``level`` and ``reasons`` (their kinds, strongest
    first).  Call :func:`escalation` for the full :class:`Escalation`
    (``per_message``, the reasons themselves).

    This is also the registry's ``"escalation"`` scorer
    (``get_scorer("escalation")``).  ``model`` may hold an
    :class:`~kefu_standards.EscalationModel` fitted on the shop's own chats
    (``.. versionadded:: 0.2.0``).  ``escalation`` may inject another function
    ``conversation -> result``; only the result's public fields ``score``,
    ``level``, ``reasons`` (each with ``kind``, ``weight``, ``evidence``) and
    ``per_message`` are read, so any object with them works.
    """

    policy: EscalationPolicy = attrs.field(factory=EscalationPolicy, validator=_check_policy)
    name: str = "escalation"
    escalation: Callable[[Conversation], Any] | None = attrs.field(
        default=None, kw_only=True, validator=_check_escalation_fn, repr=False
    )
    model: Rescorer | None = attrs.field(
        default=None,
        kw_only=True,
        validator=lambda _i, _a, v: check_model(v, "EscalationScorer.model"),
        repr=False,
    )

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (1 = no risk) under this scorer's policy."""
        if self.escalation is not None:
            e = self.escalation(conversation)
        else:
            e = escalation(conversation, policy=self.policy, model=self.model)
        risk = getattr(e, "score", None)
        if risk is None or isinstance(risk, bool) or not isinstance(risk, (int, float)):
            return ScoreResult.na("escalation risk is undefined (no messages)")
        reasons = tuple(getattr(e, "reasons", ()) or ())
        raising = [r for r in reasons if getattr(r, "weight", 0) > 0]
        evidence = tuple(
            ev for r in raising for ev in getattr(r, "evidence", ()) if isinstance(ev, Evidence)
        )
        level = getattr(e, "level", None)
        kinds = ", ".join(str(getattr(r, "kind", "")) for r in raising[:3])
        why = f"escalation risk {risk:.2f} ({level})" + (f": {kinds}" if kinds else "")
        per_message = getattr(e, "per_message", ()) or ()
        details = {
            "risk": float(risk),
            "risk_now": float(per_message[-1]) if per_message else None,
            "level": level,
            "reasons": tuple(str(getattr(r, "kind", "")) for r in reasons),
        }
        return ScoreResult(min(1.0, max(0.0, 1.0 - float(risk))), evidence, why, details)
