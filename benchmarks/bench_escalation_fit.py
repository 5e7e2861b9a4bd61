"""EscalationModel.fit on JDDC satisfaction dialogues: fitted vs shipped on unseen dialogues.

Run from the repository root::

    python benchmarks/bench_escalation_fit.py
    python benchmarks/bench_escalation_fit.py --curve-only   # the learning curve alone
    python benchmarks/bench_escalation_fit.py --dialogue-only   # dialogue candidates, intervals
    python benchmarks/bench_escalation_fit.py --sentiment-only  # cross_validate_sentiment
    python benchmarks/bench_escalation_fit.py --evidence-only   # learned evidence vs #19's bar

Reads ``../shared/data/jddc_sat.dev.jsonl.gz`` (462 dialogues; buyer turns rated
0/1/2, no timestamps; conversations are built from the turns as in
``bench_escalation.py``).  Labels: a dialogue is dissatisfied when ``overall == 0``,
a rated buyer turn when ``satisfaction == 0``.

Split by dialogue id parity (half A even ids, half B odd ids, as in
``bench_escalation.py``): fit on one half, score the other with
``ks.escalation(conv, model=model)`` and the shipped ``ks.escalation(conv)``, both
ways, in two settings:

- **message labels**: ``fit(convs, labels, message_labels=...)``;
- **dialogue labels only**: ``fit(convs, labels)``.

Reports the turn ROC AUC (``per_message`` at rated buyer turns) and the dialogue ROC
AUC (``score``; and, for reference, of the mean ``per_message`` risk over the buyer's
messages) of the fitted and the shipped model on the unseen half, the fit time
with every per-text cache emptied first (and, as the baseline measured in the same
run, the shipped ``escalation()`` of the same training dialogues, also cold), the
cross-validated figures ``fit`` reported on its own half, and whether a save/load
round trip gives identical scores; then the fit time on all 462 dialogues (message
labels) with its own cross-validated report.

Two more measurements put the dialogue goal in context:

- **ceilings** on each scoring half: the dialogue AUC of the true share of
  dissatisfied rated turns (what a perfect turn head, averaged, would give), and
  the best dialogue AUC over a family of aggregations of the fitted turn risks
  mixed with the shipped score, *chosen on the scoring half itself* -- an oracle,
  an upper bound of that family, not a result;
- **learning curve**: 5 folds of all 462 dialogues by conversation; for each fold,
  a model is fitted on the first *n* conversations of the other folds (shuffled
  once, seeded) and scores the held-out fold; turn and dialogue AUC of the pooled
  held-out scores, fitted and shipped, for each *n*.

Two more put the dialogue goal's gap in proportion (``--dialogue-only`` runs them alone):

- **dialogue-head candidates**: on each training half, the turn head's out-of-fold
  (inner-fold) risks feed several richer dialogue feature sets (later-turn and
  position-weighted risks, counts of risky buyer turns, turn risk x shipped
  per-message risk, the shipped end-of-dialogue state); each is fitted with the
  shipped outcome log-odds as offset, its penalty chosen by the fit's own inner
  grouped CV and one-SE rule towards the shipped score, and scored on the other half;
  the AUC at every penalty of the grid is printed too, as a landscape (*not* a result:
  reading it is choosing on the scored half);
- **uncertainty**: percentile bootstrap intervals (resampling whole dialogues of the
  scored half, 1,000 resamples) of the dialogue AUC of the shipped and the fitted
  score, of their difference, of the true turn share, and of the oracle (re-chosen
  in every resample, so its optimism is kept); and the share of resamples in which
  each reaches the goal.

**Learned evidence** (``--evidence-only``): should ``Escalation.reasons`` carry
``model.evidence(conv)``? Issue #19 lists a reason only when it is true and
material. A necessary condition, measurable without new labels: the rated buyer
messages of the unseen half that hold one of a conversation's top-5 learned spans
(``evidence(conv, limit=5)``) should mostly be dissatisfied ones. Printed: their
count and the share rated dissatisfied (by the span's weight), next to the base
rate; the share of one-character spans; the commonest spans.

And the same for buyer sentiment (issue #16 item 5, ``--sentiment-only``):
``ks.cross_validate_sentiment`` on the rated buyer turns of all 462 dialogues
(satisfaction 2 = positive, 0 = negative, 1 left out; groups = dialogues), the
out-of-fold AUC of ``SentimentModel.train`` on them next to the packaged model's.

These weights are fitted on research data: they are measured here and never written
anywhere but a temporary folder (the dev set's terms forbid shipping them).
Writes ``benchmarks/results/escalation_fit.json``.
"""

from __future__ import annotations

