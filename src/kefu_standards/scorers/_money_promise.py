"""Red line 不承诺返现: :class:`MoneyPromiseScorer`."""

from __future__ import annotations

import attrs

from kefu_standards._competency_cues import CueView
from kefu_standards.evidence import Evidence, ScoreResult
from kefu_standards.model import Conversation

from ._base import AGENT, BUYER, FromCues, clean_result, need_agent


@attrs.frozen(slots=True)
class MoneyPromiseScorer(FromCues):
    """Critical: the agent promised money that is not arranged (0 = fired, 1 = clean).

    Fires on a money promise (已打款, 保证退款, 一定赔, 立即到账 ...) in an agent
    message unless a system message *before it* confirms the payment (退款成功,
    打款成功) or the message reports a looked-up status (系统显示, 查看, 财务):
    the chat alone cannot show that a refund was arranged, so a promise with no
    confirmation counts.  N/A without an agent message.
    """

    name: str = attrs.field(default="no_money_promise", init=False)

    def _score(self, conversation: Conversation, view: CueView) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := need_agent(view)) is not None:
            return na
        arranged = False
        fired: list[Evidence] = []
        for m in view:
            if m.role is not AGENT and m.role is not BUYER and ("money_arranged" in m.kinds):
                arranged = True
            elif (
                m.role is AGENT
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
        return clean_result()
