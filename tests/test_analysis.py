"""``analyze``: streaming, chunking and merging never change the numbers."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from kefu_standards import Conversation
from kefu_standards.analysis import (
    UNASSIGNED_AGENT,
    Analysis,
    analyze,
    analyze_conversation,
    merge_analyses,
)
from kefu_standards.exceptions import ConfigError, InputTypeError
from kefu_standards.io import read_conversations
from kefu_standards.resources import data_file


@pytest.fixture(scope="module")
def examples() -> list[Conversation]:
    return list(read_conversations(data_file("examples/conversations.jsonl")))


def _records(conversations: list[Conversation], **kwargs: object) -> list[dict[str, object]]:
    sink = io.StringIO()
    analyze(iter(conversations), results=sink, **kwargs)  # type: ignore[arg-type]
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def _summary(a: Analysis) -> tuple[object, ...]:
    return (
        a.conversations,
        a.messages,
        a.agent_rows(),
        [r.id for r, _ in a.riskiest],
        [(r.id, e.message_index, e.start) for r, _, e in a.problems],
        a.timing_by_day.table().rows(),
        a.timing_by_shop.table().rows(),
    )


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_chunk_size_does_not_change_results(examples: list[Conversation], chunk_size: int) -> None:
    """Chunks batch the models across conversations; every number stays the same."""
    assert _records(examples, chunk_size=chunk_size) == _records(examples, chunk_size=7)


@pytest.mark.parametrize("batch", [1, 50, 10**9])
def test_timing_rollup_batch_does_not_change_rollups(
    examples: list[Conversation], batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing rollups are summarised per batch of messages and merged: exactly the whole."""
    from kefu_standards import analysis

    def tables(a: Analysis) -> tuple[object, ...]:
        return tuple(
            getattr(a, k).table().rows()
            for k in ("timing_by_agent", "timing_by_day", "timing_by_shop")
        )

    expected = tables(analyze(iter(examples), chunk_size=2))
    monkeypatch.setattr(analysis, "_TIMING_BATCH", batch)
    got = analyze(iter(examples), chunk_size=2)
    assert tables(got) == expected
    assert _summary(got) == _summary(analyze(iter(examples)))


def test_batched_results_equal_one_conversation_at_a_time(examples: list[Conversation]) -> None:
    expected = [analyze_conversation(c).to_record() for c in examples]
    assert _records(examples, chunk_size=16) == json.loads(json.dumps(expected, default=str))


def test_merged_halves_equal_the_whole(examples: list[Conversation]) -> None:
    half = len(examples) // 2
    whole = analyze(iter(examples))
    merged = merge_analyses([analyze(iter(examples[:half])), analyze(iter(examples[half:]))])
    # sums of floats are added in another order: equal up to rounding
    for got, want in zip(merged.agent_rows(), whole.agent_rows(), strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            expected = pytest.approx(value, rel=1e-12) if isinstance(value, float) else value
            assert got[key] == expected, key
    assert _summary(merged)[3:] == _summary(whole)[3:]
    assert _summary(merged)[:2] == _summary(whole)[:2]


def test_input_is_streamed_once_and_not_modified(examples: list[Conversation]) -> None:
    before = [c.to_record() for c in examples]
    seen: list[str] = []

    def source() -> Iterator[Conversation]:
        for c in examples:
            seen.append(c.id)
            yield c

    result = analyze(source(), chunk_size=4)
    assert seen == [c.id for c in examples]
    assert result.conversations == len(examples)
    assert result.messages == sum(len(c) for c in examples)
    assert [c.to_record() for c in examples] == before


def test_empty_input_gives_an_empty_analysis() -> None:
    result = analyze(iter(()))
    assert (result.conversations, result.messages, result.agents) == (0, 0, {})
    assert (result.first_time, result.last_time) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be >= 1"),
        ({"chunk_size": 0}, "chunk_size must be >= 1"),
        ({"top_k": -1}, "top_k must be >= 0"),
    ],
)
def test_bad_arguments_say_what_is_valid(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        analyze(iter(()), **kwargs)  # type: ignore[arg-type]


def test_items_that_are_not_conversations_are_rejected() -> None:
    with pytest.raises(ConfigError, match="needs Conversation objects, got dict"):
        analyze(iter([{"id": "c1"}]))  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (None, "iterable of Conversation objects, got NoneType"),
        (123, "iterable of Conversation objects, got int"),
        ("chats.jsonl", r"got a path or text \(str\): to analyse a file pass read_conversations"),
        (
            Conversation.from_records([{"role": "buyer", "text": "在吗"}], id="c1"),
            r"got one Conversation: pass \[conv\]",
        ),
    ],
)
def test_a_stream_that_is_not_one_is_refused_with_a_hint(given: object, message: str) -> None:
    """Something that is not a stream of conversations raises the library's wrong-type
    error (a KefuError that is also a TypeError), saying what to pass instead."""
    with pytest.raises(InputTypeError, match=message) as caught:
        analyze(given)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)


