"""The data model: :class:`Role`, :class:`Message`, :class:`Conversation`.

All three are immutable.  Build conversations from plain records with
:meth:`Conversation.from_records`, or read them from files with
:func:`kefu_standards.read_conversations`.

Ordering rule (documented decision): a :class:`Conversation` keeps messages in
the order given and **raises** :class:`~kefu_standards.exceptions.MessageOrderError`
when a timestamp goes backwards.  ``from_records(..., sort=True)`` and the
readers' ``sort=True`` option instead apply a *stable* sort by time, so
messages with equal timestamps keep their input order.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

import attrs

from ._frozendict import FrozenDict, freeze
from ._time import as_aware, elapsed, parse_time
from .exceptions import (
    BadRecordError,
    BadTimestampError,
    ConfigError,
    InputTypeError,
    UnknownRoleError,
)

__all__ = ["Conversation", "Message", "Role"]

_ZERO = timedelta(0)

_ROLE_ALIASES: dict[str, str] = {
    "buyer": "buyer",
    "customer": "buyer",
    "user": "buyer",
    "client": "buyer",
    "im.customer": "buyer",
    "c2b": "buyer",
    "买家": "buyer",
    "顾客": "buyer",
    "客户": "buyer",
    "agent": "agent",
    "seller": "agent",
    "staff": "agent",
    "waiter": "agent",
    "im.waiter": "agent",
    "mall_cs": "agent",
    "b2c": "agent",
    "person": "agent",
    "客服": "agent",
    "卖家": "agent",
    "bot": "bot",
    "robot": "bot",
    "assist_robot": "bot",
    "机器人": "bot",
    "system": "system",
    "system_auto": "system",
    "sys": "system",
    "系统": "system",
}


class Role(str, enum.Enum):
    """Who wrote a message.

    ``buyer`` (the customer), ``agent`` (a human 客服), ``bot`` (auto-replies,
    店小蜜, 机器人) and ``system`` (cards, transfer notices, platform notices).
    """

    BUYER = "buyer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: object) -> Role:
        """Return the role for *value*: a ``Role``, its name or a common alias.

        Aliases include ``customer``/``user``/``买家`` (buyer), ``staff``/``seller``/
        ``客服`` (agent), ``robot``/``机器人`` (bot) and ``系统`` (system).
        Raises ``ValueError`` naming the valid roles.
        """
        if isinstance(value, Role):
            return value
        if isinstance(value, str):
            key = _ROLE_ALIASES.get(value.strip().lower())
            if key is not None:
                return cls(key)
        valid = ", ".join(r.value for r in cls)
        raise ValueError(f"unknown role {value!r}; valid roles are {valid} (or an alias)")


def _to_role(value: object) -> Role:
    if type(value) is Role:  # the common case (Role cannot be subclassed: it has members)
        return value
    try:
        return Role.parse(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _to_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if type(value) is datetime and value.tzinfo is not None and value.utcoffset() is not None:
        return value  # already aware: what as_aware returns, without the checks' call
    if not isinstance(value, datetime):
        msg = f"sent_at must be a datetime or None, not {type(value).__name__}"
        raise InputTypeError(msg)
    return as_aware(value)


def _check_text(_inst: object, _attr: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InputTypeError(f"Message.text must be a str, not {type(value).__name__}")


def _opt_str(value: object) -> str | None:
    if value is None or type(value) is str:
        return value  # None or a str, kept as is
    return str(value)


#: The meta of a message or conversation built without one (shared: it is immutable).
_NO_META = FrozenDict()


def _to_meta(value: Mapping[str, Any] | None) -> FrozenDict:
    """Return *value* as a :class:`FrozenDict`; one that already is one is kept as is."""
    return value if type(value) is FrozenDict else FrozenDict(value)


@attrs.frozen(slots=True, init=False)
class Message:
    """One chat message.

    ``sent_at`` is timezone-aware; a naive datetime is read as Asia/Shanghai.
    It may be ``None`` for corpora without timestamps (then timing metrics are
    undefined).  ``sender`` names the account that wrote it (buyer nick, agent
    sub-account); transfers show as a change of agent ``sender``.
    """

    role: Role = attrs.field(converter=_to_role)
    text: str = attrs.field(validator=_check_text)
    sent_at: datetime | None = attrs.field(default=None, converter=_to_time)
    sender: str | None = attrs.field(default=None, converter=_opt_str)
    meta: FrozenDict = attrs.field(default=_NO_META, converter=_to_meta, repr=False)

    def __init__(
        self,
        role: Role | str,
        text: str,
        sent_at: datetime | None = None,
        sender: str | None = None,
        meta: Mapping[str, Any] | None = _NO_META,
    ) -> None:
        """Build the message: the __init__ attrs would generate, written out (one per message).

        The fields' converters run in field order (each keeps a value that is already
        of its type as it is: a ``Role``, an aware ``datetime``, a ``str`` sender, a
        ``FrozenDict`` meta), then ``text`` is checked unless attrs validators are
        disabled.
        """
        _set_role(self, _to_role(role))
        _set_text(self, text)
        _set_sent_at(self, _to_time(sent_at))
        _set_sender(self, _opt_str(sender))
        _set_meta(self, _to_meta(meta))
        if type(text) is not str and not _validators_disabled():
            _check_text(self, _TEXT, text)  # raises unless text is a str subclass

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready record that :meth:`Conversation.from_records` reads back."""
        rec: dict[str, Any] = {"role": self.role.value, "text": self.text}
        rec["time"] = None if self.sent_at is None else self.sent_at.isoformat()
        if self.sender is not None:
            rec["sender"] = self.sender
        if self.meta:
            rec["meta"] = self.meta.thaw()
        return rec


