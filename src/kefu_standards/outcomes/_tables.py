"""Outcome KPIs in the analysis outputs: agents.csv columns, shops.csv, the report section.

The column names (:data:`OUTCOME_COLUMNS`) are a stable interface: they are the
KPI names of :data:`~kefu_standards.outcomes.KPI_DEFINITIONS`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from ._join import OutcomeResult
from ._kpis import KPI_DEFINITIONS

__all__ = [
    "OUTCOME_COLUMNS",
    "agent_columns",
    "outcomes_html",
    "platform_html",
    "shop_rows",
    "write_shops_csv",
]

#: The outcome columns added to ``agents.csv`` and written to ``shops.csv``, in order.
OUTCOME_COLUMNS: tuple[str, ...] = tuple(KPI_DEFINITIONS)


def agent_columns(
    result: OutcomeResult, agent: str, unassigned: str | None = None
) -> dict[str, float | int | None]:
    """Return the outcome KPI columns of *agent* (*unassigned* names the no-agent row)."""
    key = None if agent == unassigned else agent
    return result.by_agent.columns(key)


def shop_rows(result: OutcomeResult, timing_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per shop: conversations, the timing KPIs of *timing_rows*, the outcome KPIs."""
    timing = {row.get("shop"): row for row in timing_rows}
    shops = sorted(set(result.by_shop.groups) | set(timing), key=lambda s: (s is None, str(s)))
    rows = []
    for shop in shops:
        t = timing.get(shop, {})
        rows.append(
            {
                "shop": shop,
                "conversations": result.by_shop.counts(shop).conversations,
                "rounds": t.get("rounds", 0),
                "reply_rate": t.get("reply_rate"),
                "mean_wait_s": t.get("mean_s"),
                "p90_wait_s": t.get("p90_s"),
                "sla_rate": t.get("sla_rate"),
            }
            | result.by_shop.columns(shop)
        )
    return rows


def write_shops_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write *rows* (from :func:`shop_rows`) as ``shops.csv`` (UTF-8 with BOM, for Excel)."""
    with path.open("w", encoding="utf-8-sig", errors="replace", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["shop"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def _pct(value: float | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{100 * value:.1f}%"


_SHOWN = (
    ("rated", "评价数"),
    ("satisfaction_rate", "满意率"),
    ("dissatisfaction_rate", "不满意率"),
    ("inquiries", "询单人数"),
    ("inquiry_conversion", "询单转化率"),
    ("paid_orders", "付款订单"),
    ("refund_rate", "退款率"),
    ("dispute_rate", "纠纷退款率"),
    ("bad_review_rate", "差评率"),
)


def outcomes_html(result: OutcomeResult, agents: Iterable[str]) -> str:
    """Return the report's outcomes section: per-agent KPIs, the join counts, definitions.

    An agent name absent from the outcome groups (the analysis' "unassigned"
    row) shows the conversations credited to no agent.
    """
    head = "".join(f"<th>{escape(label)}</th>" for _, label in _SHOWN)
    body = []
    for agent in agents:
        key = agent if agent in result.by_agent.groups else None
        kpis = result.by_agent.kpis(key)
        cells = "".join(
            f"<td title='{escape(kpis[name].reason or '')}'>{_pct(kpis[name].value)}</td>"
            for name, _ in _SHOWN
        )
        body.append(f"<tr><td>{escape(agent)}</td>{cells}</tr>")
    joins = "".join(f"<li>{escape(line)}</li>" for line in result.summary_lines())
    defs = "".join(
        f"<li><b>{escape(name)}</b>: {escape(text)} ({escape(src)})</li>"
        for name, (text, src) in KPI_DEFINITIONS.items()
    )
    diagnosis = "".join(f"<li>{escape(line)}</li>" for line in result.diagnosis)
    # trends (#20): the long lists are folded (<details>, no script) so the page stays short
    read = sum(c.read for c in result.files)
    joined = sum(c.joined for c in result.files)
    return (
        f"<table><tr><th>客服</th>{head}</tr>{''.join(body)}</table>"
        + (
            f"<details><summary>诊断 Diagnosis ({len(result.diagnosis)})</summary>"
            f"<ul class='note'>{diagnosis}</ul>"
            "<p>Bad chats against the rest of the comparable chats: ratio or difference "
            "of means, bootstrap 95 % CI, Cliff's δ.</p></details>"
            if diagnosis
            else ""
        )
        + platform_html(result.platform)
        + f"<details><summary>关联结果 Join counts: {read} read, {joined} joined "
        "(every row joined or unmatched with a reason)</summary>"
        f"<ul class='note'>{joins}</ul></details>"
        f"<details><summary>定义 Definitions</summary><ul class='note'>{defs}</ul></details>"
    )


def _figure(name: str, value: float | None, difference: bool = False) -> str:
    """Show a platform-report figure: rates as % (points for a difference), seconds, counts."""
    if value is None:
        return "—"
    sign = "+" if difference and value > 0 else ""
    if name.endswith(("_rate", "_4d", "conversion")):
        return f"{sign}{100 * value:.1f}{' pt' if difference else '%'}"
    if name.endswith("_s"):
        return f"{sign}{value:.1f}秒"
    return f"{sign}{value:g}"


def platform_html(rows: Iterable[Mapping[str, Any]]) -> str:
    """Return the platform report comparison: one row per agent and figure, theirs vs ours.

    Empty when no platform report was compared.
    """
    rows = list(rows)
    if not rows:
        return ""
    body = "".join(
        "<tr>"
        f"<td>{escape(str(r['agent']))}</td>"
        f"<td>{escape(str(r['matched_agent'] or '—'))}</td>"
        f"<td>{escape(str(r['figure']))}</td>"
        f"<td>{_figure(r['figure'], r['platform'])}</td>"
        f"<td>{_figure(r['figure'], r['ours'])}</td>"
        f"<td>{_figure(r['figure'], r['difference'], difference=True)}</td>"
        "</tr>"
        for r in rows
    )
    return (
        "<h3>平台报表对照 Platform report vs ours</h3>"
        "<table><tr><th>平台客服</th><th>our agent</th><th>figure</th><th>platform</th>"
        f"<th>ours</th><th>ours − platform</th></tr>{body}</table>"
        "<p class='note'>The platform computes its figures under its own windows and rules "
        "(DOMAIN §1): differences are expected; this table says how large they are.</p>"
    )
