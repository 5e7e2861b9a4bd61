"""The topics section of the HTML report: share bars, slowest and riskiest topics, top questions.

Kept apart from :mod:`kefu_standards.report` so the section can grow without
touching the rest of the report; it escapes every piece of text it writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import attrs

from ._topic_kpis import NO_TOPIC

__all__ = ["QuestionView", "TopicView", "TopicsSection", "render_topics", "topics_section"]

#: Topics with fewer conversations are left out of the slowest / riskiest lists.
MIN_CONVERSATIONS = 3


@attrs.frozen
class TopicView:
    """One topic's row in the report (rates in [0, 1], times in seconds, ``None`` undefined)."""

    topic: str
    name: str
    conversations: int
    share: float | None
    first_response_s: float | None
    mean_response_s: float | None
    reply_rate: float | None
    escalation_rate: float | None
    impolite_rate: float | None


def _answers(value: Any) -> tuple[tuple[str, int], ...]:
    return tuple((str(text), int(n)) for text, n in value)


@attrs.frozen
class QuestionView:
    """One frequent buyer question (already masked), its topic, counts and usual answers.

    ``unanswered`` and ``high_risk`` count the asks no agent message followed and
    the asks in conversations at escalation level ``"high"``; ``answers`` are the
    agents' most common first replies (masked) with their counts.
    """

    question: str
    topic: str
    name: str
    count: int
    unanswered: int
    high_risk: int = 0
    answers: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_answers)


@attrs.frozen
class TopicsSection:
    """The topic rows and the most frequent questions."""

    topics: tuple[TopicView, ...] = ()
    questions: tuple[QuestionView, ...] = ()


def topics_section(
    rows: Sequence[dict[str, Any]], questions: Sequence[dict[str, Any]]
) -> TopicsSection:
    """Build the section from ``Analysis.topic_rows()`` and ``Analysis.topics.top_questions()``."""
    fields = [f.name for f in attrs.fields(TopicView)]
    return TopicsSection(
        tuple(TopicView(**{k: row[k] for k in fields}) for row in rows),
        tuple(QuestionView(**q) for q in questions),
    )


def _pct(value: float | None) -> str:
    return '<span class="na">—</span>' if value is None else f"{value * 100:.1f}%"


def _secs(value: float | None) -> str:
    if value is None:
        return '<span class="na">—</span>'
    return f"{value:.0f}秒" if value < 120 else f"{value / 60:.1f}分"


def _label(v: TopicView) -> str:
    return escape(f"{v.name} ({v.topic})" if v.name else v.topic)


def _bar(share: float | None, width: int = 240, height: int = 12) -> str:
    w = 0 if share is None else round(share * width)
    return (
        f'<svg width="{width}" height="{height}" role="img">'
        f'<rect width="{width}" height="{height}" fill="#eeeeee"/>'
        f'<rect width="{w}" height="{height}" fill="#1565c0"/></svg>'
    )


def _ranked(views: Sequence[TopicView], key: str, title: str, fmt: Any) -> str:
    eligible = [
        v
        for v in views
        if v.topic != NO_TOPIC
        and v.conversations >= MIN_CONVERSATIONS
        and getattr(v, key) is not None
    ]
    if not eligible:
        return (
            f"<h3>{escape(title)}</h3><p class='na'>会话太少 (fewer than {MIN_CONVERSATIONS}).</p>"
        )
    top = sorted(eligible, key=lambda v: -getattr(v, key))[:3]
    items = "".join(
        f"<li>{_label(v)}: {fmt(getattr(v, key))} · {v.conversations} 个会话</li>" for v in top
    )
    return f"<h3>{escape(title)}</h3><ol>{items}</ol>"


def _share(part: int, whole: int) -> str:
    return f"{part / whole * 100:.0f}%" if whole else '<span class="na">—</span>'


_SHOWN_QUESTIONS = 5  # the rest of the top questions are folded, like the riskiest chats
_SHOWN_ANSWERS = 2  # usual answers per question on the page; all of them are in the data


def _replies(q: QuestionView) -> str:
    if not q.answers:
        return '<span class="na">—</span>'
    return "<br>".join(
        f"{escape(text)} <span class='na'>×{n}</span>" for text, n in q.answers[:_SHOWN_ANSWERS]
    )


def _question_table(items: Sequence[QuestionView]) -> str:
    rows = "".join(
        f"<tr><td>{escape(q.question)}</td><td>{escape(q.name or q.topic)}</td>"
        f"<td class='num'>{q.count}</td><td>{_replies(q)}</td>"
        f"<td class='num'>{_share(q.unanswered, q.count)}</td>"
        f"<td class='num'>{_share(q.high_risk, q.count)}</td></tr>"
        for q in items
    )
    return (
        "<table><tr><th>问题 question</th><th>主题</th><th>次数</th>"
        "<th>常见回复 usual answers</th><th>未回复</th><th>高风险</th></tr>" + rows + "</table>"
    )


def _questions(items: Sequence[QuestionView]) -> str:
    if not items:
        return ""
    shown, folded = items[:_SHOWN_QUESTIONS], items[_SHOWN_QUESTIONS:]
    more = (
        f"<details><summary>更多常见问题 ({len(folded)})</summary>"
        f"{_question_table(folded)}</details>"
        if folded
        else ""
    )
    return (
        "<h3>常见问题 Most frequent questions</h3>"
        "<p class='na'>客服最常见的首次回复；未回复 = 之后没有客服消息；"
        "高风险 = 会话升级风险为 high (预测的不满意).</p>" + _question_table(shown) + more
    )


def render_topics(section: TopicsSection | None) -> str:
    """Render the section (empty string when there are no topic rows)."""
    if section is None or not section.topics:
        return ""
    views = section.topics
    rows = "".join(
        f"<tr><td>{_label(v)}</td><td class='num'>{v.conversations}</td>"
        f"<td class='num'>{_pct(v.share)}</td><td>{_bar(v.share)}</td>"
        f"<td class='num'>{_secs(v.first_response_s)}</td>"
        f"<td class='num'>{_secs(v.mean_response_s)}</td>"
        f"<td class='num'>{_pct(v.reply_rate)}</td><td class='num'>{_pct(v.escalation_rate)}</td>"
        f"<td class='num'>{_pct(v.impolite_rate)}</td></tr>"
        for v in views
    )
    table = (
        "<table><tr><th>咨询主题 topic</th><th>会话</th><th>占比</th><th></th>"
        "<th>首次响应</th><th>平均响应</th><th>回复率</th><th>高风险率</th><th>不礼貌率</th></tr>"
        + rows
        + "</table>"
    )
    return (
        "<h2>咨询主题 Topics</h2>"
        + table
        + _ranked(views, "mean_response_s", "响应最慢的主题 Slowest topics", _secs)
        + _ranked(views, "escalation_rate", "风险最高的主题 Riskiest topics", _pct)
        + _questions(section.questions)
    )
