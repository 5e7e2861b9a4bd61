"""Excel workbooks (``.xlsx``, optional extra ``xlsx``): rows of the first sheet.

Shops download the 店铺网页版 "全文导出" as XLSX as well as CSV (DOMAIN §2.3),
and keep message tables in Excel.  The first worksheet is read row by row
(``openpyxl`` in read-only mode, so memory stays flat) and handed to the CSV
logic: a header with a chat-text and a buyer column is the web export (one
conversation per row), any other header is one message per row (``columns=``
applies).  Cells become text: empty cells ``""``, whole numbers without
``.0``, date-times ``YYYY-MM-DD HH:MM:SS`` in the sheet's (naive) local time.
Error messages name the sheet row as the line.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from itertools import chain
from typing import IO, Any

from kefu_standards.exceptions import BadRecordError, ConfigError
from kefu_standards.model import Conversation

from ._common import _Context

__all__ = ["parse_xlsx", "xlsx_rows"]


def _require() -> Any:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - the test extra installs it
        msg = "reading .xlsx needs openpyxl: pip install 'kefu-standards[xlsx]'"
        raise ConfigError(msg) from None
    return openpyxl


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_rows(ctx: _Context, stream: IO[Any]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row number, cells as text)`` for the first sheet of the workbook in *stream*."""
    openpyxl = _require()
    if isinstance(stream, io.TextIOBase):
        raise ConfigError(f"{ctx.source}: an .xlsx workbook must be opened in binary mode")
    if not stream.seekable():
        stream = io.BytesIO(stream.read())  # stdin or a pipe: the zip reader needs to seek
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike
        reason = f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
        raise BadRecordError(ctx.source, None, reason) from None
    try:
        if not book.worksheets:
            return
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, [_text(v) for v in values]
    finally:
        book.close()


def parse_xlsx(
    ctx: _Context, stream: IO[Any], columns: Mapping[str, str] | None
) -> Iterator[Conversation]:
    """Yield the conversations of a workbook: web export or one message per row."""
    from ._csv import parse_rows
    from ._qianniu_web import is_web_header, parse_web_rows

    rows = xlsx_rows(ctx, stream)
    first = next(rows, None)
    if first is None:
        return
    rest = chain([first], rows)
    if columns is None and is_web_header(first[1]):
        yield from parse_web_rows(ctx, rest)
    else:
        yield from parse_rows(ctx, rest, columns)
