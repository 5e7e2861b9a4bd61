"""Agent profiles: assessments rolled up for one agent over a period (:func:`profile_agent`).

Public through :mod:`kefu_standards.competency`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

import attrs

from ._frozendict import FrozenDict
from ._scorecard import PERIODS, Assessment, Scorecard, assess
from .exceptions import ConfigError, UnknownNameError
from .model import Conversation, Role
from .redact import RedactionPolicy, redact
from .scoring import as_score_result
from .timing import response_times
from .typing import KpiScorer

__all__ = [
    "AgentProfile",
    "CostlyConversation",
    "DimensionSummary",
    "PeriodTotal",
    "Trend",
    "profile_agent",
]


def _frozen(value: Mapping[str, Any]) -> FrozenDict:
    """Return *value* as a FrozenDict, without copying one that already is."""
    return value if isinstance(value, FrozenDict) else FrozenDict(value)


# -- agent profiles ---------------------------------------------------------------------
@attrs.frozen(slots=True)
class DimensionSummary:
    """An agent's mean score on one criterion over a period.

    ``mean`` is over the conversations where the criterion applied (``n``);
    ``n_na`` counts the others.  ``mean`` is ``None`` (with ``reason``) when it
    never applied.
    """

    name: str
    label: str
    mean: float | None
    n: int
    n_na: int
    weight: float
    reason: str = ""
    details: FrozenDict = attrs.field(factory=FrozenDict, converter=_frozen)


@attrs.frozen(slots=True)
class PeriodTotal:
    """Mean total of an agent's assessed conversations in one period."""

    period: str
    start: date
    conversations: int
    mean_total: float | None


@attrs.frozen(slots=True)
class Trend:
    """Per-period mean totals and their least-squares slope (points per period).

    ``slope`` is ``None`` (with ``reason``) with fewer than two periods that
    have a total.
    """

    periods: tuple[PeriodTotal, ...]
    slope: float | None
    reason: str = ""


@attrs.frozen(slots=True)
class CostlyConversation:
    """A conversation that cost the agent points: how many, and why."""

    conversation_id: str
    total: float
    lost: float
    reason: str


@attrs.frozen(slots=True)
class AgentProfile:
    """One agent over a period: the nine dimensions, volume, KPIs, trend, worst chats.

    **Fields**

    agent:
        The agent (``Message.sender``).
    conversations:
        Conversations the agent took part in.
    messages:
        The agent's messages in them.
    total:
        Mean assessment total over conversations with a total (``None`` if none).
    dimensions:
        Criterion name → :class:`DimensionSummary`; 数据分析 comes from the
        ``kpi_scorer`` and 持续学习 from the trend.
    kpis:
        Response-time KPIs (mean first response, mean response, reply rate,
        within-SLA rate; ``None`` when undefined) plus any KPIs passed in.
    trend:
        Per-period totals and slope.
    worst:
        The conversations that cost the most points, most costly first.

    """

    agent: str
    conversations: int
    messages: int
    total: float | None
    dimensions: FrozenDict
    kpis: FrozenDict
    trend: Trend
    worst: tuple[CostlyConversation, ...] = ()


def _period_start(when: datetime, period: str) -> date:
    d = when.date()
    if period == "day":
        return d
    if period == "week":
        return date.fromordinal(d.toordinal() - d.weekday())
    return d.replace(day=1)


def _period_index(start: date, period: str) -> int:
    if period == "day":
        return start.toordinal()
    if period == "week":
        return start.toordinal() // 7
    return start.year * 12 + start.month


def _period_label(start: date, period: str) -> str:
    if period == "day":
        return start.isoformat()
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year}-{start.month:02d}"


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def _trend(items: Sequence[tuple[Conversation, Assessment]], period: str) -> Trend:
    groups: dict[date, list[Assessment]] = {}
    for conv, a in items:
        if conv.started_at is not None:
            groups.setdefault(_period_start(conv.started_at, period), []).append(a)
    periods = []
    for start in sorted(groups):
        totals = [a.total for a in groups[start] if a.total is not None]
        mean = sum(totals) / len(totals) if totals else None
        periods.append(PeriodTotal(_period_label(start, period), start, len(groups[start]), mean))
    usable = [p for p in periods if p.mean_total is not None]
    if len(usable) < 2:
        why = f"fewer than 2 {period}s with an assessed, timed conversation ({len(usable)})"
        return Trend(tuple(periods), None, why)
    xs = [float(_period_index(p.start, period)) for p in usable]
    ys = [float(p.mean_total) for p in usable if p.mean_total is not None]
    return Trend(tuple(periods), _slope(xs, ys))


def _default_response_times(conversation: Conversation) -> Any:
    return response_times(conversation)


_KPI_FIELDS = ("first_response_s", "mean_response_s", "reply_rate", "within_sla_rate")


def _kpis(
    convs: Sequence[Conversation], timing: Callable[[Conversation], Any] | None
) -> dict[str, float | None]:
    values: dict[str, list[float]] = {k: [] for k in _KPI_FIELDS}
    fn = timing or _default_response_times
    for conv in convs:
        if conv.started_at is None:
            continue
        times = fn(conv)
        if times is None:
            continue
        for k in _KPI_FIELDS:
            v = getattr(times, k, None)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                values[k].append(float(v))
    return {k: (sum(v) / len(v) if v else None) for k, v in values.items()}


