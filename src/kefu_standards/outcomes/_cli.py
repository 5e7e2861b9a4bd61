"""The outcome options of ``kefu-standards analyze``: read, join, report counts on stderr."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from kefu_standards.resources import data_file

from ._diagnosis import diagnose, summary_sentences
from ._join import OutcomeJoin, OutcomeResult
from ._platform import compare_with_platform, read_platform_report
from ._readers import OutcomeReadReport, read_orders, read_ratings, read_refunds, read_reviews
from ._spill import PartitionedOutcomeJoin

__all__ = [
    "BUNDLED",
    "add_outcome_options",
    "compare_platform",
    "outcome_join",
    "run_outcome_join",
    "write_platform_compare",
]

#: The bundled example outcome files used when ``analyze`` runs on the bundled chats.
BUNDLED: dict[str, tuple[str, ...]] = {
    "ratings": ("examples/ratings.csv",),
    "orders": ("examples/orders_taobao.csv", "examples/orders_jd.csv"),
    "refunds": ("examples/refunds.csv",),
    "reviews": ("examples/reviews.csv",),
}


def add_outcome_options(p: argparse.ArgumentParser) -> None:
    """Add ``--ratings/--orders/--refunds/--reviews FILE`` (repeatable) and ``--rating-scale``."""
    for name, what in (
        ("ratings", "客服评价 (eval_* API fields, JD API or JD 会话记录; CSV, XLSX, JSONL)"),
        ("orders", "orders (Taobao ExportOrderList CSV, 千牛 XLSX, JD 京麦 export)"),
        ("refunds", "refunds (Tmall refund export, 退款单.xlsx)"),
        ("reviews", "product reviews (tid, nick, result good/neutral/bad)"),
    ):
        p.add_argument(
            f"--{name}",
            action="append",
            default=None,
            metavar="FILE",
            help=f"{what}; repeatable; adds outcome KPIs to agents.csv and shops.csv",
        )
    p.add_argument(
        "--platform-report",
        action="append",
        default=None,
        metavar="FILE",
        help="the platform's 客服绩效 report (千牛 自制报表, 赤兔, 飞猪); with --out, "
        "platform_compare.csv sets its figures next to ours",
    )
    p.add_argument(
        "--outcome-partitions",
        type=int,
        default=None,
        metavar="K",
        help="join outcomes in K partitions spilled to a temporary folder, each split "
        "further when large, so memory does not grow with the input (default 16); "
        "0 joins in memory (memory grows about 1 KB per conversation)",
    )
    p.add_argument(
        "--rating-scale",
        choices=("qianniu", "wangwang", "jd", "text"),
        default=None,
        help="code scale of eval_code when the ratings file has no 'scale' column",
    )


def _files(args: argparse.Namespace, kind: str) -> list[str] | None:
    given: list[str] | None = getattr(args, kind, None)
    if given is not None:
        return given
    if not args.files and not any(getattr(args, k, None) for k in BUNDLED):
        return [str(data_file(f)) for f in BUNDLED[kind]]  # the bundled examples
    return None


def outcome_join(args: argparse.Namespace) -> OutcomeJoin | PartitionedOutcomeJoin | None:
    """Return a join to feed the analysed conversations to, or ``None`` without outcomes."""
    if all(_files(args, k) is None for k in BUNDLED):
        return None
    if args.outcome_partitions == 0:
        return OutcomeJoin(tz=args.tz)
    if args.outcome_partitions is None:
        return PartitionedOutcomeJoin(tz=args.tz)
    return PartitionedOutcomeJoin(partitions=args.outcome_partitions, tz=args.tz)


def _each(paths: list[str] | None, read: Any, **kw: Any) -> Iterable[Any] | None:
    if paths is None:
        return None

    def rows() -> Iterator[Any]:
        for path in paths:
            yield from read(path, **kw)

    return rows()


def run_outcome_join(
    join: OutcomeJoin | PartitionedOutcomeJoin, args: argparse.Namespace
) -> tuple[OutcomeResult, list[str], bool]:
    """Read and join the outcome files, and diagnose.

    The diagnosis reads the signals the join was given with each conversation
    (``analyze(..., on_result=join.add)``); its sentences go into the result.
    Returns the result, the lines for stderr (one count line per file, then
    the skips) and whether outcome rows were skipped.
    """
    report = OutcomeReadReport()
    kw: dict[str, Any] = {
        "encoding": args.encoding,
        "tz": args.tz,
        "errors": args.errors,
        "report": report,
    }
    result = join.join(
        ratings=_each(_files(args, "ratings"), read_ratings, scale=args.rating_scale, **kw),
        orders=_each(_files(args, "orders"), read_orders, **kw),
        refunds=_each(_files(args, "refunds"), read_refunds, **kw),
        reviews=_each(_files(args, "reviews"), read_reviews, **kw),
    )
    lines = [f"kefu-standards: outcomes: {line}" for line in result.summary_lines()]
    lines += [f"kefu-standards: skipped: {skip}" for skip in report.skips]
    if report.unrated_rows:
        lines.append(
            f"kefu-standards: outcomes: {report.unrated_rows} 会话记录 rows without 满意度 "
            "(sessions nobody rated)"
        )
    findings = diagnose(result)
    result = attrs.evolve(result, diagnosis=tuple(summary_sentences(findings, result)))
    return result, lines, bool(report.skips)


def compare_platform(analysis: Any, args: argparse.Namespace) -> tuple[Any, list[dict[str, Any]]]:
    """With ``--platform-report``, compare its figures with ours, row by row.

    Returns a new analysis whose ``outcomes.platform`` holds the rows (so
    ``report.html`` shows them; the analysis is frozen, so it is evolved, not
    changed) and the rows for :func:`write_platform_compare`; the count line
    and any skips go to stderr.
    """
    if not getattr(args, "platform_report", None):
        return analysis, []
    report = OutcomeReadReport()
    rows = [
        row
        for path in args.platform_report
        for row in read_platform_report(
            path, encoding=args.encoding, errors=args.errors, report=report
        )
    ]
    table = compare_with_platform(rows, analysis.agent_rows())
    if analysis.outcomes is not None:
        analysis = attrs.evolve(
            analysis, outcomes=attrs.evolve(analysis.outcomes, platform=tuple(table))
        )
    matched = len({r["agent"] for r in table if r["matched_agent"] is not None})
    print(
        f"kefu-standards: outcomes: platform report: {len(rows)} agents "
        f"({matched} matched ours), {report.unrated_rows} summary rows, "
        f"{len(report.skips)} skips",
        file=sys.stderr,
    )
    for skip in report.skips:
        print(f"kefu-standards: skipped: {skip}", file=sys.stderr)
    return analysis, table


def write_platform_compare(table: list[dict[str, Any]], args: argparse.Namespace) -> list[Path]:
    """With ``--platform-report`` and ``--out``, write ``platform_compare.csv``; return its path."""
    if not getattr(args, "platform_report", None) or args.out is None:
        return []
    out = Path(args.out) / "platform_compare.csv"
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        names = ["agent", "matched_agent", "figure", "platform", "ours", "difference"]
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for r in table:
            writer.writerow({k: "" if v is None else v for k, v in r.items()})
    return [out]
