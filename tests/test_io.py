"""Specification of kefu_standards.io: what each reader yields from each export format."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards.exceptions import (
    BadRecordError,
    BadTimestampError,
    ConfigError,
    MessageOrderError,
    SkippedInputWarning,
    UnknownNameError,
    UnknownRoleError,
)
from kefu_standards.io import FORMATS, ReadReport, detect_format, read_conversations, write_jsonl
from kefu_standards.model import Conversation, Role
from strategies import conversations

FIXTURES = Path(__file__).parent / "fixtures" / "io"
CST = timezone(timedelta(hours=8))


def read(name: str, **kwargs: object) -> list[Conversation]:
    return list(read_conversations(FIXTURES / name, **kwargs))  # type: ignore[arg-type]


def rows(convs: list[Conversation]) -> list[tuple[str, str, str | None]]:
    """(conversation id, role, sender) per message, to compare with a table."""
    return [(c.id, m.role.value, m.sender) for c in convs for m in c.messages]


class TestWangwangBlocks:
    """旺旺/千牛 TXT per-customer blocks (DOMAIN §2.1)."""

    def test_roles_senders_and_rules(self) -> None:
        """Buyer = block nick; 服务助手 is a bot; transfer and order card are system lines."""
        convs = read("wangwang.txt")
        got = [(m.role.value, m.sender, m.meta.get("role_rule")) for m in convs[0].messages]
        assert got == [
            ("buyer", "tb12345678", None),
            ("bot", "某某旗舰店:服务助手", "sender_service_assistant"),
            ("system", "某某旗舰店:服务助手", "transfer_notice"),
            ("agent", "某某旗舰店:小美", None),
            ("system", "tb12345678", "order_card"),
            ("buyer", "tb12345678", None),
        ]

    def test_conversations_shop_and_group_section(self) -> None:
        """One conversation per block; the 群聊 section after the banner is not read."""
        convs = read("wangwang.txt")
        assert [c.id for c in convs] == ["tb12345678", "jane_doe"]
        assert {c.shop for c in convs} == {"某某旗舰店"}
        assert convs[0].meta["line"] == 4
        assert all(m.sender != "group" for c in convs for m in c.messages)

    def test_texts_continuations_and_empty_message(self) -> None:
        """Continuation lines join with newlines; a trailing blank line is layout; '' stays."""
        msgs = read("wangwang.txt")[0].messages
        assert msgs[0].text == "這個有現貨嗎？"
        assert msgs[3].text == "亲，有现货的哦\n尺码偏小，建议拍大一码"
        assert msgs[5].text == ""
        assert msgs[0].sent_at == datetime(2024, 5, 1, 10, 0, 1, tzinfo=CST)

    def test_auto_reply_marker_keeps_text(self) -> None:
        """Detection only changes the role; the text is untouched."""
        msg = read("wangwang.txt")[1].messages[1]
        assert (msg.role, msg.text) == (Role.BOT, "【自动回复】亲，客服小李马上为您服务～")

    def test_detect_roles_off(self) -> None:
        """detect_roles=False keeps the sender-based roles (service side = agent)."""
        roles = [m.role.value for m in read("wangwang.txt", detect_roles=False)[0].messages]
        assert roles == ["buyer", "agent", "agent", "agent", "buyer", "buyer"]

    @pytest.mark.parametrize("codec", ["gbk", "gb18030"])
    def test_gbk_bytes_read_like_utf8(self, codec: str) -> None:
        """GBK/GB18030 bytes are detected and give the same conversations as UTF-8."""
        raw = (FIXTURES / "wangwang.txt").read_text(encoding="utf-8").encode(codec)
        got = list(read_conversations(io.BytesIO(raw), "wangwang"))
        assert got == read("wangwang.txt")

    def test_unknown_sayer_is_an_error_naming_line(self, tmp_path: Path) -> None:
        """A sayer who is neither the buyer nor a '店铺:名字' account needs agents=."""
        path = tmp_path / "odd.txt"
        d = "-" * 28
        path.write_text(
            f"店铺\n{d}tb1{d}\ntb1(2024-05-01 10:00:00):  hi\n"
            "stranger(2024-05-01 10:00:05):  hello\n",
            encoding="utf-8",
        )
        with pytest.raises(Exception, match=r"odd\.txt, line 4: cannot tell the role"):
            list(read_conversations(path, "wangwang"))
        convs = list(read_conversations(path, "wangwang", agents=["stranger"]))
        assert [m.role for m in convs[0].messages] == [Role.BUYER, Role.AGENT]


class TestWangwangInstant:
    """The 即时消息 variant: 'time sender: text' lines, bare dates between chats."""

    def test_chats_roles_and_continuations(self) -> None:
        convs = read("wangwang_im.txt")
        assert rows(convs) == [
            ("tb12345678@2024-05-01", "buyer", "tb12345678"),
            ("tb12345678@2024-05-01", "agent", "某某旗舰店:小美"),
            ("tb12345678@2024-05-01", "buyer", "tb12345678"),
            ("jane_doe@2024-05-02", "buyer", "jane_doe"),
            ("jane_doe@2024-05-02", "bot", "某某旗舰店:小李"),
        ]
        assert convs[0].messages[1].text == "在的亲\n请问有什么可以帮您"
        assert convs[0].shop == "某某旗舰店"


class TestJD:
    """京东 咚咚 LOG (DOMAIN §2.4)."""

    def test_sessions_and_inferred_roles(self) -> None:
        convs = read("dongdong.log", agents=["店员"])
        assert rows(convs) == [
            ("jd_4a8f****c2@2024-05-01T10:00:00", "buyer", "jd_4a8f****c2"),
            ("jd_4a8f****c2@2024-05-01T10:00:00", "bot", "jimi_vender_10086"),
            ("jd_4a8f****c2@2024-05-01T10:00:00", "agent", "某某自营--小黛"),
            ("jd_4a8f****c2@2024-05-01T10:00:00", "buyer", "jd_4a8f****c2"),
            ("buyer_77@2024-05-02T08:59:59", "bot", "小王的店@im.jd.com"),
            ("buyer_77@2024-05-02T08:59:59", "buyer", "buyer_77"),
            ("buyer_77@2024-05-02T08:59:59", "agent", "店员阿强"),
        ]
        assert convs[0].messages[2].text == "亲亲～是橡胶大底哦\n防滑耐磨"
        assert convs[1].meta["closed_at"] == "2024-05-02 09:05:00"

    def test_two_unknown_speakers_ask_for_agents(self) -> None:
        """Without agents=, an un-prefixed agent is a second 'buyer': an error with the line."""
        with pytest.raises(Exception, match=r"dongdong\.log, line 17: two speakers") as info:
            read("dongdong.log")
        assert info.value.line == 17  # type: ignore[attr-defined]


class TestQianniuWeb:
    """店铺网页版 全文导出 CSV (DOMAIN §2.3)."""

    def test_events_sender_last(self) -> None:
        convs = read("qianniu_web.csv")
        assert rows(convs) == [
            ("tb12345678@2024-05-01", "buyer", "tb12345678"),
            ("tb12345678@2024-05-01", "bot", "某某旗舰店:服务助手"),
            ("tb12345678@2024-05-01", "agent", "某某旗舰店:小美"),
            ("tb12345678@2024-05-01", "buyer", "tb12345678"),
            ("jane_doe@2024-05-02", "buyer", "jane_doe"),
            ("jane_doe@2024-05-02", "agent", "某某旗舰店:小李"),
        ]

    def test_control_chars_terminator_placeholder(self) -> None:
        """\\x03 is stripped; 没有更多内容了 is not a message; the placeholder text is kept."""
        conv = read("qianniu_web.csv")[0]
        assert conv.messages[0].text == "在吗"
        assert conv.messages[2].text == "亲，在的\n请问要哪个颜色"
        assert conv.messages[3].text == "请在客户端查看原始聊天记录，网页版无法展示"
        assert conv.meta["complete"] is True
        assert conv.shop == "某某旗舰店"
        assert all("没有更多内容了" not in m.text for m in conv.messages)


class TestQianniuClip:
    """Text copied from the 千牛 chat window (DOMAIN §2.2): one conversation, nothing dropped."""

    def test_messages_roles_and_kept_extras(self) -> None:
        (conv,) = read("qianniu_clip.txt")
        assert conv.id == "tb12345678@2024-05-01T10:00:01"
        got = [(m.role.value, m.sender, m.meta.get("role_rule")) for m in conv]
        assert got == [
            ("buyer", "tb12345678", None),
            ("system", None, "qianniu_widget"),  # 当前用户来自 商品详情页
            ("system", None, "qianniu_widget"),  # the product URL
            ("system", None, "qianniu_widget"),  # ¥ price line
            ("agent", "某某旗舰店:小美", "sender_shop_prefix"),
            ("buyer", "tb12345678", None),
            ("system", "tb12345678", "qianniu_recall"),
            ("agent", "某某旗舰店:小美", "sender_shop_prefix"),
            ("agent", "某某旗舰店:小丽", "sender_shop_prefix"),
        ]
        assert conv.messages[4].text == "亲，有现货的哦\n今天下单明天发"
        assert conv.messages[4].sent_at == datetime(2024, 5, 1, 10, 0, 20, tzinfo=CST)
        assert conv.messages[5].text == "好的\n\n那我拍了"
        assert conv.messages[0].meta["status"] == "已读"
        assert conv.messages[7].meta["to"] == "某某旗舰店:小丽"
        # a recall has no time of its own: it takes the time of the message before it
        assert conv.messages[6].sent_at == conv.messages[5].sent_at

    def test_older_layout_sender_and_time_on_two_lines(self) -> None:
        (conv,) = read("qianniu_clip_old.txt")
        assert rows([conv]) == [
            ("tb_old@2024-05-01T10:00:01", "buyer", "tb_old"),
            ("tb_old@2024-05-01T10:00:01", "agent", "店铺:阿强"),
        ]
        assert [m.text for m in conv] == ["在吗", "在的亲"]

    def test_agents_argument_names_unprefixed_agents(self, tmp_path: Path) -> None:
        path = tmp_path / "clip.txt"
        path.write_text("tb1 2024-5-1 10:00:00\n在吗\n阿强 2024-5-1 10:00:10\n在的\n", "utf-8")
        (conv,) = read_conversations(path, agents=["阿强"])
        assert [m.role.value for m in conv] == ["buyer", "agent"]


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


class TestXlsx:
    """Excel workbooks: the web export's sheet, or one message per row (extra ``xlsx``)."""

    def test_web_export_sheet(self, tmp_path: Path) -> None:
        chat = "2024-05-01\n10:00:00\n在吗\ntb1\n10:00:30\n在的亲\n店铺:小美\n没有更多内容了"
        path = _workbook(tmp_path / "export.xlsx", [["买家", "聊天内容"], ["tb1", chat]])
        (conv,) = read_conversations(path)
        assert [(m.role.value, m.sender, m.text) for m in conv] == [
            ("buyer", "tb1", "在吗"),
            ("agent", "店铺:小美", "在的亲"),
        ]
        assert conv.meta["complete"] is True

    def test_message_rows_with_excel_dates_and_numbers(self, tmp_path: Path) -> None:
        rows: list[list[object]] = [
            ["conversation_id", "role", "text", "time"],
            [1001, "buyer", "几号发货", datetime(2024, 5, 1, 10, 0, 0)],
            [1001, "agent", 3, datetime(2024, 5, 1, 10, 0, 9)],
            [None, None, None, None],  # a blank row carries no message
            [1002, "buyer", "在吗", "2024-05-02 09:00:00"],
        ]
        convs = read(str(_workbook(tmp_path / "m.xlsx", rows)))
        assert [(c.id, [m.text for m in c]) for c in convs] == [
            ("1001", ["几号发货", "3"]),
            ("1002", ["在吗"]),
        ]
        assert convs[0].messages[1].sent_at == datetime(2024, 5, 1, 10, 0, 9, tzinfo=CST)

    def test_bad_cell_names_the_sheet_row(self, tmp_path: Path) -> None:
        rows: list[list[object]] = [
            ["conversation_id", "role", "text", "time"],
            ["a", "buyer", "在吗", "2024-05-01 10:00:00"],
            ["a", "alien", "?", "2024-05-01 10:00:05"],
        ]
        path = _workbook(tmp_path / "m.xlsx", rows)
        with pytest.raises(UnknownRoleError, match=r"m\.xlsx, line 3: "):
            read(str(path))

    def test_not_a_workbook(self, tmp_path: Path) -> None:
        pytest.importorskip("openpyxl")
        path = tmp_path / "fake.xlsx"
        path.write_text("conversation_id,role,text\n", encoding="utf-8")
        with pytest.raises(BadRecordError, match=r"fake\.xlsx: not a readable \.xlsx workbook"):
            read(str(path))


