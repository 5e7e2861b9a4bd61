"""Specification of escalation reasons a manager can trust (issue 19).

Evidence matches words, not substrings; a reason is listed only when it is true
and material (``Escalation.reasons``), weaker signals go to
``Escalation.minor_signals``; kinds say what happened (``human_request`` is not a
``threat``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards import Conversation, politeness
from kefu_standards._cues import (
    agent_cues,
    asking_for_human,
    buyer_cues,
    echo_challenge,
    is_acceptance,
    is_bare_okay,
    material_refusals,
    says_what_happens,
)
from kefu_standards._escalation import (
    REASON_DEFINITIONS,
    REASON_KINDS,
    REASON_MIN_CONTRIBUTION,
    Escalation,
    escalation,
)

FIXTURES = Path(__file__).parent / "fixtures"
HARSH = frozenset({"harsh_tone", "banned_phrase"})


def conv(*rows: tuple[str, str]) -> Conversation:
    return Conversation.from_records([{"role": r, "text": t} for r, t in rows], id="c")


def harsh(text: str) -> list[str]:
    return [e.text for e in politeness(text).evidence if e.kind in HARSH]


class TestWordsNotSubstrings:
    """Each word-boundary and context rule: a case where it fires and one where it must not."""

    @pytest.mark.parametrize(
        ("text", "phrase", "counts"),
        [
            # 无理由 is the return policy, 无理 an insult
            ("你这是无理取闹", "无理", True),
            ("支持7天无理由退货", "无理", False),
            # 有什么 offering help is not a challenge
            ("这有什么好问的", "有什么", True),
            ("请问有什么可以帮您", "有什么", False),
            # 截图给我 asks for information; a bare 给我 is an order
            ("马上给我退款", "给我", True),
            ("好评截图给我就返现", "给我", False),
            # 不要生气 / 别担心 comfort; 不要 / 别 alone forbid
            ("不要再发了", "不要再", True),
            ("不要生气了，马上处理", "不要", False),
            ("别担心，已经发货了", "别", False),
            # 怎么了 asks what is wrong
            ("怎么这么慢", "怎么", True),
            ("怎么了客官", "怎么", False),
            # 你放心 reassures; a bare 你 is the blunt second person
            ("你删了我的订单", "你", True),
            ("这个你放心", "你", False),
            # softened: "!" after thanks or a greeting is not harsh
            ("快点发货!", "!", True),
            ("感谢您的支持！", "！", False),
            ("您好！欢迎光临", "！", False),
            ("好的，收到！马上安排", "！", False),
            # softened: a courtesy word or a friendly particle in the sentence
            ("现在就给我", "给我", True),
            ("订单号发给我一下哦", "给我", False),
            ("辛苦您提供下订单号给我可以吗", "给我", False),
            # the ? of a question counts, the ? of a link does not
            ("为什么你删了我的编辑?", "?", True),
            ("评价入口 https://club.jd.com/my.action?sort=1", "?", False),
            # challenge_only: a lone ? counts in a challenge, not in a check
            ("到底发不发货?", "?", True),
            ("你没绑定银行卡?", "?", True),
            ("白条没有绑定银行卡?", "?", False),
            # not_asked: a verdict stated, not asked
            ("你填错了", "错了", True),
            ("发票抬头这个错了吗?", "错了", False),
            # addressed: 必须 orders the buyer, not a rule about a thing
            ("必须今天付款", "必须", True),
            ("SIM卡必须开通来电显示", "必须", False),
            # longest match: 急切 / 没完成 / 卡号给我 are words of their own
            ("切，爱买不买", "切", True),
            ("小妹理解您的急切心情", "切", False),
            ("你们没完没了", "没完", True),
            ("订单还没完成", "没完", False),
            ("卡号给我一下", "给我", False),
            # sends_off: 您自己 shirks when it sends the buyer off to look / ask alone
            ("这个您自己看吧", "您自己", True),
            ("电子发票您自己可以下载的", "您自己", False),
            ("需要您自己先上传增票资质", "您自己", False),
            # explained: 没办法 with an apology or a reason is a polite refusal
            ("这个没办法。", "没办法", True),
            ("非常抱歉，这个真的没办法", "没办法", False),
            ("为了保障客户的隐私，我们这边是没办法修改的", "没办法", False),
            ("抱歉，我也没办法", "我也没办法", True),  # a banned phrase of its own
            # you_can: 你可以… tells the buyer what they can do
            ("你怎么还不发货", "你", True),
            ("你可以在订单详情查看邮寄单号", "你", False),
            # an anonymised link's ? ([链接x]?cid=) is a link's
            ("网址:http://[链接x]?cid=12", "?", False),
        ],
    )
    def test_politeness_evidence(self, text: str, phrase: str, counts: bool) -> None:
        """A harsh or banned marker fires only where a 质检 inspector would call it one."""
        assert (phrase in harsh(text)) is counts

    def test_strong_markers_are_not_softened(self) -> None:
        """Only mild markers (weight -0.5 or milder) are softened: 不归我管 stays banned."""
        assert "不归我管" in harsh("亲，这个不归我管哦")

    @pytest.mark.parametrize(
        ("text", "material"),
        [
            ("这个无法退款", ["无法"]),
            ("这个无法处理，建议您联系商家", ["无法", "建议您联系"]),
            ("很抱歉，这款不能退货", ["不能"]),
            ("不能吃辣的话推荐五香味", []),  # a condition, then a recommendation
            ("如果无法使用可以换货", []),  # a condition
            ("能不能开发票", []),  # a question
            ("您前台不支持下单么?", []),  # a question
            ("建议您先试一下", []),  # advice
            ("以网点为准", []),  # policy
            ("无法开普通发票，可以开电子发票", []),  # a way forward is offered
            ("这款不支持电信卡", ["不支持"]),
            ("目前仅支持移动卡，不支持电信卡", []),  # names what is supported
            ("这边是留言的 无法直接联系售后的哦", []),  # the message is passed on
            ("亲这边也看不到哟", ["看不到"]),  # the agent cannot see, nothing offered
            ("妹子不清楚呢", ["不清楚"]),
            ("不清楚您说的是哪个", []),  # not said of itself: asks which one
            ("您那边看不到的话刷新一下", []),  # a condition
        ],
    )
    def test_material_refusals(self, text: str, material: list[str]) -> None:
        """A refusal is material outside a condition or a question, with no way forward."""
        assert [c.phrase for c in material_refusals(text, agent_cues(text))] == material

    @pytest.mark.parametrize(
        ("text", "asks"),
        [
            ("给我转人工", True),
            ("找你们领导来", True),
            ("你是人工客服还是智能的", False),
            ("是机器人吗", False),
        ],
    )
    def test_asking_for_human(self, text: str, asks: bool) -> None:
        """转人工 / 找你们领导 ask for a human; 你是人工吗 only asks whether."""
        human = tuple(c for c in buyer_cues(text) if c.kind == "human")
        assert human
        assert bool(asking_for_human(text, human)) is asks

    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("你不是京东客服吗。。。。", "exasperation"),  # trailing off in words: 无语
            ("没事了。谢谢。。。", "impatience"),  # after thanks: not exasperation
            ("怎么还没到??", "impatience"),  # ?? chases
        ],
    )
    def test_punctuation_runs(self, text: str, kind: str) -> None:
        """。。。 in words is exasperation (listed as emotion); after thanks, or ??, it is not."""
        runs = [c.kind for c in buyer_cues(text) if c.kind in {"exasperation", "impatience"}]
        assert runs == [kind]

    @pytest.mark.parametrize(
        ("text", "bare"),
        [("好吧", True), ("好吧！", True), ("行吧", True), ("…好吧", False), ("那好吧", False)],
    )
    def test_bare_okay(self, text: str, bare: bool) -> None:
        """好吧 alone accepts; …好吧 and 那好吧 resign (the labelling brief's call)."""
        assert is_bare_okay(text) is bare

    @pytest.mark.parametrize(
        ("text", "reply", "fires"),
        [
            ("什么好的", "好的哦", True),
            ("啥好的呀", "好的哦", True),
            ("什么时候到", "好的哦", False),  # a question, not the reply's words
            ("什么好的", "", False),  # no reply to throw back
            ("请问你们有什么好的办法", "好的哦", False),  # does not open with 什么
        ],
    )
    def test_echo_challenge(self, text: str, reply: str, fires: bool) -> None:
        """什么好的 after 好的哦 throws the agent's words back: the reply did not help."""
        assert bool(echo_challenge(text, reply)) is fires

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("还请您稍等 审核通过后就会给您地址的呢", True),
            ("您稍等，我帮您查一下", False),
        ],
    )
    def test_says_what_happens(self, text: str, says: bool) -> None:
        """A holding reply that says what happens next is not a bare holding reply."""
        assert says_what_happens(text) is says

    @pytest.mark.parametrize(
        ("text", "accepts"),
        [
            ("好的那我拍了", True),
            ("谢谢", True),
            ("好的", True),
            ("没有了", True),
            ("明白了", True),
            ("还有问题吗", False),
            ("什么时候到", False),
        ],
    )
    def test_acceptance(self, text: str, accepts: bool) -> None:
        """The buyer accepts with thanks, 好的, going ahead with the purchase, nothing more."""
        assert is_acceptance(text) is accepts


