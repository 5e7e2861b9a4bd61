"""Specification of offset-preserving text normalisation."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kefu_standards as ks
from kefu_standards.cli import EXIT_OK, main
from kefu_standards.exceptions import InputTypeError, KefuError
from kefu_standards.text import (
    blank_placeholders,
    fold,
    has_content,
    normalize,
    placeholder_spans,
)

# Traditional, full-width, placeholder and emoji-rich text.
chat_text = st.lists(
    st.sampled_from(
        [
            *"親謝請問這個質量還說們，！？ＡＢｃ１２　 好的在吗[]数字x#E-s/:^_😀\n",
            "[数字x]",
            "#E-s[数字x]",
            "/:^_^",
            "[ORDERID_123]",
        ]
    ),
    max_size=30,
).map("".join)


class TestFold:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("親，謝謝！", "亲,谢谢!"),
            ("這個質量還行", "这个质量还行"),
            ("ＯＫ　ｏｋ", "ok ok"),
            ("ABC", "abc"),
            ("１２３４５", "12345"),
            ("好的。", "好的。"),
            ("", ""),
        ],
    )
    def test_table(self, raw: str, expected: str) -> None:
        """Full width, Traditional and ASCII case fold to one form."""
        assert expected == fold(raw)

    @given(chat_text)
    def test_length_is_preserved(self, s: str) -> None:
        """Folding never changes the length, so offsets stay valid."""
        assert len(fold(s)) == len(s)
        assert len(normalize(s)) == len(s)


class TestPlaceholders:
    @pytest.mark.parametrize(
        ("raw", "spans"),
        [
            ("订单[ORDERID_10337264]到了", [(2, 20)]),
            ("#E-s[数字x]好的", [(0, 9)]),
            ("共[金额x]元", [(1, 6)]),
            ("谢谢/:^_^", [(2, 7)]),
            ("[价保金额(单件)]", [(0, 10)]),
            ("普通文本[不是]", []),
            ("发了[图片]", [(2, 6)]),
        ],
    )
    def test_spans(self, raw: str, spans: list[tuple[int, int]]) -> None:
        """Corpus placeholders and emoticon codes are found with their spans."""
        assert spans == placeholder_spans(raw)

    def test_blank_keeps_length(self) -> None:
        """Blanking replaces each placeholder by spaces of the same length."""
        assert blank_placeholders("a[数字x]b") == "a     b"

    def test_normalize_blanks_before_folding(self) -> None:
        """Upper-case placeholder codes are recognised even though fold lower-cases."""
        assert normalize("[ORDERID_12]親") == " " * 12 + "亲"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("", False),
            ("   ", False),
            ("？？！", False),
            ("[数字x] #E-s[数字x]", False),
            ("好", True),
            ("ok", True),
            ("[数字x]件", True),
        ],
    )
    def test_has_content(self, raw: str, expected: bool) -> None:
        """Only text with letters, digits or CJK outside placeholders has content."""
        assert expected == has_content(raw)


# -- any text --------------------------------------------------------------------
# Audit regressions: any ``str`` a reader can produce is scored, and JSON output stays UTF-8.
#
# A JSON export can hold a lone surrogate (``"\ud83d"``: an emoji cut in half by a
# length limit); ``json.loads`` keeps it.  The analysers used to crash on such text
# with ``UnicodeEncodeError``, and the JSON Lines writers could not encode it.

HALF_EMOJI = "在吗\ud83d"  # the high half of 😀 alone
CHAT_LINE = (
    '{"id": "s1", "messages": ['
    '{"role": "buyer", "text": "在吗\\ud83d", "time": "2024-05-01 10:00:00", "sender": "tb1"}, '
    '{"role": "agent", "text": "在的亲\\udc00", "time": "2024-05-01 10:00:10", '
    '"sender": "店:小美"}]}\n'
)


def _chat() -> ks.Conversation:
    (conv,) = ks.read_conversations(io.StringIO(CHAT_LINE), "jsonl")
    return conv


def test_the_reader_keeps_a_lone_surrogate() -> None:
    """The premise: the JSONL reader yields the text as ``json.loads`` gives it."""
    assert _chat().messages[0].text == HALF_EMOJI


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("sentiment", lambda t: ks.sentiment(t).label),
        ("sentiment_many", lambda t: ks.sentiment_many([t, "好的"])[0].label),
        ("sentiment_scores", lambda t: float(ks.sentiment_scores([t])[0])),
        ("politeness", lambda t: ks.politeness(t).label),
        ("politeness_many", lambda t: ks.politeness_many([t])[0].label),
    ],
)
def test_text_analysers_score_a_lone_surrogate(name: str, call: object) -> None:
    """Each text analyser returns a result for text with a lone surrogate (no crash)."""
    assert callable(call)
    call(HALF_EMOJI)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("escalation", lambda c: ks.escalation(c).level),
        ("assess", lambda c: ks.assess(c).total),
        ("analyze", lambda c: ks.analyze([c]).conversations),
    ],
)
def test_conversation_analysers_take_a_lone_surrogate(name: str, call: object) -> None:
    """Escalation, the scorecard and analyze run on such a conversation."""
    assert callable(call)
    assert call(_chat()) is not None


def test_evidence_offsets_still_point_into_the_text() -> None:
    """Surrogates count as one character: evidence spans stay offsets into the text."""
    text = "你们这什么态度\ud83d我要投诉"
    for result in (ks.sentiment(text), ks.politeness(text)):
        assert all(text[e.start : e.end] == e.text for e in result.evidence)


def test_write_jsonl_round_trips_a_lone_surrogate(tmp_path: Path) -> None:
    """write_jsonl writes valid UTF-8 (the surrogate as a \\u escape) and reads back equal."""
    conv = _chat()
    out = tmp_path / "out.jsonl"
    ks.write_jsonl([conv], out)
    raw = out.read_bytes()
    raw.decode("utf-8")  # strict: valid UTF-8
    assert b"\\ud83d" in raw
    assert list(ks.read_conversations(out)) == [conv]


def test_analyze_writes_results_and_report(tmp_path: Path) -> None:
    """analyze(results=...) and write_report() finish on such text."""
    results = tmp_path / "results.jsonl"
    report = ks.analyze([_chat()], results=results)
    paths = ks.write_report(report, tmp_path / "report")
    for line in results.read_text(encoding="utf-8").splitlines():
        json.loads(line)
    assert all(p.exists() for p in paths)


@pytest.mark.parametrize("command", ["read", "analyze"])
def test_cli_reads_and_analyses_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`read` and `analyze --out` exit 0 on such input (they used to crash, exit code 1)."""
    src = tmp_path / "chats.jsonl"
    src.write_text(CHAT_LINE, encoding="utf-8")
    argv = [command, str(src)] + (["--out", str(tmp_path / "out")] if command == "analyze" else [])
    assert main(argv) == EXIT_OK
    capsys.readouterr()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ks.sentiment_many("好的谢谢"), "not one str"),
        (lambda: ks.sentiment_scores("好的谢谢"), "not one str"),
        (lambda: ks.politeness_many("好的谢谢"), "not one str"),
        (lambda: ks.sentiment_many(123), "iterable of texts, got int"),
        (lambda: ks.sentiment_scores(None), "iterable of texts, got NoneType"),
        (lambda: ks.politeness_many(1.5), "iterable of texts, got float"),
    ],
)
def test_many_refuses_a_single_string_or_a_non_iterable(call: object, match: str) -> None:
    """A str or a non-iterable passed to a *_many function is refused with the library's
    wrong-type error (a KefuError that is also a TypeError), not scored character by
    character or left to fail inside the library."""
    assert callable(call)
    with pytest.raises(InputTypeError, match=match) as caught:
        call()
    assert isinstance(caught.value, KefuError)
    assert isinstance(caught.value, TypeError)


