"""ScoreResult, make_scorer and the scorer registry (built-ins and entry-point plug-ins)."""

from __future__ import annotations

import importlib.metadata
import math
import pickle
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from kefu_standards import Conversation
from kefu_standards import scoring as sc
from kefu_standards.exceptions import ConfigError, KefuWarning, UnknownNameError
from kefu_standards.scoring import (
    ENTRY_POINT_GROUP,
    ScoreResult,
    as_score_result,
    get_scorer,
    get_scorer_names,
    make_scorer,
)
from kefu_standards.typing import KpiScorer, Scorer

NINE = (
    "product_knowledge",
    "communication",
    "service_attitude",
    "problem_handling",
    "stress_resilience",
    "teamwork",
    "data_analysis",
    "responsibility",
    "continuous_learning",
)

CONV = Conversation.from_records(
    [{"role": "buyer", "text": "在吗"}, {"role": "agent", "text": "您好，在的"}], id="c1"
)


def reply_share(conversation: Conversation, weight: float = 1.0) -> float:
    agents = sum(m.role == "agent" for m in conversation)
    return min(1.0, weight * agents / max(1, len(conversation)))


class TestScoreResult:
    @pytest.mark.parametrize("score", [0, 0.0, 0.25, 1, 1.0])
    def test_scores_in_the_unit_interval_are_kept_as_floats(self, score: float) -> None:
        """0 and 1 included; ints become floats."""
        r = ScoreResult(score)
        assert r.score == float(score)
        assert isinstance(r.score, float)
        assert r.applicable

    @pytest.mark.parametrize(
        ("score", "message"),
        [
            (1.5, "must be in [0, 1]"),
            (-0.01, "must be in [0, 1]"),
            (math.nan, "must be in [0, 1]"),
            (True, "not bool"),
            ("0.5", "not str"),
        ],
    )
    def test_invalid_scores_are_rejected_with_what_is_valid(self, score: Any, message: str) -> None:
        """Out of range, NaN, booleans and strings are ConfigErrors that say what is valid."""
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            ScoreResult(score)

    def test_na_needs_a_reason(self) -> None:
        """score=None (N/A) without a reason is refused."""
        with pytest.raises(ConfigError, match="needs a non-empty reason"):
            ScoreResult(None)
        with pytest.raises(ConfigError, match="needs a non-empty reason"):
            ScoreResult(None, reason="   ")

    def test_na_constructor(self) -> None:
        """ScoreResult.na(reason) is the N/A shorthand."""
        r = ScoreResult.na("no transfer", details={"transfers": 0})
        assert (r.score, r.reason, r.applicable) == (None, "no transfer", False)
        assert r.details == {"transfers": 0}

    def test_is_frozen_and_hashable(self) -> None:
        """Results are immutable values."""
        r = ScoreResult(0.5, details={"a": [1, 2]})
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            r.score = 1.0  # type: ignore[misc]
        assert hash(r) == hash(ScoreResult(0.5, details={"a": [1, 2]}))

    def test_evidence_must_be_evidence(self) -> None:
        """Evidence items are checked."""
        with pytest.raises(ConfigError, match=r"evidence\[0\] is a str"):
            ScoreResult(0.5, ("x",))  # type: ignore[arg-type]


@attrs.frozen
class _Duck:
    score: Any
    reason: str = ""


class TestAsScoreResult:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (0.5, ScoreResult(0.5)),
            (1, ScoreResult(1.0)),
            (ScoreResult.na("x"), ScoreResult.na("x")),
            (_Duck(0.25), ScoreResult(0.25)),
            (_Duck(None, "why"), ScoreResult.na("why")),
        ],
    )
    def test_coerces_numbers_results_and_ducks(self, value: object, expected: ScoreResult) -> None:
        """Numbers, ScoreResults and objects with score/reason become ScoreResults."""
        assert as_score_result(value, "s") == expected

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (None, "return ScoreResult.na"),
            ("good", "not a ScoreResult"),
            (2.0, "must be in"),
            (_Duck(None), "non-empty reason"),
        ],
    )
    def test_bad_values_name_the_scorer(self, value: object, message: str) -> None:
        """The error names the scorer and says what to return instead."""
        with pytest.raises(ConfigError, match=f"scorer 'mine'.*{message}"):
            as_score_result(value, "mine")


