"""Specification of response-time statistics (kefu_standards.timing), issue #3."""

from __future__ import annotations

import itertools
import json
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards import _quantiles, _timing_policy
from kefu_standards._time import elapsed
from kefu_standards._timing_agg import compute_rounds
from kefu_standards.exceptions import (
    BadTimestampError,
    ConfigError,
    MessageOrderError,
    UnknownNameError,
)
from kefu_standards.timing import (
    BusinessHours,
    ResponseTimes,
    TimingPolicy,
    TimingSummary,
    iter_columns,
    response_times,
    summarize_response_times,
)

SH = ZoneInfo("Asia/Shanghai")
FIXTURES = Path(__file__).parent / "fixtures" / "timing"
MONDAY = datetime(2024, 5, 6, 7, 0, tzinfo=SH)  # an ordinary Monday (not a holiday)


def conv(*msgs: tuple[Any, ...], shop: str | None = None, cid: str = "c") -> ks.Conversation:
    """Build a conversation from (role, seconds after MONDAY 07:00[, sender[, text]])."""
    out = []
    for m in msgs:
        role, sec = m[0], m[1]
        sender = m[2] if len(m) > 2 else None
        text = m[3] if len(m) > 3 else "x"
        sent = None if sec is None else MONDAY + timedelta(seconds=sec)
        out.append(ks.Message(role=role, text=text, sent_at=sent, sender=sender))
    return ks.Conversation(id=cid, messages=tuple(out), shop=shop)


