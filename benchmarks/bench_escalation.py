"""Escalation risk on JDDC satisfaction dialogues: AUCs, calibration, reliability, speed.

Run from the repository root::

    python benchmarks/bench_escalation.py              # evaluate the shipped model.tsv
    python benchmarks/bench_escalation.py --calibrate  # re-fit ONLY the Platt calibration

``--calibrate`` fits the turn/outcome ``scale`` and ``offset`` and rewrites those four
lines of ``src/kefu_standards/data/escalation/model.tsv``, nothing else.

Reads ``../shared/data/jddc_sat.dev.jsonl.gz`` (462 dialogues, buyer turns rated 0/1/2,
no timestamps: the waiting signals are off, language and repetition carry the score).

The per-feature weights of both heads are hand-set (``model.tsv``, one justification a
line) and are never fitted here: the dev set's terms allow tuning thresholds and
hyper-parameters only.  ``--calibrate`` fits two Platt parameters per head
(``risk = sigmoid(offset + scale * hand_set_log_odds)``, ``scale > 0``).  Platt scaling is
monotone, so the ROC AUCs come entirely from the hand-set weights: nothing that ranks is
fitted on this set, and the in-sample AUC *is* the cross-validated AUC.

Reports, all measured in this run:

- dialogue level: ROC AUC of ``score`` for ``overall == 0`` vs the rest;
- turn level: ROC AUC of ``per_message`` at rated buyer turns, satisfaction 0 vs the rest;
- Brier score and log loss of the calibrated risks, in-sample and 5-fold
  cross-validated by dialogue (Platt parameters re-fitted on the training folds only);
- the baseline: mean buyer negativity from SnowNLP (1 - P(positive)), both levels;
- reliability tables (deciles of predicted risk: mean predicted vs observed rate), the
  dialogues per band of ``score`` and per ``Escalation.level``, the rated turns per band
  of ``per_message``;
- a split-half check: the AUCs on half A (even dialogue ids, looked at when the turn
  weights were revised by hand) and half B (odd ids, held out);
- throughput: conversations per second, as a ratio to the SnowNLP baseline.

Writes ``benchmarks/results/escalation.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from _metrics import fitted_ceiling, roc_auc
from kefu_standards import Conversation
from kefu_standards._escalation import FEATURES, EscalationPolicy, escalation
from kefu_standards._escalation_model import (
    LinearHeads,
    _default_model,
    _Head,
    _sigmoid,
    default_signals,
)
from kefu_standards._escalation_text import _clear_caches
from kefu_standards._escalation_walk import _Trace, _trace

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
JDDC = SHARED / "jddc_sat.dev.jsonl.gz"
RESULTS = ROOT / "benchmarks" / "results" / "escalation.json"
MODEL_TSV = ROOT / "src" / "kefu_standards" / "data" / "escalation" / "model.tsv"
FOLDS = 5
SEED = 20261123
Data = Sequence[tuple[Conversation, int, list[tuple[int, int]]]]


# ---------------------------------------------------------------- data


def load(path: Path) -> list[tuple[Conversation, int, list[tuple[int, int]]]]:
    """Conversations, their overall rating and (message index, satisfaction) of rated turns."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            turns = rec["turns"]
            conv = Conversation.from_records(
                [{"role": t["role"], "text": t["text"]} for t in turns], id=rec["id"]
            )
            rated = [
                (i, int(t["satisfaction"]))
                for i, t in enumerate(turns)
                if t["role"] == "buyer" and t["satisfaction"] is not None
            ]
            out.append((conv, int(rec["overall"]), rated))
    return out


# ---------------------------------------------------------------- metrics


