"""Join outcome rows to the conversations they followed.

The rules (documented in the how-to "Join ratings, orders and refunds"):

- **A rating** joins the latest conversation of the same buyer and agent that
  started at or before the rating (``eval_time``) and ended no more than
  ``rating_window`` before it.  A JD 会话记录 row (start time only) joins the
  conversation of that buyer and agent starting closest to its 咨询时间, within
  ``session_tolerance`` (DOMAIN §2.4: a transfer makes the log lag the row, a
  known matcher allows ±120 s).  Of several ratings of one agent in one
  conversation only the latest counts (DOMAIN §2.7: latest rating per session;
  each 子账号 has its own session); the earlier ones are joined but *superseded*.
- **An order** joins the conversation that quotes its id, if any (the quote
  wins; the latest such chat that started before the order, else the earliest
  one); otherwise the latest conversation of the same buyer that started before
  the order was placed, when the order came the same or the next day
  (``order_window_days``); when the order names its shop (店铺名称), that
  shop's chats are preferred.  The order is credited to the last agent of that
  conversation (after a transfer, the one who served the buyer last).
- **A refund or a review** joins its order by order id; it counts for the agent
  the order is credited to.

Every row ends **joined** or **unmatched with a reason** (:data:`REASONS`), so
``joined + unmatched == read`` for every file.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import attrs

from kefu_standards._time import get_tz
from kefu_standards.exceptions import ConfigError
from kefu_standards.model import Conversation, Role

from ._diagsums import DiagnosisSums, Signals, signal_values
from ._kpis import OutcomeCounts, OutcomeSummary
from ._records import Order, Rating, Refund, Review, Satisfaction

__all__ = ["REASONS", "ChatStub", "JoinCounts", "Link", "OutcomeJoin", "OutcomeResult"]

#: Why a row did not join (the ``reason`` of an unmatched :class:`Link`).
UNKNOWN_BUYER = "unknown buyer"
OTHER_AGENT = "buyer never chatted with this agent"
BEFORE_ANY_CHAT = "sent before any chat"
ORDERED_BEFORE_CHAT = "ordered before any chat"
STALE_RATING = "no chat of this buyer and agent ended within the rating window before it"
STALE_ORDER = "no chat of this buyer the same or the previous day"
NO_SESSION = "no chat of this buyer and agent starts within the tolerance of 咨询时间"
NO_BUYER = "no buyer in the order and no chat quotes its id"
NO_TIME = "the order has no creation or payment time"
UNKNOWN_ORDER = "unknown order id"
REASONS: tuple[str, ...] = (
    UNKNOWN_BUYER,
    OTHER_AGENT,
    BEFORE_ANY_CHAT,
    ORDERED_BEFORE_CHAT,
    STALE_RATING,
    STALE_ORDER,
    NO_SESSION,
    NO_BUYER,
    NO_TIME,
    UNKNOWN_ORDER,
)

#: Digit runs that may be an order id quoted in a chat (Taobao ids have 15-19
#: digits, JD ids 10-12); only runs equal to an order id of the orders file count.
_ORDER_ID = re.compile(r"(?<!\d)\d{10,20}(?!\d)")


#: Words in a buyer's messages that point at the product or its delivery, not at the
#: service (written for this package from the complaint scenarios of DOMAIN §3-§4).
PRODUCT_CUES: tuple[str, ...] = (
    "质量",
    "尺码",
    "偏大",
    "偏小",
    "色差",
    "破损",
    "坏了",
    "故障",
    "发错",
    "漏发",
    "受潮",
    "过期",
    "物流",
    "快递",
    "没收到",
    "不符",
)
#: Words in a buyer's messages that point at the service itself.
SERVICE_CUES: tuple[str, ...] = (
    "态度",
    "人呢",
    "在吗",
    "不回",
    "敷衍",
    "我说过了",
    "没人",
    "太慢",
    "推诿",
    "不耐烦",
)


_PRODUCT_RE = re.compile("|".join(map(re.escape, PRODUCT_CUES)))
_SERVICE_RE = re.compile("|".join(map(re.escape, SERVICE_CUES)))
_NO_IDS: frozenset[str] = frozenset()
_NO_FLAGS: frozenset[str] = frozenset()


@attrs.frozen(slots=True)
class ChatStub:
    """What the join keeps of a conversation: who, when, where, and the ids it quotes.

    With the conversation's analysis result, also the numbers the diagnosis
    compares (``signals``, see :func:`~kefu_standards.outcomes.diagnose`) and the
    buyer's top ``topic``.

    .. versionadded:: 0.2.0
    """

    id: str
    buyer: str | None
    agents: tuple[str, ...]
    shop: str | None
    started_at: datetime | None
    ended_at: datetime | None
    day: date | None
    quoted: frozenset[str]
    product_cues: int = 0
    service_cues: int = 0
    signals: Signals = ()
    topic: str | None = None

    @classmethod
    def of(
        cls, conversation: Conversation, tz: str | tzinfo | None = None, result: Any = None
    ) -> ChatStub:
        """Return the stub of *conversation* (days in *tz*, default Asia/Shanghai).

        *result* is the conversation's ``ConversationResult`` (from ``analyze``),
        whose numbers and topic the diagnosis compares; without it the stub
        carries none.
        """
        started = conversation.started_at
        hits = [
            hit
            for m in conversation.messages
            if m.role is not Role.BOT
            for hit in _ORDER_ID.findall(m.text)
        ]
        quoted = frozenset(hits) if hits else _NO_IDS
        buyer_text = "".join(m.text for m in conversation.messages if m.role is Role.BUYER)
        return cls(
            id=conversation.id,
            buyer=conversation.buyer,
            agents=conversation.agents,
            shop=conversation.shop,
            started_at=started,
            ended_at=conversation.ended_at,
            day=None if started is None else started.astimezone(get_tz(tz)).date(),
            quoted=quoted,
            product_cues=len(_PRODUCT_RE.findall(buyer_text)),
            service_cues=len(_SERVICE_RE.findall(buyer_text)),
            signals=() if result is None else signal_values(result),
            topic=None if result is None else result.topic,
        )

    @property
    def agent(self) -> str | None:
        """The agent orders are credited to: the last one who served the buyer."""
        return self.agents[-1] if self.agents else None


@attrs.frozen(slots=True)
class Link:
    """Where one outcome row ended: joined to a conversation (or order), or unmatched.

    ``kind`` is ``rating``, ``order``, ``refund`` or ``review``; ``file`` and
    ``line`` locate the row; ``conversation_id`` and ``agent`` are what it was
    credited to (``None`` when unmatched, or an order joined to no chat);
    ``reason`` says how it joined or why it did not; ``counted`` is ``False``
    for a superseded rating or a repeated order row.

    .. versionadded:: 0.2.0
    """

    kind: str
    file: str
    line: int | None
    joined: bool
    reason: str
    conversation_id: str | None = None
    agent: str | None = None
    counted: bool = True


@attrs.define(slots=True)
class JoinCounts:
    """Rows read, joined and unmatched (by reason) of one outcome file; mergeable.

    Invariant: ``read == joined + sum(unmatched.values())``.

    .. versionadded:: 0.2.0
    """

    kind: str
    file: str
    read: int = 0
    joined: int = 0
    unmatched: Counter[str] = attrs.field(factory=Counter)

    def add(self, link: Link) -> None:
        """Count one row's link."""
        self.read += 1
        if link.joined:
            self.joined += 1
        else:
            self.unmatched[link.reason] += 1

    def merge(self, other: JoinCounts) -> JoinCounts:
        """Return these counts plus *other*'s (inputs unchanged)."""
        return JoinCounts(
            self.kind,
            self.file,
            self.read + other.read,
            self.joined + other.joined,
            self.unmatched + other.unmatched,
        )

    def summary(self) -> str:
        """One line: ``ratings ratings.csv: 40 read, 35 joined, 5 unmatched (3 unknown buyer…)``."""
        lost = sum(self.unmatched.values())
        why = ", ".join(f"{n} {r}" for r, n in sorted(self.unmatched.items()))
        tail = f" ({why})" if why else ""
        return (
            f"{self.kind} {self.file}: {self.read} read, {self.joined} joined, "
            f"{lost} unmatched{tail}"
        )


