"""Specification of kefu_standards._escalation: risk of a conversation, with reasons."""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import SHARED_DATA
from kefu_standards import Conversation, sentiment_scores
from kefu_standards._escalation import (
    FEATURES,
    LEVELS,
    REASON_KINDS,
    Escalation,
    EscalationPolicy,
    EscalationScorer,
    escalation,
)
from kefu_standards._escalation_model import (
    _default_model,
    _model_from_table,
    _sigmoid,
    default_signals,
)
from kefu_standards._escalation_text import _clear_caches
from kefu_standards._escalation_walk import _trace
from kefu_standards.evidence import Evidence
from kefu_standards.exceptions import ConfigError, ModelFileError
from kefu_standards.resources import load_tsv, read_text
from kefu_standards.testing import check_scorer

T0 = datetime(2024, 5, 1, 10, 0)

Row = tuple[str, str, float | None]  # role, text, minutes after T0 (None = untimed)


def conv(rows: list[Row], cid: str = "c") -> Conversation:
    return Conversation.from_records(
        [
            {
                "role": role,
                "text": text,
                "time": None if m is None else (T0 + timedelta(minutes=m)).isoformat(),
            }
            for role, text, m in rows
        ],
        id=cid,
    )


@attrs.frozen
class FakePoliteness:
    label: str | None
    evidence: tuple[Evidence, ...] = ()


def rude_detector(text: str) -> FakePoliteness:
    """A stand-in politeness analyser: 不知道 / 你自己看 are impolite."""
    for phrase in ("不知道", "你自己看"):
        k = text.find(phrase)
        if k >= 0:
            ev = Evidence(k, k + len(phrase), phrase, "banned_phrase", -1.0, "test")
            return FakePoliteness("impolite", (ev,))
    return FakePoliteness("neutral")


def risk(c: Conversation, **kw: object) -> Escalation:
    """Escalation with the external analysers switched off unless given (deterministic)."""
    kw.setdefault("sentiment", None)
    kw.setdefault("politeness", None)
    return escalation(c, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- rise and fall tables

RISE_BEFORE: list[Row] = [
    ("buyer", "你好，我的快递三天了还没到", 0),
    ("buyer", "在吗？", 6),
    ("buyer", "人呢？怎么没人回", 12),
]
RISE = [*RISE_BEFORE, ("buyer", "再不处理我就打12315投诉你们", 15)]

FALL_BEFORE: list[Row] = [("buyer", "收到的杯子是碎的，太失望了", 0)]
FALL = [
    *FALL_BEFORE,
    ("agent", "非常抱歉给您带来不便，已为您申请退款，24小时内到账", 1),
    ("buyer", "好的，谢谢", 2),
]
NO_REMEDY = [*FALL_BEFORE, ("agent", "您可以自己申请售后", 1), ("buyer", "好的", 2)]


class TestRiseAndFall:
    def test_threat_after_two_unanswered_rounds_is_high(self) -> None:
        """Buyer waits 6 and 12 minutes unanswered, then threatens 12315: level high."""
        before, after = risk(conv(RISE_BEFORE)), risk(conv(RISE))
        assert after.level == "high"
        assert after.score is not None
        assert before.score is not None
        assert after.score > before.score
        assert after.per_message[-1] > after.per_message[0]
        kinds = {r.kind for r in after.reasons}
        assert {"threat", "waiting"} <= kinds
        threat = after.reason("threat")
        assert threat is not None
        assert threat.message_indexes == (3,)
        assert [e.text for e in threat.evidence] == ["打12315", "投诉你们"]

    def test_apology_and_refund_with_a_time_lowers_the_risk(self) -> None:
        """Apology + refund arranged within 24 h: risk falls after the reply and at the end."""
        e = risk(conv(FALL))
        assert e.per_message[1] < e.per_message[0]
        assert e.per_message[2] < e.per_message[0]
        assert e.level == "low"
        deesc = e.reason("deescalation")
        assert deesc is not None
        assert deesc.weight < 0
        assert deesc.message_indexes == (1,)
        assert {ev.text for ev in deesc.evidence} >= {"非常抱歉", "24小时"}
        other = risk(conv(NO_REMEDY))
        assert e.score is not None
        assert other.score is not None
        assert e.score < other.score


CURT_THEN_COMPLAINT: list[Row] = [
    ("buyer", "在吗？我的快递三天了还没到", 0),
    ("buyer", "人呢？？", 4),
    ("agent", "你自己看物流信息", 6),
    ("buyer", "什么态度，我要投诉，给差评！", 7),
]
ORDER_NUMBER: list[Row] = [
    ("buyer", "我买的耳机什么时候发货？", None),
    ("agent", "亲，麻烦提供一下订单号", None),
    ("buyer", "[ORDERID_10337264]", None),
]
ASKS_AGAIN: list[Row] = [*ORDER_NUMBER[:2], ("buyer", "到底什么时候发货？", None)]


class TestLevels:
    """``level`` is the worse of the band of ``score`` and the band of ``risk_now``."""

    @pytest.mark.parametrize(
        ("score", "risk_now", "level"),
        [
            (0.05, 0.10, "low"),
            (0.20, 0.10, "medium"),  # the ending risk alone
            (0.05, 0.50, "medium"),  # the buyer is unhappy now
            (0.05, 0.75, "high"),  # the buyer is very likely unhappy now
            (0.45, 0.10, "high"),
            (0.20, 0.75, "high"),
            (0.15, 0.40, "medium"),  # thresholds are inclusive
            (0.40, 0.70, "high"),
        ],
    )
    def test_alert_level_table(self, score: float, risk_now: float, level: str) -> None:
        assert EscalationPolicy().alert_level(score, risk_now) == level

    def test_a_complaint_after_a_curt_reply_is_high_even_with_a_moderate_score(self) -> None:
        """No sentiment or politeness model: the ending risk is moderate, the alarm is not."""
        e = risk(conv(CURT_THEN_COMPLAINT))
        before = risk(conv(CURT_THEN_COMPLAINT[:-1]))
        assert e.score is not None
        assert e.risk_now is not None
        assert EscalationPolicy().level(e.score) != "high"
        assert e.risk_now >= EscalationPolicy().turn_high_from
        assert e.level == "high"
        assert before.level != "high"
        assert e.reasons[0].kind == "threat"

    def test_levels_follow_the_rise_and_fall_tables(self) -> None:
        rise, fall = risk(conv(RISE)), risk(conv(FALL))
        assert (rise.level, fall.level) == ("high", "low")
        assert fall.risk_now is not None
        assert fall.risk_now < EscalationPolicy().turn_medium_from

    def test_an_order_number_given_on_request_answers_the_agent(self) -> None:
        """A placeholder-only reply clears the open question; asking again does not."""
        given, again = risk(conv(ORDER_NUMBER)), risk(conv(ASKS_AGAIN))
        assert given.per_message[2] < given.per_message[1]
        assert given.per_message[2] < again.per_message[2]

    def test_empty_conversation(self) -> None:
        e = risk(Conversation("empty", ()))
        assert (e.score, e.level, e.per_message, e.risk_now) == (None, None, (), None)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"turn_medium_from": 0.8, "turn_high_from": 0.7},
            {"turn_medium_from": 0.0},
            {"turn_high_from": 1.0},
        ],
    )
    def test_turn_thresholds_are_validated(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ConfigError, match="turn_medium_from < turn_high_from"):
            EscalationPolicy(**kwargs)


