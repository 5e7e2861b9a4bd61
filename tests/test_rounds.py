"""Specification of rounds: every fast path finds the rounds of the reference definition.

:func:`kefu_standards.testing.reference_rounds` is the readable definition of a
response-time round (who opened it, who answered, who is credited, which
session).  The library finds rounds on three faster routes, and each must agree
with it on any conversation:

- :func:`~kefu_standards.response_times` under a plain policy (one loop, no numpy);
- :func:`~kefu_standards.response_times` under any other policy (the array route);
- the array round finder for many conversations (``_timing_agg``: ``compute_rounds``
  and the lean per-agent/day/shop sums read the same openings and answers), directly
  and through :func:`~kefu_standards.summarize_response_times` per agent.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards._timing_agg import MISSING, compute_rounds, iter_columns
from kefu_standards.exceptions import ConfigError
from kefu_standards.testing import ReferenceRound, reference_rounds

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=timezone(timedelta(hours=8)))
SENDERS = ("小美", "小李", None)
SYSTEM_TEXTS = ("由 服务助手 转交给 小美", "小李 --> 小美", "系统提示：订单已发货")

#: Policies that change which rounds there are, and some that only act on them.
POLICIES = {
    "default": ks.TimingPolicy(),
    "holder": ks.TimingPolicy(credit="holder"),
    "bots answer": ks.TimingPolicy(bot_answers=True),
    "idle gap": ks.TimingPolicy(idle_gap_s=600),
    "holder, bots, idle gap": ks.TimingPolicy(credit="holder", bot_answers=True, idle_gap_s=600),
    "capped (array route)": ks.TimingPolicy(cap_s=600),
    "taobao": ks.TimingPolicy.preset("taobao"),
    "jd": ks.TimingPolicy.preset("jd"),
}

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def chats(draw: st.DrawFn, *, timed: bool | None = None) -> ks.Conversation:
    """Buyer, agent, bot and system turns (transfers too), times optional, never backwards."""
    n = draw(st.integers(0, 10))
    t = T0 + timedelta(seconds=draw(st.integers(0, 20 * 3600)))
    messages = []
    for _ in range(n):
        role = draw(st.sampled_from(["buyer", "buyer", "agent", "agent", "bot", "system"]))
        t += timedelta(seconds=draw(st.sampled_from([0, 1, 30, 200, 700, 4000])))
        has_time = draw(st.booleans()) if timed is None else timed
        text = draw(st.sampled_from(SYSTEM_TEXTS)) if role == "system" else "好的"
        sender = draw(st.sampled_from(SENDERS)) if role == "agent" else None
        messages.append(ks.Message(role, text, t if has_time else None, sender))
    return ks.Conversation("c", tuple(messages), shop="小店")


def _project(r: ks.Round) -> tuple[int, int | None, str | None, int, int]:
    return (r.opened_index, r.answered_index, r.agent, r.buyer_messages, r.session)


def _ref(r: ReferenceRound) -> tuple[int, int | None, str | None, int, int]:
    return (r.opened_index, r.answered_index, r.agent, r.buyer_messages, r.session)


CASES = {
    "empty": ([], "default", []),
    "answered": ([("buyer", None), ("agent", "小美")], "default", [(0, 0, 1, "小美", 1, 0)]),
    "two buyer lines, one round": (
        [("buyer", None), ("buyer", None), ("agent", "小美")],
        "default",
        [(0, 0, 2, "小美", 2, 0)],
    ),
    "bot does not answer": (
        [("buyer", None), ("bot", None)],
        "default",
        [(0, 0, None, None, 1, 0)],
    ),
    "bot answers when allowed": (
        [("buyer", None), ("bot", None)],
        "bots answer",
        [(0, 0, 1, None, 1, 0)],
    ),
    "agent first answers nothing": (
        [("agent", "小美"), ("buyer", None)],
        "default",
        [(1, 1, None, None, 1, 0)],
    ),
    "holder loses the round at a transfer": (
        [("agent", "小李"), ("buyer", None), ("system", None), ("agent", "小美")],
        "holder",
        [(1, 1, None, "小李", 1, 0), (1, 2, 3, "小美", 1, 0)],
    ),
    "holder keeps an unanswered round": (
        [("agent", "小李"), ("buyer", None)],
        "holder",
        [(1, 1, None, "小李", 1, 0)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_rounds_table(name: str) -> None:
    """Worked examples of the definition: (opened, start, answered, agent, buyers, session)."""
    turns, policy, expected = CASES[name]
    messages = tuple(
        ks.Message(role, SYSTEM_TEXTS[0] if role == "system" else "好的", None, sender)
        for role, sender in turns
    )
    got = reference_rounds(ks.Conversation("c", messages), POLICIES[policy])
    assert [
        (r.opened_index, r.start_index, r.answered_index, r.agent, r.buyer_messages, r.session)
        for r in got
    ] == expected


def test_idle_gap_starts_a_session() -> None:
    """A round opened more than idle_gap_s after the last activity is a new session."""
    conv = ks.Conversation(
        "c",
        (
            ks.Message("buyer", "在吗", T0),
            ks.Message("agent", "在的", T0 + timedelta(seconds=10), "小美"),
            ks.Message("buyer", "还在吗", T0 + timedelta(seconds=1000)),
        ),
    )
    assert [r.session for r in reference_rounds(conv, "jd")] == [0, 1]
    assert [r.session for r in reference_rounds(conv)] == [0, 0]


def test_reference_rounds_takes_a_conversation() -> None:
    """A wrong input type is a KefuError (ConfigError) naming what it takes."""
    with pytest.raises(ConfigError, match="takes a Conversation"):
        reference_rounds("在吗")  # type: ignore[arg-type]


@SETTINGS
@given(chats(), st.sampled_from(sorted(POLICIES)))
def test_response_times_finds_the_reference_rounds(conv: ks.Conversation, policy: str) -> None:
    """Both per-conversation routes find the reference rounds, with their start times."""
    p = POLICIES[policy]
    got = ks.response_times(conv, p).rounds
    ref = reference_rounds(conv, p)
    assert [_project(r) for r in got] == [_ref(r) for r in ref]
    for r, x in zip(got, ref, strict=True):
        assert r.opened_at == conv.messages[x.start_index].sent_at


@SETTINGS
@given(
    chats(timed=True), st.sampled_from(["default", "holder", "idle gap", "capped (array route)"])
)
def test_waits_are_the_reference_waits(conv: ks.Conversation, policy: str) -> None:
    """Without business hours a wait is the real elapsed time from the clock's start."""
    p = POLICIES[policy]
    for r, x in zip(ks.response_times(conv, p).rounds, reference_rounds(conv, p), strict=True):
        wait = x.wait_us(conv)
        assert r.wait_s == (None if wait is None else wait / 1e6)


