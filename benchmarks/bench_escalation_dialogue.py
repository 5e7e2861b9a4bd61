"""How per-message signals become a dialogue score: aggregations compared on split halves.

Run from the repository root::

    python benchmarks/bench_escalation_dialogue.py

The shipped dialogue score is the outcome head on the *final* state.  This benchmark
asks which summary of the whole chat adds to it.  Each candidate is added to the
outcome head's hand-set log-odds **without** its ``negativity_total`` term (the
feature this comparison led to), with a weight chosen on half A of jddc_sat dev
(even dialogue ids) and reported on half B (odd ids), then the other way round:

- turn risks (``per_message``) over the buyer messages: max, mean of the top 3, mean,
  mean of the last 3, a recency-weighted mean (0.7 per buyer message back), noisy-or,
  the sum of the risks;
- the library's sentiment (``0.5 - P(positive)``) over the buyer messages: max, and
  ``log(1 + sum of the positive parts)``, which is the shipped ``negativity_total``;
- the CPED chat-negativity head (``bias - logit(P)``): mean, max, ``log(1 + sum of the
  positive parts)``, and the head on the concatenated buyer text;
- for reference only (they read the labels): the share and the count of rated buyer
  turns with satisfaction 0, which is what the dialogue label follows.

Candidates are standardised and added as ``g * sd(base) * z`` with ``g`` in
:data:`GRID` (the sign is fixed: each candidate is a risk).  Nothing is fitted and
nothing is written to the package; results go to
``benchmarks/results/escalation_dialogue.json``.

The second pass of issue 18 (:func:`second_pass`) replays the four choices behind
``outcome.gratitude_now``, the CPED disagreement head (``disagreement_mean``, both
heads) and the CPED thanks head (``chat_thanks``, turn head), in that order, each from
its grid in :data:`PASS2_GRIDS`, once on half A (the shipped choice) and once on half B,
and reports the other half.  The CPED class sets of the two heads are chosen with their
weights: each variant in :data:`PASS2_CLASSES` is trained as ``tools/train_cped_head.py``
trains the shipped heads (CPED valid + test, Apache-2.0; seed 0).
"""

from __future__ import annotations

import gzip
import json
import math
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_escalation as be
from _metrics import roc_auc
from kefu_standards._escalation import FEATURES, EscalationPolicy
from kefu_standards._escalation_model import (
    _chat_head_model,
    _default_model,
    _log_odds_of,
    default_signals,
)
from kefu_standards._escalation_walk import _trace
from kefu_standards._sentiment import SentimentModel
from kefu_standards.model import Role

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "escalation_dialogue.json"
GRID = (0.1, 0.25, 0.5, 0.75, 1.0)
#: The grid of ``outcome.negativity_total`` in its own units (as in ``model.tsv``).
TOTAL_GRID = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)
RECENCY = 0.7

Chat = dict[str, Any]


def _chat_negativity_scores(texts: list[str]) -> list[float]:
    """The chat-negativity head's log-odds ``bias - logit(P)`` of *texts* (NaN: undefined)."""
    head = _chat_head_model()
    return [float(x) for x in _log_odds_of(head, head.scores(texts))]


def chats() -> list[Chat]:
    """jddc_sat dev with the shipped state, turn risks and head scores of every message."""
    data = be.load(be.JDDC)
    sentiment, politeness = default_signals()
    model = _default_model()
    policy = EscalationPolicy()
    buyer_texts = sorted({m.text for c, _o, _r in data for m in c.messages if m.role is Role.BUYER})
    head = dict(zip(buyer_texts, _chat_negativity_scores(buyer_texts), strict=True))
    joined = [
        "".join(m.text for m in c.messages if m.role is Role.BUYER) or " " for c, _o, _r in data
    ]
    head_joined = _chat_negativity_scores(joined)
    k_neg, k_total = FEATURES.index("negativity_now"), FEATURES.index("negativity_total")
    out = []
    for (conv, overall, rated), whole in zip(data, head_joined, strict=True):
        trace = _trace(conv, policy=policy, sentiment=sentiment, politeness=politeness)
        rows = trace.features
        buyer = [i for i, m in enumerate(conv.messages) if m.role is Role.BUYER]
        final = rows[-1]
        heads = [head[conv.messages[i].text] for i in buyer]
        out.append(
            {
                "half": be.half_of(conv),
                "label": 1 if overall == 0 else 0,
                "base": model.outcome.raw(final) - model.outcome.weights[k_total] * final[k_total],
                "turn": [model.turn.logit(rows[i]) for i in buyer],
                "negativity": [rows[i][k_neg] for i in buyer],
                "total": final[k_total],
                "head": [0.0 if math.isnan(h) else h for h in heads],
                "head_joined": 0.0 if math.isnan(whole) else whole,
                "rated": [sat for _i, sat in rated],
            }
        )
    return out


