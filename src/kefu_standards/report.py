"""The self-contained HTML report a customer-service manager reads.

One file, no network: styles are inline, charts are inline SVG, and there is no
JavaScript at all.  Chat text is untrusted input (a buyer can type
``<script>``): every piece of text is HTML-escaped, personal data is masked
with :func:`kefu_standards.redact.redact` under the view's
:class:`~kefu_standards.redact.RedactionPolicy` (buyers appear as short hashes),
and a Content-Security-Policy forbids scripts as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import attrs

from ._report_topics import TopicsSection, render_topics
from .redact import RedactionPolicy, pseudonym, redact

__all__ = [
    "AgentView",
    "ChatLine",
    "KpiView",
    "ReportView",
    "RiskView",
    "TrendSeries",
    "TrendsView",
    "render_html",
]

#: Wait buckets of the response-time distribution chart (upper bounds in seconds).
WAIT_BUCKETS: tuple[tuple[str, float], ...] = (
    ("≤30秒", 30.0),
    ("30秒–1分", 60.0),
    ("1–3分", 180.0),
    ("3–10分", 600.0),
    (">10分", float("inf")),
)
_BUCKET_COLOURS = ("#2e7d32", "#7cb342", "#fbc02d", "#f57c00", "#c62828", "#616161")
_KIND_CLASS = {
    "courtesy": "good",
    "de_escalation": "good",
    "apology": "good",
    "solution": "good",
}


@attrs.frozen
class KpiView:
    """One team KPI against its target (``ok`` is None when there is no target).

    *unit* is ``"%"`` (a rate in [0, 1]), ``"s"`` (seconds, shown as 秒/分),
    ``"n"`` (a count, shown as an integer) or ``""`` (a score); *policy* names
    what computed the value (a timing policy, the scorecard, ...).
    """

    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""
    policy: str = ""


@attrs.frozen
class AgentView:
    """One agent's row: volume, response times, politeness and dimension scores."""

    agent: str
    conversations: int
    rounds: int
    reply_rate: float | None
    mean_wait_s: float | None
    p90_wait_s: float | None
    sla_rate: float | None
    politeness: float | None
    impolite_messages: int
    total: float | None
    wait_buckets: tuple[int, ...]  # counts per WAIT_BUCKETS, then unanswered
    dimensions: tuple[tuple[str, float | None], ...] = ()
    #: why a dimension is N/A, by dimension label (shown as the cell's tooltip)
    na_reasons: tuple[tuple[str, str], ...] = ()


#: The metrics drawn as sparklines: (key, heading, unit of :func:`_fmt`, higher is better).
TREND_METRICS: tuple[tuple[str, str, str, bool], ...] = (
    ("conversations", "会话", "n", True),
    ("mean_response_s", "平均响应", "s", False),
    ("within_sla_rate", "3分钟响应率", "%", True),
    ("politeness", "礼貌度", "", True),
    ("escalation_rate", "高风险率", "%", False),
    ("total", "综合分", "", True),
)

#: The outcome KPIs drawn as sparklines when outcome files were joined (same layout).
OUTCOME_TREND_METRICS: tuple[tuple[str, str, str, bool], ...] = (
    ("satisfaction_rate", "满意率", "%", True),
    ("dissatisfaction_rate", "不满意率", "%", False),
    ("inquiry_conversion", "询单转化率", "%", True),
    ("refund_rate", "退款率", "%", False),
    ("dispute_rate", "纠纷退款率", "%", False),
)


@attrs.frozen
class TrendSeries:
    """One sparkline row: an agent's (or the team's) values per period for each metric.

    ``values`` holds one tuple per metric of the view (:data:`TREND_METRICS`,
    then :data:`OUTCOME_TREND_METRICS` when outcomes were joined), one value per
    period (``None`` where undefined); ``learning`` is the 持续学习 sentence.

    .. versionadded:: 0.2.0
    """

    agent: str
    values: tuple[tuple[float | None, ...], ...]
    learning: str = ""
    team: bool = False


@attrs.frozen
class TrendsView:
    """The trends section: period labels and one :class:`TrendSeries` per row.

    *metrics* are the sparkline columns (key, heading, unit, higher is better);
    *outcome_policy* names how the outcome KPIs are defined, when they are shown.

    .. versionadded:: 0.2.0
    """

    period: str
    periods: tuple[str, ...]
    series: tuple[TrendSeries, ...]
    policy: str = ""
    min_conversations: int = 5
    metrics: tuple[tuple[str, str, str, bool], ...] = TREND_METRICS
    outcome_policy: str = ""


