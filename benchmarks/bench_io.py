"""Reader benchmark: throughput against ``json.loads`` per line, and flat memory.

    python benchmarks/bench_io.py            # 100k-message throughput files, 100k vs 1M RSS
    python benchmarks/bench_io.py --quick    # 20k-message throughput, 20k vs 200k RSS

Message texts are the real JD customer-service turns of the shared
``jddc_sat.dev.jsonl.gz`` (cycled, with synthetic times and senders), written
to a temporary folder as (1) JSON Lines, one conversation per line, and (2) a
旺旺 TXT export with per-customer blocks (UTF-8).

- throughput: messages per second of ``read_conversations`` on each file,
  and the ratio to a baseline measured in the same run on the same JSON Lines
  file: ``json.loads`` of every line, nothing else.  Five interleaved rounds
  (baseline, JSON Lines, wangwang); the table shows the medians of the rates
  and of the per-round ratios.
- memory: peak RSS (``ru_maxrss``) of a fresh Python process that reads every
  conversation of a wangwang TXT / JSON Lines file of the small and the large
  size, minus the peak RSS of a process that only imports the reader.

Results are printed and written to ``benchmarks/results/io.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kefu_standards.io import read_conversations

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "io.json"
SHOP = "某某旗舰店"
PER_CONVERSATION = 20
ROUNDS = 5


def load_turns() -> list[tuple[str, str]]:
    """(role, text) of every turn of jddc_sat, single-line texts only."""
    path = DATA / "jddc_sat.dev.jsonl.gz"
    if not path.exists():
        sys.exit(f"bench_io: {path} not found; this benchmark needs the shared dev sets")
    turns = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            for t in json.loads(line)["turns"]:
                text = " ".join(t["text"].split())
                if text:
                    turns.append((t["role"], text))
    return turns


def _stream(turns: list[tuple[str, str]], n: int) -> Iterator[tuple[int, int, str, str, datetime]]:
    """(conversation number, index, role, text, time) for *n* messages."""
    start = datetime(2024, 5, 1, 8, 0, 0)
    for i in range(n):
        role, text = turns[i % len(turns)]
        conv, k = divmod(i, PER_CONVERSATION)
        yield conv, k, role, text, start + timedelta(minutes=conv, seconds=k * 2)


def write_jsonl(path: Path, turns: list[tuple[str, str]], n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        msgs: list[dict[str, Any]] = []
        last = -1
        for conv, _k, role, text, when in _stream(turns, n):
            if conv != last and msgs:
                rec = {"id": f"c{last}", "shop": SHOP, "messages": msgs}
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                msgs = []
            last = conv
            sender = f"tb{conv}" if role == "buyer" else f"{SHOP}:小美"
            msgs.append({"role": role, "text": text, "time": when.isoformat(" "), "sender": sender})
        if msgs:
            rec = {"id": f"c{last}", "shop": SHOP, "messages": msgs}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_wangwang(path: Path, turns: list[tuple[str, str]], n: int) -> None:
    dash, end = "-" * 28, "=" * 64
    with path.open("w", encoding="utf-8") as out:
        out.write(f"{SHOP}:小美\n")
        for conv, k, role, text, when in _stream(turns, n):
            if k == 0:
                if conv:
                    out.write(end + "\n")
                out.write(f"{dash}tb{conv}{dash}\n")
            sayer = f"tb{conv}" if role == "buyer" else f"{SHOP}:小美"
            out.write(f"{sayer}({when:%Y-%m-%d %H:%M:%S}):  {text}\n")
        out.write(end + "\n")


def baseline(path: Path) -> tuple[int, float]:
    """Messages and seconds for json.loads of every line."""
    t0 = time.perf_counter()
    count = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            count += len(json.loads(line)["messages"])
    return count, time.perf_counter() - t0


def reader(path: Path, fmt: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    count = sum(len(c) for c in read_conversations(path, fmt))
    return count, time.perf_counter() - t0


_RSS_CODE = """
import resource, sys
from kefu_standards.io import read_conversations
n = 0
if sys.argv[1] != "-" and sys.argv[3] == "stream":
    for c in read_conversations(sys.argv[1], sys.argv[2]):
        n += len(c)