def load_examples() -> list[dict[str, Any]]:
    with (FIXTURES / "worked_examples.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------
class TestWorkedExamples:
    """DOMAIN.md §1 worked examples, from tests/fixtures/timing/worked_examples.jsonl."""

    @pytest.mark.parametrize("case", load_examples(), ids=lambda c: c["id"])
    def test_example(self, case: dict[str, Any]) -> None:
        """Each documented example gives the documented numbers."""
        c = ks.Conversation.from_records(case["messages"], id=case["id"])
        t = response_times(c, case["policy"])
        for key, expected in case["expect"].items():
            if key == "agents":
                assert expected == [r.agent for r in t.rounds]
            elif key == "waits":
                assert expected == [r.wait_s for r in t.rounds]
            elif key == "in_window":
                assert expected == [r.in_window for r in t.rounds]
            elif isinstance(expected, float):
                assert getattr(t, key) == pytest.approx(expected, abs=1e-6), key
            else:
                assert expected == getattr(t, key), key

    def test_three_minute_examples_give_0_of_1_and_1_of_2(self) -> None:
        """The 三分钟响应率 examples: 0/1, then 1/2 (clock from the first buyer message)."""
        ex = {c["id"]: c for c in load_examples()}
        one = response_times(ks.Conversation.from_records(ex["tb-3min-1"]["messages"], id="1"))
        two = response_times(ks.Conversation.from_records(ex["tb-3min-2"]["messages"], id="2"))
        assert (round(one.within_sla_rate * one.n_rounds), one.n_rounds) == (0, 1)  # type: ignore[operator]
        assert (round(two.within_sla_rate * two.n_rounds), two.n_rounds) == (1, 2)  # type: ignore[operator]


# ---------------------------------------------------------------------------
class TestRoundDefinition:
    """Rounds: opened by buyers, answered by the first later agent message."""

    @pytest.mark.parametrize(
        ("msgs", "expected"),
        [
            # (opened_index, answered_index, wait_s)
            ([("buyer", 0), ("agent", 30, "a")], [(0, 1, 30.0)]),
            ([("buyer", 0), ("buyer", 10), ("agent", 30, "a")], [(0, 2, 30.0)]),
            ([("agent", 0, "a"), ("buyer", 10), ("agent", 20, "a")], [(1, 2, 10.0)]),
            ([("buyer", 0), ("agent", 5, "a"), ("agent", 9, "a")], [(0, 1, 5.0)]),
            ([("buyer", 0), ("bot", 1, "bot"), ("agent", 40, "a")], [(0, 2, 40.0)]),
            ([("bot", 0, "bot"), ("buyer", 3)], [(1, None, None)]),
            ([("buyer", 0), ("system", 2, None, "已转接"), ("agent", 7, "a")], [(0, 2, 7.0)]),
            (
                [("buyer", 0), ("agent", 5, "a"), ("buyer", 60), ("agent", 60, "a")],
                [(0, 1, 5.0), (2, 3, 0.0)],
            ),
            ([("buyer", 0), ("agent", 5, "a"), ("buyer", 9)], [(0, 1, 5.0), (2, None, None)]),
            ([("agent", 0, "a"), ("bot", 1, "bot")], []),
        ],
        ids=[
            "simple",
            "two-buyer-messages-one-round",
            "agent-without-open-round-answers-nothing",
            "second-agent-message-answers-nothing",
            "bot-does-not-answer",
            "bot-does-not-open",
            "system-neither-opens-nor-answers",
            "zero-second-reply-kept",
            "open-at-end-is-unanswered",
            "no-buyer-no-round",
        ],
    )
    def test_rounds(self, msgs: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
        """The default policy finds exactly these rounds."""
        t = response_times(conv(*msgs))
        assert expected == [(r.opened_index, r.answered_index, r.wait_s) for r in t.rounds]

    def test_fields_of_a_plain_conversation(self) -> None:
        """All documented fields for one conversation with one unanswered round."""
        t = response_times(
            conv(
                ("buyer", 0),
                ("agent", 60, "a"),
                ("buyer", 100),
                ("buyer", 110),
                ("agent", 400, "b"),
                ("buyer", 500),
            )
        )
        assert (t.first_response_s, t.mean_response_s) == (60.0, 60.0 * 0 + (60 + 300) / 2)
        assert (t.n_rounds, t.n_answered, t.n_unanswered, t.n_sessions) == (3, 2, 1, 1)
        assert t.reply_rate == pytest.approx(2 / 3)
        assert t.within_sla_rate == pytest.approx(1 / 3)  # 300 s > 180 s, unanswered missed
        assert t.duration_s == 500.0
        assert [r.agent for r in t.rounds] == ["a", "b", None]
        assert [r.buyer_messages for r in t.rounds] == [1, 2, 1]

    def test_bot_replies_count_when_asked(self) -> None:
        """bot_answers=True lets a bot answer (Taobao 智能辅助), never open."""
        c = conv(("buyer", 0), ("bot", 2, "店小蜜"), ("agent", 90, "a"))
        t = response_times(c, TimingPolicy(bot_answers=True))
        assert [(r.opened_index, r.answered_index, r.wait_s, r.agent) for r in t.rounds] == [
            (0, 1, 2.0, "店小蜜")
        ]

    def test_no_round_means_none_not_zero(self) -> None:
        """A conversation without buyer messages has undefined metrics, with a reason."""
        t = response_times(conv(("agent", 0, "a")))
        assert (
            t.first_response_s,
            t.mean_response_s,
            t.reply_rate,
            t.within_sla_rate,
        ) == (None, None, None, None)
        assert t.undefined_reason is not None
        assert t.n_rounds == 0

    def test_unanswered_only_gives_none_waits(self) -> None:
        """Unanswered rounds never become a 0 wait."""
        t = response_times(conv(("buyer", 0), ("buyer", 10)))
        assert (
            t.first_response_s,
            t.mean_response_s,
            t.reply_rate,
            t.within_sla_rate,
        ) == (None, None, 0.0, 0.0)

    def test_untimed_messages_make_waits_undefined(self) -> None:
        """Without timestamps, waits are None with a reason; the reply rate is still known."""
        t = response_times(conv(("buyer", None), ("agent", None, "a"), ("buyer", None)))
        assert (t.first_response_s, t.mean_response_s, t.within_sla_rate) == (None, None, None)
        assert t.reply_rate == 0.5
        assert "timestamp" in (t.undefined_reason or "")

    def test_zero_second_replies_can_be_excluded(self) -> None:
        """zero_waits='exclude' leaves 0-second replies out (Taobao 2022-07 text)."""
        c = conv(("buyer", 0), ("agent", 0, "a"), ("buyer", 10), ("agent", 40, "a"))
        t = response_times(c, TimingPolicy(zero_waits="exclude"))
        assert (t.n_rounds, t.mean_response_s) == (1, 30.0)
        assert [r.counted for r in t.rounds] == [False, True]


class TestCredit:
    """Per-agent credit and transfers."""

    def test_answerer_credit_by_default(self) -> None:
        """A transfer (change of agent sender) credits the agent who answered."""
        c = conv(("buyer", 0), ("agent", 10, "a"), ("buyer", 20), ("agent", 80, "b"))
        t = response_times(c)
        assert [(r.agent, r.wait_s) for r in t.rounds] == [("a", 10.0), ("b", 60.0)]

    def test_holder_credit_charges_the_holder(self) -> None:
        """credit='holder': the holder gets an unanswered round, the answerer its own."""
        c = conv(("buyer", 0), ("agent", 10, "a"), ("buyer", 20), ("agent", 80, "b"))
        t = response_times(c, TimingPolicy(credit="holder"))
        assert [(r.agent, r.wait_s) for r in t.rounds] == [("a", 10.0), ("a", None), ("b", 60.0)]
        assert (t.n_rounds, t.n_unanswered) == (3, 1)

    def test_holder_round_starts_at_the_transfer_line(self) -> None:
        """The new agent's clock starts at the system transfer line, if there is one."""
        c = conv(
            ("buyer", 0),
            ("agent", 10, "a"),
            ("buyer", 20),
            ("system", 50, None, "由 服务助手 转交给 b"),
            ("agent", 80, "b"),
        )
        t = response_times(c, TimingPolicy(credit="holder"))
        assert [r.wait_s for r in t.rounds] == [10.0, None, 30.0]

    def test_unanswered_at_end_is_charged_to_holder(self) -> None:
        """An open round at the end belongs to the agent holding the buyer."""
        c = conv(("buyer", 0), ("agent", 10, "a"), ("buyer", 20))
        assert [r.agent for r in response_times(c, "taobao").rounds] == ["a", "a"]
        assert [r.agent for r in response_times(c).rounds] == ["a", None]


class TestCapWindowSessions:
    """Cap, assessment window, sessions."""

    def test_cap_applies_to_mean_not_to_round_wait(self) -> None:
        """Round.wait_s is the raw wait; the mean uses the capped wait."""
        t = response_times(conv(("buyer", 0), ("agent", 1000, "a")), TimingPolicy(cap_s=600))
        assert (
            t.rounds[0].wait_s,
            t.mean_response_s,
            t.first_response_s,
        ) == (1000.0, 600.0, 1000.0)

    def test_unanswered_as_cap(self) -> None:
        """unanswered='cap' counts an unanswered round as cap_s in the mean."""
        p = TimingPolicy(cap_s=600, unanswered="cap")
        t = response_times(conv(("buyer", 0), ("agent", 100, "a"), ("buyer", 200)), p)
        assert t.mean_response_s == 350.0

    def test_idle_gap_splits_sessions_but_never_a_pending_round(self) -> None:
        """A pending buyer message keeps the session open across a long gap."""
        c = conv(("buyer", 0), ("agent", 10, "a"), ("buyer", 2000), ("agent", 5000, "a"))
        t = response_times(c, TimingPolicy(idle_gap_s=600))
        assert [r.session for r in t.rounds] == [0, 1]
        c2 = conv(("buyer", 0), ("buyer", 2000), ("agent", 5000, "a"))
        t2 = response_times(c2, TimingPolicy(idle_gap_s=600))
        assert (t2.n_sessions, t2.first_response_s) == (1, 5000.0)

    def test_window_by_session(self) -> None:
        """JD: rounds count by the session's start, so a session from 08:56 is out entirely."""
        c = conv(("buyer", 6960), ("agent", 7260, "a"), ("buyer", 7300), ("agent", 7310, "a"))
        by_round = response_times(c, TimingPolicy(window="09:00-23:00"))
        by_session = response_times(c, TimingPolicy(window="09:00-23:00", window_by="session"))
        assert (by_round.n_rounds, by_session.n_rounds) == (1, 0)


class TestBusinessHours:
    """Waits counted in business time."""

    HOURS = BusinessHours(("09:00-12:00", "13:00-18:00"), weekdays=range(5))

    @pytest.mark.parametrize(
        ("ask", "reply", "expected_s"),
        [
            ("2024-05-06 10:00", "2024-05-06 10:05", 300),
            ("2024-05-06 11:55", "2024-05-06 13:05", 600),  # lunch break not counted
            ("2024-05-06 07:00", "2024-05-06 09:10", 600),  # asked before opening
            ("2024-05-06 17:58", "2024-05-07 09:02", 240),  # overnight
            ("2024-05-10 17:59", "2024-05-13 09:01", 120),  # Friday -> Monday
            ("2024-05-11 10:00", "2024-05-11 11:00", 0),  # Saturday: closed
        ],
    )
    def test_business_waits(self, ask: str, reply: str, expected_s: int) -> None:
        """Several intervals per day and a weekday mask."""
        c = ks.Conversation.from_records(
            [
                {"role": "buyer", "text": "?", "time": ask},
                {"role": "agent", "text": "!", "time": reply, "sender": "a"},
            ],
            id="b",
        )
        t = response_times(c, TimingPolicy(business_hours=self.HOURS))
        assert float(expected_s) == t.rounds[0].wait_s

    @pytest.mark.parametrize(
        ("ask", "reply", "expected_s"),
        [
            # 2024-10-01..07 National Day: closed even on a weekday
            ("2024-09-30 17:00", "2024-10-08 10:00", 3600 + 3600),
            # 2024-10-12 is a 调休 make-up Saturday: open
            ("2024-10-12 10:00", "2024-10-12 10:30", 1800),
        ],
    )
    def test_chinese_holidays_and_make_up_days(self, ask: str, reply: str, expected_s: int) -> None:
        """calendar='cn' closes public holidays and opens 调休 make-up days."""
        pytest.importorskip("chinese_calendar")
        hours = BusinessHours("09:00-18:00", weekdays=range(5), calendar="cn")
        c = ks.Conversation.from_records(
            [
                {"role": "buyer", "text": "?", "time": ask},
                {"role": "agent", "text": "!", "time": reply, "sender": "a"},
            ],
            id="h",
        )
        assert (
            float(expected_s)
            == response_times(c, TimingPolicy(business_hours=hours)).rounds[0].wait_s
        )

    def test_explicit_holidays_and_workdays_win(self) -> None:
        """holidays= closes a date, workdays= opens one."""
        hours = BusinessHours(
            "09:00-18:00", weekdays=range(5), holidays=["2024-05-07"], workdays=["2024-05-11"]
        )
        c = ks.Conversation.from_records(
            [
                {"role": "buyer", "text": "?", "time": "2024-05-06 17:00"},
                {"role": "agent", "text": "!", "time": "2024-05-08 10:00", "sender": "a"},
                {"role": "buyer", "text": "?", "time": "2024-05-11 10:00"},
                {"role": "agent", "text": "!", "time": "2024-05-11 10:10", "sender": "a"},
            ],
            id="h",
        )
        t = response_times(c, TimingPolicy(business_hours=hours))
        assert [r.wait_s for r in t.rounds] == [7200.0, 600.0]

    def test_missing_calendar_package_says_how_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Asking for calendar='cn' without chinese-calendar explains the extra to install."""

        monkeypatch.setattr(_timing_policy, "find_spec", lambda name: None)
        with pytest.raises(ConfigError, match=r"pip install kefu-standards\[calendar\]"):
            BusinessHours("09:00-18:00", calendar="cn")


class TestPolicyValidation:
    """Policies are validated when built; messages say what is valid."""

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"sla_s": 0}, "sla_s must be a positive number"),
            ({"sla_s": -3}, "sla_s must be a positive number"),
            ({"cap_s": "600"}, "cap_s must be a positive number of seconds or None"),
            ({"unanswered": "zero"}, "unanswered must be one of 'exclude', 'cap'"),
            ({"unanswered": "cap"}, "needs cap_s"),
            ({"window": "23:00-08:00"}, "must start before it ends"),
            ({"window": "8点到23点"}, "HH:MM-HH:MM"),
            ({"window": "08:00-25:00"}, "bad clock time"),
            ({"window_by": "day"}, "window_by must be one of"),
            ({"tz": "Mars/Olympus"}, "unknown time zone"),
            ({"idle_gap_s": 0}, "idle_gap_s must be a positive number"),
            ({"sla_scope": "all"}, "sla_scope must be one of 'rounds', 'first'"),
            ({"credit": "team"}, "credit must be one of 'answerer', 'holder'"),
            ({"zero_waits": "drop"}, "zero_waits must be one of 'keep', 'exclude'"),
            ({"business_hours": ("09:00-12:00", "11:00-13:00")}, "overlap"),
            ({"business_hours": 5}, "business_hours must be"),
        ],
    )
    def test_invalid(self, kwargs: dict[str, Any], message: str) -> None:
        """Each invalid value raises ConfigError naming what is valid."""
        with pytest.raises(ConfigError, match=message):
            TimingPolicy(**kwargs)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"intervals": ()}, "at least one interval"),
            ({"intervals": "09:00-18:00", "weekdays": [7]}, "0 \\(Monday\\) .. 6 \\(Sunday\\)"),
            ({"intervals": "09:00-18:00", "calendar": "us"}, "'none' or 'cn'"),
            ({"intervals": "09:00-18:00", "holidays": ["May 1"]}, "YYYY-MM-DD"),
        ],
    )
    def test_invalid_business_hours(self, kwargs: dict[str, Any], message: str) -> None:
        """BusinessHours validates intervals, weekdays, calendar and dates."""
        with pytest.raises(ConfigError, match=message):
            BusinessHours(**kwargs)

    def test_unknown_preset_lists_names(self) -> None:
        """UnknownNameError lists every preset."""
        with pytest.raises(UnknownNameError, match="'default', 'taobao', 'jd'"):
            TimingPolicy.preset("pdd")

    @pytest.mark.parametrize(
        ("name", "fields"),
        [
            ("default", {"sla_s": 180.0, "cap_s": None, "window": None}),
            (
                "taobao",
                {"sla_s": 180.0, "cap_s": 600.0, "window": "08:00-23:00", "credit": "holder"},
            ),
            (
                "jd",
                {
                    "sla_s": 30.0,
                    "window": "09:00-23:00",
                    "window_by": "session",
                    "idle_gap_s": 600.0,
                    "sla_scope": "first",
                },
            ),
        ],
    )
    def test_presets(self, name: str, fields: dict[str, Any]) -> None:
        """Presets carry the documented values."""
        p = TimingPolicy.preset(name)
        assert fields == {k: getattr(p, k) for k in fields}
        assert p == TimingPolicy.preset(name)

    def test_intervals_are_normalised(self) -> None:
        """Equivalent spellings make equal policies."""
        from datetime import time

        assert TimingPolicy(window=("8:00", "23:00")) == TimingPolicy(window=(time(8), time(23)))
        assert TimingPolicy(window="08:00-23:00").window == "08:00-23:00"


# ---------------------------------------------------------------------------
# Hypothesis


@st.composite
def conversations(draw: st.DrawFn, timed: bool = True) -> ks.Conversation:
    n = draw(st.integers(0, 14))
    t = draw(st.integers(0, 20 * 3600))
    msgs = []
    for _ in range(n):
        role = draw(st.sampled_from(["buyer", "buyer", "agent", "agent", "bot", "system"]))
        t += draw(st.sampled_from([0, 1, 5, 30, 179, 180, 181, 400, 900, 4000, 30000]))
        sender = None
        text = "x"
        if role == "agent":
            sender = draw(st.sampled_from(["a", "b", "c", None]))
        elif role == "bot":
            sender = "bot"
        elif role == "system":
            text = draw(st.sampled_from(["卡片", "由 服务助手 转交给 b"]))
        msgs.append((role, t, sender, text))
    shop = draw(st.sampled_from([None, "s1", "s2"]))
    return conv(*msgs, shop=shop, cid=str(draw(st.integers(0, 10**6))))


policies = st.builds(
    TimingPolicy,
    sla_s=st.sampled_from([30.0, 180.0]),
    cap_s=st.sampled_from([None, 600.0]),
    window=st.sampled_from([None, "08:00-23:00"]),
    window_by=st.sampled_from(["round", "session"]),
    business_hours=st.sampled_from(
        [None, BusinessHours(("09:00-12:00", "13:00-18:00"), weekdays=range(5))]
    ),
    idle_gap_s=st.sampled_from([None, 600.0]),
    sla_scope=st.sampled_from(["rounds", "first"]),
    bot_answers=st.booleans(),
    credit=st.sampled_from(["answerer", "holder"]),
    zero_waits=st.sampled_from(["keep", "exclude"]),
)


def essence(t: ResponseTimes) -> tuple[Any, ...]:
    """Everything but message indices (which move when a message is inserted)."""
    return (
        t.first_response_s,
        t.mean_response_s,
        t.reply_rate,
        t.within_sla_rate,
        t.n_rounds,
        t.n_answered,
        t.n_unanswered,
        t.n_sessions,
        tuple((r.wait_s, r.agent, r.buyer_messages, r.counted) for r in t.rounds),
    )


def shift(c: ks.Conversation, delta: timedelta) -> ks.Conversation:
    msgs = tuple(
        m if m.sent_at is None else ks.Message(m.role, m.text, m.sent_at + delta, m.sender)
        for m in c.messages
    )
    return c.evolve(messages=msgs)


class TestProperties:
    """Invariants that must hold for every conversation."""

    @given(conversations(), st.integers(-(10**9), 10**9))
    def test_shifting_every_timestamp_keeps_waits(self, c: ks.Conversation, seconds: int) -> None:
        """Under the default policy a time shift changes nothing."""
        assert essence(response_times(c)) == essence(
            response_times(shift(c, timedelta(seconds=seconds)))
        )

    @given(conversations(), policies, st.integers(-50, 50))
    def test_shifting_by_whole_weeks_keeps_everything(
        self, c: ks.Conversation, p: TimingPolicy, weeks: int
    ) -> None:
        """Windows and business hours are weekly, so a shift by whole weeks changes nothing."""
        assert essence(response_times(c, p)) == essence(
            response_times(shift(c, timedelta(weeks=weeks)), p)
        )

    @given(conversations(), st.data())
    def test_inserting_a_bot_message_changes_nothing(
        self, c: ks.Conversation, data: st.DataObject
    ) -> None:
        """A bot message neither opens nor answers under the default policy."""
        i = data.draw(st.integers(0, len(c.messages)))
        at = c.messages[i - 1].sent_at if i > 0 else MONDAY
        bot = ks.Message(role="bot", text="亲,机器人在", sent_at=at, sender="bot")
        if i == 0 and c.messages:
            at = c.messages[0].sent_at
            bot = ks.Message(role="bot", text="您好", sent_at=at, sender="bot")
        with_bot = c.evolve(messages=(*c.messages[:i], bot, *c.messages[i:]))
        base, other = response_times(c), response_times(with_bot)
        assert essence(base) == essence(other)
        if c.messages:
            assert base.duration_s == other.duration_s

    @given(conversations(), policies)
    def test_no_round_is_lost(self, c: ks.Conversation, p: TimingPolicy) -> None:
        """Every round is answered or unanswered; every buyer message is in one round."""
        t = response_times(c, p)
        assert t.n_rounds == t.n_answered + t.n_unanswered
        assert t.n_rounds == sum(r.counted for r in t.rounds)
        for r in t.rounds:
            assert (r.answered_index is None) == (r.wait_s is None)
            assert r.wait_s is None or r.wait_s >= 0
        if p.credit == "answerer":
            n_buyer = sum(m.role is ks.Role.BUYER for m in c.messages)
            assert n_buyer == sum(r.buyer_messages for r in t.rounds)

    @given(st.lists(conversations(), max_size=6), policies, st.integers(1, 30))
    def test_vectorised_rounds_equal_the_reference_loop(
        self, convs: list[ks.Conversation], p: TimingPolicy, chunk: int
    ) -> None:
        """The numpy path finds the same rounds as response_times(), chunk by chunk."""
        expected = [
            (r.opened_index, r.answered_index, r.agent, r.wait_s, r.session, r.counted)
            for c in convs
            for r in response_times(c, p).rounds
        ]
        got = []
        for cols in iter_columns(convs, chunk_messages=chunk):
            r = compute_rounds(cols, p)
            for i in range(len(r.conv)):
                got.append(
                    (
                        int(r.opened_index[i]),
                        int(r.answered_index[i]) if r.answered[i] else None,
                        None if r.agent[i] < 0 else cols.senders[int(r.agent[i])],
                        int(r.wait_us[i]) / 1e6 if r.answered[i] else None,
                        int(r.session[i]),
                        bool(r.counted[i]),
                    )
                )
        assert expected == got

    @given(st.lists(conversations(), max_size=8), policies, st.data())
    def test_merged_shards_equal_the_whole(
        self, convs: list[ks.Conversation], p: TimingPolicy, data: st.DataObject
    ) -> None:
        """Summaries of shards, merged, equal the summary of everything (exactly)."""
        by = data.draw(st.sampled_from([(), ("agent",), ("agent", "day"), ("shop", "day")]))
        cuts = sorted(data.draw(st.lists(st.integers(0, len(convs)), max_size=3)))
        bounds = [0, *cuts, len(convs)]
        shards = [convs[a:b] for a, b in itertools.pairwise(bounds)]
        whole = TimingSummary.from_conversations(convs, by, p)
        parts = [TimingSummary.from_conversations(s, by, p, chunk_messages=7) for s in shards]
        merged = TimingSummary.empty(by, p).merge(*parts)
        assert whole == merged
        assert whole.table().to_dict() == merged.table().to_dict()

    @given(st.lists(conversations(), max_size=8), policies)
    def test_table_matches_a_reference_computed_from_rounds(
        self, convs: list[ks.Conversation], p: TimingPolicy
    ) -> None:
        """Per-agent counts, means, max and rates are exact; quantiles within 1 %."""
        groups: dict[Any, list[Any]] = {}
        for c in convs:
            for r in response_times(c, p).rounds:
                if r.counted:
                    groups.setdefault(r.agent, []).append(r)
        table = summarize_response_times(convs, ("agent",), p)
        assert sorted(groups, key=lambda a: (a is None, a or "")) == list(table["agent"])
        for row in table.rows():
            rs = groups[row["agent"]]
            cap = p.cap_s
            waits = [min(r.wait_s, cap) if cap else r.wait_s for r in rs if r.answered]
            if p.unanswered == "cap" and cap is not None:
                waits += [cap for r in rs if not r.answered]
            assert len(rs) == row["rounds"]
            assert sum(r.answered for r in rs) == row["answered"]
            if waits:
                micro = sum(round(w * 1e6) for w in waits)
                assert micro / len(waits) / 1e6 == row["mean_s"]
                assert max(waits) == row["max_s"]
                for name, q in (("median_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95)):
                    true = sorted(waits)[_quantiles.nearest_rank(q, len(waits)) - 1]
                    assert abs(row[name] - true) <= 0.01 * true + 0.01
            else:
                assert row["mean_s"] is None
                assert row["median_s"] is None

    @given(st.lists(st.integers(0, 40 * 86_400 * 10**6), min_size=1, max_size=300), st.floats(0, 1))
    def test_sketch_quantiles_are_within_one_percent(self, values: list[int], q: float) -> None:
        """The histogram sketch is within 1 % of the nearest-rank quantile (10 ms floor)."""
        arr = np.array(values, dtype=np.int64)
        hist = _quantiles.histogram(arr)[None, :]
        est = _quantiles.quantile_from_hist(hist, q, arr.min(keepdims=True), arr.max(keepdims=True))
        true = np.sort(arr)[_quantiles.nearest_rank(q, len(arr)) - 1] / 1e6
        if true <= 30 * 86_400:
            assert abs(est[0] - true) <= 0.01 * true + 0.01
        assert arr.min() / 1e6 <= est[0] <= arr.max() / 1e6


# ---------------------------------------------------------------------------
class TestTable:
    """summarize_response_times and TimingTable."""

    CONVS = (
        conv(
            ("buyer", 0),
            ("agent", 30, "a"),
            ("buyer", 100),
            ("agent", 400, "b"),
            shop="s1",
            cid="1",
        ),
        conv(("buyer", 0), ("agent", 60, "a"), ("buyer", 70), shop="s2", cid="2"),
        conv(("buyer", 86_400), ("agent", 86_410, "a"), shop="s1", cid="3"),
    )

    def test_per_agent(self) -> None:
        """One row per credited agent; unanswered rounds without an agent get None."""
        rows = summarize_response_times(self.CONVS).rows()
        assert [("a", 3, 3, pytest.approx(100 / 3)), ("b", 1, 1, 300.0), (None, 1, 0, None)] == [
            (r["agent"], r["rounds"], r["answered"], r["mean_s"]) for r in rows
        ]
        assert rows[0]["sla_rate"] == 1.0
        assert rows[2]["reply_rate"] == 0.0

    def test_per_day_and_shop(self) -> None:
        """Days are local (policy time zone) ISO dates; shops come from Conversation.shop."""
        t = summarize_response_times(self.CONVS, by=("day", "shop"))
        assert list(zip(t["day"], t["shop"], strict=True)) == [
            ("2024-05-06", "s1"),
            ("2024-05-06", "s2"),
            ("2024-05-07", "s1"),
        ]
        assert t["rounds"].tolist() == [2, 2, 1]

    def test_columns_are_read_only_numpy(self) -> None:
        """Columns are numpy arrays that cannot be changed in place."""
        t = summarize_response_times(self.CONVS)
        assert isinstance(t["mean_s"], np.ndarray)
        with pytest.raises(ValueError, match="read-only"):
            t["rounds"][0] = 5
        assert math.isnan(t["mean_s"][-1])
        assert t.to_dict()["mean_s"][-1] is None

    def test_unknown_group_name(self) -> None:
        """by= names are checked; the error lists the valid ones."""
        with pytest.raises(UnknownNameError, match="'agent', 'day', 'shop'"):
            summarize_response_times(self.CONVS, by=("team",))

    def test_merge_rejects_different_policies(self) -> None:
        """Summaries under different policies cannot be merged."""
        a = TimingSummary.from_conversations(self.CONVS)
        b = TimingSummary.from_conversations(self.CONVS, policy="taobao")
        with pytest.raises(ConfigError, match="same by= and policy"):
            a.merge(b)

    def test_untimed_conversations_are_counted_apart(self) -> None:
        """Conversations without timestamps are left out of the table and counted."""
        untimed = conv(("buyer", None), ("agent", None, "a"), cid="u")
        t = summarize_response_times([*self.CONVS, untimed])
        assert (t.summary.conversations, t.summary.untimed_conversations) == (4, 1)
        assert int(t["rounds"].sum()) == 5

    def test_empty_input(self) -> None:
        """No conversations give an empty table, not an error."""
        t = summarize_response_times([])
        assert len(t) == 0
        assert t.rows() == []

    def test_policy_day_uses_time_zone(self) -> None:
        """The day of a round is the local date in the policy's time zone."""
        c = conv(("buyer", 17 * 3600 + 30 * 60), ("agent", 17 * 3600 + 40 * 60, "a"))  # 00:30 local
        utc = summarize_response_times([c], by=("day",), policy=TimingPolicy(tz="UTC"))
        sh = summarize_response_times([c], by=("day",))
        assert (list(utc["day"]), list(sh["day"])) == (["2024-05-06"], ["2024-05-07"])
        assert date(2024, 5, 7) == date.fromisoformat(sh["day"][0])


# -- real time --------------------------------------------------------------------
# Audit regressions: elapsed time is real time, also across a daylight-saving change.
#
# Python subtracts two datetimes that share a ``tzinfo`` object as wall-clock times.
# With ``tz="America/New_York"`` the night of 2024-03-10 skips 02:00-03:00, so from
# 01:59 to 03:01 is 2 minutes, not 62.  The round waits were right (they use epoch
# time) but ``duration_s``, the idle-gap sessions of the timing policy, escalation's
# waiting signal and the follow-up window of responsibility used the wall clock.

NY = ZoneInfo("America/New_York")


def _spring_forward_chat() -> ks.Conversation:
    return ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗，快递到哪了", "time": "2024-03-10 01:59:00"},
            {
                "role": "agent",
                "text": "亲，已经到您那边了",
                "time": "2024-03-10 03:01:00",
                "sender": "s",
            },
        ],
        id="dst",
        tz="America/New_York",
    )


