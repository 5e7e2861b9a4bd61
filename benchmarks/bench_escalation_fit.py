"""EscalationModel.fit on JDDC satisfaction dialogues: fitted vs shipped on unseen dialogues.

Run from the repository root::

    python benchmarks/bench_escalation_fit.py

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

These weights are fitted on research data: they are measured here and never written
anywhere but a temporary folder (the dev set's terms forbid shipping them).
Writes ``benchmarks/results/escalation_fit.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from _metrics import roc_auc
from bench_escalation import JDDC, ROOT, half_of, load
from kefu_standards import Conversation, EscalationModel, SentimentModel, escalation
from kefu_standards._escalation import _clear_caches
from kefu_standards._escalation_fit import _context_grams, _own_grams

RESULTS = ROOT / "benchmarks" / "results" / "escalation_fit.json"
GOALS = {"turn": 0.80, "dialogue": 0.78, "dialogue_only_max_loss": 0.01}

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


def cold() -> None:
    """Empty the per-text caches of escalation, the sentiment model and the fit's grams.

    (The politeness analyser's own memo stays warm for both timings alike.)
    """
    _clear_caches()
    SentimentModel.default().clear_cache()
    _own_grams.cache_clear()
    _context_grams.cache_clear()


def main() -> int:
    if not JDDC.exists():
        print(f"jddc_sat dev set not found at {JDDC}; this benchmark needs ../shared/data.")
        return 2
    warnings.simplefilter("ignore")
    data = load(JDDC)
    halves = {h: [d for d in data if half_of(d[0]) == h] for h in ("A", "B")}
    escalation(data[0][0])  # load the shipped model and its signals before timing
    results: dict[str, Any] = {"dialogues": len(data), "runs": []}
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
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


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
    print("fit's own report (cross-validated on its half):")
    print(model.report.summary())


if __name__ == "__main__":
    sys.exit(main())
