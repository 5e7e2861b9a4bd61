"""The bundled example conversations keep the coverage their README promises.

``kefu_standards/data/examples/`` feeds the README, the tutorial and other
engineers' tests. These tests pin what the set must contain (roles, agents,
transfers, Traditional script, unanswered rounds, night and weekend times, the
phrases each scenario is there to show) so an edit cannot silently drop a
case. They also check that the small 旺旺/千牛 TXT and 京东 咚咚 LOG samples
follow the export layouts and hold exactly the same messages as the JSONL.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from kefu_standards.model import Conversation, Message, Role
from kefu_standards.resources import data_file, read_text
from kefu_standards.text import fold, placeholder_spans

JSONL = "examples/conversations.jsonl"
QIANNIU_TXT = "examples/qianniu_export.txt"
JD_LOG = "examples/jd_dongdong.log"
README = "examples/README.md"

CST = timedelta(hours=8)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# -- loading ------------------------------------------------------------------


def _records() -> list[dict[str, Any]]:
    text = data_file(JSONL).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _conversation(record: dict[str, Any]) -> Conversation:
    return Conversation.from_records(
        record["messages"],
        id=record["id"],
        shop=record.get("shop"),
        meta=record.get("meta"),
        source=JSONL,
    )


RECORDS = _records()
CONVERSATIONS = [_conversation(r) for r in RECORDS]
BY_ID = {c.id: c for c in CONVERSATIONS}


def _messages(role: Role | None = None) -> Iterator[tuple[Conversation, Message]]:
    for conv in CONVERSATIONS:
        for msg in conv:
            if role is None or msg.role is role:
                yield conv, msg


def _is_traditional(text: str) -> bool:
    """True if folding changes a CJK character (a Traditional form was present)."""
    return any(_CJK.match(a) and a != b for a, b in zip(text, fold(text), strict=True))


# -- the JSON Lines file ------------------------------------------------------


class TestRecords:
    """Every line is a conversation record in the documented shape."""

    def test_file_is_plain_json_lines(self) -> None:
        """One JSON object per line, no blank lines, UTF-8, ends with a newline."""
        raw = data_file(JSONL).read_bytes()
        assert raw.endswith(b"\n")
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert all(line.strip() for line in raw.decode("utf-8").splitlines())

    def test_about_thirty_conversations(self) -> None:
        """The set is about thirty conversations."""
        assert 28 <= len(RECORDS) <= 40

    def test_record_keys(self) -> None:
        """Each record has id, shop, meta (platform, scenario) and messages."""
        for rec in RECORDS:
            assert set(rec) == {"id", "shop", "meta", "messages"}, rec["id"]
            assert rec["meta"]["platform"] in {"taobao", "jd"}, rec["id"]
            assert rec["meta"]["scenario"].strip(), rec["id"]
            for msg in rec["messages"]:
                assert {"role", "text", "time"} <= set(msg) <= {"role", "text", "time", "sender"}

    def test_ids_unique_and_numbered(self) -> None:
        """Ids are ex-001, ex-002, ... without gaps or duplicates."""
        ids = [r["id"] for r in RECORDS]
        assert ids == [f"ex-{n:03d}" for n in range(1, len(ids) + 1)]

    def test_records_are_canonical(self) -> None:
        """Each line is exactly what ``Conversation.to_record`` writes back."""
        for rec, conv in zip(RECORDS, CONVERSATIONS, strict=True):
            assert conv.to_record() == rec

    def test_both_platforms(self) -> None:
        """Taobao/Tmall and JD conversations are both present."""
        counts = Counter(c.meta["platform"] for c in CONVERSATIONS)
        assert counts["taobao"] >= 10
        assert counts["jd"] >= 8

    def test_lengths_vary_from_3_to_25(self) -> None:
        """Conversations run from 3 to 25 messages, short and long ones both present."""
        lengths = [len(c) for c in CONVERSATIONS]
        assert min(lengths) == 3
        assert max(lengths) <= 25
        assert max(lengths) >= 18


# -- time ---------------------------------------------------------------------


class TestTimes:
    """Timestamps are real, aware, ordered and spread out."""

    def test_every_message_is_timed_in_china_standard_time(self) -> None:
        """Every message has an aware time at +08:00."""
        for conv, msg in _messages():
            assert msg.sent_at is not None, conv.id
            assert msg.sent_at.utcoffset() == CST, conv.id

    def test_times_never_go_backwards(self) -> None:
        """Within a conversation times are non-decreasing."""
        for conv in CONVERSATIONS:
            times = [m.sent_at for m in conv]
            assert times == sorted(times), conv.id  # type: ignore[type-var]

    def test_spread_over_days_and_weekends(self) -> None:
        """At least ten dates, including Saturdays and Sundays."""
        starts = [c.started_at for c in CONVERSATIONS if c.started_at is not None]
        assert len({s.date() for s in starts}) >= 10
        assert {s.isoweekday() for s in starts} >= {6, 7}

    def test_some_messages_outside_0800_to_2300(self) -> None:
        """A few messages fall outside the 08:00-23:00 KPI window."""
        outside = {c.id for c, m in _messages() if m.sent_at and not 8 <= m.sent_at.hour < 23}
        assert len(outside) >= 3

    def test_a_conversation_crosses_midnight(self) -> None:
        """One conversation starts one day and is answered the next."""
        assert any(
            c.started_at and c.ended_at and c.started_at.date() != c.ended_at.date()
            for c in CONVERSATIONS
        )

    def test_waits_are_realistic(self) -> None:
        """Most replies come in 5-60 s; some buyers wait 3-10 minutes."""
        waits = list(_first_reply_waits())
        quick = [w for w in waits if 5 <= w <= 60]
        assert len(quick) / len(waits) >= 0.7
        assert sum(1 for w in waits if 180 <= w <= 600) >= 3


def _first_reply_waits() -> Iterator[float]:
    """Seconds from the first buyer message of each round to the next agent reply."""
    for conv in CONVERSATIONS:
        opened: datetime | None = None
        for msg in conv:
            if msg.role is Role.BUYER and opened is None:
                opened = msg.sent_at
            elif msg.role is Role.AGENT and opened is not None and msg.sent_at is not None:
                yield (msg.sent_at - opened).total_seconds()
                opened = None


# -- senders and roles --------------------------------------------------------


class TestSenders:
    """Senders look like real accounts and agents recur across conversations."""

    def test_every_buyer_agent_and_bot_message_names_its_sender(self) -> None:
        """Only system lines may lack a sender."""
        for conv, msg in _messages():
            if msg.role is not Role.SYSTEM:
                assert msg.sender, conv.id

    def test_one_buyer_per_conversation(self) -> None:
        """Each conversation has exactly one buyer account."""
        for conv in CONVERSATIONS:
            buyers = {m.sender for m in conv if m.role is Role.BUYER}
            assert len(buyers) == 1, conv.id

    @pytest.mark.parametrize(
        ("pattern", "what"),
        [
            (r"^tb_", "Taobao nick"),
            (r"^jd_[0-9a-f]{4}\*{4}[0-9a-f]{2}$", "masked JD pin"),
        ],
    )
    def test_buyer_nick_styles(self, pattern: str, what: str) -> None:
        """Buyer senders include Taobao nicks and masked JD pins."""
        buyers = {m.sender or "" for _, m in _messages(Role.BUYER)}
        assert any(re.search(pattern, b) for b in buyers), what

    @pytest.mark.parametrize(
        ("pattern", "what"),
        [
            (r"^.+旗舰店:.+$", "Tmall sub-account 店铺:名字"),
            (r"^.+专营店:.+$", "Taobao sub-account"),
            (r"^.+自营--.+$", "JD self-operated 某某自营--名字"),
            (r"^.+旗舰店-.+$", "JD POP 店铺-名字"),
        ],
    )
    def test_agent_account_styles(self, pattern: str, what: str) -> None:
        """Agent senders use the sub-account spellings of each platform."""
        agents = {a for c in CONVERSATIONS for a in c.agents}
        assert any(re.search(pattern, a) for a in agents), what

    def test_at_least_four_agents_several_recurring(self) -> None:
        """At least four agents; at least four of them serve two or more conversations."""
        per_agent = Counter(a for c in CONVERSATIONS for a in c.agents)
        assert len(per_agent) >= 4
        assert sum(1 for n in per_agent.values() if n >= 2) >= 4

    @pytest.mark.parametrize("role", list(Role))
    def test_every_role_occurs(self, role: Role) -> None:
        """Buyer, agent, bot and system messages all occur."""
        assert any(True for _ in _messages(role))

    @pytest.mark.parametrize(
        ("pattern", "what"),
        [(r"店小蜜", "Taobao 店小蜜 bot"), (r"^jimi_vender_\d+$", "JD JIMI bot")],
    )
    def test_bot_accounts(self, pattern: str, what: str) -> None:
        """Bots include 店小蜜 and JD JIMI accounts."""
        assert any(re.search(pattern, m.sender or "") for _, m in _messages(Role.BOT)), what

    def test_system_lines_include_transfer_and_cards(self) -> None:
        """System lines include a 转交/转接 notice and an order or product card."""
        texts = [m.text for _, m in _messages(Role.SYSTEM)]
        assert any(t.startswith("由 服务助手 转交给 ") for t in texts)
        assert any("转接" in t for t in texts)
        assert any(t.startswith(("[订单卡片]", "[商品卡片]")) for t in texts)

    def test_transfer_changes_the_agent(self) -> None:
        """In a transfer conversation a second agent speaks after the notice."""
        found = 0
        for conv in CONVERSATIONS:
            notice = next(
                (i for i, m in enumerate(conv) if m.role is Role.SYSTEM and "转" in m.text), None
            )
            if notice is None:
                continue
            before = {m.sender for m in conv.messages[:notice] if m.role is Role.AGENT}
            after = {m.sender for m in conv.messages[notice:] if m.role is Role.AGENT}
            assert before, conv.id
            assert after, conv.id
            assert before.isdisjoint(after), conv.id
            found += 1
        assert found >= 2


# -- scenarios ----------------------------------------------------------------


def _conversations_with(role: Role, *phrases: str) -> set[str]:
    return {c.id for c, m in _messages(role) if all(p in m.text for p in phrases)}


@pytest.mark.parametrize(
    ("role", "phrase", "scenario"),
    [
        # the curt agent's banned phrases
        (Role.AGENT, "不知道", "banned: 不知道"),
        (Role.AGENT, "你自己看", "banned: 你自己看"),
        (Role.AGENT, "没办法", "banned: 没办法"),
        (Role.AGENT, "不归我管", "banned: 不归我管"),
        (Role.AGENT, "？？", "harsh double question mark"),
        # over-promising
        (Role.AGENT, "保证", "over-promise: 保证"),
        (Role.AGENT, "绝对", "over-promise: 绝对"),
        (Role.AGENT, "已经给您打款了", "over-promise: payment claimed"),
        # escalation
        (Role.BUYER, "投诉", "complaint threat"),
        (Role.BUYER, "12315", "regulator hotline"),
        (Role.BUYER, "差评", "bad-review threat"),
        (Role.BUYER, "我说过了", "repetition"),
        (Role.BUYER, "在吗", "chasing: 在吗"),
        (Role.BUYER, "人呢", "chasing: 人呢"),
        # politeness and de-escalation
        (Role.AGENT, "抱歉", "apology"),
        (Role.AGENT, "久等", "thanks for waiting"),
        (Role.AGENT, "好评", "review invitation"),
        (Role.AGENT, "补发", "replacement shipment"),
        (Role.BOT, "欢迎", "bot welcome"),
        # holding reply
        (Role.AGENT, "稍等我查一下", "holding reply"),
    ],
)
def test_scenario_phrase_occurs(role: Role, phrase: str, scenario: str) -> None:
    """Each scenario the README lists has at least one message showing it."""
    assert _conversations_with(role, phrase), scenario


def test_de_escalation_gives_refund_with_a_time() -> None:
    """An agent apologises and names a concrete refund or 补发 time in the same conversation."""
    concrete = re.compile(r"(今天|明天|\d+点前|\d+:\d{2}).*(退款|补发|发出)|(退款|补发).*(\d+点前)")
    hits = {
        c.id
        for c in CONVERSATIONS
        if any(m.role is Role.AGENT and "抱歉" in m.text for m in c)
        and any(m.role is Role.AGENT and concrete.search(m.text) for m in c)
    }
    assert len(hits) >= 2


def test_holding_reply_never_followed_up() -> None:
    """A 稍等 reply is the agent's last message while the buyer keeps asking."""
    hits = []
    for conv in CONVERSATIONS:
        agent_msgs = [i for i, m in enumerate(conv) if m.role is Role.AGENT]
        if agent_msgs and "稍等" in conv.messages[agent_msgs[-1]].text:
            later = conv.messages[agent_msgs[-1] + 1 :]
            if sum(m.role is Role.BUYER for m in later) >= 2:
                hits.append(conv.id)
    assert hits


