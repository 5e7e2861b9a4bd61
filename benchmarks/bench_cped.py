"""Benchmark: does a CPED-trained chat-negativity head help buyer sentiment and escalation?

Run from the repository root::

    python benchmarks/bench_cped.py [--recipe]

CPED (scutcyr/CPED, Apache-2.0; Chen et al. 2022) is spoken Chinese TV dialogue with
a sentiment label per utterance; its licence allows training shipped weights.  This
benchmark trains a *head* on it (:meth:`SentimentModel.train`, the packaged features,
seed 0; target 0 for a ``negative`` line, 1 otherwise) and measures three ways of
using it on jddc_sat dev, each chosen on one half of the dialogues and reported on
the other (half A: even dialogue id, half B: odd, as ``bench_escalation.py``):

1. **sentiment blend**: the shipped model's weights plus ``lam`` times the head's
   (one linear model, so it could ship as ``model.npz``): jddc turn AUC, AUC on 6+
   characters, online_shopping accuracy, and the escalation AUCs it gives;
2. **escalation, direct**: the escalation log-odds plus ``lam`` times the head's
   negativity (``bias - logit``) of the rated buyer message (turn head) or its mean
   over the buyer messages (dialogue head).  This route is shipped as the escalation
   feature ``chat_negativity`` (turn weight 1.0, chosen here on half A; head trained by
   ``tools/train_cped_head.py``): the turn rows start from the shipped turn head
   *without* that term, so ``lam`` is the weight it would have; the blend rows (1)
   include the shipped term.  Nothing here changes the package;
3. with ``--recipe``: CPED lines added to the packaged training recipe
   (:meth:`SentimentModel.train_default`, seed 0 only; slow, about 2 minutes a row).

Nothing is written to the package.  Results go to ``benchmarks/results/cped.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import attrs
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import bench_escalation as be
import bench_sentiment as bs
from _metrics import roc_auc
from kefu_standards._escalation import FEATURES, EscalationPolicy
from kefu_standards._escalation_model import _default_model, default_signals
from kefu_standards._escalation_walk import _trace
from kefu_standards._sentiment import SentimentModel
from kefu_standards.model import Role
from kefu_standards.text import normalize

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "cped.json"
BLEND = (0.0, 0.1, 0.2, 0.3, 0.6, 1.0)
DIRECT = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
RECIPE = (0.0, 0.3, 1.0, 3.0)


def cped() -> tuple[list[str], list[float], list[float]]:
    """CPED valid + test utterances: texts, negative-vs-rest targets, 3-way targets."""
    texts, neg, three = [], [], []
    for part in ("valid", "test"):
        with gzip.open(DATA / f"cped.{part}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                texts.append(r["text"])
                neg.append(0.0 if r["sentiment"] == "negative" else 1.0)
                three.append({"negative": 0.0, "neutral": 0.5, "positive": 1.0}[r["sentiment"]])
    return texts, neg, three


def logit(p: Any) -> Any:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


def pick(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Choose on A and report on B, and the other way round, by the AUC column *key*."""
    base = rows[0]
    on_a = max(rows, key=lambda r: r[f"{key}_A"])
    on_b = max(rows, key=lambda r: r[f"{key}_B"])
    return {
        "chosen_on_A": on_a["lam"],
        "B_before": base[f"{key}_B"],
        "B_after": on_a[f"{key}_B"],
        "chosen_on_B": on_b["lam"],
        "A_before": base[f"{key}_A"],
        "A_after": on_b[f"{key}_A"],
    }


