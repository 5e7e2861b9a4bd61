"""Outcomes: reading ratings, orders, refunds and reviews; joining them to chats; their KPIs."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu_standards._frozendict import FrozenDict
from kefu_standards._report_view import _run_note, _team_kpis, _team_timing
from kefu_standards.analysis import analyze, merge_analyses
from kefu_standards.cli import EXIT_OK, main
from kefu_standards.exceptions import BadRecordError, ConfigError, SkippedInputWarning
from kefu_standards.io import read_conversations
from kefu_standards.model import Conversation, Message
from kefu_standards.outcomes import (
    KPI_DEFINITIONS,
    Order,
    OutcomeJoin,
    OutcomeReadReport,
    OutcomeResult,
    PartitionedOutcomeJoin,
    PlatformRow,
    Rating,
    Refund,
    Satisfaction,
    _diagsums,
    compare_with_platform,
    read_orders,
    read_platform_report,
    read_ratings,
    read_refunds,
    read_reviews,
)
from kefu_standards.outcomes._diagnosis import diagnose, summary_sentences
from kefu_standards.outcomes._join import (
    BEFORE_ANY_CHAT,
    NO_BUYER,
    NO_SESSION,
    ORDERED_BEFORE_CHAT,
    OTHER_AGENT,
    STALE_ORDER,
    STALE_RATING,
    UNKNOWN_BUYER,
    UNKNOWN_ORDER,
)
from kefu_standards.outcomes._records import satisfaction_from_code
from kefu_standards.resources import data_file
from kefu_standards.timing import TimingSummary

T0 = datetime.fromisoformat("2024-05-06T10:00:00+08:00")


def chat(cid: str, buyer: str, agent: str, start: datetime, text: str = "在吗") -> Conversation:
    """A two-message conversation of *buyer* served by *agent* starting at *start*."""
    return Conversation(
        id=cid,
        shop="店",
        messages=(
            Message(role="buyer", text=text, sent_at=start, sender=buyer),
            Message(
                role="agent", text="亲，在的", sent_at=start + timedelta(seconds=20), sender=agent
            ),
        ),
    )


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


# -- reading -----------------------------------------------------------------------------


class TestRatingScales:
    @pytest.mark.parametrize(
        ("scale", "code", "label"),
        [
            ("qianniu", 0, "非常满意"),
            ("qianniu", 1, "满意"),
            ("qianniu", 2, "一般"),
            ("qianniu", 3, "不满意"),
            ("qianniu", 4, "非常不满意"),
            ("wangwang", 1, "非常满意"),
            ("wangwang", 2, "满意"),
            ("wangwang", 3, "一般"),
            ("wangwang", 4, "不满意"),
            ("jd", 0, "非常不满意"),
            ("jd", 25, "不满意"),
            ("jd", 50, "一般"),
            ("jd", 75, "满意"),
            ("jd", 100, "非常满意"),
            ("text", "很满意", "非常满意"),
            ("text", "非常不满意", "非常不满意"),
        ],
    )
    def test_code_means_level(self, scale: str, code: object, label: str) -> None:
        """Each scale's codes mean the DOMAIN §1/§2.7 levels (qianniu 0 is best, JD 100)."""
        assert satisfaction_from_code(code, scale).label == label  # type: ignore[arg-type]

    @pytest.mark.parametrize(("scale", "code"), [("qianniu", 5), ("wangwang", 0), ("jd", 30)])
    def test_code_off_the_scale_is_an_error_naming_valid_codes(self, scale: str, code: int) -> None:
        """A code not on the scale is a ValueError that lists the valid codes."""
        with pytest.raises(ValueError, match="is not on the"):
            satisfaction_from_code(code, scale)


class TestReadRatings:
    def test_api_fields_need_a_scale(self, tmp_path: Path) -> None:
        """An eval_code file that does not say its scale is a ConfigError at the header."""
        p = write(
            tmp_path / "r.csv",
            "eval_sender,eval_recer,eval_code,eval_time\nb,店:a,0,2024-05-06 10:00\n",
        )
        with pytest.raises(ConfigError, match=r"r\.csv, line 1: .*scale"):
            list(read_ratings(p))

    def test_api_fields_with_scale_argument_and_jsonl(self, tmp_path: Path) -> None:
        """The same rows read as CSV with scale= and as JSON Lines with a scale field."""
        p = write(
            tmp_path / "r.csv",
            "eval_sender,eval_recer,eval_code,eval_time,source\nb,店:a,1,2024-05-06 10:00,1\n",
        )
        j = write(
            tmp_path / "r.jsonl",
            '{"eval_sender": "b", "eval_recer": "店:a", "eval_code": 1, '
            '"eval_time": "2024-05-06 10:00", "source": 1, "scale": "wangwang"}\n',
        )
        (r,) = read_ratings(p, scale="qianniu")
        assert (r.buyer, r.agent, r.level, r.invited_by, r.line) == (
            "b",
            "店:a",
            Satisfaction.SATISFIED,
            "消费者自主评价",
            2,
        )
        (r2,) = read_ratings(j)
        assert (r2.level, r2.scale) == (Satisfaction.VERY_SATISFIED, "wangwang")

    @pytest.mark.parametrize("container", ["csv", "xlsx"])
    def test_jd_session_table_text_or_code_and_unrated_rows(
        self, tmp_path: Path, container: str
    ) -> None:
        """The JD 会话记录 table reads as CSV or XLSX; an empty 满意度 is counted as unrated."""
        rows = [
            ["咨询时间", "顾客", "咨询类型", "客服", "转接后客服", "满意度", "是否解决"],
            ["2024-05-06 10:00:00", "jd_1", "售前", "店-a", "", "非常满意", "是"],
            ["2024-05-06 11:00:00", "jd_2", "售后", "店-a", "店-b", "25", "否"],
            ["2024-05-06 12:00:00", "jd_3", "售前", "店-a", "", "", ""],
        ]
        if container == "csv":
            p = write(tmp_path / "s.csv", "\n".join(",".join(r) for r in rows) + "\n")
        else:
            p = write_xlsx(tmp_path / "s.xlsx", rows)
        rep = OutcomeReadReport()
        got = list(read_ratings(p, report=rep))
        assert [(r.buyer, r.agent, r.level.label, r.resolved) for r in got] == [
            ("jd_1", "店-a", "非常满意", True),
            ("jd_2", "店-b", "不满意", False),
        ]
        assert got[0].rated_at is None
        assert got[0].session_start is not None
        assert (rep.records_read, rep.unrated_rows, rep.layouts[str(p)]) == (2, 1, "jd_sessions")

    def test_bad_row_raises_naming_file_and_line(self, tmp_path: Path) -> None:
        """A bad code raises BadRecordError with the file, the line and the reason."""
        p = write(
            tmp_path / "r.csv",
            "eval_sender,eval_recer,eval_code,eval_time\n"
            "b,a,0,2024-05-06 10:00\nb,a,7,2024-05-06 10:01\n",
        )
        with pytest.raises(BadRecordError) as info:
            list(read_ratings(p, scale="qianniu"))
        assert (info.value.source, info.value.line) == (str(p), 3)
        assert "not on the qianniu scale" in info.value.reason

    def test_collect_keeps_going_and_loses_nothing_silently(self, tmp_path: Path) -> None:
        """Under errors='collect' every data row is read, unrated or a recorded skip."""
        p = write(
            tmp_path / "r.csv",
            "eval_sender,eval_recer,eval_code,eval_time\n"
            "b,a,0,2024-05-06 10:00\n,a,0,2024-05-06 10:00\nb,a,0,not a time\nb,a,3,2024-05-06\n",
        )
        rep = OutcomeReadReport()
        with pytest.warns(SkippedInputWarning):
            got = list(read_ratings(p, scale="qianniu", errors="collect", report=rep))
        assert len(got) == 2
        assert [(s.line, s.messages_lost) for s in rep.skips] == [(3, 1), (4, 1)]
        assert rep.records_read + rep.unrated_rows + rep.records_lost == 4