@attrs.frozen
class ChatLine:
    """One message of a highlighted conversation: spans are ``(start, end, kind)``."""

    role: str
    sender: str
    time: str
    text: str
    spans: tuple[tuple[int, int, str], ...] = ()


@attrs.frozen
class RiskView:
    """A risky conversation with its reasons and the highlighted chat."""

    conversation_id: str
    score: float
    level: str
    reasons: tuple[str, ...]
    lines: tuple[ChatLine, ...]
    buyers: tuple[str, ...] = ()  # the buyer's ids, masked wherever they occur


@attrs.frozen
class BannedHitView:
    """One banned-phrase or harsh-tone hit by an agent."""

    agent: str
    conversation_id: str
    kind: str
    line: ChatLine
    buyers: tuple[str, ...] = ()  # the buyer's ids, masked wherever they occur


@attrs.frozen
class ReportView:
    """Everything the HTML report shows, already computed."""

    title: str
    period: str
    conversations: int
    messages: int
    kpis: tuple[KpiView, ...]
    agents: tuple[AgentView, ...]
    riskiest: tuple[RiskView, ...] = ()
    banned: tuple[BannedHitView, ...] = ()
    notes: tuple[str, ...] = ()
    trends: TrendsView | None = None
    topics: TopicsSection | None = None
    #: What is masked; with ``RedactionPolicy.off()`` the report says so at its top.
    redaction: RedactionPolicy = attrs.field(factory=RedactionPolicy)
    outcomes_html: str = ""  # outcomes (#15): pre-rendered, escaped section


def highlight(
    text: str,
    spans: Sequence[tuple[int, int, str]],
    policy: RedactionPolicy | None = None,
    *,
    known: Sequence[str] = (),
) -> str:
    """Return *text* redacted and escaped, with *spans* wrapped in ``<mark>``.

    Overlapping spans are merged into the first; offsets refer to *text*, and
    masking keeps the length, so they stay valid.  *policy* and *known* are
    those of :func:`kefu_standards.redact.redact`.
    """
    shown = redact(text, policy, known=known).text
    out: list[str] = []
    pos = 0
    for raw_start, raw_end, kind in sorted(spans):
        start, end = max(raw_start, pos), min(raw_end, len(shown))
        if start >= end:
            continue
        out.append(escape(shown[pos:start]))
        cls = _KIND_CLASS.get(kind, "bad")
        out.append(f'<mark class="{cls}" title="{escape(kind)}">{escape(shown[start:end])}</mark>')
        pos = end
    out.append(escape(shown[pos:]))
    return "".join(out)


def _fmt(value: float | None, unit: str = "") -> str:
    """Format *value*: ``%`` a rate, ``s`` seconds as 秒/分, ``n`` a count, else a score."""
    if value is None:
        return '<span class="na">—</span>'
    return _plain(value, unit)


def _plain(value: float, unit: str = "") -> str:
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.0f}秒" if value < 120 else f"{value / 60:.1f}分"
    if unit == "n":
        return f"{round(value):d}"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def _wait_bar(counts: Sequence[int], width: int = 240, height: int = 14) -> str:
    total = sum(counts)
    if total == 0:
        return '<span class="na">无轮次</span>'
    parts = []
    x = 0.0
    labels = [b[0] for b in WAIT_BUCKETS] + ["未回复"]
    for count, colour, label in zip(counts, _BUCKET_COLOURS, labels, strict=False):
        if count == 0:
            continue
        w = width * count / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}">'
            f"<title>{escape(label)}: {count}</title></rect>"
        )
        x += w
    return (
        f'<svg class="bar" width="{width}" height="{height}" role="img" '
        f'aria-label="wait distribution">{"".join(parts)}</svg>'
    )


def _heat_colour(score: float) -> str:
    """Background of a grid cell: red (0) through amber (0.6) to green (1), light enough to read."""
    x = max(0.0, min(1.0, score))
    if x < 0.6:
        t = x / 0.6
        r, g, b = 255, round(205 + 30 * t), round(210 - 60 * t)
    else:
        t = (x - 0.6) / 0.4
        r, g, b = round(255 - 55 * t), round(235 - 5 * t), round(150 + 51 * t)
    return f"#{r:02x}{g:02x}{b:02x}"