class TestJsonlAndCsv:
    """Explicit formats: roles are taken as given (never reclassified)."""

    def test_conversation_per_line(self) -> None:
        c1, c2 = read("chats.jsonl")
        assert (c1.id, c1.shop, dict(c1.meta)) == ("c1", "某某旗舰店", {"channel": "tmall"})
        assert c1.messages[1].text == "亲，有现货的哦 😊"
        assert [m.text for m in c2.messages] == ["", "  两个空格  "]
        assert [m.role for m in c2.messages] == [Role.BUYER, Role.BUYER]

    def test_message_per_line_groups_consecutive_ids(self) -> None:
        convs = read("messages.jsonl")
        assert [(c.id, len(c), c.shop) for c in convs] == [("a", 2, "小店"), ("b", 1, None)]

    def test_reappearing_id_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "m.jsonl"
        lines = [{"conversation_id": cid, "role": "buyer", "text": "x"} for cid in "aba"]
        path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
        with pytest.raises(Exception, match=r"m\.jsonl, line 3: conversation_id 'a' reappears"):
            list(read_conversations(path))

    def test_csv_bom_multiline_and_empty_text(self) -> None:
        convs = read("messages.csv")
        assert [(c.id, [m.text for m in c]) for c in convs] == [
            ("x1", ["多行\n消息", "好的亲"]),
            ("x2", [""]),
        ]

    def test_csv_columns_mapping(self, tmp_path: Path) -> None:
        path = tmp_path / "custom.csv"
        path.write_text("会话,谁,说了什么\nk,客服,你好\n", encoding="utf-8")
        mapping = {"conversation_id": "会话", "role": "谁", "text": "说了什么"}
        (conv,) = read_conversations(path, columns=mapping)
        assert (conv.id, conv.messages[0].role, conv.messages[0].text) == ("k", Role.AGENT, "你好")


