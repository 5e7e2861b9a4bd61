"""Errors are typed, carry their data, and survive pickling (worker processes)."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import kefu_standards as ks
from kefu_standards import exceptions as ex
from kefu_standards.competency import Criterion, Scorecard
from kefu_standards.exceptions import ConfigError

CASES = [
    ex.ConfigError("bad"),
    ex.InputTypeError("assess() needs a Conversation, got str"),
    ex.UnknownNameError("preset", "tmall", ["default", "taobao", "jd"]),
    ex.MessageOrderError("c1", 3, "message 3 is earlier"),
    ex.ReadError("chats.jsonl", 7, "bad"),
    ex.BadTimestampError("a.txt", 2, "bad timestamp 'x'"),
    ex.UnknownRoleError("a.csv", 5, "unknown role 'boss'"),
    ex.BrokenBlockError("a.txt", 9, "separator missing"),
    ex.BadRecordError("a.jsonl", 1, "missing 'text'"),
    ex.DecodeError("a.txt", 4, "undecodable bytes"),
    ex.ModelFileError("bad npz"),
    ex.ScorerContractError("mine", "deterministic", "two calls differ"),
]


@pytest.mark.parametrize("error", CASES, ids=lambda e: type(e).__name__)
def test_pickle_round_trip(error: Exception) -> None:
    """Every error pickles to an equal message and the same attributes."""
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert vars(again) == vars(error)


@pytest.mark.parametrize("error", CASES, ids=lambda e: type(e).__name__)
def test_every_error_is_a_kefu_error(error: Exception) -> None:
    """One base class catches everything the library raises."""
    assert isinstance(error, ex.KefuError)


def test_read_error_names_file_and_line() -> None:
    """The message starts with the file and the 1-based line."""
    assert str(ex.BadTimestampError("chats.jsonl", 12, "bad timestamp")) == (
        "chats.jsonl, line 12: bad timestamp"
    )


def test_unknown_name_lists_valid_names() -> None:
    """The message lists what is valid; str() is not a repr."""
    err = ex.UnknownNameError("preset", "tmall", ("default", "taobao"))
    assert str(err) == "unknown preset 'tmall'; valid presets are: 'default', 'taobao'"
    assert isinstance(err, LookupError)


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("preset", "presets"),
        ("criterion", "criteria"),
        ("errors policy", "errors policies"),
        ("N/A rule", "N/A rules"),
        ("group-by column", "group-by columns"),
        ("key", "keys"),
    ],
)
def test_unknown_name_says_the_plural_in_english(kind: str, plural: str) -> None:
    """The kinds the library names read as English plurals ("criterions" was printed)."""
    assert f"; valid {plural} are: 'a'" in str(ex.UnknownNameError(kind, "x", ("a",)))


def _conv() -> object:
    import kefu_standards as ks

    return ks.Conversation.from_records([{"role": "buyer", "text": "在吗"}], id="c1")


def _wrong_type_calls() -> dict[str, object]:
    import kefu_standards as ks
    from kefu_standards.testing import reference_rounds

    return {
        "analyze(items)": lambda: ks.analyze(["在吗"]),
        "sentiment(text)": lambda: ks.sentiment(3),
        "sentiment_many(texts)": lambda: ks.sentiment_many(["好", 3]),
        "sentiment_scores(texts)": lambda: ks.sentiment_scores(["好", 3]),
        "politeness(text)": lambda: ks.politeness(3),
        "politeness_many(texts)": lambda: ks.politeness_many(["好", 3]),
        "assess(conversation)": lambda: ks.assess("在吗"),
        "assess(scorecard=)": lambda: ks.assess(_conv(), scorecard="default"),
        "escalation(conversation)": lambda: ks.escalation("在吗"),
        "escalation(policy=)": lambda: ks.escalation(_conv(), policy="high"),
        "response_times(conversation)": lambda: ks.response_times("在吗"),
        "response_times(policy=)": lambda: ks.response_times(_conv(), policy=3),
        "signals(conversation)": lambda: ks.signals("在吗"),
        "assess(signals=)": lambda: ks.assess(_conv(), signals="s"),
        "reference_rounds(conversation)": lambda: reference_rounds("在吗"),
        "Message(text=)": lambda: ks.Message("buyer", 3),
        "Message(sent_at=)": lambda: ks.Message("buyer", "在吗", "yesterday"),
        "Conversation(messages=)": lambda: ks.Conversation("c", ("在吗",)),
        "make_scorer(fn)": lambda: ks.make_scorer("communication"),
        "ScoreResult(reason=)": lambda: ks.ScoreResult(0.5, (), 3),
        "Scorecard.from_dict(data)": lambda: ks.Scorecard.from_dict([]),
        "write_report(analysis)": lambda: ks.write_report([_conv()], "out"),
    }


@pytest.mark.parametrize("call", sorted(_wrong_type_calls()))
def test_a_wrong_input_type_is_one_error_class_everywhere(call: str) -> None:
    """A wrong argument type is an InputTypeError: a KefuError, a TypeError, a ConfigError."""
    with pytest.raises(ex.InputTypeError) as info:
        _wrong_type_calls()[call]()  # type: ignore[operator]
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ex.KefuError)
    assert isinstance(
        info.value, ex.ConfigError
    )  # what it was before: code catching it still works


# -- config errors --------------------------------------------------------------------
# Audit regressions: configuration mistakes raise ConfigError saying what is valid.
#
# Before, these raised attrs' raw ``TypeError`` (a tuple holding the attribute), a bare
# ``TypeError``/``AttributeError`` from deep inside, or were silently accepted.

CARD_HEAD = 'name = "x"\n'
ONE = "[[criteria]]\nname = 'a'\nscorer = 'communication'\nweight = 1\n"


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Scorecard.from_toml(CARD_HEAD + "criteria = 3\n"), "sequence of Criterion"),
        (lambda: Scorecard.from_toml(CARD_HEAD + ONE + "critical = 'yes'\n"), "true or false"),
        (lambda: Criterion("a", "communication", critical=1), "true or false"),  # type: ignore[arg-type]
        (lambda: ks.TimingPolicy(bot_answers="yes"), "bot_answers must be True or False"),  # type: ignore[arg-type]
    ],
)
def test_config_mistakes_raise_config_error(build: Callable[[], Any], match: str) -> None:
    """Each mistake raises ConfigError (a ValueError) with a message that says what is valid."""
    with pytest.raises(ConfigError, match=match):
        build()


def test_valid_flags_still_build() -> None:
    """True/False flags are accepted as before."""
    assert Criterion("a", "communication", critical=True).critical is True
    assert ks.TimingPolicy(bot_answers=True).bot_answers is True
    assert Scorecard.from_toml(CARD_HEAD + ONE + "critical = false\n").criteria[0].critical is False


# --- escalation with the caller's sentiment / politeness functions -------------------------


def _chat() -> ks.Conversation:
    return ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗，快递呢", "time": "2024-05-01 10:00:00"},
            {"role": "agent", "text": "亲，稍等", "time": "2024-05-01 10:00:10", "sender": "a"},
            {"role": "buyer", "text": "好的", "time": "2024-05-01 10:00:20"},
        ],
        id="c",
    )


@pytest.mark.parametrize("value", [2.0, -1.0, "x", math.inf])
def test_sentiment_outside_0_1_is_refused(value: object) -> None:
    """A sentiment function returning something outside [0, 1] raises ConfigError.

    (It used to move the risk silently: 2.0 lowered it, -1 raised it to "medium".)
    """
    with pytest.raises(ConfigError, match=r"P\(positive\) in \[0, 1\] or None"):
        ks.escalation(_chat(), sentiment=lambda _t: value)  # type: ignore[arg-type]


def test_nan_sentiment_means_undefined() -> None:
    """NaN (what sentiment_scores writes for undefined) counts as None, not as a number.

    (It used to make the score NaN with level "low".)
    """
    as_none = ks.escalation(_chat(), sentiment=lambda _t: None)
    as_nan = ks.escalation(_chat(), sentiment=lambda _t: math.nan)
    assert as_nan.score is not None
    assert not math.isnan(as_nan.score)
    assert (as_nan.score, as_nan.level, as_nan.per_message) == (
        as_none.score,
        as_none.level,
        as_none.per_message,
    )


def test_in_range_sentiment_is_used_as_given() -> None:
    """A contract-keeping function gives the same result as before (checked against itself)."""
    e1 = ks.escalation(_chat(), sentiment=lambda t: ks.sentiment(t).score)
    e2 = ks.escalation(_chat())
    assert e1.score == e2.score


@pytest.mark.parametrize("value", [None, 0.3, "impolite"])
def test_politeness_without_label_and_evidence_is_refused(value: object) -> None:
    """A politeness function must return a result with label and evidence (ConfigError)."""
    with pytest.raises(ConfigError, match="'label' and 'evidence'"):
        ks.escalation(_chat(), politeness=lambda _t: value)  # type: ignore[arg-type]


def test_politeness_result_objects_are_accepted() -> None:
    """The library's own politeness results keep working through a wrapper function."""

    def mine(text: str) -> ks.Politeness:
        return ks.politeness(text.strip())

    e = ks.escalation(_chat(), politeness=mine)
    assert e.level in {"low", "medium", "high"}
