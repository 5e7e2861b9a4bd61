"""Specification of the text analysers' fast paths: each equals its plain reference.

The references, all in this file:

- **features**: :meth:`FeatureBuilder.transform` (numpy, a batch at a time) is the
  reference of :meth:`FeatureBuilder.transform_one` (plain Python, one text): the
  same occurrences, in the same order, with the same buckets, values and spans.
- **sentiment**: the vectorised :meth:`SentimentModel.analyse` (``sentiment_many``)
  is the reference of ``sentiment(text)``: the same score to the last bit, label
  and evidence, for any text, alone or in a batch.
- **offensive model**: :meth:`OffensiveModel.logits` is the reference of
  :meth:`OffensiveModel.logit_one`.
- **politeness**: ``politeness_many`` is the reference of ``politeness(text)``.
- **normalisation**: ``str.translate`` with the fold dict is the reference of
  :func:`~kefu_standards.text.fold`'s string table.
- **caches**: a result kept in a :class:`TextCache` equals the result computed
  without one.
"""

from __future__ import annotations

import functools
import warnings
from importlib import resources

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu_standards import _features, _politeness
from kefu_standards._escalation import buyer_sentiment_scores
from kefu_standards._offensive import default_model as offensive_model
from kefu_standards._politeness import Lexicon, politeness, politeness_many
from kefu_standards._sentiment import (
    _ONE_TEXT_MAX,
    SentimentModel,
    _emoticon_codes,
    _normalize_many,
    _undefined_reason,
    sentiment,
    sentiment_many,
    shared_scores,
)
from kefu_standards._textcache import TextCache
from kefu_standards.exceptions import UndefinedMetricWarning
from kefu_standards.resources import data_file
from kefu_standards.text import _fold_table, fold, normalize

# ---------------------------------------------------------------- generated texts

#: Pieces of chat that reach every feature: negators, intensifiers, sarcasm and cue
#: words, lexicon words, punctuation runs, Traditional and full-width forms, emoji,
#: placeholders and emoticon codes, whitespace, NUL and a lone surrogate.
_PIECES = st.one_of(
    st.sampled_from(
        [
            "好的",
            "谢谢亲",
            "謝謝",
            "不好",
            "没有问题",
            "别人",
            "不过",
            "太差了",
            "非常满意",
            "超级慢",
            "呵呵",
            "无语",
            "服了",
            "怎么还不发货",
            "投诉",
            "凭什么",
            "降价",
            "您好",
            "请稍等",
            "不知道",
            "你自己看",
            "滚",
            "白痴",
            "說了多少遍",
            "亲，您好！",
            "!!",
            "!!!",
            "??",
            "？？？",
            "?!",
            "...",
            "…",
            "。。",
            "ＯＫ",
            "ＡＢＣ１２３",
            "😀",
            "👍🏻",
            "[数字x]",
            "[ORDERID_123]",
            "[图片]",
            "#E-s[数字x]",
            "#E-b12",
            "/:^_^",
            "/:Q",
            "/:809",
            " ",
            "\u3000",
            "\n",
            "\t",
            "\x00",
            "\ud83d",
        ]
    ),
    st.text(min_size=1, max_size=4),
)
_TEXTS = st.lists(_PIECES, max_size=12).map("".join)
#: Long texts: past the one-text path's length limit, and long ones within it.
_LONG = st.lists(_PIECES, min_size=60, max_size=140).map("".join)
_ANY = st.one_of(_TEXTS, _LONG, st.just(""), st.text(max_size=40))


@functools.cache
def _uncached() -> SentimentModel:
    """The packaged model without a result cache, so every call computes (one, shared)."""
    return attrs.evolve(SentimentModel.default(), cache_size=0)


def _fresh_lexicon() -> Lexicon:
    """The built-in markers as a new lexicon: the same results, never cached."""
    return Lexicon(Lexicon.default().markers, "copy")


def _quiet_politeness(text: str, lexicon: Lexicon | None = None) -> _politeness.Politeness:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return politeness(text, lexicon=lexicon)


# ---------------------------------------------------------------- features