# ---------------------------------------------------------------- each signal alone

BASE: list[Row] = [
    ("buyer", "我买的耳机什么时候发货", None),
    ("agent", "亲，订单已经在处理中", None),
]


def _with(*rows: Row) -> list[Row]:
    return [*BASE, *rows]


SIGNALS = [
    # kind, conversation with the signal, the same without it
    (
        "threat",
        _with(("buyer", "不发货我就去消协投诉", None)),
        _with(("buyer", "那我再等等", None)),
    ),
    (
        "threat",
        _with(("buyer", "不行我就申请平台介入", None)),
        _with(("buyer", "不行我再问问", None)),
    ),
    (
        "negative_emotion",
        _with(("buyer", "太过分了，真让人失望", None)),
        _with(("buyer", "我知道你们很忙", None)),
    ),
    (
        "repetition",
        _with(("buyer", "我说过了，是耳机", None)),
        _with(("buyer", "是蓝色那款耳机", None)),
    ),
    (  # the same question again before any reply (after a reply it is a minor signal)
        "repetition",
        [*BASE[:1], ("buyer", "我买的耳机什么时候发货啊", None)],
        [*BASE[:1], ("buyer", "运费是多少", None)],
    ),
    ("impatience", _with(("buyer", "人呢？？", None)), _with(("buyer", "嗯", None))),
    ("correction", _with(("buyer", "不是这个意思", None)), _with(("buyer", "嗯", None))),
    (
        "agent_refusal",
        [*BASE[:1], ("agent", "这个无法处理，建议您联系商家", None), ("buyer", "嗯", None)],
        [*BASE[:1], ("agent", "好的，马上为您处理", None), ("buyer", "嗯", None)],
    ),
]


REFUSAL = ("agent", "这个无法处理，建议您联系商家", None)


@pytest.mark.parametrize(
    ("rows", "refused_problem"),
    [
        ([("buyer", "耳机坏了，我要退货", None), REFUSAL, ("buyer", "嗯", None)], True),
        ([("buyer", "太失望了，怎么还没发货", None), REFUSAL, ("buyer", "嗯", None)], True),
        ([("buyer", "这款耳机是什么颜色", None), REFUSAL, ("buyer", "嗯", None)], False),
        ([REFUSAL, ("buyer", "耳机坏了，我要退货", None)], False),  # refusal came first
    ],
)
def test_a_refusal_after_a_raised_problem_is_an_unsolved_problem(
    rows: list[Row], refused_problem: bool
) -> None:
    """Every refusal counts as agent_refusal; once a problem is on the table, also as
    refused_problem, which raises the ending risk further."""
    e = risk(conv(rows))
    assert e.reason("agent_refusal") is not None
    assert (e.reason("refused_problem") is not None) is refused_problem


def test_refusing_a_problem_ends_worse_than_refusing_a_question() -> None:
    problem = risk(conv([("buyer", "耳机坏了，我要退货", None), REFUSAL]))
    question = risk(conv([("buyer", "这款耳机是什么颜色", None), REFUSAL]))
    reason = problem.reason("refused_problem")
    assert reason is not None
    assert reason.weight > 0
    assert reason.message_indexes == (1,)
    assert [ev.text for ev in reason.evidence] == ["无法", "建议您联系"]
    assert problem.score is not None
    assert question.score is not None
    assert problem.score > question.score


