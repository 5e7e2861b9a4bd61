"""Timing policies: :class:`TimingPolicy` and :class:`BusinessHours` (re-exported by ``timing``).

The policy is plain configuration (what counts as a round, the SLA, business
hours, caps, presets); it sits below the round-finding code
(:mod:`kefu_standards._timing_agg`) and :mod:`kefu_standards.timing`, which both
read it, so that imports stay one-way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from importlib.util import find_spec
from typing import Any, ClassVar, Literal

import attrs

from ._time import get_tz
from ._timing_calendar import DAY_US
from .exceptions import ConfigError, InputTypeError, UnknownNameError

__all__ = ["BusinessHours", "TimingPolicy", "as_policy"]

# ---------------------------------------------------------------------------
# clock intervals
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _clock_s(value: object) -> int:
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, str):
        m = _CLOCK.match(value)
        if m:
            h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
            if (h < 24 and mi < 60 and s < 60) or (h == 24 and mi == 0 and s == 0):
                return h * 3600 + mi * 60 + s
    msg = f"bad clock time {value!r}; use 'HH:MM' or 'HH:MM:SS' (00:00 to 24:00) or a time"
    raise ConfigError(msg)


def _fmt_clock(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _interval(value: object) -> str:
    """Normalise ``'08:00-23:00'`` / ``('08:00', '23:00')`` / ``(time, time)`` to text."""
    if isinstance(value, str):
        parts = value.split("-")
        if len(parts) != 2:
            msg = f"bad interval {value!r}; write it as 'HH:MM-HH:MM', e.g. '08:00-23:00'"
            raise ConfigError(msg)
        start, end = parts
    elif isinstance(value, Sequence) and len(value) == 2:
        start, end = value
    else:
        msg = f"bad interval {value!r}; write it as 'HH:MM-HH:MM' or a (start, end) pair"
        raise ConfigError(msg)
    a, b = _clock_s(start), _clock_s(end)
    if not a < b:
        msg = (
            f"interval {value!r} must start before it ends, within one day (00:00-24:00); "
            "split an overnight interval in two"
        )
        raise ConfigError(msg)
    return f"{_fmt_clock(a)}-{_fmt_clock(b)}"


def _interval_s(text: str) -> tuple[int, int]:
    a, b = text.split("-")
    return _clock_s(a), _clock_s(b)


def _intervals(value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    out = sorted((_interval(v) for v in items), key=_interval_s)
    if not out:
        raise ConfigError("business hours need at least one interval, e.g. '09:00-18:00'")
    for prev, nxt in itertools.pairwise(out):
        if _interval_s(nxt)[0] < _interval_s(prev)[1]:
            raise ConfigError(f"business-hour intervals {prev} and {nxt} overlap")
    return tuple(out)


def _opt_interval(value: object) -> str | None:
    return None if value is None else _interval(value)


def _weekdays(value: Iterable[int]) -> frozenset[int]:
    out = frozenset(value)
    if not out or not all(isinstance(d, int) and 0 <= d <= 6 for d in out):
        msg = f"weekdays must be a non-empty set of 0 (Monday) .. 6 (Sunday), got {value!r}"
        raise ConfigError(msg)
    return out


def _dates(value: Iterable[date | str]) -> frozenset[date]:
    out: set[date] = set()
    for d in value:
        if isinstance(d, datetime):
            out.add(d.date())
        elif isinstance(d, date):
            out.add(d)
        elif isinstance(d, str):
            try:
                out.add(date.fromisoformat(d))
            except ValueError:
                raise ConfigError(f"bad date {d!r}; use 'YYYY-MM-DD' or a date") from None
        else:
            raise ConfigError(f"bad date {d!r}; use 'YYYY-MM-DD' or a date")
    return frozenset(out)


def _check_calendar(_inst: object, _attr: object, value: str) -> None:
    if value not in ("none", "cn"):
        msg = f"calendar must be 'none' or 'cn' (Chinese holidays and 调休), got {value!r}"
        raise ConfigError(msg)
    if value == "cn" and find_spec("chinese_calendar") is None:
        msg = (
            "calendar='cn' needs the optional package chinese-calendar; install it with "
            "`pip install kefu-standards[calendar]`"
        )
        raise ConfigError(msg)


@attrs.frozen
class BusinessHours:
    """When the shop is open: waits are counted only inside these hours.

    Parameters
    ----------
    intervals
        Open intervals of a work day in local time, e.g. ``("09:00-12:00",
        "13:30-22:00")``; ``"24:00"`` may end the last one.
    weekdays
        Open days of the week, 0 = Monday .. 6 = Sunday (default: all seven;
        online shops usually serve every day).
    calendar
        ``"none"`` or ``"cn"``: Chinese public holidays are closed and 调休
        make-up weekend days are open, from the optional ``chinese-calendar``
        package (``pip install kefu-standards[calendar]``).
    holidays, workdays
        Extra closed / open dates (``date`` or ``"YYYY-MM-DD"``); they win over
        *weekdays* and *calendar*.

    """

    intervals: tuple[str, ...] = attrs.field(converter=_intervals)
    weekdays: frozenset[int] = attrs.field(
        default=frozenset(range(7)), converter=_weekdays, repr=lambda v: repr(sorted(v))
    )
    calendar: str = attrs.field(default="none", validator=_check_calendar)
    holidays: frozenset[date] = attrs.field(default=frozenset(), converter=_dates)
    workdays: frozenset[date] = attrs.field(default=frozenset(), converter=_dates)

    @property
    def intervals_us(self) -> tuple[tuple[int, int], ...]:
        """The intervals as (start, end) microseconds since local midnight."""
        return tuple((a * 1_000_000, b * 1_000_000) for a, b in map(_interval_s, self.intervals))


# ---------------------------------------------------------------------------
# policy


def _choice(name: str, valid: tuple[str, ...]) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if value not in valid:
            choices = ", ".join(repr(v) for v in valid)
            raise ConfigError(f"{name} must be one of {choices}, got {value!r}")

    return check


def _positive(name: str, optional: bool = False) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            what = "a positive number of seconds" + (" or None" if optional else "")
            raise ConfigError(f"{name} must be {what}, got {value!r}")

    return check


def _check_bool(_inst: object, attr: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{attr.name} must be True or False, got {value!r}")


def _check_tz(_inst: object, _attr: object, value: str) -> None:
    get_tz(value)


def _bh(value: object) -> BusinessHours | None:
    if value is None or isinstance(value, BusinessHours):
        return value
    if isinstance(value, (str, Sequence)):
        return BusinessHours(value)
    msg = f"business_hours must be a BusinessHours, interval text or None, got {value!r}"
    raise ConfigError(msg)


@attrs.frozen
class TimingPolicy:
    """How rounds are found and waits measured.  Every default is documented with its source.

    Build the plain default with ``TimingPolicy()``, a platform preset with
    ``TimingPolicy.preset("taobao")`` / ``("jd")``, and variations with
    ``policy.evolve(cap_s=600)``.  Invalid values raise
    :class:`~kefu_standards.exceptions.ConfigError` naming what is valid.

    Parameters
    ----------
    name
        A label shown in reports (presets set it).
    sla_s
        SLA threshold: a round counts as within the SLA when answered after at
        most this many seconds (default 180 s, Taobao's 三分钟响应率).
    cap_s
        Cap per round for the mean (Taobao 平响 counts waits above 600 s as 600 s);
        ``None`` = no cap.
    unanswered
        ``"exclude"`` (unanswered rounds stay out of the mean) or ``"cap"``
        (they count as ``cap_s``, the diantuoyi version of Taobao 平响).
    window
        Assessment window ``"HH:MM-HH:MM"`` in local time; rounds opened outside it
        are left out of every statistic.  ``None`` = all day.
    window_by
        ``"round"`` (each round's opening time) or ``"session"`` (the opening of its
        session's first round, JD's rule).
    business_hours
        :class:`BusinessHours` (or interval text): waits are counted in business time.
    tz
        Time zone of the window, business hours and days (default Asia/Shanghai).
    idle_gap_s
        Idle gap that starts a new session when no round is pending
        (JD: 600 s).  ``None`` = one session per conversation.
    sla_scope
        ``"rounds"`` (every round) or ``"first"`` (only the first round of each
        session: JD's 首次30秒应答率).
    bot_answers
        Whether ``bot`` messages answer rounds (Taobao counts 智能辅助 replies).
        Bots never open rounds.
    credit
        ``"answerer"`` (a round belongs to the agent who answered it) or
        ``"holder"`` (Taobao 子账号 rule: a transfer without reply charges the
        agent who held the buyer an unanswered round).
    zero_waits
        ``"keep"`` or ``"exclude"`` 0-second replies (Taobao 2022-07 text).

    """

    name: str = attrs.field(default="default", converter=str)
    sla_s: float = attrs.field(default=180.0, validator=_positive("sla_s"))
    cap_s: float | None = attrs.field(default=None, validator=_positive("cap_s", optional=True))
    unanswered: Literal["exclude", "cap"] = attrs.field(
        default="exclude", validator=_choice("unanswered", ("exclude", "cap"))
    )
    window: str | None = attrs.field(default=None, converter=_opt_interval)
    window_by: Literal["round", "session"] = attrs.field(
        default="round", validator=_choice("window_by", ("round", "session"))
    )
    business_hours: BusinessHours | None = attrs.field(default=None, converter=_bh)
    tz: str = attrs.field(default="Asia/Shanghai", validator=_check_tz)
    idle_gap_s: float | None = attrs.field(
        default=None, validator=_positive("idle_gap_s", optional=True)
    )
    sla_scope: Literal["rounds", "first"] = attrs.field(
        default="rounds", validator=_choice("sla_scope", ("rounds", "first"))
    )
    bot_answers: bool = attrs.field(default=False, validator=_check_bool)
    credit: Literal["answerer", "holder"] = attrs.field(
        default="answerer", validator=_choice("credit", ("answerer", "holder"))
    )
    zero_waits: Literal["keep", "exclude"] = attrs.field(
        default="keep", validator=_choice("zero_waits", ("keep", "exclude"))
    )

    _PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {},
        # DOMAIN.md §1 rows 旺旺人工平响时长 (diantuoyi [C]) and 三分钟(人工)响应率
        # (dingjiuxi / g8108 [C]); window and unanswered rule UNVERIFIED (sources disagree).
        "taobao": {
            "name": "taobao",
            "sla_s": 180.0,
            "window": "08:00-23:00",
            "cap_s": 600.0,
            "unanswered": "cap",
            "credit": "holder",
        },
        # DOMAIN.md §1 row JD 咚咚首次30秒应答率 (maijiaw [C], 晓多 FAQ [B]).
        "jd": {
            "name": "jd",
            "sla_s": 30.0,
            "window": "09:00-23:00",
            "window_by": "session",
            "idle_gap_s": 600.0,
            "sla_scope": "first",
        },
    }

    def __attrs_post_init__(self) -> None:
        if self.unanswered == "cap" and self.cap_s is None:
            raise ConfigError("unanswered='cap' needs cap_s (e.g. cap_s=600, Taobao's 10-min cap)")

    @classmethod
    def preset(cls, name: str) -> TimingPolicy:
        """Return the named preset: ``"default"``, ``"taobao"`` or ``"jd"``."""
        try:
            return cls(**cls._PRESETS[name])
        except KeyError:
            raise UnknownNameError("timing preset", name, cls.preset_names()) from None

    @classmethod
    def preset_names(cls) -> tuple[str, ...]:
        """Return the names :meth:`preset` accepts."""
        return tuple(cls._PRESETS)

    def evolve(self, **changes: Any) -> TimingPolicy:
        """Return a copy with *changes* applied (validated again)."""
        return attrs.evolve(self, **changes)

    @property
    def window_us(self) -> tuple[int, int]:
        """The window as (start, end) microseconds since local midnight."""
        if self.window is None:
            return 0, DAY_US
        a, b = _interval_s(self.window)
        return a * 1_000_000, b * 1_000_000


def as_policy(value: TimingPolicy | str | None) -> TimingPolicy:
    """Return *value* as a :class:`TimingPolicy` (``None``: the defaults; a str: a preset)."""
    if value is None:
        return TimingPolicy()
    if isinstance(value, str):
        return TimingPolicy.preset(value)
    if isinstance(value, TimingPolicy):
        return value
    msg = f"policy must be a TimingPolicy, a preset name or None, got {type(value).__name__}"
    raise InputTypeError(msg)
