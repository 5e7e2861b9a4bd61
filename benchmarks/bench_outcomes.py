"""Outcome-join benchmark: throughput against a plain pass over the chats, and memory.

    python benchmarks/bench_outcomes.py              # 100k and 1M conversations
    python benchmarks/bench_outcomes.py --quick      # 20k and 200k conversations

Synthetic and seeded (no shared data needed): N conversations of 4 messages
(buyer, agent, buyer, agent) over 30 days, 8 agents, N/2 distinct buyers; N
orders in the Taobao ExportOrderList layout and N ratings with the 客服评价 API
fields, written as CSV to a temporary folder: one of each per conversation,
70 % following it (minutes to hours later), the rest an unknown buyer or 40
days before any chat.

Each conversation comes with a synthetic analysis result (seeded waits,
politeness, escalation, total, nine dimension scores and a topic), the numbers
the diagnosis compares, as ``analyze(on_result=join.add)`` hands them over.

- throughput: messages per second of ``join.add(conversation, result)`` over
  the stream, then ``join`` of the two CSV files and ``diagnose``, and the
  ratio to a baseline measured in the same run: the same stream of
  conversations and results consumed with nothing else (building them
  dominates both).  ``--rounds`` (default 3) interleaved rounds at the small size; medians.
Both joins are measured: the in-memory ``OutcomeJoin`` and the flat
``PartitionedOutcomeJoin`` (``--partitions``, default 16, ``--max-rows``,
default 5000), which spills to a temporary folder and is what ``analyze`` uses.

- memory: peak RSS (``VmHWM``, Linux) of a fresh process that runs the join
  and the diagnosis at the small and at the large size, minus that of a
  process that only builds and consumes the same stream.  The in-memory join
  keeps one stub per conversation, so it grows with N; the flat join should
  not (the table reports bytes per conversation so the growth can be judged).

Results are printed and written to ``benchmarks/results/outcomes.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs

from kefu_standards.model import Conversation, Message
from kefu_standards.outcomes import (
    OutcomeJoin,
    PartitionedOutcomeJoin,
    diagnose,
    read_orders,
    read_ratings,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "outcomes.json"
CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=CST)
AGENTS = [f"店:客服{i}" for i in range(8)]
MESSAGES_PER_CONVERSATION = 4


DIMENSIONS = [f"d{i}" for i in range(9)]
TOPICS = ["物流", "售后", "商品咨询", "价格", None]


@attrs.frozen
class FakeResult:
    """The attributes of a ConversationResult that the diagnosis reads (seeded numbers)."""

    first_response_s: float
    mean_response_s: float
    rounds: int
    answered: int
    impolite_messages: int
    politeness: float
    escalation: float
    total: float
    dimensions: tuple[tuple[str, float], ...]
    topic: str | None


def with_results(n: int, seed: int = 2) -> Iterator[tuple[Conversation, FakeResult]]:
    """The conversations of :func:`conversations`, each with a synthetic result."""
    rnd = random.Random(seed)
    for conv in conversations(n):
        yield (
            conv,
            FakeResult(
                first_response_s=rnd.expovariate(1 / 30),
                mean_response_s=rnd.expovariate(1 / 40),
                rounds=2,
                answered=2 - (rnd.random() < 0.05),
                impolite_messages=int(rnd.random() < 0.03),
                politeness=rnd.random(),
                escalation=rnd.random(),
                total=rnd.uniform(40, 100),
                dimensions=tuple((d, rnd.random()) for d in DIMENSIONS),
                topic=rnd.choice(TOPICS),
            ),
        )


def conversations(n: int, seed: int = 0) -> Iterator[Conversation]:
    """*n* seeded conversations, in time order."""
    rnd = random.Random(seed)
    step = timedelta(days=30) / max(n, 1)
    for i in range(n):
        start = T0 + i * step
        buyer, agent = f"tb_{rnd.randrange(n // 2 + 1)}", AGENTS[i % len(AGENTS)]
        yield Conversation(
            id=f"c{i}",
            shop="店",
            messages=(
                Message("buyer", "在吗，这个有货吗", start, buyer),
                Message("agent", "亲，有的哦", start + timedelta(seconds=15), agent),
                Message("buyer", "好的，那我拍了", start + timedelta(seconds=40), buyer),
                Message("agent", "好的亲，今天发货", start + timedelta(seconds=52), agent),
            ),
        )


def write_outcomes(folder: Path, n: int, seed: int = 1) -> tuple[Path, Path]:
    """Write *n* orders and *n* ratings as CSV (70 % follow a chat); return their paths."""
    rnd = random.Random(seed)
    orders, ratings = folder / "orders.csv", folder / "ratings.csv"
    with orders.open("w", encoding="utf-8") as o, ratings.open("w", encoding="utf-8") as r:
        o.write(
            "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间 ,店铺名称\n"
        )
        r.write("eval_sender,eval_recer,eval_code,eval_time,source,scale\n")
        for i, conv in enumerate(conversations(n)):
            buyer, agent = conv.messages[0].sender, conv.messages[1].sender
            start = conv.messages[0].sent_at
            assert start is not None
            if rnd.random() < 0.3:  # an unknown buyer, or an outcome before any chat
                buyer = f"tb_x{i}" if rnd.random() < 0.5 else buyer
                start -= timedelta(days=40)
            paid = (start + timedelta(hours=rnd.uniform(0.1, 20))).strftime("%Y-%m-%d %H:%M:%S")
            rated = (start + timedelta(minutes=rnd.uniform(1, 30))).strftime("%Y-%m-%d %H:%M:%S")
            o.write(f'="{10**15 + i}",{buyer},99.00,交易成功,{paid},{paid},店\n')
            code = rnd.choice("00001234")
            r.write(f"{buyer},{agent},{code},{rated},0,qianniu\n")
    return orders, ratings


def baseline(n: int) -> float:
    t = time.perf_counter()
    for _ in with_results(n):
        pass
    return time.perf_counter() - t


def run_join(
    n: int, orders: Path, ratings: Path, partitions: int = 0, max_rows: int = 5000
) -> tuple[float, dict[str, int]]:
    """Join and diagnose; ``partitions > 0`` uses the flat (spilling) join."""
    t = time.perf_counter()
    join: OutcomeJoin | PartitionedOutcomeJoin = (
        PartitionedOutcomeJoin(partitions=partitions, max_rows=max_rows)
        if partitions
        else OutcomeJoin()
    )
    for conv, result in with_results(n):
        join.add(conv, result)
    joined = join.join(ratings=read_ratings(ratings), orders=read_orders(orders))
    findings = diagnose(joined)
    elapsed = time.perf_counter() - t
    counts = {f"{c.kind}_read": c.read for c in joined.files}
    counts |= {f"{c.kind}_joined": c.joined for c in joined.files}
    counts["findings"] = len(findings)
    return elapsed, counts


def child(mode: str, n: int, folder: str, max_rows: int = 5000) -> None:
    """Run one measurement in this (fresh) process and print its peak RSS in KiB.

    The peak is ``VmHWM`` of ``/proc/self/status``: Linux keeps ``ru_maxrss``
    across ``exec``, so a child would report its parent's peak when larger.
    """
    if mode.startswith("join"):
        parts = int(mode.removeprefix("join") or 0)
        run_join(n, Path(folder) / "orders.csv", Path(folder) / "ratings.csv", parts, max_rows)
    else:
        baseline(n)
    status = Path("/proc/self/status").read_text(encoding="ascii")
    print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def peak_kib(mode: str, n: int, folder: Path, max_rows: int = 5000) -> int:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            str(n),
            str(folder),
            "--max-rows",
            str(max_rows),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "N", "FOLDER"))
    parser.add_argument(
        "--partitions",
        type=int,
        default=16,
        help="first partitions of the flat (spilling) join (default 16)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="speed rounds at the small size (default 3)"
    )
    parser.add_argument(
        "--in-memory-large",
        action="store_true",
        help="also measure the in-memory join's memory at the large size (GBs at 1M)",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=5000,
        help="rows per piece of the flat join (default 5000)",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2], args.max_rows)
        return
    small, large = (20_000, 200_000) if args.quick else (100_000, 1_000_000)
    report: dict[str, object] = {
        "small": small,
        "large": large,
        "partitions": args.partitions,
        "max_rows": args.max_rows,
        "rounds": args.rounds,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for n in (small, large):
            folders[n] = Path(tmp) / str(n)
            folders[n].mkdir()
            write_outcomes(folders[n], n)
        files = (folders[small] / "orders.csv", folders[small] / "ratings.csv")
        msgs = small * MESSAGES_PER_CONVERSATION
        for label, parts in (("in_memory", 0), ("flat", args.partitions)):
            rates, ratios, counts = [], [], {}
            for _ in range(args.rounds):
                base = baseline(small)
                took, counts = run_join(small, *files, parts, args.max_rows)
                rates.append(msgs / took)
                ratios.append((msgs / took) / (msgs / base))
            memory = {}
            # the in-memory join grows ~4 KB per conversation with the diagnosis
            # signals: measured at the small size only unless --in-memory-large
            sizes = (small, large) if parts or args.in_memory_large else (small,)
            for n in sizes:
                mode = f"join{parts or ''}"
                joined = peak_kib(mode, n, folders[n], args.max_rows)
                plain = peak_kib("plain", n, folders[n])
                memory[n] = {
                    "join_peak_kib": joined,
                    "plain_peak_kib": plain,
                    "extra_kib": joined - plain,
                    "extra_bytes_per_conversation": 1024 * (joined - plain) / n,
                }
            report[label] = {
                "join_msg_per_s": statistics.median(rates),
                "ratio_to_plain_pass": statistics.median(ratios),
                "counts_small": counts,
                "memory": memory,
            }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