import functools
import json
import math
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from _metrics import roc_auc
from bench_escalation import JDDC, ROOT, half_of, load
from kefu_standards import (
    Conversation,
    EscalationModel,
    SentimentModel,
    _fitcv,
    cross_validate_sentiment,
    escalation,
)
from kefu_standards import _escalation_fit as fitmod
from kefu_standards._escalation import FEATURES, EscalationPolicy
from kefu_standards._escalation_fit import _context_grams, _own_grams
from kefu_standards._escalation_text import _clear_caches
from kefu_standards.exceptions import NotEnoughDataError

RESULTS = ROOT / "benchmarks" / "results" / "escalation_fit.json"
CURVE_RESULTS = ROOT / "benchmarks" / "results" / "escalation_fit_curve.json"
DIALOGUE_RESULTS = ROOT / "benchmarks" / "results" / "escalation_fit_dialogue.json"
GOALS = {"turn": 0.80, "dialogue": 0.78, "dialogue_only_max_loss": 0.01}
BOOTSTRAP = 1000
BOOTSTRAP_SEED = 7

Data = list[tuple[Conversation, int, list[tuple[int, int]]]]


def labels_of(data: Data) -> tuple[list[bool], list[list[bool | None]]]:
    """Dialogue labels (overall == 0) and message labels (satisfaction == 0 on rated turns)."""
    dialogue = [overall == 0 for _c, overall, _r in data]
    messages: list[list[bool | None]] = []
    for conv, _overall, rated in data:
        row: list[bool | None] = [None] * len(conv.messages)
        for i, sat in rated:
            row[i] = sat == 0
        messages.append(row)
    return dialogue, messages


def score(
    data: Data, model: EscalationModel | None
) -> tuple[list[float], list[float], list[float]]:
    """Dialogue scores, rated-turn risks and mean buyer-message risk under *model*."""
    d, t, m = [], [], []
    for conv, _overall, rated in data:
        e = escalation(conv, model=model)
        d.append(e.score)
        t.extend(e.per_message[i] for i, _sat in rated)
        buyer = [
            r
            for r, msg in zip(e.per_message, conv.messages, strict=True)
            if msg.role.value == "buyer"
        ]
        m.append(sum(buyer) / len(buyer) if buyer else 0.0)
    return d, t, m


def aucs(data: Data, scores: tuple[list[float], list[float], list[float]]) -> dict[str, float]:
    """Turn AUC, dialogue AUC of ``score`` and of the mean turn risk of the buyer's messages."""
    d_y = [1 if overall == 0 else 0 for _c, overall, _r in data]
    t_y = [1 if sat == 0 else 0 for _c, _o, rated in data for _i, sat in rated]
    return {
        "turn": roc_auc(t_y, scores[1]),
        "dialogue": roc_auc(d_y, scores[0]),
        "dialogue_mean_turn_risk": roc_auc(d_y, scores[2]),
    }


#: Aggregations of the fitted turn risks (over the buyer's messages) the oracle tries.
AGGREGATIONS = ("mean", "max", "last", "top3", "last3", "share_above_half", "noisy_or")
CURVE_SIZES = (40, 80, 160, 240, 369)
CURVE_FOLDS = 5
CURVE_SEED = 11


def _aggregate(name: str, risks: list[float]) -> float:
    if not risks:
        return 0.0
    if name == "mean":
        return sum(risks) / len(risks)
    if name == "max":
        return max(risks)
    if name == "last":
        return risks[-1]
    if name == "top3":
        top = sorted(risks, reverse=True)[:3]
        return sum(top) / len(top)
    if name == "last3":
        return sum(risks[-3:]) / len(risks[-3:])
    if name == "share_above_half":
        return sum(r > 0.5 for r in risks) / len(risks)
    # noisy-or: the chance that at least one message is a dissatisfied one
    return 1.0 - math.prod(1.0 - min(r, 1.0 - 1e-12) for r in risks)


def _standard(values: list[float]) -> list[float]:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return [(v - mean) / sd for v in values]