class TestFeatures:
    """``transform_one`` gives :meth:`FeatureBuilder.transform`'s arrays for one text."""

    @settings(deadline=None)
    @given(_ANY)
    def test_one_text_equals_the_batch(self, text: str) -> None:
        """Same occurrences in the same order: spans, kinds, buckets and values."""
        features = SentimentModel.default().features
        norm, emoticons = normalize(text), _emoticon_codes(text)
        batch = features.transform([norm], [emoticons])
        one = features.transform_one(norm, emoticons)
        scale = np.float32(1.0) / np.sqrt(np.float32(max(len(one), 1)))
        assert [(s, e, k, b) for s, e, k, b, _ in one] == list(
            zip(
                batch.start.tolist(),
                batch.end.tolist(),
                batch.kind.tolist(),
                batch.bucket.tolist(),
                strict=True,
            )
        )
        assert [np.float32(sign) * scale for *_, sign in one] == batch.value.tolist()

    @settings(deadline=None)
    @given(_ANY)
    def test_weighed_text_equals_the_hashes(self, text: str) -> None:
        """The compiled tables give each feature of ``hashes_one`` its key and signed weight.

        Same features in the same order; the weight is the bucket's weight times the sign.
        """
        model = _uncached()
        weighed = model._compile()
        assert weighed is not None  # the packaged lexicon is known by string
        norm, emoticons = normalize(text), _emoticon_codes(text)
        spans, hashes = model.features.hashes_one(norm, emoticons)
        keys, signed = weighed.weigh(norm, emoticons)
        assert keys == [(s, e, _features.KIND_NAMES[k]) for s, e, k in spans]
        shift = 64 - model.features.bits
        weights = model.weights.astype(np.float64)
        want = [-weights[h >> shift] if h & 1 else weights[h >> shift] for h in hashes]
        assert signed == [float(w) for w in want]

    def test_unknown_lexicon_words_fall_back_to_hashing(self) -> None:
        """A lexicon entry not known by string: no compiled tables, the same results."""
        default = SentimentModel.default()
        extra = _features.string_hashes(["zzqq"])
        lexicon = np.sort(np.concatenate([default.features.lexicon_pos, extra]))
        features = attrs.evolve(default.features, lexicon_pos=lexicon)
        model = attrs.evolve(default, features=features, cache_size=0)
        assert model._compile() is None
        for text in ("zzqq 很好", "不zzqq", "好的谢谢", "太差了!!"):
            assert sentiment(text, model=model) == sentiment_many([text], model=model)[0]
        assert sentiment("zzqq", model=model).evidence[0].kind == "lexicon"

    @given(st.lists(st.integers(0, 2**64 - 1), max_size=20))
    def test_unmix_inverts_the_finaliser(self, values: list[int]) -> None:
        """The look-up tables rely on the finaliser being a bijection of uint64."""
        h = np.array(values, dtype=np.uint64)
        assert _features._unmix(_features._mix(h.copy())).tolist() == values
        assert _features._mix_all(values) == _features._mix(h.copy()).tolist()


# ---------------------------------------------------------------- sentiment


