"""Specification of custom politeness lexicons and of the conversation scorer."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu_standards import Conversation
from kefu_standards._politeness import (
    Lexicon,
    Marker,
    PolitenessScorer,
    politeness,
)
from kefu_standards.exceptions import ConfigError, ReadError, UnknownNameError
from kefu_standards.resources import read_text
from kefu_standards.testing import check_scorer

FIX = Path(__file__).parent / "fixtures" / "politeness"
BUILTIN = ("courtesy", "banned", "harsh", "offensive", "overpromise", "neutral")


class TestBuiltinLexicon:
    """The shipped lexicons are versioned package data with source and licence headers."""

    @pytest.mark.parametrize("name", BUILTIN)
    def test_header_names_source_licence_and_version(self, name: str) -> None:
        head = read_text(f"politeness/{name}.tsv").splitlines()[:3]
        assert head[0].startswith("# source: written by the kefu_standards developers")
        assert head[1] == "# licence: MIT (same as the code)"
        assert head[2] == "# version: 1"

    def test_default_has_every_kind(self) -> None:
        kinds = {m.kind for m in Lexicon.default().markers}
        assert kinds == {
            "courtesy",
            "banned_phrase",
            "harsh_tone",
            "offensive",
            "over_promise",
            "neutral",
        }

    def test_phrases_are_looked_up_in_any_script(self) -> None:
        lex = Lexicon.default()
        assert "謝謝" in lex
        assert lex["謝謝"].phrase == "谢谢"


class TestFromPython:
    """A shop adds or removes phrases from Python; the built-ins are never modified."""

    def test_with_phrases_adds_and_overrides(self) -> None:
        lex = Lexicon.default().with_phrases(
            [("小主", "courtesy", 0.8), Marker("亲", "courtesy", 2.0)]
        )
        p = politeness("小主，亲", lexicon=lex)
        assert {e.text: e.weight for e in p.evidence} == {"小主": 0.8, "亲": 2.0}
        assert Lexicon.default()["亲"].weight != 2.0

    def test_with_phrases_accepts_a_mapping(self) -> None:
        lex = Lexicon.default().with_phrases({"好评返现": ("banned_phrase", -2.0)})
        assert next(e.kind for e in politeness("好评返现哦", lexicon=lex).evidence) == (
            "banned_phrase"
        )

    def test_without_removes(self) -> None:
        lex = Lexicon.default().without("亲", "您好")
        assert "亲" not in lex
        assert "您好" not in lex
        assert "亲" in Lexicon.default()
        assert [e.text for e in politeness("亲", lexicon=Lexicon.default()).evidence] == ["亲"]
        assert politeness("亲", lexicon=lex).evidence == ()

    def test_of_builds_a_lexicon_without_builtins(self) -> None:
        lex = Lexicon.of([("靓仔", "courtesy", 1.0)])
        assert len(lex) == 1
        assert [e.text for e in politeness("靓仔您好", lexicon=lex).evidence] == ["靓仔"]

    def test_merged(self) -> None:
        extra = Lexicon.of([("亲", "courtesy", 3.0)])
        assert Lexicon.default().merged(extra)["亲"].weight == 3.0

    def test_lexicons_compare_by_content(self) -> None:
        a = Lexicon.of([("a", "courtesy", 1.0)])
        b = Lexicon.of([("A", "courtesy", 1.0)])  # folded to lower case
        assert a == b
        assert hash(a) == hash(b)

    @pytest.mark.parametrize(
        ("args", "error", "message"),
        [
            (("", "courtesy", 1.0), ConfigError, "non-empty phrase"),
            (("x", "rude", 1.0), UnknownNameError, "valid marker kinds"),
            (("x", "courtesy", float("nan")), ConfigError, "finite"),
            (("x", "courtesy", 1.0, "nope"), UnknownNameError, "valid context rules"),
        ],
    )
    def test_invalid_markers(self, args: tuple, error: type, message: str) -> None:
        with pytest.raises(error, match=message):
            Marker(*args)

    def test_with_phrases_rejects_junk(self) -> None:
        with pytest.raises(ConfigError, match="Marker or a"):
            Lexicon.default().with_phrases(["亲"])  # type: ignore[list-item]


class TestFromTsv:
    """A shop's TSV file is merged over the built-ins; errors name the file and line."""

    def test_shop_file(self) -> None:
        lex = Lexicon.from_tsv(FIX / "shop_lexicon.tsv")
        assert lex["小主"].weight == 0.8
        assert lex["亲"].weight == 1.5
        assert "哦" not in lex
        assert lex["包您满意"].kind == "over_promise"
        assert "您好" in lex  # built-ins kept

    def test_only_the_file(self) -> None:
        lex = Lexicon.from_tsv(FIX / "shop_lexicon.tsv", extend_default=False)
        assert {m.phrase for m in lex.markers} == {"小主", "亲", "包您满意"}

    @pytest.mark.parametrize(
        ("name", "line", "message"),
        [
            ("bad_weight.tsv", 3, "not a number"),
            ("bad_kind.tsv", 2, "valid marker kinds"),
            ("bad_rule.tsv", 1, "valid context rules"),
            ("short_row.tsv", 3, "phrase, kind and weight"),
        ],
    )
    def test_malformed_file(self, name: str, line: int, message: str) -> None:
        with pytest.raises(ReadError, match=message) as info:
            Lexicon.from_tsv(FIX / name)
        assert info.value.source.endswith(name)
        assert info.value.line == line
        assert f"{name}, line {line}" in str(info.value)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ReadError, match="cannot read"):
            Lexicon.from_tsv(tmp_path / "nope.tsv")


