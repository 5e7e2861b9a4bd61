"""Audit regressions in the command line: documented exit codes, no tracebacks.

`kefu-standards --help`: 0 success; 1 finished, but some input was skipped; 2 usage
error; 3 input or configuration error (file, line and reason are printed).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import kefu_standards as ks
from kefu_standards._sentiment_cli import cli_score
from kefu_standards.cli import EXIT_INPUT, EXIT_OK, main
from kefu_standards.resources import data_file


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
