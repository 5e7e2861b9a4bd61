"""Specification of ``kefu_standards._politeness``: scores, labels, evidence and context rules."""

from __future__ import annotations

import itertools
import warnings

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards._politeness import (
    IMPOLITE_BELOW,
    KINDS,
    POLITE_FROM,
    RULES,
    Lexicon,
    Politeness,
    politeness,
    politeness_many,
)
from kefu_standards.evidence import Evidence
from kefu_standards.exceptions import ConfigError, UndefinedMetricWarning, UnknownNameError


def _kinds(p: Politeness) -> set[str]:
    return {e.kind for e in p.evidence}


def _texts(p: Politeness, kind: str) -> list[str]:
    return [e.text for e in p.evidence if e.kind == kind]


class TestLabels:
    """Typical agent replies get the label a QA reviewer would give."""

    @pytest.mark.parametrize(
        "text",
        [
            "亲，您好，请问有什么可以帮您？",
            "非常抱歉让您久等了，请您稍等，马上为您查询",
            "感谢您的耐心等待，祝您购物愉快！",
            "親，您好，請問有什麼可以幫您？",  # Traditional
            "亲，不客气哦，还有其他问题可以随时联系我们~",
        ],
    )
    def test_polite(self, text: str) -> None:
        assert politeness(text).label == "polite"

    @pytest.mark.parametrize(
        "text",
        [
            "你不会自己看吗？？",
            "说了多少遍了，自己看说明书",
            "爱买不买",
            "不知道。",
            "你这个白痴",
            "你這個白癡！！",  # Traditional, full-width
            "呵呵，随便你",
            "谢谢你啊，真是服了",
            "我怎么知道，别问我",
        ],
    )
    def test_impolite(self, text: str) -> None:
        assert politeness(text).label == "impolite"

    @pytest.mark.parametrize(
        "text",
        ["好的", "已经发货了", "快递是中通", "这款是纯棉的"],
    )
    def test_plain_information_is_neutral(self, text: str) -> None:
        assert politeness(text).label == "neutral"

    def test_labels_follow_the_documented_thresholds(self) -> None:
        for text in ("亲，您好", "不知道。", "好的", "你这个白痴"):
            p = politeness(text)
            assert p.score is not None
            expected = (
                "impolite"
                if p.score < IMPOLITE_BELOW
                else "polite"
                if p.score >= POLITE_FROM
                else "neutral"
            )
            assert p.label == expected

    def test_more_courtesy_scores_higher(self) -> None:
        plain, kind = politeness("好的，已经发货了"), politeness("亲，好的呢，已经为您发货了哦")
        assert plain.score is not None
        assert kind.score is not None
        assert kind.score > plain.score


