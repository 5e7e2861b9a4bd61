"""``kefu-standards train-escalation``: labels files and the training command (private).

Labels come from a CSV file with a header row:

- ``id,label`` (or ``id,dissatisfied``): one conversation a row; the label is
  ``1``/``true``/``yes``/``dissatisfied`` or ``0``/``false``/``no``/``satisfied``;
- ``id,rating``: a rating 0 (very dissatisfied) .. 4 (very satisfied), read with
  ``--dissatisfied-max`` (default 1);
- an empty label is "unlabelled".

Message labels (optional) are a CSV ``id,index,label`` (or ``rating``): the
0-based index of a buyer message inside its conversation.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from ._escalation_fit import RATING_MAX, EscalationModel, Label
from .exceptions import ConfigError, ReadError
from .model import Conversation

__all__ = ["read_labels", "read_message_labels", "train"]

_TRUE = frozenset({"1", "true", "yes", "y", "dissatisfied"})
_FALSE = frozenset({"0", "false", "no", "n", "satisfied"})
_BOOL_COLUMNS = ("label", "dissatisfied")
_ID_COLUMNS = ("id", "conversation_id")


def _value(raw: str, kind: str, source: str, line: int) -> Label:
    text = raw.strip().lower()
    if not text:
        return None
    if kind == "rating":
        if text.isdigit() and 0 <= int(text) <= RATING_MAX:
            return int(text)
        reason = f"rating must be an integer 0..{RATING_MAX} or empty, got {raw!r}"
        raise ReadError(source, line, reason)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    valid = "/".join(sorted(_TRUE)) + " or " + "/".join(sorted(_FALSE))
    raise ReadError(source, line, f"{kind} must be {valid} (or empty), got {raw!r}")


def _columns(
    header: Sequence[str] | None, source: str, extra: tuple[str, ...] = ()
) -> tuple[str, str, str]:
    """``(id column, label column, kind)`` of a labels file header."""
    names = [h.strip().lower() for h in header or ()]
    ident = next((c for c in _ID_COLUMNS if c in names), None)
    label = next((c for c in (*_BOOL_COLUMNS, "rating") if c in names), None)
    missing = [c for c in extra if c not in names]
    if ident is None or label is None or missing:
        want = ",".join(("id", *extra, "label"))
        reason = (
            f"the header must name the columns {want} (or 'dissatisfied' / 'rating' "
            f"instead of 'label'), got {','.join(names) or 'nothing'}"
        )
        raise ReadError(source, 1, reason)
    return ident, label, "rating" if label == "rating" else label


def _rows(path: str | Path) -> tuple[str, list[dict[str, str]], Sequence[str] | None]:
    p = Path(path)
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [{(k or "").strip().lower(): v or "" for k, v in r.items()} for r in reader]
            return str(p), rows, reader.fieldnames
    except FileNotFoundError:
        raise ReadError(str(p), None, "no such file") from None
    except UnicodeDecodeError as exc:
        raise ReadError(str(p), None, f"not UTF-8 text ({exc.reason})") from None


def read_labels(path: str | Path) -> dict[str, Label]:
    """Conversation id -> label from a CSV ``id,label`` / ``id,dissatisfied`` / ``id,rating``."""
    source, rows, header = _rows(path)
    ident, column, kind = _columns(header, source)
    out: dict[str, Label] = {}
    for line, row in enumerate(rows, start=2):
        cid = row.get(ident, "").strip()
        if not cid:
            raise ReadError(source, line, f"empty {ident}")
        if cid in out:
            raise ReadError(source, line, f"conversation {cid!r} is labelled twice")
        out[cid] = _value(row.get(column, ""), kind, source, line)
    return out


def read_message_labels(path: str | Path) -> dict[str, dict[int, Label]]:
    """Conversation id -> message index -> label from a CSV ``id,index,label`` (or rating)."""
    source, rows, header = _rows(path)
    ident, column, kind = _columns(header, source, ("index",))
    out: dict[str, dict[int, Label]] = {}
    for line, row in enumerate(rows, start=2):
        cid = row.get(ident, "").strip()
        raw = row.get("index", "").strip()
        if not cid or not raw.isdigit():
            reason = f"needs a conversation id and a 0-based message index, got {cid!r}, {raw!r}"
            raise ReadError(source, line, reason)
        per = out.setdefault(cid, {})
        if int(raw) in per:
            raise ReadError(source, line, f"message {raw} of {cid!r} is labelled twice")
        per[int(raw)] = _value(row.get(column, ""), kind, source, line)
    return out


def aligned(
    convs: Sequence[Conversation], labels: Mapping[str, Mapping[int, Label]], source: str
) -> list[list[Label] | None]:
    """Message labels aligned with each conversation's messages (``None``: none given)."""
    out: list[list[Label] | None] = []
    for c in convs:
        per = labels.get(c.id)
        if per is None:
            out.append(None)
            continue
        row: list[Label] = [None] * len(c.messages)
        for i, v in per.items():
            if i >= len(c.messages):
                msg = (
                    f"{source}: message {i} of conversation {c.id!r} does not exist "
                    f"(it has {len(c.messages)} messages, indexes 0..{len(c.messages) - 1})"
                )
                raise ConfigError(msg)
            row[i] = v
        out.append(row)
    return out


def train(
    conversations: Iterable[Conversation],
    *,
    labels: str | Path,
    message_labels: str | Path | None,
    out: Path,
    dissatisfied_max: int,
    folds: int,
    seed: int,
    l2: float,
    say: Callable[[str], None],
) -> EscalationModel:
    """Read the labels, fit, save to *out*; return the model (``say`` reports progress)."""
    by_id = read_labels(labels)
    convs = list(conversations)
    seen = {c.id for c in convs}
    unmatched = [cid for cid in by_id if cid not in seen]
    given = sum(1 for c in convs if by_id.get(c.id) is not None)
    say(f"{len(convs)} conversations read; {given} of them labelled in {labels}")
    if unmatched:
        shown = ", ".join(repr(u) for u in unmatched[:5])
        say(f"{len(unmatched)} labelled ids match no conversation (ignored): {shown}")
    per_message = None
    if message_labels is not None:
        per_message = aligned(convs, read_message_labels(message_labels), str(message_labels))
    model = EscalationModel.fit(
        convs,
        {cid: v for cid, v in by_id.items() if cid in seen},
        message_labels=per_message,
        dissatisfied_max=dissatisfied_max,
        folds=folds,
        seed=seed,
        l2=l2,
        progress=say,
    )
    model.save(out)
    return model


def stderr_say(text: str) -> None:
    """Print a progress line on stderr."""
    print(f"kefu-standards: {text}", file=sys.stderr, flush=True)
