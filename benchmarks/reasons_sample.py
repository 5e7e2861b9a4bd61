"""Draw the blind labelling sample for the reasons check (issue #19).

Reads ``../shared/data/jddc_sat.dev.jsonl.gz``, builds each conversation as
``bench_escalation.py`` does (role and text of every turn, id = dialogue id), runs
``ks.escalation`` and selects messages in two strata, balanced between buyer and agent:

- ``evidence``: messages that appear as evidence (``Evidence.message_index``, or the
  reason's ``message_indexes`` when it has no spans) of some escalation reason, any kind;
- ``random``: messages drawn uniformly among all messages not already drawn.

It writes two files outside the project (jddc text must not be committed):

- ``--out`` (default ``/work/label-sample.tsv``): key (``<dialogue id>#<turn index>``),
  role, context (previous message text), text; shuffled, with nothing saying why a
  message was drawn or which reason fired;
- ``--strata`` (default ``/work/label-strata.tsv``): key, role, stratum, and whether the
  message is evidence of some reason; not to be opened until labelling is finished.

Nothing about reasons is printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

import kefu_standards as ks
from _labels import clean, write_sample
from kefu_standards import Conversation

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "jddc_sat.dev.jsonl.gz"
SEED = 19


def load(path: Path) -> list[tuple[str, list[dict[str, str]], Conversation]]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            turns = [{"role": t["role"], "text": t["text"]} for t in rec["turns"]]
            conv = Conversation.from_records(turns, id=rec["id"])
            out.append((rec["id"], turns, conv))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=Path("/work/label-sample.tsv"))
    ap.add_argument("--strata", type=Path, default=Path("/work/label-strata.tsv"))
    ap.add_argument("--per-cell", type=int, default=80, help="messages per stratum and role")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0

    rng = random.Random(args.seed)
    dialogues = load(args.data)
    turns_by_id: dict[str, list[dict[str, str]]] = {}
    every: dict[str, list[str]] = {"buyer": [], "agent": []}
    evidence: dict[str, set[str]] = {"buyer": set(), "agent": set()}
    for did, turns, conv in dialogues:
        turns_by_id[did] = turns
        if len(conv.messages) != len(turns):
            raise SystemExit(f"{did}: {len(conv.messages)} messages for {len(turns)} turns")
        for i, t in enumerate(turns):
            if clean(t["text"]):
                every[t["role"]].append(f"{did}#{i}")
        esc = ks.escalation(conv)
        for reason in esc.reasons:
            idx = {e.message_index for e in reason.evidence if e.message_index is not None}
            for i in idx or set(reason.message_indexes):
                if clean(turns[i]["text"]):
                    evidence[turns[i]["role"]].add(f"{did}#{i}")

    chosen: dict[str, tuple[str, str]] = {}  # key -> (role, stratum)
    for role in ("buyer", "agent"):
        pool = sorted(evidence[role])
        for key in rng.sample(pool, min(args.per_cell, len(pool))):
            chosen[key] = (role, "evidence")
    for role in ("buyer", "agent"):
        pool = [k for k in every[role] if k not in chosen]
        for key in rng.sample(pool, min(args.per_cell, len(pool))):
            chosen[key] = (role, "random")

    keys = sorted(chosen)
    rng.shuffle(keys)
    write_sample(args.out, keys, {k: role for k, (role, _) in chosen.items()}, turns_by_id)
    with args.strata.open("w", encoding="utf-8") as fh:
        fh.write("key\trole\tstratum\tis_evidence\n")
        for key in sorted(chosen):
            role, stratum = chosen[key]
            fh.write(f"{key}\t{role}\t{stratum}\t{int(key in evidence[role])}\n")
    print(f"{len(keys)} messages written to {args.out} (strata in {args.strata})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
