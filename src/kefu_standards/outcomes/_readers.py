"""Streaming readers of outcome files: ratings, orders, refunds, product reviews.

Every reader takes CSV (UTF-8 or GBK, detected), XLSX (first sheet, read-only,
so memory stays flat) or JSON Lines (one object per line), finds the layout from
the header (DOMAIN §2.7), and yields one frozen record per data row.  The error
discipline is the chat readers': a bad row raises a
:class:`~kefu_standards.exceptions.ReadError` subclass naming the file, the line
(or sheet row) and the reason, or, under ``errors="collect"``, becomes a
:class:`~kefu_standards.io.Skip` in the :class:`OutcomeReadReport` (one warning
per file).  Nothing is dropped without a record: blank rows carry no data and
are the only rows passed over.

Export quirks handled: header names with trailing spaces (``收货地址␠``), Excel
text-forcing ``="2971…"`` ids, phones with a leading ``'``, a UTF-8 BOM, GBK.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from datetime import datetime, tzinfo
from typing import IO, Any, Literal, TypeVar

import attrs

from kefu_standards._time import YEARS, parse_time
from kefu_standards.exceptions import (
    BadRecordError,
    ConfigError,
    ReadError,
    UnknownNameError,
)
from kefu_standards.io import ReadReport
from kefu_standards.io._common import (
    LineReader,
    _Context,
    clock_time,
    open_source,
    source_name,
)
from kefu_standards.io._csv import csv_rows
from kefu_standards.io._xlsx import xlsx_rows

from ._records import (
    NO_INTERVENTION,
    RATING_SCALES,
    REFUND_SUCCESS,
    Order,
    Rating,
    Refund,
    Review,
    check_scale,
    satisfaction_from_code,
    satisfaction_from_text,
)

__all__ = [
    "OutcomeReadReport",
    "read_orders",
    "read_ratings",
    "read_refunds",
    "read_reviews",
]

R = TypeVar("R")
Source = str | os.PathLike[str] | IO[bytes] | IO[str]
Row = dict[str, str]


@attrs.define(slots=True)
class OutcomeReadReport(ReadReport):
    """What an outcome read produced: ``records_read`` and the ``skips``.

    The chat report's ``messages_read`` / ``conversations_read`` stay 0; a
    skip's ``messages_lost`` counts the **records** it removed (1 per bad row,
    ``None`` when a malformed CSV record hides how many).  ``unrated_rows``
    counts JD 会话记录 rows with an empty 满意度: conversations nobody rated,
    read but not ratings.  ``layouts`` maps each file to the layout its header
    was read as.  So ``data rows = records_read + unrated_rows + records_lost``.

    .. versionadded:: 0.2.0
    """

    records_read: int = 0
    unrated_rows: int = 0
    layouts: dict[str, str] = attrs.field(factory=dict)

    @property
    def records_lost(self) -> int:
        """Sum of the known records lost by the skips."""
        return self.messages_lost

    def summary(self) -> str:
        """One line: records read, skips, records lost."""
        lost = str(self.records_lost)
        if self.unknown_losses:
            lost = f"at least {lost}"
        return f"read {self.records_read} records; {len(self.skips)} skips, {lost} records lost"


class _OutcomeContext(_Context):
    """The chat readers' error policy, with a warning that names the outcome reader."""

    SKIP_HINT = "pass report=OutcomeReadReport() to see every skip"
    WARN_STACKLEVEL = 5  # one frame more than the chat readers: _read's generator


# -- rows ------------------------------------------------------------------------------

_FORMULA = re.compile(r'^="(.*)"$')


def clean_cell(value: str) -> str:
    """Strip blanks, Excel's ``="…"`` text wrapper and a leading ``'`` from one cell."""
    text = value.strip()
    if not text or text[0] not in "='":
        return text
    hit = _FORMULA.match(text)
    if hit:
        text = hit.group(1).strip()
    if text.startswith("'"):
        text = text[1:].strip()
    return text


def clean_header(value: str) -> str:
    """Return a header name without BOM, blanks (real headers end in spaces) or quotes."""
    return clean_cell(value.replace("\ufeff", ""))


