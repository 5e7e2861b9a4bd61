"""Outcomes: agent ratings, orders, refunds and reviews, joined to the chats they followed.

Read outcome exports with :func:`read_ratings`, :func:`read_orders`,
:func:`read_refunds` and :func:`read_reviews`; join them to conversations with
:class:`OutcomeJoin`; read the KPIs shops are judged by (满意率, 询单转化率,
退款率, 纠纷退款率, 差评率) from its mergeable :class:`OutcomeSummary`.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from ._diagnosis import Finding, diagnose
from ._diagsums import DiagnosisSums, SideSums
from ._join import REASONS, ChatStub, JoinCounts, Link, OutcomeJoin, OutcomeResult
from ._kpis import KPI_DEFINITIONS, OutcomeCounts, OutcomeKpi, OutcomeSummary
from ._platform import PlatformRow, compare_with_platform, read_platform_report
from ._readers import OutcomeReadReport, read_orders, read_ratings, read_refunds, read_reviews
from ._records import RATING_SCALES, Order, Rating, Refund, Review, Satisfaction
from ._spill import PartitionedOutcomeJoin

__all__ = [
    "KPI_DEFINITIONS",
    "RATING_SCALES",
    "REASONS",
    "ChatStub",
    "DiagnosisSums",
    "Finding",
    "JoinCounts",
    "Link",
    "Order",
    "OutcomeCounts",
    "OutcomeJoin",
    "OutcomeKpi",
    "OutcomeReadReport",
    "OutcomeResult",
    "OutcomeSummary",
    "PartitionedOutcomeJoin",
    "PlatformRow",
    "Rating",
    "Refund",
    "Review",
    "Satisfaction",
    "SideSums",
    "compare_with_platform",
    "diagnose",
    "read_orders",
    "read_platform_report",
    "read_ratings",
    "read_refunds",
    "read_reviews",
]
