"""Benchmark: kefu_standards sentiment vs SnowNLP, measured in the same run.

Run from the repository root::

    python benchmarks/bench_sentiment.py [--snownlp-sample 5000] [--seed 0]

Reads the dev sets in ``../shared/data`` (exits with a message when absent) and
reports:

- accuracy on online_shopping_10_cats (ours on all records; SnowNLP on a seeded
  sample, and ours on the same sample),
- ROC AUC of ``1 - score`` for dissatisfied buyer turns (satisfaction 0) vs the
  other rated buyer turns of jddc_sat (undefined scores counted as 0.5, and on
  the defined subset),
- throughput on all jddc_sat buyer messages, as a ratio to SnowNLP,
- single calls: ``sentiment(text)`` once per distinct jddc_sat buyer message, cold
  cache, per-call microseconds and ratio to SnowNLP on the same messages, same run,
- cold load (import + first call) in a fresh subprocess,
- time to train on 50,000 texts.

Results also go to ``benchmarks/results/sentiment.json``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _metrics import accuracy, roc_auc
from _speed import single_calls

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "sentiment.json"


def read_jsonl(name: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def shopping() -> tuple[list[str], np.ndarray]:
    rows = read_jsonl("online_shopping_10_cats.dev.jsonl.gz")
    return [r["text"] for r in rows], np.array([r["label"] for r in rows])


def jddc_buyer() -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """All buyer messages, the rated ones, their dissatisfied flag and dialogue half (0/1).

    The half of a dialogue is ``md5(id) % 2``: a fixed split by dialogue, used to
    check that a choice made on one half holds on the other.
    """
    rows = read_jsonl("jddc_sat.dev.jsonl.gz")
    messages = [t["text"] for r in rows for t in r["turns"] if t["role"] == "buyer"]
    rated = [
        (t["text"], t["satisfaction"], int(hashlib.md5(r["id"].encode()).hexdigest(), 16) % 2)
        for r in rows
        for t in r["turns"]
        if t["role"] == "buyer" and t["satisfaction"] is not None
    ]
    return (
        messages,
        [t for t, _, _ in rated],
        np.array([s == 0 for _, s, _ in rated]),
        np.array([h for _, _, h in rated]),
    )


def snownlp_score(texts: Sequence[str]) -> np.ndarray:
    from snownlp import SnowNLP

    out = np.full(len(texts), np.nan)
    for i, t in enumerate(texts):
        if t.strip():
            out[i] = SnowNLP(t).sentiments
    return out


def kefu_score(texts: Sequence[str], model: Any = None) -> np.ndarray:
    from kefu_standards._sentiment import sentiment_scores

    return sentiment_scores(texts, model=model)


def shopping_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    pred = np.where(np.isnan(scores), -1, (scores >= 0.5).astype(int))
    return accuracy(labels, pred)


def dissatisfaction_auc(scores: np.ndarray, dissatisfied: np.ndarray) -> tuple[float, float]:
    """AUC with undefined as 0.5, and on the defined subset only."""
    filled = np.where(np.isnan(scores), 0.5, scores)
    defined = ~np.isnan(scores)
    return (
        roc_auc(dissatisfied, 1.0 - filled),
        roc_auc(dissatisfied[defined], 1.0 - scores[defined]),
    )


LENGTH_BANDS = ((1, 3), (3, 6), (6, 10_000))


def auc_by_length(
    texts: Sequence[str], scores: np.ndarray, dissatisfied: np.ndarray
) -> dict[str, float]:
    """AUC (undefined = 0.5) within bands of normalised length without spaces."""
    from kefu_standards.text import normalize

    length = np.array([len(normalize(t).replace(" ", "")) for t in texts])
    out = {}
    for lo, hi in LENGTH_BANDS:
        m = (length >= lo) & (length < hi)
        out[f"{lo}-{hi - 1}" if hi < 10_000 else f"{lo}+"] = dissatisfaction_auc(
            scores[m], dissatisfied[m]
        )[0]
    return out


FINE_LENGTH_BANDS = ((1, 3), (3, 6), (6, 12), (12, 20), (20, 10_000), (6, 10_000))


def length_table(
    texts: Sequence[str], scores: np.ndarray, dissatisfied: np.ndarray, half: np.ndarray
) -> list[dict[str, Any]]:
    """Per band of normalised length: turns, dissatisfied share, AUC, AUC per dialogue half."""
    from kefu_standards.text import normalize

    length = np.array([len(normalize(t).replace(" ", "")) for t in texts])
    rows = []
    for lo, hi in FINE_LENGTH_BANDS:
        m = (length >= lo) & (length < hi)
        rows.append(
            {
                "band": f"{lo}-{hi - 1}" if hi < 10_000 else f"{lo}+",
                "n": int(m.sum()),
                "dissatisfied_share": float(dissatisfied[m].mean()),
                "auc": dissatisfaction_auc(scores[m], dissatisfied[m])[0],
                "auc_half": [
                    dissatisfaction_auc(scores[m & (half == h)], dissatisfied[m & (half == h)])[0]
                    for h in (0, 1)
                ],
            }
        )
    return rows


def expected_calibration_error(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    ok = ~np.isnan(scores)
    s, y = scores[ok], labels[ok]
    which = np.minimum((s * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(s[m].mean() - y[m].mean())
    return float(ece)


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cold_load(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(out.stdout.strip().splitlines()[-1])


COLD_KEFU = (
    "import time; t=time.perf_counter(); import kefu_standards._sentiment as s; "
    "s.sentiment('好的，谢谢亲'); print(time.perf_counter()-t)"
)
COLD_SNOWNLP = (
    "import time; t=time.perf_counter(); from snownlp import SnowNLP; "
    "SnowNLP('好的，谢谢亲').sentiments; print(time.perf_counter()-t)"
)


def training_texts(n: int, seed: int) -> tuple[list[str], list[float]]:
    """*n* shippable texts (SnowNLP corpus + NTUSD words + chat lines), seeded sample."""
    from kefu_standards._sentiment import SentimentModel

    texts, labels, _ = SentimentModel.default_corpus()
    idx = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in idx], [labels[i] for i in idx]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="kefu_standards sentiment benchmark")
    parser.add_argument("--snownlp-sample", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-size", type=int, default=50_000)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"dev data not found at {DATA}; this benchmark needs ../shared/data", file=sys.stderr)
        return 2

    from kefu_standards._sentiment import SentimentModel

    res: dict[str, Any] = {"seed": args.seed}
    model = SentimentModel.default()

    # --- online_shopping_10_cats
    texts, labels = shopping()
    model.clear_cache()
    ours = kefu_score(texts)
    idx = np.random.default_rng(args.seed).permutation(len(texts))[: args.snownlp_sample]
    sample = [texts[i] for i in idx]
    sn = snownlp_score(sample)
    res["shopping"] = {
        "n": len(texts),
        "kefu_accuracy_all": shopping_accuracy(ours, labels),
        "kefu_undefined_all": int(np.isnan(ours).sum()),
        "sample_n": len(sample),
        "kefu_accuracy_sample": shopping_accuracy(ours[idx], labels[idx]),
        "snownlp_accuracy_sample": shopping_accuracy(sn, labels[idx]),
        "kefu_ece_all": expected_calibration_error(ours, labels),
        "snownlp_ece_sample": expected_calibration_error(sn, labels[idx]),
    }

    # --- jddc_sat buyer turns
    messages, rated, dissatisfied, half = jddc_buyer()
    model.clear_cache()
    ours_j = kefu_score(rated)
    sn_j = snownlp_score(rated)
    from kefu_standards.text import blank_placeholders

    sn_blank = snownlp_score([blank_placeholders(t) for t in rated])
    auc_k, auc_k_def = dissatisfaction_auc(ours_j, dissatisfied)
    auc_s, auc_s_def = dissatisfaction_auc(sn_j, dissatisfied)
    defined = ~np.isnan(ours_j)
    res["jddc"] = {
        "n_rated": len(rated),
        "n_dissatisfied": int(dissatisfied.sum()),
        "n_undefined_kefu": int((~defined).sum()),
        "kefu_auc": auc_k,
        "snownlp_auc": auc_s,
        "kefu_auc_defined": auc_k_def,
        "snownlp_auc_same_defined": roc_auc(dissatisfied[defined], 1.0 - sn_j[defined]),
        "snownlp_auc_defined": auc_s_def,
        "snownlp_auc_placeholders_blanked": dissatisfaction_auc(sn_blank, dissatisfied)[0],
        "kefu_auc_half": [
            dissatisfaction_auc(ours_j[half == h], dissatisfied[half == h])[0] for h in (0, 1)
        ],
        "snownlp_auc_half": [
            dissatisfaction_auc(sn_j[half == h], dissatisfied[half == h])[0] for h in (0, 1)
        ],
        "kefu_auc_by_length": auc_by_length(rated, ours_j, dissatisfied),
        "kefu_length_table": length_table(rated, ours_j, dissatisfied, half),
    }

    # --- throughput on all jddc buyer messages
    from kefu_standards._sentiment import sentiment, sentiment_many

    snownlp_score(messages[:50])  # warm up (SnowNLP loads its model at import)
    t_sn = timed(lambda: snownlp_score(messages))

    def batch_scores() -> None:
        model.clear_cache()
        kefu_score(messages)

    def batch_evidence() -> None:
        model.clear_cache()
        sentiment_many(messages)

    def one_by_one() -> None:
        model.clear_cache()
        for m in messages:
            sentiment(m)

    def batch_warm() -> None:
        kefu_score(messages)

    t_batch = timed(batch_scores, 3)
    t_evid = timed(batch_evidence, 3)
    t_loop = timed(one_by_one, 3)
    t_warm = timed(batch_warm, 3)
    n = len(messages)
    res["throughput"] = {
        "n_messages": n,
        "n_unique": len(set(messages)),
        "snownlp_per_s": n / t_sn,
        "kefu_scores_batch_per_s": n / t_batch,
        "kefu_many_evidence_per_s": n / t_evid,
        "kefu_one_by_one_per_s": n / t_loop,
        "kefu_scores_warm_cache_per_s": n / t_warm,
        "ratio_scores_batch": t_sn / t_batch,
        "ratio_many_evidence": t_sn / t_evid,
        "ratio_one_by_one": t_sn / t_loop,
        "ratio_warm_cache": t_sn / t_warm,
    }

    # --- single call, distinct texts, cold cache
    from snownlp import SnowNLP

    res["single_call"] = single_calls(
        sentiment,
        lambda t: SnowNLP(t).sentiments,
        messages,
        seed=args.seed,
        reset=model.clear_cache,
    )

    # --- cold load
    res["cold_load_s"] = {
        "kefu": min(cold_load(COLD_KEFU) for _ in range(3)),
        "snownlp": min(cold_load(COLD_SNOWNLP) for _ in range(3)),
    }

    # --- training time
    tt, ty = training_texts(args.train_size, args.seed)
    t0 = time.perf_counter()
    SentimentModel.train(tt, ty)
    res["train"] = {"n_texts": len(tt), "seconds": time.perf_counter() - t0}

    print_table(res)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(f"\nwritten {RESULTS.relative_to(ROOT)}")
    return 0


def print_table(res: dict[str, Any]) -> None:
    s, j, t, c = res["shopping"], res["jddc"], res["throughput"], res["cold_load_s"]
    sc = res["single_call"]
    rows = [
        ("measure", "kefu", "SnowNLP"),
        (f"shopping accuracy, all {s['n']}", f"{s['kefu_accuracy_all']:.4f}", "-"),
        (
            f"shopping accuracy, seeded sample {s['sample_n']}",
            f"{s['kefu_accuracy_sample']:.4f}",
            f"{s['snownlp_accuracy_sample']:.4f}",
        ),
        (
            "shopping ECE (10 bins; all / sample)",
            f"{s['kefu_ece_all']:.4f}",
            f"{s['snownlp_ece_sample']:.4f}",
        ),
        (
            f"jddc AUC dissatisfied ({j['n_dissatisfied']}/{j['n_rated']}), undefined=0.5",
            f"{j['kefu_auc']:.4f}",
            f"{j['snownlp_auc']:.4f}",
        ),
        (
            "jddc AUC, dialogue halves (md5(id) % 2 = 0 / 1)",
            " / ".join(f"{x:.4f}" for x in j["kefu_auc_half"]),
            " / ".join(f"{x:.4f}" for x in j["snownlp_auc_half"]),
        ),
        (
            "jddc AUC by length " + ", ".join(j["kefu_auc_by_length"]),
            " / ".join(f"{x:.4f}" for x in j["kefu_auc_by_length"].values()),
            "",
        ),
        (
            "jddc AUC, SnowNLP fed text with placeholders blanked",
            "-",
            f"{j['snownlp_auc_placeholders_blanked']:.4f}",
        ),
        (
            f"jddc AUC on kefu-defined turns ({j['n_rated'] - j['n_undefined_kefu']})",
            f"{j['kefu_auc_defined']:.4f}",
            f"{j['snownlp_auc_same_defined']:.4f}",
        ),
        (
            f"msgs/s, {t['n_messages']} jddc buyer msgs, scores() batch, cold cache",
            f"{t['kefu_scores_batch_per_s']:.0f} ({t['ratio_scores_batch']:.1f}x)",
            f"{t['snownlp_per_s']:.0f}",
        ),
        (
            "msgs/s, sentiment_many() with evidence, cold cache",
            f"{t['kefu_many_evidence_per_s']:.0f} ({t['ratio_many_evidence']:.1f}x)",
            "",
        ),
        (
            "msgs/s, sentiment() one by one, cold cache",
            f"{t['kefu_one_by_one_per_s']:.0f} ({t['ratio_one_by_one']:.1f}x)",
            "",
        ),
        (
            "msgs/s, scores() batch, warm cache",
            f"{t['kefu_scores_warm_cache_per_s']:.0f} ({t['ratio_warm_cache']:.1f}x)",
            "",
        ),
        ("cold load: import + first call, s", f"{c['kefu']:.3f}", f"{c['snownlp']:.3f}"),
        (
            f"single call, distinct texts, cold: us per call ({sc['rounds']} rounds of "
            f"{sc['texts_per_round']} buyer msgs, {sc['mean_chars']:.1f} chars, best round)",
            f"{sc['ours_us']:.1f}",
            f"{sc['baseline_us']:.1f}",
        ),
        (
            "single call: ratio vs SnowNLP per call (best rounds / median of rounds)",
            f"{sc['ratio']:.1f}x / {sc['ratio_median']:.1f}x",
            "",
        ),
        (
            f"train on {res['train']['n_texts']} texts, s",
            f"{res['train']['seconds']:.1f}",
            "",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
    print("\njddc rated buyer turns by normalised length (no spaces), kefu AUC, undefined = 0.5")
    print("| length | turns | dissatisfied | AUC | AUC halves 0 / 1 |")
    print("|---|---|---|---|---|")
    for b in res["jddc"]["kefu_length_table"]:
        print(
            f"| {b['band']} | {b['n']} | {b['dissatisfied_share']:.3f} | {b['auc']:.4f} | "
            f"{b['auc_half'][0]:.4f} / {b['auc_half'][1]:.4f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
