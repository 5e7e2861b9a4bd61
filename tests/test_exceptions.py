"""Errors are typed, carry their data, and survive pickling (worker processes)."""

from __future__ import annotations

import pickle

import pytest

from kefu_standards import exceptions as ex

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