# the slots' own setters (what attrs' generated __init__ reaches through object.__setattr__)
_set_role: Any = vars(Message)["role"].__set__
_set_text: Any = vars(Message)["text"].__set__
_set_sent_at: Any = vars(Message)["sent_at"].__set__
_set_sender: Any = vars(Message)["sender"].__set__
_set_meta: Any = vars(Message)["meta"].__set__
_TEXT = attrs.fields(Message).text
_validators_disabled = attrs.validators.get_disabled


def _messages(value: Iterable[Message]) -> tuple[Message, ...]:
    out = tuple(value)
    for i, m in enumerate(out):
        if not isinstance(m, Message):
            msg = f"messages[{i}] is a {type(m).__name__}, not a Message"
            raise InputTypeError(msg)
    return out


_TEXT_KEYS = ("text", "content", "message", "msg")
_TIME_KEYS = ("time", "sent_at", "timestamp", "datetime", "ts")
_KNOWN_KEYS = frozenset(("role", "sender", "meta", *_TEXT_KEYS, *_TIME_KEYS))


@attrs.frozen(slots=True)
class Conversation:
    """A conversation: an id, its messages in time order, and optional shop/meta.

    Raises :class:`~kefu_standards.exceptions.MessageOrderError` if a timestamp
    goes backwards; use ``Conversation.from_records(..., sort=True)`` to sort.
    """

    id: str = attrs.field(converter=str)
    messages: tuple[Message, ...] = attrs.field(converter=_messages)
    shop: str | None = attrs.field(default=None, converter=_opt_str)
    meta: FrozenDict = attrs.field(default=_NO_META, converter=_to_meta, repr=False)

    def __attrs_post_init__(self) -> None:
        from .exceptions import MessageOrderError

        last: datetime | None = None
        for i, m in enumerate(self.messages):
            if m.sent_at is None:
                continue
            # Python compares two times of one zone by wall clock; across a DST fall-back
            # (where ``fold`` tells the repeated hour apart) only real time says the order
            if (
                last is not None
                and (m.sent_at < last or m.sent_at.fold != last.fold)
                and elapsed(m.sent_at, last) < _ZERO
            ):
                msg = (
                    f"conversation {self.id!r}: message {i} at {m.sent_at.isoformat()} is "
                    f"earlier than the message before it ({last.isoformat()}); pass "
                    "sort=True to from_records() or the reader to sort by time"
                )
                raise MessageOrderError(self.id, i, msg)
            last = m.sent_at

    # -- named constructors -------------------------------------------------
    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any] | Message],
        *,
        id: str,  # noqa: A002 - mirrors the attribute name
        shop: str | None = None,
        meta: Mapping[str, Any] | None = None,
        tz: str | tzinfo | None = None,
        sort: bool = False,
        source: str = "<records>",
    ) -> Conversation:
        """Build a conversation from mappings with ``role``, ``text``, ``time`` (+ ``sender``).

        ``time`` may be ISO-8601 text, a ``datetime``, epoch seconds/milliseconds
        or missing/``None``.  Naive times are read in *tz* (default
        Asia/Shanghai).  Accepted aliases: ``content``/``message`` for ``text``,
        ``sent_at``/``timestamp`` for ``time``.  Other keys go to ``Message.meta``.
        ``sort=True`` sorts stably by time instead of raising on disorder.
        Errors name *source* and the record's 1-based position.
        """
        messages = [
            r if isinstance(r, Message) else message_from_record(r, tz=tz, source=source, line=i)
            for i, r in enumerate(records, start=1)
        ]
        if sort:
            messages = sort_messages(messages)
        return cls(id=id, messages=tuple(messages), shop=shop, meta=FrozenDict(meta))

    def to_record(self) -> dict[str, Any]:
        """Return the JSON-ready record (``id``, ``messages``, ``shop``, ``meta``)."""
        rec: dict[str, Any] = {"id": self.id}
        if self.shop is not None:
            rec["shop"] = self.shop
        if self.meta:
            rec["meta"] = self.meta.thaw()
        rec["messages"] = [m.to_record() for m in self.messages]
        return rec

    def evolve(self, **changes: Any) -> Conversation:
        """Return a copy with *changes* applied (``attrs.evolve``)."""
        return attrs.evolve(self, **changes)

    # -- conveniences ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    @property
    def started_at(self) -> datetime | None:
        """Time of the first timed message, or ``None``."""
        return next((m.sent_at for m in self.messages if m.sent_at is not None), None)

    @property
    def ended_at(self) -> datetime | None:
        """Time of the last timed message, or ``None``."""
        return next((m.sent_at for m in reversed(self.messages) if m.sent_at is not None), None)

    @property
    def agents(self) -> tuple[str, ...]:
        """Distinct agent senders in order of first appearance."""
        seen: dict[str, None] = {}
        for m in self.messages:
            if m.role is Role.AGENT and m.sender:
                seen.setdefault(m.sender, None)
        return tuple(seen)

    @property
    def buyer(self) -> str | None:
        """The first buyer sender, or ``None``."""
        return next((m.sender for m in self.messages if m.role is Role.BUYER and m.sender), None)

    def split_sessions(self, idle_gap: timedelta | float) -> tuple[Conversation, ...]:
        """Split into sessions wherever two timed messages are more than *idle_gap* apart.

        *idle_gap* is a ``timedelta`` or seconds.  Sessions get ids ``"<id>#1"``,
        ``"<id>#2"``, ... (a single session keeps the original id).  Untimed
        messages stay with the session before them.
        """
        gap = idle_gap if isinstance(idle_gap, timedelta) else timedelta(seconds=idle_gap)
        if gap <= timedelta(0):
            raise ConfigError(f"idle_gap must be positive, got {idle_gap!r}")
        parts: list[list[Message]] = [[]]
        last: datetime | None = None
        for m in self.messages:
            if m.sent_at is not None:
                if last is not None and elapsed(m.sent_at, last) > gap and parts[-1]:
                    parts.append([])
                last = m.sent_at
            parts[-1].append(m)
        if len(parts) == 1:
            return (self,)
        return tuple(
            attrs.evolve(self, id=f"{self.id}#{n}", messages=tuple(p))
            for n, p in enumerate(parts, start=1)
        )