def _dimension_grid(agents: Sequence[AgentView], policy: RedactionPolicy) -> str:
    """Agents x dimensions, numbers in coloured cells (0-100), best total first."""
    shown = [a for a in agents if a.dimensions]
    if not shown:
        return "<p class='na'>没有评分卡结果。</p>"
    labels = [label for label, _ in shown[0].dimensions]
    head = "".join(f"<th class='dim'>{escape(label)}</th>" for label in labels)
    rows = []
    for a in shown:
        cells = []
        reasons = dict(a.na_reasons)
        for label, score in a.dimensions:
            if score is None:
                why = reasons.get(label, "N/A")
                cells.append(f"<td class='cell na' title='{escape(why)}'>N/A</td>")
            else:
                cells.append(
                    f"<td class='cell' style='background:{_heat_colour(score)}' "
                    f"title='{escape(label)}: {score * 100:.1f}'>{score * 100:.0f}</td>"
                )
        rows.append(
            f"<tr><td>{_shown(a.agent, policy)}</td><td class='num'><b>{_fmt(a.total)}</b></td>"
            + "".join(cells)
            + "</tr>"
        )
    return (
        "<table class='grid'><tr><th>客服</th><th>综合分</th>"
        + head
        + "</tr>"
        + "".join(rows)
        + "</table><p class='note'>各项 0–100 (评分卡维度均值); 按综合分排序. "
        "N/A: 该项无法从聊天中测量, 悬停查看原因.</p>"
    )


def _sparkline(
    values: Sequence[float | None],
    periods: Sequence[str],
    unit: str,
    scale: tuple[float, float],
    *,
    width: int = 120,
    height: int = 22,
) -> str:
    """One inline-SVG sparkline; gaps where a value is undefined, the last point marked."""
    n = len(values)
    lo, hi = scale
    span = hi - lo or 1.0
    pad = 3.0

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        y = height - pad - (height - 2 * pad) * (v - lo) / span
        return x, y

    segments: list[list[tuple[float, float]]] = [[]]
    dots = []
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        x, y = xy(i, v)
        segments[-1].append((x, y))
        dots.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="transparent">'
            f"<title>{escape(periods[i])}: {escape(_plain(v, unit))}</title></circle>"
        )
    lines = []
    for seg in segments:
        if len(seg) == 1:
            (x, y) = seg[0]
            lines.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.5" fill="#1565c0"/>')
        elif seg:
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
            lines.append(
                f'<polyline points="{pts}" fill="none" stroke="#1565c0" stroke-width="1.5"/>'
            )
    last = next(((i, v) for i, v in reversed(list(enumerate(values))) if v is not None), None)
    if last is not None:
        x, y = xy(*last)
        lines.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#c62828"/>')
    return (
        f'<svg class="spark" width="{width}" height="{height}" role="img" '
        f'aria-label="trend">{"".join(lines)}{"".join(dots)}</svg>'
    )


def _extent(values: Sequence[float | None]) -> tuple[float, float]:
    got = [v for v in values if v is not None]
    return (min(got), max(got)) if got else (0.0, 1.0)