def ceilings(test: Data, model: EscalationModel) -> dict[str, Any]:
    """Dialogue-AUC ceilings on *test* (see the module docstring): NOT results, bounds.

    ``true_turn_share``: AUC of the share of rated turns labelled dissatisfied (the
    labels themselves). ``oracle``: the best AUC over :data:`AGGREGATIONS` of the fitted
    per-message risks of the buyer's messages, mixed with the shipped dialogue score as
    ``a * z(shipped) + (1 - a) * z(aggregation)``, ``a`` in 0, 0.05, ..., 1, chosen on
    *test*'s own labels.
    """
    y = [1 if overall == 0 else 0 for _c, overall, _r in test]
    share = [sum(sat == 0 for _i, sat in r) / len(r) if r else 0.0 for _c, _o, r in test]
    shipped = _standard([escalation(c).score or 0.0 for c, _o, _r in test])
    buyer_risks = []
    for conv, _o, _r in test:
        e = escalation(conv, model=model)
        buyer_risks.append(
            [
                r
                for r, m in zip(e.per_message, conv.messages, strict=True)
                if m.role.value == "buyer"
            ]
        )
    best = (0.0, "", 0.0)
    for name in AGGREGATIONS:
        agg = _standard([_aggregate(name, r) for r in buyer_risks])
        for step in range(21):
            a = step / 20
            auc = roc_auc(y, [a * s + (1 - a) * g for s, g in zip(shipped, agg, strict=True)])
            if auc > best[0]:
                best = (auc, name, a)
    return {
        "true_turn_share_auc": round(roc_auc(y, share), 4),
        "oracle_auc": round(best[0], 4),
        "oracle_aggregation": best[1],
        "oracle_shipped_weight": best[2],
    }


def _oracle(y: np.ndarray, shipped: np.ndarray, aggs: np.ndarray, w: np.ndarray | None) -> float:
    """Best AUC over the aggregations x shipped weights (rows of *aggs* standardised)."""
    best = 0.0
    for agg in aggs:
        for step in range(21):
            a = step / 20
            auc = _fitcv._weighted_auc(y, a * shipped + (1 - a) * agg, w)
            if auc is not None and auc > best:
                best = auc
    return best


def uncertainty(test: Data, model: EscalationModel) -> dict[str, Any]:
    """Bootstrap intervals (by dialogue) of the dialogue AUCs on *test*; see the docstring."""
    y = np.array([overall == 0 for _c, overall, _r in test])
    shipped = np.array([escalation(c).score or 0.0 for c, _o, _r in test])
    fitted = np.array([escalation(c, model=model).score or 0.0 for c, _o, _r in test])
    share = np.array([sum(sat == 0 for _i, sat in r) / len(r) if r else 0.0 for _c, _o, r in test])
    buyer_risks = []
    for conv, _o, _r in test:
        e = escalation(conv, model=model)
        pairs = zip(e.per_message, conv.messages, strict=True)
        buyer_risks.append([r for r, m in pairs if m.role.value == "buyer"])
    z_shipped = np.array(_standard(list(shipped)))
    aggs = np.array([_standard([_aggregate(n, r) for r in buyer_risks]) for n in AGGREGATIONS])
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws: dict[str, list[float]] = {
        k: [] for k in ("shipped", "fitted", "difference", "true_turn_share", "oracle")
    }
    for _ in range(BOOTSTRAP):
        w = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(np.float64)
        a_s = _fitcv._weighted_auc(y, shipped, w)
        a_f = _fitcv._weighted_auc(y, fitted, w)
        a_t = _fitcv._weighted_auc(y, share, w)
        if a_s is None or a_f is None or a_t is None:
            continue
        draws["shipped"].append(a_s)
        draws["fitted"].append(a_f)
        draws["difference"].append(a_f - a_s)
        draws["true_turn_share"].append(a_t)
        draws["oracle"].append(_oracle(y, z_shipped, aggs, w))
    point = {
        "shipped": roc_auc(y, shipped),
        "fitted": roc_auc(y, fitted),
        "true_turn_share": roc_auc(y, share),
        "oracle": _oracle(y, z_shipped, aggs, None),
    }
    point["difference"] = point["fitted"] - point["shipped"]
    out: dict[str, Any] = {"resamples": len(draws["shipped"]), "positives": int(y.sum())}
    for key, values in draws.items():
        v = np.asarray(values)
        lo, hi = np.quantile(v, [0.025, 0.975])
        row = {"auc": round(point[key], 4), "interval": [round(float(lo), 4), round(float(hi), 4)]}
        if key != "difference":
            row["share_reaching_goal"] = round(float((v >= GOALS["dialogue"]).mean()), 3)
        out[key] = row
    return out


def _late(t: np.ndarray) -> np.ndarray:
    """Buyer turns after the first three (those jddc never rates), or the last one."""
    return t[3:] if len(t) > 3 else t[-1:]


def _state(k: int, _t: np.ndarray, _s: np.ndarray, state: np.ndarray) -> float:
    """Shipped end-of-dialogue state feature *k*."""
    return float(state[k])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