@attrs.frozen
class OutcomeResult:
    """What :meth:`OutcomeJoin.join` produced.

    ``files`` holds the :class:`JoinCounts` of each outcome file (in the order
    read); ``by_agent``, ``by_day`` and ``by_shop`` the mergeable
    :class:`~kefu_standards.outcomes.OutcomeSummary`; ``links`` every row's
    :class:`Link` when ``keep_links=True`` (else empty, so memory stays flat);
    ``flags``/``stubs`` the outcome flags and stubs of the joined chats when
    ``keep_flags=True``; ``sums`` the bounded accumulators the diagnosis reads
    (:func:`~kefu_standards.outcomes.diagnose`), ``diagnosis`` its sentences;
    ``platform`` the rows of :func:`~kefu_standards.outcomes.compare_with_platform`
    when a platform report was compared (shown in ``report.html``).
    ``by_agent_day`` (keys ``(agent, day)``) is what the trends sum into weeks.

    .. versionadded:: 0.2.0
    """

    files: tuple[JoinCounts, ...]
    by_agent: OutcomeSummary
    by_day: OutcomeSummary
    by_shop: OutcomeSummary
    links: tuple[Link, ...] = ()
    flags: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    stubs: Mapping[str, ChatStub] = attrs.field(factory=dict)
    diagnosis: tuple[Any, ...] = ()
    sums: DiagnosisSums = attrs.field(factory=DiagnosisSums)
    platform: tuple[Mapping[str, Any], ...] = ()
    # -- trends (#20): counts per (agent, day), summed into periods by the trends
    by_agent_day: OutcomeSummary = attrs.field(factory=lambda: OutcomeSummary.empty("agent_day"))

    def merge(self, *others: OutcomeResult) -> OutcomeResult:
        """Return this and *others* together (counts per file and summaries added)."""
        files: dict[tuple[str, str], JoinCounts] = {}
        for part in (self, *others):
            for c in part.files:
                key = (c.kind, c.file)
                files[key] = (
                    files[key].merge(c) if key in files else c.merge(JoinCounts(c.kind, c.file))
                )
        return OutcomeResult(
            tuple(files.values()),
            self.by_agent.merge(*(o.by_agent for o in others)),
            self.by_day.merge(*(o.by_day for o in others)),
            self.by_shop.merge(*(o.by_shop for o in others)),
            tuple(link for part in (self, *others) for link in part.links),
            _union(part.flags for part in (self, *others)),
            {k: v for part in (self, *others) for k, v in part.stubs.items()},
            tuple(d for part in (self, *others) for d in part.diagnosis),
            self.sums.merge(*(o.sums for o in others)),
            tuple(row for part in (self, *others) for row in part.platform),
            self.by_agent_day.merge(*(o.by_agent_day for o in others)),  # trends (#20)
        )

    def summary_lines(self) -> list[str]:
        """One line per file: read, joined and unmatched counts with reasons."""
        return [c.summary() for c in self.files]