@pytest.mark.parametrize(("kind", "with_signal", "without"), SIGNALS)
def test_each_language_signal_alone_raises_the_risk(
    kind: str, with_signal: list[Row], without: list[Row]
) -> None:
    """The signal fires as a reason and the final risk is higher than without it."""
    a, b = risk(conv(with_signal)), risk(conv(without))
    assert kind in {r.kind for r in a.reasons}
    assert kind not in {r.kind for r in b.reasons}
    assert a.score is not None
    assert b.score is not None
    assert a.score > b.score
    assert a.per_message[-1] > b.per_message[-1]


class TestTimedSignals:
    def test_long_wait_is_a_reason_only_with_timestamps(self) -> None:
        """A 10-minute wait counts; the same chat untimed has no waiting reason."""
        timed: list[Row] = [("buyer", "请问这个有货吗", 0), ("agent", "有的", 10)]
        quick: list[Row] = [("buyer", "请问这个有货吗", 0), ("agent", "有的", 1)]
        untimed: list[Row] = [("buyer", "请问这个有货吗", None), ("agent", "有的", None)]
        slow, fast, none = risk(conv(timed)), risk(conv(quick)), risk(conv(untimed))
        assert slow.reason("waiting") is not None
        assert fast.reason("waiting") is None
        assert none.reason("waiting") is None
        assert slow.score is not None
        assert fast.score is not None
        assert slow.score > fast.score

    def test_no_apology_after_a_long_wait(self) -> None:
        """Three replies after a long wait without 抱歉/久等 are a lapse; one apology clears it."""
        rows: list[Row] = [
            ("buyer", "请问这个有货吗", 0),
            ("agent", "有的", 10),
            ("agent", "可以下单", 11),
            ("agent", "今天发货", 12),
        ]
        sorry: list[Row] = [rows[0], ("agent", "让您久等了，有的", 10), *rows[2:]]
        a, b = risk(conv(rows)), risk(conv(sorry))
        assert a.reason("no_apology") is not None
        assert b.reason("no_apology") is None
        assert a.score is not None
        assert b.score is not None
        assert a.score > b.score

    @pytest.mark.parametrize(
        ("rows", "lapse"),
        [
            ([("buyer", "帮我查下物流", 0), ("agent", "稍等", 1), ("buyer", "在吗", 5)], True),
            ([("buyer", "帮我查下物流", 0), ("agent", "稍等", 1), ("agent", "已到站", 30)], True),
            ([("buyer", "帮我查下物流", 0), ("agent", "稍等", 1), ("agent", "已到站", 3)], False),
            ([("buyer", "帮我查下物流", 0), ("agent", "稍等", 1)], True),
        ],
    )
    def test_holding_reply_must_be_followed_up(self, rows: list[Row], lapse: bool) -> None:
        """稍等 then a nudge, a reply after 15 min, or nothing at all: not followed up."""
        e = risk(conv(rows))
        assert (e.reason("holding_unfollowed") is not None) is lapse