class TestKinds:
    """Reason kinds say what happened, each with a definition."""

    def test_every_kind_has_a_definition(self) -> None:
        """REASON_DEFINITIONS covers exactly REASON_KINDS; Escalation exposes both."""
        assert set(REASON_DEFINITIONS) == set(REASON_KINDS)
        assert dict(Escalation.REASON_DEFINITIONS) == REASON_DEFINITIONS
        assert Escalation.REASON_MIN_CONTRIBUTION == REASON_MIN_CONTRIBUTION > 0

    @pytest.mark.parametrize(
        ("text", "kind", "not_kind"),
        [
            ("给我转人工", "human_request", "threat"),
            ("叫你们领导来跟我说", "human_request", "threat"),
            ("再不发货我就打12315投诉", "threat", "human_request"),
        ],
    )
    def test_human_request_is_not_a_threat(self, text: str, kind: str, not_kind: str) -> None:
        """转人工 / 找你们领导 are a request for a human; 12315 is a threat."""
        e = escalation(conv(("buyer", "耳机坏了"), ("agent", "亲，您说"), ("buyer", text)))
        kinds = {r.kind for r in e.reasons}
        assert kind in kinds
        assert not_kind not in kinds

    def test_a_request_for_a_human_weighs_on_the_threat_feature(self) -> None:
        """Splitting the kind changes the explanation, not the risk: the same feature."""
        assert REASON_KINDS["human_request"] == REASON_KINDS["threat"] == "threat"