def reliability(
    labels: Sequence[int], scores: Sequence[float], bins: int = 10
) -> list[dict[str, Any]]:
    """Deciles of predicted risk: count, mean predicted, observed rate."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    order = np.argsort(s, kind="mergesort")
    rows = []
    for k, idx in enumerate(np.array_split(order, bins), start=1):
        if len(idx) == 0:
            continue
        rows.append(
            {
                "decile": k,
                "n": len(idx),
                "mean_predicted": float(s[idx].mean()),
                "observed": float(y[idx].mean()),
            }
        )
    return rows


def brier(labels: Sequence[int], scores: Sequence[float]) -> float:
    y = np.asarray(labels, dtype=float)
    return float(np.mean((np.asarray(scores, dtype=float) - y) ** 2))


def log_loss(labels: Sequence[int], scores: Sequence[float]) -> float:
    y = np.asarray(labels, dtype=float)
    p = np.clip(np.asarray(scores, dtype=float), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


# ---------------------------------------------------------------- calibration


def platt(z: Sequence[float], y: Sequence[int]) -> tuple[float, float]:
    """Fit ``P(y=1) = sigmoid(offset + scale * z)`` by Newton's method; return (scale, offset).

    Two parameters, no penalty; ``scale`` is kept > 0 so the calibration stays monotone
    (it can never reorder the hand-set log-odds).
    """
    x = np.column_stack([np.ones(len(z)), np.asarray(z, dtype=float)])
    t = np.asarray(y, dtype=float)
    w = np.array([math.log((t.mean() + 1e-9) / (1 - t.mean() + 1e-9)), 1.0])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        g = x.T @ (p - t)
        h = (x * (p * (1 - p))[:, None]).T @ x + np.eye(2) * 1e-9
        new = w - np.linalg.solve(h, g)
        new[1] = max(new[1], 1e-6)
        if np.max(np.abs(new - w)) < 1e-10:
            w = new
            break
        w = new
    return float(w[1]), float(w[0])


def calibration_rows(
    traces: Sequence[_Trace], data: Data, model: LinearHeads, head: str
) -> tuple[list[float], list[int]]:
    """Hand-set log-odds and labels the head is calibrated on.

    turn: every rated buyer turn (state right after it), label satisfaction == 0.
    outcome: the final state of every dialogue (what ``score`` reads), label overall == 0.
    """
    zs: list[float] = []
    ys: list[int] = []
    for trace, (_conv, overall, rated) in zip(traces, data, strict=True):
        if head == "turn":
            for i, sat in rated:
                zs.append(model.turn.raw(trace.features[i]))
                ys.append(1 if sat == 0 else 0)
        else:
            zs.append(model.outcome.raw(trace.features[-1]))
            ys.append(1 if overall == 0 else 0)
    return zs, ys


def calibrate(traces: Sequence[_Trace], data: Data, model: LinearHeads) -> LinearHeads:
    """The same hand-set weights with both heads' Platt parameters fitted on *data*."""
    heads: dict[str, _Head] = {}
    for name in ("turn", "outcome"):
        scale, offset = platt(*calibration_rows(traces, data, model, name))
        heads[name] = attrs.evolve(getattr(model, name), scale=scale, offset=offset)
    return LinearHeads(heads["turn"], heads["outcome"])


def write_calibration(model: LinearHeads, path: Path) -> None:
    """Rewrite only the ``<head>.scale`` / ``<head>.offset`` lines of *path*."""
    text = path.read_text(encoding="utf-8")
    for name in ("turn", "outcome"):
        head: _Head = getattr(model, name)
        for param, value in (("scale", head.scale), ("offset", head.offset)):
            pattern = re.compile(rf"^{name}\.{param}\t[^\t\n]*", flags=re.M)
            text, n = pattern.subn(f"{name}.{param}\t{value:.4f}", text)
            if n != 1:
                msg = f"{path}: expected one line {name}.{param}, found {n}"
                raise SystemExit(msg)
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- evaluation