class TestEvidence:
    """Each hit names its span in the original text, its kind and weight."""

    def test_evidence_of_a_rude_reply(self) -> None:
        p = politeness("你不会自己看吗？？")
        assert [(e.start, e.end, e.text, e.kind) for e in p.evidence] == [
            (0, 7, "你不会自己看吗", "harsh_tone"),
            (7, 9, "？？", "harsh_tone"),
        ]
        assert all(e.weight < 0 for e in p.evidence)

    def test_offsets_point_into_traditional_full_width_text(self) -> None:
        text = "＃E-s[数字x]親，謝謝您！ＯＫ"
        p = politeness(text)
        assert p.evidence
        for e in p.evidence:
            assert text[e.start : e.end] == e.text
        assert "謝謝您" in _texts(p, "courtesy")

    @pytest.mark.parametrize(
        ("text", "kind", "phrase"),
        [
            ("请您稍等", "courtesy", "请"),
            ("不可能的", "banned_phrase", "不可能"),
            ("这个不归我管", "banned_phrase", "不归我管"),
            ("你们这些人有完没完", "banned_phrase", "有完没完"),
            ("快点付款！！", "harsh_tone", "！！"),
            ("闭嘴", "offensive", "闭嘴"),
            ("已打款到您账户", "over_promise", "已打款"),
            ("保证退款，全网最低", "over_promise", "全网最低"),
        ],
    )
    def test_kinds(self, text: str, kind: str, phrase: str) -> None:
        assert phrase in _texts(politeness(text), kind)

    def test_every_kind_is_documented(self) -> None:
        assert set(KINDS) >= {
            "courtesy",
            "banned_phrase",
            "harsh_tone",
            "offensive",
            "over_promise",
        }

    def test_repeated_phrase_counts_with_diminishing_weight(self) -> None:
        weights = [e.weight for e in politeness("谢谢，谢谢，谢谢").evidence]
        assert weights[0] > weights[1] > weights[2] > 0

    def test_neutral_words_hide_markers_inside_them(self) -> None:
        # 亲自 is not the address 亲; 垃圾袋 is not an insult
        p = politeness("我亲自给您打包，送您一个垃圾袋")
        lexicon_hits = [e.text for e in p.evidence if e.rule != "model:cold"]
        assert lexicon_hits == ["您", "您"]

    def test_offensive_model_evidence_covers_the_text(self) -> None:
        text = " 黑人都是垃圾，滚出中国 "
        p = politeness(text)
        model = [e for e in p.evidence if e.rule == "model:cold"]
        assert len(model) == 1
        assert model[0].text == text.strip()
        assert p.offensive is not None
        assert p.offensive > 0.5

    def test_of_kind_rejects_unknown_kinds(self) -> None:
        with pytest.raises(UnknownNameError, match="valid marker kinds"):
            politeness("好的").of_kind("rudeness")


class TestContextRules:
    """Each context rule has an example where it fires and one where it must not."""

    @pytest.mark.parametrize(
        ("text", "phrase", "counts"),
        [
            # clause_final: 不知道 is a flat refusal only at the end of a clause
            ("这个我不知道。", "不知道", True),
            ("不知道，你问快递吧", "不知道", True),
            ("我也不知道您是否需要发票", "不知道", False),
            # not_choice: 你自己/您自己 offering a choice is not shirking
            ("你自己看吧", "你自己", True),
            ("您自己选择哪个颜色都可以", "您自己", False),
            # not_after_hedge: a softened question / imperative is not a challenge
            ("为什么你删了我的编辑?", "?", True),
            ("请问您的订单号是多少？", "？", False),
            ("你必须给我退款", "给我", True),
            ("麻烦您发给我一下", "给我", False),
        ],
    )
    def test_banned_and_harsh_rules(self, text: str, phrase: str, counts: bool) -> None:
        hits = [e.text for e in politeness(text).evidence if e.weight < 0]
        assert (phrase in hits) is counts

    @pytest.mark.parametrize(
        ("text", "phrase", "kind"),
        [
            # negated_courtesy: a negated courtesy marker does not count ...
            ("我没有抱歉的必要", "抱歉", None),
            ("我不会道歉的", "道歉", None),
            # ... but 不用谢 / 不客气 are courtesy phrases of their own
            ("不用谢，应该的", "不用谢", "courtesy"),
            ("不客气哦", "不客气", "courtesy"),
            ("非常抱歉", "非常抱歉", "courtesy"),
            # sarcastic_thanks: thanks followed by a sarcasm cue is harsh tone
            ("谢谢你啊，真是服了", "谢谢", "harsh_tone"),
            ("谢谢您的耐心等待", "谢谢您", "courtesy"),
        ],
    )
    def test_courtesy_rules(self, text: str, phrase: str, kind: str | None) -> None:
        found = {e.text: e.kind for e in politeness(text).evidence}
        assert found.get(phrase) == kind

    def test_sarcastic_thanks_is_named_in_the_evidence(self) -> None:
        (thanks,) = [e for e in politeness("谢谢你啊，真是服了").evidence if e.text == "谢谢"]
        assert thanks.rule == "sarcastic_thanks"

    def test_a_dropped_phrase_does_not_hide_shorter_ones(self) -> None:
        # 您自己 is dropped by not_choice, but 您 still counts as courtesy
        assert _texts(politeness("您自己选择哪个颜色都可以"), "courtesy") == ["您"]

    def test_rule_names_are_listed(self) -> None:
        assert set(RULES) == {
            "clause_final",
            "not_choice",
            "negated_courtesy",
            "sarcastic_thanks",
            "not_after_hedge",
            "latin_word",
            "softened",
            "challenge_only",
            "not_asked",
            "addressed",
            "sends_off",
            "explained",
            "you_can",
        }

    @pytest.mark.parametrize(
        ("text", "phrase", "fires"),
        [
            # latin_word: a Latin phrase counts only as a whole word
            ("你是sb吗", "sb", True),
            ("SB客服", "SB", True),
            ("sb", "sb", True),
            ("有两个USB接口哦", "SB", False),
            ("支持usb-c充电", "sb", False),
            ("USB3.0数据线", "SB", False),
            # 滚 is an insult, but not in reduplicated idioms and compounds
            ("滚", "滚", True),
            ("你给我滚", "滚", True),
            ("滚吧", "滚", True),
            ("祝您财源滚滚", "滚", False),
            ("好运滚滚而来", "滚", False),
            ("水是滚烫的", "滚", False),
            ("洗衣机是滚筒的", "滚", False),
            ("鼠标滚轮坏了", "滚", False),
        ],
    )
    def test_offensive_false_positives(self, text: str, phrase: str, fires: bool) -> None:
        offensive = [e.text for e in politeness(text).evidence if e.kind == "offensive"]
        assert (phrase in offensive) is fires


