"""Specification of the data model: Role, Message, Conversation."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

import kefu_standards as ks
from kefu_standards.exceptions import (
    BadRecordError,
    BadTimestampError,
    ConfigError,
    MessageOrderError,
    UnknownRoleError,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rec(role: str, text: str, time: str | None, sender: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {"role": role, "text": text, "time": time}
    if sender is not None:
        out["sender"] = sender
    return out


class TestRole:
    @pytest.mark.parametrize(
        ("alias", "expected"),
        [
            ("buyer", ks.Role.BUYER),
            ("Customer", ks.Role.BUYER),
            ("买家", ks.Role.BUYER),
            ("im.customer", ks.Role.BUYER),
            ("agent", ks.Role.AGENT),
            ("客服", ks.Role.AGENT),
            ("im.waiter", ks.Role.AGENT),
            ("robot", ks.Role.BOT),
            ("机器人", ks.Role.BOT),
            ("系统", ks.Role.SYSTEM),
            (ks.Role.SYSTEM, ks.Role.SYSTEM),
        ],
    )
    def test_aliases(self, alias: object, expected: ks.Role) -> None:
        """Common export spellings map to the four roles."""
        assert expected == ks.Role.parse(alias)

    def test_unknown_role_lists_valid_ones(self) -> None:
        """The error names every valid role."""
        with pytest.raises(ValueError, match="buyer, agent, bot, system"):
            ks.Role.parse("manager")


class TestMessage:
    def test_naive_time_is_read_in_shanghai(self) -> None:
        """A naive datetime gets the documented default zone, Asia/Shanghai."""
        m = ks.Message(role="buyer", text="在吗", sent_at=datetime(2024, 5, 1, 10, 0))
        assert m.sent_at == datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)
        assert m.sent_at is not None
        assert m.sent_at.utcoffset() == timedelta(hours=8)

    def test_aware_time_is_kept(self) -> None:
        """An aware datetime keeps its own offset."""
        t = datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)
        assert ks.Message(role="agent", text="亲", sent_at=t).sent_at == t

    def test_is_frozen(self) -> None:
        """Messages cannot be changed after construction."""
        m = ks.Message(role="buyer", text="在吗")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            m.text = "x"  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"role": "boss", "text": "x"}, "valid roles"),
            ({"role": "buyer", "text": 3}, "text must be a str"),
            ({"role": "buyer", "text": "x", "sent_at": "2024-01-01"}, "sent_at must be a datetime"),
        ],
    )
    def test_validation_says_what_is_valid(self, kwargs: dict[str, object], match: str) -> None:
        """Bad fields fail at construction with a message naming the valid values."""
        with pytest.raises(ConfigError, match=match):
            ks.Message(**kwargs)  # type: ignore[arg-type]

    def test_meta_is_immutable_and_hashable(self) -> None:
        """Meta is frozen deeply, so messages can be hashed and shared."""
        m = ks.Message(role="buyer", text="x", meta={"a": [1, {"b": 2}]})
        assert m.meta["a"][1]["b"] == 2
        assert hash(m) == hash(ks.Message(role="buyer", text="x", meta={"a": [1, {"b": 2}]}))
        with pytest.raises(TypeError):
            m.meta["a"] = 1  # type: ignore[index]


class TestConversationFromRecords:
    def test_builds_messages_in_order(self) -> None:
        """Records become messages with parsed, aware times."""
        c = ks.Conversation.from_records(
            [
                rec("buyer", "在吗", "2024-05-01 10:00:00", "tb1"),
                rec("客服", "亲", "2024-05-01 10:00:20"),
            ],
            id="c1",
        )
        assert [m.role for m in c] == [ks.Role.BUYER, ks.Role.AGENT]
        assert c.started_at == datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)
        assert c.ended_at == datetime(2024, 5, 1, 10, 0, 20, tzinfo=SHANGHAI)
        assert c.buyer == "tb1"

    @pytest.mark.parametrize(
        ("time", "expected"),
        [
            ("2024-05-01T10:00:00+08:00", datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)),
            ("2024-05-01T02:00:00Z", datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)),
            ("2024/5/1 10:00", datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)),
            ("2024-05-01 10:00:00.250", datetime(2024, 5, 1, 2, 0, 0, 250000, tzinfo=timezone.utc)),
            (1714528800, datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)),
            (1714528800000, datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)),
        ],
    )
    def test_time_formats(self, time: object, expected: datetime) -> None:
        """ISO-8601, slash dates, fractions and epoch seconds/milliseconds are read."""
        c = ks.Conversation.from_records([{"role": "buyer", "text": "x", "time": time}], id="c")
        assert c.messages[0].sent_at == expected

    def test_explicit_zone(self) -> None:
        """Naive times are read in the zone given by tz=."""
        c = ks.Conversation.from_records(
            [rec("buyer", "x", "2024-05-01 10:00:00")], id="c", tz="UTC"
        )
        assert c.messages[0].sent_at == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)

    def test_untimed_messages_are_allowed(self) -> None:
        """Corpora without timestamps give messages with sent_at None."""
        c = ks.Conversation.from_records([{"role": "buyer", "text": "x"}], id="c")
        assert c.messages[0].sent_at is None
        assert c.started_at is None

    def test_extra_keys_go_to_meta(self) -> None:
        """Unknown keys are kept, not dropped, in Message.meta."""
        c = ks.Conversation.from_records([{"role": "buyer", "text": "x", "action": "退货"}], id="c")
        assert c.messages[0].meta["action"] == "退货"

    @pytest.mark.parametrize(
        ("records", "error", "match"),
        [
            ([{"text": "x"}], BadRecordError, r"record 1|line 1: missing 'role'"),
            ([rec("buyer", "ok", None), {"role": "boss", "text": "x"}], UnknownRoleError, "line 2"),
            ([{"role": "buyer"}], BadRecordError, "missing 'text'"),
            ([{"role": "buyer", "text": 5}], BadRecordError, "'text' must be a string"),
            ([rec("buyer", "x", "yesterday")], BadTimestampError, "bad timestamp 'yesterday'"),
            ([rec("buyer", "x", "2024-13-01 10:00:00")], BadTimestampError, "month must be"),
        ],
    )
    def test_bad_records_name_source_and_position(
        self, records: list[dict[str, object]], error: type[Exception], match: str
    ) -> None:
        """Errors are typed and name the source and the record's position."""
        with pytest.raises(error, match=match) as info:
            ks.Conversation.from_records(records, id="c", source="chats.json")
        assert "chats.json" in str(info.value)

    def test_out_of_order_raises(self) -> None:
        """Timestamps going backwards are an error that says how to sort instead."""
        records = [
            rec("buyer", "a", "2024-05-01 10:00:10"),
            rec("agent", "b", "2024-05-01 10:00:00"),
        ]
        with pytest.raises(MessageOrderError, match="sort=True") as info:
            ks.Conversation.from_records(records, id="c")
        assert info.value.index == 1

    def test_sort_is_stable(self) -> None:
        """sort=True orders by time and keeps input order for equal times."""
        records = [
            rec("buyer", "late", "2024-05-01 10:00:10"),
            rec("buyer", "first-equal", "2024-05-01 10:00:00"),
            rec("agent", "second-equal", "2024-05-01 10:00:00"),
        ]
        c = ks.Conversation.from_records(records, id="c", sort=True)
        assert [m.text for m in c] == ["first-equal", "second-equal", "late"]

    def test_inputs_are_not_mutated(self) -> None:
        """from_records reads its records without changing them."""
        records = [rec("buyer", "x", "2024-05-01 10:00:00", "tb")]
        before = [dict(r) for r in records]
        ks.Conversation.from_records(records, id="c")
        assert before == records


