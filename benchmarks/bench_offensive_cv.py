"""Benchmark: the COLD offensive model on unseen data (folds, held-out topics, mixing constants).

Run from the repository root::

    python benchmarks/bench_offensive_cv.py [--config SETTING ...]

A setting is ``shipped`` (the defaults of :func:`kefu_standards._offensive.fit`,
which are the shipped model's setting) or comma-separated overrides of them, e.g.
``l2=3e-6,nb_alpha=0``.  For each setting it reports, on
``../shared/data/cold.dev.jsonl.gz``:

- the 5-fold cross-validated ROC AUC (the folds of ``bench_politeness.py``) of the
  model alone and of ``1 - politeness score``, and the AUC on folds 0-1 against
  folds 2-4 (choose on the first, read the second);
- a harder unseen check: leave one COLD ``meta.topic`` out (race, region, gender),
  train on the other two and score it.

Then, with the shipped setting's out-of-fold log-odds, how the politeness mixing
constants ``OFFENSIVE_SCALE`` / ``OFFENSIVE_CENTER`` trade the COLD AUC against
politeness_zh (Spearman, impolite AUC) and the share of jddc agent turns labelled
impolite.  Nothing is written to the package.  About 10 minutes per setting on a
loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_politeness as bp
from _metrics import roc_auc, spearman
from kefu_standards import _politeness as pol
from kefu_standards._offensive import fit
from kefu_standards.text import normalize

MIXES = ((0.75, -2.5), (1.0, -2.5), (1.0, -1.5), (1.5, -1.5), (2.0, -1.5), (0.75, -3.5))


def marker_logits(texts: list[str], lexicon: Any) -> Any:
    """The politeness log-odds without the offensive model (NaN where undefined)."""
    out = []
    for p in pol._score_fresh(texts, lexicon, None):
        out.append(np.nan if p.score is None else float(np.log(p.score / (1 - p.score))))
    return np.array(out)


def mixed(markers: Any, logits: Any, scale: float, center: float) -> Any:
    """The politeness score as ``_politeness`` computes it, for other mixing constants."""
    return 1 / (1 + np.exp(-(markers - scale * np.maximum(0.0, logits - center))))


def _setting(cfg: str) -> dict[str, Any]:
    """Keyword overrides of ``fit``'s defaults: ``{}`` for ``shipped``."""
    if cfg == "shipped":
        return {}
    out: dict[str, Any] = {}
    for part in cfg.split(","):
        key, value = part.split("=")
        out[key] = int(value) if key in {"epochs", "min_count"} else float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--config",
        nargs="*",
        default=["shipped"],
        help="'shipped' or overrides (l2=3e-6,epochs=300)",
    )
    args = ap.parse_args(argv)
    if not (bp.DATA / "cold.dev.jsonl.gz").exists():
        print(f"COLD dev set not found in {bp.DATA}; this benchmark needs ../shared/data.")
        return 2
    rows = bp._load("cold.dev.jsonl.gz")
    texts = [r["text"] for r in rows]
    norms = [normalize(t) for t in texts]
    y = np.array([int(r["label"]) for r in rows])
    topic = np.array([r["meta"]["topic"] for r in rows])
    fold = np.random.default_rng(bp.SEED).permutation(len(texts)) % 5
    first = np.isin(fold, [0, 1])
    lexicon = pol.Lexicon.default()
    markers = marker_logits(texts, lexicon)
    ok = ~np.isnan(markers)
    shipped_oof: dict[str, Any] = {}
    print(
        "| setting | model 5-fold | politeness 5-fold | folds 0-1 / 2-4 | topic out: "
        "model / politeness | gender / race / region |"
    )
    print("|---|---|---|---|---|---|")
    for cfg in args.config:
        kw = _setting(cfg)
        oof, out_topic = np.zeros(len(texts)), np.zeros(len(texts))
        for k in range(5):
            tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            model = fit([texts[i] for i in tr], y[tr], **kw)
            oof[te] = model.logits([norms[i] for i in te])
        for g in np.unique(topic):
            tr, te = np.flatnonzero(topic != g), np.flatnonzero(topic == g)
            model = fit([texts[i] for i in tr], y[tr], **kw)
            out_topic[te] = model.logits([norms[i] for i in te])
        if not kw:
            shipped_oof = {"folds": oof, "topic": out_topic}
        s = 1 - mixed(markers, oof, pol.OFFENSIVE_SCALE, pol.OFFENSIVE_CENTER)
        st = 1 - mixed(markers, out_topic, pol.OFFENSIVE_SCALE, pol.OFFENSIVE_CENTER)
        per_topic = " / ".join(
            f"{roc_auc(y[ok & (topic == g)], st[ok & (topic == g)]):.4f}"
            for g in ("gender", "race", "region")
        )
        print(
            f"| {cfg} | {roc_auc(y, oof):.4f} | {roc_auc(y[ok], s[ok]):.4f} | "
            f"{roc_auc(y[ok & first], s[ok & first]):.4f} / "
            f"{roc_auc(y[ok & ~first], s[ok & ~first]):.4f} | {roc_auc(y, out_topic):.4f} / "
            f"{roc_auc(y[ok], st[ok]):.4f} | {per_topic} |",
            flush=True,
        )
    if not shipped_oof:
        return 0
    zh = bp._load("politeness_zh.dev.jsonl.gz")
    zh_texts = [r["text"] for r in zh]
    rating = np.array([r["meta"]["score"] for r in zh])
    rude = np.array([r["label"] == 0 for r in zh])
    default = pol._default_model()
    zh_m = marker_logits(zh_texts, lexicon)
    zh_l = np.array(default.logits([normalize(t) for t in zh_texts]))
    agent = bp._agent_turns()
    ag_m = marker_logits(agent, lexicon)
    ag_l = np.array(default.logits([normalize(t) for t in agent]))
    print("\nmixing constants, shipped setting (politeness_zh and jddc: the shipped model)")
    print(
        "| scale | center | COLD 5-fold | folds 0-1 / 2-4 | topic out | politeness_zh "
        "Spearman / impolite AUC | jddc agent turns impolite |"
    )
    print("|---|---|---|---|---|---|---|")
    for scale, center in MIXES:
        s = 1 - mixed(markers, shipped_oof["folds"], scale, center)
        st = 1 - mixed(markers, shipped_oof["topic"], scale, center)
        z = mixed(zh_m, zh_l, scale, center)
        zok = ~np.isnan(z)
        a = mixed(ag_m, ag_l, scale, center)
        a = a[~np.isnan(a)]
        impolite = float(np.mean([pol._label(float(v)) == "impolite" for v in a]))
        print(
            f"| {scale} | {center} | {roc_auc(y[ok], s[ok]):.4f} | "
            f"{roc_auc(y[ok & first], s[ok & first]):.4f} / "
            f"{roc_auc(y[ok & ~first], s[ok & ~first]):.4f} | {roc_auc(y[ok], st[ok]):.4f} | "
            f"{spearman(z[zok], rating[zok]):.4f} / {roc_auc(rude[zok], 1 - z[zok]):.4f} | "
            f"{impolite:.2%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