def _format_of(source: object, fmt: str) -> str:
    if fmt != "auto":
        if fmt not in ("csv", "xlsx", "jsonl", "records"):
            raise UnknownNameError(
                "outcome file format", fmt, ["auto", "csv", "xlsx", "jsonl", "records"]
            )
        return fmt
    name = source_name(source).lower().removesuffix(".gz")
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


def _rows(
    ctx: _Context, stream: IO[Any], fmt: str, encoding: str | None, header_at: list[int]
) -> Iterator[tuple[int, Row]]:
    """Yield ``(line, {header: cell})`` for each non-blank data row.

    The header's line is appended to *header_at* (for errors about the header).
    """
    if fmt == "jsonl":
        yield from _json_rows(ctx, LineReader(stream, ctx, encoding))
        return
    raw = (
        xlsx_rows(ctx, stream)
        if fmt == "xlsx"
        else csv_rows(ctx, LineReader(stream, ctx, encoding))
    )
    header: list[str] | None = None
    for number, cells in raw:
        if not any(c.strip() for c in cells):
            continue  # a blank row carries no record
        if header is None:
            header = [clean_header(c) for c in cells]
            header_at.append(number)
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            reason = f"{len(cells)} cells but the header has {len(header)} columns"
            ctx.fail(BadRecordError(ctx.source, number, reason), 1)
            continue
        yield number, {h: clean_cell(c) for h, c in zip(header, cells, strict=False) if h}


def _record_rows(records: Iterable[Mapping[str, Any]]) -> Iterator[tuple[int, Row]]:
    """Yield ``(row number, {column: cell})`` of in-memory records (``format="records"``).

    Numbers count from 1; ``None`` cells are empty, datetimes are written as
    ``YYYY-MM-DD HH:MM:SS`` (read in the reader's *tz* when naive).
    """
    for number, rec in enumerate(records, start=1):
        row = {
            clean_header(str(k)): ""
            if v is None
            else clean_cell(v.isoformat(sep=" ") if isinstance(v, datetime) else str(v))
            for k, v in rec.items()
        }
        if any(row.values()):
            yield number, row


def _json_rows(ctx: _Context, reader: LineReader) -> Iterator[tuple[int, Row]]:
    for number, text in reader:
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            ctx.fail(BadRecordError(ctx.source, number, f"invalid JSON: {exc.msg}"), 1)
            continue
        if not isinstance(obj, dict):
            reason = f"expected a JSON object, got {type(obj).__name__}"
            ctx.fail(BadRecordError(ctx.source, number, reason), 1)
            continue
        yield number, {str(k): "" if v is None else clean_cell(str(v)) for k, v in obj.items()}


# -- layouts ---------------------------------------------------------------------------


@attrs.frozen
class Layout:
    """A known file layout: its name, the columns that identify it and its aliases."""

    name: str
    marks: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]


def _pick(
    ctx: _Context, kind: str, layouts: tuple[Layout, ...], header: set[str], line: int
) -> Layout:
    for layout in layouts:
        if all(m in header for m in layout.marks):
            missing = [
                f"{c} ({'/'.join(layout.columns[c])})"
                for c in layout.required
                if not any(a in header for a in layout.columns[c])
            ]
            if missing:
                reason = f"{kind} file looks like {layout.name} but lacks column(s) {missing}"
                raise BadRecordError(ctx.source, line, reason)
            return layout
    known = "; ".join(f"{lay.name}: {', '.join(lay.marks)}" for lay in layouts)
    reason = (
        f"not a known {kind} layout; found columns {sorted(header)}; "
        f"known layouts and their identifying columns: {known}"
    )
    raise BadRecordError(ctx.source, line, reason)


def _get(row: Row, layout: Layout, name: str) -> str:
    for alias in layout.columns.get(name, ()):
        value = row.get(alias)
        if value:
            return value
    return ""


def _time(ctx: _Context, row: Row, layout: Layout, name: str, line: int) -> datetime | None:
    text = _get(row, layout, name)
    if not text:
        return None
    try:
        when = clock_time(text, ctx.tz)  # YYYY-MM-DD HH:MM:SS fast, else parse_time
        if not YEARS[0] <= when.year <= YEARS[1]:
            when = parse_time(text, ctx.tz)  # raises, naming the valid years
        return when
    except ValueError as exc:
        raise BadRecordError(ctx.source, line, f"{name}: {exc}") from None


