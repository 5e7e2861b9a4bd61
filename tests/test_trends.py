"""Trends: per-period rollups per agent and team, 持续学习, trends.csv, and their merging."""

from __future__ import annotations

import copy
import csv
import itertools
import math
import operator
import pickle
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards import Conversation, Message, Role
from kefu_standards._trends import (
    OUTCOME_TREND_COLUMNS,
    TEAM,
    TREND_COLUMNS,
    TrendSums,
    build_trends,
    choose_period,
    slope,
)
from kefu_standards.analysis import analyze, iter_results, merge_analyses, trends_of
from kefu_standards.exceptions import ConfigError
from kefu_standards.outcomes import Order, OutcomeCounts, OutcomeJoin, Rating, Refund, Satisfaction
from kefu_standards.report import _fmt, render_html

TZ = timezone(timedelta(hours=8))
MONDAY = datetime(2024, 3, 4, 10, 0, tzinfo=TZ)  # ISO week 2024-W10
HOSTILE_AGENT = "店:<script>alert(1)</script>"


def _chat(
    cid: str, agent: str, start: datetime, wait_s: float, text: str = "亲，您好"
) -> Conversation:
    """One round: a buyer question and the agent's answer after *wait_s* seconds."""
    return Conversation(
        id=cid,
        messages=(
            Message(Role.BUYER, "在吗，什么时候发货", start, "tb_买家"),
            Message(Role.AGENT, text, start + timedelta(seconds=wait_s), agent),
        ),
        shop="店",
    )


def team_stream(weeks: int = 6, per_week: int = 5, seed: int = 7) -> list[Conversation]:
    """A seeded multi-week stream: 小美's wait falls 10 s a week, 阿珍's stays at 30 s.

    Each week, each agent serves *per_week* one-round conversations on random
    days of that week (seeded); a third agent with a hostile name serves one a week.
    """
    rng = random.Random(seed)
    out = []
    for w in range(weeks):
        for k in range(per_week):
            for agent, wait in (("小美", 80.0 - 10.0 * w), ("阿珍", 30.0)):
                start = MONDAY + timedelta(
                    days=7 * w + rng.randrange(7), minutes=rng.randrange(600)
                )
                out.append(_chat(f"{agent}-{w}-{k}", agent, start, wait))
        start = MONDAY + timedelta(days=7 * w + rng.randrange(7))
        out.append(_chat(f"h-{w}", HOSTILE_AGENT, start, 200.0, "你自己看"))
    rng.shuffle(out)  # trends must not depend on input order
    return out


@pytest.fixture(scope="module")
def stream() -> list[Conversation]:
    return team_stream()


@pytest.fixture(scope="module")
def analysis(stream: list[Conversation]) -> ks.Analysis:
    return analyze(stream)


class TestRows:
    def test_one_row_per_agent_and_week(self, analysis: ks.Analysis) -> None:
        """Six weeks of data: weekly rows, every agent and the team in every week."""
        t = analysis.trends
        assert t.period == "week"
        assert t.periods == tuple(f"2024-W{w:02d}" for w in range(10, 16))
        agents = [TEAM, "小美", "阿珍", HOSTILE_AGENT]
        assert sorted({r.agent for r in t.rows}) == sorted(agents)
        assert len(t.rows) == len(agents) * 6

    def test_waits_are_the_policy_round_means(self, analysis: ks.Analysis) -> None:
        """小美's mean wait is exactly 80, 70, ... 30 s; her 三分钟响应率 is 1."""
        rows = analysis.trends.of("小美")
        assert [r.mean_response_s for r in rows] == [80.0, 70.0, 60.0, 50.0, 40.0, 30.0]
        assert [r.first_response_s for r in rows] == [80.0, 70.0, 60.0, 50.0, 40.0, 30.0]
        assert [r.conversations for r in rows] == [5] * 6
        assert [r.rounds for r in rows] == [5] * 6
        assert {r.within_sla_rate for r in rows} == {1.0}

    def test_team_rows_count_every_conversation_once(self, analysis: ks.Analysis) -> None:
        """The team's conversations per week are the sum over its agents (one agent each)."""
        team = analysis.trends.of(TEAM)
        assert [r.conversations for r in team] == [11] * 6
        assert sum(r.conversations for r in team) == analysis.conversations
        # 10 of 11 rounds a week within 180 s: the hostile-named agent answers after 200 s
        assert {r.within_sla_rate for r in team} == {10 / 11}
        assert [r.rounds for r in team] == [11] * 6

    def test_undefined_is_none_not_zero(self) -> None:
        """An agent absent in a week gets a row with 0 conversations and None values."""
        chats = [
            _chat("a", "小美", MONDAY, 10.0),
            _chat("b", "阿珍", MONDAY + timedelta(days=30), 10.0),
        ]
        t = analyze(chats).trends
        gap = t.of("小美")[-1]
        assert gap.conversations == 0
        assert (gap.mean_response_s, gap.total, gap.politeness, gap.escalation_rate) == (
            None,
            None,
            None,
            None,
        )

    def test_undated_conversations_are_counted_not_placed(self) -> None:
        """A conversation without times is counted in ``undated``; it makes no row."""
        undated = Conversation(
            id="u", messages=(Message(Role.BUYER, "在吗", None), Message(Role.AGENT, "在的", None))
        )
        t = analyze([undated, _chat("a", "小美", MONDAY, 10.0)]).trends
        assert t.undated == 1
        assert [r.conversations for r in t.of(TEAM)] == [1]