def test_holding_reply_followed_up_as_contrast() -> None:
    """Another 稍等 reply is followed by the same agent within 15 minutes."""
    ok = False
    for conv in CONVERSATIONS:
        for i, m in enumerate(conv.messages[:-1]):
            if m.role is Role.AGENT and "稍等" in m.text and m.sent_at is not None:
                nxt = next((n for n in conv.messages[i + 1 :] if n.role is Role.AGENT), None)
                if nxt and nxt.sent_at and nxt.sent_at - m.sent_at <= timedelta(minutes=15):
                    ok = True
    assert ok


def test_buyer_only_conversation() -> None:
    """One conversation has buyer messages only: never answered."""
    assert any(all(m.role is Role.BUYER for m in c) for c in CONVERSATIONS)


def test_conversations_ending_unanswered() -> None:
    """Several conversations end with buyer messages no human agent answered."""
    assert sum(1 for c in CONVERSATIONS if c.messages[-1].role is Role.BUYER) >= 3
    assert any(not c.agents and any(m.role is Role.BOT for m in c) for c in CONVERSATIONS)


def test_traditional_script_buyers() -> None:
    """Two or three conversations have buyers writing in Traditional script."""
    trad = {c.id for c, m in _messages(Role.BUYER) if _is_traditional(m.text)}
    assert 2 <= len(trad) <= 4


