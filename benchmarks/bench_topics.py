"""Benchmark: consultation topics on jddc_sat dev, and their speed against SnowNLP.

Run from the repository root::

    python benchmarks/bench_topics.py [--snownlp-sample 2000] [--skip-model]

Reads ``../shared/data/jddc_sat.dev.jsonl.gz`` and ``jddc_topics.tsv`` (exits with
a message when absent).  The turns measured are the buyer turns whose ``action``
(JDDC intent) maps to a topic in ``jddc_topics.tsv``; the dialogues are split in
two halves by the parity of the number in their id (even: the half the cue
lexicon was tuned on; odd: the other half).  Reports:

- default lexicon, no training: turn accuracy of ``ks.topic(text)`` alone and of
  the in-context topic of ``ks.topics(conversation)`` (no topic counts as wrong;
  the share of turns ``ks.topic`` leaves without a topic is printed too),
  and the share of dialogues whose top topic equals the topic of their most
  frequent mapped intent; per half, and per-topic precision / recall;
- the same with cue matches kept only when they line up with jieba word
  boundaries (the measured case for and against segmenting first);
- ``TopicModel.train`` on one half, scored on the other (both ways): macro-F1,
  accuracy, and the cross-validated macro-F1 reported at training;
- ``frequent_questions`` on all of dev: purity of the 20 largest groups against
  the fine JDDC intents;
- speed: ``ks.topic`` per call on distinct buyer texts vs SnowNLP sentiment per
  call, in the same run, interleaved block by block.

Results also go to ``benchmarks/results/topics.json`` (git-ignored).  Nothing
trained here is saved.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "topics.json"
sys.path.insert(0, str(ROOT / "src"))

import kefu_standards as ks  # noqa: E402
from kefu_standards._topic_model import macro_f1  # noqa: E402


def load() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Return the dev dialogues and the intent -> topic map."""
    mapping: dict[str, str] = {}
    for line in (DATA / "jddc_topics.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        action, topic, _name = line.split("\t")
        mapping[action] = topic
    with gzip.open(DATA / "jddc_sat.dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        dialogues = [json.loads(line) for line in fh]
    return dialogues, mapping


def half(dialogue: dict[str, Any]) -> str:
    """``"even"`` or ``"odd"``: the parity of the number at the end of the dialogue id."""
    return "even" if int(dialogue["id"].rsplit("-", 1)[1]) % 2 == 0 else "odd"


def conversation(dialogue: dict[str, Any]) -> ks.Conversation:
    records = [{"role": t["role"], "text": t["text"]} for t in dialogue["turns"]]
    return ks.Conversation.from_records(records, id=dialogue["id"])


def majority(golds: list[str]) -> str:
    """The most frequent topic; ties go to the one seen first."""
    counts = Counter(golds)
    return max(counts, key=lambda k: (counts[k], -golds.index(k)))


def jieba_aligned(text: str, result: ks.Topic) -> str | None:
    """Re-vote *result*'s cues, keeping only those that start and end on jieba word boundaries."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    bounds = {0}
    for _word, _start, end in jieba.tokenize(ks_normalize(text)):
        bounds.add(end)
    scores: Counter[str] = Counter()
    for ev in result.evidence:
        if ev.kind == "topic_cue" and ev.start in bounds and ev.end in bounds:
            scores[ev.rule] += ev.weight
    if not scores:
        return None
    best, score = scores.most_common(1)[0]
    return best if score >= 1.0 else None


def ks_normalize(text: str) -> str:
    from kefu_standards.text import normalize

    return normalize(text)


def lexicon_figures(dialogues: list[dict[str, Any]], mapping: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    per_topic: dict[str, Counter[str]] = {}
    for part in ("even", "odd", "all"):
        n = iso = ctx = seg = none = 0
        conv_n = conv_ok = 0
        for d in dialogues:
            if part != "all" and half(d) != part:
                continue
            result = ks.topics(conversation(d))
            golds = []
            for i, turn in enumerate(d["turns"]):
                if turn["role"] != "buyer" or turn["action"] not in mapping:
                    continue
                gold = mapping[turn["action"]]
                golds.append(gold)
                single = ks.topic(turn["text"])
                in_context = result.per_message[i]
                label = in_context.label if in_context is not None else None
                n += 1
                iso += single.label == gold
                none += single.label is None
                ctx += label == gold
                seg += jieba_aligned(turn["text"], single) == gold
                if part == "all":
                    per_topic.setdefault(gold, Counter())["support"] += 1
                    if label == gold:
                        per_topic[gold]["tp"] += 1
                    elif label is not None:
                        per_topic.setdefault(label, Counter())["fp"] += 1
            if golds:
                conv_n += 1
                conv_ok += result.label == majority(golds)
        out[part] = {
            "turns": n,
            "turn_accuracy_single": iso / n,
            "no_topic_rate_single": none / n,
            "turn_accuracy_in_context": ctx / n,
            "turn_accuracy_single_jieba_aligned": seg / n,
            "dialogues": conv_n,
            "top_topic_accuracy": conv_ok / conv_n,
        }
    table = {}
    for topic_id, c in sorted(per_topic.items(), key=lambda kv: -kv[1]["support"]):
        predicted = c["tp"] + c["fp"]
        table[topic_id] = {
            "support": c["support"],
            "precision": c["tp"] / predicted if predicted else None,
            "recall": c["tp"] / c["support"] if c["support"] else None,
        }
    out["per_topic_in_context"] = table
    return out


def model_figures(dialogues: list[dict[str, Any]], mapping: dict[str, str]) -> dict[str, Any]:
    rows: dict[str, list[tuple[str, str]]] = {"even": [], "odd": []}
    for d in dialogues:
        for turn in d["turns"]:
            if turn["role"] == "buyer" and turn["action"] in mapping:
                rows[half(d)].append((turn["text"], mapping[turn["action"]]))
    out = {}
    for train_half, test_half in (("even", "odd"), ("odd", "even")):
        train = rows[train_half]
        test = rows[test_half]
        start = time.perf_counter()
        model = ks.TopicModel.train([t for t, _ in train], [y for _, y in train])
        seconds = time.perf_counter() - start
        predicted = [ks.topic(t, model=model).label for t, _ in test]
        truth = [y for _, y in test]
        out[f"train_{train_half}_test_{test_half}"] = {
            "train_texts": len(train),
            "test_texts": len(test),
            "cv_macro_f1_at_training": model.cv_macro_f1,
            "heldout_macro_f1": macro_f1(truth, predicted),
            "heldout_accuracy": sum(p == y for p, y in zip(predicted, truth, strict=True))
            / len(truth),
            "train_seconds_incl_5_fold_cv": seconds,
        }
    return out


def faq_figures(dialogues: list[dict[str, Any]]) -> dict[str, Any]:
    intents = {}
    convs = []
    for d in dialogues:
        convs.append(conversation(d))
        for i, turn in enumerate(d["turns"]):
            intents[d["id"], i] = turn["action"]
    groups = ks.frequent_questions(convs, top=20)
    members = pure = members_x = pure_x = 0
    listing = []
    for g in groups:
        labels = [intents[ref] for ref in g.message_refs]
        counts = Counter(labels)
        members += len(labels)
        pure += counts.most_common(1)[0][1]
        named = [lab for lab in labels if lab != "OTHER"]
        if named:
            members_x += len(named)
            pure_x += Counter(named).most_common(1)[0][1]
        listing.append((g.count, g.key, g.topic, counts.most_common(1)[0][0]))
    return {
        "groups": len(groups),
        "messages_in_groups": members,
        "purity_top20": pure / members,
        "purity_top20_without_OTHER": pure_x / members_x if members_x else None,
        "groups_listing": listing,
    }


def speed_figures(dialogues: list[dict[str, Any]], sample: int) -> dict[str, Any]:
    """Per-call time of ks.topic and SnowNLP, interleaved block by block.

    The distinct buyer texts are cut into blocks; each block is scored by
    ``ks.topic`` (every text new to its cache), then part of it by SnowNLP, so
    load on the shared machine weighs on both alike.
    """
    from snownlp import SnowNLP

    texts = list(
        dict.fromkeys(t["text"] for d in dialogues for t in d["turns"] if t["role"] == "buyer")
    )
    ks.topic("预热")  # load the lexicon outside the timing
    SnowNLP("预热").sentiments  # noqa: B018 - load the model outside the timing
    block = 250
    per_block = max(1, sample * block // len(texts))
    ours_s = snow_s = 0.0
    ours_n = snow_n = 0
    for start in range(0, len(texts), block):
        part = texts[start : start + block]
        t0 = time.perf_counter()
        for text in part:
            ks.topic(text)
        ours_s += time.perf_counter() - t0
        ours_n += len(part)
        t0 = time.perf_counter()
        for text in part[:per_block]:
            SnowNLP(text).sentiments  # noqa: B018
        snow_s += time.perf_counter() - t0
        snow_n += len(part[:per_block])
    ours, snow = ours_s / ours_n, snow_s / snow_n
    return {
        "distinct_texts": ours_n,
        "snownlp_texts": snow_n,
        "topic_us_per_call": ours * 1e6,
        "snownlp_us_per_call": snow * 1e6,
        "ratio_snownlp_over_topic": snow / ours,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snownlp-sample", type=int, default=2000)
    parser.add_argument("--skip-model", action="store_true")
    args = parser.parse_args()
    if not (DATA / "jddc_sat.dev.jsonl.gz").exists():
        print(f"skipped: {DATA} is absent (the jddc_sat dev set is needed)")
        return
    dialogues, mapping = load()
    # speed first, on cold caches (every text is new to ks.topic)
    results: dict[str, Any] = {"speed": speed_figures(dialogues, args.snownlp_sample)}
    results["lexicon"] = lexicon_figures(dialogues, mapping)
    if not args.skip_model:
        results["model"] = model_figures(dialogues, mapping)
    results["frequent_questions"] = faq_figures(dialogues)
    report(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


def report(results: dict[str, Any]) -> None:
    lex = results["lexicon"]
    print("default lexicon, no training (targets: turn >= 0.55, top topic >= 0.72)")
    for part in ("even", "odd", "all"):
        r = lex[part]
        tuned = {"even": " (tuned on)", "odd": " (held out)", "all": ""}[part]
        print(
            f"  {part:4}{tuned:12} turns {r['turns']:5}  single {r['turn_accuracy_single']:.3f}"
            f" (no topic {r['no_topic_rate_single']:.3f})"
            f"  in context {r['turn_accuracy_in_context']:.3f}"
            f"  single, jieba-aligned cues {r['turn_accuracy_single_jieba_aligned']:.3f}"
            f"  | dialogues {r['dialogues']:4}  top topic {r['top_topic_accuracy']:.3f}"
        )
    print("  per topic (in context, all dev):  support  precision  recall")
    for topic_id, r in lex["per_topic_in_context"].items():
        p = "n/a" if r["precision"] is None else f"{r['precision']:.3f}"
        print(f"    {topic_id:18} {r['support']:6}  {p:>9}  {r['recall']:.3f}")
    for name, r in results.get("model", {}).items():
        print(
            f"TopicModel {name}: held-out macro-F1 {r['heldout_macro_f1']:.3f} (target >= 0.65), "
            f"accuracy {r['heldout_accuracy']:.3f}, CV macro-F1 at training "
            f"{r['cv_macro_f1_at_training']:.3f}, {r['train_texts']} texts, "
            f"{r['train_seconds_incl_5_fold_cv']:.1f} s with 5-fold CV"
        )
    fq = results["frequent_questions"]
    print(
        f"frequent_questions: {fq['groups']} largest groups, {fq['messages_in_groups']} messages, "
        f"purity vs fine intents {fq['purity_top20']:.3f} "
        f"({fq['purity_top20_without_OTHER']:.3f} without OTHER)"
    )
    sp = results["speed"]
    print(
        f"speed: ks.topic {sp['topic_us_per_call']:.1f} us/call on {sp['distinct_texts']} distinct "
        f"texts; SnowNLP sentiment {sp['snownlp_us_per_call']:.0f} us/call; "
        f"ratio {sp['ratio_snownlp_over_topic']:.0f}x (target >= 100x)"
    )


if __name__ == "__main__":
    main()