class TestAutoDetect:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("chats.jsonl", "jsonl"),
            ("messages.csv", "csv"),
            ("wangwang.txt", "wangwang"),
            ("wangwang_im.txt", "wangwang"),
            ("dongdong.log", "jd"),
            ("qianniu_web.csv", "qianniu_web"),
            ("qianniu_clip.txt", "qianniu_clip"),
            ("qianniu_clip_old.txt", "qianniu_clip"),
        ],
    )
    def test_fixture_formats(self, name: str, expected: str) -> None:
        lines = [x.strip().lstrip("\ufeff") for x in (FIXTURES / name).open(encoding="utf-8")]
        assert detect_format(name, [x for x in lines if x][:5]) == expected

    @pytest.mark.parametrize(
        ("first_lines", "expected"),
        [
            (['{"id": 1}'], "jsonl"),
            (["/*****************以下为一通会话*****/"], "jd"),
            (["店铺:小美", "-" * 28 + "tb1" + "-" * 28], "wangwang"),
            (["买家,聊天内容"], "qianniu_web"),
            (["某某旗舰店:小美2024-5-1 10:00:20"], "qianniu_clip"),
            (["tb1(2024-05-01 10:00:01):  在吗"], "wangwang"),
        ],
    )
    def test_content_without_extension(self, first_lines: list[str], expected: str) -> None:
        assert detect_format("<stdin>", first_lines) == expected

    def test_unrecognised_lists_formats(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.txt"
        path.write_text("just some notes\n", encoding="utf-8")
        with pytest.raises(UnknownNameError, match=r"notes\.txt") as info:
            list(read_conversations(path))
        assert all(f in str(info.value) for f in FORMATS)

    def test_text_stream_and_stdin_name(self) -> None:
        stream = io.StringIO((FIXTURES / "messages.jsonl").read_text(encoding="utf-8"))
        assert [c.id for c in read_conversations(stream)] == ["a", "b"]


class TestArguments:
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"errors": "ignore"}, "errors must be"),
            ({"idle_gap": 0}, "idle_gap must be positive"),
            ({"encoding": "klingon"}, "unknown encoding"),
            ({"encoding": "utf-16"}, "line by line"),
            ({"tz": "Mars/Olympus"}, "unknown time zone"),
            ({"columns": {"txt": "a"}}, "valid names are"),
        ],
    )
    def test_bad_arguments_fail_at_call_time(self, kwargs: dict[str, object], match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            read_conversations(FIXTURES / "chats.jsonl", **kwargs)  # type: ignore[arg-type]

    def test_unknown_format(self) -> None:
        with pytest.raises(UnknownNameError, match="'wangwang'"):
            read_conversations(FIXTURES / "chats.jsonl", "excel")


class TestOrderAndSessions:
    def test_backwards_time_raises_with_line_or_sorts(self, tmp_path: Path) -> None:
        path = tmp_path / "back.jsonl"
        recs = [
            {"conversation_id": "a", "role": "buyer", "text": "1", "time": "2024-05-01 10:00:05"},
            {"conversation_id": "a", "role": "agent", "text": "2", "time": "2024-05-01 10:00:00"},
        ]
        path.write_text("\n".join(json.dumps(r) for r in recs), encoding="utf-8")
        with pytest.raises(MessageOrderError, match=r"back\.jsonl, line 2"):
            list(read_conversations(path))
        (conv,) = read_conversations(path, sort=True)
        assert [m.text for m in conv] == ["2", "1"]

    def test_idle_gap_splits(self) -> None:
        convs = read("wangwang_im.txt", idle_gap=10)
        assert [(c.id, len(c)) for c in convs] == [
            ("tb12345678@2024-05-01#1", 2),  # 10:00:01, 10:00:05
            ("tb12345678@2024-05-01#2", 1),  # 10:00:30, 25 s later
            ("jane_doe@2024-05-02#1", 1),
            ("jane_doe@2024-05-02#2", 1),
        ]


class TestWriteJsonl:
    @given(conversations(max_messages=5))
    def test_round_trip_is_lossless(self, conv: Conversation) -> None:
        """read(write(c)) == c, and every time keeps its UTC offset."""
        buf = io.StringIO()
        assert write_jsonl([conv], buf) == 1
        buf.seek(0)
        (back,) = read_conversations(buf, "jsonl")
        assert back == conv
        offsets = [m.sent_at and m.sent_at.utcoffset() for m in back]
        assert offsets == [m.sent_at and m.sent_at.utcoffset() for m in conv]

    def test_fixture_files_round_trip(self, tmp_path: Path) -> None:
        for name in ("wangwang.txt", "qianniu_web.csv", "chats.jsonl"):
            convs = read(name)
            out = tmp_path / (name + ".jsonl")
            write_jsonl(convs, out)
            assert "\\u" not in out.read_text(encoding="utf-8")  # ensure_ascii=False
            assert list(read_conversations(out)) == convs


class TestStreaming:
    def test_first_conversation_before_the_file_is_read(self, tmp_path: Path) -> None:
        """The reader yields the first conversation long before reaching the end."""
        path = tmp_path / "big.jsonl"
        rec = {"role": "buyer", "text": "这个有现货吗" * 5, "time": "2024-05-01 10:00:00"}
        with path.open("w", encoding="utf-8") as out:
            for i in range(20000):
                out.write(json.dumps({"conversation_id": f"c{i}", **rec}) + "\n")
        size = path.stat().st_size
        with path.open("rb") as stream:
            first = next(iter(read_conversations(stream, "jsonl")))
            assert first.id == "c0"
            assert stream.tell() < size / 4


def test_import_is_light() -> None:
    """Importing kefu_standards.io loads neither jieba nor snownlp."""
    code = (
        "import sys, kefu_standards.io; "
        "bad = [m for m in ('jieba', 'snownlp') if m in sys.modules]; "
        "print(*bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_collect_warns_once_and_counts(tmp_path: Path) -> None:
    """errors='collect' warns once with SkippedInputWarning; the report holds every skip."""
    path = tmp_path / "two_bad.jsonl"
    good = {"conversation_id": "a", "role": "buyer", "text": "x"}
    path.write_text(
        "\n".join([json.dumps(good), "{oops", json.dumps({**good, "role": "martian"})]),
        encoding="utf-8",
    )
    report = ReadReport()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        convs = list(read_conversations(path, errors="collect", report=report))
    assert [w.category for w in caught] == [SkippedInputWarning]
    assert [(s.line, s.messages_lost) for s in report.skips] == [(2, 1), (3, 1)]
    assert (report.messages_read, report.conversations_read, len(convs)) == (1, 1, 1)
    assert report.summary() == ("read 1 messages in 1 conversations; 2 skips, 2 messages lost")


@pytest.mark.parametrize(
    ("name", "kwargs"), [("wangwang.txt", {}), ("dongdong.log", {"agents": ["店员"]})]
)
def test_windows_line_endings_read_the_same(
    tmp_path: Path, name: str, kwargs: dict[str, object]
) -> None:
    """CR LF exports (Windows) give the same conversations as LF ones."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    assert list(read_conversations(path, **kwargs)) == read(name, **kwargs)  # type: ignore[arg-type]


def test_stdin_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """'-' reads standard input (bytes), named '<stdin>' in errors."""
    raw = (FIXTURES / "wangwang.txt").read_text(encoding="utf-8").encode("gb18030")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert [c.id for c in read_conversations("-")] == ["tb12345678", "jane_doe"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"hello\n")))
    with pytest.raises(UnknownNameError, match=r"<stdin>"):
        list(read_conversations("-"))


def test_report_counts_in_raise_mode() -> None:
    """A report passed with errors='raise' still counts what was read."""
    report = ReadReport()
    convs = list(read_conversations(FIXTURES / "wangwang.txt", report=report))
    assert (report.conversations_read, report.messages_read) == (2, sum(len(c) for c in convs))
    assert report.skips == []


def test_gzip_path_and_turns_alias(tmp_path: Path) -> None:
    """A .gz path is decompressed; 'turns' is read like 'messages'; extra keys go to meta."""
    import gzip

    path = tmp_path / "dialogues.jsonl.gz"
    rec = {"id": "d1", "turns": [{"role": "buyer", "text": "在吗", "action": "ask"}], "overall": 2}
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (conv,) = read_conversations(path)
    assert (conv.id, dict(conv.meta), conv.messages[0].text) == ("d1", {"overall": 2}, "在吗")
    assert conv.messages[0].meta["action"] == "ask"


def test_backwards_time_under_collect_skips_the_conversation(tmp_path: Path) -> None:
    """A conversation whose times go backwards is reported whole (all its messages lost)."""
    path = tmp_path / "back.jsonl"
    recs = [
        {"id": "bad", "messages": [{"role": "buyer", "text": "1", "time": "2024-05-01 10:05"}]},
        {"id": "ok", "messages": [{"role": "buyer", "text": "2", "time": "2024-05-01 10:00"}]},
    ]
    recs[0]["messages"].append({"role": "agent", "text": "3", "time": "2024-05-01 10:00"})  # type: ignore[attr-defined]
    path.write_text("\n".join(json.dumps(r) for r in recs), encoding="utf-8")
    report = ReadReport()
    with pytest.warns(SkippedInputWarning):
        convs = list(read_conversations(path, errors="collect", report=report))
    assert [c.id for c in convs] == ["ok"]
    assert [(s.line, s.messages_lost) for s in report.skips] == [(1, 2)]


def test_write_to_binary_stream_and_bare_session_end(tmp_path: Path) -> None:
    """write_jsonl accepts a binary stream; a bare 会话结束_时间 line ends a JD session."""
    log = tmp_path / "bare.log"
    log.write_text(
        "/*****************以下为一通会话*****/\njd_1 2024-05-01 10:00:00\n在吗\n"
        "会话结束_时间：2024-05-01 10:09:00\n",
        encoding="utf-8",
    )
    (conv,) = read_conversations(log)
    assert (conv.messages[0].text, conv.meta["closed_at"]) == ("在吗", "2024-05-01 10:09:00")
    buf = io.BytesIO()
    write_jsonl([conv], buf)
    buf.seek(0)
    assert list(read_conversations(buf, "jsonl")) == [conv]


class TestStrategies:
    """The shared Hypothesis strategies honour their options."""

    @given(conversations(timed=True, min_messages=1))
    def test_timed(self, conv: Conversation) -> None:
        assert all(m.sent_at is not None and m.sent_at.tzinfo is not None for m in conv)

    @given(conversations(timed=False))
    def test_untimed(self, conv: Conversation) -> None:
        assert all(m.sent_at is None for m in conv)


def test_shared_jddc_dev_set_reads_without_skips() -> None:
    """The real JDDC dialogues (``turns`` records) read cleanly, when the shared data is there."""
    from conftest import SHARED_DATA

    path = SHARED_DATA / "jddc_sat.dev.jsonl.gz"
    if not path.exists():
        pytest.skip("shared dev data not available")
    report = ReadReport()
    convs = list(read_conversations(path, report=report))
    assert (len(convs), report.skips) == (462, [])
    assert {m.role for c in convs for m in c} == {Role.BUYER, Role.AGENT}


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        ("examples/qianniu_export.txt", ["ex-002", "ex-004", "ex-029"]),
        ("examples/jd_dongdong.log", ["ex-010", "ex-012", "ex-027", "ex-030"]),
    ],
)
def test_bundled_exports_read_to_the_labelled_conversations(name: str, ids: list[str]) -> None:
    """Without any hint, roles, texts, times and senders equal the hand-labelled JSONL."""
    from kefu_standards.resources import data_file

    labelled = {c.id: c for c in read_conversations(str(data_file("examples/conversations.jsonl")))}
    got = list(read_conversations(str(data_file(name))))
    assert len(got) == len(ids)
    for conv, ref_id in zip(got, ids, strict=True):
        ref = labelled[ref_id]
        assert [(m.role, m.text, m.sent_at, m.sender) for m in conv] == [
            (m.role, m.text, m.sent_at, m.sender) for m in ref
        ], ref_id


# -- reader errors --------------------------------------------------------------------
# Audit regressions in the readers: typed errors for bad numbers, no silently swallowed rows.

# --- epoch timestamps out of range --------------------------------------------------------


def _one_message(time: str) -> str:
    message = f'{{"role": "buyer", "text": "在吗", "time": {time}}}'
    return f'{{"id": "a", "messages": [{message}]}}\n'


@pytest.mark.parametrize("time", ["1e30", "-1e20", "NaN", "Infinity", "1" + "0" * 400])
def test_epoch_out_of_range_is_a_bad_timestamp(time: str) -> None:
    """A numeric time no datetime can hold raises BadTimestampError naming the line.

    (1e30 used to raise a bare OverflowError, even under errors="collect".)
    """
    with pytest.raises(BadTimestampError, match=r"line 1: .*bad timestamp"):
        list(ks.read_conversations(io.StringIO(_one_message(time)), "jsonl"))


def test_epoch_out_of_range_is_collected() -> None:
    """Under errors="collect" it is a skip that lost one message, and reading goes on."""
    report = ks.ReadReport()
    text = _one_message("1e30") + _one_message("1714528800").replace('"a"', '"b"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ks.exceptions.SkippedInputWarning)
        convs = list(
            ks.read_conversations(io.StringIO(text), "jsonl", errors="collect", report=report)
        )
    assert [len(c) for c in convs] == [0, 1]
    assert (report.messages_read, report.messages_lost, len(report.skips)) == (1, 1, 1)


@pytest.mark.parametrize(
    ("time", "iso"),
    [
        ("1714528800", "2024-05-01T10:00:00+08:00"),  # seconds
        ("1714528800000", "2024-05-01T10:00:00+08:00"),  # milliseconds
    ],
)
def test_epoch_in_range_still_reads(time: str, iso: str) -> None:
    """Ordinary epoch seconds and milliseconds are read as before."""
    (conv,) = ks.read_conversations(io.StringIO(_one_message(time)), "jsonl")
    assert conv.messages[0].sent_at is not None
    assert conv.messages[0].sent_at.isoformat() == iso


# --- idle_gap -----------------------------------------------------------------------------

EMPTY = '{"id": "a", "messages": []}\n'


@pytest.mark.parametrize(
    "gap", [float("nan"), float("inf"), 1e300, -5, 0, "30", True, timedelta(0)]
)
def test_bad_idle_gap_is_a_config_error(gap: object) -> None:
    """NaN, infinite, huge, non-positive or non-numeric gaps raise ConfigError at call time.

    (NaN used to raise a bare ValueError and inf an OverflowError.)
    """
    with pytest.raises(ConfigError, match="idle_gap must be positive"):
        ks.read_conversations(io.StringIO(EMPTY), "jsonl", idle_gap=gap)  # type: ignore[arg-type]


@pytest.mark.parametrize("gap", [30, 30.5, timedelta(minutes=5)])
def test_good_idle_gap_is_accepted(gap: object) -> None:
    """Positive seconds (int or float) and positive timedeltas are accepted."""
    convs = list(ks.read_conversations(io.StringIO(EMPTY), "jsonl", idle_gap=gap))  # type: ignore[arg-type]
    assert [c.id for c in convs] == ["a"]


# --- CSV: a quote that is never closed ---------------------------------------------------

HEADER = "conversation_id,role,text,time\n"
UNCLOSED = (
    HEADER
    + "a,buyer,在吗,2024-05-01 10:00:00\n"
    + 'a,agent,"亲，在的,2024-05-01 10:00:05\n'  # opening quote never closed
    + "a,buyer,快递呢,2024-05-01 10:00:20\n"
    + "a,agent,已发货,2024-05-01 10:00:30\n"
)


def test_unclosed_quote_raises_naming_its_line() -> None:
    """The row whose quote never closes is reported (it used to swallow the rest silently)."""
    with pytest.raises(BadRecordError, match=r"line 3: malformed CSV: a quoted field"):
        list(ks.read_conversations(io.StringIO(UNCLOSED), "csv"))


def test_unclosed_quote_is_collected_as_an_unknown_loss() -> None:
    """Under errors="collect" the rows before it are kept and the loss is unknown."""
    report = ks.ReadReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ks.exceptions.SkippedInputWarning)
        convs = list(
            ks.read_conversations(io.StringIO(UNCLOSED), "csv", errors="collect", report=report)
        )
    assert [m.text for c in convs for m in c] == ["在吗"]
    assert len(report.skips) == 1
    assert report.summary().endswith("1 skips, an unknown number of messages lost")


@pytest.mark.parametrize(
    ("losses", "says"),
    [
        ([2, 1], "2 skips, 3 messages lost"),
        ([2, None], "2 skips, at least 2 messages lost (1 skips could not count theirs)"),
        ([None], "1 skips, an unknown number of messages lost"),
        ([0, None], "2 skips, an unknown number of messages lost"),
        ([], "0 skips, 0 messages lost"),
    ],
)
def test_read_report_summary_says_what_is_known_of_the_losses(
    losses: list[int | None], says: str
) -> None:
    """The summary never claims "at least 0": unknown losses are said to be unknown."""
    report = ks.ReadReport()
    report.skips.extend(ks.io.Skip("f.csv", i + 1, "bad", lost) for i, lost in enumerate(losses))
    assert report.summary().endswith(says)


@pytest.mark.parametrize(
    ("row", "text"),
    [
        ('a,agent,"两行\n文字",2024-05-01 10:00:05\n', "两行\n文字"),  # closed multi-line field
        ('a,agent,"他说""好的""",2024-05-01 10:00:05\n', '他说"好的"'),  # doubled quotes
        ('a,agent,他说"好的,2024-05-01 10:00:05\n', '他说"好的'),  # stray quote mid-field
    ],
)
def test_well_formed_and_lenient_quotes_still_read(row: str, text: str) -> None:
    """Closed multi-line fields, doubled quotes and a stray mid-field quote read as before."""
    (conv,) = ks.read_conversations(io.StringIO(HEADER + row), "csv")
    assert [m.text for m in conv] == [text]


