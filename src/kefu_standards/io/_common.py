"""Shared machinery of the readers: sources, decoding, the error policy, assembly."""

from __future__ import annotations

import io
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta, tzinfo
from typing import IO, Any, ClassVar, Literal, Union, cast

import attrs

from kefu_standards._frozendict import FrozenDict
from kefu_standards._time import get_tz, parse_time
from kefu_standards.exceptions import (
    BadRecordError,
    ConfigError,
    DecodeError,
    MessageOrderError,
    ReadError,
    SkippedInputWarning,
)
from kefu_standards.model import Conversation, Message, Role, sort_messages

__all__ = ["ReadReport", "Skip"]

#: What ``read_conversations`` accepts as *source*.
Source = Union[str, "os.PathLike[str]", IO[bytes], IO[str]]

#: How many bytes of complete lines the encoding detector looks at.
_HEAD_BYTES = 65536


@attrs.frozen(slots=True)
class Skip:
    """One piece of input skipped (or altered) under ``errors="collect"``.

    ``source`` is the file name, ``line`` the 1-based line (``None`` when not
    applicable), ``reason`` the explanation and ``messages_lost`` how many
    messages the skip removed from the output (``0`` when the input was kept
    but altered, e.g. undecodable bytes replaced; ``None`` when the count cannot
    be known, e.g. a JSON line that does not parse).
    """

    source: str
    line: int | None
    reason: str
    messages_lost: int | None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}, line {self.line}"
        lost = "unknown" if self.messages_lost is None else str(self.messages_lost)
        return f"{where}: {self.reason} (messages lost: {lost})"


@attrs.define(slots=True)
class ReadReport:
    """What a read produced and what it skipped.

    This is the **one mutable object** of the readers: pass the same report to
    :func:`~kefu_standards.io.read_conversations` and it accumulates as the
    iterator is consumed (so read it after the loop).  ``skips`` lists every
    :class:`Skip` in input order; ``messages_read`` and ``conversations_read``
    count what was yielded (after session splitting).

    Invariant: ``messages_read == messages in the input - messages_lost`` whenever
    every skip knows its ``messages_lost``.
    """

    skips: list[Skip] = attrs.field(factory=list)
    messages_read: int = 0
    conversations_read: int = 0

    @property
    def messages_lost(self) -> int:
        """Sum of the known ``messages_lost`` of all skips."""
        return sum(s.messages_lost or 0 for s in self.skips)

    @property
    def unknown_losses(self) -> int:
        """How many skips could not count the messages they removed."""
        return sum(1 for s in self.skips if s.messages_lost is None)

    def summary(self) -> str:
        """One line: counts read, skips and messages lost."""
        known = self.messages_lost
        unknown = self.unknown_losses
        if not unknown:
            lost = f"{known} messages lost"
        elif known:
            lost = f"at least {known} messages lost ({unknown} skips could not count theirs)"
        else:
            lost = "an unknown number of messages lost"
        return (
            f"read {self.messages_read} messages in {self.conversations_read} conversations; "
            f"{len(self.skips)} skips, {lost}"
        )


# -- the error policy ---------------------------------------------------------------