class TestConversation:
    def conv(self) -> ks.Conversation:
        return ks.Conversation.from_records(
            [
                rec("buyer", "在吗", "2024-05-01 10:00:00", "tb1"),
                rec("agent", "在的亲", "2024-05-01 10:00:20", "店:小美"),
                rec("buyer", "好的", "2024-05-01 10:02:00", "tb1"),
                rec("buyer", "又来了", "2024-05-01 11:00:00", "tb1"),
                rec("agent", "亲您好", "2024-05-01 11:00:30", "店:小王"),
                rec("agent", "还在吗", "2024-05-01 11:01:00", "店:小美"),
            ],
            id="c9",
            shop="某店",
        )

    def test_agents_in_order_of_appearance(self) -> None:
        """Agents are the distinct agent senders, first appearance first."""
        assert self.conv().agents == ("店:小美", "店:小王")

    def test_split_sessions_at_idle_gap(self) -> None:
        """A gap longer than idle_gap starts a new session with a suffixed id."""
        parts = self.conv().split_sessions(timedelta(minutes=30))
        assert [p.id for p in parts] == ["c9#1", "c9#2"]
        assert [len(p) for p in parts] == [3, 3]
        assert all(p.shop == "某店" for p in parts)

    def test_no_split_keeps_identity(self) -> None:
        """With no gap over the limit, the same conversation comes back."""
        c = self.conv()
        assert c.split_sessions(7200) == (c,)

    def test_split_rejects_non_positive_gap(self) -> None:
        """A zero gap is invalid and the message says so."""
        with pytest.raises(ConfigError, match="positive"):
            self.conv().split_sessions(0)

    def test_record_round_trip(self) -> None:
        """to_record() and from_records() are inverse."""
        c = self.conv()
        r = c.to_record()
        back = ks.Conversation.from_records(r["messages"], id=r["id"], shop=r.get("shop"))
        assert c == back

    def test_pickle_round_trip(self) -> None:
        """Conversations pickle (needed for multiprocessing and Spark)."""
        c = self.conv().evolve(meta={"platform": "taobao", "tags": ["a"]})
        assert c == pickle.loads(pickle.dumps(c))

    def test_rejects_non_messages(self) -> None:
        """messages must be Message objects; the error names the index."""
        with pytest.raises(ConfigError, match=r"messages\[0\]"):
            ks.Conversation(id="x", messages=[{"role": "buyer"}])  # type: ignore[list-item]


# -- frozen meta --------------------------------------------------------------------
# Audit regression: meta is frozen all the way down (sets and bytearrays too).
#
# ``Conversation.from_records`` puts unknown record keys into ``Message.meta``; a set
# there stayed a mutable ``set`` inside the frozen message, so the "immutable"
# message could be changed and ``hash(conversation)`` raised ``TypeError``.


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
