"""旺旺/千牛 聊天记录 TXT: per-customer blocks, and the 即时消息 variant.

Block layout (DOMAIN §2.1)::

    某某旗舰店:小美                       <- line 1: the exporting account
    ----------------------------tb12345678----------------------------
    tb12345678(2024-05-01 10:00:01):  这个有现货吗
    某某旗舰店:小美(2024-05-01 10:00:20):  亲，有现货的哦
    continuation lines belong to the message above
    ================================================================
                                   群聊                              <- reading stops

即时消息 layout: ``YYYY-MM-DD HH:MM:SS <sender>: <content>`` lines; a bare
``YYYY-MM-DD`` line separates chats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import attrs

from kefu_standards.exceptions import BadTimestampError, BrokenBlockError, UnknownRoleError
from kefu_standards.model import Conversation, Message, Role

from ._common import LineReader, _Context, clock_time, export_message, role_of_sender, strip_eol

__all__ = ["looks_like_wangwang", "parse_wangwang"]

_BLOCK = re.compile(r"^-{28}(?P<nick>.+?)-{28}\s*$")
_END = re.compile(r"^={64}\s*$")
_GROUP = re.compile(r"^\s{10,}群聊\s*$")
_HEADER = re.compile(
    r"^(?P<sayer>.+?)\((?P<time>\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2})\):"
    r"[ \t]{0,2}(?P<text>.*)$"
)
_IM_LINE = re.compile(
    r"^(?P<time>\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}) (?P<sender>.+?):(?: (?P<text>.*)|$)"
)
_DAY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}\s*$")


def looks_like_wangwang(lines: list[str]) -> bool:
    """Return True if the first non-empty lines look like a 旺旺/千牛 TXT export."""
    return any(
        _BLOCK.match(x) or "即时消息" in x or x.strip() == "单聊" or _HEADER.match(x) for x in lines
    )


@attrs.define(slots=True)
class _Pending:
    """A message being collected (its continuation lines are still to come)."""

    line: int
    role: Role
    rule: str | None
    sender: str
    sent_at: datetime
    parts: list[str]

    def build(self, ctx: _Context) -> Message:
        parts = list(self.parts)
        while len(parts) > 1 and not parts[-1].strip():
            parts.pop()  # blank lines after a message are layout, not content
        return export_message(
            ctx,
            self.role,
            "\n".join(parts),
            sent_at=self.sent_at,
            sender=self.sender,
            rule=self.rule,
        )


class _Conv:
    """Messages of one conversation under construction."""

    def __init__(self, conv_id: str, line: int, meta: dict[str, object]) -> None:
        self.id = conv_id
        self.line = line
        self.meta = meta
        self.messages: list[Message] = []
        self.lines: list[int] = []
        self.pending: _Pending | None = None
        self.skipping = False  # continuation lines of a skipped message are skipped too

    def flush(self, ctx: _Context) -> None:
        if self.pending is not None:
            self.messages.append(self.pending.build(ctx))
            self.lines.append(self.pending.line)
            self.pending = None

    def close(self, ctx: _Context, shop: str | None) -> tuple[Conversation, ...]:
        self.flush(ctx)
        return ctx.finish(self.id, self.messages, self.lines, shop=shop, meta=self.meta)


def _time(ctx: _Context, number: int, value: str) -> datetime | None:
    try:
        return clock_time(value, ctx.tz)
    except ValueError as exc:
        ctx.fail(BadTimestampError(ctx.source, number, str(exc)), 1)
        return None


def parse_wangwang(ctx: _Context, reader: LineReader) -> Iterator[Conversation]:
    """Yield conversations of a 旺旺/千牛 TXT export (either layout)."""
    head = reader.peek(6)
    if any("即时消息" in x for x in head):
        yield from _parse_im(ctx, reader)
    else:
        yield from _parse_blocks(ctx, reader)


def _service_role(
    ctx: _Context, sayer: str, account: str, shop: str | None
) -> tuple[Role, str | None] | None:
    hit = role_of_sender(ctx, sayer)
    if hit is not None:
        return hit
    if ":" in sayer or sayer in (account, shop) or (shop and sayer.startswith(shop)):
        return Role.AGENT, None
    return None


def _parse_blocks(ctx: _Context, reader: LineReader) -> Iterator[Conversation]:
    account = ""
    shop: str | None = None
    conv: _Conv | None = None
    nick = ""
    for number, raw in reader:
        line = strip_eol(raw)
        if number == 1 and not _BLOCK.match(line):
            account = line.strip()
            shop = account.split(":", 1)[0].strip() or None
            continue
        block = _BLOCK.match(line)
        if block:
            if conv is not None:
                yield from conv.close(ctx, shop)
            nick = block["nick"].strip()
            conv = _Conv(nick, number, {"format": "wangwang", "line": number, "account": account})
            continue
        if _END.match(line):
            if conv is not None:
                yield from conv.close(ctx, shop)
                conv = None
            continue
        if _GROUP.match(line) and conv is None:
            return  # the 群聊 (group chat) section is not read
        header = _HEADER.match(line)
        if conv is None:
            if line.strip() and (header or nick):
                lost = 1 if header else 0
                reason = f"text outside a customer block: {line.strip()[:40]!r}"
                ctx.fail(BrokenBlockError(ctx.source, number, reason), lost)
            continue  # lines before the first block are export headers
        if header is None:
            if conv.pending is not None:
                conv.pending.parts.append(line)
            elif conv.skipping:
                pass
            elif line.strip():
                reason = f"text before the first message of block {nick!r}: {line.strip()[:40]!r}"
                ctx.fail(BrokenBlockError(ctx.source, number, reason), 0)
            continue
        conv.flush(ctx)
        conv.skipping = True
        sent_at = _time(ctx, number, header["time"])
        if sent_at is None:
            continue
        sayer = header["sayer"].strip()
        if sayer == nick:
            role, rule = Role.BUYER, None
        else:
            hit = _service_role(ctx, sayer, account, shop)
            if hit is None:
                reason = (
                    f"cannot tell the role of {sayer!r}: not the block's buyer {nick!r}, "
                    f"not a '店铺:名字' account; pass agents=[{sayer!r}] if it is a service account"
                )
                ctx.fail(UnknownRoleError(ctx.source, number, reason), 1)
                continue
            role, rule = hit
        conv.skipping = False
        conv.pending = _Pending(number, role, rule, sayer, sent_at, [header["text"]])
    if conv is not None:
        yield from conv.close(ctx, shop)


def _parse_im(ctx: _Context, reader: LineReader) -> Iterator[Conversation]:
    shop = ctx.shop
    conv: _Conv | None = None
    chats = 0
    started = False
    day = ""

    def close(c: _Conv) -> tuple[Conversation, ...]:
        buyer = next((m.sender for m in c.messages if m.role is Role.BUYER and m.sender), None)
        c.id = f"{buyer}@{day}" if buyer and day else f"chat{chats}"
        return c.close(ctx, shop)

    for number, raw in reader:
        line = strip_eol(raw)
        if _DAY.match(line):
            started = True
            if conv is not None:
                yield from close(conv)
                conv = None
            day = line.strip()
            continue
        m = _IM_LINE.match(line)
        if m is None:
            if conv is not None and conv.pending is not None:
                conv.pending.parts.append(line)
            elif conv is not None and conv.skipping:
                pass
            elif started and line.strip():
                reason = f"text before the first message of a chat: {line.strip()[:40]!r}"
                ctx.fail(BrokenBlockError(ctx.source, number, reason), 0)
            continue  # header lines of the export
        started = True
        if conv is None:
            chats += 1
            conv = _Conv("", number, {"format": "wangwang", "line": number})
            day = day or m["time"][:10]
        conv.flush(ctx)
        conv.skipping = True
        sent_at = _time(ctx, number, m["time"])
        if sent_at is None:
            continue
        sender = m["sender"].strip()
        if shop is None and ":" in sender:
            shop = sender.split(":", 1)[0]
        hit = _service_role(ctx, sender, "", shop)
        role, rule = hit if hit is not None else (Role.BUYER, None)
        conv.skipping = False
        conv.pending = _Pending(number, role, rule, sender, sent_at, [m["text"] or ""])
    if conv is not None:
        yield from close(conv)
