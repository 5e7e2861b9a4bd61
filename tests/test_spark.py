"""Spark integration: the same numbers as ``ks.analyze`` on the bundled examples (local mode).

Skips when pyspark or Java is missing, unless ``KS_REQUIRE_SPARK=1`` (set by
``.ci/run``), in which case a missing Spark is a failure.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import warnings
from collections.abc import Iterator
from datetime import timezone
from typing import Any

import pytest

from kefu_standards.analysis import Analysis, ConversationResult, analyze, analyze_conversation
from kefu_standards.exceptions import ConfigError, UndefinedMetricWarning
from kefu_standards.io import read_conversations
from kefu_standards.model import Conversation
from kefu_standards.resources import data_file

pytestmark = pytest.mark.filterwarnings(
    "ignore::FutureWarning", "ignore::DeprecationWarning", "ignore::ResourceWarning"
)

REQUIRE = os.environ.get("KS_REQUIRE_SPARK") == "1"


def _need(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"KS_REQUIRE_SPARK=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A small local-mode SparkSession (2 threads, 2 shuffle partitions, no UI)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        _need("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _need("no Java runtime (java not on PATH, JAVA_HOME unset)")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("kefu_standards-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def conversations() -> list[Conversation]:
    """The 30 bundled example conversations."""
    return list(read_conversations(data_file("examples/conversations.jsonl")))


def _rows(conversations: list[Conversation]) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": c.id,
            "seq": i,
            "role": m.role.value,
            "text": m.text,
            "time": None if m.sent_at is None else m.sent_at.isoformat(),
            "sender": m.sender,
            "shop": c.shop,
        }
        for c in conversations
        for i, m in enumerate(c.messages)
    ]


SCHEMA = (
    "conversation_id string, seq long, role string, text string, time string, "
    "sender string, shop string"
)


@pytest.fixture(scope="module")
def messages(spark: Any, conversations: list[Conversation]) -> Any:
    """The examples as a Spark DataFrame of messages (ISO time strings)."""
    return spark.createDataFrame(_rows(conversations), schema=SCHEMA)


@pytest.fixture(scope="module")
def expected(conversations: list[Conversation]) -> Analysis:
    """``ks.analyze`` on the examples."""
    return analyze(conversations)


@pytest.fixture(scope="module")
def expected_results(conversations: list[Conversation]) -> dict[str, ConversationResult]:
    """``analyze_conversation`` on each example, by id."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return {c.id: analyze_conversation(c) for c in conversations}


