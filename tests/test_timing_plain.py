"""response_times: the plain route (no numpy, one conversation) equals the array route."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import gap_chat
from kefu_standards.model import Conversation, Message, Role
from kefu_standards.timing import (
    TimingPolicy,
    _plain_policy,
    _plain_response_times,
    _vectorised_response_times,
    response_times,
)

# -- response times under the default policy, without numpy ---------------------------

_ROLES = ("buyer", "agent", "bot", "system")
_SYSTEM_TEXTS = ("由 服务助手 转交给 小美", "A --> B", "系统提示", "")


def _timed_chat(turns: list[tuple[str, str, float | None, str | None]]) -> Conversation:
    return gap_chat(turns, id="timing")


_TIMING_CASES = {
    "empty": [],
    "buyer only": [("buyer", "在吗", 0, "b")],
    "agent only": [("agent", "您好", 0, "a1")],
    "answered fast and slow": [
        ("buyer", "在吗", 0, "b"),
        ("agent", "在的", 20.5, "a1"),
        ("buyer", "发货了吗", 40, "b"),
        ("buyer", "？", 6, "b"),
        ("agent", "已发货", 400.000123, "a1"),
    ],
    "left unanswered": [("agent", "您好", 0, "a1"), ("buyer", "退款呢", 30, "b")],
    "transfer and second agent": [
        ("buyer", "查一下物流", 0, "b"),
        ("system", "由 服务助手 转交给 小美", 5, None),
        ("agent", "稍等", 50, "a2"),
        ("buyer", "好", 10, "b"),
        ("agent", "好的", 1, "a1"),
    ],
    "bot does not answer": [("buyer", "在吗", 0, "b"), ("bot", "自动回复", 1, None)],
    "untimed agent": [("buyer", "在吗", 0, "b"), ("agent", "在的", None, "a1")],
    "untimed system only": [
        ("buyer", "在吗", 0, "b"),
        ("system", "系统提示", None, None),
        ("agent", "在的", 3, None),
    ],
    "no times at all": [("buyer", "在吗", None, "b"), ("agent", "在的", None, "a1")],
}


@pytest.mark.parametrize("name", list(_TIMING_CASES))
def test_plain_route_equals_the_array_route(name: str) -> None:
    conv = _timed_chat(_TIMING_CASES[name])
    policy = TimingPolicy()
    assert _plain_policy(policy)
    assert _plain_response_times(conv, policy) == _vectorised_response_times(conv, policy)


_TURN = st.tuples(
    st.sampled_from(_ROLES),
    st.sampled_from(["在吗", "好的", "发货了吗", "稍等", *_SYSTEM_TEXTS]),
    st.one_of(st.none(), st.floats(0, 2000, allow_nan=False), st.sampled_from([0.0, 180.0])),
    st.sampled_from([None, "b", "a1", "a2"]),
)


_PLAIN_POLICIES = st.builds(
    TimingPolicy,
    sla_s=st.sampled_from([30.0, 180.0]),
    idle_gap_s=st.sampled_from([None, 60.0, 600.0]),
    credit=st.sampled_from(["answerer", "holder"]),
    bot_answers=st.booleans(),
    tz=st.sampled_from(["Asia/Shanghai", "America/New_York"]),
)


@given(st.lists(_TURN, max_size=12), _PLAIN_POLICIES)
def test_plain_route_equals_the_array_route_on_any_chat(
    turns: list[tuple[str, str, float | None, str | None]], policy: TimingPolicy
) -> None:
    conv = _timed_chat(turns)
    assert _plain_policy(policy)
    assert _plain_response_times(conv, policy) == _vectorised_response_times(conv, policy)
    assert response_times(conv, policy) == _plain_response_times(conv, policy)


def test_plain_response_times_on_the_bundled_examples() -> None:
    from kefu_standards.io import read_conversations
    from kefu_standards.resources import data_file

    for conv in read_conversations(data_file("examples/conversations.jsonl")):
        plain = _plain_response_times(conv, TimingPolicy())
        assert plain == _vectorised_response_times(conv, TimingPolicy()), conv.id


@pytest.mark.parametrize(
    "policy",
    [
        TimingPolicy(cap_s=600),
        TimingPolicy(window="08:00-23:00"),
        TimingPolicy(zero_waits="exclude"),
        TimingPolicy(sla_scope="first"),
    ],
)
def test_other_policies_take_the_array_route(policy: TimingPolicy) -> None:
    assert not _plain_policy(policy)


# -- the plain route builds the very same rounds (times, zones, folds) ---------------


def _rounds_repr(conv: Conversation, policy: TimingPolicy) -> tuple[str, str]:
    """``repr`` of both routes' results: equal instants in another zone would differ."""
    return repr(_plain_response_times(conv, policy)), repr(_vectorised_response_times(conv, policy))


@given(st.lists(_TURN, max_size=12), _PLAIN_POLICIES)
def test_plain_route_rounds_have_the_same_repr(
    turns: list[tuple[str, str, float | None, str | None]], policy: TimingPolicy
) -> None:
    plain, array = _rounds_repr(_timed_chat(turns), policy)
    assert plain == array


_NEW_YORK_TIMES = [
    # (naive wall time, fold): ordinary, the spring-forward gap, both sides of the
    # autumn repeat; messages already in the policy's zone keep or re-derive their fold
    (datetime(2024, 3, 10, 1, 59), 0),
    (datetime(2024, 3, 10, 2, 30), 0),  # does not exist in New York
    (datetime(2024, 11, 3, 1, 30), 0),
    (datetime(2024, 11, 3, 1, 30), 1),
    (datetime(2024, 11, 3, 1, 45), 0),
]


@pytest.mark.parametrize("k", range(len(_NEW_YORK_TIMES) - 1))
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai"])
def test_plain_route_with_messages_in_the_policy_zone(k: int, zone: str) -> None:
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    (t0, f0), (t1, f1) = _NEW_YORK_TIMES[k], _NEW_YORK_TIMES[k + 1]
    a = t0.replace(tzinfo=ny, fold=f0)
    b = t1.replace(tzinfo=ny, fold=f1)
    if b.timestamp() < a.timestamp():  # in real time: a conversation is ordered by it
        a, b = b, a
    conv = Conversation(
        id="dst",
        messages=(
            Message(Role.BUYER, "在吗", a, "b"),
            Message(Role.AGENT, "在的", b, "a1"),
        ),
    )
    plain, array = _rounds_repr(conv, TimingPolicy(tz=zone))
    assert plain == array