def _model_sentiment(model: SentimentModel) -> Any:
    """*model* as escalation's ``sentiment=`` (P(positive), ``None`` where undefined)."""

    def fn(text: str) -> float | None:
        x = float(model.scores([text])[0])
        return None if math.isnan(x) else x

    return fn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--recipe", action="store_true", help="also retrain the recipe with CPED")
    args = ap.parse_args(argv)
    if not (DATA / "cped.valid.jsonl.gz").exists() or not be.JDDC.exists():
        print(f"CPED / jddc_sat dev sets not found in {DATA}; this benchmark needs ../shared/data.")
        return 2
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    ct, cneg, c3 = cped()
    head = SentimentModel.train(ct, cneg, seed=0)
    train_s = time.perf_counter() - t0
    data = be.load(be.JDDC)
    half_a = np.array([be.half_of(c) == "A" for c, _o, _r in data])
    turn_a = np.array([h for (_c, _o, rated), h in zip(data, half_a, strict=True) for _ in rated])
    rated_text = [c.messages[i].text for c, _o, rated in data for i, _s in rated]
    rated_y = np.array([s == 0 for _c, _o, rated in data for _i, s in rated])
    long_ = np.array([len(normalize(t).replace(" ", "")) >= 6 for t in rated_text])
    shop_t, shop_y = bs.shopping()
    shipped = SentimentModel.default()
    chat_texts = list(
        dict.fromkeys(
            m.text for c, _o, _r in data for m in c.messages if m.role in (Role.BUYER, Role.AGENT)
        )
    )
    _sf, politeness_fn = default_signals()
    policy = EscalationPolicy()
    esc = _default_model()

    def halves(y: Any, s: Any, a: Any) -> tuple[float, float, float]:
        return roc_auc(y, s), roc_auc(y[a], s[a]), roc_auc(y[~a], s[~a])

    def escalation_aucs(sentiment: Any) -> dict[str, float]:
        traces = [
            _trace(c, policy=policy, sentiment=sentiment, politeness=politeness_fn)
            for c, _o, _r in data
        ]
        d_s, d_y, t_s, t_y = be.evaluate(esc, traces, data)
        d = halves(np.array(d_y), np.array(d_s), half_a)
        t = halves(np.array(t_y), np.array(t_s), turn_a)
        keys = ("esc_dialogue", "esc_dialogue_A", "esc_dialogue_B")
        out = dict(zip(keys, d, strict=True))
        out.update(zip(("esc_turn", "esc_turn_A", "esc_turn_B"), t, strict=True))
        return out

    def sentiment_row(model: SentimentModel, lam: float, escal: bool = True) -> dict[str, Any]:
        model.clear_cache()
        neg = -np.nan_to_num(model.scores(rated_text), nan=0.5)
        a, aa, ab = halves(rated_y, neg, turn_a)
        la, lb = (
            roc_auc(rated_y[long_ & turn_a], neg[long_ & turn_a]),
            roc_auc(rated_y[long_ & ~turn_a], neg[long_ & ~turn_a]),
        )
        acc = float(np.mean((model.scores(shop_t) > 0.5) == (shop_y == 1)))
        row = {"lam": lam, "sent": a, "sent_A": aa, "sent_B": ab, "sent6_A": la, "sent6_B": lb}
        row["shopping_acc"] = acc
        if escal:
            model.scores(chat_texts)  # one batch into the model's own cache, then per text
            row.update(escalation_aucs(_model_sentiment(model)))
        return row

    res: dict[str, Any] = {"cped_lines": len(ct), "head_train_seconds": train_s}
    print(f"CPED head: {len(ct)} lines, trained in {train_s:.1f} s (seed 0)")
    alone = -(logit(head.scores(rated_text)) - head.bias)
    res["head_alone_turn"] = halves(rated_y, alone, turn_a)

    # 1. sentiment blend: shipped weights + lam * head weights (one linear model)
    blend = []
    for lam in BLEND:
        w = shipped.weights.astype(np.float64) + lam * head.weights.astype(np.float64)
        blend.append(sentiment_row(attrs.evolve(shipped, weights=w.astype(np.float32)), lam))
    res["blend"] = blend
    feasible = [r for r in blend if r["shopping_acc"] >= 0.91]
    res["blend_pick"] = {
        k: pick(feasible, k) for k in ("sent", "sent6", "esc_turn", "esc_dialogue")
    }

    # 2. escalation direct: log-odds + lam * head negativity
    traces = [
        _trace(c, policy=policy, sentiment=_sf, politeness=politeness_fn) for c, _o, _r in data
    ]
    d_raw, d_y, d_f, t_raw, t_y, t_f = [], [], [], [], [], []
    k_chat = FEATURES.index("chat_negativity")
    w_chat = esc.turn.weights[k_chat]
    for tr, (conv, overall, rated) in zip(traces, data, strict=True):
        buyer = [i for i, m in enumerate(conv.messages) if m.role is Role.BUYER]
        sc = head.scores([conv.messages[i].text for i in buyer]) if buyer else np.zeros(0)
        pairs = zip(buyer, sc, strict=True)
        neg_of = {i: 0.0 if np.isnan(v) else head.bias - logit(v) for i, v in pairs}
        d_raw.append(esc.outcome.raw(tr.features[-1]))
        d_y.append(overall == 0)
        d_f.append(float(np.mean(list(neg_of.values()))) if neg_of else 0.0)
        for i, sat in rated:
            # the shipped turn head without its chat_negativity term (that term is this head)
            t_raw.append(esc.turn.raw(tr.features[i]) - w_chat * tr.features[i][k_chat])
            t_y.append(sat == 0)
            t_f.append(neg_of.get(i, 0.0))
    direct = []
    for lam in DIRECT:
        row: dict[str, Any] = {"lam": lam}
        d = halves(np.array(d_y), np.array(d_raw) + lam * np.array(d_f), half_a)
        t = halves(np.array(t_y), np.array(t_raw) + lam * np.array(t_f), turn_a)
        row.update(zip(("esc_dialogue", "esc_dialogue_A", "esc_dialogue_B"), d, strict=True))
        row.update(zip(("esc_turn", "esc_turn_A", "esc_turn_B"), t, strict=True))
        direct.append(row)
    res["direct"] = direct
    res["direct_pick"] = {k: pick(direct, k) for k in ("esc_turn", "esc_dialogue")}

    # 3. CPED lines in the packaged recipe (3-way targets), seed 0
    if args.recipe:
        import train_sentiment as ts

        recipe = []
        for w8 in RECIPE:
            if w8 == 0:
                model = ts.build(seeds=(0,))
            else:
                model = SentimentModel.train_default(
                    ct, c3, sample_weight=[w8] * len(ct), seeds=(0,), **ts.HYPER
                )
            recipe.append(sentiment_row(model, w8, escal=False))
        res["recipe"] = recipe
        res["recipe_pick"] = pick([r for r in recipe if r["shopping_acc"] >= 0.91], "sent")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1, default=float) + "\n", encoding="utf-8")
    report(res)
    return 0


