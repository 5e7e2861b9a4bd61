"""Signals: what the analysers say about one conversation, computed once and passed on.

The scorecard's dimensions, the escalation line of a report and the analysis
rollups all read the same few signals of a conversation: its rounds and waits,
the buyer's sentiment, the agent's politeness, the service cues of each message
and the escalation risk.  :func:`signals` computes them in one pass and returns
a frozen :class:`Signals`; :func:`kefu_standards.assess` (``signals=``), the
built-in scorers (``score_signals``) and :func:`kefu_standards.analyze` read it
instead of calling the analysers again.  This is scikit-learn's
``_MultimetricScorer`` idea (one prediction shared by several scorers), made
explicit: no scorer reaches into another module's cache.

>>> import kefu_standards as ks
>>> conv = ks.Conversation.from_records([
...     {"role": "buyer", "text": "快递怎么还没到?"},
...     {"role": "agent", "text": "亲，您好，马上为您查询"}], id="c1")
>>> s = ks.signals(conv)
>>> s.politeness[1].label, s.sentiment[0] is not None, s.politeness[0]
('polite', True, None)
>>> ks.assess(conv, signals=s) == ks.assess(conv)
True

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._competency_cues import CueView, cue_view
from ._escalation import Escalation, Readings, escalation_from, sentiment_readings
from ._politeness import Politeness, politeness_many
from .exceptions import ConfigError, InputTypeError
from .model import Conversation, Role
from .text import has_content
from .timing import ResponseTimes, TimingPolicy, response_times

__all__ = ["Signals", "signals", "signals_many"]

_BUYER, _AGENT = Role.BUYER, Role.AGENT


@attrs.frozen(slots=True, eq=False)
class Signals:
    """The analysers' results for one conversation (frozen; build with :func:`signals`).

    **Fields**

    conversation:
        The conversation they describe.
    timing:
        :func:`~kefu_standards.response_times` under the default
        :class:`~kefu_standards.TimingPolicy`: rounds, waits, reply and SLA rates.
    sentiment:
        One entry per message: the buyer sentiment P(positive) of each buyer
        message with content, ``None`` for other messages and where sentiment
        is undefined.
    politeness:
        One entry per message: the :class:`~kefu_standards.Politeness` of each
        agent message with content, ``None`` for other messages.
    cues:
        The scorecard's service cues, message by message (greeting, apology,
        solution, question ...).
    escalation:
        :func:`~kefu_standards.escalation` under the default policy (reasons
        and the risk after each message), with the ``escalation_model`` given
        to :func:`signals` (the shipped model by default).  It is computed
        from the fields above and the two below, not by calling the analysers
        again.
    agent_sentiment:
        One entry per message: P(positive) of each agent message with content
        (escalation's agent-negativity feature), ``None`` for other messages.
    chat_negativity, chat_thanks, disagreement:
        One entry per message each: escalation's three CPED heads (log-odds of
        a negative, a thanking and a disagreeing line) of each buyer message,
        ``None`` for other messages, where it is undefined, and everywhere when
        the head cannot load.

    .. versionadded:: 0.2.0
    """

    conversation: Conversation
    timing: ResponseTimes
    sentiment: tuple[float | None, ...]
    politeness: tuple[Politeness | None, ...]
    cues: CueView = attrs.field(repr=False)
    escalation: Escalation = attrs.field(repr=False)
    agent_sentiment: tuple[float | None, ...] = attrs.field(repr=False)
    chat_negativity: tuple[float | None, ...] = attrs.field(repr=False)
    chat_thanks: tuple[float | None, ...] = attrs.field(repr=False)
    disagreement: tuple[float | None, ...] = attrs.field(repr=False)

    def buyer_sentiments(self) -> list[float]:
        """Return the defined sentiments of the buyer's messages, in message order."""
        return [s for s in self.sentiment if s is not None]

    def agent_politeness(self) -> list[tuple[int, Politeness]]:
        """Return ``(message index, politeness)`` of each agent message with content."""
        return [(i, p) for i, p in enumerate(self.politeness) if p is not None]


def _check(conversation: object) -> Conversation:
    if not isinstance(conversation, Conversation):
        msg = f"signals() takes a Conversation, not {type(conversation).__name__}"
        raise InputTypeError(msg)
    return conversation


_DEFAULT_POLICY = TimingPolicy()


