"""Shared parts of the built-in scorers: message selections, evidence, N/A results, signals."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from kefu_standards._competency_cues import CueMessage, CueView, cue_view
from kefu_standards._cues import agent_cues, bigram_set, material_refusals
from kefu_standards._escalation_text import repeats_earlier as _repeat_flags
from kefu_standards._signals import Signals, signals
from kefu_standards.evidence import Evidence, ScoreResult
from kefu_standards.exceptions import ConfigError
from kefu_standards.model import Conversation, Role

#: Roles bound once: ``BUYER`` is an enum class-attribute look-up (about 0.1 µs) and
#: the scorers test roles in every loop.
BUYER, AGENT, SYSTEM = Role.BUYER, Role.AGENT, Role.SYSTEM


class FromSignals:
    """Mixin: ``score(conversation)`` builds the conversation's signals and scores them.

    A dimension that reads several signals defines ``score_signals``; ``score``
    is the same for all of them.
    """

    __slots__ = ()

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (defined by each scorer)."""
        raise NotImplementedError

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self.score_signals(signals(conversation))


class FromCues:
    """Mixin for the dimensions that read the cue view alone (no other signal).

    They define ``_score(conversation, view)``; ``score`` builds the cue view and
    ``score_signals`` takes it from the signals, so both give the same result.
    """

    __slots__ = ()

    def _score(self, conversation: Conversation, view: CueView) -> ScoreResult:
        raise NotImplementedError

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self._score(conversation, cue_view(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its cues (see the class docstring)."""
        return self._score(sig.conversation, sig.cues)


NUMBER_RE = re.compile(r"\d|\[数字x\]|\[金额x\]")
DEADLINE_RE = re.compile(r"(?:\d+|\[数字x\])\s*个?(?:小时|天|分钟|工作日|日)")
FOLLOWUP_S = 900.0  # 晓多 漏跟进: a holding reply must be followed up within 15 minutes


def agent_messages(view: Sequence[CueMessage]) -> list[CueMessage]:
    if isinstance(view, CueView):
        return list(view.agents)
    return [m for m in view if m.role is AGENT and m.content]


def buyer_messages(view: Sequence[CueMessage]) -> list[CueMessage]:
    if isinstance(view, CueView):
        return list(view.buyers)
    return [m for m in view if m.role is BUYER and m.content]


def reply_block(view: Sequence[CueMessage], pos: int) -> list[CueMessage]:
    """Return the agent messages answering the message at list position *pos*."""
    block: list[CueMessage] = []
    for m in view[pos + 1 :]:
        if m.role is AGENT:
            if m.content:
                block.append(m)
        elif m.role is BUYER and block:
            break
    return block


def unhelpful(m: CueMessage) -> bool:
    """Tell whether an agent message declines, deflects or does not know, offering no remedy.

    A decline counts only when escalation would list it as a refusal
    (:func:`~kefu_standards._cues.material_refusals`: not advice, a condition, a
    question or a limit explained with a way forward), so the scorecard and the
    escalation reasons rest on the same evidence.
    """
    if "solution" in m.kinds:
        return False
    if "ignorance" in m.kinds:
        return True
    return "incapacity" in m.kinds and bool(material_refusals(m.text, agent_cues(m.text)))


def unhelpful_evidence(m: CueMessage) -> list[Evidence]:
    return m.evidence("incapacity", -1.0) + m.evidence("ignorance", -1.0)


def need_agent(view: Sequence[CueMessage]) -> ScoreResult | None:
    if not agent_messages(view):
        return not_applicable("no agent message with content: nothing to assess")
    return None


@functools.cache
def not_applicable(reason: str) -> ScoreResult:
    """``ScoreResult.na(reason)`` for a fixed reason, built once (results are immutable)."""
    return ScoreResult.na(reason)


@functools.cache
def clean_result() -> ScoreResult:
    """Return the result of a critical item that did not fire (built once: it is immutable)."""
    return ScoreResult(1.0, (), "", {"hits": 0})


def clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def mean_of(xs: Iterable[float]) -> float | None:
    values = list(xs)
    return sum(values) / len(values) if values else None


def why(evidence: Sequence[Evidence], limit: int = 3) -> str:
    """Return a short reason naming the negative evidence (empty when there is none)."""
    bad = [e for e in evidence if e.weight < 0]
    if not bad:
        return ""
    shown = ", ".join(f"{e.kind} {e.text[:20]!r}" for e in bad[:limit])
    more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
    return f"{shown}{more}"


def text_evidence(m: CueMessage, kind: str, weight: float, rule: str = "") -> Evidence:
    lead = len(m.text) - len(m.text.lstrip())
    tail = max(lead, len(m.text.rstrip()))
    return Evidence(lead, tail, m.text[lead:tail], kind, weight, rule, m.index)


# -- borrowed signals (injectable; default to the library's analysers) ------------


def sentiments_of(
    fn: Callable[[str], float | None] | None, sig: Signals, msgs: Sequence[CueMessage]
) -> list[float | None]:
    """Buyer sentiment of *msgs*: the injected *fn*, else the signals' (``None``: undefined)."""
    if fn is not None:
        return [fn(m.text) for m in msgs]
    return [sig.sentiment[m.index] for m in msgs]


def escalation_of(fn: Callable[[Conversation], Any] | None, sig: Signals) -> Any:
    """Return the escalation result of the conversation (``per_message``, ``reasons`` are read).

    The injected *fn*, else the signals' escalation.  Only those two public fields are
    used, never a ``reason`` or ``score`` method, so any object with them works (and an
    *fn* returning ``None`` turns the signal off).
    """
    return sig.escalation if fn is None else fn(sig.conversation)


def risk_trajectory(esc: Any, n: int) -> tuple[float, ...] | None:
    per_message = getattr(esc, "per_message", None) if esc is not None else None
    if not per_message or len(per_message) != n:
        return None
    return tuple(map(float, per_message))


def reason_indexes(esc: Any, kinds: frozenset[str]) -> dict[int, str]:
    """Message index -> reason kind of the escalation reasons of *kinds*."""
    out: dict[int, str] = {}
    for r in getattr(esc, "reasons", ()) or ():
        kind = getattr(r, "kind", "")
        if kind in kinds:
            for i in getattr(r, "message_indexes", ()) or ():
                out.setdefault(int(i), kind)
    return out


def no_escalation(conversation: Conversation) -> None:
    """Return no escalation result: the signal is off (for ablations and tests)."""


def is_timed(conversation: Conversation) -> bool:
    return any(m.sent_at is not None for m in conversation.messages) and all(
        m.sent_at is not None for m in conversation.messages if m.role in (BUYER, AGENT)
    )


#: Harsh-tone markers weaker than this (a lone ``!`` or ``?``, ``这么``, ``你``, ``给我``,
#: ``立刻``: the lexicon's mild, context-dependent level of -0.5 and above) are not counted
#: against the agent: JD and Taobao scripts are full of them (请您提供订单号给我, 立刻为您查询,
#: 您选择哪种方式呢?).  Was -0.5; raised after reading the markers it fired on in jddc dev
#: (checked on dev, see docs/explanation/competency.md).
STRONG_HARSH = -0.6


def negative_hits(p: Any, kinds: frozenset[str]) -> list[Evidence]:
    """Marker evidence of *kinds*; the offensive *model*'s evidence is left to ``no_insult``.

    Harsh-tone markers count only when strong (weight <= ``STRONG_HARSH``).
    """
    return [
        e
        for e in getattr(p, "evidence", ())
        if e.kind in kinds
        and not (e.kind == "offensive" and e.rule.startswith("model:"))
        and not (e.kind == "harsh_tone" and e.weight > STRONG_HARSH)
    ]


RUDE = frozenset({"banned_phrase", "harsh_tone", "offensive"})


def rude_of(
    fn: Callable[[str], Any] | None, sig: Signals, m: CueMessage
) -> tuple[Any, Sequence[Evidence]]:
    """Return ``(politeness result, its rude markers)`` of agent message *m*.

    The markers are :func:`negative_hits` of ``RUDE`` under the injected *fn*, else under
    the signals' politeness.
    """
    p = sig.politeness[m.index] if fn is None else fn(m.text)
    return p, negative_hits(p, RUDE)


def check_fn(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        msg = f"{attr.name} must be a callable or None (the library default), got {value!r}"
        raise ConfigError(msg)


def signal_field() -> Any:
    """Declare an injectable signal: a callable, or ``None`` for the library's default."""
    return attrs.field(default=None, validator=check_fn, repr=False)


# -- 2 沟通能力 -------------------------------------------------------------------


def repeated_messages(view: Sequence[CueMessage]) -> list[CueMessage]:
    """Buyer messages that say they repeat themselves, or re-ask an answered question."""
    # _repeats_any is any(is_repeat_of(..., min_bigrams=3))
    _repeats_any = _repeat_flags
    out: list[CueMessage] = []
    asked: list[frozenset[str]] = []
    answered_since = False
    for m in view:
        if m.role is AGENT and m.content:
            answered_since = True
        if m.role is not BUYER or not m.content:
            continue
        if "repeat" in m.kinds:
            out.append(m)
            continue
        if m.question:
            grams = bigram_set(m.text)
            if answered_since and _repeats_any(grams, asked, 0.6):
                out.append(m)
            asked.append(grams)
            answered_since = False
    return out


@functools.lru_cache(maxsize=32768)
def deadline_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(start, end, text)`` of each :data:`DEADLINE_RE` match in *text* (cached)."""
    return tuple((x.start(), x.end(), x.group()) for x in DEADLINE_RE.finditer(text))
