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
  With outcome DataFrames (``ratings``, ``orders``, ``refunds``, ``reviews``:
  rows with the columns of the outcome files, DOMAIN §2.7), each partition
  also returns the join stubs of its conversations (with the signals the
  diagnosis compares); the driver streams them and the outcome rows
  (``toLocalIterator``) through the flat-memory
  :class:`~kefu_standards.outcomes.PartitionedOutcomeJoin`, so
  ``Analysis.outcomes`` and its diagnosis are those of the local path.
- :func:`rollup_frames` turns an :class:`Analysis` into small Spark DataFrames
  (agents, trends, the three timing tables and, with outcomes, the outcome
  KPIs per agent, day and shop).

pyspark is imported inside the functions only; without it they raise
:class:`~kefu_standards.exceptions.ConfigError`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import attrs

from ._escalation_types import check_model
from .analysis import merge_analyses
from .exceptions import ConfigError
from .frames import result_columns
from .outcomes import (
    ChatStub,
    PartitionedOutcomeJoin,
    diagnose,
    read_orders,
    read_ratings,
    read_refunds,
    read_reviews,
)
from .outcomes._diagnosis import summary_sentences
from .outcomes._tables import OUTCOME_COLUMNS

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

_PART_SCHEMA = "kind string, part binary"
#: Join stubs per pickled row of a partition's output.
_STUB_BATCH = 1000
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


def _score_group(policy: Any, escalation_model: Any = None) -> Any:
    def score(pdf: Any) -> Any:
        import pandas as pd

        from .analysis import _score_chunk

        conv = _conversation(str(pdf[_CID].iloc[0]), pdf)
        (result,) = _score_chunk(([conv], policy, escalation_model))
        cols = result_columns([result], dimensions="map", hits="json")
        frame = pd.DataFrame(cols)
        frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
        return frame[[name.split(" ")[0] for name in RESULT_SCHEMA.split(", ")]]

    return score


def score_conversations(
    df: Any,
    *,
    columns: SparkColumns | None = None,
    policy: Any = None,
    escalation_model: Any = None,
) -> Any:
    """Return a DataFrame with one row per conversation (schema :data:`RESULT_SCHEMA`).

    Each conversation is scored by :func:`kefu_standards.analysis.analyze_conversation`
    in a grouped pandas UDF, so its row equals that function's
    :meth:`~ConversationResult.to_record` (``hits`` as JSON text).
    *escalation_model* (an :class:`~kefu_standards.EscalationModel`) scores the
    escalation risk as in :func:`kefu_standards.analyze`; it travels to the
    executors with the function.

    .. versionchanged:: 0.2.0
       *escalation_model*.
    """
    _spark()
    check_model(escalation_model, "score_conversations(escalation_model=...)")
    prepared = _prepare(df, columns)
    return prepared.groupBy(_CID).applyInPandas(
        _score_group(policy, escalation_model), schema=RESULT_SCHEMA
    )


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


def _analyze_partition(
    policy: Any, top_k: int, stubs: bool = False, tz: Any = None, escalation_model: Any = None
) -> Any:
    """Return the ``mapInPandas`` function: a partition's Analysis, then (*stubs*) its stubs."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from .analysis import analyze

        kept: list[ChatStub] = []

        def keep(conversation: Conversation, result: Any) -> None:
            kept.append(ChatStub.of(conversation, tz, result))

        part = analyze(
            _iter_conversations(batches),
            policy=policy,
            top_k=top_k,
            on_result=keep if stubs else None,
            escalation_model=escalation_model,
        )
        # pickle only travels between this job's own Python workers and driver
        if part.conversations:
            yield pd.DataFrame({"kind": ["analysis"], "part": [pickle.dumps(part)]})
        for i in range(0, len(kept), _STUB_BATCH):
            batch = pickle.dumps(kept[i : i + _STUB_BATCH])
            yield pd.DataFrame({"kind": ["stubs"], "part": [batch]})

    return run


@attrs.frozen
class _Records:
    """A DataFrame's rows streamed to the driver as dicts; *name* labels them in counts."""

    df: Any
    name: str

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.df.toLocalIterator():
            yield row.asDict()


@attrs.frozen
class _Outcomes:
    """The outcome DataFrames given to :func:`analyze_dataframe` (``None``: not given)."""

    ratings: Any = None
    orders: Any = None
    refunds: Any = None
    reviews: Any = None

    def given(self) -> bool:
        return any(df is not None for df in attrs.astuple(self, recurse=False))


