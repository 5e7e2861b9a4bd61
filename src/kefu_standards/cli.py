"""The ``kefu-standards`` command.

Subcommands::

    kefu-standards analyze [FILE ...] [--out DIR]   the main job (bundled examples if no FILE)
    kefu-standards read FILE ... [--to jsonl|table] read any supported export, write JSON Lines
    kefu-standards response-times [FILE ...]        rounds and waits per conversation
    kefu-standards sentiment [FILE|-]               buyer sentiment of each line
    kefu-standards politeness [FILE|-]              politeness of each line, evidence highlighted
    kefu-standards train-sentiment DATA --out MODEL retrain the sentiment model on your data
    kefu-standards train-escalation CHATS --labels FILE --out MODEL.npz
                                                    fit escalation risk to your own ratings

Exit codes: 0 success; 1 finished, but some input was skipped (``--errors collect``;
the skips are printed on stderr); 2 usage error; 3 input or configuration error
(the message names the file, the line and what was wrong); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from ._cli_common import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SKIPPED,
    EXIT_USAGE,
    PSEUDONYM_KEY_ENV,
    redaction_policy,
)
from ._jsontext import dumps, visible
from ._politeness_cli import cli_politeness
from ._sentiment_cli import cli_score, cli_train
from .exceptions import KefuError, SkippedInputWarning
from .outcomes._cli import (
    add_outcome_options,
    compare_platform,
    outcome_join,
    run_outcome_join,
    write_platform_compare,
)
from .redact import RedactionPolicy, redact

__all__ = [
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SKIPPED",
    "EXIT_USAGE",
    "PSEUDONYM_KEY_ENV",
    "main",
    "redaction_policy",
]


_EPILOG = """\
exit codes:
  0    success
  1    finished, but some input was skipped (with --errors collect; skips listed on stderr)
  2    usage error
  3    input or configuration error (file, line and reason are printed)
  130  interrupted

examples:
  kefu-standards analyze                          # the bundled example conversations
  kefu-standards analyze chats.jsonl --out report/
  kefu-standards read 千牛导出.txt --format wangwang > chats.jsonl
  echo "你们这什么态度？？" | kefu-standards politeness
