"""Bad input: every problem names file and line; errors="collect" loses nothing silently."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu_standards.exceptions import (
    BadRecordError,
    BadTimestampError,
    BrokenBlockError,
    DecodeError,
    ReadError,
    SkippedInputWarning,
    UnknownRoleError,
)
from kefu_standards.io import ReadReport, read_conversations
from kefu_standards.model import Conversation
from strategies import conversations

D = "-" * 28
E = "=" * 64
WW_HEAD = f"某某旗舰店:小美\n{D}tb1{D}\n"


class Case(NamedTuple):
    """A broken input, the error it must raise, and how many messages it holds."""

    id: str
    name: str
    content: str | bytes
    fmt: str
    kwargs: dict[str, object]
    error: type[ReadError]
    line: int
    total: int


CASES: list[Case] = [
    Case(
        "wangwang-bad-timestamp",
        "ww.txt",
        WW_HEAD + "tb1(2024-13-01 10:00:00):  几号发货\n第二行\n"
        "某某旗舰店:小美(2024-05-01 10:00:09):  今天\n" + E + "\n",
        "wangwang",
        {},
        BadTimestampError,
        3,
        2,
    ),
    Case(
        "wangwang-text-before-first-message",
        "ww.txt",
        WW_HEAD + "孤立的一行\ntb1(2024-05-01 10:00:00):  在吗\n" + E + "\n",
        "wangwang",
        {},
        BrokenBlockError,
        3,
        1,
    ),
    Case(
        "wangwang-unknown-sayer",
        "ww.txt",
        WW_HEAD + "tb1(2024-05-01 10:00:00):  在吗\nstranger(2024-05-01 10:00:05):  hi\n",
        "wangwang",
        {},
        UnknownRoleError,
        4,
        2,
    ),
    Case(
        "wangwang-message-outside-block",
        "ww.txt",
        WW_HEAD + "tb1(2024-05-01 10:00:00):  在吗\n" + E + "\ntb1(2024-05-01 10:01:00):  喂\n",
        "wangwang",
        {},
        BrokenBlockError,
        5,
        2,
    ),
    Case(
        "wangwang-undecodable-line",
        "ww.txt",
        (WW_HEAD + "tb1(2024-05-01 10:00:00):  这个有现货吗，颜色是黑色的吗\n").encode()
        + b"\xff\xfe broken\n"
        + "某某旗舰店:小美(2024-05-01 10:00:09):  有的亲，黑色白色都有现货哦\n".encode(),
        "wangwang",
        {},
        DecodeError,
        4,
        2,
    ),
    Case(
        "jd-text-outside-session",
        "dd.log",
        "jd_1 2024-05-01 10:00:00\n在吗\n",
        "jd",
        {},
        BrokenBlockError,
        1,
        1,
    ),
    Case(
        "jd-bad-date",
        "dd.log",
        "/*****************以下为一通会话*****/\njd_1 2024-02-30 10:00:00\n在吗\n"
        "店--小黛 2024-05-01 10:00:10\n在的\n",
        "jd",
        {},
        BadTimestampError,
        2,
        2,
    ),
    Case(
        "jsonl-missing-role",
        "m.jsonl",
        '{"conversation_id": "a", "role": "buyer", "text": "x"}\n'
        '{"conversation_id": "a", "text": "y"}\n',
        "jsonl",
        {},
        BadRecordError,
        2,
        2,
    ),
    Case(
        "jsonl-unknown-role",
        "c.jsonl",
        '{"id": "a", "messages": '
        '[{"role": "buyer", "text": "x"}, {"role": "alien", "text": "y"}]}\n',
        "jsonl",
        {},
        UnknownRoleError,
        1,
        2,
    ),
    Case(
        "jsonl-bad-time",
        "m.jsonl",
        '{"conversation_id": "a", "role": "buyer", "text": "x", "time": "yesterday"}\n',
        "jsonl",
        {},
        BadTimestampError,
        1,
        1,
    ),
    Case(
        "jsonl-invalid-json-message-line",
        "m.jsonl",
        '{"conversation_id": "a", "role": "buyer", "text": "x"}\n{"conversation_id": \n',
        "jsonl",
        {},
        BadRecordError,
        2,
        2,
    ),
    Case(
        "csv-bad-time",
        "m.csv",
        "conversation_id,role,text,time\na,buyer,x,2024-05-01 10:00\na,agent,y,soon\n",
        "csv",
        {},
        BadTimestampError,
        3,
        2,
    ),
    Case(
        "web-time-without-sender",
        "w.csv",
        '买家,聊天内容\ntb1,"2024-05-01\n10:00:00\n在吗\ntb1\n10:00:05"\n',
        "qianniu_web",
        {},
        BrokenBlockError,
        2,
        2,
    ),
    Case(
        "web-impossible-time",
        "w.csv",
        '买家,聊天内容\ntb1,"2024-05-01\n10:00:00\n在吗\ntb1\n25:00:00\n在的\n店:小美"\n',
        "qianniu_web",
        {},
        BadTimestampError,
        2,
        2,
    ),
    Case(
        "clip-text-before-first-header",
        "clip.txt",
        "随手记的一行\n另一行\ntb1 2024-05-01 10:00:00\n在吗\n",
        "qianniu_clip",
        {},
        BrokenBlockError,
        1,
        1,
    ),
    Case(
        "clip-bad-time",
        "clip.txt",
        "tb1 2024-5-1 10:00:00\n在吗\n店铺:小美 2024-2-30 10:00:10\n在的\n",
        "qianniu_clip",
        {},
        BadTimestampError,
        3,
        2,
    ),
    Case(
        "clip-two-unknown-speakers",
        "clip.txt",
        "tb1 2024-5-1 10:00:00\n在吗\n阿强 2024-5-1 10:00:10\n在的\n",
        "qianniu_clip",
        {},
        UnknownRoleError,
        3,
        2,
    ),
]


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_names_file_line_and_reason(tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case.name, case.content)
    with pytest.raises(case.error) as info:
        list(read_conversations(path, case.fmt, **case.kwargs))  # type: ignore[arg-type]
    assert (info.value.source, info.value.line) == (str(path), case.line)
    assert f"{case.name}, line {case.line}: " in str(info.value)
    assert info.value.reason


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_collect_loses_only_what_it_reports(tmp_path: Path, case: Case) -> None:
    """messages read == messages in the input - reported lost messages."""
    path = _write(tmp_path, case.name, case.content)
    report = ReadReport()
    with pytest.warns(SkippedInputWarning):
        convs = list(
            read_conversations(path, case.fmt, errors="collect", report=report, **case.kwargs)  # type: ignore[arg-type]
        )
    assert report.skips
    assert all(s.messages_lost is not None for s in report.skips)
    assert report.messages_read == sum(len(c) for c in convs)
    assert report.messages_read == case.total - report.messages_lost


def test_undecodable_line_is_kept_with_replacement(tmp_path: Path) -> None:
    """Under collect, a bad byte does not drop the message: it is replaced and reported."""
    case = next(c for c in CASES if c.id == "wangwang-undecodable-line")
    path = _write(tmp_path, case.name, case.content)
    report = ReadReport()
    with pytest.warns(SkippedInputWarning):
        (conv,) = read_conversations(path, "wangwang", errors="collect", report=report)
    assert "\ufffd" in conv.messages[0].text
    assert [(s.line, s.messages_lost) for s in report.skips] == [(4, 0)]


_CORRUPTIONS = ("{broken json", '{"conversation_id": "x", "role": "martian", "text": "?"}')


@given(
    convs=st.lists(conversations(timed=True, max_messages=4), max_size=4),
    bad=st.sets(st.integers(0, 30), max_size=5),
)
def test_collect_invariant_on_corrupted_jsonl(
    tmp_path_factory: pytest.TempPathFactory, convs: list[Conversation], bad: set[int]
) -> None:
    """Corrupting message lines of a JSON Lines file loses exactly the reported messages."""
    lines = []
    for n, conv in enumerate(convs):
        for msg in conv:
            lines.append(json.dumps({"conversation_id": f"c{n}", **msg.to_record()}))
    for i in bad & set(range(len(lines))):
        lines[i] = _CORRUPTIONS[i % 2]
    path = tmp_path_factory.mktemp("jsonl") / "m.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ReadReport()
    with pytest.warns(SkippedInputWarning) if bad & set(range(len(lines))) else nullcontext():
        out = list(read_conversations(path, "jsonl", errors="collect", report=report))
    assert report.messages_read == sum(len(c) for c in out)
    if report.unknown_losses == 0:
        assert report.messages_read == len(lines) - report.messages_lost


def test_utf16_is_refused_not_misread(tmp_path: Path) -> None:
    """UTF-16 (Windows 'Unicode') files are refused with a clear error, never decoded as GBK."""
    path = tmp_path / "u16.txt"
    path.write_text("某某旗舰店:小美\n", encoding="utf-16")
    with pytest.raises(DecodeError, match=r"u16\.txt, line 1: the file is UTF-16"):
        list(read_conversations(path, "wangwang"))
