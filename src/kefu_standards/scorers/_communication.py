"""2 沟通能力: :class:`CommunicationScorer`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from kefu_standards._competency_cues import CueMessage
from kefu_standards._cues import is_exasperated
from kefu_standards._signals import Signals
from kefu_standards.evidence import Evidence, ScoreResult
from kefu_standards.model import Conversation

from ._base import (
    AGENT,
    BUYER,
    FromSignals,
    buyer_messages,
    clip,
    escalation_of,
    is_timed,
    mean_of,
    need_agent,
    not_applicable,
    reason_indexes,
    repeated_messages,
    reply_block,
    signal_field,
    text_evidence,
    unhelpful,
    unhelpful_evidence,
    why,
)

_PUNCT_ONLY_RE = re.compile(r"\s*[?？!！。.…、,，~]+\s*")


def _nudges(view: Sequence[CueMessage]) -> list[CueMessage]:
    """Buyer messages chasing a reply (在吗, 人呢, ``??``) to a message still unanswered.

    A nudge counts only while the buyer is waiting: some earlier buyer message
    with content has had no agent reply yet.  在吗 as an opener, or right after
    the agent answered, chases nothing.
    """
    out: list[CueMessage] = []
    waiting = False
    for m in view:
        if m.role is AGENT and m.content:
            waiting = False
            continue
        if m.role is not BUYER:
            continue
        nudge = ("nudge" in m.kinds) or (
            not m.content and _PUNCT_ONLY_RE.fullmatch(m.text) is not None
        )
        if nudge and waiting:
            out.append(m)
        elif m.content and not nudge:
            waiting = True
    return out


# Escalation's own ``repetition`` reason is not here: the scorer finds repeats
# itself (我说过了, a question asked again after a reply), and since issue #19
# that reason also lists a statement restated before any reply, which is no
# failure of the agent's communication.
_BUYER_EVENTS = frozenset({"impatience", "correction", "unanswered_run"})


@attrs.frozen(slots=True)
class CommunicationScorer(FromSignals):
    """沟通能力: questions get answers, on time, and the buyer need not chase or repeat.

    ``score = base − event_penalty × events`` (clipped to [0, 1]).  **base** is
    the mean of the parts that apply: *reply* — share of buyer question blocks
    answered by something other than "can't", "don't know" or "ask someone
    else" (an unanswered question counts as not answered); *timing* — with
    timestamps, the mean of ``reply_rate`` and ``within_sla_rate`` from
    ``timing``.  1 when neither applies.  **events** are the buyer messages
    showing a communication failure, each counted once: a repeat (我说过了, or
    the same question asked again after a reply), a nudge (在吗, 人呢, ``??``
    after the buyer's first message), a mismatch (没明白 / 答非所问), an
    exasperated trailing-off (``。。。`` / ``……`` inside words, the buyer cue
    *exasperation*), and the buyer messages the escalation analysis flags as
    impatience, correction or an unanswered run (its ``reasons``).  ``event_penalty``
    is 0.10: 晓多 deducts 10 of 100 points for 重复让顾客复述问题.  N/A without
    a buyer and an agent message.
    """

    timing: Callable[[Conversation], Any] | None = signal_field()
    escalation: Callable[[Conversation], Any] | None = signal_field()
    event_penalty: float = attrs.field(default=0.10, converter=float)
    name: str = attrs.field(default="communication", init=False)

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        conversation, view = sig.conversation, sig.cues
        if (na := need_agent(view)) is not None:
            return na
        if not buyer_messages(view):
            return not_applicable("no buyer message: no communication to assess")
        evidence: list[Evidence] = []
        asked = answered = 0
        for p, m in enumerate(view):
            if m.role is BUYER and m.question:
                nxt = view[p + 1] if p + 1 < len(view) else None
                if nxt is not None and nxt.role is BUYER:
                    continue  # the block's last message decides
                asked += 1
                block = reply_block(view, p)
                if block and not all(unhelpful(x) for x in block):
                    answered += 1
                elif block:
                    evidence += [e for x in block for e in unhelpful_evidence(x)]
                else:
                    evidence.append(text_evidence(m, "unanswered_question", -1.0))
        reply = answered / asked if asked else None
        timing: float | None = None
        if is_timed(conversation):
            times = self.timing(conversation) if self.timing is not None else sig.timing
            if times is not None:
                rates = [getattr(times, k, None) for k in ("reply_rate", "within_sla_rate")]
                timing = mean_of(float(r) for r in rates if r is not None)
        base = mean_of(v for v in (reply, timing) if v is not None)
        events: dict[int, str] = {}
        for m in repeated_messages(view):
            events.setdefault(m.index, "repeat")
            evidence.extend(m.evidence("repeat", -1.0) or [text_evidence(m, "repeat", -1.0)])
        for m in _nudges(view):
            if m.index not in events:
                events[m.index] = "nudge"
                evidence.append(text_evidence(m, "nudge", -0.5))
        for m in view:
            if (("not_understood" in m.kinds) or ("mismatch" in m.kinds)) and m.index not in events:
                events[m.index] = "mismatch"
                evidence += m.evidence("not_understood", -1.0) + m.evidence("mismatch", -1.0)
        for m in view:
            if m.role is BUYER and m.index not in events and is_exasperated(m.text):
                events[m.index] = "exasperation"
                evidence.append(text_evidence(m, "exasperation", -0.5))
        esc = escalation_of(self.escalation, sig)
        for i, kind in sorted(reason_indexes(esc, _BUYER_EVENTS).items()):
            if 0 <= i < len(view) and view[i].role is BUYER and i not in events:
                events[i] = kind
                evidence.append(text_evidence(view[i], kind, -0.5, "escalation"))
        value = clip((1.0 if base is None else base) - self.event_penalty * len(events))
        kinds = list(events.values())
        details = {
            "reply": reply,
            "timing": timing,
            "events": len(events),
            **{
                k: kinds.count(k)
                for k in ("repeat", "nudge", "mismatch", "exasperation", *sorted(_BUYER_EVENTS))
            },
            "escalation": esc is not None,
        }
        return ScoreResult(value, tuple(evidence), why(evidence), details)
