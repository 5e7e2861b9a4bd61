"""Readers and writers: JSON Lines, CSV and real chat exports (旺旺/千牛, 店铺网页版, 京东 咚咚).

The 千牛 chat window's copied text is read too (``format="qianniu_clip"``).

:func:`read_conversations` streams :class:`~kefu_standards.model.Conversation`
objects from a file, one at a time, never reading the whole file into memory.
:func:`write_jsonl` writes them back losslessly.  Every problem raises a
:class:`~kefu_standards.exceptions.ReadError` subclass naming the file, the
1-based line and the reason; with ``errors="collect"`` the reader keeps going
and records each :class:`Skip` in a :class:`ReadReport` instead.
"""

from __future__ import annotations

import codecs
import csv
import math
import numbers
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta, tzinfo
from typing import IO, Any

from kefu_standards._jsontext import dumps
from kefu_standards._time import get_tz
from kefu_standards.exceptions import ConfigError, UnknownNameError
from kefu_standards.model import Conversation

from ._common import (
    LineReader,
    ReadReport,
    Skip,
    _Context,
    _is_text_stream,
    open_source,
    source_name,
)
from ._csv import COLUMN_NAMES
from ._roles import ROLE_RULES, RoleRule

__all__ = [
    "FORMATS",
    "ROLE_RULES",
    "ReadReport",
    "RoleRule",
    "Skip",
    "detect_format",
    "read_conversations",
    "write_jsonl",
]

#: The formats :func:`read_conversations` reads (besides ``"auto"``).
FORMATS: tuple[str, ...] = ("jsonl", "csv", "wangwang", "qianniu_web", "qianniu_clip", "jd", "xlsx")

_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".log": "jd", ".xlsx": "xlsx"}


def read_conversations(
    source: str | os.PathLike[str] | IO[bytes] | IO[str],
    format: str = "auto",  # noqa: A002 - the natural name for the caller
    *,
    encoding: str | None = None,
    tz: str | tzinfo | None = None,
    errors: str = "raise",
    report: ReadReport | None = None,
    sort: bool = False,
    idle_gap: float | timedelta | None = None,
    agents: Iterable[str] = (),
    shop: str | None = None,
    columns: Mapping[str, str] | None = None,
    detect_roles: bool = True,
) -> Iterator[Conversation]:
    """Stream the conversations of *source*, one at a time.

    Args:
        source: a path, a binary or text file object, or ``"-"`` for stdin.
        format: ``"auto"`` (by extension and first lines), ``"jsonl"``, ``"csv"``,
            ``"wangwang"`` (旺旺/千牛 TXT, blocks or 即时消息), ``"qianniu_web"``
            (店铺网页版 全文导出 CSV), ``"qianniu_clip"`` (text copied from the
            千牛 chat window: one conversation), ``"jd"`` (咚咚 LOG) or ``"xlsx"``
            (first sheet of an Excel workbook: the web export's columns, else
            one message per row; needs the ``xlsx`` extra).
        encoding: ``None`` detects UTF-8 (with or without BOM), else GB18030.
        tz: zone for naive times (default Asia/Shanghai).
        errors: ``"raise"`` (default) or ``"collect"``: skip bad input, record a
            :class:`Skip` in *report* and warn once with ``SkippedInputWarning``.
        report: a :class:`ReadReport` that accumulates counts and skips.
        sort: sort each conversation stably by time instead of raising
            :class:`~kefu_standards.exceptions.MessageOrderError`.
        idle_gap: split conversations into sessions at gaps longer than this
            (seconds or ``timedelta``).
        agents: names or prefixes of service accounts (used by every export
            format; needed for JD logs whose agents have no shop prefix).
        shop: shop name to set on every conversation (overrides the file's).
        columns: CSV only: logical name (``conversation_id``, ``role``, ``text``,
            ``time``, ``sender``, ``shop``) to column header.
        detect_roles: reclassify bot/system lines of export formats by pattern
            (the rule goes to ``Message.meta["role_rule"]``).  JSONL and CSV
            roles are explicit and never changed.

    Returns:
        An iterator of conversations; each is yielded as soon as it is complete.

    Raises:
        ConfigError: an invalid argument (at call time).
        UnknownNameError: an unknown *format*, or ``"auto"`` cannot tell.
        ReadError: a subclass naming file, line and reason (under ``errors="raise"``).

    """
    ctx = _make_context(
        source,
        fmt=format,
        encoding=encoding,
        tz=tz,
        errors=errors,
        report=report,
        sort=sort,
        idle_gap=idle_gap,
        agents=agents,
        shop=shop,
        columns=columns,
        detect_roles=detect_roles,
    )
    return _read(ctx, source, format, encoding, columns)


