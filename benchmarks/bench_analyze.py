"""Benchmark the full analysis (:func:`kefu_standards.analyze`) on a large synthetic stream.

The corpus re-samples jddc_sat dev dialogues (real JD.com chats, no timestamps)
with seeded, realistic timing: 4 shops x 3 agents, 7 days from 2024-05-06
(Asia/Shanghai), conversations opening between 08:00 and 23:00, log-normal
waits (agent reply after a buyer turn: median 25 s; buyer's next turn: median
40 s; a follow-up by the same side: median 6 s), and 10 % of conversations
handed to a second agent of the same shop half-way.  The stream is generated
on the fly (never materialised), so memory measures the analysis.

Each configuration runs in its own subprocess (peak RSS from
``resource.getrusage``, children included for ``workers=2``):

- ``generate``: the input stream alone (messages/s of the generator);
- ``analyze`` with ``workers=1`` and ``workers=2`` on the same stream;
- ``unique``: ``analyze`` (``workers=1``) on each jddc_sat dialogue once: no
  text repeats, so the library's per-text caches cannot help (the re-sampled
  corpus repeats each text about 100 times, which flatters cached paths);
- ``topics``: what the topics add to ``analyze`` (:func:`kefu_standards.topics`
  and the topic rollups with the question counts), timed block by block right
  before ``analyze`` of the same block in one process, and reported as a share of
  the analysis without them (that analysis' time minus the topics' time);
- ``snownlp``: SnowNLP sentiment alone, ``SnowNLP(text).sentiments`` on the
  buyer messages of the first conversations of the same stream (the baseline;
  the goal is full analysis >= 30x its messages/s).

Usage (from the repo root)::

    python benchmarks/bench_analyze.py                    # default --messages 200000
    python benchmarks/bench_analyze.py --messages 1000000

Writes ``benchmarks/results/analyze.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCE = DATA / "jddc_sat.dev.jsonl.gz"
RESULTS = HERE / "results" / "analyze.json"

TZ = timezone(timedelta(hours=8))
START_DAY = datetime(2024, 5, 6, tzinfo=TZ)
DAYS = 7
SHOPS = ("京选数码旗舰店", "青禾家电专营店", "暖屿家纺旗舰店", "好味坊食品旗舰店")
AGENTS_PER_SHOP = 3
HANDOFF_RATE = 0.10
#: (median seconds, sigma) of the log-normal gaps: buyer->agent, agent->buyer, same side.
AGENT_WAIT = (25.0, 1.0)
BUYER_WAIT = (40.0, 1.1)
SAME_SIDE = (6.0, 0.8)
SNOWNLP_SAMPLE_CONVERSATIONS = 300


def _dialogues() -> list[list[tuple[str, str]]]:
    """The (role, text) turns of each jddc_sat dev dialogue."""
    out = []
    with gzip.open(SOURCE, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            turns = [(t["role"], t["text"]) for t in rec["turns"] if t.get("text")]
            if turns:
                out.append(turns)
    return out


def _gap(rng: random.Random, median_sigma: tuple[float, float]) -> float:
    median, sigma = median_sigma
    return rng.lognormvariate(math.log(median), sigma)


def stream(n_messages: int, seed: int = 20240506, *, unique: bool = False) -> Iterator[Any]:
    """Yield Conversations until *n_messages* messages were produced (seeded, lazy).

    With *unique*, each dialogue is used at most once (so no text repeats and the
    library's per-text caches stay cold); the stream then ends after 462 dialogues.
    """
    from kefu_standards.model import Conversation, Message, Role

    dialogues = _dialogues()
    rng = random.Random(seed)
    order = list(range(len(dialogues)))
    rng.shuffle(order)
    roles = {"buyer": Role.BUYER, "agent": Role.AGENT}
    produced = seq = 0
    while produced < n_messages and not (unique and seq >= len(order)):
        pick = order[seq] if unique else rng.randrange(len(dialogues))
        turns = dialogues[pick][: n_messages - produced]
        shop_i = rng.randrange(len(SHOPS))
        shop = SHOPS[shop_i]
        agents = [f"{shop}:客服{shop_i * AGENTS_PER_SHOP + k + 1:02d}" for k in range(3)]
        first = rng.choice(agents)
        second = rng.choice([a for a in agents if a != first])
        handoff_at = len(turns) // 2 if rng.random() < HANDOFF_RATE else len(turns)
        buyer = f"jd_买家{rng.randrange(1_000_000):06d}"
        t = START_DAY + timedelta(
            days=rng.randrange(DAYS), seconds=rng.uniform(8 * 3600, 23 * 3600)
        )
        messages = []
        prev = None
        for i, (role, text) in enumerate(turns):
            if prev is not None:
                spec = (
                    SAME_SIDE if role == prev else (AGENT_WAIT if role == "agent" else BUYER_WAIT)
                )
                t += timedelta(seconds=round(_gap(rng, spec), 3))
            sender = buyer if role == "buyer" else (first if i < handoff_at else second)
            messages.append(Message(roles[role], text, t, sender))
            prev = role
        seq += 1
        produced += len(messages)
        yield Conversation(id=f"c{seq:07d}", messages=tuple(messages), shop=shop)


def _peak_rss_mb(children: bool) -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if children:
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return peak / 1024.0  # Linux reports KiB


def _child(args: argparse.Namespace) -> dict[str, Any]:
    """Run one configuration in this (fresh) process and return its measurements."""
    if args.run == "generate":
        t0 = time.perf_counter()
        n = sum(len(c) for c in stream(args.messages))
        elapsed = time.perf_counter() - t0
        return {"messages": n, "seconds": elapsed, "peak_rss_mb": _peak_rss_mb(False)}
    if args.run == "snownlp":
        from snownlp import SnowNLP

        from kefu_standards.model import Role

        texts = []
        for i, conv in enumerate(stream(args.messages)):
            if i >= SNOWNLP_SAMPLE_CONVERSATIONS:
                break
            texts.extend(m.text for m in conv if m.role is Role.BUYER)
        SnowNLP("预热").sentiments  # noqa: B018 - load the model outside the timing
        t0 = time.perf_counter()
        for text in texts:
            SnowNLP(text).sentiments  # noqa: B018
        elapsed = time.perf_counter() - t0
        return {"messages": len(texts), "seconds": elapsed, "peak_rss_mb": _peak_rss_mb(False)}
    if args.run == "topics":
        from itertools import islice
        from types import SimpleNamespace

        from kefu_standards import topics
        from kefu_standards._topic_kpis import _TopicAcc
        from kefu_standards.analysis import analyze as analyze_all

        # What analyze() adds per conversation (its topics, the topic rollups with the
        # question counts; the rollup's inputs stubbed with fixed values), timed block by
        # block right before analyze() of the same block, in this one process: the
        # topic caches are cold for the first and warm for the second, so the second is
        # close to the analysis without topics, and load on the machine hits both alike.
        stub = SimpleNamespace(
            first_response_s=20.0, mean_response_s=25.0, rounds=3, answered=3,
            escalation_level="low", agent_messages_scored=2, impolite_messages=0,
            agents=("a",), started_at=None,
        )  # fmt: skip
        analyze_all(stream(200, seed=1))
        kpis = _TopicAcc()  # the accumulator analyze() uses
        source = stream(args.messages)
        topic_s = analyze_s = 0.0
        n = 0
        while block := list(islice(source, 500)):
            t0 = time.perf_counter()
            for conv in block:
                top = topics(conv).topics
                kpis.add(stub, top[0].label if top else None, None, conv)
            topic_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            analyze_all(block)
            analyze_s += time.perf_counter() - t0
            n += sum(len(c) for c in block)
        return {
            "messages": n,
            "seconds": topic_s,
            "analyze_seconds_same_blocks": analyze_s,
            "peak_rss_mb": _peak_rss_mb(False),
        }
    from kefu_standards.analysis import analyze

    # warm the lazy models/lexicons on a few conversations, outside the timing
    analyze(stream(200, seed=1))
    t0 = time.perf_counter()
    source = stream(args.messages, unique=args.run == "unique")
    result = analyze(source, workers=args.workers, chunk_size=args.chunk_size)
    elapsed = time.perf_counter() - t0
    return {
        "messages": result.messages,
        "conversations": result.conversations,
        "agents": len(result.agents),
        "seconds": elapsed,
        "peak_rss_mb": _peak_rss_mb(args.workers > 1),
    }


def _spawn(run: str, args: argparse.Namespace, workers: int = 1) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        run,
        "--messages",
        str(args.messages),
        "--workers",
        str(workers),
        "--chunk-size",
        str(args.chunk_size),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    rec: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    rec["messages_per_s"] = rec["messages"] / rec["seconds"]
    return rec


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--child``, one configuration of it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="corpus size (messages)")
    parser.add_argument("--chunk-size", type=int, default=64, help="analyze(chunk_size=)")
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument(
        "--child",
        dest="run",
        choices=("generate", "analyze", "unique", "snownlp", "topics"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if not SOURCE.exists():
        print(f"bench_analyze: {SOURCE} not found (needs the shared dev data)", file=sys.stderr)
        return 2
    if args.run:
        print(json.dumps(_child(args)))
        return 0

    gen = _spawn("generate", args)
    snow = _spawn("snownlp", args)
    one = _spawn("analyze", args, workers=1)
    two = _spawn("analyze", args, workers=2)
    cold = _spawn("unique", args)
    top = _spawn("topics", args)
    # what the topics cost, against the analysis of the same blocks in the same process
    topic_cost = top["seconds"] / (top["analyze_seconds_same_blocks"] - top["seconds"])
    cold_ratio = cold["messages_per_s"] / snow["messages_per_s"]
    ratio = one["messages_per_s"] / snow["messages_per_s"]
    speedup = two["messages_per_s"] / one["messages_per_s"]
    rows = [
        ("input stream alone", gen),
        ("SnowNLP sentiment alone (baseline)", snow),
        ("full analyze, workers=1", one),
        ("full analyze, workers=2", two),
        ("full analyze, each dialogue once (cold)", cold),
        ("topics + topic rollups alone (part of analyze)", top),
    ]
    print(
        f"corpus: {one['messages']:,} messages, {one['conversations']:,} conversations "
        f"from jddc_sat dev; {platform.python_version()}, {platform.machine()}"
    )
    print(f"{'configuration':<42}{'messages':>10}{'seconds':>10}{'msg/s':>11}{'peak RSS MB':>13}")
    for name, r in rows:
        print(
            f"{name:<42}{r['messages']:>10,}{r['seconds']:>10.2f}"
            f"{r['messages_per_s']:>11,.0f}{r['peak_rss_mb']:>13.1f}"
        )
    print(
        f"full analysis vs SnowNLP alone: {ratio:.1f}x (goal >= 30x) "
        f"{'MET' if ratio >= 30 else 'MISSED'}"
    )
    print(f"speed-up with 2 workers: {speedup:.2f}x")
    print(f"full analysis vs SnowNLP, no repeated text (cold caches): {cold_ratio:.1f}x")
    print(
        f"topics add {topic_cost * 100:.1f} % to the analysis without them (goal <= 10 %) "
        f"{'MET' if topic_cost <= 0.10 else 'MISSED'}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "messages_requested": args.messages,
                "chunk_size": args.chunk_size,
                "generate": gen,
                "snownlp": snow,
                "analyze_workers_1": one,
                "analyze_workers_2": two,
                "analyze_unique_texts": cold,
                "ratio_vs_snownlp": ratio,
                "ratio_vs_snownlp_unique_texts": cold_ratio,
                "speedup_2_workers": speedup,
                "topics": top,
                "topics_cost_vs_analysis_without": topic_cost,
                "python": platform.python_version(),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
