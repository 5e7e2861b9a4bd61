"""Specification of the text analysers' fast paths: each equals its plain reference.

The references, all in this file:

- **features**: :meth:`FeatureBuilder.transform` (numpy, a batch at a time) is the
  reference of :meth:`FeatureBuilder.transform_one` (plain Python, one text): the
  same occurrences, in the same order, with the same buckets, values and spans.
- **sentiment**: the vectorised :meth:`SentimentModel.analyse` (``sentiment_many``)
  is the reference of ``sentiment(text)``: the same score to the last bit, label
  and evidence, for any text, alone or in a batch.
- **offensive model**: the formula over the text's 1- and 2-grams in text order
  (:func:`math.fsum`) is the reference of :meth:`OffensiveModel.logit`, which
  :meth:`OffensiveModel.logits` runs for each text of a batch.
- **politeness**: ``politeness_many`` is the reference of ``politeness(text)``.
- **phrase matcher**: a brute-force scan (every phrase tried at every position with
  ``str.startswith``, longest first, each vetted by ``accept`` in turn) is the
  reference of :meth:`PhraseMatcher.spans` (the trie walk) and of ``find``; the
  politeness markers found with it (and the context rules) are the reference of the
  scoring path's hits; ``max`` over every sentence boundary is the reference of
  ``_sentence_cut``.
- **normalisation**: ``str.translate`` with the fold dict is the reference of
  :func:`~kefu_standards.text.fold`'s string table.
- **caches**: a result kept in a :class:`TextCache` equals the result computed
  without one.

The analysis fast paths, one section each further down:

- **analysis shortcuts**: escalation, model construction and the scorers' shortcuts
  equal the computations they replace;
- **timing routes**: the aggregate path's fast routes equal the plain ones;
- **plain timing**: ``response_times`` without numpy equals the array route;
- **competency shortcuts**: the scorecard's cached helpers equal their definitions;
- **escalation shortcuts**: escalation's caches, batching and shortcuts change no result.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kefu_standards as ks
from conftest import CHAT_START, escalation_chats, gap_chat
from kefu_standards import _escalation_model, _features, _politeness, _quantiles
from kefu_standards._competency_cues import CueMessage, cue_view
from kefu_standards._cues import (
    _bigrams,
    bigram_set,
    buyer_cues,
    buyer_view,
    content_length,
    is_acknowledgement,
    is_card,
    is_exasperated,
    is_repeat_of,
)
from kefu_standards._escalation import (
    FEATURES,
    Escalation,
    EscalationPolicy,
    escalation,
    sentiment_readings,
)
from kefu_standards._escalation_model import (
    LibrarySentiment,
    _default_model,
    _default_politeness,
    _default_sentiment,
    _sigmoid,
    default_signals,
    outcome_logit_of,
)
from kefu_standards._escalation_text import (
    _clear_caches,
    parse_agent_text,
    parse_buyer_text,
    repeats_earlier,
)
from kefu_standards._escalation_walk import _trace
from kefu_standards._frozendict import FrozenDict
from kefu_standards._matcher import Match, PhraseMatcher
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
from kefu_standards._time import as_aware
from kefu_standards._timing_agg import (
    MISSING,
    ROLE_CODES,
    compute_rounds,
    fast_group_sums,
    fast_path_applies,
    group_sums,
    is_transfer_line,
    iter_columns,
    times_us,
)
from kefu_standards._timing_calendar import to_us
from kefu_standards.evidence import _to_details
from kefu_standards.exceptions import KefuWarning, ModelFileError, UndefinedMetricWarning
from kefu_standards.model import Conversation, Message, Role
from kefu_standards.resources import data_file
from kefu_standards.scorers._base import (
    DEADLINE_RE,
    agent_messages,
    buyer_messages,
    deadline_spans,
)
from kefu_standards.scorers._responsibility import _substantive
from kefu_standards.scoring import ScoreResult
from kefu_standards.text import (
    _CONTENT_RE,
    _fold_table,
    blank_placeholders,
    fold,
    has_content,
    normalize,
)
from kefu_standards.timing import (
    BusinessHours,
    TimingPolicy,
    TimingSummary,
    _plain_policy,
    _plain_response_times,
    _vectorised_response_times,
    response_times,
)

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
    @given(st.lists(_ANY, max_size=8), st.lists(_ANY, max_size=8))
    def test_readings_are_each_models_scores(self, texts: list[str], chat: list[str]) -> None:
        """What ``signals_many`` and ``escalation`` read: ``sentiment_scores`` of *texts* and
        each CPED head's log-odds of *chat*, ``None`` where undefined, from one batch."""
        sentiment_of, heads_of = sentiment_readings(texts, chat)
        want = _uncached().scores(texts).tolist()
        assert [sentiment_of[t] for t in texts] == [None if math.isnan(x) else x for x in want]
        loaders = (
            _escalation_model._chat_head_model,
            _escalation_model._thanks_head_model,
            _escalation_model._disagreement_head_model,
        )
        assert len(heads_of) == len(loaders)
        for load, of in zip(loaders, heads_of, strict=True):
            head = attrs.evolve(load(), cache_size=0)
            p = np.clip(head.scores(chat), 1e-9, 1.0 - 1e-9)
            neg = (head.bias - np.log(p / (1.0 - p))).tolist()
            assert of is not None or not chat
            got = [of[t] for t in chat] if of is not None else []
            assert got == [None if math.isnan(x) else x for x in neg]

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
    """``logit`` is the model's formula, and the same float alone or in a batch."""

    @settings(deadline=None)
    @given(_ANY, st.lists(_TEXTS, max_size=3))
    def test_one_text_equals_the_batch(self, text: str, others: list[str]) -> None:
        """The same float alone or among other texts."""
        model, norm = offensive_model(), normalize(text)
        assert model.logits([*[normalize(t) for t in others], norm])[-1] == model.logit(norm)

    @settings(deadline=None)
    @given(_ANY)
    def test_logit_is_the_formula(self, text: str) -> None:
        """``bias + sum(table weights of the 1- and 2-grams) / sqrt(their number)``."""
        model, norm = offensive_model(), normalize(text)
        table = dict(zip(model.grams, map(float, model.weights), strict=True))
        raw = norm.encode("utf-16-le", "surrogatepass")
        units = [raw[i : i + 2] for i in range(0, len(raw), 2)]
        grams = [
            b"".join(units[i : i + k]).decode("utf-16-le", "surrogatepass")
            for k in (1, 2)
            for i in range(len(units) - k + 1)
        ]
        expected = (
            math.fsum(table.get(g, 0.0) for g in grams) / math.sqrt(len(grams)) + model.bias
            if grams
            else model.bias
        )
        assert model.logit(norm) == pytest.approx(expected, rel=1e-12, abs=1e-12)


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


# ---------------------------------------------------------------- phrase matcher

_Accept = Callable[[int, int, Any], Any]


def _plain_spans(
    phrases: Mapping[str, Any], text: str, accept: _Accept | None = None
) -> list[tuple[int, int, str, Any]]:
    """The reference scan: at each position every phrase is tried, longest first.

    The first phrase that ``accept`` keeps is the match and the scan goes on after
    it; when none is kept the scan moves one character on.
    """
    out: list[tuple[int, int, str, Any]] = []
    i = 0
    while i < len(text):
        here = sorted((p for p in phrases if text.startswith(p, i)), key=len, reverse=True)
        for phrase in here:
            end = i + len(phrase)
            kept = phrases[phrase] if accept is None else accept(i, end, phrases[phrase])
            if kept is not None:
                out.append((i, end, phrase, kept))
                i = end
                break
        else:
            i += 1
    return out


def _politeness_accept(norm: str) -> _Accept:
    """The context rules of a marker, applied in its order (what scoring applies)."""

    def accept(start: int, end: int, marker: Any) -> Any:
        for rule in marker.rules:
            marker = _politeness._RULES[rule](norm, start, end, marker)
            if marker is None:
                return None
        return marker

    return accept