@SETTINGS
@given(
    st.lists(chats(timed=True), max_size=5),
    st.sampled_from(["default", "holder", "bots answer", "idle gap", "holder, bots, idle gap"]),
)
def test_per_agent_tables_count_the_reference_rounds(
    convs: list[ks.Conversation], policy: str
) -> None:
    """The per-agent table (array routes) counts the reference rounds and answers per agent.

    (Tables read timed conversations: an untimed one has no day to be counted on.)
    """
    p = POLICIES[policy]
    rounds: Counter[str | None] = Counter()
    answered: Counter[str | None] = Counter()
    for conv in convs:
        for x in reference_rounds(conv, p):
            rounds[x.agent] += 1
            answered[x.agent] += x.answered_index is not None
    table = ks.summarize_response_times(convs, by=("agent",), policy=p).rows()
    assert {row["agent"]: row["rounds"] for row in table} == dict(rounds)
    assert {row["agent"]: row["answered"] for row in table} == {k: answered[k] for k in rounds}


@SETTINGS
@given(
    st.lists(chats(), max_size=5),
    st.sampled_from(sorted(POLICIES)),
    st.integers(1, 40),
)
def test_the_array_round_finder_finds_the_reference_rounds(
    convs: list[ks.Conversation], policy: str, chunk: int
) -> None:
    """The array route (``compute_rounds`` over chunks of many conversations, the round
    finder the per-agent/day/shop tables also read) finds the reference rounds: opening,
    clock start, answer, credited agent, buyer messages and session."""
    p = POLICIES[policy]
    convs = [ks.Conversation(f"c{k}", c.messages, shop=c.shop) for k, c in enumerate(convs)]
    want = []
    for conv in convs:
        for x in reference_rounds(conv, p):
            start = conv.messages[x.start_index].sent_at
            want.append((*_ref(x), None if start is None else start.timestamp()))
    got = []
    for cols in iter_columns(convs, chunk_messages=chunk):
        r = compute_rounds(cols, p)
        for i in range(len(r.conv)):
            agent = int(r.agent[i])
            opened = int(r.open_us[i])
            got.append(
                (
                    int(r.opened_index[i]),
                    int(r.answered_index[i]) if r.answered[i] else None,
                    None if agent < 0 else cols.senders[agent],
                    int(r.buyer_messages[i]),
                    int(r.session[i]),
                    None if opened == MISSING else opened / 1e6,
                )
            )
    assert got == want


# -- escalation's waits ------------------------------------------------------------------

