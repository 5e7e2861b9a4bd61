"""Competency scoring: scorecards, the nine-standard rubric, assessments and agent profiles.

A :class:`Scorecard` is a flat list of :class:`Criterion` objects; each names a
scorer (built-in, plug-in, or any object with ``name`` and ``score``), a
weight, whether it is **critical** (一票否决: failing it sets the total to 0) and
what to do when it does not apply (N/A).  :func:`assess` runs a scorecard over
one conversation and returns an :class:`Assessment` (total in [0, 100], one
:class:`DimensionScore` per criterion, the failed critical items).
:func:`profile_agent` rolls assessments up for one agent over a period.

The default scorecard (:meth:`Scorecard.default`) measures the nine standards of
a 客服 (专业知识, 沟通能力, 服务态度, 应变处理, 心理素质, 团队合作, 数据分析,
责任心和执行力, 持续学习) plus two critical items (insulting the buyer; promising
money that is not arranged).  Its weights and their sources are in
``data/competency/default.toml`` and ``docs/explanation/competency.md``.

Scorecards load from and print back to TOML (``Scorecard.from_toml(sc.to_toml())
== sc``) and plain dicts.
"""

from __future__ import annotations

from ._profiles import (
    AgentProfile,
    CostlyConversation,
    DimensionSummary,
    PeriodTotal,
    Trend,
    profile_agent,
)
from ._scorecard import (
    NA_RULES,
    PERIODS,
    Assessment,
    Criterion,
    CriticalFailure,
    DimensionScore,
    Scorecard,
    assess,
)

__all__ = [
    "NA_RULES",
    "PERIODS",
    "AgentProfile",
    "Assessment",
    "CostlyConversation",
    "Criterion",
    "CriticalFailure",
    "DimensionScore",
    "DimensionSummary",
    "PeriodTotal",
    "Scorecard",
    "Trend",
    "assess",
    "profile_agent",
]