class TestInjectedSignals:
    def test_impolite_agent_reply_raises_the_risk(self) -> None:
        """With a politeness analyser, a banned phrase is a reason with its span."""
        rows = [*BASE[:1], ("agent", "不知道，你自己看", None)]
        polite = [*BASE[:1], ("agent", "亲，订单明天发货", None)]
        a = risk(conv(rows), politeness=rude_detector)
        b = risk(conv(polite), politeness=rude_detector)
        off = risk(conv(rows), politeness=None)
        reason = a.reason("agent_impolite")
        assert reason is not None
        assert reason.evidence[0].text == "不知道"
        assert reason.evidence[0].message_index == 1
        assert off.reason("agent_impolite") is None
        assert a.score is not None
        assert b.score is not None
        assert off.score is not None
        assert a.score > b.score
        assert a.score > off.score

    def test_sustained_negative_sentiment_is_a_reason(self) -> None:
        """A sentiment function saying every buyer message is negative adds a reason."""
        rows: list[Row] = [
            ("buyer", "东西有问题", None),
            ("agent", "请问是什么问题", None),
            ("buyer", "用了一天就坏", None),
        ]
        negative = risk(conv(rows), sentiment=lambda _t: 0.02)
        positive = risk(conv(rows), sentiment=lambda _t: 0.98)
        assert negative.reason("negative_sentiment") is not None
        assert positive.reason("negative_sentiment") is None
        assert negative.score is not None
        assert positive.score is not None
        assert negative.score > positive.score

    def test_undefined_sentiment_is_neutral(self) -> None:
        """A sentiment function returning None (undefined) adds no sentiment: like 0.5 (neutral).

        Its sentiment features are those of no sentiment at all; the risk differs from
        ``sentiment=None`` only by the chat-negativity head, which that switches off too.
        """
        c = conv(BASE)
        undefined = risk(c, sentiment=lambda _t: None)
        assert undefined.per_message == risk(c, sentiment=lambda _t: 0.5).per_message
        cols = [FEATURES.index(f) for f in ("negativity_now", "negativity_avg", "negativity_mean")]
        for fn in (lambda _t: None, None):
            trace = _trace(c, policy=EscalationPolicy(), sentiment=fn, politeness=None)
            assert all(row[k] == 0.0 for row in trace.features for k in cols)

    def test_defaults_run(self) -> None:
        """The default analysers (whatever is installed) give a valid result."""
        e = escalation(conv(RISE))
        assert e.level in LEVELS
        assert len(e.per_message) == len(RISE)

    @pytest.mark.parametrize("bad", [1, "x"])
    def test_non_callable_signal_is_rejected(self, bad: object) -> None:
        with pytest.raises(ConfigError, match="must be a callable"):
            escalation(conv(BASE), sentiment=bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- shape and contract


class TestResult:
    def test_empty_conversation_is_undefined(self) -> None:
        """No messages: score and level are None, not a fake low risk."""
        e = risk(Conversation(id="e", messages=()))
        assert e == Escalation(None, None, (), ())

    def test_traditional_script_matches(self) -> None:
        """Cues match on normalised text: 消費者協會 / 投訴 in Traditional script."""
        e = risk(conv(_with(("buyer", "我要去消費者協會投訴你們", None))))
        reason = e.reason("threat")
        assert reason is not None
        assert "消費者協會" in [ev.text for ev in reason.evidence]

    @pytest.mark.parametrize("text", ["我不会给差评的", "没有要投诉的意思"])
    def test_negated_threat_does_not_fire(self, text: str) -> None:
        e = risk(conv(_with(("buyer", text, None))))
        assert e.reason("threat") is None

    def test_reasons_are_explained_and_ordered(self) -> None:
        e = risk(conv(RISE))
        assert all(r.kind in REASON_KINDS for r in e.reasons)
        assert all(r.zh and r.en for r in e.reasons)
        weights = [abs(r.weight) for r in e.reasons]
        assert weights == sorted(weights, reverse=True)

    def test_evidence_points_into_the_original_text(self) -> None:
        c = conv(RISE)
        for reason in risk(c).reasons:
            for ev in reason.evidence:
                assert ev.message_index is not None
                assert c.messages[ev.message_index].text[ev.start : ev.end] == ev.text

    def test_features_are_named(self) -> None:
        assert len(FEATURES) == len(set(FEATURES))

    def test_features_and_reason_kinds_are_public_on_the_result(self) -> None:
        """Escalation.FEATURES / REASON_KINDS: the documented names, read-only."""
        assert Escalation.FEATURES == FEATURES
        assert dict(Escalation.REASON_KINDS) == REASON_KINDS
        assert set(Escalation.REASON_KINDS.values()) <= set(FEATURES)
        with pytest.raises(TypeError):
            Escalation.REASON_KINDS["threat"] = "length"  # type: ignore[index]


# ---------------------------------------------------------------- relative strength of signals

# One buyer message (or two) after BASE; the final risk must follow the domain ordering
# the hand-set weights encode: a regulator threat >> chasing twice (在吗, 人呢??) >> one
# negative word > a neutral reply > thanks.
STRENGTH_ORDER: list[tuple[str, list[Row]]] = [
    ("12315 threat", _with(("buyer", "再不发货我就打12315", None))),
    ("chasing twice", _with(("buyer", "在吗", None), ("buyer", "人呢？？", None))),
    ("one negative word", _with(("buyer", "有点失望", None))),
    ("neutral", _with(("buyer", "那我再等等", None))),
    ("thanks", _with(("buyer", "好的谢谢", None))),
]


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    list(itertools.pairwise(STRENGTH_ORDER)),
    ids=[f"{a[0]} > {b[0]}" for a, b in itertools.pairwise(STRENGTH_ORDER)],
)
def test_signal_strengths_follow_the_domain_order(
    stronger: tuple[str, list[Row]], weaker: tuple[str, list[Row]]
) -> None:
    """Both heads rank the stronger signal above the weaker one."""
    a, b = risk(conv(stronger[1])), risk(conv(weaker[1]))
    assert a.score is not None
    assert b.score is not None
    assert a.score > b.score
    assert a.per_message[-1] > b.per_message[-1]


def test_apology_with_remedy_lowers_a_negative_word() -> None:
    """An apology with a concrete remedy and a time after 有点失望 lowers both risks."""
    upset = _with(("buyer", "有点失望", None))
    handled = [*upset, ("agent", "非常抱歉，已为您申请补发，今天发出", None)]
    a, b = risk(conv(upset)), risk(conv(handled))
    assert a.score is not None
    assert b.score is not None
    assert b.score < a.score
    assert b.per_message[-1] < a.per_message[-1]


# ---------------------------------------------------------------- the shipped model file

# Signals that can only lower the risk; every other weight can only raise it (or is 0).
LOWERING = {"gratitude_now", "acknowledged_now", "deescalation"}
# Lowering signals one head leaves out (weight 0 there): the CPED thanks head, turn only.
LOWERING_OR_OFF = {"chat_thanks"}


class TestModelFile:
    def test_every_weight_is_hand_set_with_a_justification(self) -> None:
        """Each <head>.<feature> line carries a written justification (third column)."""
        entries = load_tsv("escalation/model.tsv")
        weights = [e for e in entries if e.phrase.split(".")[1] in FEATURES]
        assert len(weights) == 2 * len(FEATURES)
        for e in weights:
            assert len(e.fields) >= 2, e.phrase
            assert len(e.fields[1].split()) >= 3, f"{e.phrase}: justification too short"

    def test_header_says_what_is_hand_set_and_what_is_calibrated(self) -> None:
        header = read_text("escalation/model.tsv").split("\nturn.")[0]
        assert "HAND-SET" in header
        assert "CALIBRATED" in header
        assert "jddc_sat.dev" in header
        assert "--calibrate" in header

    @pytest.mark.parametrize("head", ["turn", "outcome"])
    def test_weights_have_the_domain_sign(self, head: str) -> None:
        """Lowering signals weigh < 0 (or 0 where a head leaves them out), the others >= 0."""
        model = _default_model()
        h = model.turn if head == "turn" else model.outcome
        assert h.scale > 0
        for feature, w in zip(FEATURES, h.weights, strict=True):
            if feature in LOWERING:
                assert w < 0, feature
            elif feature in LOWERING_OR_OFF:
                assert w <= 0, feature
            else:
                assert w >= 0, feature

    @staticmethod
    def _table() -> dict[str, float]:
        return {
            f"{h}.{f}": 1.0 for h in ("turn", "outcome") for f in ("scale", "offset", *FEATURES)
        }

    @pytest.mark.parametrize(
        ("change", "match"),
        [
            ({"turn.scale": 0.0}, "turn.scale must be > 0"),
            ({"outcome.scale": -1.0}, "outcome.scale must be > 0"),
            ({"turn.intercept": 1.0}, "unknown coefficients"),
            ({"outcome.threat": None}, "missing coefficients"),
        ],
    )
    def test_bad_tables_are_rejected(self, change: dict[str, float | None], match: str) -> None:
        table = self._table()
        for k, v in change.items():
            if v is None:
                del table[k]
            else:
                table[k] = v
        with pytest.raises(ModelFileError, match=match):
            _model_from_table(table, "test")

    def test_calibration_is_monotone(self) -> None:
        """Scale > 0: a higher hand-set log-odds is always a higher risk (AUC unchanged)."""
        head = _model_from_table(self._table(), "test").turn
        rows = [tuple(float(k) * x for x in range(len(FEATURES))) for k in range(-3, 4)]
        logits = [head.logit(r) for r in rows]
        assert logits == sorted(logits)
        assert [head.raw(r) for r in rows] == sorted(head.raw(r) for r in rows)


