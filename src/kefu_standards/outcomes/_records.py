"""Frozen records of what came of a chat: agent ratings, orders, refunds, product reviews.

Field meanings follow DOMAIN §2.7 (the real export and API layouts) and §1 (the
KPI definitions).  Every record remembers the file and line (or sheet row) it
came from, so a join or a KPI can always be traced back to its input row.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from kefu_standards.exceptions import ConfigError, UnknownNameError

__all__ = [
    "RATING_SCALES",
    "Order",
    "Rating",
    "Refund",
    "Review",
    "Satisfaction",
    "satisfaction_from_code",
    "satisfaction_from_text",
]


class Satisfaction(enum.IntEnum):
    """The five 满意度 levels of a 客服评价, 1 (worst) to 5 (best), whatever the code scale."""

    VERY_DISSATISFIED = 1
    DISSATISFIED = 2
    NEUTRAL = 3
    SATISFIED = 4
    VERY_SATISFIED = 5

    @property
    def label(self) -> str:
        """The Chinese label (非常满意 … 非常不满意)."""
        return _LABELS[self]

    @property
    def satisfied(self) -> bool:
        """非常满意 or 满意: the numerator of 满意率."""
        return self >= Satisfaction.SATISFIED

    @property
    def dissatisfied(self) -> bool:
        """不满意 or 非常不满意: the numerator of 不满意率."""
        return self <= Satisfaction.DISSATISFIED


_LABELS = {
    Satisfaction.VERY_DISSATISFIED: "非常不满意",
    Satisfaction.DISSATISFIED: "不满意",
    Satisfaction.NEUTRAL: "一般",
    Satisfaction.SATISFIED: "满意",
    Satisfaction.VERY_SATISFIED: "非常满意",
}

#: Text labels of 满意度 (JD 会话记录, shop exports) and the level each means.
TEXT_LEVELS: Mapping[str, Satisfaction] = {
    "非常满意": Satisfaction.VERY_SATISFIED,
    "很满意": Satisfaction.VERY_SATISFIED,
    "满意": Satisfaction.SATISFIED,
    "一般": Satisfaction.NEUTRAL,
    "不满意": Satisfaction.DISSATISFIED,
    "很不满意": Satisfaction.VERY_DISSATISFIED,
    "非常不满意": Satisfaction.VERY_DISSATISFIED,
}

#: The code scales of 客服评价 (DOMAIN §1 满意度 and §2.7): scale name -> code -> level.
#:
#: - ``qianniu``: ``taobao.qianniu.kefueval.get``, 0 非常满意 … 4 非常不满意 (0 is best);
#: - ``wangwang``: the old ``taobao.wangwang.eservice.evals.get``, 1 非常满意 … 4 不满意;
#: - ``jd``: ``jingdong.im.pop.evaluationlist.get``, 0 非常不满意 / 25 / 50 / 75 / 100 非常满意.
RATING_SCALES: Mapping[str, Mapping[int, Satisfaction]] = {
    "qianniu": {
        0: Satisfaction.VERY_SATISFIED,
        1: Satisfaction.SATISFIED,
        2: Satisfaction.NEUTRAL,
        3: Satisfaction.DISSATISFIED,
        4: Satisfaction.VERY_DISSATISFIED,
    },
    "wangwang": {
        1: Satisfaction.VERY_SATISFIED,
        2: Satisfaction.SATISFIED,
        3: Satisfaction.NEUTRAL,
        4: Satisfaction.DISSATISFIED,
    },
    "jd": {
        0: Satisfaction.VERY_DISSATISFIED,
        25: Satisfaction.DISSATISFIED,
        50: Satisfaction.NEUTRAL,
        75: Satisfaction.SATISFIED,
        100: Satisfaction.VERY_SATISFIED,
    },
}


def check_scale(scale: str) -> str:
    """Return *scale* if it names a code scale, else raise :class:`UnknownNameError`."""
    if scale not in RATING_SCALES:
        raise UnknownNameError("rating scale", scale, [*RATING_SCALES, "text"])
    return scale


def satisfaction_from_code(code: str | int, scale: str) -> Satisfaction:
    """Return the level *code* means on *scale* (``qianniu``, ``wangwang``, ``jd`` or ``text``).

    Raises ``ValueError`` naming the valid codes when *code* is not one of them.
    """
    if scale == "text":
        return satisfaction_from_text(str(code))
    levels = RATING_SCALES[check_scale(scale)]
    text = str(code).strip()
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if number.is_integer() and int(number) in levels:
        return levels[int(number)]
    valid = ", ".join(f"{c} {lv.label}" for c, lv in levels.items())
    msg = f"rating code {text!r} is not on the {scale} scale ({valid})"
    raise ValueError(msg)


def satisfaction_from_text(text: str) -> Satisfaction:
    """Return the level a 满意度 label means (非常满意, 满意, 一般, 不满意, 非常不满意; 很… too)."""
    level = TEXT_LEVELS.get(text.strip())
    if level is None:
        valid = ", ".join(TEXT_LEVELS)
        raise ValueError(f"满意度 {text!r} is not one of {valid}")
    return level


def _nonempty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _aware(_inst: object, attribute: attrs.Attribute[datetime | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ConfigError(f"{attribute.name} must be a timezone-aware datetime, got {value!r}")


@attrs.frozen(slots=True)
class Rating:
    """One 客服评价: a buyer's satisfaction with an agent.

    ``rated_at`` is the rating's time (API ``eval_time``); a JD 会话记录 row has
    only its session's start instead (``session_start``, 咨询时间), so it is
    joined by start time.  ``code`` and ``scale`` keep what the file said;
    ``level`` is what it means.  ``invited_by`` is the API ``source``
    (客服邀评 / 消费者自主评价 / 系统邀评) when given; ``resolved`` is JD's 是否解决.

    .. versionadded:: 0.2.0
    """

    buyer: str = attrs.field(validator=_nonempty)
    agent: str = attrs.field(validator=_nonempty)
    level: Satisfaction = attrs.field(converter=Satisfaction)
    rated_at: datetime | None = attrs.field(default=None, validator=_aware)
    session_start: datetime | None = attrs.field(default=None, validator=_aware)
    code: str = ""
    scale: str = "text"
    invited_by: str | None = None
    resolved: bool | None = None
    shop: str | None = None
    file: str = "<records>"
    line: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.rated_at is None and self.session_start is None:
            raise ConfigError("a Rating needs rated_at (eval_time) or session_start (咨询时间)")

    @property
    def when(self) -> datetime:
        """``rated_at``, else ``session_start``: the time ordering ratings of one chat."""
        out = self.rated_at or self.session_start
        assert out is not None
        return out


@attrs.frozen(slots=True)
class Order:
    """One order (Taobao 订单, JD 订单; one row of the export).

    ``buyer`` is the buyer's nick (买家会员名, 下单帐号); the 千牛 XLSX has none,
    so its orders join only through an order id quoted in a chat.  ``paid``
    says whether the buyer paid; ``paid_at`` is the payment time when the file
    has one (the 千牛 XLSX has not: there ``paid`` comes from 订单状态).

    .. versionadded:: 0.2.0
    """

    order_id: str = attrs.field(validator=_nonempty)
    buyer: str | None = None
    created_at: datetime | None = attrs.field(default=None, validator=_aware)
    paid_at: datetime | None = attrs.field(default=None, validator=_aware)
    paid: bool = False
    status: str = ""
    amount: float | None = None
    shop: str | None = None
    layout: str = ""
    file: str = "<records>"
    line: int | None = None

    @property
    def when(self) -> datetime | None:
        """When the order was placed (``created_at``, else ``paid_at``)."""
        return self.created_at or self.paid_at


#: 退款状态 values that mean the money went back to the buyer.
REFUND_SUCCESS = frozenset({"退款成功", "成功"})
#: 客服介入状态 values that mean the platform's customer service did *not* intervene.
NO_INTERVENTION = frozenset({"不需客服介入", "不需要客服介入", "1", ""})


@attrs.frozen(slots=True)
class Refund:
    """One refund (Tmall refund export or 退款单.xlsx).

    ``success`` is 退款状态 == 退款成功.  ``intervened`` is whether the platform's
    customer service stepped in (客服介入状态 other than 不需客服介入; API
    ``cs_status`` other than 1); ``None`` when the file has no such column
    (退款单.xlsx), so the dispute rate is then undefined rather than 0.

    .. versionadded:: 0.2.0
    """

    order_id: str = attrs.field(validator=_nonempty)
    status: str = ""
    success: bool = False
    refund_id: str | None = None
    cs_status: str | None = None
    intervened: bool | None = None
    responsible: str | None = None
    applied_at: datetime | None = attrs.field(default=None, validator=_aware)
    finished_at: datetime | None = attrs.field(default=None, validator=_aware)
    amount: float | None = None
    buyer: str | None = None
    layout: str = ""
    file: str = "<records>"
    line: int | None = None


#: Product-review results (``taobao.traderates.get`` ``result``) and their Chinese names.
REVIEW_RESULTS: Mapping[str, str] = {
    "good": "good",
    "neutral": "neutral",
    "bad": "bad",
    "好评": "good",
    "中评": "neutral",
    "差评": "bad",
}


def _review_result(value: str) -> str:
    out = REVIEW_RESULTS.get(value.strip().lower() if value.isascii() else value.strip())
    if out is None:
        valid = ", ".join(REVIEW_RESULTS)
        raise ConfigError(f"review result {value!r} is not one of {valid}")
    return out


@attrs.frozen(slots=True)
class Review:
    """One product review of an order (``taobao.traderates.get``: tid, nick, result).

    ``result`` is ``good``, ``neutral`` or ``bad`` (好评 / 中评 / 差评 accepted).

    .. versionadded:: 0.2.0
    """

    order_id: str = attrs.field(validator=_nonempty)
    result: str = attrs.field(converter=_review_result)
    buyer: str | None = None
    created_at: datetime | None = attrs.field(default=None, validator=_aware)
    file: str = "<records>"
    line: int | None = None
