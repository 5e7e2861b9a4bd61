"""7 数据分析: :class:`DataAnalysisScorer` (N/A from a chat)."""

from __future__ import annotations

import attrs

from kefu_standards._signals import Signals
from kefu_standards.evidence import ScoreResult
from kefu_standards.model import Conversation

from ._base import not_applicable

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
        return not_applicable(
            "数据分析 is not observable in one conversation; at agent level pass "
            "kpi_scorer= to profile_agent()"
        )