def _amount(ctx: _Context, row: Row, layout: Layout, name: str, line: int) -> float | None:
    text = _get(row, layout, name).replace(",", "").removeprefix("¥").removeprefix("￥")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise BadRecordError(ctx.source, line, f"{name}: {text!r} is not a number") from None


def _required(ctx: _Context, row: Row, layout: Layout, name: str, line: int) -> str:
    value = _get(row, layout, name)
    if not value:
        cols = "/".join(layout.columns[name])
        raise BadRecordError(ctx.source, line, f"empty {name} ({cols})")
    return value


def _read(
    source: Source,
    kind: str,
    layouts: tuple[Layout, ...],
    build: Callable[[_Context, Row, Layout, int], R | None],
    *,
    format: str,  # noqa: A002
    encoding: str | None,
    tz: str | tzinfo | None,
    errors: str,
    report: OutcomeReadReport | None,
    on_layout: Callable[[_Context, Layout, set[str], int], None] | None = None,
) -> Iterator[R]:
    if errors not in ("raise", "collect"):
        raise UnknownNameError("errors policy", errors, ["raise", "collect"])
    fmt = _format_of(source, format)
    rep = report if report is not None else OutcomeReadReport()
    policy: Literal["raise", "collect"] = "raise" if errors == "raise" else "collect"
    name = source_name(source)
    ctx = _OutcomeContext(
        source="<records>" if fmt == "records" and name == "<stream>" else name,
        errors=policy,
        report=rep,
        tz=tz,
        sort=False,
        idle_gap=None,
        agents=(),
        shop=None,
        detect_roles=False,
    )
    return _iterate(ctx, source, kind, layouts, build, fmt, encoding, rep, on_layout)


def _iterate(  # noqa: PLR0917 - private plumbing of _read
    ctx: _Context,
    source: Source,
    kind: str,
    layouts: tuple[Layout, ...],
    build: Callable[[_Context, Row, Layout, int], R | None],
    fmt: str,
    encoding: str | None,
    rep: OutcomeReadReport,
    on_layout: Callable[[_Context, Layout, set[str], int], None] | None,
) -> Iterator[R]:
    with nullcontext(source) if fmt == "records" else open_source(source) as stream:
        layout: Layout | None = None
        header_at: list[int] = []
        rows = (
            _record_rows(stream)  # type: ignore[arg-type]
            if fmt == "records"
            else _rows(ctx, stream, fmt, encoding, header_at)  # type: ignore[arg-type]
        )
        for number, row in rows:
            if layout is None:
                where = header_at[0] if header_at else number  # JSONL: the first object
                layout = _pick(ctx, kind, layouts, set(row), where)
                rep.layouts[ctx.source] = layout.name
                if on_layout is not None:
                    on_layout(ctx, layout, set(row), where)
            try:
                record = build(ctx, row, layout, number)
            except ReadError as exc:
                ctx.fail(exc, 1)
                continue
            except (ValueError, TypeError) as exc:  # a record validator (ConfigError)
                ctx.fail(BadRecordError(ctx.source, number, str(exc)), 1)
                continue
            if record is None:
                rep.unrated_rows += 1
                continue
            rep.records_read += 1
            yield record


# -- ratings ---------------------------------------------------------------------------

