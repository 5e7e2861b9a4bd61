"""Trends over time: per agent and for the team, per week (or day), from mergeable sums.

:class:`TrendSums` keeps, for each (agent, day) and for the team per day, a
handful of counts and sums of the per-conversation results (conversations,
first-response sum, politeness sum, impolite replies, high-risk conversations,
total and dimension sums).  It holds no conversation, so memory grows with
agents x days, not with conversations, and ``a.merge(b)`` is the sums of both.
Round-level waits and the 三分钟响应率 come from the timing policy's own
``TimingSummary`` by ``("agent", "day")`` (and ``("day",)`` for the team).

The period is chosen only when the rows are built (:func:`build_trends`):
ISO weeks when the data spans at least :data:`WEEKLY_FROM_DAYS` days, else days.
Days are summed into weeks, so the choice never changes a count.

持续学习 (continuous learning) becomes measurable here, at agent level: the
least-squares slope of the agent's per-period mean total (in points per week,
whatever the period) over periods with at least *min_conversations*
conversations, mapped to [0, 1] as ``0.5 + slope / (2 * learning_scale)``
(the mapping of :func:`kefu_standards.competency.profile_agent`, whose slope is
per period and whose scale defaults to 10), with a plain sentence.  The default
scale here is 2 points a week: +2 a week (26 points over a quarter) scores 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from ._frozendict import FrozenDict, FrozenMap, frozen_dict, frozen_map
from .exceptions import ConfigError
from .outcomes import OutcomeCounts, OutcomeSummary

if TYPE_CHECKING:
    from .analysis import ConversationResult

__all__ = [
    "OUTCOME_TREND_COLUMNS",
    "TEAM",
    "WEEKLY_FROM_DAYS",
    "AgentLearning",
    "TrendCell",
    "TrendRow",
    "TrendSums",
    "Trends",
    "build_trends",
]

#: The ``agent`` value of the team's rows (every conversation once).
TEAM = "全部 (team)"

#: Data spanning at least this many days is shown by ISO week, shorter spans by day.
WEEKLY_FROM_DAYS = 21

#: Dimensions measured at agent level, never per conversation: not "weakest" candidates.
_AGENT_LEVEL = frozenset({"data_analysis", "continuous_learning"})

#: The CSV columns of :meth:`Trends.rows`, in order.
TREND_COLUMNS = (
    "agent",
    "period",
    "conversations",
    "rounds",
    "first_response_s",
    "mean_response_s",
    "within_sla_rate",
    "politeness",
    "impolite_messages",
    "high_risk",
    "escalation_rate",
    "total",
    "policy",
)

#: The outcome KPIs of :data:`kefu_standards.outcomes.KPI_DEFINITIONS` followed over
#: time (rates in [0, 1]); ``trends.csv`` has these columns (before ``policy``)
#: when outcome files were joined.
OUTCOME_TREND_COLUMNS = (
    "satisfaction_rate",
    "dissatisfaction_rate",
    "inquiry_conversion",
    "refund_rate",
    "dispute_rate",
)


@attrs.define(slots=True)
class _Cell:
    """Running sums of one (agent or team, day) (frozen into a :class:`TrendCell`)."""

    conversations: int = 0
    first_sum: float = 0.0
    first_n: int = 0
    politeness_sum: float = 0.0
    politeness_n: int = 0
    impolite: int = 0
    high_risk: int = 0
    total_sum: float = 0.0
    total_n: int = 0
    dim_sum: dict[str, float] = attrs.field(factory=dict)
    dim_n: dict[str, int] = attrs.field(factory=dict)

    def merge(self, other: _Cell | TrendCell) -> None:
        """Add *other*'s sums into these (*other* is not changed)."""
        self.conversations += other.conversations
        self.first_sum += other.first_sum
        self.first_n += other.first_n
        self.politeness_sum += other.politeness_sum
        self.politeness_n += other.politeness_n
        self.impolite += other.impolite
        self.high_risk += other.high_risk
        self.total_sum += other.total_sum
        self.total_n += other.total_n
        for k, v in other.dim_sum.items():
            self.dim_sum[k] = self.dim_sum.get(k, 0.0) + v
            self.dim_n[k] = self.dim_n.get(k, 0) + other.dim_n.get(k, 0)

    def frozen(self) -> TrendCell:
        """Return these sums as a frozen :class:`TrendCell`."""
        return TrendCell(**attrs.asdict(self, recurse=False))  # the same fields, frozen