def evaluate(
    model: LinearHeads, traces: Sequence[_Trace], data: Data
) -> tuple[list[float], list[int], list[float], list[int]]:
    """Dialogue scores + labels, turn risks + labels (as ``escalation()`` computes them)."""
    d_scores, d_labels, t_scores, t_labels = [], [], [], []
    for trace, (_conv, overall, rated) in zip(traces, data, strict=True):
        d_scores.append(_sigmoid(model.outcome.logit(trace.features[-1])))
        d_labels.append(1 if overall == 0 else 0)
        for i, sat in rated:
            t_scores.append(_sigmoid(model.turn.logit(trace.features[i])))
            t_labels.append(1 if sat == 0 else 0)
    return d_scores, d_labels, t_scores, t_labels


def cross_validate(traces: Sequence[_Trace], data: Data, model: LinearHeads) -> dict[str, float]:
    """5-fold by dialogue, stratified on overall == 0; Platt parameters re-fitted per fold.

    Only the calibration is fitted, so only calibration metrics (Brier, log loss) can
    differ from in-sample; the AUCs are those of the hand-set weights either way.
    """
    rng = random.Random(SEED)
    pos = [i for i, d in enumerate(data) if d[1] == 0]
    neg = [i for i, d in enumerate(data) if d[1] != 0]
    rng.shuffle(pos)
    rng.shuffle(neg)
    fold_of = {i: k % FOLDS for k, i in enumerate(pos)}
    fold_of.update({i: k % FOLDS for k, i in enumerate(neg)})
    d_s, d_y, t_s, t_y = [], [], [], []
    for f in range(FOLDS):
        train = [i for i in range(len(data)) if fold_of[i] != f]
        test = [i for i in range(len(data)) if fold_of[i] == f]
        fold = calibrate([traces[i] for i in train], [data[i] for i in train], model)
        a, b, c, e = evaluate(fold, [traces[i] for i in test], [data[i] for i in test])
        d_s += a
        d_y += b
        t_s += c
        t_y += e
    return {
        "dialogue_brier": brier(d_y, d_s),
        "dialogue_log_loss": log_loss(d_y, d_s),
        "turn_brier": brier(t_y, t_s),
        "turn_log_loss": log_loss(t_y, t_s),
    }


def levels(labels: Sequence[int], bands: Sequence[str]) -> list[dict[str, Any]]:
    """Items per level, with the observed dissatisfied rate."""
    rows = []
    for level in ("low", "medium", "high"):
        ys = [y for y, b in zip(labels, bands, strict=True) if b == level]
        rows.append(
            {
                "level": level,
                "n": len(ys),
                "dissatisfied": sum(ys),
                "observed": sum(ys) / len(ys) if ys else None,
            }
        )
    return rows


def half_of(conv: Conversation) -> str:
    """Split-half by dialogue id: ``A`` for even ids (used to choose), ``B`` for odd ids."""
    digits = re.sub(r"\D", "", conv.id) or "0"
    return "A" if int(digits) % 2 == 0 else "B"


def split_half(model: LinearHeads, traces: Sequence[_Trace], data: Data) -> dict[str, float]:
    """ROC AUCs on each half (choices were made looking at half A only)."""
    out: dict[str, float] = {}
    for half in ("A", "B"):
        idx = [i for i, d in enumerate(data) if half_of(d[0]) == half]
        d_s, d_y, t_s, t_y = evaluate(model, [traces[i] for i in idx], [data[i] for i in idx])
        out[f"{half}_dialogues"] = len(idx)
        out[f"{half}_dialogue_positives"] = sum(d_y)
        out[f"{half}_dialogue_auc"] = roc_auc(d_y, d_s)
        out[f"{half}_turn_auc"] = roc_auc(t_y, t_s)
    return out


CEILING_L2 = (1.0, 10.0, 100.0, 1000.0, 10000.0)


