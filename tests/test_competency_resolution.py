"""Problem resolution in 应变处理 and 责任心, and the identity-keyed per-conversation cache."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards import Conversation
from kefu_standards._competency_cues import cue_view
from kefu_standards._signals import signals
from kefu_standards.competency import assess
from kefu_standards.scorers import no_escalation
from kefu_standards.scoring import get_scorer


def chat(*lines: str) -> Conversation:
    """Build a conversation from ``"b:text"`` / ``"a:text"`` lines."""
    roles = {"b": "buyer", "a": "agent", "s": "system"}
    return Conversation.from_records([{"role": roles[x[0]], "text": x[2:]} for x in lines], id="r")


def ph(conv: Conversation, sentiment: float = 1.0) -> Any:
    """应变处理 without the escalation signal and with a fixed buyer sentiment."""
    scorer = get_scorer(
        "problem_handling", escalation=no_escalation, sentiment=lambda _text: sentiment
    )
    return scorer.score(conv)


# -- 应变处理: declined, persisted, closed ---------------------------------------------

# (case, lines, declines, unhappy buyer messages after the answer, persisted, closed)
RESOLUTION_TABLE = [
    (
        "remedy accepted",
        ("b:收到的杯子碎了", "a:非常抱歉，马上为您补发，明天发出", "b:好的，谢谢"),
        0,
        0,
        1.0,
        1.0,
    ),
    (
        "declined twice, buyer gives up",
        (
            "b:收到的杯子碎了",
            "a:这个没办法哦",
            "b:那怎么办",
            "a:需要您联系供应商呢",
            "b:行吧，算了",
        ),
        2,
        2,  # 那怎么办 raises the problem again; 行吧，算了 is resignation
        0.0,
        0.0,
    ),
    (
        "neutral last word is no evidence either way",
        ("b:还没收到货", "a:已为您催促快递，今天送达", "b:哦"),
        0,
        0,
        1.0,
        0.5,
    ),
    (
        "thanks with a complaint is not acceptance",
        ("b:还没收到货", "a:已为您催促快递", "b:谢谢，但是还是不行"),
        0,
        1,
        0.0,
        0.0,
    ),
    (
        "a question at the end leaves it open",
        ("b:还没收到货", "a:已为您催促快递", "b:那什么时候能到?"),
        0,
        0,
        1.0,
        0.0,
    ),
]


@pytest.mark.parametrize("row", RESOLUTION_TABLE, ids=[r[0] for r in RESOLUTION_TABLE])
def test_problem_handling_resolution_parts(row: tuple[Any, ...]) -> None:
    """Declines, persisting unhappiness and the buyer's closing turn are counted as specified."""
    case, lines, declines, unhappy, persisted, closed = row
    result = ph(chat(*lines))
    assert result.details["declines"] == declines, case
    assert result.details["unhappy_after"] == unhappy, case
    assert result.details["declined"] == pytest.approx(max(0.0, 1 - 0.2 * declines))
    assert result.details["persisted"] == pytest.approx(persisted), case
    assert result.details["closed"] == closed, case


@pytest.mark.parametrize(("sentiment", "expected"), [(1.0, 0.5), (0.2, 0.1), (0.0, 0.0)])
def test_persisted_reads_the_buyer_sentiment_after_the_answer(
    sentiment: float, expected: float
) -> None:
    """After the answer: an unhappy cue counts 0, any other message its P(positive)."""
    conv = chat("b:还没收到货", "a:已为您催促快递", "b:还是不行", "b:那明天能到吗")
    assert ph(conv, sentiment).details["persisted"] == pytest.approx(expected)


def test_persisted_does_not_apply_when_the_buyer_said_nothing_after_the_answer() -> None:
    """No buyer message after the agent's first answer: the part is N/A (None)."""
    assert ph(chat("b:还没收到货", "a:已为您催促快递，今天送达")).details["persisted"] is None


def test_resolved_problem_outscores_a_declined_one() -> None:
    """The same problem scores higher when remedied and accepted than when declined."""
    good = ph(chat(*RESOLUTION_TABLE[0][1]))
    bad = ph(chat(*RESOLUTION_TABLE[1][1]))
    assert good.score is not None
    assert bad.score is not None
    assert good.score > 0.8
    assert bad.score < 0.4  # solution 0, declined 0.6, persisted 0, closed 0; outcome 1
    assert "declined or deflected" in bad.reason
    assert "stayed unhappy" in bad.reason
    kinds = {e.kind for e in bad.evidence}
    assert {"incapacity", "left_open"} <= kinds