def _same_agent(name: str, agent: str) -> bool:
    """Whether a rating's agent *name* is the chat's *agent* (full sub-account or nick)."""
    return name == agent or any(
        agent.endswith(sep + name) or name.endswith(sep + agent) for sep in (":", "--", "-")
    )


@attrs.define(slots=True)
class _OrderEntry:
    paid: bool
    stub: ChatStub | None
    refunded: bool = False
    disputed: bool = False
    cs_unknown: bool = False
    reviews: int = 0
    bad: int = 0


class OutcomeJoin:
    """Join ratings, orders, refunds and reviews to a stream of conversations.

    Feed conversations with :meth:`add` (or pass them through :meth:`watch`
    while another consumer reads them), then call :meth:`join` once with the
    outcome streams.  Only a :class:`ChatStub` per conversation is kept (no
    messages), plus one small entry per order and per rated conversation.

    Args:
        tz: zone of the days (default Asia/Shanghai).
        rating_window: how long after a chat ended its rating may come.
        session_tolerance: how far a JD 会话记录 row's 咨询时间 may be from the chat start.
        order_window_days: an order joins a chat of the same day or up to this
            many days - 1 later (2 = same or next day, as 询单→次日付款).
        keep_links: keep every row's :class:`Link` in the result (memory grows).
        keep_flags: keep the outcome flags and stubs of the joined conversations
            in the result (``OutcomeResult.flags``/``stubs``); the diagnosis
            does not need them (it reads ``OutcomeResult.sums``).

    .. versionadded:: 0.2.0

    """

    def __init__(
        self,
        *,
        tz: str | tzinfo | None = None,
        rating_window: timedelta = timedelta(days=1),
        session_tolerance: timedelta = timedelta(seconds=120),
        order_window_days: int = 2,
        keep_links: bool = False,
        keep_flags: bool = False,
    ) -> None:
        if order_window_days < 1:
            raise ConfigError(f"order_window_days must be >= 1, got {order_window_days}")
        if rating_window < timedelta(0) or session_tolerance < timedelta(0):
            raise ConfigError("rating_window and session_tolerance must not be negative")
        self.tz = tz
        self.rating_window = rating_window
        self.session_tolerance = session_tolerance
        self.order_window_days = order_window_days
        self.keep_links = keep_links
        self.keep_flags = keep_flags
        self._by_buyer: dict[str, list[ChatStub]] = {}
        self._by_quote: dict[str, list[ChatStub]] = {}
        self._unbought: list[ChatStub] = []  # conversations without a buyer nick
        self._sorted = True

    def add(self, conversation: Conversation, result: Any = None) -> None:
        """Remember *conversation* (its stub) for the join.

        *result*, its ``ConversationResult``, feeds the diagnosis: pass
        ``on_result=join.add`` to :func:`~kefu_standards.analyze`.
        """
        self.add_stub(ChatStub.of(conversation, self.tz, result))

    def add_stub(self, stub: ChatStub) -> None:
        """Remember a conversation by its stub (e.g. one spilled to disk and read back)."""
        if stub.buyer is None:
            self._unbought.append(stub)
        else:
            self._by_buyer.setdefault(stub.buyer, []).append(stub)
        for q in stub.quoted:
            self._by_quote.setdefault(q, []).append(stub)
        self._sorted = False

    def watch(self, conversations: Iterable[Conversation]) -> Iterator[Conversation]:
        """Yield *conversations* unchanged, remembering each (for ``analyze`` to consume)."""
        for conv in conversations:
            self.add(conv)
            yield conv

    def _stubs(self) -> Iterator[ChatStub]:
        for stubs in self._by_buyer.values():
            yield from stubs
        yield from self._unbought

    def _sort(self) -> None:
        if self._sorted:
            return
        key = _stub_key
        for stubs in self._by_buyer.values():
            stubs.sort(key=key)
        for stubs in self._by_quote.values():
            stubs.sort(key=key)
        self._sorted = True

    # -- one row each ----------------------------------------------------------------

    def link_rating(self, rating: Rating) -> tuple[Link, ChatStub | None]:
        """Return where *rating* joins (and the conversation), by the rules above."""
        self._sort()
        stubs = self._by_buyer.get(rating.buyer)
        if not stubs:
            return self._miss("rating", rating, UNKNOWN_BUYER), None
        mine = [(s, a) for s in stubs for a in s.agents if _same_agent(rating.agent, a)]
        if not mine:
            return self._miss("rating", rating, OTHER_AGENT), None
        if rating.rated_at is None:  # a JD 会话记录 row: the closest start
            start = rating.session_start
            assert start is not None
            near = [
                (abs((s.started_at - start).total_seconds()), _stub_key(s), s, a)
                for s, a in mine
                if s.started_at is not None
            ]
            best = min(near, default=None, key=lambda t: (t[0], t[1]))
            if best is None or best[0] > self.session_tolerance.total_seconds():
                return self._miss("rating", rating, NO_SESSION), None
            link = Link("rating", rating.file, rating.line, True, "chat start", best[2].id, best[3])
            return link, best[2]
        at = rating.rated_at
        before = [(s, a) for s, a in mine if s.started_at is not None and s.started_at <= at]
        if not before:
            return self._miss("rating", rating, BEFORE_ANY_CHAT), None
        stub, agent = max(before, key=lambda t: _stub_key(t[0]))
        end = stub.ended_at or stub.started_at
        assert end is not None
        if at - end > self.rating_window:
            return self._miss("rating", rating, STALE_RATING), None
        reason = "latest chat of this buyer and agent before the rating"
        return Link("rating", rating.file, rating.line, True, reason, stub.id, agent), stub

    def link_order(self, order: Order) -> tuple[Link, ChatStub | None]:
        """Return where *order* joins (and the conversation), by the rules above."""
        self._sort()
        when = order.when
        quoting = self._by_quote.get(order.order_id)
        if quoting:
            stub = quoting_chat(quoting, when)
            link = Link("order", order.file, order.line, True, "order id quoted in the chat")
            return attrs.evolve(link, conversation_id=stub.id, agent=stub.agent), stub
        if order.buyer is None:
            return self._miss("order", order, NO_BUYER), None
        stubs = self._by_buyer.get(order.buyer)
        if not stubs:
            return self._miss("order", order, UNKNOWN_BUYER), None
        if when is None:
            return self._miss("order", order, NO_TIME), None
        if order.shop is not None:  # a buyer may chat with several shops: prefer this one's
            stubs = [s for s in stubs if s.shop == order.shop] or stubs
        timed = [s for s in stubs if s.started_at is not None]
        i = bisect_right([s.started_at for s in timed if s.started_at is not None], when)
        if i == 0:
            return self._miss("order", order, ORDERED_BEFORE_CHAT), None
        stub = timed[i - 1]
        assert stub.day is not None
        order_day = when.astimezone(get_tz(self.tz)).date()
        if (order_day - stub.day).days >= self.order_window_days:
            return self._miss("order", order, STALE_ORDER), None
        reason = "latest chat of this buyer before the order"
        link = Link("order", order.file, order.line, True, reason, stub.id, stub.agent)
        return link, stub

    def _miss(self, kind: str, row: Rating | Order | Refund | Review, reason: str) -> Link:
        return Link(kind, row.file, row.line, False, reason)

    # -- everything -------------------------------------------------------------------

    def join(
        self,
        ratings: Iterable[Rating] | None = None,
        orders: Iterable[Order] | None = None,
        refunds: Iterable[Refund] | None = None,
        reviews: Iterable[Review] | None = None,
        *,
        order_facts: Iterable[Order] = (),
    ) -> OutcomeResult:
        """Join the outcome streams (each read once, in this order) and summarise.

        ``None`` means the kind was not given: its KPIs are then ``None`` with
        the reason "no … file given", unlike an empty stream (rates over 0).
        *order_facts* are orders joined elsewhere (another partition) that
        still tell when their buyers ordered and paid, for the inquiries.
        """
        self._sort()
        given = frozenset(
            name
            for name, s in (
                ("ratings", ratings),
                ("orders", orders),
                ("refunds", refunds),
                ("reviews", reviews),
            )
            if s is not None
        )
        files: dict[tuple[str, str], JoinCounts] = {}
        links: list[Link] = []
        groups: dict[str, dict[Any, OutcomeCounts]] = {"agent": {}, "day": {}, "shop": {}}
        groups["agent_day"] = {}  # trends (#20)

        def count(link: Link) -> None:
            key = (link.kind, link.file)
            if key not in files:
                files[key] = JoinCounts(link.kind, link.file)
            files[key].add(link)
            if self.keep_links:
                links.append(link)

        def bump(stub: ChatStub, agent: str | None, **fields: int) -> None:
            for by, key in (
                ("agent", agent),
                ("day", _day(stub)),
                ("shop", stub.shop),
                ("agent_day", (agent, _day(stub))),  # trends (#20)
            ):
                counts = groups[by].setdefault(key, OutcomeCounts())
                for name, n in fields.items():
                    setattr(counts, name, getattr(counts, name) + n)

        for chat in self._stubs():
            for agent in chat.agents or (None,):
                counts = groups["agent"].setdefault(agent, OutcomeCounts())
                counts.conversations += 1
                groups["agent_day"].setdefault(
                    (agent, _day(chat)), OutcomeCounts()
                ).conversations += 1
            groups["day"].setdefault(_day(chat), OutcomeCounts()).conversations += 1
            groups["shop"].setdefault(chat.shop, OutcomeCounts()).conversations += 1

        # ratings: the latest of each conversation counts
        # (chat, agent) -> ((time, level), chat, agent, level, file, line): no Rating kept
        latest: dict[
            tuple[str, str | None],
            tuple[tuple[datetime, int], ChatStub, str | None, Satisfaction, str, int | None],
        ] = {}
        superseded: list[Link] = []
        for rating in ratings or ():
            link, stub = self.link_rating(rating)
            if stub is None:
                count(link)
                continue
            rank = (rating.when, int(rating.level))
            old = latest.get((stub.id, link.agent))
            if old is None or rank > old[0]:
                if old is not None and self.keep_links:
                    superseded.append(_superseded(old[4], old[5], stub, old[2]))
                latest[stub.id, link.agent] = (
                    rank,
                    stub,
                    link.agent,
                    rating.level,
                    rating.file,
                    rating.line,
                )
                count(link)
            else:
                count(attrs.evolve(link, counted=False, reason="superseded by a later rating"))
        flags: dict[str, frozenset[str]] = {}
        kept: dict[str, ChatStub] = {}
        flag_sets: dict[frozenset[str], frozenset[str]] = {}  # the few distinct sets, shared

        def flag(stub: ChatStub, *names: str) -> None:
            new = flags.get(stub.id, _NO_FLAGS).union(names)
            flags[stub.id] = flag_sets.setdefault(new, new)
            kept[stub.id] = stub

        for _, rated_chat, agent, level, _, _ in latest.values():
            flag(rated_chat, "rated")
            if level.satisfied:
                flag(rated_chat, "satisfied")
            if level.dissatisfied:
                flag(rated_chat, "dissatisfied")
            bump(
                rated_chat,
                agent,
                rated=1,
                satisfied=int(level.satisfied),
                dissatisfied=int(level.dissatisfied),
            )
        del latest
        if self.keep_links:  # a rating replaced after it was counted as the latest
            for old_link in superseded:
                for i, seen in enumerate(links):
                    if (seen.file, seen.line, seen.kind) == (
                        old_link.file,
                        old_link.line,
                        "rating",
                    ):
                        links[i] = old_link
                        break

        # orders (one entry per order id; a repeated id, e.g. one JD row per SKU, joins it)
        entries: dict[str, _OrderEntry] = {}
        paid_by_buyer: dict[str, list[datetime]] = {}
        first_order: dict[str, datetime] = {}
        for order in orders or ():
            entry = entries.get(order.order_id)
            if entry is not None:
                entry.paid = entry.paid or order.paid
                count(
                    Link(
                        "order",
                        order.file,
                        order.line,
                        True,
                        "another row of an order already read",
                        None if entry.stub is None else entry.stub.id,
                        None if entry.stub is None else entry.stub.agent,
                        counted=False,
                    )
                )
            else:
                order_link, order_chat = self.link_order(order)
                count(order_link)
                entries[order.order_id] = _OrderEntry(order.paid, order_chat)
            _order_fact(order, first_order, paid_by_buyer)
        for order in order_facts:
            _order_fact(order, first_order, paid_by_buyer)

        for kind, rows in (("refund", refunds), ("review", reviews)):
            for row in rows or ():
                entry = entries.get(row.order_id)
                if entry is None:
                    count(Link(kind, row.file, row.line, False, UNKNOWN_ORDER))
                    continue
                order_chat = entry.stub
                count(
                    Link(
                        kind,
                        row.file,
                        row.line,
                        True,
                        "order id",
                        None if order_chat is None else order_chat.id,
                        None if order_chat is None else order_chat.agent,
                    )
                )
                if isinstance(row, Refund):
                    if row.success:
                        entry.refunded = True
                        if row.intervened is None:
                            entry.cs_unknown = True
                        elif row.intervened:
                            entry.disputed = True
                else:
                    entry.reviews += 1
                    entry.bad += row.result == "bad"
        for entry in entries.values():
            if entry.stub is None:
                continue
            fields = {"reviews": entry.reviews, "bad_reviews": entry.bad}
            if entry.paid:
                flag(entry.stub, "ordered")
                if entry.refunded:
                    flag(entry.stub, "refunded")
                if entry.disputed:
                    flag(entry.stub, "disputed")
                fields |= {
                    "paid_orders": 1,
                    "refunded": int(entry.refunded),
                    "disputed": int(entry.disputed),
                    "refunds_without_cs": int(entry.refunded and entry.cs_unknown),
                }
            bump(entry.stub, entry.stub.agent, **fields)

        if orders is not None:
            self._inquiries(first_order, paid_by_buyer, bump)

        sums = DiagnosisSums()
        sums.add(
            (s.id, s.agents, flags[s.id], s.signals, s.topic, s.product_cues, s.service_cues)
            for s in kept.values()
        )
        summaries = {by: OutcomeSummary(by, g, given) for by, g in groups.items()}
        return OutcomeResult(
            tuple(files.values()),
            summaries["agent"],
            summaries["day"],
            summaries["shop"],
            tuple(links),
            flags if self.keep_flags else {},
            kept if self.keep_flags else {},
            sums=sums,
            by_agent_day=summaries["agent_day"],  # trends (#20)
        )

    def _inquiries(
        self,
        first_order: dict[str, datetime],
        paid_by_buyer: dict[str, list[datetime]],
        bump: Any,
    ) -> None:
        """Count inquiries (buyer, agent, day) and their conversions (same/next day, 4 days)."""
        tz = get_tz(self.tz)
        for buyer, stubs in self._by_buyer.items():
            first = first_order.get(buyer)
            paid = sorted(t.astimezone(tz) for t in paid_by_buyer.get(buyer, ()))
            seen: set[tuple[str, date]] = set()
            for stub in stubs:  # sorted by start: the first chat of a day decides
                if stub.started_at is None or stub.day is None or not stub.agents:
                    continue
                if first is not None and first < stub.started_at:
                    continue  # the buyer had ordered already: not an inquiry (after-sale)
                after = [t.date() for t in paid if t >= stub.started_at]
                gap = [(d - stub.day).days for d in after]
                for agent in stub.agents:
                    if (agent, stub.day) in seen:
                        continue
                    seen.add((agent, stub.day))
                    bump(
                        stub,
                        agent,
                        inquiries=1,
                        converted=int(any(g <= 1 for g in gap)),
                        converted_4d=int(any(g <= 3 for g in gap)),
                    )