#: Texts made of lexicon phrases (every built-in marker), rule triggers and noise.
_MARKER_TEXTS = st.lists(
    st.one_of(
        st.sampled_from([m.phrase for m in Lexicon.default().markers]),
        st.sampled_from(["?", "。", "请", "为什么", "不", "没有", "服了", "哦", "可以", "你"]),
        _PIECES,
    ),
    max_size=14,
).map("".join)
#: A small alphabet and few payloads, so that phrases nest, share prefixes and payloads.
_SMALL_PHRASES = st.dictionaries(
    st.text("ab", min_size=1, max_size=3), st.integers(0, 3), min_size=1, max_size=8
)


class TestPhraseMatcher:
    """The trie walk finds what trying every phrase at every position finds."""

    @given(_SMALL_PHRASES, st.data(), st.booleans())
    def test_spans_equal_the_brute_force_scan(
        self, phrases: dict[str, int], data: st.DataObject, with_vetted: bool
    ) -> None:
        """Leftmost-longest among the accepted; a ``vetted`` true to ``accept`` changes nothing.

        ``accept`` rejects one payload (*veto*) and rewrites those above it, so a
        rejected longest phrase falls back to a shorter one at the same start.
        """
        veto = data.draw(st.sampled_from(sorted(set(phrases.values()))), label="veto")
        pieces = st.one_of(st.sampled_from(sorted(phrases)), st.text("abx", max_size=2))
        text = data.draw(st.lists(pieces, max_size=10).map("".join), label="text")
        matcher = PhraseMatcher(phrases.items())

        def accept(start: int, end: int, payload: int) -> int | None:
            if payload == veto:
                return None
            return payload + 100 if payload > veto else payload

        vetted = {p for p, v in phrases.items() if v >= veto} if with_vetted else None
        expected = _plain_spans(phrases, text, accept)
        assert matcher.spans(text, accept=accept, vetted=vetted) == expected
        assert matcher.find(text, accept=accept) == [Match(*s) for s in expected]
        assert matcher.spans(text) == _plain_spans(phrases, text)

    @settings(deadline=None)
    @given(_MARKER_TEXTS)
    def test_politeness_hits_equal_the_brute_force_scan(self, text: str) -> None:
        """The built-in lexicon with its context rules: the same markers at the same spans."""
        lexicon = Lexicon.default()
        norm = normalize(text)
        phrases = {m.phrase: m for m in lexicon.markers}
        expected = _plain_spans(phrases, norm, _politeness_accept(norm))
        spans = lexicon.matcher.spans(norm, accept=_politeness_accept(norm), vetted=lexicon._vetted)
        assert spans == expected
        hits = [
            (e.start, e.end, e.kind, e.rule)
            for e in _politeness._marker_hits(text, norm, lexicon)[0]
        ]
        assert hits == [
            (start, end, m.kind, m.label) for start, end, _, m in expected if m.kind != "neutral"
        ]

    @given(st.text(".!?;。！？；\nab你", max_size=40))
    def test_sentence_cut_is_the_end_of_the_last_boundary(self, head: str) -> None:
        """One match of a greedy pattern finds the last ``.!?;。！？；`` or newline."""
        ends = [m.end() for m in _politeness._SENTENCE_START.finditer(head)]
        assert _politeness._sentence_cut(head) == max(ends, default=0)


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


# -- analysis shortcuts --------------------------------------------------------------------
# Specification of the analysis speed-ups: each shortcut equals the computation it replaces.
#
# - escalation: with the default signals, :func:`escalation` reads the sentiment cache and
#   a per-text politeness verdict directly; it must give the same :class:`Escalation`,
#   field for field, as the same signals called as plain functions, for any chat and
#   policy.  The benchmark's ``_trace`` (the state after each message) agrees with it.
# - model: ``Message`` keeps a ``Role``, an aware ``datetime``, a ``str`` sender and a
#   ``FrozenDict`` meta as they are instead of converting them again.

_fixture_chats = escalation_chats


def _bundled_examples() -> list[Conversation]:
    from kefu_standards.io import read_conversations
    from kefu_standards.resources import data_file

    return list(read_conversations(data_file("examples/conversations.jsonl")))


# -- escalation: the default signals' shortcuts equal plain calls ------------------------

#: Texts that fire every branch of the walk: threats, emotion, repeats, nudges, thanks,
#: acknowledgements, corrections, questions, problems, cards, info-only lines, holding
#: replies, apologies with remedies and deadlines, refusals, impolite replies.
_SHORTCUT_TEXTS = (
    "在吗",
    "人呢??",
    "？？",
    "发货了吗",
    "什么时候发货啊",
    "什么时候发货啊，我说过了",
    "快递一直没到，太慢了",
    "再不处理我就打12315投诉你们",
    "给差评，找你们主管",
    "气死了，垃圾服务",
    "谢谢，问题解决了",
    "好的",
    "嗯嗯",
    "不是这个意思，我的意思是换货",
    "质量有问题，要退款",
    "[ORDERID_1]",
    "#E-s[数字x]",
    "[数字x]",
    "",
    "   ",
    "亲，您好，请稍等",
    "稍等",
    "非常抱歉让您久等了，马上为您补发，24小时内发出",
    "已为您申请退款，预计[数字x]天到账",
    "抱歉，这个无法处理，请您联系快递",
    "不支持退换",
    "你自己看不懂吗",
    "爱买不买",
    "好的呢，还有什么可以帮您",
)
_ROLES = ("buyer", "buyer", "agent", "agent", "bot", "system")
_TURN = st.tuples(
    st.sampled_from(_ROLES),
    st.sampled_from(_SHORTCUT_TEXTS),
    st.one_of(st.none(), st.sampled_from([0.0, 5.0, 100.0, 179.9, 180.0, 400.0, 1000.0, 4000.0])),
)
_POLICIES = st.sampled_from(
    [
        EscalationPolicy(),
        EscalationPolicy(
            long_wait_s=30,
            holding_followup_s=60,
            apology_window=1,
            decay=0.5,
            threat_decay=0.9,
            average_weight=0.7,
            repeat_similarity=0.3,
        ),
    ]
)


def _chat(turns: list[tuple[str, str, float | None]]) -> Conversation:
    return gap_chat(turns, id="walk")


def _plain(fn: Any) -> Any:
    """The same signal behind a plain function (so no shortcut recognises it)."""
    return lambda text: fn(text)  # noqa: PLW0108 - a new object on purpose


def _assert_same(conv: Conversation, policy: EscalationPolicy) -> None:
    sent, pol = _escalation_model.lazy_sentiment(), _escalation_model.lazy_politeness()
    assert sent is not None
    assert pol is not None
    fast = escalation(conv, policy=policy)
    plain = escalation(conv, policy=policy, sentiment=_plain(sent), politeness=_plain(pol))
    assert fast == plain
    assert repr(fast) == repr(plain)  # the same floats, evidence and reason order
    if conv.messages:  # the benchmark's trace reads the same walk
        rows = _trace(conv, policy=policy, sentiment=sent, politeness=pol).features
        assert len(rows) == len(conv.messages)
        assert round(_sigmoid(outcome_logit_of(rows[-1], _default_model())), 6) == fast.score


def test_shortcuts_equal_plain_calls_on_the_fixture_chats() -> None:
    for conv in _fixture_chats():
        _assert_same(conv, EscalationPolicy())


def test_shortcuts_equal_plain_calls_on_the_bundled_examples() -> None:
    for conv in _bundled_examples():
        _assert_same(conv, EscalationPolicy())