def test_simplified_text_does_not_look_traditional() -> None:
    """The detector itself: folding leaves ordinary Simplified text unchanged."""
    assert not _is_traditional("这款四件套有现货吗")
    assert _is_traditional("這款有現貨嗎")


@pytest.mark.parametrize(
    ("platform", "code"),
    [("taobao", "/:^_^"), ("taobao", "/:Q"), ("jd", "#E-s")],
)
def test_emoticon_codes(platform: str, code: str) -> None:
    """Emoticon codes of each platform occur and are recognised as placeholders."""
    hits = [
        m.text
        for c, m in _messages()
        if c.meta["platform"] == platform and code in m.text and placeholder_spans(m.text)
    ]
    assert hits


def test_full_width_punctuation() -> None:
    """Chinese full-width punctuation is the norm, as in real chats."""
    texts = "".join(m.text for _, m in _messages())
    for mark in "，。？！：～":
        assert mark in texts


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (r"(?<!\d)1[3-9]\d{9}(?!\d)", "mobile phone number"),
        (r"(?<!\d)\d{19}(?!\d)", "Taobao order number (19 digits)"),
        (r"(?<!\d)\d{12}(?!\d)", "JD order number (12 digits)"),
        (r"SF\d{13}", "SF Express waybill"),
    ],
)
def test_numbers_in_text(pattern: str, what: str) -> None:
    """Fictional phone, order and waybill numbers appear in message text."""
    assert any(re.search(pattern, m.text) for _, m in _messages()), what


