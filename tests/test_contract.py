"""The scorer contract: every built-in passes it, each broken scorer fails the right check."""

from __future__ import annotations

import itertools
import pickle
from typing import Any

import attrs
import pytest

from kefu_standards import Conversation
from kefu_standards.evidence import Evidence
from kefu_standards.exceptions import ScorerContractError
from kefu_standards.scoring import ScoreResult, get_scorer, get_scorer_names, make_scorer
from kefu_standards.testing import CHECKS, ScorerReport, check_scorer, probe_conversations


def agent_share(conversation: Conversation) -> ScoreResult:
    """A well-behaved custom scorer: share of messages written by agents."""
    if not conversation.messages:
        return ScoreResult.na("no message")
    return ScoreResult(sum(m.role == "agent" for m in conversation) / len(conversation))


class TestBuiltins:
    @pytest.mark.parametrize("name", get_scorer_names())
    def test_builtin_scorer_keeps_the_contract(self, name: str) -> None:
        """Every built-in scorer passes check_scorer and reports every check."""
        report = check_scorer(get_scorer(name))
        assert isinstance(report, ScorerReport)
        assert report.checks == CHECKS
        assert report.scorer_name == name
        assert report.n_probes == len(probe_conversations())

    def test_na_probes_carry_their_reasons(self) -> None:
        """The report keeps the reason of every N/A probe."""
        report = check_scorer(get_scorer("teamwork"))
        assert report.scores["empty"] is None
        assert report.reasons["empty"]

    def test_make_scorer_function_passes(self) -> None:
        """A plain module-level function wrapped by make_scorer keeps the contract."""
        report = check_scorer(make_scorer(agent_share))
        assert report.scores["agent_only"] == 1.0

    def test_extra_conversations_are_probed(self) -> None:
        """Conversations passed in are scored too, under their given names."""
        extra = Conversation.from_records([{"role": "agent", "text": "您好"}], id="x")
        report = check_scorer(make_scorer(agent_share), {"mine": extra})
        assert report.scores["mine"] == 1.0


# -- deliberately broken scorers, one per check -------------------------------------------
@attrs.define
class Nameless:
    name: str = ""

    def score(self, conversation: Conversation) -> ScoreResult:
        return ScoreResult(1.0)


@attrs.define
class NotCallable:
    name: str = "not_callable"
    score: int = 3


@attrs.define
class CrashesOnEmpty:
    name: str = "crashes"

    def score(self, conversation: Conversation) -> ScoreResult:
        return ScoreResult(1.0 / len(conversation.messages))


@attrs.define
class ReturnsText:
    name: str = "returns_text"

    def score(self, conversation: Conversation) -> str:
        return "good"


@attrs.frozen
class Duck:
    score: Any
    reason: str = ""
    evidence: tuple[Evidence, ...] = ()


@attrs.define
class OutOfRange:
    name: str = "out_of_range"

    def score(self, conversation: Conversation) -> Duck:
        return Duck(len(conversation.messages) * 0.5)


@attrs.define
class SilentNA:
    name: str = "silent_na"

    def score(self, conversation: Conversation) -> Duck:
        return Duck(None, "")


@attrs.define
class BadEvidence:
    name: str = "bad_evidence"

    def score(self, conversation: Conversation) -> ScoreResult:
        return ScoreResult(0.5, (Evidence(0, 2, "xx", "kind", 1.0, "", 99),))


_counter = itertools.count()


@attrs.define
class Flaky:
    name: str = "flaky"

    def score(self, conversation: Conversation) -> ScoreResult:
        return ScoreResult((next(_counter) % 7) / 7)


@attrs.define
class Mutates:
    name: str = "mutates"

    def score(self, conversation: Conversation) -> ScoreResult:
        object.__setattr__(conversation, "id", conversation.id + "!")
        return ScoreResult(1.0)


@attrs.define
class Unpicklable:
    name: str = "unpicklable"
    fn: Any = attrs.field(factory=lambda: lambda conv: 1.0)

    def score(self, conversation: Conversation) -> ScoreResult:
        return ScoreResult(self.fn(conversation))


