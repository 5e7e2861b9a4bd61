"""Column-wise conversion of analysis results to pandas and Arrow (optional extra ``frames``).

Every builder here collects one Python list per column (a single pass over the
results, no per-row DataFrame work) and then makes ONE ``pandas.DataFrame`` /
``pyarrow.table`` constructor call.  pandas and pyarrow are imported inside the
functions, so importing :mod:`kefu_standards` never needs them.

Column layout of :func:`to_pandas` / :func:`to_arrow` (one row per conversation,
the fields of :meth:`ConversationResult.to_record`):

- scalar fields keep their names and types (``started_at`` becomes a UTC
  timestamp; undefined values are ``None``/``NaN``/``NaT``);
- ``agents``, ``escalation_reasons`` and ``critical`` are lists of strings;
- ``dimensions`` is flattened to one float column per competency dimension,
  ``dim_<name>`` (``NaN`` when N/A), in first-seen order; pass
  ``dimensions="map"`` to keep one ``{name: score}`` column instead;
- ``hits`` is a list of ``{start, end, text, kind, message_index}`` records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .exceptions import ConfigError

if TYPE_CHECKING:
    from .analysis import Analysis, ConversationResult
    from .timing import TimingTable

__all__ = [
    "DIMENSION_PREFIX",
    "SCALAR_FIELDS",
    "agents_to_pandas",
    "result_columns",
    "timing_to_pandas",
    "to_arrow",
    "to_pandas",
]

#: Result fields copied as they are (one value per conversation), in column order.
SCALAR_FIELDS: tuple[str, ...] = (
    "id",
    "shop",
    "buyer",
    "messages",
    "first_response_s",
    "mean_response_s",
    "reply_rate",
    "within_sla_rate",
    "duration_s",
    "rounds",
    "answered",
    "buyer_sentiment",
    "politeness",
    "impolite_messages",
    "agent_messages_scored",
    "escalation",
    "escalation_level",
    "total",
    "topic",
)

#: Prefix of the flattened competency-dimension columns.
DIMENSION_PREFIX = "dim_"

_LIST_FIELDS = ("agents", "escalation_reasons", "critical")
_DIMENSION_MODES = ("columns", "map")
_HIT_MODES = ("records", "json")


def _require(module: str, extra: str = "frames") -> Any:
    """Import *module* or raise a ConfigError naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        msg = f"{module} is not installed; install it with: pip install 'kefu-standards[{extra}]'"
        raise ConfigError(msg) from None


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(timezone.utc)


def result_columns(
    results: Iterable[ConversationResult],
    *,
    dimensions: str = "columns",
    hits: str = "records",
) -> dict[str, list[Any]]:
    """Return ``{column: list}`` for *results* (one pass, one list per column).

    Parameters
    ----------
    results:
        Any iterable of :class:`~kefu_standards.analysis.ConversationResult`.
    dimensions:
        ``"columns"`` (one ``dim_<name>`` list per dimension, ``None`` when N/A
        or absent) or ``"map"`` (one ``dimensions`` list of dicts).
    hits:
        ``"records"`` (lists of dicts) or ``"json"`` (the JSON text of
        ``to_record()["hits"]``, as the Spark results use).

    """
    if dimensions not in _DIMENSION_MODES:
        raise ConfigError(f"dimensions must be one of {_DIMENSION_MODES}, got {dimensions!r}")
    if hits not in _HIT_MODES:
        raise ConfigError(f"hits must be one of {_HIT_MODES}, got {hits!r}")
    cols: dict[str, list[Any]] = {name: [] for name in SCALAR_FIELDS}
    cols["started_at"] = []
    for name in _LIST_FIELDS:
        cols[name] = []
    dims: dict[str, list[Any]] = {}
    dim_maps: list[dict[str, float | None]] = []
    hit_col: list[Any] = []
    for n, r in enumerate(results):
        for name in SCALAR_FIELDS:
            cols[name].append(getattr(r, name))
        cols["started_at"].append(_utc(r.started_at))
        for name in _LIST_FIELDS:
            cols[name].append(list(getattr(r, name)))
        if dimensions == "map":
            dim_maps.append(dict(r.dimensions))
        else:
            for key, score in r.dimensions:
                dims.setdefault(key, [None] * n).append(score)
            for values in dims.values():
                if len(values) == n:  # absent from this result
                    values.append(None)
        rows = [[e.start, e.end, e.text, e.kind, e.message_index] for e in r.hits]
        if hits == "json":
            hit_col.append(json.dumps(rows, ensure_ascii=False))
        else:
            hit_col.append([dict(zip(_HIT_KEYS, row, strict=True)) for row in rows])
    if dimensions == "map":
        cols["dimensions"] = dim_maps
    else:
        for key, values in dims.items():
            cols[DIMENSION_PREFIX + key] = values
    cols["hits"] = hit_col
    return cols


_HIT_KEYS = ("start", "end", "text", "kind", "message_index")


def to_pandas(results: Iterable[ConversationResult], *, dimensions: str = "columns") -> Any:
    """Return a ``pandas.DataFrame`` with one row per result (see the module docs)."""
    pd = _require("pandas")
    cols = result_columns(results, dimensions=dimensions)
    frame = pd.DataFrame(cols)
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame


def to_arrow(results: Iterable[ConversationResult], *, dimensions: str = "columns") -> Any:
    """Return a ``pyarrow.Table`` with one row per result (see the module docs)."""
    pa = _require("pyarrow")
    cols = result_columns(results, dimensions=dimensions)
    schema = pa.schema([(name, _arrow_type(pa, name)) for name in cols])
    return pa.table(cols, schema=schema)


_INT_FIELDS = frozenset(
    {"messages", "rounds", "answered", "impolite_messages", "agent_messages_scored"}
)
_STR_FIELDS = frozenset({"id", "shop", "buyer", "escalation_level", "topic"})


def _arrow_type(pa: Any, name: str) -> Any:
    if name in _INT_FIELDS:
        return pa.int64()
    if name in _STR_FIELDS:
        return pa.string()
    if name == "started_at":
        return pa.timestamp("us", tz="UTC")
    if name in _LIST_FIELDS:
        return pa.list_(pa.string())
    if name == "dimensions":
        return pa.map_(pa.string(), pa.float64())
    if name == "hits":
        fields = [
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("text", pa.string()),
            ("kind", pa.string()),
            ("message_index", pa.int64()),
        ]
        return pa.list_(pa.struct(fields))
    return pa.float64()


def timing_to_pandas(table: TimingTable) -> Any:
    """Return a :class:`~kefu_standards.timing.TimingTable` as a DataFrame (columns as-is)."""
    pd = _require("pandas")
    return pd.DataFrame({k: list(v) if v.dtype == object else v for k, v in table.columns.items()})


def agents_to_pandas(analysis: Analysis, columns: Sequence[str] | None = None) -> Any:
    """Return :meth:`Analysis.agent_rows` as a DataFrame (optionally only *columns*)."""
    pd = _require("pandas")
    rows = analysis.agent_rows()
    names = list(columns) if columns is not None else (list(rows[0]) if rows else ["agent"])
    return pd.DataFrame({k: [row[k] for row in rows] for k in names}, columns=names)