def test_agent_messages_without_sender_make_one_agent_row() -> None:
    """Rounds, politeness and conversations of agent messages without a sender land in one
    row (the unassigned one), not split between two names."""
    conv = Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗，快递到哪了", "time": "2024-05-01 10:00:00"},
            {"role": "agent", "text": "亲，您好，已经在派送了哦", "time": "2024-05-01 10:00:30"},
        ],
        id="c1",
    )
    rows = analyze([conv]).agent_rows()
    assert [r["agent"] for r in rows] == [UNASSIGNED_AGENT]
    (row,) = rows
    assert row["rounds"] == 1
    assert row["politeness"] is not None


class TestFrozenResults:
    """An Analysis and its agent rollups are frozen: merging builds new objects."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [("conversations", 0), ("agents", {}), ("riskiest", []), ("outcomes", None)],
    )
    def test_an_analysis_cannot_be_assigned_to(
        self, examples: list[Conversation], field: str, value: object
    ) -> None:
        """Setting a field raises attrs' FrozenInstanceError (an AttributeError)."""
        a = analyze(iter(examples))
        with pytest.raises(AttributeError):
            setattr(a, field, value)

    def test_its_containers_are_read_only(self, examples: list[Conversation]) -> None:
        """agents / dimension_labels are read-only mappings; riskiest, problems, waits tuples."""
        a = analyze(iter(examples))
        assert isinstance(a.riskiest, tuple)
        assert isinstance(a.problems, tuple)
        with pytest.raises(TypeError):
            a.agents["x"] = a.agents[next(iter(a.agents))]  # type: ignore[index]
        with pytest.raises(TypeError):
            a.dimension_labels["x"] = "y"  # type: ignore[index]
        roll = next(iter(a.agents.values()))
        assert isinstance(roll.wait_buckets, tuple)
        with pytest.raises(TypeError):
            roll.dim_sum["x"] = 1.0  # type: ignore[index]
        with pytest.raises(AttributeError):
            roll.conversations = 0  # type: ignore[misc]

    def test_merging_leaves_the_parts_unchanged(self, examples: list[Conversation]) -> None:
        """merge_analyses / Analysis.merge / AgentRollup.merge return new objects."""
        half = len(examples) // 2
        left, right = analyze(iter(examples[:half])), analyze(iter(examples[half:]))

        def state(a: Analysis) -> tuple[object, ...]:
            return (_summary(a), dict(a.agents), a.trend_rows(), a.topic_rows())

        before = (state(left), state(right))
        merged = left.merge(right)
        assert merged is not left
        assert merged is not right
        assert (state(left), state(right)) == before
        name = next(n for n in left.agents if n in right.agents)
        one, two = left.agents[name], right.agents[name]
        both = one.merge(two)
        assert both.conversations == one.conversations + two.conversations
        assert both.wait_buckets == tuple(
            a + b for a, b in zip(one.wait_buckets, two.wait_buckets, strict=True)
        )
        assert (one, two) == (left.agents[name], right.agents[name])
        assert merged.agents[name] == both