@pytest.mark.parametrize(
    ("later", "earlier", "seconds"),
    [
        (datetime(2024, 3, 10, 3, 1, tzinfo=NY), datetime(2024, 3, 10, 1, 59, tzinfo=NY), 120),
        (
            datetime(2024, 11, 3, 1, 10, fold=1, tzinfo=NY),
            datetime(2024, 11, 3, 1, 50, tzinfo=NY),
            1200,
        ),
        (datetime(2024, 5, 1, 10, 5, tzinfo=NY), datetime(2024, 5, 1, 10, 0, tzinfo=NY), 300),
        (  # different tzinfo objects: Python already converts to UTC
            datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc),
            datetime(2024, 5, 1, 17, 0, tzinfo=timezone(timedelta(hours=8))),
            3600,
        ),
    ],
)
def test_elapsed_is_real_time(later: datetime, earlier: datetime, seconds: float) -> None:
    """elapsed() equals the difference of the POSIX timestamps."""
    assert elapsed(later, earlier).total_seconds() == seconds
    assert seconds == later.timestamp() - earlier.timestamp()


def test_duration_is_real_time() -> None:
    """duration_s agrees with the round's wait (2 minutes), not the wall clock (62)."""
    t = ks.response_times(_spring_forward_chat())
    assert (t.first_response_s, t.duration_s) == (120.0, 120.0)


