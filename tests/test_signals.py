"""Specification of :func:`kefu_standards.signals`: the analysers' results, computed once.

A :class:`~kefu_standards.Signals` holds, per conversation, what every analyser
says (response times, buyer sentiment, agent politeness, the scorecard's cues,
escalation).  Reading it must give exactly what calling the analysers gives:
the scorers' ``score_signals`` equals their ``score``, ``assess(signals=...)``
equals ``assess``, and the batched ``signals_many`` equals one call each.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards import _escalation, _escalation_walk, _signals
from kefu_standards.exceptions import ConfigError, InputTypeError, KefuError
from kefu_standards.scorers import BUILTIN_SCORERS
from strategies import conversations

CHAT = ks.Conversation.from_records(
    [
        {"role": "buyer", "text": "在吗？快递怎么还没到", "time": "2024-05-06 10:00:00"},
        {"role": "system", "text": "由 服务助手 转交给 小李", "time": "2024-05-06 10:00:05"},
        {"role": "agent", "text": "亲，您好，马上为您查询", "time": "2024-05-06 10:00:30"},
        {"role": "agent", "text": "   ", "time": "2024-05-06 10:00:31"},
        {"role": "buyer", "text": "太慢了，我要投诉", "time": "2024-05-06 10:02:00"},
    ],
    id="c1",
)

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same_float(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


class TestSignals:
    """What one conversation's signals hold."""

    def test_one_entry_per_message_by_role(self) -> None:
        """Sentiment is set on buyer messages with content, politeness on agent ones."""
        s = ks.signals(CHAT)
        assert len(s.sentiment) == len(s.politeness) == len(CHAT.messages)
        assert [x is not None for x in s.sentiment] == [True, False, False, False, True]
        assert [x is not None for x in s.politeness] == [False, False, True, False, False]

    @pytest.mark.parametrize(
        ("field", "expected"),
        [
            ("timing", ks.response_times),
            ("escalation", ks.escalation),
        ],
    )
    def test_conversation_level_fields_equal_the_analysers(
        self, field: str, expected: object
    ) -> None:
        """Timing and escalation are the default-policy results of the public functions."""
        assert getattr(ks.signals(CHAT), field) == expected(CHAT)  # type: ignore[operator]

    def test_per_message_fields_equal_the_analysers(self) -> None:
        """Each sentiment and politeness equals the public one-text function's result."""
        s = ks.signals(CHAT)
        for m, sent, pol in zip(CHAT.messages, s.sentiment, s.politeness, strict=True):
            if sent is not None:
                assert sent == ks.sentiment(m.text).score
            if pol is not None:
                assert pol == ks.politeness(m.text)

    def test_helpers(self) -> None:
        """``buyer_sentiments`` and ``agent_politeness`` read the per-message tuples."""
        s = ks.signals(CHAT)
        assert s.buyer_sentiments() == [x for x in s.sentiment if x is not None]
        assert [i for i, _ in s.agent_politeness()] == [2]

    def test_frozen(self) -> None:
        """Signals cannot be changed after they are built."""
        s = ks.signals(CHAT)
        with pytest.raises(AttributeError):
            s.timing = None  # type: ignore[misc]

    @pytest.mark.parametrize("bad", ["在吗", None, [CHAT]])
    def test_a_wrong_input_type_is_a_config_error(self, bad: object) -> None:
        """Only a Conversation is accepted; the message names what was given."""
        with pytest.raises(ConfigError, match="takes a Conversation"):
            ks.signals(bad)  # type: ignore[arg-type]

    @SLOW
    @given(st.lists(conversations(max_messages=6), max_size=4))
    def test_signals_many_equals_one_call_each(self, convs: list[ks.Conversation]) -> None:
        """Batching texts across conversations changes no value."""
        many = ks.signals_many(convs)
        for conv, batched in zip(convs, many, strict=True):
            one = ks.signals(conv)
            assert batched.conversation is conv
            assert batched.timing == one.timing
            assert batched.escalation == one.escalation
            assert batched.politeness == one.politeness
            assert batched.cues == one.cues
            assert all(
                _same_float(a, b) for a, b in zip(batched.sentiment, one.sentiment, strict=True)
            )