@attrs.frozen
class TrendCell:
    """The sums of one (agent or team, day) in a :class:`TrendSums` (frozen).

    .. versionadded:: 0.2.0
    """

    conversations: int = 0
    first_sum: float = 0.0
    first_n: int = 0
    politeness_sum: float = 0.0
    politeness_n: int = 0
    impolite: int = 0
    high_risk: int = 0
    total_sum: float = 0.0
    total_n: int = 0
    dim_sum: Mapping[str, float] = attrs.field(factory=FrozenDict, converter=frozen_dict)
    dim_n: Mapping[str, int] = attrs.field(factory=FrozenDict, converter=frozen_dict)


class _TrendAcc:
    """The running :class:`TrendSums` inside :func:`~kefu_standards.analyze` (mutable)."""

    __slots__ = ("cells", "undated")

    def __init__(self) -> None:
        self.cells: dict[tuple[str, int], _Cell] = {}
        self.undated = 0

    def _cell(self, agent: str, day: int) -> _Cell:
        cell = self.cells.get((agent, day))
        if cell is None:
            cell = self.cells[agent, day] = _Cell()
        return cell

    def add(self, r: ConversationResult) -> None:
        """Add one conversation's result (credited to each of its agents and to the team)."""
        if r.started_at is None:
            self.undated += 1
            return
        day = r.started_at.date().toordinal()
        high = r.escalation_level == "high"
        for who in (TEAM, *r.agents):
            cell = self._cell(who, day)
            cell.conversations += 1
            cell.high_risk += high
            if r.first_response_s is not None:
                cell.first_sum += r.first_response_s
                cell.first_n += 1
            if r.total is not None:
                cell.total_sum += r.total
                cell.total_n += 1
            for name, score in r.dimensions:
                if score is not None:
                    cell.dim_sum[name] = cell.dim_sum.get(name, 0.0) + score
                    cell.dim_n[name] = cell.dim_n.get(name, 0) + 1
        team = self._cell(TEAM, day)
        for who, s, n, bad in r.per_agent_politeness:
            for cell in (team, self._cell(who, day)):
                cell.politeness_sum += s
                cell.politeness_n += n
                cell.impolite += bad

    def add_sums(self, other: TrendSums) -> None:
        """Add a finished :class:`TrendSums` into these (*other* is not changed)."""
        for key, cell in other.cells.items():
            self._cell(*key).merge(cell)
        self.undated += other.undated

    def frozen(self) -> TrendSums:
        """Return these sums as a frozen :class:`TrendSums`."""
        return TrendSums({k: c.frozen() for k, c in self.cells.items()}, self.undated)


@attrs.frozen
class TrendSums:
    """Mergeable per-(agent, day) and per-team-day sums of conversation results.

    Keys are ``(agent, day ordinal)``; the team's key uses :data:`TEAM`.
    Conversations without a start time are counted in ``undated`` only.
    Frozen: ``cells`` is a read-only mapping of frozen :class:`TrendCell`;
    :meth:`of` builds the sums of results and :meth:`merge` returns new sums.

    .. versionadded:: 0.2.0
    """

    cells: Mapping[tuple[str, int], TrendCell] = attrs.field(
        factory=FrozenMap, converter=frozen_map
    )
    undated: int = 0

    @classmethod
    def of(cls, results: Iterable[ConversationResult]) -> TrendSums:
        """Return the sums of *results* (each credited to each of its agents and to the team)."""
        acc = _TrendAcc()
        for r in results:
            acc.add(r)
        return acc.frozen()

    def merge(self, *others: TrendSums) -> TrendSums:
        """Return the sums of these and *others* as new sums (the inputs are not changed)."""
        acc = _TrendAcc()
        for part in (self, *others):
            acc.add_sums(part)
        return acc.frozen()