#: Chats that reach each branch of the walk at least once (``role, text, gap``).
_BRANCHES: dict[str, list[tuple[str, str, float | None]]] = {
    "long wait, no apology after it": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "好的呢，还有什么可以帮您", 400.0),
        ("agent", "稍等", 5.0),
        ("agent", "好的呢，还有什么可以帮您", 5.0),
        ("agent", "好的", 5.0),
    ],
    "long wait, then an apology": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "好的", 400.0),
        ("agent", "非常抱歉让您久等了，马上为您补发，24小时内发出", 5.0),
    ],
    "holding reply followed up too late": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "稍等", 5.0),
        ("agent", "已为您申请退款，预计[数字x]天到账", 1000.0),
    ],
    "buyer chases a holding reply": [
        ("buyer", "发货了吗", 0.0),
        ("agent", "稍等", 5.0),
        ("buyer", "人呢??", 100.0),
        ("agent", "稍等", 5.0),
        ("buyer", "什么时候发货啊，我说过了", 4000.0),
    ],
    "buyer keeps waiting": [
        ("buyer", "快递一直没到，太慢了", 0.0),
        ("buyer", "在吗", 400.0),
        ("buyer", "再不处理我就打12315投诉你们", 1000.0),
        ("buyer", "质量有问题，要退款", None),
        ("agent", "抱歉，这个无法处理，请您联系快递", 5.0),
    ],
    "thanks, acknowledgements and info-only lines": [
        ("buyer", "不是这个意思，我的意思是换货", 0.0),
        ("agent", "你自己看不懂吗", 5.0),
        ("buyer", "[ORDERID_1]", 5.0),
        ("buyer", "嗯嗯", 5.0),
        ("agent", "已为您申请退款，预计[数字x]天到账", 5.0),
        ("buyer", "气死了，垃圾服务，谢谢", 5.0),
        ("buyer", "谢谢，问题解决了", 5.0),
    ],
}


@pytest.mark.parametrize("name", list(_BRANCHES))
def test_shortcuts_equal_plain_calls_on_each_branch(name: str) -> None:
    for policy in (EscalationPolicy(), EscalationPolicy(long_wait_s=30, apology_window=1)):
        _assert_same(_chat(_BRANCHES[name]), policy)


@settings(max_examples=300)
@given(st.lists(_TURN, max_size=16), _POLICIES)
def test_shortcuts_equal_plain_calls_on_any_chat(
    turns: list[tuple[str, str, float | None]], policy: EscalationPolicy
) -> None:
    _assert_same(_chat(turns), policy)


def test_walk_covers_the_end_of_chat_holding_lapse() -> None:
    """A holding reply left last: the final state changes after the last message."""
    conv = _chat([("buyer", "发货了吗", 0.0), ("agent", "稍等", 5.0)])
    e = escalation(conv)
    assert e.reason("holding_unfollowed") is not None
    _assert_same(conv, EscalationPolicy())


def test_walk_of_an_empty_chat() -> None:
    conv = Conversation(id="empty", messages=())
    assert escalation(conv) == escalation(conv, sentiment=None, politeness=None)
    assert escalation(conv).per_message == ()


# -- model: Message keeps values that need no conversion ----------------------------------


class _Str(str):
    """A str subclass (converted to a plain str, as before)."""


class _When(datetime):
    """A datetime subclass (takes the general path)."""


_NAIVE = datetime(2024, 5, 6, 9, 0)
_AWARE = CHAT_START


@pytest.mark.parametrize(
    ("role", "sent_at", "sender", "meta"),
    [
        (Role.BUYER, _AWARE, "jd_买家", None),
        ("customer", _NAIVE, 12345, {"a": [1, 2]}),
        ("客服", None, None, FrozenDict({"k": "v"})),
        (Role.SYSTEM, _When(2024, 5, 6, 9, 0, tzinfo=timezone.utc), _Str("小美"), {}),
        (Role.AGENT, _When(2024, 5, 6, 9, 0), "", FrozenDict()),
    ],
)
def test_message_fields_equal_the_general_conversion(
    role: Any, sent_at: datetime | None, sender: Any, meta: Any
) -> None:
    kwargs: dict[str, Any] = {} if meta is None else {"meta": meta}
    m = Message(role, "好的", sent_at, sender, **kwargs)
    assert m.role is Role.parse(role)
    expected_time = None if sent_at is None else as_aware(sent_at)
    assert m.sent_at == expected_time
    assert repr(m.sent_at) == repr(expected_time)
    assert m.sender == (None if sender is None else str(sender))
    assert type(m.sender) is (type(None) if sender is None else str)
    assert type(m.meta) is FrozenDict
    assert m.meta == FrozenDict(meta)
    assert hash(m) == hash(
        Message(Role.parse(role), "好的", expected_time, m.sender, FrozenDict(meta))
    )


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Message("nobody", "x"), "unknown role"),
        (lambda: Message(Role.BUYER, "x", "2024-05-06"), "sent_at must be a datetime"),
        (lambda: Message(Role.BUYER, 3), "must be a str"),  # type: ignore[arg-type]
    ],
)
def test_message_still_rejects_bad_values(make: Callable[[], Message], error: str) -> None:
    from kefu_standards.exceptions import ConfigError

    with pytest.raises(ConfigError, match=error):
        make()


def test_messages_without_meta_share_one_empty_mapping() -> None:
    a, b = Message(Role.BUYER, "a"), Message(Role.AGENT, "b")
    assert a.meta == {}
    assert a.meta is b.meta
    conv = Conversation(id="c", messages=(a, b))
    assert conv.meta == {}
    assert type(conv.meta) is FrozenDict


# -- FrozenDict and ScoreResult: the scalar fast paths ------------------------------------


def _frozen_reference(data: Any) -> dict[str, Any]:
    """The mapping FrozenDict held before its fast path (a comprehension over freeze)."""
    from kefu_standards._frozendict import freeze

    return {(k if type(k) is str else str(k)): freeze(v) for k, v in data.items()}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"a": 1, "b": 2.5, "c": None, "d": True, "e": "x"},
        {1: "int key", ("t",): "tuple key"},
        {"s": _Str("str subclass"), "l": [1, [2, {"x": 3}]], "t": (1, 2), "m": {"n": {}}},
        {"f": FrozenDict({"k": [1]}), "set": frozenset({1})},
    ],
)
def test_frozendict_holds_what_freeze_gives(data: dict[Any, Any]) -> None:
    fd = FrozenDict(data)
    assert fd._data == _frozen_reference(data)
    assert [type(v) for v in fd._data.values()] == [
        type(v) for v in _frozen_reference(data).values()
    ]
    assert hash(fd) == hash(FrozenDict(fd))


@given(
    st.dictionaries(
        st.one_of(st.text(max_size=3), st.integers()),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
            max_leaves=6,
        ),
        max_size=5,
    )
)
def test_frozendict_fast_path_on_any_mapping(data: dict[Any, Any]) -> None:
    assert repr(FrozenDict(data)._data) == repr(_frozen_reference(data))


@pytest.mark.parametrize("score", [0.0, -0.0, 0.5, 1.0, 1, 0, None])
def test_score_result_keeps_valid_scores(score: float | None) -> None:
    from kefu_standards.scoring import ScoreResult

    r = ScoreResult(score, (), "n/a" if score is None else "")
    assert r.score == (None if score is None else float(score))
    assert repr(r.score) == repr(None if score is None else float(score))


@pytest.mark.parametrize("score", [float("nan"), -0.1, 1.0000001, float("inf"), True, "0.5"])
def test_score_result_still_rejects_bad_scores(score: Any) -> None:
    from kefu_standards.exceptions import ConfigError
    from kefu_standards.scoring import ScoreResult

    with pytest.raises(ConfigError):
        ScoreResult(score)


def test_score_result_evidence_is_still_checked() -> None:
    from kefu_standards.evidence import Evidence
    from kefu_standards.exceptions import ConfigError
    from kefu_standards.scoring import ScoreResult

    ev = Evidence(0, 1, "好", "kind", 1.0)
    assert ScoreResult(1.0, (ev, ev)).evidence == (ev, ev)
    assert ScoreResult(1.0, [ev]).evidence == (ev,)
    with pytest.raises(ConfigError, match=r"evidence\[1\]"):
        ScoreResult(1.0, (ev, "not evidence"))  # type: ignore[arg-type]