#: Candidate dialogue features: name -> f(turn log-odds at the buyer's messages,
#: shipped turn log-odds there, shipped end state).
CANDIDATE_FEATURES: dict[str, Any] = {
    "turn_mean": lambda t, s, st: t.mean(),
    "turn_max": lambda t, s, st: t.max(),
    "turn_last": lambda t, s, st: t[-1],
    "late_mean": lambda t, s, st: _late(t).mean(),
    "late_max": lambda t, s, st: _late(t).max(),
    "position_weighted": lambda t, s, st: (
        (t * np.arange(1, len(t) + 1)).sum() / (len(t) * (len(t) + 1) / 2)
    ),
    "last3_risk": lambda t, s, st: _sigmoid(t[-3:]).mean(),
    "above_0.3": lambda t, s, st: float((_sigmoid(t) > 0.3).sum()),
    "above_0.5": lambda t, s, st: float((_sigmoid(t) > 0.5).sum()),
    "late_noisy_or": lambda t, s, st: -np.log1p(-np.minimum(_sigmoid(_late(t)), 1 - 1e-9)).sum(),
    "x_shipped_mean": lambda t, s, st: (_sigmoid(t) * _sigmoid(s)).mean(),
    "x_shipped_max": lambda t, s, st: (_sigmoid(t) * _sigmoid(s)).max(),
    "log_buyer_turns": lambda t, s, st: math.log(len(t) + 1),
    **{f"state_{name}": functools.partial(_state, k) for k, name in enumerate(FEATURES)},
}
_POSITION = ["late_mean", "late_max", "position_weighted", "last3_risk"]
_COUNTS = ["above_0.3", "above_0.5", "late_noisy_or", "log_buyer_turns"]
_CROSS = ["x_shipped_mean", "x_shipped_max"]
_STATE = [f"state_{name}" for name in FEATURES]
CANDIDATES = {
    "the fit's own (mean, max, last)": ["turn_mean", "turn_max", "turn_last"],
    "later turns and position": _POSITION,
    "counts of risky turns": _COUNTS,
    "turn x shipped risk": _CROSS,
    "shipped end state": _STATE,
    "turn aggregates, all": ["turn_mean", "turn_max", "turn_last", *_POSITION, *_COUNTS, *_CROSS],
    "everything": ["turn_mean", "turn_max", "turn_last", *_POSITION, *_COUNTS, *_CROSS, *_STATE],
}
CANDIDATE_L2 = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, math.inf)


def _candidate_matrix(preps: list[Any], turns: list[np.ndarray], cols: list[str]) -> np.ndarray:
    rows = []
    for p, t in zip(preps, turns, strict=True):
        b = p.buyer if len(p.buyer) else np.arange(len(p.turn))[-1:]
        rows.append([CANDIDATE_FEATURES[c](t[b], p.turn[b], p.states[-1]) for c in cols])
    return np.asarray(rows, dtype=np.float64)


def _choose_candidate_l2(x: np.ndarray, offset: np.ndarray, y: np.ndarray, inner: Any) -> float:
    """The fit's rule: inner-fold log loss, a finite penalty only if better by > 1 SE."""
    losses = {}
    for l2 in CANDIDATE_L2:
        per = np.full(len(y), np.nan)
        for f in range(int(inner.max()) + 1):
            tr, te = np.flatnonzero(inner != f), np.flatnonzero(inner == f)
            mu, sd = fitmod._standardise(x[tr])
            w = fitmod._fit_dialogue((x[tr] - mu) / sd, offset[tr], y[tr], l2)
            z = offset[te] + w[0] + ((x[te] - mu) / sd) @ w[1:]
            per[te] = np.logaddexp(0.0, z) - y[te] * z
        losses[l2] = per
    best, gain = math.inf, 0.0
    for l2, loss in losses.items():
        g = losses[math.inf] - loss
        se = float(g.std(ddof=1)) / math.sqrt(len(g))
        if not math.isinf(l2) and g.mean() > max(se, 1e-12) and g.mean() > gain:
            best, gain = l2, float(g.mean())
    return best


