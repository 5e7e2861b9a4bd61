"""Paired A/B timing of ``analyze`` for two source trees, interleaved (a noisy machine).

Wall-clock timings on a shared machine swing by tens of percent between runs,
so a change's cost of a few percent cannot be read from two separate
``bench_analyze.py`` runs.  This script runs the same workload (the
``bench_analyze`` stream) in fresh processes, alternating the two trees and
their order (A B, B A, ...), and reports, per pair, the candidate's CPU time
and wall time over the base's, then the median and range.

Usage (from the repo root)::

    git archive <base-commit> src | tar -x -C /tmp/base
    python benchmarks/bench_ab.py --base /tmp/base/src --candidate src --pairs 8

``--unique`` analyses each jddc_sat dialogue once instead (12,304 messages of text
never seen before, so the per-text caches cannot help).

Writes ``benchmarks/results/ab.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ab.json"


def _child(messages: int, unique: bool = False) -> dict[str, Any]:
    """Time ``analyze`` on the bench_analyze stream in this process (models warmed first).

    With *unique*, each jddc_sat dialogue once (text never seen before, cold caches).
    """
    sys.path.insert(0, str(HERE))
    from bench_analyze import stream
    from kefu_standards.analysis import analyze

    analyze(stream(200, seed=1))
    c0, w0 = time.process_time(), time.perf_counter()
    result = analyze(stream(messages, unique=unique))
    return {
        "messages": result.messages,
        "cpu_s": time.process_time() - c0,
        "wall_s": time.perf_counter() - w0,
    }


def _spawn(src: str, messages: int, unique: bool = False) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    cmd = [sys.executable, __file__, "--child", "--messages", str(messages)]
    cmd += ["--unique"] if unique else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    rec: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return rec


def main(argv: list[str] | None = None) -> int:
    """Run the paired comparison and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="src folder of the base version")
    parser.add_argument("--candidate", default="src", help="src folder of the candidate")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument(
        "--unique",
        action="store_true",
        help="each jddc_sat dialogue once (never-seen text; --messages caps it)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.messages, args.unique)))
        return 0
    if not args.base:
        parser.error("--base SRC is required")
    source = HERE.parents[0].parent / "shared" / "data" / "jddc_sat.dev.jsonl.gz"
    if not source.exists():
        print(f"bench_ab: {source} not found (needs the shared dev data)", file=sys.stderr)
        return 2
    pairs = []
    print(f"{'pair':>4}{'base cpu s':>12}{'cand cpu s':>12}{'cpu ratio':>11}{'wall ratio':>12}")
    for i in range(args.pairs):
        order = ("base", "candidate") if i % 2 == 0 else ("candidate", "base")
        got = {name: _spawn(getattr(args, name), args.messages, args.unique) for name in order}
        cpu = got["candidate"]["cpu_s"] / got["base"]["cpu_s"]
        wall = got["candidate"]["wall_s"] / got["base"]["wall_s"]
        pairs.append({"order": order, **got, "cpu_ratio": cpu, "wall_ratio": wall})
        print(
            f"{i + 1:>4}{got['base']['cpu_s']:>12.2f}{got['candidate']['cpu_s']:>12.2f}"
            f"{cpu:>11.3f}{wall:>12.3f}"
        )
    cpu_ratios = [p["cpu_ratio"] for p in pairs]
    wall_ratios = [p["wall_ratio"] for p in pairs]
    print(
        f"candidate / base, median of {len(pairs)} pairs: CPU {statistics.median(cpu_ratios):.3f} "
        f"(range {min(cpu_ratios):.3f}-{max(cpu_ratios):.3f}), "
        f"wall {statistics.median(wall_ratios):.3f} "
        f"(range {min(wall_ratios):.3f}-{max(wall_ratios):.3f})"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"messages": args.messages, "pairs": pairs}, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
