"""CSV: one message per row; consecutive rows with the same conversation id form a conversation."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from functools import partial

from kefu_standards.exceptions import BadRecordError, ConfigError, ReadError
from kefu_standards.model import Conversation, Message, message_from_record

from ._common import LineReader, _Context, group_consecutive

__all__ = ["COLUMN_NAMES", "csv_rows", "parse_csv", "parse_rows"]

#: Logical column -> header names tried (case-insensitive) when ``columns=`` does not say.
COLUMN_NAMES: Mapping[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "conversation", "session_id", "chat_id", "会话id"),
    "role": ("role", "角色"),
    "text": ("text", "content", "message", "msg", "内容", "消息"),
    "time": ("time", "sent_at", "timestamp", "datetime", "时间"),
    "sender": ("sender", "nick", "speaker", "发送者", "发送人"),
    "shop": ("shop", "店铺"),
}
_REQUIRED = ("conversation_id", "role", "text")


def csv_rows(ctx: _Context, reader: LineReader) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first_line, row)`` for each CSV record (quoted fields may span lines).

    A quoted field that is never closed would take every line to the end of the
    file into one cell (Python's csv reader does not complain); that record is
    reported as malformed instead, and nothing after it is read.
    """
    consumed: list[str] = []  # the lines of the record being read

    def lines() -> Iterator[str]:
        for _, text in reader:
            consumed.append(text)
            yield text

    rows = csv.reader(lines())
    start = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            ctx.fail(BadRecordError(ctx.source, start, f"malformed CSV: {exc}"), None)
            consumed.clear()
            start = rows.line_num + 1
            continue
        if len(consumed) > 1 and _unclosed_quote(consumed):
            reason = (
                "malformed CSV: a quoted field opened here is never closed, so every line "
                "to the end of the file would be one cell; close it or double the quote "
                '("")'
            )
            ctx.fail(BadRecordError(ctx.source, start, reason), None)
            return
        consumed.clear()
        yield start, row
        start = rows.line_num + 1


def _unclosed_quote(lines: list[str]) -> bool:
    """Whether the record made of *lines* ends inside a quoted field (at end of file)."""
    if sum(line.count('"') for line in lines) % 2 == 0:
        return False
    try:
        for _ in csv.reader(lines, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def resolve_columns(
    header: list[str], columns: Mapping[str, str] | None, source: str
) -> dict[str, int]:
    """Map logical names to column indexes; ``columns=`` overrides the defaults."""
    wanted = dict(columns or {})
    unknown = sorted(set(wanted) - set(COLUMN_NAMES))
    if unknown:
        valid = ", ".join(COLUMN_NAMES)
        raise ConfigError(f"unknown logical column(s) {unknown}; valid names are {valid}")
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    out: dict[str, int] = {}
    for logical, aliases in COLUMN_NAMES.items():
        if logical in wanted:
            i = index.get(wanted[logical].strip().lower())
            if i is None:
                reason = (
                    f"column {wanted[logical]!r} (given for {logical!r}) is not in the "
                    f"header; found {header}"
                )
                raise BadRecordError(source, 1, reason)
            out[logical] = i
            continue
        hit = next((index[a] for a in aliases if a in index), None)
        if hit is not None:
            out[logical] = hit
    missing = [c for c in _REQUIRED if c not in out]
    if missing:
        reason = (
            f"missing column(s) {missing}; found {header}; pass columns={{logical: header}} "
            f"with logical names from {list(COLUMN_NAMES)}"
        )
        raise BadRecordError(source, 1, reason)
    return out


def parse_csv(
    ctx: _Context, reader: LineReader, columns: Mapping[str, str] | None
) -> Iterator[Conversation]:
    """Yield conversations from a one-message-per-row CSV file."""
    return parse_rows(ctx, csv_rows(ctx, reader), columns)


def parse_rows(
    ctx: _Context, rows: Iterator[tuple[int, list[str]]], columns: Mapping[str, str] | None
) -> Iterator[Conversation]:
    """Yield conversations from ``(line, cells)`` rows, the first being the header."""
    first = next(rows, None)
    if first is None:
        return
    where = resolve_columns(first[1], columns, ctx.source)

    def items() -> Iterator[tuple[int, str, str | None, Callable[[], Message | None]]]:
        for number, row in rows:
            if not any(cell.strip() for cell in row):
                continue  # a blank row carries no message
            rec = {k: row[i] for k, i in where.items() if i < len(row)}
            conv_id = rec.pop("conversation_id", "")
            if not conv_id:
                ctx.fail(BadRecordError(ctx.source, number, "empty conversation id"), 1)
                continue
            row_shop = rec.pop("shop", "") or None
            if not rec.get("sender"):
                rec.pop("sender", None)
            yield number, conv_id, row_shop, partial(_build, ctx, rec, number)

    yield from group_consecutive(ctx, items(), id_name="conversation id", unit="rows")


def _build(ctx: _Context, rec: dict[str, str], number: int) -> Message | None:
    try:
        return message_from_record(rec, tz=ctx.tz, source=ctx.source, line=number)
    except ReadError as exc:
        ctx.fail(exc, 1)
        return None
