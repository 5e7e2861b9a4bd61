"""店铺 网页版 "全文导出" CSV: one row per conversation, the whole chat in one cell.

Inside the chat cell (DOMAIN §2.3): a ``YYYY-MM-DD`` line sets the date; each
event is a ``HH:MM:SS`` line, the message line(s), and **the sender last**.
Service senders carry a half-width ``店铺:名字`` prefix; a sender without a
colon is the buyer.  ``没有更多内容了`` is the export's terminator line and is
not a message; control characters (such as U+0003) are removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kefu_standards.exceptions import BadRecordError, BadTimestampError, BrokenBlockError
from kefu_standards.model import Conversation, Message, Role

from ._common import LineReader, _Context, clock_time, export_message, role_of_sender
from ._csv import csv_rows

__all__ = ["WEB_COLUMNS", "is_web_header", "parse_qianniu_web", "parse_web_rows"]

#: Logical column -> accepted header names.
WEB_COLUMNS: dict[str, tuple[str, ...]] = {
    "buyer": ("buyer", "买家", "客户昵称"),
    "text": ("chat_text", "聊天内容", "content", "message"),
    "date": ("chat_date", "日期"),
    "range": ("filter_range", "筛选范围"),
}
_TERMINATOR = "没有更多内容了"
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}:\d{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def is_web_header(header: list[str]) -> bool:
    """Return True if a CSV header has the web export's chat-text and buyer columns."""
    names = {h.strip().lower().lstrip("\ufeff") for h in header}
    return bool(names & set(WEB_COLUMNS["text"][:2])) and bool(names & set(WEB_COLUMNS["buyer"]))


def _columns(header: list[str], source: str) -> dict[str, int]:
    index = {h.strip().lower(): i for i, h in enumerate(header)}
    out = {}
    for logical, names in WEB_COLUMNS.items():
        hit = next((index[n] for n in names if n in index), None)
        if hit is not None:
            out[logical] = hit
    for need in ("buyer", "text"):
        if need not in out:
            reason = f"missing a {'/'.join(WEB_COLUMNS[need])} column; found {header}"
            raise BadRecordError(source, 1, reason)
    return out


def parse_qianniu_web(ctx: _Context, reader: LineReader) -> Iterator[Conversation]:
    """Yield one conversation per row of a web full-text export."""
    return parse_web_rows(ctx, csv_rows(ctx, reader))


def parse_web_rows(ctx: _Context, rows: Iterator[tuple[int, list[str]]]) -> Iterator[Conversation]:
    """Yield one conversation per ``(line, cells)`` row; the first row is the header."""
    first = next(rows, None)
    if first is None:
        return
    where = _columns(first[1], ctx.source)
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        cell = {k: (row[i] if i < len(row) else "") for k, i in where.items()}
        yield from _conversation(ctx, number, cell)


def _conversation(ctx: _Context, number: int, cell: dict[str, str]) -> tuple[Conversation, ...]:
    buyer = cell["buyer"].strip()
    date = cell.get("date", "").strip()
    events: list[tuple[int, str, str, list[str]]] = []  # (chat line, date, time, lines)
    terminated = False
    for k, raw in enumerate(_CONTROL.sub("", cell["text"]).split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line == _TERMINATOR:
            terminated = True
        elif _DATE.match(line):
            date = line
        elif _TIME.match(line):
            events.append((k, date, line, []))
        elif events:
            events[-1][3].append(raw.rstrip())
        else:
            reason = f"chat_text line {k}: text before the first time line: {line[:40]!r}"
            ctx.fail(BrokenBlockError(ctx.source, number, reason), 0)
    messages: list[Message] = []
    for k, day, clock, lines in events:
        msg = _message(ctx, number, k, buyer=buyer, day=day, clock=clock, lines=lines)
        if msg is not None:
            messages.append(msg)
    meta: dict[str, object] = {"format": "qianniu_web", "line": number}
    if cell.get("range"):
        meta["filter_range"] = cell["range"]
    if terminated:
        meta["complete"] = True
    shop = next((m.sender.split(":", 1)[0] for m in messages if m.sender and ":" in m.sender), None)
    conv_id = f"{buyer}@{cell['date'].strip()}" if cell.get("date", "").strip() else buyer
    return ctx.finish(conv_id, messages, [number] * len(messages), shop=shop, meta=meta)


def _message(
    ctx: _Context, number: int, k: int, *, buyer: str, day: str, clock: str, lines: list[str]
) -> Message | None:
    if not lines:
        reason = f"chat_text line {k}: time {clock} has no sender line after it"
        ctx.fail(BrokenBlockError(ctx.source, number, reason), 1)
        return None
    if not day:
        reason = f"chat_text line {k}: time {clock} has no date (no date line, no 日期 column)"
        ctx.fail(BadTimestampError(ctx.source, number, reason), 1)
        return None
    try:
        sent_at = clock_time(f"{day} {clock}", ctx.tz)
    except ValueError as exc:
        ctx.fail(BadTimestampError(ctx.source, number, f"chat_text line {k}: {exc}"), 1)
        return None
    sender = lines[-1].strip()
    text = "\n".join(lines[:-1])
    hit = role_of_sender(ctx, sender)
    if hit is None:
        hit = (Role.BUYER, None) if sender == buyer or ":" not in sender else (Role.AGENT, None)
    return export_message(ctx, hit[0], text, sent_at=sent_at, sender=sender, rule=hit[1])
