"""8 责任心和执行力: :class:`ResponsibilityScorer`."""

from __future__ import annotations

import functools

import attrs

from kefu_standards._competency_cues import CueMessage, CueView
from kefu_standards._time import elapsed
from kefu_standards.evidence import Evidence, ScoreResult
from kefu_standards.model import Conversation
from kefu_standards.text import normalize

from ._base import (
    BUYER,
    FOLLOWUP_S,
    FromCues,
    agent_messages,
    clip,
    mean_of,
    need_agent,
    not_applicable,
    text_evidence,
    why,
)

# -- 8 责任心和执行力 -------------------------------------------------------------


def _substantive(m: CueMessage) -> bool:
    """More than a holding phrase: at least 4 content characters outside holding cues."""
    return _substantive_text(m.text, tuple((h.start, h.end) for h in m.spans("holding")))


@functools.lru_cache(maxsize=32768)
def _substantive_text(text: str, holding: tuple[tuple[int, int], ...]) -> bool:
    """:func:`_substantive` of *text* given its holding-cue spans (cached: replies repeat)."""
    norm = normalize(text)
    covered = {i for start, end in holding for i in range(start, end)}
    return sum(1 for i, c in enumerate(norm) if i not in covered and c.isalnum()) >= 4


@attrs.frozen(slots=True)
class ResponsibilityScorer(FromCues):
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

    followup_s: float = attrs.field(default=FOLLOWUP_S, converter=float)
    deflect_penalty: float = attrs.field(default=0.15, converter=float)
    name: str = attrs.field(default="responsibility", init=False)

    def _score(self, conversation: Conversation, view: CueView) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := need_agent(view)) is not None:
            return na
        agents = agent_messages(view)
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
                text_evidence(m, "verification", 1.0, "order id")
                for m in agents
                if "ORDERID" in m.text
            ]
            verified = 1.0 if checks else 0.0
            evidence += checks[:3]
        ownership: float | None = None
        deflections: list[CueMessage] = []
        if any(m.role is BUYER and ("problem" in m.kinds) for m in view):
            deflections = [m for m in agents if ("deflection" in m.kinds)]
            ownership = clip(1.0 - self.deflect_penalty * len(deflections))
            evidence += [e for m in deflections for e in m.evidence("deflection", -1.0)]
        parts = [x for x in (mean_of(kept), verified, ownership) if x is not None]
        if not parts:
            return not_applicable("no promise made, no order to verify and no problem raised")
        details = {
            "promises": len(kept),
            "kept": mean_of(kept),
            "verified": verified,
            "ownership": ownership,
            "deflections": len(deflections),
        }
        return ScoreResult(sum(parts) / len(parts), tuple(evidence), why(evidence), details)