def _make_context(
    source: object,
    *,
    fmt: str,
    encoding: str | None,
    tz: str | tzinfo | None,
    errors: str,
    report: ReadReport | None,
    sort: bool,
    idle_gap: float | timedelta | None,
    agents: Iterable[str],
    shop: str | None,
    columns: Mapping[str, str] | None,
    detect_roles: bool,
) -> _Context:
    if fmt != "auto" and fmt not in FORMATS:
        raise UnknownNameError("format", fmt, ("auto", *FORMATS))
    if errors not in ("raise", "collect"):
        raise ConfigError(f"errors must be 'raise' or 'collect', not {errors!r}")
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise ConfigError(f"unknown encoding {encoding!r}; try 'utf-8' or 'gb18030'") from None
        if codec.startswith(("utf-16", "utf-32")):
            msg = (
                f"encoding {encoding!r} cannot be decoded line by line; pass a text stream "
                f"instead: open(path, encoding={encoding!r})"
            )
            raise ConfigError(msg)
    get_tz(tz)
    gap = None if idle_gap is None else _idle_gap(idle_gap)
    names = (agents,) if isinstance(agents, str) else tuple(agents)
    if any(not isinstance(a, str) or not a.strip() for a in names):
        raise ConfigError("agents must be non-empty strings (names or name prefixes)")
    if columns is not None:
        unknown = sorted(set(columns) - set(COLUMN_NAMES))
        if unknown:
            valid = ", ".join(COLUMN_NAMES)
            raise ConfigError(f"unknown logical column(s) {unknown}; valid names are {valid}")
    if report is not None and not isinstance(report, ReadReport):
        raise ConfigError(f"report must be a ReadReport, not {type(report).__name__}")
    return _Context(
        source=source_name(source),
        errors="collect" if errors == "collect" else "raise",
        report=report if report is not None else ReadReport(),
        tz=tz,
        sort=bool(sort),
        idle_gap=gap,
        agents=tuple(a.strip() for a in names),
        shop=shop,
        detect_roles=bool(detect_roles),
    )


def _idle_gap(value: object) -> timedelta:
    """*value* (seconds or a ``timedelta``) as a positive, finite ``timedelta``."""
    msg = f"idle_gap must be positive (finite seconds or a timedelta), got {value!r}"
    if isinstance(value, timedelta):
        gap = value
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds <= 0:
            raise ConfigError(msg)
        try:
            gap = timedelta(seconds=seconds)
        except OverflowError:
            raise ConfigError(msg) from None
    else:
        raise ConfigError(msg)
    if gap <= timedelta(0):
        raise ConfigError(msg)
    return gap


def _read(
    ctx: _Context,
    source: object,
    fmt: str,
    encoding: str | None,
    columns: Mapping[str, str] | None,
) -> Iterator[Conversation]:
    from ._csv import parse_csv
    from ._jd import parse_jd
    from ._jsonl import parse_jsonl
    from ._qianniu_clip import parse_qianniu_clip
    from ._qianniu_web import parse_qianniu_web
    from ._wangwang import parse_wangwang
    from ._xlsx import parse_xlsx

    with open_source(source) as stream:
        if fmt == "xlsx" or (fmt == "auto" and _by_extension(ctx.source) == "xlsx"):
            yield from parse_xlsx(ctx, stream, columns)
            return
        reader = LineReader(stream, ctx, encoding)
        if fmt == "auto":
            fmt = detect_format(ctx.source, reader.peek(5))
        if fmt == "jsonl":
            yield from parse_jsonl(ctx, reader)
        elif fmt == "csv":
            yield from parse_csv(ctx, reader, columns)
        elif fmt == "wangwang":
            yield from parse_wangwang(ctx, reader)
        elif fmt == "qianniu_web":
            yield from parse_qianniu_web(ctx, reader)
        elif fmt == "qianniu_clip":
            yield from parse_qianniu_clip(ctx, reader)
        else:
            yield from parse_jd(ctx, reader)


