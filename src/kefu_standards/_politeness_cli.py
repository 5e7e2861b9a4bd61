"""``kefu-standards politeness``: politeness of each input line, with the evidence highlighted."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ._cli_common import EXIT_INPUT, EXIT_OK, redaction_policy
from ._jsontext import dumps, visible
from .evidence import Evidence
from .exceptions import KefuError, ReadError
from .redact import RedactionPolicy, redact

__all__ = ["cli_politeness", "highlight"]

_CHUNK = 256
_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"

_EPILOG = """\
input: one text per line (blank lines are skipped), or with --jsonl one JSON object per
line with a "text" field (and optionally "role": with --agent-only, only agent messages).

table view: problem hits are shown as 【…】 and courtesy as 〔…〕 (coloured red / green
instead when writing to a terminal); an offensive-model hit is listed after the text.

examples:
  echo "你不会自己看吗？？" | kefu-standards politeness
  kefu-standards politeness replies.txt --to jsonl
  kefu-standards politeness chats.jsonl --jsonl --agent-only --lexicon my_shop.tsv
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kefu-standards politeness",
        description="Score the politeness of each input line (agent replies).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", nargs="?", default="-", help="input file ('-' or absent: stdin)")
    p.add_argument("--jsonl", action="store_true", help="input is JSON Lines with a text field")
    p.add_argument("--field", default="text", help="JSON field holding the text (default: text)")
    p.add_argument(
        "--agent-only",
        action="store_true",
        help="with --jsonl: skip records whose role is not agent",
    )
    p.add_argument("--to", choices=("table", "jsonl"), default="table", help="output form")
    p.add_argument(
        "--lexicon", metavar="TSV", help="your lexicon TSV, merged over the built-in one"
    )
    p.add_argument(
        "--only-lexicon", action="store_true", help="with --lexicon: do not merge the built-ins"
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="ANSI colours in the table (auto: when stdout is a terminal)",
    )
    p.add_argument(
        "--redact",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="mask personal data in the printed text (default: on; scores use the raw text)",
    )
    return p


def _read_lines(path: str) -> Iterator[tuple[int, str]]:
    if path == "-":
        for n, line in enumerate(sys.stdin, start=1):
            yield n, line.rstrip("\r\n")
        return
    try:
        with Path(path).open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                yield n, line.rstrip("\r\n")
    except OSError as exc:
        raise ReadError(path, None, f"cannot open: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ReadError(path, None, f"not UTF-8 text ({exc.reason})") from exc


def _records(args: argparse.Namespace) -> Iterator[tuple[int, str]]:
    source = "<stdin>" if args.file == "-" else args.file
    for n, line in _read_lines(args.file):
        if not line.strip():
            continue
        if not args.jsonl:
            yield n, line
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadError(source, n, f"not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get(args.field), str):
            raise ReadError(source, n, f"expected a JSON object with a string field {args.field!r}")
        if args.agent_only and not _is_agent(record.get("role")):
            continue
        yield n, record[args.field]


def _is_agent(role: object) -> bool:
    from .model import Role

    try:
        return Role.parse(role) is Role.AGENT
    except ValueError:
        return False


def _chunks(items: Iterable[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def highlight(text: str, evidence: Sequence[Evidence], *, color: bool = False) -> str:
    """*text* with each evidence span marked: 【problem】 and 〔courtesy〕, or ANSI colours.

    Whole-text offensive-model evidence is not marked inline (it would wrap everything).
    """
    out: list[str] = []
    pos = 0
    for e in sorted(evidence, key=lambda e: (e.start, e.end)):
        if e.rule.startswith("model:") or e.start < pos or e.start == e.end:
            continue
        good = e.weight > 0
        if color:
            left, right = (_GREEN if good else _RED), _RESET
        else:
            left, right = ("〔", "〕") if good else ("【", "】")
        out += [text[pos : e.start], left, text[e.start : e.end], right]
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def _write_table(out: TextIO, n: int, text: str, result: object, color: bool) -> None:
    from ._politeness import Politeness

    assert isinstance(result, Politeness)
    score = "   n/a" if result.score is None else f"{result.score:6.3f}"
    label = result.label or "n/a"
    line = f"{n:>5}  {score}  {label:<8}  {highlight(text, result.evidence, color=color)}"
    model = [e for e in result.evidence if e.rule.startswith("model:")]
    if model:
        line += f"   [offensive model p={result.offensive:.2f}]"
    out.write(visible(line) + "\n")


def _write_json(out: TextIO, n: int, text: str, result: object) -> None:
    """Write one JSON line; *text* is as shown (redacted), evidence texts are cut from it."""
    from ._politeness import Politeness

    assert isinstance(result, Politeness)
    record = {
        "line": n,
        "text": text,
        "score": result.score,
        "label": result.label,
        "offensive": result.offensive,
        "evidence": [
            {
                "start": e.start,
                "end": e.end,
                "text": text[e.start : e.end] if e.end <= len(text) else e.text,
                "kind": e.kind,
                "weight": round(e.weight, 4),
                "rule": e.rule,
            }
            for e in result.evidence
        ],
    }
    out.write(dumps(record) + "\n")


def cli_politeness(argv: list[str] | None = None) -> int:
    """Run ``kefu-standards politeness`` with *argv* (the arguments after the subcommand).

    Returns the exit code: 0 on success, 3 on an input or lexicon error (the
    message on stderr names the file and line), 2 on a usage error.
    """
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.only_lexicon and not args.lexicon:
        parser.error("--only-lexicon needs --lexicon TSV")  # exits with code 2
    if args.agent_only and not args.jsonl:
        parser.error("--agent-only needs --jsonl (plain lines carry no role)")
    from ._politeness import Lexicon, politeness_many

    out = sys.stdout
    color = args.color == "always" or (args.color == "auto" and out.isatty())
    shown: RedactionPolicy = redaction_policy(args.redact)
    try:
        lexicon = None
        if args.lexicon:
            lexicon = Lexicon.from_tsv(args.lexicon, extend_default=not args.only_lexicon)
        if args.to == "table":
            out.write(f"{'line':>5}  {'score':>6}  {'label':<8}  text\n")
        for chunk in _chunks(_records(args)):
            results = politeness_many([t for _, t in chunk], lexicon=lexicon)
            for (n, raw), result in zip(chunk, results, strict=True):
                text = redact(raw, shown).text  # same length: evidence spans still apply
                if args.to == "table":
                    _write_table(out, n, text, result, color)
                else:
                    _write_json(out, n, text, result)
    except KefuError as exc:
        print(f"kefu-standards politeness: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK
