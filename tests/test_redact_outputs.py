"""Redaction through the real outputs: report.html, results.jsonl, the CLI and agent profiles."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

import kefu_standards as ks
from kefu_standards.analysis import analyze, analyze_conversation
from kefu_standards.cli import main
from kefu_standards.competency import Criterion, Scorecard, profile_agent
from kefu_standards.model import Conversation, Message, Role
from kefu_standards.redact import RedactionPolicy, pseudonym, redact
from kefu_standards.scoring import ScoreResult, make_scorer

TZ = timezone(timedelta(hours=8))
BUYER = "tb_wangxm88"
AGENT = "暖屿家纺旗舰店:小美"

#: What a buyer types in a complaint, and what must never reach a report.
PLANTED = (
    "0571-88886666",
    "88886666",
    "wangxm88@163.com",
    "wxm_19900101",
    "123456789",
    "浙江省杭州市西湖区文三路100号3单元502",
    "文三路100号",
    "3单元502",
    "王小明",
    "13812345678",
    BUYER,
)


def _chat() -> Conversation:
    t0 = datetime(2024, 5, 6, 10, 12, 5, tzinfo=TZ)
    lines = [
        (Role.BUYER, f"在吗？我是{BUYER}，快递怎么还没到，太慢了，我要投诉", 0, BUYER),
        (Role.AGENT, "你自己看物流，我们不管，电话13812345678的是你吗", 480, AGENT),
        (
            Role.BUYER,
            "收件人：王小明，地址浙江省杭州市西湖区文三路100号3单元502，座机0571-88886666，"
            "邮箱wangxm88@163.com，微信: wxm_19900101，QQ 123456789。"
            "再不处理我就去12315投诉，差评！",
            540,
            BUYER,
        ),
        (
            Role.AGENT,
            "你爱投诉就投诉，收货人王小明的单子我看了，地址浙江省杭州市西湖区文三路100号3单元502没错",
            1680,
            AGENT,
        ),
    ]
    return Conversation(
        id="pd-001",
        shop="暖屿家纺旗舰店",
        messages=tuple(
            Message(role, text, t0 + timedelta(seconds=s), who) for role, text, s, who in lines
        ),
    )


def _chat_file(tmp_path: Path) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps(_chat().to_record(), ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _leaks(text: str) -> list[str]:
    return [v for v in PLANTED if v in text]


class TestAnalyzeOutputs:
    def test_report_and_results_hold_no_planted_value(self, tmp_path: Path) -> None:
        """analyze -> report.html and results.jsonl contain none of the planted values
        (the buyer id stays as data in results.jsonl's buyer field only)."""
        sink = io.StringIO()
        result = analyze([_chat()], results=sink)
        html = ks.write_report(result, tmp_path)[-1].read_text(encoding="utf-8")
        assert _leaks(html) == []
        assert "pd-001" in html  # the conversation is in the report, with its chat
        assert "买家#" + pseudonym(BUYER) in html
        record = json.loads(sink.getvalue())
        assert record["buyer"] == BUYER
        del record["buyer"]
        assert _leaks(json.dumps(record, ensure_ascii=False)) == []

    def test_the_report_says_what_was_masked(self, tmp_path: Path) -> None:
        """The notes describe the policy; no warning banner when masking is on."""
        html = ks.write_report(analyze([_chat()]), tmp_path)[-1].read_text(encoding="utf-8")
        assert RedactionPolicy().describe() in html
        assert 'class="unmasked"' not in html

    def test_masking_off_is_stated_at_the_top(self, tmp_path: Path) -> None:
        """With RedactionPolicy.off() the text is shown and the report says so before anything."""
        off = RedactionPolicy.off()
        html = ks.write_report(analyze([_chat()]), tmp_path, redaction=off)[-1].read_text(
            encoding="utf-8"
        )
        assert "0571-88886666" in html
        assert BUYER in html
        banner = html.index('class="unmasked"')
        assert banner < html.index("<h2>")
        assert "masking was off" in html

    def test_evidence_keeps_its_span(self) -> None:
        """Evidence in results.jsonl is the masked message cut at the evidence's span."""
        conv = _chat()
        sink = io.StringIO()
        analyze([conv], results=sink)
        record = json.loads(sink.getvalue())
        assert record["hits"]
        for start, end, text, _kind, index in record["hits"]:
            shown = redact(conv.messages[index].text, known=(BUYER,)).text
            assert text == shown[start:end]

    def test_evidence_inside_personal_data_is_masked(self) -> None:
        """A span over part of a phone number shows the masked characters."""
        conv = _chat()
        r = analyze_conversation(conv)
        e = ks.Evidence(14, 25, "13812345678", "harsh_tone", -1.0, "", 1)
        assert conv.messages[1].text[14:25] == e.text
        out = attrs.evolve(r, hits=(e,)).redacted(conv)
        assert out.hits[0].text == "138****5678"

    def test_pseudonymize(self) -> None:
        """pseudonymize=True writes the buyer as the 16-character keyed hash."""
        sink = io.StringIO()
        analyze([_chat()], results=sink, pseudonymize=True)
        record = json.loads(sink.getvalue())
        assert record["buyer"] == pseudonym(BUYER, length=16)
        assert BUYER not in sink.getvalue()

    def test_scores_do_not_depend_on_redaction(self) -> None:
        """Redaction is an output step: every number is the same with masking on or off."""
        on, off = io.StringIO(), io.StringIO()
        analyze([_chat()], results=on)
        analyze([_chat()], results=off, redaction=RedactionPolicy.off())
        a, b = json.loads(on.getvalue()), json.loads(off.getvalue())
        numbers = [k for k, v in a.items() if isinstance(v, (int, float)) or k == "dimensions"]
        assert numbers
        assert {k: a[k] for k in numbers} == {k: b[k] for k in numbers}
        assert [h[:2] for h in a["hits"]] == [h[:2] for h in b["hits"]]

    def test_frequent_questions_are_redacted(self, tmp_path: Path) -> None:
        """The report's most frequent buyer questions (topics section) are shown masked."""
        t0 = datetime(2024, 5, 6, 10, 0, tzinfo=TZ)
        question = "什么时候发货？收件人王小明电话13812345678"
        convs = [
            Conversation(
                id=f"q{i}",
                messages=(
                    Message(Role.BUYER, question, t0, f"tb_buyer{i}"),
                    Message(Role.AGENT, "亲，今天发货哦", t0 + timedelta(seconds=30), AGENT),
                ),
            )
            for i in range(3)
        ]
        html = ks.write_report(analyze(convs), tmp_path)[-1].read_text(encoding="utf-8")
        assert "什么时候发货？收件人王**电话138****5678" in html
        assert _leaks(html) == []

    def test_bad_policy_is_a_config_error(self) -> None:
        """analyze(redaction=...) must be a RedactionPolicy."""
        with pytest.raises(ks.exceptions.ConfigError, match="RedactionPolicy"):
            analyze([_chat()], redaction="off")  # type: ignore[arg-type]


class TestCli:
    def test_analyze_outputs_hold_no_planted_value(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`kefu-standards analyze --out` writes and prints none of the planted values."""
        out = tmp_path / "out"
        assert main(["analyze", str(_chat_file(tmp_path)), "--out", str(out)]) == 0
        printed, _ = capsys.readouterr()
        assert _leaks(printed) == []
        assert _leaks((out / "report.html").read_text(encoding="utf-8")) == []
        assert _leaks((out / "agents.csv").read_text(encoding="utf-8-sig")) == []
        assert _leaks((out / "topics.csv").read_text(encoding="utf-8-sig")) == []
        results = json.loads((out / "results.jsonl").read_text(encoding="utf-8"))
        assert results.pop("buyer") == BUYER
        assert _leaks(json.dumps(results, ensure_ascii=False)) == []

    def test_no_redact_and_pseudonymize(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--no-redact shows the text and says so; --pseudonymize hashes the buyer with the key."""
        monkeypatch.setenv("KEFU_STANDARDS_PSEUDONYM_KEY", "shop secret")
        out = tmp_path / "out"
        argv = ["analyze", str(_chat_file(tmp_path)), "--out", str(out)]
        assert main([*argv, "--no-redact", "--pseudonymize"]) == 0
        _, err = capsys.readouterr()
        assert "masking was off" in err
        html = (out / "report.html").read_text(encoding="utf-8")
        assert "0571-88886666" in html
        assert "masking was off" in html
        buyer = json.loads((out / "results.jsonl").read_text(encoding="utf-8"))["buyer"]
        assert len(buyer) == 16
        assert buyer != pseudonym(BUYER, length=16)  # keyed by the environment's secret

    @pytest.mark.parametrize("to", ["table", "jsonl"])
    def test_politeness_printout(
        self, to: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`politeness` prints the text masked, evidence still marked; --no-redact shows it."""
        line = "你自己看，收件人：王小明，电话13812345678\n"
        monkeypatch.setattr("sys.stdin", io.StringIO(line))
        assert main(["politeness", "--to", to, "--color", "never"]) == 0
        printed = capsys.readouterr().out
        assert _leaks(printed) == []
        assert "138****5678" in printed
        if to == "table":
            assert "【你自己】" in printed
        else:
            record = json.loads(printed)
            assert len(record["text"]) == len(line) - 1
        monkeypatch.setattr("sys.stdin", io.StringIO(line))
        assert main(["politeness", "--to", to, "--no-redact"]) == 0
        assert "13812345678" in capsys.readouterr().out

    def test_sentiment_printout(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`sentiment` prints the text masked and the evidence cut from it."""
        line = "太差了，寄到浙江省杭州市西湖区文三路100号3单元502，电话13812345678\n"
        monkeypatch.setattr("sys.stdin", io.StringIO(line))
        assert main(["sentiment", "--evidence"]) == 0
        record = json.loads(capsys.readouterr().out)
        assert _leaks(json.dumps(record, ensure_ascii=False)) == []
        for e in record["evidence"]:
            assert e["text"] == record["text"][e["start"] : e["end"]]
        monkeypatch.setattr("sys.stdin", io.StringIO(line))
        assert main(["sentiment", "--no-redact"]) == 0
        assert "13812345678" in capsys.readouterr().out


def _reason_quotes_a_phone(_conversation: Conversation) -> ScoreResult:
    return ScoreResult(0.2, reason="没有回拨买家电话13812345678")


class TestAgentProfile:
    def test_worst_reasons_are_redacted(self) -> None:
        """profile_agent's costly-conversation reasons are masked; off() shows them."""
        card = Scorecard("test", (Criterion("callback", make_scorer(_reason_quotes_a_phone)),))
        profile = profile_agent([_chat()], AGENT, scorecard=card)
        assert profile.worst
        assert "138****5678" in profile.worst[0].reason
        raw = profile_agent([_chat()], AGENT, scorecard=card, redaction=RedactionPolicy.off())
        assert "13812345678" in raw.worst[0].reason