def test_every_piece_of_resolution_evidence_points_into_its_message() -> None:
    """Evidence offsets index the original message text."""
    conv = chat(*RESOLUTION_TABLE[1][1])
    for e in ph(conv).evidence:
        assert e.message_index is not None
        assert conv.messages[e.message_index].text[e.start : e.end] == e.text


# -- 责任心: ownership -----------------------------------------------------------------

# (case, lines, ownership or None when no problem was raised)
OWNERSHIP_TABLE = [
    (
        "takes the case",
        ("b:收到的杯子碎了", "a:非常抱歉，已为您登记补发，订单号[ORDERID_1]对吗"),
        1.0,
    ),
    (
        "pushes the buyer elsewhere twice",
        ("b:收到的杯子碎了", "a:需要您联系供应商", "b:供应商不理我", "a:请您自行拨打售后电话"),
        0.70,
    ),
    ("no problem: ownership does not apply", ("b:有红色吗", "a:有的，订单号发我看看"), None),
]


@pytest.mark.parametrize(
    ("case", "lines", "ownership"), OWNERSHIP_TABLE, ids=[r[0] for r in OWNERSHIP_TABLE]
)
def test_responsibility_ownership(
    case: str, lines: tuple[str, ...], ownership: float | None
) -> None:
    """Each message deflecting the buyer's problem to someone else costs 0.15 (服务禁语 −15)."""
    result = get_scorer("responsibility").score(chat(*lines))
    if ownership is None:
        assert result.details.get("ownership") is None, case
    else:
        assert result.details["ownership"] == pytest.approx(ownership), case


# -- 服务态度: mild, context-dependent harsh markers are not deducted --------------------


@pytest.mark.parametrize(
    "text",
    [
        "为了更快处理，辛苦您提供下订单号给我可以吗",
        "您想选择哪种取件方式呢?",
        "请您稍等，立刻为您查询",
    ],
)
def test_scripted_requests_are_not_harsh(text: str) -> None:
    """给我, a lone ?, 立刻 in a polite script cost nothing (was −0.10 each)."""
    result = get_scorer("service_attitude").score(chat("b:在吗", "a:您好", f"a:{text}"))
    assert result.details["harsh_tone"] == 0, result.evidence


def test_strong_harsh_tone_is_still_deducted() -> None:
    """A strong imperative (你给我) is still −0.10."""
    result = get_scorer("service_attitude").score(chat("b:在吗", "a:您好", "a:你给我等着"))
    assert result.details["harsh_tone"] >= 1


# -- the identity-keyed cache ------------------------------------------------------------


TEXTS = st.sampled_from(
    [
        "在吗",
        "收到的杯子碎了",
        "这个没办法",
        "好的，谢谢",
        "算了",
        "请稍等，我帮您查一下",
        "有货吗?",
    ]
)


@given(st.lists(st.tuples(st.sampled_from("ba"), TEXTS), min_size=1, max_size=8))
def test_cached_results_equal_fresh_results(lines: list[tuple[str, str]]) -> None:
    """Caching never changes a result: a conversation and its fresh copy assess the same,
    with or without signals computed beforehand."""
    records = [f"{r}:{t}" for r, t in lines]
    conv, copy = chat(*records), chat(*records)
    assert cue_view(conv) == cue_view(copy)
    first, again, fresh = assess(conv), assess(conv), assess(copy)
    shared = assess(conv, signals=signals(conv))
    assert first.to_record() == again.to_record() == fresh.to_record() == shared.to_record()


# -- 沟通能力: a nudge chases an unanswered message ----------------------------------------

NUDGE_TABLE = [
    ("opener", ("b:在吗", "a:在的，您好", "b:有红色吗", "a:有的"), 0),
    ("after an answer", ("b:有红色吗", "a:有的", "b:在吗", "a:在的"), 0),
    ("while waiting", ("b:有红色吗", "b:在吗", "b:??", "a:有的"), 2),
    ("waiting again later", ("b:有红色吗", "a:有的", "b:几天发货", "b:人呢", "a:明天"), 1),
]


@pytest.mark.parametrize(("case", "lines", "nudges"), NUDGE_TABLE, ids=[r[0] for r in NUDGE_TABLE])
def test_nudges_count_only_while_a_message_is_unanswered(
    case: str, lines: tuple[str, ...], nudges: int
) -> None:
    """在吗 / 人呢 / ?? cost 0.10 only when they chase a buyer message still without a reply."""
    result = get_scorer("communication", escalation=no_escalation).score(chat(*lines))
    assert result.details["nudge"] == nudges, case
