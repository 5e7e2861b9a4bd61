"""Turn an :class:`~kefu_standards.analysis.Analysis` into the report's view model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._escalation import NOTHING_MATERIAL_ZH, escalation
from ._report_topics import topics_section
from ._trends import TEAM
from .analysis import UNASSIGNED_AGENT
from .outcomes._tables import outcomes_html
from .redact import RedactionPolicy, buyer_ids
from .report import (
    OUTCOME_TREND_METRICS,
    TREND_METRICS,
    AgentView,
    BannedHitView,
    ChatLine,
    KpiView,
    ReportView,
    RiskView,
    TrendSeries,
    TrendsView,
)

if TYPE_CHECKING:
    from .analysis import Analysis, ConversationResult
    from .model import Conversation

# Team targets and where they come from (DOMAIN.md §1, §5; marked where unverified).
SLA_TARGET = 0.90  # Taobao 三分钟响应率 ≥ 90 % (snsmcma repost; UNVERIFIED)
MEAN_RESPONSE_TARGET_S = 40.0  # JD 咚咚平均响应时长 < 40 s; 抖店 benchmark avg ≤ 40 s
FIRST_RESPONSE_TARGET_S = 60.0  # 抖店 benchmark first response ≤ 60 s


def _team_timing(s: Any) -> tuple[int, int, float | None, float | None, float | None]:
    """Return rounds, answered, reply rate, SLA rate and mean wait (s) of a timing summary."""
    rounds = int(np.sum(s.rounds))
    answered = int(np.sum(s.answered))
    scored = int(np.sum(s.scored))
    sla_rounds = int(np.sum(s.sla_rounds))
    mean_wait = float(np.sum(s.sum_us)) / scored / 1e6 if scored else None
    reply = answered / rounds if rounds else None
    sla = float(np.sum(s.sla_hits)) / sla_rounds if sla_rounds else None
    return rounds, answered, reply, sla, mean_wait


def describe_policy(p: Any) -> str:
    """Name a timing policy with what changes its figures: window, cap, SLA, sessions."""
    window = p.window or "全天 all day"
    if p.window is not None and p.window_by == "session":
        window += " (by session start)"
    cap = "no cap" if p.cap_s is None else f"cap {p.cap_s:g}秒"
    if p.unanswered == "cap":
        cap += ", unanswered = cap"
    sla = f"SLA {p.sla_s:g}秒" + (
        " (first round of each session)" if p.sla_scope == "first" else ""
    )
    gap = "" if p.idle_gap_s is None else f", new session after {p.idle_gap_s:g}秒 idle"
    return f"TimingPolicy {p.name!r}: {window}, {cap}, {sla}{gap}"


def _targeted(
    analysis: Analysis, preset: str, pick: int, run_value: float | None
) -> tuple[float | None, str, bool]:
    """Return a KPI held against *preset*'s target, its policy, and whether it is the run's.

    *pick* indexes :func:`_team_timing` (3: SLA rate, 4: mean wait).  Computed
    under the platform's preset in the same pass (``Analysis.timing_by_platform``);
    the run's own value when the run used that preset or the preset was not kept.
    """
    run = analysis.timing_by_agent.policy
    platform = getattr(analysis, "timing_by_platform", {}).get(preset)
    if run.name == preset or platform is None:
        return run_value, describe_policy(run), True
    return _team_timing(platform)[pick], describe_policy(platform.policy), False


def _run_note(value: float | None, unit: str, policy: str) -> str:
    """Say the run's own value of a KPI shown under a platform preset (no target)."""
    if value is None:
        shown = "—"
    elif unit == "%":
        shown = f"{value * 100:.1f}%"
    else:
        shown = f"{value:.0f}秒" if value < 120 else f"{value / 60:.1f}分"
    return f"; 本次口径 this run (TimingPolicy {policy!r}, no target): {shown}"