elif sys.argv[1] != "-":  # contrast: hold every conversation in a list
    kept = list(read_conversations(sys.argv[1], sys.argv[2]))
    n = sum(len(c) for c in kept)
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(path: Path | None, fmt: str, mode: str = "stream") -> tuple[int, int]:
    """(messages read, peak RSS in KiB) of a fresh process reading *path* (None: import only).

    *mode* ``"stream"`` iterates; ``"list"`` keeps every conversation (a contrast row).
    """
    args = [sys.executable, "-c", _RSS_CODE, str(path) if path else "-", fmt, mode]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller files")
    opts = parser.parse_args()
    n_speed, n_small, n_large = (
        (20_000, 20_000, 200_000) if opts.quick else (100_000, 100_000, 1_000_000)
    )
    turns = load_turns()
    results: dict[str, Any] = {"turns_source": "jddc_sat.dev.jsonl.gz", "quick": opts.quick}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jl, ww = folder / "speed.jsonl", folder / "speed.txt"
        write_jsonl(jl, turns, n_speed)
        write_wangwang(ww, turns, n_speed)
        rounds = []
        for _ in range(ROUNDS):  # interleaved, so load changes hit all three alike
            n_base, t_base = baseline(jl)
            n_jl, t_jl = reader(jl, "jsonl")
            n_ww, t_ww = reader(ww, "wangwang")
            assert n_base == n_jl == n_ww == n_speed, (n_base, n_jl, n_ww)
            rounds.append((n_base / t_base, n_jl / t_jl, n_ww / t_ww))
        names = (
            "json.loads per line (baseline)",
            "read_conversations jsonl",
            "read_conversations wangwang",
        )
        speed = {
            name: (
                statistics.median(r[k] for r in rounds),
                statistics.median(r[k] / r[0] for r in rounds),
            )
            for k, name in enumerate(names)
        }
        results["throughput"] = {
            "messages": n_speed,
            "rounds": ROUNDS,
            "rows": {
                k: {"messages_per_s": r, "ratio_to_baseline": q} for k, (r, q) in speed.items()
            },
        }
        print(f"Throughput on {n_speed:,} messages (median of {ROUNDS} interleaved rounds)")
        print(f"{'reader':34} {'messages/s':>12} {'ratio':>7}")
        for name, (rate, ratio) in speed.items():
            print(f"{name:34} {rate:12,.0f} {ratio:7.3f}")

        _, rss_import = peak_rss(None, "jsonl")
        memory: dict[str, Any] = {"import_only_kib": rss_import}
        print(f"\nPeak RSS (KiB) of a fresh process; import only: {rss_import:,}")
        print(f"{'file':28} {'messages':>10} {'file MiB':>9} {'peak RSS':>10} {'over import':>12}")
        plan = [
            ("wangwang", write_wangwang, "txt", n_small, "stream"),
            ("wangwang", write_wangwang, "txt", n_large, "stream"),
            ("jsonl", write_jsonl, "jsonl", n_small, "stream"),
            ("jsonl", write_jsonl, "jsonl", n_large, "stream"),
            ("jsonl", write_jsonl, "jsonl", n_small, "list"),
        ]
        for fmt, writer, ext, n, mode in plan:
            path = folder / f"rss_{n}.{ext}"
            writer(path, turns, n)
            got, rss = peak_rss(path, fmt, mode)
            assert got == n, (got, n)
            size = path.stat().st_size / 2**20
            label = f"{fmt} {n:,}" + (" list()" if mode == "list" else "")
            memory[label] = {
                "file_mib": size,
                "peak_rss_kib": rss,
                "over_import_kib": rss - rss_import,
            }
            print(f"{label:28} {n:10,} {size:9.1f} {rss:10,} {rss - rss_import:12,}")
            path.unlink()
        results["memory"] = memory
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