BROKEN = [
    (Nameless(), "name", "non-empty str"),
    (NotCallable(), "callable", "no callable score"),
    (CrashesOnEmpty(), "survives", "ZeroDivisionError on the 'empty' conversation"),
    (ReturnsText(), "result", "returned str, not a ScoreResult"),
    (OutOfRange(), "in_range", "must be in [0, 1]"),
    (SilentNA(), "na_reason", "score is None (N/A) but the reason is ''"),
    (BadEvidence(), "evidence", "points to message 99"),
    (Flaky(), "deterministic", "same result for the same input"),
    (Mutates(), "no_mutation", "changed while it was scored"),
    (Unpicklable(), "picklable", "pickling failed"),
]


class TestBrokenScorers:
    @pytest.mark.parametrize(
        ("scorer", "check", "message"), BROKEN, ids=[check for _, check, _ in BROKEN]
    )
    def test_broken_scorer_fails_the_right_check(
        self, scorer: Any, check: str, message: str
    ) -> None:
        """Each broken scorer fails exactly the check it breaks, with a clear message."""
        with pytest.raises(ScorerContractError) as info:
            check_scorer(scorer)
        assert info.value.check == check
        assert message in info.value.detail
        assert f"fails check {check!r}" in str(info.value)

    def test_every_check_has_a_broken_example(self) -> None:
        """The table above covers every check in CHECKS."""
        assert {check for _, check, _ in BROKEN} == set(CHECKS)

    def test_error_names_the_scorer_and_pickles(self) -> None:
        """The error carries the scorer name, and survives pickling (for worker processes)."""
        with pytest.raises(ScorerContractError) as info:
            check_scorer(OutOfRange())
        assert info.value.scorer_name == "out_of_range"
        again = pickle.loads(pickle.dumps(info.value))
        assert str(again) == str(info.value)

    def test_error_is_an_assertion_error(self) -> None:
        """Test suites may catch it as the AssertionError it is."""
        with pytest.raises(AssertionError):
            check_scorer(SilentNA())


# -- adapters around the library's analysers ------------------------------------------------
@attrs.frozen
class _FakeReason:
    kind: str
    weight: float
    evidence: tuple[Evidence, ...] = ()


@attrs.frozen
class _FakeEscalation:
    score: float | None
    level: str | None = None
    reasons: tuple[_FakeReason, ...] = ()
    per_message: tuple[float, ...] = ()

    def reason(self) -> str:  # a method, not a str: the adapter must not read it
        raise AssertionError("the adapter read Escalation.reason")


def fake_escalation(conversation: Conversation) -> _FakeEscalation:
    """Module-level (picklable) stand-in for kefu_standards._escalation.escalation."""
    if not conversation.messages:
        return _FakeEscalation(None)
    return _FakeEscalation(0.25, "medium", (_FakeReason("repetition", 0.2),))


class TestAdapters:
    @pytest.mark.parametrize("name", ["politeness", "escalation"])
    def test_scorecard_adapters_return_score_results(self, name: str) -> None:
        """The registry's politeness and escalation lines are adapters returning ScoreResult."""
        conv = Conversation.from_records(
            [{"role": "buyer", "text": "在吗"}, {"role": "agent", "text": "您好，请稍等"}], id="a"
        )
        result = get_scorer(name).score(conv)
        assert isinstance(result, ScoreResult)
        assert isinstance(result.reason, str)

    def test_escalation_adapter_ignores_the_reason_attribute(self) -> None:
        """1 - risk, a reason naming the reason kinds; N/A with a reason when undefined."""
        scorer = get_scorer("escalation", escalation=fake_escalation)
        report = check_scorer(scorer)
        assert report.scores["agent_only"] == 0.75
        assert report.scores["empty"] is None
        conv = Conversation.from_records([{"role": "buyer", "text": "在吗"}], id="b")
        assert "repetition" in scorer.score(conv).reason


def test_the_registry_escalation_scorer_is_the_public_one() -> None:
    """One escalation scorer: get_scorer("escalation") is EscalationScorer, policy included."""
    from kefu_standards._escalation import EscalationPolicy, EscalationScorer

    strict = EscalationPolicy(medium_from=0.01, high_from=0.02)
    scorer = get_scorer("escalation", policy=strict)
    assert isinstance(scorer, EscalationScorer)
    assert scorer.policy == strict
    conv = Conversation.from_records(
        [{"role": "buyer", "text": "怎么还没发货？我要投诉"}, {"role": "agent", "text": "不知道"}],
        id="c",
    )
    assert scorer.score(conv).details["level"] == "high"
    assert get_scorer("escalation").score(conv) == EscalationScorer().score(conv)
