"""A small immutable, hashable, picklable mapping for ``meta`` fields."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, Generic, TypeVar

__all__ = ["FrozenDict", "FrozenMap", "freeze"]


class FrozenDict(Mapping[str, Any]):
    """An immutable ``str``-keyed mapping.  Nested dicts and lists are frozen too."""

    __slots__ = ("_data", "_hash")
    _data: dict[str, Any]
    _hash: int | None

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        items: dict[str, Any] = {}
        if data is not None:
            scalars = _SCALARS
            for k, v in data.items():  # a plain loop: results are built for every conversation
                items[k if type(k) is str else str(k)] = v if type(v) in scalars else freeze(v)
        _set_data(self, items)
        _set_hash(self, None)

    @classmethod
    def _of_frozen(cls, data: dict[str, Any]) -> FrozenDict:
        """Return ``FrozenDict(data)`` for a dict of ``str`` keys whose values are all immutable.

        For values :func:`freeze` returns unchanged (scalars, frozen attrs objects,
        FrozenDicts): the result equals ``FrozenDict(data)`` without a call per value.
        The caller vouches for the values; *data* is copied.
        """
        out = object.__new__(cls)
        _set_data(out, dict(data))
        _set_hash(out, None)
        return out

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    # The read methods below are those of Mapping, answered by the dict itself (the
    # mixins would go through __iter__ and __getitem__ in Python for every key).

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of *key*, or *default*."""
        return self._data.get(key, default)

    def keys(self) -> KeysView[str]:
        """Return a read-only view of the keys."""
        return self._data.keys()

    def values(self) -> ValuesView[Any]:
        """Return a read-only view of the values."""
        return self._data.values()

    def items(self) -> ItemsView[str, Any]:
        """Return a read-only view of the ``(key, value)`` pairs."""
        return self._data.items()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrozenDict is immutable")

    def __hash__(self) -> int:
        cached = self._hash
        if cached is None:
            cached = hash(frozenset(self._data.items()))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return (FrozenDict, (self._data,))

    def thaw(self) -> dict[str, Any]:
        """Return a plain, mutable, deep copy (dicts and lists) for serialisation."""
        return {k: thaw(v) for k, v in self._data.items()}


#: Types :func:`freeze` returns unchanged at once (exact types: subclasses take the general path).
_SCALARS = frozenset({str, int, float, bool, type(None)})

# the slots' own setters (what object.__setattr__ finds, without the look-up)
_set_data: Any = vars(FrozenDict)["_data"].__set__
_set_hash: Any = vars(FrozenDict)["_hash"].__set__


def freeze(value: Any) -> Any:
    """Return an immutable equivalent of *value*.

    dict -> FrozenDict, list -> tuple, set -> frozenset, bytearray -> bytes.
    """
    if type(value) in _SCALARS:  # the common case, without the abstract-class checks
        return value
    if isinstance(value, FrozenDict):
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(v) for v in value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`, for JSON output."""
    if isinstance(value, FrozenDict):
        return value.thaw()
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only, picklable mapping with any hashable keys (tuples, ``None``), kept as given.

    Unlike :class:`FrozenDict` the keys are not made strings and the values are
    not frozen: the caller puts immutable values in (frozen attrs objects,
    numbers).  *data* is copied; item assignment raises ``TypeError``.
    """

    __slots__ = ("_items",)
    _items: dict[K, V]

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        object.__setattr__(self, "_items", dict(data) if data is not None else {})

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K, default: Any = None) -> Any:
        """Return the value of *key*, or *default*."""
        return self._items.get(key, default)

    def items(self) -> ItemsView[K, V]:
        """Return a read-only view of the ``(key, value)`` pairs."""
        return self._items.items()

    def values(self) -> ValuesView[V]:
        """Return a read-only view of the values."""
        return self._items.values()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrozenMap is immutable")

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._items == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self) -> tuple[type[FrozenMap[K, V]], tuple[dict[K, V]]]:
        return (FrozenMap, (self._items,))


def frozen_map(value: Mapping[Any, Any]) -> FrozenMap[Any, Any]:
    """Return *value* as a :class:`FrozenMap` (itself if it is one; attrs converter)."""
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


def frozen_dict(value: Mapping[str, Any]) -> FrozenDict:
    """Return *value* as a :class:`FrozenDict` (itself if it is one; attrs converter)."""
    return value if isinstance(value, FrozenDict) else FrozenDict(value)