def _trends_section(view: TrendsView | None, policy: RedactionPolicy) -> str:
    if view is None or not view.series:
        return "<p class='na'>没有带时间的会话, 无法显示趋势。</p>"
    scales = []
    team_scales = []
    # with the outcome KPIs, 11 columns share the page width: narrower sparklines
    width = 120 if len(view.metrics) <= len(TREND_METRICS) else 58
    for m, (_, _, unit, _) in enumerate(view.metrics):
        # a shared vertical scale per column; counts of the team (a sum) get their own
        got = [v for s in view.series if not s.team or unit != "n" for v in s.values[m]]
        team = [v for s in view.series if s.team for v in s.values[m]]
        scales.append(_extent(got))
        team_scales.append(_extent(team) if unit == "n" else scales[-1])
    head = "".join(f"<th>{escape(label)}</th>" for _, label, _, _ in view.metrics)
    rows = []
    for s in view.series:
        cells = []
        for m, (_, _, unit, _) in enumerate(view.metrics):
            vals = s.values[m]
            last = next((v for v in reversed(vals) if v is not None), None)
            scale = (team_scales if s.team else scales)[m]
            cells.append(
                f"<td>{_sparkline(vals, view.periods, unit, scale, width=width)}"
                f"<span class='last'>{_fmt(last, unit)}</span></td>"
            )
        name = f"<b>{_shown(s.agent, policy)}</b>" if s.team else _shown(s.agent, policy)
        rows.append(
            f"<tr><td class='who' title='{_shown(s.agent, policy)}'>{name}</td>"
            + "".join(cells)
            + "</tr>"
        )
    learned = "".join(
        f"<li>{_shown(s.learning, policy)}</li>" for s in view.series if s.learning and not s.team
    )
    every = "周 (ISO week)" if view.period == "week" else "天 (day)"
    span = f"{view.periods[0]} – {view.periods[-1]}" if view.periods else ""
    return (
        f"<p class='note'>每{every}一个点, {escape(span)}, "
        f"共 {len(view.periods)} 个周期; 每列纵轴对所有客服相同 (团队会话数单独), "
        f"红点为最后一个周期 (数值在右). 响应时间口径: {escape(view.policy)}. "
        "持续学习: 综合分按周期的最小二乘斜率, "
        f"只用会话数 ≥ {view.min_conversations} 的周期."
        + (f" 结果指标口径: {escape(view.outcome_policy)}." if view.outcome_policy else "")
        + "</p>"
        "<table class='trends'><tr><th>客服</th>"
        + head
        + "</tr>"
        + "".join(rows)
        + "</table>"
        + (
            f"<h3>持续学习 Continuous learning</h3><ul class='learn'>{learned}</ul>"
            if learned
            else ""
        )
    )


_CSS = """
body{font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei","WenQuanYi Zen Hei",
sans-serif;margin:.8em auto;padding:0 1em;color:#222;max-width:1240px;font-size:13px;
line-height:1.28}
h1{font-size:1.35em;margin:.2em 0}.meta{margin:.1em 0 .3em;color:#444}
h2{font-size:1.1em;border-bottom:2px solid #ddd;padding-bottom:.1em;margin:.8em 0 .3em}
h3{font-size:1em;margin:.5em 0 .2em}p{margin:.25em 0}ol,ul{margin:.2em 0}
table{border-collapse:collapse;width:100%;font-size:.95em}
th,td{border-bottom:1px solid #eee;padding:.1em .4em;text-align:left;vertical-align:top}
th{background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2e7d32;font-weight:bold}.fail{color:#c62828;font-weight:bold}.na{color:#999}
mark.bad{background:#ffcdd2}mark.good{background:#c8e6c9}
.chat{border:1px solid #eee;border-radius:6px;padding:.4em;margin:.3em 0 .8em}
.msg{margin:.15em 0}.msg .who{color:#666;font-size:.85em;margin-right:.5em}
.buyer .who{color:#1565c0}.agent .who{color:#2e7d32}.bot .who,.system .who{color:#999}
.legend{font-size:.7em;font-weight:normal;margin-left:1em;color:#444}
.legend span{display:inline-block;margin-right:.8em}
.legend i{display:inline-block;width:9px;height:9px;margin-right:3px}
svg text{font-size:11px}.note{color:#666;font-size:.85em}
table.grid td.cell{text-align:center;font-variant-numeric:tabular-nums;padding:.1em .2em}
table.grid th.dim{font-size:.85em;text-align:center}
table.trends td{padding:0 .3em;white-space:nowrap;vertical-align:middle}
ul.learn{font-size:.85em;margin:.2em 0;padding-left:1.2em}
details{margin:.15em 0}summary{cursor:pointer}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:0 1.5em}
.cols summary{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.outcomes table{font-size:.9em}.outcomes th{font-size:.9em}
.topics{columns:2;column-gap:1.5em}
.topics>h2,.topics>table:first-of-type{column-span:all}
.topics table,.topics ol,.topics li{break-inside:avoid}.topics h3{break-after:avoid}
table.trends td.who{max-width:12em;overflow:hidden;text-overflow:ellipsis}
.spark{vertical-align:middle}.last{font-size:.8em;margin-left:.3em;color:#444}
.unmasked{background:#fff3cd;border:1px solid #f57c00;padding:.5em;font-weight:bold}
"""


