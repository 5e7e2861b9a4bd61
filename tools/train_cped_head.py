"""Train the CPED heads shipped as data/escalation/cped_<head>.npz.

Usage (from the repository root)::

    python tools/train_cped_head.py                      # the negativity head
    python tools/train_cped_head.py --head thanks        # the thanks head
    python tools/train_cped_head.py --head disagreement  # the disagreement head
    python tools/train_cped_head.py --out X              # elsewhere (to check determinism)

Training data: CPED valid + test splits (scutcyr/CPED, commit 1e4b81c;
"CPED: A Large-Scale Chinese Personalized and Emotional Dialogue Dataset for
Conversational AI", Chen et al., 2022), Apache-2.0, read from
``../shared/data/cped.{valid,test}.jsonl.gz``: 38,575 utterances of spoken
Chinese dialogue.  Each head is one target, 0 for the lines of its class and 1
for every other line (:data:`HEADS`):

- ``negativity``: CPED ``sentiment`` is ``negative`` (feature ``chat_negativity``);
- ``thanks``: the dialogue act thanks, appreciates, agrees, acknowledges or closes
  (``thanking``, ``appreciation``, ``agreement``, ``acknowledge``,
  ``conventional-closing``; feature ``chat_thanks``; issue 18);
- ``disagreement``: the dialogue act disagrees or rejects (``disagreement``,
  ``reject``; feature ``disagreement_mean``; issue 18).

The model is :meth:`SentimentModel.train` with the packaged features, seed 0
(deterministic: the same data give a byte-identical file).  The written file
carries that attribution in its ``sources`` and ``licence`` arrays; the
escalation features read ``bias - logit(P)``, the log-odds of the class.
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
OUT_DIR = ROOT / "src" / "kefu_standards" / "data" / "escalation"
CPED_SOURCE = (
    "CPED valid + test splits: scutcyr/CPED (https://github.com/scutcyr/CPED, commit 1e4b81c), "
    "Chen et al., 'CPED: A Large-Scale Chinese Personalized and Emotional Dialogue Dataset "
    "for Conversational AI', 2022"
)
#: head name -> (the CPED field, the values that make a line target 0, the target's words)
HEADS: dict[str, tuple[str, frozenset[str], str]] = {
    "negativity": ("sentiment", frozenset({"negative"}), "negative line, 1 = neutral or positive"),
    # issue 18: the classes of both heads below were chosen on half A of jddc_sat dev
    # (docs/explanation/escalation.md, "tuned on dev")
    "thanks": (
        "da",
        frozenset({"thanking", "appreciation", "agreement", "acknowledge", "conventional-closing"}),
        "a line that thanks, appreciates, agrees, acknowledges or closes (dialogue act), "
        "1 = any other line",
    ),
    "disagreement": (
        "da",
        frozenset({"disagreement", "reject"}),
        "a line that disagrees or rejects (dialogue act), 1 = any other line",
    ),
}
#: The default output (the negativity head's file); the others are cped_<head>.npz.
OUT = OUT_DIR / "cped_negativity.npz"
LICENCE = (
    "Apache-2.0 (CPED dataset, Copyright scutcyr/CPED authors; "
    "http://www.apache.org/licenses/LICENSE-2.0); model code MIT (kefu_standards)"
)


def sources(head: str) -> tuple[str, str]:
    """The ``sources`` array of *head*'s file: the data and how it was trained."""
    return (
        CPED_SOURCE,
        "trained by tools/train_cped_head.py (kefu_standards): SentimentModel.train, "
        f"target 0 = {HEADS[head][2]}, seed 0",
    )


def cped(head: str = "negativity") -> tuple[list[str], list[float]]:
    """CPED valid + test utterances and *head*'s class-vs-rest targets, in file order."""
    field, positive, _ = HEADS[head]
    texts: list[str] = []
    labels: list[float] = []
    for part in ("valid", "test"):
        with gzip.open(DATA / f"cped.{part}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                texts.append(r["text"])
                labels.append(0.0 if r[field] in positive else 1.0)
    return texts, labels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--head", choices=sorted(HEADS), default="negativity", help="which head")
    ap.add_argument("--out", type=Path, help=f"output file (default {OUT_DIR}/cped_<head>.npz)")
    args = ap.parse_args(argv)
    out = args.out or OUT_DIR / f"cped_{args.head}.npz"
    if not (DATA / "cped.valid.jsonl.gz").exists():
        print(f"CPED not found in {DATA}; this tool needs ../shared/data.", file=sys.stderr)
        return 2
    texts, labels = cped(args.head)
    model = SentimentModel.train(texts, labels, seed=0, sources=sources(args.head), licence=LICENCE)
    model.save(out)
    print(f"wrote {out} ({len(texts)} CPED lines, bias {model.bias:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