@attrs.frozen
class TrendRow:
    """One agent (or the team, :data:`TEAM`) in one period.

    Rates are fractions in [0, 1], times seconds; ``None`` when undefined
    (no conversation, round or score in the period).  The outcome KPIs
    (:data:`OUTCOME_TREND_COLUMNS`) are ``None`` unless outcome files were
    joined, and then ``None`` when their denominator is 0 in the period.

    .. versionadded:: 0.2.0
    """

    agent: str
    period: str
    start: date
    conversations: int
    rounds: int
    first_response_s: float | None
    mean_response_s: float | None
    within_sla_rate: float | None
    politeness: float | None
    impolite_messages: int
    high_risk: int
    escalation_rate: float | None
    total: float | None
    dimensions: tuple[tuple[str, float | None], ...] = ()
    satisfaction_rate: float | None = None
    dissatisfaction_rate: float | None = None
    inquiry_conversion: float | None = None
    refund_rate: float | None = None
    dispute_rate: float | None = None

    def to_record(self, policy: str, *, outcomes: bool = False) -> dict[str, Any]:
        """Return the CSV row (``TREND_COLUMNS``), *policy* naming the timing policy.

        With *outcomes*, the :data:`OUTCOME_TREND_COLUMNS` come before ``policy``.
        """
        head = {
            "agent": self.agent,
            "period": self.period,
            "conversations": self.conversations,
            "rounds": self.rounds,
            "first_response_s": self.first_response_s,
            "mean_response_s": self.mean_response_s,
            "within_sla_rate": self.within_sla_rate,
            "politeness": self.politeness,
            "impolite_messages": self.impolite_messages,
            "high_risk": self.high_risk,
            "escalation_rate": self.escalation_rate,
            "total": self.total,
        }
        if outcomes:
            head |= {name: getattr(self, name) for name in OUTCOME_TREND_COLUMNS}
        return head | {"policy": policy}


@attrs.frozen
class AgentLearning:
    """持续学习 of one agent: the trend of its total, weakest dimension and mean wait.

    ``total_slope`` is the least-squares slope of the per-period mean total in
    points per week; ``score`` is ``0.5 + total_slope / (2 * learning_scale)``
    clipped to [0, 1]
    (``None`` with ``reason`` when fewer than 2 periods have enough
    conversations).  ``*_from`` / ``*_to`` are the means over the first and the
    last third of the usable periods; ``sentence`` says it in one line.

    .. versionadded:: 0.2.0
    """

    agent: str
    periods: int
    score: float | None
    total_slope: float | None
    total_from: float | None
    total_to: float | None
    weakest: str | None
    weakest_from: float | None
    weakest_to: float | None
    wait_from: float | None
    wait_to: float | None
    sentence: str
    reason: str = ""