def _kpi_table(kpis: Sequence[KpiView]) -> str:
    rows = []
    for k in kpis:
        if k.ok is None:
            status = '<span class="na">—</span>'
        else:
            status = '<span class="ok">达标</span>' if k.ok else '<span class="fail">未达标</span>'
        rows.append(
            f"<tr><td>{escape(k.name)}</td><td class='num'>{_fmt(k.value, k.unit)}</td>"
            f"<td>{escape(k.target)}</td><td>{status}</td>"
            f"<td class='note'>{escape(k.policy)}</td>"
            f"<td class='note'>{escape(k.note)}</td></tr>"
        )
    return (
        "<table><tr><th>指标 KPI</th><th>数值</th><th>目标</th><th>状态</th>"
        "<th>口径 policy</th><th>说明</th></tr>" + "".join(rows) + "</table>"
    )


def _shown(text: str, policy: RedactionPolicy, known: Sequence[str] = ()) -> str:
    """Return *text* redacted under *policy*, then escaped."""
    return escape(redact(text, policy, known=known).text)


def _who(line: ChatLine, policy: RedactionPolicy) -> str:
    """Return the sender as shown: a buyer as a short hash, anyone else redacted."""
    if line.role == "buyer" and line.sender and policy.enabled and "nick" in policy.kinds:
        return f"买家#{pseudonym(line.sender, policy)}"
    return _shown(line.sender, policy)


def _wait_legend() -> str:
    """Return the colour key of the wait-distribution bars (shown in the agents heading)."""
    keys = "".join(
        f'<span><i style="background:{c}"></i>{escape(label)}</span>'
        for c, label in zip(
            _BUCKET_COLOURS, [b[0] for b in WAIT_BUCKETS] + ["未回复"], strict=False
        )
    )
    return f'<span class="legend">响应分布: {keys}</span>'


def _agents_table(agents: Sequence[AgentView], policy: RedactionPolicy) -> str:
    rows = []
    for a in agents:
        rows.append(
            "<tr>"
            f"<td>{_shown(a.agent, policy)}</td><td class='num'>{a.conversations}</td>"
            f"<td class='num'>{a.rounds}</td><td class='num'>{_fmt(a.reply_rate, '%')}</td>"
            f"<td class='num'>{_fmt(a.mean_wait_s, 's')}</td>"
            f"<td class='num'>{_fmt(a.p90_wait_s, 's')}</td>"
            f"<td class='num'>{_fmt(a.sla_rate, '%')}</td>"
            f"<td>{_wait_bar(a.wait_buckets)}</td>"
            f"<td class='num'>{_fmt(a.politeness)}</td><td class='num'>{a.impolite_messages}</td>"
            f"<td class='num'>{_fmt(a.total)}</td>"
            "</tr>"
        )
    return (
        "<table><tr><th>客服</th><th>会话</th><th>轮次</th>"
        "<th>回复率</th><th>平均响应</th><th>P90响应</th><th>3分钟响应率</th><th>响应分布</th>"
        "<th>礼貌度</th><th>不礼貌消息</th><th>综合分</th></tr>" + "".join(rows) + "</table>"
    )


def _chat(lines: Sequence[ChatLine], policy: RedactionPolicy, known: Sequence[str]) -> str:
    out = []
    for line in lines:
        out.append(
            f'<div class="msg {escape(line.role)}"><span class="who">{_who(line, policy)} '
            f"{escape(line.time)}</span>{highlight(line.text, line.spans, policy, known=known)}"
            "</div>"
        )
    return '<div class="chat">' + "".join(out) + "</div>"


def _known(buyers: Sequence[str], lines: Sequence[ChatLine]) -> tuple[str, ...]:
    """Return the buyer ids to mask in a chat: the given ones and every buyer sender."""
    found = dict.fromkeys(buyers)
    found.update(dict.fromkeys(x.sender for x in lines if x.role == "buyer" and x.sender))
    return tuple(found)


