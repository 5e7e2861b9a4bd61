"""Specification of ``kefu-standards politeness``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kefu_standards._politeness_cli import cli_politeness, highlight
from kefu_standards.evidence import Evidence

FIX = Path(__file__).parent / "fixtures" / "politeness"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_politeness(argv)
    out, err = capsys.readouterr()
    return code, out, err


class TestCli:
    def test_table_highlights_evidence(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = _run([str(FIX / "replies.txt"), "--color", "never"], capsys)
        assert code == 0
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["line", "score", "label"]
        assert "〔亲〕，〔您好〕" in lines[1]
        assert "polite" in lines[1]
        assert "【你不会自己看吗】【？？】" in lines[2]
        assert "impolite" in lines[2]
        assert "n/a" in lines[3]  # line 4 is a placeholder only; line 3 (blank) is skipped
        assert lines[4].split()[0] == "5"

    def test_colour(self, capsys: pytest.CaptureFixture[str]) -> None:
        _, out, _ = _run([str(FIX / "replies.txt"), "--color", "always"], capsys)
        assert "\x1b[31m你不会自己看吗\x1b[0m" in out

    def test_jsonl_in_and_out(self, capsys: pytest.CaptureFixture[str]) -> None:
        argv = [str(FIX / "messages.jsonl"), "--jsonl", "--agent-only", "--to", "jsonl"]
        code, out, _ = _run(argv, capsys)
        records = [json.loads(line) for line in out.splitlines()]
        assert code == 0
        assert [r["line"] for r in records] == [2, 3]
        assert records[1]["label"] == "impolite"
        ev = records[1]["evidence"][0]
        assert records[1]["text"][ev["start"] : ev["end"]] == ev["text"] == "不知道"

    def test_stdin(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("谢谢你啊，真是服了\n"))
        code, out, _ = _run(["--to", "jsonl"], capsys)
        assert code == 0
        assert json.loads(out)["label"] == "impolite"

    def test_custom_lexicon(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        src = tmp_path / "in.txt"
        src.write_text("小主您好\n", encoding="utf-8")
        argv = [str(src), "--lexicon", str(FIX / "shop_lexicon.tsv"), "--to", "jsonl"]
        _, out, _ = _run(argv, capsys)
        assert "小主" in [e["text"] for e in json.loads(out)["evidence"]]

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--lexicon", str(FIX / "bad_weight.tsv")], "bad_weight.tsv, line 3"),
            ([str(FIX / "missing.txt")], "missing.txt"),
            ([str(FIX / "replies.txt"), "--jsonl"], "replies.txt, line 1: not valid JSON"),
        ],
    )
    def test_input_errors_exit_3(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = _run(argv, capsys)
        assert code == 3
        assert message in err

    def test_via_main_command(self, capsys: pytest.CaptureFixture[str]) -> None:
        from kefu_standards.cli import main

        code = main(["politeness", str(FIX / "replies.txt"), "--to", "jsonl"])
        out, _ = capsys.readouterr()
        assert code == 0
        assert len(out.splitlines()) == 4


def test_highlight_skips_whole_text_model_evidence() -> None:
    ev = [
        Evidence(0, 2, "你好", "courtesy", 0.6),
        Evidence(0, 4, "你好白痴", "offensive", -1.0, "model:cold"),
        Evidence(2, 4, "白痴", "offensive", -2.5),
    ]
    assert highlight("你好白痴", ev) == "〔你好〕【白痴】"