def test_idle_gap_session_uses_real_time() -> None:
    """A 30-minute idle gap does not split a 14-minute pause that crosses the DST jump."""
    conv = ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗", "time": "2024-03-10 01:50:00"},
            {"role": "agent", "text": "在的亲", "time": "2024-03-10 01:51:00", "sender": "s"},
            {"role": "buyer", "text": "快递到哪了", "time": "2024-03-10 03:05:00"},
            {"role": "agent", "text": "已经到了哦", "time": "2024-03-10 03:06:00", "sender": "s"},
        ],
        id="dst-idle",
        tz="America/New_York",
    )
    t = ks.response_times(conv, policy=ks.TimingPolicy(idle_gap_s=1800))
    assert t.n_sessions == 1


def test_escalation_sees_no_long_wait() -> None:
    """Escalation's waiting signal does not fire on a 2-minute reply."""
    e = ks.escalation(_spring_forward_chat(), sentiment=None, politeness=None)
    assert "waiting" not in [r.kind for r in e.reasons]


def test_shanghai_times_are_unchanged() -> None:
    """In Asia/Shanghai (no DST) the figures are what they always were."""
    conv = ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗", "time": "2024-03-10 01:59:00"},
            {"role": "agent", "text": "在的亲", "time": "2024-03-10 03:01:00", "sender": "s"},
        ],
        id="sh",
    )
    t = ks.response_times(conv)
    assert (t.first_response_s, t.duration_s) == (3720.0, 3720.0)


