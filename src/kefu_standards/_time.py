"""Timestamp parsing shared by the model and every reader."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .exceptions import ConfigError

__all__ = [
    "DEFAULT_TZ_NAME",
    "YEARS",
    "as_aware",
    "elapsed",
    "get_tz",
    "parse_time",
    "wall_clock_exact",
]

#: Naive timestamps (no offset) are read in this zone unless told otherwise.
#: Taobao, Tmall, JD and PDD exports are written in China Standard Time.
DEFAULT_TZ_NAME = "Asia/Shanghai"

_CST = timezone(timedelta(hours=8), "CST")

# 2024-05-01 10:00:01, 2024/5/1 10:00, 2024-05-01T10:00:01.123+08:00, 2024-5-1 10:00:01
_LOOSE = re.compile(
    r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


@cache
def get_tz(tz: str | tzinfo | None) -> tzinfo:
    """Return a ``tzinfo`` for a zone name, a ``tzinfo`` or ``None`` (the default zone)."""
    if tz is None:
        tz = DEFAULT_TZ_NAME
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if tz == DEFAULT_TZ_NAME:  # no tz database (e.g. Windows without tzdata)
            return _CST
        msg = f"unknown time zone {tz!r}; use an IANA name such as 'Asia/Shanghai' or 'UTC'"
        raise ConfigError(msg) from exc


#: The years a chat timestamp may fall in; others are a bad timestamp.
YEARS = (1900, 2999)


def as_aware(value: datetime, tz: str | tzinfo | None = None) -> datetime:
    """Attach *tz* (default Asia/Shanghai) to a naive datetime; keep aware ones as they are."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=get_tz(tz))
    return value


def elapsed(later: datetime, earlier: datetime) -> timedelta:
    """Real time from *earlier* to *later* (aware datetimes), also across a DST change.

    Python subtracts two datetimes that share a ``tzinfo`` object as wall-clock
    times, so in a zone with daylight saving ``03:01 - 01:59`` on the spring-forward
    night is 62 minutes instead of 2.  Zones without DST (Asia/Shanghai) and fixed
    offsets give the same result either way.
    """
    delta = later - earlier
    if later.tzinfo is earlier.tzinfo:
        off_later, off_earlier = later.utcoffset(), earlier.utcoffset()
        if off_later != off_earlier and off_later is not None and off_earlier is not None:
            delta -= off_later - off_earlier
    return delta


_WEEK = timedelta(days=7)


def wall_clock_exact(times: Sequence[datetime]) -> bool:
    """Whether ``b - a`` is the real time between any two of *times* (aware, in order).

    Python subtracts datetimes that share a ``tzinfo`` by wall clock.  That is exact
    when all of *times* share one ``tzinfo`` with the same UTC offset at the first
    and the last, less than a week apart: no zone changes its offset twice within a
    week, so it did not change in between.  Otherwise use :func:`elapsed`.  One
    check per conversation instead of two ``utcoffset`` calls per difference.
    """
    if len(times) < 2:
        return True
    first, last = times[0], times[-1]
    tz = first.tzinfo
    return (
        all(t.tzinfo is tz for t in times)
        and first.utcoffset() == last.utcoffset()
        and timedelta(0) <= last - first < _WEEK
    )


def parse_time(value: object, tz: str | tzinfo | None = None) -> datetime:
    """Parse an ISO-8601-like string, a ``datetime`` or epoch seconds/milliseconds.

    Naive values are read in *tz*.  Raises ``ValueError`` with a reason on failure,
    also for a year outside :data:`YEARS` (year 1 or 9999 would parse, then break
    the first time arithmetic on it, far from the line that held it).
    """
    parsed = _parse_time(value, tz)
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        msg = f"bad timestamp {value!r}: year {parsed.year} is outside {YEARS[0]}-{YEARS[1]}"
        raise ValueError(msg)
    return parsed


def _parse_time(value: object, tz: str | tzinfo | None) -> datetime:
    if isinstance(value, datetime):
        return as_aware(value, tz)
    if isinstance(value, bool):
        raise ValueError(f"bad timestamp {value!r}: expected text or a number, not a boolean")
    if isinstance(value, (int, float)):
        try:
            seconds = value / 1000.0 if value > 1e11 else float(value)  # ms since epoch
            return datetime.fromtimestamp(seconds, tz=timezone.utc).astimezone(get_tz(tz))
        except (OverflowError, OSError, ValueError):  # NaN, inf, beyond year 1..9999
            msg = (
                f"bad timestamp {value!r}: not epoch seconds or milliseconds "
                f"in years {YEARS[0]}-{YEARS[1]}"
            )
            raise ValueError(msg) from None
    if not isinstance(value, str):
        raise ValueError(f"bad timestamp {value!r}: expected ISO-8601 text or epoch seconds")
    if len(value) >= 19 and value[4] == "-" and value[10] in " T":  # fast path, canonical ISO
        try:
            return as_aware(datetime.fromisoformat(value.replace("Z", "+00:00")), tz)
        except ValueError:
            pass  # fall through to the loose parser and its precise message
    m = _LOOSE.match(value)
    if m is None:
        raise ValueError(
            f"bad timestamp {value!r}: expected e.g. '2024-05-01 10:00:01' or "
            "'2024-05-01T10:00:01+08:00'"
        )
    year, month, day, hour, minute, second, frac, offset = m.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise ValueError(f"bad timestamp {value!r}: {exc}") from None
    if offset is None:
        return naive.replace(tzinfo=get_tz(tz))
    if offset == "Z":
        return naive.replace(tzinfo=timezone.utc)
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return naive.replace(tzinfo=timezone(sign * delta))
