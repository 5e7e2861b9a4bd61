"""A bounded, thread-safe cache keyed by text: the one cache an analyser may keep.

Each text analyser keeps at most one of these, behind its public functions
(``sentiment`` / ``sentiment_many`` per :class:`~kefu_standards.SentimentModel`,
``politeness`` / ``politeness_many`` for the built-in lexicon).  It holds results
that depend only on the text (and the immutable model or lexicon it belongs to),
so a hit is exactly what computing again would give.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

__all__ = ["TextCache"]

V = TypeVar("V")


class TextCache(Generic[V]):
    """At most *maxsize* results by text; the oldest entry goes first.

    A hit does not refresh its entry (first in, first out): a look-up is one dict
    read, and a text that keeps coming back is computed again once per *maxsize*
    new texts.  ``maxsize=0`` keeps nothing (every look-up misses).
    """

    __slots__ = ("_data", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        """Return the result kept for *key*, or ``None``."""
        return self._data.get(key)

    def get_many(self, keys: Sequence[str]) -> list[V | None]:
        """:meth:`get` of each key."""
        get = self._data.get
        return [get(key) for key in keys]

    def put(self, key: str, value: V) -> None:
        """Keep *value* for *key*."""
        self.put_many(((key, value),))

    def put_many(self, items: Iterable[tuple[str, V]]) -> None:
        """Keep each ``(key, value)``, then drop the oldest entries beyond ``maxsize``."""
        if self.maxsize <= 0:
            return
        with self._lock:
            data = self._data
            data.update(items)
            while len(data) > self.maxsize:
                data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<TextCache {len(self._data)}/{self.maxsize}>"
