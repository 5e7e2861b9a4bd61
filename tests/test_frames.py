"""pandas / Arrow interop: results become one column-wise DataFrame or Table."""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kefu_standards.analysis import ConversationResult, analyze, analyze_conversation
from kefu_standards.evidence import Evidence
from kefu_standards.exceptions import ConfigError, UndefinedMetricWarning
from kefu_standards.frames import (
    DIMENSION_PREFIX,
    SCALAR_FIELDS,
    agents_to_pandas,
    result_columns,
    timing_to_pandas,
    to_arrow,
    to_pandas,
)
from kefu_standards.io import read_conversations
from kefu_standards.resources import data_file

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")

CST = timezone(timedelta(hours=8))


def _result(rid: str, **changes: Any) -> ConversationResult:
    base: dict[str, Any] = {
        "id": rid,
        "shop": "店",
        "buyer": "买家",
        "agents": ("客服A",),
        "started_at": datetime(2024, 5, 6, 10, 0, tzinfo=CST),
        "messages": 4,
        "first_response_s": 12.0,
        "mean_response_s": 12.0,
        "reply_rate": 1.0,
        "within_sla_rate": 1.0,
        "duration_s": 30.0,
        "rounds": 1,
        "answered": 1,
        "buyer_sentiment": 0.5,
        "politeness": 0.9,
        "impolite_messages": 0,
        "agent_messages_scored": 2,
        "escalation": 0.1,
        "escalation_level": "low",
        "escalation_reasons": (),
        "total": 80.0,
        "dimensions": (("communication", 1.0), ("teamwork", None)),
        "critical": (),
        "hits": (),
    }
    base.update(changes)
    return ConversationResult(**base)


HIT = Evidence(0, 2, "滚蛋", "offensive", 1.0, message_index=3)

RESULTS = [
    _result("a"),
    _result(
        "b",
        started_at=None,
        first_response_s=None,
        agents=("客服A", "客服B"),
        dimensions=(("communication", None), ("no_insult", 0.0)),
        critical=("no_insult",),
        hits=(HIT,),
    ),
]


def test_columns_are_built_once_per_field() -> None:
    cols = result_columns(RESULTS)
    assert all(len(v) == len(RESULTS) for v in cols.values())
    assert list(cols)[: len(SCALAR_FIELDS)] == list(SCALAR_FIELDS)
    # dimensions flatten in first-seen order; absent or N/A -> None
    assert cols["dim_communication"] == [1.0, None]
    assert cols["dim_teamwork"] == [None, None]
    assert cols["dim_no_insult"] == [None, 0.0]
    assert cols["hits"][1] == [
        {"start": 0, "end": 2, "text": "滚蛋", "kind": "offensive", "message_index": 3}
    ]
    assert cols["started_at"][0] == datetime(2024, 5, 6, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("kwargs", "column", "expected"),
    [
        ({"dimensions": "map"}, "dimensions", [{"communication": 1.0, "teamwork": None}]),
        ({"hits": "json"}, "hits", ["[]"]),
    ],
)
def test_column_modes(kwargs: dict[str, str], column: str, expected: list[Any]) -> None:
    assert result_columns(RESULTS[:1], **kwargs)[column] == expected


@pytest.mark.parametrize("kwargs", [{"dimensions": "wide"}, {"hits": "text"}])
def test_bad_modes_say_what_is_valid(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="must be one of"):
        result_columns(RESULTS, **kwargs)


def test_to_pandas_types_and_undefined() -> None:
    frame = to_pandas(RESULTS)
    assert list(frame["id"]) == ["a", "b"]
    assert str(frame["started_at"].dtype).startswith("datetime64")
    assert frame["started_at"].dt.tz is not None
    assert pd.isna(frame["started_at"][1])
    assert math.isnan(frame["first_response_s"][1])
    assert list(frame["agents"][1]) == ["客服A", "客服B"]
    assert {c for c in frame.columns if c.startswith(DIMENSION_PREFIX)} == {
        "dim_communication",
        "dim_teamwork",
        "dim_no_insult",
    }


def test_to_arrow_schema() -> None:
    table = to_arrow(RESULTS, dimensions="map")
    assert table.num_rows == 2
    assert table.schema.field("messages").type == pa.int64()
    assert table.schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("agents").type == pa.list_(pa.string())
    assert table.column("hits").to_pylist()[1][0]["text"] == "滚蛋"
    assert table.column("dimensions").to_pylist()[1] == [
        ("communication", None),
        ("no_insult", 0.0),
    ]


def test_empty_results() -> None:
    assert len(to_pandas([])) == 0
    assert to_arrow([]).num_rows == 0


def test_real_results_round_trip_through_arrow() -> None:
    convs = list(read_conversations(data_file("examples/conversations.jsonl")))[:6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        results = [analyze_conversation(c) for c in convs]
    frame = to_arrow(results).to_pandas()
    for r, row in zip(results, frame.itertuples(index=False), strict=True):
        assert row.id == r.id
        assert row.messages == r.messages
        assert row.impolite_messages == r.impolite_messages


def test_rollups_to_pandas() -> None:
    convs = list(read_conversations(data_file("examples/conversations.jsonl")))
    analysis = analyze(convs)
    agents = agents_to_pandas(analysis)
    assert list(agents["agent"]) == [r["agent"] for r in analysis.agent_rows()]
    assert list(agents_to_pandas(analysis, ["agent", "total"]).columns) == ["agent", "total"]
    days = timing_to_pandas(analysis.timing_by_day.table())
    assert list(days["rounds"]) == list(analysis.timing_by_day.table()["rounds"])
    assert "p90_s" in days.columns