@pytest.mark.parametrize(
    ("span_days", "expected"),
    [(1, "day"), (7, "day"), (20, "day"), (21, "week"), (91, "week")],
)
def test_period_is_chosen_from_the_span(span_days: int, expected: str) -> None:
    """Three weeks of data or more are shown by ISO week, shorter spans by day."""
    assert choose_period(100, 100 + span_days - 1) == expected


def test_days_for_a_short_stream() -> None:
    """A stream over 3 days has one row per day, labelled with the date."""
    chats = [_chat(f"c{d}", "小美", MONDAY + timedelta(days=d), 20.0) for d in range(3)]
    t = analyze(chats).trends
    assert t.period == "day"
    assert t.periods == ("2024-03-04", "2024-03-05", "2024-03-06")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "month"}, "period must be 'week', 'day' or None"),
        ({"min_conversations": 0}, "min_conversations must be >= 1"),
        ({"learning_scale": 0.0}, "learning_scale must be > 0"),
    ],
)
def test_bad_arguments_say_what_is_valid(
    analysis: ks.Analysis, kwargs: dict[str, object], message: str
) -> None:
    """Invalid options raise ConfigError naming what is valid."""
    with pytest.raises(ConfigError, match=message):
        trends_of(analysis, **kwargs)  # type: ignore[arg-type]


class TestLearning:
    def test_falling_wait_is_said_in_a_sentence(self, analysis: ks.Analysis) -> None:
        """小美's mean wait fell from the first third's mean to the last third's."""
        got = analysis.trends.learning_of("小美")
        assert got is not None
        assert got.periods == 6
        assert (got.wait_from, got.wait_to) == (75.0, 35.0)
        assert "mean wait fell from 75秒 to 35秒" in got.sentence
        assert "over 6 weeks" in got.sentence

    def test_score_maps_the_weekly_slope(self, analysis: ks.Analysis) -> None:
        """持续学习 = 0.5 + slope / (2 * learning_scale), slope of the weekly total per week."""
        got = analysis.trends.learning_of("小美")
        assert got is not None
        assert got.total_slope is not None
        assert got.score is not None
        rows = analysis.trends.of("小美")
        expected = slope([float(i) for i in range(6)], [float(r.total or 0.0) for r in rows])
        assert got.total_slope == pytest.approx(expected)
        assert got.score == pytest.approx(min(1.0, max(0.0, 0.5 + expected / 4.0)))

    def test_too_few_conversations_is_na_with_a_reason(self, analysis: ks.Analysis) -> None:
        """The hostile-named agent has 1 conversation a week (< 5): 持续学习 is N/A, with why."""
        got = analysis.trends.learning_of(HOSTILE_AGENT)
        assert got is not None
        assert got.score is None
        assert "needs at least 2" in got.reason
        looser = trends_of(analysis, min_conversations=1).learning_of(HOSTILE_AGENT)
        assert looser is not None
        assert looser.score is not None

    @pytest.mark.parametrize(
        ("xs", "ys", "expected"),
        [
            ([0, 1, 2], [1, 3, 5], 2.0),
            ([0, 1], [5, 5], 0.0),
            ([1], [2], None),
            ([1, 1], [2, 3], None),
        ],
    )
    def test_slope_table(self, xs: list[float], ys: list[float], expected: float | None) -> None:
        """Least-squares slope; None with fewer than two distinct x."""
        assert slope(xs, ys) == expected


