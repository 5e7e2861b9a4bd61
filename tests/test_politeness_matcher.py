"""Specification of the multi-phrase matcher shared by politeness, escalation and competency."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards._matcher import Match, PhraseMatcher
from kefu_standards.exceptions import ConfigError

PHRASES = {"谢": 1, "谢谢": 2, "不用谢": 3, "ab": 4, "abc": 5, "b": 6, "bcd": 7}
M = PhraseMatcher(PHRASES.items())


def _brute_overlapping(text: str) -> list[tuple[int, int]]:
    return sorted(
        (i, i + len(p)) for p in PHRASES for i in range(len(text)) if text.startswith(p, i)
    )


def _brute_leftmost_longest(text: str) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < len(text):
        ends = [i + len(p) for p in PHRASES if text.startswith(p, i)]
        if ends:
            out.append((i, max(ends)))
            i = max(ends)
        else:
            i += 1
    return out


class TestFind:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("不用谢谢谢", [(0, 3, "不用谢"), (3, 5, "谢谢")]),
            ("abcd", [(0, 3, "abc")]),
            ("abd", [(0, 2, "ab")]),
            ("xbcdx", [(1, 4, "bcd")]),
            ("", []),
            ("无关", []),
        ],
    )
    def test_leftmost_longest(self, text: str, expected: list) -> None:
        assert [(m.start, m.end, m.phrase) for m in M.find(text)] == expected

    def test_payloads(self) -> None:
        assert M.find("谢谢") == [Match(0, 2, "谢谢", 2)]

    def test_overlapping(self) -> None:
        got = [(m.start, m.phrase) for m in M.find("abcd", overlapping=True)]
        assert got == [(0, "ab"), (0, "abc"), (1, "b"), (1, "bcd")]

    def test_accept_can_reject_and_fall_back(self) -> None:
        # reject 'abc': the next-longest phrase at the same start ('ab') is used
        got = M.find("abcd", accept=lambda s, e, p: None if p == 5 else p)
        assert [(m.start, m.phrase) for m in got] == [(0, "ab")]

    def test_accept_can_rewrite_payload(self) -> None:
        got = M.find("谢谢", accept=lambda s, e, p: p * 10)
        assert got == [Match(0, 2, "谢谢", 20)]

    def test_accept_rejecting_everything(self) -> None:
        assert M.find("abcd", accept=lambda s, e, p: None) == []

    def test_accept_needs_non_overlapping(self) -> None:
        with pytest.raises(ConfigError, match="overlapping=False"):
            M.find("ab", overlapping=True, accept=lambda s, e, p: p)

    @pytest.mark.parametrize(
        ("vetted", "expected"),
        [
            (None, [(0, 2, "ab", 4), (3, 4, "谢", 1)]),
            ({"abc"}, [(0, 2, "ab", 4), (3, 4, "谢", 1)]),  # abc vetoed, ab kept unvetted
            (set(), [(0, 3, "abc", 5), (3, 4, "谢", 1)]),  # nothing vetted: accept never runs
        ],
    )
    def test_spans_call_accept_only_for_vetted_phrases(
        self, vetted: set[str] | None, expected: list[tuple[int, int, str, int]]
    ) -> None:
        """``spans`` is ``find`` as tuples; ``vetted`` limits which phrases ``accept`` sees."""
        calls: list[str] = []

        def accept(start: int, end: int, payload: int) -> int | None:
            calls.append("abc谢"[start:end])
            return None if payload == 5 else payload

        assert M.spans("abc谢", accept=accept, vetted=vetted) == expected
        assert set(calls) == ({"abc", "ab", "谢"} if vetted is None else vetted)

    def test_find_is_spans_as_matches(self) -> None:
        """``find`` returns the :class:`Match` of each span ``spans`` returns."""
        reject_abc = lambda s, e, p: None if p == 5 else p  # noqa: E731 - a one-line table row
        spans = M.spans("abc谢", accept=reject_abc)
        assert M.find("abc谢", accept=reject_abc) == [Match(*s) for s in spans]

    def test_match_is_frozen_with_its_fields(self) -> None:
        """The hand-written ``__init__`` sets the four attrs fields; the match stays frozen."""
        m = Match(1, 3, "谢谢", 2)
        assert (m.start, m.end, m.phrase, m.payload) == (1, 3, "谢谢", 2)
        assert m == Match(start=1, end=3, phrase="谢谢", payload=2)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            m.start = 0  # type: ignore[misc]

    def test_last_payload_wins(self) -> None:
        assert PhraseMatcher([("a", 1), ("a", 2)]).payload("a") == 2

    def test_empty_phrase_rejected(self) -> None:
        with pytest.raises(ConfigError, match="non-empty"):
            PhraseMatcher([("", 1)])

    def test_empty_matcher(self) -> None:
        m: PhraseMatcher[int] = PhraseMatcher([])
        assert (len(m), m.max_phrase_length, m.find("abc")) == (0, 0, [])

    def test_introspection(self) -> None:
        assert len(M) == len(PHRASES)
        assert "abc" in M
        assert M.max_phrase_length == 3


TEXT = st.text(alphabet="谢不用abcdx", max_size=40)


class TestProperties:
    @given(TEXT)
    def test_overlapping_finds_every_occurrence(self, text: str) -> None:
        assert [(m.start, m.end) for m in M.find(text, overlapping=True)] == _brute_overlapping(
            text
        )

    @given(TEXT)
    def test_non_overlapping_is_leftmost_longest(self, text: str) -> None:
        assert [(m.start, m.end) for m in M.find(text)] == _brute_leftmost_longest(text)

    @given(TEXT)
    def test_spans_hold_their_phrase(self, text: str) -> None:
        for m in M.find(text):
            assert text[m.start : m.end] == m.phrase
