"""The built-in scorers of the nine-standard scorecard (private; see ``competency``).

Each scorer is a small frozen object with a ``name`` and ``score(conversation)
-> ScoreResult`` (score in [0, 1], 1 = best, or N/A with a reason).  The
phrase cues they read are in ``data/competency/cues.tsv`` (loaded on first
use); the signals they borrow from other analysers (politeness, sentiment,
escalation risk, response times) are *injectable* functions, and default to the
library's own analysers when those import cleanly.  When one is unavailable the
part of the dimension that needs it is skipped and ``details`` says so
(documented fallback): the dimension is then computed from its cue parts only.

The formulas and their constants are this project's proposals; the docs
(``docs/explanation/competency.md``) give them dimension by dimension.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from ._competency_cues import CueMessage as _Msg
from ._competency_cues import CueView as _View
from ._competency_cues import cue_view
from ._cues import agent_cues, bigram_set, material_refusals
from ._escalation import EscalationScorer
from ._escalation import _repeats as _repeat_flags
from ._politeness import PolitenessScorer
from ._signals import Signals, signals
from ._time import elapsed
from .evidence import Evidence, ScoreResult
from .exceptions import ConfigError, UnknownNameError
from .model import Conversation, Role
from .text import normalize
from .typing import Scorer

__all__ = [
    "BUILTIN_SCORERS",
    "CommunicationScorer",
    "ContinuousLearningScorer",
    "DataAnalysisScorer",
    "MoneyPromiseScorer",
    "NoInsultScorer",
    "PolitenessAdapter",
    "ProblemHandlingScorer",
    "ProductKnowledgeScorer",
    "ResponsibilityScorer",
    "ServiceAttitudeScorer",
    "StressResilienceScorer",
    "TeamworkScorer",
    "no_escalation",
]

#: Roles bound once: ``_BUYER`` is an enum class-attribute look-up (about 0.1 µs) and
#: the scorers test roles in every loop.
_BUYER, _AGENT, _SYSTEM = Role.BUYER, Role.AGENT, Role.SYSTEM


_NUMBER_RE = re.compile(r"\d|\[数字x\]|\[金额x\]")
_DEADLINE_RE = re.compile(r"(?:\d+|\[数字x\])\s*个?(?:小时|天|分钟|工作日|日)")
_FOLLOWUP_S = 900.0  # 晓多 漏跟进: a holding reply must be followed up within 15 minutes


def _agents(view: Sequence[_Msg]) -> list[_Msg]:
    if isinstance(view, _View):
        return list(view.agents)
    return [m for m in view if m.role is _AGENT and m.content]


def _buyers(view: Sequence[_Msg]) -> list[_Msg]:
    if isinstance(view, _View):
        return list(view.buyers)
    return [m for m in view if m.role is _BUYER and m.content]


def _reply_block(view: Sequence[_Msg], pos: int) -> list[_Msg]:
    """Return the agent messages answering the message at list position *pos*."""
    block: list[_Msg] = []
    for m in view[pos + 1 :]:
        if m.role is _AGENT:
            if m.content:
                block.append(m)
        elif m.role is _BUYER and block:
            break
    return block


def _unhelpful(m: _Msg) -> bool:
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


def _unhelpful_evidence(m: _Msg) -> list[Evidence]:
    return m.evidence("incapacity", -1.0) + m.evidence("ignorance", -1.0)


def _need_agent(view: Sequence[_Msg]) -> ScoreResult | None:
    if not _agents(view):
        return _na("no agent message with content: nothing to assess")
    return None


@functools.cache
def _na(reason: str) -> ScoreResult:
    """``ScoreResult.na(reason)`` for a fixed reason, built once (results are immutable)."""
    return ScoreResult.na(reason)


@functools.cache
def _clean() -> ScoreResult:
    """Return the result of a critical item that did not fire (built once: it is immutable)."""
    return ScoreResult(1.0, (), "", {"hits": 0})


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def _mean(xs: Iterable[float]) -> float | None:
    values = list(xs)
    return sum(values) / len(values) if values else None


def _why(evidence: Sequence[Evidence], limit: int = 3) -> str:
    """Return a short reason naming the negative evidence (empty when there is none)."""
    bad = [e for e in evidence if e.weight < 0]
    if not bad:
        return ""
    shown = ", ".join(f"{e.kind} {e.text[:20]!r}" for e in bad[:limit])
    more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
    return f"{shown}{more}"


def _text_ev(m: _Msg, kind: str, weight: float, rule: str = "") -> Evidence:
    lead = len(m.text) - len(m.text.lstrip())
    tail = max(lead, len(m.text.rstrip()))
    return Evidence(lead, tail, m.text[lead:tail], kind, weight, rule, m.index)


# -- borrowed signals (injectable; default to the library's analysers) ------------


def _sentiments(
    fn: Callable[[str], float | None] | None, sig: Signals, msgs: Sequence[_Msg]
) -> list[float | None]:
    """Buyer sentiment of *msgs*: the injected *fn*, else the signals' (``None``: undefined)."""
    if fn is not None:
        return [fn(m.text) for m in msgs]
    return [sig.sentiment[m.index] for m in msgs]


def _escalation_of(fn: Callable[[Conversation], Any] | None, sig: Signals) -> Any:
    """Return the escalation result of the conversation (``per_message``, ``reasons`` are read).

    The injected *fn*, else the signals' escalation.  Only those two public fields are
    used, never a ``reason`` or ``score`` method, so any object with them works (and an
    *fn* returning ``None`` turns the signal off).
    """
    return sig.escalation if fn is None else fn(sig.conversation)