def _key_numbers(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    """Integer columns exactly, float columns rounded (summation order may differ)."""
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row.values()) for row in rows]


class TestMerge:
    def test_merged_halves_equal_the_whole(self, stream: list[Conversation]) -> None:
        """merge_analyses of two shards gives the trends of the whole stream."""
        whole = analyze(stream)
        half = len(stream) // 3
        merged = merge_analyses([analyze(stream[:half]), analyze(stream[half:])])
        assert _key_numbers(merged.trend_rows()) == _key_numbers(whole.trend_rows())
        assert [x.sentence for x in merged.trends.learning] == [
            x.sentence for x in whole.trends.learning
        ]

    @settings(max_examples=25)
    @given(cuts=st.lists(st.integers(min_value=0, max_value=66), max_size=4))
    def test_sums_of_shards_merge_to_the_sums_of_the_whole(self, cuts: list[int]) -> None:
        """TrendSums of any split of the results, merged, equal the whole (exact counts)."""
        results = [r for _, rs in iter_results(_STREAM) for r in rs]
        whole = TrendSums.of(results)
        bounds = [0, *sorted(cuts), len(results)]
        merged = TrendSums().merge(
            *(TrendSums.of(results[a:b]) for a, b in itertools.pairwise(bounds))
        )
        assert set(merged.cells) == set(whole.cells)
        for key, cell in whole.cells.items():
            got = merged.cells[key]
            assert (got.conversations, got.impolite, got.high_risk, got.total_n) == (
                cell.conversations,
                cell.impolite,
                cell.high_risk,
                cell.total_n,
            )
            assert math.isclose(got.total_sum, cell.total_sum, rel_tol=1e-12)

    def test_merge_changes_neither_input(self, stream: list[Conversation]) -> None:
        """``a.merge(b)`` returns new sums and leaves *a* and *b* equal to what they were."""
        a, b = analyze(stream[:10]).trend_sums, analyze(stream[10:]).trend_sums
        before = (copy.deepcopy(a), copy.deepcopy(b))
        merged = a.merge(b)
        assert (a, b) == before
        assert merged not in (a, b)
        assert merged.undated == a.undated + b.undated


class TestFrozen:
    """The trend sums inside a finished analysis cannot be changed."""

    @pytest.mark.parametrize(
        "change",
        [
            lambda s: setattr(s, "undated", 1),
            lambda s: setattr(s, "cells", {}),
            lambda s: operator.setitem(s.cells, ("x", 1), None),
            lambda s: setattr(next(iter(s.cells.values())), "conversations", 0),
            lambda s: operator.setitem(next(iter(s.cells.values())).dim_sum, "x", 1.0),
        ],
        ids=["undated", "cells", "cell-item", "cell-field", "cell-dim-sum"],
    )
    def test_trend_sums_refuse_changes(
        self, analysis: ks.Analysis, change: Callable[[TrendSums], None]
    ) -> None:
        """Assigning a field or an item raises; the analysis keeps its sums."""
        sums = analysis.trend_sums
        kept = copy.deepcopy(sums)
        with pytest.raises((attrs.exceptions.FrozenInstanceError, TypeError)):
            change(sums)
        assert analysis.trend_sums == kept

    def test_frozen_sums_pickle_round_trip(self, analysis: ks.Analysis) -> None:
        """The sums travel between processes (Spark workers) unchanged."""
        assert pickle.loads(pickle.dumps(analysis.trend_sums)) == analysis.trend_sums


_STREAM = team_stream(weeks=6, per_week=5, seed=11)


