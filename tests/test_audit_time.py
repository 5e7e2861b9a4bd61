"""Audit regressions: elapsed time is real time, also across a daylight-saving change.

Python subtracts two datetimes that share a ``tzinfo`` object as wall-clock times.
With ``tz="America/New_York"`` the night of 2024-03-10 skips 02:00-03:00, so from
01:59 to 03:01 is 2 minutes, not 62.  The round waits were right (they use epoch
time) but ``duration_s``, the idle-gap sessions of the timing policy, escalation's
waiting signal and the follow-up window of responsibility used the wall clock.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards._time import elapsed
from kefu_standards.exceptions import BadTimestampError, MessageOrderError

NY = ZoneInfo("America/New_York")


def _spring_forward_chat() -> ks.Conversation:
    return ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗，快递到哪了", "time": "2024-03-10 01:59:00"},
            {
                "role": "agent",
                "text": "亲，已经到您那边了",
                "time": "2024-03-10 03:01:00",
                "sender": "s",
            },
        ],
        id="dst",
        tz="America/New_York",
    )


@pytest.mark.parametrize(
    ("later", "earlier", "seconds"),
    [
        (datetime(2024, 3, 10, 3, 1, tzinfo=NY), datetime(2024, 3, 10, 1, 59, tzinfo=NY), 120),
        (
            datetime(2024, 11, 3, 1, 10, fold=1, tzinfo=NY),
            datetime(2024, 11, 3, 1, 50, tzinfo=NY),
            1200,
        ),
        (datetime(2024, 5, 1, 10, 5, tzinfo=NY), datetime(2024, 5, 1, 10, 0, tzinfo=NY), 300),
        (  # different tzinfo objects: Python already converts to UTC
            datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc),
            datetime(2024, 5, 1, 17, 0, tzinfo=timezone(timedelta(hours=8))),
            3600,
        ),
    ],
)
def test_elapsed_is_real_time(later: datetime, earlier: datetime, seconds: float) -> None:
    """elapsed() equals the difference of the POSIX timestamps."""
    assert elapsed(later, earlier).total_seconds() == seconds
    assert seconds == later.timestamp() - earlier.timestamp()


def test_duration_is_real_time() -> None:
    """duration_s agrees with the round's wait (2 minutes), not the wall clock (62)."""
    t = ks.response_times(_spring_forward_chat())
    assert (t.first_response_s, t.duration_s) == (120.0, 120.0)


def test_idle_gap_session_uses_real_time() -> None:
    """A 30-minute idle gap does not split a 14-minute pause that crosses the DST jump."""
    conv = ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗", "time": "2024-03-10 01:50:00"},
            {"role": "agent", "text": "在的亲", "time": "2024-03-10 01:51:00", "sender": "s"},
            {"role": "buyer", "text": "快递到哪了", "time": "2024-03-10 03:05:00"},
            {"role": "agent", "text": "已经到了哦", "time": "2024-03-10 03:06:00", "sender": "s"},
        ],
        id="dst-idle",
        tz="America/New_York",
    )
    t = ks.response_times(conv, policy=ks.TimingPolicy(idle_gap_s=1800))
    assert t.n_sessions == 1


def test_escalation_sees_no_long_wait() -> None:
    """Escalation's waiting signal does not fire on a 2-minute reply."""
    e = ks.escalation(_spring_forward_chat(), sentiment=None, politeness=None)
    assert "waiting" not in [r.kind for r in e.reasons]


def test_shanghai_times_are_unchanged() -> None:
    """In Asia/Shanghai (no DST) the figures are what they always were."""
    conv = ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗", "time": "2024-03-10 01:59:00"},
            {"role": "agent", "text": "在的亲", "time": "2024-03-10 03:01:00", "sender": "s"},
        ],
        id="sh",
    )
    t = ks.response_times(conv)
    assert (t.first_response_s, t.duration_s) == (3720.0, 3720.0)


# --- the data model orders and splits by real time too ------------------------------------
# 2024-11-03 in New York: 01:50 EDT, then the clocks go back, and 01:10 EST is 20 minutes later.
FALL_BACK = [1730613000, 1730614200]  # epoch seconds: 01:50 EDT, 01:10 EST