def _by_extension(name: str) -> str | None:
    base = name[:-3] if name.lower().endswith(".gz") else name
    return _EXTENSIONS.get(os.path.splitext(base)[1].lower())


def detect_format(name: str, first_lines: list[str]) -> str:
    """Guess the format from the file *name* and its first non-empty lines.

    ``.jsonl``/``.ndjson`` are JSON Lines, ``.log`` is a 咚咚 log and ``.xlsx``
    an Excel workbook; otherwise
    the content decides: ``{`` starts JSON Lines, ``以下为一通会话`` a 咚咚 log,
    a ``----nick----`` block or ``即时消息`` header a 旺旺 TXT, a first line
    ending in a time (``tb123 2024-5-1 10:00:01``) a 千牛 chat-window copy, and a
    CSV header with 聊天内容/chat_text and a buyer column the web export.
    Raises :class:`~kefu_standards.exceptions.UnknownNameError` listing the formats.
    """
    from ._jd import looks_like_jd
    from ._qianniu_clip import looks_like_qianniu_clip
    from ._qianniu_web import is_web_header
    from ._wangwang import looks_like_wangwang

    by_name = _by_extension(name)
    if by_name is not None:
        return by_name
    ext = os.path.splitext(name[:-3] if name.lower().endswith(".gz") else name)[1].lower()
    if first_lines and first_lines[0].startswith("{"):
        return "jsonl"
    if looks_like_jd(first_lines):
        return "jd"
    if looks_like_wangwang(first_lines):
        return "wangwang"
    if looks_like_qianniu_clip(first_lines):
        return "qianniu_clip"
    if first_lines:
        header = next(csv.reader([first_lines[0]]), [])
        if is_web_header(header):
            return "qianniu_web"
        if ext == ".csv" or len(header) > 1:
            return "csv"
    exc = UnknownNameError("format", "auto", ("auto", *FORMATS))
    first = first_lines[0][:60] if first_lines else "(empty)"
    formats = ", ".join(repr(f) for f in FORMATS)
    exc.args = (
        f"cannot detect the format of {name} (first line: {first!r}); "
        f"pass format= one of {formats}",
    )
    raise exc


def write_jsonl(
    conversations: Iterable[Conversation], dest: str | os.PathLike[str] | IO[str] | IO[bytes]
) -> int:
    """Write one conversation per line as JSON (``ensure_ascii=False``); return the count.

    *dest* is a path (written as UTF-8), a text or binary file object (binary
    gets UTF-8), or ``"-"`` for stdout.  Reading the file back with
    :func:`read_conversations` gives equal conversations: ids, roles, texts
    (whitespace and emoji included), aware times with their offsets, senders,
    shop and meta.
    """
    if dest == "-":
        return _write(conversations, sys.stdout)
    if isinstance(dest, (str, os.PathLike)):
        with open(dest, "w", encoding="utf-8", newline="\n") as out:
            return _write(conversations, out)
    return _write(conversations, dest)


def _write(conversations: Iterable[Conversation], out: IO[Any]) -> int:
    binary = not _is_text_stream(out)
    count = 0
    for conv in conversations:
        if not isinstance(conv, Conversation):
            raise ConfigError(f"write_jsonl needs Conversation objects, not {type(conv).__name__}")
        record: dict[str, Any] = conv.to_record()
        try:
            line = dumps(record) + "\n"
        except (TypeError, ValueError) as exc:  # a meta value JSON cannot hold (datetime, ...)
            msg = (
                f"write_jsonl: conversation {conv.id!r} cannot be written as JSON ({exc}); "
                "meta values must be str, number, bool, None, lists or dicts of those"
            )
            raise ConfigError(msg) from None
        out.write(line.encode("utf-8") if binary else line)
        count += 1
    return count
