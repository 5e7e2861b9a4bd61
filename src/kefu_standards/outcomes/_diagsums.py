"""Bounded, mergeable accumulators behind the diagnosis.

The diagnosis compares, per group (the shop ``"*"`` and each agent) and outcome
(dissatisfied, refunded, disputed), the chats that ended badly (*bad* side)
with the rest of the comparable chats (*rest* side).  Each side keeps, whatever
the number of chats:

- **exact counts and sums** of every signal (so the group means are exact), the
  sum held as a short canonical expansion of floats (the exactly rounded sum,
  then the exactly rounded remainder, …), so it does not depend on the order
  or partitioning in which chats arrive;
- exact counts of the chats, of each topic and of product-side and
  service-side buyer words;
- a **bounded sample** of :data:`SAMPLE_SIZE` chats: the ones whose
  conversation id hashes lowest (a bottom-*k* sample).  It is a uniform
  sample that does not depend on the order or the partitioning of the input,
  and it merges exactly; while a side has at most :data:`SAMPLE_SIZE` chats it
  holds all of them.  The bootstrap interval and Cliff's delta are computed on
  it.

Memory is therefore bounded by the number of groups and signals, not by the
number of chats: the join feeds a partition at a time (:meth:`DiagnosisSums.add`)
and merges (:meth:`DiagnosisSums.merge`).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

__all__ = ["OUTCOMES", "SAMPLE_SIZE", "DiagnosisSums", "SideSums", "signal_values"]

#: Chats sampled per group, outcome and side for the bootstrap and Cliff's delta.
SAMPLE_SIZE = 400

#: Outcome compared -> (flag, population flag, words used in sentences).
OUTCOMES: Mapping[str, tuple[str, str, str]] = {
    "dissatisfied": ("dissatisfied", "rated", "the other rated chats"),
    "refunded": ("refunded", "ordered", "the other chats that led to a paid order"),
    "disputed": ("disputed", "ordered", "the other chats that led to a paid order"),
}

Signals = tuple[tuple[str, float], ...]


def signal_values(result: Any) -> Signals:
    """Return the numbers the diagnosis compares, from one conversation's analysis result.

    *result* is a :class:`~kefu_standards.analysis.ConversationResult` (read by
    attribute): first and mean wait, unanswered rounds, impolite replies,
    politeness, escalation risk, the competency total and each dimension score
    (``dim:<name>``).  Undefined values are left out.
    """
    out: list[tuple[str, float]] = []

    def put(name: str, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if math.isfinite(value):
            out.append((name, float(value)))

    put("first_response_s", result.first_response_s)
    put("mean_response_s", result.mean_response_s)
    put("unanswered", result.rounds - result.answered)
    put("impolite_messages", result.impolite_messages)
    put("politeness", result.politeness)
    put("escalation", result.escalation)
    put("total", result.total)
    for name, score in result.dimensions:
        put(f"dim:{name}", score)
    return tuple(out)


def _priority(key: str) -> int:
    """Return the sampling priority of a conversation: a stable 63-bit hash of its id."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def _expand(values: list[float]) -> tuple[float, ...]:
    """Return the exact sum of *values* as a canonical tuple of floats ``(s1, s2, …)``.

    s1 is the exactly rounded sum, s2 the exactly rounded rest, and so on.

    Each term is the exactly rounded remainder of the sum so far (``math.fsum``),
    so the expansion is canonical: equal exact sums give equal tuples, whatever
    the order or grouping in which the values were added.
    """
    out: list[float] = []
    rest = list(values)
    while len(out) < 64:
        s = math.fsum(rest)
        if s == 0.0:
            break
        out.append(s)
        rest.append(-s)
    return tuple(out)


#: One joined chat: (id, agents, outcome flags, signals, topic, product cues, service cues).
Chat = tuple[str, Sequence[str], frozenset[str], Signals, str | None, int, int]

#: One sampled chat: (priority, conversation id, its signal names, their values).
#: The names tuple is shared by the chats of one batch and an entry by every side
#: it is sampled in, so a sample costs a few hundred bytes per chat.
Sampled = tuple[int, str, tuple[str, ...], tuple[float, ...]]


@attrs.define
class SideSums:
    """One side (bad or rest) of one group and outcome: exact sums and a bounded sample.

    .. versionadded:: 0.2.0
    """

    chats: int = 0
    product: int = 0
    service: int = 0
    n: dict[str, int] = attrs.field(factory=dict)
    sums: dict[str, tuple[float, ...]] = attrs.field(factory=dict)
    topics: Counter[str] = attrs.field(factory=Counter)
    sample: list[Sampled] = attrs.field(factory=list)

    def mean(self, name: str) -> float | None:
        """Return the exact mean of signal *name* over this side (``None`` without values)."""
        n = self.n.get(name, 0)
        if n == 0:
            return None
        total = self.sums[name]
        return (total[0] if total else 0.0) / n

    def sampled(self, name: str) -> np.ndarray[Any, Any]:
        """Return the sampled values of signal *name*, in sample (hash) order."""
        out = []
        for _, _, names, values in self.sample:
            if name in names:
                out.append(values[names.index(name)])
        return np.asarray(out, float)

    def merge_into(self, other: SideSums) -> None:
        """Add *other*'s counts, sums and sample into this side."""
        self.chats += other.chats
        self.product += other.product
        self.service += other.service
        for name, n in other.n.items():
            self.n[name] = self.n.get(name, 0) + n
            self.sums[name] = _expand([*self.sums.get(name, ()), *other.sums[name]])
        self.topics.update(other.topics)
        limit = self.threshold()
        self.keep([t for t in other.sample if limit is None or (t[0], t[1]) < limit])

    def keep(self, candidates: list[Sampled]) -> None:
        """Add *candidates* to the sample, keeping the lowest priorities."""
        if candidates:
            merged = self.sample + candidates
            merged.sort(key=lambda t: (t[0], t[1]))
            self.sample = merged[:SAMPLE_SIZE]

    def threshold(self) -> tuple[int, str] | None:
        """Return the largest kept priority once the sample is full (candidates must be below)."""
        if len(self.sample) < SAMPLE_SIZE:
            return None
        last = self.sample[-1]
        return (last[0], last[1])


