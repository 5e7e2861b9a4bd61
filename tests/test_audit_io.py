"""Audit regressions in the readers: typed errors for bad numbers, no silently swallowed rows."""

from __future__ import annotations

import io
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards.exceptions import BadRecordError, BadTimestampError, ConfigError

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
    """Under errors="collect" the rows before it are kept and the loss is 'at least'."""
    report = ks.ReadReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ks.exceptions.SkippedInputWarning)
        convs = list(
            ks.read_conversations(io.StringIO(UNCLOSED), "csv", errors="collect", report=report)
        )
    assert [m.text for c in convs for m in c] == ["在吗"]
    assert len(report.skips) == 1
    assert "at least" in report.summary()


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