# --- the data model orders and splits by real time too ------------------------------------
# 2024-11-03 in New York: 01:50 EDT, then the clocks go back, and 01:10 EST is 20 minutes later.
FALL_BACK = [1730613000, 1730614200]  # epoch seconds: 01:50 EDT, 01:10 EST


def test_wall_clock_step_back_at_fall_back_is_not_disorder() -> None:
    """A reply 20 minutes later in real time is in order, though its wall clock reads earlier."""
    conv = ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗", "time": FALL_BACK[0]},
            {"role": "agent", "text": "在的亲", "time": FALL_BACK[1]},
        ],
        id="fall",
        tz="America/New_York",
    )
    assert conv.messages[1].sent_at is not None
    assert conv.messages[1].sent_at.hour == 1  # the wall clock did step back


def test_real_disorder_across_fall_back_still_raises() -> None:
    """The same two times given the other way round are out of order."""
    with pytest.raises(MessageOrderError):
        ks.Conversation.from_records(
            [
                {"role": "buyer", "text": "在吗", "time": FALL_BACK[1]},
                {"role": "agent", "text": "在的亲", "time": FALL_BACK[0]},
            ],
            id="fall",
            tz="America/New_York",
        )


def test_sort_orders_by_real_time_across_fall_back() -> None:
    """sort=True puts the 01:50 EDT message before the 01:10 EST one."""
    conv = ks.Conversation.from_records(
        [
            {"role": "agent", "text": "later", "time": FALL_BACK[1]},
            {"role": "buyer", "text": "earlier", "time": FALL_BACK[0]},
        ],
        id="fall",
        tz="America/New_York",
        sort=True,
    )
    assert [m.text for m in conv.messages] == ["earlier", "later"]