def dialogue_candidates(train: Data, test: Data) -> dict[str, Any]:
    """Richer dialogue heads fitted on *train* (message labels), scored on *test*."""
    policy = EscalationPolicy()
    convs = [c for c, _o, _r in train]
    dialogue, messages = labels_of(train)
    preps, table = fitmod._encode([fitmod._prepare(c, policy) for c in convs])
    data = fitmod._Data(
        preps,
        fitmod._dialogue_labels(convs, dialogue, 1),
        fitmod._message_labels(convs, messages, 1),
        table,
    )
    part = fitmod._fit_turn_part(data, fitmod._Settings(1.0, 2, 3, 0))
    heads = fitmod._Heads(
        part.vocabulary, part.weights, part.state_mean, part.state_scale, part.calibration,
        np.zeros(5), np.zeros(4), np.ones(4), part.l2, math.inf, part.signal_l2,
    )  # fmt: skip
    test_preps = [fitmod._prepare(c, policy) for c, _o, _r in test]
    test_turns = [heads.turn_logits(p) for p in test_preps]
    y = data.dialogue
    y_test = np.array([1.0 if overall == 0 else 0.0 for _c, overall, _r in test])
    offset = np.array([p.outcome for p in preps])
    offset_test = np.array([p.outcome for p in test_preps])
    out: dict[str, Any] = {"shipped": round(roc_auc(y_test, offset_test), 4), "candidates": {}}
    for name, cols in CANDIDATES.items():
        x = _candidate_matrix(list(preps), list(part.stacked), cols)
        x_test = _candidate_matrix(test_preps, test_turns, cols)
        chosen = _choose_candidate_l2(x, offset, y, part.inner)
        mu, sd = fitmod._standardise(x)
        by_l2 = {}
        for l2 in CANDIDATE_L2:
            w = fitmod._fit_dialogue((x - mu) / sd, offset, y, l2)
            z = offset_test + w[0] + ((x_test - mu) / sd) @ w[1:]
            by_l2[l2] = round(roc_auc(y_test, z), 4)
        out["candidates"][name] = {
            "features": len(cols),
            "chosen_l2": None if math.isinf(chosen) else chosen,
            "auc": by_l2[chosen],
            "auc_by_l2": {("inf" if math.isinf(k) else str(k)): v for k, v in by_l2.items()},
        }
    return out


def _print_candidates(fit_on: str, score_on: str, c: dict[str, Any]) -> None:
    grid = " / ".join("inf" if math.isinf(v) else f"{v:g}" for v in CANDIDATE_L2)
    print(
        f"\ndialogue-head candidates fitted on half {fit_on}, scored on half {score_on} "
        f"(shipped outcome {c['shipped']:.4f}); penalty chosen by inner CV, one-SE rule "
        f"(inf = shipped score recalibrated); landscape by penalty {grid} is NOT a result"
    )
    print("| features | n | chosen l2 | unseen-half AUC | AUC by penalty (landscape) |")
    print("|---|---|---|---|---|")
    for name, r in c["candidates"].items():
        l2 = "inf" if r["chosen_l2"] is None else f"{r['chosen_l2']:g}"
        land = " ".join(f"{v:.3f}" for v in r["auc_by_l2"].values())
        print(f"| {name} | {r['features']} | {l2} | {r['auc']:.4f} | {land} |")


def _print_uncertainty(score_on: str, u: dict[str, Any]) -> None:
    print(
        f"dialogue AUC on half {score_on} with 95% bootstrap intervals ({u['resamples']} "
        f"resamples of its dialogues, {u['positives']} dissatisfied); share of resamples "
        f">= {GOALS['dialogue']}:"
    )
    for key in ("shipped", "fitted", "difference", "true_turn_share", "oracle"):
        r = u[key]
        reach = "" if key == "difference" else f"; >= goal in {r['share_reaching_goal']:.1%}"
        fmt = "+.4f" if key == "difference" else ".4f"
        lo, hi = r["interval"]
        print(f"  {key}: {r['auc']:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]{reach}")


