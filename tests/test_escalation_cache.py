"""Specification of escalation's fast paths: caches, batching and shortcuts change no result."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import escalation_chats
from kefu_standards import Conversation, _escalation
from kefu_standards._cues import (
    bigram_set,
    buyer_cues,
    buyer_view,
    content_length,
    is_acknowledgement,
    is_card,
    is_repeat_of,
)
from kefu_standards._escalation import (
    FEATURES,
    Escalation,
    EscalationPolicy,
    _agent_text,
    _BatchedSentiment,
    _buyer_text,
    _clear_caches,
    _default_politeness,
    _default_sentiment,
    _defaults,
    _repeats,
    _trace,
    escalation,
)
from kefu_standards._sentiment import sentiment
from kefu_standards.exceptions import KefuWarning, ModelFileError

chats = escalation_chats


def texts() -> list[str]:
    return sorted({m.text for c in chats() for m in c.messages})


CHAT_TEXT = st.lists(
    st.sampled_from(
        [*"在吗好的谢谢退款发货什么时候我说过了？?!。 ", "[数字x]", "[ORDERID_1]", "#E-s[数字x]"]
    ),
    max_size=14,
).map("".join)


def run_all() -> list[Escalation]:
    return [escalation(c) for c in chats()]


def test_cached_and_uncached_paths_give_identical_results() -> None:
    """Every fixture chat: the same Escalation with cold caches, warm caches and again cold."""
    _clear_caches()
    cold = run_all()
    warm = run_all()
    _clear_caches()
    again = run_all()
    assert cold == warm == again
    assert all(e.per_message for e in cold)


@pytest.mark.parametrize("text", texts())
def test_per_text_features_equal_their_uncached_computation(text: str) -> None:
    assert _buyer_text(text) == _buyer_text.__wrapped__(text)
    assert _agent_text(text) == _agent_text.__wrapped__(text)


@given(CHAT_TEXT)
def test_buyer_view_equals_the_single_functions(text: str) -> None:
    """One normalisation gives what the five public helpers give one by one."""
    view = buyer_view(text)
    assert view.cues == buyer_cues(text)
    assert view.card is is_card(text)
    assert view.ack is is_acknowledgement(text)
    assert view.grams == bigram_set(text)
    assert view.length == content_length(text)


@given(CHAT_TEXT, st.lists(CHAT_TEXT, max_size=10), st.sampled_from([0.3, 0.6, 0.9, 1.0]))
def test_repeat_shortcut_equals_the_plain_comparison(
    text: str, earlier: list[str], threshold: float
) -> None:
    """The size shortcut never changes whether a message repeats an earlier one."""
    grams = bigram_set(text)
    sets = [bigram_set(t) for t in earlier]
    plain = any(is_repeat_of(grams, g, threshold=threshold, min_bigrams=3) for g in sets)
    assert _repeats(grams, sets, threshold) is plain


def test_trace_rows_are_in_feature_order() -> None:
    """Each state row has one value per FEATURES name, in that order."""
    conv = Conversation.from_records(
        [{"role": "buyer", "text": "再不发货我就打12315投诉"}, {"role": "agent", "text": "好的"}],
        id="order",
    )
    rows = _trace(conv, policy=EscalationPolicy(), sentiment=None, politeness=None).features
    assert [len(r) for r in rows] == [len(FEATURES)] * 2
    first = dict(zip(FEATURES, rows[0], strict=True))
    assert first["threat"] == 3.0  # 12315: the strongest threat
    assert first["length"] == math.log1p(1)  # one buyer message so far
    assert first["unanswered_run"] == 0.0
    assert dict(zip(FEATURES, rows[1], strict=True))["threat"] < 3.0  # it decays


class TestBatchedSentiment:
    def test_one_batch_per_new_texts_and_nan_is_undefined(self) -> None:
        calls: list[list[str]] = []

        def scores(batch: list[str]) -> list[float]:
            calls.append(list(batch))
            return [math.nan if t == "[数字x]" else 0.25 for t in batch]

        fn = _BatchedSentiment(scores)
        fn.prime(["好的", "太差了", "好的", "[数字x]"])
        assert calls == [["好的", "太差了", "[数字x]"]]
        assert fn("好的") == 0.25
        assert fn("[数字x]") is None
        fn.prime(["好的", "太差了"])
        assert len(calls) == 1  # nothing new: no call
        assert fn("在吗") == 0.25  # unseen text: scored on its own
        assert calls[-1] == ["在吗"]

    def test_a_full_cache_is_emptied_and_values_stay_right(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_escalation, "_CACHE_LIMIT", 2)
        fn = _BatchedSentiment(lambda batch: [len(t) / 10 for t in batch])
        fn.prime(["好的", "谢谢你"])
        fn.prime(["太差了吧"])  # would exceed the limit: the cache starts again
        assert fn("好的") == pytest.approx(0.2)
        assert fn("太差了吧") == pytest.approx(0.4)
        assert fn("谢谢你") == pytest.approx(0.3)

    def test_default_equals_the_public_sentiment(self) -> None:
        """The batched default gives sentiment(text).score exactly (None when undefined)."""
        default, _ = _defaults()
        assert isinstance(default, _BatchedSentiment)
        for text in texts():
            assert default(text) == sentiment(text).score, text


@pytest.mark.parametrize(
    ("loader", "name", "module", "attr"),
    [
        (_default_sentiment, "sentiment", _escalation._sentiment, "sentiment_scores"),
        (_default_politeness, "politeness", _escalation._politeness, "PolitenessScorer"),
    ],
)
def test_a_default_signal_that_cannot_load_is_off_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
    loader: Callable[[], object],
    name: str,
    module: object,
    attr: str,
) -> None:
    """Never silently: a default analyser whose model cannot load switches its signal off
    with a warning that says so."""

    def broken(*_args: object, **_kwargs: object) -> object:
        raise ModelFileError("kefu_standards/data/model: truncated file")

    monkeypatch.setattr(module, attr, broken)
    with pytest.warns(KefuWarning, match=f"the {name} signal is off"):
        assert loader() is None


def test_default_signals_are_on() -> None:
    """Both library analysers are found (they live in the private _sentiment/_politeness)."""
    s, p = _defaults()
    assert s is not None
    assert p is not None