def test_split_sessions_uses_real_time() -> None:
    """A two-minute pause across the spring-forward jump is not a 30-minute idle gap."""
    assert len(_spring_forward_chat().split_sessions(1800)) == 1


@pytest.mark.parametrize(
    ("time", "ok"),
    [
        ("0001-01-01 00:00:00", False),  # parsed, then broke the first time arithmetic
        ("9999-12-31 23:59:59", False),
        ("1899-12-31T23:59:59Z", False),
        ("1900-01-01 00:00:00", True),
        ("2999-12-31 23:59:59", True),
        ("2024-05-01 10:00:01", True),
    ],
)
def test_years_outside_the_chat_range_are_bad_timestamps(time: str, ok: bool) -> None:
    """A year outside 1900-2999 is a BadTimestampError naming the record, not a later crash."""
    records = [{"role": "buyer", "text": "在吗", "time": time}]
    if ok:
        conv = ks.Conversation.from_records(records, id="y")
        assert (
            len(ks.response_times(conv).rounds) == 1
        )  # one unanswered round: time arithmetic works
    else:
        with pytest.raises(BadTimestampError, match="outside 1900-2999"):
            ks.Conversation.from_records(records, id="y")


# 2024's DST changes in New York and London (UTC instants), and an ordinary day
_PIVOTS = [1_710_054_000, 1_730_613_600, 1_711_846_800, 1_729_990_800, 1_714_500_000]