def learning_curve(data: Data) -> list[dict[str, Any]]:
    """Pooled held-out turn and dialogue AUC by number of training conversations."""
    rng = random.Random(CURVE_SEED)
    order = list(range(len(data)))
    rng.shuffle(order)
    fold_of = {k: pos % CURVE_FOLDS for pos, k in enumerate(order)}
    rows = []
    for n in CURVE_SIZES:
        d_y: list[int] = []
        d_fit: list[float] = []
        d_ship: list[float] = []
        t_y: list[int] = []
        t_fit: list[float] = []
        t_ship: list[float] = []
        fits = kept = 0
        per_fold: list[tuple[float | None, ...]] = []
        for f in range(CURVE_FOLDS):
            pool = [k for k in order if fold_of[k] != f]
            train = [data[k] for k in pool[:n]]
            test = [data[k] for k in order if fold_of[k] == f]
            dialogue, messages = labels_of(train)
            try:
                model = EscalationModel.fit(
                    [c for c, _o, _r in train],
                    dialogue,
                    message_labels=messages,
                    folds=2,
                    bootstrap=0,
                )
            except NotEnoughDataError:
                model = None  # too few of a class: the shipped model scores this fold
            fits += model is not None
            kept += model is None or math.isinf(model.report.dialogue_l2)
            fitted, shipped = score(test, model), score(test, None)
            fold_y = [1 if overall == 0 else 0 for _c, overall, _r in test]
            fold_t = [1 if sat == 0 else 0 for _c, _o, rated in test for _i, sat in rated]
            per_fold.append(
                (
                    roc_auc(fold_t, fitted[1]),
                    roc_auc(fold_t, shipped[1]),
                    roc_auc(fold_y, fitted[0]),
                    roc_auc(fold_y, shipped[0]),
                )
            )
            d_y += [1 if overall == 0 else 0 for _c, overall, _r in test]
            t_y += [1 if sat == 0 else 0 for _c, _o, rated in test for _i, sat in rated]
            d_fit += fitted[0]
            d_ship += shipped[0]
            t_fit += fitted[1]
            t_ship += shipped[1]
        means = [sum(v[j] for v in per_fold) / len(per_fold) for j in range(4)]
        rows.append(
            {
                "train_conversations": min(n, len(data) - len(data) // CURVE_FOLDS),
                "folds_fitted": fits,
                "folds_dialogue_kept_shipped": kept,
                "fold_mean_turn_fitted": round(means[0], 4),
                "fold_mean_turn_shipped": round(means[1], 4),
                "fold_mean_dialogue_fitted": round(means[2], 4),
                "fold_mean_dialogue_shipped": round(means[3], 4),
                "turn_fitted": round(roc_auc(t_y, t_fit), 4),
                "turn_shipped": round(roc_auc(t_y, t_ship), 4),
                "dialogue_fitted": round(roc_auc(d_y, d_fit), 4),
                "dialogue_shipped": round(roc_auc(d_y, d_ship), 4),
            }
        )
        r = rows[-1]
        print(
            f"| {r['train_conversations']} | {fits}/{CURVE_FOLDS} | {kept}/{CURVE_FOLDS} | "
            f"{r['turn_fitted']:.4f} / {r['turn_shipped']:.4f} | "
            f"{r['fold_mean_turn_fitted']:.4f} / {r['fold_mean_turn_shipped']:.4f} | "
            f"{r['dialogue_fitted']:.4f} / {r['dialogue_shipped']:.4f} | "
            f"{r['fold_mean_dialogue_fitted']:.4f} / {r['fold_mean_dialogue_shipped']:.4f} |",
            flush=True,
        )
    return rows


def cold() -> None:
    """Empty the per-text caches of escalation, the sentiment model and the fit's grams.

    (The politeness analyser's own memo stays warm for both timings alike.)
    """
    _clear_caches()
    SentimentModel.default().clear_cache()
    _own_grams.cache_clear()
    _context_grams.cache_clear()


def _curve(data: Data, results: dict[str, Any]) -> None:
    print(
        f"\nlearning curve: {CURVE_FOLDS} folds of all {len(data)} dialogues; fitted on the "
        "first n of the other folds (message labels); AUC fitted / shipped, pooled over the "
        "held-out folds and the mean of the per-fold AUCs (each fold's own model)"
    )
    print(
        "| n | folds fitted | dialogue head kept shipped | turn pooled | turn fold mean "
        "| dialogue pooled | dialogue fold mean |"
    )
    print("|---|---|---|---|---|---|---|")
    results["learning_curve"] = learning_curve(data)


def main() -> int:
    if not JDDC.exists():
        print(f"jddc_sat dev set not found at {JDDC}; this benchmark needs ../shared/data.")
        return 2
    warnings.simplefilter("ignore")
    data = load(JDDC)
    if "--curve-only" in sys.argv[1:]:
        results: dict[str, Any] = {"dialogues": len(data)}
        _curve(data, results)
        CURVE_RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(f"\nwrote {CURVE_RESULTS.relative_to(ROOT)}")
        return 0
    halves = {h: [d for d in data if half_of(d[0]) == h] for h in ("A", "B")}
    if "--dialogue-only" in sys.argv[1:]:
        return _dialogue_only(data, halves)
    if "--evidence-only" in sys.argv[1:]:
        for fit_on, score_on in (("A", "B"), ("B", "A")):
            dialogue, messages = labels_of(halves[fit_on])
            model = EscalationModel.fit(
                [c for c, _o, _r in halves[fit_on]],
                dialogue,
                message_labels=messages,
                folds=2,
                bootstrap=0,
            )
            print(f"\nfit on half {fit_on} (message labels)")
            _print_evidence(score_on, evidence_check(halves[score_on], model))
        return 0
    if "--sentiment-only" in sys.argv[1:]:
        sentiment_cv(data)
        return 0
    escalation(data[0][0])  # load the shipped model and its signals before timing
    results = {"dialogues": len(data), "runs": []}
    for fit_on, score_on in (("A", "B"), ("B", "A")):
        train, test = halves[fit_on], halves[score_on]
        dialogue, messages = labels_of(train)
        shipped_auc = aucs(test, score(test, None))
        for setting in ("message labels", "dialogue labels only"):
            cold()
            t0 = time.perf_counter()
            score(train, None)  # the baseline: shipped escalation of the training dialogues
            shipped_seconds = time.perf_counter() - t0
            cold()
            t0 = time.perf_counter()
            model = EscalationModel.fit(
                [c for c, _o, _r in train],
                dialogue,
                message_labels=messages if setting == "message labels" else None,
            )
            fit_seconds = time.perf_counter() - t0
            fitted = score(test, model)
            with tempfile.TemporaryDirectory() as tmp:
                path = model.save(Path(tmp) / "model.npz")
                size = path.stat().st_size
                again = score(test, EscalationModel.load(path))
            run = {
                "fit_on": fit_on,
                "score_on": score_on,
                "setting": setting,
                "train_dialogues": len(train),
                "train_dissatisfied": sum(dialogue),
                "test_dialogues": len(test),
                "fitted": aucs(test, fitted),
                "shipped": shipped_auc,
                "fit_seconds": round(fit_seconds, 2),
                "shipped_escalation_seconds_train_dialogues": round(shipped_seconds, 2),
                "round_trip_identical": again == fitted,
                "file_bytes": size,
                "cv_report": model.report.to_record(),
            }
            if setting == "message labels":
                run["ceilings"] = ceilings(test, model)
                run["uncertainty"] = uncertainty(test, model)
                run["dialogue_candidates"] = dialogue_candidates(train, test)
                run["learned_evidence"] = evidence_check(test, model)
            results["runs"].append(run)
            _print_run(run, model)
    # the whole dev set: fit time for 462 dialogues, and fit's own cross-validated report
    dialogue, messages = labels_of(data)
    cold()
    t0 = time.perf_counter()
    score(data, None)
    base = time.perf_counter() - t0
    cold()
    t0 = time.perf_counter()
    model = EscalationModel.fit([c for c, _o, _r in data], dialogue, message_labels=messages)
    seconds = time.perf_counter() - t0
    results["all_dev"] = {
        "dialogues": len(data),
        "fit_seconds": round(seconds, 2),
        "shipped_escalation_seconds_same_dialogues": round(base, 2),
        "cv_report": model.report.to_record(),
    }
    print(
        f"\nfit on all {len(data)} dev dialogues with message labels: {seconds:.1f} s, caches "
        f"cold (shipped escalation() of the same dialogues, cold, {base:.1f} s; ratio "
        f"{seconds / max(base, 1e-9):.1f}x)"
    )
    print(model.report.summary())
    results["sentiment_cv"] = sentiment_cv(data)
    _curve(data, results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


def _dialogue_only(data: Data, halves: dict[str, Data]) -> int:
    """``--dialogue-only``: dialogue-head candidates and the bootstrap intervals, both ways."""
    results: dict[str, Any] = {"dialogues": len(data), "runs": []}
    for fit_on, score_on in (("A", "B"), ("B", "A")):
        train, test = halves[fit_on], halves[score_on]
        dialogue, messages = labels_of(train)
        # the final model does not depend on the report's folds (its inner folds are fixed)
        model = EscalationModel.fit(
            [c for c, _o, _r in train], dialogue, message_labels=messages, folds=2, bootstrap=0
        )
        run = {
            "fit_on": fit_on,
            "score_on": score_on,
            "uncertainty": uncertainty(test, model),
            "dialogue_candidates": dialogue_candidates(train, test),
        }
        print(f"\nfit on half {fit_on} (message labels), scored on half {score_on}")
        _print_uncertainty(score_on, run["uncertainty"])
        _print_candidates(fit_on, score_on, run["dialogue_candidates"])
        results["runs"].append(run)
    DIALOGUE_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    DIALOGUE_RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nwrote {DIALOGUE_RESULTS.relative_to(ROOT)}")
    return 0


EVIDENCE_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def evidence_check(test: Data, model: EscalationModel) -> dict[str, Any]:
    """Top-5 learned spans per conversation against the rated turns of *test* (see above)."""
    rated = [dict(r) for _c, _o, r in test]
    base = [sat == 0 for r in rated for sat in r.values()]
    hits = {w: [0, 0] for w in EVIDENCE_WEIGHTS}
    spans: list[str] = []
    for (conv, _o, _r), sat in zip(test, rated, strict=True):
        top: dict[int, float] = {}
        for e in model.evidence(conv, limit=5):
            spans.append(e.text)
            top[e.message_index] = max(top.get(e.message_index, 0.0), e.weight)
        for i, weight in top.items():
            if i in sat:
                for w in EVIDENCE_WEIGHTS:
                    if weight >= w:
                        hits[w][0] += 1
                        hits[w][1] += sat[i] == 0
    counts: dict[str, int] = {}
    for text in spans:
        counts[text] = counts.get(text, 0) + 1
    return {
        "rated_messages": len(base),
        "base_dissatisfied": round(sum(base) / len(base), 3),
        "spans": len(spans),
        "one_character_share": round(sum(len(t) == 1 for t in spans) / max(len(spans), 1), 3),
        "commonest": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:12],
        "by_weight": [
            {"min_weight": w, "messages": n, "dissatisfied_share": round(k / n, 3) if n else None}
            for w, (n, k) in hits.items()
        ],
    }


def _print_evidence(score_on: str, ev: dict[str, Any]) -> None:
    print(
        f"learned evidence (top 5 spans a conversation) on half {score_on}: "
        f"{ev['spans']} spans, {ev['one_character_share']:.1%} one character; rated messages "
        f"holding one, share rated dissatisfied (base rate {ev['base_dissatisfied']:.3f} of "
        f"{ev['rated_messages']}):"
    )
    for row in ev["by_weight"]:
        share = "-" if row["dissatisfied_share"] is None else f"{row['dissatisfied_share']:.3f}"
        print(f"  span weight >= {row['min_weight']}: {row['messages']} messages, {share}")
    print("  commonest spans: " + ", ".join(f"{t} {n}" for t, n in ev["commonest"]))


def sentiment_cv(data: Data) -> dict[str, Any]:
    """``cross_validate_sentiment`` on the rated buyer turns (2 positive, 0 negative)."""
    texts: list[str] = []
    labels: list[int] = []
    groups: list[str] = []
    for conv, _overall, rated in data:
        for i, sat in rated:
            if sat != 1:
                texts.append(conv.messages[i].text)
                labels.append(1 if sat == 2 else 0)
                groups.append(conv.id)
    t0 = time.perf_counter()
    ev = cross_validate_sentiment(texts, labels, groups=groups, bootstrap=BOOTSTRAP)
    seconds = time.perf_counter() - t0
    print(f"\ncross_validate_sentiment on jddc rated buyer turns (0 vs 2), {seconds:.1f} s:")
    print("  " + ev.summary())
    return {"seconds": round(seconds, 1), "evaluation": ev.to_record()}


def _print_run(run: dict[str, Any], model: EscalationModel) -> None:
    f, s = run["fitted"], run["shipped"]
    print(
        f"\nfit on half {run['fit_on']} ({run['train_dialogues']} dialogues, "
        f"{run['train_dissatisfied']} dissatisfied), {run['setting']}; "
        f"scored on half {run['score_on']} ({run['test_dialogues']} dialogues)"
    )
    print("| head | fitted AUC | shipped AUC | difference |")
    print("|---|---|---|---|")
    for head in ("turn", "dialogue", "dialogue_mean_turn_risk"):
        print(f"| {head} | {f[head]:.4f} | {s[head]:.4f} | {f[head] - s[head]:+.4f} |")
    base = run["shipped_escalation_seconds_train_dialogues"]
    print(
        f"fit {run['fit_seconds']:.1f} s, caches cold (baseline in the same run: shipped "
        f"escalation() of the same {run['train_dialogues']} dialogues, cold, {base:.1f} s; "
        f"ratio {run['fit_seconds'] / max(base, 1e-9):.1f}x); "
        f"save/load identical: {run['round_trip_identical']} ({run['file_bytes']:,} bytes)"
    )
    if "ceilings" in run:
        c = run["ceilings"]
        print(
            f"dialogue ceilings on half {run['score_on']} (bounds, NOT results): true share of "
            f"dissatisfied rated turns {c['true_turn_share_auc']:.4f}; ORACLE best aggregation "
            f"chosen on the scoring half's labels {c['oracle_auc']:.4f} "
            f"({c['oracle_aggregation']}, shipped weight {c['oracle_shipped_weight']:.2f})"
        )
    if "uncertainty" in run:
        _print_uncertainty(run["score_on"], run["uncertainty"])
    print("fit's own report (cross-validated on its half):")
    print(model.report.summary())
    if "learned_evidence" in run:
        _print_evidence(run["score_on"], run["learned_evidence"])
    if "dialogue_candidates" in run:
        _print_candidates(run["fit_on"], run["score_on"], run["dialogue_candidates"])


if __name__ == "__main__":
    sys.exit(main())
