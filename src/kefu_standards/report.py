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

__all__ = ["AgentView", "ChatLine", "KpiView", "ReportView", "RiskView", "render_html"]

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
    """One team KPI against its target (``ok`` is None when there is no target)."""

    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""


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
    if value is None:
        return '<span class="na">—</span>'
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.0f}秒" if value < 120 else f"{value / 60:.1f}分"
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


def _dimension_chart(dims: Sequence[tuple[str, float | None]], width: int = 220) -> str:
    if not dims:
        return ""
    row = 16
    rows = []
    for i, (name, score) in enumerate(dims):
        y = i * row
        label = escape(name)
        if score is None:
            bar = f'<text x="100" y="{y + 12}" class="na">N/A</text>'
        else:
            w = (width - 104) * max(0.0, min(1.0, score))
            colour = "#2e7d32" if score >= 0.8 else "#fbc02d" if score >= 0.6 else "#c62828"
            bar = (
                f'<rect x="100" y="{y + 3}" width="{w:.1f}" height="10" fill="{colour}">'
                f"<title>{label}: {score:.2f}</title></rect>"
            )
        rows.append(f'<text x="0" y="{y + 12}">{label}</text>{bar}')
    return (
        f'<svg class="dims" width="{width}" height="{row * len(dims)}" role="img" '
        f'aria-label="dimension scores">{"".join(rows)}</svg>'
    )


_CSS = """
body{font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei","WenQuanYi Zen Hei",
sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid #eee;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2e7d32;font-weight:bold}.fail{color:#c62828;font-weight:bold}.na{color:#999}
mark.bad{background:#ffcdd2}mark.good{background:#c8e6c9}
.chat{border:1px solid #eee;border-radius:6px;padding:.5em;margin:.5em 0 1.5em}
.msg{margin:.2em 0}.msg .who{color:#666;font-size:.85em;margin-right:.5em}
.buyer .who{color:#1565c0}.agent .who{color:#2e7d32}.bot .who,.system .who{color:#999}
.legend span{display:inline-block;margin-right:1em;font-size:.85em}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
svg text{font-size:11px}.note{color:#666;font-size:.85em}
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
            f"<td class='note'>{escape(k.note)}</td></tr>"
        )
    return (
        "<table><tr><th>指标 KPI</th><th>数值</th><th>目标</th><th>状态</th><th>说明</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _shown(text: str, policy: RedactionPolicy, known: Sequence[str] = ()) -> str:
    """Return *text* redacted under *policy*, then escaped."""
    return escape(redact(text, policy, known=known).text)


def _who(line: ChatLine, policy: RedactionPolicy) -> str:
    """Return the sender as shown: a buyer as a short hash, anyone else redacted."""
    if line.role == "buyer" and line.sender and policy.enabled and "nick" in policy.kinds:
        return f"买家#{pseudonym(line.sender, policy)}"
    return _shown(line.sender, policy)


def _agents_table(agents: Sequence[AgentView], policy: RedactionPolicy) -> str:
    legend = "".join(
        f'<span><i style="background:{c}"></i>{escape(label)}</span>'
        for c, label in zip(
            _BUCKET_COLOURS, [b[0] for b in WAIT_BUCKETS] + ["未回复"], strict=False
        )
    )
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
            f"<td class='num'>{_fmt(a.total)}</td><td>{_dimension_chart(a.dimensions)}</td>"
            "</tr>"
        )
    return (
        f'<p class="legend">{legend}</p><table><tr><th>客服</th><th>会话</th><th>轮次</th>'
        "<th>回复率</th><th>平均响应</th><th>P90响应</th><th>3分钟响应率</th><th>响应分布</th>"
        "<th>礼貌度</th><th>不礼貌消息</th><th>综合分</th><th>九项能力</th></tr>"
        + "".join(rows)
        + "</table>"
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
    out = []
    for r in items:
        known = _known(r.buyers, r.lines)
        reasons = "".join(f"<li>{_shown(x, policy, known)}</li>" for x in r.reasons)
        out.append(
            f"<h3>{_shown(r.conversation_id, policy, known)} — 风险 {r.score:.2f} "
            f"({escape(r.level)})</h3><ul>{reasons}</ul>{_chat(r.lines, policy, known)}"
        )
    return "".join(out)


def _banned(items: Sequence[BannedHitView], policy: RedactionPolicy) -> str:
    if not items:
        return "<p class='na'>没有服务禁语命中。</p>"
    rows = [
        f"<tr><td>{_shown(b.agent, policy)}</td>"
        f"<td>{_shown(b.conversation_id, policy, b.buyers)}</td><td>{escape(b.kind)}</td>"
        f"<td>{highlight(b.line.text, b.line.spans, policy, known=b.buyers)}</td></tr>"
        for b in items
    ]
    return (
        "<table><tr><th>客服</th><th>会话</th><th>类型</th><th>原文</th></tr>"
        + "".join(rows)
        + "</table>"
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
        f"<p>{escape(view.period)} · {view.conversations} 个会话 · {view.messages} 条消息</p>",
        "<h2>团队指标 Team KPIs</h2>",
        _kpi_table(view.kpis),
        "<h2>客服表现 Agents</h2>",
        _agents_table(view.agents, policy),
        render_topics(view.topics),
        "<h2>高风险会话 Riskiest conversations</h2>",
        _risky(view.riskiest, policy),
        "<h2>服务禁语与生硬语气 Banned phrases and harsh tone</h2>",
        _banned(view.banned, policy),
        # -- outcomes (#15)
        f"<h2>结果指标 Outcomes</h2>{view.outcomes_html}" if view.outcomes_html else "",
        f"<h2>说明 Notes</h2><ul class='note'>{notes}</ul>" if notes else "",
        "</body></html>",
    ]
    return "\n".join(str(p) for p in parts)