class TestEscalationFromSignals:
    """Escalation reads the conversation's signals; it does not call the analysers again."""

    def test_reading_fields_equal_the_analysers(self) -> None:
        """Agent sentiment on agent messages with content, chat negativity on buyer ones."""
        s = ks.signals(CHAT)
        assert len(s.agent_sentiment) == len(s.chat_negativity) == len(CHAT.messages)
        assert [x is not None for x in s.agent_sentiment] == [False, False, True, False, False]
        assert s.agent_sentiment[2] == ks.sentiment(CHAT.messages[2].text).score
        for heads in (s.chat_negativity, s.chat_thanks, s.disagreement):  # the CPED heads
            assert [x is not None for x in heads] == [True, False, False, False, True]

    def test_signals_many_calls_each_analyser_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """One sentiment batch and one politeness batch for the whole chunk; escalation
        takes the signals' readings and never scores a text itself."""
        calls: list[str] = []
        readings, many = _escalation.sentiment_readings, _signals.politeness_many

        def count_readings(*args: Any) -> Any:
            calls.append("sentiment")
            return readings(*args)

        def count_politeness(*args: Any) -> Any:
            calls.append("politeness")
            return many(*args)

        def refuse(*_args: Any) -> Any:
            raise AssertionError("escalation scored its texts again")

        convs = [CHAT, ks.Conversation.from_records([{"role": "agent", "text": "您好"}], id="c2")]
        want = [ks.escalation(c) for c in convs]
        monkeypatch.setattr(_signals, "sentiment_readings", count_readings)
        monkeypatch.setattr(_signals, "politeness_many", count_politeness)
        for module in (_escalation, _escalation_walk):  # the callers of read_signals
            monkeypatch.setattr(module, "read_signals", refuse)
        got = ks.signals_many(convs)
        assert sorted(calls) == ["politeness", "sentiment"]
        assert [g.escalation for g in got] == want

    @SLOW
    @given(conversations(max_messages=8))
    def test_escalation_from_signals_equals_escalation(self, conv: ks.Conversation) -> None:
        """The same reasons, evidence and risks, to the last digit, as ``escalation(conv)``."""
        got, want = ks.signals(conv).escalation, ks.escalation(conv)
        assert got == want
        assert repr(got) == repr(want)

    @pytest.mark.parametrize(
        ("readings", "error", "match"),
        [
            ("readings", InputTypeError, "needs Readings"),
            (_escalation.Readings((0.5,), None, None), ConfigError, "readings.sentiment has 1"),
            (_escalation.Readings(None, (), None), ConfigError, "chat_negativity has 0"),
            (_escalation.Readings(None, None, (None,) * 9), ConfigError, "politeness has 9"),
        ],
    )
    def test_readings_are_checked(self, readings: Any, error: type, match: str) -> None:
        """Readings must be Readings with one entry per message (CHAT has 5)."""
        with pytest.raises(error, match=match):
            _escalation.escalation_from(CHAT, readings)

    def test_readings_off_equal_signals_off(self) -> None:
        """Readings that are all ``None`` are escalation with both signals off."""
        off = _escalation.Readings(None, None, None)
        want = ks.escalation(CHAT, sentiment=None, politeness=None)
        assert _escalation.escalation_from(CHAT, off) == want


class TestAssessWithSignals:
    """``assess(conversation, signals=...)`` and the scorers' ``score_signals``."""

    def test_given_signals_give_the_same_assessment(self) -> None:
        """Passing the signals changes nothing but the work done."""
        assert ks.assess(CHAT, signals=ks.signals(CHAT)) == ks.assess(CHAT)

    def test_signals_of_another_conversation_are_refused(self) -> None:
        """The signals must describe the assessed conversation."""
        other = ks.Conversation.from_records([{"role": "buyer", "text": "你好"}], id="c2")
        with pytest.raises(ConfigError, match="computed for conversation 'c2'"):
            ks.assess(CHAT, signals=ks.signals(other))

    def test_signals_must_be_signals(self) -> None:
        """A wrong type for ``signals=`` is a KefuError naming what is valid."""
        with pytest.raises(KefuError, match="signals must be a Signals or None"):
            ks.assess(CHAT, signals="signals")  # type: ignore[arg-type]

    def test_a_custom_scorer_still_gets_the_conversation(self) -> None:
        """A scorer with only ``score(conversation)`` keeps working beside shared signals."""
        seen: list[str] = []

        def length(conv: ks.Conversation) -> float:
            seen.append(conv.id)
            return min(1.0, len(conv) / 10)

        card = ks.Scorecard(
            "mine",
            [
                {"name": "length", "scorer": ks.make_scorer(length)},
                {"name": "communication", "scorer": "communication"},
            ],
        )
        a = ks.assess(CHAT, card, signals=ks.signals(CHAT))
        assert seen == ["c1"]
        assert a.dimensions["length"].score == 0.5

    @SLOW
    @given(conversations(max_messages=8))
    @pytest.mark.parametrize("name", sorted(BUILTIN_SCORERS))
    def test_score_signals_equals_score(self, name: str, conv: ks.Conversation) -> None:
        """Every built-in scorer that reads signals scores them as it scores the chat."""
        scorer = BUILTIN_SCORERS[name]()
        if not isinstance(scorer, ks.typing.SignalsScorer):
            return
        assert scorer.score_signals(ks.signals(conv)) == scorer.score(conv)