#: 客服评价 API fields (taobao.qianniu.kefueval.get / wangwang.eservice.evals.get).
RATING_API = Layout(
    "qianniu_api",
    ("eval_code",),
    {
        "buyer": ("eval_sender",),
        "agent": ("eval_recer",),
        "code": ("eval_code",),
        "time": ("eval_time", "send_time"),
        "invited_by": ("source",),
        "scale": ("scale",),
        "shop": ("shop",),
    },
    ("buyer", "agent", "code", "time"),
)
#: jingdong.im.pop.evaluationlist.get fields (score 0/25/50/75/100).
RATING_JD_API = Layout(
    "jd_api",
    ("score", "waiter"),
    {
        "buyer": ("customer",),
        "agent": ("waiter",),
        "code": ("score",),
        "time": ("evaTime", "evatime"),
        "shop": ("shop",),
    },
    ("buyer", "agent", "code", "time"),
)
#: JD 咚咚 会话记录 table, one row per conversation (DOMAIN §2.4, §2.7).
RATING_JD_SESSIONS = Layout(
    "jd_sessions",
    ("满意度", "顾客"),
    {
        "buyer": ("顾客",),
        "agent": ("转接后客服", "客服"),
        "code": ("满意度",),
        "start": ("咨询时间",),
        "resolved": ("是否解决",),
        "shop": ("店铺",),
    },
    ("buyer", "agent", "start"),
)
RATING_LAYOUTS = (RATING_API, RATING_JD_API, RATING_JD_SESSIONS)

_INVITED = {"0": "客服邀评", "1": "消费者自主评价", "2": "系统邀评"}


def _build_rating(
    ctx: _Context, row: Row, layout: Layout, line: int, scale: str | None
) -> Rating | None:
    buyer = _required(ctx, row, layout, "buyer", line)
    agent = _required(ctx, row, layout, "agent", line)
    code = _get(row, layout, "code")
    if layout is RATING_JD_SESSIONS:
        if not code:
            return None  # a session nobody rated: read, not a rating
        row_scale = "text" if not code.isdigit() else (scale or "jd")
    elif layout is RATING_JD_API:
        row_scale = "jd"
    else:
        row_scale = _get(row, layout, "scale") or scale or ""
        if not row_scale:
            reason = "no rating scale: the 'scale' cell is empty and no scale= was given"
            raise BadRecordError(ctx.source, line, reason)
        if row_scale != "text" and row_scale not in RATING_SCALES:
            valid = ", ".join([*RATING_SCALES, "text"])
            reason = f"unknown rating scale {row_scale!r}; valid scales are: {valid}"
            raise BadRecordError(ctx.source, line, reason)
    if not code:
        raise BadRecordError(ctx.source, line, "empty rating code (eval_code)")
    try:
        level = (
            satisfaction_from_text(code)
            if row_scale == "text"
            else satisfaction_from_code(code, row_scale)
        )
    except ValueError as exc:
        raise BadRecordError(ctx.source, line, str(exc)) from None
    resolved = {"是": True, "已解决": True, "否": False, "未解决": False}.get(
        _get(row, layout, "resolved")
    )
    invited = _get(row, layout, "invited_by")
    return Rating(
        buyer=buyer,
        agent=agent,
        level=level,
        rated_at=_time(ctx, row, layout, "time", line),
        session_start=_time(ctx, row, layout, "start", line),
        code=code,
        scale=row_scale,
        invited_by=_INVITED.get(invited, invited or None),
        resolved=resolved,
        shop=_get(row, layout, "shop") or None,
        file=ctx.source,
        line=line,
    )


def _scale_said(scale: str | None) -> Callable[[_Context, Layout, set[str], int], None]:
    """Fail at the header when an ``eval_code`` file does not say its scale."""

    def check(ctx: _Context, layout: Layout, header: set[str], line: int) -> None:
        if layout is RATING_API and scale is None and "scale" not in header:
            reason = (
                "the file does not say which eval_code scale it uses; pass scale= "
                "('qianniu': 0 非常满意 … 4 非常不满意; 'wangwang': 1 非常满意 … 4 不满意; "
                "'jd': 0 … 100) or add a 'scale' column"
            )
            raise ConfigError(f"{ctx.source}, line {line}: {reason}")

    return check


