"""A partitioned outcome join: memory bounded by one partition, not by the whole input.

:class:`PartitionedOutcomeJoin` has the interface of
:class:`~kefu_standards.outcomes.OutcomeJoin` (``add``, ``watch``, ``join``) but
spills every conversation stub and outcome row to temporary files, partitioned
by buyer, and then runs the in-memory join one partition at a time, merging the
results.  The join rules work per buyer, so this gives the same counts and
KPIs as the in-memory join (a test checks this) with about ``1 / partitions``
of its memory.  Rows are routed so that each ends in the partition of the
conversation it can join:

- conversations, ratings and orders with a buyer go by ``hash(buyer)``;
- an order whose id a chat quotes goes to the partition of the quoting chat
  the in-memory rule would pick (the latest one started before the order,
  else the earliest);
- refunds and reviews go to the partition of their order (found through a
  second, order-id partitioning, so no whole-input index is held);
  rows of an unknown order go to partition 0, where they end unmatched.

An order routed to another buyer's quoting chat is also copied, as a fact
only, to its own buyer's partition, so that buyer's inquiries see when they
ordered and paid, as in the in-memory join.
"""

from __future__ import annotations

import pickle
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import IO, Any

from kefu_standards.exceptions import ConfigError
from kefu_standards.model import Conversation

from ._join import ChatStub, OutcomeJoin, OutcomeResult, quoting_chat
from ._records import Order, Rating, Refund, Review

__all__ = ["PartitionedOutcomeJoin"]


def _part(key: str | None, n: int) -> int:
    return 0 if key is None else zlib.crc32(key.encode("utf-8")) % n


class _Spill:
    """Append-only pickle files ``<name>-<k>``; one handle open per file while writing."""

    def __init__(self, folder: Path, name: str, n: int) -> None:
        self.paths = [folder / f"{name}-{k}.pkl" for k in range(n)]
        self._handles: list[IO[bytes] | None] = [None] * n

    def put(self, k: int, item: object) -> None:
        handle = self._handles[k]
        if handle is None:
            handle = self._handles[k] = self.paths[k].open("ab")
        pickle.dump(item, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def close(self) -> None:
        for i, handle in enumerate(self._handles):
            if handle is not None:
                handle.close()
                self._handles[i] = None

    def read(self, k: int) -> Iterator[Any]:
        self.close()
        path = self.paths[k]
        if not path.exists():
            return
        with path.open("rb") as fh:
            while True:
                try:
                    yield pickle.load(fh)
                except EOFError:
                    return


class PartitionedOutcomeJoin:
    """The outcome join in *partitions* pieces spilled to a temporary folder.

    Arguments as :class:`~kefu_standards.outcomes.OutcomeJoin`, plus
    *partitions* (how many pieces; memory is about 1/partitions of the
    in-memory join's) and *folder* (where to spill; a temporary folder,
    removed after :meth:`join`, by default).  ``keep_links`` is not offered:
    the links are what the spill avoids holding; ``keep_flags`` (for
    :func:`~kefu_standards.outcomes.diagnose`) is off by default for the same
    reason.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        *,
        partitions: int = 32,
        folder: str | Path | None = None,
        tz: str | tzinfo | None = None,
        rating_window: timedelta = timedelta(days=1),
        session_tolerance: timedelta = timedelta(seconds=120),
        order_window_days: int = 2,
        keep_flags: bool = False,
    ) -> None:
        if partitions < 1:
            raise ConfigError(f"partitions must be >= 1, got {partitions}")
        self.partitions = partitions
        self._settings: dict[str, Any] = {
            "tz": tz,
            "rating_window": rating_window,
            "session_tolerance": session_tolerance,
            "order_window_days": order_window_days,
            "keep_flags": keep_flags,
        }
        OutcomeJoin(**self._settings)  # validate the settings now
        self._tmp = None if folder is not None else tempfile.TemporaryDirectory()
        self.folder = Path(folder) if folder is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        n = partitions
        self._stubs = _Spill(self.folder, "stubs", n)
        self._quotes = _Spill(self.folder, "quotes", n)  # by hash(order id)

    def add(self, conversation: Conversation) -> None:
        """Spill *conversation*'s stub (and the order ids it quotes) to its partitions."""
        stub = ChatStub.of(conversation, self._settings["tz"])
        k = _part(stub.buyer, self.partitions)
        self._stubs.put(k, stub)
        for q in stub.quoted:
            self._quotes.put(_part(q, self.partitions), (q, k, stub))

    def watch(self, conversations: Iterable[Conversation]) -> Iterator[Conversation]:
        """Yield *conversations* unchanged, spilling each."""
        for conv in conversations:
            self.add(conv)
            yield conv

    def join(
        self,
        ratings: Iterable[Rating] | None = None,
        orders: Iterable[Order] | None = None,
        refunds: Iterable[Refund] | None = None,
        reviews: Iterable[Review] | None = None,
    ) -> OutcomeResult:
        """Route every row to its partition, join each partition, merge the results."""
        n = self.partitions
        try:
            by_buyer = {
                kind: _Spill(self.folder, kind, n)
                for kind in ("ratings", "orders", "refunds", "reviews")
            }
            by_id = {kind: _Spill(self.folder, f"{kind}-id", n) for kind in ("orders", "tail")}
            facts = _Spill(self.folder, "facts", n)  # orders routed away from their buyer
            for rating in ratings or ():
                by_buyer["ratings"].put(_part(rating.buyer, n), rating)
            for order in orders or ():
                by_id["orders"].put(_part(order.order_id, n), order)
            for kind, rows in (("refunds", refunds), ("reviews", reviews)):
                for row in rows or ():
                    by_id["tail"].put(_part(row.order_id, n), (kind, row))
            # route each order id partition: quote first, else buyer; then its refunds
            for j in range(n):
                quotes: dict[str, list[tuple[int, ChatStub]]] = {}
                for q, k, stub in self._quotes.read(j):
                    quotes.setdefault(q, []).append((k, stub))
                home: dict[str, int] = {}
                for order in by_id["orders"].read(j):
                    k = home.get(order.order_id)
                    if k is None:
                        k = _route(order, quotes.get(order.order_id), n)
                        home[order.order_id] = k
                    by_buyer["orders"].put(k, order)
                    own = _part(order.buyer, n)
                    if order.buyer is not None and own != k:
                        facts.put(own, order)
                for kind, row in by_id["tail"].read(j):
                    by_buyer[kind].put(home.get(row.order_id, 0), row)
            given = {
                "ratings": ratings,
                "orders": orders,
                "refunds": refunds,
                "reviews": reviews,
            }
            result: OutcomeResult | None = None
            for k in range(n):
                part = OutcomeJoin(**self._settings)
                for stub in self._stubs.read(k):
                    part.add_stub(stub)
                got = part.join(
                    **{
                        kind: (None if given[kind] is None else by_buyer[kind].read(k))
                        for kind in given
                    },
                    order_facts=facts.read(k),
                )
                result = got if result is None else result.merge(got)
            assert result is not None
            return result
        finally:
            for spill in (self._stubs, self._quotes):
                spill.close()
            if self._tmp is not None:
                self._tmp.cleanup()


def _route(order: Order, quoting: list[tuple[int, ChatStub]] | None, n: int) -> int:
    """Return the partition whose chats the in-memory join would link *order* to."""
    if quoting:
        return _part(quoting_chat([stub for _, stub in quoting], order.when).buyer, n)
    return _part(order.buyer, n)