def _risky(items: Sequence[RiskView], policy: RedactionPolicy) -> str:
    if not items:
        return "<p class='na'>没有高风险会话。</p>"
    note = "<p class='note'>点击展开对话 (click to open the chat).</p>"
    out: list[str] = []
    for r in items:
        known = _known(r.buyers, r.lines)
        reasons = "".join(f"<li>{_shown(x, policy, known)}</li>" for x in r.reasons)
        out.append(
            f"<details><summary><b>{_shown(r.conversation_id, policy, known)}</b> — 风险 "
            f"{r.score:.2f} ({escape(r.level)}) · "
            f"{_shown(r.reasons[0] if r.reasons else '', policy, known)}</summary>"
            f"<ul>{reasons}</ul>{_chat(r.lines, policy, known)}</details>"
        )
    hidden = out[RISKY_SHOWN:]
    return note + _folded(
        "".join(out[:RISKY_SHOWN]),
        "".join(hidden),
        len(hidden),
        "每个会话的风险分见 results.jsonl (every conversation's risk is there).",
    )


#: Riskiest conversations listed unfolded; the rest of the top list is folded.
RISKY_SHOWN = 5


def _folded(visible: str, hidden: str, n_hidden: int, where: str) -> str:
    """*visible*, then *hidden* folded in a ``<details>`` (no script), then where all are."""
    more = (
        f"<details><summary>另外 {n_hidden} 条 ({n_hidden} more)</summary>{hidden}</details>"
        if n_hidden
        else ""
    )
    return visible + more + f"<p class='note'>{escape(where)}</p>"


#: Banned-phrase hits shown unfolded; the rest are folded (all are in ``results.jsonl``).
BANNED_SHOWN = 5


def _banned(items: Sequence[BannedHitView], policy: RedactionPolicy) -> str:
    if not items:
        return "<p class='na'>没有服务禁语命中。</p>"
    rows = [
        f"<tr><td>{_shown(b.agent, policy)}</td>"
        f"<td>{_shown(b.conversation_id, policy, b.buyers)}</td><td>{escape(b.kind)}</td>"
        f"<td>{highlight(b.line.text, b.line.spans, policy, known=b.buyers)}</td></tr>"
        for b in items
    ]
    head = "<tr><th>客服</th><th>会话</th><th>类型</th><th>原文</th></tr>"
    hidden = rows[BANNED_SHOWN:]
    return _folded(
        f"<table>{head}{''.join(rows[:BANNED_SHOWN])}</table>",
        f"<table>{head}{''.join(hidden)}</table>" if hidden else "",
        len(hidden),
        "每条命中见 results.jsonl 的 hits (every hit is in results.jsonl).",
    )


def render_html(view: ReportView) -> str:
    """Render *view* as one self-contained, script-free HTML document."""
    notes = "".join(f"<li>{escape(n)}</li>" for n in view.notes)
    policy = view.redaction
    unmasked = (
        f'<p class="unmasked">⚠ {escape(policy.describe())}</p>' if not policy.enabled else ""
    )
    parts: list[Any] = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(view.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(view.title)}</h1>",
        unmasked,
        f"<p class='meta'>{escape(view.period)} · {view.conversations} 个会话 · "
        f"{view.messages} 条消息</p>",
        "<h2>团队指标 Team KPIs</h2>",
        _kpi_table(view.kpis),
        f"<h2>客服表现 Agents {_wait_legend()}</h2>",
        _agents_table(view.agents, policy),
        "<h2>能力矩阵 Agent × dimension</h2>",
        _dimension_grid(view.agents, policy),
        "<h2>趋势 Trends</h2>",
        _trends_section(view.trends, policy),
        # topics (#17): its own section, laid out in two columns by the page's CSS
        f"<div class='topics'>{render_topics(view.topics)}</div>",
        # two columns: outcomes (#15) beside the riskiest chats and banned phrases; without
        # outcomes, the riskiest chats beside the banned phrases
        "<div class='cols'>",
        f"<section class='outcomes'><h2>结果指标 Outcomes</h2>{view.outcomes_html}</section>"
        if view.outcomes_html
        else "",
        "<section><h2>高风险会话 Riskiest conversations</h2>",
        _risky(view.riskiest, policy),
        "</section><section>" if not view.outcomes_html else "",
        "<h2>服务禁语与生硬语气 Banned phrases and harsh tone</h2>",
        _banned(view.banned, policy),
        "</section></div>",
        f"<details class='note'><summary>说明 Notes</summary><ul>{notes}</ul></details>"
        if notes
        else "",
        "</body></html>",
    ]
    return "\n".join(str(p) for p in parts)