def read_ratings(
    source: Source,
    *,
    scale: str | None = None,
    format: str = "auto",  # noqa: A002 - the natural name for the caller
    encoding: str | None = None,
    tz: str | tzinfo | None = None,
    errors: str = "raise",
    report: OutcomeReadReport | None = None,
) -> Iterator[Rating]:
    """Stream the 客服评价 of *source*, one :class:`~kefu_standards.outcomes.Rating` per row.

    Layouts (found from the header, DOMAIN §2.7):

    - ``qianniu_api``: ``eval_sender, eval_recer, eval_code, eval_time[, source]``.
      The code scale must be said: ``scale="qianniu"`` (0 非常满意 … 4 非常不满意),
      ``"wangwang"`` (1 非常满意 … 4 不满意) or ``"jd"``, or a ``scale`` column
      (which may also say ``text``);
    - ``jd_api``: ``customer, waiter, score, evaTime`` (0/25/50/75/100);
    - ``jd_sessions``: the JD 会话记录 table (``咨询时间, 顾客, 客服, 转接后客服, …,
      满意度, 是否解决``), 满意度 as text (非常满意 … 非常不满意) or a code
      (*scale*, default ``jd``), credited to 转接后客服 when set.  A row with an
      empty 满意度 is a session nobody rated: counted in
      :attr:`OutcomeReadReport.unrated_rows`, not yielded.

    Args:
        source: a path (``.csv``, ``.xlsx``, ``.jsonl``; ``.gz`` too), a file object or ``"-"``.
        scale: the code scale of ``eval_code`` when the file has no ``scale`` column.
        format: ``"auto"`` (by extension), ``"csv"``, ``"xlsx"``, ``"jsonl"`` or
            ``"records"`` (*source* is an iterable of mappings with the file's
            column names, e.g. the rows of a DataFrame; row numbers count from 1).
        encoding: ``None`` detects UTF-8 or GBK (GB18030).
        tz: zone of naive times (default Asia/Shanghai).
        errors: ``"raise"`` or ``"collect"`` (skip bad rows into *report*).
        report: an :class:`OutcomeReadReport` that accumulates counts and skips.

    Raises:
        ConfigError: no scale said for an ``eval_code`` file; a bad argument.
        ReadError: a subclass naming file, line and reason (under ``errors="raise"``).

    .. versionadded:: 0.2.0

    """
    if scale is not None and scale != "text":
        check_scale(scale)

    def build(ctx: _Context, row: Row, layout: Layout, line: int) -> Rating | None:
        return _build_rating(ctx, row, layout, line, scale)

    return _read(
        source,
        "ratings",
        RATING_LAYOUTS,
        build,
        format=format,
        encoding=encoding,
        tz=tz,
        errors=errors,
        report=report,
        on_layout=_scale_said(scale),
    )


# -- orders ----------------------------------------------------------------------------

#: Taobao 订单 export, old CSV (ExportOrderList, GBK).
ORDER_TAOBAO = Layout(
    "taobao_csv",
    ("订单编号", "买家会员名"),
    {
        "order_id": ("订单编号",),
        "buyer": ("买家会员名",),
        "created": ("订单创建时间",),
        "paid": ("订单付款时间",),
        "status": ("订单状态",),
        "amount": ("买家实际支付金额", "总金额"),
        "shop": ("店铺名称",),
    },
    ("order_id", "buyer"),
)
#: Taobao 订单 export, new 千牛 XLSX: no buyer nick, no payment time.
ORDER_QIANNIU = Layout(
    "qianniu_xlsx",
    ("订单编号",),
    {
        "order_id": ("订单编号", "主订单编号"),
        "created": ("订单创建时间",),
        "status": ("订单状态",),
        "amount": ("买家实付金额", "总金额"),
        "buyer": ("买家会员名", "买家昵称"),
        "shop": ("店铺名称",),
    },
    ("order_id",),
)
#: JD 京麦 order export, one row per SKU.
ORDER_JD = Layout(
    "jd",
    ("订单号", "下单帐号"),
    {
        "order_id": ("订单号",),
        "buyer": ("下单帐号",),
        "created": ("下单时间",),
        "paid": ("付款确认时间",),
        "status": ("订单状态",),
        "amount": ("应付金额", "订单金额"),
        "shop": ("店铺名称",),
    },
    ("order_id", "buyer"),
)
ORDER_LAYOUTS = (ORDER_TAOBAO, ORDER_JD, ORDER_QIANNIU)

#: 订单状态 values meaning the buyer has paid (used when the file has no payment time).
PAID_STATUSES = frozenset(
    {
        "买家已付款，等待卖家发货",
        "买家已付款,等待卖家发货",
        "等待卖家发货",
        "卖家已发货，等待买家确认",
        "卖家已发货,等待买家确认",
        "卖家部分发货",
        "交易成功",
        "等待出库",
        "等待确认收货",
        "完成",
    }
)