def _team_kpis(analysis: Analysis) -> tuple[KpiView, ...]:
    s = analysis.timing_by_agent
    rounds, answered, reply, sla, mean_wait = _team_timing(s)
    totals = [r.total for r in analysis.agents.values() if r.total is not None]
    high = sum(r.high_risk for r in analysis.agents.values())
    timing = describe_policy(s.policy)
    # -- outcomes (#15): KPIs held against a platform target use that platform's preset;
    # the run's own value (under its own policy) is said in the row's note
    sla_p, sla_policy, sla_is_run = _targeted(analysis, "taobao", 3, sla)
    mean_p, mean_policy, mean_is_run = _targeted(analysis, "jd", 4, mean_wait)
    return (
        KpiView("回复率 reply rate", reply, "%", note=f"{answered}/{rounds} 轮次", policy=timing),
        KpiView(
            "三分钟响应率 3-minute rate" + ("" if sla_is_run else " (淘宝口径 Taobao preset)"),
            sla_p,
            "%",
            target="≥ 90%",
            ok=None if sla_p is None else sla_p >= SLA_TARGET,
            note="淘宝三分钟人工响应率 (目标来源未核实)"
            + ("" if sla_is_run else _run_note(sla, "%", s.policy.name)),
            policy=sla_policy,
        ),
        KpiView(
            "平均响应时间 mean response" + ("" if mean_is_run else " (京东口径 JD preset)"),
            mean_p,
            "s",
            target="< 40秒",
            ok=None if mean_p is None else mean_p < MEAN_RESPONSE_TARGET_S,
            note="京东咚咚平均响应时长要求"
            + ("" if mean_is_run else _run_note(mean_wait, "s", s.policy.name)),
            policy=mean_policy,
        ),
        KpiView(
            "平均综合分 mean competency",
            sum(totals) / len(totals) if totals else None,
            "",
            note="九项标准评分卡, 0–100",
            policy="Scorecard.default(), 客服均值",
        ),
        KpiView(
            "高风险会话 high-risk conversations",
            float(high),
            "n",
            note="升级风险 high",
            policy="escalation() level",
        ),
    )


def _lines(conv: Conversation, result: ConversationResult) -> tuple[ChatLine, ...]:
    """Return the chat of a risky conversation, highlighting its listed reasons' evidence."""
    spans: dict[int, list[tuple[int, int, str]]] = {}
    esc = escalation(conv)
    for e in (ev for r in esc.risk_reasons for ev in r.evidence):
        if e.message_index is not None:
            spans.setdefault(e.message_index, []).append((e.start, e.end, e.kind))
    return tuple(
        ChatLine(
            role=m.role.value,
            sender=m.sender or m.role.value,
            time=m.sent_at.strftime("%m-%d %H:%M:%S") if m.sent_at else "",
            text=m.text,
            spans=tuple(spans.get(i, ())),
        )
        for i, m in enumerate(conv)
    )


def build_view(
    analysis: Analysis,
    title: str = "客服质量报告 Customer-service quality",
    redaction: RedactionPolicy | None = None,
) -> Any:
    """Build the :class:`~kefu_standards.report.ReportView` for *analysis*.

    *redaction* (default: masking on) is applied when the view is rendered.
    """
    policy = RedactionPolicy() if redaction is None else redaction
    trends = analysis.trends
    learning = {x.agent: x for x in trends.learning}
    agents = []
    for row in analysis.agent_rows():
        roll = analysis.agents[row["agent"]]
        agents.append(
            AgentView(
                agent=row["agent"],
                conversations=row["conversations"],
                rounds=int(row["rounds"]),
                reply_rate=row["reply_rate"],
                mean_wait_s=row["mean_wait_s"],
                p90_wait_s=row["p90_wait_s"],
                sla_rate=row["sla_rate"],
                politeness=row["politeness"],
                impolite_messages=row["impolite"],
                total=row["total"],
                wait_buckets=tuple(roll.wait_buckets),
                dimensions=tuple(
                    (analysis.dimension_labels.get(d, d), _dimension(roll, d, learning))
                    for d in analysis.dimension_names
                )
                if roll.conversations
                else (),
                na_reasons=tuple(
                    (analysis.dimension_labels.get(d, d), _na_reason(d, row["agent"], learning))
                    for d in analysis.dimension_names
                ),
            )
        )
    # best total first; agents without a total last, by name
    agents.sort(key=lambda a: (a.total is None, -(a.total or 0.0), a.agent))
    riskiest = tuple(
        RiskView(
            conversation_id=r.id,
            score=r.escalation or 0.0,
            level=r.escalation_level or "—",
            reasons=r.escalation_reasons or (NOTHING_MATERIAL_ZH,),
            lines=_lines(conv, r),
            buyers=buyer_ids(conv),
        )
        for r, conv in analysis.riskiest
    )
    banned = []
    for _r, conv, e in analysis.problems:
        i = e.message_index or 0
        m = conv.messages[i]
        banned.append(
            BannedHitView(
                agent=m.sender or UNASSIGNED_AGENT,
                conversation_id=conv.id,
                kind=e.kind,
                line=ChatLine(
                    role=m.role.value,
                    sender=m.sender or "",
                    time=m.sent_at.isoformat() if m.sent_at else "",
                    text=m.text,
                    spans=((e.start, e.end, e.kind),),
                ),
                buyers=buyer_ids(conv),
            )
        )
    first, last = analysis.first_time, analysis.last_time
    period = (
        f"{first:%Y-%m-%d} – {last:%Y-%m-%d}" if first is not None and last is not None else "—"
    )
    return ReportView(
        title=title,
        period=period,
        conversations=analysis.conversations,
        messages=analysis.messages,
        kpis=_team_kpis(analysis),
        agents=tuple(agents),
        trends=_trends_view(trends, [a.agent for a in agents]),
        riskiest=riskiest,
        banned=tuple(banned),
        redaction=policy,
        topics=topics_section(
            analysis.topic_rows(),
            analysis.topics.top_questions(10, min_count=2, policy=policy),
        ),
        notes=(
            policy.describe(),
            "聊天内容已转义 (chat text is escaped).",
            "响应时间按轮次计算: 买家首条未回复消息到客服首条回复 (rounds, not messages).",
            "目标值来源见 kefu_standards 文档 (targets and their sources are in the docs).",
            *_model_note(analysis.escalation_model),
        ),
        # -- outcomes (#15)
        outcomes_html=""
        if analysis.outcomes is None
        else outcomes_html(analysis.outcomes, [row["agent"] for row in analysis.agent_rows()]),
    )