def test_a_message_spans_several_lines() -> None:
    """At least one message keeps internal line breaks."""
    assert any("\n" in m.text for _, m in _messages())


def test_readme_lists_every_conversation() -> None:
    """README.md names every id and states the licence."""
    readme = read_text(README)
    for conv in CONVERSATIONS:
        assert f"`{conv.id}`" in readme
    assert "MIT" in readme
    assert "fictional" in readme


# -- the export samples -------------------------------------------------------

_WW_CUSTOMER = re.compile(r"^-{28}(.*)-{28}$")
_WW_MESSAGE = re.compile(r"^(.*)\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\):  (.*)$")
_WW_END = re.compile(r"^={64}$")
_WW_GROUP = re.compile(r"^\s{31}(.*?)\s{29}$")
_JD_START = re.compile(r"^/\*{17}以下为一通会话\*+/$")
_JD_END = re.compile(r"^/\*{17}会话结束(?:_时间[:：]\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})?\*+/$")
_JD_HEADER = re.compile(
    r"^\s*(?P<sender>.+?)\s+(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})\s*$"
)

Triple = tuple[str, str, str]  # sender, "YYYY-MM-DD HH:MM:SS", text


def _parse_wangwang(text: str) -> tuple[str, dict[str, list[Triple]]]:
    """Minimal reader of the DOMAIN.md §2.1 layout, strict about every line."""
    lines = text.splitlines()
    account = lines[0]
    blocks: dict[str, list[Triple]] = {}
    current: list[Triple] | None = None
    for n, line in enumerate(lines[1:], start=2):
        if _WW_GROUP.match(line) and current is None:
            break
        if m := _WW_CUSTOMER.match(line):
            assert current is None, f"line {n}: block not closed"
            current = blocks.setdefault(m.group(1), [])
        elif _WW_END.match(line):
            current = None
        elif m := _WW_MESSAGE.match(line):
            assert current is not None, f"line {n}: message outside a block"
            current.append((m.group(1), m.group(2), m.group(3)))
        else:
            assert current, f"line {n}: continuation without a message"
            sender, time, body = current[-1]
            current[-1] = (sender, time, f"{body}\n{line}")
    return account, blocks


