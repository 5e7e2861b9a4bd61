"""Personal data stays out of every output: the detectors, the policy and the property."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu_standards.exceptions import ConfigError, KefuError
from kefu_standards.redact import (
    KINDS,
    Redaction,
    RedactionPolicy,
    RedactionSpan,
    pseudonym,
    redact,
)
from kefu_standards.report import ChatLine, KpiView, ReportView, RiskView, render_html

FULL = RedactionPolicy(partial=False)

# Product details, prices, dates and placeholders: no detector may touch them.
PRODUCT_TEXTS = [
    "尺码175/92A，身高175体重65kg穿L码",
    "¥199包邮，满300减30，到手价169.00元",
    "2.0m床单款，床单245×250cm，被套200×230cm",
    "型号A2403，颜色1号色，3件起批",
    "40支全棉，60S长绒棉，A类标准",
    "2024-05-01 10:00:00 下单，5月1日发货，2024年5月3日10:00前到",
    "支持7天无理由退换，15天价保",
    "[数字x]元的优惠券，订单[ORDERID_10337264]已发货",
    "#E-s[数字x]亲，[姓名x]您好",
    "iPhone15 Pro Max 256GB 国行",
    "营业时间 09:00-23:00，客服热线400-820-8820",
    "5号20点前发货，3号仓库",
    "杭州市区包邮，江浙沪次日达",
    "收货人信息填错了怎么改",
    "联系人工客服",
    "姓名和电话都要填",
    "QQ音乐会员送吗",
    "微信支付199元可以吗",
    "加微信好友有优惠",
    "订单号多少？订单2024-05-01发货",
    "第3单元的说明书在哪",
    "电池容量5000mAh，充电功率67W",
    "一共3件，每件2.5kg，共7.5kg",
    "收货人王先生说放门口",
    "我在杭州，发浙江省内",
]


class TestPolicy:
    def test_default_masks_everything_partially(self) -> None:
        """The default policy is on, partial, masks every kind with '*'."""
        policy = RedactionPolicy()
        assert (policy.enabled, policy.partial, policy.mask_char) == (True, True, "*")
        assert set(KINDS) == policy.kinds

    def test_off_masks_nothing(self) -> None:
        """RedactionPolicy.off() passes every text through and says so."""
        text = "收件人：王小明 电话13812345678"
        assert redact(text, RedactionPolicy.off()) == Redaction(text)
        assert "masking was off" in RedactionPolicy.off().describe()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"kinds": {"phone"}}, "unknown redaction kind"),
            ({"mask_char": "**"}, "mask_char must be one character"),
            ({"mask_char": "x"}, "not a letter, digit or space"),
            ({"mask_char": " "}, "not a letter, digit or space"),
            ({"key": b"k" * 65}, "at most 64 bytes"),
            ({"key": "text"}, "key must be bytes"),
        ],
    )
    def test_invalid_policy_says_what_is_valid(
        self, kwargs: dict[str, object], message: str
    ) -> None:
        """Bad settings fail when the policy is built, with a ConfigError naming what is valid."""
        with pytest.raises(ConfigError, match=message):
            RedactionPolicy(**kwargs)  # type: ignore[arg-type]

    def test_unknown_kind_lists_the_valid_ones(self) -> None:
        """The error lists every valid kind."""
        with pytest.raises(ConfigError) as info:
            RedactionPolicy(kinds={"phone"})
        assert all(kind in str(info.value) for kind in KINDS)

    def test_repr_reads_like_the_call_and_hides_the_key(self) -> None:
        """The repr lists kinds in a fixed order and never shows the key."""
        policy = RedactionPolicy(kinds={"qq", "mobile"}, key=b"secret")
        assert repr(policy) == (
            "RedactionPolicy(enabled=True, kinds=frozenset({'mobile', 'qq'}), "
            "partial=True, mask_char='*')"
        )

    def test_kinds_subset(self) -> None:
        """Only the kinds asked for are masked."""
        text = "电话13812345678 邮箱a.b@qq.com"
        out = redact(text, RedactionPolicy(kinds={"email"}))
        assert out.text == "电话13812345678 邮箱*.*@qq.com"
        assert [s.kind for s in out.spans] == ["email"]

    def test_one_kind_may_be_a_str(self) -> None:
        """kinds="email" means the one kind, not its letters."""
        assert RedactionPolicy(kinds="email").kinds == frozenset({"email"})

    def test_describe_names_what_is_masked(self) -> None:
        """The report's note lists the kinds masked, and hashes only when nicks are masked."""
        assert "手机号" in RedactionPolicy().describe()
        assert "哈希" in RedactionPolicy().describe()
        assert "哈希" not in RedactionPolicy(kinds={"mobile"}).describe()

    def test_other_mask_char(self) -> None:
        """The mask character is the policy's."""
        assert redact("电话13812345678", RedactionPolicy(mask_char="#")).text == "电话138####5678"

    def test_not_a_policy_is_a_config_error(self) -> None:
        """Passing something else than a policy fails clearly."""
        with pytest.raises(ConfigError, match="must be a RedactionPolicy"):
            redact("x", "on")  # type: ignore[arg-type]

    def test_not_a_text_is_a_config_error(self) -> None:
        """Only str can be redacted; the error is a KefuError and a ValueError."""
        with pytest.raises(ConfigError, match="needs a str") as info:
            redact(123)  # type: ignore[arg-type]
        assert isinstance(info.value, KefuError)
        assert isinstance(info.value, ValueError)