TAOBAO_ORDERS = (
    "订单编号,买家会员名,买家实际支付金额,订单状态,收货地址 ,联系手机,"
    "订单创建时间,订单付款时间 ,店铺名称\n"
    '="2047000000000000011",tb_a,99.00,交易成功,某某路,\'13800138000,'
    "2024-05-06 10:20:00,2024-05-06 10:21:00,店\n"
    '="2047000000000000022",tb_b,0.00,交易关闭,某某路,\'13800138000,2024-05-06 11:00:00,,店\n'
)


class TestReadOrders:
    def test_taobao_export_list_gbk_quirks(self, tmp_path: Path) -> None:
        """GBK, ="…" ids, a ' before phones and header names with trailing spaces all read."""
        p = write(tmp_path / "ExportOrderList.csv", TAOBAO_ORDERS, "gbk")
        rep = OutcomeReadReport()
        got = list(read_orders(p, report=rep))
        assert [(o.order_id, o.buyer, o.paid, o.amount) for o in got] == [
            ("2047000000000000011", "tb_a", True, 99.0),
            ("2047000000000000022", "tb_b", False, 0.0),
        ]
        assert rep.layouts[str(p)] == "taobao_csv"

    def test_qianniu_xlsx_has_no_buyer_and_paid_comes_from_status(self, tmp_path: Path) -> None:
        """The 千牛 XLSX has no buyer nick or payment time: paid is read from 订单状态."""
        p = write_xlsx(
            tmp_path / "o.xlsx",
            [
                ["订单编号", "支付单号", "买家实付金额", "订单状态", "订单创建时间"],
                ["3000000000000000001", "p1", 10, "交易成功", "2024-05-06 10:00:00"],
                ["3000000000000000002", "p2", 10, "等待买家付款", "2024-05-06 10:00:00"],
            ],
        )
        got = list(read_orders(p))
        assert [(o.buyer, o.paid, o.layout) for o in got] == [
            (None, True, "qianniu_xlsx"),
            (None, False, "qianniu_xlsx"),
        ]

    def test_jd_export(self, tmp_path: Path) -> None:
        """The JD 京麦 export: 订单号, 下单帐号, 付款确认时间."""
        p = write(
            tmp_path / "jd.csv",
            "订单号,商品ID,下单时间,应付金额,订单状态,下单帐号,付款确认时间\n"
            "310000000001,1,2024-05-06 10:00:00,10,完成,jd_x,2024-05-06 10:01:00\n",
        )
        (o,) = read_orders(p)
        assert (o.order_id, o.buyer, o.paid, o.layout) == ("310000000001", "jd_x", True, "jd")

    def test_unknown_layout_names_the_known_ones(self, tmp_path: Path) -> None:
        """A header of no known layout is an error listing the layouts and their columns."""
        p = write(tmp_path / "x.csv", "\na,b\n1,2\n")
        with pytest.raises(BadRecordError, match="taobao_csv") as info:
            list(read_orders(p))
        assert info.value.line == 2  # the header's line


class TestReadRefundsAndReviews:
    def test_tmall_refund_export(self, tmp_path: Path) -> None:
        """退款状态 gives success; 客服介入状态 other than 不需客服介入 is an intervention."""
        p = write(
            tmp_path / "r.csv",
            "订单编号,退款编号,退款状态,客服介入状态,责任方,退款的申请时间\n"
            '="1",="r1",退款成功,不需客服介入,买家,2024-05-06 10:00:00\n'
            '="2",="r2",退款成功,客服处理完成,卖家,2024-05-06 10:00:00\n'
            '="3",="r3",退款关闭,3,卖家,2024-05-06 10:00:00\n',
        )
        got = list(read_refunds(p))
        assert [(r.order_id, r.success, r.intervened, r.cs_status) for r in got] == [
            ("1", True, False, "不需客服介入"),
            ("2", True, True, "客服处理完成"),
            ("3", False, True, "客服已经介入"),
        ]

    def test_refund_sheet_has_no_intervention_column(self, tmp_path: Path) -> None:
        """退款单.xlsx has no 客服介入状态, so intervened is None (unknown), not False."""
        p = write_xlsx(
            tmp_path / "退款单.xlsx",
            [["订单编号", "退款编号", "退款总额", "退款状态"], ["1", "r1", 5, "退款成功"]],
        )
        (r,) = read_refunds(p)
        assert (r.success, r.intervened, r.layout) == (True, None, "refund_sheet")

    def test_reviews(self, tmp_path: Path) -> None:
        """traderates fields; 好评/中评/差评 are accepted as good/neutral/bad."""
        p = write(tmp_path / "v.csv", "tid,nick,result,created\n1,b,bad,2024-05-06\n2,b,好评,\n")
        assert [v.result for v in read_reviews(p)] == ["bad", "good"]