#: Buyer texts: questions, a card, an order number, a picture, an emoticon, a bare "？".
ESC_BUYER_TEXTS = ("快递怎么还没到啊", "在吗", "订单号：123456789012", "[图片]", "😀", "？")
#: Agent texts: replies with content, and a sticker / an emoticon (no content).
ESC_AGENT_TEXTS = ("您好，已为您查询", "好的", "[表情]", "😀")


@st.composite
def escalation_chats(draw: st.DrawFn) -> ks.Conversation:
    """Timed buyer/agent/bot/system turns, some with no content (cards, pictures, stickers)."""
    n = draw(st.integers(0, 12))
    t = T0
    messages = []
    for _ in range(n):
        role = draw(st.sampled_from(["buyer", "buyer", "agent", "agent", "bot", "system"]))
        t += timedelta(seconds=draw(st.sampled_from([0, 1, 30, 200, 700, 4000])))
        if role == "buyer":
            text = draw(st.sampled_from(ESC_BUYER_TEXTS))
        elif role == "agent":
            text = draw(st.sampled_from(ESC_AGENT_TEXTS))
        else:
            text = draw(st.sampled_from(SYSTEM_TEXTS)) if role == "system" else "您好"
        messages.append(ks.Message(role, text, t, "小美" if role == "agent" else None))
    return ks.Conversation("c", tuple(messages), shop="小店")


def _turn_reference(conv: ks.Conversation) -> tuple[list[int], tuple[ReferenceRound, ...]]:
    """The turns' indexes and the reference rounds of the conversation of the turns only."""
    from kefu_standards._escalation_walk import _is_turn

    turns = [i for i, m in enumerate(conv.messages) if _is_turn(m)]
    sub = ks.Conversation("c", tuple(conv.messages[i] for i in turns))
    return turns, reference_rounds(sub, ks.TimingPolicy(credit="answerer"))


@pytest.mark.parametrize(
    ("lines", "openers", "answers"),
    [
        # a card, a picture and an order number open no round: the question does
        ((("buyer", "订单号：123456789012"), ("buyer", "[图片]"), ("buyer", "在吗")), {2}, {}),
        # a sticker answers nothing: the reply with content does
        ((("buyer", "在吗"), ("agent", "[表情]"), ("agent", "好的")), {0}, {2: 0}),
        # a bot never answers; a buyer message after the answer opens the next round
        ((("buyer", "在吗"), ("bot", "您好"), ("agent", "好的"), ("buyer", "？")), {0, 3}, {2: 0}),
    ],
)
def test_escalation_rounds_table(
    lines: tuple[tuple[str, str], ...], openers: set[int], answers: dict[int, int]
) -> None:
    """Escalation's rounds: opened by a buyer turn with content or cues, answered by content."""
    from kefu_standards._escalation_walk import _turn_rounds

    conv = ks.Conversation("c", tuple(ks.Message(r, t) for r, t in lines))
    assert _turn_rounds(conv.messages) == (frozenset(openers), answers)


@SETTINGS
@given(escalation_chats())
def test_escalation_rounds_are_the_reference_rounds_of_its_turns(conv: ks.Conversation) -> None:
    """Escalation's rounds are ``reference_rounds`` over its turns (buyer turns with content
    or cues, agent turns with content), mapped back to the conversation's indexes."""
    from kefu_standards._escalation_walk import _turn_rounds

    turns, ref = _turn_reference(conv)
    openers, answers = _turn_rounds(conv.messages)
    assert openers == {turns[r.opened_index] for r in ref}
    assert answers == {
        turns[r.answered_index]: turns[r.opened_index] for r in ref if r.answered_index is not None
    }


@SETTINGS
@given(escalation_chats())
def test_escalation_charges_the_reference_waits(conv: ks.Conversation) -> None:
    """A reply after a long wait is charged exactly at the answers of the reference rounds
    (of the turns) that waited at least ``EscalationPolicy.long_wait_s``, with that wait."""
    from kefu_standards._escalation import EscalationPolicy
    from kefu_standards._escalation_model import _default_model
    from kefu_standards._escalation_walk import walk_messages

    policy = EscalationPolicy()
    turns, ref = _turn_reference(conv)
    sub = ks.Conversation("c", tuple(conv.messages[i] for i in turns))
    expected = {}
    for r in ref:
        wait = r.wait_us(sub)
        if wait is not None and wait >= policy.long_wait_s * 1_000_000:
            expected[turns[r.answered_index or 0]] = f"reply after {wait // 1_000_000} s"
    _, _, events = walk_messages(
        conv.messages, policy=policy, sentiment=None, politeness=None, model=_default_model()
    )
    charged = {
        e.index: e.evidence[0].rule
        for e in events
        if e.kind == "waiting" and e.evidence[0].rule.startswith("reply after")
    }
    assert charged == expected