# (input, default partial output, full output)
FIRES: dict[str, list[tuple[str, str, str]]] = {
    "mobile": [
        ("电话13812345678", "电话138****5678", "电话***********"),
        ("+8613812345678", "+86138****5678", "+*************"),
        ("+86 138 1234 5678", "+86 138 **** 5678", "+** *** **** ****"),
        ("138-1234-5678到了打", "138-****-5678到了打", "***-****-****到了打"),
        ("００８６１３８１２３４５６７８", "００８６１３８****５６７８", "*" * 15),
        ("手机１３８１２３４５６７８", "手机１３８****５６７８", "手机" + "*" * 11),
    ],
    "landline": [
        ("座机0571-88886666", "座机0571-****6666", "座机****-********"),
        ("(0571)88886666", "(0571)****6666", "(****)********"),
        ("（０５７１）８８８８６６６６", "（０５７１）****６６６６", "（****）********"),
        ("010 62345678转123", "010 ****5678转123", "*** ********转123"),
        ("电话：88886666", "电话：****6666", "电话：********"),
        ("tel 6234567", "tel ***4567", "tel *******"),
    ],
    "id_card": [
        ("身份证33010619900101123X", "身份证" + "*" * 18, "身份证" + "*" * 18),
        (
            "证件号 110101 19491001 001X",
            "证件号 ****** ******** ****",
            "证件号 ****** ******** ****",
        ),
    ],
    "bank_card": [
        ("卡号6222021234567890128", "卡号***************0128", "卡号" + "*" * 19),
        ("6222 0212 3456 7890 128", "**** **** **** ***0 128", "**** **** **** **** ***"),
        ("退到4111-1111-1111-1111", "退到****-****-****-1111", "退到****-****-****-****"),
    ],
    "email": [
        ("邮箱wangxm88@163.com", "邮箱********@163.com", "邮箱********@***.***"),
        ("发到 Tom.Li+shop@mail.example.cn 吧", "发到 ***.**+****@mail.example.cn 吧", None),
        ("１２３４５@qq.com", "*****@qq.com", "*****@**.***"),
    ],
    "wechat": [
        ("加我微信: wang_xm88", "加我微信: ****_****", "加我微信: ****_****"),
        ("VX：abc-123456 通过一下", "VX：***-****** 通过一下", None),
        ("wx是Wxm19900101", "wx是***********", None),
        ("微信号 88886666abc", "微信号 ***********", None),
        ("我的wxid_a1b2c3d4e5", "我的****_**********", None),
    ],
    "qq": [
        ("QQ 123456789", "QQ *********", "QQ *********"),
        ("我的qq号是12345", "我的qq号是*****", None),
        ("扣扣：987654321", "扣扣：*********", None),
        ("企鹅号 10001", "企鹅号 *****", None),
    ],
    "address": [
        (
            "浙江省杭州市西湖区文三路100号3单元502",
            "浙江省杭州市****************",
            "*" * 22,
        ),
        ("北京市朝阳区建国路88号", "北京市*********", None),
        ("上海浦东新区张江镇", "上海*******", None),
        ("送到西湖区文三路", "送到******", None),
        ("文三路100号", "*******", None),
        ("人民路479号2766", "***********", None),
        ("3栋2单元1201室", "**********", None),
        ("金色家园12号楼3单元", "***********", None),
        ("中山大道金色家园", "********", None),
        ("广东省深圳市南山区科技园", "广东省深圳市******", None),
        ("浙江省杭州市西湖区文三路１００号", "浙江省杭州市**********", None),
    ],
    "name": [
        ("收件人：王小明", "收件人：王**", "收件人：***"),
        ("收货人王小明13812345678", "收货人王**138****5678", None),
        ("联系人是欧阳娜娜", "联系人是欧阳**", "联系人是****"),
        ("姓名: Tom Li", "姓名: *** **", None),
        ("寄件人 李娜 电话", "寄件人 李* 电话", None),
        ("收件人：王小姐", "收件人：王*姐", None),
    ],
    "order_number": [
        ("订单 123456789012 已发", "订单 ********9012 已发", "订单 ************ 已发"),
        ("顺丰SF1234567890123", "顺丰***********0123", None),
        ("运单号：YT2024050112", "运单号：********0112", None),
        ("订单号是 A2B3C4D5E6", "订单号是 ******D5E6", None),
        ("单号JD0012345678901", "单号***********8901", None),
    ],
}

