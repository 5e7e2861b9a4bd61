"""千牛 PC chat window text copied to the clipboard: one chat, name-and-time headers.

Layout (DOMAIN §2.2; reconstructed from a public RPA helper, no real data)::

    tb12345678 2024-5-1 10:00:01        <- sender, then the time (the space may be missing)
    这个有现货吗
    已读                                 <- delivery status of the message above
    某某旗舰店:小美2024-5-1 10:00:20
    亲，有现货的哦
    某某旗舰店:小美 --> 某某旗舰店:小丽 2024-5-1 10:01:00   <- sent by A, addressed to B
    tb12345678 撤回了一条消息            <- a recalled message (no time)

Older copies put the sender on its own line and the time alone on the next one.

The whole text is one conversation with one buyer.  A sender is service side
when it has a shop prefix (``店铺:名字``), is listed in ``agents=`` (name or
prefix) or is a bot account; the other party is the buyer, and a second
unknown party is an error that asks for ``agents=``.

Nothing is dropped silently: the status line becomes the message's
``meta["status"]``; a recall becomes a ``system`` message (``role_rule``
``qianniu_recall``, at the time of the message before it); the page widgets the
window mixes into the text (``当前用户来自``, ``商品详情页``, product cards, URLs,
``¥`` price lines, the auto-assignment notice) become ``system`` messages
(``role_rule`` ``qianniu_widget``), which neither open nor answer a round.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import attrs

from kefu_standards._frozendict import FrozenDict
from kefu_standards.exceptions import BadTimestampError, BrokenBlockError
from kefu_standards.model import Conversation, Message, Role

from ._common import (
    LineReader,
    _Context,
    clock_time,
    export_message,
    role_of_sender,
    strip_eol,
    unknown_second_speaker,
)

__all__ = ["looks_like_qianniu_clip", "parse_qianniu_clip"]

_TIME = r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}"
_HEADER = re.compile(rf"^(?P<sender>.*?)[ \t]*(?P<time>{_TIME})\s*$")
_ARROW = re.compile(r"^(?P<sender>.+?)\s*-->\s*(?P<to>.+)$")
_RECALL = re.compile(r"^(?P<sender>\S.*?)\s*撤回了一条消息\s*$")
_STATUS = frozenset({"已读", "未读", "发送中"})
_WIDGET_LINES = frozenset(
    {"当前用户来自", "商品详情页", "商品推荐", "这些非常适合您的商品可以一起看看～～", "千牛"}
)
_WIDGET_PREFIXES = ("当前用户来自", "由 服务助手 转交给", "原因：【", "http://", "https://", "¥")


def looks_like_qianniu_clip(lines: list[str]) -> bool:
    """Return True if the first non-empty line is a ``sender time`` header (or a bare time)."""
    if not lines:
        return False
    first = _HEADER.match(lines[0].strip())
    if first is not None and "(" not in first["sender"]:
        return True
    # older copies: the sender alone on the first line, the time alone on the next
    return len(lines) > 1 and re.fullmatch(_TIME, lines[1].strip()) is not None


def _is_widget(line: str) -> bool:
    text = line.strip()
    return text in _WIDGET_LINES or text.startswith(_WIDGET_PREFIXES)


@attrs.define(slots=True)
class _Open:
    """The message whose body lines are being collected."""

    line: int
    role: Role
    rule: str | None
    sender: str
    sent_at: datetime
    to: str | None
    parts: list[str] = attrs.Factory(list)
    status: str | None = None


class _Chat:
    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.messages: list[Message] = []
        self.lines: list[int] = []
        self.open: _Open | None = None
        self.buyer: str | None = None
        self.skipping = False  # body lines of a header that failed are skipped too

    def flush(self) -> None:
        m = self.open
        if m is None:
            return
        parts = list(m.parts)
        while parts and not parts[-1].strip():
            parts.pop()
        msg = export_message(
            self.ctx, m.role, "\n".join(parts), sent_at=m.sent_at, sender=m.sender, rule=m.rule
        )
        extra = {k: v for k, v in (("status", m.status), ("to", m.to)) if v is not None}
        if extra:
            msg = attrs.evolve(msg, meta=FrozenDict({**msg.meta, **extra}))
        self.messages.append(msg)
        self.lines.append(m.line)
        self.open = None

    def system(self, number: int, text: str, rule: str, sender: str | None = None) -> None:
        """Append a system line at the time of the message before it."""
        self.flush()
        at = self.messages[-1].sent_at if self.messages else None
        meta = FrozenDict({"role_rule": rule})
        self.messages.append(Message(Role.SYSTEM, text, at, sender, meta))
        self.lines.append(number)

    def role(self, sender: str) -> tuple[Role, str | None] | None:
        hit = role_of_sender(self.ctx, sender)
        if hit is not None:
            return hit
        if ":" in sender or "：" in sender:
            return Role.AGENT, "sender_shop_prefix"
        if self.buyer is None or sender == self.buyer:
            self.buyer = sender
            return Role.BUYER, None
        return None


def parse_qianniu_clip(ctx: _Context, reader: LineReader) -> Iterator[Conversation]:
    """Yield the one conversation of a 千牛 chat-window copy."""
    chat = _Chat(ctx)
    orphan: tuple[int, str] | None = None  # a line before any header: maybe a sender
    first_line = 0
    for number, raw in reader:
        line = strip_eol(raw).rstrip()
        text = line.strip()
        header = _HEADER.match(line)
        if header is None:
            if not text:
                if chat.open is not None:
                    chat.open.parts.append("")
                continue
            if chat.open is not None and text in _STATUS and chat.open.status is None:
                chat.open.status = text
                continue
            recall = _RECALL.match(text)
            if recall is not None:
                chat.system(number, text, "qianniu_recall", recall["sender"])
                continue
            if _is_widget(text):
                chat.system(number, text, "qianniu_widget")
                continue
            if chat.open is not None:
                chat.open.parts.append(line)
            elif not chat.skipping:
                if orphan is not None:
                    reason = f"text before the first message header: {orphan[1][:40]!r}"
                    ctx.fail(BrokenBlockError(ctx.source, orphan[0], reason), 0)
                orphan = (number, text)
            continue
        sender = header["sender"].strip()
        sender_line = number
        if not sender:  # older layout: the sender is the line above the time
            if chat.open is not None and chat.open.parts and chat.open.parts[-1].strip():
                sender = chat.open.parts.pop().strip()
            elif orphan is not None:
                sender_line, sender = orphan
                orphan = None
        if orphan is not None:
            reason = f"text before the first message header: {orphan[1][:40]!r}"
            ctx.fail(BrokenBlockError(ctx.source, orphan[0], reason), 0)
            orphan = None
        chat.flush()
        chat.skipping = True
        if not sender:
            reason = f"a time {header['time']!r} with no sender before it"
            ctx.fail(BrokenBlockError(ctx.source, number, reason), 1)
            continue
        arrow = _ARROW.match(sender)
        to = arrow["to"].strip() if arrow else None
        sender = arrow["sender"].strip() if arrow else sender
        try:
            sent_at = clock_time(header["time"], ctx.tz)
        except ValueError as exc:
            ctx.fail(BadTimestampError(ctx.source, number, str(exc)), 1)
            continue
        hit = chat.role(sender)
        if hit is None:
            unknown_second_speaker(ctx, number, chat.buyer, sender)
            continue
        first_line = first_line or sender_line
        chat.skipping = False
        chat.open = _Open(sender_line, hit[0], hit[1], sender, sent_at, to)
    if orphan is not None:
        reason = f"text before the first message header: {orphan[1][:40]!r}"
        ctx.fail(BrokenBlockError(ctx.source, orphan[0], reason), 0)
    chat.flush()
    if not chat.messages:
        return
    start = next((m.sent_at for m in chat.messages if m.sent_at is not None), None)
    stamp = start.strftime("%Y-%m-%dT%H:%M:%S") if start else "chat"
    conv_id = f"{chat.buyer}@{stamp}" if chat.buyer else stamp
    meta = {"format": "qianniu_clip", "line": first_line or chat.lines[0]}
    yield from ctx.finish(conv_id, chat.messages, chat.lines, meta=meta)
