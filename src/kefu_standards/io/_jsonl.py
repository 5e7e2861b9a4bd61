"""JSON Lines: one conversation per line, or one message per line with ``conversation_id``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from kefu_standards.exceptions import BadRecordError, ReadError
from kefu_standards.model import Conversation, Message, message_from_record

from ._common import LineReader, _Context, group_consecutive

__all__ = ["parse_jsonl"]

_CONVERSATION_KEYS = frozenset(("conversation_id", "shop"))
#: Keys of a conversation record; any other key goes to ``Conversation.meta``.
_RECORD_KEYS = frozenset(("id", "messages", "turns", "shop", "meta"))


def _load(ctx: _Context, number: int, text: str, lost: int | None) -> dict[str, Any] | None:
    """Parse one line; *lost* is what a bad line costs (1 per message line, else unknown)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        ctx.fail(BadRecordError(ctx.source, number, f"invalid JSON: {exc.msg}"), lost)
        return None
    if not isinstance(value, dict):
        reason = f"expected a JSON object, got {type(value).__name__}"
        ctx.fail(BadRecordError(ctx.source, number, reason), lost)
        return None
    return value


def _message(ctx: _Context, rec: Any, number: int, where: str = "") -> Message | None:
    try:
        return message_from_record(rec, tz=ctx.tz, source=ctx.source, line=number)
    except ReadError as exc:
        reason = f"{where}{exc.reason}"
        ctx.fail(type(exc)(ctx.source, number, reason), 1)
        return None


def _conversation(ctx: _Context, number: int, rec: dict[str, Any]) -> tuple[Conversation, ...]:
    raw_messages = rec.get("messages", rec.get("turns"))
    if not isinstance(raw_messages, list):
        reason = "'messages' (or 'turns') must be a list of message objects"
        ctx.fail(BadRecordError(ctx.source, number, reason), None)
        return ()
    conv_id = rec.get("id")
    if conv_id is None or conv_id == "":
        reason = "missing 'id' of the conversation"
        ctx.fail(BadRecordError(ctx.source, number, reason), len(raw_messages))
        return ()
    meta = rec.get("meta")
    if meta is not None and not isinstance(meta, dict):
        reason = f"'meta' must be an object, got {type(meta).__name__}"
        ctx.fail(BadRecordError(ctx.source, number, reason), len(raw_messages))
        return ()
    meta = {**(meta or {}), **{k: v for k, v in rec.items() if k not in _RECORD_KEYS}}
    messages: list[Message] = []
    for i, raw in enumerate(raw_messages):
        msg = _message(ctx, raw, number, f"message {i}: ")
        if msg is not None:
            messages.append(msg)
    return ctx.finish(
        str(conv_id), messages, [number] * len(messages), shop=rec.get("shop"), meta=meta
    )


def parse_jsonl(ctx: _Context, reader: LineReader) -> Iterator[Conversation]:
    """Yield conversations of a JSON Lines file; the layout is fixed by the first record."""
    records = ((n, t) for n, t in reader if t.strip())
    layout: str | None = None
    for number, text in records:
        rec = _load(ctx, number, text, None)
        if rec is None:
            continue
        if "messages" in rec or "turns" in rec:
            layout = "conversation"
        elif "conversation_id" in rec:
            layout = "message"
        else:
            reason = (
                "a record needs 'messages' (one conversation per line) or "
                "'conversation_id' (one message per line)"
            )
            ctx.fail(BadRecordError(ctx.source, number, reason), None)
            continue
        first = (number, rec)
        break
    else:
        return
    if layout == "conversation":
        yield from _conversation(ctx, *first)
        for number, text in records:
            rec = _load(ctx, number, text, None)
            if rec is None:
                continue
            yield from _conversation(ctx, number, rec)
    else:
        yield from _by_message(ctx, first, records)


def _by_message(
    ctx: _Context, first: tuple[int, dict[str, Any]], rest: Iterable[tuple[int, str]]
) -> Iterator[Conversation]:
    """Group consecutive message records by ``conversation_id``.

    An id that comes back after another id is an error: the reader streams and
    never holds more than one conversation.  Only the ids seen are remembered.
    """

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        yield first
        for number, text in rest:
            rec = _load(ctx, number, text, 1)
            if rec is not None:
                yield number, rec

    def items() -> Iterator[tuple[int, str, str | None, Callable[[], Message | None]]]:
        for number, rec in records():
            conv_id = rec.get("conversation_id")
            if conv_id is None or conv_id == "" or "messages" in rec:
                reason = "expected a message record with 'conversation_id' (one message per line)"
                ctx.fail(BadRecordError(ctx.source, number, reason), 1)
                continue
            shop = rec["shop"] if isinstance(rec.get("shop"), str) else None
            body = {k: v for k, v in rec.items() if k not in _CONVERSATION_KEYS}
            yield number, str(conv_id), shop, partial(_message, ctx, body, number)

    yield from group_consecutive(ctx, items())