#: Near misses: the cue or the shape of a kind, but no value to mask.
NEAR_MISSES: dict[str, list[str]] = {
    "mobile": ["价格 12345678 元", "编号1381234567", "23812345678"],
    "landline": ["400-820-8820", "2024-05-01", "0.5kg", "电话多少"],
    "id_card": ["330106199001011234"],  # wrong check digit: still masked, as a long number
    "bank_card": ["1234 5678 9012 3456"],  # fails Luhn
    "email": ["@客服小美", "a@b", "邮箱地址是多少"],
    "wechat": ["微信支付", "vx搜索店铺名", "加微信ok吗", "wxyz"],
    "qq": ["qq群", "QQ2024", "QQ音乐"],
    "address": ["浙江发货", "杭州市", "3号", "1号链接2号链接", "3楼", "我家住在杭州"],
    "name": ["收货人信息", "联系人工客服", "姓名和电话", "收件人写错了", "收货人王先生"],
    "order_number": [
        "订单号多少",
        "订单2024-05-01发货",
        "型号A2403",
        "订单123件",
        "好评666666666666",
        "打4008208820问了",
        "QQ396276755",
    ],
}


def _fires() -> list[tuple[str, str, str, str | None]]:
    return [(kind, *case) for kind, cases in FIRES.items() for case in cases]


