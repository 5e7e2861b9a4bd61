"""The vectorised many-conversation path: message columns → rounds → grouped sums.

Everything here works on whole numpy arrays; no Python loop runs per message
except in :func:`iter_columns`, which has to read ``Message`` objects once.
Callers with columnar data (Parquet, Arrow, a database) build
:class:`MessageColumns` directly and skip that loop.

Times are int64 microseconds since the epoch, so waits, sums and maxima are
exact integers and merge exactly across shards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from . import _quantiles
from ._time import get_tz
from ._timing_calendar import business_us, local_day_and_time, to_us
from .exceptions import ConfigError
from .model import Conversation, Message, Role

if TYPE_CHECKING:  # pragma: no cover
    from .timing import TimingPolicy

__all__ = [
    "MISSING",
    "ROLE_CODES",
    "GroupSums",
    "MessageColumns",
    "RoundArrays",
    "compute_rounds",
    "group_sums",
    "is_transfer_line",
    "iter_columns",
    "sparse_hist",
]

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

#: Time value of a message without a timestamp.
MISSING = np.iinfo(np.int64).min
#: Role → int8 code used in :class:`MessageColumns`.
ROLE_CODES = {Role.BUYER: 0, Role.AGENT: 1, Role.BOT: 2, Role.SYSTEM: 3}

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

    @property
    def n_conversations(self) -> int:
        """Number of conversations in the chunk."""
        return len(self.conv_shop)


def iter_columns(
    conversations: Iterable[Conversation], chunk_messages: int = 262_144
) -> Iterator[MessageColumns]:
    """Turn conversations into :class:`MessageColumns` chunks of about *chunk_messages*.

    A conversation is never split across chunks.  Memory is bounded by one chunk.
    """
    if chunk_messages < 1:
        raise ConfigError(f"chunk_messages must be a positive integer, got {chunk_messages!r}")
    sizes: list[int] = []
    role: list[int] = []
    time: list[int] = []
    sender: list[int] = []
    transfer: list[bool] = []
    conv_shop: list[int] = []
    senders: dict[str, int] = {}
    shops: dict[str, int] = {}
    missing = int(MISSING)
    codes = ROLE_CODES
    system = Role.SYSTEM
    n = 0

    def code(s: str | None) -> int:
        if s is None:
            return -1
        c = senders.get(s)
        if c is None:
            c = senders[s] = len(senders)
        return c

    def chunk() -> MessageColumns:
        conv = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        return MessageColumns(conv, role, time, sender, transfer, conv_shop, senders, shops)

    for c in conversations:
        msgs = c.messages
        conv_shop.append(-1 if c.shop is None else shops.setdefault(c.shop, len(shops)))
        sizes.append(len(msgs))
        role.extend([codes[m.role] for m in msgs])
        time.extend([missing if m.sent_at is None else to_us(m.sent_at) for m in msgs])
        sender.extend([code(m.sender) for m in msgs])
        transfer.extend([m.role is system and is_transfer_line(m) for m in msgs])
        n += len(msgs)
        if n >= chunk_messages:
            yield chunk()
            sizes, role, time, sender, transfer, conv_shop = [], [], [], [], [], []
            senders, shops, n = {}, {}, 0
    if conv_shop:
        yield chunk()


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


def compute_rounds(
    cols: MessageColumns, policy: TimingPolicy, *, detail: bool = True
) -> RoundArrays:
    """Find the rounds of every conversation in *cols* under *policy* (vectorised).

    With ``detail=False`` (the aggregate path) ``opened_index`` /
    ``answered_index`` are positions in the chunk rather than in the
    conversation, ``buyer_messages`` is -1, and sessions are only worked out when
    the policy uses them.
    """
    n = len(cols.conv)
    conv, role, t = cols.conv, cols.role, cols.time_us
    is_b = role == 0
    is_a = (role == 1) | ((role == 2) if policy.bot_answers else np.zeros(n, np.bool_))
    rel = np.flatnonzero(is_b | is_a)
    rc, rb = conv[rel], is_b[rel]
    first_in_conv = np.ones(len(rel), np.bool_)
    first_in_conv[1:] = rc[1:] != rc[:-1]
    prev_a = np.zeros(len(rel), np.bool_)
    prev_a[1:] = ~rb[:-1]
    prev_b = np.zeros(len(rel), np.bool_)
    prev_b[1:] = rb[:-1]
    opens = np.flatnonzero(rb & (first_in_conv | prev_a))
    # the answer of a round is the first non-buyer message after it; such a message
    # always follows a buyer, so rounds and "answers" pair up in order
    answers = np.flatnonzero(~rb & prev_b & ~first_in_conv)
    n_before = np.cumsum(~rb & prev_b & ~first_in_conv) if len(rel) else rel
    k = n_before[opens] if len(opens) else opens
    j = answers[np.minimum(k, max(len(answers) - 1, 0))] if len(answers) else opens
    answered = (k < len(answers)) & (rc[j] == rc[opens])
    if detail:
        rel_ends = np.cumsum(np.bincount(rc, minlength=cols.n_conversations))
        buyer_messages = np.where(answered, j, rel_ends[rc[opens]]) - opens
    else:
        buyer_messages = np.full(len(opens), -1, np.int64)
    fo = rel[opens]
    fa = np.where(answered, rel[j], -1)
    oc = conv[fo]

    # sessions: a new one at a conversation's first round or after an idle gap
    first_round = np.ones(len(opens), np.bool_)
    first_round[1:] = oc[1:] != oc[:-1]
    new_sess = first_round.copy()
    if policy.idle_gap_s is not None and len(opens):
        rt = t[rel]
        prev = np.maximum(opens - 1, 0)
        gap_ok = ~first_in_conv[opens] & (rt[opens] != MISSING) & (rt[prev] != MISSING)
        gap = rt[opens] - rt[prev]
        new_sess |= gap_ok & (gap > round(policy.idle_gap_s * 1e6))
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
    if policy.credit == "holder":
        la = np.maximum.accumulate(np.where(role == 1, np.arange(n), -1)) if n else conv
        hold = la[fo] if len(fo) else fo
        hv = (hold >= 0) & (conv[np.maximum(hold, 0)] == oc)
        h_sender = np.where(hv, cols.sender[np.maximum(hold, 0)], -1).astype(np.int64)
        a_role = role[np.maximum(fa, 0)]
        extra = answered & (a_role == 1) & (h_sender >= 0) & (a_sender >= 0)
        extra &= h_sender != a_sender
        lt = np.maximum.accumulate(np.where(cols.transfer, np.arange(n), -1)) if n else conv
        ltr = lt[np.maximum(fa, 0)] if len(fa) else fa
        shifted = extra & (ltr > fo)
        open_time = np.where(shifted, t[np.maximum(ltr, 0)], open_time)
        agent = np.where(answered, a_sender, h_sender)
    else:
        agent = a_sender
        h_sender = a_sender

    # conversation start index, to report indices within a conversation
    if detail:
        sizes = np.bincount(conv, minlength=cols.n_conversations)
        conv_start = (np.cumsum(sizes) - sizes)[oc]
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
        rows["order"] = np.ones(len(opens), np.int64)
        rows["pos"] = fo
        e = np.flatnonzero(extra)
        ext = {key: v[e] for key, v in rows.items()}
        ext["open_us"] = t[fo][e]
        ext["answer_us"] = np.full(len(e), MISSING)
        ext["answered_index"] = np.full(len(e), -1)
        ext["answered"] = np.zeros(len(e), np.bool_)
        ext["agent"] = h_sender[e]
        ext["order"] = np.zeros(len(e), np.int64)
        rows = {key: np.concatenate((rows[key], ext[key])) for key in rows}
        order = np.lexsort((rows["order"], rows["pos"]))
        rows = {key: v[order] for key, v in rows.items()}
    return _finish(rows, cols, policy)


def _finish(
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
    r: RoundArrays, cols: MessageColumns, policy: TimingPolicy, by: Sequence[str]
) -> GroupSums:
    """Sum the counted rounds of *r* per group of *by* (``agent``, ``day``, ``shop``)."""
    from datetime import date, timedelta

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
    hist_key, hist_count = sparse_hist(gh, _quantiles.bin_index(wh), g)
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
