"""Outcome KPIs: mergeable counts per agent, day or shop, and the rates read from them.

Every KPI is a ratio of two counts kept in :class:`OutcomeCounts`; counts add
exactly, so the summaries of shards merge into the summary of the whole (as the
timing summaries do).  A rate whose denominator is 0, or whose inputs were not
given, is ``None`` with a reason, never 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from kefu_standards.exceptions import ConfigError

__all__ = ["KPI_DEFINITIONS", "OutcomeCounts", "OutcomeKpi", "OutcomeSummary"]

#: KPI name -> (definition as computed here, DOMAIN source).  The names are the
#: column names of ``agents.csv`` and ``shops.csv`` (a stable interface).
KPI_DEFINITIONS: Mapping[str, tuple[str, str]] = {
    "rated": (
        "conversations with a joined 客服评价; only the latest rating of a conversation "
        "and agent counts",
        "DOMAIN §1 满意度; §2.7 (a production QC system keeps the latest rating per session)",
    ),
    "rating_rate": (
        "rated / conversations",
        "DOMAIN §1 满意度 (shop exports report 评价发送率 next to the counts)",
    ),
    "satisfaction_rate": (
        "(非常满意 + 满意) / rated",
        "DOMAIN §1 满意度 (旺旺/千牛: (很满意+满意)/评价量; JD 售后满意度)",
    ),
    "dissatisfaction_rate": (
        "(不满意 + 非常不满意) / rated.  One production system uses 1 − 满意率 "
        "instead, which also counts 一般 as dissatisfied",
        "DOMAIN §1 不满意率 (no Taobao formula found); §2.7 (TomAndersen0714 SQL)",
    ),
    "inquiries": (
        "buyers whose conversation came before any order of theirs, once per buyer, agent and day",
        "DOMAIN §1 询单人数",
    ),
    "inquiry_conversion": (
        "share of inquiries whose buyer paid an order the same or the next day",
        "DOMAIN §1 询单→次日付款成功率 (当日或次日付款人数 / 询单人数)",
    ),
    "inquiry_conversion_4d": (
        "share of inquiries whose buyer paid within the inquiry day and the 3 days after",
        "DOMAIN §1 询单→最终付款成功率 (data delayed 4 days)",
    ),
    "paid_orders": (
        "paid orders credited to the agent who served their inquiry",
        "DOMAIN §1 退款率 denominator (支付宝交易笔数)",
    ),
    "refund_rate": (
        "paid orders with a successful refund (退款成功) / paid orders",
        "DOMAIN §1 退款率 (成功退款笔数 / 支付宝交易笔数)",
    ),
    "dispute_rate": (
        "paid orders with a successful refund in which the platform's customer service "
        "intervened (客服介入状态 other than 不需客服介入) / paid orders",
        "DOMAIN §1 纠纷退款率; §2.7 客服介入状态 / cs_status",
    ),
    "bad_review_rate": (
        "bad (差评) product reviews / reviews of the credited orders",
        "DOMAIN §1 差评率 / 好评率 (generic 好评数/总评价数; no CS-specific formula found)",
    ),
}


@attrs.define(slots=True)
class OutcomeCounts:
    """The counts behind every outcome KPI of one group (all add under merge).

    .. versionadded:: 0.2.0
    """

    conversations: int = 0
    rated: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    inquiries: int = 0
    converted: int = 0
    converted_4d: int = 0
    paid_orders: int = 0
    refunded: int = 0
    disputed: int = 0
    refunds_without_cs: int = 0
    reviews: int = 0
    bad_reviews: int = 0

    def add(self, other: OutcomeCounts) -> None:
        """Add *other*'s counts into these."""
        for f in attrs.fields(OutcomeCounts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@attrs.frozen(slots=True)
class OutcomeKpi:
    """One KPI value with its counts, or ``None`` and the reason it is undefined.

    .. versionadded:: 0.2.0
    """

    name: str
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None
    reason: str | None = None

    @property
    def definition(self) -> str:
        """How the KPI is computed here."""
        return KPI_DEFINITIONS[self.name][0]

    @property
    def source(self) -> str:
        """Where the definition comes from (DOMAIN section and its sources)."""
        return KPI_DEFINITIONS[self.name][1]


def _rate(name: str, num: int, den: int, empty: str) -> OutcomeKpi:
    if den == 0:
        return OutcomeKpi(name, None, num, den, empty)
    return OutcomeKpi(name, num / den, num, den, None)


def kpis_of(counts: OutcomeCounts, given: frozenset[str]) -> dict[str, OutcomeKpi]:
    """Return every KPI of *counts*; *given* names the outcome kinds that were read."""
    c = counts
    out: dict[str, OutcomeKpi] = {}

    def missing(kind: str) -> str:
        return f"no {kind} file given"

    if "ratings" in given:
        out["rated"] = OutcomeKpi("rated", c.rated, c.rated, None)
        out["rating_rate"] = _rate("rating_rate", c.rated, c.conversations, "no conversations")
        out["satisfaction_rate"] = _rate("satisfaction_rate", c.satisfied, c.rated, "no ratings")
        out["dissatisfaction_rate"] = _rate(
            "dissatisfaction_rate", c.dissatisfied, c.rated, "no ratings"
        )
    else:
        for name in ("rated", "rating_rate", "satisfaction_rate", "dissatisfaction_rate"):
            out[name] = OutcomeKpi(name, None, reason=missing("ratings"))
    if "orders" in given:
        out["inquiries"] = OutcomeKpi("inquiries", c.inquiries, c.inquiries, None)
        out["inquiry_conversion"] = _rate(
            "inquiry_conversion", c.converted, c.inquiries, "no inquiries"
        )
        out["inquiry_conversion_4d"] = _rate(
            "inquiry_conversion_4d", c.converted_4d, c.inquiries, "no inquiries"
        )
        out["paid_orders"] = OutcomeKpi("paid_orders", c.paid_orders, c.paid_orders, None)
    else:
        for name in ("inquiries", "inquiry_conversion", "inquiry_conversion_4d", "paid_orders"):
            out[name] = OutcomeKpi(name, None, reason=missing("orders"))
    if "orders" in given and "refunds" in given:
        out["refund_rate"] = _rate("refund_rate", c.refunded, c.paid_orders, "no paid orders")
        if c.refunds_without_cs:
            why = (
                f"{c.refunds_without_cs} successful refund(s) have no 客服介入状态 "
                "(退款单.xlsx lacks it); use the Tmall refund export"
            )
            out["dispute_rate"] = OutcomeKpi("dispute_rate", None, c.disputed, c.paid_orders, why)
        else:
            out["dispute_rate"] = _rate("dispute_rate", c.disputed, c.paid_orders, "no paid orders")
    else:
        why = missing("orders" if "orders" not in given else "refunds")
        out["refund_rate"] = OutcomeKpi("refund_rate", None, reason=why)
        out["dispute_rate"] = OutcomeKpi("dispute_rate", None, reason=why)
    if "orders" in given and "reviews" in given:
        out["bad_review_rate"] = _rate("bad_review_rate", c.bad_reviews, c.reviews, "no reviews")
    else:
        why = missing("orders" if "orders" not in given else "reviews")
        out["bad_review_rate"] = OutcomeKpi("bad_review_rate", None, reason=why)
    return out


_VALID_BY = ("agent", "day", "shop", "agent_day")  # agent_day: keys (agent, day), for trends


@attrs.frozen
class OutcomeSummary:
    """Outcome counts per group (``by``: ``agent``, ``day``, ``shop``, ``agent_day``); mergeable.

    ``given`` names the outcome kinds read (``ratings``, ``orders``, ``refunds``,
    ``reviews``): a KPI needing a kind not given is ``None`` with that reason.
    ``a.merge(b)`` is exact: it adds counts.  Summaries of shards merge into
    the summary of the whole when each buyer's conversations and outcome rows
    are in one shard (the join is per buyer).

    .. versionadded:: 0.2.0
    """

    by: str
    groups: Mapping[Any, OutcomeCounts]
    given: frozenset[str] = frozenset()

    def __attrs_post_init__(self) -> None:
        if self.by not in _VALID_BY:
            raise ConfigError(f"by must be one of {', '.join(_VALID_BY)}, got {self.by!r}")

    @classmethod
    def empty(cls, by: str = "agent") -> OutcomeSummary:
        """Return the summary of nothing (the identity of :meth:`merge`)."""
        return cls(by, {})

    def merge(self, *others: OutcomeSummary) -> OutcomeSummary:
        """Return the summary of this and *others* together (inputs unchanged)."""
        groups: dict[Any, OutcomeCounts] = {}
        given = set(self.given)
        for part in (self, *others):
            if part.by != self.by:
                raise ConfigError(f"cannot merge a summary by {part.by!r} into one by {self.by!r}")
            given |= part.given
            for key, counts in part.groups.items():
                groups.setdefault(key, OutcomeCounts()).add(counts)
        return OutcomeSummary(self.by, groups, frozenset(given))

    def counts(self, key: Any) -> OutcomeCounts:
        """Return the counts of one group (zeros when the group is absent)."""
        return self.groups.get(key, OutcomeCounts())

    def total(self) -> OutcomeCounts:
        """Return the counts of all groups together."""
        out = OutcomeCounts()
        for counts in self.groups.values():
            out.add(counts)
        return out

    def kpis(self, key: Any) -> dict[str, OutcomeKpi]:
        """Return the KPIs of one group (name -> :class:`OutcomeKpi`)."""
        return kpis_of(self.counts(key), self.given)

    def columns(self, key: Any) -> dict[str, float | int | None]:
        """Return the KPI values of one group, named as the ``agents.csv`` columns."""
        return {name: k.value for name, k in self.kpis(key).items()}

    def rows(self) -> Iterator[dict[str, Any]]:
        """Yield one row per group (sorted, ``None`` keys last): key plus KPI values."""
        for key in sorted(self.groups, key=lambda k: (k is None, str(k))):
            yield {self.by: key, "conversations": self.groups[key].conversations} | self.columns(
                key
            )