def _order_fact(
    order: Order, first_order: dict[str, datetime], paid_by_buyer: dict[str, list[datetime]]
) -> None:
    """Note when *order*'s buyer first ordered and when they paid (for the inquiries)."""
    if order.buyer is None or order.when is None:
        return
    if order.buyer not in first_order or order.when < first_order[order.buyer]:
        first_order[order.buyer] = order.when
    if order.paid:
        paid_by_buyer.setdefault(order.buyer, []).append(order.paid_at or order.when)


def quoting_chat(quoting: Iterable[ChatStub], when: datetime | None) -> ChatStub:
    """Of the chats quoting an order id, the one it joins: latest before *when*, else earliest."""
    ordered = sorted(quoting, key=_stub_key)
    before = [s for s in ordered if when is not None and _le(s.started_at, when)]
    return before[-1] if before else ordered[0]


def _union(parts: Iterable[Mapping[str, frozenset[str]]]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for part in parts:
        for key, flags in part.items():
            out[key] = out.get(key, frozenset()) | flags
    return out


def _superseded(file: str, line: int | None, stub: ChatStub, agent: str | None) -> Link:
    return Link(
        "rating",
        file,
        line,
        True,
        "superseded by a later rating",
        stub.id,
        agent,
        counted=False,
    )


def _stub_key(stub: ChatStub) -> tuple[int, datetime, str]:
    if stub.started_at is None:
        return (0, datetime.min.replace(tzinfo=get_tz("UTC")), stub.id)
    return (1, stub.started_at, stub.id)


def _le(start: datetime | None, when: datetime) -> bool:
    return start is not None and start <= when


def _day(stub: ChatStub) -> str | None:
    return None if stub.day is None else stub.day.isoformat()
