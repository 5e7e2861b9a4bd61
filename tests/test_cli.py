"""The `kefu-standards` command: subcommands, outputs and documented exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import kefu_standards as ks
from kefu_standards._sentiment_cli import cli_score
from kefu_standards.cli import EXIT_INPUT, EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, main
from kefu_standards.exceptions import SkippedInputWarning
from kefu_standards.resources import data_file

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
        """With --errors collect the bad message is skipped, reported once with its line
        (no library warning repeating it), exit 1."""
        f = tmp_path / "chats.jsonl"
        f.write_text(GOOD + BAD_TIME, encoding="utf-8")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code, out, err = run(["read", str(f), "--errors", "collect"], capsys)
        assert code == EXIT_SKIPPED
        assert not [w for w in caught if issubclass(w.category, SkippedInputWarning)]
        recs = [json.loads(line) for line in out.splitlines()]
        assert [(r["id"], len(r["messages"])) for r in recs] == [("c1", 2), ("c2", 0)]
        assert err.count("line 2") == 1
        assert "skipped:" in err

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


# -- exit codes --------------------------------------------------------------------
# Audit regressions in the command line: documented exit codes, no tracebacks.
#
# `kefu-standards --help`: 0 success; 1 finished, but some input was skipped; 2 usage
# error; 3 input or configuration error (file, line and reason are printed).


@pytest.mark.parametrize("gap", ["nan", "inf", "1e300"])
def test_non_finite_idle_gap_is_an_input_error(
    gap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--idle-gap nan/inf exits 3 with a message (it used to crash with exit code 1)."""
    assert main(["read", str(data_file("examples/conversations.jsonl")), "--idle-gap", gap]) == 3
    assert "idle_gap must be positive" in capsys.readouterr().err


@pytest.mark.parametrize("results", ["--results", "--no-results"])
def test_out_naming_a_file_is_an_input_error(
    results: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out pointing at an existing file exits 3 naming it (it used to crash, exit code 1)."""
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    assert main(["analyze", "--out", str(target), results]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("kefu-standards: error: ")
    assert "taken" in err
    assert "Traceback" not in err


def _gbk_file(tmp_path: Path) -> Path:
    path = tmp_path / "gbk.txt"
    path.write_bytes("什么态度\n".encode("gbk"))
    return path


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["/nonexistent/lines.txt"], "cannot open"),
        ([None], "not UTF-8 text"),  # None: the GBK file
        (["-", "--backend", "nope"], "unknown backend"),
    ],
)
def test_sentiment_input_errors_exit_3(
    argv: list[str | None],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`kefu-standards sentiment` input errors exit 3 with a message naming the problem.

    (A missing file exited 1, the code for "some input was skipped", and a GBK
    file crashed with a UnicodeDecodeError traceback.)
    """
    monkeypatch.setattr("sys.stdin", io.StringIO("好的\n"))
    args = [str(_gbk_file(tmp_path)) if a is None else a for a in argv]
    assert cli_score(args) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("kefu-standards sentiment: error: ")
    assert says in err


def test_sentiment_success_still_exits_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scoring stdin still prints one JSON line per input line and exits 0."""
    monkeypatch.setattr("sys.stdin", io.StringIO("好的\n什么态度\n"))
    assert cli_score([]) == EXIT_OK
    assert len(capsys.readouterr().out.splitlines()) == 2


# --- the agent table's row of rounds credited to no agent ---------------------------------


def test_unassigned_row_counts_its_rounds(tmp_path: Path) -> None:
    """The 未分配 row of agents.csv has the rounds, reply rate and SLA rate of its rounds.

    Rounds no agent answered (a buyer's last 谢谢, a chat nobody took) are credited to no
    agent; their wait buckets went to the 未分配 row but its rounds said 0 and its
    reply rate was empty, so the rows did not add up to the team's rounds.
    """
    convs = list(ks.read_conversations(str(data_file("examples/conversations.jsonl"))))
    analysis = ks.analyze(convs)
    rows = {r["agent"]: r for r in analysis.agent_rows()}
    unassigned = rows["未分配 (unassigned)"]
    buckets = analysis.agents["未分配 (unassigned)"].wait_buckets
    assert unassigned["rounds"] == sum(buckets) > 0
    assert unassigned["reply_rate"] == 0.0
    assert unassigned["sla_rate"] == 0.0
    team_rounds = sum(t.n_rounds for t in map(ks.response_times, convs))
    assert sum(r["rounds"] for r in rows.values()) == team_rounds

    ks.write_report(analysis, tmp_path)
    with (tmp_path / "agents.csv").open(encoding="utf-8-sig", newline="") as fh:
        written = {r["agent"]: r for r in csv.DictReader(fh)}
    assert written["未分配 (unassigned)"]["rounds"] == str(sum(buckets))


def test_agents_with_rounds_keep_their_figures() -> None:
    """Named agents' rows are unchanged by the fix (one spot check per field)."""
    convs = list(ks.read_conversations(str(data_file("examples/conversations.jsonl"))))
    rows = {r["agent"]: r for r in ks.analyze(convs).agent_rows()}
    row = rows["青柚童装旗舰店:小美"]
    assert (row["conversations"], row["rounds"], row["reply_rate"], row["sla_rate"]) == (
        5,
        23,
        1.0,
        1.0,
    )


# --- flags that only make sense with another flag -----------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--only-lexicon"], "--only-lexicon needs --lexicon"),
        (["--agent-only"], "--agent-only needs --jsonl"),
    ],
)
def test_politeness_flag_without_its_partner_is_a_usage_error(
    argv: list[str],
    says: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flag documented as "with --X" given without --X exits 2 (it was silently ignored)."""
    from kefu_standards._politeness_cli import cli_politeness

    monkeypatch.setattr("sys.stdin", io.StringIO("好的\n"))
    with pytest.raises(SystemExit) as info:
        cli_politeness(argv)
    assert info.value.code == 2
    assert says in capsys.readouterr().err


def test_train_sentiment_help_names_the_real_subcommand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`kefu-standards train-sentiment --help` shows that name (it said sentiment-train)."""
    with pytest.raises(SystemExit):
        main(["train-sentiment", "--help"])
    assert capsys.readouterr().out.startswith("usage: kefu-standards train-sentiment ")


def test_train_sentiment_on_a_gbk_file_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-UTF-8 training file is an error naming the file (it was a traceback),
    with exit code 3, the input-error code ``kefu-standards --help`` documents."""
    from kefu_standards._sentiment_cli import cli_train

    data = tmp_path / "gbk.tsv"
    data.write_bytes("好\t1\n差\t0\n".encode("gbk"))
    assert cli_train([str(data), "-o", str(tmp_path / "m.npz")]) == 3
    assert "gbk.tsv: not UTF-8 text" in capsys.readouterr().err