class TestOutputs:
    def test_trends_csv_has_one_row_per_agent_and_period(
        self, analysis: ks.Analysis, tmp_path: Path
    ) -> None:
        """write() puts trends.csv beside agents.csv: agent, period, conversations, ..."""
        paths = ks.write_report(analysis, tmp_path)
        assert tmp_path / "trends.csv" in paths
        with (tmp_path / "trends.csv").open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0]) == list(TREND_COLUMNS)
        assert len(rows) == 4 * 6
        assert len({(r["agent"], r["period"]) for r in rows}) == len(rows)
        mei = [r for r in rows if r["agent"] == "小美"]
        assert [float(r["mean_response_s"]) for r in mei] == [80, 70, 60, 50, 40, 30]
        assert {r["policy"] for r in rows} == {"default"}

    def test_report_shows_trends_and_grid_and_escapes_names(self, analysis: ks.Analysis) -> None:
        """The page has the grid and the trends section; a hostile agent name stays text."""
        from kefu_standards._report_view import build_view

        page = render_html(build_view(analysis))
        assert "能力矩阵 Agent × dimension" in page
        assert "趋势 Trends" in page
        assert page.count('class="spark"') == 6 * 4  # 6 metrics x (team + 3 agents)
        assert "<script" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "mean wait fell from 75秒 to 35秒" in page

    def test_grid_orders_agents_by_total(self, analysis: ks.Analysis) -> None:
        """The agent x dimension grid lists the best total first."""
        from kefu_standards._report_view import build_view

        totals = [a.total for a in build_view(analysis).agents]
        assert totals == sorted(totals, key=lambda t: -(t or 0.0))


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (4.0, "n", "4"),
        (3823.0, "n", "3823"),
        (0.9231, "%", "92.3%"),
        (58.2, "s", "58秒"),
        (150.0, "s", "2.5分"),
        (0.82, "", "0.82"),
        (81.4, "", "81"),
    ],
)
def test_numbers_print_by_kind(value: float, unit: str, expected: str) -> None:
    """Counts as integers, rates as percentages, times as 秒/分, scores as scores."""
    assert _fmt(value, unit) == expected


def test_build_trends_of_nothing_is_empty() -> None:
    """No dated conversation: no rows, no learning, the period defaults to week."""
    t = build_trends(TrendSums(), None, None)
    assert (t.rows, t.learning, t.period) == ((), (), "week")


# -- outcome KPIs in the trends ------------------------------------------------------------

WEEKS_OUT = 4


def outcome_world() -> tuple[list[Conversation], list[Rating], list[Order], list[Refund]]:
    """Four weeks of chats with ratings, orders and refunds whose weekly rates are known.

    Week *w* (0-3): 小美 serves 4 buyers, each rates once; buyer *k* is satisfied
    when ``k >= w`` (满意率 (4 - w)/4, 不满意率 w/4) and pays an order the same day
    when ``k <= w`` (询单转化率 (w + 1)/4).  The first paid order of each week is
    refunded (退款率 1/(w + 1)); the refund is a dispute in weeks 0 and 2 only.
    阿珍 serves 2 satisfied buyers a week who order nothing.
    """
    convs, ratings, orders, refunds = [], [], [], []
    for w in range(WEEKS_OUT):
        for agent, n in (("店:小美", 4), ("店:阿珍", 2)):
            for k in range(n):
                buyer = f"b-{agent[-2:]}-{w}-{k}"
                start = MONDAY + timedelta(days=7 * w + k, hours=k)
                convs.append(
                    Conversation(
                        id=f"o-{agent[-2:]}-{w}-{k}",
                        messages=(
                            Message(Role.BUYER, "在吗，这个有货吗", start, buyer),
                            Message(Role.AGENT, "亲，有的", start + timedelta(seconds=30), agent),
                        ),
                        shop="店",
                    )
                )
                mei = agent == "店:小美"
                happy = not mei or k >= w
                level = Satisfaction.SATISFIED if happy else Satisfaction.DISSATISFIED
                at = start + timedelta(minutes=5)
                ratings.append(Rating(buyer=buyer, agent=agent, level=level, rated_at=at))
                if mei and k <= w:
                    oid = f"{w}{k}0000000000"
                    paid = start + timedelta(minutes=30)
                    orders.append(
                        Order(order_id=oid, buyer=buyer, created_at=paid, paid=True, paid_at=paid)
                    )
                    if k == 0:
                        why = "需要客服介入" if w % 2 == 0 else "不需客服介入"
                        refunds.append(
                            Refund(order_id=oid, success=True, cs_status=why, intervened=w % 2 == 0)
                        )
    return convs, ratings, orders, refunds


def with_outcomes(convs: list[Conversation], **given: Any) -> ks.Analysis:
    """analyze(convs) with the outcome rows *given* joined (as the CLI does)."""
    join = OutcomeJoin()
    analysis = analyze(join.watch(convs))
    return attrs.evolve(analysis, outcomes=join.join(**given))


@pytest.fixture(scope="module")
def outcome_analysis() -> ks.Analysis:
    convs, ratings, orders, refunds = outcome_world()
    return with_outcomes(convs, ratings=ratings, orders=orders, refunds=refunds)


