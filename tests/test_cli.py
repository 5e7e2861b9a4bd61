"""The `kefu-standards` command: subcommands, outputs and documented exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kefu_standards.cli import EXIT_INPUT, EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, main
from kefu_standards.exceptions import SkippedInputWarning

GOOD = (
    '{"id": "c1", "messages": ['
    '{"role": "buyer", "text": "在吗", "time": "2024-05-06 10:00:00", "sender": "tb1"}, '
    '{"role": "agent", "text": "亲，在的", "time": "2024-05-06 10:00:20", "sender": "店:小美"}]}\n'
)
BAD_TIME = (
    '{"id": "c2", "messages": ['
    '{"role": "buyer", "text": "在吗", "time": "yesterday", "sender": "tb2"}]}\n'
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


class TestExitCodes:
    def test_no_command_prints_help_and_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a subcommand the help goes to stderr and the exit code is 2."""
        code, _, err = run([], capsys)
        assert code == EXIT_USAGE
        assert "analyze" in err
        assert "exit codes" in err

    def test_help_teaches(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help names every subcommand, the exit codes and examples."""
        with pytest.raises(SystemExit) as info:
            main(["--help"])
        out = capsys.readouterr().out
        assert info.value.code == 0
        for word in ("analyze", "read", "politeness", "sentiment", "response-times", "examples"):
            assert word in out

    def test_bad_input_names_file_and_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad timestamp stops the run with exit 3 and says where it is."""
        f = tmp_path / "chats.jsonl"
        f.write_text(GOOD + BAD_TIME, encoding="utf-8")
        code, _, err = run(["read", str(f)], capsys)
        assert code == EXIT_INPUT
        assert "chats.jsonl" in err
        assert "line 2" in err
        assert "yesterday" in err

    def test_collect_skips_reports_and_exits_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With --errors collect the bad message is skipped, reported with its line, exit 1."""
        f = tmp_path / "chats.jsonl"
        f.write_text(GOOD + BAD_TIME, encoding="utf-8")
        with pytest.warns(SkippedInputWarning):
            code, out, err = run(["read", str(f), "--errors", "collect"], capsys)
        assert code == EXIT_SKIPPED
        recs = [json.loads(line) for line in out.splitlines()]
        assert [(r["id"], len(r["messages"])) for r in recs] == [("c1", 2), ("c2", 0)]
        assert "line 2" in err

    def test_unknown_policy_is_an_input_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An unknown preset fails with exit 3 and lists the valid presets."""
        f = tmp_path / "chats.jsonl"
        f.write_text(GOOD, encoding="utf-8")
        code, _, err = run(["response-times", str(f), "--policy", "tmall"], capsys)
        assert code == EXIT_INPUT
        assert "taobao" in err


class TestRead:
    def test_jsonl_round_trip(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """read writes one JSON line per conversation that reads back the same."""
        f = tmp_path / "chats.jsonl"
        f.write_text(GOOD, encoding="utf-8")
        code, out, _ = run(["read", str(f)], capsys)
        assert code == EXIT_OK
        rec = json.loads(out)
        assert rec["id"] == "c1"
        assert [m["text"] for m in rec["messages"]] == ["在吗", "亲，在的"]
        assert rec["messages"][0]["time"] == "2024-05-06T10:00:00+08:00"

    def test_table_view(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--to table prints a header and one row per conversation."""
        f = tmp_path / "chats.jsonl"
        f.write_text(GOOD, encoding="utf-8")
        code, out, _ = run(["read", str(f), "--to", "table"], capsys)
        assert code == EXIT_OK
        header, row = out.splitlines()
        assert header.split()[:3] == ["id", "messages", "buyer"]
        assert row.split()[:3] == ["c1", "2", "tb1"]

    def test_stdin(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """'-' reads standard input."""

        class _Stdin:
            buffer = io.BytesIO(GOOD.encode("utf-8"))

        monkeypatch.setattr(sys, "stdin", _Stdin())
        code, out, _ = run(["read", "-", "--format", "jsonl"], capsys)
        assert code == EXIT_OK
        assert json.loads(out)["id"] == "c1"


class TestResponseTimes:
    def test_rows_per_conversation(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The JSON output has the documented fields with the measured wait."""
        f = tmp_path / "chats.jsonl"
        f.write_text(GOOD, encoding="utf-8")
        code, out, _ = run(["response-times", str(f), "--to", "jsonl"], capsys)
        assert code == EXIT_OK
        row = json.loads(out)
        assert row["first_response_s"] == 20.0
        assert row["rounds"] == 1
        assert row["answered"] == 1


class TestAnalyze:
    def test_bundled_examples_write_three_files(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With no file, analyze reads the bundled examples and writes all outputs."""
        code, out, err = run(["analyze", "--out", str(tmp_path)], capsys)
        assert code == EXIT_OK
        results = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(results) == 30
        assert {json.loads(r)["id"] for r in results} == {f"ex-{i:03d}" for i in range(1, 31)}
        with (tmp_path / "agents.csv").open(encoding="utf-8-sig") as fh:
            agents = list(csv.DictReader(fh))
        assert len([a for a in agents if int(a["conversations"])]) >= 4
        assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        assert "agent" in out
        assert "wrote" in err

    def test_worker_count_does_not_change_results(self, tmp_path: Path) -> None:
        """Results are identical with 1 and 2 workers (order and numbers)."""
        from kefu_standards.resources import data_file

        src = str(data_file("examples/conversations.jsonl"))
        outs = []
        for workers in (1, 2):
            dest = tmp_path / f"w{workers}"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kefu_standards",
                    "analyze",
                    src,
                    "--out",
                    str(dest),
                    "--workers",
                    str(workers),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            outs.append((dest / "results.jsonl").read_text(encoding="utf-8"))
        assert outs[0] == outs[1]