def _risk_trajectory(esc: Any, n: int) -> tuple[float, ...] | None:
    per_message = getattr(esc, "per_message", None) if esc is not None else None
    if not per_message or len(per_message) != n:
        return None
    return tuple(map(float, per_message))


def _reason_indexes(esc: Any, kinds: frozenset[str]) -> dict[int, str]:
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


def _is_timed(conversation: Conversation) -> bool:
    return any(m.sent_at is not None for m in conversation.messages) and all(
        m.sent_at is not None for m in conversation.messages if m.role in (_BUYER, _AGENT)
    )


#: Harsh-tone markers weaker than this (a lone ``!`` or ``?``, ``这么``, ``你``, ``给我``,
#: ``立刻``: the lexicon's mild, context-dependent level of -0.5 and above) are not counted
#: against the agent: JD and Taobao scripts are full of them (请您提供订单号给我, 立刻为您查询,
#: 您选择哪种方式呢?).  Was -0.5; raised after reading the markers it fired on in jddc dev
#: (checked on dev, see docs/explanation/competency.md).
_STRONG_HARSH = -0.6


def _neg_hits(p: Any, kinds: frozenset[str]) -> list[Evidence]:
    """Marker evidence of *kinds*; the offensive *model*'s evidence is left to ``no_insult``.

    Harsh-tone markers count only when strong (weight <= ``_STRONG_HARSH``).
    """
    return [
        e
        for e in getattr(p, "evidence", ())
        if e.kind in kinds
        and not (e.kind == "offensive" and e.rule.startswith("model:"))
        and not (e.kind == "harsh_tone" and e.weight > _STRONG_HARSH)
    ]


_RUDE = frozenset({"banned_phrase", "harsh_tone", "offensive"})


def _rude_of(
    fn: Callable[[str], Any] | None, sig: Signals, m: _Msg
) -> tuple[Any, Sequence[Evidence]]:
    """Return ``(politeness result, its rude markers)`` of agent message *m*.

    The markers are :func:`_neg_hits` of ``_RUDE`` under the injected *fn*, else under
    the signals' politeness.
    """
    p = sig.politeness[m.index] if fn is None else fn(m.text)
    return p, _neg_hits(p, _RUDE)