# -- dimension scorers: the default politeness read from the signals ------------------------


def _default_politeness_fn() -> Callable[[str], Any]:
    """The default politeness as an injected function (so the scorers take the general path)."""
    from kefu_standards._politeness import PolitenessScorer

    scorer = PolitenessScorer()
    return scorer.score_text


def _politeness_scorers() -> list[tuple[Any, Any]]:
    """``(default scorer, the same scorer with the default politeness injected)`` pairs."""
    from kefu_standards.scorers import (
        NoInsultScorer,
        ServiceAttitudeScorer,
        StressResilienceScorer,
    )

    fn = _default_politeness_fn()
    return [
        (ServiceAttitudeScorer(), ServiceAttitudeScorer(politeness=fn)),
        (StressResilienceScorer(), StressResilienceScorer(politeness=fn)),
        (NoInsultScorer(), NoInsultScorer(politeness=fn)),
        (NoInsultScorer(model_threshold=0.1), NoInsultScorer(politeness=fn, model_threshold=0.1)),
    ]


def _assert_scorers_agree(conv: Conversation) -> None:
    for cached, general in _politeness_scorers():
        a, b = cached.score(conv), general.score(conv)
        assert a == b, cached.name
        assert repr(a) == repr(b), cached.name


def test_cached_politeness_reads_agree_on_the_fixture_chats() -> None:
    for conv in [*_fixture_chats(), *_bundled_examples()]:
        _assert_scorers_agree(conv)


@given(st.lists(_TURN, max_size=12))
def test_cached_politeness_reads_agree_on_any_chat(
    turns: list[tuple[str, str, float | None]],
) -> None:
    _assert_scorers_agree(_chat(turns))


def test_view_rows_are_the_named_tuples_the_constructor_builds() -> None:
    from kefu_standards._competency_cues import CueMessage, _side, cue_view, text_cues

    for conv in _bundled_examples():
        view = cue_view(conv)
        for i, (row, m) in enumerate(zip(view, conv.messages, strict=True)):
            assert type(row) is CueMessage
            assert row == CueMessage(i, m.role, m.text, *text_cues(_side(m.role), m.text))
            assert row.index == i


# -- FrozenDict reads and Evidence.at answer as the general code did -------------------------


@pytest.mark.parametrize("data", [{}, {"a": 1, "b": [1, 2]}, {"transfer": True, "x": None}])
def test_frozendict_reads_equal_the_mapping_mixins(data: dict[str, Any]) -> None:
    from collections.abc import ItemsView, KeysView, Mapping, ValuesView

    fd = FrozenDict(data)
    assert list(fd.items()) == list(ItemsView(fd))
    assert list(fd.keys()) == list(KeysView(fd))
    assert list(fd.values()) == list(ValuesView(fd))
    assert fd.items() == ItemsView(fd)
    assert fd.keys() == KeysView(fd)
    assert isinstance(fd.items(), ItemsView)
    assert isinstance(fd.keys(), KeysView)
    assert isinstance(fd.values(), ValuesView)
    for key in ("a", "transfer", "missing"):
        assert (key in fd) is Mapping.__contains__(fd, key)
        assert fd.get(key) == Mapping.get(fd, key)
        assert fd.get(key, "default") == Mapping.get(fd, key, "default")
    with pytest.raises(TypeError):
        [] in fd  # noqa: B015 - unhashable, as for the mixin  # type: ignore[comparison-overlap]


@given(
    st.integers(0, 50),
    st.integers(0, 50),
    st.text(max_size=4),
    st.floats(-3, 3),
    st.one_of(st.none(), st.integers(0, 99)),
)
def test_evidence_at_equals_evolve(
    start: int, length: int, text: str, weight: float, index: int | None
) -> None:
    import attrs

    from kefu_standards.evidence import Evidence

    e = Evidence(start, start + length, text, "kind", weight, "rule", index)
    moved = e.at(7)
    assert moved == attrs.evolve(e, message_index=7)
    assert repr(moved) == repr(attrs.evolve(e, message_index=7))


# -- analyze: problem markers kept per agent text ----------------------------------------


def _reference_hits(conv: Conversation) -> tuple[Any, ...]:
    """The politeness problem hits of *conv*, computed without the per-text cache."""
    from kefu_standards._politeness import politeness_many
    from kefu_standards.analysis import PROBLEM_KINDS
    from kefu_standards.text import has_content

    idx = [i for i, m in enumerate(conv.messages) if m.role is Role.AGENT and has_content(m.text)]
    scored = politeness_many([conv.messages[i].text for i in idx]) if idx else []
    return tuple(
        e.at(i)
        for i, p in zip(idx, scored, strict=True)
        if p.score is not None
        for e in p.evidence
        if e.kind in PROBLEM_KINDS
    )


def test_problem_hits_equal_the_uncached_filter() -> None:
    from kefu_standards.analysis import analyze_conversation

    for conv in [
        *_fixture_chats(),
        *_bundled_examples(),
        _chat([("agent", t, 1.0) for t in _SHORTCUT_TEXTS]),
    ]:
        for _ in range(2):  # cold, then cached
            assert analyze_conversation(conv).hits == _reference_hits(conv)


def test_assessment_dimensions_equal_a_frozendict_of_them() -> None:
    from kefu_standards.competency import assess

    for conv in [*_bundled_examples(), *_fixture_chats()]:
        dims = assess(conv).dimensions
        assert type(dims) is FrozenDict
        assert dims == FrozenDict(dict(dims))
        assert repr(dims) == repr(FrozenDict(dict(dims)))


@pytest.mark.parametrize(
    "data", [{}, {"a": 1, "b": None}, {"f": FrozenDict({"x": (1, 2)}), "s": frozenset({1})}]
)
def test_of_frozen_equals_the_constructor(data: dict[str, Any]) -> None:
    fd = FrozenDict._of_frozen(data)
    assert fd == FrozenDict(data)
    assert repr(fd) == repr(FrozenDict(data))
    assert hash(fd) == hash(FrozenDict(data))
    assert fd._data is not data  # copied


# -- Evidence: the written-out __init__ is the one attrs generates --------------------------


def _attrs_evidence_class() -> type:
    """Evidence as attrs would build it (generated __init__), for comparison."""
    import attrs

    from kefu_standards.evidence import _check_span

    @attrs.frozen(slots=True)
    class Generated:
        start: int = attrs.field(validator=_check_span)
        end: int
        text: str
        kind: str
        weight: float = attrs.field(converter=float)
        rule: str = ""
        message_index: int | None = None

    return Generated


_GENERATED = _attrs_evidence_class()


@given(
    st.integers(-3, 40),
    st.integers(-3, 40),
    st.text(max_size=3),
    st.one_of(st.floats(allow_nan=False), st.integers(-5, 5), st.booleans()),
    st.one_of(st.none(), st.integers(0, 9)),
)
def test_evidence_init_equals_the_generated_one(
    start: int, end: int, text: str, weight: float, index: int | None
) -> None:
    import attrs

    from kefu_standards.evidence import Evidence
    from kefu_standards.exceptions import ConfigError

    args = (start, end, text, "kind", weight, "rule", index)
    if start < 0 or end < start:
        with pytest.raises(ConfigError, match="0 <= start <= end"):
            Evidence(*args)
        with pytest.raises(ConfigError, match="0 <= start <= end"):
            _GENERATED(*args)
        return
    mine, generated = Evidence(*args), _GENERATED(*args)
    assert attrs.astuple(mine) == attrs.astuple(generated)
    assert [type(v) for v in attrs.astuple(mine)] == [type(v) for v in attrs.astuple(generated)]
    assert Evidence(start, end, text, "kind", weight) == Evidence(
        start=start, end=end, text=text, kind="kind", weight=weight, rule="", message_index=None
    )


