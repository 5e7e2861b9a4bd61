"""Audit regression: meta is frozen all the way down (sets and bytearrays too).

``Conversation.from_records`` puts unknown record keys into ``Message.meta``; a set
there stayed a mutable ``set`` inside the frozen message, so the "immutable"
message could be changed and ``hash(conversation)`` raised ``TypeError``.
"""

from __future__ import annotations

from typing import Any

import pytest

import kefu_standards as ks


@pytest.mark.parametrize(
    ("value", "frozen"),
    [
        ({"a", "b"}, frozenset({"a", "b"})),
        (frozenset({1}), frozenset({1})),
        (bytearray(b"x"), b"x"),
        ([{"s": {1}}], ({"s": frozenset({1})},)),
        (["a", 1, None], ("a", 1, None)),  # lists were already frozen to tuples
        ("text", "text"),
    ],
)
def test_meta_values_are_frozen(value: Any, frozen: Any) -> None:
    """Each mutable container in a record's extra keys or meta becomes its frozen form."""
    conv = ks.Conversation.from_records(
        [{"role": "buyer", "text": "在吗", "extra": value}], id="c", meta={"k": value}
    )
    assert conv.messages[0].meta["extra"] == frozen
    assert conv.meta["k"] == frozen
    hash(conv)  # a frozen conversation is hashable


def test_a_set_in_meta_cannot_be_changed() -> None:
    """The frozen set has no add(); the message stays as built."""
    conv = ks.Conversation.from_records([{"role": "buyer", "text": "x", "tags": {"vip"}}], id="c")
    tags = conv.messages[0].meta["tags"]
    with pytest.raises(AttributeError):
        tags.add("z")
    assert conv.messages[0].meta["tags"] == frozenset({"vip"})