def _parse_jd(text: str) -> list[list[Triple]]:
    """Minimal reader of the DOMAIN.md §2.4 layout, strict about every line."""
    sessions: list[list[Triple]] = []
    current: list[Triple] | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        if _JD_START.match(line):
            assert current is None, f"line {n}: session not closed"
            current = []
        elif _JD_END.match(line):
            assert current is not None, f"line {n}: end without start"
            sessions.append(current)
            current = None
        elif m := _JD_HEADER.match(line):
            assert current is not None, f"line {n}: header outside a session"
            current.append((m.group("sender"), m.group("time").replace("T", " "), ""))
        else:
            assert current, f"line {n}: body line before any header"
            sender, time, body = current[-1]
            current[-1] = (sender, time, f"{body}\n{line}" if body else line)
    assert current is None, "last session not closed"
    return sessions


def _triples(conv: Conversation) -> list[Triple]:
    return [
        (m.sender or "", m.sent_at.strftime("%Y-%m-%d %H:%M:%S") if m.sent_at else "", m.text)
        for m in conv
    ]


class TestExportSamples:
    """The TXT and LOG samples follow their layouts and mirror the JSONL."""

    def test_wangwang_txt_layout_and_content(self) -> None:
        """Each customer block holds exactly the messages of one JSONL conversation."""
        text = data_file(QIANNIU_TXT).read_text(encoding="utf-8")
        account, blocks = _parse_wangwang(text)
        assert account == "青柚童装旗舰店"
        assert len(blocks) >= 3
        assert any("\n" in body for block in blocks.values() for _, _, body in block)
        assert any("转交给" in body for block in blocks.values() for _, _, body in block)
        by_buyer = {c.buyer: c for c in CONVERSATIONS}
        for nick, block in blocks.items():
            assert block == _triples(by_buyer[nick]), nick
        assert text.rstrip("\n").splitlines()[-1] == " " * 31 + "群聊" + " " * 29

    def test_jd_log_layout_and_content(self) -> None:
        """Each 咚咚 session holds exactly the messages of one JSONL conversation."""
        text = data_file(JD_LOG).read_text(encoding="utf-8")
        sessions = _parse_jd(text)
        assert len(sessions) >= 3
        assert "会话结束_时间：" in text
        assert any(line.endswith("\t") for line in text.splitlines())
        by_buyer = {c.buyer: c for c in CONVERSATIONS}
        for session in sessions:
            conv = by_buyer[session[0][0]]
            assert conv.meta["platform"] == "jd"
            assert session == _triples(conv), conv.id
        assert any(s.startswith("jimi_vender_") for session in sessions for s, _, _ in session)


class TestWithReaders:
    """If ``kefu_standards.io`` is installed, it reads the samples to the same messages."""

    @pytest.mark.parametrize(
        ("name", "fmt", "count"),
        [(JSONL, "jsonl", len(RECORDS)), (QIANNIU_TXT, "wangwang", 3), (JD_LOG, "jd", 4)],
    )
    def test_reader_sees_the_same_times_and_texts(self, name: str, fmt: str, count: int) -> None:
        """(time, text) of every message read equals the JSONL conversation's."""
        io = pytest.importorskip("kefu_standards.io")
        # JD LOGs do not mark roles: name the service accounts (as the how-to shows).
        agents = ("拾光数码自营--", "好味坊旗舰店-") if fmt == "jd" else ()
        with data_file(name).open("rb") as fh:
            convs = list(io.read_conversations(fh, format=fmt, agents=agents))
        expected = {tuple((t, x) for _, t, x in _triples(c)) for c in CONVERSATIONS}
        assert len(convs) == count
        for conv in convs:
            assert tuple((t, x) for _, t, x in _triples(conv)) in expected, conv.id