TEXTS = st.sampled_from(
    [
        "在吗",
        "好的",
        "谢谢",
        "我说过了",
        "12315",
        "太差了",
        "稍等",
        "非常抱歉，已为您退款",
        "??",
        "",
        "[ORDERID_10337264]",
        "#E-s[数字x]",
    ]
)
ROWS = st.lists(st.tuples(st.sampled_from(["buyer", "agent", "bot", "system"]), TEXTS), max_size=12)


@given(ROWS)
def test_risks_are_probabilities_one_per_message(rows: list[tuple[str, str]]) -> None:
    """per_message has one risk per message, all in [0, 1]; the input is not changed."""
    c = conv([(r, t, None) for r, t in rows])
    before = c.to_record()
    e = risk(c)
    assert len(e.per_message) == len(c.messages)
    assert all(0.0 <= p <= 1.0 for p in e.per_message)
    if c.messages:
        assert e.score is not None
        assert 0.0 <= e.score <= 1.0
        assert e.level == EscalationPolicy().alert_level(e.score, e.per_message[-1])
        assert e.risk_now == e.per_message[-1]
    assert c.to_record() == before


@given(ROWS)
def test_the_trajectory_is_causal(rows: list[tuple[str, str]]) -> None:
    """The risk after message i does not depend on later messages (usable live)."""
    c = conv([(r, t, None) for r, t in rows])
    full = risk(c).per_message
    for k in range(1, len(rows)):
        prefix = risk(conv([(r, t, None) for r, t in rows[:k]])).per_message
        assert prefix[:-1] == full[: k - 1]


# ---------------------------------------------------------------- policy and scorer