# --- role rules read Traditional script like Simplified ----------------------------------

WANGWANG = (
    "某某旗舰店\n"
    "----------------------------tb_x----------------------------\n"
    "tb_x(2024-05-07 20:41:10):  在嗎\n"
    "某某旗舰店:小美(2024-05-07 20:41:27):  {notice}\n"
    "某某旗舰店:小李(2024-05-07 20:41:40):  親，在的\n"
)


@pytest.mark.parametrize(
    ("notice", "role", "rule"),
    [
        ("由 服务助手 转交给 某某旗舰店:小李", "system", "transfer_notice"),
        ("由 服務助手 轉交給 某某旗艦店:小李", "system", "transfer_notice"),
        ("【自动回复】亲，欢迎光临", "bot", "auto_reply_marker"),
        ("【自動回復】親，歡迎光臨", "bot", "auto_reply_marker"),
        ("系統提示：對方已離開", "system", "system_tip"),
        ("我幫您轉交給售後同事處理哦", "agent", None),  # a human's words stay the agent's
    ],
)
def test_role_rules_read_traditional_like_simplified(
    notice: str, role: str, rule: str | None
) -> None:
    """A platform notice in Traditional script gets the role its Simplified form gets."""
    (conv,) = ks.read_conversations(io.StringIO(WANGWANG.format(notice=notice)), "wangwang")
    message = conv.messages[1]
    assert message.text == notice  # the text is never changed
    assert (message.role.value, message.meta.get("role_rule")) == (role, rule)


