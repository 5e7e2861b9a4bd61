"""京东 咚咚/京麦 聊天记录 LOG: sessions between markers, roles inferred from names.

Layout (DOMAIN §2.4)::

    /*****************以下为一通会话************************************/
    jd_4a8f****c2 2024-05-01 10:00:00
    这款鞋底材质是什么？
    某某自营--小黛 2024-05-01 10:00:25
    亲亲～是橡胶大底哦
    /*****************会话结束************************************/

The file does not say who is who.  A sender is service side when it is listed
in ``agents=`` (exact name or prefix), has a shop prefix (``某某自营--小黛``,
``好味坊旗舰店-小桃``, ``店铺:名字``), or is a bot account (``jimi_vender_<n>``, ``…@im.jd.com``).
The buyer is the other party; a session with two unknown speakers is an error
that asks for ``agents=``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kefu_standards.exceptions import BadTimestampError, BrokenBlockError
from kefu_standards.model import Conversation, Role

from ._common import (
    LineReader,
    _Context,
    clock_time,
    role_of_sender,
    strip_eol,
    unknown_second_speaker,
)
from ._wangwang import _Conv, _Pending

__all__ = ["looks_like_jd", "parse_jd"]

_START = re.compile(r"^\s*/\*+\s*以下为一通会话\s*\**/?\s*$")
_END = re.compile(
    r"^\s*(?:/\*+\s*)?会话结束(?:_?时间\s*[:：]\s*(?P<time>[\d\- :T]+?))?\s*\**/?\s*$"
)
_HEADER = re.compile(
    r"^\s*(?P<sender>.+?)\s+(?P<time>\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}:\d{2})\s*$"
)


# A shop name, then one or two dashes, then the agent: 某某自营--小黛, 好味坊旗舰店-小桃.
_SHOP_AGENT = re.compile(r"^\S*?(?:店|旗舰|专营|自营|官方|专卖)\S*?-{1,2}[^-\s]")


def looks_like_jd(lines: list[str]) -> bool:
    """Return True if the first non-empty lines hold a 咚咚 session marker."""
    return any("以下为一通会话" in x for x in lines)


def _role(ctx: _Context, sender: str, buyer: str | None) -> tuple[Role, str | None] | None:
    hit = role_of_sender(ctx, sender)
    if hit is not None:
        return hit
    if "--" in sender or ":" in sender or _SHOP_AGENT.match(sender):
        return Role.AGENT, "sender_shop_prefix"
    if buyer is None or sender == buyer:
        return Role.BUYER, None
    return None


def parse_jd(ctx: _Context, reader: LineReader) -> Iterator[Conversation]:
    """Yield one conversation per 咚咚 session."""
    conv: _Conv | None = None
    buyer: str | None = None
    sessions = 0

    def close(c: _Conv) -> tuple[Conversation, ...]:
        c.flush(ctx)
        start = c.messages[0].sent_at if c.messages else None
        stamp = start.strftime("%Y-%m-%dT%H:%M:%S") if start else f"session{sessions}"
        c.id = f"{buyer}@{stamp}" if buyer else stamp
        return c.close(ctx, None)

    for number, raw in reader:
        line = strip_eol(raw).rstrip("\t ")
        if _START.match(line):
            if conv is not None:
                yield from close(conv)
            sessions += 1
            buyer = None
            conv = _Conv("", number, {"format": "jd", "line": number})
            continue
        end = _END.match(line)
        if end:
            if conv is None:
                ctx.fail(BrokenBlockError(ctx.source, number, "session end without a start"), 0)
                continue
            if end["time"]:
                conv.meta["closed_at"] = end["time"].strip()
            yield from close(conv)
            conv = None
            continue
        header = _HEADER.match(line)
        if conv is None:
            if line.strip():
                reason = f"text outside a session (no 以下为一通会话 marker): {line.strip()[:40]!r}"
                ctx.fail(BrokenBlockError(ctx.source, number, reason), 1 if header else 0)
            continue
        if header is None:
            if conv.pending is not None:
                conv.pending.parts.append(line)
            elif not conv.skipping and line.strip():
                reason = f"text before the first message of the session: {line.strip()[:40]!r}"
                ctx.fail(BrokenBlockError(ctx.source, number, reason), 0)
            continue
        conv.flush(ctx)
        conv.skipping = True
        try:
            sent_at = clock_time(header["time"], ctx.tz)
        except ValueError as exc:
            ctx.fail(BadTimestampError(ctx.source, number, str(exc)), 1)
            continue
        sender = header["sender"].strip()
        hit = _role(ctx, sender, buyer)
        if hit is None:
            unknown_second_speaker(ctx, number, buyer, sender)
            continue
        if hit[0] is Role.BUYER:
            buyer = sender
        conv.skipping = False
        conv.pending = _Pending(number, hit[0], hit[1], sender, sent_at, [])
    if conv is not None:
        yield from close(conv)