def _plain(value: Any) -> Any:
    """Spark/pandas values → the plain values ``to_record`` uses."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_score_conversations_equals_analyze_conversation(
    messages: Any, expected_results: dict[str, ConversationResult]
) -> None:
    from kefu_standards.spark import SparkColumns, score_conversations

    got = score_conversations(messages, columns=SparkColumns(order="seq")).collect()
    assert sorted(r["id"] for r in got) == sorted(expected_results)
    for row in got:
        want = expected_results[row["id"]]
        rec = {k: _plain(v) for k, v in row.asDict().items()}
        rec["dimensions"] = dict(rec["dimensions"])
        rec["hits"] = json.loads(rec["hits"])
        started = rec.pop("started_at")
        want_rec = want.to_record()
        assert want.started_at is not None
        assert started == want.started_at.astimezone(timezone.utc).replace(tzinfo=None)
        del want_rec["started_at"]
        assert rec.keys() == want_rec.keys()
        for key, value in want_rec.items():
            assert _same(rec[key], value), (row["id"], key, rec[key], value)


def test_analyze_dataframe_agent_table_equals_analyze(messages: Any, expected: Analysis) -> None:
    from kefu_standards.spark import SparkColumns, analyze_dataframe

    got = analyze_dataframe(messages, columns=SparkColumns(order="seq"), partitions=3)
    assert (got.conversations, got.messages) == (expected.conversations, expected.messages)
    assert (got.first_time, got.last_time) == (expected.first_time, expected.last_time)
    assert got.dimension_names == expected.dimension_names
    # timing summaries (counts, sums, quantile sketches) are integer-exact
    assert got.timing_by_agent == expected.timing_by_agent
    assert got.timing_by_day == expected.timing_by_day
    assert got.timing_by_shop == expected.timing_by_shop
    got_rows, want_rows = got.agent_rows(), expected.agent_rows()
    assert [r["agent"] for r in got_rows] == [r["agent"] for r in want_rows]
    for g, w in zip(got_rows, want_rows, strict=True):
        assert _same(g, w), (g, w)
    assert {r.id for r, _ in got.riskiest} == {r.id for r, _ in expected.riskiest}


def test_timestamp_column_gives_the_same_timing(
    spark: Any, messages: Any, expected: Analysis
) -> None:
    from pyspark.sql import functions as f

    from kefu_standards.spark import SparkColumns, analyze_dataframe

    stamped = messages.withColumn("at", f.to_timestamp("time")).drop("time")
    got = analyze_dataframe(stamped, columns=SparkColumns(time="at", order="seq"))
    assert got.timing_by_agent == expected.timing_by_agent
    assert got.timing_by_day == expected.timing_by_day


def test_rollup_frames(spark: Any, expected: Analysis) -> None:
    from kefu_standards.spark import rollup_frames

    frames = rollup_frames(expected, spark)
    assert set(frames) == {
        "agents",
        "trends",
        "timing_by_agent",
        "timing_by_day",
        "timing_by_shop",
    }
    trends = frames["trends"].collect()
    assert [(r["agent"], r["period"], r["conversations"]) for r in trends] == [
        (r["agent"], r["period"], r["conversations"]) for r in expected.trend_rows()
    ]
    agents = frames["agents"].collect()
    assert [r["agent"] for r in agents] == [r["agent"] for r in expected.agent_rows()]
    days = frames["timing_by_day"].collect()
    assert [r["rounds"] for r in days] == list(expected.timing_by_day.table()["rounds"])


def test_rollup_trends_frame_has_the_outcome_kpis(spark: Any) -> None:
    """With outcomes joined, the trends frame has the outcome KPI columns and values."""
    import attrs

    from kefu_standards._trends import OUTCOME_TREND_COLUMNS
    from kefu_standards.outcomes import OutcomeJoin, Rating
    from kefu_standards.spark import rollup_frames

    convs = list(read_conversations(str(data_file("examples/conversations.jsonl"))))
    join = OutcomeJoin()
    analysis = analyze(join.watch(convs))
    rated = [c for c in convs if c.buyer and c.agents and c.ended_at]
    ratings = [
        Rating(buyer=c.buyer, agent=c.agents[-1], level=5, rated_at=c.ended_at) for c in rated
    ]
    analysis = attrs.evolve(analysis, outcomes=join.join(ratings=ratings))
    frame = rollup_frames(analysis, spark)["trends"]
    assert frame.columns == list(analysis.trends.columns)
    assert set(OUTCOME_TREND_COLUMNS) <= set(frame.columns)
    got = [r["satisfaction_rate"] for r in frame.collect()]
    want = [r["satisfaction_rate"] for r in analysis.trend_rows()]
    assert [None if g is None or math.isnan(g) else g for g in got] == want
    assert 1.0 in want


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conversation_id": ""}, "non-empty column name"),
        ({"role": None}, "non-empty column name"),
        ({"text": 3}, "non-empty column name"),
    ],
)
def test_spark_columns_validation(kwargs: dict[str, Any], message: str) -> None:
    from kefu_standards.spark import SparkColumns

    with pytest.raises(ConfigError, match=message):
        SparkColumns(**kwargs)


def test_missing_column_is_a_config_error(messages: Any) -> None:
    from kefu_standards.spark import SparkColumns, score_conversations

    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['dialog'\]"):
        score_conversations(messages, columns=SparkColumns(conversation_id="dialog"))


def test_merge_of_nothing_is_empty() -> None:
    from kefu_standards.spark import merge_analyses

    empty = merge_analyses([])
    assert (empty.conversations, empty.messages, empty.agents) == (0, 0, {})
    assert empty.agent_rows() == []


def test_merge_equals_whole(conversations: list[Conversation], expected: Analysis) -> None:
    from kefu_standards.spark import merge_analyses

    parts = [analyze(conversations[i::3]) for i in range(3)]
    merged = merge_analyses(parts)
    assert merged.timing_by_agent == expected.timing_by_agent
    assert merged.conversations == expected.conversations
    for g, w in zip(merged.agent_rows(), expected.agent_rows(), strict=True):
        assert _same(g, w)
    # inputs are not modified
    assert sum(p.conversations for p in parts) == expected.conversations
    assert [p.agents for p in parts] == [analyze(conversations[i::3]).agents for i in range(3)]


def test_small_arrow_batches_split_conversations_correctly(
    spark: Any, messages: Any, expected: Analysis
) -> None:
    """Conversations cut across Arrow batches (7 rows each) are glued back together."""
    from kefu_standards.spark import SparkColumns, analyze_dataframe

    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    old = spark.conf.get(key)
    spark.conf.set(key, "7")
    try:
        got = analyze_dataframe(messages, columns=SparkColumns(order="seq"), partitions=2)
    finally:
        spark.conf.set(key, old)
    assert (got.conversations, got.messages) == (expected.conversations, expected.messages)
    assert got.timing_by_agent == expected.timing_by_agent


@pytest.mark.parametrize("batch", [1, 2, 5, 272, 1000])
def test_iter_conversations_rebuilds_each_conversation_once(
    conversations: list[Conversation], batch: int
) -> None:
    """Batch boundaries never split or merge conversations (no Spark needed)."""
    pd = pytest.importorskip("pandas")
    from kefu_standards.spark import _iter_conversations

    frame = pd.DataFrame(_rows(conversations)).rename(
        columns={"conversation_id": "_ks_conversation", "seq": "_ks_order"}
    )
    frame = frame.sort_values(["_ks_conversation", "_ks_order"], kind="stable")
    batches = [frame.iloc[i : i + batch] for i in range(0, len(frame), batch)]
    got = list(_iter_conversations(batches))
    want = sorted(conversations, key=lambda c: c.id)
    assert [c.id for c in got] == [c.id for c in want]
    assert [c.messages for c in got] == [c.messages for c in want]
    assert [c.shop for c in got] == [c.shop for c in want]


def test_analyze_dataframe_topic_table_equals_analyze(messages: Any, expected: Analysis) -> None:
    """The Spark adapter gives the same KPIs per topic as analyze()."""
    from kefu_standards.spark import SparkColumns, analyze_dataframe

    got = analyze_dataframe(messages, columns=SparkColumns(order="seq"), partitions=3)
    got_rows, want_rows = got.topic_rows(), expected.topic_rows()
    assert [r["topic"] for r in got_rows] == [r["topic"] for r in want_rows]
    for g, w in zip(got_rows, want_rows, strict=True):
        assert _same(g, w), (g, w)


def test_analyze_dataframe_topics_by_agent_and_questions_equal_analyze(
    messages: Any, expected: Analysis
) -> None:
    """The Spark adapter gives the same topic rows per agent and day, and the same questions."""
    from kefu_standards.spark import SparkColumns, analyze_dataframe

    got = analyze_dataframe(messages, columns=SparkColumns(order="seq"), partitions=3)
    want_rows = expected.topic_agent_rows()
    assert want_rows  # the fixture has dated, answered chats
    assert expected.topics.top_questions(10)  # and repeated questions
    assert _same(got.topic_agent_rows(), want_rows)
    assert got.topics.top_questions(10) == expected.topics.top_questions(10)


# -- outcomes (#15): outcome DataFrames joined as on the local path ------------------------

OUTCOME_FILES = {
    "ratings": ("ratings.csv",),
    "orders": ("orders_taobao.csv", "orders_jd.csv"),
    "refunds": ("refunds.csv",),
    "reviews": ("reviews.csv",),
}


def _csv_records(name: str) -> list[dict[str, str]]:
    """The rows of a bundled outcome file as string records (the file's own columns)."""
    import csv
    import io

    raw = data_file(f"examples/{name}").read_bytes()
    text = raw.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def local_outcomes(conversations: list[Conversation]) -> Analysis:
    """The bundled chats analysed locally with every bundled outcome file joined."""
    from itertools import chain

    import attrs

    from kefu_standards.outcomes import (
        OutcomeJoin,
        read_orders,
        read_ratings,
        read_refunds,
        read_reviews,
    )
    from kefu_standards.outcomes._diagnosis import diagnose, summary_sentences

    join = OutcomeJoin()
    analysis = analyze(conversations, on_result=join.add)
    ex = "examples/"
    result = join.join(
        ratings=read_ratings(data_file(ex + "ratings.csv")),
        orders=chain(
            read_orders(data_file(ex + "orders_taobao.csv")),
            read_orders(data_file(ex + "orders_jd.csv")),
        ),
        refunds=read_refunds(data_file(ex + "refunds.csv")),
        reviews=read_reviews(data_file(ex + "reviews.csv")),
    )
    outcomes = attrs.evolve(result, diagnosis=tuple(summary_sentences(diagnose(result), result)))
    return attrs.evolve(analysis, outcomes=outcomes)


def _by_kind(files: Any) -> dict[str, tuple[int, int, dict[str, int]]]:
    out: dict[str, tuple[int, int, dict[str, int]]] = {}
    for c in files:
        read, joined, lost = out.get(c.kind, (0, 0, {}))
        merged = dict(lost)
        for reason, n in c.unmatched.items():
            merged[reason] = merged.get(reason, 0) + n
        out[c.kind] = (read + c.read, joined + c.joined, merged)
    return out


def test_outcome_dataframes_give_the_local_kpis_and_diagnosis(
    spark: Any, messages: Any, local_outcomes: Analysis
) -> None:
    """Outcome rows as DataFrames join in Spark to the same counts, KPIs and diagnosis."""
    from kefu_standards.spark import SparkColumns, analyze_dataframe, rollup_frames

    frames = {
        kind: [spark.createDataFrame(_csv_records(name)) for name in names]
        for kind, names in OUTCOME_FILES.items()
    }
    got = analyze_dataframe(
        messages,
        columns=SparkColumns(order="seq"),
        partitions=3,
        outcome_partitions=2,
        **frames,
    )
    want = local_outcomes.outcomes
    assert got.outcomes is not None
    assert _by_kind(got.outcomes.files) == _by_kind(want.files)
    for by in ("by_agent", "by_day", "by_shop"):
        assert getattr(got.outcomes, by).groups == getattr(want, by).groups
    assert got.outcomes.diagnosis == want.diagnosis
    assert got.outcomes.diagnosis  # the bundled examples give findings
    rolled = rollup_frames(got, spark)
    agents = {r["agent"]: r.asDict() for r in rolled["outcomes_by_agent"].collect()}
    xiaomei = agents["青柚童装旗舰店:小美"]
    assert (xiaomei["rated"], xiaomei["satisfaction_rate"]) == (3.0, 1.0)
    assert rolled["outcomes_by_shop"].count() == len(want.by_shop.groups)


# -- escfit (#16): a fitted escalation model in the Spark entry points


def _shop_chat(k: int, blue: bool) -> Conversation:
    """A chat written for the test: buyers of the blue model (蓝色款) end dissatisfied."""
    colour = "蓝色款" if blue else "红色款"
    rows = [
        {"role": "buyer", "text": "你好，在吗"},
        {"role": "agent", "text": "您好，请问有什么可以帮您？"},
        {"role": "buyer", "text": f"我买的{colour}收到了，第{k % 7 + 1}天了"},
        {"role": "agent", "text": "好的呢，请稍等"},
        {"role": "buyer", "text": "好的"},
    ]
    return Conversation.from_records(rows, id=f"shop-{k:03d}")


@pytest.fixture(scope="module")
def fitted_model() -> Any:
    """An EscalationModel fitted on 40 written chats (both heads)."""
    from kefu_standards import EscalationModel

    blue = [k % 3 == 0 for k in range(40)]
    convs = [_shop_chat(k, b) for k, b in enumerate(blue)]
    labels = [[None, None, b, None, False] for b in blue]
    return EscalationModel.fit(convs, blue, message_labels=labels, folds=2, bootstrap=0)


def test_score_conversations_uses_the_escalation_model(
    messages: Any, conversations: list[Conversation], fitted_model: Any
) -> None:
    """score_conversations(escalation_model=m): each row's risk and total are those of
    escalation(c, model=m) and assess(c, escalation_model=m), not the shipped ones."""
    from kefu_standards import assess, escalation
    from kefu_standards.spark import SparkColumns, score_conversations

    got = score_conversations(
        messages, columns=SparkColumns(order="seq"), escalation_model=fitted_model
    ).collect()
    by_id = {c.id: c for c in conversations}
    assert sorted(r["id"] for r in got) == sorted(by_id)
    moved = 0
    for row in got:
        conv = by_id[row["id"]]
        want = escalation(conv, model=fitted_model)
        assert row["escalation"] == pytest.approx(want.score, abs=1e-12)
        assert row["escalation_level"] == want.level
        assert _same(_plain(row["total"]), assess(conv, escalation_model=fitted_model).total)
        moved += abs(row["escalation"] - (escalation(conv).score or 0.0)) > 1e-6
    assert moved > 0


def test_analyze_dataframe_uses_the_escalation_model(
    messages: Any, conversations: list[Conversation], fitted_model: Any
) -> None:
    """analyze_dataframe(escalation_model=m) gives analyze(escalation_model=m)'s agent table,
    riskiest risks and model name."""
    from kefu_standards.spark import SparkColumns, analyze_dataframe

    want = analyze(conversations, escalation_model=fitted_model)
    got = analyze_dataframe(
        messages, columns=SparkColumns(order="seq"), partitions=3, escalation_model=fitted_model
    )
    assert got.escalation_model == want.escalation_model == fitted_model.describe()
    for g, w in zip(got.agent_rows(), want.agent_rows(), strict=True):
        assert _same(g, w), (g, w)
    # among equally risky conversations Spark keeps examples by id: compare the risks
    assert sorted(r.escalation or 0.0 for r, _ in got.riskiest) == pytest.approx(
        sorted(r.escalation or 0.0 for r, _ in want.riskiest)
    )


@pytest.mark.parametrize("entry", ["score_conversations", "analyze_dataframe"])
def test_escalation_model_of_the_wrong_type_is_refused(entry: str) -> None:
    """A path or anything but an EscalationModel is a ConfigError before Spark runs."""
    pytest.importorskip("pyspark")
    from kefu_standards import spark as ks_spark

    with pytest.raises(ConfigError, match=rf"{entry}\(escalation_model=\.\.\.\) must be an Es"):
        getattr(ks_spark, entry)(object(), escalation_model="model.npz")