# -- joining -----------------------------------------------------------------------------


def rating(buyer: str, agent: str, at: datetime, level: int = 5, line: int = 1) -> Rating:
    return Rating(buyer=buyer, agent=agent, level=level, rated_at=at, line=line)


def order(oid: str, buyer: str | None, at: datetime, paid: bool = True, line: int = 1) -> Order:
    return Order(
        order_id=oid, buyer=buyer, created_at=at, paid=paid, paid_at=at if paid else None, line=line
    )


def joined(convs: Iterable[Conversation], **outcomes: Any) -> OutcomeResult:
    j = OutcomeJoin(keep_links=True)
    for c in convs:
        j.add(c)
    return j.join(**outcomes)


class TestJoinReasons:
    CHATS = (chat("c1", "b1", "店:a", T0), chat("c2", "b1", "店:a", T0 + timedelta(days=5)))

    @pytest.mark.parametrize(
        ("row", "reason"),
        [
            (
                rating("b1", "a", T0 + timedelta(minutes=5)),
                "latest chat of this buyer and agent before the rating",
            ),
            (rating("zz", "a", T0), UNKNOWN_BUYER),
            (rating("b1", "other", T0 + timedelta(minutes=5)), OTHER_AGENT),
            (rating("b1", "a", T0 - timedelta(days=1)), BEFORE_ANY_CHAT),
            (rating("b1", "a", T0 + timedelta(days=3)), STALE_RATING),
            (
                Rating(buyer="b1", agent="店:a", level=3, session_start=T0 + timedelta(hours=1)),
                NO_SESSION,
            ),
            (
                Rating(buyer="b1", agent="店:a", level=3, session_start=T0 + timedelta(seconds=90)),
                "chat start",
            ),
        ],
    )
    def test_rating(self, row: Rating, reason: str) -> None:
        """Each rating ends joined or unmatched with the documented reason."""
        (link,) = joined(self.CHATS, ratings=[row]).links
        assert link.reason == reason

    @pytest.mark.parametrize(
        ("row", "reason", "conversation"),
        [
            (
                order("9", "b1", T0 + timedelta(hours=3)),
                "latest chat of this buyer before the order",
                "c1",
            ),
            (
                order("9", "b1", T0 + timedelta(days=1, hours=3)),
                "latest chat of this buyer before the order",
                "c1",
            ),
            (order("9", "b1", T0 + timedelta(days=2)), STALE_ORDER, None),
            (order("9", "b1", T0 - timedelta(days=1)), ORDERED_BEFORE_CHAT, None),
            (order("9", "zz", T0), UNKNOWN_BUYER, None),
            (order("9", None, T0), NO_BUYER, None),
        ],
    )
    def test_order(self, row: Order, reason: str, conversation: str | None) -> None:
        """Each order ends joined (to the preceding chat) or unmatched with a reason."""
        (link,) = joined(self.CHATS, orders=[row]).links
        assert (link.reason, link.conversation_id) == (reason, conversation)

    def test_quoted_order_id_wins(self) -> None:
        """An order id quoted in a chat joins that chat, even without a buyer or before it."""
        chats = (
            *self.CHATS,
            chat("c3", "b9", "店:x", T0 + timedelta(days=9), "订单 3918274655018830217 退款"),
        )
        rows = [order("3918274655018830217", None, T0 - timedelta(days=30))]
        (link,) = joined(chats, orders=rows).links
        assert (link.conversation_id, link.agent, link.reason) == (
            "c3",
            "店:x",
            "order id quoted in the chat",
        )

    def test_order_prefers_its_own_shops_chat(self) -> None:
        """A buyer who chatted with two shops: the order joins the chat of the order's shop."""
        other = chat("c9", "b1", "别家:x", T0 + timedelta(hours=2)).evolve(shop="别家")
        row = attrs.evolve(order("9", "b1", T0 + timedelta(hours=3)), shop="店")
        (link,) = joined((*self.CHATS, other), orders=[row]).links
        assert link.conversation_id == "c1"

    def test_refund_of_unknown_order(self) -> None:
        """A refund joins its order by id; an id not in the orders is unmatched."""
        res = joined(
            self.CHATS,
            orders=[order("9", "b1", T0 + timedelta(hours=1))],
            refunds=[Refund(order_id="9", success=True), Refund(order_id="8")],
        )
        assert [(lk.kind, lk.joined, lk.reason) for lk in res.links] == [
            ("order", True, "latest chat of this buyer before the order"),
            ("refund", True, "order id"),
            ("refund", False, UNKNOWN_ORDER),
        ]


