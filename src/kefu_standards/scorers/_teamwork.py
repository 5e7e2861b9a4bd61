"""6 团队协作: :class:`TeamworkScorer`."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from kefu_standards._competency_cues import CueMessage, CueView
from kefu_standards.evidence import Evidence, ScoreResult
from kefu_standards.model import Conversation

from ._base import (
    AGENT,
    BUYER,
    SYSTEM,
    FromCues,
    need_agent,
    not_applicable,
    repeated_messages,
    reply_block,
    text_evidence,
)

# -- 6 团队合作 -------------------------------------------------------------------


def _transfers(view: Sequence[CueMessage], conversation: Conversation) -> list[tuple[int, bool]]:
    """``(list position, explained)`` of each transfer."""
    out: list[tuple[int, bool]] = []
    last_sender: str | None = None
    last_agent_pos: int | None = None
    for p, m in enumerate(view):
        msg = conversation.messages[m.index]
        if m.role is SYSTEM and ("transfer" in m.kinds):
            out.append((p, True))
        elif m.role is AGENT:
            if msg.sender and last_sender and msg.sender != last_sender:
                told = ("transfer" in m.kinds) or (
                    last_agent_pos is not None and ("transfer" in view[last_agent_pos].kinds)
                )
                told = told or any(x.role is SYSTEM for x in view[(last_agent_pos or 0) : p])
                out.append((p, told))
            elif ("transfer" in m.kinds) and m.content:
                out.append((p, True))
            if msg.sender:
                last_sender = msg.sender
            last_agent_pos = p
    return out


@attrs.frozen(slots=True)
class TeamworkScorer(FromCues):
    """团队合作: transfers are explained and the buyer loses no rounds.

    A transfer is a change of agent ``sender``, a system transfer notice
    (转交/转接), or an agent announcing one (为您转接, 专员).  Each scores
    ``0.5·explained + 0.5·answered``: *explained* when the buyer is told (a
    transfer phrase or notice around it), *answered* when the buyer's next
    message gets a reply and the buyer does not have to repeat themselves
    afterwards.  N/A when there is no transfer.
    """

    name: str = attrs.field(default="teamwork", init=False)

    def _score(self, conversation: Conversation, view: CueView) -> ScoreResult:
        """Score from the cue view alone (this dimension needs no other signal)."""
        if (na := need_agent(view)) is not None:
            return na
        transfers = _transfers(view, conversation)
        if not transfers:
            return not_applicable("no transfer (转接) in the conversation")
        repeats = {m.index for m in repeated_messages(view)}
        evidence: list[Evidence] = []
        per: list[float] = []
        for p, explained in transfers:
            m = view[p]
            evidence += m.evidence("transfer", 0.5) or [text_evidence(m, "transfer", 0.0)]
            nxt = next((q for q in range(p + 1, len(view)) if view[q].role is BUYER), None)
            answered = nxt is None or bool(reply_block(view, nxt))
            lost = any(x.index in repeats for x in view[p + 1 :])
            per.append(0.5 * explained + 0.5 * (answered and not lost))
        value = sum(per) / len(per)
        return ScoreResult(value, tuple(evidence), "", {"transfers": len(per)})