def ceiling(traces: Sequence[_Trace], data: Data) -> dict[str, dict[str, list[float]]]:
    """What the same features allow when their weights are *fitted* (measured, never shipped).

    For each head, a logistic regression over the escalation state (``FEATURES``)
    is fitted on one half of the dev set and scored on the other, at three L2
    strengths. If these out-of-sample AUCs stay near the hand-set ones, the gap
    to a target is in the signals, not in the weights.
    """
    out: dict[str, dict[str, list[float]]] = {}
    for head in ("turn", "dialogue"):
        rows: list[Sequence[float]] = []
        labels: list[int] = []
        in_a: list[bool] = []
        for trace, (conv, overall, rated) in zip(traces, data, strict=True):
            a = half_of(conv) == "A"
            if head == "turn":
                for i, sat in rated:
                    rows.append(trace.features[i])
                    labels.append(1 if sat == 0 else 0)
                    in_a.append(a)
            else:
                rows.append(trace.features[-1])
                labels.append(1 if overall == 0 else 0)
                in_a.append(a)
        fits = [fitted_ceiling(rows, labels, in_a, l2) for l2 in CEILING_L2]
        out[head] = {"A_to_B": [f[0] for f in fits], "B_to_A": [f[1] for f in fits]}
    return out


def snownlp_negativity(texts: Sequence[str]) -> list[float]:
    from snownlp import SnowNLP

    return [1.0 - float(SnowNLP(t).sentiments) if t.strip() else 0.5 for t in texts]