def report(res: dict[str, Any]) -> None:
    a = res["head_alone_turn"]
    print(f"head alone, jddc turn AUC {a[0]:.4f} (A {a[1]:.4f} / B {a[2]:.4f})\n")
    print("1. sentiment blend: shipped weights + lam * CPED head weights")
    print(
        "| lam | sentiment turn AUC A / B | 6+ A / B | shopping acc | escalation turn A / B "
        "| escalation dialogue A / B |"
    )
    print("|---|---|---|---|---|---|")
    for r in res["blend"]:
        print(
            f"| {r['lam']} | {r['sent_A']:.4f} / {r['sent_B']:.4f} | {r['sent6_A']:.4f} / "
            f"{r['sent6_B']:.4f} | {r['shopping_acc']:.4f} | {r['esc_turn_A']:.4f} / "
            f"{r['esc_turn_B']:.4f} | {r['esc_dialogue_A']:.4f} / {r['esc_dialogue_B']:.4f} |"
        )
    print("\n2. escalation log-odds (turn: without chat_negativity) + lam * CPED head negativity")
    print("| lam | escalation turn all / A / B | escalation dialogue all / A / B |")
    print("|---|---|---|")
    for r in res["direct"]:
        print(
            f"| {r['lam']} | {r['esc_turn']:.4f} / {r['esc_turn_A']:.4f} / {r['esc_turn_B']:.4f} "
            f"| {r['esc_dialogue']:.4f} / {r['esc_dialogue_A']:.4f} / {r['esc_dialogue_B']:.4f} |"
        )
    if "recipe" in res:
        print("\n3. CPED lines (3-way targets) in the training recipe, seed 0, by sample weight")
        print("| weight | sentiment turn AUC all / A / B | 6+ A / B | shopping acc |")
        print("|---|---|---|---|")
        for r in res["recipe"]:
            print(
                f"| {r['lam']} | {r['sent']:.4f} / {r['sent_A']:.4f} / {r['sent_B']:.4f} | "
                f"{r['sent6_A']:.4f} / {r['sent6_B']:.4f} | {r['shopping_acc']:.4f} |"
            )
    print("\nsplit-half choices (blend: only rows with shopping accuracy >= 0.91)")
    picks = [(f"blend {k}", v) for k, v in res["blend_pick"].items()]
    picks += [(f"direct {k}", v) for k, v in res["direct_pick"].items()]
    if "recipe_pick" in res:
        picks.append(("recipe sent", res["recipe_pick"]))
    for name, p in picks:
        print(
            f"{name}: chosen on A lam={p['chosen_on_A']} -> B {p['B_before']:.4f} -> "
            f"{p['B_after']:.4f}; chosen on B lam={p['chosen_on_B']} -> A {p['A_before']:.4f} "
            f"-> {p['A_after']:.4f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