class TestDetectors:
    @pytest.mark.parametrize(("kind", "raw", "partial", "full"), _fires())
    def test_fires(self, kind: str, raw: str, partial: str, full: str | None) -> None:
        """Each planted value is masked (partially by default, whole with partial=False)."""
        out = redact(raw)
        assert partial == out.text
        assert kind in {s.kind for s in out.spans}
        if full is not None:
            assert full == redact(raw, FULL).text

    @pytest.mark.parametrize(("kind", "raw", "partial", "full"), _fires())
    def test_only_its_kind_is_needed(
        self, kind: str, raw: str, partial: str, full: str | None
    ) -> None:
        """The kind's own detector catches the value when it is the only kind enabled."""
        assert redact(raw, RedactionPolicy(kinds={kind})).changed

    @pytest.mark.parametrize("text", PRODUCT_TEXTS)
    def test_product_details_stay_readable(self, text: str) -> None:
        """Sizes, prices, models, counts, dates, placeholders: nothing is masked."""
        assert Redaction(text) == redact(text)
        assert Redaction(text) == redact(text, FULL)

    @pytest.mark.parametrize(
        ("kind", "text"), [(k, t) for k, texts in NEAR_MISSES.items() for t in texts]
    )
    def test_near_misses_do_not_fire(self, kind: str, text: str) -> None:
        """A cue without a value, or a value of the wrong shape, is not that kind."""
        assert kind not in {s.kind for s in redact(text).spans}

    @pytest.mark.parametrize(
        ("text", "kinds"),
        [
            ("330106199001011234", ["order_number"]),
            ("13812345678", ["mobile"]),  # also a digit run: the phone wins
            ("6222021234567890128", ["bank_card"]),
            ("057188886666", ["landline"]),
        ],
    )
    def test_overlaps_report_one_kind(self, text: str, kinds: list[str]) -> None:
        """When detectors overlap, the longest value and then the first kind in KINDS win."""
        assert kinds == [s.kind for s in redact(text).spans]

    @pytest.mark.parametrize(
        ("text", "kinds"),
        [
            # Hypothesis found it: the grouped run "1000 6222 0200 0000" is not a card,
            # and the card that starts inside it was skipped
            ("130 0000 1000 6222 0200 0000 0007。", ["mobile", "bank_card"]),
            ("1300 6222 0200 0000 0007", ["bank_card"]),
            ("13000001000 6222020000000007", ["mobile", "bank_card"]),
        ],
    )
    def test_a_card_right_after_another_number_is_found(self, text: str, kinds: list[str]) -> None:
        """A card that starts inside a longer digit-group candidate that fails the card
        test is still found."""
        assert [s.kind for s in redact(text).spans] == kinds

    def test_spans_locate_the_values(self) -> None:
        """Spans are offsets into the input, sorted, not overlapping."""
        text = "收件人：王小明，电话13812345678，邮箱wangxm88@163.com"
        out = redact(text)
        assert [(s.kind, text[s.start : s.end]) for s in out.spans] == [
            ("name", "王小明"),
            ("mobile", "13812345678"),
            ("email", "wangxm88@163.com"),
        ]

    def test_known_values_are_masked_everywhere(self) -> None:
        """A known nick is masked wherever it occurs, whole; one-character values are ignored."""
        out = redact("tb_wangxm88说：我是tb_wangxm88", known=("tb_wangxm88", "我"))
        assert out.text == "***********说：我是***********"
        assert [s.kind for s in out.spans] == ["nick", "nick"]

    def test_known_values_follow_the_policy(self) -> None:
        """Without the nick kind, known values stay."""
        policy = RedactionPolicy(kinds=set(KINDS) - {"nick"})
        assert redact("我是tb_wangxm88", policy, known=("tb_wangxm88",)).text == "我是tb_wangxm88"


class TestPseudonym:
    def test_stable_and_short(self) -> None:
        """The same nick gives the same 8 hex characters; different nicks differ."""
        a, b = pseudonym("tb_wangxm88"), pseudonym("tb_wangxm88")
        assert a == b
        assert len(a) == 8
        assert set(a) <= set(string.hexdigits.lower())
        assert a != pseudonym("tb_wangxm89")

    def test_keyed(self) -> None:
        """Another key gives another pseudonym."""
        keyed = RedactionPolicy(key=b"shop secret")
        assert pseudonym("tb_wangxm88") != pseudonym("tb_wangxm88", keyed)

    def test_short_is_prefix_of_long(self) -> None:
        """The report's short pseudonym starts the longer one written to results.jsonl."""
        assert pseudonym("tb_x", length=16).startswith(pseudonym("tb_x"))

    @pytest.mark.parametrize("length", [0, 1, 65])
    def test_length_is_checked(self, length: int) -> None:
        """Lengths outside 2-64 are a ConfigError."""
        with pytest.raises(ConfigError, match="between 2 and 64"):
            pseudonym("x", length=length)