def test_wall_clock_step_back_at_fall_back_is_not_disorder() -> None:
    """A reply 20 minutes later in real time is in order, though its wall clock reads earlier."""
    conv = ks.Conversation.from_records(
        [
            {"role": "buyer", "text": "在吗", "time": FALL_BACK[0]},
            {"role": "agent", "text": "在的亲", "time": FALL_BACK[1]},
        ],
        id="fall",
        tz="America/New_York",
    )
    assert conv.messages[1].sent_at is not None
    assert conv.messages[1].sent_at.hour == 1  # the wall clock did step back


def test_real_disorder_across_fall_back_still_raises() -> None:
    """The same two times given the other way round are out of order."""
    with pytest.raises(MessageOrderError):
        ks.Conversation.from_records(
            [
                {"role": "buyer", "text": "在吗", "time": FALL_BACK[1]},
                {"role": "agent", "text": "在的亲", "time": FALL_BACK[0]},
            ],
            id="fall",
            tz="America/New_York",
        )


def test_sort_orders_by_real_time_across_fall_back() -> None:
    """sort=True puts the 01:50 EDT message before the 01:10 EST one."""
    conv = ks.Conversation.from_records(
        [
            {"role": "agent", "text": "later", "time": FALL_BACK[1]},
            {"role": "buyer", "text": "earlier", "time": FALL_BACK[0]},
        ],
        id="fall",
        tz="America/New_York",
        sort=True,
    )
    assert [m.text for m in conv.messages] == ["earlier", "later"]


def test_split_sessions_uses_real_time() -> None:
    """A two-minute pause across the spring-forward jump is not a 30-minute idle gap."""
    assert len(_spring_forward_chat().split_sessions(1800)) == 1


@pytest.mark.parametrize(
    ("time", "ok"),
    [
        ("0001-01-01 00:00:00", False),  # parsed, then broke the first time arithmetic
        ("9999-12-31 23:59:59", False),
        ("1899-12-31T23:59:59Z", False),
        ("1900-01-01 00:00:00", True),
        ("2999-12-31 23:59:59", True),
        ("2024-05-01 10:00:01", True),
    ],
)
def test_years_outside_the_chat_range_are_bad_timestamps(time: str, ok: bool) -> None:
    """A year outside 1900-2999 is a BadTimestampError naming the record, not a later crash."""
    records = [{"role": "buyer", "text": "在吗", "time": time}]
    if ok:
        conv = ks.Conversation.from_records(records, id="y")
        assert (
            len(ks.response_times(conv).rounds) == 1
        )  # one unanswered round: time arithmetic works
    else:
        with pytest.raises(BadTimestampError, match="outside 1900-2999"):
            ks.Conversation.from_records(records, id="y")


# 2024's DST changes in New York and London (UTC instants), and an ordinary day
_PIVOTS = [1_710_054_000, 1_730_613_600, 1_711_846_800, 1_729_990_800, 1_714_500_000]


@given(
    st.sampled_from(_PIVOTS),
    st.lists(st.integers(min_value=-2 * 86_400, max_value=2 * 86_400), min_size=2, max_size=6),
    st.sampled_from(["America/New_York", "Europe/London", "Asia/Shanghai"]),
)
def test_wall_clock_exact_only_when_subtraction_is_real_time(
    pivot: int, offsets: list[int], zone: str
) -> None:
    """Whenever the per-conversation check allows plain subtraction, it is real time."""
    from kefu_standards._time import wall_clock_exact

    tz = ZoneInfo(zone)
    epochs = sorted(pivot + o for o in offsets)
    times = [datetime.fromtimestamp(e, tz=timezone.utc).astimezone(tz) for e in epochs]
    if wall_clock_exact(times):
        for (a, ea), (b, eb) in itertools.pairwise(zip(times, epochs, strict=True)):
            assert b - a == timedelta(seconds=eb - ea)


def test_wall_clock_exact_refuses_a_dst_change() -> None:
    """The spring-forward chat needs elapsed(); one Shanghai day does not."""
    from kefu_standards._time import wall_clock_exact

    spring = [m.sent_at for m in _spring_forward_chat().messages if m.sent_at is not None]
    assert not wall_clock_exact(spring)
    sh = ZoneInfo("Asia/Shanghai")
    assert wall_clock_exact(
        [datetime(2024, 5, 1, 9, tzinfo=sh), datetime(2024, 5, 1, 21, tzinfo=sh)]
    )