class TestWorkedExamples:
    def test_refund_rate_domain_example(self) -> None:
        """DOMAIN §1 退款率: (10 + 15) / (125 + 112) = 10.5 %."""
        chats = [chat("c1", "b", "店:a", T0)]
        orders = [order(str(i), "b", T0 + timedelta(minutes=1 + i % 50)) for i in range(125 + 112)]
        refunds = [Refund(order_id=str(i), status="退款成功", success=True) for i in range(10 + 15)]
        res = joined(chats, orders=orders, refunds=refunds)
        kpi = res.by_agent.kpis("店:a")["refund_rate"]
        assert (kpi.numerator, kpi.denominator) == (25, 237)
        assert round(100 * kpi.value, 1) == 10.5  # type: ignore[operator]

    def test_satisfaction_counts_the_latest_rating_per_session(self) -> None:
        """满意率 takes each session's latest rating: 非常不满意 then 满意 counts as satisfied."""
        chats = [chat("c1", "b1", "店:a", T0), chat("c2", "b2", "店:a", T0)]
        m = timedelta(minutes=1)
        ratings = [
            rating("b1", "a", T0 + 2 * m, level=1, line=1),
            rating("b1", "a", T0 + 5 * m, level=4, line=2),
            rating("b2", "a", T0 + 5 * m, level=4, line=3),
            rating("b2", "a", T0 + 9 * m, level=2, line=4),
        ]
        res = joined(chats, ratings=ratings)
        k = res.by_agent.kpis("店:a")
        assert (
            k["rated"].value,
            k["satisfaction_rate"].value,
            k["dissatisfaction_rate"].value,
        ) == (2, 0.5, 0.5)
        assert [lk.counted for lk in sorted(res.links, key=lambda lk: lk.line or 0)] == [
            False,
            True,
            False,
            True,
        ]

    def test_dispute_rate_is_undefined_without_intervention_column(self) -> None:
        """A successful refund without 客服介入状态 (退款单.xlsx) makes dispute_rate None."""
        chats = [chat("c1", "b", "店:a", T0)]
        res = joined(
            chats,
            orders=[order("1", "b", T0 + timedelta(minutes=1))],
            refunds=[Refund(order_id="1", success=True, intervened=None)],
        )
        kpi = res.by_agent.kpis("店:a")["dispute_rate"]
        assert kpi.value is None
        assert "客服介入状态" in (kpi.reason or "")

    def test_kpis_without_their_file_are_none_with_a_reason(self) -> None:
        """A KPI whose outcome file was not given is None saying so, not 0."""
        res = joined([chat("c1", "b", "店:a", T0)], ratings=[])
        k = res.by_agent.kpis("店:a")
        assert (k["rating_rate"].value, k["satisfaction_rate"].reason) == (0.0, "no ratings")
        assert (k["refund_rate"].value, k["refund_rate"].reason) == (None, "no orders file given")
        assert set(k) == set(KPI_DEFINITIONS)

    def test_inquiry_conversion_same_or_next_day(self) -> None:
        """An inquiry converts when the buyer pays the same or next day; 4d counts 3 days after."""
        chats = [chat(f"c{i}", f"b{i}", "店:a", T0) for i in range(3)]
        rows = [order("1", "b0", T0 + timedelta(hours=2)), order("2", "b1", T0 + timedelta(days=3))]
        k = joined(chats, orders=rows).by_agent.kpis("店:a")
        assert (
            k["inquiries"].value,
            k["inquiry_conversion"].value,
            k["inquiry_conversion_4d"].value,
        ) == (
            3,
            pytest.approx(1 / 3),
            pytest.approx(2 / 3),
        )


# -- conservation: joined + unmatched == read -----------------------------------------------

BUYERS = [f"b{i}" for i in range(4)]
AGENTS = ["店:a", "店:b"]
hours = st.integers(min_value=-48, max_value=120)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Conversation], list[Rating], list[Order], list[Refund]]:
    n = draw(st.integers(0, 6))
    convs = [
        chat(
            f"c{i}",
            draw(st.sampled_from(BUYERS)),
            draw(st.sampled_from(AGENTS)),
            T0 + timedelta(hours=draw(hours)),
        )
        for i in range(n)
    ]
    ratings = [
        rating(
            draw(st.sampled_from([*BUYERS, "zz"])),
            draw(st.sampled_from(["a", "b"])),
            T0 + timedelta(hours=draw(hours)),
            draw(st.integers(1, 5)),
            line=i,
        )
        for i in range(draw(st.integers(0, 8)))
    ]
    orders: list[Order] = []
    for k in range(draw(st.integers(0, 6))):  # an order may span rows (JD: one per SKU)
        buyer = draw(st.sampled_from([*BUYERS, None]))
        at, paid = T0 + timedelta(hours=draw(hours)), draw(st.booleans())
        for _ in range(draw(st.integers(1, 2))):
            orders.append(order(f"{buyer}-{k}", buyer, at, paid, line=len(orders)))
    ids = sorted({o.order_id for o in orders}) or ["none"]
    refunds = [
        Refund(
            order_id=draw(st.sampled_from([*ids, "unknown"])),
            success=draw(st.booleans()),
            intervened=draw(st.booleans()),
            line=i,
        )
        for i in range(draw(st.integers(0, 5)))
    ]
    return convs, ratings, orders, refunds


def totals(res: OutcomeResult) -> dict[str, tuple[int, int, int]]:
    out: dict[str, tuple[int, int, int]] = {}
    for c in res.files:
        read, j, u = out.get(c.kind, (0, 0, 0))
        out[c.kind] = (read + c.read, j + c.joined, u + sum(c.unmatched.values()))
    return out


class TestConservation:
    @settings(max_examples=150, deadline=None)
    @given(worlds(), st.randoms(use_true_random=False))
    def test_joined_plus_unmatched_is_read_under_shuffle_and_shards(
        self,
        world: tuple[list[Conversation], list[Rating], list[Order], list[Refund]],
        rnd: random.Random,
    ) -> None:
        """For every kind joined + unmatched == rows read; shuffling changes no count or KPI;
        shards split by buyer merge into exactly the whole."""
        convs, ratings, orders, refunds = world
        whole = joined(convs, ratings=ratings, orders=orders, refunds=refunds)
        sizes = {"rating": len(ratings), "order": len(orders), "refund": len(refunds)}
        for kind, (read, j, u) in totals(whole).items():
            assert read == j + u == sizes[kind]
        shuffled = [list(x) for x in (convs, ratings, orders, refunds)]
        for part in shuffled:
            rnd.shuffle(part)
        again = joined(shuffled[0], ratings=shuffled[1], orders=shuffled[2], refunds=shuffled[3])
        assert totals(again) == totals(whole)
        assert again.by_agent.groups == whole.by_agent.groups
        assert again.by_day.groups == whole.by_day.groups
        # shards by buyer (orders of one id stay together with their refunds)
        owner = {o.order_id: o.buyer for o in orders}
        parts = []
        for shard in ({"b0", "b1", None}, {"b2", "b3", "zz"}):
            parts.append(
                joined(
                    [c for c in convs if c.buyer in shard],
                    ratings=[r for r in ratings if r.buyer in shard],
                    orders=[o for o in orders if owner[o.order_id] in shard],
                    refunds=[r for r in refunds if owner.get(r.order_id, "zz") in shard],
                )
            )
        merged = parts[0].merge(parts[1])
        assert totals(merged) == totals(whole)
        assert merged.by_agent.groups == whole.by_agent.groups
        assert merged.by_shop.groups == whole.by_shop.groups


