"""Response times: rounds, waits, SLA rates, business hours; per-agent/day/shop tables.

One conversation::

    t = response_times(conv)                       # plain defaults
    t = response_times(conv, TimingPolicy.preset("taobao"))
    t.first_response_s, t.mean_response_s, t.reply_rate, t.within_sla_rate, t.rounds

Many conversations (vectorised numpy, mergeable across shards)::

    table = summarize_response_times(convs, by=("agent", "day"), policy="taobao")
    table.rows()       # one dict per group: count, mean, median, p90, p95, max, rates

Definitions, defaults and their sources are in ``docs/explanation/response-times.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from . import _quantiles
from ._time import elapsed, get_tz
from ._timing_agg import (
    MISSING,
    GroupSums,
    MessageColumns,
    RoundArrays,
    check_by,
    compute_rounds,
    fast_group_sums,
    finish_rounds,
    group_sums,
    is_transfer_line,
    iter_columns,
    scored_waits,
    sla_flags,
)
from ._timing_calendar import to_us
from ._timing_policy import BusinessHours, TimingPolicy, as_policy
from .exceptions import ConfigError, InputTypeError
from .model import Conversation, Role

__all__ = [
    "BusinessHours",
    "MessageColumns",
    "ResponseTimes",
    "Round",
    "TimingPolicy",
    "TimingSummary",
    "TimingTable",
    "iter_columns",
    "response_times",
    "summarize_response_times",
]

# ---------------------------------------------------------------------------
# one conversation


@attrs.frozen
class Round:
    """One round: buyer message(s) awaiting an answer, and the answer if any.

    ``opened_at`` is the first buyer message of the round (or, for the agent who
    took over after a transfer under ``credit="holder"``, the transfer line);
    ``wait_s`` is measured in business time when the policy has business hours,
    and is ``None`` when unanswered or untimed.  ``agent`` is the sender credited
    (``None`` if unknown).  ``opened_index`` / ``answered_index`` index
    ``conversation.messages``.  ``counted`` is false for rounds left out of the
    statistics (outside the window, or an excluded 0-second reply).
    """

    opened_at: datetime | None
    answered_at: datetime | None
    wait_s: float | None
    agent: str | None
    buyer_messages: int
    opened_index: int
    answered_index: int | None
    in_window: bool
    session: int = 0
    counted: bool = True

    @property
    def answered(self) -> bool:
        """Whether an answer closed this round."""
        return self.answered_index is not None


@attrs.frozen
class ResponseTimes:
    """Response-time metrics of one conversation.

    Counts and rates cover the *counted* rounds.  ``None`` means undefined (no
    round, no answered round, or no timestamps: see ``undefined_reason``).
    """

    first_response_s: float | None
    mean_response_s: float | None
    reply_rate: float | None
    within_sla_rate: float | None
    duration_s: float | None
    n_rounds: int
    n_answered: int
    n_unanswered: int
    n_sessions: int
    rounds: tuple[Round, ...]
    policy: TimingPolicy = attrs.field(repr=False)
    undefined_reason: str | None = None


class _Found(NamedTuple):
    """One round as :func:`_walk_rounds` finds it (message indexes)."""

    opened: int  # the round's first buyer message
    start: int  # where its clock starts (the transfer line for a take-over)
    answered: int | None
    agent: str | None  # the sender credited
    buyer_messages: int
    session: int
    first_in_session: bool
    session_start: int  # the first buyer message of the session


def _walk_rounds(conv: Conversation, p: TimingPolicy) -> Iterator[_Found]:
    """Find the rounds of *conv* in one loop over its messages, in order.

    The one per-conversation implementation of the round rules (both
    :func:`response_times` routes use it); ``kefu_standards.testing.reference_rounds``
    states the rules and is the oracle the tests hold it to, and the array code
    of ``_timing_agg`` (many conversations) is held to the same oracle.
    """
    messages = conv.messages
    buyer, agent, system = Role.BUYER, Role.AGENT, Role.SYSTEM
    answer_roles = {agent, Role.BOT} if p.bot_answers else {agent}
    holder_credit = p.credit == "holder"
    idle = None if p.idle_gap_s is None else timedelta(seconds=p.idle_gap_s)
    holder: str | None = None
    last_transfer: int | None = None
    open_i: int | None = None
    open_holder: str | None = None
    open_first = False
    n_buyer = 0
    prev_time: datetime | None = None
    session, sess_start = -1, 0
    for i, m in enumerate(messages):
        role = m.role
        if role is system and is_transfer_line(m):
            last_transfer = i
        if role is buyer:
            if open_i is None:
                gap = (
                    m.sent_at is not None
                    and prev_time is not None
                    and idle is not None
                    and elapsed(m.sent_at, prev_time) > idle
                )
                open_first = session < 0 or gap
                if open_first:
                    session += 1
                    sess_start = i
                open_i, open_holder, n_buyer = i, holder, 0
            n_buyer += 1
            prev_time = m.sent_at
        elif role in answer_roles:
            if open_i is not None:
                start = open_i
                if (
                    holder_credit
                    and role is agent
                    and open_holder is not None
                    and m.sender is not None
                    and open_holder != m.sender
                ):
                    yield _Found(
                        open_i, open_i, None, open_holder, n_buyer, session, open_first, sess_start
                    )
                    if last_transfer is not None and last_transfer > open_i:
                        start = last_transfer
                yield _Found(open_i, start, i, m.sender, n_buyer, session, open_first, sess_start)
                open_i = None
            if role is agent:
                holder = m.sender
            prev_time = m.sent_at
    if open_i is not None:
        who = open_holder if holder_credit else None
        yield _Found(open_i, open_i, None, who, n_buyer, session, open_first, sess_start)


def _scalar_rows(conv: Conversation, p: TimingPolicy, senders: dict[str, int]) -> dict[str, Any]:
    """Return the rounds of :func:`_walk_rounds` as the columns ``finish_rounds`` reads."""
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "opened_index",
            "answered_index",
            "buyer_messages",
            "open_us",
            "answer_us",
            "answered",
            "agent",
            "session",
            "first_in_session",
            "sess_open",
        )
    }

    def us(i: int) -> int:
        t = conv.messages[i].sent_at
        return int(MISSING) if t is None else to_us(t)

    for r in _walk_rounds(conv, p):
        rows["opened_index"].append(r.opened)
        rows["answered_index"].append(-1 if r.answered is None else r.answered)
        rows["buyer_messages"].append(r.buyer_messages)
        rows["open_us"].append(us(r.start))
        rows["answer_us"].append(int(MISSING) if r.answered is None else us(r.answered))
        rows["answered"].append(r.answered is not None)
        rows["agent"].append(-1 if r.agent is None else senders.setdefault(r.agent, len(senders)))
        rows["session"].append(r.session)
        rows["first_in_session"].append(r.first_in_session)
        rows["sess_open"].append(us(r.session_start))
    return rows


def _single_columns(conv: Conversation, senders: dict[str, int]) -> MessageColumns:
    n = len(conv.messages)
    return MessageColumns(
        conv=np.zeros(n, np.int64),
        role=[
            0
            if m.role is Role.BUYER
            else 1
            if m.role is Role.AGENT
            else 2
            if m.role is Role.BOT
            else 3
            for m in conv.messages
        ],
        time_us=[int(MISSING) if m.sent_at is None else to_us(m.sent_at) for m in conv.messages],
        sender=np.zeros(n, np.int32),  # not used by finish_rounds
        transfer=np.zeros(n, np.bool_),
        conv_shop=[-1],
        senders=tuple(senders),
    )


def _mean_us(total: int, n: int) -> float:
    return total / n / 1e6


def response_times(
    conversation: Conversation, policy: TimingPolicy | str | None = None
) -> ResponseTimes:
    """Measure rounds and response times of one conversation.

    *policy* is a :class:`TimingPolicy`, a preset name (``"taobao"``, ``"jd"``)
    or ``None`` for the plain defaults.  Untimed buyer/agent messages make the
    time-based fields ``None`` (``undefined_reason`` says why); ``reply_rate``
    and the counts are still given when no window applies.
    """
    p = as_policy(policy)
    if not isinstance(conversation, Conversation):
        msg = f"response_times() takes a Conversation, not {type(conversation).__name__}"
        raise InputTypeError(msg)
    if _plain_policy(p):
        return _plain_response_times(conversation, p)
    return _vectorised_response_times(conversation, p)


def _vectorised_response_times(conversation: Conversation, p: TimingPolicy) -> ResponseTimes:
    """:func:`response_times` through the same array code as the many-conversation path."""
    senders: dict[str, int] = {}
    rows = _scalar_rows(conversation, p, senders)
    n = len(rows["opened_index"])
    rows["conv"] = [0] * n
    arr = {k: np.asarray(v) for k, v in rows.items()}
    for k in ("conv", "opened_index", "answered_index", "buyer_messages", "open_us"):
        arr[k] = arr[k].astype(np.int64)
    arr["answer_us"] = arr["answer_us"].astype(np.int64)
    arr["answered"] = arr["answered"].astype(np.bool_)
    arr["agent"] = arr["agent"].astype(np.int64)
    arr["first_in_session"] = arr["first_in_session"].astype(np.bool_)
    arr["sess_open"] = arr["sess_open"].astype(np.int64)
    arr["session"] = arr["session"].astype(np.int64)
    r = finish_rounds(arr, _single_columns(conversation, senders), p)
    return _summarise_one(conversation, r, p, tuple(senders))


def _plain_policy(p: TimingPolicy) -> bool:
    """Tell whether *p* has no cap, window, business hours or zero-wait rule (the default)."""
    return (
        p.cap_s is None
        and p.window is None
        and p.business_hours is None
        and p.zero_waits == "keep"
        and p.sla_scope == "rounds"
    )


_UNTIMED = "some buyer/agent messages have no timestamp, so waits are undefined"


def _counts(
    conv: Conversation, rounds: tuple[Round, ...], counted: Sequence[Round], p: TimingPolicy
) -> dict[str, Any]:
    """Return the fields of :class:`ResponseTimes` that need no timestamps."""
    n_answered = sum(x.answered for x in counted)
    times = [m.sent_at for m in conv.messages if m.sent_at is not None]
    return {
        "reply_rate": n_answered / len(counted) if counted else None,
        "duration_s": elapsed(times[-1], times[0]).total_seconds() if times else None,
        "n_rounds": len(counted),
        "n_answered": n_answered,
        "n_unanswered": len(counted) - n_answered,
        "n_sessions": 1 + max(x.session for x in rounds) if rounds else 0,
        "rounds": rounds,
        "policy": p,
    }


def _untimed(counts: dict[str, Any], reason: str) -> ResponseTimes:
    return ResponseTimes(
        first_response_s=None,
        mean_response_s=None,
        within_sla_rate=None,
        undefined_reason=reason,
        **counts,
    )


def _plain_response_times(conversation: Conversation, p: TimingPolicy) -> ResponseTimes:
    """:func:`_vectorised_response_times` for a :func:`_plain_policy`, without numpy.

    The rounds come from :func:`_walk_rounds` (as on the array route) and each
    :class:`Round` is built at once;
    under a plain policy every round is in the window and counted, a
    conversation is timed when all its buyer/answering messages are, the wait is
    ``answer - open`` in whole microseconds, and the SLA counts every round:
    what ``finish_rounds`` and ``_summarise_one`` compute, minus the array set-up that
    costs more than the work on one conversation.  The result is the same
    :class:`ResponseTimes` (``tests/test_timing_plain.py`` compares the routes).
    """
    messages = conversation.messages
    tz = get_tz(p.tz)
    sla_us = round(p.sla_s * 1e6)
    timed = _all_timed(conversation, p)
    missing = int(MISSING)

    def at(i: int) -> tuple[int, datetime | None]:
        """``(microseconds or MISSING, the time in the policy's zone)`` of message *i*."""
        t = messages[i].sent_at
        if t is None:
            return missing, None
        us = to_us(t)
        # t.astimezone(tz) is _dt(us, tz) (both go through tz.fromutc), unless t is
        # already in tz (then astimezone returns t itself, fold and all)
        return us, (t.astimezone(tz) if t.tzinfo is not tz else _dt(us, p.tz))

    rounds: list[Round] = []
    total_us = n_scored = n_hit = n_answered = 0

    for r in _walk_rounds(conversation, p):
        open_us, opened_at = at(r.start)
        wait_s = answered_at = None
        if r.answered is not None:
            n_answered += 1
            answer_us, answered_at = at(r.answered)
            if timed:
                wait_us = answer_us - open_us
                wait_s = wait_us / 1e6
                total_us += wait_us
                n_scored += 1
                n_hit += wait_us <= sla_us
        rounds.append(
            Round(
                opened_at,
                answered_at,
                wait_s,
                r.agent,
                r.buyer_messages,
                r.opened,
                r.answered,
                True,  # in_window: a plain policy has no window
                r.session,
                True,  # counted: nor a rule that leaves rounds out
            )
        )

    times = [m.sent_at for m in messages if m.sent_at is not None]
    n = len(rounds)
    counts: dict[str, Any] = {
        "reply_rate": n_answered / n if n else None,
        "duration_s": elapsed(times[-1], times[0]).total_seconds() if times else None,
        "n_rounds": n,
        "n_answered": n_answered,
        "n_unanswered": n - n_answered,
        "n_sessions": 1 + max(x.session for x in rounds) if rounds else 0,
        "rounds": tuple(rounds),
        "policy": p,
    }
    if not timed:
        return _untimed(counts, _UNTIMED)
    reason = None
    if not rounds:
        reason = "no round: the buyer never wrote"
    elif n_scored == 0:
        reason = "no answered round"
    return ResponseTimes(
        first_response_s=rounds[0].wait_s if rounds else None,
        mean_response_s=_mean_us(total_us, n_scored) if n_scored else None,
        within_sla_rate=n_hit / n if rounds else None,
        undefined_reason=reason,
        **counts,
    )


def _dt(value: int, tzname: str) -> datetime | None:
    if value == MISSING:
        return None
    base = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(value))
    return base.astimezone(get_tz(tzname))