@attrs.frozen
class Trends:
    """Per-period rows for each agent and the team, plus each agent's 持续学习.

    ``outcomes_given`` names the outcome kinds joined (``ratings``, ``orders``,
    ...); when it is not empty the rows carry the outcome KPIs and
    :attr:`columns` includes them.

    .. versionadded:: 0.2.0
    """

    period: str
    policy: str
    rows: tuple[TrendRow, ...]
    learning: tuple[AgentLearning, ...]
    min_conversations: int
    undated: int = 0
    #: the outcome kinds joined (``ratings``, ``orders``, ...); empty without outcome files
    outcomes_given: frozenset[str] = frozenset()

    @property
    def columns(self) -> tuple[str, ...]:
        """The ``trends.csv`` columns: :data:`TREND_COLUMNS`, plus the outcome ones if joined."""
        if not self.outcomes_given:
            return TREND_COLUMNS
        return (*TREND_COLUMNS[:-1], *OUTCOME_TREND_COLUMNS, TREND_COLUMNS[-1])

    @property
    def periods(self) -> tuple[str, ...]:
        """The period labels in order (every period of the span, also empty ones)."""
        return tuple(dict.fromkeys(r.period for r in self.rows if r.agent == TEAM))

    def of(self, agent: str) -> tuple[TrendRow, ...]:
        """Return the rows of *agent* (:data:`TEAM` for the team), in period order."""
        return tuple(r for r in self.rows if r.agent == agent)

    def learning_of(self, agent: str) -> AgentLearning | None:
        """Return the 持续学习 of *agent*, or ``None`` for an unknown agent."""
        return next((x for x in self.learning if x.agent == agent), None)

    def records(self) -> list[dict[str, Any]]:
        """Return the ``trends.csv`` rows (:attr:`columns`)."""
        given = bool(self.outcomes_given)
        return [r.to_record(self.policy, outcomes=given) for r in self.rows]


def _week_start(day: int) -> int:
    return day - date.fromordinal(day).weekday()


def _label(start: int, period: str) -> str:
    d = date.fromordinal(start)
    if period == "day":
        return d.isoformat()
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def choose_period(first_day: int, last_day: int) -> str:
    """``"week"`` when the days span at least :data:`WEEKLY_FROM_DAYS`, else ``"day"``."""
    return "week" if last_day - first_day + 1 >= WEEKLY_FROM_DAYS else "day"


def _ratio(num: float, den: int) -> float | None:
    return num / den if den else None