class TestMakeScorer:
    def test_wraps_a_plain_function(self) -> None:
        """The function's number becomes a ScoreResult; the name defaults to __name__."""
        s = make_scorer(reply_share)
        assert s.name == "reply_share"
        assert s.score(CONV) == ScoreResult(0.5)
        assert isinstance(s, Scorer)

    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({}, "make_scorer(reply_share)"),
            ({"weight": 2}, "make_scorer(reply_share, weight=2)"),
            ({"name": "replies"}, "make_scorer(reply_share, name='replies')"),
            ({"name": "r", "weight": 0.5}, "make_scorer(reply_share, name='r', weight=0.5)"),
        ],
    )
    def test_repr_reads_like_the_call(self, kwargs: dict[str, Any], expected: str) -> None:
        """The repr mirrors the make_scorer call (sklearn style)."""
        assert repr(make_scorer(reply_share, **kwargs)) == expected

    def test_keyword_arguments_are_passed_on_every_call(self) -> None:
        """Stored kwargs reach the function."""
        assert make_scorer(reply_share, weight=2).score(CONV).score == 1.0

    def test_lambda_needs_a_name(self) -> None:
        """A lambda has no usable name: make_scorer asks for one."""
        with pytest.raises(ConfigError, match="needs name="):
            make_scorer(lambda c: 1.0)
        assert make_scorer(lambda c: 1.0, name="one").name == "one"

    @pytest.mark.parametrize("name", ["", "two words", "1st"])
    def test_bad_names_are_rejected(self, name: str) -> None:
        """Names are identifiers, so they can key a scorecard."""
        with pytest.raises(ConfigError, match="identifier"):
            make_scorer(reply_share, name=name)

    def test_not_callable(self) -> None:
        """Only callables can be wrapped."""
        with pytest.raises(ConfigError, match="needs a callable"):
            make_scorer(3)  # type: ignore[arg-type]

    def test_pickles(self) -> None:
        """A scorer around a module-level function survives pickling."""
        s = make_scorer(reply_share, weight=2)
        again = pickle.loads(pickle.dumps(s))
        assert again == s
        assert again.score(CONV) == s.score(CONV)

    def test_bad_return_value_names_the_scorer(self) -> None:
        """A function returning None is told to return ScoreResult.na."""
        s = make_scorer(lambda c: None, name="lazy")
        with pytest.raises(ConfigError, match=r"scorer 'lazy'.*ScoreResult\.na"):
            s.score(CONV)


class TestRegistry:
    def test_names_are_the_nine_standards_and_the_critical_items(self) -> None:
        """get_scorer_names lists the built-ins, sorted."""
        names = get_scorer_names()
        assert names == sorted(names)
        assert set(NINE) | {"no_insult", "no_money_promise"} <= set(names)

    @pytest.mark.parametrize("name", NINE)
    def test_get_scorer_hands_out_fresh_copies(self, name: str) -> None:
        """Each call returns a new, equal object named as asked."""
        a, b = get_scorer(name), get_scorer(name)
        assert a is not b
        assert a == b
        assert a.name == name

    def test_names_list_is_a_copy(self) -> None:
        """Changing the returned list changes nothing."""
        get_scorer_names().append("mine")
        assert "mine" not in get_scorer_names()

    def test_unknown_name_lists_the_valid_ones(self) -> None:
        """A typo fails with the valid names (a LookupError)."""
        with pytest.raises(UnknownNameError, match=r"valid scorers are: .*'communication'") as info:
            get_scorer("comunication")
        assert "teamwork" in info.value.valid
        assert isinstance(info.value, LookupError)

    def test_parameters_reach_the_factory(self) -> None:
        """get_scorer(name, **params) builds with those options."""
        s = get_scorer("responsibility", followup_s=60)
        assert s.followup_s == 60.0  # type: ignore[attr-defined]

    def test_bad_parameters_say_which_scorer(self) -> None:
        """An unknown option names the scorer."""
        with pytest.raises(ConfigError, match="bad parameters for scorer 'teamwork'"):
            get_scorer("teamwork", speed=3)

    def test_objects_are_copied(self) -> None:
        """Passing a scorer object returns a deep copy."""
        s = make_scorer(reply_share)
        copy = get_scorer(s)
        assert copy == s
        assert copy is not s

    def test_non_scorer_objects_are_refused(self) -> None:
        """Objects without name/score are not scorers."""
        with pytest.raises(ConfigError, match="'name' and 'score'"):
            get_scorer(3)  # type: ignore[arg-type]


# -- plug-ins through entry points ------------------------------------------------------
@attrs.frozen
class PluginScorer:
    threshold: float = 0.5
    name: str = "plugin_length"

    def score(self, conversation: Conversation) -> ScoreResult:
        if not conversation.messages:
            return ScoreResult.na("empty")
        return ScoreResult(1.0 if len(conversation) > self.threshold else 0.0)


