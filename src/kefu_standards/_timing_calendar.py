"""Local time, work days and business time on int64 microsecond arrays.

Times are integer microseconds since the Unix epoch (UTC).  The local offset of
each time is looked up per UTC hour (so daylight-saving changes on the hour are
exact), and business time is a cumulative function ``B(t)``: the business
microseconds from an origin to *t*.  A wait in business time is
``B(answer) - B(open)``; because it is a difference, the origin never matters and
the same numbers come out of one conversation or a shard of millions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .exceptions import ConfigError

__all__ = [
    "DAY_US",
    "HOUR_US",
    "Schedule",
    "business_us",
    "epoch_day",
    "local_day_and_time",
    "local_us",
    "offset_table",
    "to_us",
    "workday_flags",
]

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_DATE = date(1970, 1, 1)

I64 = npt.NDArray[np.int64]


def to_us(value: datetime) -> int:
    """Return an aware datetime as integer microseconds since the epoch (exact)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_day(day: date) -> int:
    """Return *day* as days since 1970-01-01."""
    return (day - _EPOCH_DATE).days


@lru_cache(maxsize=131_072)
def _offset_of_hour(tz: tzinfo, hour: int) -> int:
    moment = _EPOCH + timedelta(hours=hour)
    off = moment.astimezone(tz).utcoffset()
    return 0 if off is None else (off.days * 86_400 + off.seconds) * 1_000_000


@lru_cache(maxsize=32)  # at most 32 x 50,001 x 8 bytes (13 MB), usually a few kB
def offset_table(tz: tzinfo, first: int, last: int) -> tuple[I64, int | None]:
    """Return the offsets of UTC hours *first* .. *last*, and the offset if they are all equal."""
    table = np.fromiter(
        (_offset_of_hour(tz, h) for h in range(first, last + 1)), np.int64, last - first + 1
    )
    table.flags.writeable = False
    const = int(table[0]) if bool((table == table[0]).all()) else None
    return table, const


def local_us(t_us: I64, tz: tzinfo) -> I64:
    if t_us.size == 0:
        return np.zeros(0, np.int64)
    first, last = int(t_us.min()) // HOUR_US, int(t_us.max()) // HOUR_US
    if last - first <= 50_000:  # under about 5.7 years: a dense table of hourly offsets
        table, const = offset_table(tz, first, last)
        if const is not None:  # no offset change in range (e.g. Asia/Shanghai since 1991)
            return t_us + const
        out: I64 = t_us + table[t_us // HOUR_US - first]
        return out
    uniq, inverse = np.unique(t_us // HOUR_US, return_inverse=True)
    offs = np.fromiter((_offset_of_hour(tz, int(h)) for h in uniq), np.int64, len(uniq))
    return t_us + offs[inverse.reshape(-1)]


def local_day_and_time(t_us: I64, tz: tzinfo) -> tuple[I64, I64]:
    """Return (local day since epoch, local microseconds since midnight) of each time."""
    local = local_us(t_us, tz)
    days = local // DAY_US
    return days, local - days * DAY_US


@lru_cache(maxsize=8_192)
def _cn_status(day: date) -> tuple[bool, bool]:
    """Return (public holiday, 调休 make-up work day) for *day*."""
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - depends on the environment
        msg = (
            "calendar='cn' needs the optional package chinese-calendar; install it with "
            "`pip install kefu-standards[calendar]`, or use calendar='none' with explicit "
            "holidays= and workdays="
        )
        raise ConfigError(msg) from None
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError as exc:
        msg = (
            f"chinese-calendar has no holiday data for {day.isoformat()} ({exc}); upgrade "
            "chinese-calendar or pass holidays= / workdays= explicitly"
        )
        raise ConfigError(msg) from None
    if name is None:
        return False, False
    return bool(off), (not off) and day.weekday() >= 5


def workday_flags(
    days: I64,
    weekdays: frozenset[int],
    calendar: str,
    holidays: Iterable[date],
    workdays: Iterable[date],
) -> npt.NDArray[np.bool_]:
    """Return whether each local day (days since epoch) is a work day.

    ``calendar="cn"`` follows Chinese public holidays and 调休 make-up days from
    ``chinese-calendar``: a public holiday (even on a weekend) is closed, a make-up
    weekend day is open, and other days follow *weekdays*.  Explicit *holidays* /
    *workdays* win over both.
    """
    uniq, inverse = np.unique(days, return_inverse=True)
    weekday = (uniq + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    flags = np.isin(weekday, np.fromiter(weekdays, np.int64, len(weekdays)))
    if calendar == "cn":
        for i, d in enumerate(uniq):
            day = _EPOCH_DATE + timedelta(days=int(d))
            holiday, makeup = _cn_status(day)
            if holiday:
                flags[i] = False
            elif makeup:
                flags[i] = True
    closed = np.array(sorted(epoch_day(d) for d in holidays), dtype=np.int64)
    opened = np.array(sorted(epoch_day(d) for d in workdays), dtype=np.int64)
    flags[np.isin(uniq, closed)] = False
    flags[np.isin(uniq, opened)] = True
    return flags[inverse.reshape(-1)]


class Schedule(Protocol):
    """What :func:`business_us` needs from ``timing.BusinessHours``."""

    @property
    def intervals_us(self) -> tuple[tuple[int, int], ...]: ...
    @property
    def weekdays(self) -> frozenset[int]: ...
    @property
    def calendar(self) -> str: ...
    @property
    def holidays(self) -> frozenset[date]: ...
    @property
    def workdays(self) -> frozenset[date]: ...


def business_us(t_us: I64, tz: tzinfo, schedule: Schedule) -> I64:
    """Return cumulative business microseconds ``B(t)`` for each time (common origin).

    ``schedule.intervals_us`` are the open intervals of a work day, as local
    microseconds since midnight.  Differences ``B(b) - B(a)`` are business durations.
    """
    intervals_us = schedule.intervals_us
    if t_us.size == 0:
        return np.zeros(0, np.int64)
    days, tod = local_day_and_time(t_us, tz)
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1, dtype=np.int64)
    open_days = workday_flags(
        span, schedule.weekdays, schedule.calendar, schedule.holidays, schedule.workdays
    )
    per_day = sum(b - a for a, b in intervals_us)
    before = np.concatenate(([0], np.cumsum(open_days.astype(np.int64) * per_day)[:-1]))
    within = np.zeros_like(tod)
    for a, b in intervals_us:
        within += np.clip(tod - a, 0, b - a)
    k = days - first
    out: I64 = (before[k] + np.where(open_days[k], within, 0)).astype(np.int64)
    return out
