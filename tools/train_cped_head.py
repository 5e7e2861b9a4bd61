"""Train the chat-negativity head shipped as data/escalation/cped_negativity.npz.

Usage (from the repository root)::

    python tools/train_cped_head.py            # train and write
    python tools/train_cped_head.py --out X    # write elsewhere (e.g. to check determinism)

Training data: CPED valid + test splits (scutcyr/CPED, commit 1e4b81c;
"CPED: A Large-Scale Chinese Personalized and Emotional Dialogue Dataset for
Conversational AI", Chen et al., 2022), Apache-2.0, read from
``../shared/data/cped.{valid,test}.jsonl.gz``: 38,575 utterances of spoken
Chinese dialogue, target 0 for a ``negative`` line and 1 otherwise.  The model
is :meth:`SentimentModel.train` with the packaged features, seed 0
(deterministic: the same data give a byte-identical file).  The written file
carries that attribution in its ``sources`` and ``licence`` arrays; the
escalation feature ``chat_negativity`` reads it (``bias - logit(P)``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from kefu_standards._sentiment import SentimentModel

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "kefu_standards" / "data" / "escalation" / "cped_negativity.npz"
SOURCES = (
    "CPED valid + test splits: scutcyr/CPED (https://github.com/scutcyr/CPED, commit 1e4b81c), "
    "Chen et al., 'CPED: A Large-Scale Chinese Personalized and Emotional Dialogue Dataset "
    "for Conversational AI', 2022",
    "trained by tools/train_cped_head.py (kefu_standards): SentimentModel.train, "
    "target 0 = negative line, 1 = neutral or positive, seed 0",
)
LICENCE = (
    "Apache-2.0 (CPED dataset, Copyright scutcyr/CPED authors; "
    "http://www.apache.org/licenses/LICENSE-2.0); model code MIT (kefu_standards)"
)


def cped() -> tuple[list[str], list[float]]:
    """CPED valid + test utterances and their negative-vs-rest targets, in file order."""
    texts: list[str] = []
    labels: list[float] = []
    for part in ("valid", "test"):
        with gzip.open(DATA / f"cped.{part}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                texts.append(r["text"])
                labels.append(0.0 if r["sentiment"] == "negative" else 1.0)
    return texts, labels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help=f"output file (default {OUT})")
    args = ap.parse_args(argv)
    if not (DATA / "cped.valid.jsonl.gz").exists():
        print(f"CPED not found in {DATA}; this tool needs ../shared/data.", file=sys.stderr)
        return 2
    texts, labels = cped()
    head = SentimentModel.train(texts, labels, seed=0, sources=SOURCES, licence=LICENCE)
    head.save(args.out)
    print(f"wrote {args.out} ({len(texts)} CPED lines, bias {head.bias:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
