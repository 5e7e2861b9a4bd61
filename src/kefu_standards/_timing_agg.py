"""The vectorised many-conversation path: message columns → rounds → grouped sums.

Everything here works on whole numpy arrays; no Python loop runs per message
except in :func:`iter_columns`, which has to read ``Message`` objects once.
Callers with columnar data (Parquet, Arrow, a database) build
:class:`MessageColumns` directly and skip that loop.

Times are int64 microseconds since the epoch, so waits, sums and maxima are
exact integers and merge exactly across shards.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import numpy.typing as npt

from . import _quantiles
from ._time import get_tz
from ._timing_calendar import (
    DAY_US,
    HOUR_US,
    business_us,
    local_day_and_time,
    local_us,
    offset_table,
    to_us,
)
from .exceptions import ConfigError
from .model import Conversation, Message, Role

if TYPE_CHECKING:  # pragma: no cover
    from ._timing_policy import TimingPolicy

__all__ = [
    "MISSING",
    "ROLE_CODES",
    "GroupSums",
    "MessageColumns",
    "RoundArrays",
    "compute_rounds",
    "fast_group_sums",
    "finish_rounds",
    "group_sums",
    "is_transfer_line",
    "iter_columns",
    "sparse_hist",
    "times_us",
]

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

#: Time value of a message without a timestamp.
MISSING = np.iinfo(np.int64).min
#: Role → int8 code used in :class:`MessageColumns`.
ROLE_CODES = {Role.BUYER: 0, Role.AGENT: 1, Role.BOT: 2, Role.SYSTEM: 3}

_EPOCH_DAY = date(1970, 1, 1)
_TRANSFER = re.compile(r"转交给|转接给|转接至|转接到|已转接|转给了|-->")


def is_transfer_line(message: Message) -> bool:
    """Return whether a system message announces a transfer (转接).

    True for ``meta["transfer"]`` set truthy, or text such as ``由 服务助手 转交给 小美``
    or the clipboard form ``A --> B``.
    """
    if message.role is not Role.SYSTEM:
        return False
    if message.meta.get("transfer"):
        return True
    return _TRANSFER.search(message.text) is not None


def _i64(a: npt.ArrayLike) -> I64:
    out = np.array(a, dtype=np.int64)
    out.flags.writeable = False
    return out


def _i32(a: npt.ArrayLike) -> npt.NDArray[np.int32]:
    out = np.array(a, dtype=np.int32)
    out.flags.writeable = False
    return out


def _i8(a: npt.ArrayLike) -> npt.NDArray[np.int8]:
    out = np.array(a, dtype=np.int8)
    out.flags.writeable = False
    return out


def _bool(a: npt.ArrayLike) -> BOOL:
    out = np.array(a, dtype=np.bool_)
    out.flags.writeable = False
    return out


def _strs(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(eq=False)
class MessageColumns:
    """Messages of many conversations as parallel numpy arrays (one chunk).

    Messages of one conversation are contiguous and in time order.  ``conv`` is
    the chunk-local conversation number (0, 1, ... non-decreasing), ``role`` the
    :data:`ROLE_CODES` code, ``time_us`` microseconds since the epoch
    (:data:`MISSING` when untimed), ``sender`` an index into ``senders`` (-1 for
    none) and ``transfer`` marks system transfer lines.  ``conv_shop`` is an
    index into ``shops`` per conversation (-1 for none).
    """

    conv: I64 = attrs.field(converter=_i64)
    role: npt.NDArray[np.int8] = attrs.field(converter=_i8)
    time_us: I64 = attrs.field(converter=_i64)
    sender: npt.NDArray[np.int32] = attrs.field(converter=_i32)
    transfer: BOOL = attrs.field(converter=_bool)
    conv_shop: npt.NDArray[np.int32] = attrs.field(converter=_i32)
    senders: tuple[str, ...] = attrs.field(converter=_strs)
    shops: tuple[str, ...] = attrs.field(converter=_strs, default=())

    def __attrs_post_init__(self) -> None:
        n = len(self.conv)
        for name in ("role", "time_us", "sender", "transfer"):
            if len(getattr(self, name)) != n:
                msg = f"MessageColumns.{name} has {len(getattr(self, name))} rows; conv has {n}"
                raise ConfigError(msg)
        if n and (np.any(np.diff(self.conv) < 0) or self.conv[0] < 0):
            raise ConfigError("MessageColumns.conv must be non-negative and non-decreasing")
        if n and int(self.conv[-1]) >= len(self.conv_shop):
            msg = "MessageColumns.conv_shop needs one entry per conversation (max(conv) + 1)"
            raise ConfigError(msg)
        if n and (self.role.min() < 0 or self.role.max() > 3):
            raise ConfigError("MessageColumns.role codes must be 0 buyer, 1 agent, 2 bot, 3 system")

    @classmethod
    def _trusted(cls, **fields: Any) -> MessageColumns:
        """Wrap arrays built by :func:`iter_columns` (right dtypes, valid, owned) without copies."""
        inst = cls.__new__(cls)
        for name, value in fields.items():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            object.__setattr__(inst, name, value)
        return inst

    @property
    def n_conversations(self) -> int:
        """Number of conversations in the chunk."""
        return len(self.conv_shop)


def iter_columns(
    conversations: Iterable[Conversation], chunk_messages: int = 262_144
) -> Iterator[MessageColumns]:
    """Turn conversations into :class:`MessageColumns` chunks of about *chunk_messages*.

    A conversation is never split across chunks.  Memory is bounded by one chunk.
    Each column is read with one C-level pass over the chunk's messages and
    timestamps are converted in bulk (:func:`times_us`).
    """
    if chunk_messages < 1:
        raise ConfigError(f"chunk_messages must be a positive integer, got {chunk_messages!r}")
    batch: list[Conversation] = []
    n = 0
    for c in conversations:
        batch.append(c)
        n += len(c.messages)
        if n >= chunk_messages:
            yield _columns_of(batch)
            batch, n = [], 0
    if batch:
        yield _columns_of(batch)


_ROLE_CODE = {Role.BUYER: 0, Role.AGENT: 1, Role.BOT: 2, Role.SYSTEM: 3}


def _columns_of(convs: list[Conversation]) -> MessageColumns:
    """One :class:`MessageColumns` chunk from whole conversations."""
    sizes = [len(c.messages) for c in convs]
    msgs: list[Message] = []
    for c in convs:
        msgs += c.messages
    n = len(msgs)
    role = np.fromiter(map(_ROLE_CODE.__getitem__, map(_get_role, msgs)), np.int8, n)
    names = list(map(_get_sender, msgs))
    vocab = tuple(s for s in dict.fromkeys(names) if s is not None)
    code: dict[str | None, int] = {s: i for i, s in enumerate(vocab)}
    code[None] = -1
    sender = np.fromiter(map(code.__getitem__, names), np.int32, n)
    shops: dict[str, int] = {}
    conv_shop = [-1 if c.shop is None else shops.setdefault(c.shop, len(shops)) for c in convs]
    return MessageColumns._trusted(
        conv=np.repeat(np.arange(len(convs), dtype=np.int64), sizes),
        role=role,
        time_us=times_us(list(map(_get_time, msgs))),
        sender=sender,
        transfer=_transfer_flags(msgs, role),
        conv_shop=np.array(conv_shop, dtype=np.int32),
        senders=vocab,
        shops=tuple(shops),
    )


_get_role = operator.attrgetter("role")
_get_sender = operator.attrgetter("sender")
_get_time = operator.attrgetter("sent_at")
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=timezone.utc)


def times_us(times: Sequence[datetime | None]) -> I64:
    """Aware datetimes (or None) as int64 microseconds since the epoch (:data:`MISSING` for None).

    Exact, and the same as ``to_us`` per value.  The fast route reads each
    datetime's 10-byte pickle state (its wall-clock fields) in one C-level pass,
    converts the fields with array arithmetic and subtracts the zone's UTC
    offset, which must be the same for every value (one fixed-offset
    ``timezone``, or one ``ZoneInfo`` without a transition in the range, such
    as Asia/Shanghai).  Anything else (mixed zones, a daylight-saving change,
    other tzinfo classes, datetime subclasses with their own pickling) takes
    the exact per-value route.
    """
    n = len(times)
    if n == 0:
        return np.zeros(0, np.int64)
    where = None
    timed: Sequence[datetime] = times  # type: ignore[assignment]
    try:
        zones = set(map(_get_tz, timed))
    except AttributeError:  # None values
        where = np.fromiter((t is not None for t in times), np.bool_, n)
        timed = [t for t in times if t is not None]
        zones = set(map(_get_tz, timed))
    tz = zones.pop() if len(zones) == 1 else None
    if not isinstance(tz, (timezone, ZoneInfo)):  # none, several or another kind of zone
        return _times_us_exact(times)
    try:  # datetime.__reduce__() is (datetime, (10-byte state, tzinfo))
        state = b"".join([t.__reduce__()[1][0] for t in timed])  # type: ignore[misc]
    except (TypeError, IndexError):  # a subclass that pickles otherwise
        return _times_us_exact(times)
    if len(state) != 10 * len(timed):
        return _times_us_exact(times)
    wall = _wall_us(np.frombuffer(state, np.uint8))
    if isinstance(tz, timezone):
        off = tz.utcoffset(None)
        offset: int | None = (off.days * 86_400 + off.seconds) * 1_000_000 + off.microseconds
    else:
        lo, hi = int(wall.min()) - DAY_US, int(wall.max()) + DAY_US
        offset = None
        if hi // HOUR_US - lo // HOUR_US <= 50_000:
            offset = offset_table(tz, lo // HOUR_US, hi // HOUR_US)[1]
    if offset is None:
        return _times_us_exact(times)
    wall -= offset
    if where is None:
        return wall
    out = np.full(n, MISSING, np.int64)
    out[where] = wall
    return out


_get_tz = operator.attrgetter("tzinfo")


def _times_us_exact(times: Sequence[datetime | None]) -> I64:
    missing = int(MISSING)
    return np.array([missing if t is None else to_us(t) for t in times], dtype=np.int64)


_STATE = np.dtype(
    [
        ("year", ">u2"),
        ("month", "u1"),
        ("day", "u1"),
        ("hour", "u1"),
        ("minute", "u1"),
        ("second", "u1"),
        ("us_high", "u1"),
        ("us_low", ">u2"),
    ]
)


def _wall_us(state: npt.NDArray[np.uint8]) -> I64:
    """Wall-clock microseconds since 1970-01-01 00:00 from datetime pickle states."""
    r = state.reshape(-1).view(_STATE)
    months = (r["year"].astype(np.int64) - 1970) * 12 + (r["month"] & 0x7F) - 1
    days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    days += r["day"]
    days -= 1
    clock = r["hour"].astype(np.int32) * 3600 + r["minute"].astype(np.int32) * 60 + r["second"]
    out: I64 = (days * 86_400 + clock) * 1_000_000
    out += r["us_high"].astype(np.int32) * 65_536 + r["us_low"]
    return out


def _transfer_flags(msgs: list[Message], role: npt.NDArray[np.int8]) -> BOOL:
    """:func:`is_transfer_line` of every message, searching the system texts in one pass."""
    flags = np.zeros(len(msgs), np.bool_)
    idx = np.flatnonzero(role == 3)
    if len(idx) == 0:
        return flags
    system = [msgs[i] for i in idx.tolist()]
    texts = [m.text for m in system]
    # the patterns hold no line break, so a match never spans two joined texts
    ends = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)) + 1)
    hits = [m.start() for m in _TRANSFER.finditer("\n".join(texts))]
    flags[idx[np.searchsorted(ends, np.array(hits, dtype=np.int64), side="right")]] = True
    marked = [i for i, m in enumerate(system) if m.meta and m.meta.get("transfer")]
    flags[idx[np.array(marked, dtype=np.int64)]] = True
    return flags


@attrs.frozen(eq=False)
class RoundArrays:
    """Rounds of one :class:`MessageColumns` chunk, one row per round, in order.

    ``opened_index`` / ``answered_index`` are message indices within their
    conversation (-1 when unanswered); ``agent`` is a sender code (-1 for none);
    ``wait_us`` the measured wait (-1 when unanswered or untimed); ``counted``
    is ``in_window`` minus excluded zero-second replies; ``timed`` is false for
    rounds of conversations whose buyer/agent messages lack timestamps.
    """

    conv: I64
    opened_index: I64
    answered_index: I64
    buyer_messages: I64
    open_us: I64
    answer_us: I64
    answered: BOOL
    agent: I64
    session: I64
    first_in_session: BOOL
    in_window: BOOL
    counted: BOOL
    timed: BOOL
    wait_us: I64
    day: I64


def _seg_start(flags: BOOL) -> I64:
    """For each row, the index of the last row at or before it where *flags* is true."""
    idx = np.where(flags, np.arange(len(flags)), 0)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _last_before(marks: I64, pos: I64, *, inclusive: bool) -> I64:
    """For each of *pos*, the last of the sorted positions *marks* before it (-1 if none)."""
    if len(marks) == 0:
        return np.full(len(pos), -1, np.int64)
    k = np.searchsorted(marks, pos, side="right" if inclusive else "left") - 1
    out: I64 = np.where(k >= 0, marks[np.maximum(k, 0)], -1)
    return out


def compute_rounds(
    cols: MessageColumns, policy: TimingPolicy, *, detail: bool = True
) -> RoundArrays:
    """Find the rounds of every conversation in *cols* under *policy* (vectorised).

    With ``detail=False`` (the aggregate path) ``opened_index`` /
    ``answered_index`` are positions in the chunk rather than in the
    conversation, ``buyer_messages`` is -1, and sessions are only worked out when
    the policy uses them.
    """
    conv, role, t = cols.conv, cols.role, cols.time_us
    # the rounds: openings and answers from the one array round finder (_round_events)
    rel, events, ev_open = _round_events(cols, policy.bot_answers)
    k = np.flatnonzero(ev_open)
    answered = ~np.append(ev_open, True)[k + 1]  # an answer directly follows its opening
    opens = events[k]  # positions in rel
    fo = np.take(rel, opens)
    fa = np.where(answered, rel[events[np.minimum(k + 1, max(len(events) - 1, 0))]], -1)
    oc = np.take(conv, fo)
    if detail:
        # buyer messages from the opening to the answer, or (unanswered) to the end of
        # the conversation: every relevant message in between is a buyer's
        buyers = np.cumsum(role == 0)
        last = np.searchsorted(conv, oc, side="right") - 1
        end = np.where(answered, fa - 1, last)
        buyer_messages = buyers[end] - buyers[fo] + 1
    else:
        buyer_messages = np.full(len(opens), -1, np.int64)
    # the relevant message (buyer or answerer) before each opening, -1 when none in
    # the chunk: the kept one before it, unless that is a conversation start kept as
    # a reset (then there is none in the conversation)
    top = 2 if policy.bot_answers else 1
    before = np.where(opens > 0, rel[np.maximum(opens - 1, 0)], -1) if len(rel) else opens
    before = np.where(role[np.maximum(before, 0)] <= top, before, -1)
    # sessions: a new one at a conversation's first round or after an idle gap
    first_round = np.ones(len(opens), np.bool_)
    first_round[1:] = oc[1:] != oc[:-1]
    new_sess = first_round
    if policy.idle_gap_s is not None and len(opens):
        prev = np.maximum(before, 0)
        rt_open, rt_prev = t[fo], t[prev]
        gap_ok = (before >= 0) & (conv[prev] == oc) & (rt_open != MISSING) & (rt_prev != MISSING)
        new_sess = first_round | (gap_ok & (rt_open - rt_prev > round(policy.idle_gap_s * 1e6)))
    open_time = t[fo]
    if detail or policy.idle_gap_s is not None:
        sess_global = np.cumsum(new_sess) - 1
        session = sess_global - sess_global[_seg_start(first_round)]
    else:
        session = np.zeros(len(opens), np.int64)
    sess_open = open_time[_seg_start(new_sess)] if policy.window_by == "session" else open_time

    # credit
    a_sender = np.where(answered, cols.sender[np.maximum(fa, 0)], -1).astype(np.int64)
    extra = np.zeros(len(opens), np.bool_)
    h_sender = a_sender
    agent = a_sender
    if policy.credit == "holder":
        if policy.bot_answers:
            hold = _last_before(np.flatnonzero(role == 1), fo, inclusive=False)
        else:  # only buyers and agents are relevant: the holder wrote the message before
            hold = before
        hv = (hold >= 0) & (conv[np.maximum(hold, 0)] == oc)
        h_sender = np.where(hv, cols.sender[np.maximum(hold, 0)], -1).astype(np.int64)
        a_role = role[np.maximum(fa, 0)]
        extra = answered & (a_role == 1) & (h_sender >= 0) & (a_sender >= 0)
        extra &= h_sender != a_sender
        ex = np.flatnonzero(extra)
        if len(ex):  # the answering agent's clock starts at the last transfer line
            ltr = _last_before(np.flatnonzero(cols.transfer), fa[ex], inclusive=True)
            shifted = ltr > fo[ex]
            open_time = open_time.copy()
            open_time[ex[shifted]] = t[ltr[shifted]]
        agent = np.where(answered, a_sender, h_sender)

    # conversation start index, to report indices within a conversation
    if detail:
        conv_start = np.searchsorted(conv, oc, side="left")
        opened_index, answered_index = fo - conv_start, np.where(answered, fa - conv_start, -1)
    else:
        opened_index, answered_index = fo, fa
    rows = {
        "conv": oc,
        "opened_index": opened_index,
        "answered_index": answered_index,
        "buyer_messages": buyer_messages,
        "open_us": open_time,
        "answer_us": np.where(answered, t[np.maximum(fa, 0)], MISSING),
        "answered": answered,
        "agent": agent,
        "session": session,
        "first_in_session": new_sess,
        "sess_open": sess_open,
    }
    if extra.any():
        # the holder's unanswered round goes just before the answered one: place
        # both by a scatter (row i moves down by the extra rows up to it; no sort)
        e = np.flatnonzero(extra)
        ext = {key: v[e] for key, v in rows.items()}
        ext["open_us"] = t[fo][e]
        ext["answer_us"] = np.full(len(e), MISSING)
        ext["answered_index"] = np.full(len(e), -1)
        ext["answered"] = np.zeros(len(e), np.bool_)
        ext["agent"] = h_sender[e]
        new_pos = np.arange(len(opens)) + np.cumsum(extra)
        ext_pos = new_pos[e] - 1
        merged = {}
        for key, v in rows.items():
            out = np.empty(len(opens) + len(e), v.dtype)
            out[new_pos] = v
            out[ext_pos] = ext[key]
            merged[key] = out
        rows = merged
    return finish_rounds(rows, cols, policy)


def finish_rounds(
    rows: dict[str, npt.NDArray[np.generic]], cols: MessageColumns, policy: TimingPolicy
) -> RoundArrays:
    conv = rows["conv"].astype(np.int64, copy=False)
    answered = rows["answered"].astype(np.bool_, copy=False)
    open_us = rows["open_us"].astype(np.int64, copy=False)
    answer_us = rows["answer_us"].astype(np.int64, copy=False)
    tz = get_tz(policy.tz)
    if len(cols.time_us) and int(cols.time_us.min()) == MISSING:
        # a conversation is untimed when any buyer/answering message lacks a time
        rel = (cols.role == 0) | (cols.role == 1) | ((cols.role == 2) & policy.bot_answers)
        untimed_msg = rel & (cols.time_us == MISSING)
        bad = np.bincount(cols.conv[untimed_msg], minlength=cols.n_conversations) > 0
        timed = ~bad[conv]
        safe_open = np.where(timed, open_us, 0)
        safe_ans = np.where(timed & answered, answer_us, safe_open)
    else:
        timed = np.ones(len(conv), np.bool_)
        safe_open = open_us
        safe_ans = np.where(answered, answer_us, open_us)
    bh = policy.business_hours
    if bh is None:
        wait = safe_ans - safe_open
    else:
        both = business_us(np.concatenate((safe_open, safe_ans)), tz, bh)
        wait = both[len(conv) :] - both[: len(conv)]
    wait = np.where(timed & answered, wait, -1)
    day, tod = local_day_and_time(safe_open, tz)
    in_window = timed.copy()
    if policy.window is not None:
        lo, hi = policy.window_us
        if policy.window_by == "session":
            _, tod = local_day_and_time(np.where(timed, rows["sess_open"], 0), tz)
        in_window &= (tod >= lo) & (tod < hi)
    counted = in_window.copy()
    if policy.zero_waits == "exclude":
        counted &= ~(answered & (answer_us == open_us))
    return RoundArrays(
        conv=conv,
        opened_index=rows["opened_index"].astype(np.int64, copy=False),
        answered_index=rows["answered_index"].astype(np.int64, copy=False),
        buyer_messages=rows["buyer_messages"].astype(np.int64, copy=False),
        open_us=open_us,
        answer_us=answer_us,
        answered=answered,
        agent=rows["agent"].astype(np.int64, copy=False),
        session=rows["session"].astype(np.int64, copy=False),
        first_in_session=rows["first_in_session"].astype(np.bool_, copy=False),
        in_window=in_window,
        counted=counted,
        timed=timed,
        wait_us=wait.astype(np.int64, copy=False),
        day=day,
    )


@attrs.frozen(eq=False)
class GroupSums:
    """Per-group exact sums of one chunk: the raw material of a TimingSummary."""

    keys: tuple[tuple[object, ...], ...]
    rounds: I64
    answered: I64
    sla_rounds: I64
    sla_hits: I64
    scored: I64
    sum_us: I64
    min_us: I64
    max_us: I64
    hist_key: I64
    hist_count: I64
    #: whether ``keys`` are already in table order (None last), so hist keys are sorted
    ordered: bool = False


_VALID_BY = ("agent", "day", "shop")


def scored_waits(r: RoundArrays, policy: TimingPolicy) -> tuple[BOOL, I64]:
    """Return (which counted rounds enter the mean, their scored wait in µs)."""
    cap = None if policy.cap_s is None else round(policy.cap_s * 1e6)
    w = r.wait_us if cap is None else np.minimum(r.wait_us, cap)
    has = r.counted & r.answered
    if policy.unanswered == "cap" and cap is not None:
        w = np.where(r.answered, w, cap)
        has = r.counted.copy()
    return has, w


def sla_flags(r: RoundArrays, policy: TimingPolicy) -> tuple[BOOL, BOOL]:
    """Return (rounds eligible for the SLA rate, rounds answered within the SLA)."""
    eligible = r.counted & (r.first_in_session if policy.sla_scope == "first" else True)
    hit = eligible & r.answered & (r.wait_us <= round(policy.sla_s * 1e6))
    return eligible, hit


def _group_ids(key_cols: list[I64], n: int) -> tuple[I64, I64]:
    """Return (group id per row, unique key rows as a (groups, keys) array)."""
    if not key_cols:
        return np.zeros(n, np.int64), np.zeros((1 if n else 0, 0), np.int64)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros((0, len(key_cols)), np.int64)
    lows = [int(c.min()) for c in key_cols]
    spans = [int(c.max()) - lo + 1 for c, lo in zip(key_cols, lows, strict=True)]
    total = int(np.prod(np.array(spans, dtype=np.float64)))
    if total <= max(4 * n, 1 << 20):  # dense: group by counting, no sort
        flat = np.zeros(n, np.int64)
        for c, lo, span in zip(key_cols, lows, spans, strict=True):
            flat = flat * span + (c - lo)
        present = np.bincount(flat, minlength=total) > 0
        ids = np.cumsum(present) - 1
        uniq_flat = np.flatnonzero(present)
        gid = ids[flat]
    else:
        stacked = np.stack(key_cols, axis=1)
        uniq, gid = np.unique(stacked, axis=0, return_inverse=True)
        return gid.reshape(-1).astype(np.int64), uniq.astype(np.int64)
    cols = []
    for lo, span in zip(reversed(lows), reversed(spans), strict=True):
        cols.append(uniq_flat % span + lo)
        uniq_flat = uniq_flat // span
    return gid.astype(np.int64), np.stack(cols[::-1], axis=1).astype(np.int64)


def _exact_sums(gid: I64, values: I64, g: int) -> I64:
    """Exact int64 sums per group via two float64 bincounts (26-bit halves)."""
    lo = values & ((1 << 26) - 1)
    hi = values >> 26
    lo_sum = np.bincount(gid, weights=lo, minlength=g)
    hi_sum = np.bincount(gid, weights=hi, minlength=g)
    out: I64 = (hi_sum.astype(np.int64) << 26) + lo_sum.astype(np.int64)
    return out


def sparse_hist(gid: I64, bins: npt.NDArray[np.intp], g: int) -> tuple[I64, I64]:
    """Return (sorted keys ``group * N_BINS + bin``, counts) of the non-empty bins."""
    key = gid * _quantiles.N_BINS + bins
    total = g * _quantiles.N_BINS
    if total <= max(4 * len(key), 1 << 20):
        dense = np.bincount(key, minlength=total)
        nz = np.flatnonzero(dense)
        return nz.astype(np.int64), dense[nz].astype(np.int64)
    uniq, counts = np.unique(key, return_counts=True)
    return uniq.astype(np.int64), counts.astype(np.int64)


def group_sums(
    r: RoundArrays,
    cols: MessageColumns,
    policy: TimingPolicy,
    by: Sequence[str],
    *,
    sketch: bool = True,
) -> GroupSums:
    """Sum the counted rounds of *r* per group of *by* (``agent``, ``day``, ``shop``).

    With ``sketch=False`` the quantile histogram is left empty (counts and sums only).
    """
    sel = np.flatnonzero(r.counted)
    key_cols: list[I64] = []
    for name in by:
        if name == "agent":
            key_cols.append(r.agent[sel])
        elif name == "day":
            key_cols.append(r.day[sel])
        else:
            key_cols.append(cols.conv_shop[r.conv[sel]].astype(np.int64))
    gid, uniq = _group_ids(key_cols, len(sel))
    g = len(uniq)

    def decode(name: str, code: int) -> object:
        if name == "day":
            return (date(1970, 1, 1) + timedelta(days=code)).isoformat()
        vocab = cols.senders if name == "agent" else cols.shops
        return None if code < 0 else vocab[code]

    keys = tuple(tuple(decode(n, c) for n, c in zip(by, row, strict=True)) for row in uniq.tolist())
    has, w = scored_waits(r, policy)
    eligible, hit = sla_flags(r, policy)
    has, w = has[sel], w[sel]

    def count(mask: BOOL | None) -> I64:
        out = np.bincount(gid, weights=mask, minlength=g)
        return out.astype(np.int64)

    gh, wh = gid[has], w[has]
    mn = np.full(g, np.iinfo(np.int64).max, np.int64)
    mx = np.full(g, -1, np.int64)
    np.minimum.at(mn, gh, wh)
    np.maximum.at(mx, gh, wh)
    if sketch:
        hist_key, hist_count = sparse_hist(gh, _quantiles.bin_index(wh), g)
    else:
        hist_key = hist_count = np.zeros(0, np.int64)
    return GroupSums(
        keys=keys,
        rounds=count(None),
        answered=count(r.answered[sel]),
        sla_rounds=count(eligible[sel]),
        sla_hits=count(hit[sel]),
        scored=count(has),
        sum_us=_exact_sums(gh, wh, g),
        min_us=mn,
        max_us=mx,
        hist_key=hist_key,
        hist_count=hist_count,
    )


def check_by(by: Iterable[str]) -> tuple[str, ...]:
    """Validate group-by names; raise ``UnknownNameError`` listing the valid ones."""
    from .exceptions import UnknownNameError

    out = tuple(by) if not isinstance(by, str) else (by,)
    for name in out:
        if name not in _VALID_BY:
            raise UnknownNameError("group-by column", name, _VALID_BY)
    if len(set(out)) != len(out):
        raise ConfigError(f"by= names a column twice: {out!r}")
    return out


# ---------------------------------------------------------------------------
# the lean aggregate path


def fast_path_applies(policy: TimingPolicy) -> bool:
    """Whether :func:`fast_group_sums` handles *policy*.

    Answerer credit, one session per conversation and every round eligible for
    the SLA: then a round's group and wait depend only on its opening and its
    answer.  Other policies (holder credit, idle gaps, session windows, first-round
    SLA) take :func:`compute_rounds` + :func:`group_sums`; both give identical sums.
    """
    return (
        policy.credit == "answerer"
        and policy.idle_gap_s is None
        and policy.window_by == "round"
        and policy.sla_scope == "rounds"
    )


def _hour_span(t_us: I64) -> tuple[int, int] | None:
    """(first, last) UTC hour of *t_us*, or None when empty or over ~5.7 years."""
    if len(t_us) == 0:
        return None
    first, last = int(t_us.min()) // HOUR_US, int(t_us.max()) // HOUR_US
    return None if last - first > 50_000 else (first, last)


def _fixed_offset(span: tuple[int, int] | None, tz: tzinfo) -> int | None:
    """Return the UTC offset of *tz* in µs if it is the same all through *span*, else None."""
    return None if span is None else offset_table(tz, *span)[1]


def _hourly_outside(
    span: tuple[int, int] | None, tz: tzinfo, window_us: tuple[int, int]
) -> tuple[int, BOOL] | None:
    """(first UTC hour, per-hour "outside the window" flags) when the window allows it.

    Works when the window starts and ends on whole hours and every offset of
    the zone in the hour *span* is whole hours, so each UTC hour lies wholly
    inside or outside the local window; otherwise None.
    """
    lo, hi = window_us
    if span is None or lo % HOUR_US or hi % HOUR_US:
        return None
    first, last = span
    offsets = offset_table(tz, first, last)[0]
    if np.any(offsets % HOUR_US):
        return None
    local_hour = (np.arange(first, last + 1, dtype=np.int64) * HOUR_US + offsets) % DAY_US
    return first, (local_hour < lo) | (local_hour >= hi)


def _vocab_rank(vocab: tuple[str, ...]) -> tuple[I64, list[str | None]]:
    """Return (code → rank in table order, rank → name).

    Code -1 (no name) ranks last and is looked up at index -1; its name is None.
    """
    order = sorted(range(len(vocab)), key=vocab.__getitem__)
    rank = np.empty(len(vocab) + 1, np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(vocab))
    rank[-1] = len(vocab)
    return rank, [*(vocab[i] for i in order), None]


def _day_text(low: int, day: int) -> str:
    return (_EPOCH_DAY + timedelta(days=low + day)).isoformat()


def _round_events(cols: MessageColumns, bot_answers: bool) -> tuple[I64, I64, BOOL]:
    """Return (kept positions, events, which events open) of a chunk: the round finder.

    The one array definition of rounds (``testing.reference_rounds`` is the
    readable one): a buyer message opens a round when the relevant message
    before it in its conversation is not a buyer's; the first answering message
    after it (an agent's, or a bot's under ``bot_answers``) answers it, so every
    answer directly follows the opening it closes.  *kept* are the chunk
    positions of buyers, answerers and conversation starts (a start that is
    neither is kept as a reset); *events* index into *kept*: the openings and
    answers, in order.  :func:`compute_rounds` and :func:`fast_group_sums` both
    read their rounds from here.  Conversation starts are marked by a bit in
    one int8 code per message (role | 4 * start), so a single gather brings role
    and boundary together.
    """
    top = 2 if bot_answers else 1
    code = np.zeros(len(cols.role), np.int8)
    if len(code) > 1:
        np.not_equal(cols.conv[1:], cols.conv[:-1], out=code[1:].view(np.bool_))
        code *= 4  # (multiplying int8 is much faster than shifting here)
    code += cols.role
    rel = np.flatnonzero((code <= top) | (code >= 4))
    rcode = np.take(code, rel)
    rb = (rcode & 3) == 0
    prev_b = np.zeros(len(rel), np.bool_)
    if len(rel) > 1:
        np.logical_and(rb[:-1], rcode[1:] < 4, out=prev_b[1:])
    # a buyer after no buyer opens a round; anything else after a buyer (within the
    # conversation) answers it, since only buyers, answerers and starts are kept
    events = np.flatnonzero(rb != prev_b)
    return rel, events, np.take(rb, events)


def _chunk_events(cols: MessageColumns, bot_answers: bool) -> tuple[I64, I64, I64, I64]:
    """Return (event positions, answers, answered openings, unanswered openings).

    The events of :func:`_round_events` as chunk positions, in order; the other
    three index into them.
    """
    rel, events, ev_open = _round_events(cols, bot_answers)
    answers = np.flatnonzero(~ev_open)
    unanswered = ev_open.copy()
    unanswered[:-1] &= ev_open[1:]
    return np.take(rel, events), answers, answers - 1, np.flatnonzero(unanswered)


def _sums_only(
    decoders: list[tuple[int, Callable[[int], object]]],
    code_a: I64,
    scored: I64,
    *,
    counts: tuple[I64, I64, I64],
    total: I64,
    extremes: tuple[I64, I64],
    cap_unanswered: int | None,
) -> GroupSums:
    """Finish :func:`fast_group_sums` without the histogram (min/max by ``ufunc.at``).

    *counts* are the answered, unanswered and (per group, SLA miss/hit) counts,
    *extremes* the minimum and maximum accumulators, one slot per group + spare;
    *cap_unanswered* is the cap when unanswered rounds count as capped waits.
    """
    n_a, n_u, n_hit = counts
    mn, mx = extremes
    dense = len(n_a) - 1
    np.minimum.at(mn, code_a, scored)
    np.maximum.at(mx, code_a, scored)
    cap_mode = cap_unanswered is not None
    if cap_unanswered is not None:
        cap_us = cap_unanswered
        has_u = n_u > 0
        total = total + n_u * cap_us
        mn = np.where(has_u, np.minimum(mn, cap_us), mn)
        mx = np.where(has_u, np.maximum(mx, cap_us), mx)
    rounds = n_a + n_u
    rounds[dense] = 0
    present = np.flatnonzero(rounds)
    n_scored = n_a + n_u if cap_mode else n_a
    empty = np.zeros(0, np.int64)
    return GroupSums(
        keys=_decode_keys(present, decoders),
        rounds=rounds[present],
        answered=n_a[present],
        sla_rounds=rounds[present],
        sla_hits=n_hit[present, 1],
        scored=n_scored[present],
        sum_us=total[present],
        min_us=mn[present],
        max_us=mx[present],
        hist_key=empty,
        hist_count=empty,
        ordered=True,
    )


def _decode_keys(
    present: I64, decoders: list[tuple[int, Callable[[int], object]]]
) -> tuple[tuple[object, ...], ...]:
    """Decode the dense codes *present* into group keys (per-key digits, last key fastest)."""
    if len(decoders) == 1:
        decode = decoders[0][1]
        return tuple((decode(c),) for c in present.tolist())
    group_keys = []
    for value in present.tolist():
        parts: list[object] = []
        rest = value
        for span, decode in reversed(decoders):
            rest, digit = divmod(rest, span)
            parts.append(decode(digit))
        group_keys.append(tuple(reversed(parts)))
    return tuple(group_keys)


def fast_group_sums(
    cols: MessageColumns, policy: TimingPolicy, by: Sequence[str], *, sketch: bool = True
) -> GroupSums | None:
    """Per-group sums straight from the columns, or ``None`` if the policy needs the full path.

    Same numbers as ``group_sums(compute_rounds(cols, policy, detail=False), ...)``
    for the policies :func:`fast_path_applies` accepts on fully timed chunks, with
    fewer passes: rounds are split into answered and unanswered ones, grouped
    by dense integer codes already in table order (no sorting or reordering),
    and rounds left out (outside the window, excluded 0-second replies) go to
    one spare group that is dropped at the end instead of being filtered out.
    With ``sketch=False`` no histogram is counted (its keys and counts are empty):
    the working memory is then a few arrays per round and per group, never
    groups x bins (the (agent, day) grouping of the trends needs no quantile).
    """
    t = cols.time_us
    if not fast_path_applies(policy) or (len(t) and int(t.min()) == MISSING):
        return None
    ev_msg, a_ev, ao_ev, u_ev = _chunk_events(cols, policy.bot_answers)
    t_ev = np.take(t, ev_msg)
    t_a_open, t_a_ans, t_u_open = np.take(t_ev, ao_ev), np.take(t_ev, a_ev), np.take(t_ev, u_ev)
    tz = get_tz(policy.tz)
    hours = _hour_span(t_ev)
    offset = _fixed_offset(hours, tz)

    def local(times: I64) -> I64:
        return times + offset if offset is not None else local_us(times, tz)

    # dense group codes in table order: a composite of per-key ranks
    code_a = code_u = None
    decoders: list[tuple[int, Callable[[int], object]]] = []
    decode: Callable[[int], object]
    for name in by:
        if name in ("agent", "shop"):
            vocab = cols.senders if name == "agent" else cols.shops
            rank, decoded = _vocab_rank(vocab)
            if name == "agent":
                ka = rank[np.take(cols.sender, np.take(ev_msg, a_ev))]
                ku = np.full(len(u_ev), len(vocab), np.int64)
            else:
                shop = np.take(cols.conv_shop, np.take(cols.conv, ev_msg))
                ka = rank[np.take(shop, ao_ev)]
                ku = rank[np.take(shop, u_ev)]
            span, decode = len(vocab) + 1, decoded.__getitem__
        else:
            da = local(t_a_open) // DAY_US
            du = local(t_u_open) // DAY_US
            both_days = np.concatenate((da, du))
            low = int(both_days.min()) if len(both_days) else 0
            span = int(both_days.max()) - low + 1 if len(both_days) else 1
            ka, ku = da - low, du - low
            decode = functools.partial(_day_text, low)
        if code_a is None or code_u is None:
            code_a, code_u = ka, ku
        else:
            code_a = code_a * span + ka
            code_u = code_u * span + ku
        decoders.append((span, decode))
    if code_a is None or code_u is None:  # by=(): one group
        code_a, code_u = np.zeros(len(a_ev), np.int64), np.zeros(len(u_ev), np.int64)
    dense = math.prod(span for span, _ in decoders)
    if dense > max(4 * (len(code_a) + len(code_u)), 1 << 16):
        return None  # sparse key space (e.g. agent x day over years): the general path

    # rounds left out go to the spare group `dense` (codes are below it, so a
    # maximum with dense * flag moves exactly the flagged ones; faster than copyto)
    spare = np.int64(dense)
    if policy.window is not None:
        outside = _hourly_outside(hours, tz, policy.window_us)
        lo, hi = policy.window_us
        for times, code in ((t_a_open, code_a), (t_u_open, code_u)):
            if outside is not None:  # whole-hour window: one table look-up per round
                first, table = outside
                moved = np.take(table * spare, times // HOUR_US - first)
            else:
                # (local time - window start) mod one day, outside when >= window
                # length; // and a product are much faster than % here
                x = times + (offset - lo) if offset is not None else local_us(times, tz) - lo
                x -= (x // DAY_US) * DAY_US
                moved = (x >= hi - lo) * spare
            np.maximum(code, moved, out=code)
    if policy.zero_waits == "exclude":
        np.maximum(code_a, (t_a_ans == t_a_open) * spare, out=code_a)
    bh = policy.business_hours
    if bh is None:
        wait = t_a_ans - t_a_open
    else:
        both = business_us(np.concatenate((t_a_open, t_a_ans)), tz, bh)
        wait = both[len(t_a_open) :] - both[: len(t_a_open)]
    cap = None if policy.cap_s is None else round(policy.cap_s * 1e6)
    scored = wait if cap is None else np.minimum(wait, cap)
    slots = dense + 1

    hit_code = code_a * 2
    hit_code += wait <= round(policy.sla_s * 1e6)
    n_hit = np.bincount(hit_code, minlength=2 * slots).reshape(slots, 2)
    n_a = n_hit.sum(axis=1)
    n_u = np.bincount(code_u, minlength=slots)
    total = np.zeros(slots, np.int64)
    np.add.at(total, code_a, scored)
    mn = np.full(slots, np.iinfo(np.int64).max, np.int64)
    mx = np.full(slots, -1, np.int64)
    nb = _quantiles.N_BINS
    cap_mode = policy.unanswered == "cap" and cap is not None
    if not sketch:
        return _sums_only(
            decoders,
            code_a,
            scored,
            counts=(n_a, n_u, n_hit),
            total=total,
            extremes=(mn, mx),
            cap_unanswered=cap if cap_mode else None,
        )
    bins = _quantiles.bin_index(scored)
    cap_bin = int(_quantiles.bin_index(np.array([cap or 0], np.int64))[0])
    # the histogram is counted over the bins in use only (waits are often capped)
    width = max(int(bins.max()) + 1 if len(bins) else 1, cap_bin + 1 if cap_mode else 1)
    hist_in = code_a * width
    hist_in += bins
    hist_dense = slots * width <= max(8 * len(code_a), 1 << 22)
    if hist_dense:
        hist = np.bincount(hist_in, minlength=slots * width).reshape(slots, width)
        # a group's minimum (maximum) lies in its lowest (highest) non-empty bin:
        # reduce over the few waits in those bins only
        filled = hist > 0
        low_bin = filled.argmax(axis=1)
        high_bin = width - 1 - filled[:, ::-1].argmax(axis=1)
        for edge, acc, ufunc in ((low_bin, mn, np.minimum), (high_bin, mx, np.maximum)):
            pick = np.flatnonzero(bins == np.take(edge, code_a))
            ufunc.at(acc, np.take(code_a, pick), np.take(scored, pick))
    else:
        np.minimum.at(mn, code_a, scored)
        np.maximum.at(mx, code_a, scored)
    if cap_mode:
        cap_us = cap or 0
        has_u = n_u > 0
        total += n_u * cap_us
        mn = np.where(has_u, np.minimum(mn, cap_us), mn)
        mx = np.where(has_u, np.maximum(mx, cap_us), mx)
    rounds = n_a + n_u
    rounds[dense] = 0
    present = np.flatnonzero(rounds)
    if hist_dense:
        if cap_mode:
            hist[:, cap_bin] += n_u
        flat = hist.reshape(-1)[: dense * width]  # absent groups have empty rows
        nz = np.flatnonzero(flat)
        hist_count = flat[nz]
    else:
        if cap_mode:
            hist_in = np.concatenate((hist_in, code_u * width + cap_bin))
        nz, hist_count = np.unique(hist_in, return_counts=True)
        keep = nz < dense * width
        nz, hist_count = nz[keep], hist_count[keep]
    row = nz // width  # (np.divmod is much slower than // and a product)
    hist_key = nz - row * width
    if len(present) < dense:
        row = (np.cumsum(rounds > 0) - 1)[row]
    hist_key += row * nb
    n_scored = n_a + n_u if cap_mode else n_a
    return GroupSums(
        keys=_decode_keys(present, decoders),
        rounds=rounds[present],
        answered=n_a[present],
        sla_rounds=rounds[present],
        sla_hits=n_hit[present, 1],
        scored=n_scored[present],
        sum_us=total[present],
        min_us=mn[present],
        max_us=mx[present],
        hist_key=hist_key.astype(np.int64, copy=False),
        hist_count=hist_count.astype(np.int64, copy=False),
        ordered=True,
    )
