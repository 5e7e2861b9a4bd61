"""9 持续学习: :class:`ContinuousLearningScorer` (N/A from one chat)."""

from __future__ import annotations

import attrs

from kefu_standards._signals import Signals
from kefu_standards.evidence import ScoreResult
from kefu_standards.model import Conversation

from ._base import not_applicable


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
        return not_applicable(
            "持续学习 needs the agent's history: it is the trend of totals across "
            "periods in profile_agent()"
        )