def test_evidence_span_check_follows_the_attrs_switch() -> None:
    import attrs

    from kefu_standards.evidence import Evidence

    attrs.validators.set_disabled(True)
    try:
        assert Evidence(-1, 0, "", "kind", 1).start == -1
        assert _GENERATED(-1, 0, "", "kind", 1).start == -1
    finally:
        attrs.validators.set_disabled(False)


def test_shared_fixed_results_equal_fresh_ones() -> None:
    from kefu_standards.scorers._base import clean_result as _clean
    from kefu_standards.scorers._base import not_applicable as _na
    from kefu_standards.scoring import ScoreResult

    assert _na("the buyer raised no problem") == ScoreResult.na("the buyer raised no problem")
    assert _na("x") is _na("x")
    assert _clean() == ScoreResult(1.0, (), "", {"hits": 0})
    assert repr(_clean()) == repr(ScoreResult(1.0, (), "", {"hits": 0}))


def _attrs_message_class() -> type:
    """Message as attrs would build it (generated __init__ over the same converters)."""
    import attrs

    from kefu_standards.model import _NO_META, _check_text, _opt_str, _to_meta, _to_role, _to_time

    @attrs.frozen(slots=True)
    class Generated:
        role: Role = attrs.field(converter=_to_role)
        text: str = attrs.field(validator=_check_text)
        sent_at: datetime | None = attrs.field(default=None, converter=_to_time)
        sender: str | None = attrs.field(default=None, converter=_opt_str)
        meta: FrozenDict = attrs.field(default=_NO_META, converter=_to_meta, repr=False)

    return Generated


_GENERATED_MESSAGE = _attrs_message_class()
_MISSING_META = object()


@given(
    st.sampled_from([Role.BUYER, Role.AGENT, "customer", " 客服 ", "nobody", 3]),
    st.sampled_from(["好的", _Str("您好"), "", 5]),
    st.sampled_from(
        [None, _AWARE, _NAIVE, _When(2024, 5, 6, tzinfo=timezone.utc), _When(2024, 5, 6), "9:00"]
    ),
    st.sampled_from([None, "jd_买家", _Str("小美"), 42]),
    st.sampled_from([_MISSING_META, None, {}, {"k": [1]}, FrozenDict({"k": 1})]),
)
def test_message_init_equals_the_generated_one(
    role: Any, text: Any, sent_at: Any, sender: Any, meta: Any
) -> None:
    import attrs

    from kefu_standards.exceptions import ConfigError

    extra = {} if meta is _MISSING_META else {"meta": meta}
    error: str | None = None
    try:
        expected = _GENERATED_MESSAGE(role, text, sent_at, sender, **extra)
    except ConfigError as exc:
        error = str(exc)
    if error is not None:
        with pytest.raises(ConfigError) as got:
            Message(role, text, sent_at, sender, **extra)
        assert str(got.value) == error
        return
    m = Message(role, text, sent_at, sender, **extra)
    assert attrs.astuple(m, recurse=False) == attrs.astuple(expected, recurse=False)
    assert [type(v) for v in attrs.astuple(m, recurse=False)] == [
        type(v) for v in attrs.astuple(expected, recurse=False)
    ]
    assert repr(m.sent_at) == repr(expected.sent_at)


def test_message_text_check_follows_the_attrs_switch() -> None:
    import attrs

    attrs.validators.set_disabled(True)
    try:
        assert Message(Role.BUYER, 5).text == 5  # type: ignore[arg-type]
    finally:
        attrs.validators.set_disabled(False)


# -- timing routes --------------------------------------------------------------------
# The fast routes of the response-time aggregate path equal the plain ones (issue #3).

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 5, 6, 6, 0, tzinfo=SH)

ZONES = [
    SH,
    timezone.utc,
    timezone(timedelta(hours=8)),
    timezone(timedelta(hours=5, minutes=30)),
    ZoneInfo("America/New_York"),  # daylight saving: the exact per-value route
    ZoneInfo("Asia/Kolkata"),
]


@st.composite
def chats(draw: st.DrawFn, timed: bool = True) -> ks.Conversation:
    """A random chat: roles, senders, transfer lines; gaps from 0 s to several hours."""
    n = draw(st.integers(0, 16))
    t = START + timedelta(seconds=draw(st.integers(0, 3 * 86_400)))
    zone = draw(st.sampled_from([SH, SH, timezone(timedelta(hours=8))]))
    msgs = []
    for _ in range(n):
        role = draw(st.sampled_from(["buyer", "buyer", "agent", "agent", "bot", "system"]))
        t += timedelta(seconds=draw(st.sampled_from([0, 1, 29, 31, 179, 181, 600, 3600, 20_000])))
        sender = None
        text = "x"
        if role == "agent":
            sender = draw(st.sampled_from(["小美", "a", "b", None]))
        elif role == "bot":
            sender = "店小蜜"
        elif role == "system":
            text = draw(st.sampled_from(["卡片", "由 服务助手 转交给 b", "a --> 小美"]))
        sent = t.astimezone(zone)
        if not timed and draw(st.integers(0, 9)) == 0:
            sent = None
        msgs.append(ks.Message(role=role, text=text, sent_at=sent, sender=sender))
    shop = draw(st.sampled_from([None, "s1", "s2"]))
    return ks.Conversation(id="c", messages=tuple(msgs), shop=shop)


fast_policies = st.builds(
    TimingPolicy,
    sla_s=st.sampled_from([30.0, 180.0]),
    cap_s=st.sampled_from([None, 600.0]),
    unanswered=st.just("exclude"),
    window=st.sampled_from([None, "08:00-23:00", "08:30-22:45", "00:00-24:00"]),
    business_hours=st.sampled_from([None, BusinessHours(("09:00-12:00", "13:00-18:00"))]),
    tz=st.sampled_from(["Asia/Shanghai", "America/New_York", "Asia/Kolkata"]),
    bot_answers=st.booleans(),
    zero_waits=st.sampled_from(["keep", "exclude"]),
)
BYS = [(), ("agent",), ("day",), ("shop",), ("agent", "day"), ("shop", "agent"), ("day", "shop")]


def summaries(
    convs: list[ks.Conversation], p: TimingPolicy, by: tuple[str, ...]
) -> list[tuple[TimingSummary, TimingSummary]]:
    """(fast, plain) summary of every chunk of *convs*."""
    out = []
    for cols in iter_columns(convs, chunk_messages=40):
        fast = fast_group_sums(cols, p, by)
        assert fast is not None
        plain = group_sums(compute_rounds(cols, p, detail=False), cols, p, by)
        n = cols.n_conversations
        out.append(
            (
                TimingSummary._from_sums(fast, by, p, n, 0),
                TimingSummary._from_sums(plain, by, p, n, 0),
            )
        )
    return out