def _summarise_one(
    conv: Conversation, r: RoundArrays, p: TimingPolicy, senders: tuple[str, ...]
) -> ResponseTimes:
    timed = bool(r.timed.all()) if len(r.conv) else _all_timed(conv, p)
    rounds = tuple(
        Round(
            opened_at=_dt(int(r.open_us[i]), p.tz),
            answered_at=_dt(int(r.answer_us[i]), p.tz) if r.answered[i] else None,
            wait_s=int(r.wait_us[i]) / 1e6 if r.answered[i] and r.timed[i] else None,
            agent=None if r.agent[i] < 0 else senders[int(r.agent[i])],
            buyer_messages=int(r.buyer_messages[i]),
            opened_index=int(r.opened_index[i]),
            answered_index=int(r.answered_index[i]) if r.answered[i] else None,
            in_window=bool(r.in_window[i]) if timed else p.window is None,
            session=int(r.session[i]),
            counted=bool(r.counted[i]) if timed else p.window is None,
        )
        for i in range(len(r.conv))
    )
    counted = [x for x in rounds if x.counted]
    counts = _counts(conv, rounds, counted, p)
    if not timed:
        return _untimed(counts, _UNTIMED)
    has, w = scored_waits(r, p)
    eligible, hit = sla_flags(r, p)
    first = next((x for x in counted), None)
    n_scored = int(has.sum())
    n_eligible = int(eligible.sum())
    reason = None
    if not counted:
        reason = "no round: the buyer never wrote" if not rounds else "no round inside the window"
    elif n_scored == 0:
        reason = "no answered round"
    return ResponseTimes(
        first_response_s=None if first is None else first.wait_s,
        mean_response_s=_mean_us(int(w[has].sum()), n_scored) if n_scored else None,
        within_sla_rate=int(hit.sum()) / n_eligible if n_eligible else None,
        undefined_reason=reason,
        **counts,
    )


