"""Draw the second blind labelling sample for the reasons check (#19): the dissatisfied stratum.

The first sample (``reasons_sample.py``) had too few true positives to measure recall per
reason family. This one favours likely positives using the data's own annotations only; it
does not import or run the library, so nothing in it depends on the reasons being checked.

From ``../shared/data/jddc_sat.dev.jsonl.gz`` it builds two pools, leaving out every key already
in ``benchmarks/data/reasons_labels.tsv`` and empty messages:

- buyer: buyer turns rated ``satisfaction == 0`` (dissatisfied at that point), plus every buyer
  turn of a dialogue rated ``overall == 0``;
- agent: the agent turn immediately before a buyer turn rated ``satisfaction == 0``.

It draws ``--per-role`` (default 120) messages uniformly from each pool with ``random.Random(seed)``
(seed 1902; buyer pool first, then agent), shuffles them and writes ``--out`` (default
``/work/label-sample2.tsv``, outside the project: jddc text must not be committed) with key
(``<dialogue id>#<turn index>``), role, context (previous message text), text, and nothing
saying which pool a message came from.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

from _labels import add_dissatisfied, clean, labelled_keys, write_sample

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "jddc_sat.dev.jsonl.gz"
LABELS = ROOT / "benchmarks" / "data" / "reasons_labels.tsv"
SEED = 1902


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--labels", type=Path, default=LABELS, help="keys already labelled are skipped")
    ap.add_argument("--out", type=Path, default=Path("/work/label-sample2.tsv"))
    ap.add_argument("--per-role", type=int, default=120)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0

    skip = labelled_keys(args.labels, frozenset({"random_or_fired"}))  # the first sample
    turns_by_id: dict[str, list[dict]] = {}
    pools: dict[str, set[str]] = {"buyer": set(), "agent": set()}
    with gzip.open(args.data, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            did, turns = rec["id"], rec["turns"]
            turns_by_id[did] = turns
            add_dissatisfied(rec, pools)

    def usable(key: str) -> bool:
        did, i = key.rsplit("#", 1)
        return key not in skip and bool(clean(turns_by_id[did][int(i)]["text"]))

    rng = random.Random(args.seed)
    chosen: dict[str, str] = {}
    for role in ("buyer", "agent"):
        pool = sorted(k for k in pools[role] if usable(k))
        for key in rng.sample(pool, min(args.per_role, len(pool))):
            chosen[key] = role

    keys = sorted(chosen)
    rng.shuffle(keys)
    write_sample(args.out, keys, chosen, turns_by_id)
    sizes = ", ".join(f"{r} pool {sum(usable(k) for k in pools[r])}" for r in pools)
    print(f"{len(keys)} messages written to {args.out} ({sizes})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