def _unfoldings() -> st.SearchStrategy[str]:
    """Role-rule examples (firing and look-alike) with any characters swapped for forms
    that fold back to them: Traditional script, full width, upper case."""
    from kefu_standards.io._roles import ROLE_RULES
    from kefu_standards.text import _fold_table

    variants: dict[str, list[str]] = {}
    for k, v in _fold_table().items():
        variants.setdefault(chr(v), []).append(chr(k))

    def spelt(example: str) -> st.SearchStrategy[str]:
        chars = [st.sampled_from([c, *sorted(variants.get(c, ()))]) for c in example]
        return st.tuples(*chars).map("".join)

    examples = sorted({e for rule in ROLE_RULES for e in (rule.fires, rule.does_not_fire)})
    return st.sampled_from(examples).flatmap(spelt)


@given(_unfoldings())
def test_role_rules_classify_a_text_as_its_folded_form(text: str) -> None:
    """Only texts with a character that folds onto a rule character are folded first;
    that shortcut must never change the answer: every text classifies as fold(text)."""
    from kefu_standards.io._roles import classify_text
    from kefu_standards.model import Role
    from kefu_standards.text import fold

    for role in (Role.BUYER, Role.AGENT):
        assert classify_text(text, role) == classify_text(fold(text), role)


# --- classic Mac line endings (CR only) ------------------------------------------------