class TestFastAggregate:
    """fast_group_sums gives exactly the sums of compute_rounds + group_sums."""

    @given(
        st.lists(chats(), max_size=8),
        fast_policies,
        st.sampled_from(BYS),
        st.booleans(),
    )
    def test_equals_the_plain_path(
        self, convs: list[ks.Conversation], p: TimingPolicy, by: tuple[str, ...], cap: bool
    ) -> None:
        """Counts, sums, minima, maxima and the sketch are identical; table too."""
        if cap and p.cap_s is not None:
            p = p.evolve(unanswered="cap")
        for fast, plain in summaries(convs, p, by):
            assert fast == plain
            assert fast.table().to_dict() == plain.table().to_dict()

    @given(
        st.lists(chats(), max_size=8),
        fast_policies,
        st.sampled_from(BYS),
        st.booleans(),
    )
    def test_without_sketch_the_same_sums(
        self, convs: list[ks.Conversation], p: TimingPolicy, by: tuple[str, ...], cap: bool
    ) -> None:
        """sketch=False (fast and plain path) keeps every count, sum, min and max; no histogram."""
        if cap and p.cap_s is not None:
            p = p.evolve(unanswered="cap")
        empty = np.zeros(0, np.int64)
        for cols in iter_columns(convs, chunk_messages=40):
            whole = TimingSummary.from_columns(cols, by, p)
            lean = TimingSummary.from_columns(cols, by, p, sketch=False)
            assert lean == attrs.evolve(whole, hist_key=empty, hist_count=empty)
            plain = group_sums(compute_rounds(cols, p, detail=False), cols, p, by, sketch=False)
            fast = fast_group_sums(cols, p, by, sketch=False)
            assert fast is not None
            assert len(fast.hist_key) == len(plain.hist_key) == 0
            n = cols.n_conversations
            assert TimingSummary._from_sums(fast, by, p, n, 0) == TimingSummary._from_sums(
                plain, by, p, n, 0
            )

    @pytest.mark.parametrize(
        ("changes", "applies"),
        [
            ({}, True),
            ({"window": "08:00-23:00", "cap_s": 600.0}, True),
            ({"credit": "holder"}, False),
            ({"idle_gap_s": 600.0}, False),
            ({"window": "09:00-23:00", "window_by": "session"}, False),
            ({"sla_scope": "first"}, False),
        ],
    )
    def test_which_policies_take_it(self, changes: dict[str, Any], applies: bool) -> None:
        """Holder credit, sessions and first-round SLA need the full round arrays."""
        assert fast_path_applies(TimingPolicy(**changes)) is applies

    @pytest.mark.parametrize("preset", ["taobao", "jd"])
    def test_presets_use_the_full_path(self, preset: str) -> None:
        """Taobao (holder credit) and JD (sessions) are not fast-path policies."""
        cols = next(iter_columns([ks.Conversation(id="c", messages=())]))
        assert fast_group_sums(cols, TimingPolicy.preset(preset), ("agent",)) is None

    @given(st.lists(chats(timed=False), min_size=1, max_size=6))
    def test_untimed_chunks_take_the_full_path(self, convs: list[ks.Conversation]) -> None:
        """A chunk with a missing timestamp goes to the path that counts untimed chats."""
        for cols in iter_columns(convs):
            has_missing = bool((cols.time_us == MISSING).any())
            got = fast_group_sums(cols, TimingPolicy(), ("agent",))
            assert (got is None) is has_missing

    @pytest.mark.parametrize(("years", "fast"), [((2001, 2024), True), ((1950, 2099), False)])
    def test_wide_day_ranges(self, years: tuple[int, int], fast: bool) -> None:
        """Days decades apart: a wide dense key space, or (too sparse) the general path."""
        msgs = []
        for year in years:
            at = datetime(year, 5, 6, 10, tzinfo=SH)
            msgs += [
                ks.Message("buyer", "在吗", at),
                ks.Message("agent", "在的", at + timedelta(seconds=20), sender="a"),
            ]
        convs = [ks.Conversation(id="c", messages=tuple(msgs))]
        cols = next(iter_columns(convs))
        assert (fast_group_sums(cols, TimingPolicy(), ("agent", "day")) is not None) is fast
        table = TimingSummary.from_columns(cols, ("agent", "day")).table()
        assert table.to_dict()["day"] == [f"{y}-05-06" for y in years]
        assert table.to_dict()["mean_s"] == [20.0, 20.0]


def reference_columns(convs: list[ks.Conversation]) -> dict[str, Any]:
    """The columns built one message at a time (the readable specification)."""
    senders: dict[str, int] = {}
    shops: dict[str, int] = {}
    out: dict[str, list[Any]] = {k: [] for k in ("conv", "role", "time", "sender", "transfer")}
    conv_shop = []
    for i, c in enumerate(convs):
        conv_shop.append(-1 if c.shop is None else shops.setdefault(c.shop, len(shops)))
        for m in c.messages:
            out["conv"].append(i)
            out["role"].append(ROLE_CODES[m.role])
            out["time"].append(int(MISSING) if m.sent_at is None else to_us(m.sent_at))
            code = -1 if m.sender is None else senders.setdefault(m.sender, len(senders))
            out["sender"].append(code)
            out["transfer"].append(is_transfer_line(m))
    return {**out, "conv_shop": conv_shop, "senders": tuple(senders), "shops": tuple(shops)}


class TestColumns:
    """iter_columns builds the same columns as a per-message loop."""

    @given(st.lists(chats(timed=False), max_size=6))
    def test_equal_to_a_per_message_loop(self, convs: list[ks.Conversation]) -> None:
        """Roles, exact microseconds, sender codes, transfer flags and shops."""
        if not convs:
            assert list(iter_columns(convs)) == []
            return
        (cols,) = iter_columns(convs, chunk_messages=10**6)
        ref = reference_columns(convs)
        assert cols.conv.tolist() == ref["conv"]
        assert cols.role.tolist() == ref["role"]
        assert cols.time_us.tolist() == ref["time"]
        assert cols.sender.tolist() == ref["sender"]
        assert cols.transfer.tolist() == ref["transfer"]
        assert cols.conv_shop.tolist() == ref["conv_shop"]
        assert (cols.senders, cols.shops) == (ref["senders"], ref["shops"])
        assert not cols.time_us.flags.writeable

    def test_meta_transfer_and_multi_line_texts(self) -> None:
        """meta["transfer"] marks a transfer; texts with line breaks keep their place."""
        msgs = (
            ks.Message("system", "第一行\n第二行"),
            ks.Message("system", "卡片", meta={"transfer": True}),
            ks.Message("system", "说明\n由 A 转交给 B"),
            ks.Message("buyer", "由 A 转交给 B"),
        )
        (cols,) = iter_columns([ks.Conversation(id="c", messages=msgs)])
        assert cols.transfer.tolist() == [False, True, True, False]


class TestTimesUs:
    """times_us equals to_us per value, on the fast route and off it."""

    @given(
        st.lists(
            st.one_of(
                st.none(),
                st.builds(
                    lambda us, zone: (
                        datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)
                    ).astimezone(zone),
                    st.integers(-(2 * 10**16), 7 * 10**16),
                    st.sampled_from(ZONES),
                ),
            ),
            max_size=30,
        ),
        st.sampled_from(ZONES),
        st.integers(-(10**15), 10**15),
        st.integers(0, 40),
    )
    def test_exact(self, mixed: list[datetime | None], zone: Any, base: int, k: int) -> None:
        """Mixed zones and one-zone runs (the fast route) both give exact microseconds."""
        one = [
            (
                datetime(2024, 5, 1, tzinfo=timezone.utc) + timedelta(microseconds=base + i * 7)
            ).astimezone(zone)
            for i in range(k)
        ]
        for times in (mixed, one, [*one, None]):
            expected = [int(MISSING) if t is None else to_us(t) for t in times]
            assert times_us(times).tolist() == expected

    def test_naive_values_are_rejected_by_the_model_not_here(self) -> None:
        """Messages are always aware; a naive datetime still gives its exact value here."""
        naive = datetime(2024, 5, 1, 8, 0)
        aware = naive.replace(tzinfo=SH)
        assert times_us([aware]).tolist() == [to_us(aware)]