@given(
    st.sampled_from(_PIVOTS),
    st.lists(st.integers(min_value=-2 * 86_400, max_value=2 * 86_400), min_size=2, max_size=6),
    st.sampled_from(["America/New_York", "Europe/London", "Asia/Shanghai"]),
)
def test_wall_clock_exact_only_when_subtraction_is_real_time(
    pivot: int, offsets: list[int], zone: str
) -> None:
    """Whenever the per-conversation check allows plain subtraction, it is real time."""
    from kefu_standards._time import wall_clock_exact

    tz = ZoneInfo(zone)
    epochs = sorted(pivot + o for o in offsets)
    times = [datetime.fromtimestamp(e, tz=timezone.utc).astimezone(tz) for e in epochs]
    if wall_clock_exact(times):
        for (a, ea), (b, eb) in itertools.pairwise(zip(times, epochs, strict=True)):
            assert b - a == timedelta(seconds=eb - ea)


def test_wall_clock_exact_refuses_a_dst_change() -> None:
    """The spring-forward chat needs elapsed(); one Shanghai day does not."""
    from kefu_standards._time import wall_clock_exact

    spring = [m.sent_at for m in _spring_forward_chat().messages if m.sent_at is not None]
    assert not wall_clock_exact(spring)
    sh = ZoneInfo("Asia/Shanghai")
    assert wall_clock_exact(
        [datetime(2024, 5, 1, 9, tzinfo=sh), datetime(2024, 5, 1, 21, tzinfo=sh)]
    )
