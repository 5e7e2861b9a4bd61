"""Write an :class:`~kefu_standards.analysis.Analysis` to a folder: CSV tables and the report.

This is the outputs layer's writer: ``analysis`` computes, this module renders and
writes (it imports the report and the view builder; ``analysis`` imports neither).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from ._report_view import build_view
from ._topic_kpis import TOPIC_AGENT_COLUMNS
from .analysis import Analysis
from .exceptions import InputTypeError
from .outcomes._tables import shop_rows, write_shops_csv
from .redact import RedactionPolicy
from .report import render_html

__all__ = ["write_report"]


def write_report(
    analysis: Analysis,
    out: str | os.PathLike[str],
    *,
    redaction: RedactionPolicy | None = None,
) -> list[Path]:
    """Write the CSV tables and ``report.html`` into *out*; return the paths written.

    The tables: ``agents.csv``, ``trends.csv``, ``topics.csv`` and
    ``topics_by_agent.csv`` (plus ``shops.csv`` when outcomes were joined).  The
    folder is created if needed.

    *redaction* (default: masking on) is what the report masks;
    ``RedactionPolicy.off()`` shows everything and says so at the top.

    .. versionadded:: 0.2.0
       Replaces the former ``Analysis.write(out)`` (the analysis no longer imports
       the report layer).
    """
    if not isinstance(analysis, Analysis):
        raise InputTypeError(
            f"write_report() takes an Analysis (from ks.analyze), got {type(analysis).__name__}"
        )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    agents_csv = folder / "agents.csv"
    _write_csv(agents_csv, analysis.agent_rows(), ["agent"])
    trends_csv = folder / "trends.csv"
    _write_csv(trends_csv, analysis.trend_rows(), list(analysis.trends.columns))
    topics_csv = folder / "topics.csv"
    _write_csv(topics_csv, analysis.topic_rows(), ["topic"])
    # -- topics (#17): KPIs per agent, day and topic
    topics_by_agent_csv = folder / "topics_by_agent.csv"
    _write_csv(topics_by_agent_csv, analysis.topic_agent_rows(), list(TOPIC_AGENT_COLUMNS))
    html = folder / "report.html"
    view = build_view(analysis, redaction=redaction)
    html.write_text(render_html(view), encoding="utf-8", errors="replace")
    # -- outcomes (#15): shops.csv, one row per shop with timing and outcome KPIs
    if analysis.outcomes is not None:
        rows = shop_rows(analysis.outcomes, analysis.timing_by_shop.table().rows())
        return [
            agents_csv,
            trends_csv,
            topics_csv,
            topics_by_agent_csv,
            html,
            write_shops_csv(folder / "shops.csv", rows),
        ]
    return [agents_csv, trends_csv, topics_csv, topics_by_agent_csv, html]


def _write_csv(path: Path, rows: list[dict[str, Any]], header: list[str]) -> None:
    """Write *rows* as UTF-8 CSV with a BOM (Excel), ``None`` as an empty cell."""
    # errors="replace": a lone surrogate (a truncated emoji in the input) is written
    # as "?" rather than failing the whole report.
    with path.open("w", encoding="utf-8-sig", errors="replace", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else header)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
