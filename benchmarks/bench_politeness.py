"""Politeness benchmark: accuracy on the shared dev sets and speed against SnowNLP, one command.

    python benchmarks/bench_politeness.py            # everything (about 2-3 minutes)
    python benchmarks/bench_politeness.py --quick    # skip the COLD cross-validation

Figures (printed as a table and written to ``benchmarks/results/politeness.json``):

- politeness_zh: Spearman of ``score`` with the annotators' mean rating, ROC AUC of
  ``1 - score`` for impolite (label 0) vs the rest; SnowNLP sentiment as a proxy,
  markers alone and the offensive model alone for comparison.
- COLD: ROC AUC of ``1 - score`` for offensive vs safe.  The shipped model was
  trained on all of COLD dev, so that figure is in-sample; the honest figure uses
  5-fold cross-validation (a model retrained on 4/5, scoring the held-out 1/5).
- jddc_sat agent turns: share labelled impolite / neutral / polite.
- evidence spans: ``text[start:end] == evidence.text`` over every scored text.
- throughput: chat-length agent messages per second, ratio to SnowNLP sentiment
  measured in the same run on the same messages.
- single calls: ``politeness(text)`` once per distinct agent message, cold cache,
  per-call microseconds and ratio to SnowNLP sentiment on the same messages.

Metrics (``roc_auc``, ``spearman``) come from ``benchmarks/_metrics.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import kefu_standards._politeness as pol
from _metrics import roc_auc, spearman
from _speed import single_calls
from kefu_standards._offensive import fit
from kefu_standards.text import normalize

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "politeness.json"
SEED = 20240601


def _load(name: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _snownlp_sentiment(texts: list[str]) -> np.ndarray:
    from snownlp import SnowNLP

    out = []
    for t in texts:
        try:
            out.append(SnowNLP(t).sentiments if t.strip() else 0.5)
        except Exception:  # SnowNLP fails on some inputs (e.g. punctuation only)
            out.append(0.5)
    return np.array(out)


def _scores(texts: list[str], model: Any = None) -> tuple[np.ndarray, int, int]:
    """Politeness scores (NaN when undefined), number undefined, span violations."""
    lex = pol.Lexicon.default()
    mdl = model if model is not None else pol._default_model()
    out = np.empty(len(texts))
    undefined = bad = 0
    for i, (t, p) in enumerate(zip(texts, pol._score_fresh(texts, lex, mdl), strict=True)):
        bad += sum(t[e.start : e.end] != e.text for e in p.evidence)
        if p.score is None:
            undefined += 1
            out[i] = np.nan
        else:
            out[i] = p.score
    return out, undefined, bad


def _markers_only(texts: list[str]) -> np.ndarray:
    lex = pol.Lexicon.default()
    return np.array([pol._marker_hits(t, normalize(t), lex)[1] for t in texts])


def bench_politeness_zh(res: dict[str, Any]) -> int:
    rows = _load("politeness_zh.dev.jsonl.gz")
    texts = [r["text"] for r in rows]
    rating = np.array([r["meta"]["score"] for r in rows])
    rude = np.array([r["label"] == 0 for r in rows])
    s, undefined, bad = _scores(texts)
    ok = ~np.isnan(s)
    snow = _snownlp_sentiment([r["meta"].get("text_t2s", r["text"]) for r in rows])
    markers = _markers_only(texts)
    model = pol._default_model()
    off = np.array([model.logit(normalize(t)) for t in texts])
    res["politeness_zh"] = {
        "n": len(rows),
        "undefined": undefined,
        "spearman": spearman(s[ok], rating[ok]),
        "auc_impolite": roc_auc(rude[ok], 1 - s[ok]),
        "snownlp_spearman": spearman(snow, rating),
        "snownlp_auc_impolite": roc_auc(rude, 1 - snow),
        "markers_only_spearman": spearman(markers, rating),
        "markers_only_auc_impolite": roc_auc(rude, -markers),
        "model_only_spearman": spearman(-off, rating),
        "model_only_auc_impolite": roc_auc(rude, off),
        "label_share": {
            lab: float(np.mean([pol._label(x) == lab for x in s[ok]]))
            for lab in ("impolite", "neutral", "polite")
        },
    }
    return bad


def bench_cold(res: dict[str, Any], quick: bool) -> int:
    rows = _load("cold.dev.jsonl.gz")
    texts = [r["text"] for r in rows]
    y = np.array([int(r["label"]) for r in rows])
    s, _undefined, bad = _scores(texts)
    ok = ~np.isnan(s)
    out: dict[str, Any] = {"n": len(rows), "auc_in_sample": roc_auc(y[ok] == 1, 1 - s[ok])}
    if not quick:
        fold = np.random.default_rng(SEED).permutation(len(texts)) % 5
        cv = np.full(len(texts), np.nan)
        cv_model = np.full(len(texts), np.nan)
        for k in range(5):
            tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            model = fit([texts[i] for i in tr], y[tr])  # the shipped setting (defaults)
            part, _, _ = _scores([texts[i] for i in te], model)
            cv[te] = part
            cv_model[te] = [model.logit(normalize(texts[i])) for i in te]
        ok = ~np.isnan(cv)
        out["auc_5fold_cv"] = roc_auc(y[ok] == 1, 1 - cv[ok])
        out["model_only_auc_5fold_cv"] = roc_auc(y == 1, cv_model)
    res["cold"] = out
    return bad


def _agent_turns() -> list[str]:
    rows = _load("jddc_sat.dev.jsonl.gz")
    return [t["text"] for r in rows for t in r["turns"] if t["role"] == "agent"]


def bench_jddc(res: dict[str, Any]) -> int:
    texts = _agent_turns()
    s, undefined, bad = _scores(texts)
    ok = s[~np.isnan(s)]
    labels = [pol._label(x) for x in ok]
    res["jddc_agent"] = {
        "n": len(texts),
        "undefined": undefined,
        **{
            f"share_{lab}": labels.count(lab) / len(labels)
            for lab in ("impolite", "neutral", "polite")
        },
    }
    return bad


def bench_speed(res: dict[str, Any], rounds: int = 5) -> None:
    """Per-message time of politeness(), politeness_many() and SnowNLP on the same messages.

    The three are measured in interleaved rounds and each keeps its fastest round, so
    a burst of load on a shared machine does not favour one side.  The result cache
    is emptied before each of ours, so every round scores its 1000 texts afresh.
    """
    texts = [t for t in _agent_turns() if 5 <= len(t) <= 80]
    rng = np.random.default_rng(SEED)
    sample = [texts[i] for i in rng.choice(len(texts), size=min(1000, len(texts)), replace=False)]
    snow_sample = sample[:200]
    batches = [sample[i : i + 20] for i in range(0, len(sample), 20)]  # ~ one conversation
    pol.politeness("亲，您好")  # warm up: lexicon, automaton, model
    _snownlp_sentiment(["你好"])
    single, batched, snow = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(rounds):
            pol._CACHE.clear()  # cold: earlier sections scored these texts
            t0 = time.perf_counter()
            for t in sample:
                pol.politeness(t)
            single.append((time.perf_counter() - t0) / len(sample))
            pol._CACHE.clear()
            t0 = time.perf_counter()
            for batch in batches:
                pol.politeness_many(batch)
            batched.append((time.perf_counter() - t0) / len(sample))
            t0 = time.perf_counter()
            _snownlp_sentiment(snow_sample)
            snow.append((time.perf_counter() - t0) / len(snow_sample))
    ours, ours_batch, base = min(single), min(batched), min(snow)
    res["throughput"] = {
        "messages": len(sample),
        "snownlp_messages": len(snow_sample),
        "rounds": rounds,
        "mean_chars": float(np.mean([len(t) for t in sample])),
        "politeness_us_per_msg": ours * 1e6,
        "politeness_many_us_per_msg": ours_batch * 1e6,
        "snownlp_us_per_msg": base * 1e6,
        "speedup": base / ours,
        "speedup_batched": base / ours_batch,
    }


def bench_single_call(res: dict[str, Any]) -> None:
    """``politeness(text)`` once per distinct agent message, cold cache, vs SnowNLP per call."""
    from snownlp import SnowNLP

    texts = [t for t in _agent_turns() if 5 <= len(t) <= 80]
    pol.politeness("亲，您好")  # load the lexicon, automaton and model first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res["single_call"] = single_calls(
            pol.politeness,
            lambda t: SnowNLP(t).sentiments,
            texts,
            seed=SEED,
            reset=pol._CACHE.clear,
        )


def _row(name: str, value: str, target: str = "") -> str:
    return f"{name:<60} {value:>12} {target:>10}"


def _table(res: dict[str, Any]) -> str:
    pz, cold, jd, tp = res["politeness_zh"], res["cold"], res["jddc_agent"], res["throughput"]
    sc = res["single_call"]
    lines = [
        _row("figure", "measured", "target"),
        "-" * 84,
        _row("politeness_zh Spearman(score, mean rating)", f"{pz['spearman']:.4f}", ">= 0.40"),
        _row(
            "politeness_zh ROC AUC(1-score, impolite vs rest)",
            f"{pz['auc_impolite']:.4f}",
            ">= 0.75",
        ),
        _row(
            "  SnowNLP sentiment proxy: Spearman / ROC AUC",
            f"{pz['snownlp_spearman']:.4f} / {pz['snownlp_auc_impolite']:.4f}",
        ),
        _row(
            "  markers alone: Spearman / ROC AUC",
            f"{pz['markers_only_spearman']:.4f} / {pz['markers_only_auc_impolite']:.4f}",
        ),
        _row(
            "  offensive model alone: Spearman / ROC AUC",
            f"{pz['model_only_spearman']:.4f} / {pz['model_only_auc_impolite']:.4f}",
        ),
    ]
    if "auc_5fold_cv" in cold:
        lines += [
            _row(
                "COLD ROC AUC(1-score, offensive), 5-fold CV (honest)",
                f"{cold['auc_5fold_cv']:.4f}",
                ">= 0.92",
            ),
            _row("  offensive model alone, 5-fold CV", f"{cold['model_only_auc_5fold_cv']:.4f}"),
        ]
    lines += [
        _row(
            "COLD ROC AUC, shipped model (in-sample: trained on it)", f"{cold['auc_in_sample']:.4f}"
        ),
        _row("jddc_sat agent turns labelled impolite", f"{jd['share_impolite']:.2%}", "<= 3%"),
        _row("  neutral / polite", f"{jd['share_neutral']:.2%} / {jd['share_polite']:.2%}"),
        _row(
            "evidence spans with text[start:end] != evidence.text",
            f"{res['span_violations']}",
            "0",
        ),
        _row(
            f"throughput: {tp['messages']} agent msgs of {tp['mean_chars']:.1f} chars, "
            f"best of {tp['rounds']} rounds",
            "",
        ),
        _row("  SnowNLP sentiment, us per message", f"{tp['snownlp_us_per_msg']:.1f}"),
        _row(
            "  politeness(), one call per message, cold cache, us",
            f"{tp['politeness_us_per_msg']:.1f}",
        ),
        _row(
            "  politeness_many() in batches of 20, cold cache, us per message",
            f"{tp['politeness_many_us_per_msg']:.1f}",
        ),
        _row("  speed-up vs SnowNLP, politeness(), cold cache", f"{tp['speedup']:.1f}x", ">= 100x"),
        _row(
            "  speed-up vs SnowNLP, politeness_many / PolitenessScorer",
            f"{tp['speedup_batched']:.1f}x",
            ">= 100x",
        ),
        _row(
            f"single call, distinct texts, cold: {sc['rounds']} rounds of "
            f"{sc['texts_per_round']} agent msgs of {sc['mean_chars']:.1f} chars",
            "",
        ),
        _row("  politeness(), us per call (best round)", f"{sc['ours_us']:.1f}"),
        _row("  SnowNLP sentiment, us per call (best round)", f"{sc['baseline_us']:.1f}"),
        _row(
            "  ratio vs SnowNLP per call (best rounds / median of rounds)",
            f"{sc['ratio']:.1f}x / {sc['ratio_median']:.1f}x",
            ">= 100x",
        ),
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description="politeness benchmark")
    ap.add_argument("--quick", action="store_true", help="skip the COLD 5-fold cross-validation")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared dev sets not found at {DATA}; nothing to benchmark", file=sys.stderr)
        return 2
    res: dict[str, Any] = {}
    bad = bench_politeness_zh(res)
    bad += bench_cold(res, args.quick)
    bad += bench_jddc(res)
    res["span_violations"] = bad
    bench_speed(res)
    bench_single_call(res)
    print(_table(res))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