def _all_timed(conv: Conversation, p: TimingPolicy) -> bool:
    roles = {Role.BUYER, Role.AGENT} | ({Role.BOT} if p.bot_answers else set())
    return all(m.sent_at is not None for m in conv.messages if m.role in roles)


# ---------------------------------------------------------------------------
# many conversations

_STATS = ("rounds", "answered", "sla_rounds", "sla_hits", "scored", "sum_us", "min_us", "max_us")
_QUANTILES = (("median_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95))


def _key_sort(key: tuple[object, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((k is None, "" if k is None else str(k)) for k in key)


def _object_array(values: list[object]) -> npt.NDArray[np.object_]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    out.flags.writeable = False
    return out


def _frozen_array(a: npt.ArrayLike, dtype: Any) -> npt.NDArray[Any]:
    out = np.array(a, dtype=dtype)
    out.flags.writeable = False
    return out


def _regroup(hist_key: npt.NDArray[np.int64], new_pos: npt.NDArray[np.int64]) -> Any:
    """Move sparse histogram keys to new group positions."""
    nb = _quantiles.N_BINS
    return new_pos[hist_key // nb] * nb + hist_key % nb


def _combine(keys: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> Any:
    """Sort sparse histogram entries and add up duplicates; return read-only arrays."""
    if len(keys) == 0:
        return _frozen_array(keys, np.int64), _frozen_array(counts, np.int64)
    order = np.argsort(keys, kind="stable")
    k, c = keys[order], counts[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(k)) + 1))
    return _frozen_array(k[starts], np.int64), _frozen_array(np.add.reduceat(c, starts), np.int64)


@attrs.frozen(eq=False)
class TimingSummary:
    """Mergeable per-group sums of rounds: exact counts, sums, min/max and a quantile sketch.

    ``a.merge(b)`` equals the summary of both inputs together: exactly for every
    count, sum, mean, rate, minimum and maximum, and *identically* for the
    quantile sketch (a fixed log-spaced histogram; its estimates are within
    1 % of the true nearest-rank quantile, see :mod:`kefu_standards._quantiles`).
    So each partition of a distributed job can build a summary and the driver
    merges them.
    """

    by: tuple[str, ...]
    policy: TimingPolicy
    keys: tuple[tuple[object, ...], ...]
    rounds: npt.NDArray[np.int64]
    answered: npt.NDArray[np.int64]
    sla_rounds: npt.NDArray[np.int64]
    sla_hits: npt.NDArray[np.int64]
    scored: npt.NDArray[np.int64]
    sum_us: npt.NDArray[np.int64]
    min_us: npt.NDArray[np.int64]
    max_us: npt.NDArray[np.int64]
    hist_key: npt.NDArray[np.int64]
    hist_count: npt.NDArray[np.int64]
    conversations: int = 0
    untimed_conversations: int = 0

    @classmethod
    def empty(
        cls, by: Sequence[str] = ("agent",), policy: TimingPolicy | str | None = None
    ) -> TimingSummary:
        """Return the summary of no conversations (the identity of :meth:`merge`)."""
        z = np.zeros(0, np.int64)
        return cls(
            check_by(by),
            as_policy(policy),
            (),
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
        )

    @classmethod
    def from_columns(
        cls,
        columns: MessageColumns,
        by: Sequence[str] = ("agent",),
        policy: TimingPolicy | str | None = None,
        *,
        sketch: bool = True,
    ) -> TimingSummary:
        """Summarise one :class:`MessageColumns` chunk (vectorised).

        ``sketch=False`` keeps counts, sums, minimum and maximum only: no
        quantile sketch is counted (quantiles then read NaN), so the working
        memory does not grow with groups x histogram bins.  For many small
        groups that need no quantile, e.g. ``("agent", "day")`` for trends.

        .. versionchanged:: 0.2.0
           *sketch* added.
        """
        p, names = as_policy(policy), check_by(by)
        fast = fast_group_sums(columns, p, names, sketch=sketch)
        if fast is not None:  # common policies on timed data: the lean path
            return cls._from_sums(fast, names, p, columns.n_conversations, 0)
        r = compute_rounds(columns, p, detail=False)
        g = group_sums(r, columns, p, names, sketch=sketch)
        untimed = len(np.unique(r.conv[~r.timed]))
        return cls._from_sums(g, names, p, columns.n_conversations, untimed)

    @classmethod
    def from_conversations(
        cls,
        conversations: Iterable[Conversation],
        by: Sequence[str] = ("agent",),
        policy: TimingPolicy | str | None = None,
        chunk_messages: int = 262_144,
    ) -> TimingSummary:
        """Summarise a stream of conversations chunk by chunk (memory bounded by a chunk)."""
        p, names = as_policy(policy), check_by(by)
        out = cls.empty(names, p)
        for cols in iter_columns(conversations, chunk_messages):
            out = out.merge(cls.from_columns(cols, names, p))
        return out

    @classmethod
    def _from_sums(
        cls, g: GroupSums, by: tuple[str, ...], p: TimingPolicy, convs: int, untimed: int
    ) -> TimingSummary:
        if g.ordered:  # keys already in table order, histogram keys sorted
            return cls(
                by,
                p,
                g.keys,
                **{k: _frozen_array(getattr(g, k), np.int64) for k in _STATS},
                hist_key=_frozen_array(g.hist_key, np.int64),
                hist_count=_frozen_array(g.hist_count, np.int64),
                conversations=convs,
                untimed_conversations=untimed,
            )
        order = sorted(range(len(g.keys)), key=lambda i: _key_sort(g.keys[i]))
        idx = np.array(order, dtype=np.int64)
        arrays = {k: _frozen_array(getattr(g, k)[idx], np.int64) for k in _STATS}
        new_pos = np.empty(len(idx), np.int64)
        new_pos[idx] = np.arange(len(idx))
        hist_key, hist_count = _combine(_regroup(g.hist_key, new_pos), g.hist_count)
        return cls(
            by,
            p,
            tuple(g.keys[i] for i in order),
            **arrays,
            hist_key=hist_key,
            hist_count=hist_count,
            conversations=convs,
            untimed_conversations=untimed,
        )

    def merge(self, *others: TimingSummary) -> TimingSummary:
        """Return the summary of this and *others* together (exact, order-independent)."""
        parts = (self, *others)
        for o in others:
            if not isinstance(o, TimingSummary) or o.by != self.by or o.policy != self.policy:
                msg = "can only merge TimingSummary objects with the same by= and policy"
                raise ConfigError(msg)
        keys = sorted({k for s in parts for k in s.keys}, key=_key_sort)
        where = {k: i for i, k in enumerate(keys)}
        g = len(keys)
        acc = {k: np.zeros(g, np.int64) for k in _STATS}
        acc["min_us"][:] = np.iinfo(np.int64).max
        acc["max_us"][:] = -1
        hist_keys, hist_counts = [], []
        for s in parts:
            if not s.keys:
                continue
            pos = np.array([where[k] for k in s.keys], dtype=np.int64)
            for k in _STATS:
                if k == "min_us":
                    acc[k][pos] = np.minimum(acc[k][pos], s.min_us)
                elif k == "max_us":
                    acc[k][pos] = np.maximum(acc[k][pos], s.max_us)
                else:
                    acc[k][pos] += getattr(s, k)
            hist_keys.append(_regroup(s.hist_key, pos))
            hist_counts.append(s.hist_count)
        z = np.zeros(0, np.int64)
        hist_key, hist_count = _combine(
            np.concatenate(hist_keys) if hist_keys else z,
            np.concatenate(hist_counts) if hist_counts else z,
        )
        return TimingSummary(
            self.by,
            self.policy,
            tuple(keys),
            **{k: _frozen_array(v, np.int64) for k, v in acc.items()},
            hist_key=hist_key,
            hist_count=hist_count,
            conversations=sum(s.conversations for s in parts),
            untimed_conversations=sum(s.untimed_conversations for s in parts),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TimingSummary):
            return NotImplemented
        return (
            self.by == other.by
            and self.policy == other.policy
            and self.keys == other.keys
            and self.conversations == other.conversations
            and self.untimed_conversations == other.untimed_conversations
            and all(np.array_equal(getattr(self, k), getattr(other, k)) for k in _STATS)
            and np.array_equal(self.hist_key, other.hist_key)
            and np.array_equal(self.hist_count, other.hist_count)
        )

    __hash__ = None  # type: ignore[assignment]

    def table(self) -> TimingTable:
        """Return the per-group table: counts, mean, median, p90, p95, max and rates."""
        n = self.scored
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, self.sum_us / np.maximum(n, 1) / 1e6, np.nan)
            reply = np.where(self.rounds > 0, self.answered / np.maximum(self.rounds, 1), np.nan)
            sla = np.where(
                self.sla_rounds > 0, self.sla_hits / np.maximum(self.sla_rounds, 1), np.nan
            )
        cols: dict[str, npt.NDArray[Any]] = {}
        for i, name in enumerate(self.by):
            cols[name] = _object_array([k[i] for k in self.keys])
        cols["rounds"] = self.rounds
        cols["answered"] = self.answered
        cols["unanswered"] = _frozen_array(self.rounds - self.answered, np.int64)
        cols["waits"] = self.scored
        cols["mean_s"] = _frozen_array(mean, np.float64)
        est = _quantiles.quantiles_sparse(
            self.hist_key,
            self.hist_count,
            tuple(q for _, q in _QUANTILES),
            counts=self.scored,
            lo_us=self.min_us,
            hi_us=self.max_us,
        )
        for (name, _), row in zip(_QUANTILES, est, strict=True):
            row.flags.writeable = False
            cols[name] = row
        cols["max_s"] = _frozen_array(np.where(n > 0, self.max_us / 1e6, np.nan), np.float64)
        cols["reply_rate"] = _frozen_array(reply, np.float64)
        cols["sla_rate"] = _frozen_array(sla, np.float64)
        return TimingTable(columns=cols, summary=self)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    return value


@attrs.frozen(eq=False)
class TimingTable:
    """A per-group table of response-time statistics; columns are read-only numpy arrays.

    Columns: the ``by`` keys (``agent``, ``day`` as ``YYYY-MM-DD``, ``shop``),
    ``rounds``, ``answered``, ``unanswered``, ``waits`` (rounds entering the
    mean), ``mean_s``, ``median_s``, ``p90_s``, ``p95_s``, ``max_s`` (seconds,
    NaN when no wait), ``reply_rate`` and ``sla_rate`` (NaN when no round).
    Quantiles are nearest-rank estimates within 1 % (plus 10 ms below 10 ms).
    """

    columns: Mapping[str, npt.NDArray[Any]]
    summary: TimingSummary = attrs.field(repr=False)

    def __len__(self) -> int:
        return len(self.summary.keys)

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self.columns[name]

    def rows(self) -> list[dict[str, Any]]:
        """Return one dict per group, with ``None`` for undefined values."""
        names = list(self.columns)
        return [{k: _plain(self.columns[k][i]) for k in names} for i in range(len(self))]

    def to_dict(self) -> dict[str, list[Any]]:
        """Return ``{column: list}`` with plain Python values (``None`` for undefined)."""
        return {k: [_plain(v) for v in col] for k, col in self.columns.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows())


def summarize_response_times(
    conversations: Iterable[Conversation] | MessageColumns,
    by: Sequence[str] = ("agent",),
    policy: TimingPolicy | str | None = None,
    *,
    chunk_messages: int = 262_144,
) -> TimingTable:
    """Tabulate response times per group (``by`` any of ``"agent"``, ``"day"``, ``"shop"``).

    Streams *conversations* in chunks of about *chunk_messages* messages through
    the vectorised path; memory stays bounded by one chunk plus the groups.  For
    distributed jobs build :meth:`TimingSummary.from_conversations` per partition
    and :meth:`TimingSummary.merge` them.  Rounds are grouped by the agent
    credited, the local day the round opened (policy time zone) and the
    conversation's shop; untimed conversations are left out and counted in
    ``table.summary.untimed_conversations``.
    """
    if isinstance(conversations, MessageColumns):
        return TimingSummary.from_columns(conversations, by, policy).table()
    return TimingSummary.from_conversations(conversations, by, policy, chunk_messages).table()