"""


def _add_input_options(p: argparse.ArgumentParser, *, files_required: bool = False) -> None:
    p.add_argument(
        "files",
        nargs="+" if files_required else "*",
        metavar="FILE",
        help=(
            "input files ('-' for stdin); formats: jsonl, csv, wangwang, qianniu_web, "
            "qianniu_clip, jd, xlsx"
        ),
    )
    p.add_argument(
        "--format",
        default="auto",
        help="input format (default: auto, from the extension and the first lines)",
    )
    p.add_argument("--encoding", default=None, help="input encoding (default: detect)")
    p.add_argument(
        "--tz", default=None, help="time zone of naive timestamps (default: Asia/Shanghai)"
    )
    p.add_argument(
        "--errors",
        choices=("raise", "collect"),
        default="raise",
        help="stop at the first bad record (raise) or skip and report it (collect)",
    )
    p.add_argument("--sort", action="store_true", help="sort messages by time instead of failing")
    p.add_argument(
        "--idle-gap",
        type=float,
        default=None,
        metavar="SECONDS",
        help="split conversations into sessions at silences longer than this",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress line on stderr (default: on when stderr is a terminal)",
    )


def _add_redaction_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--redact",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "mask personal data (phones, addresses, names, ids, ...) in what is printed or "
            "written for people (default: on; --no-redact for a shop's internal use)"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="kefu-standards",
        description=(
            "Measure service quality in Chinese e-commerce customer-service chats (客服): "
            "response times, buyer sentiment, agent politeness, escalation risk and "
            "competency against the nine service standards, with evidence."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "analyze",
        help="analyse conversations (the bundled examples when no FILE is given)",
        description=(
            "Analyse conversations and write results.jsonl, agents.csv, trends.csv, "
            "topics.csv, report.html and a summary."
        ),
    )
    _add_input_options(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: print only)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    p.add_argument(
        "--policy",
        default="default",
        help="timing policy preset: default, taobao (600 s cap, 08:00-23:00), jd",
    )
    p.add_argument(
        "--results",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --out, also write results.jsonl (one line per conversation)",
    )
    _add_redaction_options(p)
    p.add_argument(
        "--pseudonymize",
        action="store_true",
        help=(
            "write buyer ids in results.jsonl as keyed hashes (key: the "
            f"{PSEUDONYM_KEY_ENV} environment variable)"
        ),
    )
    p.add_argument(
        "--escalation-model",
        type=Path,
        default=None,
        metavar="MODEL.npz",
        help="escalation model fitted on your own ratings (train-escalation)",
    )
    add_outcome_options(p)  # outcomes (#15): --ratings/--orders/--refunds/--reviews
    p.set_defaults(run=_cmd_analyze)

    p = sub.add_parser(
        "train-escalation",
        help="fit escalation risk to your own labelled chats (cross-validated)",
        description=(
            "Fit an escalation model to your conversations and their satisfaction labels, "
            "print its cross-validated AUCs next to the shipped model's, save it."
        ),
    )
    _add_input_options(p, files_required=True)
    p.add_argument(
        "--labels",
        type=Path,
        required=True,
        help="CSV with a header: id,label (1/0, true/false) or id,rating (0-4)",
    )
    p.add_argument(
        "--message-labels",
        type=Path,
        default=None,
        help="optional CSV id,index,label: labels of buyer messages (0-based index)",
    )
    p.add_argument("--out", type=Path, required=True, help="model file to write (.npz)")
    p.add_argument(
        "--dissatisfied-max",
        type=int,
        default=1,
        help="ratings up to this are dissatisfied (default 1 on 0-4)",
    )
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds (default 0)")
    p.add_argument("--l2", type=float, default=1.0, help="turn-head penalty (default 1.0)")
    p.set_defaults(run=_cmd_train_escalation)

    p = sub.add_parser(
        "read",
        help="read chat exports and write them as JSON Lines (or a table)",
        description="Read any supported export and write one conversation per line.",
    )
    _add_input_options(p, files_required=True)
    p.add_argument("--to", choices=("jsonl", "table"), default="jsonl", help="output form")
    p.set_defaults(run=_cmd_read)

    p = sub.add_parser(
        "response-times",
        help="rounds, waits, reply rate and SLA rate per conversation",
        description="Response-time statistics per conversation (Taobao/JD definitions).",
    )
    _add_input_options(p)
    p.add_argument("--policy", default="default", help="timing policy preset: default, taobao, jd")
    p.add_argument("--to", choices=("jsonl", "table"), default="table", help="output form")
    p.set_defaults(run=_cmd_response_times)

    for name, target, text in (
        ("sentiment", cli_score, "buyer sentiment of each input line"),
        ("train-sentiment", cli_train, "train a sentiment model on your data"),
        ("politeness", cli_politeness, "politeness of each input line"),
    ):
        p = sub.add_parser(name, help=text, add_help=False)
        p.set_defaults(run=_delegate(target))
    return parser


def _delegate(
    target: Callable[[list[str]], int],
) -> Callable[[argparse.Namespace, list[str]], int]:
    def run(_args: argparse.Namespace, rest: list[str]) -> int:
        return int(target(rest))

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(args_list)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if rest and args.command not in {"sentiment", "train-sentiment", "politeness"}:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command in {"sentiment", "train-sentiment", "politeness"}:
        rest = args_list[args_list.index(args.command) + 1 :]
    try:
        return int(args.run(args, rest))
    except KefuError as exc:
        print(f"kefu-standards: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("kefu-standards: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `kefu-standards read x | head`
        return EXIT_OK
    except OSError as exc:  # e.g. --out names a file, or a folder that cannot be written
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"kefu-standards: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INPUT


# -- shared input handling ----------------------------------------------------


class _Inputs:
    """Read every input file as one stream of conversations, tracking skips."""

    def __init__(self, args: argparse.Namespace) -> None:
        from .io import ReadReport

        self.args = args
        self.report = ReadReport()

    def __iter__(self) -> Iterator[object]:
        from .io import read_conversations

        files = list(self.args.files) or [str(_bundled_examples())]
        # every skip is printed by finish(), with its file and line: the library's
        # once-per-read warning would say the first one again, with a source line
        warnings.filterwarnings("ignore", category=SkippedInputWarning)
        for f in files:
            yield from read_conversations(
                sys.stdin.buffer if f == "-" else f,
                format=self.args.format,
                encoding=self.args.encoding,
                tz=self.args.tz,
                errors=self.args.errors,
                report=self.report,
                sort=self.args.sort,
                idle_gap=self.args.idle_gap,
            )

    def finish(self) -> int:
        if self.report.skips:
            for skip in self.report.skips:
                print(f"kefu-standards: skipped: {skip}", file=sys.stderr)
            print(f"kefu-standards: {self.report.summary()}", file=sys.stderr)
            return EXIT_SKIPPED
        return EXIT_OK


def _bundled_examples() -> Path:
    from .resources import data_file

    return Path(str(data_file("examples/conversations.jsonl")))


def _progress_enabled(args: argparse.Namespace) -> bool:
    return bool(sys.stderr.isatty() if args.progress is None else args.progress)


def _write_table(rows: list[dict[str, object]], out: TextIO) -> None:
    """Print rows as an aligned text table (CJK characters count double width)."""
    if not rows:
        out.write("(no rows)\n")
        return
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    cols = list(rows[0])
    cells = [[visible(_fmt(r.get(c))) for c in cols] for r in rows]
    widths = [max(width(c), *(width(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c + " " * (w - width(c)) for c, w in zip(cols, widths, strict=True))
    out.write(line.rstrip() + "\n")
    for row in cells:
        text = "  ".join(v + " " * (w - width(v)) for v, w in zip(row, widths, strict=True))
        out.write(text.rstrip() + "\n")


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _redact_rows(
    rows: list[dict[str, Any]], policy: RedactionPolicy, fields: tuple[str, ...]
) -> list[dict[str, object]]:
    """Return *rows* with the text of *fields* redacted under *policy*."""
    return [
        {
            k: redact(v, policy).text if k in fields and isinstance(v, str) else v
            for k, v in r.items()
        }
        for r in rows
    ]


# -- subcommands ----------------------------------------------------------------


def _cmd_read(args: argparse.Namespace, _rest: list[str]) -> int:
    from ._progress import Progress
    from .model import Conversation

    inputs = _Inputs(args)
    progress = Progress(enabled=_progress_enabled(args))
    rows: list[dict[str, object]] = []
    for conv in progress.wrap(inputs):
        assert isinstance(conv, Conversation)
        if args.to == "jsonl":
            sys.stdout.write(dumps(conv.to_record()) + "\n")
        else:
            rows.append(
                {
                    "id": conv.id,
                    "messages": len(conv),
                    "buyer": conv.buyer,
                    "agents": ",".join(conv.agents) or None,
                    "start": conv.started_at.isoformat() if conv.started_at else None,
                }
            )
    progress.close()
    if args.to == "table":
        _write_table(rows, sys.stdout)
    return inputs.finish()


def _cmd_response_times(args: argparse.Namespace, _rest: list[str]) -> int:
    from ._progress import Progress
    from .model import Conversation
    from .timing import TimingPolicy, response_times

    policy = TimingPolicy() if args.policy == "default" else TimingPolicy.preset(args.policy)
    inputs = _Inputs(args)
    progress = Progress(enabled=_progress_enabled(args))
    rows: list[dict[str, object]] = []
    for conv in progress.wrap(inputs):
        assert isinstance(conv, Conversation)
        t = response_times(conv, policy=policy)
        row: dict[str, object] = {
            "id": conv.id,
            "rounds": t.n_rounds,
            "answered": t.n_answered,
            "first_response_s": t.first_response_s,
            "mean_response_s": t.mean_response_s,
            "reply_rate": t.reply_rate,
            "within_sla_rate": t.within_sla_rate,
            "duration_s": t.duration_s,
        }
        if args.to == "jsonl":
            sys.stdout.write(dumps(row) + "\n")
        else:
            rows.append(row)
    progress.close()
    if args.to == "table":
        _write_table(rows, sys.stdout)
    return inputs.finish()


def _cmd_analyze(args: argparse.Namespace, _rest: list[str]) -> int:
    from ._outputs import write_report
    from ._progress import Progress
    from .analysis import analyze

    policy = None if args.policy == "default" else args.policy
    model = None
    if args.escalation_model is not None:
        from ._escalation_fit import EscalationModel

        model = EscalationModel.load(args.escalation_model)
    inputs = _Inputs(args)
    progress = Progress(enabled=_progress_enabled(args))
    results_path = None
    if args.out is not None and args.results:
        args.out.mkdir(parents=True, exist_ok=True)
        results_path = args.out / "results.jsonl"
    redaction = redaction_policy(args.redact)
    join = outcome_join(args)  # outcomes (#15): None without outcome files
    conversations = progress.wrap(inputs)
    report = analyze(
        conversations,  # type: ignore[arg-type]
        policy=policy,
        workers=args.workers,
        results=results_path,
        redaction=redaction,
        pseudonymize=args.pseudonymize,
        escalation_model=model,
        on_result=None if join is None else join.add,  # outcomes (#15): stubs and signals
    )
    progress.close()
    skipped_outcomes, outcome_lines = False, list[str]()
    if join is not None:  # outcomes (#15): join, stderr counts, KPI columns, diagnosis
        outcomes, outcome_lines, skipped_outcomes = run_outcome_join(join, args)
        report = attrs.evolve(report, outcomes=outcomes)
    report, compared = compare_platform(report, args)  # outcomes (#15): into report.html too
    if args.out is not None:
        paths = write_report(report, args.out, redaction=redaction)
        paths += write_platform_compare(compared, args)  # outcomes (#15)
        for p in [results_path, *paths]:
            if p is not None:
                print(f"wrote {p}", file=sys.stderr)
    if not redaction.enabled:
        print(f"kefu-standards: {redaction.describe()}", file=sys.stderr)
    for line in outcome_lines:  # outcomes (#15): joined/unmatched counts per file
        print(line, file=sys.stderr)
    _write_table(_redact_rows(report.agent_rows(), redaction, ("agent",)), sys.stdout)
    sys.stdout.write("\n")
    rows = _redact_rows(report.conversation_rows(), redaction, ("id", "reasons"))
    _write_table(rows, sys.stdout)
    code = inputs.finish()
    return EXIT_SKIPPED if skipped_outcomes and code == EXIT_OK else code


def _cmd_train_escalation(args: argparse.Namespace, _rest: list[str]) -> int:
    from ._escalation_cli import stderr_say, train
    from ._progress import Progress

    inputs = _Inputs(args)
    progress = Progress(enabled=_progress_enabled(args))
    convs = list(progress.wrap(inputs))
    progress.close()
    model = train(
        convs,  # type: ignore[arg-type]
        labels=args.labels,
        message_labels=args.message_labels,
        out=args.out,
        dissatisfied_max=args.dissatisfied_max,
        folds=args.folds,
        seed=args.seed,
        l2=args.l2,
        say=stderr_say,
    )
    sys.stdout.write(model.report.summary() + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return inputs.finish()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
