"""1 专业知识: :class:`ProductKnowledgeScorer`."""

from __future__ import annotations

import attrs

from kefu_standards._competency_cues import CueView
from kefu_standards.evidence import Evidence, ScoreResult
from kefu_standards.model import Conversation

from ._base import (
    BUYER,
    NUMBER_RE,
    FromCues,
    agent_messages,
    clip,
    need_agent,
    not_applicable,
    reply_block,
    text_evidence,
)

# -- 1 专业知识 -------------------------------------------------------------------


@attrs.frozen(slots=True)
class ProductKnowledgeScorer(FromCues):
    """专业知识: product questions answered with specifics, plus proactive advice.

    For each buyer question about the product (size, material, specs, stock ...)
    the agent's reply scores 1 with specifics (numbers, units, materials, stock
    words) and no "don't know", 0.6 with both, 0.5 with neither, 0 with only
    "don't know" or no reply.  Proactive advice (建议, 偏大, 拍大一码) anywhere
    adds ``advice_bonus``.  N/A when the buyer asked no product question.
    """

    advice_bonus: float = attrs.field(default=0.2, converter=float)
    name: str = attrs.field(default="product_knowledge", init=False)

    def _score(self, conversation: Conversation, view: CueView) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := need_agent(view)) is not None:
            return na
        positions = [
            p
            for p, m in enumerate(view)
            if m.role is BUYER and m.question and ("product_topic" in m.kinds)
        ]
        if not positions:
            return not_applicable("the buyer asked no product question")
        evidence: list[Evidence] = []
        per_q: list[float] = []
        for p in positions:
            block = reply_block(view, p)
            if not block:
                per_q.append(0.0)
                evidence.append(text_evidence(view[p], "unanswered_question", -1.0))
                continue
            spec = any(("specific" in m.kinds) or NUMBER_RE.search(m.text) for m in block)
            ign = any(("ignorance" in m.kinds) for m in block)
            per_q.append(1.0 if spec and not ign else 0.6 if spec else 0.0 if ign else 0.5)
            for m in block:
                evidence += m.evidence("specific", 1.0) + m.evidence("ignorance", -1.0)
        advice = [
            e
            for m in agent_messages(view)
            if "advice" in m.kinds
            for e in m.evidence("advice", 0.5)
        ]
        base = sum(per_q) / len(per_q)
        value = clip(base + (self.advice_bonus if advice else 0.0))
        details = {"questions": len(per_q), "answered_specifically": base, "advice": len(advice)}
        return ScoreResult(value, tuple(evidence + advice), "", details)