class TestSentiment:
    """``sentiment(text)`` equals ``sentiment_many`` for the same text."""

    @settings(deadline=None)
    @given(_ANY, st.lists(_TEXTS, max_size=3))
    def test_single_equals_batch(self, text: str, others: list[str]) -> None:
        """Score (to the last bit), label, evidence and reason, alone or among others."""
        model = _uncached()
        single = sentiment(text, model=model)
        assert sentiment_many([text], model=model) == [single]
        assert sentiment_many([*others, text], model=model)[-1] == single
        assert repr(single) == repr(sentiment_many([text], model=model)[0])

    @settings(deadline=None)
    @given(_LONG)
    def test_plain_path_equals_batch_on_long_texts(self, text: str) -> None:
        """The plain-Python scoring holds past the length where ``sentiment`` stops using it."""
        model, norm = _uncached(), normalize(text)
        if _undefined_reason(text, norm) is None:
            want = model._compute([text], [norm], True)[0]
            assert model._compute_one(text, norm) == want
            weighed = model._compile()
            assert weighed is not None
            assert model._compute_weighed(weighed, text, norm) == want

    def test_long_text_takes_the_vectorised_path(self) -> None:
        """Past the limit the one-text call scores through the batch path, with equal results."""
        text = "质量很好，物流也快，客服态度不错。" * (_ONE_TEXT_MAX // 16 + 1)
        assert len(normalize(text)) > _ONE_TEXT_MAX
        assert sentiment(text, model=_uncached()) == sentiment_many([text], model=_uncached())[0]

    def test_repeats_and_spellings_agree(self) -> None:
        """Repeats give equal results; Traditional scores like Simplified."""
        texts = ["好的", "在吗", "好的", "謝謝", "谢谢", "", "太差了"]
        many = sentiment_many(texts)
        assert many == [sentiment(t) for t in texts]
        assert many[0] == many[2]
        assert many[3].score == many[4].score
        assert many[3].evidence[0].text in "謝謝"

    @given(st.lists(st.lists(_PIECES, max_size=4).map("".join), min_size=8, max_size=20))
    def test_batch_normalisation_matches_per_text(self, texts: list[str]) -> None:
        """The one-pass batch normalisation equals normalising text by text."""
        assert _normalize_many(texts) == [normalize(t) for t in texts]


@functools.cache
def _chat_head_model() -> SentimentModel:
    """The escalation chat-negativity head: another model with the packaged features."""
    with resources.as_file(data_file("escalation/cped_negativity.npz")) as path:
        return SentimentModel.load(path)


class TestSharedScores:
    """``shared_scores`` gives each model's ``scores``, with one feature batch for all."""

    @settings(deadline=None)
    @given(st.lists(_ANY, max_size=6), st.lists(_ANY, max_size=6))
    def test_equals_each_model_alone(self, texts: list[str], head_texts: list[str]) -> None:
        """The packaged model and the chat-negativity head: each value as ``scores`` gives it."""
        default = attrs.evolve(SentimentModel.default(), cache_size=64)
        head = attrs.evolve(_chat_head_model(), cache_size=64)
        got = shared_scores(((default, texts), (head, head_texts)))
        want = [_uncached().scores(texts), attrs.evolve(head, cache_size=0).scores(head_texts)]
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w, equal_nan=True)
        # the texts are now kept by each model: a later call is a cache read of the same values
        assert np.array_equal(default.scores(texts), want[0], equal_nan=True)

    @settings(deadline=None)
    @given(st.lists(_ANY, max_size=8))
    def test_buyer_scores_are_the_sentiment_scores(self, texts: list[str]) -> None:
        """What ``signals_many`` reads: ``sentiment_scores``, the head primed on the way."""
        got = buyer_sentiment_scores(texts)
        assert np.array_equal(got, _uncached().scores(texts), equal_nan=True)

    def test_models_with_other_features_are_scored_alone(self) -> None:
        """Different feature configurations: no shared batch, the same values."""
        default = SentimentModel.default()
        other = SentimentModel.train(["好的谢谢", "太差了"], [1, 0], bits=10, use_lexicon=False)
        texts = ["好的谢谢亲", "太差了吧", ""]
        got = shared_scores(((default, texts), (other, texts)))
        assert np.array_equal(got[0], _uncached().scores(texts), equal_nan=True)
        assert np.array_equal(
            got[1], attrs.evolve(other, cache_size=0).scores(texts), equal_nan=True
        )


class TestSentimentCache:
    """The model's one cache, keyed by text, never changes a result."""

    @given(st.lists(_TEXTS, max_size=10), st.booleans())
    def test_cached_results_equal_uncached(self, texts: list[str], evidence: bool) -> None:
        """Whatever was asked before (scores only, or full results), a hit equals a fresh result.

        ``evidence=False`` only says evidence is not needed: a hit may still carry it.
        """
        model = attrs.evolve(SentimentModel.default(), cache_size=8)
        model.scores(texts)
        for t in texts[:3]:
            model._analyse_one(t)
        got = model.analyse(texts + texts, evidence=evidence)
        want = _uncached().analyse(texts + texts, evidence=True)
        if evidence:
            assert got == want
        else:
            assert [(s.score, s.label, s.reason) for s in got] == [
                (s.score, s.label, s.reason) for s in want
            ]
        assert np.array_equal(model.scores(texts), _uncached().scores(texts), equal_nan=True)

    def test_cache_is_bounded_and_clearable(self) -> None:
        """At most ``cache_size`` texts are kept; ``clear_cache`` forgets them."""
        model = attrs.evolve(SentimentModel.default(), cache_size=3)
        model.scores(["好的", "在吗", "谢谢", "太差了", "[数字x]"])
        assert len(model._cache) == 3
        model.clear_cache()
        assert len(model._cache) == 0