def analyze_dataframe(
    df: Any,
    *,
    columns: SparkColumns | None = None,
    policy: Any = None,
    top_k: int = 10,
    partitions: int | None = None,
    ratings: Any = None,
    orders: Any = None,
    refunds: Any = None,
    reviews: Any = None,
    rating_scale: str | None = None,
    tz: str | None = None,
    outcome_partitions: int = 16,
    escalation_model: Any = None,
) -> Analysis:
    """Analyse a message DataFrame like :func:`kefu_standards.analyze` (same numbers).

    Messages are hash-partitioned by conversation (*partitions* defaults to
    ``spark.sql.shuffle.partitions``), sorted within each partition, analysed
    there, and the partial results merged on the driver (:func:`merge_analyses`).
    Counts, timing tables (including quantiles) and rollup sums equal
    ``analyze``'s on the same conversations; float means may differ in the
    last bits (summation order), and among equally risky conversations the
    ``riskiest``/``problems`` examples are chosen by id rather than input order.

    *ratings*, *orders*, *refunds* and *reviews* are DataFrames (or lists of
    DataFrames, one per layout) of outcome rows with the columns of the outcome
    files (the layouts of :func:`~kefu_standards.outcomes.read_ratings` and the
    other readers, found from the column names; *rating_scale* as ``--rating-scale``; Spark
    timestamps are read as naive times in *tz*, default Asia/Shanghai).  With
    any of them, ``Analysis.outcomes`` holds the joined outcome KPIs and the
    diagnosis, computed as on the local path: the conversations' join stubs
    and the outcome rows are streamed to the driver into a
    :class:`~kefu_standards.outcomes.PartitionedOutcomeJoin` (*outcome_partitions*),
    whose memory does not grow with the data.

    *escalation_model* (an :class:`~kefu_standards.EscalationModel`) scores the
    escalation risk in every partition, as ``analyze(escalation_model=...)``
    does; ``Analysis.escalation_model`` names it.

    .. versionchanged:: 0.2.0
       *ratings*, *orders*, *refunds*, *reviews*, *rating_scale*, *tz*,
       *outcome_partitions*, *escalation_model*.
    """
    f = _spark()
    if top_k < 0:
        raise ConfigError(f"top_k must be >= 0, got {top_k}")
    check_model(escalation_model, "analyze_dataframe(escalation_model=...)")
    outcomes = _Outcomes(ratings, orders, refunds, reviews)
    join = (
        PartitionedOutcomeJoin(partitions=outcome_partitions, tz=tz) if outcomes.given() else None
    )
    prepared = _prepare(df, columns)
    parted = (
        prepared.repartition(partitions, f.col(_CID))
        if partitions
        else prepared.repartition(f.col(_CID))
    )
    ordered = parted.sortWithinPartitions(_CID, _ORD)
    mapped = ordered.mapInPandas(
        _analyze_partition(
            policy, top_k, stubs=join is not None, tz=tz, escalation_model=escalation_model
        ),
        schema=_PART_SCHEMA,
    )
    parts = []
    for row in mapped.toLocalIterator() if join is not None else mapped.collect():
        if row["kind"] == "stubs":
            for stub in pickle.loads(row["part"]):
                join.add_stub(stub)  # type: ignore[union-attr]
        else:
            parts.append(pickle.loads(row["part"]))
    analysis = merge_analyses(parts, top_k=top_k)
    if join is not None:
        outcome = _join_outcomes(join, outcomes, rating_scale, tz)
        analysis = attrs.evolve(analysis, outcomes=outcome)
    return analysis


def _join_outcomes(
    join: PartitionedOutcomeJoin, outcomes: _Outcomes, scale: str | None, tz: str | None
) -> Any:
    """Join the outcome DataFrames' rows (streamed to the driver) and diagnose."""

    def rows(frames: Any, read: Any, **kw: Any) -> Any:
        if frames is None:
            return None
        if not isinstance(frames, (list, tuple)):
            frames = [frames]
        return (
            record
            for i, df in enumerate(frames, start=1)
            for record in read(
                _Records(df, f"<{read.__name__[5:]} DataFrame {i}>"),
                format="records",
                tz=tz,
                **kw,
            )
        )

    result = join.join(
        ratings=rows(outcomes.ratings, read_ratings, scale=scale),
        orders=rows(outcomes.orders, read_orders),
        refunds=rows(outcomes.refunds, read_refunds),
        reviews=rows(outcomes.reviews, read_reviews),
    )
    findings = diagnose(result)
    return attrs.evolve(result, diagnosis=tuple(summary_sentences(findings, result)))


def rollup_frames(analysis: Analysis, spark: Any) -> dict[str, Any]:
    """Return the rollups as Spark DataFrames: ``agents``, ``trends`` and ``timing_by_*``.

    ``timing_by_*`` are ``timing_by_agent``, ``timing_by_day`` and ``timing_by_shop``;
    with outcomes, ``outcomes_by_agent``, ``outcomes_by_day`` and
    ``outcomes_by_shop`` hold the outcome KPIs (the ``agents.csv`` column
    names, ``None`` as null) of each group.

    They are small (one row per agent, day, shop, or agent and period) and built
    on the driver.  ``trends`` has the columns of ``trends.csv`` (with the outcome
    KPIs per agent and period when ``analysis.outcomes`` holds joined outcome files).

    .. versionchanged:: 0.2.0
       ``trends`` and the ``outcomes_by_*`` frames added.
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
    if analysis.outcomes is not None:  # outcomes (#15)
        for by in ("agent", "day", "shop"):
            frames[f"outcomes_by_{by}"] = spark.createDataFrame(
                _outcome_frame(getattr(analysis.outcomes, f"by_{by}"), by)
            )
    return frames


def _outcome_frame(summary: Any, by: str) -> Any:
    """Return the outcome KPIs per group as pandas: key, conversations, agents.csv columns."""
    import pandas as pd

    names = [by, "conversations", *OUTCOME_COLUMNS]
    frame = pd.DataFrame(list(summary.rows()), columns=names)
    return frame.astype({by: object} | dict.fromkeys(names[1:], float))
