"""Hypothesis strategies for the data model, shared by every test module.

``messages()`` and ``conversations()`` build valid :class:`Message` and
:class:`Conversation` objects.  ``timed=True`` gives every message a time,
``timed=False`` none, ``timed=None`` (default) a mix.  Times are aware, from
2000 to 2099, in zones whose offsets are whole minutes (so ISO-8601 text keeps
them exactly).  Texts mix Chinese (Simplified and Traditional), emoji,
whitespace and arbitrary printable characters, never lone surrogates.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from kefu_standards.model import Conversation, Message, Role

__all__ = ["chat_texts", "conversations", "messages", "meta_values", "times", "zones"]

_PHRASES = (
    "亲，在的哦",
    "這個有現貨嗎",
    "发货了吗？",
    "😊👍",
    "  ",
    "\n",
    "\t缩进",
    "[数字x]元",
    "#E-s33",
    "ＡＢＣ１２３",
    "",
)


def zones() -> st.SearchStrategy[tzinfo]:
    """Zones with whole-minute offsets: Shanghai, UTC and a few fixed offsets."""
    return st.sampled_from(
        [
            ZoneInfo("Asia/Shanghai"),
            timezone.utc,
            timezone(timedelta(hours=-5)),
            timezone(timedelta(hours=5, minutes=30)),
        ]
    )


def times() -> st.SearchStrategy[datetime]:
    """Aware datetimes between 2000 and 2099 (microseconds included)."""
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=zones()
    )


def chat_texts(max_size: int = 30) -> st.SearchStrategy[str]:
    """Message texts: trade phrases, emoji, whitespace, or any non-surrogate text."""
    anything = st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)
    phrase = st.sampled_from(_PHRASES)
    return st.one_of(phrase, anything, st.lists(phrase, max_size=4).map("".join))


def meta_values() -> st.SearchStrategy[Any]:
    """JSON-ready values for ``meta``: scalars and small lists of them."""
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False),
        chat_texts(10),
    )
    return st.one_of(scalar, st.lists(scalar, max_size=3))


def _meta() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.text(min_size=1, max_size=8), meta_values(), max_size=3)


def messages(
    *, timed: bool | None = None, at: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Message]:
    """One message; *timed* as in the module docstring; *at* overrides the time strategy."""
    when: st.SearchStrategy[datetime | None]
    if timed is False:
        when = st.none()
    elif timed is True:
        when = at if at is not None else times()
    else:
        when = st.one_of(st.none(), at if at is not None else times())
    return st.builds(
        Message,
        role=st.sampled_from(list(Role)),
        text=chat_texts(),
        sent_at=when,
        sender=st.one_of(st.none(), st.sampled_from(["tb12345678", "某某旗舰店:小美", "小李"])),
        meta=st.one_of(st.just({}), _meta()),
    )


@st.composite
def conversations(
    draw: st.DrawFn,
    *,
    timed: bool | None = None,
    min_messages: int = 0,
    max_messages: int = 8,
) -> Conversation:
    """A conversation whose times never go backwards (untimed messages anywhere)."""
    n = draw(st.integers(min_messages, max_messages))
    start = draw(times())
    out: list[Message] = []
    clock = start
    for _ in range(n):
        clock = clock + timedelta(seconds=draw(st.integers(0, 3600)))
        zone = draw(zones())
        msg = draw(messages(timed=timed, at=st.just(clock.astimezone(zone))))
        out.append(msg)
    return Conversation(
        id=draw(st.text(min_size=1, max_size=12)),
        messages=tuple(out),
        shop=draw(st.one_of(st.none(), st.sampled_from(["某某旗舰店", "小店"]))),
        meta=draw(st.one_of(st.just({}), _meta())),
    )
