"""Score a Spark DataFrame of messages (optional extra ``spark``).

Input: one row per message with a conversation id, ``role``, ``text``, ``time``
(a timestamp or ISO-8601 text), ``sender`` and optionally ``shop`` and an
``order`` column (the message's position in its conversation); the column
names are configurable with :class:`SparkColumns`.

- :func:`score_conversations` groups the messages by conversation
  (``groupBy(...).applyInPandas``) and returns a DataFrame with one row per
  conversation: the fields of :meth:`ConversationResult.to_record` (schema
  :data:`RESULT_SCHEMA`).
- :func:`analyze_dataframe` runs :func:`kefu_standards.analyze` on each
  partition (``mapInPandas``) and merges the partial :class:`Analysis` objects
  on the driver with :func:`merge_analyses`: counts and sums add up, timing
  summaries merge their quantile sketches, so the numbers are those of
  ``analyze`` on the same data.
- :func:`rollup_frames` turns an :class:`Analysis` into small Spark DataFrames
  (agents and the three timing tables).

pyspark is imported inside the functions only; without it they raise
:class:`~kefu_standards.exceptions.ConfigError`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import attrs

from .analysis import merge_analyses
from .exceptions import ConfigError
from .frames import result_columns

if TYPE_CHECKING:
    from .analysis import Analysis
    from .model import Conversation

__all__ = [
    "RESULT_SCHEMA",
    "SparkColumns",
    "analyze_dataframe",
    "merge_analyses",
    "rollup_frames",
    "score_conversations",
]

#: Spark DDL schema of :func:`score_conversations`' output.  ``dimensions`` is a
#: map from dimension name to score (``null`` when N/A); ``hits`` is the JSON
#: text of ``to_record()["hits"]`` (``[[start, end, text, kind, message_index], ...]``);
#: ``started_at`` is the conversation's first timestamp (a Spark timestamp).
RESULT_SCHEMA = (
    "id string, shop string, buyer string, agents array<string>, started_at timestamp, "
    "messages long, first_response_s double, mean_response_s double, reply_rate double, "
    "within_sla_rate double, duration_s double, rounds long, answered long, "
    "buyer_sentiment double, politeness double, impolite_messages long, "
    "agent_messages_scored long, escalation double, escalation_level string, "
    "escalation_reasons array<string>, total double, dimensions map<string,double>, "
    "critical array<string>, hits string, topic string"
)

_PART_SCHEMA = "part binary"
_ISO_PATTERN = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"
# internal column names after _prepare()
_CID, _ORD = "_ks_conversation", "_ks_order"


def _check_name(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is None and attr.name in {"shop", "order", "sender"}:
        return
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"SparkColumns.{attr.name} must be a non-empty column name, got {value!r}"
        )


@attrs.frozen
class SparkColumns:
    """Names of the input columns (``shop``, ``sender`` and ``order`` may be ``None``: absent).

    ``order`` names a column giving each message's position in its
    conversation; without it messages are ordered by time (stable for ties
    only within a Spark partition's row order, which Spark does not fix).
    """

    conversation_id: str = attrs.field(default="conversation_id", validator=_check_name)
    role: str = attrs.field(default="role", validator=_check_name)
    text: str = attrs.field(default="text", validator=_check_name)
    time: str = attrs.field(default="time", validator=_check_name)
    sender: str | None = attrs.field(default="sender", validator=_check_name)
    shop: str | None = attrs.field(default="shop", validator=_check_name)
    order: str | None = attrs.field(default=None, validator=_check_name)


def _spark() -> Any:
    """Import pyspark.sql.functions or raise a ConfigError with the install command."""
    try:
        from pyspark.sql import functions
    except ImportError:
        msg = "pyspark is not installed; install it with: pip install 'kefu-standards[spark]'"
        raise ConfigError(msg) from None
    return functions


def _prepare(df: Any, columns: SparkColumns | None) -> Any:
    """Select the input columns under internal names; timestamps become ISO text with offset."""
    f = _spark()
    c = columns or SparkColumns()
    present = set(df.columns)
    required = [c.conversation_id, c.role, c.text, c.time]
    for optional in (c.sender, c.order):
        if optional is not None:
            required.append(optional)
    missing = [name for name in required if name not in present]
    if missing:
        msg = f"input DataFrame lacks column(s) {missing}; it has {sorted(present)}"
        raise ConfigError(msg + " (set the names with SparkColumns)")
    time_col = f.col(c.time)
    if dict(df.dtypes)[c.time].startswith("timestamp"):
        time_col = f.date_format(time_col, _ISO_PATTERN)
    has_shop = c.shop is not None and c.shop in present
    return df.select(
        f.col(c.conversation_id).cast("string").alias(_CID),
        f.col(c.role).cast("string").alias("role"),
        f.col(c.text).cast("string").alias("text"),
        time_col.cast("string").alias("time"),
        (f.col(c.sender) if c.sender else f.lit(None)).cast("string").alias("sender"),
        (f.col(c.shop) if has_shop else f.lit(None)).cast("string").alias("shop"),
        (f.col(c.order) if c.order else f.lit(None)).cast("long").alias(_ORD),
    )


def _conversation(cid: str, pdf: Any) -> Conversation:
    """Build one Conversation from the pandas rows of one conversation."""
    from .model import Conversation

    ordered = pdf[_ORD].notna().all()
    if ordered:
        pdf = pdf.sort_values(_ORD, kind="stable")
    shops = pdf["shop"].dropna()
    records = [
        {"role": role, "text": text, "time": time, "sender": sender}
        for role, text, time, sender in zip(
            pdf["role"].tolist(),
            pdf["text"].tolist(),
            pdf["time"].tolist(),
            pdf["sender"].tolist(),
            strict=True,
        )
    ]
    for rec in records:
        for key in ("time", "sender"):
            if rec[key] is not None and rec[key] != rec[key]:  # NaN from pandas
                rec[key] = None
    return Conversation.from_records(
        records,
        id=cid,
        shop=str(shops.iloc[0]) if len(shops) else None,
        sort=not ordered,
        source=f"spark:{cid}",
    )


def _score_group(policy: Any) -> Any:
    def score(pdf: Any) -> Any:
        import pandas as pd

        from .analysis import _score_chunk

        conv = _conversation(str(pdf[_CID].iloc[0]), pdf)
        (result,) = _score_chunk(([conv], policy))
        cols = result_columns([result], dimensions="map", hits="json")
        frame = pd.DataFrame(cols)
        frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
        return frame[[name.split(" ")[0] for name in RESULT_SCHEMA.split(", ")]]

    return score


def score_conversations(df: Any, *, columns: SparkColumns | None = None, policy: Any = None) -> Any:
    """Return a DataFrame with one row per conversation (schema :data:`RESULT_SCHEMA`).

    Each conversation is scored by :func:`kefu_standards.analysis.analyze_conversation`
    in a grouped pandas UDF, so its row equals that function's
    :meth:`~ConversationResult.to_record` (``hits`` as JSON text).
    """
    _spark()
    prepared = _prepare(df, columns)
    return prepared.groupBy(_CID).applyInPandas(_score_group(policy), schema=RESULT_SCHEMA)


def _iter_conversations(batches: Iterable[Any]) -> Iterator[Conversation]:
    """Cut a stream of batches sorted by conversation id into conversations."""
    import pandas as pd

    carry: Any = None
    for batch in batches:
        if not len(batch):
            continue
        pdf = batch if carry is None else pd.concat([carry, batch], ignore_index=True)
        ids = pdf[_CID].to_numpy()
        starts = [0] + [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]]
        for a, b in pairwise(starts):
            yield _conversation(str(ids[a]), pdf.iloc[a:b])
        carry = pdf.iloc[starts[-1] :]
    if carry is not None and len(carry):
        yield _conversation(str(carry[_CID].iloc[0]), carry)


def _analyze_partition(policy: Any, top_k: int) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from .analysis import analyze

        part = analyze(_iter_conversations(batches), policy=policy, top_k=top_k)
        if part.conversations:
            # pickle only travels between this job's own Python workers and driver
            yield pd.DataFrame({"part": [pickle.dumps(part)]})

    return run


def analyze_dataframe(
    df: Any,
    *,
    columns: SparkColumns | None = None,
    policy: Any = None,
    top_k: int = 10,
    partitions: int | None = None,
) -> Analysis:
    """Analyse a message DataFrame like :func:`kefu_standards.analyze` (same numbers).

    Messages are hash-partitioned by conversation (*partitions* defaults to
    ``spark.sql.shuffle.partitions``), sorted within each partition, analysed
    there, and the partial results merged on the driver (:func:`merge_analyses`).
    Counts, timing tables (including quantiles) and rollup sums equal
    ``analyze``'s on the same conversations; float means may differ in the
    last bits (summation order), and among equally risky conversations the
    ``riskiest``/``problems`` examples are chosen by id rather than input order.
    """
    f = _spark()
    if top_k < 0:
        raise ConfigError(f"top_k must be >= 0, got {top_k}")
    prepared = _prepare(df, columns)
    parted = (
        prepared.repartition(partitions, f.col(_CID))
        if partitions
        else prepared.repartition(f.col(_CID))
    )
    ordered = parted.sortWithinPartitions(_CID, _ORD)
    rows = ordered.mapInPandas(_analyze_partition(policy, top_k), schema=_PART_SCHEMA).collect()
    return merge_analyses([pickle.loads(row["part"]) for row in rows], top_k=top_k)


def rollup_frames(analysis: Analysis, spark: Any) -> dict[str, Any]:
    """Return the rollups as Spark DataFrames: ``agents``, ``trends`` and ``timing_by_*``.

    ``timing_by_*`` are ``timing_by_agent``, ``timing_by_day`` and ``timing_by_shop``.

    They are small (one row per agent, day, shop, or agent and period) and built
    on the driver.  ``trends`` has the columns of ``trends.csv`` (with the outcome
    KPIs per agent and period when ``analysis.outcomes`` holds joined outcome files).

    .. versionchanged:: 0.2.0
       ``trends`` added.
    """
    _spark()
    from .frames import agents_to_pandas, timing_to_pandas

    frames = {"agents": spark.createDataFrame(agents_to_pandas(analysis))}
    import pandas as pd

    got = analysis.trends  # with the outcome KPI columns when outcomes were joined
    trends = pd.DataFrame(got.records(), columns=list(got.columns))
    text = {"agent", "period", "policy"}
    frames["trends"] = spark.createDataFrame(
        trends.astype({c: str if c in text else float for c in got.columns})
    )
    for name in ("timing_by_agent", "timing_by_day", "timing_by_shop"):
        frames[name] = spark.createDataFrame(timing_to_pandas(getattr(analysis, name).table()))
    return frames