class TestMaterial:
    """A reason is listed only when it is true and it matters."""

    def test_a_polite_purchase_chat_has_nothing_material(self) -> None:
        """ex-001's shape: thanks with "!", answered questions, 好的那我拍了: 无明显风险."""
        e = escalation(
            conv(
                ("buyer", "在吗？这款1.8米的床用哪个规格"),
                ("agent", "您好亲，欢迎光临～1.8米的床选200x230的被套哦，感谢您的支持！"),
                ("buyer", "有现货吗"),
                ("agent", "有现货的亲，今天下单今天发"),
                ("buyer", "好的那我拍了"),
            )
        )
        assert [r.kind for r in e.reasons if r.weight > 0] == []
        assert e.summary_zh == "无明显风险"

    def test_open_issue_needs_an_unanswered_question(self) -> None:
        """A question the agent never answered is an open issue ..."""
        e = escalation(
            conv(("buyer", "什么时候发货"), ("agent", "亲"), ("buyer", "到底什么时候发货？"))
        )
        assert e.reason("open_issue") is not None

    def test_open_issue_never_after_acceptance(self) -> None:
        """... but not once the buyer accepted (谢谢 / 好的 / 那我拍了)."""
        e = escalation(
            conv(
                ("buyer", "什么时候发货"),
                ("agent", "亲"),
                ("buyer", "到底什么时候发货？"),
                ("agent", "今天下午发出"),
                ("buyer", "好的谢谢"),
            )
        )
        assert e.reason("open_issue") is None

    def test_acceptance_of_a_holding_reply_closes_nothing(self) -> None:
        """好 to 请稍等 accepts no answer: a request asked again before it stays open."""
        rows = (
            ("buyer", "我想要申请售后服务"),
            ("buyer", "我想要申请售后服务"),
            ("agent", "请您稍等，小妹马上查询"),
            ("buyer", "好"),
        )
        assert escalation(conv(*rows)).reason("open_issue") is not None
        answered = (*rows, ("agent", "已经为您提交售后申请了"), ("buyer", "好的谢谢"))
        assert escalation(conv(*answered)).reason("open_issue") is None

    def test_advice_is_not_a_refusal(self) -> None:
        """ex-014: 不能吃辣的话推荐五香味 recommends, it does not refuse (a minor signal)."""
        e = escalation(
            conv(("buyer", "我不太能吃辣，推荐哪个"), ("agent", "不能吃辣的话推荐五香味哦"))
        )
        assert e.reason("agent_refusal") is None
        assert "agent_refusal" in {r.kind for r in e.minor_signals}

    def test_a_mild_marker_is_a_minor_signal_not_impoliteness(self) -> None:
        """A lone 必须 in a policy statement is minor; 不归我管 is a banned phrase (listed)."""
        rows = (("buyer", "这个怎么用"),)
        mild = escalation(conv(*rows, ("agent", "SIM卡必须开通来电显示")))
        banned = escalation(conv(*rows, ("agent", "这个不归我管")))
        assert mild.reason("agent_impolite") is None
        assert banned.reason("agent_impolite") is not None

    @pytest.mark.parametrize(
        ("rows", "kind", "listed"),
        [
            # a statement said again before any reply is repetition; after a reply it is minor
            (
                (
                    ("buyer", "开发票"),
                    ("agent", "请提供资料"),
                    ("buyer", "我之前已经开过了"),
                    ("buyer", "我之前已经开过了"),
                ),
                "repetition",
                True,
            ),
            (
                (
                    ("buyer", "我之前已经开过了"),
                    ("agent", "好的，我看一下"),
                    ("buyer", "我之前已经开过了"),
                ),
                "repetition",
                False,
            ),
            # two pasted records that differ in the order number are not a repetition
            (
                (
                    ("buyer", "开发票"),
                    ("agent", "请提供资料"),
                    ("buyer", "订单[ORDERID_10027074]已出票，长沙，谨防诈骗"),
                    ("buyer", "订单[ORDERID_10027083]已出票，长沙，谨防诈骗"),
                ),
                "repetition",
                False,
            ),
            # a ? after the buyer's own order number chases; right after a reply it is puzzled
            (
                (
                    ("buyer", "查一下物流"),
                    ("agent", "请提供订单号"),
                    ("buyer", "[ORDERID_123]"),
                    ("buyer", "?"),
                ),
                "impatience",
                True,
            ),
            (
                (("buyer", "查一下物流"), ("agent", "请提供订单号"), ("buyer", "?")),
                "impatience",
                False,
            ),
            # 好吧 alone accepts; 那好吧 after a refusal resigns
            (
                (("buyer", "能退款吗"), ("agent", "订单已经取消了"), ("buyer", "好吧")),
                "negative_emotion",
                False,
            ),
            (
                (("buyer", "能退款吗"), ("agent", "这个无法退款"), ("buyer", "那好吧")),
                "negative_emotion",
                True,
            ),
            # 。。。 trailing off in words is exasperation
            (
                (
                    ("buyer", "能退款吗"),
                    ("agent", "请提供订单号"),
                    ("buyer", "你不是客服吗。。。。"),
                ),
                "negative_emotion",
                True,
            ),
            # 什么好的 throws the agent's 好的哦 back: the reply did not help
            (
                (
                    ("buyer", "能给点运费吗，我真的着急用"),
                    ("agent", "好的哦"),
                    ("buyer", "什么好的"),
                ),
                "unresolved",
                True,
            ),
            (
                (("buyer", "能给点运费吗"), ("agent", "好的哦"), ("buyer", "什么时候到账")),
                "unresolved",
                False,
            ),
            # a holding reply that says what happens next needs no follow-up
            (
                (("buyer", "维修地址呢"), ("agent", "还请您稍等 审核通过后就会给您地址的呢")),
                "holding_unfollowed",
                False,
            ),
            (
                (("buyer", "维修地址呢"), ("agent", "您稍等")),
                "holding_unfollowed",
                True,
            ),
        ],
    )
    def test_context_decides_what_is_listed(
        self, rows: tuple[tuple[str, str], ...], kind: str, listed: bool
    ) -> None:
        """Session 6 rules: each listed in one chat and not listed in its twin."""
        e = escalation(conv(*rows))
        assert (e.reason(kind) is not None) is listed

    def test_reasons_and_minor_signals_do_not_overlap(self) -> None:
        """A kind is either listed or minor, never both."""
        e = escalation(
            conv(
                ("buyer", "快递怎么还没到"),
                ("agent", "建议您联系快递"),
                ("buyer", "我说过了，还没到"),
                ("agent", "这个无法处理"),
                ("buyer", "我要投诉"),
            )
        )
        assert not {r.kind for r in e.reasons} & {r.kind for r in e.minor_signals}