@attrs.define
class DiagnosisSums:
    """The diagnosis' accumulators of every group, outcome and side; mergeable.

    Feed it the joined chats one partition at a time with :meth:`add`; its size
    does not grow with the number of chats (see the module notes).

    .. versionadded:: 0.2.0
    """

    sides: dict[tuple[str, str, str], SideSums] = attrs.field(factory=dict)

    def side(self, group: str, outcome: str, which: str) -> SideSums:
        """Return the accumulator of *group*'s *outcome* chats (*which*: ``bad`` or ``rest``)."""
        key = (group, outcome, which)
        got = self.sides.get(key)
        if got is None:
            got = self.sides[key] = SideSums()
        return got

    def add(
        self,
        chats: Iterable[Chat],
    ) -> None:
        """Add joined chats: ``(id, agents, flags, signals, topic, product cues, service cues)``.

        Only chats in an outcome's population (``rated``, ``ordered``) count for
        it; chats without signals still count in the chats and topics.
        """
        rows = [c for c in chats if c[2] & {"rated", "ordered"}]
        if not rows:
            return
        names = sorted({name for r in rows for name, _ in r[3]})
        col = {name: j for j, name in enumerate(names)}
        values = np.full((len(rows), len(names)), np.nan)
        for i, r in enumerate(rows):
            for name, v in r[3]:
                values[i, col[name]] = v
        present = ~np.isnan(values)
        prio = [_priority(r[0]) for r in rows]
        groups: dict[str, list[int]] = {"*": list(range(len(rows)))}
        for i, r in enumerate(rows):
            for agent in dict.fromkeys(r[1]):
                groups.setdefault(agent, []).append(i)
        batch = _Batch(rows, tuple(names), values, present, prio)
        for outcome, (flag, population, _) in OUTCOMES.items():
            for group, members in groups.items():
                bad = [i for i in members if population in rows[i][2] and flag in rows[i][2]]
                rest = [i for i in members if population in rows[i][2] and flag not in rows[i][2]]
                for which, idx in (("bad", bad), ("rest", rest)):
                    if idx:
                        _add_side(self.side(group, outcome, which), idx, batch)

    def merge(self, *others: DiagnosisSums) -> DiagnosisSums:
        """Return these sums and *others*' together (inputs unchanged)."""
        out = DiagnosisSums()
        for part in (self, *others):
            out.merge_into(part)
        return out

    def merge_into(self, other: DiagnosisSums) -> None:
        """Add *other*'s accumulators into these (*other* unchanged)."""
        for key, side in other.sides.items():
            self.side(*key).merge_into(side)

    def __bool__(self) -> bool:
        return bool(self.sides)


@attrs.frozen
class _Batch:
    """The chats of one :meth:`DiagnosisSums.add` call as arrays (one row per chat)."""

    rows: list[Chat]
    names: tuple[str, ...]
    values: np.ndarray[Any, Any]
    present: np.ndarray[Any, Any]
    prio: list[int]
    entries: dict[int, Sampled] = attrs.field(factory=dict)

    names_of: dict[tuple[str, ...], tuple[str, ...]] = attrs.field(factory=dict)

    def entry(self, i: int) -> Sampled:
        """Return chat *i*'s sample entry (built once, shared by every side).

        The entry holds the chat's own defined signals, so it is the same
        whichever batch the chat came in (the sample does not depend on the
        partitioning); equal name tuples are shared within the batch.
        """
        got = self.entries.get(i)
        if got is None:
            pairs = self.rows[i][3]
            names = tuple(name for name, _ in pairs)
            names = self.names_of.setdefault(names, names)
            values = tuple(v for _, v in pairs)
            got = self.entries[i] = (self.prio[i], self.rows[i][0], names, values)
        return got


def _add_side(side: SideSums, idx: list[int], batch: _Batch) -> None:
    """Add the chats *idx* of *batch* to *side*: counts, exact sums, the sample."""
    rows, names, prio = batch.rows, batch.names, batch.prio
    side.chats += len(idx)
    side.product += sum(1 for i in idx if rows[i][5])
    side.service += sum(1 for i in idx if rows[i][6])
    side.topics.update(t for i in idx if (t := rows[i][4]) is not None)
    sub, ok = batch.values[idx], batch.present[idx]
    for j, name in enumerate(names):
        col = sub[ok[:, j], j]
        if len(col):
            side.n[name] = side.n.get(name, 0) + len(col)
            side.sums[name] = _expand([*side.sums.get(name, ()), *col.tolist()])
    limit = side.threshold()
    cands = [batch.entry(i) for i in idx if limit is None or (prio[i], rows[i][0]) < limit]
    side.keep(cands)
