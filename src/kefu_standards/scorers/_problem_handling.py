"""4 问题处理: :class:`ProblemHandlingScorer`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from kefu_standards._competency_cues import CueMessage
from kefu_standards._signals import Signals
from kefu_standards.evidence import Evidence, ScoreResult
from kefu_standards.model import Conversation

from ._base import (
    AGENT,
    BUYER,
    FromSignals,
    buyer_messages,
    clip,
    deadline_spans,
    escalation_of,
    mean_of,
    need_agent,
    not_applicable,
    reason_indexes,
    risk_trajectory,
    sentiments_of,
    signal_field,
    text_evidence,
    unhelpful,
    unhelpful_evidence,
)

# -- 4 应变处理 -------------------------------------------------------------------


_CLOSED_KINDS = frozenset({"gratitude"})
_OPEN_KINDS = frozenset({"open_issue"})
_BUYER_UNHAPPY = ("negative", "resignation")


def _buyer_close(view: Sequence[CueMessage], esc: Any) -> tuple[float, list[Evidence]]:
    """Grade the buyer's closing turn: 1 accepts, 0 leaves the problem open, 0.5 neither.

    *Accepts*: thanks or acceptance (谢谢, 好的, 没有了 in answer to 还有其他问题吗,
    or the escalation analysis's ``gratitude``) with no complaint.  *Open*: a
    question, a problem or complaint cue, resignation (算了, 行吧, 就这样吧), or
    flagged ``open_issue`` by the escalation analysis.  Anything else (哦, a
    name, an emoticon) is no evidence either way: 0.5.
    """
    last = next((m for m in reversed(view) if m.role is BUYER and m.content), None)
    if last is None:
        return 0.5, []
    unhappy = not last.kinds.isdisjoint(_BUYER_UNHAPPY) or ("problem" in last.kinds)
    thanks = last.index in reason_indexes(esc, _CLOSED_KINDS) or ("accept" in last.kinds)
    if thanks and not unhappy:
        return 1.0, [text_evidence(last, "accepted", 0.5)]
    flagged = last.index in reason_indexes(esc, _OPEN_KINDS)
    if unhappy or (last.question and not thanks) or (flagged and not thanks):
        return 0.0, [text_evidence(last, "left_open", -1.0)]
    return 0.5, []


@attrs.frozen(slots=True)
class ProblemHandlingScorer(FromSignals):
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

    escalation: Callable[[Conversation], Any] | None = signal_field()
    sentiment: Callable[[str], float | None] | None = signal_field()
    unhelpful_penalty: float = attrs.field(default=0.2, converter=float)
    name: str = attrs.field(default="problem_handling", init=False)

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := need_agent(view)) is not None:
            return na
        first = next(
            (p for p, m in enumerate(view) if m.role is BUYER and ("problem" in m.kinds)), None
        )
        if first is None:
            return not_applicable("the buyer raised no problem")
        evidence = view[first].evidence("problem", -0.5)
        after = [m for m in view[first + 1 :] if m.role is AGENT and m.content]
        remedy = [e for m in after if "solution" in m.kinds for e in m.evidence("solution", 1.0)]
        deadline = [e for m in after if "deadline" in m.kinds for e in m.evidence("deadline", 0.5)]
        deadline += [
            Evidence(start, end, found, "deadline", 0.5, "time", m.index)
            for m in after
            for start, end, found in deadline_spans(m.text)
        ]
        holding = any(("holding" in m.kinds) for m in after)
        cant = [m for m in after if unhelpful(m)]
        solution = (1.0 if deadline else 0.75) if remedy else (0.25 if holding else 0.0)
        declined = clip(1.0 - self.unhelpful_penalty * len(cant))
        esc = escalation_of(self.escalation, sig)
        risk = risk_trajectory(esc, len(view))
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
            outcome = clip(1.0 - final)
            if before > 0 and acted is not None:
                fall = clip(0.5 + (before - final) / before)
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
        value = mean_of(v for v in parts.values() if v is not None)
        assert value is not None  # solution, declined and closed always apply
        evidence += remedy + deadline[:3]
        evidence += [e for m in cant for e in unhelpful_evidence(m)]
        for m in unhappy:
            found = [e for k in (*_BUYER_UNHAPPY, "problem") for e in m.evidence(k, -0.5)]
            evidence += found[:1] or [text_evidence(m, "unhappy", -0.5)]
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
        return ScoreResult(clip(value), tuple(evidence), "; ".join(reasons), details)

    def _persisted(
        self, sig: Signals, view: Sequence[CueMessage], answered_at: int | None, unhappy: set[int]
    ) -> float | None:
        """Mean contentment of the buyer's messages after the agent's first answer.

        A message with an unhappy cue counts 0; any other counts its sentiment
        P(positive) (1 when the sentiment signal is off or undefined for it).
        ``None`` when the buyer said nothing after the answer.
        """
        if answered_at is None:
            return None
        later = [m for m in view[answered_at + 1 :] if m.role is BUYER and m.content]
        if not later:
            return None
        sents = sentiments_of(self.sentiment, sig, later)
        values = [
            0.0 if m.index in unhappy else (1.0 if s is None else clip(s))
            for m, s in zip(later, sents, strict=True)
        ]
        return sum(values) / len(values)

    def _sentiment_outcome(self, sig: Signals, view: Sequence[CueMessage]) -> float | None:
        buyers = buyer_messages(view)
        if not buyers:
            return None
        last = sentiments_of(self.sentiment, sig, [buyers[-1]])[0]
        return None if last is None else clip(last)


def _persisting(view: Sequence[CueMessage], answered_at: int | None) -> list[CueMessage]:
    """Buyer messages after *answered_at* that are still unhappy or raise a problem again.

    A complaint or resignation cue counts even beside thanks (谢谢，但是还是不行); a
    problem cue beside acceptance (好的，没收到再找你) does not.
    """
    if answered_at is None:
        return []
    return [
        m
        for m in view[answered_at + 1 :]
        if m.role is BUYER
        and m.content
        and (
            not m.kinds.isdisjoint(_BUYER_UNHAPPY)
            or (("problem" in m.kinds) and "accept" not in m.kinds)
        )
    ]