@attrs.frozen
class GoodKpis:
    name: str = "kpis"

    def score_kpis(self, kpis: Any) -> ScoreResult:
        return ScoreResult(0.5)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[importlib.metadata.EntryPoint]]:
    """Fake installed plug-ins: fill the yielded list with entry points."""
    module = types.ModuleType("ks_fake_plugin")
    module.instance = PluginScorer()  # type: ignore[attr-defined]
    module.factory = PluginScorer  # type: ignore[attr-defined]
    module.not_a_scorer = 42  # type: ignore[attr-defined]
    module.bad_factory = lambda: "nope"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ks_fake_plugin", module)
    eps: list[importlib.metadata.EntryPoint] = []
    calls: list[str] = []

    def fake_entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        calls.append(group)
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    sc._reset_plugins()
    yield eps
    sc._reset_plugins()


def _ep(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name, value, ENTRY_POINT_GROUP)


class TestPlugins:
    def test_instance_plugin_is_found_and_copied(
        self, plugins: list[importlib.metadata.EntryPoint]
    ) -> None:
        """An entry point naming a scorer instance is listed and handed out as a copy."""
        plugins.append(_ep("plugin_length", "ks_fake_plugin:instance"))
        assert "plugin_length" in get_scorer_names()
        s = get_scorer("plugin_length")
        assert s == PluginScorer()
        assert s is not sys.modules["ks_fake_plugin"].instance  # type: ignore[attr-defined]

    def test_factory_plugin_takes_parameters(
        self, plugins: list[importlib.metadata.EntryPoint]
    ) -> None:
        """An entry point naming a class/factory is called with the parameters."""
        plugins.append(_ep("plugin_length", "ks_fake_plugin:factory"))
        assert get_scorer("plugin_length", threshold=3).threshold == 3  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (
                "ks_missing_module:thing",
                "scorer plugin 'broken' .* failed to load: ModuleNotFoundError",
            ),
            ("ks_fake_plugin:missing", "scorer plugin 'broken' .* failed to load: AttributeError"),
            ("ks_fake_plugin:not_a_scorer", "scorer plugin 'broken' .* is a int"),
            ("ks_fake_plugin:bad_factory", "scorer plugin 'broken' .* built a str"),
        ],
    )
    def test_broken_plugin_names_itself_and_breaks_nothing_else(
        self, plugins: list[importlib.metadata.EntryPoint], value: str, message: str
    ) -> None:
        """A broken plug-in fails only when asked for, naming itself; the rest still works."""
        plugins.append(_ep("broken", value))
        plugins.append(_ep("plugin_length", "ks_fake_plugin:instance"))
        assert "broken" in get_scorer_names()
        with pytest.raises(ConfigError, match=message):
            get_scorer("broken")
        assert get_scorer("plugin_length").name == "plugin_length"
        assert get_scorer("teamwork").name == "teamwork"

    def test_plugin_cannot_shadow_a_builtin(
        self, plugins: list[importlib.metadata.EntryPoint]
    ) -> None:
        """A plug-in with a built-in's name is ignored with a warning naming it."""
        plugins.append(_ep("teamwork", "ks_fake_plugin:instance"))
        with pytest.warns(KefuWarning, match="'teamwork' .* name of a built-in"):
            names = get_scorer_names()
        assert names.count("teamwork") == 1
        assert get_scorer("teamwork").name == "teamwork"

    def test_duplicate_plugin_names_keep_the_first(
        self, plugins: list[importlib.metadata.EntryPoint]
    ) -> None:
        """Two plug-ins with one name: the first wins, with a warning."""
        plugins.append(_ep("plugin_length", "ks_fake_plugin:instance"))
        plugins.append(_ep("plugin_length", "ks_fake_plugin:factory"))
        with pytest.warns(KefuWarning, match="already registered by ks_fake_plugin:instance"):
            get_scorer_names()

    def test_broken_metadata_falls_back_to_builtins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If listing entry points fails, a warning is issued and built-ins still work."""

        def explode(*, group: str) -> list[Any]:
            raise RuntimeError("bad METADATA")

        monkeypatch.setattr(importlib.metadata, "entry_points", explode)
        sc._reset_plugins()
        try:
            with pytest.warns(KefuWarning, match="bad METADATA"):
                names = get_scorer_names()
            assert "communication" in names
        finally:
            sc._reset_plugins()

    def test_entry_points_are_not_read_at_import(self) -> None:
        """Importing the scoring module reads no entry point and no scorer module."""
        probe = (
            "import importlib.metadata as md\n"
            "calls = []\n"
            "md.entry_points = lambda **kw: calls.append(kw) or []\n"
            "import sys, kefu_standards.scoring, kefu_standards.competency\n"
            "print(len(calls), 'kefu_standards.scorers' in sys.modules)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
        )
        assert out.stdout.split() == ["0", "False"]


class TestProtocols:
    def test_duck_typed_objects_satisfy_the_protocols(self) -> None:
        """No inheritance needed: name + score is a Scorer, name + score_kpis a KpiScorer."""
        assert isinstance(PluginScorer(), Scorer)
        assert isinstance(GoodKpis(), KpiScorer)
        assert not isinstance(GoodKpis(), Scorer)