def sort_messages(messages: Iterable[Message]) -> list[Message]:
    """Stable sort by ``sent_at``; untimed messages keep their place after the one before."""
    keyed: list[tuple[datetime | None, int, Message]] = []
    last: datetime | None = None
    for i, m in enumerate(messages):
        if m.sent_at is not None:
            last = m.sent_at
        keyed.append((last, i, m))
    if any(k is None for k, _, _ in keyed):
        first = next((k for k, _, _ in keyed if k is not None), None)
        keyed = [(k if k is not None else first, i, m) for k, i, m in keyed]
    if all(k is None for k, _, _ in keyed):
        return [m for _, _, m in keyed]
    # by real time, also across a DST change (every key is set by now)
    keyed.sort(key=lambda t: (t[0].timestamp() if t[0] is not None else 0.0, t[1]))
    return [m for _, _, m in keyed]


def message_from_record(
    record: Mapping[str, Any],
    *,
    tz: str | tzinfo | None = None,
    source: str = "<records>",
    line: int | None = None,
) -> Message:
    """Build one :class:`Message` from a mapping; errors name *source* and *line*."""
    if not isinstance(record, Mapping):
        raise BadRecordError(source, line, f"expected an object, got {type(record).__name__}")
    if "role" not in record:
        raise BadRecordError(source, line, "missing 'role' (one of buyer, agent, bot, system)")
    try:
        role = Role.parse(record["role"])
    except ValueError as exc:
        raise UnknownRoleError(source, line, str(exc)) from None
    text = next((record[k] for k in _TEXT_KEYS if k in record), None)
    if text is None:
        raise BadRecordError(source, line, "missing 'text'")
    if not isinstance(text, str):
        raise BadRecordError(source, line, f"'text' must be a string, got {type(text).__name__}")
    raw_time = next((record[k] for k in _TIME_KEYS if k in record), None)
    sent_at = None
    if raw_time is not None and raw_time != "":
        try:
            sent_at = parse_time(raw_time, tz)
        except ValueError as exc:
            raise BadTimestampError(source, line, str(exc)) from None
    sender = record.get("sender")
    meta = dict(record.get("meta") or {})
    meta.update({k: v for k, v in record.items() if k not in _KNOWN_KEYS})
    return Message(role=role, text=text, sent_at=sent_at, sender=sender, meta=freeze(meta))
