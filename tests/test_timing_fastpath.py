"""The fast routes of the response-time aggregate path equal the plain ones (issue #3)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards import _quantiles
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
from kefu_standards.timing import BusinessHours, TimingPolicy, TimingSummary

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