class TestUndefined:
    """Text without content has no politeness: None, never a fake 0.5."""

    @pytest.mark.parametrize("text", ["", "   ", "？？", "[数字x]", "#E-s[数字x]", "[ORDERID_123]"])
    def test_empty_text_is_undefined_with_a_warning(self, text: str) -> None:
        with pytest.warns(UndefinedMetricWarning):
            p = politeness(text)
        assert (p.score, p.label, p.evidence) == (None, None, ())

    def test_politeness_many_does_not_warn(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            results = politeness_many(["", "好的"])
        assert results[0].score is None
        assert results[1].score is not None

    def test_non_str_is_rejected(self) -> None:
        with pytest.raises(ConfigError, match="needs a str"):
            politeness(123)  # type: ignore[arg-type]

    def test_bad_lexicon_argument_is_rejected(self) -> None:
        with pytest.raises(ConfigError, match="Lexicon or None"):
            politeness("好的", lexicon={"亲": 1})  # type: ignore[arg-type]


_CHARS = st.sampled_from(
    [
        *list(
            "亲您好请问谢謝對不起抱歉稍等你不会自己看吗知道"
            "滚白痴癡蛋呵哦呢~？?！!，。 \u3000ＡＢａ12１２"
        ),
        "[数字x]",
        "#E-s[数字x]",
        "您好",
        "不知道",
        "謝謝",
        "說了多少遍",
        "你這個",
        "不用谢",
    ]
)


class TestProperties:
    """Properties that hold for every input."""

    @given(st.lists(_CHARS, max_size=30).map("".join))
    def test_spans_index_the_original_text(self, text: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            p = politeness(text)
        for e in p.evidence:
            assert isinstance(e, Evidence)
            assert text[e.start : e.end] == e.text
        if p.score is not None:
            assert 0.0 <= p.score <= 1.0
            assert p.label in ("impolite", "neutral", "polite")

    @given(st.lists(_CHARS, max_size=30).map("".join))
    def test_hits_do_not_overlap(self, text: str) -> None:
        hits = [e for e in politeness_many([text])[0].evidence if not e.rule.startswith("model:")]
        for a, b in itertools.pairwise(hits):
            assert a.end <= b.start

    def test_results_are_frozen(self) -> None:
        p = politeness("亲，您好")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            p.score = 0.0  # type: ignore[misc]

    def test_default_lexicon_is_shared(self) -> None:
        assert Lexicon.default() is Lexicon.default()