def _check_fn(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        msg = f"{attr.name} must be a callable or None (the library default), got {value!r}"
        raise ConfigError(msg)


def _signal() -> Any:
    """Declare an injectable signal: a callable, or ``None`` for the library's default."""
    return attrs.field(default=None, validator=_check_fn, repr=False)


# -- 1 专业知识 -------------------------------------------------------------------


@attrs.frozen(slots=True)
class ProductKnowledgeScorer:
    """专业知识: product questions answered with specifics, plus proactive advice.

    For each buyer question about the product (size, material, specs, stock ...)
    the agent's reply scores 1 with specifics (numbers, units, materials, stock
    words) and no "don't know", 0.6 with both, 0.5 with neither, 0 with only
    "don't know" or no reply.  Proactive advice (建议, 偏大, 拍大一码) anywhere
    adds ``advice_bonus``.  N/A when the buyer asked no product question.
    """

    advice_bonus: float = attrs.field(default=0.2, converter=float)
    name: str = attrs.field(default="product_knowledge", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self._score(conversation, cue_view(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its cues (see the class docstring)."""
        return self._score(sig.conversation, sig.cues)

    def _score(self, conversation: Conversation, view: _View) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := _need_agent(view)) is not None:
            return na
        positions = [
            p
            for p, m in enumerate(view)
            if m.role is _BUYER and m.question and ("product_topic" in m.kinds)
        ]
        if not positions:
            return _na("the buyer asked no product question")
        evidence: list[Evidence] = []
        per_q: list[float] = []
        for p in positions:
            block = _reply_block(view, p)
            if not block:
                per_q.append(0.0)
                evidence.append(_text_ev(view[p], "unanswered_question", -1.0))
                continue
            spec = any(("specific" in m.kinds) or _NUMBER_RE.search(m.text) for m in block)
            ign = any(("ignorance" in m.kinds) for m in block)
            per_q.append(1.0 if spec and not ign else 0.6 if spec else 0.0 if ign else 0.5)
            for m in block:
                evidence += m.evidence("specific", 1.0) + m.evidence("ignorance", -1.0)
        advice = [
            e for m in _agents(view) if "advice" in m.kinds for e in m.evidence("advice", 0.5)
        ]
        base = sum(per_q) / len(per_q)
        value = _clip(base + (self.advice_bonus if advice else 0.0))
        details = {"questions": len(per_q), "answered_specifically": base, "advice": len(advice)}
        return ScoreResult(value, tuple(evidence + advice), "", details)


# -- 2 沟通能力 -------------------------------------------------------------------


def _repeats(view: Sequence[_Msg]) -> list[_Msg]:
    """Buyer messages that say they repeat themselves, or re-ask an answered question."""
    # _repeats_any is any(is_repeat_of(..., min_bigrams=3))
    _repeats_any = _repeat_flags
    out: list[_Msg] = []
    asked: list[frozenset[str]] = []
    answered_since = False
    for m in view:
        if m.role is _AGENT and m.content:
            answered_since = True
        if m.role is not _BUYER or not m.content:
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


_PUNCT_ONLY_RE = re.compile(r"\s*[?？!！。.…、,，~]+\s*")


def _nudges(view: Sequence[_Msg]) -> list[_Msg]:
    """Buyer messages chasing a reply (在吗, 人呢, ``??``) to a message still unanswered.

    A nudge counts only while the buyer is waiting: some earlier buyer message
    with content has had no agent reply yet.  在吗 as an opener, or right after
    the agent answered, chases nothing.
    """
    out: list[_Msg] = []
    waiting = False
    for m in view:
        if m.role is _AGENT and m.content:
            waiting = False
            continue
        if m.role is not _BUYER:
            continue
        nudge = ("nudge" in m.kinds) or (
            not m.content and _PUNCT_ONLY_RE.fullmatch(m.text) is not None
        )
        if nudge and waiting:
            out.append(m)
        elif m.content and not nudge:
            waiting = True
    return out


_BUYER_EVENTS = frozenset({"repetition", "impatience", "correction", "unanswered_run"})


@attrs.frozen(slots=True)
class CommunicationScorer:
    """沟通能力: questions get answers, on time, and the buyer need not chase or repeat.

    ``score = base − event_penalty × events`` (clipped to [0, 1]).  **base** is
    the mean of the parts that apply: *reply* — share of buyer question blocks
    answered by something other than "can't", "don't know" or "ask someone
    else" (an unanswered question counts as not answered); *timing* — with
    timestamps, the mean of ``reply_rate`` and ``within_sla_rate`` from
    ``timing``.  1 when neither applies.  **events** are the buyer messages
    showing a communication failure, each counted once: a repeat (我说过了, or
    the same question asked again after a reply), a nudge (在吗, 人呢, ``??``
    after the buyer's first message), a mismatch (没明白 / 答非所问), and the
    buyer messages the escalation analysis flags as repetition, impatience,
    correction or an unanswered run (its ``reasons``).  ``event_penalty``
    is 0.10: 晓多 deducts 10 of 100 points for 重复让顾客复述问题.  N/A without
    a buyer and an agent message.
    """

    timing: Callable[[Conversation], Any] | None = _signal()
    escalation: Callable[[Conversation], Any] | None = _signal()
    event_penalty: float = attrs.field(default=0.10, converter=float)
    name: str = attrs.field(default="communication", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self.score_signals(signals(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        conversation, view = sig.conversation, sig.cues
        if (na := _need_agent(view)) is not None:
            return na
        if not _buyers(view):
            return _na("no buyer message: no communication to assess")
        evidence: list[Evidence] = []
        asked = answered = 0
        for p, m in enumerate(view):
            if m.role is _BUYER and m.question:
                nxt = view[p + 1] if p + 1 < len(view) else None
                if nxt is not None and nxt.role is _BUYER:
                    continue  # the block's last message decides
                asked += 1
                block = _reply_block(view, p)
                if block and not all(_unhelpful(x) for x in block):
                    answered += 1
                elif block:
                    evidence += [e for x in block for e in _unhelpful_evidence(x)]
                else:
                    evidence.append(_text_ev(m, "unanswered_question", -1.0))
        reply = answered / asked if asked else None
        timing: float | None = None
        if _is_timed(conversation):
            times = self.timing(conversation) if self.timing is not None else sig.timing
            if times is not None:
                rates = [getattr(times, k, None) for k in ("reply_rate", "within_sla_rate")]
                timing = _mean(float(r) for r in rates if r is not None)
        base = _mean(v for v in (reply, timing) if v is not None)
        events: dict[int, str] = {}
        for m in _repeats(view):
            events.setdefault(m.index, "repeat")
            evidence.extend(m.evidence("repeat", -1.0) or [_text_ev(m, "repeat", -1.0)])
        for m in _nudges(view):
            if m.index not in events:
                events[m.index] = "nudge"
                evidence.append(_text_ev(m, "nudge", -0.5))
        for m in view:
            if (("not_understood" in m.kinds) or ("mismatch" in m.kinds)) and m.index not in events:
                events[m.index] = "mismatch"
                evidence += m.evidence("not_understood", -1.0) + m.evidence("mismatch", -1.0)
        esc = _escalation_of(self.escalation, sig)
        for i, kind in sorted(_reason_indexes(esc, _BUYER_EVENTS).items()):
            if 0 <= i < len(view) and view[i].role is _BUYER and i not in events:
                events[i] = kind
                evidence.append(_text_ev(view[i], kind, -0.5, "escalation"))
        value = _clip((1.0 if base is None else base) - self.event_penalty * len(events))
        kinds = list(events.values())
        details = {
            "reply": reply,
            "timing": timing,
            "events": len(events),
            **{k: kinds.count(k) for k in ("repeat", "nudge", "mismatch", *sorted(_BUYER_EVENTS))},
            "escalation": esc is not None,
        }
        return ScoreResult(value, tuple(evidence), _why(evidence), details)


# -- 3 服务态度 -------------------------------------------------------------------


@attrs.frozen(slots=True)
class ServiceAttitudeScorer:
    """服务态度: no banned phrases or harsh tone; greeting and closing.

    A deduction from full marks, with the points of the QC sheets (DOMAIN §4)
    divided by 100: ``score = 1 − 0.15 per banned phrase (服务禁语 −15) − 0.10
    per strong harsh-tone marker (命令/敷衍 −10) − 0.5 per offensive marker −
    0.03 without a greeting (晓多 无欢迎语 −3) − 0.03 without a polite closing
    (晓多 结束语不规范 −3)``, clipped to [0, 1].  Markers come from the
    politeness analyser; harsh-tone markers of weight −0.5 or weaker (a lone ``!``, ``?``, 给我,
    ``这么``) are ignored, and mere absence of courtesy words costs nothing
    (agents on the big platforms are uniformly polite, so it is noise).
    *greeting*: one of the first two agent messages greets (您好, 欢迎, 光临, 服务,
    高兴); *closing*: one of the last three closes politely (感谢, 祝您,
    还有什么可以帮您, 评价).  N/A without an agent message.
    """

    politeness: Callable[[str], Any] | None = _signal()
    name: str = attrs.field(default="service_attitude", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self.score_signals(signals(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := _need_agent(view)) is not None:
            return na
        agents = _agents(view)
        evidence: list[Evidence] = []
        greet = [
            e for m in agents[:2] if "greeting" in m.kinds for e in m.evidence("greeting", 0.5)
        ]
        close = [e for m in agents[-3:] if "closing" in m.kinds for e in m.evidence("closing", 0.5)]
        evidence += greet[:1] + close[:1]
        counts = dict.fromkeys(_RUDE, 0)
        signal = False
        for m in agents:
            p, rude = _rude_of(self.politeness, sig, m)
            if p is None:
                continue
            signal = True
            for e in rude:
                counts[e.kind] += 1
                evidence.append(e.at(m.index))
        value = (
            1.0
            - 0.15 * counts["banned_phrase"]
            - 0.10 * counts["harsh_tone"]
            - 0.5 * counts["offensive"]
            - (0.0 if greet else 0.03)
            - (0.0 if close else 0.03)
        )
        details = {"greeting": bool(greet), "closing": bool(close), "politeness": signal, **counts}
        return ScoreResult(_clip(value), tuple(evidence), _why(evidence), details)


# -- 4 应变处理 -------------------------------------------------------------------


_CLOSED_KINDS = frozenset({"gratitude"})
_OPEN_KINDS = frozenset({"open_issue"})
_BUYER_UNHAPPY = ("negative", "resignation")


def _buyer_close(view: Sequence[_Msg], esc: Any) -> tuple[float, list[Evidence]]:
    """Grade the buyer's closing turn: 1 accepts, 0 leaves the problem open, 0.5 neither.

    *Accepts*: thanks or acceptance (谢谢, 好的, 没有了 in answer to 还有其他问题吗,
    or the escalation analysis's ``gratitude``) with no complaint.  *Open*: a
    question, a problem or complaint cue, resignation (算了, 行吧, 就这样吧), or
    flagged ``open_issue`` by the escalation analysis.  Anything else (哦, a
    name, an emoticon) is no evidence either way: 0.5.
    """
    last = next((m for m in reversed(view) if m.role is _BUYER and m.content), None)
    if last is None:
        return 0.5, []
    unhappy = not last.kinds.isdisjoint(_BUYER_UNHAPPY) or ("problem" in last.kinds)
    thanks = last.index in _reason_indexes(esc, _CLOSED_KINDS) or ("accept" in last.kinds)
    if thanks and not unhappy:
        return 1.0, [_text_ev(last, "accepted", 0.5)]
    flagged = last.index in _reason_indexes(esc, _OPEN_KINDS)
    if unhappy or (last.question and not thanks) or (flagged and not thanks):
        return 0.0, [_text_ev(last, "left_open", -1.0)]
    return 0.5, []


@attrs.frozen(slots=True)
class ProblemHandlingScorer:
    """应变处理: the buyer's problem is actually resolved, not declined or left open.

    From the first buyer problem (缺货, 没收到, 质量问题, 退款, 售后 ...), the mean
    of the parts that apply:

    - **solution** — 1 for a concrete remedy (退款, 补发, 换货, 为您申请, 跟进 ...)
      with a time (24小时内, 明天, [数字x]天), 0.75 without a time, 0.25 for a
      holding reply only, 0 for nothing.
    - **declined** — ``1 − unhelpful_penalty`` (0.2) per agent message after
      the problem that declines, deflects or does not know (无法, 不支持,
      需要您联系供应商, 不清楚) and offers no remedy, clipped at 0.
    - **persisted** — does the buyer's unhappiness persist after the agent's
      first answer?  The mean, over the buyer's later messages, of 0 for a
      message still unhappy (a complaint or resignation cue: 算了, 行吧,
      还是不行, 投诉, or the problem raised again) and otherwise its sentiment
      P(positive) (1 without a sentiment signal).  Applies when the buyer
      spoke after the answer.
    - **risk_fall** — does the escalation risk fall after the agent acts?
      ``0.5 + (before − final) / before`` clipped to [0, 1], where *before* is
      the peak risk from the problem up to the agent's first remedy (or first
      reply) and *final* the risk after the last message: unchanged 0.5, halved
      or better 1, up by half or more 0.
    - **outcome** — ``1 − final risk`` (falls back to the last buyer message's
      sentiment without an escalation signal).
    - **closed** — the buyer's closing turn: 1 when it accepts (谢谢, 好的,
      没有了) with no complaint, 0 when it leaves the problem open (a question,
      a problem, complaint or resignation cue, or flagged by the escalation
      analysis as an open issue), 0.5 when it says neither.

    N/A when the buyer raised no problem.
    """

    escalation: Callable[[Conversation], Any] | None = _signal()
    sentiment: Callable[[str], float | None] | None = _signal()
    unhelpful_penalty: float = attrs.field(default=0.2, converter=float)
    name: str = attrs.field(default="problem_handling", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self.score_signals(signals(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := _need_agent(view)) is not None:
            return na
        first = next(
            (p for p, m in enumerate(view) if m.role is _BUYER and ("problem" in m.kinds)), None
        )
        if first is None:
            return _na("the buyer raised no problem")
        evidence = view[first].evidence("problem", -0.5)
        after = [m for m in view[first + 1 :] if m.role is _AGENT and m.content]
        remedy = [e for m in after if "solution" in m.kinds for e in m.evidence("solution", 1.0)]
        deadline = [e for m in after if "deadline" in m.kinds for e in m.evidence("deadline", 0.5)]
        deadline += [
            Evidence(start, end, found, "deadline", 0.5, "time", m.index)
            for m in after
            for start, end, found in _deadlines(m.text)
        ]
        holding = any(("holding" in m.kinds) for m in after)
        cant = [m for m in after if _unhelpful(m)]
        solution = (1.0 if deadline else 0.75) if remedy else (0.25 if holding else 0.0)
        declined = _clip(1.0 - self.unhelpful_penalty * len(cant))
        esc = _escalation_of(self.escalation, sig)
        risk = _risk_trajectory(esc, len(view))
        acted = next((m.index for m in after if ("solution" in m.kinds)), None)
        if acted is None and after:
            acted = after[0].index
        answered_at = after[0].index if after else None
        unhappy = _persisting(view, answered_at)
        persisted = self._persisted(sig, view, answered_at, {m.index for m in unhappy})
        fall: float | None = None
        outcome: float | None = None
        if risk is not None:
            before = max(risk[first : (acted if acted is not None else len(risk) - 1) + 1])
            final = risk[-1]
            outcome = _clip(1.0 - final)
            if before > 0 and acted is not None:
                fall = _clip(0.5 + (before - final) / before)
        else:
            outcome = self._sentiment_outcome(sig, view)
        closed, close_ev = _buyer_close(view, esc)
        parts = {
            "solution": solution,
            "declined": declined,
            "persisted": persisted,
            "risk_fall": fall,
            "outcome": outcome,
            "closed": closed,
        }
        value = _mean(v for v in parts.values() if v is not None)
        assert value is not None  # solution, declined and closed always apply
        evidence += remedy + deadline[:3]
        evidence += [e for m in cant for e in _unhelpful_evidence(m)]
        for m in unhappy:
            found = [e for k in (*_BUYER_UNHAPPY, "problem") for e in m.evidence(k, -0.5)]
            evidence += found[:1] or [_text_ev(m, "unhappy", -0.5)]
        evidence += close_ev
        details = {
            **parts,
            "declines": len(cant),
            "unhappy_after": len(unhappy),
            "outcome_from": "escalation" if risk is not None else "sentiment",
        }
        reasons = []
        if not remedy:
            reasons.append("no concrete remedy offered for the buyer's problem")
        if cant:
            reasons.append(f"{len(cant)} agent message(s) declined or deflected without a remedy")
        if unhappy:
            reasons.append(f"the buyer stayed unhappy after the answer ({len(unhappy)} message(s))")
        if closed == 0.0:
            reasons.append("the buyer's problem is left open at the end")
        return ScoreResult(_clip(value), tuple(evidence), "; ".join(reasons), details)

    def _persisted(
        self, sig: Signals, view: Sequence[_Msg], answered_at: int | None, unhappy: set[int]
    ) -> float | None:
        """Mean contentment of the buyer's messages after the agent's first answer.

        A message with an unhappy cue counts 0; any other counts its sentiment
        P(positive) (1 when the sentiment signal is off or undefined for it).
        ``None`` when the buyer said nothing after the answer.
        """
        if answered_at is None:
            return None
        later = [m for m in view[answered_at + 1 :] if m.role is _BUYER and m.content]
        if not later:
            return None
        sents = _sentiments(self.sentiment, sig, later)
        values = [
            0.0 if m.index in unhappy else (1.0 if s is None else _clip(s))
            for m, s in zip(later, sents, strict=True)
        ]
        return sum(values) / len(values)

    def _sentiment_outcome(self, sig: Signals, view: Sequence[_Msg]) -> float | None:
        buyers = _buyers(view)
        if not buyers:
            return None
        last = _sentiments(self.sentiment, sig, [buyers[-1]])[0]
        return None if last is None else _clip(last)


def _persisting(view: Sequence[_Msg], answered_at: int | None) -> list[_Msg]:
    """Buyer messages after *answered_at* that are still unhappy or raise a problem again.

    A complaint or resignation cue counts even beside thanks (谢谢，但是还是不行); a
    problem cue beside acceptance (好的，没收到再找你) does not.
    """
    if answered_at is None:
        return []
    return [
        m
        for m in view[answered_at + 1 :]
        if m.role is _BUYER
        and m.content
        and (
            not m.kinds.isdisjoint(_BUYER_UNHAPPY)
            or (("problem" in m.kinds) and "accept" not in m.kinds)
        )
    ]


# -- 5 心理素质 -------------------------------------------------------------------


@attrs.frozen(slots=True)
class StressResilienceScorer:
    """心理素质: courteous and calm replies when the buyer is negative or abusive.

    Negative buyer messages are those with sentiment P(positive) below
    ``negative_below`` or a negative cue (投诉, 差评, 垃圾, 算了 ...).  Each is
    scored by the agent's reply block: 1 if the reply is polite, 0.75 if
    neutral without rude markers, ``0.4 − 0.2`` per extra rude marker if it has
    banned / harsh / offensive markers or is impolite, 0.5 if the agent did not
    reply.  N/A when the buyer was never negative.
    """

    politeness: Callable[[str], Any] | None = _signal()
    sentiment: Callable[[str], float | None] | None = _signal()
    negative_below: float = attrs.field(default=0.25, converter=float)
    name: str = attrs.field(default="stress_resilience", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self.score_signals(signals(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := _need_agent(view)) is not None:
            return na
        positions = [p for p, m in enumerate(view) if m.role is _BUYER and m.content]
        sents = _sentiments(self.sentiment, sig, [view[p] for p in positions])
        negative = [
            p
            for p, s in zip(positions, sents, strict=True)
            if ("negative" in view[p].kinds) or (s is not None and s < self.negative_below)
        ]
        if not negative:
            return _na("the buyer was never negative: nothing to withstand")
        evidence: list[Evidence] = []
        per: list[float] = []
        seen: set[int] = set()
        for p in negative:
            block = _reply_block(view, p)
            key = block[0].index if block else -1 - p
            if key in seen:
                continue  # one reply block answers consecutive negative messages once
            seen.add(key)
            evidence += view[p].evidence("negative", -0.5) or [_text_ev(view[p], "negative", -0.5)]
            if not block:
                per.append(0.5)
                continue
            rude: list[Evidence] = []
            labels: list[str | None] = []
            for m in block:
                pol, hits = _rude_of(self.politeness, sig, m)
                labels.append(getattr(pol, "label", None))
                rude += [e.at(m.index) for e in hits]
            evidence += rude
            if rude or "impolite" in labels:
                per.append(_clip(0.4 - 0.2 * max(0, len(rude) - 1)))
            elif "polite" in labels:
                per.append(1.0)
            else:
                per.append(0.75)
        value = sum(per) / len(per)
        return ScoreResult(value, tuple(evidence), "", {"negative_messages": len(per)})


# -- 6 团队合作 -------------------------------------------------------------------


def _transfers(view: Sequence[_Msg], conversation: Conversation) -> list[tuple[int, bool]]:
    """``(list position, explained)`` of each transfer."""
    out: list[tuple[int, bool]] = []
    last_sender: str | None = None
    last_agent_pos: int | None = None
    for p, m in enumerate(view):
        msg = conversation.messages[m.index]
        if m.role is _SYSTEM and ("transfer" in m.kinds):
            out.append((p, True))
        elif m.role is _AGENT:
            if msg.sender and last_sender and msg.sender != last_sender:
                told = ("transfer" in m.kinds) or (
                    last_agent_pos is not None and ("transfer" in view[last_agent_pos].kinds)
                )
                told = told or any(x.role is _SYSTEM for x in view[(last_agent_pos or 0) : p])
                out.append((p, told))
            elif ("transfer" in m.kinds) and m.content:
                out.append((p, True))
            if msg.sender:
                last_sender = msg.sender
            last_agent_pos = p
    return out


@attrs.frozen(slots=True)
class TeamworkScorer:
    """团队合作: transfers are explained and the buyer loses no rounds.

    A transfer is a change of agent ``sender``, a system transfer notice
    (转交/转接), or an agent announcing one (为您转接, 专员).  Each scores
    ``0.5·explained + 0.5·answered``: *explained* when the buyer is told (a
    transfer phrase or notice around it), *answered* when the buyer's next
    message gets a reply and the buyer does not have to repeat themselves
    afterwards.  N/A when there is no transfer.
    """

    name: str = attrs.field(default="teamwork", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self._score(conversation, cue_view(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its cues (see the class docstring)."""
        return self._score(sig.conversation, sig.cues)

    def _score(self, conversation: Conversation, view: _View) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := _need_agent(view)) is not None:
            return na
        transfers = _transfers(view, conversation)
        if not transfers:
            return _na("no transfer (转接) in the conversation")
        repeats = {m.index for m in _repeats(view)}
        evidence: list[Evidence] = []
        per: list[float] = []
        for p, explained in transfers:
            m = view[p]
            evidence += m.evidence("transfer", 0.5) or [_text_ev(m, "transfer", 0.0)]
            nxt = next((q for q in range(p + 1, len(view)) if view[q].role is _BUYER), None)
            answered = nxt is None or bool(_reply_block(view, nxt))
            lost = any(x.index in repeats for x in view[p + 1 :])
            per.append(0.5 * explained + 0.5 * (answered and not lost))
        value = sum(per) / len(per)
        return ScoreResult(value, tuple(evidence), "", {"transfers": len(per)})


# -- 7 数据分析, 9 持续学习 (agent level) -----------------------------------------


@attrs.frozen(slots=True)
class DataAnalysisScorer:
    """数据分析: not observable in one conversation, so always N/A here.

    At agent level, plug a :class:`~kefu_standards.typing.KpiScorer` into
    :func:`~kefu_standards.competency.profile_agent` (``kpi_scorer=``).
    """

    name: str = attrs.field(default="data_analysis", init=False)

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """:meth:`score` of the signals' conversation (N/A: it needs no signal)."""
        return self.score(sig.conversation)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Return N/A: data analysis is an agent-level KPI, not a chat property."""
        return _na(
            "数据分析 is not observable in one conversation; at agent level pass "
            "kpi_scorer= to profile_agent()"
        )


@attrs.frozen(slots=True)
class ContinuousLearningScorer:
    """持续学习: the trend of an agent's scores over periods, so N/A per conversation.

    :func:`~kefu_standards.competency.profile_agent` computes it from the
    slope of the agent's per-period totals.
    """

    name: str = attrs.field(default="continuous_learning", init=False)

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """:meth:`score` of the signals' conversation (N/A: it needs no signal)."""
        return self.score(sig.conversation)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Return N/A: learning is a trend across periods, see ``profile_agent``."""
        return _na(
            "持续学习 needs the agent's history: it is the trend of totals across "
            "periods in profile_agent()"
        )


# -- 8 责任心和执行力 -------------------------------------------------------------


def _substantive(m: _Msg) -> bool:
    """More than a holding phrase: at least 4 content characters outside holding cues."""
    return _substantive_text(m.text, tuple((h.start, h.end) for h in m.spans("holding")))


@functools.lru_cache(maxsize=32768)
def _substantive_text(text: str, holding: tuple[tuple[int, int], ...]) -> bool:
    """:func:`_substantive` of *text* given its holding-cue spans (cached: replies repeat)."""
    norm = normalize(text)
    covered = {i for start, end in holding for i in range(start, end)}
    return sum(1 for i, c in enumerate(norm) if i not in covered and c.isalnum()) >= 4


@functools.lru_cache(maxsize=32768)
def _deadlines(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(start, end, text)`` of each :data:`_DEADLINE_RE` match in *text* (cached)."""
    return tuple((x.start(), x.end(), x.group()) for x in _DEADLINE_RE.finditer(text))


@attrs.frozen(slots=True)
class ResponsibilityScorer:
    """责任心和执行力: promises kept, order details verified, the problem owned.

    **promises** — share of holding replies (稍等, 我帮您查, 帮您跟进) followed
    by a substantive agent message (within 15 minutes when timed: 晓多 漏跟进).
    **verification** — when the chat is about an order, address or after-sales
    case, 1 if the agent checks the details (核对, 订单号, 收货地址, 对吗, an
    order id), else 0.  **ownership** — when the buyer raised a problem,
    ``1 − deflect_penalty`` (0.15, the rubric's 服务禁语 −15 for 你自己-type
    shirking) per agent message that pushes the buyer to someone else or to
    do it themselves (需要您联系供应商, 请您自行, 拨打售后电话, 您自己) instead
    of taking the case, clipped at 0.  Mean of the parts that apply; N/A when
    none does.
    """

    followup_s: float = attrs.field(default=_FOLLOWUP_S, converter=float)
    deflect_penalty: float = attrs.field(default=0.15, converter=float)
    name: str = attrs.field(default="responsibility", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self._score(conversation, cue_view(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its cues (see the class docstring)."""
        return self._score(sig.conversation, sig.cues)

    def _score(self, conversation: Conversation, view: _View) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := _need_agent(view)) is not None:
            return na
        agents = _agents(view)
        evidence: list[Evidence] = []
        kept: list[float] = []
        for k, m in enumerate(agents):
            if "holding" not in m.kinds:
                continue
            held_at = conversation.messages[m.index].sent_at
            ok = False
            for later in agents[k + 1 :]:
                if not _substantive(later):
                    continue
                at = conversation.messages[later.index].sent_at
                ok = (
                    held_at is None
                    or at is None
                    or elapsed(at, held_at).total_seconds() <= self.followup_s
                )
                break
            if _substantive(m):
                ok = True  # the holding phrase came with the answer itself
            kept.append(1.0 if ok else 0.0)
            evidence += m.evidence(
                "holding", 0.5 if ok else -1.0, "kept" if ok else "not followed up"
            )
        order_context = any(
            ("problem" in m.kinds) or "订单" in m.text or "ORDERID" in m.text or "地址" in m.text
            for m in view
            if m.content
        )
        verified: float | None = None
        if order_context:
            checks = [
                e
                for m in agents
                if "verification" in m.kinds
                for e in m.evidence("verification", 1.0)
            ]
            checks += [
                _text_ev(m, "verification", 1.0, "order id") for m in agents if "ORDERID" in m.text
            ]
            verified = 1.0 if checks else 0.0
            evidence += checks[:3]
        ownership: float | None = None
        deflections: list[_Msg] = []
        if any(m.role is _BUYER and ("problem" in m.kinds) for m in view):
            deflections = [m for m in agents if ("deflection" in m.kinds)]
            ownership = _clip(1.0 - self.deflect_penalty * len(deflections))
            evidence += [e for m in deflections for e in m.evidence("deflection", -1.0)]
        parts = [x for x in (_mean(kept), verified, ownership) if x is not None]
        if not parts:
            return _na("no promise made, no order to verify and no problem raised")
        details = {
            "promises": len(kept),
            "kept": _mean(kept),
            "verified": verified,
            "ownership": ownership,
            "deflections": len(deflections),
        }
        return ScoreResult(sum(parts) / len(parts), tuple(evidence), _why(evidence), details)


# -- critical items (一票否决) ----------------------------------------------------


def _insults(p: Any, threshold: float) -> tuple[Evidence, ...]:
    """Return the markers of politeness result *p* that count as an insult (none for None)."""
    if p is None:
        return ()
    fired: list[Evidence] = []
    for e in getattr(p, "evidence", ()):
        lexicon_insult = e.kind == "offensive" and not e.rule.startswith("model:")
        contempt = e.kind == "banned_phrase" and "contempt" in e.rule
        model = (
            e.kind == "offensive"
            and e.rule.startswith("model:")
            and (getattr(p, "offensive", None) or 0.0) >= threshold
        )
        if lexicon_insult or contempt or model:
            fired.append(e)
    return tuple(fired)


@attrs.frozen(slots=True)
class NoInsultScorer:
    """Critical: the agent insulted the buyer (0 = fired, 1 = clean).

    Fires on an ``offensive`` politeness marker (insult, slur, profanity), a
    contempt-category banned phrase (爱买不买), or the offensive-language model
    with probability at least ``model_threshold``.  The politeness lexicon itself
    keeps ``sb`` inside ``USB`` and 滚 in 财源滚滚 from matching.
    N/A without an agent message.
    """

    politeness: Callable[[str], Any] | None = _signal()
    model_threshold: float = attrs.field(default=0.9, converter=float)
    name: str = attrs.field(default="no_insult", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self.score_signals(signals(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := _need_agent(view)) is not None:
            return na
        fired: list[Evidence] = []
        fn, threshold = self.politeness, self.model_threshold
        for m in _agents(view):
            if fn is None:
                found = _insults(sig.politeness[m.index], threshold)
            else:
                found = _insults(fn(m.text), threshold)
            fired += [e.at(m.index) for e in found]
        if fired:
            first = fired[0]
            reason = f"the agent insulted the buyer: {first.text!r} (message {first.message_index})"
            return ScoreResult(0.0, tuple(fired), reason, {"hits": len(fired)})
        return _clean()


@attrs.frozen(slots=True)
class MoneyPromiseScorer:
    """Critical: the agent promised money that is not arranged (0 = fired, 1 = clean).

    Fires on a money promise (已打款, 保证退款, 一定赔, 立即到账 ...) in an agent
    message unless a system message *before it* confirms the payment (退款成功,
    打款成功) or the message reports a looked-up status (系统显示, 查看, 财务):
    the chat alone cannot show that a refund was arranged, so a promise with no
    confirmation counts.  N/A without an agent message.
    """

    name: str = attrs.field(default="no_money_promise", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        return self._score(conversation, cue_view(conversation))

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its cues (see the class docstring)."""
        return self._score(sig.conversation, sig.cues)

    def _score(self, conversation: Conversation, view: _View) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := _need_agent(view)) is not None:
            return na
        arranged = False
        fired: list[Evidence] = []
        for m in view:
            if m.role is not _AGENT and m.role is not _BUYER and ("money_arranged" in m.kinds):
                arranged = True
            elif (
                m.role is _AGENT
                and not arranged
                and "status" not in m.kinds
                and "money_promise" in m.kinds
            ):
                fired += m.evidence("money_promise", -1.0, "money promise not arranged")
        if fired:
            first = fired[0]
            reason = (
                f"the agent promised money not shown as arranged: {first.text!r} "
                f"(message {first.message_index})"
            )
            return ScoreResult(0.0, tuple(fired), reason, {"hits": len(fired)})
        return _clean()


# -- adapters: the library's analysers as contract-keeping scorers -----------------------


def _check_aggregate(_inst: object, _attr: object, value: object) -> None:
    if value not in ("mean", "min"):
        raise UnknownNameError("aggregate", value, ("mean", "min"))


@attrs.frozen(slots=True)
class PolitenessAdapter:
    """Politeness of the agent's messages as a scorecard line (1 = polite).

    Wraps :class:`~kefu_standards._politeness.PolitenessScorer` (``aggregate``
    ``"mean"`` or ``"min"``) and returns a :class:`ScoreResult`: the score is
    the politeness in [0, 1], the evidence its markers, ``details`` the label,
    mean, minimum and message count.  N/A (with the analyser's reason) when no
    agent message has content.
    """

    aggregate: str = attrs.field(default="mean", validator=_check_aggregate)
    name: str = attrs.field(default="politeness", init=False)

    def score(self, conversation: Conversation, /) -> ScoreResult:
        """Score *conversation* (see the class docstring)."""
        r = PolitenessScorer(aggregate=self.aggregate).score(conversation)
        if r.score is None:
            return ScoreResult.na(r.reason or "no agent message with content")
        details = {"label": r.label, "mean": r.mean, "minimum": r.minimum, "n": r.n_messages}
        evidence = tuple(r.evidence)
        return ScoreResult(_clip(float(r.score)), evidence, _why(evidence), details)


#: name -> factory of every built-in scorer (read by ``kefu_standards.scoring``).
BUILTIN_SCORERS: dict[str, Callable[..., Scorer]] = {
    "product_knowledge": ProductKnowledgeScorer,
    "communication": CommunicationScorer,
    "service_attitude": ServiceAttitudeScorer,
    "problem_handling": ProblemHandlingScorer,
    "stress_resilience": StressResilienceScorer,
    "teamwork": TeamworkScorer,
    "data_analysis": DataAnalysisScorer,
    "responsibility": ResponsibilityScorer,
    "continuous_learning": ContinuousLearningScorer,
    "no_insult": NoInsultScorer,
    "no_money_promise": MoneyPromiseScorer,
    "politeness": PolitenessAdapter,
    "escalation": EscalationScorer,
}
