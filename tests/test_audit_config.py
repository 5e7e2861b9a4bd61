"""Audit regressions: configuration mistakes raise ConfigError saying what is valid.

Before, these raised attrs' raw ``TypeError`` (a tuple holding the attribute), a bare
``TypeError``/``AttributeError`` from deep inside, or were silently accepted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import kefu_standards as ks
from kefu_standards.competency import Criterion, Scorecard
from kefu_standards.exceptions import ConfigError

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