def _learning(trend: Trend, per_10: float) -> tuple[float | None, str, dict[str, Any]]:
    if trend.slope is None:
        return None, trend.reason, {}
    score = min(1.0, max(0.0, 0.5 + trend.slope / (2 * per_10)))
    return score, "", {"slope": trend.slope, "periods": len(trend.periods)}


def _belongs(conv: Conversation, agent: str) -> bool:
    return agent in conv.agents or conv.meta.get("agent") == agent


def profile_agent(
    conversations: Iterable[Conversation],
    agent: str,
    *,
    period: Literal["day", "week", "month"] = "week",
    scorecard: Scorecard | None = None,
    kpis: Mapping[str, float | None] | None = None,
    kpi_scorer: KpiScorer | None = None,
    timing: Callable[[Conversation], Any] | None = None,
    worst: int = 5,
    learning_scale: float = 10.0,
    redaction: RedactionPolicy | None = None,
) -> AgentProfile:
    """Profile one agent over the given conversations.

    Parameters
    ----------
    conversations:
        Any conversations; those where *agent* is one of
        :attr:`Conversation.agents` (or ``meta["agent"]``) are used.
    agent:
        The agent's sender id.
    period:
        ``"day"``, ``"week"`` (ISO weeks, default) or ``"month"``, for the trend.
    scorecard:
        Default :meth:`Scorecard.default`.
    kpis:
        Extra KPIs from the shop's back office (``{"conversion_rate": 0.52}``),
        merged over the ones computed from the chats and given to *kpi_scorer*.
    kpi_scorer:
        A :class:`~kefu_standards.typing.KpiScorer`; it scores 数据分析
        (``data_analysis``), which is N/A without one.
    timing:
        ``conversation -> object with first_response_s, mean_response_s,
        reply_rate, within_sla_rate``; default
        :func:`kefu_standards.timing.response_times` when available.
    worst:
        How many costly conversations to keep.
    learning_scale:
        持续学习 = ``0.5 + slope / (2 · learning_scale)`` clipped to [0, 1]:
        improving by *learning_scale* points a period scores 1, dropping by as
        much scores 0 (this project's proposal).
    redaction:
        What the reasons of the costly conversations (``worst``, which quote
        the chat) mask; default :class:`~kefu_standards.redact.RedactionPolicy`
        (on).  Scores read the raw text.

    .. versionchanged:: 0.2.0
       *redaction*: the reasons shown for people are redacted by default.

    """
    if not isinstance(agent, str) or not agent:
        raise ConfigError(f"agent must be a non-empty str, got {agent!r}")
    if period not in PERIODS:
        raise UnknownNameError("period", period, PERIODS)
    if worst < 0:
        raise ConfigError(f"worst must be >= 0, got {worst}")
    if not learning_scale > 0:
        raise ConfigError(f"learning_scale must be > 0, got {learning_scale}")
    if redaction is not None and not isinstance(redaction, RedactionPolicy):
        raise ConfigError(f"redaction must be a RedactionPolicy, got {type(redaction).__name__}")
    card = Scorecard.default() if scorecard is None else scorecard
    mine = [c for c in conversations if _belongs(c, agent)]
    items = [(c, assess(c, card)) for c in mine]
    n_messages = sum(
        1
        for c in mine
        for m in c.messages
        if m.role is Role.AGENT and (m.sender == agent or (m.sender is None and _belongs(c, agent)))
    )
    kpi_values: dict[str, float | None] = _kpis(mine, timing)
    kpi_values["conversations"] = float(len(mine))
    if kpis:
        kpi_values.update(kpis)
    trend = _trend(items, period)
    dims: dict[str, DimensionSummary] = {}
    for c in card.criteria:
        scores = [a.dimensions[c.name].score for _, a in items]
        got = [s for s in scores if s is not None]
        n_na = len(scores) - len(got)
        mean = sum(got) / len(got) if got else None
        reason, details = "", {}
        if c.scorer == "data_analysis":
            if kpi_scorer is None:
                mean, reason = None, "N/A: no KPI scorer given (profile_agent(kpi_scorer=...))"
            else:
                r = as_score_result(kpi_scorer.score_kpis(FrozenDict(kpi_values)), kpi_scorer.name)
                mean, reason, details = r.score, r.reason, dict(r.details)
            got = [] if mean is None else [mean]
        elif c.scorer == "continuous_learning":
            mean, reason, details = _learning(trend, learning_scale)
            got = [] if mean is None else [mean]
        elif mean is None:
            reason = "N/A in every conversation" if items else "no conversation"
        dims[c.name] = DimensionSummary(
            c.name, c.display, mean, len(got), n_na, c.weight, reason, details
        )
    totals = [a.total for _, a in items if a.total is not None]
    costly = sorted(
        (
            CostlyConversation(
                a.conversation_id, a.total, 100.0 - a.total, redact(a.explain(), redaction).text
            )
            for _, a in items
            if a.total is not None and a.total < 100.0
        ),
        key=lambda x: (-x.lost, x.conversation_id),
    )
    return AgentProfile(
        agent=agent,
        conversations=len(mine),
        messages=n_messages,
        total=sum(totals) / len(totals) if totals else None,
        dimensions=FrozenDict(dims),
        kpis=FrozenDict(kpi_values),
        trend=trend,
        worst=tuple(costly[:worst]),
    )