class TestPolicy:
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"medium_from": 0.5, "high_from": 0.4}, "medium_from < high_from"),
            ({"high_from": 1.0}, "medium_from < high_from"),
            ({"long_wait_s": 0}, "long_wait_s must be > 0"),
            ({"decay": 1.5}, r"decay must be in \(0, 1\]"),
            ({"apology_window": 0}, "apology_window must be > 0"),
        ],
    )
    def test_invalid_policy_says_what_is_valid(self, kwargs: dict[str, float], match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            EscalationPolicy(**kwargs)

    @pytest.mark.parametrize(("score", "level"), [(0.05, "low"), (0.2, "medium"), (0.9, "high")])
    def test_levels(self, score: float, level: str) -> None:
        assert EscalationPolicy().level(score) == level

    def test_a_longer_wait_threshold_turns_the_wait_off(self) -> None:
        rows: list[Row] = [("buyer", "请问这个有货吗", 0), ("agent", "有的", 10)]
        e = risk(conv(rows), policy=EscalationPolicy(long_wait_s=3600))
        assert e.reason("waiting") is None

    def test_bad_conversation_type(self) -> None:
        with pytest.raises(ConfigError, match="needs a Conversation"):
            escalation([])  # type: ignore[arg-type]


class TestScorer:
    def test_keeps_the_scorer_contract(self) -> None:
        """check_scorer runs every probe (empty, buyer-only, placeholders ...) and passes."""
        report = check_scorer(EscalationScorer())
        assert report.scorer_name == "escalation"
        assert report.scores["empty"] is None
        assert report.reasons["empty"]

    @pytest.mark.parametrize("rows", [RISE, FALL, NO_REMEDY])
    def test_score_is_one_minus_the_risk(self, rows: list[Row]) -> None:
        """Scorecard scale (1 = best); the Escalation is summarised in details."""
        c = conv(rows)
        result, e = EscalationScorer().score(c), escalation(c)
        assert e.score is not None
        assert result.score == pytest.approx(1.0 - e.score)
        assert result.details["risk"] == e.score
        assert result.details["risk_now"] == e.per_message[-1]
        assert result.details["level"] == e.level
        assert result.details["reasons"] == tuple(r.kind for r in e.reasons)
        raising = [r for r in e.reasons if r.weight > 0]
        assert result.evidence == tuple(ev for r in raising for ev in r.evidence)
        if raising:
            assert raising[0].kind in result.reason

    def test_policy_is_used_and_validated(self) -> None:
        strict = EscalationPolicy(medium_from=0.0001, high_from=0.0002)
        assert EscalationScorer(strict).score(conv(FALL)).details["level"] == "high"
        with pytest.raises(ConfigError, match=r"EscalationScorer\.policy"):
            EscalationScorer(policy="strict")  # type: ignore[arg-type]


# ---------------------------------------------------------------- shared data (optional)

JDDC = SHARED_DATA / "jddc_sat.dev.jsonl.gz"


@pytest.mark.skipif(not JDDC.exists(), reason="../shared/data is not available")
def test_jddc_dissatisfied_dialogues_score_higher_on_average() -> None:
    """On the first 120 JDDC dialogues, overall == 0 dialogues have a higher mean risk."""
    scores: dict[bool, list[float]] = {True: [], False: []}
    with gzip.open(JDDC, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n >= 120:
                break
            rec = json.loads(line)
            c = Conversation.from_records(
                [{"role": t["role"], "text": t["text"]} for t in rec["turns"]], id=rec["id"]
            )
            e = escalation(c)
            assert e.score is not None
            scores[rec["overall"] == 0].append(e.score)
    assert sum(scores[True]) / len(scores[True]) > sum(scores[False]) / len(scores[False])


class TestChatNegativity:
    """The CPED chat-negativity head: a turn feature read from the library's own sentiment."""

    @staticmethod
    def state(text: str, **kw: object) -> dict[str, float]:
        """The escalation state after one buyer line, with the library's default signals."""
        sentiment, politeness = default_signals()
        kw.setdefault("sentiment", sentiment)
        trace = _trace(
            conv([("buyer", text, None)]),
            policy=EscalationPolicy(),
            politeness=politeness,
            **kw,  # type: ignore[arg-type]
        )
        return dict(zip(FEATURES, trace.features[-1], strict=True))

    @pytest.mark.parametrize(
        "text",
        [
            "烦死了，说了多少遍了还是不行",
            "你们这什么破服务，等了三天都没人管，气死我了",
            "我真的很失望",
        ],
    )
    def test_fires_on_frustration(self, text: str) -> None:
        """A frustrated buyer line reads strongly negative to the head (log-odds above 1)."""
        assert self.state(text)["chat_negativity"] > 1.0

    @pytest.mark.parametrize("text", ["好的，谢谢", "请问这个有蓝色的吗", "明天能发货吗", "嗯嗯"])
    def test_quiet_on_neutral_lines(self, text: str) -> None:
        """A neutral question or thanks does not read negative (log-odds at most 0.5)."""
        assert self.state(text)["chat_negativity"] <= 0.5

    def test_off_with_the_sentiment_signal(self) -> None:
        """sentiment=None switches the head off with the sentiment signal: the feature stays 0."""
        assert self.state("烦死了，说了多少遍了还是不行", sentiment=None)["chat_negativity"] == 0

    def test_on_with_a_callers_sentiment(self) -> None:
        """A caller's sentiment replaces P(positive) only; the head still reads the line."""
        text = "烦死了，说了多少遍了还是不行"
        assert self.state(text, sentiment=lambda _t: 0.5)["chat_negativity"] == pytest.approx(
            self.state(text)["chat_negativity"]
        )

    def test_turn_only(self) -> None:
        """The shipped model uses it in the turn head only, and it is no reason kind of its own."""
        k = FEATURES.index("chat_negativity")
        model = _default_model()
        assert model.turn.weights[k] > 0
        assert model.outcome.weights[k] == 0
        assert "chat_negativity" not in REASON_KINDS.values()

    def test_raises_the_turn_risk(self) -> None:
        """The same frustrated line scores a higher turn risk with the head than without it."""
        text = "烦死了，说了多少遍了还是不行"
        sentiment, _ = default_signals()
        with_head = escalation(conv([("buyer", text, None)]), sentiment=sentiment, politeness=None)
        off = _default_model()
        k = FEATURES.index("chat_negativity")
        weights = (*off.turn.weights[:k], 0.0, *off.turn.weights[k + 1 :])
        no_head = attrs.evolve(off, turn=attrs.evolve(off.turn, weights=weights))
        state = self.state(text)
        row = [state[f] for f in FEATURES]
        assert with_head.per_message[0] > round(_sigmoid(no_head.turn.logit(row)), 6)

    @pytest.mark.skipif(
        not (SHARED_DATA / "cped.valid.jsonl.gz").exists(), reason="needs ../shared/data (CPED)"
    )
    @pytest.mark.parametrize(
        ("args", "shipped_name"),
        [
            ([], "cped_negativity.npz"),  # the default head
            (["--head", "negativity"], "cped_negativity.npz"),
            (["--head", "thanks"], "cped_thanks.npz"),
            (["--head", "disagreement"], "cped_disagreement.npz"),
        ],
    )
    def test_training_tool_rebuilds_the_shipped_file(
        self, tmp_path: Path, args: list[str], shipped_name: str
    ) -> None:
        """tools/train_cped_head.py is deterministic: it rewrites each shipped head exactly."""
        root = Path(__file__).resolve().parents[1]
        spec = importlib.util.spec_from_file_location(
            "train_cped_head", root / "tools" / "train_cped_head.py"
        )
        assert spec is not None
        assert spec.loader is not None
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        out = tmp_path / "head.npz"
        assert tool.main([*args, "--out", str(out)]) == 0
        shipped = root / "src" / "kefu_standards" / "data" / "escalation" / shipped_name
        assert out.read_bytes() == shipped.read_bytes()


def _states(rows: list[Row], **kw: object) -> list[dict[str, float]]:
    """The escalation state after each message, with the library's default signals."""
    sentiment, politeness = default_signals()
    kw.setdefault("sentiment", sentiment)
    trace = _trace(
        conv(rows),
        policy=EscalationPolicy(),
        politeness=politeness,
        **kw,  # type: ignore[arg-type]
    )
    return [dict(zip(FEATURES, row, strict=True)) for row in trace.features]


class TestSharedBatch:
    """The CPED heads and the default sentiment share one feature batch per conversation."""

    def test_a_function_of_another_model_keeps_its_own_values(self) -> None:
        """A sentiment that is not the library's is called on its own, not shared."""

        def other(_text: str) -> float:
            return 0.1

        rows: list[Row] = [("buyer", "这个东西坏了，怎么办", None), ("agent", "亲，抱歉", None)]
        states = _states(rows, sentiment=other)
        assert states[0]["negativity_now"] == pytest.approx(0.4)
        assert states[-1]["agent_negativity"] == pytest.approx(0.4)

    def test_the_default_gives_what_it_gives_alone(self) -> None:
        """Through the shared batch, each line's P(positive) is the one sentiment_scores gives."""
        text = "这个东西坏了，怎么办"
        _clear_caches()
        state = _states([("buyer", text, None), ("agent", "亲，抱歉", None)])[0]
        expected = 0.5 - float(sentiment_scores([text])[0])
        assert state["negativity_now"] == pytest.approx(expected)


class TestChatThanks:
    """``chat_thanks``: the CPED thanks head of the latest buyer message (issue 18)."""

    @pytest.mark.parametrize("text", ["好的，谢谢", "谢谢亲", "再见", "好的，明白了", "好吧"])
    def test_fires_on_thanks_agreement_and_closing(self, text: str) -> None:
        """A line that thanks, agrees or closes reads as such (log-odds above 1)."""
        assert _states([("buyer", text, None)])[-1]["chat_thanks"] > 1.0

    @pytest.mark.parametrize(
        "text", ["烦死了，说了多少遍了还是不行", "请问这个有蓝色的吗", "这个东西坏了", "那怎么办"]
    )
    def test_quiet_on_complaints_and_questions(self, text: str) -> None:
        """A complaint or a question does not read as thanks (log-odds below -1)."""
        assert _states([("buyer", text, None)])[-1]["chat_thanks"] < -1.0

    def test_the_latest_buyer_message(self) -> None:
        """The value follows the latest buyer message and holds over agent replies."""
        rows: list[Row] = [
            ("buyer", "这个东西坏了", None),
            ("agent", "亲，给您补发一个", None),
            ("buyer", "好的，谢谢", None),
        ]
        states = [s["chat_thanks"] for s in _states(rows)]
        assert states[0] == states[1] < -1.0 < states[2]

    def test_off_with_the_sentiment_signal(self) -> None:
        """sentiment=None switches the CPED heads off with the sentiment signal: 0."""
        assert _states([("buyer", "好的，谢谢", None)], sentiment=None)[-1]["chat_thanks"] == 0

    def test_turn_only_and_lowering(self) -> None:
        """The shipped model lowers the turn risk with it, leaves the dialogue head out."""
        k = FEATURES.index("chat_thanks")
        model = _default_model()
        assert model.turn.weights[k] < 0
        assert model.outcome.weights[k] == 0
        assert "chat_thanks" not in REASON_KINDS.values()

    def test_lowers_the_turn_risk_of_thanks(self) -> None:
        """A thanks line scores a lower turn risk with the head than with its weight at 0."""
        text = "行，那就这样吧，辛苦了"
        state = _states([("buyer", text, None)])[-1]
        assert state["chat_thanks"] > 0
        model = _default_model()
        k = FEATURES.index("chat_thanks")
        weights = (*model.turn.weights[:k], 0.0, *model.turn.weights[k + 1 :])
        off = attrs.evolve(model.turn, weights=weights)
        row = [state[f] for f in FEATURES]
        assert model.turn.logit(row) < off.logit(row)


# disagreement head: lines and their expected side of 0 (log-odds of a disagreeing line)
DISAGREEING = ["不行", "不要", "不用了", "我不同意"]
NOT_DISAGREEING = ["这个东西坏了", "那怎么办", "请问这个有蓝色的吗", "好的，明白了"]


class TestDisagreementMean:
    """``disagreement_mean``: the CPED disagreement head averaged over buyer messages (issue 18)."""

    @pytest.mark.parametrize("text", DISAGREEING)
    def test_fires_on_disagreement(self, text: str) -> None:
        """A line that rejects or disagrees reads as such (log-odds above 1)."""
        assert _states([("buyer", text, None)])[-1]["disagreement_mean"] > 1.0

    @pytest.mark.parametrize("text", NOT_DISAGREEING)
    def test_quiet_on_other_lines(self, text: str) -> None:
        """A problem report, a question or an acknowledgement does not (log-odds below 0)."""
        assert _states([("buyer", text, None)])[-1]["disagreement_mean"] < 0.0

    @given(st.lists(st.sampled_from(DISAGREEING + NOT_DISAGREEING), min_size=1, max_size=6))
    def test_mean_over_the_buyer_messages(self, texts: list[str]) -> None:
        """After each buyer line the feature is the mean of the head over the lines so far."""
        heads = [_states([("buyer", t, None)])[-1]["disagreement_mean"] for t in texts]
        states = _states([("buyer", t, None) for t in texts])
        expected = [sum(heads[: n + 1]) / (n + 1) for n in range(len(texts))]
        assert [s["disagreement_mean"] for s in states] == pytest.approx(expected)

    def test_agent_lines_do_not_count(self) -> None:
        """An agent reply neither enters the mean nor changes it."""
        alone = _states([("buyer", "不行", None)])[-1]["disagreement_mean"]
        rows: list[Row] = [("buyer", "不行", None), ("agent", "不行的亲，这个不支持", None)]
        assert [s["disagreement_mean"] for s in _states(rows)] == pytest.approx([alone] * 2)

    def test_off_with_the_sentiment_signal(self) -> None:
        """sentiment=None switches the CPED heads off with the sentiment signal: 0."""
        assert _states([("buyer", "不行", None)], sentiment=None)[-1]["disagreement_mean"] == 0

    def test_both_heads_raise_the_risk(self) -> None:
        """The shipped model raises both risks with it, the ending's more; no reason kind."""
        k = FEATURES.index("disagreement_mean")
        model = _default_model()
        assert 0 < model.turn.weights[k] < model.outcome.weights[k]
        assert "disagreement_mean" not in REASON_KINDS.values()

    def test_a_chat_of_refusals_ends_riskier(self) -> None:
        """A buyer who keeps rejecting the answers ends with a higher risk through the feature."""
        rows: list[Row] = [
            ("buyer", "不要", None),
            ("agent", "亲，可以给您换一个", None),
            ("buyer", "不用了", None),
        ]
        state = _states(rows)[-1]
        assert state["disagreement_mean"] > 1.0
        model = _default_model()
        k = FEATURES.index("disagreement_mean")
        weights = (*model.outcome.weights[:k], 0.0, *model.outcome.weights[k + 1 :])
        off = attrs.evolve(model.outcome, weights=weights)
        row = [state[f] for f in FEATURES]
        assert model.outcome.logit(row) > off.logit(row) + 1.0


class TestNegativityTotal:
    """``negativity_total``: the buyer's dissatisfaction accumulated over the chat (issue 18)."""

    @staticmethod
    def totals(pos: list[float], **kw: object) -> list[float]:
        """``negativity_total`` after each buyer line whose P(positive) is ``pos[i]``."""
        texts = [f"这个订单第{i}次有问题" for i in range(len(pos))]
        by_text = dict(zip(texts, pos, strict=True))
        kw.setdefault("sentiment", by_text.get)
        trace = _trace(
            conv([("buyer", t, None) for t in texts]),
            policy=EscalationPolicy(),
            politeness=None,
            **kw,  # type: ignore[arg-type]
        )
        k = FEATURES.index("negativity_total")
        return [row[k] for row in trace.features]

    @pytest.mark.parametrize(
        ("pos", "negative_sum"),
        [
            ([0.1], 0.4),  # one clearly negative line: 0.5 - 0.1
            ([0.1, 0.3], 0.6),  # negative lines add up
            ([0.9, 0.2], 0.3),  # a positive line adds nothing
            ([0.9, 0.8], 0.0),  # a chat with no negative line stays at 0
            ([0.1, 0.9, 0.1], 0.8),  # no decay, and positive lines do not pay it back
            ([0.5, 0.5], 0.0),  # neutral lines add nothing
        ],
    )
    def test_log_of_the_summed_negative_parts(self, pos: list[float], negative_sum: float) -> None:
        """The feature is log(1 + sum of max(0, 0.5 - P(positive))) over the buyer lines."""
        assert self.totals(pos)[-1] == pytest.approx(math.log1p(negative_sum))

    @given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
    def test_never_decreases(self, pos: list[float]) -> None:
        """Accumulated dissatisfaction only grows along a chat and matches its definition."""
        totals = self.totals(pos)
        assert all(b >= a for a, b in itertools.pairwise(totals))
        expected = math.log1p(sum(max(0.0, 0.5 - p) for p in pos))
        assert totals[-1] == pytest.approx(expected)

    def test_off_with_the_sentiment_signal(self) -> None:
        """sentiment=None: no negativity is read, so nothing accumulates."""
        assert self.totals([0.1, 0.1], sentiment=None) == [0.0, 0.0]

    def test_undefined_sentiment_adds_nothing(self) -> None:
        """A line whose sentiment is undefined (None) counts as neutral."""
        assert self.totals([0.1, None, 0.1])[-1] == pytest.approx(math.log1p(0.8))  # type: ignore[list-item]

    def test_agent_lines_do_not_count(self) -> None:
        """Only buyer lines accumulate: a negative-sounding agent reply adds nothing."""
        rows: list[Row] = [("buyer", "东西坏了", None), ("agent", "非常抱歉给您带来不便", None)]
        trace = _trace(
            conv(rows), policy=EscalationPolicy(), sentiment=lambda _t: 0.1, politeness=None
        )
        k = FEATURES.index("negativity_total")
        assert [row[k] for row in trace.features] == pytest.approx([math.log1p(0.4)] * 2)

    def test_dialogue_head_only(self) -> None:
        """The shipped model uses it in the outcome head only, and it is no reason kind."""
        k = FEATURES.index("negativity_total")
        model = _default_model()
        assert model.outcome.weights[k] > 0
        assert model.turn.weights[k] == 0
        assert "negativity_total" not in REASON_KINDS.values()

    def test_each_negative_line_weighs(self) -> None:
        """Three clearly negative lines add more than half a log-odds unit over one line."""
        k = FEATURES.index("negativity_total")
        model = _default_model()
        one, three = self.totals([0.1])[-1], self.totals([0.1, 0.1, 0.1])[-1]
        assert model.outcome.weights[k] * (three - one) > 0.5