class TestPartitionedJoin:
    @settings(max_examples=60, deadline=None)
    @given(worlds(), st.integers(1, 4), st.integers(1, 12))
    def test_same_counts_and_kpis_as_the_in_memory_join(
        self,
        world: tuple[list[Conversation], list[Rating], list[Order], list[Refund]],
        partitions: int,
        max_rows: int,
    ) -> None:
        """Spilled in any number of partitions, each split again when large, the join
        gives the in-memory result."""
        convs, ratings, orders, refunds = world
        whole = joined(convs, ratings=ratings, orders=orders, refunds=refunds)
        spilled = PartitionedOutcomeJoin(partitions=partitions, max_rows=max_rows)
        for c in convs:
            spilled.add(c)
        got = spilled.join(ratings=ratings, orders=orders, refunds=refunds)
        assert totals(got) == totals(whole)
        assert sorted((c.kind, c.read, c.joined, dict(c.unmatched)) for c in got.files) == sorted(
            (c.kind, c.read, c.joined, dict(c.unmatched)) for c in whole.files
        )
        for by in ("by_agent", "by_day", "by_shop", "by_agent_day"):
            assert getattr(got, by).groups == getattr(whole, by).groups

    def test_quoted_order_follows_the_quoting_chat_across_partitions(self) -> None:
        """An order quoted in another buyer's chat joins it, refund included, when spilled."""
        chats = [
            chat("c1", "b1", "店:a", T0),
            chat("c2", "b2", "店:b", T0, "我的订单 3918274655018830217"),
        ]
        orders = [order("3918274655018830217", "b1", T0 + timedelta(hours=1))]
        refunds = [Refund(order_id="3918274655018830217", success=True)]
        whole = joined(chats, orders=orders, refunds=refunds)
        for n in (1, 2, 5, 16):
            spilled = PartitionedOutcomeJoin(partitions=n)
            for c in chats:
                spilled.add(c)
            got = spilled.join(orders=orders, refunds=refunds)
            assert got.by_agent.groups == whole.by_agent.groups
            assert got.by_agent.kpis("店:b")["refund_rate"].value == 1.0


# -- command line and bundled examples --------------------------------------------------------


