"""Red line 不辱骂: :class:`NoInsultScorer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from kefu_standards._signals import Signals
from kefu_standards.evidence import Evidence, ScoreResult

from ._base import FromSignals, agent_messages, clean_result, need_agent, signal_field

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
class NoInsultScorer(FromSignals):
    """Critical: the agent insulted the buyer (0 = fired, 1 = clean).

    Fires on an ``offensive`` politeness marker (insult, slur, profanity), a
    contempt-category banned phrase (爱买不买), or the offensive-language model
    with probability at least ``model_threshold``.  The politeness lexicon itself
    keeps ``sb`` inside ``USB`` and 滚 in 财源滚滚 from matching.
    N/A without an agent message.
    """

    politeness: Callable[[str], Any] | None = signal_field()
    model_threshold: float = attrs.field(default=0.9, converter=float)
    name: str = attrs.field(default="no_insult", init=False)

    def score_signals(self, sig: Signals, /) -> ScoreResult:
        """Score the conversation of *sig* from its signals (see the class docstring)."""
        view = sig.cues
        if (na := need_agent(view)) is not None:
            return na
        fired: list[Evidence] = []
        fn, threshold = self.politeness, self.model_threshold
        for m in agent_messages(view):
            if fn is None:
                found = _insults(sig.politeness[m.index], threshold)
            else:
                found = _insults(fn(m.text), threshold)
            fired += [e.at(m.index) for e in found]
        if fired:
            first = fired[0]
            reason = f"the agent insulted the buyer: {first.text!r} (message {first.message_index})"
            return ScoreResult(0.0, tuple(fired), reason, {"hits": len(fired)})
        return clean_result()