# -- the property: planted values never survive --------------------------------------

_CONTEXT_CHARS = "的了是我你好亲在吗这个快递发货什么时候到谢谢麻烦帮看一下质量还行退款，。！？ "
context = st.text(st.sampled_from(_CONTEXT_CHARS), max_size=12)
digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=1)


def _run(n: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789"), min_size=n, max_size=n)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _id_complete(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _widen(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


mobiles = st.builds(
    lambda p, n, sep: p + sep.join([n[:3], n[3:7], n[7:]]),
    st.sampled_from(["", "+86", "0086", "+86 "]),
    st.builds(lambda a, b: "1" + a + b, st.sampled_from("3456789"), _run(9)),
    st.sampled_from(["", " ", "-"]),
)
landlines = st.builds(
    lambda area, first, rest, sep: f"{area}{sep}{first}{rest}",
    st.sampled_from(["010", "021", "0571", "0755", "(0571)", "（0571）"]),
    st.sampled_from("23456789"),
    st.one_of(_run(6), _run(7)),
    st.sampled_from(["", "-", " "]),
)
ids = st.builds(
    lambda area, y, m, d, seq: _id_complete(f"{area}{y}{m:02d}{d:02d}{seq}"),
    st.sampled_from(["330106", "110101", "440305", "510107"]),
    st.integers(1950, 2010).map(str),
    st.integers(1, 12),
    st.integers(1, 28),
    _run(3),
)
cards = st.builds(
    lambda c, grouped: " ".join(c[i : i + 4] for i in range(0, len(c), 4)) if grouped else c,
    st.builds(
        lambda bin_, body: _luhn_complete(bin_ + body),
        st.sampled_from(["622202", "621700", "436742", "622848"]),
        st.one_of(_run(9), _run(10), _run(11), _run(12)),
    ),
    st.booleans(),
)
_local = st.text(st.sampled_from(string.ascii_lowercase + string.digits + "._"), min_size=1)
emails = st.builds(
    lambda a, rest, dom: f"{a}{rest}@{dom}",
    st.sampled_from(string.ascii_lowercase),
    _local.filter(lambda s: not s.endswith(".")),
    st.sampled_from(["qq.com", "163.com", "gmail.com", "mail.example.cn"]),
)
wechat_ids = st.builds(
    lambda a, rest: a + rest,
    st.sampled_from(string.ascii_letters),
    st.text(st.sampled_from(string.ascii_letters + string.digits + "_-"), min_size=5, max_size=15),
)
qq_numbers = st.builds(lambda a, b: a + b, st.sampled_from("123456789"), _run(8))
_SURNAMES = "王李张刘陈杨黄赵吴周"
_GIVEN = "小明伟芳娜敏静丽强磊军洋勇艳杰娟涛超霞平刚"
names = st.builds(
    lambda s, g: s + g,
    st.sampled_from([*_SURNAMES, "欧阳", "司马"]),
    st.text(st.sampled_from(_GIVEN), min_size=1, max_size=2),
)
addresses = st.builds(
    lambda p, c, d, r, n, u, room: f"{p}{c}{d}{r}{n}号{u}单元{room}",
    st.sampled_from(["浙江省", "广东省", "江苏省", ""]),
    st.sampled_from(["杭州市", "深圳市", "南京市"]),
    st.sampled_from(["西湖区", "南山区", "鼓楼区"]),
    st.sampled_from(["文三路", "科技园路", "中山北路", "建国大街"]),
    st.integers(1, 999).map(str),
    st.integers(1, 9).map(str),
    st.integers(101, 2808).map(str),
)
orders = st.one_of(
    st.integers(10, 20).flatmap(_run).filter(lambda s: s[0] != "0"),
    st.builds(lambda p, n: p + n, st.sampled_from(["SF", "YT", "JD", "ZTO"]), _run(12)),
)

#: kind -> (value strategy, the cues written before it)
PLANTED: dict[str, tuple[st.SearchStrategy[str], list[str]]] = {
    "mobile": (mobiles, ["", "电话", "手机："]),
    "landline": (landlines, ["", "座机", "电话："]),
    "id_card": (ids, ["", "身份证"]),
    "bank_card": (cards, ["", "卡号"]),
    "email": (emails, ["", "邮箱 "]),
    "wechat": (wechat_ids, ["微信", "微信：", "vx ", "VX:", "wx"]),
    "qq": (qq_numbers, ["QQ", "qq号", "扣扣："]),
    "address": (addresses, ["", "地址：", "寄到"]),
    "name": (names, ["收件人：", "收货人", "联系人是", "姓名: "]),
    "order_number": (orders, ["", "订单号：", "运单号 "]),
}


@st.composite
def planted_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Random Chinese context with 1-3 planted values of any kinds; returns (text, values)."""
    kinds = draw(st.lists(st.sampled_from(sorted(PLANTED)), min_size=1, max_size=3))
    parts = [draw(context)]
    values = []
    for kind in kinds:
        values_st, cues = PLANTED[kind]
        value = draw(values_st)
        if draw(st.booleans()) and kind in {"mobile", "landline", "qq", "order_number"}:
            value = _widen(value)  # full-width digits, as typed on a Chinese keyboard
        values.append(value)
        parts += [draw(st.sampled_from(cues)), value, draw(context.filter(bool))]
    return "".join(parts), values


class TestProperty:
    @settings(max_examples=400, deadline=None)
    @given(planted_texts(), st.booleans())
    def test_no_planted_value_survives(self, case: tuple[str, list[str]], partial: bool) -> None:
        """For any text with planted personal data, no planted value is left whole in the
        output, and the output has the input's length."""
        text, values = case
        out = redact(text, RedactionPolicy(partial=partial))
        assert len(out.text) == len(text)
        survivors = [v for v in values if v in out.text]
        assert not survivors, (text, out.text)

    @settings(max_examples=200, deadline=None)
    @given(planted_texts())
    def test_spans_are_sorted_disjoint_and_cover_the_changes(
        self, case: tuple[str, list[str]]
    ) -> None:
        """Spans are sorted, disjoint, inside the text, and every changed character is in one."""
        text, _ = case
        out = redact(text)
        ends = 0
        for s in out.spans:
            assert isinstance(s, RedactionSpan)
            assert ends <= s.start < s.end <= len(text)
            ends = s.end
        changed = {i for i, (a, b) in enumerate(zip(text, out.text, strict=True)) if a != b}
        inside = {i for s in out.spans for i in range(s.start, s.end)}
        assert changed <= inside

    @settings(max_examples=200, deadline=None)
    @given(st.text(st.sampled_from(_CONTEXT_CHARS + "abcABC.,!?")))
    def test_text_without_personal_data_is_unchanged(self, text: str) -> None:
        """Ordinary chat without digits, cues or addresses passes through untouched."""
        assert redact(text) == Redaction(text)


class TestPropertyThroughOutputs:
    @settings(max_examples=60, deadline=None)
    @given(planted_texts(), st.integers(0, 40), st.integers(0, 40))
    def test_report_page_holds_no_planted_value(
        self, case: tuple[str, list[str]], a: int, b: int
    ) -> None:
        """A chat line, its evidence span and a reason with planted data render with none
        of the planted values, wherever the highlighted span falls."""
        text, values = case
        start, end = sorted((min(a, len(text)), min(b, len(text))))
        line = ChatLine("buyer", "tb_buyer", "05-01 10:00", text, ((start, end, "threat"),))
        view = ReportView(
            title="t",
            period="p",
            conversations=1,
            messages=1,
            kpis=(KpiView("k", None, ""),),
            agents=(),
            riskiest=(RiskView("c1", 0.9, "high", (text,), (line,)),),
        )
        page = render_html(view)
        assert [v for v in values if v in page] == []