class TestSketch:
    """The quantile sketch's fast helpers equal their plain definitions."""

    @given(st.lists(st.integers(0, 2**62), max_size=200))
    def test_bin_index_is_a_binary_search(self, values: list[int]) -> None:
        """bin_index(v) == searchsorted(EDGES_US, v, side="right"), including every edge."""
        edges = _quantiles.EDGES_US
        arr = np.array([*values, *edges.tolist(), *(edges - 1).tolist(), 0, 1], dtype=np.int64)
        expected = np.searchsorted(edges, arr, side="right")
        assert np.array_equal(_quantiles.bin_index(arr), expected)

    @given(st.lists(st.lists(st.integers(0, 10**10), max_size=30), min_size=1, max_size=6))
    def test_quantiles_at_once_equal_one_at_a_time(self, groups: list[list[int]]) -> None:
        """quantiles_sparse gives quantile_sparse for every q."""
        keys, counts = [], []
        lo, hi, n = [], [], []
        for g, values in enumerate(groups):
            hist = _quantiles.histogram(np.array(values, dtype=np.int64))
            nz = np.flatnonzero(hist)
            keys += (g * _quantiles.N_BINS + nz).tolist()
            counts += hist[nz].tolist()
            lo.append(min(values, default=0))
            hi.append(max(values, default=0))
            n.append(len(values))
        args = [np.array(x, dtype=np.int64) for x in (keys, counts)]
        lo_a, hi_a = np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64)
        qs = (0.5, 0.9, 0.95)
        n_a = np.array(n, dtype=np.int64)
        got = _quantiles.quantiles_sparse(*args, qs, counts=n_a, lo_us=lo_a, hi_us=hi_a)
        for row, q in zip(got, qs, strict=True):
            want = _quantiles.quantile_sparse(*args, q, lo_a, hi_a)
            assert np.array_equal(row, want, equal_nan=True)


# -- plain timing --------------------------------------------------------------------
# response_times: the plain route (no numpy, one conversation) equals the array route.

# -- response times under the default policy, without numpy ---------------------------

_PLAIN_ROLES = ("buyer", "agent", "bot", "system")
_SYSTEM_TEXTS = ("由 服务助手 转交给 小美", "A --> B", "系统提示", "")


def _timed_chat(turns: list[tuple[str, str, float | None, str | None]]) -> Conversation:
    return gap_chat(turns, id="timing")


_TIMING_CASES = {
    "empty": [],
    "buyer only": [("buyer", "在吗", 0, "b")],
    "agent only": [("agent", "您好", 0, "a1")],
    "answered fast and slow": [
        ("buyer", "在吗", 0, "b"),
        ("agent", "在的", 20.5, "a1"),
        ("buyer", "发货了吗", 40, "b"),
        ("buyer", "？", 6, "b"),
        ("agent", "已发货", 400.000123, "a1"),
    ],
    "left unanswered": [("agent", "您好", 0, "a1"), ("buyer", "退款呢", 30, "b")],
    "transfer and second agent": [
        ("buyer", "查一下物流", 0, "b"),
        ("system", "由 服务助手 转交给 小美", 5, None),
        ("agent", "稍等", 50, "a2"),
        ("buyer", "好", 10, "b"),
        ("agent", "好的", 1, "a1"),
    ],
    "bot does not answer": [("buyer", "在吗", 0, "b"), ("bot", "自动回复", 1, None)],
    "untimed agent": [("buyer", "在吗", 0, "b"), ("agent", "在的", None, "a1")],
    "untimed system only": [
        ("buyer", "在吗", 0, "b"),
        ("system", "系统提示", None, None),
        ("agent", "在的", 3, None),
    ],
    "no times at all": [("buyer", "在吗", None, "b"), ("agent", "在的", None, "a1")],
}


@pytest.mark.parametrize("name", list(_TIMING_CASES))
def test_plain_route_equals_the_array_route(name: str) -> None:
    conv = _timed_chat(_TIMING_CASES[name])
    policy = TimingPolicy()
    assert _plain_policy(policy)
    assert _plain_response_times(conv, policy) == _vectorised_response_times(conv, policy)


_PLAIN_TURN = st.tuples(
    st.sampled_from(_PLAIN_ROLES),
    st.sampled_from(["在吗", "好的", "发货了吗", "稍等", *_SYSTEM_TEXTS]),
    st.one_of(st.none(), st.floats(0, 2000, allow_nan=False), st.sampled_from([0.0, 180.0])),
    st.sampled_from([None, "b", "a1", "a2"]),
)


_PLAIN_POLICIES = st.builds(
    TimingPolicy,
    sla_s=st.sampled_from([30.0, 180.0]),
    idle_gap_s=st.sampled_from([None, 60.0, 600.0]),
    credit=st.sampled_from(["answerer", "holder"]),
    bot_answers=st.booleans(),
    tz=st.sampled_from(["Asia/Shanghai", "America/New_York"]),
)


@given(st.lists(_PLAIN_TURN, max_size=12), _PLAIN_POLICIES)
def test_plain_route_equals_the_array_route_on_any_chat(
    turns: list[tuple[str, str, float | None, str | None]], policy: TimingPolicy
) -> None:
    conv = _timed_chat(turns)
    assert _plain_policy(policy)
    assert _plain_response_times(conv, policy) == _vectorised_response_times(conv, policy)
    assert response_times(conv, policy) == _plain_response_times(conv, policy)


def test_plain_response_times_on_the_bundled_examples() -> None:
    from kefu_standards.io import read_conversations
    from kefu_standards.resources import data_file

    for conv in read_conversations(data_file("examples/conversations.jsonl")):
        plain = _plain_response_times(conv, TimingPolicy())
        assert plain == _vectorised_response_times(conv, TimingPolicy()), conv.id


@pytest.mark.parametrize(
    "policy",
    [
        TimingPolicy(cap_s=600),
        TimingPolicy(window="08:00-23:00"),
        TimingPolicy(zero_waits="exclude"),
        TimingPolicy(sla_scope="first"),
    ],
)
def test_other_policies_take_the_array_route(policy: TimingPolicy) -> None:
    assert not _plain_policy(policy)


# -- the plain route builds the very same rounds (times, zones, folds) ---------------


def _rounds_repr(conv: Conversation, policy: TimingPolicy) -> tuple[str, str]:
    """``repr`` of both routes' results: equal instants in another zone would differ."""
    return repr(_plain_response_times(conv, policy)), repr(_vectorised_response_times(conv, policy))


@given(st.lists(_PLAIN_TURN, max_size=12), _PLAIN_POLICIES)
def test_plain_route_rounds_have_the_same_repr(
    turns: list[tuple[str, str, float | None, str | None]], policy: TimingPolicy
) -> None:
    plain, array = _rounds_repr(_timed_chat(turns), policy)
    assert plain == array


_NEW_YORK_TIMES = [
    # (naive wall time, fold): ordinary, the spring-forward gap, both sides of the
    # autumn repeat; messages already in the policy's zone keep or re-derive their fold
    (datetime(2024, 3, 10, 1, 59), 0),
    (datetime(2024, 3, 10, 2, 30), 0),  # does not exist in New York
    (datetime(2024, 11, 3, 1, 30), 0),
    (datetime(2024, 11, 3, 1, 30), 1),
    (datetime(2024, 11, 3, 1, 45), 0),
]


@pytest.mark.parametrize("k", range(len(_NEW_YORK_TIMES) - 1))
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai"])
def test_plain_route_with_messages_in_the_policy_zone(k: int, zone: str) -> None:
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    (t0, f0), (t1, f1) = _NEW_YORK_TIMES[k], _NEW_YORK_TIMES[k + 1]
    a = t0.replace(tzinfo=ny, fold=f0)
    b = t1.replace(tzinfo=ny, fold=f1)
    if b.timestamp() < a.timestamp():  # in real time: a conversation is ordered by it
        a, b = b, a
    conv = Conversation(
        id="dst",
        messages=(
            Message(Role.BUYER, "在吗", a, "b"),
            Message(Role.AGENT, "在的", b, "a1"),
        ),
    )
    plain, array = _rounds_repr(conv, TimingPolicy(tz=zone))
    assert plain == array


# -- competency shortcuts --------------------------------------------------------------------
# The analyze path's shortcuts equal the plain definitions they replace (issue #8).
#
# Each cached or inlined helper is checked against the straightforward
# computation it stands for, on hand-written cases and Hypothesis texts, so a
# speed-up can never change a result.