@pytest.mark.parametrize("name", ["examples/qianniu_export.txt", "examples/conversations.jsonl"])
def test_cr_only_line_endings_read_like_lf(name: str, tmp_path: Path) -> None:
    """A file with CR-only line endings reads like its LF form.

    (The whole file used to be one line: the 千牛 export gave 0 conversations and no error.)
    """
    from kefu_standards.resources import data_file

    original = Path(str(data_file(name)))
    cr = tmp_path / original.name
    cr.write_bytes(original.read_bytes().replace(b"\n", b"\r"))
    expected = list(ks.read_conversations(original))
    assert expected
    assert list(ks.read_conversations(cr)) == expected


@pytest.mark.parametrize(
    ("raw", "texts"),
    [
        (b"conversation_id,role,text\r\na,buyer,x\r\na,agent,y\r\n", ["x", "y"]),  # CRLF
        (b"conversation_id,role,text\ra,buyer,x\ra,agent,y", ["x", "y"]),  # CR only
        (b'conversation_id,role,text\na,buyer,"x\ry"\n', ["x\ry"]),  # CR inside a field
    ],
)
def test_line_endings_in_csv(raw: bytes, texts: list[str]) -> None:
    """CRLF, CR-only and a CR inside a quoted LF-terminated field all read as expected."""
    (conv,) = ks.read_conversations(io.BytesIO(raw), "csv")
    assert [m.text for m in conv] == texts


def test_write_jsonl_names_the_conversation_whose_meta_json_cannot_hold() -> None:
    """A datetime in meta is a ConfigError naming the conversation (was a bare TypeError)."""
    from datetime import datetime

    conv = ks.Conversation.from_records(
        [{"role": "buyer", "text": "在吗"}], id="c-7", meta={"exported": datetime(2024, 5, 1)}
    )
    with pytest.raises(ConfigError, match=r"conversation 'c-7' cannot be written as JSON"):
        ks.write_jsonl([conv], io.StringIO())