def _conv(*turns: tuple[str, str]) -> Conversation:
    return Conversation.from_records([{"role": r, "text": t} for r, t in turns], id="c")


class TestScorer:
    """PolitenessScorer scores the agent's messages only."""

    def test_name(self) -> None:
        assert PolitenessScorer().name == "politeness"

    def test_agent_messages_only(self) -> None:
        conv = _conv(
            ("buyer", "你们这什么破服务？？滚"),
            ("agent", "亲，非常抱歉让您久等了"),
            ("bot", "不知道。"),
        )
        result = PolitenessScorer().score(conv)
        assert result.n_messages == 1
        assert result.label == "polite"
        assert {e.message_index for e in result.evidence} == {1}

    def test_mean_min_and_worst_evidence_first(self) -> None:
        conv = _conv(("agent", "亲，您好，请稍等"), ("buyer", "？"), ("agent", "不知道。"))
        result = PolitenessScorer().score(conv)
        assert result.mean is not None
        assert result.minimum is not None
        assert result.minimum < result.mean
        assert result.score == result.mean
        assert PolitenessScorer(aggregate="min").score(conv).score == result.minimum
        worst = result.evidence[0]
        assert (worst.text, worst.message_index) == ("不知道", 2)
        assert [i for i, _ in result.messages] == [0, 2]

    @pytest.mark.parametrize(
        ("messages", "reason"),
        [
            ((("buyer", "在吗"), ("agent", "[数字x]")), "no agent message has content"),
            ((("buyer", "在吗"),), "no agent message with content"),
            ((), "no agent message with content"),
        ],
    )
    def test_not_applicable_says_why(self, messages: tuple, reason: str) -> None:
        result = PolitenessScorer().score(_conv(*messages))
        assert (result.score, result.label, result.n_messages) == (None, None, 0)
        assert reason in result.reason

    def test_applicable_result_has_no_reason(self) -> None:
        assert PolitenessScorer().score(_conv(("agent", "您好"))).reason == ""

    @pytest.mark.parametrize("aggregate", ["mean", "min"])
    def test_keeps_the_scorer_contract(self, aggregate: str) -> None:
        report = check_scorer(PolitenessScorer(aggregate=aggregate))
        assert report.scorer_name == "politeness"
        assert report.scores["empty"] is None
        assert report.reasons["empty"]

    def test_max_evidence(self) -> None:
        conv = _conv(("agent", "亲，您好，请问有什么可以帮您？谢谢"))
        assert len(PolitenessScorer(max_evidence=2).score(conv).evidence) == 2

    def test_custom_lexicon(self) -> None:
        scorer = PolitenessScorer(lexicon=Lexicon.of([("靓仔", "courtesy", 1.0)]))
        assert [e.text for e in scorer.score(_conv(("agent", "靓仔你好"))).evidence] == ["靓仔"]

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"aggregate": "median"}, UnknownNameError),
            ({"max_evidence": -1}, ConfigError),
            ({"lexicon": "default"}, ConfigError),
        ],
    )
    def test_validation(self, kwargs: dict, error: type) -> None:
        with pytest.raises(error):
            PolitenessScorer(**kwargs)