def baseline(data: Sequence[Any]) -> tuple[list[float], list[int], list[float], list[int], float]:
    """SnowNLP mean buyer negativity per dialogue; per turn, the mean up to that turn."""
    d_s, d_y, t_s, t_y = [], [], [], []
    t0 = time.perf_counter()
    for conv, overall, rated in data:
        buyer = [i for i, m in enumerate(conv.messages) if m.role.value == "buyer"]
        neg = dict(
            zip(buyer, snownlp_negativity([conv.messages[i].text for i in buyer]), strict=False)
        )
        values = list(neg.values())
        d_s.append(sum(values) / len(values) if values else 0.5)
        d_y.append(1 if overall == 0 else 0)
        for i, sat in rated:
            upto = [v for j, v in neg.items() if j <= i]
            t_s.append(sum(upto) / len(upto))
            t_y.append(1 if sat == 0 else 0)
    seconds = time.perf_counter() - t0
    return d_s, d_y, t_s, t_y, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="re-fit only the Platt scale/offset of both heads and rewrite those lines",
    )
    args = parser.parse_args(argv)
    if not JDDC.exists():
        print(f"jddc_sat dev set not found at {JDDC}; this benchmark needs ../shared/data.")
        return 2
    warnings.simplefilter("ignore")
    data = load(JDDC)
    sentiment_fn, politeness_fn = default_signals()
    signals = {
        "sentiment": "kefu_standards._sentiment" if sentiment_fn else "off (module not usable)",
        "politeness": "kefu_standards._politeness" if politeness_fn else "off (module not usable)",
    }
    policy = EscalationPolicy()
    traces = [
        _trace(c, policy=policy, sentiment=sentiment_fn, politeness=politeness_fn)
        for c, _o, _r in data
    ]
    model = _default_model()
    if args.calibrate:
        model = calibrate(traces, data, model)
        write_calibration(model, MODEL_TSV)
        print(f"wrote the calibration lines of {MODEL_TSV.relative_to(ROOT)}")
    d_s, d_y, t_s, t_y = evaluate(model, traces, data)
    # Platt scaling is monotone: the AUC of the hand-set log-odds is the AUC of the risks
    raw_d = [model.outcome.raw(t.features[-1]) for t in traces]
    raw_t = [
        model.turn.raw(t.features[i])
        for t, (_c, _o, rated) in zip(traces, data, strict=True)
        for i, _ in rated
    ]
    raw_auc = {"dialogue": roc_auc(d_y, raw_d), "turn": roc_auc(t_y, raw_t)}
    cv = cross_validate(traces, data, model)
    b_ds, b_dy, b_ts, b_ty, snow_seconds = baseline(data)

    # throughput: the public function end to end, per-text caches emptied first (the
    # sentiment model's own cache is left as it is: analyze shares it)
    _clear_caches()
    t0 = time.perf_counter()
    results_e = [escalation(conv) for conv, _o, _r in data]
    ours_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()  # again, every text seen: the repeated-text regime of live chat
    for conv, _o, _r in data:
        escalation(conv)
    warm_seconds = time.perf_counter() - t0
    n = len(data)
    alert = [e.level or "low" for e in results_e]
    turn_bands = [
        policy.turn_level(e.per_message[i])
        for e, (_c, _o, rated) in zip(results_e, data, strict=True)
        for i, _ in rated
    ]
    halves = split_half(model, traces, data)
    fitted = ceiling(traces, data)

    def coefficients(head: _Head) -> dict[str, float]:
        return {
            "scale": head.scale,
            "offset": head.offset,
            **dict(zip(FEATURES, head.weights, strict=True)),
        }

    results = {
        "dataset": "jddc_sat.dev",
        "dialogues": n,
        "dissatisfied_dialogues": sum(d_y),
        "rated_turns": len(t_y),
        "dissatisfied_turns": sum(t_y),
        "signals": signals,
        "weights": "hand-set (model.tsv); only scale/offset calibrated on jddc_sat.dev",
        "dialogue_auc": roc_auc(d_y, d_s),
        "turn_auc": roc_auc(t_y, t_s),
        "dialogue_auc_hand_set_log_odds": raw_auc["dialogue"],
        "turn_auc_hand_set_log_odds": raw_auc["turn"],
        "auc_note": "Platt scaling is monotone: in-sample AUC == cross-validated AUC",
        "dialogue_brier": brier(d_y, d_s),
        "dialogue_log_loss": log_loss(d_y, d_s),
        "turn_brier": brier(t_y, t_s),
        "turn_log_loss": log_loss(t_y, t_s),
        "cv5_dialogue_brier": cv["dialogue_brier"],
        "cv5_dialogue_log_loss": cv["dialogue_log_loss"],
        "cv5_turn_brier": cv["turn_brier"],
        "cv5_turn_log_loss": cv["turn_log_loss"],
        "snownlp_dialogue_auc": roc_auc(b_dy, b_ds),
        "snownlp_turn_auc": roc_auc(b_ty, b_ts),
        "reliability_dialogue": reliability(d_y, d_s),
        "reliability_turn": reliability(t_y, t_s),
        "levels_dialogue_score": levels(d_y, [policy.level(x) for x in d_s]),
        "levels_dialogue_alert": levels(d_y, alert),
        "levels_turn": levels(t_y, turn_bands),
        "split_half": halves,
        "fitted_ceiling": {"l2": list(CEILING_L2), **fitted},
        "escalation_conv_per_s": n / ours_seconds,
        "escalation_warm_conv_per_s": n / warm_seconds,
        "snownlp_conv_per_s": n / snow_seconds,
        "speed_ratio_vs_snownlp": snow_seconds / ours_seconds,
        "warm_speed_ratio_vs_snownlp": snow_seconds / warm_seconds,
        "turn_coefficients": coefficients(model.turn),
        "outcome_coefficients": coefficients(model.outcome),
    }
    _print(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


def _print(r: dict[str, Any]) -> None:
    print(
        f"jddc_sat dev: {r['dialogues']} dialogues ({r['dissatisfied_dialogues']} overall == 0), "
        f"{r['rated_turns']} rated buyer turns ({r['dissatisfied_turns']} satisfaction == 0)"
    )
    print(
        f"signals: sentiment {r['signals']['sentiment']}; politeness {r['signals']['politeness']}"
    )
    t, o = r["turn_coefficients"], r["outcome_coefficients"]
    print(
        f"weights hand-set; Platt calibration: turn scale {t['scale']:.4f} offset "
        f"{t['offset']:.4f}, outcome scale {o['scale']:.4f} offset {o['offset']:.4f}"
    )
    print()
    print("| metric | escalation (hand-set weights) | SnowNLP mean buyer neg. |")
    print("|---|---|---|")
    print(
        f"| dialogue ROC AUC (overall == 0) | {r['dialogue_auc']:.4f} "
        f"| {r['snownlp_dialogue_auc']:.4f} |"
    )
    print(
        f"| turn ROC AUC (satisfaction == 0) | {r['turn_auc']:.4f} | {r['snownlp_turn_auc']:.4f} |"
    )
    print(
        f"(same AUCs from the uncalibrated hand-set log-odds: dialogue "
        f"{r['dialogue_auc_hand_set_log_odds']:.4f}, turn {r['turn_auc_hand_set_log_odds']:.4f}; "
        "no weight is fitted on this set, so these are also the cross-validated AUCs)"
    )
    print()
    print("| calibration | in-sample | 5-fold CV (Platt re-fitted per fold) |")
    print("|---|---|---|")
    for level in ("dialogue", "turn"):
        for metric, label in (("brier", "Brier score"), ("log_loss", "log loss")):
            print(
                f"| {level} {label} | {r[f'{level}_{metric}']:.4f} "
                f"| {r[f'cv5_{level}_{metric}']:.4f} |"
            )
    for name in ("dialogue", "turn"):
        print(f"\nreliability ({name} level, in-sample calibration): deciles of predicted risk")
        print("| decile | n | mean predicted | observed rate |")
        print("|---|---|---|---|")
        for row in r[f"reliability_{name}"]:
            cells = (
                row["decile"],
                row["n"],
                f"{row['mean_predicted']:.3f}",
                f"{row['observed']:.3f}",
            )
            print("| " + " | ".join(map(str, cells)) + " |")
    tables = (
        ("levels_dialogue_score", "dialogues per band of score (medium_from, high_from)"),
        ("levels_dialogue_alert", "dialogues per Escalation.level (worse of score and risk_now)"),
        ("levels_turn", "rated buyer turns per band of per_message (turn_*_from)"),
    )
    for key, title in tables:
        print(f"\n{title}, default EscalationPolicy")
        print("| level | n | dissatisfied | observed rate |")
        print("|---|---|---|---|")
        for row in r[key]:
            rate = "-" if row["observed"] is None else f"{row['observed']:.3f}"
            print(f"| {row['level']} | {row['n']} | {row['dissatisfied']} | {rate} |")
    h = r["split_half"]
    print(
        "\nsplit-half check (turn weights revised and refused_problem added looking at half A "
        "only; B is held out)"
    )
    print("| half | dialogues (overall == 0) | dialogue ROC AUC | turn ROC AUC |")
    print("|---|---|---|---|")
    for half in ("A", "B"):
        print(
            f"| {half} | {h[f'{half}_dialogues']} ({h[f'{half}_dialogue_positives']}) "
            f"| {h[f'{half}_dialogue_auc']:.4f} | {h[f'{half}_turn_auc']:.4f} |"
        )
    c = r["fitted_ceiling"]
    print(
        "\nceiling check (measured, never shipped): logistic regression over the same FEATURES,"
        "\nfitted on one half and scored on the other; L2 strength per column"
    )
    print("| head | fitted on -> scored on | " + " | ".join(f"l2={x:g}" for x in c["l2"]) + " |")
    print("|---|---|" + "---|" * len(c["l2"]))
    for head in ("dialogue", "turn"):
        for key, label in (("A_to_B", "A -> B"), ("B_to_A", "B -> A")):
            print(f"| {head} | {label} | " + " | ".join(f"{x:.4f}" for x in c[head][key]) + " |")
    print()
    print(
        f"throughput: escalation {r['escalation_conv_per_s']:.1f} conv/s with its per-text "
        f"caches emptied first, {r['escalation_warm_conv_per_s']:.1f} conv/s on a second pass; "
        f"SnowNLP baseline {r['snownlp_conv_per_s']:.1f} conv/s; ratio "
        f"{r['speed_ratio_vs_snownlp']:.2f}x (cold), {r['warm_speed_ratio_vs_snownlp']:.2f}x (warm)"
    )


if __name__ == "__main__":
    sys.exit(main())