# ---------------------------------------------------------------- politeness


class TestOffensive:
    """``logit_one`` is :meth:`OffensiveModel.logits` of one text, to the last bit."""

    @settings(deadline=None)
    @given(_ANY, st.lists(_TEXTS, max_size=3))
    def test_one_text_equals_the_batch(self, text: str, others: list[str]) -> None:
        """The same float alone or among other texts."""
        model, norm = offensive_model(), normalize(text)
        batch = model.logits([*[normalize(t) for t in others], norm])[-1]
        assert model.logit_one(norm) == batch
        assert model._logit_plain(norm) == batch  # the plain path at any length


class TestPoliteness:
    """``politeness(text)`` equals ``politeness_many`` for the same text."""

    @settings(deadline=None)
    @given(_ANY, st.lists(_TEXTS, max_size=3))
    def test_single_equals_batch(self, text: str, others: list[str]) -> None:
        """Score, label, evidence and offensive probability, with a lexicon nothing caches."""
        lexicon = _fresh_lexicon()
        single = _quiet_politeness(text, lexicon)
        assert politeness_many([*others, text], lexicon=lexicon)[-1] == single
        assert repr(politeness_many([text], lexicon=lexicon)[0]) == repr(single)

    @given(st.lists(_TEXTS, max_size=8))
    def test_cached_results_equal_fresh_scoring(self, texts: list[str]) -> None:
        """The built-in lexicon's cache gives what scoring afresh gives."""
        repeated = texts + texts[::-1]
        fresh = list(politeness_many(repeated, lexicon=_fresh_lexicon()))
        assert list(politeness_many(repeated)) == fresh
        assert [_quiet_politeness(t) for t in repeated] == fresh

    def test_cache_is_for_the_built_in_lexicon_only(self) -> None:
        """A custom lexicon is never answered from the built-in lexicon's cache."""
        assert politeness_many(["亲，好的"])[0].evidence[0].text == "亲"
        without = Lexicon.default().without("亲")
        (scored,) = politeness_many(["亲，好的"], lexicon=without)
        assert all(e.text != "亲" for e in scored.evidence)
        assert politeness("亲，好的", lexicon=without) == scored
        assert politeness_many(["亲，好的"])[0].evidence[0].text == "亲"


# ---------------------------------------------------------------- normalisation


class TestFold:
    """The string table of :func:`fold` folds as the dict table does."""

    @given(st.text(max_size=50))
    def test_fold_equals_the_dict_table(self, text: str) -> None:
        """Any text, astral characters included."""
        assert fold(text) == text.translate(_fold_table())

    def test_every_folded_character(self) -> None:
        """Each character of the table, and the first one past its end."""
        table = _fold_table()
        chars = "".join(map(chr, table)) + chr(max(table) + 1)
        assert fold(chars) == chars.translate(table)


# ---------------------------------------------------------------- the cache itself


class TestTextCache:
    """:class:`TextCache` is a bounded first-in-first-out map from text to result."""

    def test_keeps_at_most_maxsize_and_drops_the_oldest(self) -> None:
        """The oldest entry goes first, read or not; putting a kept key again keeps its place."""
        cache: TextCache[int] = TextCache(2)
        cache.put_many([("a", 1), ("b", 2)])
        assert cache.get("a") == 1
        cache.put("b", 20)
        cache.put("c", 3)
        assert cache.get_many(["a", "b", "c"]) == [None, 20, 3]
        assert len(cache) == 2

    @pytest.mark.parametrize("maxsize", [0, -1])
    def test_size_zero_keeps_nothing(self, maxsize: int) -> None:
        """A cache of size 0 misses every time."""
        cache: TextCache[int] = TextCache(maxsize)
        cache.put("a", 1)
        assert cache.get_many(["a", "b"]) == [None, None]
        assert len(cache) == 0

    def test_clear(self) -> None:
        """``clear`` empties it."""
        cache: TextCache[int] = TextCache(4)
        cache.put_many([("a", 1), ("b", 2)])
        cache.clear()
        assert cache.get_many(["a", "b"]) == [None, None]