class TestCommandLine:
    def test_bundled_main_job_shows_outcomes(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`analyze` without input joins the bundled outcome files: stderr counts, KPI columns."""
        code = main(["analyze", "--out", str(tmp_path), "--no-results"])
        _, err = capsys.readouterr()
        assert code == EXIT_OK
        assert "outcomes: rating" in err
        assert "20 read, 18 joined, 2 unmatched (1 sent before any chat, 1 unknown buyer)" in err
        with (tmp_path / "agents.csv").open(encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        assert set(KPI_DEFINITIONS) <= set(rows[0])
        xiaomei = next(r for r in rows if r["agent"] == "青柚童装旗舰店:小美")
        assert (xiaomei["rated"], xiaomei["satisfaction_rate"]) == ("3", "1.0")
        assert (tmp_path / "shops.csv").exists()
        assert "结果指标 Outcomes" in (tmp_path / "report.html").read_text(encoding="utf-8")

    def test_chat_files_without_outcome_flags_add_no_columns(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Given chat files but no outcome files, agents.csv keeps its columns and no shops.csv."""
        chats = str(data_file("examples/conversations.jsonl"))
        assert main(["analyze", chats, "--out", str(tmp_path), "--no-results"]) == EXIT_OK
        capsys.readouterr()
        assert not (tmp_path / "shops.csv").exists()
        header = (tmp_path / "agents.csv").read_text(encoding="utf-8-sig").splitlines()[0]
        assert "satisfaction_rate" not in header

    def test_ratings_flag_with_scale(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--ratings with --rating-scale reads an eval_code file that has no scale column."""
        chats = str(data_file("examples/conversations.jsonl"))
        r = write(
            tmp_path / "r.csv",
            "eval_sender,eval_recer,eval_code,eval_time\n"
            "tb_小鱼儿88,暖屿家纺旗舰店:小满,4,2024-05-06 10:20:00\n",
        )
        code = main(
            [
                "analyze",
                chats,
                "--ratings",
                str(r),
                "--rating-scale",
                "qianniu",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        _, err = capsys.readouterr()
        assert code == EXIT_OK
        assert "1 read, 1 joined, 0 unmatched" in err
        rows = list(
            csv.DictReader(
                io.StringIO((tmp_path / "o" / "agents.csv").read_text(encoding="utf-8-sig"))
            )
        )
        xiaoman = next(row for row in rows if row["agent"] == "暖屿家纺旗舰店:小满")
        assert (xiaoman["dissatisfaction_rate"], xiaoman["refund_rate"]) == ("1.0", "")


class TestBundledExamples:
    """The bundled outcome files keep what ``examples/README.md`` promises about them."""

    @pytest.fixture(scope="class")
    @staticmethod
    def result() -> OutcomeResult:
        """The bundled chats joined with every bundled outcome file."""
        j = OutcomeJoin(keep_links=True)
        for c in read_conversations(data_file("examples/conversations.jsonl")):
            j.add(c)
        ex = "examples/"
        return j.join(
            ratings=read_ratings(data_file(ex + "ratings.csv")),
            orders=chain(
                read_orders(data_file(ex + "orders_taobao.csv")),
                read_orders(data_file(ex + "orders_jd.csv")),
            ),
            refunds=read_refunds(data_file(ex + "refunds.csv")),
            reviews=read_reviews(data_file(ex + "reviews.csv")),
        )

    @pytest.mark.parametrize(
        ("kind", "reason"),
        [
            ("rating", UNKNOWN_BUYER),
            ("rating", BEFORE_ANY_CHAT),
            ("rating", "superseded by a later rating"),
            ("order", "order id quoted in the chat"),
            ("order", ORDERED_BEFORE_CHAT),
            ("order", STALE_ORDER),
            ("order", UNKNOWN_BUYER),
            ("order", "another row of an order already read"),
            ("refund", UNKNOWN_ORDER),
            ("review", UNKNOWN_ORDER),
        ],
    )
    def test_each_promised_case_occurs(self, result: OutcomeResult, kind: str, reason: str) -> None:
        """Each join rule and unmatched reason the README names occurs at least once."""
        assert any(lk.kind == kind and lk.reason == reason for lk in result.links)

    def test_the_over_promise_ends_in_a_dispute(self, result: OutcomeResult) -> None:
        """阿杏's over-promise (ex-005) is refunded after 客服介入: her dispute rate is 1/2."""
        kpi = result.by_agent.kpis("暖屿家纺旗舰店:阿杏")["dispute_rate"]
        assert (kpi.numerator, kpi.denominator) == (1, 2)

    def test_latest_rating_of_ex004_counts_for_xiaomei(self, result: OutcomeResult) -> None:
        """ex-004 rated 小美 一般 then 满意: only the later counts, so her 满意率 stays 100 %."""
        k = result.by_agent.kpis("青柚童装旗舰店:小美")
        assert (k["rated"].value, k["satisfaction_rate"].value) == (3, 1.0)


def result_like(
    mean_wait: float | None = None, politeness: float | None = 0.8, topic: str | None = None
) -> SimpleNamespace:
    """The attributes of a ConversationResult that the diagnosis reads."""
    return SimpleNamespace(
        first_response_s=None,
        mean_response_s=mean_wait,
        rounds=2,
        answered=2,
        impolite_messages=0,
        politeness=politeness,
        escalation=None,
        total=None,
        dimensions=(),
        topic=topic,
    )


class TestDiagnosis:
    @staticmethod
    def world(
        waits: list[tuple[float, int]], topics: list[str | None] | None = None
    ) -> OutcomeResult:
        """Chats c0.. rated by their buyers (level per chat) with the given mean waits."""
        j = OutcomeJoin()
        for i, (wait, _) in enumerate(waits):
            topic = None if topics is None else topics[i]
            j.add(chat(f"c{i}", f"b{i}", "店:a", T0), result_like(wait, topic=topic))
        ratings = [
            rating(f"b{i}", "a", T0 + timedelta(minutes=5), level=lv)
            for i, (_, lv) in enumerate(waits)
        ]
        return j.join(ratings=ratings)

    def test_longer_waits_of_dissatisfied_chats_are_found_with_an_interval(self) -> None:
        """Dissatisfied chats waiting ~3x longer give a ratio near 3 whose CI excludes 1."""
        waits = [(30.0, 1), (33.0, 2), (27.0, 1), (10.0, 5), (11.0, 4), (9.0, 5), (10.0, 5)]
        res = self.world(waits)
        found = {(f.group, f.signal): f for f in diagnose(res)}
        f = found["*", "mean_response_s"]
        assert (f.n_bad, f.n_rest, f.differs) == (3, 4, True)
        assert (f.sampled_bad, f.sampled_rest) == (3, 4)
        assert f.effect == pytest.approx(3.0)
        assert f.low > 1
        assert f.delta == 1.0
        assert "waited 3.0× longer" in f.sentence()
        assert not found["*", "politeness"].differs  # equal politeness does not differ
        assert found["店:a", "mean_response_s"].effect == pytest.approx(3.0)  # the agent's own

    def test_too_few_chats_give_no_finding(self) -> None:
        """With fewer than 3 bad chats nothing is claimed."""
        res = self.world([(30.0, 1), (10.0, 5), (11.0, 4), (9.0, 5)])
        assert diagnose(res) == ()

    def test_a_topic_of_the_bad_chats_is_a_finding(self) -> None:
        """Dissatisfied chats all about logistics, the rest never: a topic finding that differs."""
        waits = [(10.0, 1)] * 4 + [(10.0, 5)] * 5
        topics: list[str | None] = ["物流"] * 4 + ["商品咨询"] * 5
        found = {(f.group, f.signal): f for f in diagnose(self.world(waits, topics))}
        f = found["*", "topic:物流"]
        assert (f.mean_bad, f.mean_rest, f.effect, f.differs) == (1.0, 0.0, 1.0, True)
        assert "were about 物流 more often" in f.sentence()
        assert "100 % vs 0 %" in f.sentence()

    def test_chats_without_signals_give_counts_but_no_signal_finding(self) -> None:
        """Joined without analysis results, the diagnosis has chats but no signal to compare."""
        j = OutcomeJoin()
        for i in range(8):
            j.add(chat(f"c{i}", f"b{i}", "店:a", T0))
        res = j.join(
            ratings=[
                rating(f"b{i}", "a", T0 + timedelta(minutes=5), level=1 + i % 5) for i in range(8)
            ]
        )
        assert res.sums.side("*", "dissatisfied", "bad").chats == 4
        assert diagnose(res) == ()

    def test_the_sample_is_bounded_and_the_means_stay_exact(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With a sample of 5 chats per side, the counts and means still cover every chat."""
        monkeypatch.setattr(_diagsums, "SAMPLE_SIZE", 5)
        waits = [(30.0 + i, 1) for i in range(12)] + [(10.0 + i % 3, 5) for i in range(20)]
        f = next(
            f
            for f in diagnose(self.world(waits))
            if f.group == "*" and f.signal == "mean_response_s"
        )
        assert (f.n_bad, f.n_rest, f.sampled_bad, f.sampled_rest) == (12, 20, 5, 5)
        assert f.mean_bad == pytest.approx(35.5)
        assert f.mean_rest == pytest.approx(sum(10.0 + i % 3 for i in range(20)) / 20)
        assert f.differs


@st.composite
def rated_worlds(
    draw: st.DrawFn,
) -> tuple[list[tuple[Conversation, SimpleNamespace]], list[Rating], list[Order], list[Refund]]:
    """Enough rated and ordering chats for findings, each with random signals and a topic."""
    n = draw(st.integers(6, 30))
    chats = []
    ratings, orders, refunds = [], [], []
    for i in range(n):
        buyer, start = f"b{draw(st.integers(0, n))}", T0 + timedelta(hours=draw(st.integers(0, 60)))
        conv = chat(f"c{i}", buyer, draw(st.sampled_from(AGENTS)), start)
        wait = draw(st.one_of(st.none(), st.floats(1, 600, allow_nan=False)))
        res = result_like(
            wait, draw(st.floats(0, 1)), draw(st.sampled_from([None, "物流", "售后"]))
        )
        chats.append((conv, res))
        ratings.append(
            rating(
                buyer,
                conv.agents[0].split(":")[-1],
                start + timedelta(minutes=5),
                draw(st.integers(1, 5)),
                line=i,
            )
        )
        if draw(st.booleans()):
            orders.append(order(f"o{i}", buyer, start + timedelta(minutes=30), True, line=i))
            refunds.append(
                Refund(
                    order_id=f"o{i}",
                    success=draw(st.booleans()),
                    intervened=draw(st.booleans()),
                    line=i,
                )
            )
    return chats, ratings, orders, refunds


def exact_part(sums: _diagsums.DiagnosisSums) -> dict[Any, Any]:
    """Every accumulator of the sums, in a stable order."""
    return {
        key: (
            side.chats,
            side.product,
            side.service,
            side.n,
            side.sums,
            side.topics,
            side.sample,
        )
        for key, side in side_items(sums)
    }


def side_items(sums: _diagsums.DiagnosisSums) -> list[tuple[Any, _diagsums.SideSums]]:
    return sorted(sums.sides.items())


class TestFlatDiagnosis:
    @settings(max_examples=20, deadline=None)
    @given(rated_worlds(), st.integers(1, 4), st.integers(2, 40), st.sampled_from([3, 400]))
    def test_partitioned_diagnosis_equals_the_in_memory_one(
        self,
        world: tuple[
            list[tuple[Conversation, SimpleNamespace]], list[Rating], list[Order], list[Refund]
        ],
        partitions: int,
        max_rows: int,
        sample: int,
    ) -> None:
        """Spilled in any partitions and pieces, the sums, findings and sentences are the same.

        Also with a sample of 3 chats per side, where the interval is computed on
        the bounded sample: the sample does not depend on the partitioning.
        """
        chats, ratings, orders, refunds = world
        old = _diagsums.SAMPLE_SIZE
        _diagsums.SAMPLE_SIZE = sample
        try:
            memory = OutcomeJoin()
            spilled = PartitionedOutcomeJoin(partitions=partitions, max_rows=max_rows)
            for conv, res in chats:
                memory.add(conv, res)
                spilled.add(conv, res)
            whole = memory.join(ratings=ratings, orders=orders, refunds=refunds)
            got = spilled.join(ratings=ratings, orders=orders, refunds=refunds)
        finally:
            _diagsums.SAMPLE_SIZE = old
        assert exact_part(got.sums) == exact_part(whole.sums)
        found = diagnose(got)
        assert found == diagnose(whole)
        assert summary_sentences(found, got) == summary_sentences(found, whole)


class TestRecordsFormat:
    @pytest.mark.parametrize(
        ("reader", "name"),
        [
            (read_ratings, "ratings.csv"),
            (read_orders, "orders_taobao.csv"),
            (read_orders, "orders_jd.csv"),
            (read_refunds, "refunds.csv"),
            (read_reviews, "reviews.csv"),
        ],
    )
    def test_records_read_as_the_file(self, reader: Any, name: str) -> None:
        """Rows given as mappings (e.g. DataFrame rows) give the file's records, numbered from 1."""
        path = data_file(f"examples/{name}")
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        got = list(reader(rows, format="records"))
        want = list(reader(path))
        assert [attrs.evolve(r, file="", line=0) for r in got] == [
            attrs.evolve(r, file="", line=0) for r in want
        ]
        assert {r.file for r in got} == {"<records>"}
        assert got[0].line == 1

    def test_a_bad_record_names_its_row(self) -> None:
        """A record without its rating code fails naming the records and the row number."""
        rows = [
            {
                "eval_sender": "b",
                "eval_recer": "a",
                "eval_code": "0",
                "eval_time": "2024-05-06 10:00:00",
            },
            {
                "eval_sender": "b",
                "eval_recer": "a",
                "eval_code": "9",
                "eval_time": "2024-05-06 10:00:00",
            },
        ]
        with pytest.raises(BadRecordError, match=r"<records>.*2"):
            list(read_ratings(rows, format="records", scale="qianniu"))


class TestPlatformPresetKpis:
    """The report holds timing KPIs against a platform's target under that platform's preset."""

    @pytest.fixture(scope="class")
    @staticmethod
    def convs() -> list[Conversation]:
        """The bundled example chats."""
        return list(read_conversations(data_file("examples/conversations.jsonl")))

    @pytest.mark.parametrize(
        ("preset", "row", "pick", "unit"), [("taobao", 1, 3, "%"), ("jd", 2, 4, "s")]
    )
    def test_targeted_row_is_computed_under_the_preset(
        self, convs: list[Conversation], preset: str, row: int, pick: int, unit: str
    ) -> None:
        """A plain run's target rows equal a separate pass under the platform's preset.

        The row names the preset's policy; its note gives the run's own value and policy.
        """
        analysis = analyze(convs)
        kpis = _team_kpis(analysis)
        expected = _team_timing(TimingSummary.from_conversations(convs, ("shop",), preset))[pick]
        assert kpis[row].value == pytest.approx(expected)
        assert kpis[row].policy.startswith(f"TimingPolicy {preset!r}")
        assert kpis[row].target  # held against the target
        run = _team_timing(analysis.timing_by_agent)[pick]
        assert _run_note(run, unit, "default") in kpis[row].note
        assert len(kpis) == 5

    def test_a_run_under_the_preset_shows_its_own_value(self, convs: list[Conversation]) -> None:
        """Run under the JD preset, the mean-response row is the run's, with no second value."""
        kpis = _team_kpis(analyze(convs, policy="jd"))
        mean = next(k for k in kpis if k.name.startswith("平均响应时间"))
        assert mean.name == "平均响应时间 mean response"
        assert "this run" not in mean.note
        assert mean.policy.startswith("TimingPolicy 'jd'")

    def test_platform_timing_merges_across_shards(self, convs: list[Conversation]) -> None:
        """merge_analyses adds the platform-preset timing of the parts."""
        whole = analyze(convs)
        merged = merge_analyses([analyze(convs[:10]), analyze(convs[10:])])
        for preset in ("taobao", "jd"):
            assert _team_timing(merged.timing_by_platform[preset]) == pytest.approx(
                _team_timing(whole.timing_by_platform[preset])
            )


class TestPlatformReport:
    @pytest.mark.parametrize(
        ("header", "row", "expected"),
        [
            (
                "旺旺昵称,询单人数,询单最终付款转化率,平均响应时长（秒),客户满意率,旺旺回复率",
                "店:小美,40,25.00%,21.5,98.5%,100%",
                {
                    "inquiries": 40.0,
                    "inquiry_conversion_4d": 0.25,
                    "mean_wait_s": 21.5,
                    "satisfaction_rate": 0.985,
                    "reply_rate": 1.0,
                },
            ),
            (
                "旺旺,接待人数,平均响应(秒),回复率,询单->最终付款成功率,客户满意比",
                "店:小美,120,30,99.00%,延迟统计,90.00%",
                {
                    "conversations": 120.0,
                    "mean_wait_s": 30.0,
                    "reply_rate": 0.99,
                    "satisfaction_rate": 0.9,
                },
            ),
            (
                "客服,询单人数延,退款率",
                "店:小美,12,1.5%",
                {"inquiries": 12.0, "refund_rate": 0.015},
            ),
        ],
    )
    def test_layouts_read_under_our_column_names(
        self, tmp_path: Path, header: str, row: str, expected: dict[str, float]
    ) -> None:
        """千牛 自制报表, 飞猪 and 赤兔 headers map to agents.csv names; % are fractions."""
        summary = "全店平均值" + ",1" * header.count(",")
        p = write(tmp_path / "p.csv", f"{header}\n{row}\n{summary}\n")
        rep = OutcomeReadReport()
        (got,) = read_platform_report(p, report=rep)
        assert dict(got.figures) == pytest.approx(expected)
        assert rep.unrated_rows == 1  # the summary row is counted, not yielded

    def test_compare_matches_nick_and_sub_account(self) -> None:
        """A platform nick matches our full sub-account; the difference is ours - theirs."""
        rows = [PlatformRow("小美", FrozenDict({"mean_wait_s": 20.0, "first_wait_s": 9.0}))]
        table = compare_with_platform(rows, [{"agent": "店:小美", "mean_wait_s": 25.0}])
        assert [(r["figure"], r["ours"], r["difference"]) for r in table] == [
            ("mean_wait_s", 25.0, 5.0),
            ("first_wait_s", None, None),
        ]


def test_cli_flat_join_gives_the_in_memory_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default (flat, spilled) join writes the agents.csv and diagnosis of the in-memory one."""
    argv = ["analyze", "--out", str(tmp_path / "a"), "--no-results", "--outcome-partitions", "0"]
    assert main(argv) == EXIT_OK
    assert main(["analyze", "--out", str(tmp_path / "b"), "--no-results"]) == EXIT_OK
    argv = ["analyze", "--out", str(tmp_path / "c"), "--no-results", "--outcome-partitions", "3"]
    assert main(argv) == EXIT_OK
    capsys.readouterr()

    def outputs(folder: str) -> tuple[str, str]:
        html = (tmp_path / folder / "report.html").read_text(encoding="utf-8")
        diagnosis = html[html.index("诊断 Diagnosis") : html.index("关联结果")]
        return (tmp_path / folder / "agents.csv").read_text(encoding="utf-8-sig"), diagnosis

    assert outputs("a") == outputs("b") == outputs("c")
    assert "waited" in outputs("b")[1] or "higher" in outputs("b")[1]


def test_cli_platform_report_is_compared_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--platform-report writes platform_compare.csv and shows the same rows in report.html."""
    p = write(
        tmp_path / "platform.csv",
        "旺旺昵称,询单人数,平均响应时长（秒),客户满意率\n小美,12,21.5,98.5%\n全店平均值,1,1,1%\n",
    )
    out = tmp_path / "o"
    assert main(["analyze", "--out", str(out), "--no-results", "--platform-report", str(p)]) == 0
    _, err = capsys.readouterr()
    assert "platform report: 1 agents (1 matched ours), 1 summary rows" in err
    rows = list(csv.DictReader(io.StringIO((out / "platform_compare.csv").read_text("utf-8-sig"))))
    assert sorted(r["figure"] for r in rows) == ["inquiries", "mean_wait_s", "satisfaction_rate"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "平台报表对照 Platform report vs ours" in html
    table = html[html.index("平台报表对照") :]
    assert (
        "<td>小美</td><td>青柚童装旗舰店:小美</td><td>satisfaction_rate</td><td>98.5%</td>" in table
    )
    assert "<td>mean_wait_s</td><td>21.5秒</td>" in table
