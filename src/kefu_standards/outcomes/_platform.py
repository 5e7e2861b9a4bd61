"""The platform's own 客服绩效 report, to check kefu_standards' figures against, row by row.

Layouts (DOMAIN §2.7, all [E]: seen in one parser each, not verified against a
live account): the 千牛 自制报表 (旺旺昵称, 询单人数, 询单最终付款人数,
询单最终付款转化率, 首次响应时长（秒), 平均响应时长（秒), 客户满意率, 旺旺回复率,
成功退款金额), older 赤兔 headers (询单->最终付款人数, 询单->最终付款成功率,
询单人数延, 退款率) and the 飞猪 客服数据汇总 (旺旺, 接待人数, 平均响应(秒),
回复率, 询单->最终付款成功率, 评价发送率, 客户满意比, 很满意 … 很不满意).
Summary rows (汇总值, 平均值, 全店汇总值, 全店平均值, 同行同层优秀, 同行同层均值)
are not agents: they are counted in ``OutcomeReadReport.unrated_rows`` and
not yielded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import tzinfo
from typing import IO, Any

import attrs

from kefu_standards._frozendict import FrozenDict
from kefu_standards.exceptions import BadRecordError
from kefu_standards.io._common import _Context

from ._join import _same_agent
from ._readers import Layout, OutcomeReadReport, _get, _read, _required

__all__ = ["PlatformRow", "compare_with_platform", "read_platform_report"]

Source = str | os.PathLike[str] | IO[bytes] | IO[str]

#: Platform column -> our column name (agents.csv), with the aliases each layout uses.
PLATFORM_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "inquiries": ("询单人数", "询单人数延"),
    "inquiry_conversion_4d": ("询单最终付款转化率", "询单->最终付款成功率", "询单->最终付款转化率"),
    "satisfaction_rate": ("客户满意率", "客户满意比"),
    "reply_rate": ("旺旺回复率", "回复率"),
    "mean_wait_s": ("平均响应时长（秒)", "平均响应时长(秒)", "平均响应时长（秒）", "平均响应(秒)"),
    "first_wait_s": ("首次响应时长（秒)", "首次响应时长(秒)", "首次响应时长（秒）"),
    "refund_rate": ("退款率",),
    "conversations": ("接待人数",),
}
#: Rows of a platform report that are totals or benchmarks, not agents.
SUMMARY_ROWS = frozenset(
    {"汇总值", "平均值", "全店汇总值", "全店平均值", "同行同层优秀", "同行同层均值", "合计", "汇总"}
)

PLATFORM = Layout(
    "performance_report",
    (),
    {"agent": ("旺旺昵称", "旺旺", "客服", "客服昵称"), **PLATFORM_COLUMNS},
    ("agent",),
)


@attrs.frozen(slots=True)
class PlatformRow:
    """One agent's row of the platform's report: figures under our column names.

    Rates are fractions (``"12.5%"`` reads as 0.125); a cell the platform left
    empty or marked 延迟统计 is absent from ``figures``.

    .. versionadded:: 0.2.0
    """

    agent: str
    figures: FrozenDict
    file: str = "<records>"
    line: int | None = None


def _figure(ctx: _Context, text: str, name: str, line: int) -> float | None:
    text = text.replace(",", "").strip()
    if not text or text in ("-", "—", "延迟统计"):
        return None
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        return float(text) * scale
    except ValueError:
        raise BadRecordError(ctx.source, line, f"{name}: {text!r} is not a number") from None


def _build(ctx: _Context, row: dict[str, str], layout: Layout, line: int) -> PlatformRow | None:
    agent = _required(ctx, row, layout, "agent", line)
    if agent in SUMMARY_ROWS:
        return None
    figures = {}
    for name in PLATFORM_COLUMNS:
        value = _figure(ctx, _get(row, layout, name), name, line)
        if value is not None:
            figures[name] = value
    return PlatformRow(agent, FrozenDict(figures), ctx.source, line)


def read_platform_report(
    source: Source,
    *,
    format: str = "auto",  # noqa: A002 - the natural name for the caller
    encoding: str | None = None,
    tz: str | tzinfo | None = None,
    errors: str = "raise",
    report: OutcomeReadReport | None = None,
) -> Iterator[PlatformRow]:
    """Stream the agent rows of a platform 客服绩效 report (千牛 自制报表, 赤兔, 飞猪).

    Summary rows (汇总值, 全店平均值, 同行同层均值 …) are counted in
    ``report.unrated_rows`` and not yielded.  Arguments as for
    :func:`~kefu_standards.outcomes.read_ratings`.

    .. versionadded:: 0.2.0
    """
    return _read(
        source,
        "platform report",
        (PLATFORM,),
        _build,
        format=format,
        encoding=encoding,
        tz=tz,
        errors=errors,
        report=report,
    )


def compare_with_platform(
    platform: Iterable[PlatformRow], ours: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Return one row per agent and figure: the platform's value, ours, and the difference.

    *ours* are ``agents.csv`` rows (``Analysis.agent_rows()``); an agent of the
    platform report matches ours by full sub-account or nick (``店:小美`` and
    ``小美``).  ``ours`` is ``None`` when we have no such agent or figure; the
    platform's definitions differ from ours in window and detail (DOMAIN §1),
    so differences are expected and the table says how large they are.
    """
    rows = list(ours)
    out = []
    for p in platform:
        mine = next((r for r in rows if _same_agent(p.agent, str(r.get("agent")))), None)
        for name, value in p.figures.items():
            our = None if mine is None else mine.get(name)
            out.append(
                {
                    "agent": p.agent,
                    "matched_agent": None if mine is None else mine.get("agent"),
                    "figure": name,
                    "platform": value,
                    "ours": our,
                    "difference": None if our is None else our - value,
                }
            )
    return out