def build_trends(
    sums: TrendSums,
    timing_by_agent_day: Any,
    timing_by_day: Any,
    *,
    period: str | None = None,
    min_conversations: int = 5,
    learning_scale: float = 2.0,
    labels: Mapping[str, str] | None = None,
    outcomes: Any = None,
) -> Trends:
    """Build :class:`Trends` from the sums and the timing summaries by (agent, day) and day.

    *period* is ``"week"``, ``"day"`` or ``None`` (chosen from the span, see
    :func:`choose_period`).  Periods are continuous from the first to the last
    day with data: an agent's period without a conversation is a row with 0
    conversations and ``None`` values, so sparklines show gaps.  *labels* maps
    dimension names to the display names used in the 持续学习 sentences.
    *outcomes* is the :class:`~kefu_standards.outcomes.OutcomeResult` of the joined
    outcome files, or ``None``: its per-(agent, day) and per-day counts are summed
    into the periods and read as the :data:`OUTCOME_TREND_COLUMNS` rates.
    """
    if period not in (None, "week", "day"):
        raise ConfigError(f"period must be 'week', 'day' or None, got {period!r}")
    if min_conversations < 1:
        raise ConfigError(f"min_conversations must be >= 1, got {min_conversations}")
    if not learning_scale > 0:
        raise ConfigError(f"learning_scale must be > 0, got {learning_scale}")
    policy = str(getattr(getattr(timing_by_day, "policy", None), "name", "default"))
    days = sorted({d for _, d in sums.cells})
    given: frozenset[str] = frozenset() if outcomes is None else frozenset(outcomes.by_day.given)
    if not days:
        return Trends(period or "week", policy, (), (), min_conversations, sums.undated, given)
    chosen = period or choose_period(days[0], days[-1])

    def bucket(day: int) -> int:
        return day if chosen == "day" else _week_start(day)

    step = 1 if chosen == "day" else 7
    starts = list(range(bucket(days[0]), bucket(days[-1]) + 1, step))
    cells: dict[tuple[str, int], _Cell] = {}
    for (who, day), cell in sums.cells.items():
        key = (who, bucket(day))
        got = cells.get(key)
        if got is None:
            got = cells[key] = _Cell()
        got.merge(cell)
    timing: dict[tuple[str, int], list[int]] = {}
    for summary, team in ((timing_by_agent_day, False), (timing_by_day, True)):
        if summary is None:
            continue
        for i, key in enumerate(summary.keys):
            who = TEAM if team else key[0]
            if who is None:
                continue  # rounds credited to no agent count for the team only
            day = date.fromisoformat(str(key[-1])).toordinal()
            acc = timing.setdefault((who, bucket(day)), [0, 0, 0, 0, 0])
            acc[0] += int(summary.rounds[i])
            acc[1] += int(summary.scored[i])
            acc[2] += int(summary.sum_us[i])
            acc[3] += int(summary.sla_rounds[i])
            acc[4] += int(summary.sla_hits[i])
    outcome_cells = _outcome_cells(outcomes, bucket)
    outcome_rates = OutcomeSummary("agent_day", outcome_cells, given)
    agents = sorted({who for who, _ in sums.cells if who != TEAM})
    dim_names = list(dict.fromkeys(k for c in sums.cells.values() for k in c.dim_sum))
    rows: list[TrendRow] = []
    for who in (TEAM, *agents):
        for start in starts:
            c = cells.get((who, start), _Cell())
            t = timing.get((who, start), [0, 0, 0, 0, 0])
            rates = outcome_rates.columns((who, start)) if given else {}
            rows.append(
                TrendRow(
                    agent=who,
                    period=_label(start, chosen),
                    start=date.fromordinal(start),
                    conversations=c.conversations,
                    rounds=t[0],
                    first_response_s=_ratio(c.first_sum, c.first_n),
                    mean_response_s=_ratio(t[2] / 1e6, t[1]),
                    within_sla_rate=_ratio(t[4], t[3]),
                    politeness=_ratio(c.politeness_sum, c.politeness_n),
                    impolite_messages=c.impolite,
                    high_risk=c.high_risk,
                    escalation_rate=_ratio(c.high_risk, c.conversations),
                    total=_ratio(c.total_sum, c.total_n),
                    dimensions=tuple(
                        (d, _ratio(c.dim_sum.get(d, 0.0), c.dim_n.get(d, 0))) for d in dim_names
                    ),
                    **{k: _rate(rates.get(k)) for k in OUTCOME_TREND_COLUMNS},
                )
            )
    all_rows = tuple(rows)
    learning = tuple(
        agent_learning(
            who,
            [r for r in all_rows if r.agent == who],
            chosen,
            min_conversations=min_conversations,
            learning_scale=learning_scale,
            overall=_overall_dims(cells, who),
            labels=labels,
        )
        for who in agents
    )
    return Trends(chosen, policy, all_rows, learning, min_conversations, sums.undated, given)