def _build(
    conv: Conversation,
    sentiment_of: Mapping[str, float | None],
    heads_of: Sequence[Mapping[str, float | None] | None],
    politeness_of: Mapping[str, Politeness],
    escalation_model: Any = None,
) -> Signals:
    sentiment: list[float | None] = []
    agent_sentiment: list[float | None] = []
    polite: list[Politeness | None] = []
    buyer_texts: list[str | None] = []
    for m in conv.messages:
        s: float | None = None
        a: float | None = None
        p: Politeness | None = None
        if m.role is _BUYER:
            s = sentiment_of.get(m.text)
            buyer_texts.append(m.text)
        else:
            buyer_texts.append(None)
            if m.role is _AGENT:
                a = sentiment_of.get(m.text)
                p = politeness_of.get(m.text)
        sentiment.append(s)
        agent_sentiment.append(a)
        polite.append(p)
    # the CPED heads of each buyer message (None where a head is off)
    heads = [
        None if of is None else tuple([None if t is None else of.get(t) for t in buyer_texts])
        for of in heads_of
    ]
    chat, thanks, disagreement = heads
    # escalation reads what the other analysers said (each ran once, for the whole chunk)
    readings = Readings(
        tuple([a if s is None else s for s, a in zip(sentiment, agent_sentiment, strict=True)]),
        chat,
        tuple(polite),
        thanks,
        disagreement,
    )
    none = (None,) * len(conv.messages)
    return Signals(
        conv,
        response_times(conv, _DEFAULT_POLICY),
        tuple(sentiment),
        tuple(polite),
        cue_view(conv),
        escalation_from(conv, readings, model=escalation_model),
        tuple(agent_sentiment),
        none if chat is None else chat,
        none if thanks is None else thanks,
        none if disagreement is None else disagreement,
    )


def _texts(convs: Sequence[Conversation], role: Role) -> list[str]:
    """Return the distinct texts with content of *role*'s messages, in order of appearance."""
    seen: dict[str, None] = {}
    for conv in convs:
        for m in conv.messages:
            if m.role is role and m.text not in seen and has_content(m.text):
                seen[m.text] = None
    return list(seen)


def signals_many(
    conversations: Iterable[Conversation], *, escalation_model: Any = None
) -> tuple[Signals, ...]:
    """:func:`signals` of each conversation, with one batched sentiment and politeness call.

    Chat repeats itself (greetings, scripts, "好的"): each distinct text is
    scored once for the whole batch.  The results equal ``signals(c)`` for each
    conversation.  *escalation_model* (an
    :class:`~kefu_standards.EscalationModel`) gives the escalation signal;
    ``None`` is the shipped model.

    .. versionadded:: 0.2.0
    """
    convs = [_check(c) for c in conversations]
    buyer = _texts(convs, _BUYER)
    agent = _texts(convs, _AGENT)
    # buyer and agent sentiment and escalation's CPED heads (every buyer text), from one
    # feature pass
    chat_texts = list(dict.fromkeys(m.text for c in convs for m in c.messages if m.role is _BUYER))
    sentiment_of, heads_of = sentiment_readings([*buyer, *agent], chat_texts)
    politeness_of = dict(zip(agent, politeness_many(agent), strict=True)) if agent else {}
    return tuple(_build(c, sentiment_of, heads_of, politeness_of, escalation_model) for c in convs)


def signals(conversation: Conversation, *, escalation_model: Any = None) -> Signals:
    """Compute the :class:`Signals` of one conversation (every analyser once).

    *escalation_model*: see :func:`signals_many`.

    .. versionadded:: 0.2.0
    """
    return signals_many((conversation,), escalation_model=escalation_model)[0]


def signals_of(conversation: Conversation, given: Signals | None) -> Signals:
    """Return *given* when it describes *conversation*, else compute the signals.

    Raises :class:`~kefu_standards.exceptions.ConfigError` when *given* is the
    signals of another conversation.
    """
    if given is None:
        return signals(conversation)
    if not isinstance(given, Signals):
        raise InputTypeError(f"signals must be a Signals or None, got {type(given).__name__}")
    if given.conversation is not conversation and given.conversation != conversation:
        msg = (
            f"signals= were computed for conversation {given.conversation.id!r}, "
            f"not for {conversation.id!r}"
        )
        raise ConfigError(msg)
    return given