def test_many_still_takes_any_iterable_of_texts() -> None:
    """Lists, tuples and generators of texts are still accepted."""
    texts = ("好的谢谢", "什么态度")
    expected = [s.score for s in ks.sentiment_many(list(texts))]
    assert [s.score for s in ks.sentiment_many(t for t in texts)] == expected
    assert len(ks.politeness_many(iter(texts))) == 2


@pytest.mark.parametrize(
    "argv",
    [["read", "{src}", "--to", "table"], ["response-times", "{src}"], ["analyze", "{src}"]],
)
def test_cli_tables_print_a_lone_surrogate_escaped(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Table output shows a lone surrogate in an id or a name as \\uXXXX (it crashed)."""
    src = tmp_path / "chats.jsonl"
    src.write_text(
        '{"id": "s\\ud83d", "messages": [{"role": "buyer", "text": "在吗", "sender": "tb"}, '
        '{"role": "agent", "text": "在的", "sender": "a\\ud83d"}]}\n',
        encoding="utf-8",
    )
    assert main([a.format(src=src) for a in argv]) == EXIT_OK
    out = capsys.readouterr().out
    out.encode("utf-8")  # strict: printable on any UTF-8 terminal
    assert "\\ud83d" in out


def test_politeness_table_prints_a_lone_surrogate_escaped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kefu-standards politeness --jsonl` prints such text escaped (it crashed)."""
    from kefu_standards._politeness_cli import cli_politeness

    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "你自己看\\ud83d"}\n'))
    assert cli_politeness(["--jsonl", "--color", "never"]) == EXIT_OK
    out = capsys.readouterr().out
    out.encode("utf-8")
    assert "看\\ud83d" in out