def test_polite_taobao_style_replies_have_no_harsh_evidence() -> None:
    """At most 1.5 % of the 120 polite replies in the fixture get harsh or banned evidence."""
    texts = [
        x.strip()
        for x in (FIXTURES / "polite_replies_taobao.txt").read_text(encoding="utf-8").splitlines()
        if x.strip() and not x.startswith("#")
    ]
    assert len(texts) >= 100
    flagged = [t for t in texts if harsh(t)]
    assert len(flagged) <= 0.015 * len(texts), flagged


TEXTS = [
    "在吗",
    "这个什么时候发货",
    "我说过了，订单号是123",
    "再不处理我就投诉",
    "给我转人工",
    "好的谢谢",
    "太失望了",
    "亲，感谢您的支持！",
    "这个不归我管",
    "这个无法处理，建议您联系商家",
    "不能吃辣的话推荐五香味",
    "非常抱歉，马上为您补发，明天到",
    "稍等",
    "你自己看吧",
    "？？",
]
ROWS = st.lists(st.tuples(st.sampled_from(["buyer", "agent"]), st.sampled_from(TEXTS)), max_size=12)


@given(ROWS)
def test_listed_reasons_are_consistent(rows: list[tuple[str, str]]) -> None:
    """For any chat: listed and minor kinds are disjoint and known, evidence points into
    the chat, 无明显风险 exactly when no listed reason raises the risk, and an
    agent_impolite reason only points at replies politeness() labels impolite or that
    carry a banned phrase."""
    c = conv(*rows)
    e = escalation(c)
    listed = {r.kind for r in e.reasons}
    assert listed.isdisjoint({r.kind for r in e.minor_signals})
    assert listed <= set(REASON_KINDS)
    for r in (*e.reasons, *e.minor_signals):
        assert all(0 <= (ev.message_index or 0) < len(rows) for ev in r.evidence)
    assert (e.summary_zh == "无明显风险") is (not e.risk_reasons)
    rude = e.reason("agent_impolite")
    for i in rude.message_indexes if rude else ():
        p = politeness(c.messages[i].text)
        assert p.label == "impolite" or any(x.kind == "banned_phrase" for x in p.evidence)
