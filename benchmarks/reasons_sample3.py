"""Draw the third blind labelling sample for the reasons check (#19): a fresh held-out sample.

The first two samples (``reasons_sample.py``, ``reasons_sample2.py``) were labelled before the
reason rules were tuned against them, so they are no longer held out. This one draws a new
sample in three strata, from ``../shared/data/jddc_sat.dev.jsonl.gz``, leaving out the keys of
the two earlier samples in ``benchmarks/data/reasons_labels.tsv`` (``sample`` =
``random_or_fired`` or ``dissatisfied``; not this sample's own rows nor later ones, so that a
re-run draws the same messages) and empty messages.
Per role (buyer, agent):

- ``random``: ``--per-cell`` (default 50) messages uniformly among all usable messages of the
  role (drawn first, so this stratum is a plain uniform sample of the unlabelled messages);
- ``evidence``: ``--per-cell`` messages among the rest that appear as evidence of some escalation
  reason, any kind (``Evidence.message_index``, or the reason's ``message_indexes`` when it has
  no spans), with conversations built and ``ks.escalation`` run as in ``reasons_sample.py``;
- ``dissatisfied``: ``--per-cell`` messages among the rest from the pools of
  ``reasons_sample2.py``, which use jddc_sat's own ratings only: buyer turns rated
  ``satisfaction == 0`` plus every buyer turn of a dialogue rated ``overall == 0``; the agent
  turn immediately before a buyer turn rated ``satisfaction == 0``.

Draws use one ``random.Random(seed)`` (seed 2107) in this order: random buyer, random agent,
evidence buyer, evidence agent, dissatisfied buyer, dissatisfied agent; each from a sorted pool.
It writes two files outside the project (jddc text must not be committed):

- ``--out`` (default ``/work/label-sample3.tsv``): key (``<dialogue id>#<turn index>``), role,
  context (previous message text), text; shuffled, with nothing saying why a message was drawn;
- ``--strata`` (default ``/work/label-strata3.tsv``): key, role, stratum, and whether the message
  is in the evidence pool and in the dissatisfied pool; not to be opened until labelling is done.

Nothing about the library's output is printed. Re-running it gives the same files as long as
the library's reasons and the labels file's keys are unchanged (the evidence pool depends on the
library version; the strata file records membership for the version that drew the sample).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path
from typing import Any

import kefu_standards as ks
from _labels import add_dissatisfied, clean, labelled_keys, write_sample
from kefu_standards import Conversation

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "jddc_sat.dev.jsonl.gz"
LABELS = ROOT / "benchmarks" / "data" / "reasons_labels.tsv"
SEED = 2107
#: The samples drawn before this one, whose keys it skips.
EARLIER_SAMPLES = frozenset({"random_or_fired", "dissatisfied"})
ROLES = ("buyer", "agent")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--labels", type=Path, default=LABELS, help="keys already labelled are skipped")
    ap.add_argument("--out", type=Path, default=Path("/work/label-sample3.tsv"))
    ap.add_argument("--strata", type=Path, default=Path("/work/label-strata3.tsv"))
    ap.add_argument("--per-cell", type=int, default=50, help="messages per stratum and role")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0

    skip = labelled_keys(args.labels, EARLIER_SAMPLES)
    turns_by_id: dict[str, list[dict[str, Any]]] = {}
    usable: dict[str, list[str]] = {r: [] for r in ROLES}
    evidence: dict[str, set[str]] = {r: set() for r in ROLES}
    dissatisfied: dict[str, set[str]] = {r: set() for r in ROLES}
    with gzip.open(args.data, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            did, turns = rec["id"], rec["turns"]
            turns_by_id[did] = turns
            conv = Conversation.from_records(
                [{"role": t["role"], "text": t["text"]} for t in turns], id=did
            )
            if len(conv.messages) != len(turns):
                raise SystemExit(f"{did}: {len(conv.messages)} messages for {len(turns)} turns")
            for i, t in enumerate(turns):
                key = f"{did}#{i}"
                if key in skip or not clean(t["text"]):
                    continue
                usable[t["role"]].append(key)
            add_dissatisfied(rec, dissatisfied)
            for reason in ks.escalation(conv).reasons:
                idx = {e.message_index for e in reason.evidence if e.message_index is not None}
                for i in idx or set(reason.message_indexes):
                    evidence[turns[i]["role"]].add(f"{did}#{i}")

    ok = {r: set(usable[r]) for r in ROLES}
    rng = random.Random(args.seed)
    chosen: dict[str, tuple[str, str]] = {}  # key -> (role, stratum)
    strata = (("random", None), ("evidence", evidence), ("dissatisfied", dissatisfied))
    for stratum, pools in strata:
        for role in ROLES:
            base = ok[role] if pools is None else ok[role] & pools[role]
            pool = sorted(k for k in base if k not in chosen)
            for key in rng.sample(pool, min(args.per_cell, len(pool))):
                chosen[key] = (role, stratum)

    keys = sorted(chosen)
    rng.shuffle(keys)
    write_sample(args.out, keys, {k: role for k, (role, _) in chosen.items()}, turns_by_id)
    with args.strata.open("w", encoding="utf-8") as fh:
        fh.write("key\trole\tstratum\tis_evidence\tis_dissatisfied\n")
        for key in sorted(chosen):
            role, stratum = chosen[key]
            ev, dis = int(key in evidence[role]), int(key in dissatisfied[role])
            fh.write(f"{key}\t{role}\t{stratum}\t{ev}\t{dis}\n")
    print(f"{len(keys)} messages written to {args.out} (strata in {args.strata})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
