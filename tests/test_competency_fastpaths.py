"""The analyze path's shortcuts equal the plain definitions they replace (issue #8).

Each cached or inlined helper is checked against the straightforward
computation it stands for, on hand-written cases and Hypothesis texts, so a
speed-up can never change a result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards import Conversation
from kefu_standards._competency_cues import CueMessage, cue_view
from kefu_standards._cues import _bigrams, bigram_set, is_repeat_of
from kefu_standards._escalation import _repeats
from kefu_standards._frozendict import FrozenDict
from kefu_standards.evidence import _to_details
from kefu_standards.model import Role
from kefu_standards.scorers._base import (
    DEADLINE_RE,
    agent_messages,
    buyer_messages,
    deadline_spans,
)
from kefu_standards.scorers._responsibility import _substantive
from kefu_standards.scoring import ScoreResult
from kefu_standards.text import _CONTENT_RE, blank_placeholders, has_content, normalize

_CHAT_CHARS = st.text(
    alphabet=st.sampled_from(list("好的在吗亲稍等请您帮查订单号123 ?？!！。[数字x]#E-s/:^_^abc")),
    max_size=30,
)


def chat(*lines: str) -> Conversation:
    """``"b:text"`` is a buyer line, ``"a:text"`` an agent line, ``"s:text"`` a system line."""
    roles = {"b": "buyer", "a": "agent", "s": "system"}
    records = [{"role": roles[line[0]], "text": line[2:]} for line in lines]
    return Conversation.from_records(records, id="fast")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("好的", True),
        ("", False),
        ("   ", False),
        ("？？！", False),
        ("[数字x]", False),
        ("#E-s[数字x]", False),
        ("[数字x]件", True),
        ("abc", True),
    ],
)
def test_has_content_cases(text: str, expected: bool) -> None:
    assert has_content(text) is expected
    assert has_content(text) is expected  # the cached answer is the same


@given(_CHAT_CHARS)
def test_cached_has_content_equals_its_definition(text: str) -> None:
    plain = _CONTENT_RE.search(blank_placeholders(text)) is not None
    assert has_content(text) is plain


@given(_CHAT_CHARS)
def test_cached_bigram_set_equals_uncached(text: str) -> None:
    assert bigram_set(text) == _bigrams(normalize(text))


@given(
    st.frozensets(st.text(max_size=2), max_size=8), st.frozensets(st.text(max_size=2), max_size=8)
)
def test_is_repeat_of_is_the_jaccard_index(a: frozenset[str], b: frozenset[str]) -> None:
    expected = len(a) >= 3 and len(b) >= 3 and len(a & b) / len(a | b) >= 0.6
    assert is_repeat_of(a, b, threshold=0.6, min_bigrams=3) is expected


@given(
    st.frozensets(st.sampled_from(list("abcdefgh")), max_size=8),
    st.lists(st.frozensets(st.sampled_from(list("abcdefgh")), max_size=8), max_size=6),
)
def test_escalation_repeats_equals_any_is_repeat_of(
    grams: frozenset[str], earlier: list[frozenset[str]]
) -> None:
    plain = any(is_repeat_of(grams, g, threshold=0.6, min_bigrams=3) for g in earlier)
    assert _repeats(grams, earlier, 0.6) is plain


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"n": 1, "x": 0.5, "s": "ok", "b": True, "none": None},
        {"nested": {"a": [1, 2]}, "list": [1, {"b": 2}], 3: "int key"},
        FrozenDict({"a": 1}),
    ],
)
def test_to_details_equals_the_frozendict_constructor(value: Mapping[str, Any] | None) -> None:
    fast, plain = _to_details(value), FrozenDict(value)
    assert isinstance(fast, FrozenDict)
    assert fast == plain
    assert list(fast.items()) == list(plain.items())
    assert hash(fast) == hash(plain)
    assert repr(fast) == repr(plain)


def test_score_result_details_are_frozen_and_immutable() -> None:
    r = ScoreResult(0.5, (), "", {"parts": [1, 2], "sub": {"a": 1}})
    assert r.details["parts"] == (1, 2)
    assert isinstance(r.details["sub"], FrozenDict)
    with pytest.raises(AttributeError):
        r.details._data = {}  # type: ignore[misc]
    assert ScoreResult.na("why", details={"k": [1]}).details == {"k": (1,)}


def test_view_picks_agent_and_buyer_messages_with_content() -> None:
    """The cue view lists the agent and buyer messages with content, as a plain tuple would."""
    conv = chat("b:在吗", "a:您好", "a:", "s:系统消息", "b:[数字x]", "b:订单号多少")
    view = cue_view(conv)
    plain = tuple(view)
    assert [m.index for m in agent_messages(view)] == [1]
    assert [m.index for m in buyer_messages(view)] == [0, 5]
    assert agent_messages(plain) == agent_messages(view)
    assert buyer_messages(plain) == buyer_messages(view)


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("稍等", ((0, 2),), False),
        ("稍等，我帮您查一下物流", ((0, 2),), True),
        ("好的亲", (), False),
        ("好的亲亲", (), True),
    ],
)
def test_substantive_counts_content_outside_holding_cues(
    text: str, spans: tuple[tuple[int, int], ...], expected: bool
) -> None:
    from kefu_standards._competency_cues import CueHit

    hits = tuple(CueHit(s, e, frozenset({"holding"})) for s, e in spans)
    kinds = frozenset({"holding"}) if hits else frozenset()
    m = CueMessage(0, Role.AGENT, text, hits, True, False, kinds)
    assert _substantive(m) is expected


@pytest.mark.parametrize("text", ["24小时内处理", "[数字x]个工作日到账", "3天 和 2 日", "马上", ""])
def test_cached_deadlines_equal_the_regex(text: str) -> None:
    expected = tuple((x.start(), x.end(), x.group()) for x in DEADLINE_RE.finditer(text))
    assert deadline_spans(text) == expected
