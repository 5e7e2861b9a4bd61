"""A partitioned outcome join: memory bounded by a partition, not by the input.

:class:`PartitionedOutcomeJoin` has the interface of
:class:`~kefu_standards.outcomes.OutcomeJoin` (``add``, ``watch``, ``join``) but
spills every conversation stub and outcome row to temporary files, partitioned
by buyer, and then runs the in-memory join one partition at a time, merging the
results.  The join rules work per buyer, so this gives the same counts, KPIs
and diagnosis as the in-memory join (a Hypothesis test checks this).  Rows are
routed so that each ends in the partition of the conversation it can join:

- conversations, ratings and orders with a buyer go by a hash of the buyer
  (a conversation without a buyer by its id: it joins only orders it quotes);
- an order whose id a chat quotes goes to the partition of the quoting chat
  the in-memory rule would pick (the latest one started before the order,
  else the earliest);
- refunds and reviews go to the partition of their order (found through a
  second, order-id partitioning, so no whole-input index is held);
  rows of an unknown order go to partition 0, where they end unmatched.

An order routed to another buyer's quoting chat is also copied, as a fact
only, to its own buyer's partition, so that buyer's inquiries see when they
ordered and paid, as in the in-memory join.

**Flat memory.**  A partition holding more than ``max_rows`` spilled items is
split again (by a second, independent hash of the same key) into as many
pieces as needed before it is joined, so the rows held at once stay below
``max_rows`` whatever the input size; writes are buffered a bounded number of
rows at a time.  Only one buyer's (or one order id's) rows cannot be split.
The diagnosis is fed per partition into bounded accumulators
(:class:`~kefu_standards.outcomes.DiagnosisSums`), so it stays available.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

import attrs

from kefu_standards.exceptions import ConfigError
from kefu_standards.model import Conversation

from ._diagsums import DiagnosisSums
from ._join import ChatStub, OutcomeJoin, OutcomeResult, quoting_chat
from ._records import Order, Rating, Refund, Review

__all__ = ["PartitionedOutcomeJoin"]

#: Items buffered in memory per spill before they are written (one pickle per file).
_BATCH = 1024


def _part(key: str | None, n: int, level: int = 0) -> int:
    """Return the partition of *key* among *n*; *level* 1 hashes independently of level 0."""
    if key is None or n == 1:
        return 0
    data = key.encode("utf-8")
    if level == 0:
        return zlib.crc32(data) % n
    digest = hashlib.blake2b(data, digest_size=8, salt=level.to_bytes(8, "little")).digest()
    return int.from_bytes(digest, "little") % n


def _route_key(stub: ChatStub) -> str:
    """Return the key a stub is partitioned by: its buyer, else (no buyer) its own id."""
    return stub.buyer if stub.buyer is not None else "\x00" + stub.id


class _Spill:
    """Keyed items in *n* append-only files ``<name>-<k>.pkl``, written in batches.

    At most :data:`_BATCH` items wait in memory; then every partition's waiting
    items are appended to its file as one pickled list (the file is opened only
    for that write, so any number of partitions needs no open handles).
    """

    def __init__(self, folder: Path, name: str, n: int, level: int = 0) -> None:
        self.n, self.level = n, level
        self.paths = [folder / f"{name}-{k}.pkl" for k in range(n)]
        self.counts = [0] * n
        self._pending: list[list[tuple[str | None, Any]]] = [[] for _ in range(n)]
        self._waiting = 0

    def put(self, key: str | None, item: object, k: int | None = None) -> None:
        """Add *item* under *key* (to partition *k* if given, else the key's)."""
        if k is None:
            k = _part(key, self.n, self.level)
        self._pending[k].append((key, item))
        self.counts[k] += 1
        self._waiting += 1
        if self._waiting >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the waiting items to their files."""
        for k, items in enumerate(self._pending):
            if items:
                with self.paths[k].open("ab") as fh:
                    pickle.dump(items, fh, protocol=pickle.HIGHEST_PROTOCOL)
                items.clear()
        self._waiting = 0

    def read(self, k: int) -> Iterator[tuple[str | None, Any]]:
        """Yield partition *k*'s ``(key, item)`` pairs in the order written."""
        self.flush()
        path = self.paths[k]
        if not path.exists():
            return
        with path.open("rb") as fh:
            while True:
                try:
                    batch = pickle.load(fh)
                except EOFError:
                    return
                yield from batch

    def items(self, k: int) -> Iterator[Any]:
        """Yield partition *k*'s items (without their keys)."""
        for _, item in self.read(k):
            yield item

    def drop(self, k: int) -> None:
        """Remove partition *k*'s file (it was read for the last time)."""
        self.paths[k].unlink(missing_ok=True)


def _leaves(
    folder: Path, spills: dict[str, _Spill], k: int, limit: int, name: str
) -> Iterator[dict[str, Callable[[], Iterator[Any]]]]:
    """Yield partition *k* of *spills*, split into pieces of at most about *limit* items.

    Each piece maps a spill's name to a function reading that piece's items.
    """
    size = sum(s.counts[k] for s in spills.values())
    if size <= limit:
        yield {kind: partial(s.items, k) for kind, s in spills.items()}
        for s in spills.values():
            s.drop(k)
        return
    pieces = math.ceil(size / limit)
    subs = {kind: _Spill(folder, f"{name}-{kind}-{k}", pieces, level=1) for kind in spills}
    for kind, s in spills.items():
        for key, item in s.read(k):
            subs[kind].put(key, item)
        s.drop(k)
    for j in range(pieces):
        yield {kind: partial(s.items, j) for kind, s in subs.items()}
        for s in subs.values():
            s.drop(j)


class PartitionedOutcomeJoin:
    """The outcome join in partitions spilled to a temporary folder; flat memory.

    Arguments as :class:`~kefu_standards.outcomes.OutcomeJoin`, plus
    *partitions* (the first split; default 16), *max_rows* (a partition with
    more spilled rows is split again before it is joined, so memory does not
    grow with the input) and *folder* (where to spill; a temporary folder,
    removed after :meth:`join`, by default).  ``keep_links`` and
    ``keep_flags`` are not offered: they are what the spill avoids holding.
    The diagnosis is available (``OutcomeResult.sums``).

    .. versionadded:: 0.2.0
    .. versionchanged:: 0.2.0
       *max_rows*; the diagnosis accumulators; buffered writes.
    """

    def __init__(
        self,
        *,
        partitions: int = 16,
        max_rows: int = 5000,
        folder: str | Path | None = None,
        tz: str | tzinfo | None = None,
        rating_window: timedelta = timedelta(days=1),
        session_tolerance: timedelta = timedelta(seconds=120),
        order_window_days: int = 2,
    ) -> None:
        if partitions < 1:
            raise ConfigError(f"partitions must be >= 1, got {partitions}")
        if max_rows < 1:
            raise ConfigError(f"max_rows must be >= 1, got {max_rows}")
        self.partitions = partitions
        self.max_rows = max_rows
        self._settings: dict[str, Any] = {
            "tz": tz,
            "rating_window": rating_window,
            "session_tolerance": session_tolerance,
            "order_window_days": order_window_days,
        }
        OutcomeJoin(**self._settings)  # validate the settings now
        self._tmp = None if folder is not None else tempfile.TemporaryDirectory()
        self.folder = Path(folder) if folder is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        n = partitions
        self._stubs = _Spill(self.folder, "stubs", n)
        self._quotes = _Spill(self.folder, "quotes", n)  # by order id

    def add(self, conversation: Conversation, result: Any = None) -> None:
        """Spill *conversation*'s stub (and the order ids it quotes) to its partitions.

        *result*, its ``ConversationResult``, feeds the diagnosis: pass
        ``on_result=join.add`` to :func:`~kefu_standards.analyze`.
        """
        self.add_stub(ChatStub.of(conversation, self._settings["tz"], result))

    def add_stub(self, stub: ChatStub) -> None:
        """Spill a conversation's stub."""
        key = _route_key(stub)
        self._stubs.put(key, stub)
        for q in stub.quoted:
            self._quotes.put(q, (q, stub))

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
        n, folder, limit = self.partitions, self.folder, self.max_rows
        try:
            by_buyer = {
                kind: _Spill(folder, kind, n)
                for kind in ("ratings", "orders", "refunds", "reviews", "facts")
            }
            by_id = {kind: _Spill(folder, f"{kind}-id", n) for kind in ("orders", "tail")}
            seen: dict[tuple[str, str], None] = {}  # files in the order read
            for rating in ratings or ():
                seen.setdefault(("rating", rating.file))
                by_buyer["ratings"].put(rating.buyer, rating)
            for order in orders or ():
                seen.setdefault(("order", order.file))
                by_id["orders"].put(order.order_id, order)
            for kind, rows in (("refunds", refunds), ("reviews", reviews)):
                for row in rows or ():
                    seen.setdefault((kind[:-1], row.file))
                    by_id["tail"].put(row.order_id, (kind, row))
            # route each order id partition: quote first, else buyer; then its refunds
            id_spills = {"quotes": self._quotes, **by_id}
            for j in range(n):
                for piece in _leaves(folder, id_spills, j, limit, "id"):
                    self._route(piece, by_buyer)
            given: dict[str, Any] = {
                "ratings": ratings,
                "orders": orders,
                "refunds": refunds,
                "reviews": reviews,
            }
            result: OutcomeResult | None = None
            sums = DiagnosisSums()
            buyer_spills = {"stubs": self._stubs, **by_buyer}
            for k in range(n):
                for piece in _leaves(folder, buyer_spills, k, limit, "buyer"):
                    part = OutcomeJoin(**self._settings)
                    for stub in piece["stubs"]():
                        part.add_stub(stub)
                    got = part.join(
                        **{
                            kind: (None if given[kind] is None else piece[kind]()) for kind in given
                        },
                        order_facts=piece["facts"](),
                    )
                    sums.merge_into(got.sums)
                    got = attrs.evolve(got, sums=DiagnosisSums())  # summed above, in place
                    result = got if result is None else result.merge(got)
            if result is None:  # no partition (cannot happen: n >= 1)
                result = OutcomeJoin(**self._settings).join(**given)  # pragma: no cover
            rank = {key: i for i, key in enumerate(seen)}
            files = sorted(result.files, key=lambda c: rank.get((c.kind, c.file), len(rank)))
            return attrs.evolve(result, files=tuple(files), sums=sums)
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()

    def _route(
        self, piece: dict[str, Callable[[], Iterator[Any]]], by_buyer: dict[str, _Spill]
    ) -> None:
        """Route one order-id piece's orders, refunds and reviews to their buyer partitions."""
        quotes: dict[str, list[ChatStub]] = {}
        for q, stub in piece["quotes"]():
            quotes.setdefault(q, []).append(stub)
        home: dict[str, str | None] = {}
        for order in piece["orders"]():
            if order.order_id in home:
                key = home[order.order_id]
            else:
                key = _route(order, quotes.get(order.order_id))
                home[order.order_id] = key
            by_buyer["orders"].put(key, order)
            if order.buyer is not None and key != order.buyer:  # its buyer's inquiries
                by_buyer["facts"].put(order.buyer, order)
        for kind, row in piece["tail"]():
            by_buyer[kind].put(home.get(row.order_id), row)


def _route(order: Order, quoting: list[ChatStub] | None) -> str | None:
    """Return the key of the partition whose chats the in-memory join would link *order* to."""
    if quoting:
        return _route_key(quoting_chat(quoting, order.when))
    return order.buyer
