"""5 抗压能力: :class:`StressResilienceScorer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from kefu_standards._signals import Signals
from kefu_standards.evidence import Evidence, ScoreResult

from ._base import (
    BUYER,
    FromSignals,
    clip,
    need_agent,
    not_applicable,
    reply_block,
    rude_of,
    sentiments_of,
    signal_field,
    text_evidence,
)

# -- 5 心理素质 -------------------------------------------------------------------


@attrs.frozen(slots=True)
class StressResilienceScorer(FromSignals):
    """心理素质: courteous and calm replies when the buyer is negative or abusive.

    Negative buyer messages are those with sentiment P(positive) below
    ``negative_below`` or a negative cue (投诉, 差评, 垃圾, 算了 ...).  Each is
    scored by the agent's reply block: 1 if the reply is polite, 0.75 if
    neutral without rude markers, ``0.4 − 0.2`` per extra rude marker if it has
    banned / harsh / offensive markers or is impolite, 0.5 if the agent did not
    reply.  N/A when the buyer was never negative.
    """

    politeness: Callable[[str], Any] | None = signal_field()
    sentiment: Callable[[str], float | None] | None = signal_field()
    negative_below: float = attrs.field(default=0.25, converter=float)
    name: str = attrs.field(default="stress_resilience", init=False)

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := need_agent(view)) is not None:
            return na
        positions = [p for p, m in enumerate(view) if m.role is BUYER and m.content]
        sents = sentiments_of(self.sentiment, sig, [view[p] for p in positions])
        negative = [
            p
            for p, s in zip(positions, sents, strict=True)
            if ("negative" in view[p].kinds) or (s is not None and s < self.negative_below)
        ]
        if not negative:
            return not_applicable("the buyer was never negative: nothing to withstand")
        evidence: list[Evidence] = []
        per: list[float] = []
        seen: set[int] = set()
        for p in negative:
            block = reply_block(view, p)
            key = block[0].index if block else -1 - p
            if key in seen:
                continue  # one reply block answers consecutive negative messages once
            seen.add(key)
            evidence += view[p].evidence("negative", -0.5) or [
                text_evidence(view[p], "negative", -0.5)
            ]
            if not block:
                per.append(0.5)
                continue
            rude: list[Evidence] = []
            labels: list[str | None] = []
            for m in block:
                pol, hits = rude_of(self.politeness, sig, m)
                labels.append(getattr(pol, "label", None))
                rude += [e.at(m.index) for e in hits]
            evidence += rude
            if rude or "impolite" in labels:
                per.append(clip(0.4 - 0.2 * max(0, len(rude) - 1)))
            elif "polite" in labels:
                per.append(1.0)
            else:
                per.append(0.75)
        value = sum(per) / len(per)
        return ScoreResult(value, tuple(evidence), "", {"negative_messages": len(per)})