def _build_order(ctx: _Context, row: Row, layout: Layout, line: int) -> Order:
    order_id = _required(ctx, row, layout, "order_id", line)
    buyer = _required(ctx, row, layout, "buyer", line) if "buyer" in layout.required else None
    if buyer is None:
        buyer = _get(row, layout, "buyer") or None
    paid_at = _time(ctx, row, layout, "paid", line)
    status = _get(row, layout, "status")
    if "paid" in layout.columns:
        paid = paid_at is not None
    else:
        paid = status.removeprefix("(删除)") in PAID_STATUSES
    return Order(
        order_id=order_id,
        buyer=buyer,
        created_at=_time(ctx, row, layout, "created", line),
        paid_at=paid_at,
        paid=paid,
        status=status,
        amount=_amount(ctx, row, layout, "amount", line),
        shop=_get(row, layout, "shop") or None,
        layout=layout.name,
        file=ctx.source,
        line=line,
    )


def read_orders(
    source: Source,
    *,
    format: str = "auto",  # noqa: A002 - the natural name for the caller
    encoding: str | None = None,
    tz: str | tzinfo | None = None,
    errors: str = "raise",
    report: OutcomeReadReport | None = None,
) -> Iterator[Order]:
    """Stream the orders of *source*, one :class:`~kefu_standards.outcomes.Order` per row.

    Layouts (DOMAIN §2.7): ``taobao_csv`` (ExportOrderList: 订单编号, 买家会员名,
    订单创建时间, 订单付款时间 — paid when 订单付款时间 is set), ``jd`` (京麦:
    订单号, 下单帐号, 下单时间, 付款确认时间) and ``qianniu_xlsx`` (订单编号
    without 买家会员名: no buyer and no payment time, so ``paid`` comes from
    订单状态 and the order joins only through its id quoted in a chat).
    Arguments as for :func:`read_ratings`.

    .. versionadded:: 0.2.0
    """
    return _read(
        source,
        "orders",
        ORDER_LAYOUTS,
        _build_order,
        format=format,
        encoding=encoding,
        tz=tz,
        errors=errors,
        report=report,
    )


# -- refunds ---------------------------------------------------------------------------

#: Tmall refund export (退款状态, 客服介入状态, 责任方).
REFUND_TMALL = Layout(
    "tmall",
    ("退款编号", "客服介入状态"),
    {
        "order_id": ("订单编号",),
        "refund_id": ("退款编号",),
        "status": ("退款状态",),
        "cs_status": ("客服介入状态",),
        "responsible": ("责任方",),
        "applied": ("退款的申请时间", "退款申请时间"),
        "finished": ("退款完结时间", "完结时间"),
        "amount": ("买家退款金额",),
        "buyer": ("买家会员名称", "买家会员名"),
    },
    ("order_id", "status"),
)
#: The newer 退款单.xlsx: no 客服介入状态, so disputes are unknown.
REFUND_SHEET = Layout(
    "refund_sheet",
    ("退款编号",),
    {
        "order_id": ("订单编号",),
        "refund_id": ("退款编号",),
        "status": ("退款状态",),
        "applied": ("退款申请时间", "退款的申请时间"),
        "finished": ("退款完结时间",),
        "amount": ("退款总额", "买家退款金额"),
        "buyer": ("买家会员名称", "买家会员名"),
    },
    ("order_id", "status"),
)
REFUND_LAYOUTS = (REFUND_TMALL, REFUND_SHEET)

#: API ``cs_status`` codes (refund.Refund) as 客服介入状态 text.
CS_STATUS = {
    "1": "不需客服介入",
    "2": "需要客服介入",
    "3": "客服已经介入",
    "4": "客服初审完成",
    "5": "客服主管复审失败",
    "6": "客服处理完成",
}