_CHAT_CHARS = st.text(
    alphabet=st.sampled_from(list("好的在吗亲稍等请您帮查订单号123 ?？!！。[数字x]#E-s/:^_^abc")),
    max_size=30,
)


def chat(*lines: str) -> Conversation:
    """``"b:text"`` is a buyer line, ``"a:text"`` an agent line, ``"s:text"`` a system line."""
    roles = {"b": "buyer", "a": "agent", "s": "system"}
    records = [{"role": roles[line[0]], "text": line[2:]} for line in lines]
    return Conversation.from_records(records, id="fast")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("好的", True),
        ("", False),
        ("   ", False),
        ("？？！", False),
        ("[数字x]", False),
        ("#E-s[数字x]", False),
        ("[数字x]件", True),
        ("abc", True),
    ],
)
def test_has_content_cases(text: str, expected: bool) -> None:
    assert has_content(text) is expected
    assert has_content(text) is expected  # the cached answer is the same


@given(_CHAT_CHARS)
def test_cached_has_content_equals_its_definition(text: str) -> None:
    plain = _CONTENT_RE.search(blank_placeholders(text)) is not None
    assert has_content(text) is plain


@given(_CHAT_CHARS)
def test_cached_bigram_set_equals_uncached(text: str) -> None:
    assert bigram_set(text) == _bigrams(normalize(text))


@given(
    st.frozensets(st.text(max_size=2), max_size=8), st.frozensets(st.text(max_size=2), max_size=8)
)
def test_is_repeat_of_is_the_jaccard_index(a: frozenset[str], b: frozenset[str]) -> None:
    expected = len(a) >= 3 and len(b) >= 3 and len(a & b) / len(a | b) >= 0.6
    assert is_repeat_of(a, b, threshold=0.6, min_bigrams=3) is expected


@given(
    st.frozensets(st.sampled_from(list("abcdefgh")), max_size=8),
    st.lists(st.frozensets(st.sampled_from(list("abcdefgh")), max_size=8), max_size=6),
)
def test_escalation_repeats_equals_any_is_repeat_of(
    grams: frozenset[str], earlier: list[frozenset[str]]
) -> None:
    plain = any(is_repeat_of(grams, g, threshold=0.6, min_bigrams=3) for g in earlier)
    assert repeats_earlier(grams, earlier, 0.6) is plain


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"n": 1, "x": 0.5, "s": "ok", "b": True, "none": None},
        {"nested": {"a": [1, 2]}, "list": [1, {"b": 2}], 3: "int key"},
        FrozenDict({"a": 1}),
    ],
)
def test_to_details_equals_the_frozendict_constructor(value: Mapping[str, Any] | None) -> None:
    fast, plain = _to_details(value), FrozenDict(value)
    assert isinstance(fast, FrozenDict)
    assert fast == plain
    assert list(fast.items()) == list(plain.items())
    assert hash(fast) == hash(plain)
    assert repr(fast) == repr(plain)


def test_score_result_details_are_frozen_and_immutable() -> None:
    r = ScoreResult(0.5, (), "", {"parts": [1, 2], "sub": {"a": 1}})
    assert r.details["parts"] == (1, 2)
    assert isinstance(r.details["sub"], FrozenDict)
    with pytest.raises(AttributeError):
        r.details._data = {}  # type: ignore[misc]
    assert ScoreResult.na("why", details={"k": [1]}).details == {"k": (1,)}


def test_view_picks_agent_and_buyer_messages_with_content() -> None:
    """The cue view lists the agent and buyer messages with content, as a plain tuple would."""
    conv = chat("b:在吗", "a:您好", "a:", "s:系统消息", "b:[数字x]", "b:订单号多少")
    view = cue_view(conv)
    plain = tuple(view)
    assert [m.index for m in agent_messages(view)] == [1]
    assert [m.index for m in buyer_messages(view)] == [0, 5]
    assert agent_messages(plain) == agent_messages(view)
    assert buyer_messages(plain) == buyer_messages(view)


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("稍等", ((0, 2),), False),
        ("稍等，我帮您查一下物流", ((0, 2),), True),
        ("好的亲", (), False),
        ("好的亲亲", (), True),
    ],
)
def test_substantive_counts_content_outside_holding_cues(
    text: str, spans: tuple[tuple[int, int], ...], expected: bool
) -> None:
    from kefu_standards._competency_cues import CueHit

    hits = tuple(CueHit(s, e, frozenset({"holding"})) for s, e in spans)
    kinds = frozenset({"holding"}) if hits else frozenset()
    m = CueMessage(0, Role.AGENT, text, hits, True, False, kinds)
    assert _substantive(m) is expected


@pytest.mark.parametrize("text", ["24小时内处理", "[数字x]个工作日到账", "3天 和 2 日", "马上", ""])
def test_cached_deadlines_equal_the_regex(text: str) -> None:
    expected = tuple((x.start(), x.end(), x.group()) for x in DEADLINE_RE.finditer(text))
    assert deadline_spans(text) == expected


# -- escalation shortcuts --------------------------------------------------------------------
# Specification of escalation's fast paths: caches, batching and shortcuts change no result.

chats_escalation_shortcuts = escalation_chats


def texts() -> list[str]:
    return sorted({m.text for c in chats_escalation_shortcuts() for m in c.messages})


CHAT_TEXT = st.lists(
    st.sampled_from(
        [*"在吗好的谢谢退款发货什么时候我说过了？?!。 ", "[数字x]", "[ORDERID_1]", "#E-s[数字x]"]
    ),
    max_size=14,
).map("".join)


def run_all() -> list[Escalation]:
    return [escalation(c) for c in chats_escalation_shortcuts()]


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
    assert parse_buyer_text(text) == parse_buyer_text.__wrapped__(text)
    assert parse_agent_text(text) == parse_agent_text.__wrapped__(text)


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
    assert repeats_earlier(grams, sets, threshold) is plain


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


class TestLibrarySentiment:
    """The default sentiment signal: the library's model, one text or a batch."""

    def test_default_equals_the_public_sentiment(self) -> None:
        """Called on one text it gives sentiment(text).score exactly (None when undefined)."""
        default, _ = default_signals()
        assert isinstance(default, LibrarySentiment)
        for text in texts():
            assert default(text) == sentiment(text).score, text

    @pytest.mark.parametrize("text", texts())
    def test_batch_reading_equals_one_call(self, text: str) -> None:
        """escalation scores a chat's texts in one batch: the values of one call each."""
        default, _ = default_signals()
        assert default is not None
        sentiment_of, _chat = sentiment_readings(["好的", text, "太差了"], [])
        assert sentiment_of[text] == default(text)


@pytest.mark.parametrize(
    ("loader", "name", "module", "attr"),
    [
        (_default_sentiment, "sentiment", _escalation_model._sentiment, "sentiment_scores"),
        (_default_politeness, "politeness", _escalation_model._politeness, "PolitenessScorer"),
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
    s, p = default_signals()
    assert s is not None
    assert p is not None


# -- buyer exasperation: is_exasperated = the exasperation cue of buyer_cues ---------------

_PUNCT_TEXTS = st.text(alphabet="好的谢嗯三天了还没到货吗ab1。.…?？!！ 　", max_size=14)


@pytest.mark.parametrize(
    "text",
    ["这都三天了。。。", "还没到……", "谢谢。。。", "好的…", "。。。", "??", "还没到??", "", "好的"],
)
def test_is_exasperated_is_the_exasperation_cue(text: str) -> None:
    """The communication scorer's exasperation check judges as buyer_cues does (table)."""
    assert is_exasperated(text) == any(c.kind == "exasperation" for c in buyer_cues(text))


@given(_PUNCT_TEXTS)
def test_is_exasperated_is_the_exasperation_cue_on_any_text(text: str) -> None:
    """The same on generated texts of words, thanks and punctuation runs (property)."""
    assert is_exasperated(text) == any(c.kind == "exasperation" for c in buyer_cues(text))