def _model_note(name: str | None) -> tuple[str, ...]:
    """Return the notes line naming the fitted escalation model (none for the shipped one)."""
    if name is None:
        return ()
    return (
        f"升级风险: 店铺自训模型 (escalation risk: {name}); "
        "风险原因仍解释内置信号 (reasons explain the shipped signals).",
    )


def _dimension(roll: Any, name: str, learning: dict[str, Any]) -> float | None:
    """Return an agent's dimension mean; 持续学习 from the trends (agent level, never per chat)."""
    if name == "continuous_learning":
        got = learning.get(roll.agent)
        return None if got is None else got.score
    return roll.dimension(name)  # type: ignore[no-any-return]


def _na_reason(name: str, agent: str, learning: dict[str, Any]) -> str:
    if name == "continuous_learning":
        got = learning.get(agent)
        return "N/A: no dated conversation" if got is None else got.reason
    if name == "data_analysis":
        return "N/A: 数据分析 needs the shop's KPIs (profile_agent(kpi_scorer=...))"
    return "N/A in every conversation of this agent"


def _trends_view(trends: Any, order: list[str]) -> TrendsView:
    """One sparkline row for the team, then one per agent in *order* (the grid's)."""
    series = []
    by_agent: dict[str, list[Any]] = {}
    for r in trends.rows:
        by_agent.setdefault(r.agent, []).append(r)
    learning = {x.agent: x.sentence for x in trends.learning}
    rank = {name: i for i, name in enumerate([TEAM, *order])}
    metrics = TREND_METRICS + (OUTCOME_TREND_METRICS if trends.outcomes_given else ())
    for agent, rows in sorted(by_agent.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])):
        values = tuple(
            tuple(
                float(r.conversations) if key == "conversations" else getattr(r, key) for r in rows
            )
            for key, _, _, _ in metrics
        )
        series.append(
            TrendSeries(agent, values, learning=learning.get(agent, ""), team=agent == TEAM)
        )
    return TrendsView(
        period=trends.period,
        periods=trends.periods,
        series=tuple(series),
        policy=f"TimingPolicy {trends.policy!r}",
        min_conversations=trends.min_conversations,
        metrics=metrics,
        outcome_policy=_OUTCOME_POLICY if trends.outcomes_given else "",
    )


#: How the outcome KPIs of the trends are defined (outcomes.KPI_DEFINITIONS, in short).
_OUTCOME_POLICY = (
    "outcomes.KPI_DEFINITIONS — 满意率 (非常满意+满意)/评价数, "
    "不满意率 (不满意+非常不满意)/评价数, 询单转化率 当日或次日付款/询单人数, "
    "退款率 退款成功/付款订单, 纠纷退款率 客服介入的退款成功/付款订单; 按会话所在周期计"
)