def _build_refund(ctx: _Context, row: Row, layout: Layout, line: int) -> Refund:
    status = _required(ctx, row, layout, "status", line)
    has_cs = "cs_status" in layout.columns
    cs = CS_STATUS.get(_get(row, layout, "cs_status"), _get(row, layout, "cs_status"))
    return Refund(
        order_id=_required(ctx, row, layout, "order_id", line),
        status=status,
        success=status in REFUND_SUCCESS,
        refund_id=_get(row, layout, "refund_id") or None,
        cs_status=cs if has_cs else None,
        intervened=(cs not in NO_INTERVENTION) if has_cs else None,
        responsible=_get(row, layout, "responsible") or None,
        applied_at=_time(ctx, row, layout, "applied", line),
        finished_at=_time(ctx, row, layout, "finished", line),
        amount=_amount(ctx, row, layout, "amount", line),
        buyer=_get(row, layout, "buyer") or None,
        layout=layout.name,
        file=ctx.source,
        line=line,
    )


def read_refunds(
    source: Source,
    *,
    format: str = "auto",  # noqa: A002 - the natural name for the caller
    encoding: str | None = None,
    tz: str | tzinfo | None = None,
    errors: str = "raise",
    report: OutcomeReadReport | None = None,
) -> Iterator[Refund]:
    """Stream the refunds of *source*, one :class:`~kefu_standards.outcomes.Refund` per row.

    Layouts (DOMAIN §2.7): ``tmall`` (the Tmall refund export: 订单编号, 退款编号,
    退款状态, 客服介入状态, 责任方, …; 客服介入状态 may also be the API
    ``cs_status`` code 1–6) and ``refund_sheet`` (退款单.xlsx: 订单编号, 退款编号,
    退款总额, 退款状态, …; no 客服介入状态, so ``intervened`` is ``None``).
    Arguments as for :func:`read_ratings`.

    .. versionadded:: 0.2.0
    """
    return _read(
        source,
        "refunds",
        REFUND_LAYOUTS,
        _build_refund,
        format=format,
        encoding=encoding,
        tz=tz,
        errors=errors,
        report=report,
    )


# -- product reviews ---------------------------------------------------------------------

#: ``taobao.traderates.get`` fields, or a sheet with Chinese headers.
REVIEW_API = Layout(
    "traderates",
    ("result",),
    {
        "order_id": ("tid", "oid"),
        "result": ("result",),
        "buyer": ("nick",),
        "created": ("created",),
    },
    ("order_id", "result"),
)
REVIEW_SHEET = Layout(
    "review_sheet",
    ("评价结果",),
    {
        "order_id": ("订单编号", "订单号"),
        "result": ("评价结果",),
        "buyer": ("买家会员名", "买家昵称", "评价人"),
        "created": ("评价时间",),
    },
    ("order_id", "result"),
)
REVIEW_LAYOUTS = (REVIEW_API, REVIEW_SHEET)


def _build_review(ctx: _Context, row: Row, layout: Layout, line: int) -> Review:
    return Review(
        order_id=_required(ctx, row, layout, "order_id", line),
        result=_required(ctx, row, layout, "result", line),
        buyer=_get(row, layout, "buyer") or None,
        created_at=_time(ctx, row, layout, "created", line),
        file=ctx.source,
        line=line,
    )


def read_reviews(
    source: Source,
    *,
    format: str = "auto",  # noqa: A002 - the natural name for the caller
    encoding: str | None = None,
    tz: str | tzinfo | None = None,
    errors: str = "raise",
    report: OutcomeReadReport | None = None,
) -> Iterator[Review]:
    """Stream product reviews, one :class:`~kefu_standards.outcomes.Review` per row.

    Layouts: ``traderates`` (API fields ``tid``/``oid``, ``nick``, ``result``
    good/neutral/bad, ``created``) and ``review_sheet`` (订单编号, 评价结果
    好评/中评/差评, 评价时间).  The 评价管理 export layout was not found (DOMAIN
    §2.7), so these are the API's fields.  Arguments as for :func:`read_ratings`.

    .. versionadded:: 0.2.0
    """
    return _read(
        source,
        "reviews",
        REVIEW_LAYOUTS,
        _build_review,
        format=format,
        encoding=encoding,
        tz=tz,
        errors=errors,
        report=report,
    )