def _rate(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _outcome_cells(outcomes: Any, bucket: Any) -> dict[tuple[str, int], OutcomeCounts]:
    """Sum the outcome counts per (agent, day) and per day (the team) into (who, period start)."""
    out: dict[tuple[str, int], OutcomeCounts] = {}
    if outcomes is None:
        return out
    for summary, team in ((outcomes.by_agent_day, False), (outcomes.by_day, True)):
        for key, counts in summary.groups.items():
            who, day = (TEAM, key) if team else key
            if who is None or day is None:
                continue  # credited to no agent (the team's rows count it), or undated
            start = bucket(date.fromisoformat(str(day)).toordinal())
            out.setdefault((who, start), OutcomeCounts()).add(counts)
    return out


def _overall_dims(cells: dict[tuple[str, int], _Cell], who: str) -> dict[str, float]:
    s: dict[str, float] = {}
    n: dict[str, int] = {}
    for (w, _), c in cells.items():
        if w != who:
            continue
        for k, v in c.dim_sum.items():
            s[k] = s.get(k, 0.0) + v
            n[k] = n.get(k, 0) + c.dim_n.get(k, 0)
    return {k: s[k] / n[k] for k in s if n[k] and k not in _AGENT_LEVEL}


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of *ys* on *xs* (``None`` with fewer than 2 distinct xs)."""
    if len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def _thirds(values: Sequence[float]) -> tuple[float, float]:
    k = max(1, len(values) // 3)
    return sum(values[:k]) / k, sum(values[-k:]) / k


def _secs(value: float) -> str:
    return f"{value:.0f}秒" if value < 120 else f"{value / 60:.1f}分"


def _moved(a: float, b: float, fmt: str = "{:.0f}") -> str:
    if fmt.format(a) == fmt.format(b):
        return f"stayed at {fmt.format(a)}"
    verb = "rose" if b > a else "fell"
    return f"{verb} from {fmt.format(a)} to {fmt.format(b)}"


def agent_learning(
    agent: str,
    rows: Iterable[TrendRow],
    period: str,
    *,
    min_conversations: int = 5,
    learning_scale: float = 2.0,
    overall: dict[str, float] | None = None,
    labels: Mapping[str, str] | None = None,
) -> AgentLearning:
    """持续学习 of *agent* from its period rows (see :class:`AgentLearning`)."""
    usable = [r for r in rows if r.conversations >= min_conversations and r.total is not None]
    unit = "weeks" if period == "week" else "days"
    if len(usable) < 2:
        why = (
            f"N/A: {len(usable)} {period}(s) with >= {min_conversations} scored conversations; "
            "持续学习 needs at least 2"
        )
        said = f"{agent}: 持续学习 {why}"
        return AgentLearning(
            agent, len(usable), None, None, None, None, None, None, None, None, None, said, why
        )
    step = 7 if period == "week" else 1
    xs = [r.start.toordinal() / 7 for r in usable]  # weeks, so the slope is per week
    totals = [float(r.total) for r in usable if r.total is not None]
    s = slope(xs, totals)
    score = None if s is None else min(1.0, max(0.0, 0.5 + s / (2 * learning_scale)))
    t_from, t_to = _thirds(totals)
    span = round((usable[-1].start.toordinal() - usable[0].start.toordinal()) / step) + 1
    parts = [f"{agent}'s mean total {_moved(t_from, t_to)} over {span} {unit}"]
    if s is not None:
        parts[0] += f" ({s:+.1f} a week)"
    weakest = min(overall, key=lambda k: (overall[k], k)) if overall else None
    w_from = w_to = None
    if weakest is not None:
        ws = [v for r in usable for name, v in r.dimensions if name == weakest and v is not None]
        if len(ws) >= 2:
            w_from, w_to = _thirds(ws)
            label = (labels or {}).get(weakest, weakest)
            parts.append(f"weakest dimension {label} {_moved(w_from * 100, w_to * 100)} (of 100)")
    waits = [r.mean_response_s for r in usable if r.mean_response_s is not None]
    wait_from = wait_to = None
    if len(waits) >= 2:
        wait_from, wait_to = _thirds(waits)
        a, b = _secs(wait_from), _secs(wait_to)
        verb = "rose" if wait_to > wait_from else "fell"
        moved = f"stayed at {a}" if a == b else f"{verb} from {a} to {b}"
        parts.append(f"mean wait {moved}")
    sentence = "; ".join(parts) + "."
    return AgentLearning(
        agent=agent,
        periods=len(usable),
        score=None if score is None or math.isnan(score) else score,
        total_slope=s,
        total_from=t_from,
        total_to=t_to,
        weakest=weakest,
        weakest_from=w_from,
        weakest_to=w_to,
        wait_from=wait_from,
        wait_to=wait_to,
        sentence=sentence,
        reason="" if s is not None else "N/A: the usable periods share one start",
    )