@attrs.define(slots=True)
class _Context:
    """Per-call settings and the error policy shared by every format parser."""

    source: str
    errors: Literal["raise", "collect"]
    report: ReadReport
    tz: str | tzinfo | None
    sort: bool
    idle_gap: timedelta | None
    agents: tuple[str, ...]
    shop: str | None
    detect_roles: bool
    warned: bool = False

    #: How the first skip's warning tells the caller to see every skip.
    SKIP_HINT: ClassVar[str] = "pass report=ReadReport() to read_conversations to see every skip"
    #: ``stacklevel`` of that warning: the frames between the caller and :meth:`record`.
    WARN_STACKLEVEL: ClassVar[int] = 4

    def fail(self, exc: ReadError, lost: int | None) -> None:
        """Raise *exc*, or (collect mode) record it as a skip and warn once."""
        if self.errors == "raise":
            raise exc
        self.record(Skip(exc.source, exc.line, exc.reason, lost))

    def record(self, skip: Skip) -> None:
        """Append *skip* to the report; the first one also issues the warning."""
        self.report.skips.append(skip)
        if not self.warned:
            self.warned = True
            warnings.warn(
                f"skipped input while reading {self.source} (first: {skip}); {self.SKIP_HINT}",
                SkippedInputWarning,
                stacklevel=self.WARN_STACKLEVEL,
            )

    def finish(
        self,
        conv_id: str,
        messages: list[Message],
        lines: list[int],
        *,
        shop: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> tuple[Conversation, ...]:
        """Build, sort/check, split and count one conversation (empty tuple if skipped)."""
        order = sort_messages(messages) if self.sort else messages
        try:
            conv = Conversation(
                id=conv_id,
                messages=tuple(order),
                shop=self.shop if self.shop is not None else shop,
                meta=FrozenDict(meta),
            )
        except MessageOrderError as exc:
            line = lines[exc.index] if exc.index < len(lines) else None
            where = self.source if line is None else f"{self.source}, line {line}"
            reason = (
                f"conversation {conv_id!r}: message {exc.index} goes back in time; "
                "pass sort=True to sort messages by time"
            )
            if self.errors == "raise":
                raise MessageOrderError(conv_id, exc.index, f"{where}: {reason}") from None
            self.record(Skip(self.source, line, reason, len(messages)))
            return ()
        parts = conv.split_sessions(self.idle_gap) if self.idle_gap is not None else (conv,)
        self.report.conversations_read += len(parts)
        self.report.messages_read += len(messages)
        return parts


# -- sources and decoding ---------------------------------------------------------------


def source_name(source: object) -> str:
    """Return the name used in error messages for *source*."""
    if source == "-":
        return "<stdin>"
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


def _is_text_stream(obj: object) -> bool:
    if isinstance(obj, io.TextIOBase):
        return True
    if isinstance(obj, (io.RawIOBase, io.BufferedIOBase)):
        return False
    return "b" not in str(getattr(obj, "mode", "b"))


def open_source(source: object) -> AbstractContextManager[IO[Any]]:
    """Return a context manager giving a binary or text stream; paths are closed after.

    A path ending in ``.gz`` is decompressed on the fly.
    """
    if source == "-":
        return nullcontext(getattr(sys.stdin, "buffer", sys.stdin))
    if isinstance(source, (str, os.PathLike)):
        try:
            if os.fspath(source).lower().endswith(".gz"):
                import gzip

                return cast("AbstractContextManager[IO[Any]]", gzip.open(source, "rb"))
            return open(source, "rb")
        except OSError as exc:
            raise ReadError(os.fspath(source), None, f"cannot open: {exc.strerror}") from None
    if hasattr(source, "read"):
        return nullcontext(source)  # type: ignore[arg-type]
    msg = f"source must be a path, a file object or '-' for stdin, not {type(source).__name__}"
    raise ConfigError(msg)


def _detect_encoding(head: bytes) -> str:
    """UTF-8 (BOM or valid), else GB18030 unless the head is mostly valid UTF-8.

    A UTF-8 file with a few corrupt bytes stays UTF-8 (so the bad line is
    reported instead of the whole file being misread): it is GB18030 only when
    undecodable sequences are not rare next to well-formed multi-byte characters.
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        wide = sum(1 for ch in text if ch >= "\u0800" and ch != "\ufffd")
        return "utf-8" if wide >= 10 * bad else "gb18030"
    return "utf-8"


class LineReader:
    """Decoded lines of a stream, numbered from 1, with end-of-line kept.

    Bytes are decoded line by line, so an undecodable line raises
    :class:`DecodeError` naming it (or, under ``errors="collect"``, is decoded
    with U+FFFD replacements and reported as a skip that lost no message).
    ``peek(n)`` returns up to *n* non-empty stripped lines without consuming them.
    """

    def __init__(self, stream: IO[Any], ctx: _Context, encoding: str | None) -> None:
        self._ctx = ctx
        self._text = _is_text_stream(stream)
        self._stream = stream
        self._buffer: list[bytes | str] = []
        self._cr_only = False
        self.encoding = encoding or "utf-8"
        if not self._text:
            size = 0
            while size < _HEAD_BYTES:
                raw = stream.readline()
                if not raw:
                    break
                self._buffer.append(raw)
                size += len(raw)
            if encoding is None:
                head = b"".join(self._buffer)  # type: ignore[arg-type]
                if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
                    reason = (
                        "the file is UTF-16 or binary (NUL bytes); save it as UTF-8 or GBK, "
                        "or pass a text stream"
                    )
                    raise DecodeError(ctx.source, 1, reason)
                self.encoding = _detect_encoding(head)
            # classic Mac line endings (CR only): split on CR instead of reading one line
            first = self._buffer[0] if self._buffer else b""
            self._cr_only = b"\r" in first and b"\n" not in first
            if self._cr_only:
                self._buffer = [p for raw in self._buffer for p in raw.splitlines(keepends=True)]
        if self.encoding.lower().replace("_", "-") in ("utf-8-sig", "utf8-sig"):
            self.encoding = "utf-8"  # the BOM of the first line is removed by _decode
        self._first = True

    def _raw(self) -> Iterator[bytes | str]:
        yield from self._buffer
        self._buffer = []
        if self._cr_only:
            for raw in self._stream:
                yield from raw.splitlines(keepends=True)
            return
        yield from self._stream

    def _decode(self, number: int, raw: bytes) -> str:
        enc = self.encoding
        if self._first and raw.startswith(b"\xef\xbb\xbf") and enc.lower().startswith("utf"):
            raw = raw[3:]
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.end]
            reason = (
                f"cannot decode bytes {bad!r} at byte {exc.start} as {enc}; pass "
                "encoding='gb18030' (GBK exports) or encoding='utf-8'"
            )
            self._ctx.fail(DecodeError(self._ctx.source, number, reason), 0)
            return raw.decode(enc, errors="replace")
        except LookupError:
            raise ConfigError(f"unknown encoding {enc!r}") from None

    def peek(self, n: int) -> list[str]:
        """Up to *n* non-empty lines from the start (stripped), for format detection."""
        out: list[str] = []
        if self._text:
            while len(out) < n:
                raw = self._stream.readline()
                if not raw:
                    break
                self._buffer.append(raw)
                if raw.strip():
                    out.append(raw.strip().lstrip("\ufeff"))
            return out
        for raw in self._buffer:
            assert isinstance(raw, bytes)
            text = raw.decode(self.encoding, errors="replace").strip().lstrip("\ufeff")
            if text:
                out.append(text)
                if len(out) >= n:
                    break
        return out

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """Yield ``(line_number, text)``; text keeps its line ending."""
        for number, raw in enumerate(self._raw(), start=1):
            if isinstance(raw, bytes):
                text = self._decode(number, raw)
            else:
                text = raw.lstrip("\ufeff") if self._first else raw
            self._first = False
            yield number, text


def strip_eol(text: str) -> str:
    """Remove the line ending (LF or CR LF)."""
    return text.rstrip("\r\n")


_FIELDS = re.compile(r"[-/ :T]")


def clock_time(value: str, tz: str | tzinfo | None) -> datetime:
    """Parse ``YYYY-MM-DD HH:MM:SS`` (already matched by a header regex) quickly.

    Falls back to :func:`kefu_standards._time.parse_time` (and its error message)
    for anything else; raises ``ValueError`` like it.
    """
    try:
        year, month, day, hour, minute, second = map(int, _FIELDS.split(value.strip()))
        return datetime(year, month, day, hour, minute, second, tzinfo=get_tz(tz))
    except ValueError:
        return parse_time(value, tz)


def export_message(
    ctx: _Context,
    role: Role,
    text: str,
    *,
    sent_at: datetime | None,
    sender: str | None,
    rule: str | None = None,
) -> Message:
    """Build a message of an export format, reclassified by the text rules if enabled."""
    from ._roles import classify_text

    if ctx.detect_roles:
        new_role, text_rule = classify_text(text, role)
        if text_rule is not None:
            role, rule = new_role, text_rule
    meta = {"role_rule": rule} if rule is not None else None
    return Message(role=role, text=text, sent_at=sent_at, sender=sender, meta=FrozenDict(meta))


def unknown_second_speaker(ctx: _Context, number: int, buyer: str | None, sender: str) -> None:
    """Report a second speaker that is not known as a service account (asks for ``agents=``)."""
    from kefu_standards.exceptions import UnknownRoleError

    reason = (
        f"two speakers not known as service accounts: {buyer!r} and {sender!r}; "
        f"pass agents=[...] naming the 客服 accounts (names or prefixes)"
    )
    ctx.fail(UnknownRoleError(ctx.source, number, reason), 1)


def role_of_sender(ctx: _Context, sender: str) -> tuple[Role, str | None] | None:
    """Bot by name (if detection is on), agent if listed in ``agents=``, else ``None``."""
    from ._roles import classify_sender

    if ctx.detect_roles:
        hit = classify_sender(sender)
        if hit is not None:
            return hit
    name = sender.strip()
    for agent in ctx.agents:
        if name == agent or name.startswith(agent):
            return Role.AGENT, None
    return None


def group_consecutive(
    ctx: _Context,
    items: Iterable[tuple[int, str, str | None, Callable[[], Message | None]]],
    *,
    id_name: str = "conversation_id",
    unit: str = "lines",
) -> Iterator[Conversation]:
    """Group one-message-per-record input into conversations by consecutive id.

    *items* yields ``(line, conversation_id, shop, build)``; ``build()`` makes the
    message (or reports its own failure and returns ``None``) and is called only
    for records that are kept.  An id that comes back after another id is an
    error: the reader streams and never holds more than one conversation, so
    only the ids seen (and their first line) are remembered.
    """
    seen: dict[str, int] = {}
    current: str | None = None
    shop: str | None = None
    messages: list[Message] = []
    lines: list[int] = []
    for number, conv_id, row_shop, build in items:
        if conv_id != current:
            if conv_id in seen:
                reason = (
                    f"{id_name} {conv_id!r} reappears after other conversations "
                    f"(first seen at line {seen[conv_id]}); keep each conversation's {unit} "
                    f"together (sort the file by {id_name}, stably)"
                )
                ctx.fail(BadRecordError(ctx.source, number, reason), 1)
                continue
            if current is not None:
                yield from ctx.finish(current, messages, lines, shop=shop)
            current, shop, messages, lines = conv_id, None, [], []
            seen[conv_id] = number
        if shop is None and row_shop:
            shop = row_shop
        msg = build()
        if msg is not None:
            messages.append(msg)
            lines.append(number)
    if current is not None:
        yield from ctx.finish(current, messages, lines, shop=shop)