class TestOutcomeTrends:
    def test_weekly_rates_are_the_designed_ones(self, outcome_analysis: ks.Analysis) -> None:
        """满意率, 不满意率, 询单转化率, 退款率, 纠纷退款率 of each week, exactly."""
        mei = outcome_analysis.trends.of("店:小美")
        assert [r.satisfaction_rate for r in mei] == [1.0, 0.75, 0.5, 0.25]
        assert [r.dissatisfaction_rate for r in mei] == [0.0, 0.25, 0.5, 0.75]
        assert [r.inquiry_conversion for r in mei] == [0.25, 0.5, 0.75, 1.0]
        assert [r.refund_rate for r in mei] == [1.0, 0.5, 1 / 3, 0.25]
        assert [r.dispute_rate for r in mei] == [1.0, 0.0, 1 / 3, 0.0]

    def test_undefined_rates_are_none(self, outcome_analysis: ks.Analysis) -> None:
        """阿珍 has no paid order: her refund rates are None, not 0; conversion is 0."""
        zhen = outcome_analysis.trends.of("店:阿珍")
        assert {r.refund_rate for r in zhen} == {None}
        assert {r.dispute_rate for r in zhen} == {None}
        assert {r.inquiry_conversion for r in zhen} == {0.0}
        assert {r.satisfaction_rate for r in zhen} == {1.0}

    def test_team_rows_pool_every_agent(self, outcome_analysis: ks.Analysis) -> None:
        """The team's 满意率 of week w is ((4 - w) + 2) / 6."""
        team = outcome_analysis.trends.of(TEAM)
        assert [r.satisfaction_rate for r in team] == pytest.approx(
            [(4 - w + 2) / 6 for w in range(WEEKS_OUT)]
        )

    def test_periods_sum_to_the_agent_totals(self, outcome_analysis: ks.Analysis) -> None:
        """Summing the per-(agent, day) counts over all days gives the per-agent counts."""
        result = outcome_analysis.outcomes
        for agent, counts in result.by_agent.groups.items():
            summed = OutcomeCounts()
            for (who, _), c in result.by_agent_day.groups.items():
                if who == agent:
                    summed.add(c)
            assert summed == counts

    def test_shards_merge_to_the_whole(self) -> None:
        """Analyses of two buyer-disjoint shards, each with its own join, merge exactly."""
        convs, ratings, orders, refunds = outcome_world()
        whole = with_outcomes(convs, ratings=ratings, orders=orders, refunds=refunds)
        halves = []
        for keep in (lambda b: b.endswith(("-0", "-1")), lambda b: not b.endswith(("-0", "-1"))):
            part = [c for c in convs if keep(c.buyer or "")]
            buyers = {c.buyer for c in part}
            halves.append(
                with_outcomes(
                    part,
                    ratings=[r for r in ratings if r.buyer in buyers],
                    orders=[o for o in orders if o.buyer in buyers],
                    refunds=[
                        x
                        for x in refunds
                        if any(o.order_id == x.order_id and o.buyer in buyers for o in orders)
                    ],
                )
            )
        merged = merge_analyses(halves)
        assert merged.trend_rows() == whole.trend_rows()

    def test_csv_has_the_outcome_columns_only_when_joined(
        self, outcome_analysis: ks.Analysis, analysis: ks.Analysis, tmp_path: Path
    ) -> None:
        """trends.csv: the outcome KPI columns come before ``policy`` when outcomes were joined."""
        ks.write_report(outcome_analysis, tmp_path / "with")
        ks.write_report(analysis, tmp_path / "without")
        heads = {}
        for name in ("with", "without"):
            with (tmp_path / name / "trends.csv").open(encoding="utf-8-sig", newline="") as fh:
                heads[name] = next(csv.reader(fh))
        assert heads["without"] == list(TREND_COLUMNS)
        assert heads["with"] == [*TREND_COLUMNS[:-1], *OUTCOME_TREND_COLUMNS, "policy"]

    def test_report_draws_outcome_sparklines_and_names_their_policy(
        self, outcome_analysis: ks.Analysis
    ) -> None:
        """11 sparklines a row (6 chat metrics + 5 outcome KPIs); the KPI definitions named."""
        from kefu_standards._report_view import build_view

        page = render_html(build_view(outcome_analysis))
        assert page.count('class="spark"') == 11 * 3  # team + 2 agents
        assert "结果指标口径: outcomes.KPI_DEFINITIONS" in page
        assert "满意率" in page
        assert "纠纷退款率" in page