def _p(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _recency(values: list[float]) -> float:
    w = [RECENCY**age for age in range(len(values))][::-1]
    return sum(a * b for a, b in zip(w, values, strict=True)) / sum(w)


def _log_positive_sum(values: list[float]) -> float:
    return math.log1p(sum(max(0.0, v) for v in values))


CANDIDATES: dict[str, Callable[[Chat], float]] = {
    "turn risk: max": lambda c: max(c["turn"], default=-5.0),
    "turn risk: mean of top 3": lambda c: float(np.mean(sorted(c["turn"])[-3:] or [-5.0])),
    "turn risk: mean": lambda c: float(np.mean(c["turn"] or [-5.0])),
    "turn risk: mean of last 3": lambda c: float(np.mean(c["turn"][-3:] or [-5.0])),
    "turn risk: recency-weighted mean": lambda c: _recency(c["turn"] or [-5.0]),
    "turn risk: noisy-or": lambda c: 1.0 - math.prod(1.0 - _p(z) for z in c["turn"]),
    "turn risk: sum of risks": lambda c: sum(_p(z) for z in c["turn"]),
    "sentiment negativity: max": lambda c: max(c["negativity"], default=0.0),
    "sentiment negativity: log(1 + positive sum) (negativity_total)": lambda c: c["total"],
    "CPED head: mean": lambda c: float(np.mean(c["head"] or [0.0])),
    "CPED head: max": lambda c: max(c["head"], default=0.0),
    "CPED head: log(1 + positive sum)": lambda c: _log_positive_sum(c["head"]),
    "CPED head: concatenated buyer text": lambda c: c["head_joined"],
    "reference (labels): share of rated turns with satisfaction 0": lambda c: float(
        np.mean([s == 0 for s in c["rated"]] or [0.0])
    ),
    "reference (labels): count of rated turns with satisfaction 0": lambda c: float(
        sum(s == 0 for s in c["rated"])
    ),
}


def model_total_weight() -> float:
    """The shipped ``outcome.negativity_total``."""
    return _default_model().outcome.weights[FEATURES.index("negativity_total")]


def aucs(y: Any, s: Any, a: Any) -> tuple[float, float, float]:
    """ROC AUC on the whole set, half A and half B."""
    return roc_auc(y, s), roc_auc(y[a], s[a]), roc_auc(y[~a], s[~a])


def choose(y: Any, base: Any, z: Any, on: Any, grid: tuple[float, ...]) -> float:
    """The grid weight with the best AUC on the rows *on* (the first of equals)."""
    return max(grid, key=lambda g: roc_auc(y[on], (base + g * z)[on]))


#: issue 18, second pass: each weight's grid, in the order the weights are chosen.
PASS2_GRIDS: dict[str, tuple[float, ...]] = {
    "outcome.gratitude_now": (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25),
    "outcome.disagreement_mean": (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0),
    "turn.chat_thanks": (-1.0, -0.75, -0.5, -0.25, -0.1),
    "turn.disagreement_mean": (0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
}
_THANKS = ("thanking", "appreciation", "agreement", "acknowledge")
#: The CPED dialogue-act classes compared for each head (the first is the shipped one).
PASS2_CLASSES: dict[str, dict[str, frozenset[str]]] = {
    "disagreement": {
        "disagreement, reject": frozenset({"disagreement", "reject"}),
        "disagreement, reject, irony": frozenset({"disagreement", "reject", "irony"}),
        "disagreement, reject, irony, command": frozenset(
            {"disagreement", "reject", "irony", "command"}
        ),
    },
    "thanks": {
        "thanks, agreement, acknowledge, closing": frozenset({*_THANKS, "conventional-closing"}),
        "thanks, agreement, acknowledge": frozenset(_THANKS),
    },
}


def _cped_heads(texts: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Each class variant's log-odds ``bias - logit(P)`` of *texts* (0 where undefined)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import train_cped_head as tool

    rows: list[dict[str, Any]] = []
    for part in ("valid", "test"):
        with gzip.open(tool.DATA / f"cped.{part}.jsonl.gz", "rt", encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh)
    lines = [r["text"] for r in rows]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for head, variants in PASS2_CLASSES.items():
        out[head] = {}
        for name, acts in variants.items():
            model = SentimentModel.train(
                lines, [0.0 if r["da"] in acts else 1.0 for r in rows], seed=0
            )
            p = np.clip(model.scores(texts), 1e-9, 1.0 - 1e-9)
            z = np.nan_to_num(model.bias - np.log(p / (1.0 - p)), nan=0.0)
            out[head][name] = dict(zip(texts, z.tolist(), strict=True))
    return out


def second_pass() -> dict[str, Any]:
    """Replay the second-pass choices of issue 18 on half A and on half B; print both."""
    data = be.load(be.JDDC)
    sentiment, politeness = default_signals()
    model = _default_model()
    policy = EscalationPolicy()
    k = {f: FEATURES.index(f) for f in ("gratitude_now", "chat_thanks", "disagreement_mean")}
    texts = sorted({m.text for c, _o, _r in data for m in c.messages if m.role is Role.BUYER})
    heads = _cped_heads(texts)
    shipped = {h: next(iter(v)) for h, v in PASS2_CLASSES.items()}
    y_d, half_d, base_d, grat = [], [], [], []
    y_t, half_t, base_t = [], [], []
    mean_d: dict[str, list[float]] = {n: [] for n in PASS2_CLASSES["disagreement"]}
    mean_t: dict[str, list[float]] = {n: [] for n in PASS2_CLASSES["disagreement"]}
    thanks_t: dict[str, list[float]] = {n: [] for n in PASS2_CLASSES["thanks"]}
    for conv, overall, rated in data:
        rows = _trace(conv, policy=policy, sentiment=sentiment, politeness=politeness).features
        final = rows[-1]
        half = be.half_of(conv) == "A"
        # the shipped heads' features, recomputed here from the texts, must be the trace's
        buyer = [i for i, m in enumerate(conv.messages) if m.role is Role.BUYER]
        dis = heads["disagreement"][shipped["disagreement"]]
        assert math.isclose(
            final[k["disagreement_mean"]],
            float(np.mean([dis[conv.messages[i].text] for i in buyer] or [0.0])),
            abs_tol=1e-6,
        )
        y_d.append(1 if overall == 0 else 0)
        half_d.append(half)
        grat.append(final[k["gratitude_now"]])
        out_w = model.outcome.weights
        base_d.append(
            model.outcome.raw(final)
            - sum(out_w[k[f]] * final[k[f]] for f in ("gratitude_now", "disagreement_mean"))
        )
        for name, h in heads["disagreement"].items():
            mean_d[name].append(float(np.mean([h[conv.messages[i].text] for i in buyer] or [0.0])))
        for i, sat in rated:
            row = rows[i]
            y_t.append(1 if sat == 0 else 0)
            half_t.append(half)
            turn_w = model.turn.weights
            base_t.append(
                model.turn.raw(row)
                - sum(turn_w[k[f]] * row[k[f]] for f in ("chat_thanks", "disagreement_mean"))
            )
            before = [j for j in buyer if j <= i]
            assert math.isclose(
                row[k["chat_thanks"]],
                heads["thanks"][shipped["thanks"]][conv.messages[i].text],
                abs_tol=1e-6,
            )
            for name, h in heads["disagreement"].items():
                mean_t[name].append(float(np.mean([h[conv.messages[j].text] for j in before])))
            for name, h in heads["thanks"].items():
                thanks_t[name].append(h[conv.messages[i].text])
    yd, ad, bd, gd = map(np.array, (y_d, half_d, base_d, grat))
    yt, at, bt = map(np.array, (y_t, half_t, base_t))
    md = {n: np.array(v) for n, v in mean_d.items()}
    mt = {n: np.array(v) for n, v in mean_t.items()}
    tt = {n: np.array(v) for n, v in thanks_t.items()}
    g1, g2, g3, g4 = PASS2_GRIDS.values()
    results: dict[str, Any] = {}
    print("\nissue 18, second pass: each choice made on one half, the other half reported")
    print(
        "| chosen on | gratitude_now (outcome) | disagreement class, outcome weight | "
        "thanks class, turn weight | disagreement_mean (turn) | dialogue all / A / B | "
        "turn all / A / B |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, on_d, on_t in (("A", ad, at), ("B", ~ad, ~at)):
        w_g = choose(yd, bd, gd, on_d, g1)
        bd1 = bd + w_g * gd
        d_name, w_d = max(
            ((n, w) for n in md for w in g2),
            key=lambda nw: roc_auc(yd[on_d], (bd1 + nw[1] * md[nw[0]])[on_d]),
        )
        t_name, w_t = max(
            ((n, w) for n in tt for w in g3),
            key=lambda nw: roc_auc(yt[on_t], (bt + nw[1] * tt[nw[0]])[on_t]),
        )
        bt1 = bt + w_t * tt[t_name]
        w_dt = choose(yt, bt1, mt[d_name], on_t, g4)
        dialogue = aucs(yd, bd1 + w_d * md[d_name], ad)
        turn = aucs(yt, bt1 + w_dt * mt[d_name], at)
        results[label] = {
            "outcome.gratitude_now": w_g,
            "disagreement class": d_name,
            "outcome.disagreement_mean": w_d,
            "thanks class": t_name,
            "turn.chat_thanks": w_t,
            "turn.disagreement_mean": w_dt,
            "dialogue": dialogue,
            "turn": turn,
        }
        print(
            f"| {label} | {w_g} | {d_name}: {w_d} | {t_name}: {w_t} | {w_dt} | "
            + " / ".join(f"{x:.4f}" for x in dialogue)
            + " | "
            + " / ".join(f"{x:.4f}" for x in turn)
            + " |"
        )
    before_d = aucs(yd, bd + gd * -0.75, ad)
    before_t = aucs(yt, bt, at)
    print(
        "before (gratitude_now -0.75, no thanks or disagreement head): dialogue "
        + " / ".join(f"{x:.4f}" for x in before_d)
        + ", turn "
        + " / ".join(f"{x:.4f}" for x in before_t)
    )
    results["before"] = {"dialogue": before_d, "turn": before_t}
    return results


def main() -> int:
    if not be.JDDC.exists():
        print(f"jddc_sat dev set not found at {be.JDDC}; this benchmark needs ../shared/data.")
        return 2
    warnings.simplefilter("ignore")
    data = chats()
    y = np.array([c["label"] for c in data])
    a = np.array([c["half"] == "A" for c in data])
    base = np.array([c["base"] for c in data])
    sd = float(base.std())
    results: dict[str, Any] = {"base": aucs(y, base, a), "candidates": {}}
    b_all, b_a, b_b = results["base"]
    print(
        f"jddc_sat dev: {len(data)} dialogues ({int(y.sum())} overall == 0); half A "
        f"{int(a.sum())} ({int(y[a].sum())}), half B {int((~a).sum())} ({int(y[~a].sum())})"
    )
    print(
        f"base: outcome head without negativity_total: all {b_all:.4f} / A {b_a:.4f} / "
        f"B {b_b:.4f}\n"
    )
    print(
        "| candidate | alone all / A / B | g chosen on A | with it: all / A / **B** "
        "| g chosen on B | with it: **A** |"
    )
    print("|---|---|---|---|---|---|")
    for name, fn in CANDIDATES.items():
        v = np.array([fn(c) for c in data], dtype=float)
        z = (v - v.mean()) / (v.std() or 1.0) * sd
        g_a, g_b = choose(y, base, z, a, GRID), choose(y, base, z, ~a, GRID)
        alone = aucs(y, v, a)
        with_a = aucs(y, base + g_a * z, a)
        with_b = aucs(y, base + g_b * z, a)
        results["candidates"][name] = {
            "alone": alone,
            "g_chosen_on_A": g_a,
            "with_g_A": with_a,
            "g_chosen_on_B": g_b,
            "with_g_B": with_b,
        }
        print(
            f"| {name} | {alone[0]:.4f} / {alone[1]:.4f} / {alone[2]:.4f} | {g_a} | "
            f"{with_a[0]:.4f} / {with_a[1]:.4f} / **{with_a[2]:.4f}** | {g_b} | "
            f"**{with_b[1]:.4f}** |"
        )
    total = np.array([c["total"] for c in data])
    print("\noutcome.negativity_total in its own units (the model.tsv grid)")
    print("| weight | all | A | B |")
    print("|---|---|---|---|")
    grid_rows = {}
    for w in (0.0, *TOTAL_GRID):
        r = aucs(y, base + w * total, a)
        grid_rows[str(w)] = r
        print(f"| {w} | {r[0]:.4f} | {r[1]:.4f} | {r[2]:.4f} |")
    w_a = choose(y, base, total, a, TOTAL_GRID)
    w_b = choose(y, base, total, ~a, TOTAL_GRID)
    shipped = model_total_weight()
    print(
        f"chosen on A: {w_a}; chosen on B: {w_b}; shipped: {shipped} (chosen on A before the "
        "second pass of issue 18 added the CPED thanks and disagreement heads; not re-chosen)"
    )
    results["negativity_total_grid"] = grid_rows
    results["negativity_total_chosen"] = {"on_A": w_a, "on_B": w_b}
    results["second_pass"] = second_pass()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
